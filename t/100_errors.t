# Error handling, each case followed by a request that must work, and the
# log message each case must produce (numbers: %LOG in t/lib/FcgixTest.pm).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Digest::MD5 ();
use Test::More;
use Time::HiRes ();
use FcgixTest qw(:DEFAULT brief);


# --- backend unreachable -> 503 --------------------------------------

for my $case (['/err/nosock.fcgi', 'unix socket without listener'],
              ['/err/noport.fcgi', 'TCP port without listener']) {
    my ($path, $what) = @$case;
    my $off = log_mark();
    my $r = http(path => "$path?x=1");
    is($r->{status}, 503, "$what: 503") or diag(brief($r));
    log_tag_ok($off, 'connect_failed', $what);
    healthy_ok($what);
}

# --- connect timeout -> 504 ------------------------------------------
for my $case (['/err/blackhole.fcgi', '-appConnTimeout 1'],
              ['/err/native-blackhole.fcgi', 'connect-timeout=1']) {
    my ($path, $what) = @$case;
    my $off = log_mark();
    my $t0 = Time::HiRes::time();
    my $r = http(path => "$path?x=1", timeout => 30);
    my $dt = Time::HiRes::time() - $t0;
    is($r->{status}, 504, "connect timeout ($what): 504")
        or diag(brief($r));
    ok($dt < 15, sprintf "connect timeout ($what): answered in %.1fs "
                         . '(< 15s)', $dt);
    log_tag_ok($off, 'connect_timeout', "connect timeout ($what)");
    healthy_ok("connect timeout ($what)");
}

# --- I/O timeout -> 504 ----------------------------------------------
for my $case (['/err/idle.fcgi', '-idle-timeout 1'],
              ['/err/native-idle.fcgi', 'io-timeout=1']) {
    my ($path, $what) = @$case;
    my $off = log_mark();
    my $t0 = Time::HiRes::time();
    my $r = http(path => "$path?sleep_ms=5000", timeout => 30);
    my $dt = Time::HiRes::time() - $t0;
    is($r->{status}, 504, "sleep_ms=5000 with $what: 504")
        or diag(brief($r));
    ok($dt < 4.5, sprintf "$what: answered in %.1fs (< 4.5s)", $dt);
    log_tag_ok($off, 'io_timeout', $what);
    healthy_ok($what);
}

# --- malformed replies -> 502 ----------------------------------------
my %malformed = (
    version            => 'bad_record',
    type               => 'bad_record',
    rid                => 'protocol_error',
    begin_from_app     => 'bad_record',
    end_before_headers => 'end_before_headers',
    truncated_header   => 'app_closed',
    truncated_record   => 'app_closed',
    bad_header         => 'bad_header',
    nul_header         => 'bad_header',
    huge_header        => 'header_too_large',
);
for my $kind (sort keys %malformed) {
    my $off = log_mark();
    my $r = http(path => "/ext/c.fcgi?malformed=$kind");
    is($r->{status}, 502, "malformed=$kind: 502") or diag(brief($r));
    log_tag_ok($off, $malformed{$kind}, "malformed=$kind");
    healthy_ok("malformed=$kind");
}

# --- the app dies ----------------------------------------------------
{
    my $off = log_mark();
    my $r = http(path => '/ext/c.fcgi?crash=before_headers');
    is($r->{status}, 502, 'crash=before_headers: 502') or diag(brief($r));
    log_tag_ok($off, 'app_closed', 'crash=before_headers');
    healthy_ok('crash=before_headers');
}

# After the headers: the client must not get a complete-looking response.
# The request is HTTP/1.1 keep-alive with a second request pipelined behind
# it: after a broken response the connection must be closed, so the second
# one is never answered (its reply would otherwise pass for the rest of the
# body).
my $second = "GET /static.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           . "Connection: close\r\n\r\n";
{
    my $off = log_mark();
    my $r = http(path => '/ext/c.fcgi?crash=after_headers', keepalive => 1,
                 pipeline => $second, timeout => 30);
    # Nothing but the header block had come when the app died, so the
    # module may still answer a clean 502; if it did forward the header,
    # the response must stay incomplete and the connection must close.
    my $clean502 = $r->{status} == 502;
    ok($clean502 || ($r->{status} == 200 && !$r->{complete}
                     && $r->{eof} && $r->{raw_tail} !~ m{HTTP/1\.\d}),
       'crash=after_headers: a 502, or a response that does not look '
       . 'complete') or diag(brief($r) . ' complete=' . $r->{complete});
    log_tag_ok($off, $clean502 ? 'app_closed' : 'aborted_response',
               'crash=after_headers');
    healthy_ok('crash=after_headers');
}
for my $case (['/ext/c.fcgi', 'chunked'],
              ['/clen/c.fcgi', 'Content-Length']) {
    my ($path, $how) = @$case;
    my $n = 1048576;
    my $off = log_mark();
    my $r = http(path => "$path?bytes=$n&crash=mid_body", keepalive => 1,
                 pipeline => $second, timeout => 30);
    is($r->{status}, 200, "crash=mid_body ($how): 200 sent");
    if ($how eq 'chunked') {
        ok($r->{chunked}, 'crash=mid_body (chunked): response is chunked');
    }
    else {
        is(header($r, 'Content-Length'), $n,
           'crash=mid_body (Content-Length): length announced');
    }
    ok(!$r->{complete}, "crash=mid_body ($how): response not complete")
        or diag("got $r->{len} body bytes");
    ok($r->{len} < $n, "crash=mid_body ($how): fewer bytes than the app "
                       . "would have sent ($r->{len})");
    ok($r->{raw_tail} !~ m{HTTP/1\.\d} && $r->{eof},
       "crash=mid_body ($how): connection closed, pipelined request "
       . "not answered");
    log_tag_ok($off, 'aborted_response', "crash=mid_body ($how)");
    healthy_ok("crash=mid_body ($how)");
}

