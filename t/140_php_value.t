# php_value, php_flag, php_admin_value and php_admin_flag without mod_php
# (issue 15), against a real php-fpm of this test's own, through an httpd
# of its own (t/logs/phpini):
#
#  * where mod_php reads them: a virtual host, <Directory>, .htaccess under
#    AllowOverride Options (php_value/php_flag only); refused in .htaccess
#    without Options, and php_admin_* refused in .htaccess at all (500);
#  * merged per directory as mod_php merges them: deeper directories add
#    and replace, except that a php_admin_* setting above cannot be
#    replaced by php_value/php_flag below;
#  * what PHP then reads (ini_get) equals the configured literal value,
#    also for values PHP's INI parser would otherwise change ("2;/tmp",
#    "${X}", quotes, backslashes), "none" is the empty value, flags 1/0;
#  * php_admin_value cannot be changed by ini_set();
#  * no PHP_VALUE/PHP_ADMIN_VALUE at all where nothing is configured;
#  * a bad directive is a configuration error naming it (apache2 -t);
#  * php-cgi (through FcgidWrapper) ignores both parameters: ini_get shows
#    its defaults, and httpd said so once at startup (FCGIX00530).
# The php-fpm pool serves one request per worker (pm.max_requests = 1):
# php-fpm keeps PHP_VALUE settings in the worker for later requests (see
# the README), which would make one case's result depend on another's.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Path ();
use File::Spec::Functions qw(catfile);
use POSIX ();
use Test::More;
use FcgixTest qw(:DEFAULT spew);
use FcgixPM qw(pm_free_port pm_wait_until);

my @fpm = sort { $b cmp $a } grep { -x } glob('/usr/sbin/php-fpm*');
plan skip_all => 'php-fpm not installed (scripts/deps.sh test)' unless @fpm;
my $php_cgi = '/usr/bin/php-cgi';
plan skip_all => "$php_cgi not installed" unless -x $php_cgi;

my $logs  = Apache::Test::vars('t_logs');
my $user  = Apache::Test::vars('user');
my $group = Apache::Test::vars('group');
my $httpd = Apache::Test::vars('httpd');
my $www   = "$logs/phpini-www";
my $fdir  = "$logs/phpini-fpm";
my $sock  = "$fdir/fpm.sock";

File::Path::remove_tree($www, $fdir);
File::Path::make_path($fdir, map { "$www/$_" }
    qw(ht/deeper noopt admht badflag vadm plain cgi));
chmod 0755, $www, $fdir, map { "$www/$_" }
    qw(ht ht/deeper noopt admht badflag vadm plain cgi);

my $ini_php = <<'EOP';
<?php
header('Content-Type: text/plain');
foreach (['memory_limit', 'precision', 'display_errors', 'include_path',
          'session.save_path', 'user_agent', 'auto_prepend_file'] as $k) {
    echo "$k=", ini_get($k), "\n";
}
foreach (['PHP_VALUE', 'PHP_ADMIN_VALUE'] as $k) {
    echo "$k=", str_replace("\n", '|', $_SERVER[$k] ?? '-'), "\n";
}
echo "ini_set_include_path=", var_export(ini_set('include_path', '/s'),
                                         true), "\n";
echo "include_path_after=", ini_get('include_path'), "\n";
echo "sapi=", PHP_SAPI, "\n";
EOP
my @dirs = ('', qw(ht ht/deeper noopt admht badflag vadm plain cgi));
spew("$www/$_/ini.php", $ini_php) for @dirs;
spew("$www/ht/.htaccess", <<'EOH');
php_value memory_limit 64M
php_flag display_errors Off
# under the virtual host's php_admin_value: has no effect
php_value include_path /from-htaccess
php_value session.save_path "2;/tmp/a ${X} \"q\" b\c"
php_value auto_prepend_file none
EOH
spew("$www/ht/deeper/.htaccess", "php_value precision 7\n");
spew("$www/noopt/.htaccess", "php_value memory_limit 32M\n");
spew("$www/admht/.htaccess", "php_admin_value memory_limit 8M\n");
spew("$www/badflag/.htaccess", "php_flag display_errors maybe\n");
spew("$www/vadm/.htaccess", "php_value memory_limit 200M\n");

