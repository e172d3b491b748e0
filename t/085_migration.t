# The documented migration of a Debian host (issue "Production migration",
# item 1: never serve a script as source because of a migration), done
# for real on a copy of Debian's /etc/apache2 layout under t/logs/:
#
#  * `make -f Makefile.apxs install DESTDIR=t/logs/migr-destdir` installs
#    the modules, fcgix.load and fcgix.conf, all below DESTDIR;
#  * the layout: Debian's own apache2.conf (Include mods-enabled/*.load,
#    *.conf, sites-enabled/*.conf), its mods-available files, the real
#    fcgid.load/fcgid.conf of libapache2-mod-fcgid, mod_fastcgi's
#    fastcgi.load/fastcgi.conf as Debian shipped them (the package is gone
#    from Debian: reproduced), and fcgix.load/fcgix.conf as installed, the
#    module paths in fcgix.load pointed at DESTDIR;
#  * three sites: a hosting panel's (php-cgi through FcgidWrapper under
#    <IfModule fcgid_module>, and the same under <IfModule mod_fcgid.c>),
#    a mod_fastcgi one (#! php scripts as fastcgi-script under <IfModule
#    fastcgi_module> and <IfModule mod_fastcgi.c>), and one that relies on
#    Debian's global ".fcgi" mapping (fcgid.conf / fastcgi.conf);
#  * the README's commands, the real /usr/sbin/a2enmod and a2dismod, which
#    take the layout from APACHE_CONFDIR (and their state directory from
#    APACHE_STATE_DIRECTORY): a2enmod fcgix refuses while the old module is
#    enabled; a2dismod fcgid (fastcgi); a2enmod fcgix;
#  * httpd started on that ServerRoot (-d), with the variables Debian's
#    envvars sets, on ports of its own on 127.0.0.1, User as the suite's:
#    every .php and .fcgi URL runs (the app's output), no body anywhere
#    holds "<?php" or a line of a script; the same after a graceful
#    restart, and no module is removed twice when the configuration goes;
#  * mod_fcgid enabled again beside mod_fcgix (a2enmod fcgid): httpd
#    starts, and says so once per start (FCGIX00340).
# Both vocabularies: one ServerRoot migrated from mod_fcgid, one from
# mod_fastcgi.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Copy ();
use File::Path ();
use File::Spec::Functions qw(catfile);
use IO::Socket::INET ();
use Test::More;
use FcgixTest qw(:DEFAULT slurp spew);
use FcgixPM qw(pm_free_port pm_wait_until);
use FcgixDropin qw(dropin_req dropin_brief);
use FcgixDebian;

my $php = '/usr/bin/php-cgi';
plan skip_all => "$php not installed (scripts/deps.sh test)" unless -x $php;
plan skip_all => 'a2enmod not installed' unless -x '/usr/sbin/a2enmod';
my $debian_conf = '/etc/apache2/apache2.conf';
plan skip_all => "$debian_conf missing" unless -r $debian_conf;

my $top    = Apache::Test::vars('top_dir');
my $logs   = Apache::Test::vars('t_logs');
my $system = '/etc/apache2/mods-available';
my $have_fcgid = -r "$system/fcgid.load" && -r "$system/fcgid.conf"
                 && -e '/usr/lib/apache2/modules/mod_fcgid.so';

# Debian's libapache2-mod-fastcgi (until Debian 9) shipped these two.
my %fastcgi_files = (
    'fastcgi.load' => "LoadModule fastcgi_module "
                      . "/usr/lib/apache2/modules/mod_fastcgi.so\n",
    'fastcgi.conf' => <<'EOC',
<IfModule mod_fastcgi.c>
  AddHandler fastcgi-script .fcgi
  #FastCgiWrapper /usr/lib/apache2/suexec
  FastCgiIpcDir /var/lib/apache2/fastcgi
</IfModule>
EOC
);
# ... and libapache2-mod-fcgid ships these (read from the system when the
# package is installed, as scripts/deps.sh test does).
my %fcgid_files = (
    'fcgid.load' => "LoadModule fcgid_module "
                    . "/usr/lib/apache2/modules/mod_fcgid.so\n",
    'fcgid.conf' => <<'EOC',
<IfModule mod_fcgid.c>
  FcgidConnectTimeout 20

  <IfModule mod_mime.c>
    AddHandler fcgid-script .fcgi
  </IfModule>
</IfModule>
EOC
);

