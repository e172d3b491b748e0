# The process manager against the web server's own user (issue 13): code
# running as User, in an httpd child or beside it, must not get root or
# another tenant's identity through the PM, and must not make it signal
# processes that are not its own.
#  * the PM runs as User (all uids and gids), no group 0, CAP_KILL at most;
#    its applications have no capability at all;
#  * a symlink swapped over each new process socket (the attacker runs as
#    User with t/apps/fcgix_ipcrace) changes no file's owner or mode;
#  * t/apps/mod_fcgix_forge.c, inside an httpd child, writes the
#    scoreboard: slots naming foreign pids (a root process, a User
#    process) are not signalled; a forged class (gid 0, uid 0) runs
#    nothing; out-of-range indices do not bring the PM down;
#  * it sends malformed datagrams (short, long, unterminated path or
#    environment, unknown type or flags, uid/gid 0, absurd limits, a
#    descriptor to log to): each is refused with a log line and the PM
#    keeps serving;
#  * it resends a tenant class's message with LD_PRELOAD and without
#    suexec: the tenant's processes keep their identity and environment;
#  * an IPC directory that is a symbolic link, belongs to someone else or
#    lies in a directory User may write is refused at startup
#    (FCGIX00164), and what the link points to keeps its owner.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Path ();
use File::Spec::Functions qw(catfile);
use POSIX ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;
use FcgixHosting qw();

my $v = \&Apache::Test::vars;
my $port = $v->('security_port') or BAIL_OUT('no security vhost');
my $user = $v->('user');
my $group = $v->('group');
my $uid = (getpwnam $user)[2];
my $gid = (getgrnam $group)[2];
my $logs = $v->('t_logs');
my $ipc = pm_ipc_dir();
my $ctl = "$ipc/pm.sock";
my $app = '/pm/security/app.pl';
my $app_path = pm_app_path('security', 'app.pl');

sub forge {
    my ($q) = @_;
    my $r = pm_get(port => $port, path => "/fcgix-forge?$q");
    my %kv = $r->{body} =~ /^(\w+)=(.*)$/mg;
    return ($r, \%kv);
}

sub serves_ok {
    my ($name) = @_;
    my $r = pm_wait_until(10, sub {
        my $x = pm_get(port => $port, path => "$app?ok", timeout => 10);
        $x->{status} == 200 ? $x : undef;
    });
    ok($r, "$name: the process manager still spawns and serves");
}

