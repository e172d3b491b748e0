# mod_fastcgi's FastCgiConfig kill policy (issue 12): with
#   FastCgiConfig -minProcesses 1 -maxClassProcesses 4 -killInterval 2
#                 -multiThreshold 50
# in an httpd of its own (t/logs/pmkill):
#  * while the class's 4 processes are kept busy, none is ended;
#  * once it is idle, one idle process ends every interval (FCGIX00204)
#    until -minProcesses is left, and that one stays.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use POSIX ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;

my $h = eval { pm_own_httpd(name => 'pmkill', body => <<'EOC') };
FastCgiConfig -minProcesses 1 -maxClassProcesses 4 -killInterval 2 \
    -multiThreshold 50
EOC
ok($h, 'own httpd started') or BAIL_OUT("own httpd: $@");
my $app = pm_app_path('app.pl');
my $pm = pm_wait_until(5, sub { pm_pm_pid($h->{pid}) });

sub ours {
    grep { (pm_proc_info($_) || {})->{ppid} == $pm } pm_procs($app);
}

sub kills {
    open my $f, '<', $h->{log} or return 0;
    scalar grep { /FCGIX00204: \Q$app\E: busy/ } <$f>;
}

# 4 clients keep 4 processes busy for 5 s (2.5 intervals)
my @kids;
for my $c (1 .. 4) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $t0 = Time::HiRes::time();
        pm_get(port => $h->{port}, path => "/pm/app.pl?sleep_ms=400&c=$c")
            while Time::HiRes::time() - $t0 < 5;
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
Time::HiRes::sleep(1.5);
my $busy_n = ours();
waitpid $_, 0 for @kids;
is($busy_n, 4, 'busy: the class has 4 processes');
is(kills(), 0, 'busy: none was ended while they were busy');
is(scalar(ours()), 4, 'busy: all 4 still run');

# idle: one ends per 2 s interval, down to 1
my $t0 = Time::HiRes::time();
ok(pm_wait_until(12, sub { ours() == 1 }), sprintf('idle: down to '
   . '-minProcesses (1) within %.1f s', Time::HiRes::time() - $t0));
is(kills(), 3, 'idle: three processes ended by the policy (FCGIX00204)');
Time::HiRes::sleep(4.5);
is(scalar(ours()), 1, 'idle: the last one stays');
my $r = pm_get(port => $h->{port}, path => '/pm/app.pl?after');
is($r->{status}, 200, 'the class still serves');

pm_own_httpd_stop($h);
done_testing();
