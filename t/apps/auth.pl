#!/usr/bin/perl
# FastCGI AUTHORIZER app for the mod_fcgix test suite (t/040-042), Perl FCGI
# (libfcgi-perl).
#
#   auth.pl SOCKET WORKERS PIDFILE REQLOG [RAWSOCKET]
#
# Listens on a unix socket (mode 0666) with WORKERS forked workers (a worker
# that dies, e.g. on purpose with "crash", is replaced), writes PIDFILE once
# listening and appends one line per request to REQLOG:
#     <pid> <role> <REQUEST_URI> user=<REMOTE_USER or -> require=<... or ->
# (role: authn, authz, access), so tests can tell whether a phase asked the
# app at all.  SIGTERM/SIGINT stop everything and remove the socket(s).
#
# With RAWSOCKET, one more process answers there with a FastCGI
# implementation of its own (no libfcgi, which turns the BEGIN_REQUEST role
# into FCGI_ROLE and lets a FCGI_ROLE param overwrite it): it allows every
# request and reports what came on the wire as Variable-WIRE_<R>_* headers
# (R = AUTHN|AUTHZ|ACCESS|NONE from FCGI_APACHE_ROLE):
#     BEGIN_ROLE      role of BEGIN_REQUEST (2 = AUTHORIZER)
#     BEGIN_FLAGS     its flags
#     FCGI_ROLE       the FCGI_ROLE param(s), comma-separated
#     CONTENT_LENGTH  the CONTENT_LENGTH param or "none"
#     STDIN_BYTES     bytes of FCGI_STDIN
#     PASSWD          "none", "ok" (REMOTE_PASSWD eq "secret"), "other"
#     REMOTE_USER     the REMOTE_USER param or "-"
#
# Behaviour of the libfcgi workers.  The action is, in this order:
#   1. the first word of FCGIX_REQUIRE (Require <provider> ACTION args...,
#      httpd 2.4 authz provider), the other words being its arguments;
#   2. a REQUEST_URI path segment ROLE=ACTION for the asking role
#      (FCGI_APACHE_ROLE: authn = AUTHENTICATOR, authz = AUTHORIZER,
#      access = ACCESS_CHECKER);
#   3. a path segment all=ACTION;
#   4. deny.
# Actions:
#   allow        200 with Variable-AUTH_TEAM: blue,
#                Variable-AUTH_ROLE_<FCGI_APACHE_ROLE>: yes,
#                Variable-SEEN_<R>_<WHAT> (R = AUTHN|AUTHZ|ACCESS) echoing what
#                the app received: APP (perl), FCGI_ROLE, APACHE_ROLE,
#                SCRIPT_FILENAME, AUTH_FILENAME (FCGIX_AUTH_FILENAME),
#                REMOTE_USER (or -), PASSWD (none | ok = "secret" | other:
#                never the password itself),
#                CONTENT_LENGTH (or none), STDIN_BYTES, REQUIRE (or -),
#                METHOD, QUERY_STRING, X_AUTHZ_TEST (the request header
#                X-Authz-Test); plus "X-Leak: yes" (not a variable)
#                and a body "allowed".
#   deny         403, X-Why: fcgi-said-no, Variable-DENY_SECRET: leak,
#                body "fcgi authorizer denied <ROLE> for <user>\n"
#   unauth       401, WWW-Authenticate: Basic realm="fcgi", X-Why,
#                body "fcgi authorizer wants credentials (<ROLE>)\n"
#   unauth-bare  401 without WWW-Authenticate, body as unauth
#   gone         410, body "fcgi authorizer: gone\n"
#   notfound     404, body "fcgi authorizer: no such user\n"
#   crash        the worker exits without a reply (connection closed)
#   hang         sleeps 8 s, then allow (the module gives up first)
#   user [NAMES] authenticator: alice + password "secret" -> allow, else
#                unauth.  Others: REMOTE_USER in NAMES (default alice) ->
#                allow; no REMOTE_USER -> unauth; else deny.
#   user404      authenticator: alice/secret -> allow; alice or mallory with
#                another password -> unauth; any other user -> notfound
#                (authn provider: "user not found").
#   rewrite      allow, plus Variable-REMOTE_USER: <user or nobody>-rewritten
#   nostatus     allow's headers and body without any Status line (CGI's
#                implied 200: mod_fcgix denies it, 403)
#   location     only "Location: /login" and a body, no Status (denied,
#                403)
#   interim      "Status: 100 Continue" as the final status (502 -> 500)
use strict;
use warnings;
use FCGI;
use IO::Handle;
use POSIX ();
use Socket qw(:DEFAULT);
use Time::HiRes ();
use FindBin;
use lib $FindBin::Bin;
use FcgixPrefork;

