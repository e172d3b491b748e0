# Scale-out (issue 18), drain: an external server's address taken out of
# service through the status page (POST, behind the Location's Require)
# while four clients keep the server busy: no request fails, the drained
# address gets no new request once those in flight are done, its kept
# connections close, and it takes requests again when resumed. drain= in
# the configuration does the same from the start; a server whose every
# address drains answers 503. Which address served is read from ?metrics
# (fcgix_backend_requests_total per address). Config:
# t/conf/scaleout.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixMetrics;

my $docroot = Apache::Test::vars('documentroot');
my $logs = Apache::Test::vars('t_logs');
my $A = "unix:$logs/pool-c.sock";
my $B = "unix:$logs/pool-cm.sock";
my $RR = "$docroot/drain/rr.fcgi";
my $CFG = "$docroot/drain/cfg.fcgi";

sub metrics { metrics_get('/drain-status') }

sub served {
    my ($m, $server, $addr) = @_;
    metric_val($m, 'fcgix_backend_requests_total', server => $server,
               address => $addr);
}

sub post_action {
    my ($action, $server, $addr, $where) = @_;
    my $body = join '&', "action=$action", 'server=' . uri_escape($server),
                         'address=' . uri_escape($addr);
    http(method => 'POST', path => $where || '/drain-status', body => $body,
         headers => ['Content-Type' => 'application/x-www-form-urlencoded']);
}

