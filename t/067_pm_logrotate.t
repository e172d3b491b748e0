# Logs follow rotation (issue 12): logrotate renames error.log and sends
# a graceful restart; the process manager survives it (applications keep
# running), so it must write, and pass its applications' stderr, to the
# error log httpd opens anew, not to the renamed file. An httpd of its own
# (t/logs/pmrotate): its error_log is renamed to error_log.1, graceful;
# then a new class makes the PM log (FCGIX00153) and its application
# write to its raw stderr: both land in the new error_log, none in the old.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;

# The application, written here: .gitignore keeps t/htdocs/pm/*/ out of
# the repository. A line on its raw stderr as it starts (no FastCGI
# record), then it becomes the Perl test application.
{
    my $dir = pm_app_path('rotate');
    my $f = "$dir/stderr.fcgi";
    mkdir $dir;
    chmod 0755, $dir;
    unlink $f;
    open my $fh, '>', $f or die "$f: $!";
    print $fh "#!/bin/sh\n",
        'echo "rotate-marker pid $$ started" >&2', "\n",
        'exec "$(dirname "$0")/../app.pl"', "\n";
    close $fh or die "$f: $!";
    chmod 0755, $f;
}

my $h = eval { pm_own_httpd(name => 'pmrotate', body => '') };
ok($h, 'own httpd started') or BAIL_OUT("own httpd: $@");
my $httpd = Apache::Test::vars('httpd');
my $log = $h->{log};
my $old = "$log.1";

my $r = pm_get(port => $h->{port}, path => '/pm/app.pl?before');
is($r->{status}, 200, 'an application serves before the rotation')
    or diag(pm_brief($r));
my $app = $r->{kv}{pid} // 0;
my $pm = pm_wait_until(5, sub { pm_pm_pid($h->{pid}) });
ok($pm, "process manager ($pm)");

sub slurp { open my $f, '<', $_[0] or return ''; local $/; <$f> // '' }

rename $log, $old or die "rename $log: $!";
system($httpd, '-f', $h->{conf}, '-k', 'graceful') == 0
    or diag("graceful: $?");
ok(pm_wait_until(15, sub { slurp($log) =~ /FCGIX00196:/ }),
   'after graceful the PM took the new error log (FCGIX00196 in it)')
    or diag(slurp($log));
is(pm_pm_pid($h->{pid}) // 0, $pm, 'the process manager was kept');

my $path = pm_app_path('rotate', 'stderr.fcgi');
$r = pm_get(port => $h->{port}, path => '/pm/rotate/stderr.fcgi?after',
            timeout => 20);
is($r->{status}, 200, 'a new application is spawned after the rotation')
    or diag(pm_brief($r));
my $new_pid = $r->{kv}{pid} // 0;
my $spawned = qr/FCGIX00153: spawned \Q$path\E pid $new_pid\b/;
my $marker = qr/rotate-marker pid $new_pid started/;
ok(pm_wait_until(5, sub { slurp($log) =~ $spawned }),
   'the PM logs the spawn into the new error_log');
ok(pm_wait_until(5, sub { slurp($log) =~ $marker }),
   "the new application's stderr lands in the new error_log");
my $o = slurp($old);
ok($o !~ $spawned && $o !~ $marker && $o !~ /FCGIX00196/,
   'nothing of it went to the renamed file');
$r = pm_get(port => $h->{port}, path => '/pm/app.pl?after');
is($r->{kv}{pid} // 0, $app,
   'the application started before the rotation still serves');

pm_own_httpd_stop($h);
done_testing();
