# Several addresses per server: balance=round-robin|hash|least-conn, and
# failover when one application dies (killed by pid during a load run):
# requests that start after it is gone never fail, and once it is back it
# is used again after retry=.  Then one application restarted under kept
# connections (exclusive and multiplexed).  Backends pool-foa/pool-fob on
# TCP (ports in t/conf/pool.conf), pool-r on a unix socket.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Spec::Functions qw(catfile);
use POSIX ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPool;

my $app = catfile(Apache::Test::vars('top_dir'), 't', 'apps', 'fcgix_testapp');

sub served {   # requests the app completed since $before
    my ($name, $before) = @_;
    # (the stats request that gave $before completed after it)
    (stats_of($name)->{completed} // 0) - ($before->{completed} // 0) - 1;
}

sub n200 { scalar grep { $_->{status} == 200 } @_ }

# ---------------------------------------------------------------------
# Balancing between two live addresses

for my $case (['round-robin', '/pool/fo/rr.fcgi'],
              ['least-conn (default)', '/pool/fo/lc.fcgi']) {
    my ($how, $path) = @$case;
    my ($a0, $b0) = (stats_of('foa'), stats_of('fob'));
    my @r = map { http(path => "$path?i=$_") } 1 .. 20;
    my ($a, $b) = (served('foa', $a0), served('fob', $b0));
    is(n200(@r), 20, "balance=$how: 20 requests, all 200");
    ok($a > 0 && $b > 0 && $a + $b == 20,
       "balance=$how: both addresses used ($a + $b)");
}
{
    my ($a0, $b0) = (stats_of('foa'), stats_of('fob'));
    my @r = map { http(path => "/pool/fo/hash.fcgi?i=$_") } 1 .. 20;
    my ($a, $b) = (served('foa', $a0), served('fob', $b0));
    is(n200(@r), 20, 'balance=hash: 20 requests, all 200');
    ok(($a == 20 && $b == 0) || ($a == 0 && $b == 20),
       "balance=hash: one client IP, one address ($a + $b)");
}

# ---------------------------------------------------------------------
# pool-foa killed (SIGKILL) 1.2 s into a 4 s run of 3 clients (a request
# every 40 ms or so each), on servers with (ka) and without (lc) kept
# connections.

my $port_a = (backend_addr('foa') =~ /:(\d+)$/)[0];
{
    my $b0 = stats_of('fob');
    pipe(my $kr, my $kw) or die "pipe: $!";
    my $start = Time::HiRes::time();
    my $killer = fork;
    die "fork: $!" unless defined $killer;
    if ($killer == 0) {
        close $kr;
        Time::HiRes::sleep(1.2);
        my $k0 = Time::HiRes::time();
        my $ok = kill_backend('pool-foa', 'KILL') ? 1 : 0;
        my $k1 = Time::HiRes::time();
        print $kw "$k0 $k1 $ok\n";
        close $kw;
        POSIX::_exit(0);
    }
    close $kw;
    my @r = FcgixPool::clients(n => 3, until => $start + 4, pause => 0.04,
                               spec => sub {
        my ($c, $i) = @_;
        { path => ($i % 2 ? '/pool/fo/ka.fcgi' : '/pool/fo/lc.fcgi')
                  . "?c=$c&i=$i", timeout => 30 } });
    my ($k0, $k1, $killed) = split ' ', (<$kr> // '0 0 0');
    close $kr;
    waitpid($killer, 0);
    ok($killed, 'pool-foa killed during the run');
    my @before = grep { $_->{t1} < $k0 } @r;
    my @during = grep { $_->{t0} <= $k1 && $_->{t1} >= $k0 } @r;
    my @after = grep { $_->{t0} > $k1 } @r;
    my @fail_after = grep { $_->{status} != 200 } @after;
    my @fail_during = grep { $_->{status} != 200 } @during;
    ok(@after > 20 && !@fail_after,
       scalar(@after) . ' requests started after the kill: none failed')
        or diag(join "\n", map { brief($_) } @fail_after);
    is(n200(@before), scalar(@before),
       scalar(@before) . ' requests before the kill: all 200');
    # A request the dead app had already accepted is not sent again (it
    # may have run): at most one per client.
    ok(@fail_during <= 3, scalar(@during) . ' requests in flight at the '
       . 'kill: ' . scalar(@fail_during) . ' failed (at most 3)')
        or diag(join "\n", map { brief($_) } @fail_during);
    note(sprintf 'failover: %d requests in %.1f s, %d failed (%d in flight '
         . 'at the kill), pool-fob served %d', scalar(@r),
         Time::HiRes::time() - $start,
         scalar(grep { $_->{status} != 200 } @r), scalar(@fail_during),
         served('fob', $b0));

    # Back again: used once retry=2 has passed.
    my $pid = respawn_backend('pool-foa', "127.0.0.1:$port_a", $app, '-l',
                              "127.0.0.1:$port_a");
    ok($pid, 'pool-foa restarted');
    Time::HiRes::sleep(2.2);
    my ($n, $bad) = (0, 0);
    my $used = wait_for(10, sub {
        for my $p ('/pool/fo/lc.fcgi', '/pool/fo/ka.fcgi') {
            my $r = http(path => "$p?back=" . ++$n);
            $bad++ if $r->{status} != 200;
        }
        (stats_of('foa')->{completed} // 0) > 0;
    }, 0.01);
    ok($used && !$bad, "after retry=2 the restarted address serves again "
       . "($n requests, " . ($bad || 0) . ' failed)');
}

# ---------------------------------------------------------------------
# One application restarted while httpd keeps idle connections to it:
# the first requests find them closed, and must still be served.

{
    my @warm = (map({ http(path => "/pool/fo/r-keep.fcgi?w=$_") } 1 .. 12),
                parallel(map { { path => "/pool/fo/r-mpx.fcgi?w=$_&sleep_ms=200" } }
                         1 .. 12),
                map({ http(path => "/pool/fo/r-mpx.fcgi?w=$_") } 1 .. 12));
    is(n200(@warm), 36, 'pool-r: 36 requests before the restart, all 200');
    my $sock = backend_addr('r');
    ok(kill_backend('pool-r', 'TERM')
       && respawn_backend('pool-r', $sock, $app, '-m', '-l', $sock),
       'pool-r restarted');
    for my $case (['kept-alive connections (keepalive=2)',
                   '/pool/fo/r-keep.fcgi'],
                  ['multiplexed connections (mpx=on)', '/pool/fo/r-mpx.fcgi']) {
        my ($what, $path) = @$case;
        my @r = map { http(path => "$path?after=$_") } 1 .. 12;
        is(n200(@r), 12, "app restarted under idle $what: the next 12 "
           . 'requests all 200')
            or diag(join "\n", map { brief($_) }
                    grep { $_->{status} != 200 } @r);
    }
}

done_testing();
