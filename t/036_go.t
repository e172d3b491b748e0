# The shared backend tests (t/lib/FcgixTest.pm) against /ext/go.fcgi (backend "go").
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FcgixTest;

plan skip_all => 'backend go was not started (see t/TEST.PL output)'
    unless backend_started('go');
backend_tests(
    name   => 'go',
    script => '/ext/go.fcgi',
    # net/http/fcgi folds these into the http.Request and loses them
    lost   => [qw(SCRIPT_NAME PATH_INFO)],
);
done_testing();
