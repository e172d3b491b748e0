# After FCGI_ABORT_REQUEST the httpd thread is not held by an application
# that ignores it and goes on writing (php-fpm, libfcgi do; security issue,
# item 5): the bridge reads and discards for at most FcgixAbortTimeout and
# FcgixAbortMaxBytes, then closes the connection (never reused) with one
# FCGIX00300 line.  The application is fcgix_testapp (pool-c) in
# forever_ms&ignore_abort mode: it writes for 30 s unless its connection
# goes away; its "cut_off" counter shows when that happened.
# Config: t/conf/pool.conf.in (/pool/al/).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPool;

sub stat_n { stats_of('c')->{$_[0]} // 0 }

# Starts the endless reply, leaves after 100 kB; returns the time the
# client left, the time the application got the abort (undef if never
# seen: a fast writer may see its connection closed first) and the time
# its connection was closed (undef if not within $wait s).
sub run_case {
    my ($path, $wait) = @_;
    my $cut0 = stat_n('cut_off');
    my $ign0 = stat_n('ignored_aborts');
    abort_client(path => $path, read => 100000, after => 10);
    my $t_left = Time::HiRes::time();
    my ($t_abort, $t_closed);
    wait_for($wait, sub {
        $t_abort //= Time::HiRes::time()
            if stat_n('ignored_aborts') > $ign0;
        stat_n('cut_off') > $cut0;
    }, 0.02) and $t_closed = Time::HiRes::time();
    return ($t_left, $t_abort, $t_closed);
}

# --- the time limit ----------------------------------------------------
{
    my $off = log_mark();
    # about 400 kB/s: the 1 GiB allowance is out of reach
    my (undef, $ta, $tc) = run_case('/pool/al/time.fcgi?forever_ms=30000'
                                    . '&ignore_abort&chunk=4096&delay_ms=10',
                                    8);
    ok($ta, 'FcgixAbortTimeout 2: the application got (and ignored) '
       . 'FCGI_ABORT_REQUEST');
    ok($tc, 'FcgixAbortTimeout 2: its connection was closed while it '
       . 'still wrote' . ($tc ? sprintf(' (%.2f s after the abort)',
                                        $tc - $ta) : ''));
    ok($tc && $tc - $ta <= 3.5,
       'FcgixAbortTimeout 2: closed within 2 s (+1.5 s of polling)');
    ok($tc && $tc - $ta >= 1.0,
       'FcgixAbortTimeout 2: not before the application had its time');
    my @m = grep { /FCGIX00300:/ } log_new_lines($off);
    is(scalar @m, 1, 'FcgixAbortTimeout 2: one FCGIX00300 line')
        or diag(@m);
    like($m[0] // '', qr/FcgixAbortTimeout 2 s.*connection closed/,
         'FcgixAbortTimeout 2: the line says why');
}

# --- the byte limit ----------------------------------------------------
{
    my $off = log_mark();
    my ($tl, undef, $tc) = run_case('/pool/al/bytes.fcgi?forever_ms=30000'
                                    . '&ignore_abort', 8);
    ok($tc && $tc - $tl < 2.0,
       'FcgixAbortMaxBytes 1 MiB: its connection was closed before the '
       . '3 s default time'
       . ($tc ? sprintf(' (%.2f s after the client left)', $tc - $tl)
              : ''));
    my @m = grep { /FCGIX00300:/ } log_new_lines($off);
    is(scalar @m, 1, 'FcgixAbortMaxBytes 1 MiB: one FCGIX00300 line')
        or diag(@m);
    my ($bytes) = ($m[0] // '') =~ /: (\d+) bytes discarded/;
    ok(($bytes // 0) > 1048576,
       'FcgixAbortMaxBytes 1 MiB: more than 1 MiB was discarded first ('
       . ($bytes // '?') . ')');
}

# --- a shared connection, the application keeping to the limits --------
# The aborted request was the connection's last live one, so it reads the
# application's END_REQUEST itself (nobody else would until the next
# request came by, past FcgixAbortTimeout): the connection stays in use,
# and nothing is reported.
{
    my $off = log_mark();
    my $got = abort_client(path => '/pool/al/mpx.fcgi?conninfo'
                           . '&forever_ms=30000&chunk=4096&delay_ms=10',
                           read => 100000, after => 10);
    my ($peer) = $got =~ /^X-Fcgix-Peer: (\d+)/mi;
    my ($conn) = $got =~ /^X-Fcgix-Conn: (\d+)/mi;
    ok($peer && $conn, 'multiplexed, ended on abort: the reply started '
       . '(httpd child ' . ($peer // '?') . ')');
    Time::HiRes::sleep(2.5);
    my $hit;
    for my $tries (1 .. 60) {
        my $r = http(path => "/pool/al/mpx.fcgi?conninfo&try=$tries");
        if ((conninfo($r)->{peer} // 0) == ($peer // -1)) {
            $hit = $r;
            last;
        }
    }
    ok($hit && $hit->{status} == 200,
       'multiplexed, ended on abort: a later request of the same child is '
       . 'served');
    is(conninfo($hit // {})->{conn} // -1, $conn // -2,
       'multiplexed, ended on abort: ... on the same connection');
    my @m = grep { /FCGIX00305:/ } log_new_lines($off);
    is(scalar @m, 0, 'multiplexed, ended on abort: no FCGIX00305')
        or diag(@m);
}

# --- a shared (multiplexed) connection ----------------------------------
# The aborted request, the connection's last live one, reads what the
# application still writes, within limits; its connection takes no more
# requests once the application has had FcgixAbortTimeout (2 s), and is
# closed as soon as no live request is left on it.  The next request of
# that httpd child (the connections are per child) reports it: the test
# sends requests until one comes from the same child (X-Fcgix-Peer).
{
    my $cut0 = stats_of('cm')->{cut_off} // 0;
    my $off = log_mark();
    my $got = abort_client(path => '/pool/al/mpx.fcgi?conninfo'
                           . '&forever_ms=30000&ignore_abort&chunk=4096'
                           . '&delay_ms=10', read => 100000, after => 10);
    my ($peer) = $got =~ /^X-Fcgix-Peer: (\d+)/mi;
    my ($conn) = $got =~ /^X-Fcgix-Conn: (\d+)/mi;
    ok($peer && $conn, 'multiplexed: the endless reply started (httpd '
       . 'child ' . ($peer // '?') . ')');
    Time::HiRes::sleep(2.5);
    my ($hit, $tries);
    for $tries (1 .. 60) {
        my $r = http(path => "/pool/al/mpx.fcgi?conninfo&try=$tries");
        if ((conninfo($r)->{peer} // 0) == ($peer // -1)) {
            $hit = $r;
            last;
        }
    }
    ok($hit && $hit->{status} == 200,
       'multiplexed: a later request of the same child is served');
    isnt(conninfo($hit // {})->{conn} // $conn, $conn,
         'multiplexed: ... on another connection (the old one is retired)');
    ok(wait_for(3, sub { (stats_of('cm')->{cut_off} // 0) > $cut0 }, 0.05),
       'multiplexed: the connection of the aborted request was closed '
       . 'while the application still wrote');
    my @m = grep { /FCGIX00305:/ } log_new_lines($off);
    is(scalar @m, 1, 'multiplexed: one FCGIX00305 line') or diag(@m);
}

# The server goes on serving (a fresh connection, not the dropped one).
{
    my $r = http(path => '/pool/al/bytes.fcgi?after=1');
    is($r->{status}, 200, 'the next request is served');
}

done_testing();
