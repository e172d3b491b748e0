# Scale-out (issue 18), metrics: the status handler's ?metrics in the
# Prometheus text format. promtool (Debian's prometheus package) checks
# the exposition; its numbers are compared with the requests this test
# sends (differences before and after, per outcome), with one another
# (histogram count = requests, connections opened + reused = requests)
# and with the status page's ?json. Config: t/conf/metrics.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Spec::Functions qw(catfile);
use JSON::PP ();
use Test::More;
use Time::HiRes ();
use FcgixTest qw(:DEFAULT http_start http_finish);
use FcgixMetrics;

my $docroot = Apache::Test::vars('documentroot');
my $logs = Apache::Test::vars('t_logs');
my $sockc = "unix:$logs/pool-c.sock";
my $sockm = "unix:$logs/pool-cm.sock";
my %KA   = (server => "$docroot/metrics/ka.fcgi", address => $sockc);
my %MPX  = (server => "$docroot/metrics/mpx.fcgi", address => $sockm);
my %DOWN = (server => "$docroot/metrics/down.fcgi",
            address => "unix:$logs/metrics-nobody.sock");
my %CLS  = (class => "$docroot/pm/metrics/testapp.fcgi");

sub val { metric_val(@_) }
sub nsamples { metric_count(@_) }
sub metrics { metrics_get('/metrics-status') }

sub promtool_ok {
    my ($text, $name) = @_;
    my $f = catfile($logs, 'metrics-110.prom');
    open my $fh, '>', $f or die "$f: $!";
    print $fh $text;
    close $fh;
    my $out = `promtool check metrics < '$f' 2>&1`;
    ok($? == 0 && $out !~ /\S/, "$name: promtool check metrics passes")
        or diag("promtool said (exit $?):\n$out");
}

ok(-x '/usr/bin/promtool' || `command -v promtool` =~ /\S/,
   'promtool is installed (scripts/deps.sh test: prometheus)');

# ---------------------------------------------------------------------
# Before
my ($r0, $m0) = metrics();
is($r0->{status}, 200, '?metrics answers 200');
like(header($r0, 'Content-Type') // '',
     qr{^text/plain; version=0\.0\.4; charset=utf-8$},
     '?metrics: the text format 0.0.4 content type');
ok($m0 && !@{ $m0->{bad} }, '?metrics: every line parses')
    or diag(join "\n", @{ $m0 ? $m0->{bad} : [] });
promtool_ok($r0->{body}, 'before');
is(val($m0, 'fcgix_info'), 1, 'fcgix_info is 1');
{
    my $r = http(path => '/metrics-status?metrics=');
    like(header($r, 'Content-Type') // '', qr{^text/plain; version=0\.0\.4},
         '?metrics= (a Prometheus scrape job\'s params) is the same page');
}

# ---------------------------------------------------------------------
# Requests of known outcomes
my (%sent, @st);
push @st, http(path => "/metrics/ka.fcgi?n=$_")->{status} for 1 .. 20;
push @st, http(path => '/metrics/ka.fcgi?status=404')->{status} for 1 .. 3;
push @st, http(path => '/metrics/ka.fcgi?sleep_ms=300')->{status}
    for 1 .. 4;
my @down = map { http(path => '/metrics/down.fcgi')->{status} } 1 .. 5;
push @st, http(path => "/metrics/mpx.fcgi?n=$_")->{status} for 1 .. 6;
push @st, http(path => "/pm/metrics/testapp.fcgi?n=$_")->{status}
    for 1 .. 8;
is(join(',', grep { $_ != 200 && $_ != 404 } @st), '',
   'the requests to the applications were answered');
is(join(',', @down), '503,503,503,503,503',
   'the address nobody listens on: 5 x 503');

my ($r1, $m1) = metrics();
ok($m1 && !@{ $m1->{bad} }, 'after: every line parses');
promtool_ok($r1->{body}, 'after');

sub delta {
    my ($name, %want) = @_;
    val($m1, $name, %want) - val($m0, $name, %want);
}

# ---- outcomes ----
is(delta('fcgix_backend_requests_total', %KA, outcome => 'ok'), 27,
   'kept-alive server: 27 requests ok (a 404 of the application too)');
is(delta('fcgix_backend_requests_total', %KA), 27,
   'kept-alive server: no other outcome');
is(delta('fcgix_backend_requests_total', %DOWN, outcome => 'unavailable'),
   5, 'unreachable address: 5 unavailable');
is(delta('fcgix_backend_connect_failures_total', %DOWN), 5,
   'unreachable address: 5 connect failures');
is(val($m1, 'fcgix_backend_up', %DOWN), 0,
   'unreachable address: fcgix_backend_up 0 (disabled)');
is(val($m1, 'fcgix_backend_up', %KA), 1, 'kept-alive server: up');
is(delta('fcgix_backend_requests_total', %MPX, outcome => 'ok'), 6,
   'multiplexed server: 6 requests ok');
is(delta('fcgix_backend_mpx_streams_total', %MPX), 6,
   'multiplexed server: 6 streams opened');
is(delta('fcgix_class_requests_total', %CLS, outcome => 'ok'), 8,
   'spawned class: 8 requests ok');
is(nsamples($m1, 'fcgix_class_requests_total', %CLS), 7,
   'spawned class: one series per outcome (7)');

# ---- connections ----
is(delta('fcgix_backend_connections_opened_total', %KA)
   + delta('fcgix_backend_connections_reused_total', %KA), 27,
   'kept-alive server: opened + reused = 27 requests');
