# CGI/1.1 variables the module sends, and what it must not pass.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use FcgixTest;

my $docroot = Apache::Test::vars('documentroot');
my $port    = Apache::Test::vars('port');
my $auth    = 'Basic ' . 'Zm9vOmJhcg==';   # foo:bar

my $r = http(path => '/ext/c.fcgi/extra/path?x=1',
             headers => ['X-Custom-Thing' => 'some value',
                         'Proxy' => 'http://evil.example:3128/',
                         'Authorization' => $auth,
                         'Cookie' => 'a=b; c=d']);
is($r->{status}, 200, 'status 200') or diag($r->{body});
my $e = env_of($r);

my %want = (
    SCRIPT_NAME       => '/ext/c.fcgi',
    PATH_INFO         => '/extra/path',
    PATH_TRANSLATED   => "$docroot/extra/path",
    QUERY_STRING      => 'x=1',
    REQUEST_URI       => '/ext/c.fcgi/extra/path?x=1',
    SCRIPT_FILENAME   => "$docroot/ext/c.fcgi",
    DOCUMENT_ROOT     => $docroot,
    REQUEST_METHOD    => 'GET',
    GATEWAY_INTERFACE => 'CGI/1.1',
    SERVER_PROTOCOL   => 'HTTP/1.1',
    SERVER_PORT       => $port,
    SERVER_ADDR       => '127.0.0.1',
    REMOTE_ADDR       => '127.0.0.1',
    HTTP_HOST         => "127.0.0.1:$port",
    HTTP_X_CUSTOM_THING => 'some value',
    HTTP_COOKIE       => 'a=b; c=d',
    FCGIX_SETENV      => 'from-mod-env',
);
is($e->{$_}, $want{$_}, "$_") for sort keys %want;
for (qw(SERVER_NAME SERVER_SOFTWARE REMOTE_PORT SERVER_ADMIN
        REQUEST_SCHEME)) {
    ok(defined $e->{$_} && length $e->{$_}, "$_ present");
}
like($e->{REMOTE_PORT} // '', qr/^\d+$/, 'REMOTE_PORT is a number');
ok(!exists $e->{HTTP_PROXY}, 'no HTTP_PROXY although Proxy: was sent (httpoxy)');
ok(!exists $e->{HTTP_AUTHORIZATION},
   'no HTTP_AUTHORIZATION without pass-header/CGIPassAuth');
ok(!exists $e->{CONTENT_LENGTH} || $e->{CONTENT_LENGTH} =~ /^0?$/,
   'GET: no CONTENT_LENGTH');

# no path info
$r = http(path => '/ext/c.fcgi?y=2');
$e = env_of($r);
is($e->{SCRIPT_NAME}, '/ext/c.fcgi', 'no path info: SCRIPT_NAME');
ok(($e->{PATH_INFO} // '') eq '', 'no path info: PATH_INFO empty or absent');
is($e->{QUERY_STRING}, 'y=2', 'no path info: QUERY_STRING');

# encoded path info is decoded, the REQUEST_URI is not
$r = http(path => '/ext/c.fcgi/a%20b/c?z=%41');
$e = env_of($r);
is($e->{PATH_INFO}, '/a b/c', 'PATH_INFO is decoded');
is($e->{REQUEST_URI}, '/ext/c.fcgi/a%20b/c?z=%41', 'REQUEST_URI is raw');
is($e->{QUERY_STRING}, 'z=%41', 'QUERY_STRING is raw');

# a server "file" in a directory that does not exist
$r = http(path => '/nodir/c.fcgi/more?n=1');
is($r->{status}, 200, 'server in a missing directory: 200');
$e = env_of($r);
is($e->{SCRIPT_NAME}, '/nodir/c.fcgi', 'missing directory: SCRIPT_NAME');
is($e->{PATH_INFO}, '/more', 'missing directory: PATH_INFO');

# Authorization is passed only where configured
for my $case (['/ext/c-auth.fcgi', 'FastCgiExternalServer -pass-header'],
              ['/cgipassauth/c.fcgi', 'CGIPassAuth On'],
              ['/passheader/c.fcgi', 'FcgixPassHeader'],
              ['/native/c.fcgi', 'FcgixExternalServer pass-header=']) {
    my ($path, $how) = @$case;
    $r = http(path => "$path?a=1",
              headers => ['Authorization' => $auth,
                          'Proxy' => 'http://evil.example:3128/']);
    is($r->{status}, 200, "$how: status");
    $e = env_of($r);
    is($e->{HTTP_AUTHORIZATION}, $auth, "$how: HTTP_AUTHORIZATION passed");
    ok(!exists $e->{HTTP_PROXY}, "$how: still no HTTP_PROXY");
}

# ... and the other servers on the same socket still don't get it
$r = http(path => '/ext/c.fcgi?a=2', headers => ['Authorization' => $auth]);
ok(!exists env_of($r)->{HTTP_AUTHORIZATION},
   'plain server: still no HTTP_AUTHORIZATION');

# POST: CONTENT_TYPE / CONTENT_LENGTH, method
$r = http(method => 'POST', path => '/ext/c.fcgi/p?b=1', body => 'abc',
          headers => ['Content-Type' => 'text/x-fcgix']);
$e = env_of($r);
is($e->{REQUEST_METHOD}, 'POST', 'POST: REQUEST_METHOD');
is($e->{CONTENT_LENGTH}, 3, 'POST: CONTENT_LENGTH');
is($e->{CONTENT_TYPE}, 'text/x-fcgix', 'POST: CONTENT_TYPE');
ok(!exists $e->{HTTP_CONTENT_LENGTH} && !exists $e->{HTTP_CONTENT_TYPE},
   'POST: no HTTP_CONTENT_* duplicates');

done_testing();
