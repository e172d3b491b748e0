# FastCGI authorizers as httpd hooks (issue 5): FcgixAccessChecker,
# FcgixAuthenticator, FcgixAuthorizer, their mod_fastcgi (FastCgi*, with and
# without -compat) and mod_fcgid (Fcgid*) names, *Authoritative Off, and
# what happens when the authorizer crashes, hangs or cannot be reached.
# Config: t/conf/extra_authz.conf.in; apps: t/apps/auth.pl (see there for
# the URL contract); protected content: the C test app's env dump.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Digest::MD5 ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixAuthz;

plan skip_all => 'auth-perl backend not started'
    unless backend_started('auth-perl');

my $docroot = Apache::Test::vars('documentroot');
my $perl_app = "$docroot/authapp/perl.fcgi";
my $fastcgi_app = "$docroot/authapp/perl-fastcgi.fcgi";
my %APACHE_ROLE = (ACCESS => 'ACCESS_CHECKER', AUTHN => 'AUTHENTICATOR',
                   AUTHZ => 'AUTHORIZER');
my @ALICE = ('alice', 'secret');

# ---------------------------------------------------------------------
# Allowed: all three phases, native names

{
    my $name = 'native allow';
    my $uri = '/authz/native/all=allow/authn=user/x?q=1';
    my $off = reqlog_mark();
    my $r = get($uri, \@ALICE, headers => ['X-Authz-Test' => 'seen-by-auth']);
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    is(asked($off, $uri), 'access authn authz',
       "$name: access checker, authenticator, authorizer asked in order");
    my $e = env_of($r);
    is($e->{AUTH_TEAM}, 'blue', "$name: Variable-AUTH_TEAM reaches the responder");
    is($e->{"AUTH_ROLE_$_"}, 'yes',
       "$name: Variable-AUTH_ROLE_$_ of that phase reaches the responder")
        for values %APACHE_ROLE;
    is($e->{REMOTE_USER}, 'alice', "$name: REMOTE_USER is the authenticated user");
    is($e->{AUTH_TYPE}, 'Basic', "$name: AUTH_TYPE");
    for my $R (sort keys %APACHE_ROLE) {
        is($e->{"SEEN_${R}_FCGI_ROLE"}, 'AUTHORIZER', "$name: $R: FCGI_ROLE");
        is($e->{"SEEN_${R}_APACHE_ROLE"}, $APACHE_ROLE{$R},
           "$name: $R: FCGI_APACHE_ROLE");
        is($e->{"SEEN_${R}_SCRIPT_FILENAME"}, $perl_app,
           "$name: $R: SCRIPT_FILENAME is the authorizer");
        like($e->{"SEEN_${R}_AUTH_FILENAME"} // '', qr{^\Q$docroot\E/authz},
             "$name: $R: FCGIX_AUTH_FILENAME is the protected file");
        is($e->{"SEEN_${R}_QUERY_STRING"}, 'q=1',
           "$name: $R: the request's CGI environment (QUERY_STRING)");
        is($e->{"SEEN_${R}_X_AUTHZ_TEST"}, 'seen-by-auth',
           "$name: $R: the request's headers (HTTP_X_AUTHZ_TEST)");
    }
    is($e->{SEEN_ACCESS_REMOTE_USER}, '-',
       "$name: access checker runs before authentication (no REMOTE_USER)");
    is($e->{SEEN_AUTHN_REMOTE_USER}, 'alice', "$name: authenticator gets REMOTE_USER");
    is($e->{SEEN_AUTHZ_REMOTE_USER}, 'alice', "$name: authorizer gets REMOTE_USER");
    is($e->{SEEN_AUTHN_PASSWD}, 'ok', "$name: authenticator gets REMOTE_PASSWD");
    is($e->{SEEN_AUTHZ_PASSWD}, 'none', "$name: authorizer gets no REMOTE_PASSWD");
    is($e->{SEEN_ACCESS_PASSWD}, 'none', "$name: access checker gets no REMOTE_PASSWD");
    ok(!exists $e->{REMOTE_PASSWD}, "$name: REMOTE_PASSWD never reaches the responder");
    unlike($r->{body}, qr/secret/, "$name: the password appears nowhere in the response");
    ok(!grep({ /^X[-_]Leak$/i } keys %$e),
       "$name: native names: a non-Variable field (X-Leak) does not reach the responder");
    ok(!exists $e->{DENY_SECRET}, "$name: no stray variable");
    unlike($r->{body}, qr/^allowed$/m, "$name: the authorizer's body is not sent");
    no_auth_leak_ok($r, $name);
}