ok(delta('fcgix_backend_connections_reused_total', %KA) > 0,
   'kept-alive server: connections were reused');
ok(val($m1, 'fcgix_backend_connections_idle', %KA) >= 1
   && val($m1, 'fcgix_backend_connections_open', %KA)
      >= val($m1, 'fcgix_backend_connections_idle', %KA),
   'kept-alive server: idle connections kept, open >= idle');

# ---- histogram ----
my $dur = 'fcgix_backend_request_duration_seconds';
is(delta("${dur}_count", %KA), 27, 'histogram: _count = 27 requests');
is(delta("${dur}_bucket", %KA, le => '+Inf'), 27,
   'histogram: the +Inf bucket = 27');
ok(delta("${dur}_bucket", %KA, le => '0.25') <= 23,
   'histogram: the 4 requests of 300 ms are above 0.25 s');
ok(delta("${dur}_sum", %KA) >= 1.2,
   'histogram: _sum holds at least 4 x 0.3 s');
{
    my @b = map { $_->[1] } sort { $a->[0]{le} <=> $b->[0]{le} }
            grep { $_->[0]{server} eq $KA{server} }
            @{ $m1->{m}{"${dur}_bucket"} || [] };
    is(scalar(@b), 12, 'histogram: 12 buckets');
    ok(!grep({ $b[$_] < $b[$_ - 1] } 1 .. $#b),
       'histogram: buckets are cumulative');
}
is(delta('fcgix_class_request_duration_seconds_count', %CLS), 8,
   'class histogram: _count = 8');

# ---- gauges at rest ----
is(val($m1, 'fcgix_backend_requests_in_flight', %$_), 0,
   "$_->{server}: nothing in flight at rest") for \%KA, \%MPX, \%DOWN;
is(val($m1, 'fcgix_class_requests_in_flight', %CLS), 0,
   'class: nothing in flight at rest');

# ---- spawned processes ----
my $procs = val($m1, 'fcgix_class_processes', %CLS);
ok($procs >= 1, "class: $procs process(es)");
is(val($m1, 'fcgix_class_processes', %CLS, state => 'busy'), 0,
   'class: none busy at rest');
ok(val($m1, 'fcgix_class_spawns_total', %CLS) >= $procs,
   'class: spawns_total >= processes');
is(val($m1, 'fcgix_class_spawn_failures_total', %CLS), 0,
   'class: no spawn failures');
ok(val($m1, 'fcgix_class_queue_waits_total', %CLS) >= 1
   && val($m1, 'fcgix_class_queue_wait_seconds_total', %CLS) > 0,
   'class: the first request waited for its process (queue wait)');
ok(val($m1, 'fcgix_processes') >= $procs
   && val($m1, 'fcgix_processes_max') >= val($m1, 'fcgix_processes'),
   'fcgix_processes, fcgix_processes_max');

# ---------------------------------------------------------------------
# The same numbers as the status page's ?json
{
    my $jr = http(path => '/metrics-status?json');
    my ($r2, $m2) = metrics();
    my $j = eval { JSON::PP::decode_json($jr->{body}) };
    ok($j, '?json parses');
    for my $b (\%KA, \%MPX, \%DOWN) {
        my ($e) = grep { $_->{server} eq $b->{server}
                         && $_->{address} eq $b->{address} }
                  @{ $j->{external} || [] };
        ok($e, "$b->{server}: in ?json") or next;
        is(val($m2, 'fcgix_backend_connections_opened_total', %$b),
           $e->{opened}, "$b->{server}: opened as on the status page");
        is(val($m2, 'fcgix_backend_connections_reused_total', %$b),
           $e->{reuses}, "$b->{server}: reuses as on the status page");
        is(val($m2, 'fcgix_backend_connect_failures_total', %$b),
           $e->{failures}, "$b->{server}: failures as on the status page");
    }
    my ($c) = grep { $_->{path} eq $CLS{class} } @{ $j->{classes} || [] };
    ok($c, 'class: in ?json');
    if ($c) {
        is(val($m2, 'fcgix_class_requests_total', %CLS, outcome => 'ok'),
           $c->{requests}, 'class: requests as on the status page');
        my %n;
        $n{ lc $_->{state} }++ for @{ $c->{procs} };
        is(val($m2, 'fcgix_class_processes', %CLS, state => $_),
           $n{$_} // 0, "class: $_ processes as on the status page")
            for qw(idle busy);
    }
}

# ---------------------------------------------------------------------
# In flight: three slow requests at once, seen by another child
{
    my @h = map { http_start(path => "/metrics/ka.fcgi?sleep_ms=1500&i=$_") }
            1 .. 3;
    push @h, map { http_start(path => "/metrics/mpx.fcgi?sleep_ms=1500&i=$_") }
             1 .. 2;
    my $seen = FcgixTest::wait_until(1.2, sub {
        my (undef, $m) = metrics();
        $m && val($m, 'fcgix_backend_requests_in_flight', %KA) == 3
           && val($m, 'fcgix_backend_requests_in_flight', %MPX) == 2
           && val($m, 'fcgix_backend_mpx_streams', %MPX) == 2;
    });
    ok($seen, 'in flight: 3 + 2 slow requests (2 on shared connections) '
       . 'counted while they run');
    my @r = map { http_finish($_) } @h;
    is(join(',', map { $_->{status} } @r), '200,200,200,200,200',
       'in flight: the slow requests answered 200');
}

done_testing();
