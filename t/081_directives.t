# Drop-in (issue 7): every directive of mod_fcgid (its deprecated names
# included) and of mod_fastcgi (aliases included, every option of
# FastCgiServer, FastCgiExternalServer and FastCgiConfig), as listed in
# ANCHORS.md §2a/§2b, with valid values, is accepted by `apache2 -t`.
# Debian's own /etc/apache2/mods-available/fcgid.conf is part of the
# configuration, as it is (mod_fcgix answers to <IfModule mod_fcgid.c>)
# and unwrapped.
#
# The configurations are generated into t/logs/dropin/081/: all.conf (all
# at once, in the order users write them) and one small configuration per
# directive or option (item-NNN.conf), so a rejected one is named exactly.
# Then bad input: an unknown option or a bad value must stop httpd with an
# error that names the directive (or the option and its value).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Copy ();
use File::Path ();
use File::Spec::Functions qw(catfile);
use POSIX ();
use Test::More;

my $t       = Apache::Test::vars('serverroot');    # .../t
my $logs    = Apache::Test::vars('t_logs');
my $httpd   = Apache::Test::vars('httpd');
my $libexec = Apache::Test::vars('fcgix_libexecdir')
              || '/usr/lib/apache2/modules';
my $work    = catfile($logs, 'dropin', '081');
my $debian  = '/etc/apache2/mods-available/fcgid.conf';

plan skip_all => "no mod_fcgix build (../.libs/mod_fcgix.so)"
    unless -e "$t/../.libs/mod_fcgix.so";

File::Path::remove_tree($work);
File::Path::make_path("$work/apps", "$work/d");

# Real files for the applications (mod_fastcgi wanted them at start).
my $testapp = "$t/apps/fcgix_testapp";
my %app;
for my $n (qw(app srv1 srv2 srv3 srv4 auth)) {
    $app{$n} = "$work/apps/$n.fcgi";
    File::Copy::copy($testapp, $app{$n}) or die "copy $testapp: $!";
    chmod 0755, $app{$n};
}
my $wrapper = -x '/usr/bin/php-cgi' ? '/usr/bin/php-cgi' : $app{app};
my $ext1 = "$work/d/ext1.fcgi";
my $ext2 = "$work/d/ext2.fcgi";
my $mpm = -e "$libexec/mod_mpm_event.so" ? 'mpm_event' : 'mpm_prefork';

sub base_conf {
    join "\n",
        qq{ServerRoot "$t"},
        qq{ServerName 127.0.0.1},
        qq{Listen 127.0.0.1:80},
        qq{PidFile "$work/httpd.pid"},
        qq{ErrorLog "$work/error_log"},
        qq{DefaultRuntimeDir "$work"},
        qq{LoadModule ${mpm}_module "$libexec/mod_$mpm.so"},
        qq{LoadModule authz_core_module "$libexec/mod_authz_core.so"},
        qq{LoadModule mime_module "$libexec/mod_mime.so"},
        qq{LoadModule fcgix_module ../.libs/mod_fcgix.so},
        '';
}

# ---------------------------------------------------------------------
# The directives: [context, line].  S: server, V: <VirtualHost>,
# D: <Directory>.  Values are mod_fcgid's / mod_fastcgi's defaults or
# typical ones.

