package FcgixTest;
# Shared helpers of the mod_fcgix Apache::Test suite.
#
#  * %LOG: the module's log message numbers the tests provoke.  The ONLY
#    place they are written down; t/999_error_log.t treats any other
#    [fcgix:error]/[fcgix:warn] number as a failure.
#  * http(): a small HTTP/1.1 client on a raw socket, so the tests see the
#    exact wire format (chunk terminators, short bodies, header order) and
#    can stream 20 MiB through an md5 without keeping it.
#  * log_mark()/log_tag_ok(): "this request logged FCGIXnnnnn".
#  * backend_tests(): one set of tests run against each FastCGI backend.
#    All apps implement the same query-string contract:
#      (default)              200 text/plain, every param NAME=VALUE\n sorted
#      digest                 read the body; "len=<N> md5=<hex>\n"
#                             "content_length=<CONTENT_LENGTH param or ->\n"
#      bytes=N [chunk=K] [delay_ms=M]  N bytes, byte i = 'a' + i % 26,
#                             application/octet-stream, flushed per chunk
#      status=NNN             "Status: NNN Text", body "status NNN\n"
#      location=URL           "Location: URL", no Status
#      cookies=N              Set-Cookie: c<i>=v<i>
#      hdr=LINE [hdr_pad=N]   (C app only) LINE added to the header block,
#                             the last one padded with N 'x'
#      nph=TEXT               (C app only) "HTTP/1.1 TEXT" as the first line
#      interim=TEXT [interim_ms=MS]  (C app only) an interim header block
#                             "TEXT\r\n\r\n" before the real one (may
#                             repeat), then flush and sleep MS
#      headers_then_sleep=MS  "first\n", flush, sleep MS, "last\n"
use strict;
use warnings;

use Apache::Test ();
use Digest::MD5 ();
use File::Spec::Functions qw(catfile);
use IO::Select ();
use IO::Socket::INET ();
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Test::More;
use Time::HiRes ();

use Exporter 'import';
our @EXPORT_OK = qw(brief http_start http_finish http_result_of
                    http_request_text http_parallel slurp spew
                    config_check);
our @EXPORT = qw(http env_of digest_of pattern_md5 log_mark log_tag_ok
                 log_new_lines healthy_ok backend_started backend_tests
                 static_content chunked_post_pieces big_body header headers
                 streaming_ok uri_escape %LOG);

# ---------------------------------------------------------------------
# Log message numbers (provisional; keep them here and only here).

our %LOG = (
    rival_module       => '00340',  # warn: old module loaded beside (t/085)
    app_stderr         => '00101',  # warn: one line of the app's FCGI_STDERR
    connect_failed     => '00102',  # 503
    connect_timeout    => '00103',  # 504
    io_timeout         => '00104',  # 504
    protocol_error     => '00105',  # 502: record for another request id
    bad_record         => '00125',  # 502: bad version / record type
    app_closed         => '00106',  # 502: app closed the connection early
    end_before_headers => '00107',  # 502
    bad_header         => '00108',  # 502: malformed response header
    header_too_large   => '00109',  # 502
    body_too_large     => '00110',  # 413: Content-Length over the limit
    chunked_too_large  => '00119',  # 413: chunked body over the limit
    aborted_response   => '00111',  # error after the headers were sent
    stderr_dropped     => '00301',  # warn: stderr past the per-request
                                    # limits, counted in one line (101)
);
# ---- authz ----
# t/040-042 (FastCGI authorizers) also provoke app_closed (crash), io_timeout
# (hang) and connect_failed (nothing listens).
$LOG{authz_no_server} = '00183';   # error: authorizer is neither a server nor an executable
$LOG{authz_no_status} = '00302';   # warn: authorizer reply without Status: 403 (043)
# ---- end authz ----
# ---- pm ----
# t/060-065 (spawned applications) also provoke app_closed (an app killed
# mid-request, or by the busy timeout).
$LOG{pm_start_failed}   = '00154';  # error: app exited at start; back-off
$LOG{pm_restarted}      = '00161';  # warn: PM died, the parent starts one
$LOG{pm_no_process}     = '00171';  # error: none free in FcgixSpawnWait
$LOG{pm_backoff}        = '00194';  # error: 503 at once, class in start
                                    # back-off (t/062, t/066)
$LOG{pm_not_executable} = '00168';  # error: 403, never the source
# ---- end pm ----
# ---- hosting ----
# t/070-075 (shared hosting).
$LOG{hosting_root_refused}  = '00175';  # error: 500, app would run as root
$LOG{hosting_user_requests} = '00177';  # error: 503, FcgixMaxRequestsPerUser
$LOG{hosting_forged_message} = '00185';  # warn: PM ignored a message from a non-child (072)
$LOG{pm_refused_root} = '00184';  # error: PM refused a message (root
                                  # identity, or malformed: t/090)
$LOG{pm_msg_size} = '00191';      # error: PM refused a message of the wrong
                                  # size (t/090)
$LOG{pm_unreachable} = '00172';  # error: 503, processes' sockets replaced
                                  # by t/090's symlink racer
$LOG{pm_log_fd_refused} = '00195'; # error: PM refused a log descriptor
                                  # from an httpd child (t/090)
$LOG{pm_class_redefined} = '00193'; # error: PM refused a message that
                                  # would redefine a class (t/090)
# ---- end hosting ----
# ---- pool ----
# t/050..t/054 (connection pool)
$LOG{mpx_overflow} = '00141';   # error: client too slow on a multiplexed
                                # connection, its request dropped
$LOG{mpx_failed}   = '00142';   # error: multiplexed connection failed
$LOG{mpx_io_timeout} = '00140'; # error: no reply on a multiplexed
                                # connection within io-timeout
