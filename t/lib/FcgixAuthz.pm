package FcgixAuthz;
# Helpers of the FastCGI authorizer tests (t/040-042).
#
# The authorizer apps (t/apps/auth.pl, t/htdocs/authapp/auth.php) take their
# action from the URL (path segments ROLE=ACTION) or the Require line, and
# on "allow" echo what they received as Variable-SEEN_<R>_* (R = AUTHN,
# AUTHZ, ACCESS); the protected content is the C test app, which lists its
# environment.  The Perl app logs every request it gets to
# t/logs/auth-requests.log ("<pid> <role> <REQUEST_URI> user=.. require=..").
use strict;
use warnings;

use Apache::Test ();
use File::Spec::Functions qw(catfile);
use MIME::Base64 ();
use Test::More;
use FcgixTest;

use Exporter 'import';
our @EXPORT = qw(basic get asked reqlog_mark brief no_auth_leak_ok
                 fcgix_lines_since);

sub basic {
    my ($user, $pw) = @_;
    return ('Authorization',
            'Basic ' . MIME::Base64::encode_base64("$user:$pw", ''));
}

# get($path, [$user, $password], name => value...): GET (or method =>)
# with Basic credentials when a user is given; other options go to http().
sub get {
    my ($path, $cred, %o) = @_;
    my @h = @{ delete $o{headers} || [] };
    unshift @h, basic(@$cred) if $cred;
    return http(path => $path, headers => \@h, %o);
}

sub reqlog { catfile(Apache::Test::vars('t_logs'), 'auth-requests.log') }

sub reqlog_mark { -s reqlog() || 0 }

# The roles (access, authn, authz) the Perl app was asked in, in order,
# for REQUEST_URI $uri since reqlog_mark() returned $off.
sub asked {
    my ($off, $uri) = @_;
    open my $fh, '<', reqlog() or return '';
    seek $fh, $off, 0;
    my @roles;
    while (<$fh>) {
        my ($role, $u) = /^\d+ (\S+) (\S+) user=/ or next;
        push @roles, $role if $u eq $uri;
    }
    return join ' ', @roles;
}

sub brief { FcgixTest::brief(@_) }

# Nothing an authorizer said for the responder (Variable-*, X-Leak, the
# values AUTH_TEAM/DENY_SECRET) shows up in the response headers.
sub no_auth_leak_ok {
    my ($r, $name) = @_;
    my @bad = grep { $_->[0] =~ /^(?:Variable-|X-Leak$|AUTH_|SEEN_|DENY_)/i
                     || $_->[1] =~ /\bleak\b/ } @{ $r->{headers} };
    ok(!@bad, "$name: no authorizer variable in the response headers")
        or diag(join "\n", map { "$_->[0]: $_->[1]" } @bad);
}

# [fcgix:error/warn...] lines logged since log_mark() returned $off.
sub fcgix_lines_since {
    my ($off) = @_;
    grep { /\[fcgix:(?:error|warn|crit|alert|emerg)\]/ } log_new_lines($off);
}

1;
