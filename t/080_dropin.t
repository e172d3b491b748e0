# Drop-in (issue 7): a mod_fcgid site and a mod_fastcgi site, configured
# exactly as their users write them (t/conf/dropin.conf.in), are served by
# mod_fcgix, and the directives take effect where a client or /proc can see
# it: initial environments (/proc/PID/environ: the C test app's reply lists
# FastCGI params, not its process environment), pass-header, the request
# body limit (413), per-class process limits, the I/O timeout, the php-cgi
# wrapper, the static server's process count, the external server.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Spec::Functions qw(catfile);
use JSON::PP ();
use Test::More;
use FcgixTest;
use FcgixDropin;

my $docroot = Apache::Test::vars('documentroot');
my $dir     = dropin_docroot();
my $fcgid   = dropin_port('dropin_fcgid');
my $fastcgi = dropin_port('dropin_fastcgi');
my $main    = dropin_port();
my $user    = Apache::Test::vars('user');
my $uid     = getpwnam($user);
my $auth    = 'Basic ' . 'Zm9vOmJhcg==';   # foo:bar
my $have_php = -x '/usr/bin/php-cgi';

plan skip_all => 'dropin vhosts not configured'
    unless $fcgid && $fastcgi;

my $fcgid_app  = catfile($dir, 'fcgid', 'app.fcgi');
my $dyn_app    = catfile($dir, 'fastcgi', 'app.fcgi');
my $static_app = catfile($dir, 'fastcgi', 'static.fcgi');
my $ext_path   = catfile($dir, 'fastcgi', 'ext.fcgi');

