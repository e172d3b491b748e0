package FcgixPool;
# Helpers of the connection pool tests (t/050_keepalive.t .. t/054).
#
#  * stats_of('c'): the counters of backend pool-c, asked directly over
#    FastCGI (one request on one connection of its own; for Go and
#    fcgix_testapp its peer pid is the test's, not an httpd child's).
#  * conninfo($res): the X-Fcgix-* headers that fcgix_testapp (conninfo)
#    and libfcgi_app send: which connection (and id) served the request.
#  * parallel(@specs): http() requests at once, one process each, with
#    their start and end times.
#  * session(@paths): several requests on one HTTP keep-alive connection,
#    i.e. through one httpd child.
#  * abort_client(...): a client that goes away mid-request.
#  * httpd_children(): pids of the test httpd's children.
#  * kill_backend / respawn_backend: stop and restart a pool-* backend of
#    t/TEST.PL (recorded in t/logs/fcgix-backends.pids, so that t/TEST.PL
#    stops the new one too).
use strict;
use warnings;

use Apache::Test ();
use File::Spec::Functions qw(catfile);
use IO::Select ();
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use POSIX ();
use Socket qw(SOCK_STREAM SOL_SOCKET SO_RCVBUF IPPROTO_TCP TCP_NODELAY);
use Storable ();
use Time::HiRes ();

use FcgixTest ();

use Exporter 'import';
our @EXPORT = qw(stats_of fcgi_get backend_addr conninfo parallel clients session abort_client
                 httpd_children wait_for kill_backend respawn_backend
                 backend_pid brief count_by);

sub vars { Apache::Test::vars(@_) }

sub brief { FcgixTest::brief(@_) }

# ---------------------------------------------------------------------
# Counters

# Address of backend pool-NAME: unix:/path, or 127.0.0.1:port for the
# failover pair (ports "Define"d in t/conf/pool.conf).
sub backend_addr {
    my ($name) = @_;
    if ($name =~ /^fo([ab])$/) {
        my $want = 'POOL_FO_' . uc($1) . '_PORT';
        open my $fh, '<', catfile(vars('t_conf'), 'pool.conf') or return;
        while (<$fh>) {
            return "127.0.0.1:$1" if /^\s*Define\s+\Q$want\E\s+(\d+)/;
        }
        return;
    }
    return 'unix:' . catfile(vars('t_logs'), "pool-$name.sock");
}

sub _nvlen {
    my ($n) = @_;
    return $n < 128 ? pack('C', $n) : pack('N', $n | 0x80000000);
}

# One FastCGI request straight to the application at $addr (not through
# httpd): GET with the given query string on a connection of its own.
# Returns the response body, or undef.
sub fcgi_get {
    my ($addr, $query) = @_;
    my $s = $addr =~ /^unix:(.*)/
        ? IO::Socket::UNIX->new(Peer => $1, Type => SOCK_STREAM)
        : IO::Socket::INET->new(PeerAddr => $addr, Timeout => 5);
    return unless $s;
    binmode $s;
    my %p = (REQUEST_METHOD => 'GET', QUERY_STRING => $query,
             REQUEST_URI => "/pool-stats?$query", SCRIPT_NAME => '/pool-stats',
             SCRIPT_FILENAME => '/pool-stats', SERVER_PROTOCOL => 'HTTP/1.1',
             SERVER_NAME => 'localhost', SERVER_PORT => 80,
             HTTP_HOST => 'localhost', REMOTE_ADDR => '127.0.0.1',
             GATEWAY_INTERFACE => 'CGI/1.1');
    my $nv = join '', map { _nvlen(length $_) . _nvlen(length $p{$_})
                            . $_ . $p{$_} } sort keys %p;
    my $rec = sub {
        my ($type, $c) = @_;
        my $pad = (8 - length($c) % 8) % 8;
        pack('CCnnCC', 1, $type, 1, length $c, $pad, 0) . $c . ("\0" x $pad);
    };
    my $out = $rec->(1, pack('nCx5', 1, 0)) . $rec->(4, $nv) . $rec->(4, '')
            . $rec->(5, '');
    syswrite($s, $out) == length $out or return;
    my ($buf, $stdout, $ended) = ('', '', 0);
    my $sel = IO::Select->new($s);
    my $deadline = Time::HiRes::time() + 10;
    while (!$ended) {
        my $left = $deadline - Time::HiRes::time();
        last if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
        while (length $buf >= 8) {
            my (undef, $type, undef, $len, $pad) = unpack('CCnnC', $buf);
            last if length $buf < 8 + $len + $pad;
            $stdout .= substr($buf, 8, $len) if $type == 6;
            $ended = 1 if $type == 3;
            substr($buf, 0, 8 + $len + $pad) = '';
        }
    }
    close $s;
    return unless $ended;
    my (undef, $body) = split /\r?\n\r?\n/, $stdout, 2;
    return $body;
}

