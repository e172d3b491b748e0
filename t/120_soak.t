# Soak (issue 17): bounded loopback load against mod_fcgix, in an httpd
# of its own (t/logs/soak), on a mix of backends, while a schedule
# injects faults; every request is counted by outcome and, after the
# run, what the processes hold is compared with a baseline taken before
# the faults.  soak/run.sh runs it for as long as asked (SOAK_SECONDS;
# 90 s here, in make test).
#
# Backends: fcgix_testapp external on two unix sockets (one server, two
# addresses, kept-alive connections), fcgix_testapp -m external (multiplexed, mpx=on),
# fcgix_testapp as a FcgixServer (2 processes) and spawned on demand
# (AddHandler), php-fpm (a pool of its own) when installed.
# Load: SOAK_CLIENTS clients (6) in a loop over them (GET, a streamed
# reply, a chunked POST spooled to a temp file); a slow client (request
# and reply a few bytes at a time), an aborting client (leaves after 4 KiB
# of a 2 MiB reply), a slow reader on the multiplexed backend (its
# request is dropped when its queue overflows, the others go on).
# Faults: a graceful restart every 4 s; kill -9 of a random spawned
# application every 5 s; kill -9 of the process manager at 30% and 80%;
# one external address's socket renamed away for 2 s at 45% (its
# requests fail over to the other address); a log rotation
# (rename + graceful) at 55%; a php-fpm restart at 65%.
#
# Promise: every request succeeds (200, the whole reply) but those an
# injected fault explains: a spawned application's request in flight
# when one was killed (502/503), php-fpm's during its restart (its
# workers killed: 502/503); none of the external server's.  After the run: the
# parent's and the process manager's descriptors and RSS, the number of
# httpd and application processes, zombies, descriptors of deleted
# files (spooled bodies), body temp files, the sockets in the IPC
# directory and the status page's in-flight counts are back to the
# baseline.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Copy ();
use File::Path ();
use File::Temp ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;
use FcgixBackends ();

my $SECS = $ENV{SOAK_SECONDS} || 90;
my $P = $ENV{SOAK_CLIENTS} || 6;
my $top = Apache::Test::vars('top_dir');
my $logs = Apache::Test::vars('t_logs');
my $testapp = "$top/t/apps/fcgix_testapp";
my $docs = "$logs/soak-docs";
my %sock = (c => "$logs/soak-c.sock", c2 => "$logs/soak-c2.sock",
            cm => "$logs/soak-cm.sock",
            fpm => "$logs/soak-fpm.sock");
my ($fpm) = sort { $b cmp $a } grep { -x } glob('/usr/sbin/php-fpm*');
my %bg;    # name => pid of what this test started

sub start_bg {
    my ($name, @cmd) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', "$logs/soak-$name.log";
        exec @cmd or POSIX::_exit(127);
    }
    $bg{$name} = $pid;
}

sub stop_bg {
    my ($name) = @_;
    my $pid = delete $bg{$name} or return;
    kill 'TERM', -$pid;
    waitpid($pid, 0);
}

sub start_fpm {
    my $dir = "$logs/soak-fpm";
    File::Path::make_path($dir);
    my ($user, $group) = FcgixBackends::fpm_user();
    open my $fh, '>', "$dir/php-fpm.conf" or die $!;
    print $fh <<"CONF";
[global]
pid = $dir/php-fpm.pid
error_log = $logs/soak-fpm.log
daemonize = no
[soak]
user = $user
group = $group
listen = $sock{fpm}
listen.mode = 0666
pm = static
pm.max_children = 4
CONF
    close $fh;
    start_bg('fpm', $fpm, '-F', '-n', '-y', "$dir/php-fpm.conf", '-p', $dir);
    pm_wait_until(10, sub { -S $sock{fpm} });
}

