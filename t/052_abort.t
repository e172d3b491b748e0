# Client abort: a client that goes away while the application works, or
# while the response is sent, gets FCGI_ABORT_REQUEST sent to the
# application (counted by fcgix_testapp: aborts), on a connection of its
# own and on a shared (multiplexed) one; the connection stays usable, and
# ignore-client-abort=on lets the request finish.  Config:
# t/conf/pool.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPool;

sub delta {
    my ($name, $key, $before) = @_;
    (stats_of($name)->{$key} // 0) - ($before->{$key} // 0);
}

# Waits until backend $name counted $want more $key than in $before;
# returns the seconds it took, or undef.
sub wait_count {
    my ($name, $key, $before, $want, $timeout) = @_;
    my $t0 = Time::HiRes::time();
    wait_for($timeout // 5,
             sub { delta($name, $key, $before) >= $want }, 0.05)
        or return;
    return Time::HiRes::time() - $t0;
}

sub next_ok {
    my ($name, $path) = @_;
    my $r = http(path => "$path?after=1");
    is($r->{status}, 200, "$name: the next request is served")
        or diag(brief($r));
}

# ---------------------------------------------------------------------
# While the application works (sleep_ms=3000): the client leaves after
# 0.3 s.

for my $case (['a connection of its own', '/pool/ab/c.fcgi', 'c'],
              ['a kept-alive connection', '/pool/ab/c-keep.fcgi', 'c'],
              ['a multiplexed connection', '/pool/ab/cm.fcgi', 'cm']) {
    my ($what, $path, $app) = @$case;
    my $before = stats_of($app);
    abort_client(path => "$path?sleep_ms=3000", after => 0.3);
    my $t = wait_count($app, 'aborts', $before, 1, 5);
    ok(defined $t, "client gone on $what: the application got "
       . 'FCGI_ABORT_REQUEST' . (defined $t ? sprintf(' (%.2f s after)', $t)
                                            : ''));
    # before the 3 s sleep would have ended (multiplexed: polled every
    # 250 ms)
    ok(defined $t && $t < 2.0, "client gone on $what: told within 2 s");
    next_ok("client gone on $what", $path);
}

# The kept-alive connection that carried the aborted request is used again
# (the application ended the request, so the connection is in step).
{
    my $before = stats_of('c');
    abort_client(path => '/pool/ab/c-keep.fcgi?sleep_ms=3000', after => 0.3);
    wait_count('c', 'aborts', $before, 1, 5);
    my ($n, $bad) = (0, 0);
    my $reused = wait_for(15, sub {
        my $r = http(path => '/pool/ab/c-keep.fcgi?x=' . ++$n);
        $bad++ if $r->{status} != 200;
        delta('c', 'after_abort', $before) > 0;
    }, 0.01);
    ok($reused && !$bad, "keepalive=2: the connection of an aborted request "
       . "serves later requests (after $n requests, all 200)");
}

# Several aborts beside requests that go on, on shared connections.
{
    my $before = stats_of('cm');
    my @r = parallel(
        (map { { path => '/pool/ab/cm.fcgi?conninfo&sleep_ms=1500',
                 timeout => 30 } } 1 .. 6),
        (map { { abort => 1, path => '/pool/ab/cm.fcgi?sleep_ms=3000',
                 after => 0.3 + 0.1 * $_, delay => 0.1 } } 1 .. 3));
    my @kept = @r[0 .. 5];
    is(scalar(grep { $_->{status} == 200 && $_->{complete} } @kept), 6,
       'multiplexed: 6 requests beside 3 aborted ones all complete')
        or diag(join "\n", map { brief($_) } @kept);
    my $depth = 0;
    for (@kept) {
        my $d = conninfo($_)->{depth} // 0;
        $depth = $d if $d > $depth;
    }
    ok($depth >= 2, "multiplexed: they shared connections (depth $depth)");
    ok(defined wait_count('cm', 'aborts', $before, 3, 5),
       'multiplexed: the application got 3 FCGI_ABORT_REQUEST')
        or diag('aborts: ' . delta('cm', 'aborts', $before));
    next_ok('multiplexed aborts', '/pool/ab/cm.fcgi');
}

# ---------------------------------------------------------------------
# While the response is sent: 20 MB in 64 KiB pieces 20 ms apart; the
# client reads 200 kB and leaves.

for my $case (['a connection of its own', '/pool/ab/c.fcgi', 'c'],
              ['a multiplexed connection', '/pool/ab/cm.fcgi', 'cm']) {
    my ($what, $path, $app) = @$case;
    my $before = stats_of($app);
    my $got = abort_client(
        path => "$path?bytes=20000000&chunk=65536&delay_ms=20",
        read => 200000, after => 20);
    ok(length($got) >= 200000, "client gone mid-response on $what: it got "
       . length($got) . ' bytes first');
    my $t = wait_count($app, 'aborts', $before, 1, 5);
    ok(defined $t, "client gone mid-response on $what: the application "
       . 'got FCGI_ABORT_REQUEST');
    next_ok("client gone mid-response on $what", $path);
}

# ---------------------------------------------------------------------
# ignore-client-abort=on: the request runs to its end, on a connection of
# its own and on a shared one.
for my $case (['a connection of its own', 'c'], ['a multiplexed one', 'cm']) {
    my ($what, $app) = @$case;
    my $path = "/pool/ab/$app-ignore.fcgi";
    my $before = stats_of($app);
    abort_client(path => "$path?sleep_ms=1000", after => 0.3);
    my $done = wait_count($app, 'completed', $before, 1, 5);
    ok(defined $done, "ignore-client-abort=on, $what: the request "
       . 'completed');
    is(delta($app, 'aborts', $before), 0,
       "ignore-client-abort=on, $what: no FCGI_ABORT_REQUEST");
    next_ok("ignore-client-abort=on, $what", $path);
}

done_testing();
