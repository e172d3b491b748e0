# Scale-out (issue 18): an external server named by a host name that is
# re-resolved (resolve=1 slow-start=2 check=1), on hosts of its own.
#
# Each host is a network namespace this test makes (fx133a .. fx133d), a
# veth pair to it, an address of the benchmark range 198.18.0.0/15 (D:
# only 2001:db8:133:4::2, documentation range) and fcgix_testapp
# listening there. The name fcgix-t133.test is served by a dnsmasq of the
# test on 127.0.0.133:53 (glibc's resolv.conf has no port) from a hosts
# file it rewrites and reloads with SIGHUP (--local-ttl 1). The test's
# httpd (t/logs/resolve) runs in a mount namespace of its own where
# /etc/resolv.conf is a bind mount of the test's, so nothing else on the
# machine sees that name server. Which host answered: the application's
# pid (?conninfo, X-Fcgix-Pid).
#
#  0. without resolve= (FcgixExternalServer, FastCgiExternalServer -host)
#     the name is every record it had at startup;
#  1. C (v4) and D (AAAA only) join the name: both serve within
#     resolve + slow-start; the status page lists their addresses; C is
#     drained and resumed on the status page by its address;
#  2. A leaves the name under a bounded load (160 requests, 8 at a time):
#     none fails, A gets no request after, and its position is freed;
#  3. B's application hangs (SIGSTOP): the checks mark it down before a
#     request on it times out (io-timeout=6); then another httpd child
#     (t/apps/mod_fcgix_forge.c) writes a bad state or family into B's
#     position: taken for none, healed by the next lookup;
#  4. C is cut off (its link down in its namespace): requests sent after
#     lose nothing (connect-timeout=1, then another address);
#  5. dnsmasq stopped: the lookup fails, the set stays, one FCGIX00720;
#     started again: one FCGIX00721;
#  6. more records than max-addrs=4: one left out, one FCGIX00725.
# Everything made here is removed on every exit (END).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Path ();
use IO::Select ();
use IO::Socket::IP ();
use POSIX ();
use Test::More;
use Time::HiRes ();
use FcgixTest qw(:DEFAULT http_start http_finish brief);
use FcgixPM;
use FcgixMetrics;

plan skip_all => 'needs root (network namespaces)' if $> != 0;
my ($dnsmasq) = grep { -x } qw(/usr/sbin/dnsmasq /usr/bin/dnsmasq);
plan skip_all => 'no dnsmasq (scripts/deps.sh test installs it)'
    unless $dnsmasq;

my $top = Apache::Test::vars('top_dir');
my $logs = Apache::Test::vars('t_logs');
my $docroot = Apache::Test::vars('documentroot');
my $app = "$top/t/apps/fcgix_testapp";
my $dir = "$logs/resolve-net";
my $NAME = 'fcgix-t133.test';
my $PORT = 9133;
my $DNS = '127.0.0.133';
my %H = (
    a => { ip => '198.18.131.2', gw => '198.18.131.1' },
    b => { ip => '198.18.132.2', gw => '198.18.132.1' },
    c => { ip => '198.18.133.2', gw => '198.18.133.1' },
    d => { ip6 => '2001:db8:133:4::2', gw6 => '2001:db8:133:4::1' },
);
sub spec { my $h = $H{ $_[0] }; $h->{ip} ? "$h->{ip}:$PORT" : "[$h->{ip6}]:$PORT" }

my ($dns_pid, $h, %pid_of);

sub quiet { system(join(' ', @_) . ' >/dev/null 2>&1') }
sub run { system(@_) == 0 or die "failed: @_\n" }

sub cleanup {
    # by signal: "-k stop" would read the configuration, whose name
    # resolves only inside the httpd's own mount namespace
    if ($h && $h->{pid} && kill 'TERM', $h->{pid}) {
        FcgixTest::wait_until(15, sub { !kill 0, $h->{pid} }, 0.1);
    }
    kill 'TERM', $dns_pid if $dns_pid;
    for my $pid (values %pid_of) {
        kill 'CONT', $pid;
        kill 'TERM', $pid;
    }
    waitpid $_, 0 for grep { $_ } $dns_pid, values %pid_of;
    # the namespace's end takes its veth end, and so the pair
    for my $k (sort keys %H) {
        quiet("ip netns del fx133$k");
        quiet("ip link del fx133${k}h");
    }
}
END { my $rc = $?; cleanup(); $? = $rc }

