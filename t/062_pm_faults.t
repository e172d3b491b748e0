# Faults of spawned applications (issue 3):
#  * an application killed (SIGKILL) mid-request: only that request fails
#    (502 before the headers, FCGIX00106; a cut response after them,
#    FCGIX00111), the next one is served by a fresh process;
#  * php-cgi ending itself after PHP_FCGI_MAX_REQUESTS=5 (FcgixInitialEnv,
#    in an httpd of its own): no request fails over 3 x 5 sequential
#    requests;
#  * an application that cannot start: the process manager backs off
#    (1, 2, 4 s; FCGIX00154) instead of fork-looping;
#  * the process manager killed with SIGKILL: the httpd parent ends the
#    dead PM's applications (nothing could manage them: a new PM believes
#    no pid it did not fork) and starts another (FCGIX00161); requests,
#    also to a new class, are served again within seconds, by its
#    children.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;

# ---------------------------------------------------------------------
# SIGKILL before the headers (Perl app sleeping)
{
    my $path = pm_app_path('faults', 'app.pl');
    my $r = pm_get(path => '/pm/faults/app.pl?warm');
    is($r->{status}, 200, 'kill: the class has its process')
        or diag(pm_brief($r));
    my $victim = $r->{kv}{pid} // 0;
    my @p = pm_procs($path);
    is_deeply(\@p, [$victim], 'kill: one process, the one that replied');
    my $off = log_mark();
    my $h = pm_start(path => '/pm/faults/app.pl?sleep_ms=8000');
    Time::HiRes::sleep(0.5);
    kill 'KILL', $victim if $victim;
    $r = $h ? pm_finish($h, 20) : { status => 0 };
    is($r->{status}, 502, 'kill: the request in the killed process: 502')
        or diag(pm_brief($r));
    ok($r->{secs} < 8, 'kill: it failed at once, not at the end of the '
                       . 'sleep') or diag("after $r->{secs} s");
    log_tag_ok($off, 'app_closed', 'kill');
    my $gone = pm_wait_until(5, sub { !grep { $_ == $victim } pm_procs($path) });
    ok($gone, 'kill: the killed process is gone');
    $r = pm_get(path => '/pm/faults/app.pl?after');
    ok($r->{status} == 200 && $r->{kv}{pid} && $r->{kv}{pid} != $victim,
       'kill: the next request is served by a fresh process')
        or diag(pm_brief($r));
}

# ---------------------------------------------------------------------
# SIGKILL after the headers (C test app streaming 1 MB over 50 s)
{
    my $path = pm_app_path('faults', 'testapp.fcgi');
    my $r = pm_get(path => '/pm/faults/testapp.fcgi?warm');
    is($r->{status}, 200, 'kill mid-body: the class has its process');
    my @p = pm_procs($path);
    is(scalar @p, 1, 'kill mid-body: one process');
    my $off = log_mark();
    my $h = pm_start(path => '/pm/faults/testapp.fcgi?bytes=1000000'
                             . '&chunk=10000&delay_ms=500');
    Time::HiRes::sleep(1.0);
    kill 'KILL', @p if @p == 1;
    $r = $h ? pm_finish($h, 20) : { status => 0, body => '' };
    ok($r->{status} == 200 && length($r->{body}) < 1000000,
       'kill mid-body: the client got the head and a cut body')
        or diag("status $r->{status}, " . length($r->{body}) . ' bytes');
    log_tag_ok($off, 'aborted_response', 'kill mid-body');
    $r = pm_get(path => '/pm/faults/testapp.fcgi?after');
    my @now = pm_procs($path);
    ok($r->{status} == 200 && @now == 1 && @p && $now[0] != $p[0],
       'kill mid-body: the next request is served by a fresh process')
        or diag(pm_brief($r) . " before @p now @now");
}

