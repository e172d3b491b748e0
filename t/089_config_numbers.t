# Numbers in the configuration (issue 14): every numeric directive and
# option is read by one parser (fcgix_conf_parse_num), so a malformed value
# fails `apache2 -t` with a message that names the directive (and option),
# the value and the range, whichever vocabulary (Fcgix*, Fcgid*, FastCgi*)
# and whichever family (server and directory scalars, sizes, spawn
# settings, FcgixExternalServer/FcgixServer key=value, FastCgiServer /
# FastCgiExternalServer / FastCgiConfig dash options, FcgidCmdOptions).
# Durations take ms, s, mi and hr (plain numbers stay seconds), sizes K,
# M and G: accepted by `apache2 -t`, and an httpd of its own
# (t/logs/cfgnum) shows FcgixIOTimeout 1500ms and FcgixMaxRequestLen 1K
# at work, and FCGIX00104 saying "1.5 s" (and "0.25 s" for 250ms).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Copy ();
use File::Path ();
use File::Spec::Functions qw(catfile);
use Test::More;
use FcgixTest;
use FcgixPM;

my $vars = Apache::Test::config()->{vars};
my $libexec = $vars->{fcgix_libexecdir} || '/usr/lib/apache2/modules';
my $so = "$vars->{top_dir}/.libs/mod_fcgix.so";
my $work = catfile($vars->{t_logs}, 'cfgnum-t');

plan skip_all => "no mod_fcgix build ($so)" unless -e $so;

File::Path::remove_tree($work);
File::Path::make_path($work);
my $app = "$work/app.fcgi";
File::Copy::copy("$vars->{top_dir}/t/apps/fcgix_testapp", $app)
    or die "copy fcgix_testapp: $!";
chmod 0755, $app;

my $head = <<"EOF";
ServerRoot "$work"
ServerName localhost
PidFile "$work/httpd.pid"
ErrorLog "$work/error_log"
DefaultRuntimeDir "$work"
LoadModule mpm_prefork_module "$libexec/mod_mpm_prefork.so"
LoadModule fcgix_module "$so"
Listen 127.0.0.1:1
EOF
my $head_lines = () = $head =~ /\n/g;

# apache2 -t on $head + $line; returns (exit code, signal, output, file)
sub config_test { FcgixTest::config_check($work, $head, $_[0]) }

# ---------------------------------------------------------------------
# 1. Refused: [line, what the message names, the value]. Each family and
# vocabulary, with trailing junk, a sign, overflow, out of range and an
# unknown unit.

