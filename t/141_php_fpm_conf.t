# Debian's conf-available/php8.2-fpm.conf, unchanged, served by mod_fcgix
# (issue 15): mod_proxy_fcgi's handler form
#   SetHandler "proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost"
# inside <IfModule proxy_fcgi_module>, with mod_proxy not loaded.
#
#  * `make install DESTDIR=...`, a generated Debian layout (Debian's own
#    apache2.conf; mods-available copied from the system; fcgix.load and
#    fcgix.conf as installed), the php8.2-fpm.conf copied from the
#    system package byte for byte; the real a2enmod/a2enconf enable
#    mpm_event authz_core mime dir setenvif fcgix and php8.2-fpm;
#  * Debian's php8.2-fpm with its own configuration
#    (/etc/php/8.2/fpm/php-fpm.conf: pool www on /run/php/php8.2-fpm.sock),
#    started here unless it is already running;
#  * the same layout once more with proxy and proxy_fcgi enabled instead
#    of fcgix: the reference. Both httpds serve the same scripts from the
#    same php-fpm; every URL below is requested from both and what the PHP
#    script sees ($_SERVER, minus what differs per connection: ports,
#    times) must be equal, key by key. The cases: plain, PATH_INFO with a
#    query string, a path with an encoded space, Authorization (Debian's
#    SetEnvIfNoCase line makes it HTTP_AUTHORIZATION, PHP makes it
#    PHP_AUTH_USER), a POST, a DirectoryIndex, a missing script, a
#    SetHandler of .htaccess to the same socket, proxy-fcgi-pathinfo,
#    the proxy:fcgi://host:port/ form (the suite's php-fpm on TCP);
#  * a .htaccess SetHandler to a socket the configuration never names:
#    500 and FCGIX00532 (servers are made at startup);
#  * apache2 -M of the mod_fcgix layout lists no proxy_module.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Digest::MD5 ();
use File::Copy ();
use File::Path ();
use File::Spec::Functions qw(catfile);
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use MIME::Base64 ();
use POSIX ();
use Test::More;
use FcgixTest qw(:DEFAULT slurp spew);
use FcgixPM qw(pm_free_port pm_wait_until);
use FcgixDebian;

my $fpm_bin  = '/usr/sbin/php-fpm8.2';
my $fpm_conf = '/etc/php/8.2/fpm/php-fpm.conf';
my $fpm_sock = '/run/php/php8.2-fpm.sock';
my $deb_php  = '/etc/apache2/conf-available/php8.2-fpm.conf';
my $system   = '/etc/apache2/mods-available';
plan skip_all => "$fpm_bin not installed (scripts/deps.sh test)"
    unless -x $fpm_bin && -r $fpm_conf && -r $deb_php;
plan skip_all => 'a2enmod not installed' unless -x '/usr/sbin/a2enmod';
plan skip_all => 'mod_proxy_fcgi not installed (the reference)'
    unless -r "$system/proxy_fcgi.load";

my $top   = Apache::Test::vars('top_dir');
my $logs  = Apache::Test::vars('t_logs');

# ---------------------------------------------------------------------
# Debian's php8.2-fpm, as its service runs it

my $fpm_pid;
sub fpm_up {
    IO::Socket::UNIX->new(Peer => $fpm_sock, Type => IO::Socket::UNIX::SOCK_STREAM());
}
if (!fpm_up()) {
    File::Path::make_path('/run/php');
    $fpm_pid = fork // die "fork: $!";
    if (!$fpm_pid) {
        POSIX::setsid();
        open STDOUT, '>', "$logs/fpmconf-php-fpm.out";
        open STDERR, '>&', \*STDOUT;
        exec $fpm_bin, '-F', '-y', $fpm_conf;
        die "exec $fpm_bin: $!";
    }
}
END { if ($fpm_pid) { kill 'TERM', $fpm_pid; waitpid $fpm_pid, 0; } }
ok(pm_wait_until(20, \&fpm_up), "Debian's php8.2-fpm listens on $fpm_sock")
    or BAIL_OUT('no php8.2-fpm');

# ---------------------------------------------------------------------
# make install DESTDIR=..., two layouts