sub host_up {
    my ($k) = @_;
    my $x = $H{$k};
    my ($ns, $hv, $nv) = ("fx133$k", "fx133${k}h", "fx133${k}n");
    run(qw(ip netns add), $ns);
    run(qw(ip link add), $hv, qw(type veth peer name), $nv);
    run(qw(ip link set), $nv, 'netns', $ns);
    run(qw(ip -n), $ns, qw(link set lo up));
    if ($x->{ip}) {
        run(qw(ip addr add), "$x->{gw}/24", 'dev', $hv);
        run(qw(ip -n), $ns, qw(addr add), "$x->{ip}/24", 'dev', $nv);
    }
    else {
        run(qw(ip -6 addr add), "$x->{gw6}/64", 'dev', $hv, 'nodad');
        run(qw(ip -n), $ns, qw(-6 addr add), "$x->{ip6}/64", 'dev', $nv,
            'nodad');
    }
    run(qw(ip link set), $hv, 'up');
    run(qw(ip -n), $ns, qw(link set), $nv, 'up');
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        # ip netns exec enters the namespace and execs: the same pid
        exec 'ip', 'netns', 'exec', $ns, $app, '-l', spec($k)
            or POSIX::_exit(127);
    }
    $pid_of{$k} = $pid;
    my ($host) = spec($k) =~ /^\[?([^\]]+?)\]?:\d+$/;
    FcgixTest::wait_until(10, sub {
        IO::Socket::IP->new(PeerHost => $host, PeerPort => $PORT,
                            Timeout => 1);
    }, 0.1) or die "the application of $k does not answer on " . spec($k)
                   . "\n";
}

sub hosts_file {
    my (@k) = @_;
    open my $fh, '>', "$dir/hosts.new" or die "$dir/hosts.new: $!";
    print $fh ($H{$_}{ip} // $H{$_}{ip6}) . " $NAME\n" for @k;
    close $fh;
    rename "$dir/hosts.new", "$dir/hosts" or die "rename: $!";
    kill 'HUP', $dns_pid if $dns_pid;
}

sub dns_start {
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', "$dir/dnsmasq.err";
        exec $dnsmasq, '--keep-in-foreground', '--conf-file=/dev/null',
             '--no-resolv', '--no-hosts', "--addn-hosts=$dir/hosts",
             "--listen-address=$DNS", '--bind-interfaces', '--port=53',
             '--local-ttl=1', '--no-negcache', '--user=root',
             '--pid-file=' or POSIX::_exit(127);
    }
    $dns_pid = $pid;
    FcgixTest::wait_until(5, \&_answers, 0.1);
}

# dnsmasq answers (a raw query: no resolver of the machine involved).
sub _answers {
    my $s = IO::Socket::IP->new(PeerHost => $DNS, PeerPort => 53,
                                Proto => 'udp') or return 0;
    my $q = pack('n n n n n n', 0x1333, 0x0100, 1, 0, 0, 0)
          . join('', map { chr(length) . $_ } split /\./, $NAME)
          . "\0" . pack('n n', 1, 1);
    $s->send($q);
    my $sel = IO::Select->new($s);
    return 0 unless $sel->can_read(0.5);
    my $buf = '';
    $s->recv($buf, 512);
    return length($buf) > 12 && unpack('n', substr($buf, 6, 2)) > 0;
}

sub dns_stop {
    kill 'TERM', $dns_pid;
    waitpid $dns_pid, 0;
    $dns_pid = undef;
}

# ---------------------------------------------------------------------
# The hosts, the name server, the httpd
cleanup();
File::Path::remove_tree($dir);
File::Path::make_path($dir);
chmod 0755, $dir;
eval { host_up($_) for sort keys %H; 1 }
    or BAIL_OUT("cannot make the test's network: $@");
hosts_file(qw(a b));
dns_start();
ok(_answers(), "dnsmasq answers for $NAME on $DNS:53")
    or diag(`cat $dir/dnsmasq.err`);
