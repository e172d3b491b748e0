# Shared hosting: applications never run as root (t/conf/hosting.conf.in).
#
#  * a vhost with SuexecUserGroup root root: its .php (wrapper) and its .pl
#    (spawned itself) are refused with 500 and FCGIX00175, and nothing is
#    spawned for it;
#  * no process the process manager spawned (this file's, the other
#    tests') has uid or gid 0, real, effective, saved or filesystem
#    (/proc), nor is shown as root by ps;
#  * the process manager runs as root and takes orders over its control
#    socket (<FcgixIpcDir>/pm.sock, 0600, httpd's User): whatever can
#    write to it (an httpd child, any application spawned without a
#    suexec identity, a CGI) must not be able to get a program run as
#    another user.  t/apps/hosting/pm_forge.c sends one SPAWN message as
#    httpd's User, asking for nobody with group disk.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Spec::Functions qw(catfile);
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixHosting;

my $root = hosting_root()
    or plan skip_all => 'no hosting config (reconfigure: t/TEST.PL -clean)';
my ($suexec, $why) = suexec_state();
my $www = httpd_user();

# Refused: the wrapper class and the directly spawned class.
for my $path ('/app.php', '/app.pl') {
    my $off = log_mark();
    my $before = () = app_pids();
    my $r = hget('hosting_root', $path);
    is($r->{status}, 500, "root vhost $path: 500") or diag(brief_h($r));
    if ($suexec) {
        log_tag_ok($off, 'hosting_root_refused', "root vhost $path");
    }
    else {
        # without suexec no identity applies: it runs as httpd's User
        pass("root vhost $path: (no suexec: $why)");
    }
}
my @rootcls = grep { (proc_ids($_)->{cwd} // '') =~ m{^\Q$root\E/root/} }
              app_pids();
ok(!@rootcls, 'nothing was spawned for the root vhost')
    or diag("pids: @rootcls");

# Make sure there is something to look at: apps of A, B and plain.
for my $v (qw(hosting_a hosting_b hosting_plain)) {
    my $r = hget($v, '/app.php');
    is($r->{status}, 200, "$v: an application runs") or diag(brief_h($r));
}
my @apps = app_pids();
ok(@apps >= 3, 'the process manager has ' . scalar @apps . ' children');
my @bad;
for my $pid (@apps) {
    my $p = proc_ids($pid) or next;
    push @bad, "$pid uid=@{ $p->{uid} } gid=@{ $p->{gid} } $p->{cmd}"
        if grep { $_ == 0 } @{ $p->{uid} }, @{ $p->{gid} };
}
ok(!@bad, 'no spawned process has uid or gid 0 (/proc)')
    or diag(join "\n", @bad);
# (not with asan-test's sanitizer runtime preloaded: ps hangs under it)
my @ps = @apps ? do {
    local $ENV{LD_PRELOAD};
    delete $ENV{LD_PRELOAD};
    split /\n/, `ps -o user=,group= -p @{[join ',', @apps]}`;
} : ();
is(scalar @ps, scalar @apps, 'ps lists every spawned process');
ok(!grep({ /\broot\b/ } @ps), 'ps: no spawned process runs as root')
    or diag(join "\n", @ps);

# The process manager's control socket.
SKIP: {
    my $cc = (grep { -x } '/usr/bin/cc', '/usr/bin/gcc')[0];
    my $apr = `apr-1-config --includes --cppflags 2>/dev/null`;
    chomp $apr;
    skip 'no C compiler / apr-1-config to build pm_forge', 1
        unless $cc && $apr;
    my $top = Apache::Test::vars('top_dir');
    my $bin = catfile(Apache::Test::vars('t_logs'), 'hosting-pm_forge');
    my $out = `$cc -o '$bin' '$top/t/apps/hosting/pm_forge.c' -I'$top/include' $apr 2>&1`;
    skip "cannot build pm_forge: $out", 1 if $?;
    chmod 0755, $bin;
    my $ctl = catfile(ipc_dir(), 'pm.sock');
    my $nobody = (getpwnam('nobody'))[2];
    my $disk = (getgrnam('disk'))[2] // 6;
    # a command line no other test runs; it outlives the PM's 10 s "died
    # at start" window, so it is not restarted (restart delay 1 h)
    my $cmd = "/bin/sleep 11.$$";
    $out = `runuser -u '$www->[0]' -- '$bin' '$ctl' $nobody $disk '$cmd' 2>&1`;
    like($out, qr/^sent \d+ bytes/, "$www->[0] can write to $ctl")
        or diag($out);
    my $deadline = Time::HiRes::time() + 3;
    my @forged;
    while (Time::HiRes::time() < $deadline) {
        @forged = grep { (proc_ids($_)->{cmd} // '') eq "/bin/sleep 11.$$" }
                  app_pids();
        last if @forged;
        Time::HiRes::sleep(0.1);
    }
    # MODULE BUG: the PM spawns it as nobody:disk (any uid but 0, any gid,
    # even 0): it takes uid and gid from the message and setuid()s itself
    # when the message does not ask for suexec.  As httpd's User, or not
    # at all, would be right.
    my @other = grep {
        my $p = proc_ids($_);
        grep({ $_ != $www->[1] } @{ $p->{uid} })
            || grep({ $_ != $www->[2] } @{ $p->{gid} })
    } @forged;
    ok(!@other, "a message from $www->[0] gets nothing run as another "
                . "user or group")
        or diag(join "\n", map {
            my $p = proc_ids($_);
            "pid $_ uid=@{ $p->{uid} } gid=@{ $p->{gid} } cmd=$p->{cmd}"
        } @other);
}

done_testing();