my $big = '99999999999999999999';    # past 64 bits
my @bad = (
    # native server scalars (durations)
    ['FcgixIOTimeout 5x', 'FcgixIOTimeout', '5x'],
    ['FcgixIOTimeout -1', 'FcgixIOTimeout', '-1'],
    ["FcgixConnectTimeout $big", 'FcgixConnectTimeout', $big],
    ['FcgixConnectTimeout 3d', 'FcgixConnectTimeout', '3d'],
    ['FcgixIOTimeout 5hours', 'FcgixIOTimeout', '5hours'],
    ['FcgixIOTimeout 31536001', 'FcgixIOTimeout', '31536001'],
    ['FcgixIOTimeout +5', 'FcgixIOTimeout', '+5'],
    # a server-wide I/O timeout of 0 would answer every request 504 at
    # once (a server's own io-timeout=0 means this one, so it is valid)
    ['FcgixIOTimeout 0', 'FcgixIOTimeout', '0'],
    ['FcgidIOTimeout 0', 'FcgidIOTimeout', '0'],
    ['IPCCommTimeout 0ms', 'IPCCommTimeout', '0ms'],
    # and a connect timeout of 0 would wait without bound
    ['FcgixConnectTimeout 0', 'FcgixConnectTimeout', '0'],
    ['FcgidConnectTimeout 0', 'FcgidConnectTimeout', '0'],
    ['IPCConnectTimeout 0', 'IPCConnectTimeout', '0'],
    ['FcgixAbortTimeout 500ms', 'FcgixAbortTimeout', '500ms'],
    # native directory scalars (sizes, counts)
    ['FcgixMaxRequestLen 10x', 'FcgixMaxRequestLen', '10x'],
    ['FcgixMaxRequestLen 1KB', 'FcgixMaxRequestLen', '1KB'],
    ['FcgixMaxRequestLen 9999999999G', 'FcgixMaxRequestLen',
     '9999999999G'],
    ['FcgixMaxResponseHeaderLen 17M', 'FcgixMaxResponseHeaderLen', '17M'],
    ['FcgixMaxResponseHeaderLen 1023', 'FcgixMaxResponseHeaderLen',
     '1023'],
    ['FcgixStderrMaxLines 10K', 'FcgixStderrMaxLines', '10K'],
    ['FcgixAbortMaxBytes -5', 'FcgixAbortMaxBytes', '-5'],
    # native spawn settings (counts, whole seconds)
    ['FcgixMaxProcesses 0', 'FcgixMaxProcesses', '0'],
    ['FcgixMaxProcessesPerClass 5x', 'FcgixMaxProcessesPerClass', '5x'],
    ['FcgixIdleTimeout 1500ms', 'FcgixIdleTimeout', '1500ms'],
    ["FcgixSpawnWait $big", 'FcgixSpawnWait', $big],
    # FcgixExternalServer / FcgixServer key=value
    ["FcgixExternalServer /x 127.0.0.1:9 keepalive=5x",
     'FcgixExternalServer keepalive', '5x'],
    ["FcgixExternalServer /x 127.0.0.1:9 max-conns=65536",
     'FcgixExternalServer max-conns', '65536'],
    ["FcgixExternalServer /x 127.0.0.1:9 mpx-max-reqs=0",
     'FcgixExternalServer mpx-max-reqs', '0'],
    ["FcgixExternalServer /x 127.0.0.1:9 mpx-buffer=1K",
     'FcgixExternalServer mpx-buffer', '1K'],
    ["FcgixExternalServer /x 127.0.0.1:9 conn-max-requests=-1",
     'FcgixExternalServer conn-max-requests', '-1'],
    ["FcgixExternalServer /x 127.0.0.1:9 retry=5q",
     'FcgixExternalServer retry', '5q'],
    ["FcgixExternalServer /x localhost:9 resolve=0",
     'FcgixExternalServer resolve', '0'],
    ["FcgixExternalServer /x localhost:9 resolve=1 max-addrs=33",
     'FcgixExternalServer max-addrs', '33'],
    ["FcgixExternalServer /x localhost:9 resolve=1 slow-start=2x",
     'FcgixExternalServer slow-start', '2x'],
    [qq{FcgixServer "$app" restart-delay=5x}, 'FcgixServer restart-delay',
     '5x'],
    [qq{FcgixServer "$app" processes=129}, 'FcgixServer processes', '129'],
    # mod_fcgid names
    ['FcgidMaxProcesses many', 'FcgidMaxProcesses', 'many'],
    ['FcgidIOTimeout 30sec', 'FcgidIOTimeout', '30sec'],
    ['FcgidMaxRequestLen 1T', 'FcgidMaxRequestLen', '1T'],
    ['FcgidOutputBufferSize -1', 'FcgidOutputBufferSize', '-1'],
    ['FcgidMaxRequestsPerProcess -2', 'FcgidMaxRequestsPerProcess', '-2'],
    ['IdleTimeout 300x', 'IdleTimeout', '300x'],
    [qq{FcgidCmdOptions "$app" IdleTimeout 5x}, 'FcgidCmdOptions IdleTimeout',
     '5x'],
    [qq{FcgidCmdOptions "$app" MaxProcesses $big},
     'FcgidCmdOptions MaxProcesses', $big],
    [qq{FcgidCmdOptions "$app" IOTimeout 1y}, 'FcgidCmdOptions IOTimeout',
     '1y'],
    # mod_fastcgi names and options
    [qq{FastCgiServer "$app" -restart-delay 5x},
     'FastCgiServer -restart-delay', '5x'],
    [qq{FastCgiServer "$app" -processes 0}, 'FastCgiServer -processes', '0'],
    [qq{FastCgiServer "$app" -priority 20}, 'FastCgiServer -priority', '20'],
    [qq{AppClass "$app" -port 70000}, 'AppClass -port', '70000'],
    [qq{FastCgiServer "$app" -listen-queue-depth 10x},
     'FastCgiServer -listen-queue-depth', '10x'],
    ['FastCgiExternalServer /x -host 127.0.0.1:9 -appConnTimeout 5z',
     'FastCgiExternalServer -appConnTimeout', '5z'],
    ['FastCgiExternalServer /x -host 127.0.0.1:9 -idle-timeout -3',
     'FastCgiExternalServer -idle-timeout', '-3'],
    ['FastCgiConfig -killInterval 0', 'FastCgiConfig -killInterval', '0'],
    ['FastCgiConfig -multiThreshold 101', 'FastCgiConfig -multiThreshold',
     '101'],
    ["FastCgiConfig -maxClassProcesses $big",
     'FastCgiConfig -maxClassProcesses', $big],
    ['FastCgiConfig -updateInterval 1x', 'FastCgiConfig -updateInterval',
     '1x'],
    ['FastCgiConfig -appConnTimeout 2d', 'FastCgiConfig -appConnTimeout',
     '2d'],
);

