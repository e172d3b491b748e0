package FcgixPM;
# Helpers of the process-manager tests (t/060-065): spawned applications
# under t/htdocs/pm/ (see t/conf/pm.conf.in), counted through /proc.
#
#  pm_get(path => '/pm/app.pl?x', port => N, timeout => S)
#        one HTTP/1.0 request (read to EOF) through FcgixTest::http;
#        port defaults to the main server's; returns FcgixTest's result
#        hash (status, head, headers, body, kv => {NAME => VALUE}, secs,
#        error, ...)
#  pm_start(path => ..., port => N) / pm_finish($handle, $timeout)
#        the same, with the response read later
#  pm_parallel(port => N, paths => [...], timeout => S, tick => sub {})
#        all requests at once (one socket each, select loop; tick runs
#        every 50 ms); list of the same hashes, in order
#  pm_procs($path)     live pids running the application file $path
#                      (argv[0], or argv[1] for "#!" interpreters)
#  pm_proc_info($pid)  {pid, ppid, state, uid, argv}
#  pm_pm_pid([$httpd_pid])  the process manager: the child of the httpd
#                      parent (default t/logs/httpd.pid) that stays root
#  pm_wait_until($secs, sub {...})   polls every 50 ms; the last value
#  pm_own_httpd(name => 'pmstop', body => $conf_text [, mpm => 'prefork'])
#        an httpd of its own (ServerRoot t/logs/NAME, a free port,
#        mod_fcgix + mpm_event (or the MPM named), authz_core, mime; same
#        User/Group as the suite); pm_own_httpd_stop($h) = apache2 -k stop
#        module => path: the mod_fcgix.so to load (default: the build's)
use strict;
use warnings;

use Apache::Test ();
use File::Path ();
use File::Spec::Functions qw(catfile);
use IO::Socket::INET ();

use FcgixTest ();

use Exporter 'import';
our @EXPORT = qw(pm_get pm_start pm_finish pm_parallel pm_procs pm_proc_info pm_pm_pid
                 pm_httpd_pid pm_wait_until pm_kv pm_docroot pm_app_path
                 pm_have pm_ipc_dir pm_brief pm_log_count pm_own_httpd
                 pm_own_httpd_conf pm_own_httpd_stop pm_free_port);

$SIG{PIPE} = 'IGNORE';

sub pm_docroot { Apache::Test::vars('documentroot') }

sub pm_app_path { catfile(pm_docroot(), 'pm', @_) }

sub pm_ipc_dir { catfile(Apache::Test::vars('t_logs'), 'fastcgi') }

# Was application $name (app.php, libfcgi.fcgi, ...) installed by t/TEST.PL?
sub pm_have {
    my ($name) = @_;
    return -x pm_app_path($name);
}

sub pm_kv { FcgixTest::kv_of(@_) }

# Requests: FcgixTest's client, HTTP/1.0 (read to EOF), 30 s.
sub _args {
    my %a = @_;
    return (proto => '1.0', path => $a{path},
            port => $a{port} || Apache::Test::vars('port'),
            timeout => $a{timeout} || 30,
            headers => ['User-Agent' => 'fcgix-pm-test']);
}

sub pm_get { FcgixTest::http(_args(@_)) }

# A request left running: pm_start returns a handle (undef: no connect),
# pm_finish reads the response (to EOF).
sub pm_start { FcgixTest::http_start(_args(@_)) }

sub pm_finish {
    my ($h, $timeout) = @_;
    FcgixTest::http_finish($h, $timeout || 30);
}

sub pm_parallel {
    my %a = @_;
    my $port = $a{port} || Apache::Test::vars('port');
    FcgixTest::http_parallel(
        reqs => [ map { +{ _args(port => $port, path => $_) } }
                  @{ $a{paths} } ],
        timeout => $a{timeout}, tick => $a{tick});
}

sub pm_brief { FcgixTest::brief(@_) }

sub pm_proc_info { FcgixTest::proc_info(@_) }

# Live processes running the application file $path.
sub pm_procs { FcgixTest::procs_running(@_) }

sub pm_httpd_pid {
    my $f = Apache::Test::vars('t_pid_file');
    open my $fh, '<', $f or return;
    my $pid = <$fh>;
    return unless defined $pid && $pid =~ /^(\d+)/;
    $1;
}

# The process manager: the child of the httpd parent named fcgix-pm.
sub pm_pm_pid {
    my $parent = shift || pm_httpd_pid() or return;
    for my $i (FcgixTest::children_of($parent)) {
        return $i->{pid} if ($i->{comm} // '') eq 'fcgix-pm';
    }
    return;
}

sub pm_wait_until { FcgixTest::wait_until(@_) }

# Lines of the error_log after byte offset $off matching $re.
sub pm_log_count {
    my ($off, $re) = @_;
    my $log = catfile(Apache::Test::vars('t_logs'), 'error_log');
    open my $fh, '<', $log or return 0;
    seek $fh, $off, 0;
    scalar grep { $_ =~ $re } <$fh>;
}

# ---------------------------------------------------------------------
# An httpd of its own

sub pm_free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    $p;
}

