package FcgixBackends;
# The FastCGI backends of the suite and what they need on disk, started
# before httpd and stopped after it by t/TEST.PL (FcgixTestRun):
#
#   choose_vars($vars)          config vars (ports, paths) when httpd.conf
#                               is generated
#   rotate_error_log($vars)     error_log -> error_log.prev (t/999 checks
#                               each run's own log)
#   start_backends($vars)       stops leftovers, starts every backend,
#                               waits until each listens, sets up hosting
#   stop_backends($vars)        by pid (t/logs/fcgix-backends.pids), then
#                               removes the hosting users and tree
#   clean_backend_files($vars)  -clean: what the backends left in t/logs
#
# Runs as root: httpd's children then run as nobody:nogroup (see
# /work/shared/reference/TESTING.md); every socket a backend creates is
# mode 0666.  The backends are started before httpd and stopped, by pid
# (each is the leader of its own process group), after it:
#
#   c        t/apps/fcgix_testapp -l unix:t/logs/c.sock
#   c4       t/apps/fcgix_testapp -l 127.0.0.1:<fcgix_c_tcp4_port>
#   c6       t/apps/fcgix_testapp -l [::1]:<fcgix_c_tcp6_port>   (if ::1 works)
#   cm       t/apps/fcgix_testapp -m -l unix:t/logs/cm.sock
#   perl     t/apps/echo.pl t/logs/perl.sock 4       (4 forked workers)
#   go       t/logs/echo-go -l t/logs/go.sock        (built from t/apps/echo.go)
#   php-fpm  php-fpm -F, pools "tcp" (127.0.0.1:<fcgix_fpm_port>) and
#            "unix" (t/logs/php-fpm.sock), config t/logs/php-fpm/php-fpm.conf
#            rendered from t/php-fpm/php-fpm.conf.in
#   blackhole  127.0.0.1:<fcgix_blackhole_port>, listen backlog full, never
#            accepts (connect timeouts)
#
# TCP ports are picked when httpd.conf is generated and kept as Apache::Test
# config vars (fcgix_*), so extra.conf.in uses @Fcgix_C_Tcp4_Port@ etc. and
# tests read Apache::Test::vars('fcgix_c_tcp4_port').  The pids of the running
# backends are in t/logs/fcgix-backends.pids.
use strict;
use warnings;

use Apache::TestTrace;
use File::Path ();
use File::Spec::Functions qw(catfile);
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use POSIX ();
use Socket qw(:DEFAULT);
use Time::HiRes ();

# What the run calls: the backends' part, then the hosting part.
sub choose_vars    { choose_ports(@_);    hosting_choose_vars(@_) }
sub start_backends { start_processes(@_); hosting_setup(@_) }
sub stop_backends  { stop_processes(@_);  hosting_teardown(@_) }

# ---------------------------------------------------------------------
# Config vars

sub free_port {
    my ($host) = @_;
    my $s;
    if ($host =~ /:/) {
        require IO::Socket::IP;
        $s = IO::Socket::IP->new(LocalHost => $host, LocalPort => 0,
                                 Proto => 'tcp', Listen => 1);
    }
    else {
        $s = IO::Socket::INET->new(LocalAddr => $host, LocalPort => 0,
                                   Proto => 'tcp', Listen => 1);
    }
    return $s;   # keep it open until every port is picked (all distinct)
}

sub choose_ports {
    my ($vars) = @_;
    my %keep;
    for my $name (qw(c_tcp4 fpm dead blackhole)) {
        my $s = free_port('127.0.0.1')
            or die "no free TCP port on 127.0.0.1: $!\n";
        $keep{$name} = $s;
        $vars->{"fcgix_${name}_port"} = $s->sockport;
    }
    my $s6 = eval { free_port('::1') };
    if ($s6) {
        $keep{c_tcp6} = $s6;
        $vars->{fcgix_c_tcp6_port} = $s6->sockport;
        $vars->{fcgix_ipv6} = 1;
    }
    else {
        $vars->{fcgix_c_tcp6_port} = 0;
        $vars->{fcgix_ipv6} = 0;
    }
    $vars->{fcgix_libexecdir} = libexecdir();
    $vars->{fcgix_top} = $vars->{top_dir};
    close $_ for values %keep;
}

sub libexecdir {
    for my $apxs ($ENV{APACHE_TEST_APXS}, '/usr/bin/apxs', '/usr/bin/apxs2') {
        next unless $apxs && -x $apxs;
        my $d = `$apxs -q LIBEXECDIR 2>/dev/null`;
        chomp $d if defined $d;
        return $d if $d && -d $d;
    }
    return '/usr/lib/apache2/modules';
}

# ---------------------------------------------------------------------
# Backends

sub pids_file { catfile($_[0]->{t_logs}, 'fcgix-backends.pids') }

sub rotate_error_log {
    my ($vars) = @_;
    my $log = catfile($vars->{t_logs}, 'error_log');
    # every run checks its own log (t/999_error_log.t)
    rename $log, "$log.prev" if -e $log;
}

sub find_php_fpm {
    my @c = sort { $b cmp $a } grep { -x } glob('/usr/sbin/php-fpm*');
    return $c[0];
}

