# A PHP authorizer (t/htdocs/authapp/auth.php) run by `php-cgi -b` as an
# external FastCGI server (issue 5): php-cgi executes SCRIPT_FILENAME, so it
# must be the authorizer's path.  Hooks (native and FastCgi* names) and
# providers.  Config: t/conf/extra_authz.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use FcgixTest;
use FcgixAuthz;

plan skip_all => 'php-cgi not installed (auth-php backend not started)'
    unless backend_started('auth-php');

my $docroot = Apache::Test::vars('documentroot');
my $php_app = "$docroot/authapp/auth.php";
my %APACHE_ROLE = (ACCESS => 'ACCESS_CHECKER', AUTHN => 'AUTHENTICATOR',
                   AUTHZ => 'AUTHORIZER');
my @ALICE = ('alice', 'secret');

{
    my $name = 'php allow';
    my $r = get('/authz/php/all=allow/authn=user/x?p=1', \@ALICE);
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    my $e = env_of($r);
    is($e->{AUTH_TEAM}, 'blue', "$name: Variable-AUTH_TEAM reaches the responder");
    is($e->{"AUTH_ROLE_$_"}, 'yes', "$name: $_ asked") for values %APACHE_ROLE;
    is($e->{REMOTE_USER}, 'alice', "$name: REMOTE_USER");
    for my $R (sort keys %APACHE_ROLE) {
        is($e->{"SEEN_${R}_APP"}, 'php', "$name: $R: the PHP script answered");
        is($e->{"SEEN_${R}_SCRIPT_FILENAME"}, $php_app,
           "$name: $R: SCRIPT_FILENAME is the authorizer script");
        is($e->{"SEEN_${R}_FCGI_ROLE"}, 'AUTHORIZER', "$name: $R: FCGI_ROLE");
        is($e->{"SEEN_${R}_APACHE_ROLE"}, $APACHE_ROLE{$R},
           "$name: $R: FCGI_APACHE_ROLE");
        like($e->{"SEEN_${R}_AUTH_FILENAME"} // '', qr{^\Q$docroot\E/authz},
             "$name: $R: FCGIX_AUTH_FILENAME is the protected file");
        is($e->{"SEEN_${R}_CONTENT_LENGTH"}, 'none', "$name: $R: no CONTENT_LENGTH");
    }
    is($e->{SEEN_AUTHN_PASSWD}, 'ok', "$name: the authenticator got REMOTE_PASSWD");
    is($e->{SEEN_AUTHZ_PASSWD}, 'none', "$name: the authorizer did not");
    is($e->{SEEN_AUTHZ_REMOTE_USER}, 'alice', "$name: the authorizer got REMOTE_USER");
    ok(!exists $e->{REMOTE_PASSWD}, "$name: REMOTE_PASSWD never reaches the responder");
    unlike($r->{body}, qr/secret/, "$name: the password appears nowhere");
    ok(!grep({ /^X[-_]Leak$/i } keys %$e), "$name: only Variable-* (no X-Leak)");
    no_auth_leak_ok($r, $name);
}
{
    my $name = 'php POST';
    my $r = get('/authz/php/all=allow/authn=user/x', \@ALICE, method => 'POST',
                body => 'k=v', headers => ['Content-Type' =>
                                           'application/x-www-form-urlencoded']);
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    my $e = env_of($r);
    is($e->{SEEN_AUTHZ_METHOD}, 'POST', "$name: the authorizer sees the method");
    is($e->{SEEN_AUTHZ_CONTENT_LENGTH}, 'none', "$name: ... but no CONTENT_LENGTH");
    is($e->{CONTENT_LENGTH}, 3, "$name: the responder gets the body");
}
{
    my $name = 'php authorizer 403';
    my $r = get('/authz/php/all=allow/authn=user/authz=deny/x', \@ALICE);
    is($r->{status}, 403, "$name: 403") or diag(brief($r));
    is($r->{body}, "php authorizer denied AUTHORIZER for alice\n",
       "$name: the script's body");
    is(header($r, 'X-Why'), 'php-said-no', "$name: the script's header");
    like(header($r, 'Content-Type') // '', qr{^text/plain}, "$name: its Content-Type");
    no_auth_leak_ok($r, $name);
}
{
    my $name = 'php access checker 403';
    my $r = get('/authz/php/access=deny/x');
    is($r->{status}, 403, "$name: 403") or diag(brief($r));
    is($r->{body}, "php authorizer denied ACCESS_CHECKER for -\n", "$name: body");
}
{
    my $name = 'php authenticator 401';
    my $r = get('/authz/php/all=allow/authn=user/x', ['alice', 'wrong']);
    is($r->{status}, 401, "$name: 401") or diag(brief($r));
    is_deeply([headers($r, 'WWW-Authenticate')], ['Basic realm="fcgi-php"'],
              "$name: the script's WWW-Authenticate");
    is($r->{body}, "php authorizer wants credentials (AUTHENTICATOR)\n",
       "$name: the script's body");
    $r = get('/authz/php/all=allow/authn=unauth-bare/x', \@ALICE);
    is($r->{status}, 401, "$name without WWW-Authenticate: 401");
    is_deeply([headers($r, 'WWW-Authenticate')], ['Basic realm="fcgix-php"'],
              "$name without WWW-Authenticate: httpd's challenge");
    $r = get('/authz/php/all=allow/x');
    is($r->{status}, 401, 'php: no credentials: 401');
    is(header($r, 'WWW-Authenticate'), 'Basic realm="fcgix-php"',
       "php: no credentials: httpd's challenge");
}
{
    my $name = 'php Variable-REMOTE_USER';
    my $r = get('/authz/php/all=allow/authn=rewrite/x', \@ALICE);
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    is(env_of($r)->{REMOTE_USER}, 'alice-rewritten', "$name: the new user");
}
{
    my $name = 'php FastCgiAccessChecker (no -compat)';
    my $r = get('/authz/php-fastcgi/access=allow/x');
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    my $e = env_of($r);
    is($e->{AUTH_TEAM}, 'blue', "$name: Variable-AUTH_TEAM");
    my ($leak) = grep { /^X[-_]Leak$/i } keys %$e;
    ok($leak && $e->{$leak} eq 'yes', "$name: X-Leak reaches the responder");
    no_auth_leak_ok($r, $name);
}

# providers
{
    my $name = 'php providers';
    my $r = get('/authz/php-prov/authn=user/x', \@ALICE);
    is($r->{status}, 200, "$name: alice: 200") or diag(brief($r));
    my $e = env_of($r);
    is($e->{REMOTE_USER}, 'alice', "$name: REMOTE_USER");
    is($e->{SEEN_AUTHN_APP}, 'php', "$name: authn provider is the script");
    is($e->{SEEN_AUTHZ_APP}, 'php', "$name: authz provider is the script");
    is($e->{SEEN_AUTHZ_REQUIRE}, 'user alice', "$name: FCGIX_REQUIRE");
    is($e->{SEEN_AUTHN_PASSWD}, 'ok', "$name: authn provider got the password");
    ok(!exists $e->{REMOTE_PASSWD}, "$name: REMOTE_PASSWD never reaches the responder");
    $r = get('/authz/php-prov/authn=user/x', ['alice', 'bad']);
    is($r->{status}, 401, "$name: wrong password: 401");
    unlike($r->{body}, qr/php authorizer/, "$name: ... httpd's page");

    $r = get('/authz/php-any/x');
    is($r->{status}, 200, "$name: RequireAny { php-authz deny; ip 127.0.0.1 }: 200")
        or diag(brief($r));
    $r = get('/authz/php-all/x');
    is($r->{status}, 403,
       "$name: RequireAll { php-authz allow; fcgi-authz deny }: 403");
}

done_testing();
