#!/usr/bin/perl
# Cold start of a never-spawned FastCGI class, against the application's
# own start-up time.  Part of bench/run.sh.
#
#   coldstart.pl APP N [NAME COLD_DIR URL_BASE]...
#
# "alone": APP is started the way a process manager starts it (listen
# socket on fd 0) and one FastCGI request is sent at once; the time from
# exec to END_REQUEST is its exec-to-reply time (the connection waits in
# the listen queue until APP accepts).  Then, for each server NAME, APP is
# copied to COLD_DIR/<fresh name> (a new class, never spawned) and the
# time of one HTTP GET of URL_BASE/<fresh name> is measured, N times, with
# a warm request to the same URL after each for reference.
# Prints one line per measure: "<name> cold_ms_median cold_ms_min
# warm_ms_median n_ok n".
use strict;
use warnings;
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX qw(_exit dup2 WNOHANG);
use Socket qw(SOCK_STREAM SOMAXCONN);
use Time::HiRes qw(time sleep);

my ($app, $n, @servers) = @ARGV;
die "usage: $0 APP N [NAME COLD_DIR URL_BASE]...\n"
    unless $app && $n && @servers % 3 == 0;

sub median {
    my @v = sort { $a <=> $b } @_;
    return undef unless @v;
    return $v[$#v / 2];
}

sub nvlen { $_[0] < 128 ? pack('C', $_[0]) : pack('N', $_[0] | 0x80000000) }

sub fcgi_request {
    my %p = (REQUEST_METHOD => 'GET', QUERY_STRING => '',
             SCRIPT_NAME => '/hello', REQUEST_URI => '/hello',
             SERVER_PROTOCOL => 'HTTP/1.1', GATEWAY_INTERFACE => 'CGI/1.1');
    my $nv = join '', map { nvlen(length $_) . nvlen(length $p{$_}) . $_ . $p{$_} }
             sort keys %p;
    my $rec = sub {
        my ($type, $c) = @_;
        my $pad = (8 - length($c) % 8) % 8;
        pack('CCnnCC', 1, $type, 1, length $c, $pad, 0) . $c . ("\0" x $pad);
    };
    $rec->(1, pack('nCx5', 1, 0)) . $rec->(4, $nv) . $rec->(4, '')
        . $rec->(5, '');
}

# fork to END_REQUEST, in ms; undef on failure
sub alone_once {
    my $dir = tempdir(CLEANUP => 1);
    my $path = "$dir/s";
    my $l = IO::Socket::UNIX->new(Local => $path, Type => SOCK_STREAM,
                                  Listen => SOMAXCONN) or die "listen: $!";
    pipe(my $tr, my $tw) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $tr;
        dup2(fileno($l), 0) or _exit(127);
        open STDOUT, '>', '/dev/null';
        # the clock starts at exec, not at perl's (slow) fork
        syswrite $tw, pack('d', time);
        close $tw;
        exec { $app } $app or _exit(127);
    }
    close $tw;
    close $l;
    my $t0;
    sysread($tr, my $tb, 8) == 8 or die "no start time";
    close $tr;
    $t0 = unpack 'd', $tb;
    my $s = IO::Socket::UNIX->new(Peer => $path, Type => SOCK_STREAM);
    my $ms;
    if ($s) {
        my $req = fcgi_request();
        syswrite($s, $req);
        my ($buf, $ended) = ('', 0);
        my $deadline = $t0 + 10;
        while (!$ended && time < $deadline) {
            my $r = sysread($s, $buf, 65536, length $buf);
            last unless $r;
            while (length $buf >= 8) {
                my (undef, $type, undef, $len, $pad) = unpack('CCnnC', $buf);
                last if length $buf < 8 + $len + $pad;
                $ended = 1 if $type == 3;
                substr($buf, 0, 8 + $len + $pad) = '';
            }
        }
        $ms = (time - $t0) * 1000 if $ended;
    }
    kill 'KILL', $pid;
    waitpid $pid, 0;
    return $ms;
}

# one HTTP/1.0 GET: ms to the whole answer, undef unless 200
sub http_get {
    my ($url) = @_;
    my ($host, $port, $path) = $url =~ m{^http://([^:/]+):(\d+)(/.*)$}
        or die "bad url $url";
    my $t0 = time;
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Timeout => 30) or return;
    print $s "GET $path HTTP/1.0\r\nHost: $host\r\n\r\n";
    local $/;
    my $resp = <$s> // '';
    my $ms = (time - $t0) * 1000;
    return $resp =~ m{^HTTP/1\.\d 200 } ? $ms : undef;
}

my @a = grep { defined } map { alone_once() } 1 .. $n;
printf "alone %.2f %.2f - %d %d\n", median(@a) // -1,
    (sort { $a <=> $b } @a)[0] // -1, scalar @a, $n;

while (my ($name, $dir, $base) = splice @servers, 0, 3) {
    my (@cold, @warm);
    for my $i (1 .. $n) {
        my $f = sprintf 'c%d-%d-%d.fcgi', $$, $i, int(time * 1000) % 1000000;
        copy($app, "$dir/$f") or die "copy: $!";
        chmod 0755, "$dir/$f";
        my $c = http_get("$base/$f");
        my $w = http_get("$base/$f");
        push @cold, $c if defined $c;
        push @warm, $w if defined $w;
        sleep 0.2;
    }
    printf "%s %.2f %.2f %.2f %d %d\n", $name, median(@cold) // -1,
        (sort { $a <=> $b } @cold)[0] // -1, median(@warm) // -1,
        scalar @cold, $n;
}