sub find_go {
    for my $d (split(/:/, $ENV{PATH} || ''), '/usr/lib/go/bin',
               '/usr/lib/go-1.19/bin') {
        return "$d/go" if $d && -x "$d/go";
    }
    return;
}

sub logfile {
    my ($vars, $name) = @_;
    catfile($vars->{t_logs}, "backend-$name.log");
}

# Forks, makes the child a process group leader with its output in
# t/logs/backend-NAME.log, and execs @cmd (or runs a code ref).
sub spawn {
    my ($vars, $name, $cmd, %o) = @_;
    my $log = logfile($vars, $name);
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        eval {
            POSIX::setpgid(0, 0);
            $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP PIPE CHLD);
            open STDIN, '<', '/dev/null' or die "stdin: $!";
            open STDOUT, '>>', $log or die "$log: $!";
            open STDERR, '>&', \*STDOUT or die "stderr: $!";
            $ENV{$_} = $o{env}{$_} for keys %{ $o{env} || {} };
            if (ref $cmd eq 'CODE') {
                $cmd->();
                POSIX::_exit(0);
            }
            exec { $cmd->[0] } @$cmd or die "exec $cmd->[0]: $!";
        };
        print STDERR "backend $name: $@";
        POSIX::_exit(127);
    }
    open my $fh, '>>', pids_file($vars) or die "pids file: $!";
    print $fh "$pid $name\n";
    close $fh;
    return $pid;
}

sub can_connect {
    my ($addr) = @_;
    my $s;
    if ($addr =~ m{^unix:(.*)}) {
        return 0 unless -S $1;
        $s = IO::Socket::UNIX->new(Peer => $1, Type => SOCK_STREAM);
    }
    elsif ($addr =~ m{^\[(.*)\]:(\d+)$}) {
        require IO::Socket::IP;
        $s = IO::Socket::IP->new(PeerHost => $1, PeerPort => $2,
                                 Timeout => 1);
    }
    else {
        $s = IO::Socket::INET->new(PeerAddr => $addr, Timeout => 1);
    }
    return 0 unless $s;
    close $s;
    return 1;
}

sub wait_ready {
    my ($vars, $name, $pid, @addrs) = @_;
    my $deadline = Time::HiRes::time() + 20;
    while (Time::HiRes::time() < $deadline) {
        my $r = waitpid($pid, POSIX::WNOHANG());
        if ($r == $pid) {
            my $tail = tail(logfile($vars, $name));
            die "backend $name exited early (status $?):\n$tail\n";
        }
        return 1 unless grep { !can_connect($_) } @addrs;
        Time::HiRes::sleep(0.05);
    }
    die "backend $name not listening on @addrs after 20s:\n"
        . tail(logfile($vars, $name)) . "\n";
}

sub tail {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    my @l = <$fh>;
    join '', @l > 20 ? @l[-20 .. -1] : @l;
}

sub render {
    my ($in, $out, %sub) = @_;
    open my $ifh, '<', $in or die "$in: $!";
    local $/;
    my $text = <$ifh>;
    $text =~ s/\@(\w+)\@/exists $sub{$1} ? $sub{$1}
                        : die "$in: unknown token \@$1\@\n"/ge;
    open my $ofh, '>', $out or die "$out: $!";
    print $ofh $text;
    close $ofh or die "$out: $!";
}

sub build_testapp {
    my ($vars) = @_;
    my $top = $vars->{top_dir};
    my $app = "$top/t/apps/fcgix_testapp";
    if (!-x $app || -M $app > -M "$app.c") {
        system('make', '-s', '-C', $top, '-f', 'Makefile.apxs',
               't/apps/fcgix_testapp') == 0
            or die "cannot build $app\n";
    }
    return $app;
}

sub build_go {
    my ($vars, $go) = @_;
    my $logs = $vars->{t_logs};
    my $src = "$vars->{top_dir}/t/apps/echo.go";
    my $bin = "$logs/echo-go";
    my $md5 = "$vars->{top_dir}/t/apps/md5.h";
    return $bin if -x $bin && -M $bin < -M $src && -M $bin < -M $md5;
    File::Path::make_path("$logs/go/cache", "$logs/go/home", "$logs/go/tmp");
    local $ENV{GOCACHE} = "$logs/go/cache";
    local $ENV{HOME} = "$logs/go/home";
    local $ENV{GOPATH} = "$logs/go/home/go";
    local $ENV{GOTMPDIR} = "$logs/go/tmp";
    local $ENV{GO111MODULE} = 'off';
    local $ENV{GOPROXY} = 'off';
    local $ENV{GOFLAGS} = '';
    local $ENV{CGO_ENABLED} = '0';
    info "building $bin";
    system($go, 'build', '-o', $bin, $src) == 0
        or die "go build $src failed\n";
    return $bin;
}