open my $rc, '>', "$dir/resolv.conf" or die "$dir/resolv.conf: $!";
print $rc "nameserver $DNS\noptions timeout:1 attempts:1\n";
close $rc;
chmod 0644, "$dir/resolv.conf";

my $srv = "$docroot/dns133/app.fcgi";
$h = eval {
    pm_own_httpd(name => 'resolve', prefix => [
        'unshare', '-m', '--propagation', 'private', 'sh', '-c',
        'mount --bind "$0" /etc/resolv.conf && exec "$@"',
        "$dir/resolv.conf"], body => <<"EOC") };
FcgixExternalServer "$docroot/dns133/static.fcgi" $NAME:$PORT balance=round-robin
FastCgiExternalServer "$docroot/dns133/compat.fcgi" -host $NAME:$PORT
FcgixExternalServer "$srv" $NAME:$PORT resolve=1 slow-start=2 max-addrs=4 check=1 fails=2 passes=2 io-timeout=6 connect-timeout=1 keepalive=4 balance=round-robin
LoadModule fcgix_forge_module "$top/t/apps/.libs/mod_fcgix_forge.so"
<Location /fcgix-forge>
    SetHandler fcgix-forge
</Location>
<Location /dns-status>
    SetHandler fcgix-status
    Require all granted
</Location>
EOC
ok($h, 'an httpd of its own starts in a mount namespace of its own')
    or diag($@);
unless ($h) { done_testing(); exit 1 }
my $port = $h->{port};

