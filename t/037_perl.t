# The shared backend tests (t/lib/FcgixTest.pm) against /ext/perl.fcgi (backend "perl").
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FcgixTest;

plan skip_all => 'backend perl was not started (see t/TEST.PL output)'
    unless backend_started('perl');
backend_tests(
    name   => 'perl',
    script => '/ext/perl.fcgi',
);
done_testing();
