# Request bodies of known length read in large pieces straight from the
# client socket (FCGIX_BODY_IN, src/fcgix_body.c): the bytes arrive intact
# on a connection of its own, a kept one and a shared (multiplexed) one,
# over HTTP/1.1 and 1.0; the rules that apply to bodies still hold:
# LimitRequestBody (413), a pipelined request behind the body, the
# server's Timeout for a client that stalls mid-body, mod_reqtimeout's
# body rule for one that trickles. HTTP/2 bodies (an httpd of its own
# with mod_http2, h2c) keep the core's reads and arrive intact, with and
# without a length. Config: t/conf/pool.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Digest::MD5 ();
use Test::More;
use Time::HiRes ();
use FcgixTest qw(:DEFAULT brief http_start http_finish http_result_of
                  http_parallel);
use FcgixPool;
use FcgixPM qw(pm_own_httpd pm_own_httpd_stop pm_wait_until pm_docroot);

$SIG{PIPE} = 'IGNORE';

my $vport = Apache::Test::vars('body_fast_port');

sub delta {
    my ($name, $key, $before) = @_;
    (stats_of($name)->{$key} // 0) - ($before->{$key} // 0);
}

sub fast_logged {
    my ($off, $what) = @_;
    my @m = grep { /FCGIX00740/ } FcgixTest::log_new_lines($off);
    ok(@m >= 1, "$what: read in large pieces (FCGIX00740 logged)");
}

# ---------------------------------------------------------------------
# Several MiB, checked by the application (length and md5).

my $n = 5 * 1048576 + 12345;
my $data = big_body($n);
my $md5 = Digest::MD5::md5_hex($data);
for my $case (['a connection of its own', '/pool/bf/c.fcgi', '1.1'],
              ['a kept-alive connection', '/pool/bf/c-keep.fcgi', '1.1'],
              ['a multiplexed connection', '/pool/bf/cm.fcgi', '1.1'],
              ['HTTP/1.0', '/pool/bf/c-keep.fcgi', '1.0']) {
    my ($what, $path, $proto) = @$case;
    my $off = log_mark();
    my $r = http(method => 'POST', path => "$path?digest", body => $data,
                 proto => $proto, timeout => 60);
    is($r->{status}, 200, "$n bytes on $what: 200") or diag(brief($r));
    is_deeply([digest_of($r)], [$n, $md5, $n],
              "$n bytes on $what: intact, CONTENT_LENGTH=$n")
        or diag(brief($r));
    fast_logged($off, "$n bytes on $what");
}

# Two at once on the shared connection: each body stays whole.
{
    my @d = map { big_body(2 * 1048576 + $_) } 1, 2;
    my @r = http_parallel(
        reqs => [ map { { method => 'POST', body => $_,
                          path => '/pool/bf/cm.fcgi?digest' } } @d ],
        timeout => 60);
    for my $i (0, 1) {
        is_deeply([digest_of($r[$i])],
                  [length $d[$i], Digest::MD5::md5_hex($d[$i]),
                   length $d[$i]],
                  "multiplexed, two at once: body $i intact")
            or diag(brief($r[$i]));
    }
}

# ---------------------------------------------------------------------
# A request pipelined right behind the body: the body's reads stop at
# its Content-Length, so the next request is read and answered.

{
    my $small = 'pipelined after a large body';
    my $second = "POST /pool/bf/c-keep.fcgi?digest HTTP/1.1\r\n"
               . "Host: 127.0.0.1\r\nContent-Length: " . length($small)
               . "\r\nConnection: close\r\n\r\n$small";
    my $r = http(method => 'POST', path => '/pool/bf/c-keep.fcgi?digest',
                 body => $data, keepalive => 1, pipeline => $second,
                 timeout => 60);
    is_deeply([digest_of($r)], [$n, $md5, $n],
              'pipelined: the first body intact') or diag(brief($r));
    my $tail = http_result_of($r->{raw_tail}, 0);
    is($tail->{status}, 200, 'pipelined: the second request answered')
        or diag("raw tail: " . substr($r->{raw_tail}, 0, 300));
    is_deeply([digest_of($tail)],
              [length $small, Digest::MD5::md5_hex($small), length $small],
              'pipelined: the second body intact');
}

# ---------------------------------------------------------------------
# LimitRequestBody 100000: at the limit accepted, past it 413.

{
    my $ok = big_body(100000);
    my $r = http(method => 'POST', path => '/pool/bf/limit.fcgi?digest',
                 body => $ok);
    is_deeply([digest_of($r)], [100000, Digest::MD5::md5_hex($ok), 100000],
              'LimitRequestBody 100000: 100000 bytes arrive')
        or diag(brief($r));
    $r = http(method => 'POST', path => '/pool/bf/limit.fcgi?digest',
              body => $data);
    is($r->{status}, 413, "LimitRequestBody 100000: $n bytes -> 413")
        or diag(brief($r));
    healthy_ok('LimitRequestBody');
}

# ---------------------------------------------------------------------
# A client that stops sending mid-body: the request ends after the
# vhost's Timeout (2 s), the application is told (FCGI_ABORT_REQUEST or
# its connection closed, as on the 8000-byte path), one log line.

sub partial_post {
    my (%a) = @_;
    http_start(port => $vport, method => 'POST', path => $a{path},
               headers => ['Content-Length' => $a{len}],
               body => $a{first}, keepalive => 1, timeout => 30);
}

for my $case (['a connection of its own', '/pool/bf/c.fcgi', 'c'],
              ['a multiplexed connection', '/pool/bf/cm.fcgi', 'cm']) {
    my ($what, $path, $app) = @$case;
    my $before = stats_of($app);
    my $off = log_mark();
    my $t0 = Time::HiRes::time();
    my $h = partial_post(path => "$path?digest", len => 3 * 1048576,
                         first => big_body(1048576));
    ok($h, "stall on $what: request sent") or next;
    my $r = http_finish($h, 20);
    my $dt = Time::HiRes::time() - $t0;
    ok($r->{status} == 400 || $r->{status} == 408
       || ($r->{status} == 0 && $r->{eof}),
       "stall on $what: the request ends (status $r->{status})")
        or diag(brief($r));
    ok($dt < 15, sprintf "stall on $what: ended by the Timeout, "
                         . '%.1f s (not the test\'s 20 s)', $dt);
    # The application is told as on the 8000-byte path: a shared
    # connection carries FCGI_ABORT_REQUEST, one of its own is closed.
    my $told = $app eq 'cm'
        ? wait_for(5, sub { delta($app, 'aborts', $before) >= 1 }, 0.05)
        : wait_for(5, sub { delta($app, 'open', $before) <= 0 }, 0.05);
    ok($told, "stall on $what: the application is told ("
              . ($app eq 'cm' ? 'FCGI_ABORT_REQUEST' : 'connection closed')
              . ')') or diag(join ' ', map { "$_=" . delta($app, $_, $before) }
                                   qw(requests completed aborts open));
    my @m = grep { /FCGIX00120/ } FcgixTest::log_new_lines($off);
    is(scalar @m, 1, "stall on $what: one FCGIX00120 line")
        or diag(join '', FcgixTest::log_new_lines($off));
    fast_logged($off, "stall on $what");
    healthy_ok("stall on $what");
}

# ---------------------------------------------------------------------
# A client that leaves mid-body: the read sees the end at once (no wait
# for the Timeout), one log line, the application is told.

for my $case (['a connection of its own', '/pool/bf/c.fcgi', 'c'],
              ['a multiplexed connection', '/pool/bf/cm.fcgi', 'cm']) {
    my ($what, $path, $app) = @$case;
    my $before = stats_of($app);
    my $off = log_mark();
    my $h = http_start(method => 'POST', path => "$path?digest",
                       headers => ['Content-Length' => 3 * 1048576],
                       body => big_body(1048576), keepalive => 1);
    ok($h, "client gone mid-body on $what: request sent") or next;
    Time::HiRes::sleep(0.3);
    close $h->{s};
    ok(FcgixTest::log_wait($off, qr/FCGIX00120/, 10),
       "client gone mid-body on $what: the request ends within 10 s "
       . "(FCGIX00120, not the server's 60 s Timeout)");
    my $told = $app eq 'cm'
        ? wait_for(5, sub { delta($app, 'aborts', $before) >= 1 }, 0.05)
        : wait_for(5, sub { delta($app, 'open', $before) <= 0 }, 0.05);
    ok($told, "client gone mid-body on $what: the application is told");
    my @m = grep { /FCGIX00120/ } FcgixTest::log_new_lines($off);
    is(scalar @m, 1, "client gone mid-body on $what: one FCGIX00120 line");
    healthy_ok("client gone mid-body on $what");
}

# ---------------------------------------------------------------------
# A client that trickles (1000 bytes every 0.5 s, never idle for the 2 s
# Timeout): mod_reqtimeout's "body=3" still ends it, long before the
# 100000 bytes it announced are sent.

SKIP: {
    skip 'mod_reqtimeout not loaded', 3
        unless Apache::Test::have_module('reqtimeout');
    my $off = log_mark();
    my $t0 = Time::HiRes::time();
    my $h = partial_post(path => '/pool/bf/c.fcgi?digest', len => 100000,
                         first => 'x' x 1000);
    my ($sent, $answered) = (1000, 0);
    while ($sent < 100000 && Time::HiRes::time() - $t0 < 20) {
        if ($h->{sel}->can_read(0.5)) {
            $answered = 1;
            last;
        }
        my $w = syswrite($h->{s}, 'y' x 1000);
        last unless $w;
        $sent += $w;
    }
    my $dt = Time::HiRes::time() - $t0;
    my $r = http_finish($h, 10);
    ok($answered && $sent < 20000,
       sprintf('trickle: answered after %d of 100000 bytes, %.1f s',
               $sent, $dt));
    ok($r->{status} == 400 || $r->{status} == 408,
       "trickle: the request ends (status $r->{status})")
        or diag(brief($r));
    fast_logged($off, 'trickle');
}

# ---------------------------------------------------------------------
# HTTP/2 (h2c): not the fast path's; the body arrives intact with its
# length (streamed) and without (spooled).

SKIP: {
    my $lib = Apache::Test::vars('fcgix_libexecdir')
              || '/usr/lib/apache2/modules';
    my $features = `curl --version 2>&1`;
    ok($features =~ /^Features:.*\bHTTP2\b/m && -f "$lib/mod_http2.so",
       'curl with HTTP/2 and mod_http2 are installed');
    my $docroot = pm_docroot();
    my $logs = Apache::Test::vars('t_logs');
    my $h = eval { pm_own_httpd(name => 'bodyh2', body => <<"EOC") };
LoadModule http2_module "$lib/mod_http2.so"
Protocols h2c http/1.1
FcgixExternalServer "$docroot/ext/c.fcgi" unix:$logs/c.sock
EOC
    ok($h, 'httpd with mod_http2 (h2c) starts') or diag($@);
    skip 'no h2c httpd', 4 unless $h;
    my $m = 3 * 1048576 + 7;
    my $file = "$logs/bodyh2.bin";
    open my $fh, '>:raw', $file or die "$file: $!";
    print $fh big_body($m);
    close $fh;
    my $want = Digest::MD5::md5_hex(big_body($m));
    my $url = "http://127.0.0.1:$h->{port}/ext/c.fcgi?digest";
    for my $case (['with its length', "--data-binary \@$file"],
                  ['without a length', "-X POST -T - <$file"]) {
        my ($what, $args) = @$case;
        my $out = `curl -s --max-time 60 --http2-prior-knowledge -w '%{http_version}' $args '$url' 2>&1`;
        like($out, qr/\Alen=$m md5=$want\n/,
             "HTTP/2 body $what: intact") or diag(substr $out, 0, 300);
        like($out, qr/2\z/, "HTTP/2 body $what: over HTTP/2");
    }
    unlink $file;
    pm_own_httpd_stop($h);
    pm_wait_until(10, sub { !-e $h->{pidfile} });
}

done_testing();
