package FcgixDropin;
# Helpers of the drop-in tests (t/080-082, t/conf/dropin.conf.in).
#
#  dropin_port($vhost)        port of an Apache::Test <VirtualHost NAME>
#                             (undef: the main server's)
#  dropin_req(port => N, method => 'GET', path => '/x',
#             headers => [Name => value, ...], body => $bytes,
#             chunked => 1, timeout => S)
#        one request (Connection: close, read to EOF); returns
#        {status, head, headers => {lc name => value}, body, kv, secs, error}
#        kv: the body's NAME=VALUE lines as a hash
#  dropin_parallel(reqs => [[port, path], ...], timeout => S,
#                  tick => sub {...})
#        all GETs at once; tick runs about every 50 ms while they run;
#        returns the same hashes, in order
#  dropin_procs($path)        live pids whose argv[0] (or argv[1], for
#                             "#!" interpreters) is $path
#  dropin_proc($pid)          {pid, ppid, state, uid, argv => [...]}
#  dropin_environ($pid)       the process environment as a hash ref
#  dropin_wait($secs, sub {...})  polls every 50 ms until true
use strict;
use warnings;

use Apache::Test ();
use File::Spec::Functions qw(catfile);
use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes ();

use FcgixTest ();

use Exporter 'import';
our @EXPORT = qw(dropin_port dropin_req dropin_parallel dropin_procs
                 dropin_proc dropin_environ dropin_wait dropin_brief
                 dropin_docroot dropin_kv);

$SIG{PIPE} = 'IGNORE';

sub dropin_docroot { catfile(Apache::Test::vars('documentroot'), 'dropin') }

sub dropin_port {
    my ($vhost) = @_;
    return Apache::Test::vars('port') unless defined $vhost;
    return Apache::Test::vars("${vhost}_port");
}

sub dropin_kv { FcgixTest::kv_of(@_) }

sub _request_text {
    my (%a) = @_;
    my $port = $a{port};
    my $method = $a{method} || 'GET';
    my $req = "$method $a{path} HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
            . "Connection: close\r\nUser-Agent: fcgix-dropin-test\r\n";
    my @h = @{ $a{headers} || [] };
    for (my $i = 0; $i < @h; $i += 2) {
        $req .= "$h[$i]: $h[$i + 1]\r\n";
    }
    my $body = '';
    if (defined $a{body} && $a{chunked}) {
        $req .= "Transfer-Encoding: chunked\r\n";
        for (my $o = 0; $o < length $a{body}; $o += 300) {
            my $piece = substr $a{body}, $o, 300;
            $body .= sprintf("%x\r\n", length $piece) . "$piece\r\n";
        }
        $body .= "0\r\n\r\n";
    }
    elsif (defined $a{body}) {
        $req .= "Content-Length: " . length($a{body}) . "\r\n";
        $body = $a{body};
    }
    return "$req\r\n$body";
}

sub _result {
    my ($raw, $t0, $err) = @_;
    my %r = (status => 0, head => '', headers => {}, body => '',
             error => $err, secs => Time::HiRes::time() - $t0);
    my ($head, $body) = split /\r\n\r\n/, $raw // '', 2;
    if (defined $body && $head =~ m{\AHTTP/\d\.\d (\d{3})}) {
        $r{status} = $1;
        $r{head} = $head;
        for (split /\r\n/, $head) {
            my ($k, $v) = /^([^:\s]+):\s*(.*?)\s*$/ or next;
            $r{headers}{lc $k} //= $v;
        }
        if (($r{headers}{'transfer-encoding'} // '') =~ /chunked/i) {
            $body = FcgixTest::dechunk($body);
        }
        $r{body} = $body;
    }
    else {
        $r{error} //= 'no complete response head';
    }
    $r{kv} = dropin_kv($r{body});
    \%r;
}

sub _connect {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 10) or return;
    binmode $s;
    $s;
}

sub dropin_req {
    my %a = @_;
    $a{port} ||= dropin_port();
    my $timeout = $a{timeout} || 30;
    my $t0 = Time::HiRes::time();
    my $s = _connect($a{port})
        or return _result('', $t0, "connect 127.0.0.1:$a{port}: $!");
    my $out = _request_text(%a);
    my $sel = IO::Select->new($s);
    my $raw = '';
    my $deadline = $t0 + $timeout;
    my $err;
    # write while reading: a server may answer (413) before the body ends
    my $off = 0;
    while (1) {
        my $left = $deadline - Time::HiRes::time();
        if ($left <= 0) { $err = 'timeout'; last }
        my ($r, $w) = IO::Select->select($sel,
                                         $off < length $out ? $sel : undef,
                                         undef, $left);
        if ($w && @$w) {
            my $n = syswrite $s, $out, 65536, $off;
            $off = defined $n ? $off + $n : length $out;
        }
        if ($r && @$r) {
            my $n = sysread $s, $raw, 65536, length $raw;
            if (!defined $n) { $err = "read: $!" unless length $raw; last }
            last if $n == 0;
        }
    }
    close $s;
    _result($raw, $t0, $err);
}

sub dropin_parallel {
    my %a = @_;
    my $t0 = Time::HiRes::time();
    my @res;
    FcgixTest::parallel_raw(
        reqs => [ map { [$_->[0], _request_text(port => $_->[0],
                                                path => $_->[1])] }
                  @{ $a{reqs} } ],
        timeout => $a{timeout}, tick => $a{tick},
        done => sub {
            my ($i, $raw, $err) = @_;
            $res[$i] = _result($raw, $t0, $err);
        });
    @res;
}

sub dropin_brief {
    my ($r) = @_;
    my $b = substr $r->{body} // '', 0, 300;
    $b =~ s/\n/\\n/g;
    "status=$r->{status} error=" . ($r->{error} // '-') . " body=$b";
}

sub dropin_proc { FcgixTest::proc_info(@_) }

sub dropin_procs { FcgixTest::procs_running(@_) }

sub dropin_environ {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/environ" or return {};
    local $/;
    my $raw = <$fh> // '';
    my %e;
    for (split /\0/, $raw) {
        my ($k, $v) = split /=/, $_, 2;
        $e{$k} = $v // '' if defined $k && length $k;
    }
    \%e;
}

sub dropin_wait { FcgixTest::wait_until(@_) }

1;
