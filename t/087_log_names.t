# Log lines name a setting as the configuration wrote it (mod_fcgid's or
# mod_fastcgi's name, else the native one): the spawn-wait line
# (FCGIX00171) of an httpd of its own configured with
# FcgidMaxProcessesPerClass, then with FastCgiConfig -maxClassProcesses.
# (t/080 checks FcgidMaxRequestLen in the 413 lines, t/061 and t/100 the
# native names.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;

plan skip_all => 'no t/htdocs/pm/testapp.fcgi (t/TEST.PL pm_setup)'
    unless pm_have('testapp.fcgi');

sub slurp { open my $f, '<', $_[0] or return ''; local $/; <$f> // '' }

my @cases = (
    ['FcgidMaxProcessesPerClass 1',
     'FcgixSpawnWait, FcgidMaxProcessesPerClass'],
    ['FastCgiConfig -maxClassProcesses 1',
     'FcgixSpawnWait, FastCgiConfig -maxClassProcesses'],
);
for my $c (@cases) {
    my ($line, $names) = @$c;
    my $h = eval { pm_own_httpd(name => 'log-names',
                                body => "$line\nFcgixSpawnWait 1\n") };
    ok($h, "$line: httpd starts") or diag($@);
    next unless $h;
    my $busy = pm_start(port => $h->{port},
                        path => '/pm/testapp.fcgi?sleep_ms=3000');
    Time::HiRes::sleep(0.5);
    my $r = pm_get(port => $h->{port}, path => '/pm/testapp.fcgi?second');
    is($r->{status}, 503, "$line: the only process is busy: 503 after "
       . 'FcgixSpawnWait') or diag(pm_brief($r));
    my ($l) = grep { /FCGIX00171:/ } split /\n/, slurp($h->{log});
    like($l // '', qr/; \Q$names\E$/,
         "$line: FCGIX00171 names \"$names\"") or diag(slurp($h->{log}));
    pm_finish($busy, 30) if $busy;
    pm_own_httpd_stop($h);
    pm_wait_until(10, sub { !-e $h->{pidfile} });
}

done_testing();
