# Spawned applications (issue 3): mod_fcgix starts FastCGI applications
# itself.  Four real applications (php-cgi, Perl FCGI, libfcgi, the C test
# app), each through AddHandler fastcgi-script, AddHandler fcgid-script and
# SetHandler: spawned on the first request (not before, and only one),
# reused, run as httpd's User in a clean environment, each with its own
# socket in the private IPC directory.  FastCgiServer -processes 2 and
# FcgixServer processes=1 run before their first request.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Spec::Functions qw(catfile);
use Test::More;
use FcgixTest;
use FcgixPM;

my $user = Apache::Test::vars('user');
my $uid = getpwnam($user);
my $have_php = -x '/usr/bin/php-cgi';
my $have_lib = pm_have('libfcgi.fcgi');
diag('php-cgi not installed: its cases are skipped') unless $have_php;
diag('libfcgi.fcgi not built: its cases are skipped') unless $have_lib;

my $pm = pm_wait_until(10, sub { pm_pm_pid() });
ok($pm, 'the process manager runs (a root child of the httpd parent)');
$pm //= -1;

sub procs_ok {
    my ($name, $path, $want, $pmpid) = @_;
    $pmpid //= $pm;
    my @p;
    pm_wait_until(10, sub { @p = pm_procs($path); @p == $want });
    is(scalar @p, $want, "$name: $want process(es) running $path")
        or diag("pids: @p");
    my @bad = grep {
        my $i = pm_proc_info($_);
        !$i || $i->{ppid} != $pmpid || ($i->{uid} // -1) != $uid
    } @p;
    ok(!@bad, "$name: children of the process manager, running as "
              . "$user (uid $uid)")
        or diag(join ', ', map { my $i = pm_proc_info($_) || {};
                                 "pid $_ ppid " . ($i->{ppid} // '?')
                                 . " uid " . ($i->{uid} // '?') } @bad);
    @p;
}

# ---------------------------------------------------------------------
# Static applications, in an httpd of their own (t/logs/pmstatic): running
# before any request reaches them.

my $docroot = pm_docroot();
my $srv = pm_app_path('srv', 'app.pl');
my $native = pm_app_path('srv', 'native.pl');
my $static_conf = <<"EOC";
FcgixInitialEnv PM_GLOBAL pm-global-value
FastCgiServer "$srv" -processes 2 -initial-env PM_STATIC=static-value -restart-delay 1 -socket ignored.sock -priority 5 -listen-queue-depth 10
FcgixServer "$native" processes=1 env=PM_STATIC=native-value restart-delay=1
EOC
my $h = eval { pm_own_httpd(name => 'pmstatic', body => $static_conf) };
ok($h, 'an httpd of its own with FastCgiServer/FcgixServer starts')
    or diag($@);
SKIP: {
    skip 'no static httpd', 11 unless $h;
    my $spm = pm_wait_until(10, sub { pm_pm_pid($h->{pid}) }) // -1;
    my @s = procs_ok('FastCgiServer -processes 2 (before any request)',
                     $srv, 2, $spm);
    my @n = procs_ok('FcgixServer processes=1 (before any request)',
                     $native, 1, $spm);
    my %pre = map { $_ => 1 } @s;
    my (%seen, $r);
    for (1 .. 4) {
        $r = pm_get(port => $h->{port}, path => '/pm/srv/app.pl?static');
        last unless $r->{status} == 200;
        $seen{ $r->{kv}{pid} // '?' }++;
    }
    is($r->{status}, 200, 'FastCgiServer: requests are served')
        or diag(pm_brief($r));
    ok(keys %seen && !grep({ !$pre{$_} } keys %seen),
       'FastCgiServer: served by the processes started at boot')
        or diag("served by: @{[ sort keys %seen ]}; started: @s");
    is($r->{kv}{static}, 'static-value',
       'FastCgiServer: -initial-env reaches the application');
    is($r->{kv}{global}, 'pm-global-value',
       'FastCgiServer: FcgixInitialEnv reaches the application');
    $r = pm_get(port => $h->{port}, path => '/pm/srv/native.pl');
    ok($r->{status} == 200 && @n && ($r->{kv}{pid} // '') eq $n[0]
       && ($r->{kv}{static} // '') eq 'native-value',
       'FcgixServer: served by its boot process, env= reaches it')
        or diag(pm_brief($r) . " started: @n");

    # an exited static process is replaced (-restart-delay 1)
    my @now;
    if (@s == 2) {
        kill 'TERM', $s[0];
        pm_wait_until(15, sub {
            @now = pm_procs($srv);
            @now == 2 && !grep { $_ == $s[0] } @now;
        });
    }
    ok(@now == 2 && !grep({ $_ == $s[0] } @now),
       'FastCgiServer: a process that ended is replaced, 2 again')
        or diag("before: @s, now: @now");
    pm_own_httpd_stop($h);
    my $gone = pm_wait_until(10, sub { !pm_procs($srv) && !pm_procs($native) });
    ok($gone, 'static applications end with their httpd');
}

# A <VirtualHost> without mod_fcgix directives before a FastCgiServer line
# (as happens when t/conf/*.conf files are combined): the configuration
# must load.  mod_fcgix's duplicate check walks the virtual hosts' configs,
# which httpd creates only for hosts that use one of the module's
# directives.
{
    my $root = catfile(Apache::Test::vars('t_logs'), 'pmstatic');
    my $conf = "$root/conf/vhost-first.conf";
    my $port = pm_free_port();
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh pm_own_httpd_conf(root => $root, port => $port, body => <<"EOC");
<VirtualHost 127.0.0.1:$port>
    ServerName vhost-first.invalid
</VirtualHost>
FastCgiServer "$srv" -processes 1
EOC
    close $fh;
    my $httpd = Apache::Test::vars('httpd');
    my $out = `ulimit -c 0; $httpd -t -f $conf 2>&1`;
    my $st = $?;
    ok($st == 0 && $out =~ /Syntax OK/,
       'FastCgiServer after a <VirtualHost> without mod_fcgix directives: '
       . 'the configuration loads')
        or diag(sprintf "apache2 -t: exit %d signal %d: %s", $st >> 8,
                $st & 127, $out);
}

# ---------------------------------------------------------------------
# Dynamic applications: one class per file and handler.

my @apps = (
    ['perl',    'app.pl',       1],
    ['php',     'app.php',      $have_php],
    ['libfcgi', 'libfcgi.fcgi', $have_lib],
    ['testapp', 'testapp.fcgi', 1],
);
my @handlers = (
    ['AddHandler fastcgi-script', ''],
    ['AddHandler fcgid-script', 'fcgid'],
    ['SetHandler fastcgi-script', 'sethandler'],
);
my @cold;
# The environment of spawned applications: PATH and the FcgixInitialEnv
# names of the whole configuration (other t/conf/*.conf files add theirs),
# nothing of httpd's own environment.
my %allowed_env = map { $_ => 1 } qw(PATH PM_GLOBAL);
for my $f (glob catfile(Apache::Test::vars('t_conf'), '*.conf')) {
    open my $fh, '<', $f or next;
    while (my $l = <$fh>) {
        $allowed_env{$1} = 1
            if $l =~ /^\s*Fc(?:gix|gid)InitialEnv\s+"?([^\s"=]+)/i;
    }
}

for my $h (@handlers) {
    my ($hname, $dir) = @$h;
    for my $a (@apps) {
        my ($app, $file, $have) = @$a;
        my $name = "$hname, $app";
        SKIP: {
            skip "$name: not available",
                7 + ({ perl => 3, libfcgi => 3, php => 1 }->{$app} // 0)
                unless $have;
            my $path = pm_app_path(length $dir ? ($dir, $file) : $file);
            my $url = length $dir ? "/pm/$dir/$file" : "/pm/$file";
            my @before = pm_procs($path);
            is(scalar @before, 0, "$name: no process before the first "
                                  . "request");
            my $r1 = pm_get(path => "$url?first");
            is($r1->{status}, 200, "$name: first request 200")
                or diag(pm_brief($r1));
            push @cold, [$name, $r1->{secs}];
            my $kv = $r1->{kv};
            if ($app eq 'testapp') {
                is($kv->{SCRIPT_FILENAME}, $path,
                   "$name: the application ran (SCRIPT_FILENAME)");
            }
            else {
                ok(($kv->{app} // '') eq $app
                   && ($kv->{script} // '') eq $path
                   && ($kv->{global} // '') eq 'pm-global-value',
                   "$name: the application ran, saw SCRIPT_FILENAME and "
                   . "FcgixInitialEnv")
                    or diag(pm_brief($r1));
            }
            # one process, although FcgixMinProcessesPerClass is 3
            my @p = procs_ok("$name: after one request", $path, 1);
            my $pid = $app eq 'testapp' ? $p[0] : $kv->{pid};
            ok(@p == 1 && defined $pid && $p[0] == $pid,
               "$name: the reply came from that process")
                or diag("ps: @p, reply pid " . ($pid // '-'));
            my $r2 = pm_get(path => "$url?env");
            my $pid2 = $app eq 'testapp' ? (pm_procs($path))[0]
                                         : $r2->{kv}{pid};
            ok($r2->{status} == 200 && defined $pid2 && defined $pid
               && $pid2 == $pid,
               "$name: the second request reuses the process")
                or diag(pm_brief($r2));
            if ($app eq 'perl' || $app eq 'libfcgi') {
                my %e = map { /^env_(\w+)$/ ? ($1 => $r2->{kv}{$_}) : () }
                        keys %{ $r2->{kv} };
                my @extra = grep { !$allowed_env{$_} } sort keys %e;
                ok(!@extra && exists $e{PM_GLOBAL},
                   "$name: clean environment (PATH + FcgixInitialEnv)")
                    or diag("environment: @{[ sort keys %e ]}");
                is($e{PATH}, '/usr/local/bin:/usr/bin:/bin',
                   "$name: default PATH");
                is($r2->{kv}{uid}, $uid, "$name: runs as $user");
            }
            elsif ($app eq 'php') {
                unlike($r1->{body} . $r2->{body}, qr/^#!/m,
                       "$name: php-cgi skipped the #! line");
            }
        }
    }
}
my @sorted = sort { $a->[1] <=> $b->[1] } @cold;
note(sprintf "cold start (first request of a class): %s",
     join ', ', map { sprintf '%s %.3fs', @$_ } @cold);
if (@sorted) {
    note(sprintf 'cold start: min %.3fs median %.3fs max %.3fs',
         $sorted[0][1], $sorted[@sorted / 2][1], $sorted[-1][1]);
}

# ---------------------------------------------------------------------
# The same file in another virtual host is another class.
{
    my $path = pm_app_path('app.pl');
    my $main = pm_get(path => '/pm/app.pl');
    my $other = pm_get(path => '/pm/app.pl',
                       port => Apache::Test::vars('pm_burst_port'));
    ok($main->{status} == 200 && $other->{status} == 200
       && $main->{kv}{pid} && $other->{kv}{pid}
       && $main->{kv}{pid} != $other->{kv}{pid},
       'another virtual host: the same script runs in its own process')
        or diag(pm_brief($main) . ' / ' . pm_brief($other));
    is(scalar(() = pm_procs($path)), 2, 'another virtual host: 2 processes');
}

# ---------------------------------------------------------------------
# The private socket directory

my $ipc = pm_ipc_dir();
my @st = stat $ipc;
ok(@st && ($st[2] & 07777) == 0700 && $st[4] == $uid,
   "IPC directory $ipc: mode 0700, owned by $user")
    or diag(@st ? sprintf('mode %04o uid %d', $st[2] & 07777, $st[4])
                : "$ipc: $!");
opendir(my $d, $ipc);
my @socks = grep { /\.sock$/ } readdir $d;
my @bad = grep {
    my @f = stat "$ipc/$_";
    !(-S _) || ($f[2] & 0777) != 0600 || $f[4] != $uid
} @socks;
ok(@socks > 10 && !@bad,
   'IPC directory: one socket per process, 0600, owned by ' . $user)
    or diag("sockets: @socks; wrong: @bad");

# ---------------------------------------------------------------------
# Not executable: 403, never the source.
{
    my $off = log_mark();
    my $r = pm_get(path => '/pm/noexec.pl');
    is($r->{status}, 403, 'a script that is not executable: 403');
    unlike($r->{body}, qr/SECRET-SOURCE-MARKER/, '... and not its source');
    log_tag_ok($off, 'pm_not_executable', 'not executable');
}

done_testing();