my $range = qr/(?:from -?\d+\S* to \d+|of at least \d+)/;
for my $b (@bad) {
    my ($line, $what, $val) = @$b;
    my ($rc, $sig, $out, $conf) = config_test($line);
    my $lineno = $head_lines + 1;
    ok($rc != 0 && !$sig
       && $out =~ /Syntax error on line $lineno of \Q$conf\E/
       && $out =~ /\Q$what\E: '\Q$val\E' is not [^\n]*$range/,
       "refused, naming $what, '$val' and the range: $line")
        or diag("exit $rc" . ($sig ? " signal $sig" : '') . ":\n$out");
}

# ---------------------------------------------------------------------
# 2. Accepted: units, and plain numbers as before.

my @good = (
    'FcgixIOTimeout 1500ms', 'FcgixIOTimeout 40', 'FcgixConnectTimeout 2s',
    'FcgixConnectTimeout 1mi', 'FcgixAbortTimeout 1hr',
    'FcgixMaxRequestLen 1K', 'FcgixMaxRequestLen 131072',
    'FcgixMaxRequestInMem 64K', 'FcgixMaxResponseHeaderLen 1M',
    'FcgixStderrMaxBytes 2M', 'FcgixAbortMaxBytes 1G',
    'FcgixStderrMaxLines 100', 'FcgixIdleTimeout 5mi',
    'FcgixProcessLifeTime 1hr', 'FcgixSpawnWait 30s', 'FcgidBusyTimeout 300',
    'FcgidMaxRequestsPerProcess -1', 'FcgidOutputBufferSize 64K',
    'FcgidMaxRequestLen 1M',
    "FcgixExternalServer /x 127.0.0.1:9 keepalive=4 keepalive-timeout=500ms "
    . "retry=1mi max-conns-wait=2s mpx-buffer=4M mpx-max-reqs=100 "
    . "conn-max-requests=4294967295",
    qq{FcgixServer "$app" processes=2 restart-delay=1mi io-timeout=1500ms},
    qq{FastCgiServer "$app" -restart-delay 1mi -idle-timeout 1500ms }
    . '-processes 2 -priority 19 -port 9000',
    'FastCgiExternalServer /x -host 127.0.0.1:9 -appConnTimeout 2s',
    'FcgixExternalServer /x localhost:9 127.0.0.1:8 resolve=2s '
    . 'slow-start=0 max-addrs=4 drain=localhost:9',
    'FastCgiExternalServer /y -host localhost:9',
    'FastCgiConfig -killInterval 5mi -appConnTimeout 2s -maxProcesses 50',
    qq{FcgidCmdOptions "$app" IOTimeout 1500ms IdleTimeout 2mi }
    . 'MaxRequestsPerProcess -1',
);
for my $line (@good) {
    my ($rc, $sig, $out) = config_test($line);
    ok($rc == 0 && !$sig && $out =~ /Syntax OK/, "accepted: $line")
        or diag("exit $rc" . ($sig ? " signal $sig" : '') . ":\n$out");
}

