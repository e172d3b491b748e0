# Multiplexing: requests of one httpd child share FastCGI connections
# (mpx=auto|on|off, mpx-max-reqs, mpx-buffer), against fcgix_testapp -m
# (?conninfo tells connection, request id and depth of each request, and
# the httpd child that sent it), Go net/http/fcgi (connections counted per
# httpd child by the app), and, with mpx=on, applications that answer
# FCGI_CANT_MPX_CONN.  Config: t/conf/pool.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(max min sum);
use POSIX ();
use Socket ();
use Time::HiRes ();
use Test::More;
use FcgixTest;
use FcgixPool;

sub burst {
    my ($path, $n, $q) = @_;
    parallel(map { { path => "$path?conninfo&$q", timeout => 60 } } 1 .. $n);
}

sub n200 { scalar grep { $_->{status} == 200 } @_ }

sub fails { join "\n", map { brief($_) } grep { $_->{status} != 200 } @_ }

# { peer => { conn => requests } } of ?conninfo responses
sub by_peer {
    my %p;
    for (@_) {
        my $i = conninfo($_);
        $p{ $i->{peer} // '?' }{ $i->{conn} // '?' }++;
    }
    \%p;
}

# Checks a burst of 16 ?conninfo requests on an fcgix_testapp -m path.
# (A child that httpd starts during the burst has no connection yet, and
# its first requests may each open one at the same moment: only the
# children that were there before count.)
sub mpx_ok {
    my ($name, $path) = @_;
    burst($path, 8, 'warm=1');   # every child has its connection
    my %old = map { $_ => 1 } httpd_children();
    my @r = burst($path, 16, 'sleep_ms=1000');
    is(n200(@r), 16, "$name: 16 parallel requests, all 200")
        or diag(fails(@r));
    my $p = by_peer(@r);
    my @per = map { scalar keys %{ $p->{$_} } } grep { $old{$_} } keys %$p;
    my $conns = sum(@per) // 0;
    my $depth = max(map { conninfo($_)->{depth} // 0 } @r) // 0;
    ok(@per && max(@per) <= 2,
       "$name: at most 2 connections per httpd child ($conns connections, "
       . scalar(@per) . ' children)') or diag(explain($p));
    ok($depth >= 2 && $conns < 16,
       "$name: requests share connections (up to $depth at once on one)");
    note("$name: 16 requests on $conns connections from "
         . scalar(@per) . " httpd children, max depth $depth");
}

# ---------------------------------------------------------------------
# fcgix_testapp -m

mpx_ok('mpx=on, fcgix_testapp -m', '/pool/mpx/cm.fcgi');
# auto: multiplexed once the app said FCGI_MPXS_CONNS=1 (first contact of
# each child goes alone, with FCGI_GET_VALUES)
burst('/pool/mpx/cm-auto.fcgi', 8, 'warm=1');
mpx_ok('mpx=auto, fcgix_testapp -m', '/pool/mpx/cm-auto.fcgi');

# mpx-max-reqs=4: never more than 4 ids on a connection
{
    burst('/pool/mpx/cm-max4.fcgi', 8, 'warm=1');
    my @r = burst('/pool/mpx/cm-max4.fcgi', 16, 'sleep_ms=800');
    is(n200(@r), 16, 'mpx-max-reqs=4: 16 parallel requests, all 200')
        or diag(fails(@r));
    my @d = map { conninfo($_)->{depth} // 0 } @r;
    my @rid = map { conninfo($_)->{rid} // 0 } @r;
    ok(max(@d) <= 4 && max(@rid) <= 4 && max(@d) >= 2,
       'mpx-max-reqs=4: up to 4 requests at once per connection (max '
       . max(@d) . ', ids up to ' . max(@rid) . ')') or diag("depths @d");
}

# mpx=off: one request per connection
{
    my @r = burst('/pool/mpx/cm-off.fcgi', 8, 'sleep_ms=500');
    is(n200(@r), 8, 'mpx=off: 8 parallel requests, all 200');
    my %c = map { (conninfo($_)->{conn} // '?') => 1 } @r;
    ok(!grep({ (conninfo($_)->{depth} // 0) != 1 } @r) && keys(%c) == 8,
       'mpx=off: each request alone on its connection');
}

# A slow request does not hold up a fast one on the same connection.
{
    my @slow = map { { path => '/pool/mpx/cm.fcgi?conninfo&sleep_ms=2000',
                       timeout => 60 } } 1 .. 12;
    my @fast = map { { path => '/pool/mpx/cm.fcgi?conninfo&fast=1',
                       delay => 0.5 + 0.1 * $_, timeout => 60 } } 0 .. 5;
    my @r = parallel(@slow, @fast);
    my @s = @r[0 .. 11];
    my @f = @r[12 .. 17];
    is(n200(@r), 18, 'slow+fast: 12 slow (2 s) and 6 fast requests, all 200')
        or diag(fails(@r));
    my %slow_end;   # conn => earliest end of a slow request on it
    for (@s) {
        my $c = conninfo($_)->{conn} // next;
        $slow_end{$c} = $_->{t1}
            if !defined $slow_end{$c} || $_->{t1} < $slow_end{$c};
    }
    my @shared = grep { defined $slow_end{ conninfo($_)->{conn} // '?' } } @f;
    ok(scalar @shared, scalar(@shared) . ' of 6 fast requests went on a '
       . 'connection that carried slow ones');
    my @late = grep { $_->{t1} - $_->{t0} > 1.0
                      || $_->{t1} > $slow_end{ conninfo($_)->{conn} } - 0.5 }
               @shared;
    ok(@shared && !@late,
       'slow+fast: each of them done within 1 s, well before the slow '
       . 'ones beside it')
        or diag(join "\n", map { sprintf 'fast took %.2fs', $_->{t1} - $_->{t0} }
                @late);
    note(sprintf 'slow+fast: fast requests %.3f..%.3f s, slow %.2f..%.2f s',
         min(map { $_->{t1} - $_->{t0} } @f), max(map { $_->{t1} - $_->{t0} } @f),
         min(map { $_->{t1} - $_->{t0} } @s), max(map { $_->{t1} - $_->{t0} } @s));
}

# ---------------------------------------------------------------------
# Go net/http/fcgi: the app counts connections per httpd child

# { peer pid => connections } from Go's stats
sub go_peers {
    my %p = map { split /:/ } split /,/, (stats_of('go')->{peers} // '');
    \%p;
}

sub go_mpx_ok {
    my ($name, $path) = @_;
    burst($path, 8, 'warm=1');
    my %kids = map { $_ => 1 } httpd_children();
    my $before = go_peers();
    my @r = burst($path, 16, 'sleep_ms=1000');
    my $after = go_peers();
    is(n200(@r), 16, "$name: 16 parallel requests, all 200")
        or diag(fails(@r));
    my %d = map { $_ => $after->{$_} - ($before->{$_} // 0) }
            grep { $kids{$_} } keys %$after;
    my $new = sum(values %d) // 0;
    ok((max(values %d) // 0) <= 2 && $new < 16,
       "$name: at most 2 new connections per httpd child ($new for 16 "
       . 'requests)') or diag(explain(\%d));
    note("$name: 16 requests opened $new connections in "
         . scalar(keys %kids) . ' httpd children');
}

SKIP: {
    skip 'Go backend not started', 6 unless backend_started('pool-go');
    go_mpx_ok('Go, mpx=on', '/pool/mpx/go-on.fcgi');
    # Go answers FCGI_GET_VALUES with MPXS_CONNS=1 (and then an empty
    # FCGI_GET_VALUES_RESULT record)
    burst('/pool/mpx/go.fcgi', 8, 'warm=1');
    go_mpx_ok('Go, mpx=auto', '/pool/mpx/go.fcgi');

    # fast beside slow on Go's shared connections
    my $before = go_peers();
    my @r = parallel((map { { path => '/pool/mpx/go-on.fcgi?sleep_ms=2000',
                              timeout => 60 } } 1 .. 12),
                     (map { { path => '/pool/mpx/go-on.fcgi?fast=1',
                              delay => 0.5 + 0.1 * $_, timeout => 60 } }
                      0 .. 5));
    my $after = go_peers();
    my @f = @r[12 .. 17];
    my $slow_min = min(map { $_->{t1} - $_->{t0} } @r[0 .. 11]);
    ok(n200(@r) == 18 && !grep({ $_->{t1} - $_->{t0} > 1.0 } @f)
       && $slow_min > 1.9,
       sprintf('Go mpx=on: 6 fast requests done in %.3f s at most while '
               . '12 slow ones (%.2f s) share the connections',
               max(map { $_->{t1} - $_->{t0} } @f), $slow_min))
        or diag(fails(@r));
    my $new = sum(map { $after->{$_} - ($before->{$_} // 0) }
                  grep { $_ != $$ } keys %$after) // 0;
    note("Go mpx=on slow+fast: 18 requests opened $new connections");
}

# ---------------------------------------------------------------------
# mpx=on against applications that do not multiplex: the refused request
# is sent again on a connection of its own, the client never notices.

{
    my $before = stats_of('c');
    my @r = (burst('/pool/mpx/c-on.fcgi', 16, 'sleep_ms=200'),
             burst('/pool/mpx/c-on.fcgi', 16, 'sleep_ms=200'));
    my $after = stats_of('c');
    is(n200(@r), 32, 'mpx=on, fcgix_testapp without -m: 2 x 16 parallel '
       . 'requests, all 200') or diag(fails(@r));
    my $refused = ($after->{cant_mpx} // 0) - ($before->{cant_mpx} // 0);
    # (an httpd that ran this before has learnt it already: -run-tests)
    ok($refused > 0 || $before->{cant_mpx},
       "mpx=on, non-multiplexing app: FCGI_CANT_MPX_CONN was answered "
       . "($refused times) and got through");
    ok(!grep({ (conninfo($_)->{depth} // 0) != 1 } @r),
       'mpx=on, non-multiplexing app: it served one request at a time '
       . 'per connection');
}
# libfcgi (2.4) does not multiplex and does not say FCGI_CANT_MPX_CONN
# either: FCGX_Finish_r drops what it read ahead, so a request pipelined
# behind another on its connection is lost (no reply at all; with the
# io-timeout=3 of this server: 504).  mpx=on cannot be used with it.
SKIP: {
    skip 'libfcgi backend not started', 1 unless backend_started('pool-lf');
    local $TODO = 'libfcgi loses a BEGIN_REQUEST pipelined on its '
                . 'connection instead of answering FCGI_CANT_MPX_CONN';
    my @r = burst('/pool/mpx/lf-on.fcgi', 16, 'sleep_ms=300');
    is(n200(@r), 16, 'mpx=on, libfcgi: 16 parallel requests, all 200');
}

# ---------------------------------------------------------------------
# mpx-buffer=65536: a client that does not read gets its request dropped
# once another request on its connection has to read past its 64 KiB
# (FCGIX00141, FCGI_ABORT_REQUEST to the app, the client sees an aborted
# response: never one that looks complete); the other requests go on.

# Sends GET $path from a client with a tiny receive buffer that reads
# nothing for a while, runs $others meanwhile, then reads all it is sent.
# Returns (http() like result of the slow client, its local port, the
# others' results).
sub slow_client_with_others {
    my ($path, $others) = @_;
    my $port = Apache::Test::vars('port');
    my $res = { status => 0, headers => [], body => '', len => 0,
                complete => 0, eof => 0, raw_tail => '' };
    my $slow = IO::Socket::INET->new(Proto => 'tcp') or return ($res, 0);
    setsockopt($slow, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), 4096);
    $slow->connect(Socket::pack_sockaddr_in($port,
                       Socket::inet_aton('127.0.0.1'))) or return ($res, 0);
    my $lport = $slow->sockport;
    print $slow "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
              . "Connection: close\r\n\r\n";
    Time::HiRes::sleep(0.3);
    my @o = $others->();
    my $st = FcgixTest::_parser_new($res, 'GET', { md5 => 1 });
    my $sel = IO::Select->new($slow);
    my $deadline = Time::HiRes::time() + 60;
    while (Time::HiRes::time() < $deadline && $sel->can_read(10)) {
        my $k = sysread($slow, my $buf, 1048576);
        last unless $k;
        FcgixTest::_parse($st, $buf);
    }
    close $slow;
    FcgixTest::_parse_eof($st);
    $res->{md5} = $st->{md5}->hexdigest if $st->{md5};
    return ($res, $lport, @o);
}

sub small_others {
    my @r = parallel(map { { path => '/pool/mpx/cm-buf.fcgi?bytes=32768',
                             md5 => 1, timeout => 60 } } 1 .. 12);
    return grep { !($_->{status} == 200 && $_->{complete}
                    && $_->{len} == 32768
                    && $_->{md5} eq pattern_md5(32768)) } @r;
}

{
    my (@bad_others, @looks_complete, @unlogged, $drops);
    my $aborts0 = stats_of('cm')->{aborts} // 0;
    # 256 MiB: the app is still writing when the request is dropped (once);
    # 8 MiB: it has usually ended the request by the time the drop is
    # noticed (twice).  A try whose slow client had no other request on its
    # connection drops nothing, and is done again.
    for my $plan ([256 * 1048576, 1], [8 * 1048576, 2]) {
        my ($n, $want) = @$plan;
        my ($got, $tries) = (0, 0);
        while ($got < $want && $tries++ < $want + 2) {
            my $off = log_mark();
            my ($r, $lport, @bad) = slow_client_with_others(
                "/pool/mpx/cm-buf.fcgi?bytes=$n", \&small_others);
            push @bad_others, @bad;
            next unless $r->{len} < $n;
            $got++;
            $drops++;
            my $mine = qr/127\.0\.0\.1:$lport\].*FCGIX00141/;
            my @l = FcgixTest::log_wait($off, $mine, 2);
            push @looks_complete, "$r->{len} of $n bytes" if $r->{complete};
            push @unlogged, "$r->{len} of $n bytes" unless @l;
            note("mpx-buffer: slow client got $r->{len} of $n bytes, "
                 . 'response ' . ($r->{complete} ? 'complete' : 'cut')
                 . ', FCGIX00141 ' . (@l ? '' : 'not ') . 'logged');
        }
    }
    ok(!@bad_others, 'mpx-buffer=65536: the other requests on the '
       . 'connections (12 x 32 KiB a round) all complete and intact')
        or diag(join "\n", map { brief($_) } @bad_others);
    ok(($drops // 0) >= 3, 'mpx-buffer=65536: slow clients\' requests were '
       . 'dropped (' . ($drops // 0) . ' times)');
    ok(!@looks_complete, 'mpx-buffer=65536: a dropped request\'s response '
       . 'never looks complete') or diag("complete-looking: @looks_complete");
    ok(!@unlogged, 'mpx-buffer=65536: each drop logged FCGIX00141')
        or diag("not logged: @unlogged");
    # the connection is read again once a request uses it
    my @bad = small_others();
    ok(!@bad, 'mpx-buffer=65536: the connections serve requests after the '
       . 'drops') or diag(join "\n", map { brief($_) } @bad);
    my $aborts = wait_for(5, sub {
        my $a = (stats_of('cm')->{aborts} // 0) - $aborts0;
        $a > 0 ? $a : 0 });
    ok($aborts, "mpx-buffer=65536: the application got FCGI_ABORT_REQUEST "
       . '(' . ($aborts || 0) . ' times)');
    healthy_ok('mpx-buffer overflow');
}

# Replies are passed on as the records arrived, without a copy: slices of
# the direct path's read buffer, and the records a shared connection's
# reader queued. Many tiny records and records of 65535 bytes, several
# requests at once, and a slow client (its buckets wait in the core while
# the reading goes on) must all come out byte for byte.
sub intact {
    my ($r, $n) = @_;
    return $r->{status} == 200 && $r->{complete} && $r->{len} == $n
        && $r->{md5} eq pattern_md5($n);
}

for my $p (['mpx', '/pool/mpx/cm.fcgi'], ['direct', '/pool/mpx/cm-off.fcgi']) {
    my ($name, $path) = @$p;
    my %q = (tiny => [40000, '&chunk=7'], huge => [3 * 1048576 + 11, '']);
    for my $kind (sort keys %q) {
        my ($n, $extra) = @{ $q{$kind} };
        my @r = parallel(map { { path => "$path?bytes=$n$extra", md5 => 1,
                                 timeout => 60 } } 1 .. 6);
        my @bad = grep { !intact($_, $n) } @r;
        ok(!@bad, "$name: 6 parallel replies of $kind records, byte-exact")
            or diag(join "\n", map { brief($_) } @bad);
    }
    my $n = 6 * 1048576 + 5;
    my ($r, $lport, @bad) = slow_client_with_others(
        "$path?bytes=$n", sub {
            my @o = parallel(map { { path => "$path?bytes=200003", md5 => 1,
                                     timeout => 60 } } 1 .. 6);
            return grep { !intact($_, 200003) } @o;
        });
    ok(intact($r, $n), "$name: a slow client's 6 MiB reply byte-exact")
        or diag(brief($r));
    ok(!@bad, "$name: the replies read meanwhile byte-exact")
        or diag(join "\n", map { brief($_) } @bad);
}

# A shared connection's reader wakes an owner once per batch of its
# records, not per read; a reply that pauses must still go out at once,
# with no batch to fill: "first" reaches the client while the application
# sleeps before "last", also while big replies stream on the connection
# meanwhile (they share it: the same httpd children, a few connections
# each), and those come out byte for byte. (Each under mpx-buffer: a
# slow test client must not get one dropped.)
sub trickle_ok {
    my ($name, $path) = @_;
    my $n = 3 * 1048576 + 7;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        my @r = parallel(map { { path => "$path?bytes=$n&chunk=131072"
                                         . '&delay_ms=50',
                                 md5 => 1, timeout => 60 } } 1 .. 6);
        my @bad = grep { !intact($_, $n) } @r;
        diag(join "\n", map { brief($_) } @bad) if @bad;
        POSIX::_exit(scalar @bad);
    }
    Time::HiRes::sleep(0.2);
    streaming_ok("$name, beside 6 big replies",
                 "$path?headers_then_sleep=3000");
    waitpid($pid, 0);
    is($? >> 8, 0, "$name: the 6 big replies meanwhile byte-exact");
    streaming_ok("$name, alone", "$path?headers_then_sleep=3000");
}

# A reply whose records came with its END_REQUEST goes down httpd's
# filters once, with its end, as on a connection of its own: httpd gives it
# a Content-Length. One whose first part went out before the rest came is
# chunked (HTTP/1.1, kept alive).
for my $i (1 .. 5) {
    my $r = http(path => '/pool/mpx/cm.fcgi?bytes=100', keepalive => 1);
    ok($r->{status} == 200 && length $r->{body} == 100
       && (header($r, 'Content-Length') // '') eq '100'
       && !defined header($r, 'Transfer-Encoding'),
       "mpx: a small reply read whole gets a Content-Length ($i)")
        or diag(brief($r));
}
{
    my $r = http(path => '/pool/mpx/cm.fcgi?bytes=200&chunk=100'
                         . '&delay_ms=300', keepalive => 1);
    ok(length $r->{body} == 200
       && lc(header($r, 'Transfer-Encoding') // '') eq 'chunked',
       'mpx: a reply in two parts 300 ms apart is chunked, all of it')
        or diag(brief($r));
}

trickle_ok('mpx fcgix_testapp -m', '/pool/mpx/cm.fcgi');
SKIP: {
    skip 'Go backend not started', 7 unless backend_started('pool-go');
    trickle_ok('mpx Go', '/pool/mpx/go-on.fcgi');
}

done_testing();
