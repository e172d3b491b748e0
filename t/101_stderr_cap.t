# Application stderr is bounded per request (security issue, item 7): of a
# flood, at most FcgixStderrMaxLines lines / FcgixStderrMaxBytes bytes
# (defaults 100 / 65536) are logged (FCGIX00101), then ONE line
# (FCGIX00301) says how many lines and bytes were not.  fcgix_testapp's
# stderr_lines=N writes N lines of 64 bytes (63 without the newline).
# Config: /stderr/ and /stderr-small/ in t/conf/extra.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FcgixTest;

sub flood {
    my ($path, $tag, $n) = @_;
    my $off = log_mark();
    my $r = http(path => "$path?stderr_lines=$n&stderr_tag=$tag");
    is($r->{status}, 200, "$tag: $n stderr lines, the response is served");
    # logged before the end of the response went out
    my @new = log_new_lines($off);
    my $logged = grep { /FCGIX00101:.*stderr: $tag line \d+ e+$/ } @new;
    my @summary = grep { /FCGIX00301:/ } @new;
    return ($logged, \@summary, scalar @new);
}

# 20,000 lines (1.28 MB): the line limit (100) comes first.
{
    my ($logged, $sum, $all) = flood('/stderr/c.fcgi', 't101a', 20000);
    is($logged, 100, 't101a: 100 stderr lines logged (FcgixStderrMaxLines '
       . 'default)');
    is(scalar @$sum, 1, 't101a: one summary line') or diag(@$sum);
    my $want = '19900 more lines (1253700 bytes) not logged; '
             . '100 lines (6300 bytes) were';
    like($sum->[0] // '', qr/\Q$want\E/,
         't101a: the summary counts what was dropped');
    ok($all <= 110, "t101a: $all error_log lines for the request in all");
}

# FcgixStderrMaxBytes 1000: 15 lines of 63 bytes fit.
{
    my ($logged, $sum) = flood('/stderr-small/c.fcgi', 't101b', 500);
    is($logged, 15, 't101b: FcgixStderrMaxBytes 1000: 15 lines of 63 '
       . 'bytes logged');
    is(scalar @$sum, 1, 't101b: one summary line');
    like($sum->[0] // '', qr/485 more lines \(30555 bytes\) not logged/,
         't101b: the summary counts what was dropped');
}

# Under the limits nothing is summarised.
{
    my ($logged, $sum) = flood('/stderr/c.fcgi', 't101c', 3);
    is($logged, 3, 't101c: 3 stderr lines, all logged');
    is(scalar @$sum, 0, 't101c: no summary line');
}

done_testing();
