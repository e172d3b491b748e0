# Interim (1xx) responses from the application: header blocks with
# "Status: 1xx" before the real one are sent to the client as interim
# responses (103 Early Hints with its Link fields, at once, while the
# application still works), then the final response; HTTP/1.0 clients get
# none, a 100 nobody expects is dropped, 101 and more than 8 blocks are a
# bad reply (502). curl sees the 103 over HTTP/1.1, and over HTTP/2 (h2c)
# in an httpd of its own with mod_http2 (never loaded into the suite's
# httpd: t/064's graceful restart). The C test app's interim= option
# writes the blocks.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use FcgixTest qw(:DEFAULT brief);
use FcgixPM qw(pm_own_httpd pm_own_httpd_stop pm_wait_until pm_docroot);

my $hints = "Status: 103 Early Hints\r\nLink: </a.css>; rel=preload";
sub q_interim { join '&', map { 'interim=' . uri_escape($_) } @_ }

sub interim_codes { [map { $_->{status} } @{ $_[0]{interim} }] }

# --- HTTP/1.1: 103 with its Link field, sent before the app is done -----

{
    my $r = http(path => '/ext/c.fcgi?' . q_interim($hints)
                 . '&interim_ms=1500&x=1', timeout => 20);
    is($r->{status}, 200, '103 then 200: final 200') or diag(brief($r));
    is_deeply(interim_codes($r), [103], 'one interim 103')
        or diag(brief($r));
    my $i = $r->{interim}[0] || {};
    is_deeply([map { $_->[1] } grep { lc $_->[0] eq 'link' }
               @{ $i->{headers} || [] }], ['</a.css>; rel=preload'],
              '103 carries the Link field') or diag($i->{head} // '');
    like($i->{head} // '', qr{^HTTP/1\.1 103 Early Hints\r\n},
         '103 status line');
    ok(defined $i->{at} && $r->{at} - $i->{at} > 0.75,
       sprintf('103 came while the app slept 1.5 s (%.2f s before the '
               . 'final head)', ($r->{at} // 0) - ($i->{at} // 0)));
    like($r->{body}, qr/^QUERY_STRING=interim=/m, 'final body is the app\'s')
        or diag(brief($r));
}

# --- several blocks, split records, fields an interim must not carry ----

{
    my $r = http(path => '/ext/c.fcgi?' . q_interim(
                     $hints, "Status: 103\r\nLink: </b.js>; rel=preload"
                     . "\r\nContent-Length: 5\r\nConnection: close"
                     . "\r\nX-Other: kept")
                 . '&split=5&status=404');
    is($r->{status}, 404, 'two 103s then 404 (records of 5 bytes): 404')
        or diag(brief($r));
    is($r->{body}, "status 404\n", '... with the app\'s body');
    is_deeply(interim_codes($r), [103, 103], '... two interim 103s');
    my @h = @{ ($r->{interim}[1] || {})->{headers} || [] };
    is_deeply([sort map { lc $_->[0] } @h], ['link', 'x-other'],
              'second 103: Link and X-Other, not Content-Length nor '
              . 'Connection') or diag(($r->{interim}[1] || {})->{head});
    my @eight = (("Status: 103\r\nLink: </c.css>") x 8);
    $r = http(path => '/ext/c.fcgi?' . q_interim(@eight));
    ok($r->{status} == 200 && @{ $r->{interim} } == 8,
       'eight interim blocks: all sent, then 200') or diag(brief($r));
}

# --- nph: the interim block's status line ----------------------------------

{
    my $r = http(path => '/ext/nph.fcgi?' . q_interim(
                     "HTTP/1.1 103 Early Hints\r\nLink: </n.css>")
                 . '&nph=' . uri_escape('201 Made'));
    ok($r->{status} == 201 && "@{ interim_codes($r) }" eq '103',
       '-nph: "HTTP/1.1 103" block, then 201') or diag(brief($r));
}

# --- not sent: HTTP/1.0, a 100 nobody expects -----------------------------

{
    my $r = http(path => '/ext/c.fcgi?' . q_interim($hints), proto => '1.0');
    ok($r->{status} == 200 && !@{ $r->{interim} },
       'HTTP/1.0 client: no 103, the 200') or diag(brief($r));
    unlike($r->{head} . $r->{body}, qr/HTTP\/1\.1 103/,
           'HTTP/1.0: no interim response anywhere');
    $r = http(path => '/ext/c.fcgi?' . q_interim("Status: 100 Continue"));
    ok($r->{status} == 200 && !@{ $r->{interim} },
       '"Status: 100" without Expect: dropped, the 200') or diag(brief($r));
    # expected, and httpd sent none (an empty body is never read): sent
    $r = http(method => 'POST', body => '', expect => 5,
              path => '/ext/c.fcgi?' . q_interim("Status: 100 Continue"));
    ok($r->{status} == 200 && "@{ interim_codes($r) }" eq '100',
       '"Status: 100" with Expect and an empty body: one 100, the 200')
        or diag(brief($r));
    # expected, but httpd sent its own when the body was read: no second
    $r = http(method => 'POST', body => 'abc', expect => 5,
              path => '/ext/c.fcgi?' . q_interim("Status: 100 Continue"));
    ok($r->{status} == 200 && "@{ interim_codes($r) }" eq '100',
       '"Status: 100" with Expect after httpd\'s 100: not sent again')
        or diag(brief($r));
}

# --- bad: 101, more than 8 blocks ------------------------------------------

{
    my $off = log_mark();
    my $r = http(path => '/ext/c.fcgi?' . q_interim("Status: 101"));
    is($r->{status}, 502, 'Status: 101 from the app: 502') or diag(brief($r));
    log_tag_ok($off, 'bad_header', 'Status: 101');

    $off = log_mark();
    $r = http(path => '/ext/c.fcgi?'
              . q_interim(("Status: 103\r\nLink: </c.css>") x 9));
    is($r->{status}, 502, 'nine interim blocks: 502') or diag(brief($r));
    is(scalar @{ $r->{interim} }, 8, '... after the eight allowed ones');
    log_tag_ok($off, 'interim_too_many', 'nine interim blocks');
    healthy_ok('after bad interim blocks');
}

# --- curl: HTTP/1.1, and HTTP/2 (h2c) in an httpd of its own ---------------

my $path = '/ext/c.fcgi?' . q_interim($hints) . '&interim_ms=200';
sub curl_ok {
    my ($what, $port, $proto, @opt) = @_;
    my $out = `curl -sS --max-time 20 -o /dev/null -D - @opt 'http://127.0.0.1:$port$path' 2>&1`;
    like($out, qr{\AHTTP/$proto 103[^\n]*\r?\n(?:[^\r\n]+\r?\n)*?link: </a\.css>; rel=preload\r?\n.*^HTTP/$proto 200}msi,
         "curl $what: 103 with Link, then 200") or diag($out);
}
curl_ok('HTTP/1.1', Apache::Test::vars('port'), '1\.1', '--http1.1');

SKIP: {
    my $features = `curl --version 2>&1`;
    # not skipped quietly: curl without HTTP/2 fails the test
    ok($features =~ /^Features:.*\bHTTP2\b/m, 'curl supports HTTP/2')
        or diag($features);
    my $lib = Apache::Test::vars('fcgix_libexecdir')
              || '/usr/lib/apache2/modules';
    ok(-f "$lib/mod_http2.so", "mod_http2 is installed ($lib)");
    my $docroot = pm_docroot();
    my $logs = Apache::Test::vars('t_logs');
    my $h = eval { pm_own_httpd(name => 'h2c', body => <<"EOC") };
LoadModule http2_module "$lib/mod_http2.so"
Protocols h2c http/1.1
H2EarlyHints on
FcgixExternalServer "$docroot/ext/c.fcgi" unix:$logs/c.sock
EOC
    ok($h, 'httpd with mod_http2 (h2c) starts') or diag($@);
    skip 'no h2c httpd', 2 unless $h;
    curl_ok('HTTP/2 (h2c prior knowledge)', $h->{port}, '2',
            '--http2-prior-knowledge');
    curl_ok('HTTP/1.1 on the h2c httpd', $h->{port}, '1\.1', '--http1.1');
    pm_own_httpd_stop($h);
    pm_wait_until(10, sub { !-e $h->{pidfile} });
}

done_testing();
