# The shared backend tests (t/lib/FcgixTest.pm) against /php/echo.php (backend "php-fpm").
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FcgixTest;

plan skip_all => 'backend php-fpm was not started (see t/TEST.PL output)'
    unless backend_started('php-fpm');
backend_tests(
    name   => 'php_fpm_tcp',
    script => '/php/echo.php',
);
done_testing();
