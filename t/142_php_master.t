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
#  * the class is ended as a whole: after httpd stops, neither the master
#    nor a worker is left;
#  * under suexec (tenant A of the hosting tests, its own tree under
#    /var/www): suexec passes no PHP_FCGI_CHILDREN, so the tenant's
#    wrapper sets it and "FcgidCmdOptions <wrapper> Workers 4" tells
#    mod_fcgix; 4 concurrent requests: 4 workers of one master, master and
#    workers all running as the tenant.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Path ();
use Test::More;
use FcgixTest;
use FcgixPM qw(pm_wait_until);
use FcgixHosting ();
use Time::HiRes ();

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
my %first_pids = %pids;
ok(pm_wait_until(10, sub { !grep { kill 0, $_ } keys %first_pids }),
   'and its workers with it');

# A slot at its request limit retires the master whole, once the requests
# on its other slots are done: none is cut short, and a new master serves
# afterwards. (php-cgi's workers also finish a request when SIGTERM
# arrives, so this shows the outcome; that the PM waits is in
# fcgix_pm_watch.c's drain().)
$h = FcgixPM::pm_own_httpd(name => 'phpmaster', body => <<"EOC");
FcgidInitialEnv PHP_FCGI_CHILDREN 4
FcgidInitialEnv PHP_FCGI_MAX_REQUESTS 0
FcgidMaxProcessesPerClass 4
FcgidMaxRequestsPerProcess 2
DocumentRoot "$www"
<Directory "$www">
    Options +ExecCGI
    AddHandler fcgid-script .php
    FcgidWrapper "$php" .php
    Require all granted
</Directory>
EOC
$r = get('/w.php');
my $m1 = $r->{kv}{ppid} // 0;
my @slow = map { FcgixTest::http_start(port => $h->{port},
                                       path => '/w.php?ms=2500') } 1 .. 2;
Time::HiRes::sleep(0.5);
my @quick = map { get("/w.php?q=$_") } 1 .. 3;
is(scalar(grep { $_->{status} == 200 } @quick), 3,
   'request limit: quick requests beside two slow ones served');
@slow = map { FcgixTest::http_finish($_) } @slow;
is(scalar(grep { $_->{status} == 200 } @slow), 2,
   'request limit: the slow requests on the master were not cut short')
    or diag(join "\n", map { FcgixTest::brief($_) } @slow);
ok(pm_wait_until(10, sub { !kill 0, $m1 }),
   'request limit: then the master ended');
$r = get('/w.php');
ok($r->{status} == 200 && ($r->{kv}{ppid} // 0) != $m1,
   'request limit: a new master serves');
FcgixPM::pm_own_httpd_stop($h);

# ---------------------------------------------------------------------
# Under suexec: the identity is the tenant's, master and workers
SKIP: {
    my ($suexec, $why) = FcgixHosting::suexec_state();
    skip "suexec: $why", 5 unless $suexec;
    my $ta = FcgixHosting::tenant('a');
    my $dir = $ta->{dir};
    skip "tenant tree $dir missing", 5 unless -d "$dir/bin" && -d "$dir/htdocs";
    my $wrapper = "$dir/bin/php-master.fcgi";
    open my $w, '>', $wrapper or die "$wrapper: $!";
    print $w <<'EOS';
#!/bin/sh
# t/142: suexec passes no PHP_FCGI_* on: the tenant's wrapper sets them
PHP_FCGI_CHILDREN=4
PHP_FCGI_MAX_REQUESTS=0
export PHP_FCGI_CHILDREN PHP_FCGI_MAX_REQUESTS
exec /usr/bin/php-cgi -d cgi.force_redirect=0 -d opcache.enable=1 \
    -d opcache.file_update_protection=0 "$@"
EOS
    close $w;
    chown $ta->{uid}, $ta->{gid}, $wrapper;
    chmod 0755, $wrapper;
    File::Path::make_path("$dir/htdocs/master");
    my $script = "$dir/htdocs/master/w.php";
    open my $sfh, '>', $script or die "$script: $!";
    print $sfh <<'EOP';
<?php
header('Content-Type: text/plain');
$t0 = microtime(true);
echo "pid=", getmypid(), "\nppid=", posix_getppid(), "\nuid=", posix_getuid(), "\n";
usleep((int)($_GET['ms'] ?? 0) * 1000);
printf("start=%.6f\nend=%.6f\n", $t0, microtime(true));
EOP
    close $sfh;
    chown $ta->{uid}, $ta->{gid}, "$dir/htdocs/master", $script;
    chmod 0755, "$dir/htdocs/master";
    chmod 0644, $script;

    my $lib = Apache::Test::vars('fcgix_libexecdir')
              || '/usr/lib/apache2/modules';
    $h = FcgixPM::pm_own_httpd(name => 'phpmaster', body => <<"EOC");
<IfModule !mod_suexec.c>
    LoadModule suexec_module "$lib/mod_suexec.so"
</IfModule>
FcgidCmdOptions "$wrapper" Workers 4
FcgidMaxProcessesPerClass 4
DocumentRoot "$dir/htdocs"
SuexecUserGroup $ta->{user} $ta->{user}
<Directory "$dir/htdocs/master">
    Options +ExecCGI
    AddHandler fcgid-script .php
    FcgidWrapper "$wrapper" .php
    Require all granted
</Directory>
EOC
    my @res = FcgixTest::http_parallel(
        reqs => [ map { +{ port => $h->{port},
                           path => "/master/w.php?ms=800" } } 1 .. 4 ],
        timeout => 30);
    is(scalar(grep { $_->{status} == 200 } @res), 4, 'suexec: 4 concurrent, all 200')
        or diag(join("\n", map { FcgixTest::brief($_) } @res), "\n",
                FcgixHosting::suexec_log_tail(5));
    my %spids = map { ($_->{kv}{pid} // 0) => 1 } @res;
    my %sppid = map { ($_->{kv}{ppid} // 0) => 1 } @res;
    is(scalar(keys %spids), 4, 'suexec: 4 different workers');
    is(scalar(keys %sppid), 1, 'suexec: of one master');
    is(scalar(grep { ($_->{kv}{uid} // -1) == $ta->{uid} } @res), 4,
       "suexec: every worker runs as $ta->{user}");
    my ($m) = keys %sppid;
    my $info = $m ? FcgixTest::proc_info($m) : undef;
    is($info ? $info->{uid} : -1, $ta->{uid},
       "suexec: the master runs as $ta->{user}");
    FcgixPM::pm_own_httpd_stop($h);
    unlink $wrapper, $script;
    rmdir "$dir/htdocs/master";
}

# A bad Workers value is a configuration error naming it.
{
    my $root = "$logs/phpmaster";
    my $conf = "$root/conf/bad.conf";
    open my $c, '>', $conf or die "$conf: $!";
    print $c FcgixPM::pm_own_httpd_conf(root => $root,
        port => FcgixPM::pm_free_port(),
        body => "FcgidCmdOptions $php Workers 0\n");
    close $c;
    my $httpd = Apache::Test::vars('httpd');
    my $out = `"$httpd" -t -f "$conf" 2>&1`;
    isnt($?, 0, 'Workers 0: apache2 -t refuses');
    like($out, qr/FcgidCmdOptions Workers: '0' is not a whole number from 1 to 256/,
         'Workers 0: the message names it') or diag($out);
}
done_testing();