my $destdir = "$logs/fpmconf-destdir";
File::Path::remove_tree($destdir);
my $libexec = `apxs -q LIBEXECDIR 2>/dev/null` || '/usr/lib/apache2/modules';
chomp $libexec;
my $out = `make -s -C '$top' -f Makefile.apxs install DESTDIR='$destdir' 2>&1`;
is($?, 0, 'make install DESTDIR=... succeeds') or diag($out);
ok(-f "$destdir$libexec/mod_fcgix_proxy_fcgi.so",
   'mod_fcgix_proxy_fcgi.so (the name) is installed');

my $www = "$logs/fpmconf-www";
File::Path::remove_tree($www);
my @sub = ('sp ace', qw(idx pi-full pi-unescape pi-first tcp ht htbad));
File::Path::make_path(map { "$www/$_" } @sub);
chmod 0755, $www, map { "$www/$_" } @sub;
my $env_php = <<'EOP';
<?php
header('Content-Type: text/plain');
$s = $_SERVER;
ksort($s);
foreach ($s as $k => $v) {
    if (is_scalar($v)) {
        echo $k, '=', str_replace(["\\", "\n"], ["\\\\", "\\n"], $v), "\n";
    }
}
echo 'BODY=', md5(file_get_contents('php://input')), "\n";
EOP
spew("$www/env.php", $env_php);
spew("$www/sp ace/env.php", $env_php);
spew("$www/idx/index.php", $env_php);
spew("$www/$_/env.php", $env_php)
    for qw(pi-full pi-unescape pi-first tcp ht htbad);
# .htaccess: another handler string for Debian's socket (served by the
# server of that address), and one for a socket no configuration names
spew("$www/ht/.htaccess", <<'EOH');
<FilesMatch "\.php$">
    SetHandler "proxy:unix:/run/php/php8.2-fpm.sock|fcgi://htaccess.example"
</FilesMatch>
EOH
spew("$www/htbad/.htaccess", <<'EOH');
<FilesMatch "\.php$">
    SetHandler "proxy:unix:/run/php/no-such-fpm.sock|fcgi://localhost"
</FilesMatch>
EOH
# The suite's php-fpm on TCP (pool "tcp"): the proxy:fcgi://host:port/ form
my $fpm_port = Apache::Test::vars('fcgix_fpm_port');
my $tcp = backend_started('php-fpm') && $fpm_port;

# $flavour: fcgix (mod_fcgix) or proxy (mod_proxy + mod_proxy_fcgi)
sub layout {
    my ($flavour) = @_;
    my $root = "$logs/fpmconf-$flavour";
    File::Path::remove_tree($root);
    my @dirs = qw(mods-available mods-enabled sites-available sites-enabled
                  conf-available conf-enabled logs run lock state);
    File::Path::make_path(map { "$root/$_" } @dirs);
    chmod 0755, $root, map { "$root/$_" } @dirs;
    File::Copy::copy('/etc/apache2/apache2.conf', "$root/apache2.conf")
        or die $!;
    spew("$root/envvars", layout_envvars($root));
    my $port = pm_free_port();
    spew("$root/ports.conf", "Listen 127.0.0.1:$port\n");
    my @mods = qw(mpm_event authz_core mime dir setenvif env);
    push @mods, $flavour eq 'proxy' ? qw(proxy proxy_fcgi) : 'fcgix';
    for my $m (@mods, 'proxy', 'proxy_fcgi') {
        for my $ext (qw(load conf)) {
            File::Copy::copy("$system/$m.$ext", "$root/mods-available/$m.$ext")
                or die "$m.$ext: $!" if -e "$system/$m.$ext";
        }
    }
    for my $f (qw(fcgix.load fcgix.conf)) {
        my $text = slurp("$destdir/etc/apache2/mods-available/$f");
        $text =~ s{\Q$libexec\E/}{$destdir$libexec/}g;
        spew("$root/mods-available/$f", $text);
    }
    File::Copy::copy($deb_php, "$root/conf-available/php8.2-fpm.conf")
        or die $!;
    my $site = <<"EOC";
<VirtualHost 127.0.0.1:$port>
    ServerName php.example
    DocumentRoot "$www"
    <Directory "$www">
        Require all granted
        DirectoryIndex index.php
    </Directory>
    <Directory "$www/ht">
        AllowOverride FileInfo
    </Directory>
    <Directory "$www/htbad">
        AllowOverride FileInfo
    </Directory>
    <Directory "$www/pi-full">
        SetEnv proxy-fcgi-pathinfo full
    </Directory>
    <Directory "$www/pi-unescape">
        SetEnv proxy-fcgi-pathinfo unescape
    </Directory>
    <Directory "$www/pi-first">
        SetEnv proxy-fcgi-pathinfo first-dot
    </Directory>
EOC
    $site .= <<"EOC" if $tcp;
    <Directory "$www/tcp">
        <FilesMatch "\.php\$">
            SetHandler "proxy:fcgi://127.0.0.1:$fpm_port/"
        </FilesMatch>
    </Directory>
EOC
    $site .= <<"EOC";
</VirtualHost>
EOC
    spew("$root/sites-available/php.conf", $site);
    my ($rc, $text) = run_in($root, '/usr/sbin/a2enmod', '-q', @mods);
    die "a2enmod in $root: $text" if $rc;
    ($rc, $text) = run_in($root, '/usr/sbin/a2enconf', '-q', 'php8.2-fpm');
    die "a2enconf in $root: $text" if $rc;
    ($rc, $text) = run_in($root, '/usr/sbin/a2ensite', '-q', 'php');
    die "a2ensite in $root: $text" if $rc;
    my $h = { root => $root, port => $port, flavour => $flavour,
              log => "$root/logs/error.log",
              pidfile => "$root/run/apache2.pid" };
    ($rc, $text) = httpd_ctl($h, '-k', 'start');
    die "apache2 -k start ($flavour): $rc: $text" if $rc;
    pm_wait_until(20, sub {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1)
            && -s $h->{pidfile};
    }) or die "$flavour httpd did not come up: " . slurp($h->{log});
    $h;
}

