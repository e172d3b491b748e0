# FcgixErrorOverride (t/conf/appresp.conf.in): under /appresp/on/ an
# application's 4xx/5xx reply is replaced by the ErrorDocument of its
# status (a local page, a string, httpd's own text), its body read to
# the end and dropped; 2xx and 3xx are untouched; Set-Cookie and a 401's
# WWW-Authenticate stay; the kept connection to the application is used
# again after a replaced reply (read to END_REQUEST), and the client's
# connection stays open. /appresp/off/ is the same application without
# the directive. The C test app and php-fpm.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use FcgixTest qw(:DEFAULT brief http_request_text http_result_of);

my $page404 = "appresp error document 404\n";

# --- replaced: 404 (local page), 500 (string), 403 (httpd's text) ------

for my $app (['/appresp/on/c.fcgi', 'C app'],
             ['/appresp/on/echo.php', 'php-fpm']) {
    my ($path, $what) = @$app;
    SKIP: {
        skip 'php-fpm not started', 9
            if $what eq 'php-fpm' && !backend_started('php-fpm');
        my $r = http(path => "$path?status=404");
        is($r->{status}, 404, "$what: 404 stays 404") or diag(brief($r));
        is($r->{body}, $page404, "$what: 404 body is the ErrorDocument page")
            or diag(brief($r));

        $r = http(path => "$path?status=500");
        is($r->{status}, 500, "$what: 500 stays 500") or diag(brief($r));
        is($r->{body}, 'appresp custom 500',
           "$what: 500 body is the ErrorDocument string") or diag(brief($r));

        $r = http(path => "$path?status=403");
        is($r->{status}, 403, "$what: 403") or diag(brief($r));
        like($r->{body}, qr/<title>403 Forbidden<\/title>/,
             "$what: 403 body is httpd's own error page")
            or diag(brief($r));
        unlike($r->{body}, qr/status 403/, "$what: the app's body is gone");

        # 2xx and 3xx are untouched
        $r = http(path => "$path?status=200");
        is($r->{body}, "status 200\n", "$what: 200 body is the app's")
            or diag(brief($r));
        $r = http(path => "$path?location="
                  . uri_escape('http://example.invalid/x'));
        ok($r->{status} == 302 && (header($r, 'Location') // '')
           eq 'http://example.invalid/x', "$what: 302 untouched")
            or diag(brief($r));
    }
}

# --- Off (the default): the application's own error body ----------------

{
    my $r = http(path => '/appresp/off/c.fcgi?status=404');
    ok($r->{status} == 404 && $r->{body} eq "status 404\n",
       'Off: 404 with the app\'s body') or diag(brief($r));
    $r = http(path => '/appresp/off/c.fcgi?status=500&cookies=1');
    ok($r->{status} == 500 && $r->{body} eq "status 500\n",
       'Off: 500 with the app\'s body') or diag(brief($r));
}

# --- fields kept: Set-Cookie always, WWW-Authenticate with 401 ----------

{
    my $r = http(path => '/appresp/on/c.fcgi?status=401&cookies=2'
                 . '&hdr=' . uri_escape('WWW-Authenticate: Basic realm="a"')
                 . '&hdr=' . uri_escape('WWW-Authenticate: Bearer')
                 . '&hdr=' . uri_escape('X-App-Field: dropped'));
    is($r->{status}, 401, '401 stays 401') or diag(brief($r));
    is($r->{body}, 'appresp custom 401', '401: the ErrorDocument string');
    is_deeply([headers($r, 'WWW-Authenticate')],
              ['Basic realm="a"', 'Bearer'],
              '401: both WWW-Authenticate challenges kept') or diag(brief($r));
    is_deeply([sort(headers($r, 'Set-Cookie'))], ['c1=v1', 'c2=v2'],
              '401: Set-Cookie kept') or diag(brief($r));
    ok(!defined header($r, 'X-App-Field'), '401: other fields dropped')
        or diag(brief($r));

    $r = http(path => '/appresp/on/c.fcgi?status=404&cookies=1'
              . '&hdr=' . uri_escape('WWW-Authenticate: Basic realm="a"'));
    is_deeply([headers($r, 'Set-Cookie')], ['c1=v1'],
              '404: Set-Cookie kept') or diag(brief($r));
    ok(!defined header($r, 'WWW-Authenticate'),
       '404: WWW-Authenticate (only for 401) dropped') or diag(brief($r));
}

# --- the error page that is itself the application's error reply --------

{
    my $r = http(path => '/appresp/on/c.fcgi?status=410&x=first');
    is($r->{status}, 410, 'ErrorDocument 410 served by the app: 410')
        or diag(brief($r));
    is($r->{body}, "status 410\n", 'its reply is not replaced again '
       . '(no recursive error text)') or diag(brief($r));
}

# --- replaced replies are read to their end; connections kept -----------

{
    # One client connection (pipelined, so one httpd child and its pool):
    # stats, three replaced replies with bodies of 300 KB, 1 and 11 bytes,
    # stats. The application counts the connections it accepted: none more
    # means each replaced reply was read to END_REQUEST and its connection
    # kept. (Not 500 or 503: after those httpd closes the client's
    # connection, whoever made the error page.)
    my @reqs = (
        '/appresp/on/c.fcgi?stats',
        '/appresp/on/c.fcgi?status=404&bytes=300000',
        '/appresp/on/c.fcgi?status=403&bytes=1',
        '/appresp/on/c.fcgi?status=502',
        '/appresp/on/c.fcgi?stats',
    );
    my $first = shift @reqs;
    my $last = pop @reqs;
    my $pipe = join '', map { http_request_text(path => $_, keepalive => 1) }
                        @reqs;
    $pipe .= http_request_text(path => $last);
    my $r = http(path => $first, keepalive => 1, pipeline => $pipe,
                 timeout => 30);
    my @res = ($r);
    my $tail = $r->{raw_tail};
    for (1 .. 4) {
        my $n = http_result_of($tail, 0, undef);
        push @res, $n;
        $tail = $n->{raw_tail};
    }
    is_deeply([map { $_->{status} } @res], [200, 404, 403, 502, 200],
              'five replies on one client connection')
        or diag(join "\n", map { brief($_) } @res);
    is($res[1]{body}, $page404, '300 KB reply replaced')
        or diag(brief($res[1]));
    my ($c0) = $res[0]{body} =~ /connections=(\d+)/;
    my ($c1) = $res[4]{body} =~ /connections=(\d+)/;
    ok(defined $c0 && defined $c1 && $c1 == $c0,
       'no new application connection after replaced replies '
       . '(connections ' . ($c0 // '?') . ' -> ' . ($c1 // '?') . ')')
        or diag(brief($res[0]), "\n", brief($res[4]));
}

healthy_ok('after the error override tests');

done_testing();
