# FastCGI authorizers as httpd 2.4 providers (issue 5):
#   FcgixAuthProvider authn fcgi-authn <app>  ->  AuthBasicProvider fcgi-authn
#   FcgixAuthProvider authz fcgi-authz <app>  ->  Require fcgi-authz ACTION...
# next to mod_authn_file, Require ip / all / valid-user / not, inside
# <RequireAll> and <RequireAny>.  The app's action is the first word of the
# Require line (FCGIX_REQUIRE) or, for authn, the URL segment authn=ACTION.
# Config: t/conf/extra_authz.conf.in; app: t/apps/auth.pl.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use FcgixTest;
use FcgixAuthz;

plan skip_all => 'auth-perl backend not started'
    unless backend_started('auth-perl');

my $docroot = Apache::Test::vars('documentroot');
my $perl_app = "$docroot/authapp/perl.fcgi";
my @ALICE = ('alice', 'secret');

sub httpd_page_ok {
    my ($r, $status, $name) = @_;
    is($r->{status}, $status, "$name: $status") or diag(brief($r));
    unlike($r->{body}, qr/fcgi authorizer|allowed/,
           "$name: httpd's error page, not the app's body");
}

# ---------------------------------------------------------------------
# authn provider, before mod_authn_file: AuthBasicProvider fcgi-authn file

{
    my $name = 'authn provider';
    my $uri = '/authz/prov-basic/authn=user404/x';
    my $off = reqlog_mark();
    my $r = get($uri, \@ALICE);
    is($r->{status}, 200, "$name: alice granted by the app") or diag(brief($r));
    is(asked($off, $uri), 'authn', "$name: asked once, as authenticator");
    my $e = env_of($r);
    is($e->{REMOTE_USER}, 'alice', "$name: REMOTE_USER");
    is($e->{AUTH_TEAM}, 'blue', "$name: its Variable-* reach the responder");
    is($e->{SEEN_AUTHN_FCGI_ROLE}, 'AUTHORIZER', "$name: FCGI_ROLE");
    is($e->{SEEN_AUTHN_APACHE_ROLE}, 'AUTHENTICATOR', "$name: FCGI_APACHE_ROLE");
    is($e->{SEEN_AUTHN_SCRIPT_FILENAME}, $perl_app, "$name: SCRIPT_FILENAME");
    is($e->{SEEN_AUTHN_REMOTE_USER}, 'alice', "$name: the app got REMOTE_USER");
    is($e->{SEEN_AUTHN_PASSWD}, 'ok', "$name: the app got REMOTE_PASSWD");
    ok(!exists $e->{REMOTE_PASSWD}, "$name: REMOTE_PASSWD never reaches the responder");
    ok(!grep({ /^X[-_]Leak$/i } keys %$e), "$name: only Variable-* (no X-Leak)");
    unlike($r->{body}, qr/secret/, "$name: the password appears nowhere");
    no_auth_leak_ok($r, $name);

    $off = reqlog_mark();
    $r = get($uri, ['bob', 'hunter2']);
    is($r->{status}, 200, "$name: bob: app says 404 (not found), mod_authn_file admits him")
        or diag(brief($r));
    is(asked($off, $uri), 'authn', "$name: ... after asking the app");
    $e = env_of($r);
    is($e->{REMOTE_USER}, 'bob', "$name: ... REMOTE_USER bob");
    ok(!exists $e->{AUTH_TEAM}, "$name: ... no variables from the app");

    # mallory's password is right for mod_authn_file, but the app knows
    # mallory and says 401: denied, the next provider is not asked
    $r = get($uri, ['mallory', 'mallory-pw']);
    httpd_page_ok($r, 401, "$name: mallory denied by the app (not passed on)");
    is(header($r, 'WWW-Authenticate'), 'Basic realm="fcgix-prov-basic"',
       "$name: ... httpd's challenge");

    $r = get($uri, ['alice', 'hunter2']);
    httpd_page_ok($r, 401, "$name: alice, wrong password");
    $r = get($uri, ['carol', 'x']);
    httpd_page_ok($r, 401, "$name: carol, known to nobody");

    $off = reqlog_mark();
    $r = get($uri);
    httpd_page_ok($r, 401, "$name: no credentials");
    is(asked($off, $uri), '', "$name: ... the app is not asked");
}

# ---------------------------------------------------------------------
# authz provider with other providers