# pids running $path, run as httpd's User (waits up to $secs for >= 1)
sub app_pids {
    my ($path, $secs) = @_;
    my @p;
    dropin_wait($secs // 5, sub { @p = dropin_procs($path); scalar @p });
    @p;
}

sub status_json {
    my $r = dropin_req(path => '/dropin-status?json');
    return unless $r->{status} == 200;
    my $j = eval { JSON::PP::decode_json($r->{body}) };
    diag("status ?json does not parse: $@") unless $j;
    $j;
}

sub class_of {
    my ($j, $path) = @_;
    return unless $j;
    my ($c) = grep { $_->{path} eq $path } @{ $j->{classes} || [] };
    $c;
}

# ---------------------------------------------------------------------
# The mod_fastcgi site's static server runs before any request.
{
    my @s;
    dropin_wait(10, sub { @s = dropin_procs($static_app); @s == 2 });
    is(scalar @s, 2, 'FastCgiServer -processes 2: two processes running '
       . 'before the first request') or diag("pids: @s");
    my @bad = grep { (dropin_proc($_)->{uid} // -1) != $uid } @s;
    ok(@s && !@bad, "FastCgiServer: its processes run as $user")
        or diag("not $user: @bad");
    my @env = map { dropin_environ($_) } @s;
    ok(@env == 2 && !grep({ ($_->{DROPIN_STATIC} // '') ne 'static-value' }
                          @env),
       'FastCgiServer -initial-env DROPIN_STATIC=static-value: in the '
       . 'environment of both processes')
        or diag(explain(\@env));
}

# ---------------------------------------------------------------------
# mod_fcgid site: AddHandler fcgid-script .fcgi

my $r = dropin_req(port => $fcgid, path => '/dropin/fcgid/app.fcgi?x=1',
                   headers => [Authorization => $auth]);
is($r->{status}, 200, 'mod_fcgid site: spawned .fcgi (fcgid-script) '
   . 'answers 200') or diag(dropin_brief($r));
is($r->{kv}{SCRIPT_FILENAME}, $fcgid_app, 'mod_fcgid site: SCRIPT_FILENAME');
is($r->{kv}{QUERY_STRING}, 'x=1', 'mod_fcgid site: QUERY_STRING');
is($r->{kv}{HTTP_AUTHORIZATION}, $auth,
   'FcgidPassHeader Authorization: HTTP_AUTHORIZATION reaches the app');
is($r->{kv}{Authorization}, $auth,
   'FcgidPassHeader Authorization: also as "Authorization" (mod_fcgid)');

my @fp = app_pids($fcgid_app);
ok(@fp >= 1, 'mod_fcgid site: the application process exists')
    or diag('no process runs ' . $fcgid_app);
my @bad = grep { (dropin_proc($_)->{uid} // -1) != $uid } @fp;
ok(@fp && !@bad, "mod_fcgid site: the application runs as $user");

# FcgidInitialEnv inside the <VirtualHost> (mod_fcgid: server or vhost);
# PM_GLOBAL, set by the main server too, is the host's, and there once
for my $pid (@fp) {
    open my $fh, '<', "/proc/$pid/environ" or next;
    local $/;
    my @pg = grep { /^PM_GLOBAL=/ } split /\0/, <$fh> // '';
    is("@pg", 'PM_GLOBAL=dropin-vhost-value', "the app ($pid): the host's "
       . 'FcgidInitialEnv PM_GLOBAL wins over the main server\'s, once');
}
my @fenv = map { dropin_environ($_) } @fp;
ok(@fenv && !grep({ ($_->{DROPIN_FCGID} // '<unset>') ne 'fcgid initial env'
                    || ($_->{DROPIN_FCGID_EMPTY} // '<unset>') ne '' }
                  @fenv),
   'FcgidInitialEnv in the <VirtualHost>: DROPIN_FCGID="fcgid initial env" '
   . 'and DROPIN_FCGID_EMPTY="" in /proc/PID/environ of the app')
    or diag('environ of ' . join(', ', @fp) . ': '
            . join(' ', map { my $e = $_; map { "$_=$e->{$_}" } sort keys %$e }
                   @fenv));

# FcgidMaxRequestLen 1000 (FcgidMaxRequestInMem 512: 900 bytes go to a file)
{
    my $body = join '', map { chr(65 + $_ % 26) } 0 .. 899;
    $r = dropin_req(port => $fcgid, method => 'POST',
                    path => '/dropin/fcgid/app.fcgi?digest', body => $body);
    my ($len) = $r->{body} =~ /^len=(\d+)/;
    ok($r->{status} == 200 && ($len // -1) == 900,
       'FcgidMaxRequestLen 1000 / FcgidMaxRequestInMem 512: a 900-byte '
       . 'body is passed whole') or diag(dropin_brief($r));
    # The log lines name the directive as this site wrote it.
    my $off = log_mark();
    $r = dropin_req(port => $fcgid, method => 'POST',
                    path => '/dropin/fcgid/app.fcgi?digest',
                    body => 'x' x 2000);
    is($r->{status}, 413, 'FcgidMaxRequestLen 1000: a 2000-byte body '
       . '(Content-Length) gets 413') or diag(dropin_brief($r));
    my @m = log_tag_ok($off, 'body_too_large', 'FcgidMaxRequestLen');
    like(join('', @m), qr/exceeds FcgidMaxRequestLen 1000\b/,
         'FcgidMaxRequestLen: its 413 line names FcgidMaxRequestLen, not '
         . 'the native name') or diag(@m);
    $off = log_mark();
    $r = dropin_req(port => $fcgid, method => 'POST', chunked => 1,
                    path => '/dropin/fcgid/app.fcgi?digest',
                    body => 'x' x 2000);
    is($r->{status}, 413, 'FcgidMaxRequestLen 1000: a 2000-byte chunked '
       . 'body gets 413') or diag(dropin_brief($r));
    @m = log_tag_ok($off, 'chunked_too_large', 'FcgidMaxRequestLen chunked');
    like(join('', @m), qr/exceeds FcgidMaxRequestLen 1000\b/,
         'FcgidMaxRequestLen: the chunked 413 line names it too') or diag(@m);
}

# FcgidWrapper /usr/bin/php-cgi .php
SKIP: {
    skip 'php-cgi not installed', 6 unless $have_php;
    $r = dropin_req(port => $fcgid, path => '/dropin/fcgid/info.php?y=2',
                    headers => [Authorization => $auth]);
    is($r->{status}, 200, 'FcgidWrapper php-cgi .php: info.php answers '
       . '200') or diag(dropin_brief($r));
    is($r->{kv}{sapi}, 'cgi-fcgi', 'FcgidWrapper: php-cgi runs in FastCGI '
       . 'mode');
    is($r->{kv}{script}, catfile($dir, 'fcgid', 'info.php'),
       'FcgidWrapper: php-cgi runs the requested script');
    is($r->{kv}{authorization}, $auth,
       'FcgidPassHeader Authorization reaches PHP');
    my $pid = $r->{kv}{pid} // 0;
    my $i = dropin_proc($pid) || {};
    is(($i->{argv} || [])->[0], '/usr/bin/php-cgi',
       "FcgidWrapper: the process (pid $pid) is the wrapper, "
       . '/usr/bin/php-cgi');
    $r = dropin_req(port => $fcgid, method => 'POST',
                    path => '/dropin/fcgid/info.php', body => 'x' x 2000);
    is($r->{status}, 413, 'FcgidMaxRequestLen applies to the wrapped '
       . 'script too (413)') or diag(dropin_brief($r));
}

# ---------------------------------------------------------------------
# mod_fastcgi site

$r = dropin_req(port => $fastcgi, path => '/dropin/fastcgi/static.fcgi?s=1',
                headers => [Authorization => $auth]);
is($r->{status}, 200, 'FastCgiServer: the static application answers')
    or diag(dropin_brief($r));
is($r->{kv}{SCRIPT_FILENAME}, $static_app, 'FastCgiServer: SCRIPT_FILENAME');
ok(!exists $r->{kv}{HTTP_AUTHORIZATION},
   'FastCgiServer without -pass-header: no HTTP_AUTHORIZATION');

$r = dropin_req(port => $fastcgi, path => '/dropin/fastcgi/ext.fcgi?e=1',
                headers => [Authorization => $auth]);
is($r->{status}, 200, 'FastCgiExternalServer -socket c.sock: answers')
    or diag(dropin_brief($r));
is($r->{kv}{SCRIPT_FILENAME}, $ext_path,
   'FastCgiExternalServer: SCRIPT_FILENAME is the (absent) server file');
is($r->{kv}{HTTP_AUTHORIZATION}, $auth,
   'FastCgiExternalServer -pass-header Authorization: HTTP_AUTHORIZATION');
is(scalar(dropin_procs($ext_path)), 0,
   'FastCgiExternalServer: nothing is spawned for it');
$r = dropin_req(port => $main, path => '/dropin/fastcgi/ext.fcgi?e=2');
ok($r->{status} == 200 && ($r->{kv}{QUERY_STRING} // '') eq 'e=2',
   'FastCgiExternalServer in a <VirtualHost> serves the other hosts too '
   . '(as mod_fastcgi)') or diag(dropin_brief($r));

$r = dropin_req(port => $fastcgi, path => '/dropin/fastcgi/relative.fcgi');
is($r->{status}, 200, 'FastCgiExternalServer with a path relative to '
   . 'ServerRoot (as mod_fastcgi): answers') or diag(dropin_brief($r));
is($r->{kv}{SCRIPT_FILENAME}, catfile($dir, 'fastcgi', 'relative.fcgi'),
   '... and SCRIPT_FILENAME is the resolved path');

$r = dropin_req(port => $fastcgi, path => '/dropin/fastcgi/app.fcgi?d=1');
is($r->{status}, 200, 'mod_fastcgi site: dynamic .fcgi (fastcgi-script) '
   . 'answers') or diag(dropin_brief($r));
is($r->{kv}{SCRIPT_FILENAME}, $dyn_app, 'mod_fastcgi site: SCRIPT_FILENAME');
my @dp = app_pids($dyn_app);
my @denv = map { dropin_environ($_) } @dp;
ok(@denv && !grep({ ($_->{DROPIN_DYN} // '') ne 'dynamic-value' } @denv),
   'FastCgiConfig -initial-env DROPIN_DYN=dynamic-value: in /proc/PID/'
   . 'environ of the dynamic app')
    or diag('environ of ' . join(', ', @dp) . ': '
            . join(' ', map { my $e = $_; map { "$_=$e->{$_}" } sort keys %$e }
                   @denv));
ok(@denv && !grep({ exists $_->{DROPIN_STATIC} } @denv),
   'FastCgiServer -initial-env stays with its own server');

# ---------------------------------------------------------------------
# Per-class limits, both sites at once: 4 slow requests against
# FcgidMaxProcessesPerClass 2, 6 against FastCgiConfig -maxClassProcesses 3.
{
    my (%max, %seen);
    my @reqs = ((map { [$fcgid, "/dropin/fcgid/app.fcgi?sleep_ms=1500&p=$_"] }
                 1 .. 4),
                (map { [$fastcgi, "/dropin/fastcgi/app.fcgi?sleep_ms=1500&p=$_"] }
                 1 .. 6));
    my $n = 0;
    my @res = dropin_parallel(reqs => \@reqs, timeout => 30, tick => sub {
        return if $n++ % 4;   # sample /proc every ~200 ms
        for my $p ($fcgid_app, $dyn_app) {
            my @p = dropin_procs($p);
            $seen{$p}{$_} = 1 for @p;
            $max{$p} = @p if @p > ($max{$p} // 0);
        }
    });
    my @fail = grep { $res[$_]{status} != 200 } 0 .. $#res;
    ok(!@fail, 'limits: all 10 slow requests answered 200 (queued, not '
       . 'refused)') or diag(join "\n", map { dropin_brief($res[$_]) } @fail);
    ok(($max{$fcgid_app} // 0) >= 1 && $max{$fcgid_app} <= 2,
       'FcgidMaxProcessesPerClass 2: at most 2 processes under 4 slow '
       . 'requests') or diag('max seen: ' . ($max{$fcgid_app} // 0));
    ok(($max{$dyn_app} // 0) >= 2 && $max{$dyn_app} <= 3,
       'FastCgiConfig -maxClassProcesses 3: 2..3 processes under 6 slow '
       . 'requests') or diag('max seen: ' . ($max{$dyn_app} // 0));

    my $j = status_json();
    my $fc = class_of($j, $fcgid_app) || {};
    my $dc = class_of($j, $dyn_app) || {};
    my $sc = class_of($j, $static_app) || {};
    is_deeply([$fc->{max_processes}, $fc->{min_processes}], [2, 0],
              'status: the mod_fcgid class has max 2, min 0 '
              . '(FcgidMax/MinProcessesPerClass)');
    is_deeply([$dc->{max_processes}, $dc->{min_processes}], [3, 1],
              'status: the mod_fastcgi dynamic class has max 3, min 1 '
              . '(FastCgiConfig -maxClassProcesses/-minProcesses)');
    is($sc->{processes}, 2, 'status: the FastCgiServer class has 2 '
       . 'processes');
}

# FcgidIOTimeout 3: a reply later than 3 s is a 504 (last: the process
# that timed out is retired)
{
    my $off = log_mark();
    $r = dropin_req(port => $fcgid, path => '/dropin/fcgid/app.fcgi?sleep_ms=6000',
                    timeout => 20);
    ok($r->{status} == 504 && $r->{secs} > 2.5 && $r->{secs} < 5.5,
       'FcgidIOTimeout 3: no reply for 6 s gives 504 after about 3 s')
        or diag(dropin_brief($r) . sprintf ' after %.1f s', $r->{secs});
    log_tag_ok($off, 'io_timeout', 'FcgidIOTimeout');
    $r = dropin_req(port => $fcgid, path => '/dropin/fcgid/app.fcgi?sleep_ms=1000');
    is($r->{status}, 200, 'FcgidIOTimeout 3: a reply after 1 s is served')
        or diag(dropin_brief($r));
}

done_testing();