# { connections => N, requests => N, ... } of backend pool-NAME (asked
# directly, on a connection of its own: one more connection and request),
# or { error => ... }.
sub stats_of {
    my ($name) = @_;
    my $addr = backend_addr($name) or return { error => "no address" };
    my $body = fcgi_get($addr, 'stats');
    return { error => "no stats from $addr" } unless defined $body;
    my %s;
    for (split ' ', $body) {
        my ($k, $v) = split /=/, $_, 2;
        $s{$k} = $v if defined $v;
    }
    \%s;
}

# X-Fcgix-* response headers: conn, pid, rid, depth, nth, peer.
sub conninfo {
    my ($r) = @_;
    my %h = (conn => 'X-Fcgix-Conn', pid => 'X-Fcgix-Pid',
             rid => 'X-Fcgix-Rid', depth => 'X-Fcgix-Depth',
             nth => 'X-Fcgix-Conn-Req', peer => 'X-Fcgix-Peer');
    my %i;
    for (keys %h) {
        my $v = FcgixTest::header($r, $h{$_});
        $i{$_} = $v if defined $v;
    }
    \%i;
}

# { key => count } over a list
sub count_by {
    my %n;
    $n{$_}++ for @_;
    \%n;
}

# ---------------------------------------------------------------------
# Clients

# parallel({ path => ..., delay => s, <http() args> }, ...): each request
# in a process of its own, started `delay` s after the call.  Returns the
# http() results in order, each with t0/t1 (start/end, epoch seconds).
# A spec with abort => 1 runs abort_client() instead (result: {aborted}).
sub parallel {
    my @specs = @_;
    vars('port');   # the config is loaded once, not in every process
    my (@kids, %res);
    my $t_base = Time::HiRes::time();
    for my $i (0 .. $#specs) {
        pipe(my $rd, my $wr) or die "pipe: $!";
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            close $rd;
            my %a = %{ $specs[$i] };
            my $delay = delete $a{delay} || 0;
            my $left = $t_base + $delay - Time::HiRes::time();
            Time::HiRes::sleep($left) if $left > 0;
            my $t0 = Time::HiRes::time();
            my $r = delete $a{abort}
                ? { status => 0, headers => [], aborted => 1,
                    body => abort_client(%a) }
                : FcgixTest::http(%a);
            $r->{t0} = $t0;
            $r->{t1} = Time::HiRes::time();
            binmode $wr;
            print $wr Storable::nfreeze($r);
            close $wr;
            POSIX::_exit(0);
        }
        close $wr;
        push @kids, [$pid, $rd, $i];
    }
    for my $k (@kids) {
        my ($pid, $rd, $i) = @$k;
        binmode $rd;
        local $/;
        my $data = <$rd>;
        close $rd;
        waitpid($pid, 0);
        $res{$i} = length($data // '') ? Storable::thaw($data)
                 : { status => 0, headers => [], body => '',
                     error => 'client process failed' };
    }
    return map { $res{$_} } 0 .. $#specs;
}

# clients(n => N, count => K | until => epoch, spec => sub { ($c, $i) },
#         pause => s):
# N client processes, each sending requests one after the other (K of them,
# or until the given time, pause s apart); spec returns the http()
# arguments of request $i of client $c.  Returns every result with client,
# i, t0 and t1 added; bodies are cut to 4 KiB.
sub clients {
    my %a = @_;
    vars('port');
    my @kids;
    for my $c (0 .. $a{n} - 1) {
        pipe(my $rd, my $wr) or die "pipe: $!";
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            close $rd;
            my @out;
            for (my $i = 0; ; $i++) {
                last if defined $a{count} && $i >= $a{count};
                last if defined $a{until} && Time::HiRes::time() >= $a{until};
                my $t0 = Time::HiRes::time();
                my $r = FcgixTest::http(%{ $a{spec}->($c, $i) });
                $r->{t0} = $t0;
                $r->{t1} = Time::HiRes::time();
                $r->{client} = $c;
                $r->{i} = $i;
                $r->{body} = substr $r->{body}, 0, 4096;
                push @out, $r;
                Time::HiRes::sleep($a{pause}) if $a{pause};
            }
            binmode $wr;
            print $wr Storable::nfreeze(\@out);
            close $wr;
            POSIX::_exit(0);
        }
        close $wr;
        push @kids, [$pid, $rd];
    }
    my @all;
    for my $k (@kids) {
        my ($pid, $rd) = @$k;
        binmode $rd;
        local $/;
        my $data = <$rd>;
        close $rd;
        waitpid($pid, 0);
        push @all, length($data // '') ? @{ Storable::thaw($data) }
                 : { status => 0, headers => [], body => '',
                     error => 'client process failed' };
    }
    return @all;
}

