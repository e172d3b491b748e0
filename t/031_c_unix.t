# The shared backend tests (t/lib/FcgixTest.pm) against /ext/c.fcgi (backend "c").
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FcgixTest;

plan skip_all => 'backend c was not started (see t/TEST.PL output)'
    unless backend_started('c');
backend_tests(
    name   => 'c_unix',
    script => '/ext/c.fcgi',
);
done_testing();
