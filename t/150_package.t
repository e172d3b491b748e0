# The Debian package (debian/, make -f Makefile.apxs package), built,
# checked by lintian and installed into the SYSTEM's apache2 (/etc/apache2)
# with apt, the way an administrator does it:
#
#  * scripts/package.sh builds libapache2-mod-fcgix_<FCGIX_VERSION_NUMBER>
#    out of tree into build/deb/; lintian --fail-on error,warning passes;
#  * the system's apache2 runs in a network namespace the test creates
#    (its stock Listen 80 is private to it; every request is made from
#    inside), with a conf of the test's (a2enconf) that runs a Perl FCGI
#    application through SetHandler fcgid-script inside <IfModule
#    fcgid_module> (mod_fcgix's name module) and denies it otherwise;
#  * with mod_fcgid disabled, apt-get install: the postinst enables fcgix
#    and reloads gracefully by itself (the app answers, apache2 logged a
#    graceful restart and no restart, its parent pid is the same);
#  * apache2ctl graceful, and the same package installed again (the
#    postinst's upgrade path: reload): the same application answers;
#  * apt-get remove: fcgix disabled, graceful reload, the URL is denied,
#    the process manager and the application are gone within 30 s;
#  * apt-get purge: no package, none of its files, no mods-available or
#    mods-enabled file, no state under /var/lib/apache2/module/, no
#    /run/apache2/fcgix, no process;
#  * with mod_fcgid enabled, apt-get install succeeds and leaves fcgix
#    disabled, saying why and how to switch; purge leaves nothing again;
#  * apache2's error log got no [fcgix:error|crit|alert|emerg|warn] line.
# The machine's state (modules enabled, /usr/sbin/policy-rc.d, which is
# moved aside so that the maintainer scripts' reloads run) is put back at
# the end, on failure too.  A system apache2 already running is not
# touched: the test fails and says so.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Path ();
use Test::More;
use POSIX ();
use FcgixTest qw(:DEFAULT slurp spew);

sub wait_until { FcgixTest::wait_until(@_) }

my $top = Apache::Test::vars('top_dir');

plan skip_all => 'needs root (apt-get, /etc/apache2)' if $> != 0;
for my $bin (qw(/usr/bin/dpkg-buildpackage /usr/bin/lintian
                /usr/sbin/apache2 /usr/sbin/a2enmod /usr/bin/apt-get
                /usr/sbin/ip)) {
    plan skip_all => "$bin missing (scripts/deps.sh test)" unless -x $bin;
}
plan skip_all => 'Perl FCGI missing (libfcgi-perl)'
    unless eval { require FCGI; 1 };

my $pkg      = 'libapache2-mod-fcgix';
my $ns       = 'fx150';
my $conf     = 'fcgix-t150';
my $conf_av  = "/etc/apache2/conf-available/$conf.conf";
my $app_dir  = '/var/www/fcgix-t150';
my $url      = 'http://127.0.0.1/fcgix-t150/app.fcgi';
my $pidfile  = '/var/run/apache2/apache2.pid';
my $elog     = '/var/log/apache2/error.log';
my $policy   = '/usr/sbin/policy-rc.d';
my $policy_aside = "$policy.fcgix-t150";
my $systemd  = -d '/run/systemd/system';
my $dropin_d = '/run/systemd/system/apache2.service.d';
my $dropin   = "$dropin_d/fcgix-t150.conf";

my ($version) = slurp("$top/include/fcgix.h")
    =~ /^#define FCGIX_VERSION_NUMBER "([^"]+)"$/m;

# Runs a command; returns (exit status, stdout+stderr).
sub run {
    my @cmd = @_;
    my $out = '';
    if (open my $fh, '-|') {
        local $/;
        $out = <$fh> // '';
        close $fh;
    } else {
        open STDERR, '>&', \*STDOUT;
        $ENV{DEBIAN_FRONTEND} = 'noninteractive';
        { no warnings "exec"; exec @cmd; }
        POSIX::_exit(127);
    }
    return ($? >> 8, $out);
}

sub quiet { my ($rc) = run(@_); $rc }