sub stop {
    my ($h) = @_;
    open my $p, '<', $h->{pidfile} or return;
    my ($pid) = ((<$p>) // '') =~ /(\d+)/;
    httpd_ctl($h, '-k', 'stop');
    pm_wait_until(20, sub { !$pid || !kill 0, $pid });
}

my %h;
END { stop($_) for grep { $_ } values %h; }
$h{proxy} = layout('proxy');
$h{fcgix} = layout('fcgix');

is(Digest::MD5::md5_hex(slurp("$h{fcgix}{root}/conf-enabled/php8.2-fpm.conf")),
   Digest::MD5::md5_hex(slurp($deb_php)),
   'conf-enabled/php8.2-fpm.conf is the package\'s file, unchanged');
my ($rc, $mods) = httpd_ctl($h{fcgix}, '-M');
is($rc, 0, 'apache2 -M (mod_fcgix layout)') or diag($mods);
unlike($mods, qr/^\s*proxy_module\b/m, 'mod_proxy is not loaded');
like($mods, qr/^\s*proxy_fcgi_module\b/m,
     'proxy_fcgi_module is known (the name, from fcgix.conf)');
like($mods, qr/^\s*fcgix_module\b/m, 'fcgix_module is loaded');

# ---------------------------------------------------------------------
# The same requests to both: what PHP sees must be equal

my %per_connection = map { $_ => 1 } qw(HTTP_HOST SERVER_PORT
    SERVER_SIGNATURE REMOTE_PORT REQUEST_TIME REQUEST_TIME_FLOAT);
my $basic = 'Basic ' . MIME::Base64::encode_base64('alice:s3cret', '');
my @cases = (
    ['plain', path => '/env.php'],
    ['PATH_INFO and query', path => '/env.php/some/path%20x?a=1&b=%2F'],
    ['encoded space in the path', path => '/sp%20ace/env.php/p'],
    ['Authorization', path => '/env.php', headers => [Authorization => $basic]],
    ['POST', path => '/env.php?p=1', method => 'POST', body => 'x=1&y=2',
     headers => ['Content-Type' => 'application/x-www-form-urlencoded']],
    ['DirectoryIndex', path => '/idx/'],
    ['missing script', path => '/nope.php'],
    ['.htaccess SetHandler, a configured socket',
     path => '/ht/env.php/x?y=1'],
    ['proxy-fcgi-pathinfo full', path => '/pi-full/env.php/a%20b/c.d/e'],
    ['proxy-fcgi-pathinfo unescape', path => '/pi-unescape/env.php/a%20b'],
    ['proxy-fcgi-pathinfo first-dot', path => '/pi-first/env.php/x.y/z'],
    $tcp ? ['proxy:fcgi://127.0.0.1:port/', path => '/tcp/env.php/t?u=1']
         : (),
);
my %seen;
for my $c (@cases) {
    my ($name, %req) = @$c;
    my %r = map { $_ => http(port => $h{$_}{port}, %req) } qw(proxy fcgix);
    is($r{fcgix}{status}, $r{proxy}{status},
       "$name: status as with mod_proxy_fcgi ($r{proxy}{status})")
        or diag(FcgixTest::brief($r{fcgix}));
    my %kv = map { $_ => $r{$_}{kv} } qw(proxy fcgix);
    # the module's own version in the Server header (ServerTokens Full)
    $kv{fcgix}{SERVER_SOFTWARE} =~ s{ mod_fcgix/\S+}{}
        if defined $kv{fcgix}{SERVER_SOFTWARE};
    my @keys = sort grep { !$per_connection{$_} }
               keys %{{ %{ $kv{proxy} }, %{ $kv{fcgix} } }};
    my @diff = grep { ($kv{proxy}{$_} // '<none>') ne ($kv{fcgix}{$_} // '<none>') }
               @keys;
    ok(!@diff, "$name: \$_SERVER as with mod_proxy_fcgi ("
       . scalar(@keys) . ' keys)')
        or diag(join '', map { "$_: mod_proxy_fcgi '"
            . ($kv{proxy}{$_} // '<none>') . "', mod_fcgix '"
            . ($kv{fcgix}{$_} // '<none>') . "'\n" } @diff);
    $seen{$name} = $kv{fcgix};
}
# ... and what that is, for the record (the comparison above is the test)
is($seen{plain}{SCRIPT_FILENAME}, "$www/env.php", 'SCRIPT_FILENAME');
is($seen{plain}{FCGI_ROLE}, 'RESPONDER', 'FCGI_ROLE');
is($seen{'PATH_INFO and query'}{PATH_INFO}, '/some/path x', 'PATH_INFO');
is($seen{'PATH_INFO and query'}{QUERY_STRING}, 'a=1&b=%2F', 'QUERY_STRING');
is($seen{'encoded space in the path'}{SCRIPT_FILENAME}, "$www/sp ace/env.php",
   'SCRIPT_FILENAME with a space');
is($seen{Authorization}{PHP_AUTH_USER}, 'alice', 'PHP_AUTH_USER');
is($seen{Authorization}{PHP_AUTH_PW}, 's3cret', 'PHP_AUTH_PW');
is($seen{POST}{BODY}, Digest::MD5::md5_hex('x=1&y=2'), 'POST body');

# A socket only .htaccess names: no server was made for it (mod_proxy_fcgi
# would try it and answer 503).
my $bad_r = http(port => $h{fcgix}{port}, path => '/htbad/env.php');
is($bad_r->{status}, 500, '.htaccess SetHandler, a socket nowhere else: 500');
like(slurp($h{fcgix}{log}),
     qr/FCGIX00532: SetHandler proxy:unix:\/run\/php\/no-such-fpm\.sock/,
     '... and FCGIX00532 names the handler');
# php-fpm's "Primary script unknown" (the missing script) is logged as
# under mod_proxy_fcgi (AH01071 there); nothing else.
my @bad = grep { /\[fcgix:(?:error|warn)\]/
                 && !/FCGIX00101: .*stderr: Primary script unknown/
                 && !/FCGIX00532: .*no-such-fpm/ }
          split /\n/, slurp($h{fcgix}{log});
ok(!@bad, 'no other mod_fcgix error or warning in the layout\'s error.log')
    or diag(join "\n", @bad);
# (mod_proxy joins "fcgi://host:port/" and "/path": php-fpm sees "//path")
ok(!$tcp || ($seen{'proxy:fcgi://127.0.0.1:port/'}{SCRIPT_FILENAME} // '')
            eq "/$www/tcp/env.php", 'proxy:fcgi://host:port/ form served');

stop($_) for values %h;
%h = ();
done_testing();
