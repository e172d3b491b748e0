# A record an application sends for a request id after that request's
# END_REQUEST never reaches the next request (security issue, item 8): ids
# on a shared connection are handed out round-robin and a released id
# rests before it is used again; the late record is dropped (a debug
# line, FCGIX00304) and the connection goes on.  fcgix_testapp -m
# (pool-cm) with stray=TEXT sends, when the next BEGIN_REQUEST arrives on
# the connection, an FCGI_STDOUT record with TEXT for the ended id.  TEXT
# is a header line: had it reached the next request, that response would
# carry it.  Config: t/conf/pool.conf.in (/pool/late/).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FcgixTest;
use FcgixPool;

my $stray = 'X-Stray%3A%20from-an-ended-request%0D%0A';

for my $round (1 .. 3) {
    my $before = stats_of('cm');
    my @r = session("/pool/late/cm.fcgi?conninfo&stray=$stray&round=$round",
                    "/pool/late/cm.fcgi?conninfo&next=$round",
                    "/pool/late/cm.fcgi?conninfo&third=$round");
    is(scalar(grep { $_->{status} == 200 } @r), 3,
       "round $round: three requests on one client connection, all 200")
        or diag(join "\n", map { brief($_) } @r);
    my @c = map { conninfo($_) } @r;
    ok(@c == 3 && $c[0]{conn} eq $c[1]{conn} && $c[1]{conn} eq $c[2]{conn},
       "round $round: they shared one FastCGI connection");
    isnt($c[1]{rid}, $c[0]{rid},
         "round $round: the next request did not get the id just ended "
         . "($c[0]{rid} -> $c[1]{rid})");
    is((stats_of('cm')->{strays} // 0) - ($before->{strays} // 0), 1,
       "round $round: the application sent its late record");
    my @leak = grep { defined header($_, 'X-Stray')
                      || $_->{body} =~ /from-an-ended-request/ } @r[1, 2];
    ok(!@leak, "round $round: the late record reached no other request");
}

done_testing();