spew("$fdir/php-fpm.conf", <<"EOC");
[global]
pid = $fdir/php-fpm.pid
error_log = $fdir/php-fpm.log
daemonize = no
[ini]
user = $user
group = $group
listen = $sock
listen.mode = 0666
pm = static
pm.max_children = 2
pm.max_requests = 1
EOC
my $fpm_pid = fork // die "fork: $!";
if (!$fpm_pid) {
    POSIX::setsid();
    exec $fpm[0], '-F', '-n', '-y', "$fdir/php-fpm.conf", '-p', $fdir;
    die "exec $fpm[0]: $!";
}
END { kill 'TERM', $fpm_pid if $fpm_pid; }
ok(pm_wait_until(20, sub { -S $sock }), "php-fpm listens on $sock")
    or BAIL_OUT('php-fpm did not start');

my $port2 = pm_free_port();
my $servers = join '', map {
    my $d = $_ eq '' ? $www : "$www/$_";
    $_ eq 'cgi' ? '' : "FastCgiExternalServer \"$d/ini.php\" -socket \"$sock\"\n"
} @dirs;
my $body = <<"EOC";
LoadModule env_module "/usr/lib/apache2/modules/mod_env.so"
DocumentRoot "$www"
<Directory "$www">
    AllowOverride None
    Require all granted
</Directory>
$servers
<Directory "$www/ht">
    AllowOverride Options
</Directory>
<Directory "$www/noopt">
    AllowOverride FileInfo
</Directory>
<Directory "$www/admht">
    AllowOverride All
</Directory>
<Directory "$www/badflag">
    AllowOverride Options
</Directory>
<Directory "$www/vadm">
    AllowOverride Options
    php_admin_value memory_limit 48M
</Directory>
<Directory "$www/cgi">
    Options +ExecCGI
    AddHandler fcgid-script .php
    FcgidWrapper $php_cgi .php
    php_value memory_limit 40M
</Directory>
# SetEnv'd INI lines come first, the directives' after them (they win)
<Directory "$www/plain">
    SetEnv PHP_VALUE "user_agent=from-setenv"
</Directory>
Listen 127.0.0.1:$port2
<VirtualHost 127.0.0.1:$port2>
    ServerName 127.0.0.1
    DocumentRoot "$www"
    php_admin_value include_path "/adm:/x"
    php_admin_flag display_errors On
    php_value memory_limit 96M
    php_value precision 10
    php_value user_agent "vhost ua"
</VirtualHost>
EOC
my $h = FcgixPM::pm_own_httpd(name => 'phpini', body => $body);
ok($h, "own httpd up (port $h->{port}, vhost on $port2)");

sub get {
    my ($port, $path) = @_;
    my $r = http(port => $port, path => $path);
    $r;
}
sub ini_is {
    my ($name, $r, %want) = @_;
    is($r->{status}, 200, "$name: 200") or diag(FcgixTest::brief($r));
    for my $k (sort keys %want) {
        is($r->{kv}{$k}, $want{$k}, "$name: $k");
    }
}

# Nothing configured: the pool's defaults, no parameter at all.
my $r = get($h->{port}, '/ini.php');
ini_is('no settings', $r, memory_limit => '128M', PHP_VALUE => '-',
       PHP_ADMIN_VALUE => '-', sapi => 'fpm-fcgi');

# The virtual host: php_value and php_admin_* there.
$r = get($port2, '/ini.php');
ini_is('vhost', $r, memory_limit => '96M', precision => '10',
       include_path => '/adm:/x', display_errors => '1',
       user_agent => 'vhost ua',
       # ini_set() cannot change an admin value
       ini_set_include_path => 'false', include_path_after => '/adm:/x');

# .htaccess under AllowOverride Options, below the virtual host.
$r = get($port2, '/ht/ini.php');
ini_is('.htaccess', $r, memory_limit => '64M', display_errors => '1',
       precision => '10', include_path => '/adm:/x',
       'session.save_path' => '2;/tmp/a ${X} "q" b\\c',
       auto_prepend_file => '', include_path_after => '/adm:/x');
