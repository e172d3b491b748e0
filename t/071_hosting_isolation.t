# Shared hosting: one tenant's application cannot reach another's
# (t/conf/hosting.conf.in).
#
# Every spawned application listens on its own unix socket in the private
# IPC directory (t/logs/fastcgi: 0700, httpd's User), each socket 0600 and
# owned by httpd's User, so only httpd (its User) can connect.  Checked
# from inside tenant A's php-cgi (it tries to connect to B's socket and to
# every socket in the directory) and with runuser as A; httpd's User can
# connect (the sockets are live, the paths right).  A also cannot signal
# B's process.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Spec::Functions qw(catfile);
use Test::More;
use FcgixTest;
use FcgixHosting;

my $root = hosting_root()
    or plan skip_all => 'no hosting config (reconfigure: t/TEST.PL -clean)';
my ($suexec, $why) = suexec_state();
plan skip_all => "suexec: $why (tenants would all be httpd's User)"
    unless $suexec;

my $www = httpd_user();
my ($ta, $tb) = (tenant('a'), tenant('b'));
my $dir = ipc_dir();

# live processes of both tenants (and their pids)
my %pid;
for my $t (qw(a b)) {
    my $r = hget("hosting_$t", '/app.php');
    my $e = env_of($r);
    is($e->{uid} // '', tenant($t)->{uid}, "tenant $t: php runs as the tenant")
        or diag(brief_h($r));
    $pid{$t} = $e->{pid} || 0;
}

# the private directory
my @st = stat $dir;
is(sprintf('%04o', ($st[2] // 0) & 07777), '0700', "$dir is 0700");
is($st[4], $www->[1], "$dir belongs to httpd's User $www->[0]");

# B's socket: the one B's process listens on (its fd 0)
my $bsock = listen_path_of($pid{b});
like($bsock // '', qr{^\Q$dir\E/[^/]+$}, "B listens on a socket in $dir")
    or diag("fd 0 of $pid{b}: " . (readlink("/proc/$pid{b}/fd/0") // '-'));
my $asock = listen_path_of($pid{a});
isnt($asock // '', $bsock // '', "A and B listen on different sockets");
@st = stat($bsock // '');
is(sprintf('%04o', ($st[2] // 0) & 07777), '0600', "B's socket is 0600");
is($st[4], $www->[1], "B's socket belongs to $www->[0]");
my @all = grep { -S } glob "$dir/*";
ok(@all >= 3, "sockets in $dir: " . scalar @all . " (apps + the PM's)");

# Positive control for the app-side probe: a socket everyone may use.
my $open = catfile(Apache::Test::vars('t_logs'), 'c.sock');

# From inside tenant A's application.
my $r = hget('hosting_a', '/app.php?connect',
             body => join('', map { "$_\n" } $bsock // '', @all, $open));
my %res = map { /^connect=(\S+) (.*)$/ ? ($1 => $2) : () }
          split /\n/, $r->{body};
is($res{$open} // '', 'ok',
   "A's app can connect to a 0666 socket (the probe works)")
    or diag(brief_h($r));
like($res{$bsock // ''} // '', qr/^error 13 /,
     "A's app cannot connect to B's socket: EACCES");
my @reached = grep { ($res{$_} // '') !~ /^error 13 / } @all;
ok(!@reached, "A's app reaches no socket in $dir (" . scalar(@all) . ' tried)')
    or diag(join "\n", map { "$_: " . ($res{$_} // 'not tried') } @reached);

# The same as the user A, and as httpd's User (positive control).
sub connect_as {
    my ($user, $path) = @_;
    my $out = `runuser -u '$user' -- $^X -MIO::Socket::UNIX -e '
        my \$s = IO::Socket::UNIX->new(Peer => \$ARGV[0]);
        print \$s ? "ok" : "error " . (\$!+0) . " \$!";' '$path' 2>&1`;
    return $out;
}
like(connect_as($ta->{user}, $bsock // ''), qr/^error 13 /,
     "runuser -u $ta->{user}: connecting to B's socket: EACCES");
is(connect_as($www->[0], $bsock // ''), 'ok',
   "runuser -u $www->[0]: B's socket accepts (live, right path)");

# A's application cannot signal B's process (kill -0), only its own.
my $e = env_of(hget('hosting_a', "/app.php?kill=$pid{b}"));
like($e->{kill} // '', qr/^error 1 /, "A's app cannot signal B's process: EPERM");
$e = env_of(hget('hosting_a', "/app.php?kill=$pid{a}"));
if (($e->{pid} // 0) == $pid{a}) {
    is($e->{kill}, 'ok', "A's app may signal itself (the probe works)");
}
else {
    # two processes in A's class: the other one answered; it is A's too
    is($e->{kill}, 'ok', "A's app may signal A's other process");
}

done_testing();