sub start_blackhole {
    my ($vars) = @_;
    my $port = $vars->{fcgix_blackhole_port};
    my $pid = spawn($vars, 'blackhole', sub {
        socket(my $l, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
        setsockopt($l, SOL_SOCKET, SO_REUSEADDR, 1);
        bind($l, pack_sockaddr_in($port, inet_aton('127.0.0.1')))
            or die "bind 127.0.0.1:$port: $!";
        listen($l, 0) or die "listen: $!";
        # With backlog 0 one queued connection fills the accept queue;
        # the kernel then drops further SYNs, so connects hang.
        my @fill;
        for (1 .. 2) {
            my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                          Timeout => 1);
            push @fill, $c if $c;
        }
        open my $fh, '>', "$vars->{t_logs}/blackhole.ready";
        close $fh;
        sleep 3600 while 1;
    });
    my $deadline = Time::HiRes::time() + 10;
    until (-e "$vars->{t_logs}/blackhole.ready") {
        die "blackhole did not start:\n" . tail(logfile($vars, 'blackhole'))
            if Time::HiRes::time() > $deadline
               || waitpid($pid, POSIX::WNOHANG()) == $pid;
        Time::HiRes::sleep(0.05);
    }
}

# ---- authz backends (040-042) ----
# FastCGI authorizers:
#   auth-perl  t/apps/auth.pl: 4 libfcgi workers on t/logs/auth-perl.sock and
#              a raw-protocol worker on t/logs/auth-raw.sock; one line per
#              request in t/logs/auth-requests.log
#   auth-php   php-cgi -b t/logs/auth-php.sock (PHP_FCGI_CHILDREN=2), running
#              t/htdocs/authapp/auth.php (skipped without php-cgi)
sub authz_find_php_cgi {
    my @c = grep { -x } '/usr/bin/php-cgi',
                        sort { $b cmp $a } glob('/usr/bin/php-cgi*');
    return $c[0];
}

sub authz_start_backends {
    my ($vars, $need) = @_;
    my $logs = $vars->{t_logs};
    unlink "$logs/auth-requests.log";
    my $p = spawn($vars, 'auth-perl',
        [$^X, "$vars->{top_dir}/t/apps/auth.pl", "$logs/auth-perl.sock", 4,
         "$logs/auth-perl.pid", "$logs/auth-requests.log",
         "$logs/auth-raw.sock"]);
    $need->{'auth-perl'} = [$p, "unix:$logs/auth-perl.sock",
                            "unix:$logs/auth-raw.sock"];
    if (my $php = authz_find_php_cgi()) {
        my $sock = "$logs/auth-php.sock";
        unlink $sock;
        my $pid = spawn($vars, 'auth-php', sub {
            umask 0;   # the socket must be 0666: httpd's children are nobody
            exec { $php } $php, '-n', '-b', $sock,
                '-d', 'cgi.force_redirect=0', '-d', 'expose_php=0',
                '-d', 'display_errors=stderr', '-d', 'log_errors=0',
                '-d', 'output_buffering=4096'
                or die "exec $php: $!";
        }, env => { PHP_FCGI_CHILDREN => 2, PHP_FCGI_MAX_REQUESTS => 0 });
        $need->{'auth-php'} = [$pid, "unix:$sock"];
    }
    else {
        warning "php-cgi not found: t/042_authz_php.t will be skipped";
    }
}
# ---- end authz backends ----

# ---- pm (060-065) ----
# Applications mod_fcgix's process manager spawns itself (t/060-065,
# t/conf/pm.conf.in).  pm_setup fills t/htdocs/pm/ before httpd starts
# (FastCgiServer/FcgixServer need their files at boot); app.php, app.pl,
# broken.fcgi, stubborn.pl and noexec.pl are checked in, the rest is
# generated:
#   libfcgi.fcgi   built from t/apps/pm_libfcgi.c with -lfcgi (without
#                  libfcgi-dev the tests skip it)
#   testapp.fcgi   a copy of t/apps/fcgix_testapp
#   DIR/           copies of app.php app.pl libfcgi.fcgi testapp.fcgi for
#                  every DIR in pm_dirs(): one directory per test, so each
#                  counts its own processes by path (metrics/: t/130)
#   srv/native.pl  a copy of app.pl for FcgixServer
# t/060, t/062 and t/065 run httpds of their own under t/logs/pmstatic,
# pmphp and pmstop; pm_stop ends one an interrupted run left behind.
sub pm_dirs { qw(fcgid sethandler srv burst wait faults idle maxreq life
                 busy graceful stop security metrics sendfile) }
sub pm_apps { qw(app.php app.pl libfcgi.fcgi testapp.fcgi) }
sub pm_own_httpds { qw(pmstatic pmphp pmstop) }   # t/logs/NAME

sub pm_copy {
    my ($from, $to, $mode) = @_;
    require File::Copy;
    unlink $to;   # a new inode: the old file may be running ("text busy")
    File::Copy::copy($from, $to) or die "copy $from $to: $!\n";
    chmod $mode, $to;
}

sub pm_setup {
    my ($vars, $testapp) = @_;
    my $pm = "$vars->{documentroot}/pm";
    chmod 0755, $pm, map { "$pm/$_" } qw(app.php app.pl broken.fcgi
                                         stubborn.pl);
    chmod 0644, "$pm/noexec.pl";
    my $lib = "$pm/libfcgi.fcgi";
    my $src = "$vars->{top_dir}/t/apps/pm_libfcgi.c";
    if (!-x $lib || -M $lib > -M $src) {
        unlink $lib;
        if (system($ENV{CC} || 'cc', '-std=gnu99', '-O2', '-Wall',
                   '-Wextra', '-o', $lib, $src, '-lfcgi') != 0) {
            warning "cannot build $lib (libfcgi-dev missing?): "
                . "the libfcgi application tests will be skipped";
            unlink $lib;
        }
    }
    pm_copy($testapp, "$pm/testapp.fcgi", 0755);
    for my $d (pm_dirs()) {
        File::Path::make_path("$pm/$d");
        chmod 0755, "$pm/$d";
        for my $f (pm_apps()) {
            if (-e "$pm/$f") { pm_copy("$pm/$f", "$pm/$d/$f", 0755) }
            else             { unlink "$pm/$d/$f" }
        }
    }
    pm_copy("$pm/app.pl", "$pm/srv/native.pl", 0755);
}