my @fcgid = (
    # mod_fcgid, current names (ANCHORS.md §2a)
    [S => 'FcgidIPCDir', qq{"$work/fcgidsock"}],
    [S => 'FcgidProcessTableFile', qq{"$work/fcgid_shm"}],
    [S => 'FcgidMaxProcesses', '1000'],
    [S => 'FcgidBusyScanInterval', '120'],
    [S => 'FcgidErrorScanInterval', '3'],
    [S => 'FcgidIdleScanInterval', '120'],
    [S => 'FcgidZombieScanInterval', '3'],
    [S => 'FcgidSpawnScore', '1'],
    [S => 'FcgidSpawnScoreUpLimit', '10'],
    [S => 'FcgidTerminationScore', '2'],
    [S => 'FcgidTimeScore', '1'],
    [S => 'FcgidWin32PreventOrphans', 'Off'],
    [S => 'FcgidFixPathinfo', '1'],
    map({ ([S => @$_], [V => @$_]) }
        ['FcgidBusyTimeout', '300'],
        ['FcgidCmdOptions', qq{"$app{app}" ConnectTimeout 3 IdleTimeout 300 }
            . 'InitialEnv CMD_ENV=cmd-value IOTimeout 40 MaxProcesses 10 '
            . 'MaxProcessLifeTime 3600 MaxRequestsPerProcess 500 '
            . 'MinProcesses 1'],
        ['FcgidConnectTimeout', '3'],
        ['FcgidIdleTimeout', '300'],
        ['FcgidInitialEnv', 'FCGID_ENV "a value"'],
        ['FcgidInitialEnv', 'FCGID_ENV_NO_VALUE'],
        ['FcgidIOTimeout', '40'],
        ['FcgidMaxProcessesPerClass', '100'],
        ['FcgidMaxRequestInMem', '65536'],
        ['FcgidMaxRequestLen', '131072'],
        ['FcgidMaxRequestsPerProcess', '-1'],
        ['FcgidMinProcessesPerClass', '3'],
        ['FcgidOutputBufferSize', '65536'],
        ['FcgidPassHeader', 'Authorization'],
        ['FcgidProcessLifeTime', '3600'],
        ['FcgidWrapper', "$wrapper .php"]),
    [D => 'FcgidWrapper', qq{"$wrapper" .php virtual}],
    [D => 'FcgidAuthenticator', qq{"$app{auth}"}],
    [D => 'FcgidAuthenticatorAuthoritative', 'Off'],
    [D => 'FcgidAuthorizer', qq{"$app{auth}"}],
    [D => 'FcgidAuthorizerAuthoritative', 'On'],
    [D => 'FcgidAccessChecker', qq{"$app{auth}"}],
    [D => 'FcgidAccessCheckerAuthoritative', 'Off'],
    # mod_fcgid, deprecated names (mod_fcgid.c:830-918)
    [S => 'BusyScanInterval', '120'],
    [S => 'BusyTimeout', '300'],
    [S => 'DefaultInitEnv', 'LEGACY_ENV legacy-value'],
    [S => 'DefaultMaxClassProcessCount', '100'],
    [S => 'DefaultMinClassProcessCount', '3'],
    [S => 'ErrorScanInterval', '3'],
    [S => 'FCGIWrapper', "$wrapper .php"],
    [S => 'IdleScanInterval', '120'],
    [S => 'IdleTimeout', '300'],
    [S => 'IPCCommTimeout', '40'],
    [S => 'IPCConnectTimeout', '3'],
    [S => 'MaxProcessCount', '1000'],
    [S => 'MaxRequestInMem', '65536'],
    [S => 'MaxRequestLen', '131072'],
    [S => 'MaxRequestsPerProcess', '0'],
    [S => 'OutputBufferSize', '65536'],
    [S => 'PassHeader', 'Authorization'],
    [S => 'PHP_Fix_Pathinfo_Enable', '1'],
    [S => 'ProcessLifeTime', '3600'],
    [S => 'SharememPath', qq{"$work/fcgid_shm"}],
    [S => 'SocketPath', qq{"$work/fcgidsock"}],
    [S => 'SpawnScore', '1'],
    [S => 'SpawnScoreUpLimit', '10'],
    [S => 'TerminationScore', '2'],
    [S => 'TimeScore', '1'],
    [S => 'ZombieScanInterval', '3'],
    # the six FastCgi* names mod_fcgid took over (TAKE1 there)
    [D => 'FastCgiAuthenticator', qq{"$app{auth}"}],
    [D => 'FastCgiAuthenticatorAuthoritative', 'Off'],
    [D => 'FastCgiAuthorizer', qq{"$app{auth}"}],
    [D => 'FastCgiAuthorizerAuthoritative', 'Off'],
    [D => 'FastCgiAccessChecker', qq{"$app{auth}"}],
    [D => 'FastCgiAccessCheckerAuthoritative', 'Off'],
);

# mod_fastcgi's options (ANCHORS.md §2b), each with a valid value
my @srv_opts = ('-appConnTimeout 5', '-idle-timeout 30',
    '-initial-env SRV_A=1', '-initial-env SRV_EMPTY=',
    '-initial-env PATH', '-init-start-delay 1', '-flush',
    '-listen-queue-depth 100', '-min-server-life 30', '-nph',
    '-pass-header Authorization', '-priority 5', '-processes 2',
    '-restart-delay 5', '-socket srv1.sock', '-user nobody -group nogroup');
