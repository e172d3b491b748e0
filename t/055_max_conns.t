# max-conns: a cap on the connections one httpd child opens to an address;
# requests beyond it wait for a connection to come back (or close), and
# past max-conns-wait get 503 with Retry-After and one log line.  Which
# connection served a request and which httpd child sent it are told by
# fcgix_testapp (?conninfo).  Config: t/conf/pool.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FcgixTest;
use FcgixPool;
use FcgixPM ();
use FcgixDropin ();

sub n_status { my $st = shift; scalar grep { $_->{status} == $st } @_ }

# conns per peer (httpd child) among responses
sub conns_per_child {
    my %by;
    for (@_) {
        my $i = conninfo($_);
        $by{ $i->{peer} // '?' }{ $i->{conn} // '?' } = 1;
    }
    return { map { $_ => scalar keys %{ $by{$_} } } keys %by };
}

# Worker children: the process manager (fcgix-pm) is a child too.
my @kids = grep {
    open my $fh, '<', "/proc/$_/comm";
    my $comm = <$fh> // '';
    $comm !~ /^fcgix-pm$/;
} httpd_children();
my $nkids = @kids || 1;

# 8 requests per child at once, each 300 ms: without the cap every one
# would open a connection of its own.
{
    my $n = 8 * $nkids;
    my $off = log_mark();
    my @r = parallel(map { { path => "/pool/mc/c.fcgi?conninfo&sleep_ms=300&i=$_" } }
                     1 .. $n);
    is(n_status(200, @r), $n, "max-conns=2: $n concurrent requests, all 200")
        or diag(join "\n", map { brief($_) } grep { $_->{status} != 200 } @r);
    my $per = conns_per_child(@r);
    ok(!grep({ $_ > 2 } values %$per),
       'max-conns=2: no httpd child used more than 2 connections')
        or diag(explain($per));
    ok(scalar(grep { $_ > 1 } values %$per) || $n <= 2,
       'max-conns=2: kept connections were shared by the waiting requests')
        or diag(explain($per));
    ok(!FcgixTest::log_wait($off, FcgixTest::tag_re('pool_full'), 0.2),
       'max-conns=2: nobody waited past max-conns-wait');

    # The status page (any child answers it) shows the sums over all
    # children, from the scoreboard: the kept connections of every child
    # that served, each child's at most 2.
    my $st = http(path => '/dropin-status?auto');
    my ($line) = grep { m{^Backend: \S+/pool/mc/c\.fcgi } }
                 split /\n/, $st->{body} // '';
    my %kv = map { split /=/, $_, 2 } grep { /=/ } split / /, $line // '';
    # (a child whose requests came one at a time used, and kept, one)
    my $children = keys %$per;
    my $kept = 0;
    $kept += $_ for values %$per;
    is($kv{open}, $kept,
       "status page: open=$kv{open} connections: those kept by the "
       . "$children children that served (at most 2 each)")
        or diag(($line // $st->{body}) . ' ' . explain($per));
    is($kv{idle}, $kept, 'status page: all of them idle now');
    is($kv{inflight}, 0, 'status page: nothing in flight now');
    ok(($kv{waited} // 0) > 0, 'status page: waited counts the requests '
       . 'that had to wait');
}

# Without keep-alive a request's connection is closed, and the slot passes
# to a waiting request.
{
    my $n = 4 * $nkids;
    my @r = parallel(map { { path => "/pool/mc/c-close.fcgi?conninfo&sleep_ms=200&i=$_" } }
                     1 .. $n);
    is(n_status(200, @r), $n,
       "max-conns=1, keepalive=0: $n concurrent requests, all 200")
        or diag(join "\n", map { brief($_) } grep { $_->{status} != 200 } @r);
    # One child's requests ran one after the other: their serving
    # intervals (as seen by the client) cannot all overlap.
    my %by;
    push @{ $by{ conninfo($_)->{peer} // '?' } }, $_ for @r;
    my $serial = 1;
    for my $list (values %by) {
        next if @$list < 2;
        my @t = sort { $a->{t1} <=> $b->{t1} } @$list;
        # the last of k requests of 200 ms each ends >= (k-1)*0.2 s after
        # the first began
        my $first = (sort { $a <=> $b } map { $_->{t0} } @t)[0];
        $serial = 0 if $t[-1]{t1} - $first < 0.2 * @t - 0.05;
    }
    ok($serial, 'max-conns=1: one child\'s requests were served one at a '
       . 'time') or diag(explain({ map { $_ => [ map { [$_->{t0}, $_->{t1}] } @{ $by{$_} } ] } keys %by }));
}

# max-conns-wait=1 against 2.5 s requests: in a child that gets two, the
# second waits 1 s and gets 503 with Retry-After.
{
    # (event may start a child more under the load: 3 per child)
    my $n = 3 * $nkids + 1;
    my $off = log_mark();
    my @r = parallel(map { { path => "/pool/mc/c-wait.fcgi?conninfo&sleep_ms=2500&i=$_" } }
                     1 .. $n);
    my ($ok, $busy) = (n_status(200, @r), n_status(503, @r));
    is($ok + $busy, $n, "max-conns-wait=1: every answer is 200 or 503 "
       . "($ok + $busy of $n)")
        or diag(join "\n", map { brief($_) } @r);
    ok($busy >= 1 && $ok >= 1,
       "max-conns-wait=1: $n requests, $nkids child(ren): some waited too "
       . 'long (503), the others were served');
    my $per = count_by(map { conninfo($_)->{peer} // '?' }
                       grep { $_->{status} == 200 } @r);
    ok(!grep({ $_ > 1 } values %$per),
       'max-conns-wait=1: no child served two of them at once')
        or diag(explain($per));
    my @e = grep { $_->{status} == 503 } @r;
    ok(@e && !grep({ !defined FcgixTest::header($_, 'Retry-After') } @e),
       'max-conns-wait=1: the 503s carry Retry-After');
    # (an order, not a time: each 503 ends before the requests that held
    # the connections, 2.5 s each, do)
    my ($first_ok) = sort { $a <=> $b } map { $_->{t1} }
                     grep { $_->{status} == 200 } @r;
    ok(@e && defined $first_ok && !grep({ $_->{t1} >= $first_ok } @e),
       'max-conns-wait=1: a 503 came after the wait, before the '
       . 'requests it waited for ended');
    log_tag_ok($off, 'pool_full', 'max-conns-wait=1');
    # afterwards the connection is free again
    my $r = http(path => '/pool/mc/c-wait.fcgi?i=after');
    is($r->{status}, 200, 'max-conns-wait=1: the next request is served');
}

# More external addresses than the scoreboard has slots for: a warning at
# startup (FCGIX00190), and the others keep per-child counters and serve.
{
    my $sock = Apache::Test::vars('t_logs') . '/pool-c.sock';
    my $body = join '', map {
        qq{FcgixExternalServer "/fcgix-many/s$_" unix:$sock\n}
    } 1 .. 260;
    $body .= qq{<Location /fcgix-status>\n    SetHandler fcgix-status\n}
           . qq{</Location>\n};
    my $h = eval { FcgixPM::pm_own_httpd(name => 'many-backends',
                                         body => $body) };
    ok($h, '260 external servers: httpd starts') or diag($@);
    if ($h) {
        my $log = "$h->{root}/logs/error_log";
        open my $fh, '<', $log;
        my $text = $fh ? do { local $/; <$fh> } : '';
        like($text, qr/FCGIX00190:.*more than 256 external server addresses/,
             '260 external servers: the scoreboard-full warning');
        my $st = FcgixDropin::dropin_req(port => $h->{port},
                                         path => '/fcgix-status?auto');
        like($st->{body} // '', qr{^Backend: /fcgix-many/s260 }m,
             '260 external servers: the last one is on the status page');
        FcgixPM::pm_own_httpd_stop($h);
    }
}

done_testing();