sub pm_stop {
    my ($vars) = @_;
    for my $name (pm_own_httpds()) {
        my $f = "$vars->{t_logs}/$name/logs/httpd.pid";
        open my $fh, '<', $f or next;
        my ($pid) = (<$fh> // '') =~ /^(\d+)/;
        close $fh;
        unlink $f;
        next unless $pid && open my $cl, '<', "/proc/$pid/cmdline";
        my $cmd = <$cl> // '';
        kill 'TERM', $pid if $cmd =~ m{/\Q$name\E/};
    }
}

sub pm_clean {
    my ($vars) = @_;
    my $pm = "$vars->{documentroot}/pm";
    File::Path::remove_tree(map({ "$pm/$_" } pm_dirs()),
                            map({ "$vars->{t_logs}/$_" } pm_own_httpds(),
                                qw(pmgraceful fastcgi)));
    unlink "$pm/libfcgi.fcgi", "$pm/testapp.fcgi";
}
# ---- end pm ----

# ---- dropin (080-089) ----
# t/080-082 (t/conf/dropin.conf.in): mod_fcgid and mod_fastcgi
# configurations used as they are, every legacy directive, the status page.
# dropin_setup copies t/apps/fcgix_testapp into t/htdocs/dropin/ before
# httpd starts (FastCgiServer needs its file at boot): dropin_apps() below.
# dropin/fcgid/info.php is checked in.  t/081 and t/082 write their
# generated configurations, chromium profiles and screenshots under
# t/logs/dropin/.
sub dropin_apps { qw(fcgid/app.fcgi fastcgi/app.fcgi fastcgi/static.fcgi
                     status/slow.fcgi) }

sub dropin_setup {
    my ($vars, $testapp) = @_;
    require File::Copy;
    my $d = "$vars->{documentroot}/dropin";
    for my $app (dropin_apps()) {
        my ($dir) = $app =~ m{^(.*)/};
        File::Path::make_path("$d/$dir");
        chmod 0755, $d, "$d/$dir";
        unlink "$d/$app";   # a new inode: the old one may be running
        File::Copy::copy($testapp, "$d/$app")
            or die "copy $testapp $d/$app: $!\n";
        chmod 0755, "$d/$app";
    }
    chmod 0644, "$d/fcgid/info.php";
    File::Path::make_path("$vars->{t_logs}/dropin");
}

sub dropin_clean {
    my ($vars) = @_;
    my $d = "$vars->{documentroot}/dropin";
    unlink map { "$d/$_" } dropin_apps();
    rmdir "$d/status";
    File::Path::remove_tree("$vars->{t_logs}/dropin");
}
# ---- end dropin ----

# ---- filter (044) ----
# t/044_filter.t (t/conf/filter.conf.in): FastCGI's Filter role with
# t/apps/fcgix_filterapp (libfcgi's filter API; built by Makefile.apxs
# all). filter_setup copies it into t/htdocs/filter/app/ for the process
# manager (dyn.fcgi a program, static.fcgi an FcgixServer, fastcgi.fcgi a
# FastCgiServer: distinct paths, since a server covering a path wins) and
# starts it as an external server:
#   filter   t/apps/fcgix_filterapp -l t/logs/filter.sock
# Without the binary (no libfcgi-dev) t/044 skips.
sub filter_apps { qw(dyn.fcgi static.fcgi fastcgi.fcgi) }

sub filter_setup {
    my ($vars, $need) = @_;
    my $bin = "$vars->{top_dir}/t/apps/fcgix_filterapp";
    my $d = "$vars->{documentroot}/filter/app";
    unless (-x $bin) {
        warning "$bin not built (libfcgi-dev?): t/044_filter.t will skip";
        return;
    }
    File::Path::make_path($d);
    chmod 0755, "$vars->{documentroot}/filter", $d;
    pm_copy($bin, "$d/$_", 0755) for filter_apps();
    my $sock = "$vars->{t_logs}/filter.sock";
    my $pid = spawn($vars, 'filter', [$bin, '-l', $sock]);
    $need->{filter} = [$pid, "unix:$sock"];
}

sub filter_clean {
    my ($vars) = @_;
    File::Path::remove_tree("$vars->{documentroot}/filter");
}
# ---- end filter ----

# ---- pool helpers (050-054) ----
# Backends of the connection pool tests t/050..t/054 (config in
# t/conf/pool.conf.in, helpers in t/lib/FcgixPool.pm), each with its own
# socket so its counters (?stats) see only those tests:
#   pool-c     fcgix_testapp            unix:t/logs/pool-c.sock
#   pool-cm    fcgix_testapp -m         unix:t/logs/pool-cm.sock
#   pool-r     fcgix_testapp -m         unix:t/logs/pool-r.sock (restarted)
#   pool-gvc   fcgix_testapp -G close   unix:t/logs/pool-gvc.sock
#   pool-gvi   fcgix_testapp -m -G ignore  unix:t/logs/pool-gvi.sock
#   pool-foa, pool-fob  fcgix_testapp on 127.0.0.1:<POOL_FO_A/B_PORT>
#              (failover; the ports are "Define"d in t/conf/pool.conf)
#   pool-lf    t/apps/libfcgi_app -n 12 unix:t/logs/pool-lf.sock (libfcgi)
#   pool-go    t/logs/echo-go -s        t/logs/pool-go.sock
#   pool-fpm   a php-fpm of its own, 12 static workers, t/logs/pool-fpm.sock
#              (config t/logs/php-fpm/pool/php-fpm.conf)

# Defines of the generated t/conf/pool.conf (failover ports).
sub pool_defines {
    my ($vars) = @_;
    my %d;
    open my $fh, '<', catfile($vars->{t_conf}, 'pool.conf') or return %d;
    while (<$fh>) {
        $d{$1} = $2 if /^\s*Define\s+(POOL_\w+)\s+(\S+)/;
    }
    return %d;
}

sub pool_build_libfcgi {
    my ($vars) = @_;
    my $src = "$vars->{top_dir}/t/apps/libfcgi_app.c";
    my $bin = "$vars->{top_dir}/t/apps/libfcgi_app";
    my $md5 = "$vars->{top_dir}/t/apps/md5.h";
    return $bin if -x $bin && -M $bin < -M $src && -M $bin < -M $md5;
    unless (-e '/usr/include/fcgiapp.h') {
        warning "fcgiapp.h not found (libfcgi-dev): libfcgi tests skipped";
        return;
    }
    system('cc', '-std=gnu99', '-O2', '-Wall', '-Wextra', '-Werror',
           '-o', $bin, $src, '-lfcgi') == 0
        or die "cannot build $bin\n";
    return $bin;
}

sub pool_start_fpm {
    my ($vars, $fpm) = @_;
    my $logs = $vars->{t_logs};
    my $dir = "$logs/php-fpm/pool";
    File::Path::make_path($dir);
    my ($user, $group) = fpm_user();
    open my $fh, '>', "$dir/php-fpm.conf" or die "$dir/php-fpm.conf: $!";
    print $fh <<"CONF";
; php-fpm of the connection pool tests (t/050..t/054); from t/TEST.PL
[global]
pid = $dir/php-fpm.pid
error_log = $logs/pool-fpm.log
log_level = notice
daemonize = no
process_control_timeout = 5s

[pool]
user = $user
group = $group
listen = $logs/pool-fpm.sock
listen.mode = 0666
listen.backlog = 128
pm = static
pm.max_children = 12
; lets a worker read /proc/self/fd (t/htdocs/pool/fpm.php)
process.dumpable = yes
catch_workers_output = yes
decorate_workers_output = no
request_terminate_timeout = 120s
CONF
    close $fh or die "$dir/php-fpm.conf: $!";
    return spawn($vars, 'pool-fpm',
        [$fpm, '-F', '-n', '-y', "$dir/php-fpm.conf", '-p', $dir,
         '-d', 'output_buffering=0', '-d', 'expose_php=0',
         '-d', 'display_errors=stderr', '-d', 'log_errors=1']);
}

sub pool_start_backends {
    my ($vars, $app, $need) = @_;
    my $logs = $vars->{t_logs};
    my %def = pool_defines($vars);
    my %c = (
        'pool-c'   => [],
        'pool-cm'  => ['-m'],
        'pool-r'   => ['-m'],
        'pool-gvc' => ['-G', 'close'],
        'pool-gvi' => ['-m', '-G', 'ignore'],
    );
    for my $name (sort keys %c) {
        my $sock = "$logs/$name.sock";
        my $pid = spawn($vars, $name, [$app, @{ $c{$name} },
                                       '-l', "unix:$sock"]);
        $need->{$name} = [$pid, "unix:$sock"];
    }
    for my $x (qw(A B)) {
        my $port = $def{"POOL_FO_${x}_PORT"}
            or die "t/conf/pool.conf has no POOL_FO_${x}_PORT\n";
        my $name = 'pool-fo' . lc $x;
        my $pid = spawn($vars, $name, [$app, '-l', "127.0.0.1:$port"]);
        $need->{$name} = [$pid, "127.0.0.1:$port"];
    }
    if (my $lf = pool_build_libfcgi($vars)) {
        my $pid = spawn($vars, 'pool-lf',
                        [$lf, '-n', 12, '-l', "$logs/pool-lf.sock"]);
        $need->{'pool-lf'} = [$pid, "unix:$logs/pool-lf.sock"];
    }
    if (-x "$logs/echo-go") {   # built above when go is there
        my $pid = spawn($vars, 'pool-go',
                        ["$logs/echo-go", '-s', '-l', "$logs/pool-go.sock"]);
        $need->{'pool-go'} = [$pid, "unix:$logs/pool-go.sock"];
    }
    if (my $fpm = find_php_fpm()) {
        my $pid = pool_start_fpm($vars, $fpm);
        $need->{'pool-fpm'} = [$pid, "unix:$logs/pool-fpm.sock"];
    }
}
# ---- end pool helpers ----

sub start_processes {
    my ($vars) = @_;
    my $logs = $vars->{t_logs};
    File::Path::make_path($logs);
    chmod 0755, $logs;
    stop_backends($vars);   # leftovers of an interrupted run
    unlink "$logs/blackhole.ready";

    check_world_readable($vars->{documentroot});
    my $app = build_testapp($vars);
    my %need;   # name => [pid, addrs...]

    my $c = spawn($vars, 'c', [$app, '-l', "unix:$logs/c.sock",
                               '-p', "$logs/c.pid"]);
    $need{c} = [$c, "unix:$logs/c.sock"];
    my $p4 = $vars->{fcgix_c_tcp4_port};
    my $c4 = spawn($vars, 'c4', [$app, '-l', "127.0.0.1:$p4"]);
    $need{c4} = [$c4, "127.0.0.1:$p4"];
    if ($vars->{fcgix_ipv6}) {
        my $p6 = $vars->{fcgix_c_tcp6_port};
        my $c6 = spawn($vars, 'c6', [$app, '-l', "[::1]:$p6"]);
        $need{c6} = [$c6, "[::1]:$p6"];
    }
    my $cm = spawn($vars, 'cm', [$app, '-m', '-l', "unix:$logs/cm.sock"]);
    $need{cm} = [$cm, "unix:$logs/cm.sock"];

    my $perl = spawn($vars, 'perl',
        [$^X, "$vars->{top_dir}/t/apps/echo.pl", "$logs/perl.sock", 4,
         "$logs/perl.pid"]);
    $need{perl} = [$perl, "unix:$logs/perl.sock"];

    if (my $go = find_go()) {
        my $bin = build_go($vars, $go);
        my $g = spawn($vars, 'go', [$bin, '-l', "$logs/go.sock"]);
        $need{go} = [$g, "unix:$logs/go.sock"];
    }
    else {
        warning "go not found: the Go backend tests will be skipped";
    }

    if (my $fpm = find_php_fpm()) {
        my $dir = "$logs/php-fpm";
        File::Path::make_path($dir);
        my ($user, $group) = fpm_user();
        render("$vars->{top_dir}/t/php-fpm/php-fpm.conf.in",
               "$dir/php-fpm.conf",
               T_LOGS => $logs, FPM_DIR => $dir,
               FPM_PORT => $vars->{fcgix_fpm_port},
               USER => $user, GROUP => $group);
        my $f = spawn($vars, 'php-fpm',
            [$fpm, '-F', '-n', '-y', "$dir/php-fpm.conf", '-p', $dir,
             '-d', 'cgi.fix_pathinfo=1', '-d', 'enable_post_data_reading=0',
             '-d', 'post_max_size=0', '-d', 'output_buffering=0',
             '-d', 'expose_php=0', '-d', 'max_execution_time=120',
             '-d', 'memory_limit=256M', '-d', 'display_errors=stderr',
             '-d', 'log_errors=1']);
        $need{'php-fpm'} = [$f, "127.0.0.1:$vars->{fcgix_fpm_port}",
                            "unix:$logs/php-fpm.sock"];
    }
    else {
        warning "php-fpm not found: the php-fpm backend tests will be skipped";
    }

    # ---- authz backends (040-042) ----
    authz_start_backends($vars, \%need);
    # ---- end authz backends ----

    # ---- pm (060-065) ----
    pm_setup($vars, $app);
    # ---- end pm ----

    # ---- dropin (080-089) ----
    dropin_setup($vars, $app);
    # ---- end dropin ----

    # ---- pool backends (050-054) ----
    pool_start_backends($vars, $app, \%need);
    # ---- end pool backends ----

    # ---- filter (044) ----
    filter_setup($vars, \%need);
    # ---- end filter ----

    start_blackhole($vars);

    wait_ready($vars, $_, @{ $need{$_} }) for sort keys %need;
    info "backends up: " . join ' ', sort keys %need;
}

# httpd's children and php-fpm's workers run as nobody: the tree must be
# readable by others (TESTING.md pitfall 2).
sub check_world_readable {
    my ($dir) = @_;
    my $p = '';
    for my $part (grep { length } split m{/}, $dir) {
        $p .= "/$part";
        my $mode = (stat $p)[2] // next;
        warning "$p is not world-readable/searchable (mode "
            . sprintf('%04o', $mode & 07777)
            . "): httpd children and php-fpm run as nobody"
            unless ($mode & 05) == 05;
    }
}

sub fpm_user {
    return ('nobody', 'nogroup') if getgrnam('nogroup');
    return ('nobody', 'nobody')  if getgrnam('nobody');
    return ('www-data', 'www-data');
}

sub proc_alive {
    my ($pid) = @_;
    return kill(0, $pid) && -d "/proc/$pid";
}

sub stop_processes {
    my ($vars) = @_;
    my $file = pids_file($vars);
    return unless -e $file;
    open my $fh, '<', $file or return;
    my @b = map { [split ' '] } grep { /^\d+ \S+$/ } <$fh>;
    close $fh;
    my @pids;
    for (@b) {
        my ($pid, $name) = @$_;
        next unless proc_alive($pid);
        # a recycled pid would not be the leader of its own group
        next unless getpgrp_of($pid) == $pid;
        kill 'TERM', -$pid;
        push @pids, $pid;
    }
    my $deadline = Time::HiRes::time() + 5;
    while (@pids && Time::HiRes::time() < $deadline) {
        waitpid($_, POSIX::WNOHANG()) for @pids;
        @pids = grep { proc_alive($_) && !zombie($_) } @pids;
        Time::HiRes::sleep(0.05) if @pids;
    }
    for (@pids) {
        kill 'KILL', -$_;
        waitpid($_, 0);
    }
    unlink $file;
    unlink map { "$vars->{t_logs}/$_" }
        qw(c.sock cm.sock perl.sock go.sock php-fpm.sock blackhole.ready);
    # ---- authz backends (040-042) ----
    unlink map { "$vars->{t_logs}/$_" }
        qw(auth-perl.sock auth-raw.sock auth-php.sock);
    # ---- end authz backends ----
    # ---- pm (060-065) ----
    pm_stop($vars);
    # ---- end pm ----
}

sub clean_backend_files {
    my ($vars) = @_;
    my $logs = $vars->{t_logs};
    return unless $logs && -d $logs;
    return if -e pids_file($vars);   # still running: -stop-httpd first
    File::Path::remove_tree(map { "$logs/$_" } qw(go php-fpm));
    unlink glob("$logs/backend-*.log"), glob("$logs/*.pid"),
        glob("$logs/*.sock"), map { "$logs/$_" }
        qw(echo-go php-fpm.log error_log error_log.prev access_log
           blackhole.ready);
    # ---- authz backends (040-042) ----
    unlink "$logs/auth-requests.log";
    # ---- end authz backends ----
    # ---- pm (060-065) ----
    pm_clean($vars);
    # ---- end pm ----
    # ---- dropin (080-089) ----
    dropin_clean($vars);
    # ---- end dropin ----
    # ---- filter (044) ----
    filter_clean($vars);
    # ---- end filter ----
    rmdir $logs;
}

sub getpgrp_of {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return -1;
    my $stat = <$fh>;
    # pid (comm) state ppid pgrp ...
    return $stat =~ /\)\s+\S+\s+\d+\s+(\d+)/ ? $1 : -1;
}