# POST: the authorizers see no body, the responder gets all of it.
{
    my $name = 'native allow POST';
    my $body = join '', map { chr(65 + $_ % 26) } 1 .. 100000;
    my $r = get('/authz/native/all=allow/authn=user/x?digest', \@ALICE,
                method => 'POST', body => $body,
                headers => ['Content-Type' => 'application/octet-stream']);
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    is_deeply([digest_of($r)],
              [length $body, Digest::MD5::md5_hex($body), length $body],
              "$name: the responder receives the whole body");
    $r = get('/authz/native/all=allow/authn=user/y', \@ALICE,
             method => 'POST', body => 'a=b&c=d',
             headers => ['Content-Type' => 'application/x-www-form-urlencoded']);
    my $e = env_of($r);
    is($e->{CONTENT_LENGTH}, 7, "$name: responder's CONTENT_LENGTH");
    for my $R (sort keys %APACHE_ROLE) {
        is($e->{"SEEN_${R}_METHOD"}, 'POST', "$name: $R: REQUEST_METHOD");
        is($e->{"SEEN_${R}_CONTENT_LENGTH"}, 'none', "$name: $R: no CONTENT_LENGTH");
        is($e->{"SEEN_${R}_STDIN_BYTES"}, 0, "$name: $R: no body on FCGI_STDIN");
    }
}

# What went over the wire (raw-protocol app, not libfcgi).
{
    my $name = 'wire';
    my $r = get('/authz/raw/x', \@ALICE);
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    my $e = env_of($r);
    for my $R (sort keys %APACHE_ROLE) {
        is($e->{"WIRE_${R}_BEGIN_ROLE"}, 2,
           "$name: $R: BEGIN_REQUEST role is FCGI_AUTHORIZER (2)");
        is($e->{"WIRE_${R}_FCGI_ROLE"}, 'AUTHORIZER',
           "$name: $R: one FCGI_ROLE=AUTHORIZER param");
        is($e->{"WIRE_${R}_CONTENT_LENGTH"}, 'none', "$name: $R: no CONTENT_LENGTH param");
        is($e->{"WIRE_${R}_STDIN_BYTES"}, 0, "$name: $R: empty FCGI_STDIN");
    }
    is($e->{WIRE_AUTHN_PASSWD}, 'ok', "$name: REMOTE_PASSWD param for the authenticator");
    is($e->{WIRE_AUTHZ_PASSWD}, 'none', "$name: no REMOTE_PASSWD for the authorizer");
    is($e->{WIRE_ACCESS_PASSWD}, 'none', "$name: no REMOTE_PASSWD for the access checker");
    is($e->{WIRE_AUTHN_REMOTE_USER}, 'alice', "$name: REMOTE_USER for the authenticator");
    is($e->{WIRE_ACCESS_REMOTE_USER}, '-', "$name: no REMOTE_USER for the access checker");
    ok(!exists $e->{REMOTE_PASSWD}, "$name: REMOTE_PASSWD never reaches the responder");
}

# Variable-REMOTE_USER replaces the user.
{
    my $name = 'Variable-REMOTE_USER';
    my $r = get('/authz/native/all=allow/authn=rewrite/x', \@ALICE);
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    my $e = env_of($r);
    is($e->{REMOTE_USER}, 'alice-rewritten', "$name: the responder sees the new user");
    is($e->{SEEN_AUTHZ_REMOTE_USER}, 'alice-rewritten',
       "$name: so does the authorizer phase after it");
}