my @ext_opts = ('-appConnTimeout 5', '-idle-timeout 30', '-flush', '-nph',
    '-pass-header Authorization', '-user nobody -group nogroup');
my @cfg_opts = ('-appConnTimeout 10', '-idle-timeout 30',
    '-initial-env CFG_A=1', '-initial-env CFG_EMPTY=', '-initial-env PATH',
    '-init-start-delay 1', '-flush', '-listen-queue-depth 100',
    '-min-server-life 30', '-pass-header Authorization', '-restart-delay 5',
    '-maxProcesses 50', '-minProcesses 5', '-maxClassProcesses 10',
    '-killInterval 300', '-updateInterval 300', '-gainValue 0.5',
    '-singleThreshold 0', '-singleThreshhold 0', '-multiThreshold 50',
    '-multiThreshhold 50', '-startDelay 3', '-processSlack 5', '-restart',
    '-autoUpdate');

my @fastcgi = (
    [S => 'FastCgiIpcDir', qq{"$work/fastcgi"}],
    [S => 'FastCgiWrapper', 'On'],
    [S => 'FastCgiWrapper', 'Off'],
    [S => 'FastCgiWrapper', '/usr/lib/apache2/suexec'],
    [S => 'FastCgiSuexec', 'Off'],
    [S => 'FastCgiConfig', join ' ', @cfg_opts],
    [S => 'FCGIConfig', '-maxClassProcesses 8 -singleThreshhold 10 '
        . '-multiThreshhold 60'],
    [S => 'FastCgiServer', qq{"$app{srv1}" } . join ' ', @srv_opts],
    [S => 'AppClass', qq{"$app{srv2}" -port 9123 -processes 1}],
    [V => 'FastCgiServer', qq{"$app{srv3}" -processes 1 -initial-env V=1}],
    [S => 'FastCgiExternalServer', qq{"$ext1" -host 127.0.0.1:9124 }
        . join ' ', @ext_opts],
    [S => 'ExternalAppClass', qq{"$ext2" -socket ext2.sock}],
    [V => 'FastCgiExternalServer', qq{"$work/d/ext3.fcgi" -socket }
        . qq{"$work/ext3.sock" -idle-timeout 10}],
    [S => 'FastCgiExternalServer', qq{"$app{auth}" -socket }
        . qq{"$work/auth.sock"}],
    [D => 'FastCgiAuthenticator', qq{"$app{auth}" -compat}],
    [D => 'FastCgiAuthorizer', qq{"$app{auth}" -compat}],
    [D => 'FastCgiAccessChecker', qq{"$app{auth}" -compat}],
    [D => 'FastCgiAuthenticatorAuthoritative', 'On'],
    [D => 'FastCgiAuthorizerAuthoritative', 'On'],
    [D => 'FastCgiAccessCheckerAuthoritative', 'On'],
);

# One item per option too, so that a rejected option is named.
my @options = (
    (map { [S => 'FastCgiServer', qq{"$app{srv4}" $_}, $_] } @srv_opts,
         '-port 9125'),
    (map { [S => 'FastCgiExternalServer',
            qq{"$work/d/one.fcgi" -socket "$work/one.sock" $_}, $_] }
         @ext_opts, '-host 127.0.0.1:9126'),
    (map { [S => 'FastCgiConfig', $_, $_] } @cfg_opts),
);

# Debian's fcgid.conf, also with its <IfModule mod_fcgid.c> wrapper taken
# off (so that its directives are parsed even if that section were
# skipped)
my ($debian_raw, $debian_conf);
if (-r $debian) {
    open my $fh, '<', $debian or die "$debian: $!";
    local $/;
    $debian_raw = <$fh>;
    my ($depth, $cut, @out) = (0, undef);
    for my $l (split /\n/, $debian_raw) {
        if ($l =~ m{^\s*<IfModule\b}i) {
            $depth++;
            if (!defined $cut && $l =~ m{<IfModule\s+mod_fcgid\.c\s*>}i) {
                $cut = $depth;
                next;
            }
        }
        elsif ($l =~ m{^\s*</IfModule>}i) {
            if (defined $cut && $depth == $cut) {
                $depth--;
                $cut = -1;
                next;
            }
            $depth--;
        }
        push @out, $l;
    }
    $debian_conf = join("\n", @out) . "\n";
    write_file("$work/debian-fcgid.conf", $debian_conf);
}