# session('/a', ['/b', 1.5], ...): the requests one after the other on one
# HTTP/1.1 keep-alive connection (so one httpd child serves them all); a
# [path, pause] entry waits pause seconds before sending.  Returns the
# responses (fewer if the connection broke).
sub session {
    my @paths = @_;
    my $port = vars('port');
    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                     Timeout => 10) or return;
    binmode $sock;
    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
    my $sel = IO::Select->new($sock);
    my $buf = '';
    my @out;
    for my $i (0 .. $#paths) {
        my ($path, $pause) = ref $paths[$i] ? @{ $paths[$i] }
                                            : ($paths[$i], 0);
        Time::HiRes::sleep($pause) if $pause;
        my $req = "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n";
        $req .= "Connection: close\r\n" if $i == $#paths;
        $req .= "\r\n";
        syswrite($sock, $req) == length $req or last;
        my $res = { status => 0, headers => [], body => '', len => 0,
                    complete => 0, eof => 0, raw_tail => '' };
        my $st = FcgixTest::_parser_new($res, 'GET', {});
        FcgixTest::_parse($st, $buf) if length $buf;
        my $deadline = Time::HiRes::time() + 60;
        until ($res->{complete}) {
            my $left = $deadline - Time::HiRes::time();
            if ($left <= 0) { $res->{error} = 'timeout reading'; last }
            next unless $sel->can_read($left);
            my $n = sysread($sock, my $data, 262144);
            if (!$n) {
                $res->{eof} = 1;
                FcgixTest::_parse_eof($st);
                last;
            }
            FcgixTest::_parse($st, $data);
        }
        $buf = $res->{raw_tail};
        $res->{raw_tail} = '';
        push @out, $res;
        last unless $res->{complete} && !$res->{eof};
    }
    close $sock;
    return @out;
}

# A client that sends GET $path and goes away: after `after` seconds, or
# once `read` body bytes came (a response being sent).  Returns what it
# received.  With `rcvbuf` its receive buffer is made that small first;
# `port`: another httpd's (default: the main server's).
sub abort_client {
    my %a = @_;
    my $port = $a{port} || vars('port');
    my $sock = IO::Socket::INET->new(Proto => 'tcp');
    $sock or return '';
    setsockopt($sock, SOL_SOCKET, SO_RCVBUF, $a{rcvbuf}) if $a{rcvbuf};
    $sock->connect(Socket::pack_sockaddr_in($port,
                                            Socket::inet_aton('127.0.0.1')))
        or return '';
    binmode $sock;
    print $sock "GET $a{path} HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n\r\n";
    my $got = '';
    my $sel = IO::Select->new($sock);
    my $deadline = Time::HiRes::time() + ($a{after} // 30);
    while (1) {
        my $left = $deadline - Time::HiRes::time();
        last if $left <= 0;
        last if $a{read} && length $got >= $a{read};
        next unless $sel->can_read($left);
        my $n = sysread($sock, $got, 65536, length $got);
        last unless $n;
    }
    close $sock;
    return $got;
}

# ---------------------------------------------------------------------
# httpd and backends

sub httpd_children {
    my $pidfile = catfile(vars('t_logs'), 'httpd.pid');
    open my $fh, '<', $pidfile or return ();
    my $ppid = <$fh>;
    close $fh;
    chomp $ppid;
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $s, '<', $stat or next;
        my $l = <$s> // next;
        my ($pid, $pp) = $l =~ /^(\d+) \(.*\)\s+\S+\s+(\d+)/ or next;
        push @kids, $pid if $pp == $ppid;
    }
    return sort { $a <=> $b } @kids;
}

# Waits up to $timeout s for $cond->() to be true; returns its value.
sub wait_for {
    my ($timeout, $cond, $step) = @_;
    FcgixTest::wait_until($timeout, $cond, $step || 0.1);
}

sub pids_file { catfile(vars('t_logs'), 'fcgix-backends.pids') }

sub alive {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $l = <$fh> // return 0;
    return $l !~ /\)\s+Z\s/;
}

# The running process of backend NAME (the last one recorded).
sub backend_pid {
    my ($name) = @_;
    open my $fh, '<', pids_file() or return;
    my $pid;
    while (<$fh>) {
        $pid = $1 if /^(\d+) \Q$name\E$/ && alive($1);
    }
    return $pid;
}

# Kills backend NAME (its process group) and waits until it is gone.
sub kill_backend {
    my ($name, $sig) = @_;
    my $pid = backend_pid($name) or return 0;
    kill $sig || 'KILL', -$pid;
    wait_for(10, sub { !alive($pid) }, 0.02);
    return !alive($pid);
}

# Starts @cmd again as backend NAME (own process group, output appended to
# t/logs/backend-NAME.log, pid recorded for t/TEST.PL) and waits until it
# accepts connections at $addr (unix:/path or host:port).
sub respawn_backend {
    my ($name, $addr, @cmd) = @_;
    my $log = catfile(vars('t_logs'), "backend-$name.log");
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        POSIX::setsid();
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>&', \*STDOUT;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    open my $fh, '>>', pids_file() or die "pids file: $!";
    print $fh "$pid $name\n";
    close $fh;
    my $ok = wait_for(20, sub {
        my $s = $addr =~ /^unix:(.*)/
            ? IO::Socket::UNIX->new(Peer => $1, Type => SOCK_STREAM)
            : IO::Socket::INET->new(PeerAddr => $addr, Timeout => 1);
        $s ? 1 : 0;
    }, 0.05);
    return $ok ? $pid : undef;
}

1;
