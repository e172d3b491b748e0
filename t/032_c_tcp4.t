# The shared backend tests (t/lib/FcgixTest.pm) against /ext/c4.fcgi (backend "c4").
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FcgixTest;

plan skip_all => 'backend c4 was not started (see t/TEST.PL output)'
    unless backend_started('c4');
backend_tests(
    name   => 'c_tcp4',
    script => '/ext/c4.fcgi',
);
done_testing();
