# The application's response header block as httpd's CGI scanner
# (ap_scan_script_header_err_core_ex) and mod_fcgix apply it: conditional
# requests, fields kept as sent, long fields, -nph, and bad blocks (502,
# one log line).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use FcgixTest;

sub q_of {
    my (@hdr) = @_;
    join '&', map { 'hdr=' . uri_escape($_) } @hdr;
}

sub get {
    my ($query, @h) = @_;
    http(path => "/ext/c.fcgi?$query", headers => \@h);
}

my $lm = 'Mon, 01 Jan 2024 00:00:00 GMT';

# --- conditional requests (httpd's rules) --------------------------------
my $r = get(q_of('ETag: "v1"'), 'If-None-Match' => '"v1"');
is($r->{status}, 304, 'ETag matches If-None-Match: 304') or diag(brief($r));
is($r->{body}, '', '304 has no body');
$r = http(method => 'HEAD', path => '/ext/c.fcgi?' . q_of('ETag: "v1"'),
          headers => ['If-None-Match' => '"v1"']);
is($r->{status}, 304, 'HEAD: 304 as for GET') or diag(brief($r));
$r = get(q_of('ETag: "v1"'), 'If-None-Match' => '"v2"');
is($r->{status}, 200, 'other ETag: 200');
is(header($r, 'ETag'), '"v1"', 'ETag passed');
like($r->{body}, qr/^QUERY_STRING=/m, 'and the body');
$r = get(q_of('ETag: "v1"'), 'If-Match' => '"v2"');
is($r->{status}, 412, 'If-Match fails: 412') or diag(brief($r));
$r = get(q_of("Last-Modified: $lm"), 'If-Modified-Since' => $lm);
is($r->{status}, 304, 'Last-Modified not newer: 304') or diag(brief($r));
$r = get(q_of("Last-Modified: $lm"),
         'If-Modified-Since' => 'Sun, 31 Dec 2023 00:00:00 GMT');
is($r->{status}, 200, 'Last-Modified newer: 200');
is(header($r, 'Last-Modified'), $lm, 'Last-Modified passed');
# An explicit Status is the application's answer (httpd PR#38070).
$r = get('status=200&' . q_of('ETag: "v1"'), 'If-None-Match' => '"v1"');
is($r->{status}, 200, 'explicit Status: 200 is not turned into 304')
    or diag(brief($r));
is($r->{body}, "status 200\n", 'its body is sent');

# Preconditions are a GET's (and HEAD's) only, with or without fields
# that need httpd's scanner (Set-Cookie does; ETag alone does not).
$r = http(method => 'POST', path => '/ext/c.fcgi?' . q_of('ETag: "v1"'),
          body => 'x', headers => ['If-None-Match' => '"v1"']);
is($r->{status}, 200, 'POST: a matching If-None-Match is no 304')
    or diag(brief($r));
$r = get(q_of('ETag: "v1"', 'Set-Cookie: a=1'), 'If-None-Match' => '"v1"');
is($r->{status}, 304, 'ETag beside Set-Cookie: 304 as well')
    or diag(brief($r));
$r = get(q_of('ETag: "v1"', 'Set-Cookie: a=1'), 'If-None-Match' => '"v2"');
is_deeply([$r->{status}, header($r, 'ETag'), header($r, 'Set-Cookie')],
          [200, '"v1"', 'a=1'], '... 200 with both fields otherwise');

# --- fields kept as sent -------------------------------------------------
$r = get(q_of('X-Dup: a', 'X-Dup: b, c', 'X-Fold: one') . '&hdr=+two');
is_deeply([headers($r, 'X-Dup')], ['a', 'b, c'],
          'a field sent twice arrives twice, in order');
is(header($r, 'X-Fold'), 'one two', 'a folded line is joined');
$r = get(q_of('Keep-Alive: timeout=99', 'Trailer: X-T', 'Upgrade: foo'));
is($r->{status}, 200, 'hop-by-hop fields: 200');
ok(!grep({ /timeout=99/ } headers($r, 'Keep-Alive'))
   && !defined header($r, 'Trailer')
   && !grep({ /foo/ } headers($r, 'Upgrade')),
   'hop-by-hop fields are not passed on') or diag(brief($r));
$r = get(q_of('Content-Type: Text/HTML; charset=UTF-8'));
is(header($r, 'Content-Type'), 'text/html; charset=UTF-8',
   'the last Content-Type wins, its type in lower case (as mod_cgi)');
$r = get(q_of('Content-Type: text/x-first', 'Content-Type: Text/X-Last'));
is(header($r, 'Content-Type'), 'text/x-last',
   'of two Content-Type fields the last one is taken');
$r = get(q_of("X-Blanks: \t  v  w \t ", 'X-Empty:', 'x-lower: 1'));
is_deeply([header($r, 'X-Blanks'), header($r, 'X-Empty'),
           header($r, 'X-Lower')], ['v  w', '', '1'],
          "a value's blanks around it cut off, inside kept; an empty "
          . 'value kept');
