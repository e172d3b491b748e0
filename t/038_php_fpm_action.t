# php-fpm behind the classic mod_fastcgi recipe (AddHandler + Action +
# Alias onto a FastCgiExternalServer path, t/conf/extra.conf.in): the PHP
# script that runs is the one the client asked for, with its query string,
# request body, Authorization (-pass-header) and the CGI variables PHP
# derives from the redirect.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Digest::MD5 qw(md5_hex);
use Test::More;
use FcgixTest;

plan skip_all => 'backend php-fpm was not started (see t/TEST.PL output)'
    unless backend_started('php-fpm');
my $docroot = Apache::Test::vars('documentroot');

my $r = http(path => '/phpaction/echo.php/more?a=1&b=2',
             headers => [Authorization => 'Basic Zm9vOmJhcg==']);
is($r->{status}, 200, 'a .php file is run by php-fpm through the Action')
    or diag(substr $r->{body}, 0, 400);
my $e = env_of($r);
is($e->{QUERY_STRING}, 'a=1&b=2', 'its query string');
is($e->{REDIRECT_URL}, '/phpaction/echo.php/more',
   'REDIRECT_URL: what the client asked for');
is($e->{REDIRECT_STATUS}, '200', 'REDIRECT_STATUS 200 (php-cgi\'s '
   . 'force-redirect check passes)');
# PHP keeps what we sent as ORIG_* and derives its own from it
is($e->{ORIG_PATH_TRANSLATED}, "$docroot/phpaction/echo.php/more",
   'PATH_TRANSLATED sent: the script (and its path info) on disk');
is($e->{ORIG_SCRIPT_NAME}, '/php-fcgi-action',
   'SCRIPT_NAME sent: the Action URL');
ok(($e->{SCRIPT_FILENAME} // '') eq "$docroot/phpaction/echo.php"
   && ($e->{SCRIPT_NAME} // '') eq '/phpaction/echo.php'
   && ($e->{PATH_INFO} // '') eq '/more',
   'PHP resolves SCRIPT_FILENAME, SCRIPT_NAME and PATH_INFO of the script')
    or diag(explain($e));
is($e->{HTTP_AUTHORIZATION}, 'Basic Zm9vOmJhcg==',
   'Authorization passed (-pass-header)');
is($e->{REQUEST_URI}, '/phpaction/echo.php/more?a=1&b=2',
   'REQUEST_URI as the client sent it');

my $body = join '', map { chr(($_ * 13) % 256) } 0 .. 300_000;
$r = http(method => 'POST', path => '/phpaction/echo.php?digest',
          body => $body, headers => ['Content-Type' => 'application/x-bin']);
my ($len, $md5, $cl) = digest_of($r);
ok($r->{status} == 200 && ($md5 // '') eq md5_hex($body)
   && ($cl // '') eq length($body),
   'a 300 kB POST body reaches the script intact') or diag($r->{body});

$r = http(path => '/phpaction/missing.php');
is($r->{status}, 404, 'a .php file that does not exist: 404, not sent '
   . 'to php-fpm') or diag(substr $r->{body}, 0, 300);

done_testing();
