# mod_fcgix is loaded and a request reaches the C test app.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Apache::TestRequest ();
use Test::More;
use FcgixTest;

# the module is in the running configuration
my $httpd = Apache::Test::vars('httpd');
my $conf  = Apache::Test::vars('t_conf_file');
my $mods  = `$httpd -t -D DUMP_MODULES -f $conf 2>&1`;
like($mods, qr/^\s*fcgix_module \(shared\)/m, 'fcgix_module is loaded')
    or diag($mods);

# a request to the C app (unix socket)
my $r = http(path => '/ext/c.fcgi?x=1');
is($r->{status}, 200, 'GET /ext/c.fcgi: 200');
like(header($r, 'Content-Type') // '', qr{^text/plain},
     'GET /ext/c.fcgi: text/plain');
my $e = env_of($r);
is($e->{QUERY_STRING}, 'x=1', 'the app saw the query string');
is($e->{GATEWAY_INTERFACE}, 'CGI/1.1', 'the app saw GATEWAY_INTERFACE');
ok($r->{complete}, 'the response is complete');

# the same through LWP (Apache::TestRequest), as an ordinary client
my $lwp = Apache::TestRequest::GET('/ext/c.fcgi?lwp=1');
is($lwp->code, 200, 'LWP GET: 200');
like($lwp->content, qr/^QUERY_STRING=lwp=1$/m, 'LWP GET: env listing');

# the multiplexing C app (-m) serves ordinary requests as well
$r = http(path => '/ext/cm.fcgi?x=2');
is($r->{status}, 200, 'GET /ext/cm.fcgi (fcgix_testapp -m): 200');
like($r->{body}, qr/^QUERY_STRING=x=2$/m, 'GET /ext/cm.fcgi: env listing');

# static files next to the servers are not taken over by the module
$r = http(path => '/static.txt');
is($r->{status}, 200, 'static file: 200');
is($r->{body}, static_content(), 'static file: content');
$r = http(path => '/ext/README');
is($r->{status}, 200, 'static file in the servers\' directory: 200');

done_testing();
