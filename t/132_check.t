# Scale-out (issue 18), active health checks (check=S fails=N passes=N,
# FCGI_GET_VALUES or check-uri + check-status): the addresses are
# fcgix_testapp processes this test starts; address B of gv.fcgi it is stopped with SIGSTOP (an
# application that hangs: the kernel still accepts connections, nobody
# answers) while requests are on it, and must be marked down by the
# checks before those requests time out (io-timeout=6, check=1 fails=2);
# from then on requests avoid it; resumed, it comes back after passes=2.
# One check a second runs whatever the number of httpd children (the
# round is won through the scoreboard). check-uri: a status other than
# check-status is a failure. Read through ?metrics and the error log.
# Config: t/conf/scaleout.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use POSIX ();
use Test::More;
use Time::HiRes ();
use FcgixTest qw(:DEFAULT http_start http_finish);
use FcgixMetrics;

my $docroot = Apache::Test::vars('documentroot');
my $logs = Apache::Test::vars('t_logs');
my $top = Apache::Test::vars('top_dir');
my $app = "$top/t/apps/fcgix_testapp";
my $A = "unix:$logs/check-a.sock";
my %GV = (server => "$docroot/check/gv.fcgi",
          address => "unix:$logs/check-b.sock");
my %GVA = (server => "$docroot/check/gv.fcgi", address => $A);
my %URI = (server => "$docroot/check/uri.fcgi",
           address => "unix:$logs/check-u.sock");
my %BAD = (server => "$docroot/check/uri-bad.fcgi", address => $A);

sub metrics { metrics_get('/check-status') }
sub mval { my ($k, %l) = @_; my (undef, $m) = metrics(); $m ? metric_val($m, $k, %l) : -1 }

my @apps;
sub start_app {
    my ($sock) = @_;
    unlink $sock;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        exec $app, '-l', "unix:$sock" or POSIX::_exit(127);
    }
    push @apps, $pid;
    FcgixTest::wait_until(5, sub { -S $sock });
    return $pid;
}
END { kill 'CONT', @apps; kill 'TERM', @apps; waitpid $_, 0 for @apps }

ok(-x $app, 'fcgix_testapp is built');
start_app("$logs/check-a.sock");
my $b = start_app("$logs/check-b.sock");
my $u = start_app("$logs/check-u.sock");

# Up after passes=2 (the checks failed while nothing listened).
ok(FcgixTest::wait_until(8, sub {
       mval('fcgix_backend_check_down', %GV) == 0
       && mval('fcgix_backend_check_down', %GVA) == 0
       && mval('fcgix_backend_check_down', %URI) == 0 }, 0.2),
   'A, B and the check-uri address are up once their applications run');
is(mval('fcgix_backend_up', %GV), 1, 'fcgix_backend_up 1 for B');

# One check a second for B, not one per child.
{
    my $c0 = mval('fcgix_backend_checks_total', %GV);
    Time::HiRes::sleep(3.05);
    my $n = mval('fcgix_backend_checks_total', %GV) - $c0;
    ok($n >= 2 && $n <= 4, "3 s: $n checks of B (one a second, one "
       . 'process at a time)');
}

# check-uri answered with another status than check-status: down.
ok(FcgixTest::wait_until(5, sub {
       mval('fcgix_backend_check_down', %BAD) == 1 }, 0.2),
   'check-uri whose status is not check-status: down');
is(http(path => '/check/uri-bad.fcgi')->{status}, 200,
   'its only address down: still tried (nothing else is left)');

# ---------------------------------------------------------------------
# B hangs while requests are on it
my $mark = log_mark();
my $s0 = mval('fcgix_backend_requests_total', %GV);
kill 'STOP', $b;
my $t0 = Time::HiRes::time();
# Round-robin turns are per httpd child, and the children are as many as
# the MPM keeps (up to ServerLimit, 16 by default; more under load): 17
# requests give some child two in a row, one of them B's.
my @h = map { http_start(path => "/check/gv.fcgi?hang=$_") } 1 .. 17;
my $down_at;
FcgixTest::wait_until(6, sub {
    $down_at = Time::HiRes::time()
        if mval('fcgix_backend_check_down', %GV) == 1;
    $down_at;
}, 0.1);
ok($down_at, sprintf('B marked down %.1f s after it hung',
                     ($down_at // $t0) - $t0));
my @r = map { http_finish($_, 20) } @h;
my @timed_out = grep { $_->{status} == 504 } @r;
ok(@timed_out >= 1, scalar(@timed_out) . ' request(s) were on B and '
   . 'timed out (io-timeout 6 s)');
ok($down_at && $down_at < $t0 + 6,
   'down before a request on B timed out');
log_tag_ok($mark, 'check_down', 'B down');
{
    my $before = mval('fcgix_backend_requests_total', %GV);
    my @st = map { http(path => "/check/gv.fcgi?after=$_")->{status} }
             1 .. 10;
    is(join(',', grep { $_ != 200 } @st), '',
       'B down: 10 requests 200, on A');
    is(mval('fcgix_backend_requests_total', %GV), $before,
       'B down: no request sent to it');
}

# Resumed: back after passes=2, and served again.
kill 'CONT', $b;
ok(FcgixTest::wait_until(6, sub {
       mval('fcgix_backend_check_down', %GV) == 0 }, 0.2),
   'B resumed: up again after passing its checks');
{
    my $before = mval('fcgix_backend_requests_total', %GV);
    # 17: as above, some child's two in a row
    my @st = map { http(path => "/check/gv.fcgi?back=$_")->{status} }
             1 .. 17;
    is(join(',', grep { $_ != 200 } @st), '', 'B back: 17 requests 200');
    ok(mval('fcgix_backend_requests_total', %GV) > $before,
       'B back: it takes requests again');
}
ok(mval('fcgix_backend_check_failures_total', %GV) >= 2,
   'fcgix_backend_check_failures_total counts the failed checks');

done_testing();