my ($path, $nworkers, $pidfile, $reqlog, $rawpath) = @ARGV;
die "usage: $0 SOCKET WORKERS PIDFILE REQLOG [RAWSOCKET]\n"
    unless $path && $reqlog;
$nworkers ||= 4;

my %SHORT = (AUTHENTICATOR => 'authn', AUTHORIZER => 'authz',
             ACCESS_CHECKER => 'access');

umask 0;
unlink $path if -S $path;
my $sock = FCGI::OpenSocket($path, 128)
    or die "$0: cannot listen on $path: $!\n";
chmod 0666, $path;

my $raw;
if ($rawpath) {
    unlink $rawpath if -S $rawpath;
    socket($raw, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
    bind($raw, pack_sockaddr_un($rawpath)) or die "bind $rawpath: $!";
    listen($raw, 128) or die "listen: $!";
    chmod 0666, $rawpath;
}

prefork_pidfile($pidfile);
# a write to a connection httpd closed fails rather than ending the worker
prefork_run(fcgi => [$nworkers, sub { $SIG{PIPE} = 'IGNORE'; worker() }],
            $raw ? (raw => [1, sub { $SIG{PIPE} = 'IGNORE'; raw_worker() }])
                 : ());
unlink $path;
unlink $rawpath if $rawpath;
exit 0;

# ---------------------------------------------------------------------
# libfcgi workers

sub worker {
    my %env;
    my ($in, $out, $err) = (IO::Handle->new, IO::Handle->new, IO::Handle->new);
    my $req = FCGI::Request($in, $out, $err, \%env, $sock);
    while ($req->Accept() >= 0) {
        handle($req, $in, $out, \%env);
        $req->Finish();
    }
}

sub log_request {
    my ($short, $env) = @_;
    open my $fh, '>>', $reqlog or return;
    my $line = sprintf "%d %s %s user=%s require=%s\n", $$, $short,
        $env->{REQUEST_URI} // '-', $env->{REMOTE_USER} // '-',
        $env->{FCGIX_REQUIRE} // '-';
    syswrite $fh, $line;   # one write: lines of workers don't interleave
    close $fh;
}

sub choose {
    my ($short, $env) = @_;
    my $require = $env->{FCGIX_REQUIRE};
    if (defined $require && $require =~ /\S/) {
        my ($action, @args) = split ' ', $require;
        return ($action, @args);
    }
    my ($p) = split /\?/, $env->{REQUEST_URI} // '', 2;
    my ($mine, $all);
    for my $seg (split m{/}, $p) {
        next unless $seg =~ /^(authn|authz|access|all)=([\w.-]+)$/;
        $mine //= $2 if $1 eq $short;
        $all  //= $2 if $1 eq 'all';
    }
    return ($mine // $all // 'deny');
}

sub reply {
    my ($out, $status, $headers, $body) = @_;
    my $h = '';
    $h .= "Status: $status\r\n" if defined $status;
    $h .= "$_->[0]: $_->[1]\r\n" for @$headers;
    print $out $h, "\r\n", $body // '';
}

sub handle {
    my ($req, $in, $out, $env) = @_;
    my $role = $env->{FCGI_APACHE_ROLE} // 'NONE';
    my $short = $SHORT{$role} // 'none';
    my $R = uc $short;
    log_request($short, $env);

    # An authorizer gets no body; count what comes anyway.
    my ($buf, $stdin) = ('', 0);
    while (my $n = read($in, $buf, 65536)) { $stdin += $n }

    my ($action, @args) = choose($short, $env);
    my $user = $env->{REMOTE_USER};
    my $pw = $env->{REMOTE_PASSWD};

    if ($action eq 'user' || $action eq 'user404') {
        if ($short eq 'authn') {
            if (($user // '') eq 'alice' && ($pw // '') eq 'secret') {
                $action = 'allow';
            }
            elsif ($action eq 'user404'
                   && ($user // '') !~ /^(?:alice|mallory)$/) {
                $action = 'notfound';
            }
            else {
                $action = 'unauth';
            }
        }
        else {
            my %ok = map { $_ => 1 } (@args ? @args : 'alice');
            $action = !defined $user ? 'unauth'
                    : $ok{$user}     ? 'allow' : 'deny';
        }
    }

    if ($action eq 'crash') {
        POSIX::_exit(3);   # no reply: the connection just closes
    }
    if ($action eq 'hang') {
        sleep 8;
        $action = 'allow';
    }

    if ($action eq 'location') {
        reply($out, undef, [['Location', '/login']], "go and log in\n");
        return;
    }
    if ($action eq 'interim') {
        reply($out, '100 Continue', [['Content-Type', 'text/plain']],
              "not a final status\n");
        return;
    }
    if ($action eq 'allow' || $action eq 'rewrite'
        || $action eq 'nostatus') {
        my @h = (['Content-Type', 'text/plain'],
                 ['Variable-AUTH_TEAM', 'blue'],
                 ["Variable-AUTH_ROLE_$role", 'yes']);
        my %seen = (
            APP             => 'perl',
            FCGI_ROLE       => $env->{FCGI_ROLE} // 'none',
            APACHE_ROLE     => $role,
            SCRIPT_FILENAME => $env->{SCRIPT_FILENAME} // 'none',
            AUTH_FILENAME   => $env->{FCGIX_AUTH_FILENAME} // 'none',
            REMOTE_USER     => $user // '-',
            PASSWD          => !defined $pw ? 'none'
                             : $pw eq 'secret' ? 'ok' : 'other',
            CONTENT_LENGTH  => $env->{CONTENT_LENGTH} // 'none',
            STDIN_BYTES     => $stdin,
            REQUIRE         => $env->{FCGIX_REQUIRE} // '-',
            METHOD          => $env->{REQUEST_METHOD} // 'none',
            QUERY_STRING    => $env->{QUERY_STRING} // 'none',
            X_AUTHZ_TEST    => $env->{HTTP_X_AUTHZ_TEST} // 'none',
        );
        push @h, ["Variable-SEEN_${R}_$_", $seen{$_}] for sort keys %seen;
        push @h, ['Variable-REMOTE_USER', ($user // 'nobody') . '-rewritten']
            if $action eq 'rewrite';
        push @h, ['X-Leak', 'yes'];
        # a grant is an explicit 200 (mod_fcgix denies without one)
        reply($out, $action eq 'nostatus' ? undef : '200 OK', \@h,
              "allowed\n");
    }
    elsif ($action eq 'unauth' || $action eq 'unauth-bare') {
        my @h = (['Content-Type', 'text/plain'], ['X-Why', 'fcgi-wants-auth']);
        push @h, ['WWW-Authenticate', 'Basic realm="fcgi"']
            if $action eq 'unauth';
        reply($out, '401 Unauthorized', \@h,
              "fcgi authorizer wants credentials ($role)\n");
    }
    elsif ($action eq 'gone') {
        reply($out, '410 Gone', [['Content-Type', 'text/plain']],
              "fcgi authorizer: gone\n");
    }
    elsif ($action eq 'notfound') {
        reply($out, '404 Not Found', [['Content-Type', 'text/plain']],
              "fcgi authorizer: no such user\n");
    }
    else {   # deny, and anything unknown
        reply($out, '403 Forbidden',
              [['Content-Type', 'text/plain'], ['X-Why', 'fcgi-said-no'],
               ['Variable-DENY_SECRET', 'leak']],
              "fcgi authorizer denied $role for " . ($user // '-') . "\n");
    }
}

# ---------------------------------------------------------------------
# Raw protocol worker (one connection at a time)

sub rec {
    my ($type, $rid, $content) = @_;
    my $len = length $content;
    my $pad = (8 - $len % 8) % 8;
    pack('CCnnCC', 1, $type, $rid, $len, $pad, 0) . $content . ("\0" x $pad);
}

sub nv_len {
    my ($s, $off) = @_;
    my $b = ord substr $$s, $$off, 1;
    if ($b < 128) { $$off += 1; return $b }
    my $n = unpack('N', substr $$s, $$off, 4) & 0x7fffffff;
    $$off += 4;
    return $n;
}

sub nv_pairs {
    my ($s) = @_;
    my @p;
    my $off = 0;
    while ($off < length $s) {
        my $nl = nv_len(\$s, \$off);
        my $vl = nv_len(\$s, \$off);
        push @p, [substr($s, $off, $nl), substr($s, $off + $nl, $vl)];
        $off += $nl + $vl;
    }
    @p;
}

sub nv {
    my ($k, $v) = @_;
    chr(length $k) . chr(length $v) . $k . $v;
}

sub read_full {
    my ($fh, $n) = @_;
    my $buf = '';
    while (length $buf < $n) {
        my $r = sysread($fh, $buf, $n - length $buf, length $buf);
        return undef unless $r;
    }
    $buf;
}

sub raw_worker {
    while (accept(my $c, $raw)) {
        my ($role, $flags, $params, $stdin, $rid) = (undef, 0, '', 0, 1);
        while (1) {
            my $h = read_full($c, 8) // last;
            my ($ver, $type, $id, $len, $pad) = unpack 'CCnnC', $h;
            my $content = $len ? read_full($c, $len) // last : '';
            read_full($c, $pad) // last if $pad;
            if ($type == 9) {   # FCGI_GET_VALUES
                my %val = (FCGI_MAX_CONNS => 10, FCGI_MAX_REQS => 1,
                           FCGI_MPXS_CONNS => 0);
                my $res = join '', map { nv($_->[0], $val{$_->[0]}) }
                          grep { exists $val{$_->[0]} } nv_pairs($content);
                syswrite $c, rec(10, 0, $res);
            }
            elsif ($type == 1) {   # BEGIN_REQUEST
                ($role, $flags) = unpack 'nC', $content;
                $rid = $id;
            }
            elsif ($type == 4) {   # PARAMS
                $params .= $content;
            }
            elsif ($type == 5) {   # STDIN
                $stdin += $len;
                next if $len;
                my (@roles, %p);
                for (nv_pairs($params)) {
                    push @roles, $_->[1] if $_->[0] eq 'FCGI_ROLE';
                    $p{$_->[0]} = $_->[1];
                }
                my $pw = $p{REMOTE_PASSWD};
                my $R = uc($SHORT{$p{FCGI_APACHE_ROLE} // ''} // 'none');
                my %w = (
                    BEGIN_ROLE     => $role // 'none',
                    BEGIN_FLAGS    => $flags,
                    FCGI_ROLE      => @roles ? join(',', @roles) : 'none',
                    CONTENT_LENGTH => $p{CONTENT_LENGTH} // 'none',
                    STDIN_BYTES    => $stdin,
                    PASSWD         => !defined $pw ? 'none'
                                    : $pw eq 'secret' ? 'ok' : 'other',
                    REMOTE_USER    => $p{REMOTE_USER} // '-',
                );
                my $head = "Status: 200 OK\r\nContent-Type: text/plain\r\n"
                    . join('', map { "Variable-WIRE_${R}_$_: $w{$_}\r\n" }
                                   sort keys %w)
                    . "\r\nraw allowed\n";
                syswrite $c, rec(6, $rid, $head) . rec(6, $rid, '')
                           . rec(3, $rid, pack('NCx3', 0, 0));
                last;
            }
        }
        close $c;
    }
}