# ---------------------------------------------------------------------

sub write_file {
    my ($f, $text) = @_;
    open my $fh, '>', $f or die "$f: $!";
    print $fh $text;
    close $fh or die "$f: $!";
}

sub in_context {
    my ($ctx, @lines) = @_;
    my $body = join '', map { "    $_\n" } @lines;
    return join('', map { "$_\n" } @lines) if $ctx eq 'S';
    return "<VirtualHost 127.0.0.1:80>\n    ServerName v.example\n$body"
         . "</VirtualHost>\n" if $ctx eq 'V';
    return qq{<Directory "$work/d">\n$body</Directory>\n};
}

# apache2 -t -f $conf: (exit code, signal, output)
sub syntax {
    my ($conf) = @_;
    my $pid = open my $fh, '-|';
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        # no core file in the tree (Apache::TestRun reports any it finds)
        chdir $work;
        exec '/bin/sh', '-c', 'ulimit -c 0; exec "$0" -t -f "$1"',
            $httpd, $conf or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    my $st = $?;
    return ($st >> 8, $st & 127, $out);
}

sub syntax_ok {
    my ($conf, $name) = @_;
    my ($rc, $sig, $out) = syntax($conf);
    my $ok = ok($rc == 0 && !$sig && $out =~ /^Syntax OK$/m, $name);
    unless ($ok) {
        $out =~ s/^apache2: Could not open configuration file.*\n//mg;
        diag("apache2 -t -f $conf: exit $rc"
             . ($sig ? ", killed by signal $sig" : '') . "\n$out");
    }
    $ok;
}

my $n = 0;
sub item_conf {
    my ($text) = @_;
    my $f = sprintf '%s/item-%03d.conf', $work, ++$n;
    write_file($f, base_conf() . $text);
    $f;
}

# ---------------------------------------------------------------------
# 1. Everything at once, in the order users write it.

{
    my (%by, @full);
    push @{ $by{$_->[0]} }, "$_->[1] $_->[2]" for @fcgid, @fastcgi;
    my $text = in_context('S', @{ $by{S} })
             . in_context('V', @{ $by{V} })
             . in_context('D', @{ $by{D} });
    $text .= qq{Include "$work/debian-fcgid.conf"\n} if defined $debian_conf;
    my $f = "$work/all.conf";
    write_file($f, base_conf() . $text);
    my $count = @fcgid + @fastcgi;
    syntax_ok($f, "all $count mod_fcgid/mod_fastcgi directive lines "
              . "together (t/logs/dropin/081/all.conf): Syntax OK");
}

# 2. One by one.

for my $d (@fcgid, @fastcgi) {
    my ($ctx, $name, $args) = @$d;
    my $where = { S => 'server', V => 'virtual host',
                  D => 'directory' }->{$ctx};
    my $f = item_conf(in_context($ctx, "$name $args"));
    syntax_ok($f, "$name ($where): accepted");
}
for my $o (@options) {
    my ($ctx, $name, $args, $opt) = @$o;
    my $f = item_conf(in_context($ctx, "$name $args"));
    syntax_ok($f, "$name option $opt: accepted");
}

# 3. Order: FastCgiConfig before the servers, as mod_fastcgi users write it.
{
    my $f = item_conf(in_context('S', 'FastCgiConfig -maxProcesses 50',
        qq{FastCgiExternalServer "$ext1" -socket "$work/x.sock"}));
    syntax_ok($f, 'FastCgiConfig -maxProcesses 50, then '
              . 'FastCgiExternalServer: Syntax OK (no crash)');
    $f = item_conf(in_context('S', 'FastCgiConfig -maxClassProcesses 4',
        qq{FastCgiServer "$app{srv1}" -processes 1},
        qq{FastCgiExternalServer "$ext1" -socket "$work/x.sock"}));
    syntax_ok($f, 'FastCgiConfig -maxClassProcesses 4, then '
              . 'FastCgiServer and FastCgiExternalServer: Syntax OK');
}