$LOG{pool_full} = '00186';      # error: 503, every connection under
                                # max-conns busy for max-conns-wait (055)
$LOG{no_resend}   = '00303';    # error: 502, connection broke before
                                # a reply, request not safe to repeat (057)
$LOG{abort_spent} = '00300';    # warn: app ignored FCGI_ABORT_REQUEST
                                # past FcgixAbortTimeout/MaxBytes (056)
$LOG{abort_spent_mpx} = '00305';  # warn: the same on a shared connection
# ---- end pool ----
# ---- scale-out ----
$LOG{all_draining} = '00591';   # error: 503, every address of an external
                                # server is draining (t/131)
$LOG{check_down} = '00592';     # warn: an address failed its active
                                # checks, down (t/132)
# ---- end scale-out ----
# ---- sendfile ----
# t/026 (X-Sendfile, X-Accel-Redirect).
$LOG{accel_not_local}  = '00640';  # error: 502, X-Accel-Redirect is no
                                   # local URI
$LOG{sendfile_refused} = '00641';  # error: 403, X-Sendfile outside the
                                   # roots, "..", relative, not a file
$LOG{sendfile_open_failed} = '00643';  # error: 403, httpd cannot open it
# ---- end sendfile ----
# ---- filter ----
# t/044 (FcgixFilter) also provokes app_closed, bad_header and
# authz_no_server (a filter whose program does not exist).
$LOG{filter_redirect}  = '00680';  # error: 502, a filter's reply redirects
$LOG{filter_undefined} = '00681';  # error: 500, no FcgixFilter of that name
                                   # in the request's virtual host
$LOG{filter_too_large} = '00682';  # error: 500, body over max-bytes
# ---- end filter ----
# ---- appresp ----
# t/027-029 (issue 16: what applications ask of the server); t/028 also
# provokes bad_header (Status: 101), t/029 connect_failed (nothing
# listens, Expect: 100-continue).
$LOG{interim_too_many} = '00661'; # error: 502, more than 8 interim
                                  # blocks (t/028)
# ---- end appresp ----
# ---- dropin ----
# t/080 (mod_fcgid site: FcgidMaxRequestLen 1000, FcgidIOTimeout 3) also
# provokes body_too_large, chunked_too_large and io_timeout; no new numbers.
# t/081's `apache2 -t` runs log to t/logs/dropin/081/error_log, not here.
# ---- end dropin ----

# Error/warning numbers the httpds that tests start themselves may log
# (t/logs/NAME/...: NAME => [numbers]); anything else there fails t/999.
our %LOG_OWN = (
    'many-backends' => ['00190'],  # t/053: more addresses than slots
    'static-user'   => ['00189'],  # t/076: FastCgiServer -user unknown
    'log-names'     => ['00171'],  # t/087: no process free in time
    'cfgnum'        => ['00104', '00110'],  # t/089: FcgixIOTimeout 1500ms
                                   # and FcgixMaxRequestLen 1K at work
    'phpini'        => ['00530'],  # t/140: php_value reaches php-cgi
    'phpmaster'     => [],         # t/142: one php-cgi master
    'abort-mpx'     => ['00305'],  # t/056: a shared connection retired
    'h2c'           => [],         # t/028: mod_http2, 103 over h2c
    'bodyh2'        => [],         # t/059: bodies over h2c
    # t/029: a spawned class at its limit (00171) and one that cannot
    # start (00106, 00154 and 00172 while it is tried, then 503 in
    # back-off: 00194), with Expect
    'continue'      => [qw(00106 00154 00171 00172 00194)],
    # t/110: every way a hostile application's stream fails
    'hostile'       => [qw(00101 00104 00105 00106 00107 00108 00109
                           00111 00114 00125)],
    # t/120: what its faults explain (an external address cut, php-fpm
    # restarted, applications and the PM killed, a graceful restart
    # while the PM is being replaced, a slow reader on a shared
    # connection)
    'soak'          => [qw(00102 00106 00111 00141 00161 00172 00197)],
    # t/122: the PM killed around graceful restarts (a restart may find
    # it dead but not yet reaped, a request may find it gone), then its
    # socket removed
    'pmlost'        => [qw(00161 00172 00197 00710 00711)],
    # t/133: a host name re-resolved; its name server stopped (00720),
    # a host whose application hangs (checks: 00592; requests that had
    # reached it time out: 00104), one cut off (00592), more records
    # than max-addrs (00725)
    'resolve'       => [qw(00104 00592 00720 00725)],
);

# A server that closes early (413, crashes) must not kill the test with
# SIGPIPE; writes then fail with EPIPE and the response is still read.
$SIG{PIPE} = 'IGNORE';

# ---------------------------------------------------------------------
# Config

sub vars { Apache::Test::vars(@_) }

sub docroot { vars('documentroot') }

sub error_log { catfile(vars('t_logs'), 'error_log') }

sub static_content {
    my $f = catfile(docroot(), 'static.txt');
    open my $fh, '<', $f or die "$f: $!";
    local $/;
    scalar <$fh>;
}

# Was backend NAME started by t/TEST.PL (optional ones: go, php-fpm, c6)?
sub backend_started {
    my ($name) = @_;
    my $f = catfile(vars('t_logs'), 'fcgix-backends.pids');
    open my $fh, '<', $f or return 0;
    while (<$fh>) {
        return 1 if /^\d+ \Q$name\E$/;
    }
    return 0;
}

