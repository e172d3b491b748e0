# Expect: 100-continue. The request reaches its application (connection
# made, process leased) before the body is read, so an application that
# cannot be reached or has no process free answers 503 and the client
# never gets "100 Continue" (it never sends its body); an application
# that is up gets "100 Continue", then the body, then the reply. Bodies
# with Content-Length (streamed) and chunked ones (spooled: the lease
# comes first and is held). External servers (C test app, php-fpm,
# nothing listening) in the suite's httpd; spawned classes (up, at their
# limit, in start back-off) in an httpd of its own. Not covered: the
# first request to a program that dies at start (see README, "Expect:
# 100-continue").
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Digest::MD5 ();
use Test::More;
use Time::HiRes ();
use FcgixTest qw(:DEFAULT brief);
use File::Spec::Functions qw(catfile);
use FcgixPM qw(pm_own_httpd pm_own_httpd_stop pm_wait_until pm_start
               pm_finish);
use FcgixPool qw(backend_addr kill_backend respawn_backend);

my $body = join '', map { "line $_ of the upload\n" } 1 .. 2000;
my @pieces = chunked_post_pieces($body);

sub codes { join ',', map { $_->{status} } @{ $_[0]{interim} } }

# $app is up: 100, then the body is sent and the reply comes.
sub up_ok {
    my ($what, %a) = @_;
    for my $mode ('content-length', 'chunked') {
        my $r = http(method => 'POST', expect => 2, timeout => 30, %a,
                     $mode eq 'chunked' ? (chunks => \@pieces)
                                        : (body => $body));
        is(codes($r), '100', "$what, $mode: 100 Continue came")
            or diag(brief($r));
        ok(!$r->{expect_timeout} && !$r->{body_withheld},
           "$what, $mode: within 2 s, body then sent") or diag(brief($r));
        is($r->{status}, 200, "$what, $mode: 200") or diag(brief($r));
        if ($a{path} =~ /digest/) {
            my ($len, $md5, $cl) = digest_of($r);
            ok(($len // -1) == length($body)
               && ($md5 // '') eq Digest::MD5::md5_hex($body)
               && ($cl // '') eq length($body),
               "$what, $mode: the app read the whole body "
               . '(CONTENT_LENGTH given)') or diag(brief($r));
        }
        else {
            ok($r->{body} eq $body, "$what, $mode: the body echoed")
                or diag(brief($r));
        }
    }
}

# $app cannot take the request: 503 and no 100, the body never sent.
sub refused_ok {
    my ($what, %a) = @_;
    for my $mode ('content-length', 'chunked') {
        my $r = http(method => 'POST', expect => 5, timeout => 30, %a,
                     $mode eq 'chunked' ? (chunks => \@pieces)
                                        : (body => $body));
        is($r->{status}, 503, "$what, $mode: 503") or diag(brief($r));
        is(codes($r), '', "$what, $mode: no 100 Continue")
            or diag(brief($r));
        ok($r->{body_withheld} && !$r->{expect_timeout},
           "$what, $mode: answered before the body was sent")
            or diag(brief($r));
    }
}

# --- external servers ------------------------------------------------------

up_ok('C app (unix socket)', path => '/ext/c.fcgi?echo_stdin');
up_ok('C app, digest', path => '/ext/c.fcgi?digest');
up_ok('C app, multiplexed', path => '/ext/cm.fcgi?digest');
SKIP: {
    skip 'php-fpm not started', 8 unless backend_started('php-fpm');
    up_ok('php-fpm', path => '/php/echo.php?digest');
}

for my $case (['/err/noport.fcgi', 'nothing listens on the TCP port'],
              ['/err/nosock.fcgi', 'nothing listens on the unix socket']) {
    my ($path, $what) = @$case;
    my $off = log_mark();
    refused_ok($what, path => "$path?x=1");
    log_tag_ok($off, 'connect_failed', $what);
}
healthy_ok('after the refused uploads');

# --- the connection held during the upload, closed by the application ------

SKIP: {
    skip 'pool-r backend not started', 5 unless backend_started('pool-r');
    # kept connections in every child first, so the upload takes one
    my @warm = map { http(path => "/pool/fo/r-keep.fcgi?w=$_") } 1 .. 12;
    is(scalar(grep { $_->{status} == 200 } @warm), 12,
       'pool-r: 12 requests on kept connections');
    my $sock = backend_addr('r');
    my $app = catfile(Apache::Test::vars('top_dir'), 't', 'apps',
                      'fcgix_testapp');
    my $restarted;
    # the application restarts after the 100, before the body is sent:
    # the connection leased for the upload is gone when it is complete
    my $r = http(method => 'POST', expect => 5, timeout => 30,
                 chunks => \@pieces, path => '/pool/fo/r-keep.fcgi?digest',
                 on_continue => sub {
                     $restarted = kill_backend('pool-r', 'TERM')
                         && respawn_backend('pool-r', $sock, $app, '-m',
                                            '-l', $sock);
                 });
    ok($restarted, 'pool-r restarted during the upload');
    is(codes($r), '100', 'held connection: 100 Continue came')
        or diag(brief($r));
    is($r->{status}, 200, 'held connection closed by the application '
       . 'meanwhile: a new one serves the upload (200)') or diag(brief($r));
    my ($len, $md5) = digest_of($r);
    ok(($len // -1) == length($body)
       && ($md5 // '') eq Digest::MD5::md5_hex($body),
       '... with the whole body') or diag(brief($r));
}

# --- spawned classes, in an httpd of its own --------------------------------

{
    my $h = eval { pm_own_httpd(name => 'continue', body => <<'EOC') };
FcgixMaxProcessesPerClass 1
FcgixSpawnWait 1
EOC
    ok($h, 'httpd of its own (FcgixMaxProcessesPerClass 1, '
       . 'FcgixSpawnWait 1) starts') or diag($@);
    SKIP: {
        skip 'no httpd of its own', 1 unless $h;
        my $port = $h->{port};
        up_ok('spawned class', port => $port,
              path => '/pm/testapp.fcgi?echo_stdin');

        # its only process busy for 4 s: no process within FcgixSpawnWait
        my $busy = pm_start(port => $port,
                            path => '/pm/testapp.fcgi?sleep_ms=4000');
        Time::HiRes::sleep(0.5);
        refused_ok('spawned class at its limit', port => $port,
                   path => '/pm/testapp.fcgi?echo_stdin');
        my $b = pm_finish($busy, 30);
        is($b->{status}, 200, 'the busy request ends with 200')
            or diag(brief($b));

        # A program that exits at start. Its first request cannot be
        # told apart from a slow start (the socket listens before the
        # program runs: connected, then 502), so a plain GET goes first,
        # until the class is in start back-off with 2 s or more left
        # (Retry-After): then a request is refused at once.
        my $r;
        pm_wait_until(20, sub {
            $r = http(port => $port, path => '/pm/broken.fcgi?prime=1');
            $r->{status} == 503
                && (header($r, 'Retry-After') // 0) >= 2;
        }, 0.2);
        ok($r->{status} == 503 && header($r, 'Retry-After') >= 2,
           'a program that exits at start: in back-off (503, '
           . 'Retry-After ' . (header($r, 'Retry-After') // '-') . ')')
            or diag(brief($r));
        refused_ok('spawned class in start back-off', port => $port,
                   path => '/pm/broken.fcgi?x=1');

        pm_own_httpd_stop($h);
        pm_wait_until(10, sub { !-e $h->{pidfile} });
    }
}

done_testing();