# ---------------------------------------------------------------------
# make install DESTDIR=...

my $destdir = catfile($logs, 'migr-destdir');
File::Path::remove_tree($destdir);
my $libexec = `apxs -q LIBEXECDIR 2>/dev/null` || '/usr/lib/apache2/modules';
chomp $libexec;
my $out = `make -s -C '$top' -f Makefile.apxs install DESTDIR='$destdir' 2>&1`;
is($?, 0, 'make install DESTDIR=... succeeds') or diag($out);
my @installed = ("$libexec/mod_fcgix.so", "$libexec/mod_fcgix_fcgid.so",
                 "$libexec/mod_fcgix_fastcgi.so",
                 '/etc/apache2/mods-available/fcgix.load',
                 '/etc/apache2/mods-available/fcgix.conf');
my @missing = grep { !-f "$destdir$_" } @installed;
ok(!@missing, 'make install puts the three modules, fcgix.load and '
   . 'fcgix.conf below DESTDIR') or diag("missing: @missing");
BAIL_OUT('nothing to migrate to') if @missing;

# ---------------------------------------------------------------------
# A Debian layout of its own

sub script {
    my ($name, $shebang) = @_;
    # the source is what must never be sent: "<?php", this comment, "40 + 2"
    ($shebang ? "#!$php\n" : '') . <<"EOS";
<?php
// SOURCE-OF-$name: shown only if the script is sent as a file
header('Content-Type: text/plain');
echo "ran=$name sum=", 40 + 2, "\\n";
EOS
}

# Builds the layout of a host that runs $old (fcgid | fastcgi), the old
# module enabled as Debian's a2enmod does it.
sub layout {
    my ($old) = @_;
    my $root = catfile($logs, "migr-$old");
    File::Path::remove_tree($root);
    my $www = "$root/www";
    my @dirs = (qw(mods-available mods-enabled sites-available
                   sites-enabled conf-available conf-enabled logs run lock
                   state www www/sites www/sites/panel www/sites/legacy
                   www/fsites www/fsites/sym www/fsites/file www/global));
    File::Path::make_path(map { "$root/$_" } @dirs);
    chmod 0755, $root, map { "$root/$_" } @dirs;

    File::Copy::copy($debian_conf, "$root/apache2.conf") or die $!;
    spew("$root/envvars", layout_envvars($root));
    my %port = map { $_ => pm_free_port() } qw(panel fastcgi global);
    spew("$root/ports.conf",
         join '', map { "Listen 127.0.0.1:$port{$_}\n" } sort keys %port);

    for my $m (qw(mpm_event authz_core mime dir)) {
        for my $ext (qw(load conf)) {
            my $f = "$system/$m.$ext";
            File::Copy::copy($f, "$root/mods-available/$m.$ext") or die $!
                if -e $f;
        }
    }
    for my $f (sort keys %fcgid_files) {
        my $text = -r "$system/$f" ? slurp("$system/$f") : $fcgid_files{$f};
        spew("$root/mods-available/$f", $text);
    }
    spew("$root/mods-available/$_", $fastcgi_files{$_})
        for keys %fastcgi_files;
    # fcgix.load and fcgix.conf as installed; only the directory of the
    # modules is DESTDIR's (the copy this tree stands for is below it)
    for my $f (qw(fcgix.load fcgix.conf)) {
        my $text = slurp("$destdir/etc/apache2/mods-available/$f");
        $text =~ s{\Q$libexec\E/}{$destdir$libexec/}g;
        spew("$root/mods-available/$f", $text);
    }

    # A hosting panel's site: the symbol form, and the file name form
    spew("$root/sites-available/panel.conf", <<"EOC");
<VirtualHost 127.0.0.1:$port{panel}>
    ServerName panel.example
    DocumentRoot $www/sites
    <Directory $www/sites>
        Require all granted
    </Directory>
    <Directory $www/sites/panel>
        <IfModule fcgid_module>
            Options +ExecCGI
            AddHandler fcgid-script .php
            FcgidWrapper $php .php
        </IfModule>
    </Directory>
    <Directory $www/sites/legacy>
        <IfModule mod_fcgid.c>
            Options +ExecCGI
            AddHandler fcgid-script .php
            FcgidWrapper $php .php
        </IfModule>
    </Directory>
</VirtualHost>
EOC
    spew("$www/sites/panel/index.php", script('panel'));
    spew("$www/sites/legacy/index.php", script('legacy'));

    # A mod_fastcgi site: #! scripts run as fastcgi-script
    spew("$root/sites-available/fastcgi.conf", <<"EOC");
<VirtualHost 127.0.0.1:$port{fastcgi}>
    ServerName fastcgi.example
    DocumentRoot $www/fsites
    <IfModule fastcgi_module>
        FastCgiConfig -maxClassProcesses 2 -idle-timeout 60
    </IfModule>
    <Directory $www/fsites>
        Require all granted
        Options +ExecCGI
    </Directory>
    <Directory $www/fsites/sym>
        <IfModule fastcgi_module>
            AddHandler fastcgi-script .php
        </IfModule>
    </Directory>
    <Directory $www/fsites/file>
        <IfModule mod_fastcgi.c>
            AddHandler fastcgi-script .php
        </IfModule>
    </Directory>
</VirtualHost>
EOC
    spew("$www/fsites/sym/index.php", script('fastcgi-sym', 1), 0755);
    spew("$www/fsites/file/index.php", script('fastcgi-file', 1), 0755);
    spew("$www/fsites/hello.fcgi", script('fastcgi-fcgi', 1), 0755);

    # A site that has only ExecCGI: .fcgi is Debian's global mapping
    spew("$root/sites-available/global.conf", <<"EOC");
<VirtualHost 127.0.0.1:$port{global}>
    ServerName global.example
    DocumentRoot $www/global
    <Directory $www/global>
        Require all granted
        Options +ExecCGI
    </Directory>
</VirtualHost>
EOC
    spew("$www/global/hello.fcgi", script('global-fcgi', 1), 0755);

    my ($rc, $text) = run_in($root, '/usr/sbin/a2enmod', 'mpm_event',
                             'authz_core', 'mime', 'dir', $old);
    die "a2enmod in $root: $text" if $rc;
    ($rc, $text) = run_in($root, '/usr/sbin/a2ensite', qw(panel fastcgi
                                                         global));
    die "a2ensite in $root: $text" if $rc;
    return { root => $root, port => \%port, old => $old,
             log => "$root/logs/error.log",
             pidfile => "$root/run/apache2.pid" };
}