# ---------------------------------------------------------------------
# HTTP client: the only one of the suite (FcgixPM, FcgixDropin and
# FcgixHosting wrap it; FcgixPool's session()/abort_client() are clients of
# another kind: several requests on one connection, a client that leaves).
#
# http(method => 'GET', path => '/x', headers => [Name => value, ...],
#      body => $bytes | chunks => [$piece, ...] (sent chunked),
#      keepalive => 0, pipeline => $raw_second_request,
#      md5 => 1 (don't keep the body, return md5 + length),
#      proto => '1.1' ('1.0': HTTP/1.0, no Connection header),
#      timeout => 60, port => the suite's httpd,
#      expect => S (send "Expect: 100-continue" and only the head, then
#      wait up to S s for a response before sending the body; a final
#      response meanwhile means the body is never sent; on_continue =>
#      sub {...} runs after an interim response came, before the body))
# returns the suite's one result shape:
#         {status, reason, proto, head, headers => [[name, value]...],
#          body, len, md5, chunked, complete, eof, raw_tail, error,
#          secs, kv, interim => [{status, reason, head, headers, at}...],
#          at (time the final head came), body_withheld (expect: a final
#          response came before the body was sent), expect_timeout}
# interim: the 1xx responses before the final one, in order (at: when
# each came, Time::HiRes::time()).
# complete: chunked: terminating 0-chunk seen; Content-Length: all bytes
# seen; otherwise: EOF.  raw_tail: bytes after the end of the (complete)
# response, e.g. a pipelined second response.  head: the response head as
# it came (status line and header lines); secs: from before the connect
# to the end; kv: the body's NAME=VALUE lines (kv_of).
#
# http_start(same options) sends the request and returns a handle (undef
# when the connect failed, $! telling why); http_finish($h [, $timeout])
# reads the response (within $timeout s from then, else within the
# request's timeout from its start) and returns the result.

sub _result_new {
    return { status => 0, head => '', headers => [], body => '', len => 0,
             complete => 0, eof => 0, raw_tail => '', interim => [] };
}

sub _result_end {
    my ($res, $t0) = @_;
    $res->{secs} = Time::HiRes::time() - $t0;
    $res->{kv} = kv_of($res->{body});
    $res;
}

# The request's bytes: head, body, and what is pipelined after it.
sub http_request_text {
    my %a = @_;
    my $method = $a{method} || 'GET';
    my $port = $a{port} || vars('port');
    my $proto = $a{proto} || '1.1';
    my @h = @{ $a{headers} || [] };
    my $req = "$method $a{path} HTTP/$proto\r\nHost: 127.0.0.1:$port\r\n";
    $req .= "Connection: close\r\n" unless $a{keepalive} || $proto eq '1.0';
    my $has = sub { my $n = lc shift;
                    for (my $i = 0; $i < @h; $i += 2) {
                        return 1 if lc $h[$i] eq $n }
                    0 };
    my @out;
    if ($a{chunks}) {
        $req .= "Transfer-Encoding: chunked\r\n";
        push @out, sprintf("%x\r\n", length $_) . $_ . "\r\n"
            for grep { length } @{ $a{chunks} };
        push @out, "0\r\n\r\n";
    }
    elsif (defined $a{body}) {
        $req .= "Content-Length: " . length($a{body}) . "\r\n"
            unless $has->('Content-Length');
        push @out, $a{body};
    }
    for (my $i = 0; $i < @h; $i += 2) {
        $req .= "$h[$i]: $h[$i + 1]\r\n";
    }
    $req .= "\r\n";
    unshift @out, $req;
    push @out, $a{pipeline} if defined $a{pipeline};
    join '', @out;
}

sub http {
    my %a = @_;
    my $port = $a{port} || vars('port');
    my $t0 = Time::HiRes::time();
    my $h = http_start(%a);
    unless ($h) {
        my $res = _result_new();
        $res->{error} = "connect 127.0.0.1:$port: $!";
        return _result_end($res, $t0);
    }
    $h->{t0} = $t0;
    return http_finish($h);
}

sub http_start {
    my %a = @_;
    my $method = $a{method} || 'GET';
    my $timeout = $a{timeout} || 60;
    my $port = $a{port} || vars('port');
    my $t0 = Time::HiRes::time();
    my $res = _result_new();

    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                     Timeout => 10) or return;
    binmode $sock;
    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);

    my $st = _parser_new($res, $method, \%a);
    my $sel = IO::Select->new($sock);
    my $h = { s => $sock, sel => $sel, st => $st, res => $res, t0 => $t0,
              deadline => Time::HiRes::time() + $timeout,
              keepalive => $a{keepalive},
              pipelined => defined $a{pipeline} };
    my $wbuf = http_request_text(%a, port => $port,
        $a{expect} ? (headers => [@{ $a{headers} || [] },
                                  Expect => '100-continue']) : ());
    my $woff = 0;
    my $rbuf;
    if ($a{expect}) {
        # the head alone, then what the server says within $a{expect} s
        my $head_len = index($wbuf, "\r\n\r\n") + 4;
        syswrite($sock, $wbuf, $head_len) == $head_len
            or do { $res->{write_error} = "$!"; return $h };
        $woff = $head_len;
        my $until = Time::HiRes::time() + $a{expect};
        while (!@{ $res->{interim} || [] } && $st->{head}) {
            my $left = $until - Time::HiRes::time();
            if ($left <= 0) { $res->{expect_timeout} = 1; last }
            next unless $sel->can_read($left);
            my $n = sysread($sock, $rbuf, 65536);
            if (!$n) { $res->{eof} = 1; last }
            _parse($st, $rbuf);
        }
        if (!$st->{head} || $res->{eof}) {
            $res->{body_withheld} = 1;
            return $h;
        }
        $a{on_continue}->() if $a{on_continue} && @{ $res->{interim} };
    }

    # write everything while reading whatever comes back
    while ($woff < length $wbuf) {
        my $left = $h->{deadline} - Time::HiRes::time();
        if ($left <= 0) {
            $res->{error} = 'timeout writing';
            $h->{over} = 1;
            return $h;
        }
        my ($r, $w) = IO::Select->select($sel, $sel, undef, $left);
        if ($r && @$r) {
            my $n = sysread($sock, $rbuf, 65536);
            if (!$n) { $res->{eof} = 1; last }
            _parse($st, $rbuf);
        }
        if ($w && @$w) {
            my $n = syswrite($sock, $wbuf, 262144, $woff);
            if (!defined $n) {
                $res->{write_error} = "$!";
                last;
            }
            $woff += $n;
        }
    }
    # No half-close: mod_fcgix (like nginx) takes a client's EOF while the
    # application works as the client leaving, and aborts the request.
    return $h;
}