# --- request body limits ---------------------------------------------
{
    my $ok = 'x' x 900;
    my $r = http(method => 'POST', path => '/limit/c.fcgi?digest',
                 body => $ok);
    is($r->{status}, 200, 'FcgixMaxRequestLen 1000: 900 bytes accepted');
    is_deeply([digest_of($r)], [900, Digest::MD5::md5_hex($ok), 900],
              'FcgixMaxRequestLen 1000: 900 bytes arrive');

    my $big = 'y' x 2000;
    my $off = log_mark();
    $r = http(method => 'POST', path => '/limit/c.fcgi?digest', body => $big);
    is($r->{status}, 413, 'FcgixMaxRequestLen 1000: 2000 bytes (Content-Length) -> 413')
        or diag(brief($r));
    my @m = log_tag_ok($off, 'body_too_large', '413 Content-Length');
    like(join('', @m), qr/exceeds FcgixMaxRequestLen 1000\b/,
         '413 Content-Length: the line names FcgixMaxRequestLen, as '
         . 'configured') or diag(@m);
    healthy_ok('413 Content-Length');

    $off = log_mark();
    $r = http(method => 'POST', path => '/limit/c.fcgi?digest',
              chunks => [('z' x 500) x 4]);
    is($r->{status}, 413, 'FcgixMaxRequestLen 1000: 2000 bytes (chunked) -> 413')
        or diag(brief($r));
    @m = log_tag_ok($off, 'chunked_too_large', '413 chunked');
    like(join('', @m), qr/exceeds FcgixMaxRequestLen 1000\b/,
         '413 chunked: the line names FcgixMaxRequestLen') or diag(@m);
    healthy_ok('413 chunked');
}

# --- chunked bodies: in memory and spooled ---------------------------
for my $case ([700, '/spool/c.fcgi', 'below FcgixMaxRequestInMem 1024'],
              [300000, '/spool/c.fcgi', 'above FcgixMaxRequestInMem 1024'],
              [30000, '/ext/c.fcgi', 'below the default 64 KiB']) {
    my ($n, $path, $what) = @$case;
    my $data = big_body($n);
    my $r = http(method => 'POST', path => "$path?digest",
                 chunks => [chunked_post_pieces($data)]);
    is($r->{status}, 200, "chunked $n bytes ($what): 200");
    is_deeply([digest_of($r)], [$n, Digest::MD5::md5_hex($data), $n],
              "chunked $n bytes ($what): intact, CONTENT_LENGTH=$n")
        or diag(brief($r));
}

# --- response header size --------------------------------------------
{
    my $r = http(path => '/ext/c.fcgi?hdrsize=60000');
    is($r->{status}, 200, 'hdrsize=60000 under the default 64 KiB: 200')
        or diag(brief($r));
    is(length(header($r, 'X-Big') // ''), 60000, 'hdrsize=60000: X-Big intact');

    $r = http(path => '/smallhdr/c.fcgi?hdrsize=500');
    is($r->{status}, 200, 'FcgixMaxResponseHeaderLen 1024: 500-byte header ok');
    my $off = log_mark();
    $r = http(path => '/smallhdr/c.fcgi?hdrsize=2000');
    is($r->{status}, 502, 'FcgixMaxResponseHeaderLen 1024: 2000-byte header -> 502')
        or diag(brief($r));
    log_tag_ok($off, 'header_too_large', 'FcgixMaxResponseHeaderLen 1024');
    healthy_ok('FcgixMaxResponseHeaderLen 1024');
}

# --- the app's stderr ------------------------------------------------
{
    my $off = log_mark();
    my $r = http(path => '/ext/c.fcgi?stderr=fcgix-line1%0Afcgix-line2&x=5');
    is($r->{status}, 200, 'stderr: request still served');
    like($r->{body}, qr/^QUERY_STRING=stderr=/m, 'stderr: normal body');
    log_tag_ok($off, 'app_stderr', 'stderr');
    # both lines, each on its own tagged log line
    FcgixTest::log_wait($off, qr/fcgix-line2/);
    my $re = FcgixTest::tag_re('app_stderr');
    my @tagged = grep { $_ =~ $re } FcgixTest::log_new_lines($off);
    is(scalar(grep { /fcgix-line1/ && !/fcgix-line2/ } @tagged), 1,
       'stderr: line 1 logged on its own tagged line');
    is(scalar(grep { /fcgix-line2/ && !/fcgix-line1/ } @tagged), 1,
       'stderr: line 2 logged on its own tagged line')
        or diag(@tagged);
}

done_testing();
