# Stopping httpd ends every spawned application (issue 3).  An httpd of
# its own (t/logs/pmstop, FcgixPM::pm_own_httpd) serves requests to the
# four applications and to one that ignores SIGTERM (pm/stubborn.pl: the
# process manager must send SIGKILL 3 s later), then gets "apache2 -k
# stop".  Within 6 s: the httpd parent (exit status 0) and the process
# manager are gone, no process runs any of the applications, none was left
# as a zombie, and the IPC directory holds no socket.
#
# This test makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER):
# the daemonised httpd, then the process manager, then anything the process
# manager leaves behind become its children instead of init's, so an
# application the process manager did not reap shows up here.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Config;
use POSIX ();
use Test::More;
use Time::HiRes ();
use IO::Socket::UNIX;
use FcgixTest;
use FcgixPM;

my $WITHIN = 6;
my $subreaper = $Config{archname} =~ /^x86_64-linux/
    && syscall(157, 36, 1, 0, 0, 0) == 0;   # prctl(PR_SET_CHILD_SUBREAPER)
diag('no child subreaper: zombies are looked for in /proc only')
    unless $subreaper;

my %reaped;
sub reap {
    while ((my $k = waitpid(-1, POSIX::WNOHANG())) > 0) {
        $reaped{$k} = $?;
    }
}

my $h = eval { pm_own_httpd(name => 'pmstop', body => <<'EOC') };
FcgixInitialEnv PM_GLOBAL pm-global-value
EOC
ok($h, 'an httpd of its own starts') or diag($@);
END { pm_own_httpd_stop($h) if $h && $h->{pid} && kill 0, $h->{pid} }
plan skip_all => 'no httpd' unless $h;

my @apps = ((map { pm_app_path('stop', $_) }
             grep { pm_have($_) && ($_ ne 'app.php' || -x '/usr/bin/php-cgi') }
             qw(testapp.fcgi app.pl app.php libfcgi.fcgi)),
            pm_app_path('stubborn.pl'));
my $docroot = pm_docroot();
# two processes of each application, four of the stubborn one (each one
# more chance to see the process manager exit before its SIGKILLed
# children are reaped)
my @r = pm_parallel(port => $h->{port},
                    paths => [map { (my $u = $_) =~ s{^\Q$docroot\E}{};
                                    map { "$u?sleep_ms=300&$_" }
                                    $u =~ /stubborn/ ? 1 .. 4 : 1 .. 2 }
                              @apps]);
is(scalar(grep { $_->{status} == 200 } @r), scalar @r,
   scalar(@r) . ' requests to ' . scalar(@apps) . ' applications served')
    or diag(join "\n", map { pm_brief($_) } @r);

my $pm = pm_pm_pid($h->{pid});
my %apps_of = map { $_ => [pm_procs($_)] } @apps;
my @app_pids = map { @$_ } values %apps_of;
ok($pm && @app_pids >= @apps,
   "process manager $pm, application processes @app_pids");
opendir(my $d, $h->{ipc});
my @socks = grep { -S "$h->{ipc}/$_" } readdir $d;
closedir $d;
ok(@socks > @apps, "sockets in $h->{ipc}: @socks");

my $t0 = Time::HiRes::time();
pm_own_httpd_stop($h);
my %watch = map { $_ => 1 } grep { $_ } $h->{pid}, $pm, @app_pids;
my $alive = sub {
    reap();
    grep { -e "/proc/$_" } keys %watch;
};
my $done = pm_wait_until($WITHIN, sub {
    reap();
    !$alive->() && !grep { pm_procs($_) } @apps;
});
my $secs = Time::HiRes::time() - $t0;
reap();

ok($done, sprintf('everything ended within %d s of "-k stop" (%.1f s)',
                  $WITHIN, $secs));
ok(!-e "/proc/$h->{pid}", 'the httpd parent is gone');
SKIP: {
    skip 'no child subreaper: the exit status of httpd is not ours', 1
        unless $subreaper && exists $reaped{ $h->{pid} };
    my $st = $reaped{ $h->{pid} };
    is($st, 0, 'the httpd parent exited normally (status 0)')
        or diag(sprintf 'exit %d, signal %d%s', $st >> 8, $st & 127,
                $st & 128 ? ' (core dumped)' : '');
}
ok(!$pm || !-e "/proc/$pm", 'the process manager is gone');
my @running = map { pm_procs($_) } @apps;
ok(!@running, 'no process runs any of the applications')
    or diag("still running: @running");
my @zombies = grep { my $i = pm_proc_info($_); $i && $i->{state} eq 'Z' }
              @app_pids, grep { $_ } $pm;
ok(!@zombies, 'no application or process manager left as a zombie')
    or diag("zombies: @zombies");
my @orphans = grep { exists $reaped{$_} } @app_pids;
ok(!@orphans || !$subreaper,
   'the process manager reaped its applications (none left to us)')
    or diag('reaped here: ' . join ', ', map { "$_ (status $reaped{$_})" }
                                          @orphans);
opendir($d, $h->{ipc});
my @left = $d ? grep { -S "$h->{ipc}/$_" } readdir $d : ();
ok(!@left, 'the IPC directory holds no socket') or diag("left: @left");
note(sprintf 'stop: all ended %.1f s after -k stop; %d application '
     . 'processes', $secs, scalar @app_pids);
my @killed = grep { /FCGIX00155: .*stubborn\.pl/ } do {
    open my $fh, '<', $h->{log}; <$fh> };
note("stubborn.pl: @killed");

# A stop that overlaps the start of the next httpd on the same IPC
# directory (a restart script that does not wait, a test tree reused): the
# leaving process manager removes only the socket files it made, not the
# newcomer's.  Here the newcomer's control socket is simulated: a socket
# bound by this test where the process manager's was.
{
    my $h2 = eval { pm_own_httpd(name => 'pmstop2', body => '') };
    ok($h2, 'a second httpd of its own starts') or diag($@);
    my $app = pm_app_path('testapp.fcgi');
    (my $url = $app) =~ s{^\Q$docroot\E}{};
    my $r = $h2 ? pm_get(port => $h2->{port}, path => $url) : {};
    is($r->{status}, 200, 'it spawns and serves an application');
    my $ctl = $h2 ? "$h2->{ipc}/pm.sock" : '';
    my ($ours, $ino0);
    if ($h2 && -S $ctl) {
        unlink $ctl;
        $ours = IO::Socket::UNIX->new(Local => $ctl, Listen => 1);
        $ino0 = (stat $ctl)[1];
    }
    ok($ours && $ino0, 'its control socket replaced by another one');
    my $pm2 = $h2 ? pm_pm_pid($h2->{pid}) : undef;
    pm_own_httpd_stop($h2) if $h2;
    pm_wait_until($WITHIN, sub {
        reap();
        $h2 && !-e "/proc/$h2->{pid}" && !($pm2 && -e "/proc/$pm2")
            && !pm_procs($app);
    });
    my $ino = $ours ? (stat $ctl)[1] : undef;
    ok($ours && defined $ino && $ino == $ino0,
       'after the stop, the other socket file is still there');
    opendir(my $d2, $h2->{ipc}) if $h2;
    my @left2 = $d2 ? grep { -S "$h2->{ipc}/$_" && $_ ne 'pm.sock' }
                      readdir $d2 : ();
    ok(!@left2, 'and only that one: the process manager removed its '
       . 'own') or diag("left: @left2");
    unlink $ctl if $ours;
}

done_testing();