# ---------------------------------------------------------------------
# php-cgi exits by itself after PHP_FCGI_MAX_REQUESTS (5) requests, set
# with FcgixInitialEnv as mod_fcgid users do.  The setting is global, so
# this part runs in an httpd of its own (t/logs/pmphp), not to change the
# php-cgi applications of other tests.
SKIP: {
    skip 'php-cgi not installed', 5 unless -x '/usr/bin/php-cgi';
    my $h = eval { pm_own_httpd(name => 'pmphp',
                                body => "FcgixInitialEnv PHP_FCGI_MAX_REQUESTS 5\n") };
    ok($h, 'php-cgi: an httpd of its own') or diag($@);
    skip 'no httpd', 4 unless $h;
    my (%per_pid, @bad, $max);
    for my $i (1 .. 15) {
        my $r = pm_get(port => $h->{port}, path => "/pm/faults/app.php?i=$i");
        if ($r->{status} == 200 && $r->{kv}{pid}) {
            $per_pid{ $r->{kv}{pid} }++;
            $max = $r->{kv}{max_requests};
        }
        else {
            push @bad, "request $i: " . pm_brief($r);
        }
    }
    pm_own_httpd_stop($h);
    is($max, 5, 'php-cgi: PHP_FCGI_MAX_REQUESTS=5 from FcgixInitialEnv');
    ok(!@bad, 'php-cgi ending itself after 5 requests: 15 sequential '
              . 'requests, none fails') or diag(join "\n", @bad);
    is(scalar(grep { $_ > 5 } values %per_pid), 0,
       'php-cgi: no process served more than 5');
    ok(keys %per_pid >= 3, 'php-cgi: it was replaced as it ended ('
       . join(', ', map { "$_: $per_pid{$_}" } sort keys %per_pid) . ')');
    pm_wait_until(10, sub { !pm_procs(pm_app_path('faults', 'app.php')) });
}

# ---------------------------------------------------------------------
# An application that exits at start: back-off, no fork loop
# (virtual host pm_wait: FcgixSpawnWait 1, one process per class)
{
    my $wport = Apache::Test::vars('pm_wait_port');
    my $path = pm_app_path('broken.fcgi');
    my $off = log_mark();
    my $spawned = qr/FCGIX00153: spawned \Q$path\E /;
    my (%status, $n);
    my $t0 = Time::HiRes::time();
    while (Time::HiRes::time() - $t0 < 4.5) {
        my $r = pm_get(port => $wport, path => '/pm/broken.fcgi', timeout => 10);
        $status{ $r->{status} }++;
        $n++;
    }
    ok(!$status{200} && $n, "an app that cannot start: no 200 in $n requests ("
       . join(', ', map { "$_ x $status{$_}" } sort keys %status) . ')');
    my @st = grep { !/^50[23]$/ } keys %status;
    ok(!@st, 'an app that cannot start: 502/503 only');
    log_tag_ok($off, 'pm_start_failed', 'cannot start');
    my $spawns = pm_log_count($off, $spawned);
    ok($spawns >= 2 && $spawns <= 5,
       "an app that cannot start: $spawns starts in 4.5 s (back-off "
       . '1, 2, 4 s; without it dozens)');
}

# ---------------------------------------------------------------------
# The process manager killed with SIGKILL
{
    my $path = pm_app_path('faults', 'app.pl');
    my $r = pm_get(path => '/pm/faults/app.pl?before-pm-kill');
    my $app = $r->{kv}{pid} // 0;
    my $pm = pm_pm_pid();
    ok($pm && $app, "PM kill: the process manager ($pm) and an app ($app)");
    my $off = log_mark();
    kill 'KILL', $pm if $pm;
    my $new = pm_wait_until(15, sub { my $p = pm_pm_pid();
                                      $p && $p != ($pm // 0) ? $p : 0 });
    ok($new, 'PM kill: a new process manager runs (pid ' . ($new || '-')
             . ')');
    log_tag_ok($off, 'pm_restarted', 'PM kill');
    ok(pm_wait_until(5, sub { !pm_proc_info($app) }),
       "PM kill: the dead PM's application ($app) was ended with it");
    $r = pm_get(path => '/pm/faults/app.pl?after-pm-kill', timeout => 20);
    my $ai = $r->{kv}{pid} ? pm_proc_info($r->{kv}{pid}) : undef;
    ok($r->{status} == 200 && $ai && $ai->{ppid} == ($new || -1),
       'PM kill: the same class is served again, by a child of the new '
       . 'process manager') or diag(pm_brief($r) . " before: $app");
    my $t0 = Time::HiRes::time();
    $r = pm_get(path => '/pm/faults/libfcgi.fcgi?new-class', timeout => 20);
    $r = pm_get(path => '/pm/faults/app.pl?new-class', timeout => 20)
        unless pm_have('libfcgi.fcgi');
    ok($r->{status} == 200, sprintf('PM kill: a class never used before is '
       . 'spawned and served (%.2f s)', Time::HiRes::time() - $t0))
        or diag(pm_brief($r));
    my $i = $r->{kv}{pid} ? pm_proc_info($r->{kv}{pid}) : undef;
    ok($i && $i->{ppid} == ($new || -1),
       'PM kill: ... by a child of the new process manager');
}

done_testing();