# Four clients, each sending requests one after another for $secs: the
# statuses, in order of completion ("status time" lines through a pipe).
sub start_load {
    my ($secs) = @_;
    pipe(my $rd, my $wr) or die "pipe: $!";
    my @pids;
    for my $i (1 .. 4) {
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            close $rd;
            my $end = Time::HiRes::time() + $secs;
            my $n = 0;
            while (Time::HiRes::time() < $end) {
                my $r = http(path => "/drain/rr.fcgi?sleep_ms=50&c=$i&n="
                                     . $n++);
                syswrite $wr, sprintf("%d %.3f\n", $r->{status},
                                      Time::HiRes::time());
            }
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    close $wr;
    return { rd => $rd, pids => \@pids };
}

sub finish_load {
    my ($l) = @_;
    my @lines = readline $l->{rd};
    waitpid $_, 0 for @{ $l->{pids} };
    return map { [split ' '] } @lines;
}

# ---------------------------------------------------------------------
# Both addresses serve at first
my ($r0, $m0) = metrics();
ok($m0, '?metrics answers');
is(metric_val($m0, 'fcgix_backend_draining', server => $RR, address => $B),
   0, 'rr.fcgi: address B is not draining at start');

my $load = start_load(4);
Time::HiRes::sleep(1.2);
my (undef, $m1) = metrics();
ok(served($m1, $RR, $B) > served($m0, $RR, $B),
   'under load: address B serves requests before the drain');
ok(metric_val($m1, 'fcgix_backend_connections_open', server => $RR,
              address => $B) > 0,
   'under load: B has connections open (kept between requests)');

# Drain B through the page; what it was given finishes.
my $mark = log_mark();
my $pr = post_action('drain', $RR, $B);
is($pr->{status}, 200, 'POST action=drain: 200') or diag(brief($pr));
like($pr->{body}, qr/^draining \Q$RR\E \Q$B\E$/m, 'POST: says what it did');
ok(scalar(FcgixTest::log_wait($mark, qr/FCGIX00590:.*\Q$B\E: draining/)),
   'the drain is logged (FCGIX00590, notice)');
Time::HiRes::sleep(0.6);   # requests of 50 ms in flight end
my (undef, $m2) = metrics();
my @res = finish_load($load);
my (undef, $m3) = metrics();

my @bad = grep { $_->[0] != 200 } @res;
ok(@res > 40, scalar(@res) . ' requests under load');
is(scalar(@bad), 0, 'no request failed while B was drained')
    or diag(join ' ', map { $_->[0] } @bad);
is(served($m3, $RR, $B), served($m2, $RR, $B),
   'drained: B got no request after those in flight ended');
ok(served($m3, $RR, $A) - served($m2, $RR, $A) >= 8,
   'drained: A took the load ('
   . (served($m3, $RR, $A) - served($m2, $RR, $A)) . ' requests)');
is(metric_val($m3, 'fcgix_backend_draining', server => $RR, address => $B),
   1, 'fcgix_backend_draining 1 for B');
is(metric_val($m3, 'fcgix_backend_requests_in_flight', server => $RR,
              address => $B), 0, 'B: nothing in flight');
my $closed = FcgixTest::wait_until(5, sub {
    http(path => '/drain/rr.fcgi?closing');
    my (undef, $m) = metrics();
    $m && metric_val($m, 'fcgix_backend_connections_open', server => $RR,
                     address => $B) == 0;
}, 0.1);
ok($closed, "B's kept connections were closed");
{
    my $j = eval { JSON::PP::decode_json(
        http(path => '/drain-status?json')->{body}) };
    my ($e) = grep { $_->{server} eq $RR && $_->{address} eq $B }
              @{ $j->{external} || [] };
    ok($e && $e->{draining}, '?json: B "draining": true');
    my $auto = http(path => '/drain-status?auto')->{body};
    like($auto, qr/^Backend: \Q$RR $B\E .*\bdraining=1\b/m,
         '?auto: B draining=1');
}

# ---------------------------------------------------------------------
# Not through GET, not past Require, not for an unknown address
{
    my $g = http(path => '/drain-status?action=resume&server='
                         . uri_escape($RR) . '&address=' . uri_escape($B));
    my (undef, $m) = metrics();
    is(metric_val($m, 'fcgix_backend_draining', server => $RR,
                  address => $B), 1, 'a GET with the form does nothing');
    my $d = post_action('resume', $RR, $B, '/drain-status-denied');
    is($d->{status}, 403, 'POST where Require denies: 403');
    (undef, $m) = metrics();
    is(metric_val($m, 'fcgix_backend_draining', server => $RR,
                  address => $B), 1, 'the denied POST changed nothing');
    is(post_action('drain', $RR, "unix:$logs/nobody.sock")->{status}, 404,
       'POST for an address the server does not have: 404');
    is(post_action('explode', $RR, $B)->{status}, 400,
       'POST with an unknown action: 400');
}

# ---------------------------------------------------------------------
# Resumed: B serves again
{
    my $pr2 = post_action('resume', $RR, $B);
    is($pr2->{status}, 200, 'POST action=resume: 200');
    my (undef, $ma) = metrics();
    my @st = map { http(path => "/drain/rr.fcgi?again=$_")->{status} } 1 .. 12;
    my (undef, $mb) = metrics();
    is(join(',', grep { $_ != 200 } @st), '', 'resumed: 12 requests 200');
    ok(served($mb, $RR, $B) > served($ma, $RR, $B),
       'resumed: B takes requests again');
    is(metric_val($mb, 'fcgix_backend_draining', server => $RR,
                  address => $B), 0, 'resumed: fcgix_backend_draining 0');
}

# ---------------------------------------------------------------------
# drain= in the configuration
{
    my (undef, $ma) = metrics();
    my @st = map { http(path => "/drain/cfg.fcgi?n=$_")->{status} } 1 .. 10;
    my (undef, $mb) = metrics();
    is(join(',', grep { $_ != 200 } @st), '', 'drain=: 10 requests 200');
    is(served($mb, $CFG, $A) - served($ma, $CFG, $A), 10,
       'drain=: all 10 on the address not drained');
    is(served($mb, $CFG, $B), 0, 'drain=: none ever on the drained one');
    is(metric_val($mb, 'fcgix_backend_draining', server => $CFG,
                  address => $B), 1, 'drain=: fcgix_backend_draining 1');
}

# Every address drained: 503, said once.
{
    my $mk = log_mark();
    my $r = http(path => '/drain/all.fcgi');
    is($r->{status}, 503, 'every address draining: 503');
    ok(scalar(FcgixTest::log_wait($mk, qr/FCGIX00591:.*every address is draining/)),
       'every address draining: FCGIX00591 logged');
}

done_testing();