sub apt {
    run('apt-get', '-y', '-q', '-o', 'Dpkg::Use-Pty=0',
        '-o', 'DPkg::Lock::Timeout=120', @_);
}

sub apache_pid {
    open my $fh, '<', $pidfile or return;
    my $p = <$fh> // return;
    chomp $p;
    return $p =~ /^\d+$/ && kill(0, $p) ? $p : undef;
}

# a2query -m: 0 enabled, 32 disabled by the administrator, 33 by a
# maintainer script, 1 never seen.
sub mod_state { my ($rc, $out) = run('a2query', '-m', $_[0]); ($rc, $out) }

# ---------------------------------------------------------------------
# (a) The machine's state, and its restoration whatever happens.

my ($running) = apache_pid();
if ($running || ($systemd && !quiet(qw(systemctl is-active --quiet
                                       apache2)))) {
    plan skip_all => 'the system apache2 is running (pid '
        . ($running // '?') . '): this test starts and stops it, and '
        . 'leaves a running one alone; stop it first';
}
{
    my ($rc, $out) = run('dpkg-query', '-W', '-f', '${Status}', $pkg);
    if ($rc == 0 && $out =~ /installed|config-files/) {
        plan skip_all => "$pkg is installed ($out): the test installs and "
            . "purges it; purge it first";
    }
}
# The enabled state of the modules, to put back; the way each was
# enabled (by a maintainer script or the administrator) too.
my (%was, %was_state);
for my $m (qw(fcgid fastcgi fcgix)) {
    my ($rc, $out) = mod_state($m);
    $was{$m} = $rc == 0 ? ($out =~ /maintainer/ ? 'maint' : 'admin') : '';
    $was_state{$m} = [$rc, $out];
}
my $had_policy = -e $policy;
my ($started, $armed);

sub apache_stop {
    return unless $started;
    if ($systemd) {
        quiet(qw(systemctl stop apache2));
    } else {
        quiet(qw(ip netns exec), $ns, qw(apache2ctl stop));
    }
    wait_until(20, sub { !apache_pid() }, 0.2);
    $started = 0;
}

sub restore {
    return unless $armed;
    $armed = 0;
    apache_stop();
    my ($rc, $out) = run('dpkg-query', '-W', '-f', '${Status}', $pkg);
    quiet('dpkg', '--purge', $pkg)
        if $rc == 0 && $out =~ /installed|config-files/;
    # -p: a2disconf forgets the conf too (no state in /var/lib/apache2/conf)
    quiet('a2disconf', '-p', '-f', '-q', $conf);
    unlink $conf_av;
    File::Path::rmtree($app_dir);
    # Each module as a2query saw it: enabled or disabled, by the
    # administrator or a maintainer script (-m), or never seen (-p).
    for my $m (qw(fcgid fastcgi)) {
        my ($rc, $out) = @{ $was_state{$m} };
        my ($now_rc, $now_out) = mod_state($m);
        next if $now_rc == $rc && $now_out eq $out;
        if ($rc == 0) {
            quiet('a2enmod', ($out =~ /maintainer/ ? '-m' : ()), '-q', $m);
        } elsif ($rc == 32 || $rc == 33) {
            quiet('a2dismod', ($rc == 33 ? '-m' : ()), '-q', $m);
        } else {
            quiet('a2dismod', '-p', '-f', '-q', $m);
        }
    }
    if ($had_policy && -e $policy_aside && !-e $policy) {
        rename $policy_aside, $policy;
    }
    if (-e $dropin) {
        unlink $dropin;
        rmdir $dropin_d;
        quiet(qw(systemctl daemon-reload));
    }
    quiet(qw(ip netns del), $ns) if -e "/run/netns/$ns";
}
$armed = 1;
END { restore() }
$SIG{INT} = $SIG{TERM} = sub { restore(); exit 1 };

# ---------------------------------------------------------------------
# The package and lintian.

ok(defined $version, "FCGIX_VERSION_NUMBER is $version");
{
    my ($rc, $out) = run("$top/scripts/package.sh", '--no-lintian',
                         "$top/build/deb");
    is($rc, 0, 'scripts/package.sh builds the package')
        or diag(substr $out, -4000);
}
my $deb = (glob("$top/build/deb/${pkg}_${version}_*.deb"))[0];
ok($deb && -f $deb, "build/deb/${pkg}_${version}_<arch>.deb")
    or BAIL_OUT('no package');
{
    my ($rc, $out) = run('dpkg-deb', '-f', $deb, 'Version');
    chomp $out;
    is($out, $version, 'the package version is FCGIX_VERSION_NUMBER');
    my ($changes) = glob("$top/build/deb/mod-fcgix_${version}_*.changes");
    ($rc, $out) = run('lintian', '--fail-on', 'error,warning', $changes);
    my @bad = grep { /^[EW]: / } split /\n/, $out;
    ok($rc == 0 && !@bad, 'lintian: no error, no warning')
        or diag($out);
}

# ---------------------------------------------------------------------
# The system's apache2 in a namespace of its own, with the test's app.

sub ns_get {
    my ($rc, $out) = run(qw(ip netns exec), $ns, 'perl', '-MHTTP::Tiny',
        '-e', 'my $r = HTTP::Tiny->new(timeout => 10)->get($ARGV[0]);'
            . ' print "$r->{status}\n$r->{content}"', $url);
    my ($status, $body) = split /\n/, $out, 2;
    return ($status // 0, $body // '');
}

# The pid of the application process that answers, within $secs.
sub served_pid {
    my ($secs) = @_;
    wait_until($secs, sub {
        my ($s, $b) = ns_get();
        return $s == 200 && $b =~ /^pid=(\d+)$/m ? $1 : undef;
    }, 0.2);
}

# Processes in the namespace other than apache2 itself: the process
# manager (fcgix-pm) and the application.
sub ns_others {
    my ($rc, $out) = run(qw(ip netns pids), $ns);
    my @o;
    for my $pid (split ' ', $out) {
        my $i = FcgixTest::proc_info($pid) or next;
        next if $i->{state} eq 'Z';
        my $exe = readlink("/proc/$pid/exe") // '?';
        next if $exe eq '/usr/sbin/apache2' && $i->{comm} ne 'fcgix-pm';
        push @o, "$pid $i->{comm} ($exe)";
    }
    return @o;
}

sub log_since {
    my ($mark) = @_;
    open my $fh, '<', $elog or return '';
    seek $fh, $mark, 0;
    local $/;
    return <$fh> // '';
}
sub count { my ($re, $text) = @_; my $n = () = $text =~ /$re/g; $n }
my $graceful_re = qr/AH00493: SIGUSR1 received/;
my $restart_re  = qr/AH00492: SIGHUP received/;

my $log_start = -s $elog || 0;

rename $policy, $policy_aside or die "$policy: $!" if $had_policy;
is(quiet(qw(ip netns add), $ns), 0, "network namespace $ns");
quiet(qw(ip -n), $ns, qw(link set lo up));
for my $m (qw(fcgid fastcgi)) {
    quiet('a2dismod', '-q', $m) if $was{$m};
}

File::Path::make_path($app_dir);
spew("$app_dir/app.fcgi", <<'EOF');
#!/usr/bin/perl
use strict;
use FCGI;
my $r = FCGI::Request();
while ($r->Accept() >= 0) {
    print "Content-Type: text/plain\r\n\r\npid=$$\n";
}
EOF
chmod 0755, "$app_dir/app.fcgi";
spew($conf_av, <<"EOF");
# t/150_package.t (removed at its end)
Alias /fcgix-t150 $app_dir
<Directory $app_dir>
    Options +ExecCGI
    <IfModule fcgid_module>
        SetHandler fcgid-script
        Require all granted
    </IfModule>
    <IfModule !fcgid_module>
        Require all denied
    </IfModule>
</Directory>
EOF
is(quiet('a2enconf', '-q', $conf), 0, "a2enconf $conf");

if ($systemd) {
    File::Path::make_path($dropin_d);
    spew($dropin, "[Service]\nNetworkNamespacePath=/run/netns/$ns\n");
    quiet(qw(systemctl daemon-reload));
    is(quiet(qw(systemctl start apache2)), 0, 'systemctl start apache2 '
       . "(in $ns)");
} else {
    is(quiet(qw(ip netns exec), $ns, qw(apache2ctl start)), 0,
       "apache2ctl start (in $ns)");
}
$started = 1;
my $parent = wait_until(15, sub { apache_pid() }, 0.1);
ok($parent, "apache2 runs (pid " . ($parent // '-') . ')')
    or BAIL_OUT('apache2 did not start');
my $st = wait_until(15, sub { (ns_get())[0] }, 0.2);
is($st, 403, 'without mod_fcgix the application is denied');

# ---------------------------------------------------------------------
# (d) Install with mod_fcgid disabled: enabled, reloaded gracefully.

my $mark = -s $elog || 0;
my ($rc, $out) = apt('install', $deb =~ m{^/} ? $deb : "./$deb");
is($rc, 0, "apt-get install $deb") or diag($out);
like($out, qr/apache2_invoke: Enable module fcgix/,
     'the postinst enabled fcgix through apache2_invoke');
ok(-l "/etc/apache2/mods-enabled/fcgix.$_", "mods-enabled/fcgix.$_")
    for qw(load conf);
like((mod_state('fcgix'))[1], qr/enabled by maintainer script/,
     'a2query: fcgix enabled by maintainer script');
my @files = grep { -f $_ || -l $_ } split /\n/, (run('dpkg', '-L', $pkg))[1];
ok(scalar(grep { m{/mod_fcgix\.so$} } @files),
   scalar(@files) . ' files installed, mod_fcgix.so among them');

# The postinst's reload, not the test's.
my $served = served_pid(20);
ok($served, "the application answers through mod_fcgix (pid "
   . ($served // '-') . ')') or diag(join ' ', ns_get());
my $log = log_since($mark);
is(count($graceful_re, $log), 1, 'the postinst reloaded apache2 gracefully');
is(count($restart_re, $log), 0, '... and did not restart it');
is(apache_pid(), $parent, 'apache2 parent pid unchanged');
ok(scalar(grep { /fcgix-pm/ } ns_others()), 'fcgix-pm runs')
    or diag(join ', ', ns_others());

# ---------------------------------------------------------------------
# (e) A graceful reload keeps the application.

$mark = -s $elog || 0;
is(quiet(qw(apache2ctl graceful)), 0, 'apache2ctl graceful');
ok(wait_until(15, sub { count($graceful_re, log_since($mark)) == 1 }, 0.1),
   'apache2 logged the graceful restart');
my $after = served_pid(15);
is($after, $served, 'the same application process answers');
is(apache_pid(), $parent, 'apache2 parent pid unchanged');

# The same package again (an upgrade's path through the postinst: fcgix
# is enabled already): a graceful reload, the application kept.

$mark = -s $elog || 0;
($rc, $out) = apt('install', '--reinstall',
                  $deb =~ m{^/} ? $deb : "./$deb");
is($rc, 0, 'apt-get install --reinstall') or diag($out);
like($out, qr/apache2_invoke fcgix: already enabled/,
     'the postinst found fcgix enabled');
$log = log_since($mark);
is(count($graceful_re, $log), 1, 'the postinst reloaded apache2 gracefully');
is(count($restart_re, $log), 0, '... and did not restart it');
$after = served_pid(15);
is($after, $served, 'the same application process answers');
is(apache_pid(), $parent, 'apache2 parent pid unchanged');

# ---------------------------------------------------------------------
# (f) Remove: disabled, reloaded gracefully, the processes go.

$mark = -s $elog || 0;
($rc, $out) = apt('remove', $pkg);
is($rc, 0, "apt-get remove $pkg") or diag($out);
ok(!-e "/etc/apache2/mods-enabled/fcgix.$_", "no mods-enabled/fcgix.$_")
    for qw(load conf);
$log = log_since($mark);
is(count($graceful_re, $log), 1, 'the prerm reloaded apache2 gracefully');
is(count($restart_re, $log), 0, '... and did not restart it');
is(apache_pid(), $parent, 'apache2 parent pid unchanged');
$st = wait_until(15, sub { my ($x) = ns_get(); $x == 403 ? $x : undef },
                 0.2);
is($st, 403, 'the application is no longer run (denied)');
my $gone = wait_until(30, sub { !ns_others() }, 0.2);
ok($gone, 'no fcgix-pm and no application process within 30 s')
    or diag(join ', ', ns_others());
ok(!glob('/usr/lib/apache2/modules/mod_fcgix*'), 'the modules are gone');

# ---------------------------------------------------------------------
# (g) Purge: nothing of it left.

sub clean_ok {
    my ($what) = @_;
    my ($rc, $out) = run('dpkg-query', '-W', '-f', '${Status}', $pkg);
    ok($rc != 0 || $out !~ /installed|config-files/,
       "$what: dpkg knows no $pkg") or diag($out);
    my @left = grep { -e $_ || -l $_ } @files;
    ok(!@left, "$what: none of the package's files is left")
        or diag("@left");
    @left = (glob('/etc/apache2/mods-available/fcgix.*'),
             glob('/etc/apache2/mods-enabled/fcgix.*'),
             glob('/var/lib/apache2/module/*/fcgix'),
             glob('/usr/lib/apache2/modules/mod_fcgix*'),
             grep { -e $_ } '/run/apache2/fcgix');
    ok(!@left, "$what: no fcgix file under /etc/apache2, "
       . '/var/lib/apache2/module, /usr/lib/apache2/modules, /run/apache2')
        or diag("@left");
    ok(!ns_others(), "$what: no process of it")
        or diag(join ', ', ns_others());
}

($rc, $out) = apt('purge', $pkg);
is($rc, 0, "apt-get purge $pkg") or diag($out);
clean_ok('purge');

# ---------------------------------------------------------------------
# (h) With mod_fcgid enabled: installed, not enabled, explained.

SKIP: {
    skip 'mod_fcgid not installed', 9
        unless -e '/etc/apache2/mods-available/fcgid.load';
    is(quiet(qw(a2enmod -q fcgid)), 0, 'a2enmod fcgid');
    ($rc, $out) = apt('install', $deb =~ m{^/} ? $deb : "./$deb");
    is($rc, 0, "apt-get install with mod_fcgid enabled succeeds")
        or diag($out);
    ok(!-e '/etc/apache2/mods-enabled/fcgix.load', 'fcgix is not enabled');
    isnt((mod_state('fcgix'))[0], 0, 'a2query: fcgix not enabled');
    like($out, qr/module fcgix NOT enabled: module fcgid is enabled/,
         'the postinst says why');
    like($out, qr/a2dismod fcgid; a2enmod fcgix; systemctl reload apache2/,
         '... and how to switch');
    @files = grep { -f $_ || -l $_ } split /\n/, (run('dpkg', '-L', $pkg))[1];
    ($rc, $out) = apt('purge', $pkg);
    is($rc, 0, "apt-get purge $pkg") or diag($out);
    clean_ok('purge after install beside mod_fcgid');
    is(quiet(qw(a2dismod -q fcgid)), 0, 'a2dismod fcgid');
}

# ---------------------------------------------------------------------
# (i), (j) apache2's log; stop it (restore() puts the rest back).

apache_stop();
ok(!apache_pid(), 'apache2 stopped');
ok(!ns_others(), "no process left in $ns") or diag(join ', ', ns_others());
my $written = log_since($log_start);
my @bad = grep { /\[fcgix:(?:error|crit|alert|emerg|warn)\]/ }
          split /\n/, $written;
ok(!@bad, "no [fcgix:error/crit/alert/emerg/warn] in $elog")
    or diag(join "\n", @bad);
# What it wrote, where t/999_error_log.t reads the logs of the httpds
# tests start themselves (nothing of it is expected: no %LOG_OWN entry).
my $copy = Apache::Test::vars('t_logs') . '/t150_system/logs';
File::Path::make_path($copy);
spew("$copy/error_log", $written);

done_testing();
