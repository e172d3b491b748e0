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
#    environment, unknown type or flags, uid/gid 0, absurd limits): each is
#    refused with a log line and the PM keeps serving;
#  * it resends a tenant class's message with LD_PRELOAD and without
#    suexec: the tenant's processes keep their identity and environment.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
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
        exec "$FindBin::Bin/apps/fcgix_ipcrace", $ipc, $victim, 8;
        POSIX::_exit(2);
    }
    close $wr;
    Time::HiRes::sleep(0.3);
    my ($n, %st) = (0);
    my $t0 = Time::HiRes::time();
    while ($n < 60 && Time::HiRes::time() - $t0 < 7) {
        my $r = pm_get(port => $port, path => "$app?race=$n", timeout => 5);
        $st{ $r->{status} }++;
        $n++;
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
    unlink glob("$ipc/.race*");
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
    my $script = catfile($logs, 'security-evidence.sh');
    my $out = catfile($logs, 'security-evidence.out');
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
# Indices out of range
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
        procs => qr/FCGIX00184: refused a message: limits out of range/,
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
    skip "suexec: $why", 5 unless $suexec;
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
    my @wrong = grep { my $i = pm_proc_info($_);
                       $i && ($i->{uid} // -1) != $ta->{uid} }
                pm_procs($script);
    ok(!@wrong, "redefine: no process runs the tenant's script as "
       . 'anyone else') or diag("@wrong");
    is(pm_pm_pid() // 0, $pm, 'redefine: the same process manager runs');
}

done_testing();
