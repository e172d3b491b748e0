# A burst on one class (issue 3): 64 concurrent requests of 200 ms each to
# a class capped at 4 processes (FcgixMaxProcessesPerClass 4, virtual host
# pm_burst).  Every request is served (waiting on the class, no 503), the
# process manager spawns up to the cap and never beyond it (sampled through
# /proc during the burst), and waiting requests are woken as processes free
# up.  Then FcgixSpawnWait: with the only process busy, a request gives up
# after 1 s with 503 + Retry-After (FCGIX00171).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;

my $N = 64;
my $CAP = 4;
my $port = Apache::Test::vars('pm_burst_port');
my $path = pm_app_path('burst', 'testapp.fcgi');

is(scalar(() = pm_procs($path)), 0, 'no process of the class yet');

my ($max, $samples, $last) = (0, 0, 0);
my $sample = sub {
    my $now = Time::HiRes::time();
    return if $now - $last < 0.05;
    $last = $now;
    my $n = () = pm_procs($path);
    $max = $n if $n > $max;
    $samples++;
};
my $t0 = Time::HiRes::time();
my @r = pm_parallel(port => $port, timeout => 90, tick => $sample,
                    paths => [map { "/pm/burst/testapp.fcgi?sleep_ms=200&i=$_" }
                              1 .. $N]);
my $secs = Time::HiRes::time() - $t0;
$last = 0;
$sample->();

my %status;
$status{ $_->{status} }++ for @r;
is($status{200} // 0, $N, "$N concurrent requests: all 200")
    or diag(join ', ', map { "$_ x $status{$_}" } sort keys %status);
ok(!$status{503}, 'no 503 (requests wait for a process of the class)');
my @wrong = grep { ($r[$_]{kv}{QUERY_STRING} // '') ne
                   "sleep_ms=200&i=" . ($_ + 1) } 0 .. $#r;
ok(!@wrong, 'every response belongs to its request') or diag("@wrong");
ok($samples >= 10, "process count sampled during the burst ($samples "
                   . "samples)");
ok($max <= $CAP, "never more than $CAP processes (max seen $max)");
# 64 x 200 ms over 4 processes is 3.2 s; waiters that only woke up by the
# 1 s timeout of their wait (instead of the futex wake-up on release)
# would leave processes idle and take about 16 s.
ok($secs < 10, sprintf('waiting requests are woken as processes free up '
                       . '(%.1f s; ideal 3.2 s)', $secs));
my @after = pm_procs($path);
is(scalar @after, $CAP, "the class grew to its cap of $CAP processes");
note(sprintf '%d requests of 200 ms through %d processes: %.2f s, max %d '
     . 'processes seen in %d samples', $N, $CAP, $secs, $max, $samples);

# ---------------------------------------------------------------------
# FcgixSpawnWait 1 with FcgixMaxProcessesPerClass 1 (virtual host pm_wait)

my $wport = Apache::Test::vars('pm_wait_port');
my $r = pm_get(port => $wport, path => '/pm/wait/testapp.fcgi?warm');
is($r->{status}, 200, 'spawn wait: the class has its process')
    or diag(pm_brief($r));
my $busy = pm_start(port => $wport,
                    path => '/pm/wait/testapp.fcgi?sleep_ms=3000');
Time::HiRes::sleep(0.5);
my $off = log_mark();
$r = pm_get(port => $wport, path => '/pm/wait/testapp.fcgi?second');
is($r->{status}, 503, 'spawn wait: no process free within 1 s: 503')
    or diag(pm_brief($r));
like($r->{head}, qr/^Retry-After:\s*\d+\s*$/mi, 'spawn wait: Retry-After');
ok($r->{secs} >= 0.8 && $r->{secs} < 10,
   sprintf('spawn wait: it waited about FcgixSpawnWait (%.2f s)',
           $r->{secs}));
my @m = log_tag_ok($off, 'pm_no_process', 'spawn wait');
like(join('', @m), qr/; FcgixSpawnWait, FcgixMaxProcessesPerClass$/m,
     'spawn wait: the line names the settings as configured (native)')
    or diag(@m);
my $b = $busy ? pm_finish($busy, 30) : { status => 0 };
is($b->{status}, 200, 'spawn wait: the busy request completes')
    or diag(pm_brief($b));
is(scalar(() = pm_procs(pm_app_path('wait', 'testapp.fcgi'))), 1,
   'spawn wait: still one process');

done_testing();
