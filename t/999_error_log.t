# Runs last: no error_log this run wrote — the main server's (t/TEST.PL
# starts each run with a fresh one) and those of the httpds the tests start
# themselves (t/logs/NAME/logs/error_log, t/logs/NAME/NNN/error_log) — has
# an [fcgix:error]/[fcgix:warn] line with a number the tests did not provoke
# on purpose (%LOG in t/lib/FcgixTest.pm for the main one, %LOG_OWN for
# the others), and none has a crashed httpd child.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Find ();
use File::Spec::Functions qw(catfile);
use Test::More;
use FcgixTest;

my $logs = Apache::Test::vars('t_logs');
my $main = catfile($logs, 'error_log');
ok(-e $main, "$main exists") or BAIL_OUT("no error_log");
my @files;
File::Find::find({ no_chdir => 1, wanted => sub {
    push @files, $_ if -f $_ && m{/error_log$};
} }, $logs);
ok(@files > 1, scalar(@files) . ' error logs under t/logs ('
   . join(', ', map { s{^\Q$logs\E/}{}r } sort @files) . ')');

my %main_expected = map { $_ => 1 } values %LOG;
my (@unexpected, @crash);
for my $f (sort @files) {
    open my $fh, '<', $f or die "$f: $!";
    my $short = $f =~ s{^\Q$logs\E/}{}r;
    my ($own) = $short =~ m{^([^/]+)/};
    my %expected = $own ? map({ $_ => 1 } @{ $FcgixTest::LOG_OWN{$own} || [] })
                        : %main_expected;
    while (my $l = <$fh>) {
        if ($l =~ /\[fcgix:(?:error|warn|crit|alert|emerg)\]/) {
            my ($no) = $l =~ /\bFCGIX(\d{5}):/;
            push @unexpected, "$short: $l"
                unless defined $no && $expected{$no};
        }
        push @crash, "$short: $l"
            if $l =~ /\bAH0005[12]\b|exit signal|Segmentation fault|
                      AddressSanitizer|\bAborted\b.*core|double free|
                      stack smashing/x;
    }
}
ok(!@unexpected, 'no unexpected [fcgix:error]/[fcgix:warn] messages')
    or diag("unexpected:\n",
            @unexpected[0 .. ($#unexpected > 30 ? 30 : $#unexpected)]);
ok(!@crash, 'no httpd child crashed') or diag("crashes:\n", @crash);

done_testing();