sub http_finish {
    my ($h, $timeout) = @_;
    my ($sock, $sel, $st, $res) = @{$h}{qw(s sel st res)};
    if ($h->{over}) {   # timeout writing: as it was
        close $sock;
        return _result_end($res, $h->{t0});
    }
    my $deadline = $timeout ? Time::HiRes::time() + $timeout
                            : $h->{deadline};
    my $rbuf;
    until ($res->{eof}) {
        my $left = $deadline - Time::HiRes::time();
        if ($left <= 0) { $res->{error} = 'timeout reading'; last }
        my ($r) = IO::Select->select($sel, undef, undef, $left);
        next unless $r && @$r;
        my $n = sysread($sock, $rbuf, 262144);
        if (!$n) {
            $res->{eof} = 1;
            $res->{read_error} = "$!" unless defined $n;
            last;
        }
        _parse($st, $rbuf);
        last if $h->{keepalive} && $res->{complete} && !$h->{pipelined};
    }
    close $sock;
    _parse_eof($st);
    $res->{md5} = $st->{md5}->hexdigest if $st->{md5};
    return _result_end($res, $h->{t0});
}

# The result of a response read elsewhere (parallel_raw): $raw as it
# came, $err what ended the read (undef: EOF).
sub http_result_of {
    my ($raw, $t0, $err, $method) = @_;
    my $res = _result_new();
    my $st = _parser_new($res, $method || 'GET', {});
    _parse($st, $raw) if length($raw // '');
    $res->{eof} = 1 unless defined $err;
    $res->{error} = $err if defined $err;
    _parse_eof($st);
    return _result_end($res, $t0);
}

# http_parallel(reqs => [{http() options}, ...], timeout => S,
#               tick => sub {...})
# Every request at once (parallel_raw: a connection each, read to EOF);
# their results, in order.
sub http_parallel {
    my %a = @_;
    my @reqs = @{ $a{reqs} };
    my $t0 = Time::HiRes::time();
    my @res;
    parallel_raw(
        reqs => [ map { [$_->{port} || vars('port'), http_request_text(%$_)] }
                  @reqs ],
        timeout => $a{timeout}, tick => $a{tick},
        done => sub {
            my ($i, $raw, $err) = @_;
            $res[$i] = http_result_of($raw, $t0, $err, $reqs[$i]{method});
        });
    @res;
}

# One line about a result for diag(): status, error, time, headers, the
# start of the body (newlines as \n).
sub brief {
    my ($r) = @_;
    return 'undef' unless $r;
    my $b = substr $r->{body} // '', 0, 400;
    $b =~ s/\n/\\n/g;
    my $h = $r->{headers};
    sprintf 'status=%s error=%s secs=%.3f headers=%s body=%s',
        $r->{status} // 0, $r->{error} // '-', $r->{secs} // 0,
        join(', ', map { "$_->[0]: $_->[1]" }
                   ref $h eq 'ARRAY' ? @$h : ()), $b;
}

sub _parser_new {
    my ($res, $method, $a) = @_;
    return { res => $res, head => 1, buf => '', method => $method,
             md5 => $a->{md5} ? Digest::MD5->new : undef };
}

sub _body {
    my ($st, $data) = @_;
    my $res = $st->{res};
    $res->{len} += length $data;
    if ($st->{md5}) { $st->{md5}->add($data) }
    else            { $res->{body} .= $data }
}

sub _parse {
    my ($st, $data) = @_;
    my $res = $st->{res};
    if ($st->{done}) {
        $res->{raw_tail} .= $data;
        return;
    }
    $st->{buf} .= $data;
    if ($st->{head}) {
        my $i = index $st->{buf}, "\r\n\r\n";
        return if $i < 0;
        my $head = substr $st->{buf}, 0, $i;
        substr($st->{buf}, 0, $i + 4) = '';
        my ($line, @lines) = split /\r\n/, $head;
        my %h = (head => $head, headers => [],
                 at => Time::HiRes::time());
        @h{qw(proto status reason)} =
            $line =~ m{^(HTTP/\d\.\d) (\d{3})(?: (.*))?$} or do {
                $res->{error} = "bad status line: $line";
            };
        $h{reason} //= '';
        for (@lines) {
            my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
            push @{ $h{headers} }, [$k, $v];
        }
        if (($h{status} // 0) >= 100 && $h{status} < 200) {
            # an interim response: the final one follows
            push @{ $res->{interim} }, \%h;
            return _parse($st, '');
        }
        $st->{head} = 0;
        $res->{$_} = $h{$_} for qw(head headers at proto status reason);
        my $te = header($res, 'Transfer-Encoding') // '';
        my $cl = header($res, 'Content-Length');
        my $s = $res->{status};
        if ($st->{method} eq 'HEAD' || $s == 204 || $s == 304) {
            $st->{mode} = 'none';
        }
        elsif ($te =~ /chunked/i) {
            $st->{mode} = 'chunked';
            $res->{chunked} = 1;
            $st->{chunk_left} = -1;   # expecting a size line
        }
        elsif (defined $cl) {
            $st->{mode} = 'length';
            $st->{left} = $cl;
        }
        else {
            $st->{mode} = 'close';
        }
        if ($st->{mode} eq 'none'
            || ($st->{mode} eq 'length' && $st->{left} == 0)) {
            _done($st);
            return;
        }
    }
    my $mode = $st->{mode};
    if ($mode eq 'close') {
        _body($st, $st->{buf});
        $st->{buf} = '';
    }
    elsif ($mode eq 'length') {
        my $take = substr $st->{buf}, 0, $st->{left};
        substr($st->{buf}, 0, length $take) = '';
        $st->{left} -= length $take;
        _body($st, $take);
        _done($st) if $st->{left} == 0;
    }
    else {
        while (length $st->{buf}) {
            if ($st->{chunk_left} < 0) {
                my $i = index $st->{buf}, "\r\n";
                return if $i < 0;
                my $line = substr $st->{buf}, 0, $i;
                if ($st->{trailer}) {
                    substr($st->{buf}, 0, $i + 2) = '';
                    if ($line eq '') { _done($st); return }
                    next;
                }
                my ($hex) = $line =~ /^([0-9a-fA-F]+)/ or do {
                    $res->{error} = "bad chunk size line '$line'";
                    $st->{buf} = '';
                    return;
                };
                substr($st->{buf}, 0, $i + 2) = '';
                my $n = hex $hex;
                if ($n == 0) { $st->{trailer} = 1; next }
                $st->{chunk_left} = $n;
            }
            elsif ($st->{chunk_left} > 0) {
                my $take = substr $st->{buf}, 0, $st->{chunk_left};
                substr($st->{buf}, 0, length $take) = '';
                $st->{chunk_left} -= length $take;
                _body($st, $take);
            }
            else {   # CRLF after the chunk data
                return if length $st->{buf} < 2;
                if (substr($st->{buf}, 0, 2) ne "\r\n") {
                    $res->{error} = 'missing CRLF after chunk';
                    $st->{buf} = '';
                    return;
                }
                substr($st->{buf}, 0, 2) = '';
                $st->{chunk_left} = -1;
            }
        }
    }
}

sub _done {
    my ($st) = @_;
    $st->{done} = 1;
    $st->{res}{complete} = 1;
    $st->{res}{raw_tail} .= $st->{buf};
    $st->{buf} = '';
}

sub _parse_eof {
    my ($st) = @_;
    $st->{res}{complete} = 1
        if !$st->{head} && !$st->{done} && ($st->{mode} // '') eq 'close';
    $st->{res}{error} //= 'connection closed before the response head'
        if $st->{head};
}

# First value of a response header (case-insensitive), or undef.
sub header {
    my ($res, $name) = @_;
    my @v = headers($res, $name);
    return @v ? $v[0] : undef;
}

sub headers {
    my ($res, $name) = @_;
    return map { $_->[1] } grep { lc $_->[0] eq lc $name }
        @{ $res->{headers} };
}

# NAME=VALUE lines of the default reply as a hash ref.
sub env_of {
    my ($res) = @_;
    kv_of($res->{body});
}

# "len=<N> md5=<hex>\ncontent_length=<x>\n" -> (len, md5, content_length)
sub digest_of {
    my ($res) = @_;
    return $res->{body} =~ /\Alen=(\d+) md5=([0-9a-f]{32})\ncontent_length=(.*)\n\z/
        ? ($1, $2, $3) : ();
}

# md5 of the first N bytes of the a..z pattern, in constant memory.
sub pattern_md5 {
    my ($n) = @_;
    my $block = 'abcdefghijklmnopqrstuvwxyz' x 2520;   # 65520 bytes
    my $md5 = Digest::MD5->new;
    while ($n >= length $block) {
        $md5->add($block);
        $n -= length $block;
    }
    $md5->add(substr $block, 0, $n);
    $md5->hexdigest;
}

# N bytes of pseudo-random data (no two MiB alike).
sub big_body {
    my ($n) = @_;
    my $unit = '';
    my $seed = 'mod_fcgix';
    while (length $unit < 1048576) {
        $seed = Digest::MD5::md5($seed . length $unit);
        $unit .= $seed x 4 . Digest::MD5::md5($seed);
    }
    $unit = substr $unit, 0, 1048576;
    my $out = '';
    my $i = 0;
    while (length $out < $n) {
        my $r = ($i++ * 7919) % length $unit;
        $out .= substr($unit, $r) . substr($unit, 0, $r);
    }
    substr $out, 0, $n;
}

# $total bytes cut into irregular pieces for a chunked request body.
sub chunked_post_pieces {
    my ($data) = @_;
    my @sizes = (1, 7, 100, 4096, 8191, 8192, 65535, 65536, 100000, 3);
    my @p;
    my ($off, $i) = (0, 0);
    while ($off < length $data) {
        my $n = $sizes[$i++ % @sizes];
        push @p, substr $data, $off, $n;
        $off += $n;
    }
    @p;
}

# ---------------------------------------------------------------------
# Small shared pieces (also behind FcgixPM's pm_* and FcgixDropin's
# dropin_* names)

# A file's text (dies when it cannot be read).
sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or die "$f: $!";
    local $/;
    scalar <$fh>;
}

# Writes a file, mode $mode (0644).
sub spew {
    my ($f, $text, $mode) = @_;
    open my $fh, '>', $f or die "$f: $!";
    print $fh $text;
    close $fh or die "$f: $!";
    chmod $mode // 0644, $f;
}

# `apache2 -t` on $head and $body, written to a new file in $dir, with
# no core file (Apache::Test would report one); returns (exit code,
# signal, output, the file).
my %config_files;
sub config_check {
    my ($dir, $head, $body) = @_;
    my $conf = sprintf '%s/c%03d.conf', $dir, ++$config_files{$dir};
    my $httpd = vars('httpd') || '/usr/sbin/apache2';
    spew($conf, $head . $body . "\n");
    my $out = `sh -c 'ulimit -c 0; exec "\$0" -t -f "\$1" 2>&1' \\
               '$httpd' '$conf'`;
    return ($? >> 8, $? & 127, $out, $conf);
}

# NAME=VALUE lines of a text as a hash ref.
sub kv_of {
    my ($text) = @_;
    my %kv;
    for (split /\n/, $text // '') {
        my ($k, $v) = split /=/, $_, 2;
        $kv{$k} = $v // '' if defined $k && length $k;
    }
    \%kv;
}

# A chunked HTTP body decoded.
sub dechunk {
    my ($body) = @_;
    my $dec = '';
    while ($body =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
        my $n = hex $1;
        last if $n == 0;
        $dec .= substr $body, 0, $n;
        substr($body, 0, $n + 2) = '';
    }
    $dec;
}

# /proc/PID: {pid, ppid, pgrp, state, comm, uid, euid, suid, fsuid, gid,
# egid, sgid, fsgid, groups => [...], cap_eff, cap_prm (hex strings, as
# /proc has them), argv => [...]},
# or undef.
sub proc_info {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return;
    my $stat = <$fh> // return;
    close $fh;
    my ($comm, $state, $ppid, $pgrp) =
        $stat =~ /\((.*)\)\s+(\S)\s+(\d+)\s+(\d+)/s or return;
    my %i = (pid => $pid + 0, ppid => $ppid, state => $state,
             pgrp => $pgrp, comm => $comm);
    if (open my $st, '<', "/proc/$pid/status") {
        while (my $l = <$st>) {
            @i{qw(uid euid suid fsuid)} = ($1, $2, $3, $4)
                if $l =~ /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/;
            @i{qw(gid egid sgid fsgid)} = ($1, $2, $3, $4)
                if $l =~ /^Gid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/;
            $i{groups} = [split ' ', $1] if $l =~ /^Groups:\s*(.*)$/;
            $i{cap_eff} = $1 if $l =~ /^CapEff:\s+([0-9a-f]+)/;
            $i{cap_prm} = $1 if $l =~ /^CapPrm:\s+([0-9a-f]+)/;
        }
    }
    if (open my $cl, '<', "/proc/$pid/cmdline") {
        local $/;
        my $c = <$cl> // '';
        $i{argv} = [split /\0/, $c];
    }
    \%i;
}

# proc_info() of every live (not zombie) child of $ppid, from /proc (no
# pgrep: procps hangs under the ASan run's LD_PRELOAD).
sub children_of {
    my ($ppid) = @_;
    opendir my $d, '/proc' or return ();
    return grep { $_->{ppid} == $ppid && $_->{state} ne 'Z' }
           map { proc_info($_) || () } grep { /^\d+$/ } readdir $d;
}

# Live pids whose argv[0] (or argv[1], for "#!" interpreters) is $path,
# sorted; a count in scalar context.
sub procs_running {
    my ($path) = @_;
    opendir my $d, '/proc' or return ();
    my @p;
    for my $pid (grep { /^\d+$/ } readdir $d) {
        my $i = proc_info($pid) or next;
        next if $i->{state} eq 'Z';
        my @a = @{ $i->{argv} || [] };
        push @p, $pid + 0
            if @a && ($a[0] eq $path || (@a > 1 && $a[1] eq $path));
    }
    my @s = sort { $a <=> $b } @p;
    return @s;
}

# Polls $cond every $step s (0.05) until it is true or $secs have passed;
# returns its last value.
sub wait_until {
    my ($secs, $cond, $step) = @_;
    my $deadline = Time::HiRes::time() + $secs;
    while (1) {
        my $v = $cond->();
        return $v if $v || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep($step || 0.05);
    }
}

# ---------------------------------------------------------------------
# Requests at once

# parallel_raw(reqs => [[port, request text], ...], timeout => S,
#              tick => sub {...}, done => sub { my ($i, $raw, $err) = @_ })
# Sends each request on a connection of its own, all at once, and reads
# every answer to EOF; tick runs about every 50 ms meanwhile.  done is
# called as each one ends, with what was read and undef, "connect: ...",
# "read: ..." or "timeout".
sub parallel_raw {
    my %a = @_;
    my $done = $a{done};
    my @reqs = @{ $a{reqs} };
    my %by_fd;
    my $sel = IO::Select->new;
    my $deadline = Time::HiRes::time() + ($a{timeout} || 60);
    for my $i (0 .. $#reqs) {
        my ($port, $text) = @{ $reqs[$i] };
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Timeout => 10);
        unless ($s) {
            $done->($i, '', "connect: $!");
            next;
        }
        binmode $s;
        syswrite $s, $text;
        $by_fd{fileno $s} = { i => $i, s => $s, raw => '' };
        $sel->add($s);
    }
    while ($sel->count) {
        my $left = $deadline - Time::HiRes::time();
        last if $left <= 0;
        $a{tick}->() if $a{tick};
        for my $s ($sel->can_read($left < 0.05 ? $left : 0.05)) {
            my $c = $by_fd{fileno $s};
            my $n = sysread $s, $c->{raw}, 65536, length $c->{raw};
            next if $n;
            $sel->remove($s);
            close $s;
            $c->{done} = 1;
            $done->($c->{i}, $c->{raw}, defined $n ? undef : "read: $!");
        }
    }
    for my $c (values %by_fd) {
        next if $c->{done};
        close $c->{s};
        $done->($c->{i}, $c->{raw}, 'timeout');
    }
}

# ---------------------------------------------------------------------
# error_log

# The main error_log's, or $file's (an httpd of a test's own).
sub log_mark { -s ($_[0] // error_log()) || 0 }

sub log_new_lines {
    my ($off, $file) = @_;
    open my $fh, '<', $file // error_log() or return ();
    seek $fh, $off, 0;
    my @l = <$fh>;
    @l;
}

# Waits (up to $wait s) for a line matching $re written after $off.
sub log_wait {
    my ($off, $re, $wait) = @_;
    my $deadline = Time::HiRes::time() + ($wait // 5);
    while (1) {
        my @m = grep { $_ =~ $re } log_new_lines($off);
        return @m if @m || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
}

sub tag_re {
    my ($key) = @_;
    my $no = $LOG{$key} or die "unknown log key $key";
    qr/\[fcgix:\w+\].*\bFCGIX\Q$no\E:/;
}

# ok() that a line tagged $LOG{$key} was logged since $off.
sub log_tag_ok {
    my ($off, $key, $name) = @_;
    my @m = log_wait($off, tag_re($key));
    my $ok = Test::More::ok(scalar @m,
        "$name: error_log has FCGIX$LOG{$key} ($key)");
    unless ($ok) {
        my @new = log_new_lines($off);
        Test::More::diag("new error_log lines:\n",
                         @new ? @new : "(none)\n");
    }
    return @m;
}

# ---------------------------------------------------------------------
# A request to the plain C-app server that must work.

sub healthy_ok {
    my ($name) = @_;
    my $r = http(path => '/ext/c.fcgi?healthy=1');
    Test::More::ok($r->{status} == 200
                   && $r->{body} =~ /^QUERY_STRING=healthy=1$/m,
                   "$name: next request is served (200)")
        or Test::More::diag(brief($r));
}

# ---------------------------------------------------------------------
# The shared backend tests.
#
# backend_tests(name => 'c_unix', script => '/ext/c.fcgi',
#               lost => [vars the app cannot report], pid => 'c')

sub backend_tests {
    my %b = @_;
    my $name = $b{name};
    my $s = $b{script};
    my %lost = map { $_ => 1 } @{ $b{lost} || [] };
    my $docroot = docroot();
    my $port = vars('port');
    my $r;

    # GET: CGI variables
    $r = http(path => "$s/extra/path?x=1",
              headers => ['X-Fcgix-Test' => 'hello world',
                          'Accept-Language' => 'de']);
    is($r->{status}, 200, "$name: GET status")
        or diag(brief($r));
    like(header($r, 'Content-Type') // '', qr{^text/plain},
         "$name: GET content type");
    my $e = env_of($r);
    my %want = (
        REQUEST_METHOD  => 'GET',
        QUERY_STRING    => 'x=1',
        REQUEST_URI     => "$s/extra/path?x=1",
        SERVER_PROTOCOL => 'HTTP/1.1',
        REMOTE_ADDR     => '127.0.0.1',
        SERVER_PORT     => $port,
        GATEWAY_INTERFACE => 'CGI/1.1',
        SCRIPT_NAME     => $s,
        PATH_INFO       => '/extra/path',
        SCRIPT_FILENAME => "$docroot$s",
        DOCUMENT_ROOT   => $docroot,
        HTTP_HOST       => "127.0.0.1:$port",
        HTTP_X_FCGIX_TEST => 'hello world',
        HTTP_ACCEPT_LANGUAGE => 'de',
    );
    for my $k (sort keys %want) {
        next if $lost{$k};
        is($e->{$k}, $want{$k}, "$name: GET $k");
    }
    ok(!exists $e->{CONTENT_LENGTH}
       || $e->{CONTENT_LENGTH} =~ /^0?$/,
       "$name: GET has no request body length");

    # POST, small
    my $small = 'hello=world&a=%21';
    $r = http(method => 'POST', path => "$s?digest", body => $small,
              headers => ['Content-Type' =>
                          'application/x-www-form-urlencoded']);
    is($r->{status}, 200, "$name: small POST status");
    is_deeply([digest_of($r)],
        [length $small, Digest::MD5::md5_hex($small), length $small],
        "$name: small POST body and CONTENT_LENGTH reach the app")
        or diag(brief($r));
    $r = http(method => 'POST', path => "$s?x=2", body => $small,
              headers => ['Content-Type' =>
                          'application/x-www-form-urlencoded']);
    $e = env_of($r);
    is($e->{REQUEST_METHOD}, 'POST', "$name: POST method");
    is($e->{CONTENT_TYPE}, 'application/x-www-form-urlencoded',
       "$name: POST CONTENT_TYPE");
    is($e->{CONTENT_LENGTH}, length $small,
       "$name: POST CONTENT_LENGTH");

    # POST, 10 MiB
    {
        my $big = big_body(10 * 1048576);
        my $md5 = Digest::MD5::md5_hex($big);
        $r = http(method => 'POST', path => "$s?digest", body => $big,
                  headers => ['Content-Type' => 'application/octet-stream'],
                  timeout => 120);
        is($r->{status}, 200, "$name: 10 MiB POST status")
            or diag(brief($r));
        is_deeply([digest_of($r)],
            [10 * 1048576, $md5, 10 * 1048576],
            "$name: 10 MiB POST arrives intact");
    }

    # POST, 1 MiB chunked
    {
        my $data = big_body(1048576);
        my $md5 = Digest::MD5::md5_hex($data);
        $r = http(method => 'POST', path => "$s?digest",
                  chunks => [chunked_post_pieces($data)],
                  headers => ['Content-Type' => 'application/octet-stream'],
                  timeout => 120);
        is($r->{status}, 200, "$name: chunked POST status")
            or diag(brief($r));
        is_deeply([digest_of($r)], [1048576, $md5, 1048576],
            "$name: 1 MiB chunked POST arrives intact, CONTENT_LENGTH=1048576");
    }

    # 20 MiB response
    {
        my $n = 20 * 1048576;
        $r = http(path => "$s?bytes=$n", md5 => 1, timeout => 120);
        is($r->{status}, 200, "$name: 20 MiB GET status");
        like(header($r, 'Content-Type') // '',
             qr{^application/octet-stream},
             "$name: 20 MiB GET content type");
        ok($r->{complete}, "$name: 20 MiB response complete");
        is($r->{len}, $n, "$name: 20 MiB response length");
        is($r->{md5}, pattern_md5($n),
           "$name: 20 MiB response byte-exact");
    }

    # streamed: "first" is delivered while the app sleeps
    streaming_ok($name, "$s?headers_then_sleep=3000");

    # HEAD
    $r = http(method => 'HEAD', path => "$s?x=1");
    is($r->{status}, 200, "$name: HEAD status");
    like(header($r, 'Content-Type') // '', qr{^text/plain},
         "$name: HEAD content type");
    ok($r->{eof} && $r->{raw_tail} eq '',
       "$name: HEAD response has no body")
        or diag("got after the head: "
                             . substr($r->{raw_tail}, 0, 200));
    $r = http(method => 'HEAD', path => "$s?bytes=300000");
    ok($r->{status} == 200 && $r->{eof}
       && $r->{raw_tail} eq '',
       "$name: HEAD of a 300 kB response: 200, no body")
        or diag(brief($r) . ' tail='
                             . length($r->{raw_tail}));

    # Status from the app
    for my $code (404, 503) {
        $r = http(path => "$s?status=$code");
        is($r->{status}, $code, "$name: Status: $code passed");
        is($r->{body}, "status $code\n",
           "$name: body of the app's $code passed");
    }

    # Location: local path -> internal redirect
    $r = http(path => "$s?location=/static.txt");
    is($r->{status}, 200,
       "$name: local Location: internal redirect status");
    is($r->{body}, static_content(),
       "$name: local Location: content of the target");
    ok(!defined header($r, 'Location'),
       "$name: internal redirect sends no Location");

    # Location: absolute URL -> 302
    my $url = 'http://example.com/fcgix/target?a=b';
    $r = http(path => "$s?location=" . uri_escape($url));
    is($r->{status}, 302, "$name: absolute Location -> 302");
    is(header($r, 'Location'), $url,
       "$name: 302 carries the app's Location");

    # 6000-byte request header
    my $long = join '', map { chr(ord('a') + $_ % 26) } 0 .. 5999;
    $r = http(path => "$s?x=3", headers => ['X-Long' => $long]);
    is($r->{status}, 200, "$name: 6000-byte header status");
    is(env_of($r)->{HTTP_X_LONG}, $long,
       "$name: 6000-byte header reaches the app");

    # 80 request headers
    my @h = map { (sprintf('X-H-%02d', $_), "value-$_") } 1 .. 80;
    $r = http(path => "$s?x=4", headers => \@h);
    $e = env_of($r);
    my @miss = grep { ($e->{sprintf 'HTTP_X_H_%02d', $_} // '') ne "value-$_" }
               1 .. 80;
    ok($r->{status} == 200 && !@miss,
       "$name: 80 request headers all reach the app")
        or diag("status $r->{status}, missing: @miss");

    # several Set-Cookie
    $r = http(path => "$s?cookies=3");
    is($r->{status}, 200, "$name: cookies status");
    is_deeply([headers($r, 'Set-Cookie')],
              [qw(c1=v1 c2=v2 c3=v3)],
              "$name: three Set-Cookie headers kept");
}

sub uri_escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~\/])/sprintf '%%%02X', ord $1/ge;
    $s;
}

# "first\n" must reach the client while the app still sleeps before
# "last\n": read until "first" shows up, then check that within the next
# second the response does not complete, then read the rest.
sub streaming_ok {
    my ($name, $path) = @_;
    my $port = vars('port');
    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                     Timeout => 10);
    unless ($sock) {
        ok(0, "$name: streaming: connect: $!") for 1 .. 3;
        return;
    }
    binmode $sock;
    print $sock "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
              . "Connection: close\r\n\r\n";
    my $sel = IO::Select->new($sock);
    my $raw = '';
    my $eof = 0;
    my $read = sub {
        my ($until, $stop) = @_;
        while (!$eof && Time::HiRes::time() < $until) {
            return 1 if $stop && $raw =~ $stop;
            my $left = $until - Time::HiRes::time();
            last if $left <= 0;
            next unless $sel->can_read($left);
            my $n = sysread($sock, $raw, 65536, length $raw);
            $eof = 1 unless $n;
        }
        return $stop ? $raw =~ $stop : 0;
    };
    my $t0 = Time::HiRes::time();
    my $got_first = $read->($t0 + 2.0, qr/first\n/);
    my $t_first = Time::HiRes::time();
    ok($got_first && $raw !~ /last\n/,
       "$name: streaming: first part arrives before the app "
       . "sends the rest")
        or diag(sprintf "after %.2fs got: %s", $t_first - $t0, $raw);
    # the app sleeps 3 s between the parts: nothing completes for a while
    # (1 s, or less if "first" came late, never past 2.6 s after the start)
    my $until = $t_first + 1.0;
    $until = $t0 + 2.6 if $until > $t0 + 2.6;
    $read->($until);
    ok($raw !~ /last\n/ && !$eof,
       "$name: streaming: response still open while the app "
       . "sleeps");
    $read->(Time::HiRes::time() + 30);
    close $sock;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    $body //= '';
    if (($head // '') =~ /^Transfer-Encoding:\s*chunked/mi) {
        $body = dechunk($body);
    }
    is($body, "first\nlast\n",
       "$name: streaming: complete body in the end");
}

1;
