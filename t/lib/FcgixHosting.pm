package FcgixHosting;
# Helpers of the shared-hosting tests (t/070-075, t/conf/hosting.conf.in).
#
# The tenants (users fcgixa<port>, fcgixb<port>) and their trees under
# /var/www/fcgix-hosting-<port>/ are made by t/TEST.PL (block "hosting");
# the applications (t/apps/hosting/app.php, app.pl) answer NAME=VALUE lines
# (FcgixTest::env_of parses them).
#
#   hget(VHOST, PATH, ...)  a request to one of hosting.conf's vhosts
#   tenant('a'|'b')         {user uid gid home dir}
#   suexec_state()          (1) or (0, why): does httpd use suexec?
#   pm_pid(), app_pids()    the process manager, the processes it spawned
#   proc_ids(PID)           real/effective/saved/fs uids and gids, ppid
#   listen_path_of(PID)     the unix socket PID listens on (its fd 0)
use strict;
use warnings;

use Apache::Test ();
use File::Spec::Functions qw(catfile);
use Test::More;
use FcgixTest;

use Exporter 'import';
our @EXPORT = qw(hget tenant hosting_root httpd_user suexec_state pm_pid
                 app_pids proc_ids listen_path_of suexec_log_tail brief_h
                 ipc_dir);

sub vars { Apache::Test::vars(@_) }

sub hosting_root { vars('fcgix_hosting_root') }

sub ipc_dir { catfile(vars('t_logs'), 'fastcgi') }

sub tenant {
    my ($t) = @_;
    my $user = vars("fcgix_hosting_user_$t");
    my @pw = getpwnam($user);
    return { user => $user, uid => $pw[2], gid => $pw[3],
             home => vars("fcgix_hosting_home_$t"),
             dir => hosting_root() . "/$t" };
}

# httpd's User: [name, uid, gid]
sub httpd_user {
    my $name = vars('user');
    my @pw = getpwnam($name);
    return [$name, $pw[2], $pw[3]];
}

# hget($vhost, $path, method => 'GET', body => $bytes, timeout => 30)
# HTTP/1.0, one request per connection, through FcgixTest::http; returns
# its result hash (status, headers => [[name, value]...], body, secs,
# error, ...); header($r, NAME) reads a header.
sub hget {
    my ($vhost, $path, %o) = @_;
    my $port = vars("${vhost}_port") or die "no vhost $vhost";
    return FcgixTest::http(
        proto => '1.0', port => $port, path => $path,
        method => $o{method} || (defined $o{body} ? 'POST' : 'GET'),
        timeout => $o{timeout} || 30,
        (defined $o{body} ? (body => $o{body}) : ()));
}

sub brief_h { FcgixTest::brief(@_) }

# (1) when httpd runs applications through suexec, else (0, reason).
sub suexec_state {
    my $bin = '/usr/lib/apache2/suexec';
    return (0, "$bin is not installed (scripts/deps.sh test installs "
               . "apache2-suexec-pristine)") unless -e $bin;
    my @st = stat $bin;
    return (0, "$bin is not setuid root") unless $st[4] == 0 && $st[2] & 04000;
    open my $fh, '<', catfile(vars('t_logs'), 'error_log') or return (0, 'no error_log');
    while (my $l = <$fh>) {
        return (1) if $l =~ /suEXEC mechanism enabled/;
    }
    return (0, 'httpd did not enable suexec (no "suEXEC mechanism '
               . 'enabled" in error_log)');
}

sub suexec_log_tail {
    my ($n) = @_;
    open my $fh, '<', '/var/log/apache2/suexec.log' or return "(no suexec.log)\n";
    my @l = <$fh>;
    join '', @l > $n ? @l[-$n .. -1] : @l;
}

sub stat_fields {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return;
    my $s = <$fh> // return;   # gone meanwhile
    # pid (comm) state ppid pgrp
    return $s =~ /^\d+ \((.*)\) (\S) (\d+) (\d+)/s ? ($1, $2, $3, $4) : ();
}

sub httpd_pid {
    open my $fh, '<', vars('t_pid_file') or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}

# The process manager: the httpd parent's child that leads its own process
# group (httpd's children stay in the parent's).
sub pm_pid {
    my $parent = httpd_pid() or return;
    for my $d (glob '/proc/[0-9]*') {
        my ($pid) = $d =~ m{(\d+)$};
        my ($comm, $state, $ppid, $pgrp) = stat_fields($pid) or next;
        return $pid if $ppid == $parent && $pgrp == $pid && $state ne 'Z';
    }
    return;
}

# The live processes the PM spawned (its children).
sub app_pids {
    my $pm = pm_pid() or return;
    my @pids;
    for my $d (glob '/proc/[0-9]*') {
        my ($pid) = $d =~ m{(\d+)$};
        my ($comm, $state, $ppid) = stat_fields($pid) or next;
        push @pids, $pid if $ppid == $pm && $state ne 'Z';
    }
    return sort { $a <=> $b } @pids;
}

# {uid => [real, effective, saved, fs], gid => [...], ppid, exe, cwd, cmd}
sub proc_ids {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return;
    my %p;
    while (my $l = <$fh>) {
        $p{uid} = [split ' ', $1] if $l =~ /^Uid:\s+(.*)/;
        $p{gid} = [split ' ', $1] if $l =~ /^Gid:\s+(.*)/;
        $p{groups} = [split ' ', $1] if $l =~ /^Groups:\s*(.*)/;
        $p{ppid} = $1 if $l =~ /^PPid:\s+(\d+)/;
    }
    $p{exe} = readlink("/proc/$pid/exe") // '';
    $p{cwd} = readlink("/proc/$pid/cwd") // '';
    if (open my $c, '<', "/proc/$pid/cmdline") {
        local $/;
        $p{cmd} = join ' ', split /\0/, <$c> // '';
    }
    return \%p;
}

# The path of the unix socket a spawned application listens on: the PM
# passes it as fd 0.
sub listen_path_of {
    my ($pid) = @_;
    my $l = readlink("/proc/$pid/fd/0") // return;
    my ($inode) = $l =~ /^socket:\[(\d+)\]$/ or return;
    open my $fh, '<', '/proc/net/unix' or return;
    while (my $l = <$fh>) {
        my @f = split ' ', $l;
        # Num RefCount Protocol Flags Type St Inode Path
        return $f[7] if @f >= 8 && $f[6] =~ /^\d+$/ && $f[6] == $inode;
    }
    return;
}

1;
