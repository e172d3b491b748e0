# After FCGI_ABORT_REQUEST the httpd thread is not held by an application
# that ignores it and goes on writing (php-fpm, libfcgi do; security issue,
# item 5): the bridge reads and discards for at most FcgixAbortTimeout and
# FcgixAbortMaxBytes, then closes the connection (never reused) with one
# FCGIX00300 line.  The application is fcgix_testapp (pool-c) in
# forever_ms&ignore_abort mode: it writes for 30 s unless its connection
# goes away; its "cut_off" counter shows when that happened.
# Config: t/conf/pool.conf.in (/pool/al/); the multiplexed cases in an
# httpd of their own (t/logs/abort-mpx).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPool;
use FcgixPM qw(pm_own_httpd pm_own_httpd_stop);

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

# --- shared (multiplexed) connections ---------------------------------
# Shared connections are per httpd child, and what these cases check is
# seen by the next request of the aborted one's child.  The main server's
# children come and go (the MPM starts one while a thread is busy and
# stops a spare one later), so a request of the same child cannot be
# counted on there: these run in an httpd of their own with exactly one
# child, which every request reaches.
my $docroot = FcgixTest::docroot();
my $logs = FcgixTest::vars('t_logs');
my $own = pm_own_httpd(name => 'abort-mpx', body => <<"EOC");
ServerLimit 1
StartServers 1
ThreadsPerChild 20
MaxRequestWorkers 20
MinSpareThreads 1
MaxSpareThreads 20
FcgixExternalServer "$docroot/pool/al/mpx.fcgi" unix:$logs/pool-cm.sock \\
    mpx=on keepalive-timeout=30
<Location /pool/al/mpx.fcgi>
    FcgixAbortTimeout 2
    FcgixAbortMaxBytes 1073741824
</Location>
EOC
my $own_port = $own->{port};

# The application keeping to the limits: the aborted request was the
# connection's last live one, so it reads the application's END_REQUEST
# itself (nobody else would until the next request came by, past
# FcgixAbortTimeout): the connection stays in use, nothing is reported.
{
    my $off = log_mark($own->{log});
    my $got = abort_client(port => $own_port,
                           path => '/pool/al/mpx.fcgi?conninfo'
                           . '&forever_ms=30000&chunk=4096&delay_ms=10',
                           read => 100000, after => 10);
    my ($peer) = $got =~ /^X-Fcgix-Peer: (\d+)/mi;
    my ($conn) = $got =~ /^X-Fcgix-Conn: (\d+)/mi;
    ok($peer && $conn, 'multiplexed, ended on abort: the reply started '
       . '(httpd child ' . ($peer // '?') . ')');
    Time::HiRes::sleep(2.5);
    my $r = http(port => $own_port, path => '/pool/al/mpx.fcgi?conninfo');
    ok($r->{status} == 200 && (conninfo($r)->{peer} // 0) == ($peer // -1),
       'multiplexed, ended on abort: a later request of the same child is '
       . 'served') or diag(brief($r));
    is(conninfo($r)->{conn} // -1, $conn // -2,
       'multiplexed, ended on abort: ... on the same connection');
    my @m = grep { /FCGIX00305:/ } log_new_lines($off, $own->{log});
    is(scalar @m, 0, 'multiplexed, ended on abort: no FCGIX00305')
        or diag(@m);
}

# The application ignoring the abort: the aborted request, the
# connection's last live one, reads what the application still writes,
# within limits; its connection takes no more requests once the
# application has had FcgixAbortTimeout (2 s), and is closed as soon as
# no live request is left on it.  The aborted request's thread, which
# drained it, reports it (the next request of that child might never
# come); the next request reports nothing more.
{
    my $cut0 = stats_of('cm')->{cut_off} // 0;
    my $off = log_mark($own->{log});
    my $got = abort_client(port => $own_port,
                           path => '/pool/al/mpx.fcgi?conninfo'
                           . '&forever_ms=30000&ignore_abort&chunk=4096'
                           . '&delay_ms=10', read => 100000, after => 10);
    my ($peer) = $got =~ /^X-Fcgix-Peer: (\d+)/mi;
    my ($conn) = $got =~ /^X-Fcgix-Conn: (\d+)/mi;
    ok($peer && $conn, 'multiplexed: the endless reply started (httpd '
       . 'child ' . ($peer // '?') . ')');
    ok(wait_for(8, sub { (stats_of('cm')->{cut_off} // 0) > $cut0 }, 0.05),
       'multiplexed: the connection of the aborted request was closed '
       . 'while the application still wrote');
    my @m;
    wait_for(3, sub {
        @m = grep { /FCGIX00305:/ } log_new_lines($off, $own->{log});
    }, 0.05);
    is(scalar @m, 1, 'multiplexed: one FCGIX00305 line, before any other '
       . 'request came') or diag(@m);
    like($m[0] // '',
         qr/aborted request id \d+ .*connection closed \(1 in all\)/,
         'multiplexed: ... it says which request and why');
    my $r = http(port => $own_port, path => '/pool/al/mpx.fcgi?conninfo');
    ok($r->{status} == 200 && (conninfo($r)->{peer} // 0) == ($peer // -1),
       'multiplexed: a later request of the same child is served')
        or diag(brief($r));
    isnt(conninfo($r)->{conn} // $conn, $conn,
         'multiplexed: ... on another connection (the old one is retired)');
    @m = grep { /FCGIX00305:/ } log_new_lines($off, $own->{log});
    is(scalar @m, 1, 'multiplexed: still one FCGIX00305 line after it')
        or diag(@m);
}
pm_own_httpd_stop($own);

# The server goes on serving (a fresh connection, not the dropped one).
{
    my $r = http(path => '/pool/al/bytes.fcgi?after=1');
    is($r->{status}, 200, 'the next request is served');
}

done_testing();