# 4. Debian's fcgid.conf
SKIP: {
    skip "$debian not installed (libapache2-mod-fcgid)", 3
        unless defined $debian_conf;
    my $f = item_conf(qq{Include "$debian"\n});
    syntax_ok($f, "$debian included as it is: Syntax OK");
    like($debian_conf, qr/^\s*Fcgid\w+/m,
         "$debian has Fcgid* directives") or diag($debian_raw);
    $f = item_conf(qq{Include "$work/debian-fcgid.conf"\n});
    syntax_ok($f, "$debian without its <IfModule mod_fcgid.c>: "
              . 'Syntax OK');
}

# 4b. The old modules' names answer <IfModule>: such sections are read.
{
    my $f = item_conf(join '',
        qq{<IfModule mod_fcgid.c>\n    Define FCGIX_SAW_FCGID\n</IfModule>\n},
        qq{<IfModule mod_fastcgi.c>\n    Define FCGIX_SAW_FASTCGI\n}
        . qq{</IfModule>\n},
        qq{<IfModule !mod_fcgid.c>\n    Define FCGIX_NOT_FCGID\n}
        . qq{</IfModule>\n});
    my $pid = open my $fh, '-|';
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        chdir $work;
        exec $httpd, '-t', '-D', 'DUMP_RUN_CFG', '-f', $f
            or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    like($out, qr/^Define: FCGIX_SAW_FCGID$/m,
         '<IfModule mod_fcgid.c> sections are read with mod_fcgix loaded')
        or diag($out);
    like($out, qr/^Define: FCGIX_SAW_FASTCGI$/m,
         '<IfModule mod_fastcgi.c> sections are read too');
    unlike($out, qr/FCGIX_NOT_FCGID/,
           '<IfModule !mod_fcgid.c> sections are skipped');
}

# ---------------------------------------------------------------------
# 5. Bad input: refused, with an error that names the directive (or the
# option and the value), on the right line.

