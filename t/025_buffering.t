# X-Accel-Buffering (issue 16; t/conf/sendfile.conf.in).  mod_fcgix
# streams by default: what the application wrote reaches the client
# whenever the application has nothing more ready.  "X-Accel-Buffering:
# no" flushes after every read as well; "yes" holds the body until the
# application ends it (up to 1 MiB, then what is held is passed on), also
# on a server with flush=on.  The header never reaches the client.
# A PHP page (t/htdocs/buffering/chunks.php, php-fpm) and the C test app
# write three chunks 0.5 s apart; the client notes when each arrives.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use IO::Select ();
use Test::More;
use Time::HiRes ();
use FcgixTest qw(:DEFAULT http_start http_result_of);

# GET $path; the response as http() gives it, plus when (seconds after
# the request was sent) the first and the last of @marks were first seen.
sub timed {
    my ($path, @marks) = @_;
    my $t0 = Time::HiRes::time();
    my $h = http_start(path => $path, timeout => 30);
    my ($raw, %seen, $err) = ('');
    if ($h) {
        my $sel = IO::Select->new($h->{s});
        my $deadline = $t0 + 30;
        while (1) {
            my $left = $deadline - Time::HiRes::time();
            if ($left <= 0) { $err = 'timeout'; last }
            next unless $sel->can_read($left);
            my $n = sysread $h->{s}, $raw, 65536, length $raw;
            last unless $n;
            my $now = Time::HiRes::time() - $t0;
            for my $m (@marks) {
                $seen{$m} //= $now if index($raw, $m) >= 0;
            }
        }
        close $h->{s};
    }
    else {
        $err = "connect: $!";
    }
    my $r = http_result_of($raw, $t0, $err);
    $r->{first} = $seen{ $marks[0] };
    $r->{last} = $seen{ $marks[-1] };
    # what had come when the first mark showed up
    $r->{with_first} = [grep { ($seen{$_} // -1) == ($r->{first} // -2) }
                        @marks];
    return $r;
}

sub streamed_ok {
    my ($name, $r, $body) = @_;
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    is($r->{body}, $body, "$name: whole body");
    ok(defined $r->{first} && defined $r->{last}
       && $r->{last} - $r->{first} >= 0.8,
       sprintf('%s: the first chunk arrives well before the last '
               . '(first %.2f s, last %.2f s)', $name, $r->{first} // -1,
               $r->{last} // -1));
    ok(!defined header($r, 'X-Accel-Buffering'),
       "$name: X-Accel-Buffering not passed to the client");
}

sub held_ok {
    my ($name, $r, $body, $nmarks) = @_;
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    is($r->{body}, $body, "$name: whole body");
    # the application slept 1 s between its first and last write
    ok(defined $r->{first} && $r->{first} >= 0.9
       && @{ $r->{with_first} } == $nmarks,
       sprintf('%s: the body arrives in one piece, after the application '
               . 'ended it (at %.2f s, with %d of %d chunks)', $name,
               $r->{first} // -1, scalar @{ $r->{with_first} }, $nmarks));
    ok(!defined header($r, 'X-Accel-Buffering'),
       "$name: X-Accel-Buffering not passed to the client");
}

my @php = map { "chunk$_\n" } 1 .. 3;
my $php_body = join '', @php;

SKIP: {
    skip 'backend php-fpm was not started', 12
        unless backend_started('php-fpm');
    my $p = '/buffering/chunks.php';
    streamed_ok('PHP, no header (the default streams)',
                timed($p, @php), $php_body);
    streamed_ok('PHP, X-Accel-Buffering: no', timed("$p?buf=no", @php),
                $php_body);
    held_ok('PHP, X-Accel-Buffering: yes', timed("$p?buf=yes", @php),
            $php_body, 3);
}

# The C app: 3 x 10 bytes, 0.5 s apart ('a' + i % 26 for byte i).
my $pattern = join '', map { chr(ord('a') + $_ % 26) } 0 .. 29;
my @c = (substr($pattern, 0, 10), substr($pattern, 10, 10),
         substr($pattern, 20, 10));
my $q = 'bytes=30&chunk=10&delay_ms=500';
my $hdr = sub { '&hdr=' . uri_escape("X-Accel-Buffering: $_[0]") };

streamed_ok('C app, X-Accel-Buffering: no',
            timed("/buffering/c.fcgi?$q" . $hdr->('no'), @c), $pattern);
held_ok('C app, X-Accel-Buffering: yes',
        timed("/buffering/c.fcgi?$q" . $hdr->('yes'), @c), $pattern, 3);
streamed_ok('C app, flush=on server', timed("/buffering/flush.fcgi?$q", @c),
            $pattern);
held_ok('C app, flush=on server, X-Accel-Buffering: yes',
        timed("/buffering/flush.fcgi?$q" . $hdr->('yes'), @c), $pattern, 3);
held_ok('C app on a shared connection (mpx), X-Accel-Buffering: yes',
        timed("/buffering/cm.fcgi?$q" . $hdr->('yes'), @c), $pattern, 3);
streamed_ok('C app on a shared connection (mpx), X-Accel-Buffering: no',
            timed("/buffering/cm.fcgi?$q" . $hdr->('no'), @c), $pattern);
streamed_ok('C app, X-Accel-Buffering: nonsense (ignored, dropped)',
            timed("/buffering/c.fcgi?$q" . $hdr->('maybe'), @c), $pattern);

# Held data is copied out of the read buffer: 3 MiB in 1 MiB writes
# (past the 1 MiB hold) arrive intact.
{
    my $n = 3 * 1024 * 1024;
    my $r = http(path => "/buffering/c.fcgi?bytes=$n&chunk=1048576"
                         . $hdr->('yes'), md5 => 1, timeout => 60);
    ok($r->{status} == 200 && $r->{len} == $n
       && ($r->{md5} // '') eq pattern_md5($n),
       'X-Accel-Buffering: yes, 3 MiB: every byte intact')
        or diag(brief($r));
    $r = http(method => 'HEAD',
              path => "/buffering/c.fcgi?bytes=100" . $hdr->('yes'));
    ok($r->{status} == 200 && $r->{body} eq '', 'HEAD with yes: 200, no '
                                                . 'body') or diag(brief($r));
}

# An application that writes a record at a time (rec=256: 4096 STDOUT
# records of 256 bytes, each its own write): 1 MiB arrives intact,
# streamed and held.
{
    my $n = 1024 * 1024;
    for my $case (['streamed', ''], ['held', $hdr->('yes')]) {
        my ($name, $h) = @$case;
        my $r = http(path => "/buffering/c.fcgi?bytes=$n&rec=256$h",
                     md5 => 1, timeout => 60);
        ok($r->{status} == 200 && $r->{len} == $n
           && ($r->{md5} // '') eq pattern_md5($n),
           "1 MiB in 256-byte records ($name): every byte intact")
            or diag(brief($r));
    }
}

# Full reads of a body go to the client together (up to 256 KiB), but
# never wait for the application: 300000 bytes written at once, then a
# pause of 1.5 s, then as much again. The first part must be at the
# client well before the pause ends, whole, and the reply intact.
{
    my $n = 600000;
    my $t0 = Time::HiRes::time();
    my $h = http_start(path => "/buffering/c.fcgi?bytes=$n&chunk=300000"
                               . '&delay_ms=1500', timeout => 30);
    my ($raw, $at, $err) = ('');
    if ($h) {
        my $sel = IO::Select->new($h->{s});
        while (1) {
            my $left = $t0 + 30 - Time::HiRes::time();
            if ($left <= 0) { $err = 'timeout'; last }
            next unless $sel->can_read($left);
            my $got = sysread $h->{s}, $raw, 65536, length $raw;
            last unless $got;
            $at //= Time::HiRes::time() - $t0 if length $raw >= 300000;
        }
        close $h->{s};
    }
    else {
        $err = "connect: $!";
    }
    my $r = http_result_of($raw, $t0, $err);
    ok($r->{status} == 200 && length($r->{body}) == $n
       && $r->{body} eq substr(join('', 'a' .. 'z') x (int($n / 26) + 1),
                               0, $n),
       'a body in two parts 1.5 s apart: every byte intact')
        or diag(brief($r));
    ok(defined $at && $at < 1.2,
       sprintf('the first 300000 bytes reach the client before the '
               . 'application writes on (at %.2f s)', $at // -1));
}

# Nothing of a held body was sent when the application dies in it: the
# client gets a clean 502, not a cut 200.
{
    my $off = log_mark();
    my $r = http(path => '/buffering/c.fcgi?bytes=100000&crash=mid_body'
                         . $hdr->('yes'));
    is($r->{status}, 502, 'yes, application dies mid-body: 502')
        or diag(brief($r));
    log_tag_ok($off, 'app_closed', 'yes, dies mid-body');
}

done_testing();
