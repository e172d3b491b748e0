# Connection keep-alive (FcgixExternalServer keepalive=N, keepalive-timeout,
# conn-max-requests) against fcgix_testapp, a libfcgi application and
# php-fpm.  Which FastCGI connection served a request is told by the
# application itself (fcgix_testapp/libfcgi_app: ?conninfo headers,
# t/htdocs/pool/fpm.php: the socket's inode), and which httpd child sent it
# by the peer pid (SO_PEERCRED).  Config: t/conf/pool.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FcgixTest;
use FcgixPool;

# conninfo of a list of responses: [conn, nth, peer] each
sub infos { map { my $i = conninfo($_); [$i->{conn}, $i->{nth}, $i->{peer}] } @_ }

sub distinct { my %s = map { $_ => 1 } @_; scalar keys %s }

# ---------------------------------------------------------------------
# fcgix_testapp

# Default: keepalive=0, every request on a connection of its own.
{
    my @r = map { http(path => '/pool/ka/c-default.fcgi?conninfo') } 1 .. 10;
    is(scalar(grep { $_->{status} == 200 } @r), 10,
       'keepalive=0 (default): 10 requests, all 200');
    my @i = infos(@r);
    is(distinct(map { $_->[0] } @i), 10,
       'keepalive=0: 10 requests on 10 connections');
    is(scalar(grep { ($_->[1] // 0) == 1 } @i), 10,
       'keepalive=0: each connection carried one request');
}

# One HTTP keep-alive connection = one httpd child: every request after the
# first is sent on the connection the previous one left idle.
{
    my @r = session(map { '/pool/ka/c.fcgi?conninfo' } 1 .. 30);
    is(scalar(grep { $_->{status} == 200 } @r), 30,
       'keepalive=2, one client connection: 30 requests, all 200');
    my @i = infos(@r);
    my @conns = map { $_->[0] // '-' } @i;
    is(distinct(@conns), 1,
       'keepalive=2, one httpd child: 30 sequential requests on 1 '
       . 'FastCGI connection') or diag("connections: @conns");
    my @nth = map { $_->[1] // 0 } @i;
    ok(!grep({ $nth[$_] != $nth[0] + $_ } 0 .. $#nth),
       'keepalive=2: the application counts them as one connection\'s '
       . "requests $nth[0]..$nth[-1]") or diag("nth: @nth");
}

# Separate client connections land on any child: one FastCGI connection
# per child, whatever the number of requests.
{
    my $before = stats_of('c');
    my @r = map { http(path => '/pool/ka/c.fcgi?conninfo') } 1 .. 40;
    my $after = stats_of('c');
    is(scalar(grep { $_->{status} == 200 } @r), 40,
       'keepalive=2, 40 client connections: all 200');
    my @i = infos(@r);
    my (%by_peer, %conns);
    for (@i) {
        $by_peer{ $_->[2] // '?' }{ $_->[0] // '?' } = 1;
        $conns{ $_->[0] // '?' } = 1;
    }
    my @per = map { scalar keys %{ $by_peer{$_} } } sort keys %by_peer;
    ok(!grep({ $_ != 1 } @per),
       'keepalive=2: each httpd child used one FastCGI connection for '
       . 'its sequential requests')
        or diag(explain(\%by_peer));
    # the stats request after counts one more connection
    my $opened = ($after->{connections} // 0)
               - ($before->{connections} // 0) - 1;
    ok($opened <= scalar(keys %by_peer) && $opened < 10,
       "keepalive=2: 40 requests opened $opened connection(s) for "
       . scalar(keys %by_peer) . ' httpd children')
        or diag(explain([$before, $after]));
    note(sprintf 'fcgix_testapp keepalive=2: 40 requests, %d new '
         . 'connections, %d distinct, %d httpd children',
         $opened, scalar(keys %conns), scalar(keys %by_peer));
}

# conn-max-requests=5: a connection is closed after its 5th request.
{
    my @r = session(map { '/pool/ka/c-max.fcgi?conninfo' } 1 .. 12);
    is(scalar(grep { $_->{status} == 200 } @r), 12,
       'conn-max-requests=5: 12 requests, all 200');
    my @i = infos(@r);
    my @nth = map { $_->[1] // 0 } @i;
    my $max = 0;
    $max < $_ and $max = $_ for @nth;
    is($max, 5, 'conn-max-requests=5: no connection carried more than 5')
        or diag("nth: @nth");
    my $n = distinct(map { $_->[0] // '-' } @i);
    is($n, 3, 'conn-max-requests=5: 12 requests on 3 connections')
        or diag("nth: @nth");
}

# keepalive-timeout=1: an idle connection is not used after 1 s.
{
    my @r = session('/pool/ka/c-ttl.fcgi?conninfo',
                    ['/pool/ka/c-ttl.fcgi?conninfo', 0.1],
                    ['/pool/ka/c-ttl.fcgi?conninfo', 2.5]);
    is(scalar(grep { $_->{status} == 200 } @r), 3,
       'keepalive-timeout=1: 3 requests, all 200');
    my @c = map { $_->[0] // '-' } infos(@r);
    is($c[1], $c[0], 'keepalive-timeout=1: reused after 0.1 s idle');
    isnt($c[2], $c[1], 'keepalive-timeout=1: not reused after 2.5 s idle');
}

# ---------------------------------------------------------------------
# libfcgi: one request at a time per process; a kept connection pins its
# process (12 of them here, keepalive=1).

SKIP: {
    skip 'libfcgi backend not started (libfcgi-dev missing?)', 6
        unless backend_started('pool-lf');
    my @r = session(map { '/pool/ka/lf.fcgi?conninfo' } 1 .. 30);
    is(scalar(grep { $_->{status} == 200 } @r), 30,
       'libfcgi keepalive=1, one client connection: 30 requests, all 200');
    my @i = infos(@r);
    is(distinct(map { $_->[0] // '-' } @i), 1,
       'libfcgi keepalive=1: 30 sequential requests on 1 connection');
    is(distinct(map { FcgixTest::header($_, 'X-Fcgix-Pid') // '-' } @r), 1,
       'libfcgi keepalive=1: ... served by one process');

    my $before = stats_of('lf');
    @r = map { http(path => '/pool/ka/lf.fcgi?conninfo') } 1 .. 40;
    my $after = stats_of('lf');
    is(scalar(grep { $_->{status} == 200 } @r), 40,
       'libfcgi keepalive=1, 40 client connections: all 200');
    my %peers = map { (conninfo($_)->{peer} // '?') => 1 } @r;
    my $opened = ($after->{connections} // 0)
               - ($before->{connections} // 0) - 1;
    ok($opened <= scalar(keys %peers) && $opened < 10,
       "libfcgi keepalive=1: 40 requests opened $opened connection(s) "
       . 'for ' . scalar(keys %peers) . ' httpd children')
        or diag(explain([$before, $after]));
    is(($after->{requests} // 0) - ($before->{requests} // 0), 41,
       'libfcgi: every request counted once (40 + the stats request)');
}

# ---------------------------------------------------------------------
# php-fpm (12 static workers, keepalive=1)

sub fpm_info {
    my ($r) = @_;
    return $r->{body} =~ /^pid=(\d+) conn=(\d+) start=([\d.]+) end=([\d.]+)$/m
        ? { pid => $1, conn => $2, start => $3, end => $4 } : undef;
}

SKIP: {
    skip 'php-fpm not found', 6 unless backend_started('pool-fpm');
    my @r = session(map { '/pool/fpm.php' } 1 .. 30);
    my @f = map { fpm_info($_) } @r;
    is(scalar(grep { $_ } @f), 30,
       'php-fpm keepalive=1, one client connection: 30 requests, all '
       . 'answered') or diag(brief($r[0]));
    is(distinct(map { $_ ? $_->{conn} : '-' } @f), 1,
       'php-fpm keepalive=1: 30 sequential requests on 1 connection');

    @r = map { http(path => '/pool/fpm.php') } 1 .. 40;
    @f = map { fpm_info($_) } @r;
    is(scalar(grep { $_ } @f), 40,
       'php-fpm keepalive=1, 40 client connections: all answered');
    my $n = distinct(map { $_ ? $_->{conn} : '-' } @f);
    ok($n < 10, "php-fpm keepalive=1: 40 requests on $n connections");

    # 4 clients at once, 15 requests each, 50 ms apiece: connections are
    # shared only one request at a time (a second BEGIN_REQUEST on a busy
    # php-fpm connection would break it).
    my @all = FcgixPool::clients(n => 4, count => 15, spec => sub {
        { path => '/pool/fpm.php?sleep_ms=50', timeout => 30 } });
    my @ok = grep { $_->{status} == 200 && fpm_info($_) } @all;
    is(scalar(@ok), 60, 'php-fpm keepalive=1, 4 parallel clients: 60 '
       . 'requests, all 200')
        or diag(join "\n", map { brief($_) } grep { $_->{status} != 200 }
                                              @all);
    my %by;
    push @{ $by{ fpm_info($_)->{conn} } }, fpm_info($_) for @ok;
    my @overlap;
    for my $c (keys %by) {
        my @s = sort { $a->{start} <=> $b->{start} } @{ $by{$c} };
        for my $k (1 .. $#s) {
            push @overlap, "$c: $s[$k - 1]{end} > $s[$k]{start}"
                if $s[$k - 1]{end} > $s[$k]{start};
        }
    }
    ok(!@overlap && keys(%by) < 60,
       'php-fpm: never two requests at once on one connection ('
       . scalar(keys %by) . ' connections for 60 requests)')
        or diag("@overlap");
}

done_testing();