sub pm_own_httpd_conf {
    my (%a) = @_;
    my $v = \&Apache::Test::vars;
    my $lib = $v->('fcgix_libexecdir') || '/usr/lib/apache2/modules';
    my $top = $v->('top_dir');
    my $user = $v->('user');
    my $group = $v->('group');
    my $root = $a{root};
    my $port = $a{port};
    my $docroot = pm_docroot();
    my $mpm = $a{mpm} || 'event';
    my $module = $a{module} || "$top/.libs/mod_fcgix.so";
    # prefork: one request per process, so more of them
    my $limits = $mpm eq 'prefork'
        ? "StartServers 4\nMinSpareServers 2\nMaxSpareServers 8\n"
          . "MaxRequestWorkers 24\nServerLimit 24"
        : "StartServers 1\nThreadsPerChild 10\nMaxRequestWorkers 20\n"
          . "ServerLimit 2";
    return <<"EOC" . ($a{body} // '') . "\n";
# generated by t/lib/FcgixPM.pm (pm_own_httpd)
ServerRoot "$root"
Listen 127.0.0.1:$port
ServerName 127.0.0.1:$port
PidFile "$root/logs/httpd.pid"
ErrorLog "$root/logs/error_log"
LogLevel info
DefaultRuntimeDir "$root/run"
User $user
Group $group
<IfModule !mpm_${mpm}_module>
    LoadModule mpm_${mpm}_module "$lib/mod_mpm_$mpm.so"
</IfModule>
<IfModule !authz_core_module>
    LoadModule authz_core_module "$lib/mod_authz_core.so"
</IfModule>
<IfModule !mime_module>
    LoadModule mime_module "$lib/mod_mime.so"
</IfModule>
LoadModule fcgix_module "$module"
TypesConfig /etc/mime.types
$limits
DocumentRoot "$docroot"
<Directory "$docroot/pm">
    Options +ExecCGI
    AddHandler fastcgi-script .fcgi .pl .php
</Directory>
EOC
}

# Starts it; returns {root, port, conf, pidfile, log, ipc, pid} or dies.
sub pm_own_httpd {
    my (%a) = @_;
    my $root = catfile(Apache::Test::vars('t_logs'), $a{name});
    my $old = { root => $root, conf => "$root/conf/httpd.conf",
                pidfile => "$root/logs/httpd.pid" };
    if (-e $old->{pidfile}) {
        # left running by an earlier run that died: it must be gone before
        # its tree is, or its exit would tidy up the new one's files
        open my $p, '<', $old->{pidfile};
        my ($pid) = (($p && <$p>) // '') =~ /(\d+)/;
        pm_own_httpd_stop($old);
        pm_wait_until(20, sub { !$pid || !kill 0, $pid });
    }
    File::Path::remove_tree($root);
    File::Path::make_path(map { "$root/$_" } qw(conf logs run));
    chmod 0755, $root, map { "$root/$_" } qw(conf logs run);
    my $port = pm_free_port();
    my $h = { %$old, port => $port, log => "$root/logs/error_log",
              ipc => "$root/run/fastcgi" };
    open my $fh, '>', $h->{conf} or die "$h->{conf}: $!";
    print $fh pm_own_httpd_conf(root => $root, port => $port,
                                body => $a{body}, mpm => $a{mpm},
                                module => $a{module});
    close $fh;
    my $httpd = Apache::Test::vars('httpd');
    # no core files (Apache::Test's "ulimit -c unlimited" is inherited):
    # a crash shows in the exit status (t/065)
    # prefix: a command httpd is started through (t/133: a mount
    # namespace of its own), which execs the rest of its arguments
    system('/bin/sh', '-c', 'ulimit -c 0; exec "$@"', 'sh',
           @{ $a{prefix} || [] }, $httpd, '-f', $h->{conf}, '-k', 'start')
        == 0
        or die "$httpd -f $h->{conf} -k start failed ($?)\n";
    my $up = pm_wait_until(20, sub {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Timeout => 1);
        $s && -s $h->{pidfile};
    });
    die "own httpd on port $port did not come up\n" unless $up;
    open my $p, '<', $h->{pidfile} or die "$h->{pidfile}: $!";
    ($h->{pid}) = (<$p> // '') =~ /(\d+)/;
    $h;
}

sub pm_own_httpd_stop {
    my ($h) = @_;
    my $httpd = Apache::Test::vars('httpd');
    system($httpd, '-f', $h->{conf}, '-k', 'stop');
}

1;