sub zombie {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    my $stat = <$fh>;
    return $stat =~ /\)\s+Z\s/;
}

# ---- hosting (070-079) ----
# Shared hosting (t/070-075, t/conf/hosting.conf.in) needs things outside
# the test tree, made before httpd starts and removed once it has stopped:
#
#   users   fcgixa<port> and fcgixb<port>, two tenants (useradd picks their
#           uids, >= 1000, and a group of the same name), comment
#           "mod_fcgix test tenant", home /home/<user> (0711, so httpd can
#           reach public_html) with public_html/app.pl for tenant A.
#           The port is part of the name: two suites running at once
#           (-port select) never share or delete each other's users.
#   tree    /var/www/fcgix-hosting-<port>/ (layout in hosting.conf.in),
#           copied from t/apps/hosting/.
#
# Why /var/www and www-data: Debian's suexec (apache2-suexec-pristine, see
# scripts/deps.sh) runs only programs below its compiled-in docroot
# /var/www (SuexecUserGroup) or ~user/public_html (mod_userdir), owned by
# the target user and group in a directory they own, and it obeys only
# AP_HTTPD_USER www-data.  So this suite's httpd runs as www-data:www-data
# (Apache::Test's -user/-group; it would pick nobody for root).  Nothing
# else in the suite depends on the user: the tree is world-readable and
# the backends' sockets are 0666.
#
# FCGIX_HOSTING_LEAK is put into the environment httpd starts with: no
# spawned application may see it (t/074).
#
# Hooks: choose_vars also sets the fcgix_hosting_* config vars;
# start_backends (before httpd starts) also sets up; stop_backends (after
# httpd stopped, at the start of a run for leftovers, and from END when a
# run dies) also removes everything (see the three subs at the top).
# t/TEST.PL runs httpd as www-data (-user/-group).

