# Graceful restarts with external connections in flight (issue 17): kept-
# alive connections to fcgix_testapp and multiplexed ones to
# fcgix_testapp -m carry slow replies while httpd restarts gracefully
# five times, in an httpd of its own (t/logs/graceful).  No request may
# fail or come back cut, and the applications must never see
# FCGI_ABORT_REQUEST: every request finished (the apps count the abort
# records they get).  That the connections were kept and shared is
# checked too, or the test would prove nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Temp ();
use POSIX ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;

my $top = Apache::Test::vars('top_dir');
my $logs = Apache::Test::vars('t_logs');
my $testapp = "$top/t/apps/fcgix_testapp";
my %sock = (ka => "$logs/graceful-ka.sock", mpx => "$logs/graceful-mpx.sock");
my %app;
for my $k (sort keys %sock) {
    unlink $sock{$k};
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        exec $testapp, ($k eq 'mpx' ? ('-m') : ()), '-l', "unix:$sock{$k}"
            or POSIX::_exit(127);
    }
    $app{$k} = $pid;
}
END { for (values %app) { kill 'TERM', -$_; waitpid($_, 0) } }
pm_wait_until(10, sub { -S $sock{ka} && -S $sock{mpx} });

# virtual paths below the docroot (no directory needed)
my $docroot = pm_docroot() . "/graceful";
my $h = eval { pm_own_httpd(name => 'graceful', body => <<"EOC") };
FcgixExternalServer "$docroot/ka.fcgi" unix:$sock{ka} keepalive=8 keepalive-timeout=30
FcgixExternalServer "$docroot/mpx.fcgi" unix:$sock{mpx} mpx=on
EOC
ok($h, 'an httpd of its own with a kept-alive and a multiplexed server')
    or diag($@);
unless ($h) {
    done_testing();
    exit;
}

sub get { FcgixTest::http(port => $h->{port}, timeout => 60, @_) }
sub stats {
    my $r = get(path => "/graceful/$_[0].fcgi?stats");
    my %s = ($r->{body} // '') =~ /(\w+)=(\d+)/g;
    \%s;
}
my %before = map { $_ => stats($_) } qw(ka mpx);
my @paths = ('/graceful/ka.fcgi?headers_then_sleep=300',
             '/graceful/ka.fcgi?bytes=200000&chunk=20000&delay_ms=20',
             '/graceful/mpx.fcgi?headers_then_sleep=300',
             '/graceful/mpx.fcgi?bytes=200000&chunk=20000&delay_ms=20');
my $dir = File::Temp::tempdir(CLEANUP => 1);
my $until = Time::HiRes::time() + 8;
my @kids;
for my $c (0 .. 7) {
    my $pid = fork // die;
    if (!$pid) {
        open my $out, '>', "$dir/$c" or POSIX::_exit(1);
        my $i = $c;
        while (Time::HiRes::time() < $until) {
            my $p = $paths[$i++ % @paths];
            my $r = get(path => $p);
            my $want = $p =~ /bytes=(\d+)/ ? $1 : length "first\nlast\n";
            my $ok = ($r->{status} // 0) == 200 && $r->{complete}
                     && $r->{len} == $want;
            print $out ($ok ? "ok\n" : "FAIL $p: " . ($r->{status} // '-')
                        . " len=" . ($r->{len} // '-') . "\n");
        }
        close $out;
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
my $gracefuls = 0;
for (1 .. 5) {
    Time::HiRes::sleep(1.3);
    system(Apache::Test::vars('httpd'), '-f', $h->{conf}, '-k', 'graceful');
    $gracefuls++;
}
waitpid($_, 0) for @kids;
my ($n, @fail) = (0);
for my $f (glob "$dir/*") {
    open my $in, '<', $f or next;
    while (<$in>) {
        $n++;
        push @fail, $_ unless /^ok$/;
    }
}
my %after = map { $_ => stats($_) } qw(ka mpx);
diag("$n requests across $gracefuls graceful restarts; "
     . join('; ', map { my $k = $_; "$k: " . join ' ', map {
         "$_ " . ($after{$k}{$_} - ($before{$k}{$_} // 0)) }
         qw(connections requests aborts max_inflight) } qw(ka mpx)));
ok($n > 40, "requests were made while restarting ($n)");
ok(!@fail, 'no request failed or came back cut') or diag(@fail[0 .. 9]);
for my $k (qw(ka mpx)) {
    is($after{$k}{aborts} - $before{$k}{aborts}, 0,
       "$k: no FCGI_ABORT_REQUEST for requests that finished");
}
# (each graceful restart brings new children and so new connections)
ok($after{ka}{connections} - $before{ka}{connections}
   < $after{ka}{requests} - $before{ka}{requests},
   'kept-alive: connections were reused');
ok($after{mpx}{max_inflight} > 1, 'multiplexed: requests shared a connection');
open my $lf, '<', $h->{log} or die $!;
my @bad = grep { /\[fcgix:(?:error|warn)\]|AH0005[12]|exit signal/ } <$lf>;
ok(!@bad, 'nothing logged') or diag(@bad[0 .. 5]);

pm_own_httpd_stop($h);
pm_wait_until(20, sub { !kill 0, $h->{pid} });
done_testing();
