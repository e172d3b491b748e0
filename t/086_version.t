# The module's version (FCGIX_VERSION in include/fcgix.h, defined there
# only; CHANGES and debian/changelog name the same number): in httpd's
# Server header when ServerTokens Full asks for module versions and not
# with ServerTokens Prod; on the status page (HTML, ?auto
# "Version:", ?json "version"), in mod_status's section and in the README.
# Each ServerTokens setting is an httpd of its own (t/lib/FcgixPM.pm).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use JSON::PP ();
use Test::More;
use FcgixTest;
use FcgixPM;
use FcgixDropin qw(dropin_req dropin_brief);

my $top = Apache::Test::vars('top_dir');
my $lib = Apache::Test::vars('fcgix_libexecdir') || '/usr/lib/apache2/modules';

sub slurp {
    open my $fh, '<', $_[0] or die "$_[0]: $!";
    local $/;
    <$fh>;
}

my ($number) = slurp("$top/include/fcgix.h")
    =~ /^#define FCGIX_VERSION_NUMBER "([^"]+)"$/m;
ok(defined $number && $number =~ /^\d+\.\d+\.\d+$/,
   'include/fcgix.h defines FCGIX_VERSION_NUMBER as x.y.z')
    or BAIL_OUT('no version in include/fcgix.h');
my $version = "mod_fcgix/$number";

like(slurp("$top/README"), qr/\Q$version\E/, "README names $version");

# The other two places a version is written for users, which must follow
# include/fcgix.h: CHANGES' newest entry and debian/changelog's (the
# package version, native: no Debian revision).
my ($changes) = slurp("$top/CHANGES") =~ /^(\d+\.\d+\.\d+) \(\d{4}-\d\d-\d\d\)\n-+$/m;
is($changes, $number, "CHANGES' newest entry is $number");
my ($deb) = slurp("$top/debian/changelog") =~ /\A\S+ \(([^)]+)\) /;
is($deb, $number, "debian/changelog's newest entry is $number");

sub body {
    my ($tokens) = @_;
    "ServerTokens $tokens\n"
    . qq{<IfModule !status_module>\n}
    . qq{    LoadModule status_module "$lib/mod_status.so"\n}
    . qq{</IfModule>\n}
    . "<Location /fcgix-status>\n    SetHandler fcgix-status\n"
    . "</Location>\n"
    . "<Location /server-status>\n    SetHandler server-status\n"
    . "</Location>\n";
}

{
    my $h = eval { pm_own_httpd(name => 'version', body => body('Full')) };
    ok($h, 'ServerTokens Full: httpd starts') or diag($@);
    if ($h) {
        my $r = dropin_req(port => $h->{port}, path => '/fcgix-status');
        is($r->{status}, 200, 'status page answers') or diag(dropin_brief($r));
        like(FcgixTest::header($r, 'Server') // '', qr{^Apache/\S+.* \Q$version\E\b},
             "ServerTokens Full: the Server header has $version");
        like($r->{body}, qr{Module: \Q$version\E\.},
             'status page (HTML): the version');
        $r = dropin_req(port => $h->{port}, path => '/fcgix-status?auto');
        like($r->{body}, qr{^Version: \Q$version\E$}m,
             '?auto: a "Version:" line') or diag($r->{body});
        $r = dropin_req(port => $h->{port}, path => '/fcgix-status?json');
        my $j = eval { JSON::PP::decode_json($r->{body}) } || {};
        is($j->{version}, $version, '?json: "version"');
        $r = dropin_req(port => $h->{port}, path => '/server-status');
        like($r->{body}, qr{<h2>mod_fcgix</h2>\n<p>\Q$version\E</p>},
             "mod_status's section: the version");
        pm_own_httpd_stop($h);
    }
}

{
    my $h = eval { pm_own_httpd(name => 'version', body => body('Prod')) };
    ok($h, 'ServerTokens Prod: httpd starts') or diag($@);
    if ($h) {
        my $r = dropin_req(port => $h->{port}, path => '/fcgix-status?auto');
        is(FcgixTest::header($r, 'Server'), 'Apache',
           'ServerTokens Prod: the Server header is "Apache" alone');
        like($r->{body}, qr{^Version: \Q$version\E$}m,
             'ServerTokens Prod: the status page still has the version '
             . '(it is behind access control)');
        pm_own_httpd_stop($h);
    }
}

done_testing();