sub hosting_choose_vars {
    my ($vars) = @_;
    my $port = $vars->{port};
    $vars->{fcgix_hosting_root} = "/var/www/fcgix-hosting-$port";
    for my $t (qw(a b)) {
        $vars->{"fcgix_hosting_user_$t"} = "fcgix$t$port";
        $vars->{"fcgix_hosting_home_$t"} = "/home/fcgix$t$port";
    }
}

my $HOSTING_GECOS = 'mod_fcgix test tenant';

sub hosting_install {
    my ($from, $to, $mode, $uid, $gid) = @_;
    require File::Copy;
    File::Copy::copy($from, $to) or die "copy $from $to: $!\n";
    chown $uid, $gid, $to or die "chown $to: $!\n";
    chmod $mode, $to or die "chmod $to: $!\n";
}

sub hosting_mkdir {
    my ($dir, $mode, $uid, $gid) = @_;
    File::Path::make_path($dir);
    chown $uid, $gid, $dir or die "chown $dir: $!\n";
    chmod $mode, $dir or die "chmod $dir: $!\n";
}

# What hosting_setup made, one "user NAME" or "tree PATH" a line, so that
# hosting_teardown removes it even when the config vars changed since.
sub hosting_made { catfile($_[0]->{t_logs}, 'hosting-made') }