my @bad = (
    [qq{FastCgiServer "$app{srv1}" -no-such-option 1},
     qr/FastCgiServer.*-no-such-option/],
    [qq{FastCgiExternalServer "$ext1" -socket "$work/x.sock" -no-such-option},
     qr/FastCgiExternalServer.*-no-such-option/],
    [qq{FastCgiConfig -no-such-option 1}, qr/FastCgiConfig.*-no-such-option/],
    [qq{FastCgiExternalServer "$ext1" -idle-timeout 5},
     qr/FastCgiExternalServer/],
    [qq{FastCgiExternalServer "$ext1" -host 127.0.0.1:99999},
     qr/FastCgiExternalServer.*99999/],
    [qq{FastCgiServer "$app{srv1}" -processes many},
     qr/FastCgiServer.*-processes/],
    [qq{FastCgiServer "$app{srv1}" -idle-timeout -3}, qr/-idle-timeout.*-3/],
    [qq{FastCgiConfig -maxClassProcesses many},
     qr/FastCgiConfig.*-maxClassProcesses|-maxClassProcesses.*many/],
    [qq{FastCgiConfig -appConnTimeout soon},
     qr/FastCgiConfig.*-appConnTimeout|-appConnTimeout.*soon/],
    [qq{FastCgiWrapper maybe}, qr/FastCgiWrapper/],
    # a virtual host's own variables travel to the process manager in one
    # 2048-byte message: more is refused (it was dropped without a word)
    ["<VirtualHost *:80>\nFcgidInitialEnv BIG_A " . ('a' x 1000)
     . "\nFcgidInitialEnv BIG_B " . ('b' x 1000)
     . "\nFcgidInitialEnv BIG_C " . ('c' x 100) . "\n</VirtualHost>",
     qr/FcgidInitialEnv BIG_C: the initial environment of this virtual host is too large \(2048 bytes in all\)/,
     1],
    # one application's own variables likewise, and the message says
    # how much fits
    [qq{FastCgiServer "$app{srv1}" -initial-env BIG_A=} . ('a' x 1500)
     . ' -initial-env BIG_B=' . ('b' x 600),
     qr/initial environment too large \(2048 bytes per application\)/],
    [qq{FcgidMaxProcesses many}, qr/FcgidMaxProcesses.*many/],
    [qq{FcgidIOTimeout soon}, qr/FcgidIOTimeout.*soon/],
    [qq{FcgidMaxRequestLen -5}, qr/FcgidMaxRequestLen/],
    [qq{FcgidFixPathinfo 2}, qr/FcgidFixPathinfo/],
    [qq{FcgidCmdOptions "$app{app}" NoSuchOption 1},
     qr/FcgidCmdOptions.*NoSuchOption/],
    [qq{FcgidWrapper /nonexistent/php-cgi .php},
     qr/FcgidWrapper.*nonexistent/],
    [qq{FcgidWrapper "$wrapper" php}, qr/FcgidWrapper.*php/],
    # httpoxy: a passed "Proxy:" would become HTTP_PROXY
    [qq{FastCgiExternalServer "$ext1" -socket "$work/x.sock" }
     . qq{-pass-header Proxy},
     qr/FastCgiExternalServer -pass-header: the header 'Proxy'.*httpoxy/],
    [qq{FastCgiServer "$app{srv1}" -pass-header proxy},
     qr/FastCgiServer -pass-header: the header 'proxy'.*httpoxy/],
    [qq{FastCgiConfig -pass-header PROXY},
     qr/FastCgiConfig: the header 'PROXY'.*httpoxy/],
    [qq{FcgixExternalServer "$ext1" unix:$work/x.sock pass-header=Proxy},
     qr/FcgixExternalServer: the header 'Proxy'.*httpoxy/],
    [qq{FcgixServer "$app{srv1}" pass-header=Proxy},
     qr/FcgixServer: the header 'Proxy'.*httpoxy/],
    [qq{FcgixPassHeader Authorization Proxy},
     qr/FcgixPassHeader: the header 'Proxy'.*httpoxy/],
    [qq{FcgidPassHeader Proxy}, qr/FcgidPassHeader: the header 'Proxy'/],
    # an application as root: refused by `apache2 -t` already, with or
    # without FastCgiWrapper (it may be switched on later), by name or id
    [qq{FastCgiServer "$app{srv1}" -user root -group root},
     qr/FastCgiServer \Q$app{srv1}\E: refusing to run an application as root/],
    [qq{FastCgiWrapper On\nFastCgiServer "$app{srv1}" -user root},
     qr/FastCgiServer .*as root \(-user root, -group -: uid 0\)/],
    [qq{FastCgiServer "$app{srv1}" -user nobody -group root},
     qr/FastCgiServer .*as root \(-user nobody, -group root: gid 0\)/],
    [qq{FastCgiServer "$app{srv1}" -group "#0"},
     qr/FastCgiServer .*as root .*gid 0/],
    [qq{AppClass "$app{srv1}" -user "#0" -group nogroup},
     qr/AppClass .*as root \(-user #0, -group nogroup: uid 0\)/],
);
for my $b (@bad) {
    my ($line, $re, $after) = @$b;    # $after: lines past the bad one
    my $f = item_conf("# a bad line\n$line\n");
    my ($rc, $sig, $out) = syntax($f);
    my $lineno = () = base_conf() =~ /\n/g;
    $lineno += 2 + (() = $line =~ /\n/g) - ($after // 0);
    ok($rc != 0 && !$sig
       && $out =~ /Syntax error on line $lineno of \Q$f\E/
       && $out =~ $re,
       "refused with a clear error: $line")
        or diag("exit $rc" . ($sig ? " signal $sig" : '') . ":\n$out");
}

# ... while the main server's variables, which reach every application
# through the process manager's own environment, have no such bound
syntax_ok(item_conf("FcgidInitialEnv BIG_A " . ('a' x 1000)
                    . "\nFcgidInitialEnv BIG_B " . ('b' x 1000)
                    . "\nFcgidInitialEnv BIG_C " . ('c' x 100) . "\n"),
          'FcgidInitialEnv: 2.1 KiB in the main server: Syntax OK');

# ... while an identity that is not root passes
syntax_ok(item_conf(qq{FastCgiWrapper On\n}
                    . qq{FastCgiServer "$app{srv1}" -user nobody }
                    . qq{-group nogroup\n}),
          'FastCgiServer -user nobody -group nogroup: Syntax OK');

done_testing();
