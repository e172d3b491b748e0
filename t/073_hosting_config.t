# Shared hosting: configuration checks.
#
#  * FcgidWrapper (and its other names) is checked when the configuration
#    is read: `apache2 -t` on a small generated config fails, with a clear
#    message, for a relative, missing, non-executable or group/world
#    writable wrapper and for a bad suffix; a good one passes, in server,
#    vhost and <Directory> context;
#  * httpd itself refuses "User root" (so FCGIX00162, spawning disabled for
#    User root, cannot be reached with a stock httpd);
#  * a vhost without any mod_fcgix directive followed by a global
#    FastCgiExternalServer must not crash httpd at startup;
#  * in .htaccess (AllowOverride FileInfo, t/conf/hosting.conf.in
#    <Directory .../plain/htdocs/ht>): a wrapper there replaces the
#    server's; a bad one makes the request fail with 500.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Path ();
use File::Spec::Functions qw(catfile);
use File::Temp ();
use Test::More;
use FcgixTest;
use FcgixHosting;

my $root = hosting_root()
    or plan skip_all => 'no hosting config (reconfigure: t/TEST.PL -clean)';
my $vars = Apache::Test::config()->{vars};
my $httpd = $vars->{httpd} || '/usr/sbin/apache2';
my $libexec = $vars->{fcgix_libexecdir};
my $so = "$vars->{top_dir}/.libs/mod_fcgix.so";
my $tmp = File::Temp::tempdir('hosting-conf-XXXXXX', DIR => $vars->{t_logs},
                               CLEANUP => 1);

# apache2 -t on a config with $body; returns (exit code, signal, output)
sub config_test {
    my ($name, $body) = @_;
    my $conf = catfile($tmp, "$name.conf");
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"EOF";
ServerRoot "$tmp"
ServerName localhost
PidFile "$tmp/httpd.pid"
ErrorLog "$tmp/error_log"
DefaultRuntimeDir "$tmp"
LoadModule mpm_prefork_module "$libexec/mod_mpm_prefork.so"
LoadModule fcgix_module "$so"
Listen 127.0.0.1:1
$body
EOF
    close $fh;
    # no core file (t/TEST.PL allows them; Apache::Test would report it)
    my $out = `ulimit -c 0; '$httpd' -t -f '$conf' 2>&1`;
    return ($? >> 8, $? & 127, $out);
}

sub rejected {
    my ($name, $body, $msg) = @_;
    my ($rc, $sig, $out) = config_test($name, $body);
    ok($rc != 0 && !$sig && $out =~ $msg,
       "apache2 -t rejects $name: $msg")
        or diag("exit $rc, signal $sig:\n$out");
}

sub accepted {
    my ($name, $body) = @_;
    my ($rc, $sig, $out) = config_test($name, $body);
    ok($rc == 0 && !$sig && $out =~ /Syntax OK/, "apache2 -t accepts $name")
        or diag("exit $rc, signal $sig:\n$out");
}

# wrappers of every kind
my $exe = catfile($tmp, 'wrapper.sh');
for ([$exe, 0755], ["$tmp/noexec.sh", 0644], ["$tmp/gw.sh", 0775],
     ["$tmp/ow.sh", 0757]) {
    my ($f, $mode) = @$_;
    open my $fh, '>', $f or die "$f: $!";
    print $fh "#!/bin/sh\nexec /usr/bin/php-cgi\n";
    close $fh;
    chmod $mode, $f;
}
my $php = -x '/usr/bin/php-cgi' ? '/usr/bin/php-cgi' : $exe;

rejected('a relative wrapper', 'FcgidWrapper php-cgi .php',
         qr/FcgidWrapper: the command must start with an absolute path: 'php-cgi'/);
rejected('a missing wrapper', "FcgidWrapper $tmp/no-such-wrapper .php",
         qr/FcgidWrapper: \Q$tmp\E\/no-such-wrapper: No such file or directory/);
rejected('a directory', "FcgidWrapper $tmp .php",
         qr/FcgidWrapper: \Q$tmp\E is not an executable file/);
rejected('a non-executable wrapper', "FcgidWrapper $tmp/noexec.sh .php",
         qr/FcgidWrapper: \Q$tmp\E\/noexec.sh is not an executable file/);
rejected('a group-writable wrapper', "FcgidWrapper $tmp/gw.sh .php",
         qr/FcgidWrapper: \Q$tmp\E\/gw.sh is writable by group or others; refusing to run it/);
rejected('a world-writable wrapper (FcgixWrapper)',
         "FcgixWrapper $tmp/ow.sh .php",
         qr/FcgixWrapper: \Q$tmp\E\/ow.sh is writable by group or others/);
rejected('a bad suffix', "FcgidWrapper $exe php",
         qr/FcgidWrapper: 'php' is neither a suffix \(\.php\) nor 'virtual'/);
rejected('a bad wrapper inside <Directory> (FCGIWrapper)',
         "<Directory $tmp>\n    FCGIWrapper \"$tmp/gw.sh\" .php\n</Directory>",
         qr/FCGIWrapper: \Q$tmp\E\/gw.sh is writable by group or others/);
accepted('a good wrapper, every context and name', <<"EOF");
FcgidWrapper $php .php
FcgixWrapper "$exe -d x=1" .php5 virtual
<VirtualHost *:1>
    FcgidWrapper $exe
</VirtualHost>
<Directory $tmp>
    FCGIWrapper $exe .php
</Directory>
EOF

# httpd's own refusal of User root
rejected('User root', 'User root',
         qr/Apache has not been designed to serve pages while.{0,6}running as root/);

# MODULE BUG: httpd creates a vhost's configuration of a module only when
# the vhost uses one of its directives; fcgix_conf_add_server() walks every
# vhost's server list for duplicates and dereferences the missing one:
# SIGSEGV while reading the configuration.
accepted('a vhost without mod_fcgix directives before a global '
         . 'FastCgiExternalServer', <<"EOF");
<VirtualHost *:1>
    ServerName other.example
</VirtualHost>
FastCgiExternalServer $tmp/app.fcgi -socket $tmp/app.sock
EOF

# .htaccess
my $ht = "$root/plain/htdocs/ht";
File::Path::make_path($ht);
my $src = "$vars->{top_dir}/t/apps/hosting/app.php";
system('cp', $src, "$ht/app.php") == 0 or die "cp: $?";
sub htaccess {
    open my $fh, '>', "$ht/.htaccess" or die "$ht/.htaccess: $!";
    print $fh @_;
    close $fh;
}
my $r = hget('hosting_plain', '/ht/app.php');
is(env_of($r)->{app} // '', 'php', '/ht/app.php: the server wrapper (php-cgi)')
    or diag(brief_h($r));
htaccess("FcgidWrapper $root/plain/bin/app.pl .php\n");
$r = hget('hosting_plain', '/ht/app.php');
my $e = env_of($r);
ok($r->{status} == 200 && ($e->{app} // '') eq 'perl'
   && ($e->{script} // '') eq "$ht/app.php",
   '.htaccess: its wrapper (app.pl) serves .php, SCRIPT_FILENAME the script')
    or diag(brief_h($r));
my $off = log_mark();
htaccess("FcgidWrapper bin/php-cgi .php\n");
$r = hget('hosting_plain', '/ht/app.php');
is($r->{status}, 500, '.htaccess: a relative wrapper: 500') or diag(brief_h($r));
ok(scalar(grep { /\.htaccess: FcgidWrapper: the command must start with an absolute path/ }
          log_new_lines($off)),
   '.htaccess: the error_log says why');
unlink "$ht/.htaccess";

done_testing();