sub hosting_note {
    my ($vars, $what) = @_;
    open my $fh, '>>', hosting_made($vars) or die "hosting: $!";
    print $fh "$what\n";
    close $fh;
}

sub hosting_setup {
    my ($vars) = @_;
    my $root = $vars->{fcgix_hosting_root} or return;   # older config
    my $src = "$vars->{top_dir}/t/apps/hosting";
    $ENV{FCGIX_HOSTING_LEAK} = 'httpd-environment-only';

    my %id;
    for my $t (qw(a b)) {
        my ($user, $home) = @{$vars}{"fcgix_hosting_user_$t",
                                     "fcgix_hosting_home_$t"};
        hosting_remove_stale($user);
        my $out = `useradd --create-home --home-dir '$home' --user-group --shell /usr/sbin/nologin --comment '$HOSTING_GECOS' '$user' 2>&1`;
        die "hosting: useradd $user failed (must run as root): $out\n"
            if $?;
        hosting_note($vars, "user $user");
        my ($uid, $gid) = (getpwnam($user))[2, 3];
        $id{$t} = [$uid, $gid];
        chmod 0711, $home;
        hosting_mkdir("$home/public_html", 0755, $uid, $gid);
    }
    hosting_install("$src/app.pl",
        "$vars->{fcgix_hosting_home_a}/public_html/app.pl", 0755,
        @{ $id{a} });

    hosting_note($vars, "tree $root");
    File::Path::remove_tree($root);   # an earlier run's, if any
    hosting_mkdir($root, 0755, 0, 0);
    for my $t (qw(a b root)) {
        my ($uid, $gid) = @{ $id{$t} || [0, 0] };
        hosting_mkdir("$root/$t$_", 0755, $uid, $gid) for '', qw(/bin /htdocs);
        hosting_install("$src/php.fcgi", "$root/$t/bin/php.fcgi", 0755,
                        $uid, $gid);
        hosting_install("$src/app.php", "$root/$t/htdocs/app.php", 0644,
                        $uid, $gid);
        hosting_install("$src/app.pl", "$root/$t/htdocs/app.pl", 0755,
                        $uid, $gid);
    }
    hosting_mkdir("$root/plain/$_", 0755, 0, 0) for qw(bin htdocs/virt);
    hosting_install("$src/app.php", "$root/plain/htdocs/app.php", 0644, 0, 0);
    hosting_install("$src/app.pl", "$root/plain/bin/app.pl", 0755, 0, 0);
    info "hosting: tenants $vars->{fcgix_hosting_user_a} (uid $id{a}[0]), "
        . "$vars->{fcgix_hosting_user_b} (uid $id{b}[0]), tree $root";
}

