# Limits as mod_fcgid accepts them (issue 12): FcgidMaxProcesses 3000 and
# FcgidMaxProcessesPerClass 2500 start (the old scoreboard had 1024
# fixed slots and refused more), the status page shows the limit, and
# requests are served. An httpd of its own (t/logs/pmsizes).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use FcgixTest;
use FcgixPM;

my $h = eval { pm_own_httpd(name => 'pmsizes', body => <<'EOC') };
FcgidMaxProcesses 3000
FcgidMaxProcessesPerClass 2500
<Location /fcgix-status>
    SetHandler fcgix-status
</Location>
EOC
ok($h, 'httpd starts with FcgidMaxProcesses 3000, per class 2500')
    or BAIL_OUT("own httpd: $@");
my $r = pm_get(port => $h->{port}, path => '/pm/app.pl?sizes');
is($r->{status}, 200, 'a spawned application serves') or diag(pm_brief($r));
$r = pm_get(port => $h->{port}, path => '/fcgix-status?json');
like($r->{body}, qr/"max_processes":3000,"classes"/,
     'status page: max_processes 3000');
like($r->{body}, qr/"path":"[^"]*app\.pl"[^{}]*"max_processes":2500/,
     'status page: the class may have 2500');
pm_own_httpd_stop($h);
done_testing();
