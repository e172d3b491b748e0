# One php-cgi master per class (issue 15): FcgidInitialEnv
# PHP_FCGI_CHILDREN 4 makes php-cgi a master whose 4 workers accept on
# its socket and share its opcode cache; mod_fcgix counts it as 4 slots.
# In an httpd of its own (t/logs/phpmaster), real php-cgi through
# FcgidWrapper, FcgidMaxProcessesPerClass 4 (one master):
#
#  * a first request compiles w.php (opcache); then 4 concurrent requests
#    are served by 4 different workers (pids) of one master (the same
#    parent pid, a php-cgi whose parent is the process manager), and each
#    finds w.php in the cache (opcache_get_status(): hits > 0), compiled
#    by a worker that is not all of them;
#  * the PM runs exactly one php-cgi for the class;
#  * 8 concurrent requests: all served, never more than 4 at once (the
#    scripts' own start and end times), by the same 4 workers;
#  * the class is ended as a whole: after a graceful stop of httpd's PM
#    (httpd -k stop) no php-cgi of the master is left.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Path ();
use Test::More;
use FcgixTest;
use FcgixPM qw(pm_wait_until);

my $php = '/usr/bin/php-cgi';
plan skip_all => "$php not installed (scripts/deps.sh test)" unless -x $php;
plan skip_all => 'php-cgi has no opcache'
    unless `$php -m 2>/dev/null` =~ /Zend OPcache/;

my $logs = Apache::Test::vars('t_logs');
my $www  = "$logs/phpmaster-www";
File::Path::remove_tree($www);
File::Path::make_path($www);
chmod 0755, $www;
open my $fh, '>', "$www/w.php" or die $!;
print $fh <<'EOP';
<?php
header('Content-Type: text/plain');
$t0 = microtime(true);
$s = opcache_get_status(true);
echo "pid=", getmypid(), "\nppid=", posix_getppid(), "\n";
echo "hits=", $s['scripts'][__FILE__]['hits'] ?? -1, "\n";
usleep((int)($_GET['ms'] ?? 0) * 1000);
printf("start=%.6f\nend=%.6f\n", $t0, microtime(true));
EOP
close $fh;
chmod 0644, "$www/w.php";

my $h = FcgixPM::pm_own_httpd(name => 'phpmaster', body => <<"EOC");
FcgidInitialEnv PHP_FCGI_CHILDREN 4
FcgidInitialEnv PHP_FCGI_MAX_REQUESTS 0
FcgidMaxProcessesPerClass 4
<Directory "$www">
    Options +ExecCGI
    AddHandler fcgid-script .php
    FcgidWrapper "$php -d opcache.enable=1 -d opcache.validate_timestamps=0 -d opcache.file_update_protection=0" .php
    Require all granted
</Directory>
DocumentRoot "$www"
EOC
ok($h, "own httpd up on port $h->{port}");

sub get { http(port => $h->{port}, path => $_[0]) }
sub parallel {
    my ($n, $ms) = @_;
    FcgixTest::http_parallel(
        reqs => [ map { +{ port => $h->{port}, path => "/w.php?ms=$ms" } }
                  1 .. $n ],
        timeout => 30);
}
sub ppid_of {
    my ($pid) = @_;
    open my $f, '<', "/proc/$pid/stat" or return 0;
    my ($pp) = (<$f> // '') =~ /^\d+ \(.*\) \S (\d+)/;
    $pp // 0;
}
sub comm_of {
    my ($pid) = @_;
    open my $f, '<', "/proc/$pid/comm" or return '';
    my $c = <$f> // '';
    chomp $c;
    $c;
}

my $r = get('/w.php');
is($r->{status}, 200, 'first request') or diag(FcgixTest::brief($r));
my $first = $r->{kv}{pid} // 0;
my $master = $r->{kv}{ppid} // 0;
ok($master > 1, "served by a worker ($first) of master $master");
is(comm_of($master), 'php-cgi', 'the master is php-cgi');
my $pm = ppid_of($master);
like(comm_of($pm), qr/fcgix-pm/, "the master's parent is the PM ($pm)");

my @res = parallel(4, 1000);
my %pids = map { ($_->{kv}{pid} // 0) => 1 } @res;
is(scalar(grep { $_->{status} == 200 } @res), 4, '4 concurrent: all 200')
    or diag(join "\n", map { FcgixTest::brief($_) } @res);
is(scalar(keys %pids), 4, '4 concurrent: 4 different workers')
    or diag(join ' ', sort keys %pids);
is(scalar(grep { ($_->{kv}{ppid} // 0) == $master } @res), 4,
   '4 concurrent: all workers of the one master');
is(scalar(grep { ($_->{kv}{hits} // -1) > 0 } @res), 4,
   '4 concurrent: each found w.php in the shared opcode cache')
    or diag('hits: ', join ' ', map { $_->{kv}{hits} // '-' } @res);
ok(grep({ ($_->{kv}{pid} // 0) != $first } @res) >= 3,
   'compiled by one worker, hit by the others');

my @masters = grep { comm_of($_) eq 'php-cgi' && ppid_of($_) == $pm }
              map { m{/proc/(\d+)$} ? $1 : () } glob('/proc/[0-9]*');
is_deeply(\@masters, [$master], 'the PM runs one php-cgi for the class');

@res = parallel(8, 700);
is(scalar(grep { $_->{status} == 200 } @res), 8, '8 concurrent: all 200')
    or diag(join "\n", map { FcgixTest::brief($_) } @res);
my @ev = sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] }
         map { ([$_->{kv}{start} // 0, 1], [$_->{kv}{end} // 0, -1]) } @res;
my ($now, $max) = (0, 0);
for (@ev) { $now += $_->[1]; $max = $now if $now > $max; }
ok($max <= 4 && $max >= 2, "8 concurrent: at most 4 in flight ($max)");
my %pids8 = map { ($_->{kv}{pid} // 0) => 1 } @res;
ok(!grep({ !$pids{$_} } keys %pids8),
   '8 concurrent: by the same 4 workers') or diag(join ' ', keys %pids8);

FcgixPM::pm_own_httpd_stop($h);
ok(pm_wait_until(10, sub { !kill 0, $master }),
   'the master ends with the PM');
ok(pm_wait_until(10, sub { !grep { kill 0, $_ } keys %pids }),
   'and its workers with it');
done_testing();
