# An authorizer grants only with an explicit "Status: 200" (security
# issue, item 9a): a reply without Status (CGI would imply 200) is a
# denial, 403, with one FCGIX00302 line, whether it carries only a
# Location (a login page) or everything a grant would; the responder is
# never reached.  A 1xx final status from an authorizer is a bad reply
# (FCGIX00108; the hooks turn 502 into 500).  Config:
# t/conf/extra_authz.conf.in (/authz/native/); app: t/apps/auth.pl.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FcgixTest;
use FcgixAuthz;

plan skip_all => 'auth-perl backend not started'
    unless backend_started('auth-perl');

my @ALICE = ('alice', 'secret');

sub fcgix_tags {
    my ($off, $no) = @_;
    scalar grep { /\bFCGIX\Q$no\E:/ } log_new_lines($off);
}

for my $case (['location', 'Location only'],
              ['nostatus', 'a grant without Status']) {
    my ($action, $what) = @$case;
    for my $role (qw(access authn authz)) {
        my $uri = "/authz/native/$role=$action/all=allow/authn=user/x";
        my $off = log_mark();
        my $r = get($uri, \@ALICE);
        is($r->{status}, 403, "$what from the $role phase: 403")
            or diag(brief($r));
        unlike($r->{body}, qr/^FCGI_ROLE=|^QUERY_STRING=/m,
               "$what from the $role phase: the responder was not run");
        FcgixTest::log_wait($off, qr/FCGIX00302:/, 5);
        is(fcgix_tags($off, '00302'), 1,
           "$what from the $role phase: one FCGIX00302 line");
        if ($action eq 'location') {
            is(header($r, 'Location'), '/login',
               "$what from the $role phase: sent as the authorizer "
               . 'wrote it');
        }
    }
}

{
    my $uri = '/authz/native/all=allow/authn=user/authz=interim/x';
    my $off = log_mark();
    my $r = get($uri, \@ALICE);
    is($r->{status}, 500, 'Status: 100 from an authorizer: 500')
        or diag(brief($r));
    my @m = log_tag_ok($off, 'bad_header', 'Status: 100 from an authorizer');
    like($m[0] // '', qr/final Status 100 is not 200 to 599/,
         'Status: 100 from an authorizer: the line names it');
}

# The explicit grant still works.
{
    my $r = get('/authz/native/all=allow/authn=user/x', \@ALICE);
    is($r->{status}, 200, 'Status: 200 from every phase: 200')
        or diag(brief($r));
}

done_testing();
