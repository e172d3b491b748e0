# Hardening of the responder (security issue, items 9b and 9c):
#  * a final Status outside 200..599 (101 included) is a 502 with one
#    FCGIX00108 line, 200 and 599 pass; a reply whose only block is an
#    interim one (100, 103, 199: t/028 sends them) has no final header
#    block: 502 with one FCGIX00107 line;
#  * a chunked body spooled to a temporary file has no name while the
#    upload runs: the httpd child holds it open only as "(deleted)".
# Config: /ext/c.fcgi and /spool/c.fcgi (FcgixMaxRequestInMem 1024) in
# t/conf/extra.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Select ();
use IO::Socket::INET ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPool qw(httpd_children);

# --- 9b: final status range --------------------------------------------
for my $code (101, 600, 999) {
    my $off = log_mark();
    my $r = http(path => "/ext/c.fcgi?status=$code");
    is($r->{status}, 502, "Status: $code from the application: 502")
        or diag("got $r->{status}");
    my @m = log_tag_ok($off, 'bad_header', "Status: $code");
    is(scalar(grep { /final Status $code is not 200 to 599/ } @m), 1,
       "Status: $code: one line naming it");
}
for my $code (100, 103, 199) {
    my $off = log_mark();
    my $r = http(path => "/ext/c.fcgi?status=$code");
    is($r->{status}, 502, "only an interim block (Status: $code): 502")
        or diag("got $r->{status}");
    my @m = log_tag_ok($off, 'end_before_headers', "Status: $code alone");
    is(scalar(grep { /before a complete response header/ } @m), 1,
       "Status: $code alone: one line naming it");
}
for my $code (200, 204, 404, 599) {
    my $r = http(path => "/ext/c.fcgi?status=$code");
    is($r->{status}, $code, "Status: $code is passed on");
}

# --- 9c: spool files have no name --------------------------------------

# Descriptors of the httpd children that point at spool files:
# [named, deleted].
sub spool_fds {
    my ($named, $deleted) = (0, 0);
    for my $pid (httpd_children()) {
        for my $fd (glob "/proc/$pid/fd/*") {
            my $l = readlink($fd) // next;
            next unless $l =~ m{/fcgix\.body\.};
            $l =~ / \(deleted\)$/ ? $deleted++ : $named++;
        }
    }
    return ($named, $deleted);
}

{
    my $port = Apache::Test::vars('port');
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 10)
        or die "connect: $!";
    binmode $s;
    my $piece = 'x' x 8192;
    print $s "POST /spool/c.fcgi?digest HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        . "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
        . sprintf("%x\r\n%s\r\n", length $piece, $piece);
    $s->flush;
    # the upload is under way: the first 8 KiB are past the 1 KiB of
    # memory, so they are in the temporary file by now
    my ($named, $deleted) = (0, 0);
    my $seen = FcgixPool::wait_for(5, sub {
        ($named, $deleted) = spool_fds();
        $named || $deleted;
    }, 0.05);
    ok($seen, 'slow chunked upload: a spool file is open in an httpd '
       . 'child');
    is($named, 0, 'slow chunked upload: no spool file has a name '
       . "(named $named, unlinked $deleted)");
    my @dir = glob '/tmp/fcgix.body.*';
    print $s sprintf("%x\r\n%s\r\n", length $piece, $piece), "0\r\n\r\n";
    $s->flush;
    my $resp = '';
    my $sel = IO::Select->new($s);
    my $deadline = Time::HiRes::time() + 20;
    while (Time::HiRes::time() < $deadline && $sel->can_read(1)) {
        my $n = sysread($s, $resp, 65536, length $resp);
        last unless $n;
    }
    close $s;
    like($resp, qr/^HTTP\/1\.1 200 .*len=16384 /s,
         'slow chunked upload: the application got all 16384 bytes');
    diag("names in /tmp (other suites' too): @dir") if @dir;
}

done_testing();
