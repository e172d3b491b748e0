# Runs last: the error_log of this run (t/TEST.PL starts each run with a
# fresh one) has no [fcgix:error]/[fcgix:warn] line with a number the tests
# did not provoke on purpose (%LOG in t/lib/FcgixTest.pm), and no crashed
# httpd child.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Spec::Functions qw(catfile);
use Test::More;
use FcgixTest;

my $log = catfile(Apache::Test::vars('t_logs'), 'error_log');
ok(-e $log, "$log exists") or BAIL_OUT("no error_log");
open my $fh, '<', $log or die "$log: $!";
my @lines = <$fh>;
close $fh;

my %expected = map { $_ => 1 } values %LOG;
my (@unexpected, @crash);
for (@lines) {
    if (/\[fcgix:(?:error|warn|crit|alert|emerg)\]/) {
        my ($no) = /\bFCGIX(\d{5}):/;
        push @unexpected, $_ unless defined $no && $expected{$no};
    }
    push @crash, $_
        if /\bAH0005[12]\b|exit signal|Segmentation fault|AddressSanitizer|
            \bAborted\b.*core|double free|stack smashing/x;
}
ok(!@unexpected, 'no unexpected [fcgix:error]/[fcgix:warn] messages')
    or diag("unexpected:\n", @unexpected[0 .. ($#unexpected > 30 ? 30 : $#unexpected)]);
ok(!@crash, 'no httpd child crashed') or diag("crashes:\n", @crash);

done_testing();