# ---------------------------------------------------------------------
# Denied (Authoritative On, the default)

{
    my $name = 'no credentials';
    my $uri = '/authz/native/all=allow/x';
    my $off = reqlog_mark();
    my $r = get($uri);
    is($r->{status}, 401, "$name: 401") or diag(brief($r));
    is(header($r, 'WWW-Authenticate'), 'Basic realm="fcgix-native"',
       "$name: httpd's Basic challenge");
    is(asked($off, $uri), 'access',
       "$name: the authenticator is not asked without credentials");
}
{
    my $name = 'authenticator 401';
    my $uri = '/authz/native/all=allow/authn=user/x';
    my $off = reqlog_mark();
    my $r = get($uri, ['alice', 'wrong']);
    is($r->{status}, 401, "$name: 401") or diag(brief($r));
    is_deeply([headers($r, 'WWW-Authenticate')], ['Basic realm="fcgi"'],
              "$name: the authorizer's WWW-Authenticate, only that");
    is($r->{body}, "fcgi authorizer wants credentials (AUTHENTICATOR)\n",
       "$name: the authorizer's body");
    is(header($r, 'X-Why'), 'fcgi-wants-auth', "$name: the authorizer's header");
    like(header($r, 'Content-Type') // '', qr{^text/plain}, "$name: its Content-Type");
    is(asked($off, $uri), 'access authn', "$name: the authorizer phase is not reached");
    # bob is in the htpasswd file, but no other module is asked
    $r = get($uri, ['bob', 'hunter2']);
    is($r->{status}, 401, "$name: Authoritative On: bob (unknown to the app) gets 401");
    is($r->{body}, "fcgi authorizer wants credentials (AUTHENTICATOR)\n",
       "$name: ... the authorizer's");
}
{
    my $name = 'authenticator 401 without WWW-Authenticate';
    my $r = get('/authz/native/all=allow/authn=unauth-bare/x', \@ALICE);
    is($r->{status}, 401, "$name: 401") or diag(brief($r));
    is_deeply([headers($r, 'WWW-Authenticate')], ['Basic realm="fcgix-native"'],
              "$name: httpd adds its Basic challenge");
    is($r->{body}, "fcgi authorizer wants credentials (AUTHENTICATOR)\n",
       "$name: the authorizer's body");
}
{
    my $name = 'authorizer 403';
    my $uri = '/authz/native/all=allow/authn=user/authz=deny/x';
    my $off = reqlog_mark();
    my $r = get($uri, \@ALICE);
    is($r->{status}, 403, "$name: 403") or diag(brief($r));
    is($r->{body}, "fcgi authorizer denied AUTHORIZER for alice\n",
       "$name: the authorizer's body");
    is(header($r, 'X-Why'), 'fcgi-said-no', "$name: the authorizer's header");
    like(header($r, 'Content-Type') // '', qr{^text/plain}, "$name: its Content-Type");
    no_auth_leak_ok($r, $name);
    is(asked($off, $uri), 'access authn authz', "$name: all three asked");

    $r = get($uri, \@ALICE, method => 'HEAD');
    is($r->{status}, 403, "$name: HEAD: 403");
    ok($r->{eof} && $r->{raw_tail} eq '' && $r->{body} eq '', "$name: HEAD: no body");
}
{
    my $name = 'access checker 403';
    my $uri = '/authz/native/access=deny/all=allow/x';
    my $off = reqlog_mark();
    my $r = get($uri, \@ALICE);
    is($r->{status}, 403, "$name: 403") or diag(brief($r));
    is($r->{body}, "fcgi authorizer denied ACCESS_CHECKER for -\n",
       "$name: the authorizer's body");
    is(header($r, 'X-Why'), 'fcgi-said-no', "$name: the authorizer's header");
    is(asked($off, $uri), 'access', "$name: authentication is not reached");
}
{
    my $name = 'access checker 410';
    my $r = get('/authz/native/access=gone/x');
    is($r->{status}, 410, "$name: any other status is passed") or diag(brief($r));
    is($r->{body}, "fcgi authorizer: gone\n", "$name: with the authorizer's body");
}

# Authorizer only; the user comes from mod_authn_file.
{
    my $name = 'authorizer after mod_authn_file';
    my $r = get('/authz/native-az/authz=allow/x', ['bob', 'hunter2']);
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    my $e = env_of($r);
    is($e->{REMOTE_USER}, 'bob', "$name: REMOTE_USER");
    is($e->{SEEN_AUTHZ_REMOTE_USER}, 'bob', "$name: the authorizer got REMOTE_USER");
    is($e->{SEEN_AUTHZ_PASSWD}, 'none', "$name: ... and no REMOTE_PASSWD");
    is($e->{AUTH_TEAM}, 'blue', "$name: its variables reach the responder");

    $r = get('/authz/native-az/authz=user/x', ['bob', 'hunter2']);
    is($r->{status}, 403, "$name: 'alice only' denies bob: 403");
    is($r->{body}, "fcgi authorizer denied AUTHORIZER for bob\n", "$name: app's body");

    my $uri = '/authz/native-az/authz=allow/y';
    my $off = reqlog_mark();
    $r = get($uri, ['bob', 'bad']);
    is($r->{status}, 401, "$name: wrong password: 401 from mod_auth_basic");
    is(asked($off, $uri), '', "$name: ... before the authorizer is asked");
}

# Runs before mod_authz_core: its 200 decides (Require user bob).
{
    my $name = 'authorizer before mod_authz_core';
    my $r = get('/authz/on-authz/authz=allow/x', \@ALICE);
    is($r->{status}, 200, "$name: alice admitted by the authorizer") or diag(brief($r));
    is(env_of($r)->{REMOTE_USER}, 'alice', "$name: REMOTE_USER");
    $r = get('/authz/on-authz/authz=deny/x', ['bob', 'hunter2']);
    is($r->{status}, 403, "$name: bob denied by the authorizer");
    is($r->{body}, "fcgi authorizer denied AUTHORIZER for bob\n", "$name: app's body");
}

# ---------------------------------------------------------------------
# mod_fastcgi and mod_fcgid names

{
    my $name = 'FastCgi* without -compat';
    my $r = get('/authz/fastcgi/all=allow/authn=user/x', \@ALICE);
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    my $e = env_of($r);
    is($e->{AUTH_TEAM}, 'blue', "$name: Variable-AUTH_TEAM reaches the responder");
    is($e->{"AUTH_ROLE_$_"}, 'yes', "$name: $_ asked") for values %APACHE_ROLE;
    is($e->{REMOTE_USER}, 'alice', "$name: REMOTE_USER");
    my ($leak) = grep { /^X[-_]Leak$/i } keys %$e;
    ok($leak && $e->{$leak} eq 'yes',
       "$name: every field of the 200 reaches the responder (X-Leak)")
        or diag(join ' ', sort keys %$e);
    is($e->{SEEN_AUTHN_SCRIPT_FILENAME}, $fastcgi_app, "$name: SCRIPT_FILENAME");
    ok(!exists $e->{REMOTE_PASSWD}, "$name: REMOTE_PASSWD never reaches the responder");
    no_auth_leak_ok($r, $name);

    $r = get('/authz/fastcgi/all=allow/authn=user/authz=deny/x', \@ALICE);
    is($r->{status}, 403, "$name: authorizer 403");
    is($r->{body}, "fcgi authorizer denied AUTHORIZER for alice\n", "$name: app's body");
    $r = get('/authz/fastcgi/all=allow/authn=user/x', ['alice', 'nope']);
    is($r->{status}, 401, "$name: authenticator 401");
    is(header($r, 'WWW-Authenticate'), 'Basic realm="fcgi"', "$name: app's challenge");
    $r = get('/authz/fastcgi/access=deny/x');
    is($r->{status}, 403, "$name: access checker 403");
    is($r->{body}, "fcgi authorizer denied ACCESS_CHECKER for -\n", "$name: app's body");
}
{
    my $name = 'FastCgi* -compat';
    my $r = get('/authz/fastcgi-compat/all=allow/authn=user/x', \@ALICE);
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    my $e = env_of($r);
    is($e->{AUTH_TEAM}, 'blue', "$name: Variable-AUTH_TEAM reaches the responder");
    is($e->{"AUTH_ROLE_$_"}, 'yes', "$name: $_ asked") for values %APACHE_ROLE;
    ok(!grep({ /^X[-_]Leak$/i } keys %$e),
       "$name: only Variable-* reach the responder (no X-Leak)");
    ok(!exists $e->{REMOTE_PASSWD}, "$name: REMOTE_PASSWD never reaches the responder");
    no_auth_leak_ok($r, $name);
}
{
    my $name = 'Fcgid*';
    my $r = get('/authz/fcgid/all=allow/authn=user/x', \@ALICE);
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    my $e = env_of($r);
    is($e->{AUTH_TEAM}, 'blue', "$name: Variable-AUTH_TEAM reaches the responder");
    is($e->{"AUTH_ROLE_$_"}, 'yes', "$name: $_ asked") for values %APACHE_ROLE;
    is($e->{REMOTE_USER}, 'alice', "$name: REMOTE_USER");
    ok(!grep({ /^X[-_]Leak$/i } keys %$e), "$name: only Variable-* (no X-Leak)");
    no_auth_leak_ok($r, $name);
    $r = get('/authz/fcgid/all=allow/authn=user/authz=deny/x', \@ALICE);
    is($r->{status}, 403, "$name: authorizer 403");
    is($r->{body}, "fcgi authorizer denied AUTHORIZER for alice\n", "$name: app's body");
    $r = get('/authz/fcgid/all=allow/authn=unauth/x', \@ALICE);
    is($r->{status}, 401, "$name: authenticator 401");
    is(header($r, 'WWW-Authenticate'), 'Basic realm="fcgi"', "$name: app's challenge");
}

# ---------------------------------------------------------------------
# Authoritative Off: a denial passes to the next module

for my $case (['/authz/off-authn', 'FcgixAuthenticatorAuthoritative Off'],
              ['/authz/off-fastcgi', 'FastCgiAuthenticatorAuthoritative Off']) {
    my ($loc, $name) = @$case;
    my $uri = "$loc/authn=deny/x";
    my $off = reqlog_mark();
    my $r = get($uri, ['bob', 'hunter2']);
    is($r->{status}, 200, "$name: app denies, mod_authn_file admits bob")
        or diag(brief($r));
    is(asked($off, $uri), 'authn', "$name: the app was asked first");
    my $e = env_of($r);
    is($e->{REMOTE_USER}, 'bob', "$name: REMOTE_USER");
    ok(!exists $e->{AUTH_TEAM}, "$name: no variables from the denial");
    $r = get($uri, ['bob', 'wrong']);
    is($r->{status}, 401, "$name: wrong password for both: 401");
    unlike($r->{body}, qr/fcgi authorizer/, "$name: ... httpd's, not the app's");
    (my $realm = $loc) =~ s{^/authz/}{fcgix-};
    is(header($r, 'WWW-Authenticate'), qq{Basic realm="$realm"},
       "$name: ... with httpd's challenge");
    $r = get("$loc/authn=user/x", \@ALICE);
    is($r->{status}, 200, "$name: app allows alice: 200");
    is(env_of($r)->{AUTH_TEAM}, 'blue', "$name: ... with its variables");
}
for my $case (['/authz/off-authz', 'FcgixAuthorizerAuthoritative Off'],
              ['/authz/off-fcgid', 'FcgidAuthorizerAuthoritative Off']) {
    my ($loc, $name) = @$case;
    my $r = get("$loc/authz=deny/x", ['bob', 'hunter2']);
    is($r->{status}, 200, "$name: app denies, 'Require user bob' admits bob")
        or diag(brief($r));
    is(env_of($r)->{REMOTE_USER}, 'bob', "$name: REMOTE_USER");
    $r = get("$loc/authz=deny/x", \@ALICE);
    is($r->{status}, 401, "$name: app and Require both deny alice: httpd's 401");
    unlike($r->{body}, qr/fcgi authorizer/, "$name: ... not the app's body");
    $r = get("$loc/authz=allow/x", \@ALICE);
    is($r->{status}, 200, "$name: app allows alice: 200");
}
{
    my $name = 'FcgixAccessCheckerAuthoritative Off';
    my $r = get('/authz/off-access/access=deny/x');
    is($r->{status}, 200, "$name: app denies, no Require: 200") or diag(brief($r));
    ok(!exists env_of($r)->{AUTH_TEAM}, "$name: no variables from the denial");
}

# ---------------------------------------------------------------------
# Failures: one log line each, and the next request works

sub one_error_ok {
    my ($off, $key, $name) = @_;
    log_tag_ok($off, $key, $name);
    my @l = fcgix_lines_since($off);
    is(scalar @l, 1, "$name: exactly one [fcgix:error/warn] line")
        or diag(@l);
}

for my $case (['/authz/native/access=crash/x', undef, 'access checker crash'],
              ['/authz/native/all=allow/authn=crash/x', \@ALICE,
               'authenticator crash'],
              ['/authz/fcgid/all=allow/authn=user/authz=crash/x', \@ALICE,
               'authorizer crash (Fcgid)']) {
    my ($uri, $cred, $name) = @$case;
    my $off = log_mark();
    my $r = get($uri, $cred);
    is($r->{status}, 500, "$name: 500") or diag(brief($r));
    unlike($r->{body}, qr/allowed|fcgi authorizer/, "$name: httpd's error page");
    one_error_ok($off, 'app_closed', $name);
    $r = get('/authz/native/all=allow/authn=user/x', \@ALICE);
    is($r->{status}, 200, "$name: the authorizer serves the next request");
    healthy_ok($name);
}

for my $case (['/authz/native/access=hang/x', 'io-timeout=2'],
              ['/authz/fastcgi/access=hang/x', '-idle-timeout 2']) {
    my ($uri, $what) = @$case;
    my $name = "hung authorizer ($what)";
    my $off = log_mark();
    my $t0 = Time::HiRes::time();
    my $r = get($uri, undef, timeout => 30);
    my $dt = Time::HiRes::time() - $t0;
    is($r->{status}, 504, "$name: 504") or diag(brief($r));
    ok($dt >= 1.5 && $dt < 5, sprintf "$name: after the timeout (%.1fs)", $dt);
    one_error_ok($off, 'io_timeout', $name);
    $r = get('/authz/native/all=allow/authn=user/x', \@ALICE);
    is($r->{status}, 200, "$name: the authorizer serves the next request");
    healthy_ok($name);
}

{
    my $name = 'authorizer unreachable';
    my $off = log_mark();
    my $r = get('/authz/nobody/x');
    is($r->{status}, 503, "$name: 503") or diag(brief($r));
    one_error_ok($off, 'connect_failed', $name);
    healthy_ok($name);
}
{
    my $name = 'authorizer path without a server';
    my $off = log_mark();
    my $r = get('/authz/undefined/x');
    is($r->{status}, 500, "$name: 500") or diag(brief($r));
    one_error_ok($off, 'authz_no_server', $name);
    healthy_ok($name);
}

done_testing();