# A name re-resolved counts max-addrs addresses: three names of 16 are
# more than a server may have; drain= of an unknown name is refused.
for my $t (["FcgixExternalServer /x localhost:1 localhost:2 localhost:3 "
            . 'resolve=1', qr/48 addresses .*at most 32/],
           ['FcgixExternalServer /x localhost:1 resolve=1 drain=other:1',
            qr/drain=other:1 is not one of the server's addresses/]) {
    my ($rc, $sig, $out) = config_test($t->[0]);
    ok($rc != 0 && !$sig && $out =~ $t->[1], "refused: $t->[0]")
        or diag("exit $rc:\n$out");
}

# ---------------------------------------------------------------------
# 3. At work: an I/O timeout of 1.5 s and a body limit of 1 KiB.

# A virtual host of its own has FcgixIOTimeout 250ms, for a timeout under
# a second in FCGIX00104 (which once said "0 s" for it, and "1 s" for 1.5).
my $short_port = pm_free_port();
my $h = eval { pm_own_httpd(name => 'cfgnum', body => <<"EOC") };
FcgixIOTimeout 1500ms
FcgixMaxRequestLen 1K
Listen 127.0.0.1:$short_port
<VirtualHost 127.0.0.1:$short_port>
    FcgixIOTimeout 250ms
</VirtualHost>
EOC
ok($h, 'httpd starts with FcgixIOTimeout 1500ms, FcgixMaxRequestLen 1K')
    or BAIL_OUT("own httpd: $@");

# The FCGIX00104 line of this httpd's error_log saying "within $secs".
sub io_timeout_logged {
    my ($secs) = @_;
    pm_wait_until(5, sub {
        open my $fh, '<', $h->{log} or return;
        grep { /FCGIX00104: .*no reply within \Q$secs\E \(I\/O timeout\)/ }
            <$fh>;
    });
}

my $r = pm_get(port => $h->{port}, path => '/pm/app.pl?sleep_ms=300');
is($r->{status}, 200, 'an application answering within 1.5 s: 200')
    or diag(pm_brief($r));
$r = pm_get(port => $h->{port}, path => '/pm/app.pl?sleep_ms=6000');
is($r->{status}, 504, 'an application silent for 6 s: 504')
    or diag(pm_brief($r));
ok($r->{secs} >= 1.4 && $r->{secs} < 4.5,
   sprintf('... after 1.5 s, not whole seconds (%.2f s)', $r->{secs}));
ok(io_timeout_logged('1.5 s'), '... and FCGIX00104 says "within 1.5 s"');
$r = pm_get(port => $short_port, path => '/pm/app.pl?sleep_ms=3000');
is($r->{status}, 504, 'FcgixIOTimeout 250ms, silent for 3 s: 504')
    or diag(pm_brief($r));
ok(io_timeout_logged('0.25 s'), '... and FCGIX00104 says "within 0.25 s"');

my %post = (port => $h->{port}, method => 'POST', path => '/pm/app.pl',
            proto => '1.0', headers => ['Content-Type' => 'text/plain']);
$r = FcgixTest::http(%post, body => 'x' x 1024);
is($r->{status}, 200, 'a body of 1024 bytes (1K) passes') or diag(pm_brief($r));
$r = FcgixTest::http(%post, body => 'x' x 1025);
is($r->{status}, 413, 'a body of 1025 bytes: 413') or diag(pm_brief($r));

pm_own_httpd_stop($h);
done_testing();