for my $bad (["X-Ctl: a\x01b", 'control character in a value'],
             ["X-Del: a\x7fb", 'DEL in a value'],
             ["X-\x01: a", 'control character in a name'],
             ['X-Sp : a', 'blank before the colon'],
             [': a', 'no name']) {
    my ($line, $what) = @$bad;
    my $off = log_mark();
    $r = get(q_of($line));
    is($r->{status}, 502, "$what: 502") or diag(brief($r));
    log_tag_ok($off, 'bad_header', $what);
}
$r = get('location=/static.txt&' . q_of('X-App: 1'));
is($r->{status}, 200, 'internal redirect: 200');
ok(!defined header($r, 'X-App'),
   "internal redirect: the app's own fields stay behind");

# --- fields longer than httpd's scanner line (8 KiB) -------------------
my $url = 'http://example.com/' . ('x' x 10000);
$r = get(q_of('Location: http://example.com/') . '&hdr_pad=10000');
is($r->{status}, 302, '10 kB Location: 302') or diag(brief($r));
ok((header($r, 'Location') // '') eq $url, '10 kB Location intact');
$r = get('cookies=2&' . q_of('Set-Cookie: big=') . '&hdr_pad=9000');
is_deeply([map { length } headers($r, 'Set-Cookie')], [5, 5, 9004],
          'a 9 kB Set-Cookie kept beside short ones');
$r = get(q_of('X-Long: ') . '&hdr_pad=20000');
is(length(header($r, 'X-Long') // ''), 20000, '20 kB field intact');

# --- -nph: a status line first --------------------------------------------
$r = http(path => '/ext/nph.fcgi?nph=' . uri_escape('202 Accepted Here'));
is($r->{status}, 202, '-nph: the status line is the status')
    or diag(brief($r));
is($r->{reason}, 'Accepted Here', '-nph: with its reason');
$r = http(path => '/ext/c.fcgi?nph=' . uri_escape('202 Accepted'));
is($r->{status}, 502, 'no -nph: a status line is a bad header');

# --- bad blocks: 502 and one log line --------------------------------------
for my $case (['no colon', q_of('garbage line')],
              ['bad name', q_of('Bad Name: x')],
              ['1xx Status', q_of('Status: 101 Switching')],
              ['bad Status', q_of('Status: abc')],
              ['bad Content-Length', q_of('Content-Length: 12abc')],
              ['-nph bad status', undef]) {
    my ($name, $query) = @$case;
    my $path = defined $query ? "/ext/c.fcgi?$query"
                              : '/ext/nph.fcgi?nph=' . uri_escape('abc');
    my $off = log_mark();
    $r = http(path => $path);
    is($r->{status}, 502, "$name: 502") or diag(brief($r));
    log_tag_ok($off, 'bad_header', $name);
    my @l = grep { /FCGIX$FcgixTest::LOG{bad_header}:/ }
            log_new_lines($off);
    is(scalar @l, 1, "$name: one log line") or diag(@l);
    ok(!grep({ /\[fcgix:error\]/ && !/FCGIX\d{5}/ } log_new_lines($off)),
       "$name: no unnumbered error line");
}
healthy_ok('after the bad blocks');

# --- framing ---------------------------------------------------------------
# A reply that came whole with its END_REQUEST goes down httpd's filters
# once, with its end: httpd gives it a Content-Length. One whose first part
# went out before the rest came is chunked (HTTP/1.1, kept alive).
$r = http(path => '/ext/c.fcgi?bytes=100', keepalive => 1);
is($r->{status}, 200, 'reply read whole: 200') or diag(brief($r));
is(header($r, 'Content-Length'), '100',
   'reply read whole with its END_REQUEST: Content-Length 100');
ok(!defined header($r, 'Transfer-Encoding'), '... and not chunked');
is(length $r->{body}, 100, '... all of it');
$r = http(path => '/ext/c.fcgi?bytes=200&chunk=100&delay_ms=300',
          keepalive => 1);
is(length $r->{body}, 200, 'reply in two parts 300 ms apart: all of it')
    or diag(brief($r));
is(lc(header($r, 'Transfer-Encoding') // ''), 'chunked',
   '... chunked: its first part was sent before the rest came');

# The first read goes into a small buffer (8000 bytes), later ones into
# 64 KiB buffers: replies around and past that size arrive whole.
for my $n (7800, 7950, 7999, 8000, 8001, 8100, 16001, 70001) {
    $r = http(path => "/ext/c.fcgi?bytes=$n", keepalive => 1);
    my $want = join '', map { chr(97 + $_ % 26) } 0 .. $n - 1;
    ok($r->{status} == 200 && $r->{body} eq $want,
       "bytes=$n: all of it, in order") or diag(brief($r));
}

done_testing();