my %host_of = reverse %pid_of;
sub get {
    my ($q, $file) = @_;
    my $r = pm_get(port => $port, path => '/dns133/' . ($file // 'app.fcgi')
                                          . "?conninfo&$q",
                   timeout => 20);
    my $pid = header($r, 'X-Fcgix-Pid') // 0;
    return ($r, $host_of{$pid} // '?');
}
sub served {
    my ($n, $tag, $file) = @_;
    my %by;
    for my $i (1 .. $n) {
        my ($r, $k) = get("$tag=$i", $file);
        $by{ $r->{status} == 200 ? $k : "status $r->{status}" }++;
    }
    return \%by;
}
sub show { my ($by) = @_; join ' ', map { "$_:$by->{$_}" } sort keys %$by }
sub status_json {
    pm_get(port => $port, path => '/dns-status?json')->{body} // '';
}
sub mval {
    my ($k, $spec) = @_;
    my $r = pm_get(port => $port, path => '/dns-status?metrics');
    return -1 unless $r->{status} == 200;
    metric_val(FcgixMetrics::metrics_parse($r->{body}), $k,
               server => $srv, address => $spec);
}
sub log_count {
    my ($no) = @_;
    open my $fh, '<', $h->{log} or return 0;
    scalar grep { /FCGIX$no:/ } <$fh>;
}

{
    my $by = served(20, 'start');
    is(show($by), 'a:10 b:10', 'at first the name has A and B: round '
       . 'robin over both');
    $by = served(20, 'static', 'static.fcgi');
    is(show($by), 'a:10 b:10', 'without resolve=, both records of the '
       . 'name are addresses (found at startup)');
    $by = served(10, 'compat', 'compat.fcgi');
    ok($by->{a} && $by->{b} && !grep({ /status/ } keys %$by),
       'FastCgiExternalServer -host name: both records too: ' . show($by));
    like(pm_get(port => $port, path => '/dns-status?json')->{body},
         qr/"server":"[^"]*static\.fcgi","address":"\Q@{[spec('b')]}\E"/,
         'the status page lists them by address');
}

# ---------------------------------------------------------------------
# 1. C and D (AAAA) join
{
    hosts_file(qw(a b c d));
    my $t0 = Time::HiRes::time();
    my (%first, $i);
    FcgixTest::wait_until(6, sub {
        my (undef, $k) = get('join=' . ++$i);
        $first{$k} //= Time::HiRes::time() - $t0;
        $first{c} && $first{d};
    }, 0.02);
    ok(defined $first{c} && $first{c} < 1 + 2 + 1,
       sprintf('C (A record) serves %.1f s after it joined the name '
               . '(resolve 1 + slow-start 2)', $first{c} // -1));
    ok(defined $first{d} && $first{d} < 1 + 2 + 1,
       sprintf('D (AAAA record only, IPv6) serves %.1f s after it joined',
               $first{d} // -1));
    my $json = status_json();
    like($json, qr/app\.fcgi","address":"\Q@{[spec('c')]}\E"/,
         '?json lists C\'s address');
    like($json, qr/app\.fcgi","address":"\Q@{[spec('d')]}\E"/,
         '?json lists D\'s address');
    unlike($json, qr/#\d"/, 'and no position without an address');
    is(log_count('00722'), 2, 'two FCGIX00722 (joined) lines');
    Time::HiRes::sleep(2);      # the slow start is over
    my $by = served(40, 'four');
    # two httpd children may take turns each on their own: not exactly
    # 10 each, but far from the 1 in 10 of a slow start's beginning
    ok(!grep({ ($by->{$_} // 0) < 7 } qw(a b c d)) && $by->{a} + $by->{b}
       + $by->{c} + $by->{d} == 40,
       'slow start over: all four take full turns: ' . show($by));
    ok(mval('fcgix_backend_requests_total', spec('d')) >= 10,
       '?metrics counts the requests of D under its address');
}

# ---------------------------------------------------------------------
# 1b. A name's address drained and resumed on the status page, by the
# address it has now
sub admin {
    my ($action, $spec) = @_;
    FcgixTest::http(port => $port, method => 'POST', path => '/dns-status',
           headers => ['Content-Type' => 'application/x-www-form-urlencoded'],
           body => "action=$action&server=" . uri_escape($srv)
                   . '&address=' . uri_escape($spec));
}
{
    my $r = admin('drain', spec('c'));
    like($r->{body}, qr/^draining \Q$srv\E \Q@{[spec('c')]}\E$/m,
         'POST action=drain of C by its address') or diag(brief($r));
    my $by = served(12, 'cdrained');
    ok(!$by->{c} && !grep({ /status/ } keys %$by),
       'C drained: no request for it, all 200: ' . show($by));
    admin('resume', spec('c'));
    my $i = 0;
    ok(FcgixTest::wait_until(3, sub {
           my (undef, $k) = get('cresumed=' . ++$i); $k eq 'c' }, 0.02),
       'C resumed: it serves again');
}

# ---------------------------------------------------------------------
# 2. A leaves the name under load: drained, nothing lost
{
    my (%st, %by, $removed);
    for my $round (1 .. 20) {
        my @hs = map { http_start(port => $port, timeout => 20,
                       path => "/dns133/app.fcgi?conninfo&sleep_ms=100"
                               . "&load=$round.$_") } 1 .. 8;
        if ($round == 4) {
            hosts_file(qw(b c d));
            $removed = Time::HiRes::time();
        }
        for my $hh (@hs) {
            my $r = $hh ? http_finish($hh, 20) : { status => 0 };
            $st{ $r->{status} }++;
            $by{ $host_of{ header($r, 'X-Fcgix-Pid') // 0 } // '?' }++
                if $r->{status} == 200;
        }
    }
    is(join(',', map { "$_ x$st{$_}" } sort keys %st), '200 x160',
       '160 requests while A left the name: every one 200');
    ok($by{a}, "A served some before it left ($by{a} of 160)");
    my $after = served(30, 'gone');
    ok(!$after->{a}, 'A gets no request once it left: ' . show($after));
    is(log_count('00723'), 1, 'one FCGIX00723 (left, draining) line');
    my $freed = FcgixTest::wait_until(10, sub {
        status_json() !~ /app\.fcgi","address":"\Q@{[spec('a')]}\E"/ },
        0.2);
    ok($freed, sprintf('its connections closed, its position freed '
       . '(%.1f s after it left)', Time::HiRes::time() - $removed));
}

# ---------------------------------------------------------------------
# 3. B hangs: down by the checks before a request on it times out
{
    kill 'STOP', $pid_of{b};
    my $t0 = Time::HiRes::time();
    my @hs = map { http_start(port => $port, timeout => 20,
                   path => "/dns133/app.fcgi?conninfo&hang=$_") } 1 .. 6;
    my $down_at;
    FcgixTest::wait_until(6, sub {
        $down_at = Time::HiRes::time()
            if mval('fcgix_backend_check_down', spec('b')) == 1;
        $down_at;
    }, 0.1);
    my @r = map { $_ ? http_finish($_, 20) : { status => 0 } } @hs;
    my @late = grep { $_->{status} == 504 } @r;
    ok($down_at && $down_at < $t0 + 6, sprintf('B marked down %.1f s after '
       . 'it hung, before io-timeout (6 s)', ($down_at // $t0) - $t0));
    ok(@late >= 1, scalar(@late) . ' request(s) had reached B and timed '
       . 'out');
    is(scalar(grep { $_->{status} != 200 && $_->{status} != 504 } @r), 0,
       'the others 200');
    my $by = served(12, 'bdown');
    ok(!$by->{b} && !grep({ /status/ } keys %$by),
       'B down: requests go to C and D, all 200: ' . show($by));
    kill 'CONT', $pid_of{b};
    ok(FcgixTest::wait_until(8, sub {
           mval('fcgix_backend_check_down', spec('b')) == 0 }, 0.2),
       'B resumed: up again');
}

# ---------------------------------------------------------------------
# 3b. Another httpd child (a hostile module) writes nonsense into B's
# position: every child takes it for a place without an address, nothing
# fails, and the next round of the resolver puts B back.
for my $forge ('1:9', '9:4') {
    my $r = pm_get(port => $port,
                   path => "/fcgix-forge?dyn=$forge&at=$H{b}{ip}");
    like($r->{body}, qr/^dyn=1$/m, "B's position forged ($forge: state, "
         . 'family)') or diag(brief($r));
    my $by = served(12, "forged$forge");
    ok(!grep({ /status/ } keys %$by), 'all 200 meanwhile: ' . show($by));
    my $i = 0;
    ok(FcgixTest::wait_until(6, sub {
           my (undef, $k) = get("back$forge=" . ++$i);
           $k eq 'b' }, 0.02),
       'B back after the next lookup');
}

# ---------------------------------------------------------------------
# 4. C cut off: nothing lost that had not reached it
{
    run(qw(ip -n fx133c link set fx133cn down));
    my $by = served(24, 'cut');
    ok(!grep({ /status/ } keys %$by), 'C cut off: 24 requests sent after, '
       . 'all 200: ' . show($by));
    ok(!$by->{c}, 'none served by C');
}

# ---------------------------------------------------------------------
# 5. The name server gone, then back
{
    my $set = status_json();
    dns_stop();
    ok(FcgixTest::wait_until(5, sub { log_count('00720') >= 1 }, 0.2),
       'lookup failed: FCGIX00720');
    Time::HiRes::sleep(2.5);
    is(log_count('00720'), 1, 'logged once, not per round');
    my $by = served(12, 'nodns');
    ok(!grep({ /status/ } keys %$by) && ($by->{b} // 0) + ($by->{d} // 0)
       == 12, 'the last set stays: 12 requests 200 on B and D: '
       . show($by));
    like(status_json(), qr/app\.fcgi","address":"\Q@{[spec('d')]}\E"/,
         'D still listed');
    dns_start();
    ok(FcgixTest::wait_until(5, sub { log_count('00721') >= 1 }, 0.2),
       'lookup works again: FCGIX00721');
    Time::HiRes::sleep(1.5);
    is(log_count('00721'), 1, 'logged once');
    is(log_count('00720'), 1, 'and no new failure');
}

# ---------------------------------------------------------------------
# 6. More records than max-addrs=4: one left out, said once; nothing
# fails (198.18.131.3 is A's too, where nothing listens: refused, and the
# request goes elsewhere)
{
    run(qw(ip -n fx133a addr add 198.18.131.3/24 dev fx133an));
    $H{e} = { ip => '198.18.131.3' };
    hosts_file(qw(b c d a e));
    ok(FcgixTest::wait_until(5, sub { log_count('00725') >= 1 }, 0.2),
       'five records for four places: FCGIX00725');
    my $by = served(12, 'over');
    ok(!grep({ /status/ } keys %$by), 'all 200: ' . show($by));
    Time::HiRes::sleep(1.5);
    is(log_count('00725'), 1, 'said once');
}

done_testing();
