# A request already written to an application is sent again after its
# connection broke before any reply only when that is safe: a GET, HEAD or
# OPTIONS without a body (security issue, item 6; "POST transfer=100EUR"
# reached the application twice).  Anything else fails with 502 and one
# FCGIX00303 line.  Both paths: a shared (multiplexed) connection, and a
# kept-alive connection used again.  The application (fcgix_testapp)
# closes the connection after reading the whole request, without a reply
# (crash=before_headers; crash_once=TOKEN: only the first time); its
# "requests" counter counts deliveries.  Config: t/conf/pool.conf.in
# (/pool/rs/).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FcgixTest;
use FcgixPool;

# Requests the backend got since $before (less the stats request itself).
sub deliveries {
    my ($app, $before) = @_;
    (stats_of($app)->{requests} // 0) - ($before->{requests} // 0) - 1;
}

my $tok = "t057-$$-" . time;
my $port = Apache::Test::vars('port');

sub raw_post {
    my ($path) = @_;
    "POST $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
    . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    . "f\r\ntransfer=100EUR\r\n0\r\n\r\n";
}

sub raw_get {
    my ($path) = @_;
    "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n";
}

# --- multiplexed ---------------------------------------------------------
{
    my $before = stats_of('cm');
    my $off = log_mark();
    my $r = http(method => 'POST', path => '/pool/rs/mpx.fcgi?crash=before_headers',
                 chunks => ['transfer=100EUR']);
    is($r->{status}, 502, 'multiplexed, chunked POST, connection broken: 502');
    is(deliveries('cm', $before), 1,
       'multiplexed, chunked POST: reached the application once');
    my @m = grep { /FCGIX00303:/ } log_new_lines($off);
    is(scalar @m, 1, 'multiplexed, chunked POST: one FCGIX00303 line');
    like($m[0] // '', qr/the POST request \(multiplexed\) is not sent again/,
         'multiplexed, chunked POST: the line says why');
}
{
    my $before = stats_of('cm');
    my $r = http(method => 'POST', path => '/pool/rs/mpx.fcgi?crash=before_headers',
                 body => '');
    is($r->{status}, 502, 'multiplexed, bodyless POST: 502 (not idempotent)');
    is(deliveries('cm', $before), 1,
       'multiplexed, bodyless POST: reached the application once');
}
{
    my $before = stats_of('cm');
    my $r = http(path => "/pool/rs/mpx.fcgi?crash_once=$tok-m");
    is($r->{status}, 200, 'multiplexed GET, connection broken once: '
       . 'retried, 200') or diag(brief($r));
    is(deliveries('cm', $before), 2,
       'multiplexed GET: delivered twice (the retry)');
}

# --- kept-alive connection used again ----------------------------------
# The first request leaves a kept connection in the child; the second,
# pipelined on the same client connection, takes it.
sub second_status {
    my ($r) = @_;
    ($r->{raw_tail} // '') =~ m{^HTTP/1\.1 (\d{3})} ? $1 : 0;
}
{
    my $before = stats_of('c');
    my $off = log_mark();
    my $r = http(path => '/pool/rs/keep.fcgi?warm=1', keepalive => 1,
                 pipeline => raw_post('/pool/rs/keep.fcgi?crash=before_headers'));
    is($r->{status}, 200, 'kept connection: the first request is served');
    is(second_status($r), 502,
       'kept connection, chunked POST, connection broken: 502');
    is(deliveries('c', $before), 2,
       'kept connection, chunked POST: reached the application once');
    my @m = grep { /FCGIX00303:/ } log_new_lines($off);
    is(scalar @m, 1, 'kept connection, chunked POST: one FCGIX00303 line');
}
{
    my $before = stats_of('c');
    my $r = http(path => '/pool/rs/keep.fcgi?warm=2', keepalive => 1,
                 pipeline => raw_get("/pool/rs/keep.fcgi?crash_once=$tok-k"));
    is(second_status($r), 200, 'kept connection, GET, connection broken '
       . 'once: retried, 200');
    is(deliveries('c', $before), 3,
       'kept connection, GET: delivered twice (the retry) after the first');
}

done_testing();