{
    my $name = 'RequireAll { fcgi-authz allow ARGS; all granted }';
    my $uri = '/authz/prov-all-granted/x?z=9';
    my $off = reqlog_mark();
    my $r = get($uri);
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    is(asked($off, $uri), 'authz', "$name: asked as authorizer");
    my $e = env_of($r);
    is($e->{AUTH_TEAM}, 'blue', "$name: its Variable-* reach the responder");
    is($e->{AUTH_ROLE_AUTHORIZER}, 'yes', "$name: ... AUTH_ROLE_AUTHORIZER");
    is($e->{SEEN_AUTHZ_REQUIRE}, 'allow first-arg second-arg',
       "$name: the Require line's arguments are in FCGIX_REQUIRE");
    is($e->{SEEN_AUTHZ_FCGI_ROLE}, 'AUTHORIZER', "$name: FCGI_ROLE");
    is($e->{SEEN_AUTHZ_APACHE_ROLE}, 'AUTHORIZER', "$name: FCGI_APACHE_ROLE");
    is($e->{SEEN_AUTHZ_SCRIPT_FILENAME}, $perl_app, "$name: SCRIPT_FILENAME");
    is($e->{SEEN_AUTHZ_QUERY_STRING}, 'z=9', "$name: the request's environment");
    is($e->{SEEN_AUTHZ_REMOTE_USER}, '-', "$name: no user");
    ok(!grep({ /^X[-_]Leak$/i } keys %$e), "$name: only Variable-* (no X-Leak)");
    no_auth_leak_ok($r, $name);
}
{
    my $name = 'RequireAll { fcgi-authz allow; fcgi-authz deny }';
    my $uri = '/authz/prov-all-denied/x';
    my $off = reqlog_mark();
    my $r = get($uri);
    httpd_page_ok($r, 403, $name);
    is(asked($off, $uri), 'authz authz', "$name: both Require lines asked the app");
    no_auth_leak_ok($r, $name);
}
httpd_page_ok(get('/authz/prov-all-hostdenied/x'), 403,
              'RequireAll { fcgi-authz allow; ip 192.0.2.1 }');
{
    my $name = 'RequireAny { fcgi-authz deny; ip 127.0.0.1 }';
    my $uri = '/authz/prov-any-ip/x';
    my $off = reqlog_mark();
    my $r = get($uri);
    is($r->{status}, 200, "$name: 200 (ip grants)") or diag(brief($r));
    is(asked($off, $uri), 'authz', "$name: the app was asked (and denied)");
    ok(!exists env_of($r)->{AUTH_TEAM}, "$name: no variables from a denial");
}
httpd_page_ok(get('/authz/prov-any-none/x'), 403,
              'RequireAny { fcgi-authz deny; ip 192.0.2.1 }');
{
    my $name = 'RequireAny { ip 192.0.2.1; fcgi-authz allow }';
    my $r = get('/authz/prov-any-fcgi/x');
    is($r->{status}, 200, "$name: 200 (the app grants)") or diag(brief($r));
    is(env_of($r)->{AUTH_TEAM}, 'blue', "$name: its variables reach the responder");
}
{
    my $name = 'RequireAll { all granted; not fcgi-authz deny }';
    my $r = get('/authz/prov-not-granted/x');
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
}
httpd_page_ok(get('/authz/prov-not-denied/x'), 403,
              'RequireAll { all granted; not fcgi-authz allow }');

# With a user: valid-user and "fcgi-authz user alice" (alice only).
{
    my $name = 'RequireAll { valid-user; fcgi-authz user alice }';
    my $uri = '/authz/prov-user/authn=user404/x';
    my $off = reqlog_mark();
    my $r = get($uri, \@ALICE);
    is($r->{status}, 200, "$name: alice: 200") or diag(brief($r));
    # mod_authz_core may try the RequireAll before authentication too
    like(asked($off, $uri), qr/^(?:authz )*authn authz$/,
         "$name: authn provider, then authz provider with the user");
    my $e = env_of($r);
    is($e->{REMOTE_USER}, 'alice', "$name: REMOTE_USER");
    is($e->{SEEN_AUTHZ_REMOTE_USER}, 'alice', "$name: the authz provider got the user");
    is($e->{SEEN_AUTHZ_PASSWD}, 'none', "$name: ... and no password");
    is($e->{SEEN_AUTHZ_REQUIRE}, 'user alice', "$name: FCGIX_REQUIRE");
    is($e->{SEEN_AUTHN_PASSWD}, 'ok', "$name: the authn provider got the password");
    ok(!exists $e->{REMOTE_PASSWD}, "$name: REMOTE_PASSWD never reaches the responder");

    $r = get($uri, ['bob', 'hunter2']);
    httpd_page_ok($r, 401, "$name: bob (authenticated by mod_authn_file) denied");
    $r = get($uri);
    httpd_page_ok($r, 401, "$name: no credentials");
    is(header($r, 'WWW-Authenticate'), 'Basic realm="fcgix-prov-user"',
       "$name: ... httpd's challenge");
}

# The authz provider alone: its 401 without a user makes httpd authenticate.
{
    my $name = 'RequireAny { ip 192.0.2.1; fcgi-authz user alice }';
    my $uri = '/authz/prov-nouser/authn=user404/x';
    my $off = reqlog_mark();
    my $r = get($uri);
    httpd_page_ok($r, 401, "$name: no credentials: the app's 401 asks for them");
    is(header($r, 'WWW-Authenticate'), 'Basic realm="fcgix-prov-nouser"',
       "$name: ... httpd's challenge");
    is(asked($off, $uri), 'authz', "$name: ... the app was asked (without a user)");

    $off = reqlog_mark();
    $r = get($uri, \@ALICE);
    is($r->{status}, 200, "$name: alice: 200") or diag(brief($r));
    like(asked($off, $uri), qr/\bauthn authz$/,
         "$name: authenticated, then asked again with the user");
    is(env_of($r)->{SEEN_AUTHZ_REMOTE_USER}, 'alice', "$name: ... REMOTE_USER alice");

    $r = get($uri, ['alice', 'wrong']);
    httpd_page_ok($r, 401, "$name: wrong password");
}

# A crash: 500, one log line, and the next request works.
{
    my $name = 'authz provider crash';
    my $off = log_mark();
    my $r = get('/authz/prov-crash/x');
    httpd_page_ok($r, 500, $name);
    log_tag_ok($off, 'app_closed', $name);
    my @l = fcgix_lines_since($off);
    is(scalar @l, 1, "$name: exactly one [fcgix:error/warn] line") or diag(@l);
    $r = get('/authz/prov-all-granted/x');
    is($r->{status}, 200, "$name: the provider serves the next request");
    healthy_ok($name);
}

done_testing();
