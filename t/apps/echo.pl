#!/usr/bin/perl
# FastCGI echo app for the mod_fcgix test suite (Perl FCGI / libfcgi-perl).
#
#   echo.pl SOCKET_PATH [WORKERS] [PIDFILE]
#
# Listens on a unix socket (mode 0666), forks WORKERS (default 4) processes
# that all accept on it, and writes PIDFILE once listening.  SIGTERM/SIGINT
# stop the workers, remove the socket and exit 0.  A worker that dies is
# replaced.
#
# Query-string contract (shared with fcgix_testapp, echo.php and echo.go;
# see t/lib/FcgixTest.pm):
#   (default)              text/plain, every param as NAME=VALUE\n, sorted
#   digest                 len=<N> md5=<hex>\ncontent_length=<CL or ->\n
#   bytes=N [chunk=K] [delay_ms=M]   N bytes of a..z, octet-stream, flushed
#                          per chunk
#   status=NNN             Status: NNN Text, body "status NNN\n"
#   location=URL           Location: URL (no Status), empty body
#   cookies=N              Set-Cookie: c<i>=v<i>, i = 1..N
#   headers_then_sleep=MS  "first\n", flush, sleep MS, "last\n"
# The body precedence is digest, bytes, headers_then_sleep, status,
# location, env.  The request body is always read completely first.
use strict;
use warnings;
use FCGI;
use IO::Handle;
use Digest::MD5;
use Time::HiRes ();
use FindBin;
use lib $FindBin::Bin;
use FcgixPrefork;

my ($path, $nworkers, $pidfile) = @ARGV;
die "usage: $0 SOCKET_PATH [WORKERS] [PIDFILE]\n" unless $path;
$nworkers ||= 4;

my %REASON = (
    200 => 'OK', 201 => 'Created', 204 => 'No Content',
    301 => 'Moved Permanently', 302 => 'Found', 303 => 'See Other',
    304 => 'Not Modified', 307 => 'Temporary Redirect',
    400 => 'Bad Request', 401 => 'Unauthorized', 403 => 'Forbidden',
    404 => 'Not Found', 410 => 'Gone', 500 => 'Internal Server Error',
    502 => 'Bad Gateway', 503 => 'Service Unavailable',
    504 => 'Gateway Timeout',
);

umask 0;
unlink $path if -S $path;
my $sock = FCGI::OpenSocket($path, 128)
    or die "$0: cannot listen on $path: $!\n";
chmod 0666, $path;

prefork_pidfile($pidfile);
prefork_run(fcgi => [$nworkers, \&worker]);
unlink $path;
exit 0;

# ---------------------------------------------------------------------

sub worker {
    my %env;
    my ($in, $out, $err) = (IO::Handle->new, IO::Handle->new, IO::Handle->new);
    my $req = FCGI::Request($in, $out, $err, \%env, $sock);
    while ($req->Accept() >= 0) {
        handle($req, $in, $out, \%env);
    }
}

sub urldecode {
    my $s = shift;
    $s =~ tr/+/ /;
    $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    $s;
}

sub handle {
    my ($req, $in, $out, $env) = @_;
    my %q;
    for my $kv (split /&/, $env->{QUERY_STRING} // '') {
        next if $kv eq '';
        my ($k, $v) = split /=/, $kv, 2;
        $q{urldecode($k)} = defined $v ? urldecode($v) : '';
    }

    # The whole request body first.
    my $md5 = Digest::MD5->new;
    my $len = 0;
    my $buf;
    while (1) {
        my $n = read($in, $buf, 65536);
        last unless $n;
        $len += $n;
        $md5->add($buf) if exists $q{digest};
    }

    my $hdr = '';
    my $body = '';
    my $octet = 0;
    if (exists $q{digest}) {
        $body = "len=$len md5=" . $md5->hexdigest . "\n"
              . "content_length="
              . (exists $env->{CONTENT_LENGTH} ? $env->{CONTENT_LENGTH} : '-')
              . "\n";
    }
    elsif (exists $q{bytes}) {
        $octet = 1;
    }
    elsif (exists $q{headers_then_sleep}) {
    }
    elsif (exists $q{status}) {
        $body = "status $q{status}\n";
    }
    elsif (exists $q{location}) {
    }
    else {
        $body = join '', map { "$_=$env->{$_}\n" } sort keys %$env;
    }

    if (exists $q{status}) {
        my $code = int $q{status};
        $hdr .= sprintf "Status: %03d %s\r\n", $code,
                        $REASON{$code} // 'Some Text';
    }
    $hdr .= "Location: $q{location}\r\n" if exists $q{location};
    $hdr .= $octet ? "Content-Type: application/octet-stream\r\n"
                   : "Content-Type: text/plain\r\n";
    for my $i (1 .. ($q{cookies} || 0)) {
        $hdr .= "Set-Cookie: c$i=v$i\r\n";
    }
    print $out $hdr, "\r\n";

    if (exists $q{digest}) {
        print $out $body;
    }
    elsif (exists $q{bytes}) {
        my $total = int $q{bytes};
        my $chunk = int($q{chunk} || 65536);
        my $delay = int($q{delay_ms} || 0);
        my $first = $chunk < $total ? $chunk : $total;
        my $pat = 'abcdefghijklmnopqrstuvwxyz' x (int($first / 26) + 2);
        my $off = 0;
        while ($off < $total) {
            my $n = $total - $off < $chunk ? $total - $off : $chunk;
            print $out substr($pat, $off % 26, $n);
            $off += $n;
            $req->Flush();
            Time::HiRes::sleep($delay / 1000) if $delay && $off < $total;
        }
    }
    elsif (exists $q{headers_then_sleep}) {
        print $out "first\n";
        $req->Flush();
        Time::HiRes::sleep(int($q{headers_then_sleep}) / 1000);
        print $out "last\n";
    }
    else {
        print $out $body;
    }
}
