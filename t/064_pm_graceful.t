# Graceful restart under load (issue 3): 4 clients send requests to a
# spawned application for ~10 s; after 3 s the httpd parent gets SIGUSR1
# (apachectl graceful).  No request fails, the process manager and the
# application processes are the same before and after, and httpd serves
# again afterwards.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Spec::Functions qw(catfile);
use POSIX ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;

my $CLIENTS = 4;
my $SECS = 10;
my $AT = 3;
my $url = '/pm/graceful/app.pl';
my $path = pm_app_path('graceful', 'app.pl');

my $httpd = pm_httpd_pid();
my $pm = pm_pm_pid();
ok($httpd && $pm, "httpd parent ($httpd) and process manager ($pm)");

# up to 4 processes, one per client
my @warm = pm_parallel(paths => [map { "$url?sleep_ms=300&w=$_" }
                                 1 .. $CLIENTS]);
is(scalar(grep { $_->{status} == 200 } @warm), $CLIENTS,
   'warm-up: 4 concurrent requests served');
my @before = pm_procs($path);
ok(@before >= 1, "application processes before: @before");

my $dir = catfile(Apache::Test::vars('t_logs'), 'pmgraceful');
mkdir $dir;
unlink glob "$dir/*";
my $t0 = Time::HiRes::time();
my @kids;
for my $c (1 .. $CLIENTS) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open my $out, '>', "$dir/client$c" or POSIX::_exit(1);
        my $i = 0;
        while (Time::HiRes::time() - $t0 < $SECS) {
            my $r = pm_get(path => "$url?sleep_ms=20&c=$c&i=" . $i++,
                           timeout => 30);
            printf $out "%.3f %s %s %s\n", Time::HiRes::time() - $t0,
                $r->{status}, $r->{kv}{pid} // '-',
                $r->{status} == 200 ? '' : pm_brief($r);
        }
        close $out;
        POSIX::_exit(0);
    }
    push @kids, $pid;
}

my $off = log_mark();
Time::HiRes::sleep($AT - (Time::HiRes::time() - $t0));
my $t_sig = Time::HiRes::time() - $t0;
kill 'USR1', $httpd;
my $resumed = pm_wait_until(15, sub {
    pm_log_count($off, qr/resuming normal operations/);
});
ok($resumed, 'graceful restart done (AH00164/AH00489 resuming normal '
             . 'operations)');
waitpid($_, 0) for @kids;

my (@fail, %pids_after, $n, $n_after);
for my $c (1 .. $CLIENTS) {
    open my $in, '<', "$dir/client$c" or next;
    while (my $l = <$in>) {
        chomp $l;
        my ($t, $status, $pid, $why) = split / /, $l, 4;
        $n++;
        push @fail, $l if $status != 200;
        if ($t > $t_sig) {
            $n_after++;
            $pids_after{$pid}++ if $status == 200;
        }
    }
}
ok($n && $n >= 40, "load: $n requests by $CLIENTS clients in ${SECS} s");
ok($n_after && $n_after >= 20,
   "load: $n_after of them completed after the signal");
is(scalar @fail, 0, 'graceful restart: no request failed')
    or diag(join "\n", @fail[0 .. ($#fail > 20 ? 20 : $#fail)]);

is(pm_pm_pid() // 0, $pm, 'the process manager was kept');
my %live = map { $_ => 1 } pm_procs($path);
my @lost = grep { !$live{$_} } @before;
ok(!@lost, 'the application processes were kept (same pids)')
    or diag("before: @before, lost: @lost, now: @{[ sort keys %live ]}");
my %before = map { $_ => 1 } @before;
my @new = grep { !$before{$_} } keys %pids_after;
ok(!@new, 'requests after the restart were served by the same processes')
    or diag("new pids: @new");

my $r;
pm_wait_until(15, sub {
    $r = pm_get(path => "$url?after");
    $r->{status} == 200;
});
is($r->{status}, 200, 'httpd serves after the graceful restart');
is(pm_httpd_pid() // 0, $httpd, 'same httpd parent');
note(sprintf '%d requests, %d after the signal at %.1f s, %d failed', $n // 0,
     $n_after // 0, $t_sig, scalar @fail);

done_testing();