# The PM's children working in directory $dir (suexec runs the tenant's
# program relative to it).
sub tenant_procs {
    my ($dir) = @_;
    my $pm = pm_pm_pid() or return ();
    return map { $_->{pid} }
           grep { (readlink("/proc/$_->{pid}/cwd") // '') =~ m{^\Q$dir\E/} }
           FcgixTest::children_of($pm);
}

sub environ_of {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/environ" or return;
    local $/;
    my $e = <$fh> // '';
    return { map { /^([^=]*)=(.*)$/s ? ($1, $2) : () } split /\0/, $e };
}

# ---------------------------------------------------------------------
# Who the PM is
my $pm = pm_pm_pid();
ok($pm, "process manager found ($pm)") or BAIL_OUT('no process manager');
{
    my $i = pm_proc_info($pm);
    is_deeply([@$i{qw(uid euid suid fsuid)}], [($uid) x 4],
              "PM: real, effective, saved and fs uid are User's ($uid)");
    is_deeply([@$i{qw(gid egid sgid fsgid)}], [($gid) x 4],
              "PM: every gid is Group's ($gid)");
    ok(!grep({ $_ == 0 } @{ $i->{groups} || [] }),
       'PM: no supplementary group 0');
    ok(defined $i->{cap_prm} && $i->{cap_prm} =~ /^0*(?:20)?$/
       && $i->{cap_eff} =~ /^0*(?:20)?$/,
       'PM: no capability but CAP_KILL (CapPrm '
       . ($i->{cap_prm} // '?') . ')');
    my $r = pm_get(port => $port, path => "$app?who");
    my $ai = $r->{kv}{pid} ? pm_proc_info($r->{kv}{pid}) : {};
    ok($r->{status} == 200 && ($ai->{uid} // -1) == $uid
       && ($ai->{cap_prm} // '') =~ /^0+$/,
       'its application runs as User with no capability')
        or diag(pm_brief($r));
}

# ---------------------------------------------------------------------
# A symlink put over every new socket while processes are spawned
{
    my $victim = catfile($logs, 'security-victim');
    open my $fh, '>', $victim or die "$victim: $!";
    print $fh "root's file\n";
    close $fh;
    chown 0, 0, $victim;
    chmod 0644, $victim;
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $racer = fork;
    die "fork: $!" unless defined $racer;
    if ($racer == 0) {
        close $rd;
        open STDOUT, '>&', $wr or POSIX::_exit(2);
        POSIX::setgid($gid);
        POSIX::setuid($uid);
        POSIX::_exit(2) if $< == 0 || $> == 0;
        exec "$FindBin::Bin/apps/fcgix_ipcrace", $ipc, $victim, 8.5;
        POSIX::_exit(2);
    }
    close $wr;
    Time::HiRes::sleep(0.3);
    my ($n, %st) = (0);
    my $t0 = Time::HiRes::time();
    while ($n < 200 && Time::HiRes::time() - $t0 < 7) {
        for my $r (pm_parallel(port => $port, timeout => 5,
                               paths => [map { "$app?race=$n-$_" } 1 .. 4])) {
            $st{ $r->{status} }++;
            $n++;
        }
    }
    my $out = do { local $/; <$rd> } // '';
    waitpid $racer, 0;
    my ($swapped) = $out =~ /swapped=(\d+)/;
    ok(($swapped // 0) >= 1, "race: the attacker replaced "
       . ($swapped // 0) . " new sockets during $n requests ("
       . join(', ', map { "$_ x $st{$_}" } sort keys %st) . ')');
    my @s = stat $victim;
    ok(@s && $s[4] == 0 && $s[5] == 0 && ($s[2] & 07777) == 0644,
       'race: the root-owned file kept its owner and mode')
        or diag(@s ? sprintf('uid %d gid %d mode %04o', $s[4], $s[5],
                             $s[2] & 07777) : "$victim: $!");
    is(pm_pm_pid() // 0, $pm, 'race: the same process manager runs');
    # the attacker's links left where sockets were (later spawns replace
    # them; t/060 of the next run counts sockets)
    unlink grep { -l $_ } glob("$ipc/.race* $ipc/p*.sock");
    serves_ok('race');
}

# ---------------------------------------------------------------------
# Slots naming processes that are not the PM's
{
    my @victims;
    for my $who ('root', 'user') {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            if ($who eq 'user') {
                POSIX::setgid($gid);
                POSIX::setuid($uid);
            }
            exec 'sleep', '30';
            POSIX::_exit(2);
        }
        push @victims, [$who, $pid];
    }
    Time::HiRes::sleep(0.2);
    for (@victims) {
        my ($r, $kv) = forge("slot=$_->[1]");
        ok(defined $kv->{slot}, "slot: a forged slot holds the $_->[0] "
           . "process $_->[1]") or diag(pm_brief($r));
    }
    # the PM's tick is 200 ms and SIGKILL follows SIGTERM after 3 s
    Time::HiRes::sleep(4);
    for (@victims) {
        my $i = pm_proc_info($_->[1]);
        ok($i && $i->{state} ne 'Z',
           "slot: the $_->[0] process was not signalled");
    }
    forge('undo');
    kill 'KILL', map { $_->[1] } @victims;
    waitpid $_->[1], 0 for @victims;
    is(pm_pm_pid() // 0, $pm, 'slot: the same process manager runs');
}

# ---------------------------------------------------------------------
# A class the PM never made
{
    # the forged program would run as User (or root): it may write here
    my $dir = catfile($logs, 'security-evidence');
    File::Path::make_path($dir);
    chmod 01777, $dir;
    my $script = catfile($logs, 'security-evidence.sh');
    my $out = catfile($dir, 'out');
    unlink $out;
    open my $fh, '>', $script or die "$script: $!";
    print $fh "#!/bin/sh\nid > '$out'\nsleep 5\n";
    close $fh;
    chmod 0755, $script;
    for my $ids ("$uid:0", '0:0', "$uid:$gid") {
        my ($r, $kv) = forge("class=$ids:$script");
        ok(defined $kv->{class}, "class: forged class $kv->{class} runs "
           . "$script as $ids, a request waiting") or diag(pm_brief($r));
    }
    Time::HiRes::sleep(2);
    ok(!-e $out, 'class: the forged program never ran')
        or diag(`cat '$out'`);
    is(scalar(pm_procs($script)), 0, 'class: no process runs it');
    forge('undo');
}

# ---------------------------------------------------------------------
# Malformed and hostile messages
{
    my $off = log_mark();
    my %why = (
        short => qr/FCGIX00191: refused a message of 16 bytes/,
        long  => qr/FCGIX00191: refused a message of \d+ bytes/,
        path  => qr/FCGIX00184: refused a message: program path not termin/,
        env   => qr/FCGIX00184: refused a message: malformed environment/,
        type  => qr/FCGIX00184: refused a message: unknown message type/,
        flags => qr/FCGIX00184: refused a message: unknown flags/,
        root  => qr/FCGIX00184: refused a message: uid or gid 0/,
        gid0  => qr/FCGIX00184: refused a message: uid or gid 0/,
        procs => qr/FCGIX00184: refused a message: process limits out of range/,
        logs  => qr/FCGIX00195: refused a log descriptor from pid/,
    );
    for my $k (sort keys %why) {
        my $lo = log_mark();
        my ($r, $kv) = forge("msg=$k&ctl=$ctl");
        is($kv->{msg} // '', 'sent', "msg $k: sent from an httpd child");
        my @m = FcgixTest::log_wait($lo, $why{$k});
        ok(@m, "msg $k: refused, one line says why")
            or diag(FcgixTest::log_new_lines($lo));
    }
    is(pm_pm_pid() // 0, $pm, 'msg: the same process manager runs');
    ok(!grep({ m{/bin/sh} && /spawned/ } FcgixTest::log_new_lines($off)),
       'msg: nothing was spawned for them');
    serves_ok('msg');
}

# ---------------------------------------------------------------------
# A tenant's class asked for again with LD_PRELOAD, and without suexec
SKIP: {
    my ($suexec, $why) = FcgixHosting::suexec_state();
    skip "suexec: $why", 6 unless $suexec;
    my $ta = FcgixHosting::tenant('a');
    my $script = FcgixHosting::hosting_root() . '/a/htdocs/app.pl';
    my $r = FcgixHosting::hget('hosting_a', '/app.pl?before');
    my %e = $r->{body} =~ /^(\w+)=(.*)$/mg;
    ok($r->{status} == 200 && ($e{uid} // '') eq $ta->{uid},
       "redefine: tenant a's app runs as $ta->{user}")
        or diag(FcgixHosting::brief_h($r));
    my (undef, $kv) = forge('redefine=' . uri_escape($script) . "&ctl=$ctl");
    is($kv->{redefine} // '', 'sent', 'redefine: both messages sent');
    Time::HiRes::sleep(0.5);
    # new processes come from the class as the PM now has it
    my @old = (tenant_procs($ta->{dir}), $e{pid} || ());
    kill 'KILL', @old;
    ok(pm_wait_until(5, sub { !grep { pm_proc_info($_) } @old }),
       "redefine: no process of the tenant's from before runs (@old)");
    my @bad;
    for my $i (1 .. 4) {
        $r = FcgixHosting::hget('hosting_a', "/app.pl?after=$i");
        %e = $r->{body} =~ /^(\w+)=(.*)$/mg;
        my $env = $e{pid} ? environ_of($e{pid}) : undef;
        push @bad, "status $r->{status} uid " . ($e{uid} // '-')
            . ' env ' . ($env ? join(',', grep { /PRELOAD/ } keys %$env)
                              : 'unreadable')
            unless $r->{status} == 200 && ($e{uid} // '') eq $ta->{uid}
                   && $env && !exists $env->{LD_PRELOAD};
    }
    ok(!@bad, "redefine: tenant a's app still runs as $ta->{user}, "
       . 'without LD_PRELOAD') or diag(join "\n", @bad);
    # looked at while one serves (a busy machine may see the last one
    # retire between the requests above and the look)
    my @now;
    pm_wait_until(5, sub {
        FcgixHosting::hget('hosting_a', '/app.pl?look');
        @now = tenant_procs($ta->{dir});
    });
    my @wrong = grep { my $i = pm_proc_info($_);
                       !$i || ($i->{uid} // -1) != $ta->{uid} } @now;
    ok(@now && !@wrong, "redefine: every process the PM runs in the "
       . "tenant's directory (@now) runs as $ta->{user}")
        or diag("not as the tenant: @wrong");
    is(pm_pm_pid() // 0, $pm, 'redefine: the same process manager runs');
}

# ---------------------------------------------------------------------
# Indices out of range (last of the scoreboard forgeries: a PM that
# believes them crashes, and the ones after could not show anything)
{
    my ($r, $kv) = forge('wild');
    ok($kv->{hiwater_set}, 'wild: high-water mark and a class index set '
       . 'far out of range') or diag(pm_brief($r));
    Time::HiRes::sleep(1);
    is(pm_pm_pid() // 0, $pm, 'wild: the same process manager runs');
    ($r, $kv) = forge('find');
    ok(($kv->{hiwater} // 1e9) <= 1024,
       "wild: the PM put the high-water mark back ($kv->{hiwater})");
    forge('undo');
    serves_ok('wild');
}

# ---------------------------------------------------------------------
# IPC directories root must not take over
{
    my $base = catfile($logs, 'secipc');
    File::Path::remove_tree($base);
    File::Path::make_path("$base/target", "$base/userdir", "$base/other");
    chmod 0755, $base, "$base/target";
    chown $uid, $gid, "$base/userdir";
    chown 1, 1, "$base/other";   # daemon, or whoever has uid 1
    open my $fh, '>', "$base/other/keep" or die "$base/other/keep: $!";
    close $fh;
    symlink "$base/target", "$base/link" or die "symlink: $!";
    my %cases = (
        'a symbolic link' => "$base/link",
        "a directory of uid 1, not empty" => "$base/other",
        'below a directory User may write' => "$base/userdir/ipc",
    );
    my $httpd = $v->('httpd');
    for my $name (sort keys %cases) {
        my $root = catfile($logs, 'secipc-httpd');
        File::Path::remove_tree($root);
        File::Path::make_path(map { "$root/$_" } qw(conf logs run));
        my $conf = "$root/conf/httpd.conf";
        open my $c, '>', $conf or die "$conf: $!";
        print $c pm_own_httpd_conf(root => $root, port => pm_free_port(),
                                   body => "FcgixIpcDir \"$cases{$name}\"\n");
        close $c;
        my $rc = system('/bin/sh', '-c',
                        'exec "$0" -f "$1" -k start >/dev/null 2>&1',
                        $httpd, $conf);
        my $up = pm_wait_until(3, sub { -s "$root/logs/httpd.pid" });
        system($httpd, '-f', $conf, '-k', 'stop') if $up;
        open my $l, '<', "$root/logs/error_log";
        my @log = $l ? <$l> : ();
        ok(!$up && grep({ /FCGIX00164/ && /\Q$cases{$name}\E/ } @log),
           "IPC directory $name: httpd refuses to start, FCGIX00164")
            or diag("rc $rc up " . ($up ? 1 : 0) . "\n", @log);
    }
    my @t = stat "$base/target";
    ok(@t && $t[4] == 0 && ($t[2] & 07777) == 0755,
       "IPC directory: the link's target kept root's owner and mode");
    my @o = stat "$base/other";
    ok(@o && $o[4] == 1, "IPC directory: uid 1's directory kept its owner");
    File::Path::remove_tree($base, catfile($logs, 'secipc-httpd'));
}

done_testing();
