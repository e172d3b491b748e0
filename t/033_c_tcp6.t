# The shared backend tests (t/lib/FcgixTest.pm) against /ext/c6.fcgi (backend "c6").
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FcgixTest;

plan skip_all => 'backend c6 was not started (see t/TEST.PL output)'
    unless backend_started('c6');
backend_tests(
    name   => 'c_tcp6',
    script => '/ext/c6.fcgi',
);
done_testing();