sub httpd_pid {
    my ($h) = @_;
    open my $p, '<', $h->{pidfile} or return;
    my ($pid) = ((<$p>) // '') =~ /(\d+)/;
    $pid;
}

sub start {
    my ($h) = @_;
    my ($rc, $text) = httpd_ctl($h, '-k', 'start');
    return "apache2 -k start: $rc: $text" if $rc;
    my $port = $h->{port}{global};
    pm_wait_until(20, sub {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Timeout => 1);
        $s && httpd_pid($h);
    }) or return "httpd on port $port did not come up: " . tail($h);
    $h->{pid} = httpd_pid($h);
    return;
}

sub stop {
    my ($h) = @_;
    my $pid = httpd_pid($h) or return;
    httpd_ctl($h, '-k', 'stop');
    pm_wait_until(20, sub { !kill 0, $pid });
}

sub tail {
    my ($h) = @_;
    my $t = -r $h->{log} ? slurp($h->{log}) : '';
    substr $t, -2000;
}

# Every script URL runs; no body anywhere shows a script's source.
sub check_urls {
    my ($h, $when) = @_;
    my %p = %{ $h->{port} };
    my @urls = ([panel => '/panel/index.php', 'panel'],
                [panel => '/legacy/index.php', 'legacy'],
                [fastcgi => '/sym/index.php', 'fastcgi-sym'],
                [fastcgi => '/file/index.php', 'fastcgi-file'],
                [fastcgi => '/hello.fcgi', 'fastcgi-fcgi'],
                [global => '/hello.fcgi', 'global-fcgi']);
    for my $u (@urls) {
        my ($site, $path, $name) = @$u;
        my $r = dropin_req(port => $p{$site}, path => $path, timeout => 30);
        my $what = "$h->{old} $when: $site $path";
        ok($r->{status} == 200 && $r->{body} =~ /^ran=\Q$name\E sum=42$/m,
           "$what runs (the application's output)")
            or diag(dropin_brief($r));
        ok($r->{body} !~ /<\?php|SOURCE-OF-|40 \+ 2/,
           "$what: no source in the body") or diag(dropin_brief($r));
    }
}