# ---- set-up --------------------------------------------------------------
File::Path::remove_tree($docs);
File::Path::make_path("$docs/dyn", "$docs/php");
chmod 0755, $docs, "$docs/dyn", "$docs/php";
for ("$docs/static.fcgi", "$docs/dyn/app.fcgi") {
    File::Copy::copy($testapp, $_) or die "copy: $!";
    chmod 0755, $_;
}
File::Copy::copy("$top/t/htdocs/php/$_", "$docs/php/$_") for qw(echo.php
                                                                echo.inc);
unlink values %sock;
start_bg('c', $testapp, '-l', "unix:$sock{c}");
start_bg('c2', $testapp, '-l', "unix:$sock{c2}");
start_bg('cm', $testapp, '-m', '-l', "unix:$sock{cm}");
start_fpm() if $fpm;
pm_wait_until(10, sub { -S $sock{c} && -S $sock{c2} && -S $sock{cm} });

my $conf = <<"EOC";
DocumentRoot "$docs"
<Directory "$docs">
    Require all granted
    Options +ExecCGI
</Directory>
<Directory "$docs/dyn">
    AddHandler fastcgi-script .fcgi
</Directory>
FcgixServer "$docs/static.fcgi" processes=2 restart-delay=1
FcgixExternalServer "$docs/ext.fcgi" unix:$sock{c} unix:$sock{c2} keepalive=4 keepalive-timeout=30 retry=5
FcgixExternalServer "$docs/mpx.fcgi" unix:$sock{cm} mpx=on
FcgixExternalServer "$docs/php/echo.php" unix:$sock{fpm}
FcgixMaxRequestInMem 4096
<Location /soak-status>
    SetHandler fcgix-status
</Location>
EOC
my $h = eval { pm_own_httpd(name => 'soak', body => $conf) };
ok($h, 'an httpd of its own with the backend mix') or diag($@);
END { stop_bg($_) for keys %bg }
unless ($h) {
    done_testing();
    exit;
}
my $log = $h->{log};

sub get { FcgixTest::http(port => $h->{port}, timeout => 60, @_) }

# ---- the load ------------------------------------------------------------
my @targets = (
    ['ext',    '/ext.fcgi?bytes=20000'],
    ['ext',    '/ext.fcgi?digest', 'post'],
    ['mpx',    '/mpx.fcgi?bytes=30000&chunk=4096'],
    ['static', '/static.fcgi?bytes=10000'],
    ['dyn',    '/dyn/app.fcgi?bytes=5000&delay_ms=20&chunk=1000'],
    ($fpm ? (['fpm', '/php/echo.php']) : ()),
);
my $body = 'x' x 20000;