# A tenant of an earlier run on this port whose hosting-made is gone (the
# run was killed, then t/logs cleaned): removed when nothing runs as it.
# With a process, it belongs to a live suite (two that picked the same
# port at once): useradd then fails and this run stops.
sub hosting_remove_stale {
    my ($user) = @_;
    my @pw = getpwnam($user) or return;
    return unless ($pw[6] // '') eq $HOSTING_GECOS && $pw[2] >= 1000
                  && !hosting_uid_pids($pw[2]);
    warning "hosting: removing $user, left by an earlier run";
    `userdel --remove '$user' 2>&1`;
}

# Removes what hosting-made lists.  Only users with this block's comment
# are removed, their processes first (userdel refuses while one runs): all
# were started by this suite's httpd, for a user made for this run.
sub hosting_teardown {
    my ($vars) = @_;
    my $made = hosting_made($vars);
    open my $fh, '<', $made or return;
    my (@users, @trees);
    while (my $l = <$fh>) {
        push @users, $1 if $l =~ /^user (\S+)$/;
        push @trees, $1 if $l =~ m{^tree (/var/www/fcgix-hosting-\d+)$};
    }
    close $fh;
    for my $user (@users) {
        my @pw = getpwnam($user) or next;
        next unless ($pw[6] // '') eq $HOSTING_GECOS;
        hosting_kill_uid($pw[2]);
        my $out = `userdel --remove '$user' 2>&1`;
        warning "hosting: userdel $user: $out" if $? && $out !~ /mail spool/;
    }
    File::Path::remove_tree($_) for grep { -d } @trees;
    unlink $made;
}

sub hosting_uid_pids {
    my ($uid) = @_;
    my @pids;
    for my $d (glob '/proc/[0-9]*') {
        open my $fh, '<', "$d/status" or next;
        my ($pid) = $d =~ m{(\d+)$};
        while (my $l = <$fh>) {
            next unless $l =~ /^Uid:\s+(\d+)/;
            push @pids, $pid if $1 == $uid;
            last;
        }
    }
    return grep { !zombie($_) } @pids;
}

sub hosting_kill_uid {
    my ($uid) = @_;
    return if $uid < 1000;
    my @pids = hosting_uid_pids($uid) or return;
    kill 'TERM', @pids;
    my $deadline = Time::HiRes::time() + 3;
    while ((@pids = hosting_uid_pids($uid))
           && Time::HiRes::time() < $deadline) {
        Time::HiRes::sleep(0.05);
    }
    kill 'KILL', @pids if @pids;
}

1;