# Log lines no clean start, restart and stop has.
sub check_log {
    my ($h, $when) = @_;
    my $t = -r $h->{log} ? slurp($h->{log}) : '';
    my @bad = grep {
        /\[fcgix:(?:error|crit|alert|emerg)\]|AH00525|exit signal|
         Segmentation fault|AddressSanitizer|invalid command/xi
    } split /\n/, $t;
    ok(!@bad, "$h->{old} $when: no module removed twice (AH00525), no "
       . 'crash, no fcgix error') or diag(join "\n", @bad[0 .. $#bad > 20 ?
                                                      20 : $#bad]);
}

sub count_lines {
    my ($h, $re) = @_;
    my $t = -r $h->{log} ? slurp($h->{log}) : '';
    scalar grep { $_ =~ $re } split /\n/, $t;
}

# ---------------------------------------------------------------------
# The migration, as the README says, from each module

for my $old (qw(fcgid fastcgi)) {
    my $h = layout($old);
    my $root = $h->{root};

    my ($rc, $text) = run_in($root, '/usr/sbin/a2enmod', 'fcgix');
    ok($rc != 0 && !-e "$root/mods-enabled/fcgix.load",
       "$old: a2enmod fcgix refuses while $old is enabled (Conflicts)")
        or diag($text);

    ($rc, $text) = run_in($root, '/usr/sbin/a2dismod', $old);
    is($rc, 0, "$old: a2dismod $old") or diag($text);
    ($rc, $text) = run_in($root, '/usr/sbin/a2enmod', 'fcgix');
    is($rc, 0, "$old: a2enmod fcgix") or diag($text);
    ok(!-e "$root/mods-enabled/$old.conf"
       && -l "$root/mods-enabled/fcgix.load"
       && -l "$root/mods-enabled/fcgix.conf",
       "$old: $old.conf is gone, fcgix.load and fcgix.conf are enabled");

    ($rc, $text) = httpd_ctl($h, '-t');
    is($rc, 0, "$old: apache2 -t accepts the migrated layout") or diag($text);

    my $err = start($h);
    ok(!$err, "$old: httpd starts on the migrated layout") or diag($err);
    SKIP: {
        skip "$old: httpd did not start", 26 if $err;
        check_urls($h, 'after the migration');
        my $gen = count_lines($h, qr/resuming normal operations/);
        httpd_ctl($h, '-k', 'graceful');
        pm_wait_until(20, sub {
            count_lines($h, qr/resuming normal operations/) > $gen
        });
        check_urls($h, 'after a graceful restart');
        is(count_lines($h, qr/FCGIX$LOG{rival_module}/), 0,
           "$old: no rival module, no FCGIX00340");
        stop($h);
        check_log($h, 'started, restarted and stopped');
    }

    next unless $old eq 'fcgid';

    # mod_fcgid enabled again beside mod_fcgix: both load, httpd starts,
    # and says so once per start. Its runtime files stay in this tree
    # (httpd gives a directive to every module that has it).
    SKIP: {
        skip 'libapache2-mod-fcgid not installed', 17 unless $have_fcgid;
        ($rc, $text) = run_in($root, '/usr/sbin/a2enmod', 'fcgid');
        is($rc, 0, 'a2enmod fcgid beside fcgix') or diag($text);
        spew("$root/conf-available/fcgid-here.conf",
             "FcgidIPCDir $root/run/fcgid\n"
             . "FcgidProcessTableFile $root/run/fcgid_shm\n");
        run_in($root, '/usr/sbin/a2enconf', 'fcgid-here');
        unlink $h->{log};
        $err = start($h);
        ok(!$err, 'httpd starts with mod_fcgid and mod_fcgix both loaded')
            or diag($err);
        my $warn = qr/\[fcgix:warn\].*FCGIX$LOG{rival_module}:.*mod_fcgid\.c/;
        is(count_lines($h, $warn), 1, 'one FCGIX00340 warning: mod_fcgid is '
           . 'loaded beside mod_fcgix')
            or diag(tail($h));
        # whichever module's handler runs first serves the scripts
        check_urls($h, 'beside mod_fcgid') unless $err;
        stop($h);
        check_log($h, 'beside mod_fcgid');
    }
}

done_testing();