sub one {
    my ($t) = @_;
    my ($name, $path, $post) = @$t;
    my $t0 = Time::HiRes::time();
    my $r = $post
        ? get(method => 'POST', path => $path,
              chunks => [map { substr($body, $_ * 5000, 5000) } 0 .. 3])
        : get(path => $path);
    my $want = $path =~ /bytes=(\d+)/ ? $1 : undef;
    my $ok = ($r->{status} // 0) == 200 && $r->{complete}
             && (!defined $want || $r->{len} == $want)
             && (!$post || ($r->{body} // '') =~ /len=20000 /);
    return sprintf "%.3f\t%.3f\t%s\t%d\t%d\t%s\n", $t0,
        Time::HiRes::time(), $name, $r->{status} // 0, $ok ? 1 : 0,
        "len=" . ($r->{len} // '-') . ' complete=' . ($r->{complete} // 0);
}

my $dir = File::Temp::tempdir(CLEANUP => 1);
my $t_start;

sub clients {
    my ($until) = @_;
    my @kids;
    for my $c (0 .. $P - 1) {
        my $pid = fork // die;
        if (!$pid) {
            open my $out, '>', "$dir/load.$c" or POSIX::_exit(1);
            my $i = $c;
            while (Time::HiRes::time() < $until) {
                print $out one($targets[$i++ % @targets]);
            }
            close $out;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    # the clients that misbehave; their own requests are not counted
    push @kids, misbehave($until, 'slow', sub {
        my $s = IO::Socket::INET->new("127.0.0.1:$h->{port}") or return;
        for my $b (split //, "GET /ext.fcgi?bytes=3000 HTTP/1.1\r\n"
                             . "Host: x\r\nConnection: close\r\n\r\n") {
            print $s $b;
            Time::HiRes::sleep(0.01);
        }
        my $buf;
        Time::HiRes::sleep(0.005) while sysread($s, $buf, 64);
    });
    push @kids, misbehave($until, 'abort', sub {
        my $s = IO::Socket::INET->new("127.0.0.1:$h->{port}") or return;
        print $s "GET /ext.fcgi?bytes=2097152 HTTP/1.1\r\nHost: x\r\n\r\n";
        my ($buf, $n) = ('', 0);
        $n += sysread($s, $buf, 4096) // 0 while $n < 4096;
        close $s;
        Time::HiRes::sleep(0.2);
    });
    push @kids, misbehave($until, 'slowmpx', sub {
        my $s = IO::Socket::INET->new("127.0.0.1:$h->{port}") or return;
        print $s "GET /mpx.fcgi?bytes=8388608 HTTP/1.1\r\nHost: x\r\n\r\n";
        my $buf;
        for (1 .. 30) {
            last unless sysread($s, $buf, 16384);
            Time::HiRes::sleep(0.1);
        }
    });
    @kids;
}

sub misbehave {
    my ($until, $name, $code) = @_;
    my $pid = fork // die;
    return $pid if $pid;
    $SIG{ALRM} = sub { POSIX::_exit(0) };
    alarm int($until - Time::HiRes::time()) + 30;
    $code->() while Time::HiRes::time() < $until;
    POSIX::_exit(0);
}

# ---- what the processes hold ------------------------------------------
sub fds { my @f = glob("/proc/$_[0]/fd/*"); scalar @f }
sub rss {
    open my $fh, '<', "/proc/$_[0]/status" or return 0;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
    0;
}
sub tree {
    my ($root) = @_;
    my @all = ($root);
    for (my $i = 0; $i < @all; $i++) {
        opendir my $d, '/proc' or last;
        push @all, map { $_->{pid} }
                   grep { $_->{ppid} == $all[$i] }
                   map { FcgixTest::proc_info($_) || () } grep { /^\d+$/ } readdir $d;
    }
    @all;
}
sub snapshot {
    my $pm = pm_pm_pid($h->{pid}) // 0;
    my @tree = tree($h->{pid});
    my @info = map { FcgixTest::proc_info($_) || () } @tree;
    my $deleted = 0;
    for my $p (@tree) {
        $deleted += grep { (readlink($_) // '') =~ /\(deleted\)/ }
                    glob("/proc/$p/fd/*");
    }
    my $j = eval { JSON::PP::decode_json(get(path => '/soak-status?json')
                                             ->{body}) } || {};
    my ($inflight, $waiting, @busy) = (0, 0);
    for my $c (@{ $j->{classes} || [] }, @{ $j->{external} || [] }) {
        # a shared connection holds its pool's slot while open: what is
        # in flight on it are its streams
        $c->{inflight} += ($c->{mpx_streams} // 0) - ($c->{mpx_conns} // 0);
        $inflight += $c->{inflight};
        $waiting += $c->{waiting};
        push @busy, ($c->{path} // $c->{server}) . "=$c->{inflight}"
            if $c->{inflight} || $c->{waiting};
    }
    my @socks = glob("$h->{ipc}/p[0-9]*.sock");
    my @apps = (pm_procs("$docs/static.fcgi"), pm_procs("$docs/dyn/app.fcgi"));
    return {
        orphans => scalar(grep { (FcgixTest::proc_info($_) || {})->{ppid}
                                 != $pm } @apps),
        parent_fds => fds($h->{pid}), parent_rss => rss($h->{pid}),
        pm_fds => $pm ? fds($pm) : -1, pm_rss => $pm ? rss($pm) : -1,
        httpd => scalar(grep { $_->{comm} =~ /apache2|httpd/ } @info),
        apps => scalar(@apps),
        sb_procs => $j->{processes} // -1,
        zombies => scalar(grep { $_->{state} eq 'Z' } @info),
        deleted_fds => $deleted, ipc_socks => scalar(@socks),
        inflight => $inflight, waiting => $waiting, busy => "@busy",
        socks => join(' ', map { s{.*/}{}r } @socks),
        temp_files => scalar(() = glob('/tmp/fcgix.body.*')),
    };
}

# ---- run -----------------------------------------------------------------
# warm-up: every target once, then the baseline
one($_) for @targets, @targets;
pm_wait_until(10, sub { snapshot()->{apps} >= 3 });
Time::HiRes::sleep(1);
my $base = snapshot();
my $off0 = -s $log;

$t_start = Time::HiRes::time();
my $until = $t_start + $SECS;
my @kids = clients($until);
my (@events, %count);
# The one-off faults fall between two graceful restarts (every 4 s from
# 4 s): a PM killed within milliseconds of a graceful restart is another
# case, which this schedule does not cover (the README says why).
my $at = sub { my $t = int($_[0] * $SECS); $t_start + $t - $t % 4 + 2 };
my @once = ([$at->(0.30), 'pm'], [$at->(0.80), 'pm'],
            [$at->(0.45), 'cut'], [$at->(0.55), 'logrotate'],
            ($fpm ? ([$at->(0.65), 'fpm']) : ()));
my ($next_graceful, $next_kill) = ($t_start + 4, $t_start + 5);
my $httpd = Apache::Test::vars('httpd');
while ((my $now = Time::HiRes::time()) < $until) {
    my @due = grep { $_->[0] <= $now } @once;
    @once = grep { $_->[0] > $now } @once;
    for my $e (@due) {
        my $k = $e->[1];
        my $t0 = Time::HiRes::time();
        if ($k eq 'pm') {
            my $pm = pm_pm_pid($h->{pid});
            kill 'KILL', $pm if $pm;
        }
        elsif ($k eq 'cut') {
            rename $sock{c}, "$sock{c}.cut";
            Time::HiRes::sleep(2);
            rename "$sock{c}.cut", $sock{c};
        }
        elsif ($k eq 'logrotate') {
            rename $log, "$log.1";
            system($httpd, '-f', $h->{conf}, '-k', 'graceful');
            $off0 = 0;
        }
        elsif ($k eq 'fpm') {
            stop_bg('fpm');
            start_fpm();
        }
        push @events, [$t0, Time::HiRes::time(), $k];
        $count{$k}++;
    }
    if ($now >= $next_graceful) {
        system($httpd, '-f', $h->{conf}, '-k', 'graceful');
        $count{graceful}++;
        $next_graceful += 4;
    }
    if ($now >= $next_kill) {
        my @p = (pm_procs("$docs/static.fcgi"),
                 pm_procs("$docs/dyn/app.fcgi"));
        if (@p) {
            my $t = Time::HiRes::time();
            kill 'KILL', $p[rand @p];
            push @events, [$t, $t, 'app'];
            $count{app_kill}++;
        }
        $next_kill += 5;
    }
    Time::HiRes::sleep(0.05);
}
waitpid($_, 0) for @kids;

# ---- outcomes --------------------------------------------------------------
my (%out, @unexplained);
for my $f (glob("$dir/load.*")) {
    open my $in, '<', $f or next;
    while (<$in>) {
        chomp;
        my ($s, $e, $name, $status, $ok, $what) = split /\t/;
        if ($ok) {
            $out{ok}++;
            next;
        }
        my $why;
        for my $ev (@events) {
            my ($a, $b, $k) = @$ev;
            next if $e < $a - 0.5 || $s > $b + 1;
            $why = $k if ($k eq 'app' || $k eq 'pm')
                         && $name =~ /^(static|dyn)$/;
            $why = $k if $k eq 'fpm' && $name eq 'fpm';
        }
        if ($why) {
            $out{"failed ($why)"}++;
        }
        else {
            $out{failed}++;
            push @unexplained, "$name $status $what, "
                . sprintf('%.1f to %.1f s', $s - $t_start, $e - $t_start);
        }
    }
}
my $total = 0;
$total += $_ for values %out;
diag("soak: $SECS s, $P clients, $total requests: "
     . join(', ', map { "$_ $out{$_}" } sort keys %out));
diag(sprintf('%s at %.1f s', $_->[2], $_->[0] - $t_start)) for @events;
diag('faults: ' . join(', ', map { "$_ $count{$_}" } sort keys %count));
ok($total > $SECS, "requests were served ($total)");
ok(!@unexplained, 'no request failed that a fault does not explain')
    or diag(join "\n", @unexplained[0 .. ($#unexplained > 20
                                            ? 20 : $#unexplained)]);
# the schedule slips when the machine is busy (or under ASan): half
ok(($count{graceful} // 0) >= int($SECS / 8)
   && ($count{pm} // 0) == 2 && $count{cut} && $count{logrotate},
   'every fault was injected');

# ---- leaks -----------------------------------------------------------------
my $after;
my $settled = pm_wait_until(30, sub {
    $after = snapshot();
    $after->{inflight} == 0 && $after->{zombies} == 0
        && $after->{apps} >= 2 && $after->{httpd} <= 3
        && $after->{ipc_socks} == $after->{apps};
}, 0.5);
diag('baseline ' . JSON::PP->new->canonical->encode($base));
diag('after    ' . JSON::PP->new->canonical->encode($after));
ok(abs($after->{parent_fds} - $base->{parent_fds}) <= 2,
   "parent descriptors: $base->{parent_fds} -> $after->{parent_fds}");
# the PM holds one stderr pipe per application
ok($after->{pm_fds} > 0 && $after->{pm_fds} - $after->{apps}
                           <= $base->{pm_fds} - $base->{apps} + 2,
   "process manager descriptors: $base->{pm_fds} -> $after->{pm_fds} "
   . "(with $base->{apps} -> $after->{apps} applications)");
ok($after->{parent_rss} <= $base->{parent_rss} + 8192,
   "parent RSS: $base->{parent_rss} -> $after->{parent_rss} KiB");
ok($after->{pm_rss} <= $base->{pm_rss} + 8192,
   "process manager RSS: $base->{pm_rss} -> $after->{pm_rss} KiB");
# the parent and at most ServerLimit (2) children: none left behind by
# the graceful restarts
ok($after->{httpd} <= 3,
   "httpd processes: $base->{httpd} -> $after->{httpd} (at most 3)");
is($after->{orphans}, 0,
   "every application process ($after->{apps}) is the process manager's");
is($after->{sb_procs}, $after->{apps},
   'the scoreboard counts the processes that run');
is($after->{zombies}, 0, 'no zombie');
is($after->{ipc_socks}, $after->{apps},
   'one socket in the IPC directory per application process');
is($after->{deleted_fds}, 0, 'no descriptor of a deleted (spooled) file');
is($after->{temp_files}, 0, 'no body temp file left');
is($after->{inflight} + $after->{waiting}, 0,
   'the status page has nothing in flight or waiting');
ok($settled, 'everything settled within 30 s');

# the log: no crash, no number the faults do not explain
my @crash;
for my $f ($log, "$log.1") {
    open my $fh, '<', $f or next;
    push @crash, grep { /AH0005[12]|exit signal|Segmentation fault/ } <$fh>;
}
ok(!@crash, 'no httpd child crashed') or diag(@crash[0 .. 5]);

pm_own_httpd_stop($h);
pm_wait_until(20, sub { !kill 0, $h->{pid} });
done_testing();
