# FCGI_GET_VALUES, sent with the first request to each address in each
# httpd child: applications that close the connection on it
# (fcgix_testapp -G close) or never answer it (-G ignore) still serve every
# request, the first one included, and are asked at most once per child;
# get-values=off asks nothing.  fcgix_testapp counts the GET_VALUES records
# it gets (get_values).  Config: t/conf/pool.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::MD5 ();
use Test::More;
use FcgixTest;
use FcgixPool;

sub n200 { scalar grep { $_->{status} == 200 } @_ }

sub fails { join "\n", map { brief($_) } grep { $_->{status} != 200 } @_ }

sub delta {
    my ($name, $key, $before) = @_;
    (stats_of($name)->{$key} // 0) - ($before->{$key} // 0);
}

# ---------------------------------------------------------------------
# The application closes the connection on FCGI_GET_VALUES.

{
    my $before = stats_of('gvc');
    my $first = http(path => '/pool/gv/close.fcgi?first=1');
    is($first->{status}, 200, 'GET_VALUES closes: the first request is '
       . 'served (sent again without it)') or diag(brief($first));
    like($first->{body}, qr/^QUERY_STRING=first=1$/m,
         'GET_VALUES closes: ... with its own reply');
    my @r = map { http(path => "/pool/gv/close.fcgi?i=$_") } 1 .. 20;
    is(n200(@r), 20, 'GET_VALUES closes: 20 more requests, all 200')
        or diag(fails(@r));
    my $asked = delta('gvc', 'get_values', $before);
    my $kids = () = httpd_children();
    # (0 when this httpd was asked before: -run-tests again)
    ok(($asked >= 1 || $before->{get_values}) && $asked <= $kids,
       "GET_VALUES closes: asked $asked "
       . "time(s), at most once per httpd child ($kids)");
}

# Its first request in each child is a POST with a body of known length,
# which is streamed to the application as it arrives.
{
    my @bodies = map { "field=value-$_&" . ('x' x (1000 * $_)) } 1 .. 8;
    my @r = map { http(method => 'POST', path => '/pool/gv/close-post.fcgi?digest',
                       body => $_, headers => ['Content-Type' =>
                           'application/x-www-form-urlencoded']) } @bodies;
    my @bad = grep { my $d = [digest_of($r[$_])];
                     $r[$_]{status} != 200
                     || ($d->[1] // '') ne Digest::MD5::md5_hex($bodies[$_]) }
              0 .. $#r;
    ok(!@bad, 'GET_VALUES closes, the first requests being POSTs: all 8 '
       . 'served intact') or diag(join "\n", map { brief($r[$_]) } @bad);
}

# keepalive=2: refusing the question does not spoil kept connections.
{
    my $before = stats_of('gvc');
    my @r = session(map { "/pool/gv/close-ka.fcgi?conninfo&i=$_" } 1 .. 15);
    is(n200(@r), 15, 'GET_VALUES closes, keepalive=2: 15 requests on one '
       . 'client connection, all 200') or diag(fails(@r));
    my %c = map { (conninfo($_)->{conn} // '?') => 1 } @r;
    ok(keys(%c) <= 2, 'GET_VALUES closes, keepalive=2: they used '
       . scalar(keys %c) . ' FastCGI connection(s)');
}

# ---------------------------------------------------------------------
# The application ignores FCGI_GET_VALUES (and could multiplex: -m): it is
# never told to have said FCGI_MPXS_CONNS=1, so mpx=auto stays off.

{
    my $before = stats_of('gvi');
    my $first = http(path => '/pool/gv/ignore.fcgi?first=1');
    is($first->{status}, 200, 'GET_VALUES ignored: the first request is '
       . 'served') or diag(brief($first));
    my @r = map { parallel(map { { path => "/pool/gv/ignore.fcgi?conninfo&"
                                            . "sleep_ms=300&i=$_",
                                   timeout => 30 } } 1 .. 12) } 1 .. 2;
    is(n200(@r), 24, 'GET_VALUES ignored: 2 x 12 parallel requests, all 200')
        or diag(fails(@r));
    ok(!grep({ (conninfo($_)->{depth} // 0) != 1 } @r),
       'GET_VALUES ignored, mpx=auto: no request shared a connection');
    my $asked = delta('gvi', 'get_values', $before);
    my $kids = () = httpd_children();
    # (0 when this httpd was asked before: -run-tests again)
    ok(($asked >= 1 || $before->{get_values}) && $asked <= $kids,
       "GET_VALUES ignored: asked $asked "
       . "time(s), at most once per httpd child ($kids)");
}

# get-values=off
{
    my $before = stats_of('gvi');
    my @r = map { http(path => "/pool/gv/off.fcgi?i=$_") } 1 .. 10;
    is(n200(@r), 10, 'get-values=off: 10 requests, all 200');
    is(delta('gvi', 'get_values', $before), 0,
       'get-values=off: FCGI_GET_VALUES never sent');
}

done_testing();
