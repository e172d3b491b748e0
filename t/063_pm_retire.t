# Retiring spawned processes (issue 3), each setting in a virtual host of
# its own (t/conf/pm.conf.in), each seen acting:
#  * FcgixIdleTimeout 2 + FcgixMinProcessesPerClass 1 (pm_idle): 3
#    processes, busy together, then idle together: down to 1, which stays;
#  * FcgixMaxRequestsPerProcess 3 (pm_maxreq): every process serves
#    exactly 3 requests, none fails;
#  * FcgixProcessLifeTime 3 (pm_life, no idle timeout): the process is
#    replaced between requests once 3 s old, none fails;
#  * FcgixBusyTimeout 2 (pm_busy): a request keeping its process longer is
#    ended (SIGTERM) with 502 (FCGIX00106) and the process is gone.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;

sub port { Apache::Test::vars("pm_$_[0]_port") }

# ---------------------------------------------------------------------
# Idle timeout, above the minimum
{
    my $path = pm_app_path('idle', 'app.pl');
    my @r = pm_parallel(port => port('idle'), timeout => 30,
                        paths => [map { "/pm/idle/app.pl?sleep_ms=1500&i=$_" }
                                  1 .. 3]);
    my %pids = map { ($_->{kv}{pid} // 0) => 1 } grep { $_->{status} == 200 } @r;
    is(scalar(keys %pids), 3, 'idle: 3 concurrent requests, 3 processes')
        or diag(join ' / ', map { pm_brief($_) } @r);
    my @p = pm_procs($path);
    is(scalar @p, 3, 'idle: 3 processes running') or diag("running: @p");
    # the three become idle together (the spawns above were staggered)
    @r = pm_parallel(port => port('idle'), timeout => 30,
                     paths => [map { "/pm/idle/app.pl?sleep_ms=500&j=$_" }
                               1 .. 3]);
    my %again = map { ($_->{kv}{pid} // 0) => 1 } grep { $_->{status} == 200 } @r;
    ok(keys %again == 3 && !grep({ !$pids{$_} } keys %again),
       'idle: 3 more concurrent requests, one in each process')
        or diag(join ' / ', map { pm_brief($_) } @r);
    my $t0 = Time::HiRes::time();
    my @left;
    pm_wait_until(10, sub { @left = pm_procs($path); @left <= 1 });
    my $secs = Time::HiRes::time() - $t0;
    is(scalar @left, 1, sprintf('idle: after FcgixIdleTimeout 2 s the '
       . 'class is down to FcgixMinProcessesPerClass 1 (%.1f s)', $secs))
        or diag("left: @left");
    ok(@left && $pids{ $left[0] }, 'idle: the one left is one of the three');
    Time::HiRes::sleep(3);
    my @still = pm_procs($path);
    ok(@still == 1 && @left == 1 && $still[0] == $left[0],
       'idle: the minimum is kept (3 s later)') or diag("still: @still");
}

# ---------------------------------------------------------------------
# Max requests per process
{
    my (%n, @bad, @order);
    for my $i (1 .. 9) {
        my $r = pm_get(port => port('maxreq'), path => "/pm/maxreq/app.pl?i=$i");
        if ($r->{status} == 200 && $r->{kv}{pid}) {
            push @{ $n{ $r->{kv}{pid} } }, $r->{kv}{n};
            push @order, $r->{kv}{pid};
        }
        else {
            push @bad, "request $i: " . pm_brief($r);
        }
    }
    ok(!@bad, 'max requests: 9 sequential requests, none fails')
        or diag(join "\n", @bad);
    is(scalar(keys %n), 3, 'max requests: 3 processes for 9 requests');
    my @wrong = grep { join(',', @{ $n{$_} }) ne '1,2,3' } keys %n;
    ok(!@wrong, 'max requests: each process served requests 1, 2, 3')
        or diag(join '; ', map { "$_: @{ $n{$_} }" } sort keys %n);
    my $path = pm_app_path('maxreq', 'app.pl');
    my $gone = pm_wait_until(5, sub {
        my %live = map { $_ => 1 } pm_procs($path);
        !grep { $live{$_} } keys %n;
    });
    ok($gone, 'max requests: the processes that reached 3 are gone');
}

# ---------------------------------------------------------------------
# Process lifetime (idle processes older than 3 s end)
{
    my (@bad, @seen);
    my $t0 = Time::HiRes::time();
    while (Time::HiRes::time() - $t0 < 12) {
        my $r = pm_get(port => port('life'), path => '/pm/life/app.pl');
        if ($r->{status} == 200 && $r->{kv}{pid}) {
            push @seen, [$r->{kv}{pid}, Time::HiRes::time() - $t0];
        }
        else {
            push @bad, pm_brief($r);
        }
        last if @seen && $seen[-1][0] != $seen[0][0];
        Time::HiRes::sleep(0.3);
    }
    ok(!@bad, 'lifetime: no request fails') or diag(join "\n", @bad);
    my $first = @seen ? $seen[0][0] : 0;
    my @later = grep { $_->[0] != $first } @seen;
    ok(@later, 'lifetime: the process was replaced');
    my $at = @later ? $later[0][1] : 0;
    ok(!@later || $at >= 2.5, sprintf('lifetime: not before it was about '
       . '3 s old (replaced after %.1f s)', $at));
    my @left = pm_procs(pm_app_path('life', 'app.pl'));
    ok(!grep({ $_ == $first } @left), 'lifetime: the old process is gone');
}

# ---------------------------------------------------------------------
# Busy timeout (the C test app: it exits on SIGTERM; libfcgi apps such as
# the Perl and libfcgi ones finish the request first)
{
    my $path = pm_app_path('busy', 'testapp.fcgi');
    my $r = pm_get(port => port('busy'), path => '/pm/busy/testapp.fcgi?warm');
    my @p = pm_procs($path);
    ok($r->{status} == 200 && @p == 1, 'busy: the class has its process');
    my $pid = $p[0] // 0;
    my $off = log_mark();
    $r = pm_get(port => port('busy'),
                path => '/pm/busy/testapp.fcgi?sleep_ms=20000', timeout => 30);
    is($r->{status}, 502, 'busy: a request longer than FcgixBusyTimeout '
                          . '2 s gets 502') or diag(pm_brief($r));
    ok($r->{secs} >= 1.5 && $r->{secs} < 15,
       sprintf('busy: ended after about 2 s, not 20 (%.1f s)', $r->{secs}));
    log_tag_ok($off, 'app_closed', 'busy');
    my $gone = pm_wait_until(5, sub { !grep { $_ == $pid } pm_procs($path) });
    ok($gone, 'busy: the process is gone');
    $r = pm_get(port => port('busy'), path => '/pm/busy/testapp.fcgi?after');
    my @now = pm_procs($path);
    ok($r->{status} == 200 && @now == 1 && $now[0] != $pid,
       'busy: the next request gets a fresh process')
        or diag(pm_brief($r) . " now: @now");
}

done_testing();