like($r->{kv}{PHP_VALUE} // '', qr/memory_limit="64M"/,
     '.htaccess: PHP_VALUE carries memory_limit="64M"');
unlike($r->{kv}{PHP_VALUE} // '', qr/from-htaccess/,
       '.htaccess: php_value under a php_admin_value is not sent');
$r = get($h->{port}, '/ht/ini.php');
ini_is('.htaccess, main server', $r, memory_limit => '64M',
       display_errors => '0', include_path => '/from-htaccess',
       precision => '14');

# Merged per directory: the deeper .htaccess adds to the one above.
$r = get($port2, '/ht/deeper/ini.php');
ini_is('deeper', $r, memory_limit => '64M', precision => '7',
       include_path => '/adm:/x');

# php_admin_value in a <Directory> beats php_value of the vhost and of
# the .htaccess inside it.
$r = get($port2, '/vadm/ini.php');
ini_is('admin in <Directory>', $r, memory_limit => '48M');

# SetEnv PHP_VALUE is kept, the directives' lines follow it.
$r = get($port2, '/plain/ini.php');
ini_is('SetEnv + php_value', $r, user_agent => 'vhost ua');
like($r->{kv}{PHP_VALUE} // '', qr/^user_agent=from-setenv\|/,
     'SetEnv PHP_VALUE first');
$r = get($h->{port}, '/plain/ini.php');
ini_is('SetEnv alone', $r, user_agent => 'from-setenv');

# Not allowed in these .htaccess files: 500, as with mod_php.
my $elog = $h->{log};
for my $case (['noopt', qr/php_value not allowed here/],
              ['admht', qr/php_admin_value not allowed here/],
              ['badflag', qr/php_flag display_errors: 'maybe' is not On or Off/]) {
    my ($d, $re) = @$case;
    $r = get($port2, "/$d/ini.php");
    is($r->{status}, 500, "$d/.htaccess: 500");
    ok(pm_wait_until(5, sub {
        open my $fh, '<', $elog or return 0;
        grep { /\Q$d\E\/\.htaccess: / && $_ =~ $re } <$fh>;
    }), "$d/.htaccess: error_log names the directive");
}

# php-cgi ignores PHP_VALUE: its default, and one line at startup.
$r = get($h->{port}, '/cgi/ini.php');
ini_is('php-cgi', $r, sapi => 'cgi-fcgi', memory_limit => '128M');
like($r->{kv}{PHP_VALUE} // '', qr/memory_limit="40M"/,
     'php-cgi: PHP_VALUE was sent (and ignored)');
open my $fh, '<', $elog or die "$elog: $!";
my @warn = grep { /FCGIX00530:/ } <$fh>;
close $fh;
is(scalar @warn, 1, 'FCGIX00530 once at startup') or diag(@warn);
like($warn[0] // '',
     qr{php_value.* at \Q$logs\E/phpini/conf/httpd\.conf:\d+(?: and \d+ more lines)? reach php-cgi \(wrapper \Q$php_cgi\E\)},
     'FCGIX00530 names the line and the wrapper');

FcgixPM::pm_own_httpd_stop($h);

# Bad directives: apache2 -t fails and names them.
for my $bad (['php_flag display_errors maybe',
              qr/php_flag display_errors: 'maybe' is not On or Off/],
             ['php_value "a=b" 1', qr/php_value: 'a=b' is not a PHP setting name/],
             ['php_admin_value memory_limit',
              qr/php_admin_value takes two arguments/]) {
    my ($line, $re) = @$bad;
    my $conf = "$logs/phpini/conf/bad.conf";
    spew($conf, FcgixPM::pm_own_httpd_conf(root => "$logs/phpini",
         port => pm_free_port(), body => "<Directory \"$www\">\n$line\n"
                                         . "</Directory>\n"));
    my $out = `"$httpd" -t -f "$conf" 2>&1`;
    isnt($?, 0, "apache2 -t refuses: $line");
    like($out, $re, "apache2 -t names it: $line") or diag($out);
}

kill 'TERM', $fpm_pid;
waitpid $fpm_pid, 0;
$fpm_pid = 0;
done_testing();
