# Drop-in (issue 7): the status page (SetHandler fcgix-status) and the
# mod_fcgix section of mod_status's server-status, looked at while four
# clients keep a slow spawned application busy for about 6 s (and after):
# ?json parses and agrees with the processes ps (/proc) finds, ?auto
# parses, the HTML has the class and a row per process, and headless
# Chromium renders what a person would see (DOM text checks; a screenshot
# is kept in t/logs/dropin/status.png).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Path ();
use File::Spec::Functions qw(catfile);
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes ();
use FcgixDropin;

my $main = dropin_port();
my $slow = catfile(dropin_docroot(), 'status', 'slow.fcgi');
my $url_path = '/dropin/status/slow.fcgi';
my $uid  = getpwnam(Apache::Test::vars('user'));
my $logs = Apache::Test::vars('t_logs');
my $httpd_pid = do {
    open my $fh, '<', Apache::Test::vars('t_pid_file') or die "pid file: $!";
    my $l = <$fh>;
    $l =~ /(\d+)/ ? $1 : 0;
};
my %STATES = map { $_ => 1 } qw(FREE IDLE BUSY RETIRING DEAD);

sub get {
    my ($path) = @_;
    dropin_req(path => $path);
}

sub json_of {
    my ($r) = @_;
    return unless $r->{status} == 200;
    eval { JSON::PP::decode_json($r->{body}) };
}

sub class_of {
    my ($j, $path) = @_;
    my ($c) = grep { $_->{path} eq $path } @{ $j->{classes} || [] };
    $c;
}

# "Key: value" lines of ?auto; Class:/Backend: lines in lists
sub parse_auto {
    my ($text) = @_;
    my (%a, @class, @backend, @bad);
    for my $l (split /\n/, $text) {
        if ($l =~ /^Class: (\S+) (.*)$/) {
            my %c = (path => $1);
            my $rest = $2;
            $c{$1} = $2 while $rest =~ /\b(\w+)=(\S*)/g;
            push @class, \%c;
        }
        elsif ($l =~ /^Backend: (\S+) (\S+) (.*)$/) {
            push @backend, { server => $1, address => $2 };
        }
        elsif ($l =~ /^(\w+): (.*)$/) {
            $a{$1} = $2;
        }
        else {
            push @bad, $l;
        }
    }
    return (\%a, \@class, \@backend, \@bad);
}

sub same_set {
    my ($x, $y) = @_;
    join(',', sort { $a <=> $b } @$x) eq join(',', sort { $a <=> $b } @$y);
}

# ---------------------------------------------------------------------
# One request first: the class exists, one process idles.
my $r = get("$url_path?warm=1");
is($r->{status}, 200, 'the slow application answers') or diag(dropin_brief($r));
my $j0 = json_of(get('/dropin-status?json'));
my $c0 = $j0 && class_of($j0, $slow);
my $req0 = $c0 ? $c0->{requests} : 0;

# ---------------------------------------------------------------------
# Under load: 4 clients, each one request that takes 6 s.
my %seen;   # what the checks found while loaded
my $t0 = Time::HiRes::time();
my @res = dropin_parallel(
    reqs => [map { [$main, "$url_path?sleep_ms=6000&client=$_"] } 1 .. 4],
    timeout => 40,
    tick => sub {
        my $el = Time::HiRes::time() - $t0;
        return if $el < 0.5 || $el > 5.0 || $seen{done};
        # a consistent look: ps, the page, ps again, the same pids
        my @before = dropin_procs($slow);
        my $jr = get('/dropin-status?json');
        my @after = dropin_procs($slow);
        return unless @before == 4 && same_set(\@before, \@after);
        my $j = json_of($jr) or return;
        my $c = class_of($j, $slow) or return;
        my @busy = grep { $_->{state} eq 'BUSY' } @{ $c->{procs} };
        return unless @busy == 4;
        $seen{json_raw} = $jr->{body};
        $seen{json} = $j;
        $seen{ps} = \@before;
        $seen{auto} = get('/dropin-status?auto');
        $seen{html} = get('/dropin-status');
        $seen{ss} = get('/dropin-server-status');
        $seen{ss_auto} = get('/dropin-server-status?auto');
        $seen{ps_after} = [dropin_procs($slow)];
        $seen{done} = 1;
    });
my @fail = grep { $res[$_]{status} != 200 } 0 .. $#res;
ok(!@fail, 'load: the 4 slow requests answered 200')
    or diag(join "\n", map { dropin_brief($res[$_]) } @fail);
ok($seen{done}, 'load: a moment with 4 processes, all BUSY, whose pids the '
   . 'status page and ps agree on')
    or diag('last ps: ' . join(' ', dropin_procs($slow)));

# ---------------------------------------------------------------------
# ?json under load
SKIP: {
    skip 'no consistent moment under load', 14 unless $seen{done};
    my $j = $seen{json};
    my $c = class_of($j, $slow);
    my @ps = @{ $seen{ps} };
    pass('?json parses with JSON::PP');
    ok(same_set([map { $_->{pid} } @{ $c->{procs} }], \@ps),
       '?json: the class\'s pids are the processes ps finds running '
       . 'slow.fcgi') or diag("json: @{[map { $_->{pid} } @{ $c->{procs} }]}"
                              . " ps: @ps");
    is($c->{processes}, scalar @ps, '?json: the class counts them');
    is(scalar(grep { $_->{state} eq 'BUSY' } @{ $c->{procs} }), 4,
       '?json: all 4 are BUSY while loaded');
    is($c->{inflight}, 4, '?json: 4 requests in flight');
    is($c->{uid}, $uid, '?json: the class runs as httpd\'s User');
    my @badp = grep {
        my $p = $_;
        grep({ !defined $p->{$_} || $p->{$_} !~ /^\d+$/ }
             qw(slot pid age idle requests))
        || !$STATES{$p->{state} // ''}
    } map { @{ $_->{procs} } } @{ $j->{classes} };
    ok(!@badp, '?json: every process has slot, pid, state, age, idle, '
       . 'requests') or diag(explain(\@badp));
    my $pm = $j->{pm}{pid} // 0;
    my $pi = dropin_proc($pm) || {};
    ok($pm && $pi->{ppid} == $httpd_pid && ($pi->{uid} // 0) != 0,
       "?json: pm.pid ($pm) is the process manager, a child of httpd "
       . "($httpd_pid) not running as root");
    my @orphans = grep { (dropin_proc($_) || {})->{ppid} != $pm } @ps;
    ok(!@orphans, '?json: the application processes are children of pm.pid')
        or diag("not children of $pm: @orphans");
    ok(($j->{pm}{starts} // 0) >= 1, '?json: pm.starts >= 1');
    my $ci = dropin_proc($j->{child_pid} // 0) || {};
    ok(($ci->{ppid} // 0) == $httpd_pid,
       "?json: child_pid ($j->{child_pid}) is an httpd child");
    ok($j->{processes} >= 4 && $j->{max_processes} >= $j->{processes},
       "?json: processes ($j->{processes}) >= 4, <= max_processes "
       . "($j->{max_processes})");
    is_deeply([grep { !exists $c->{$_} } qw(path uid gid vhost processes
              waiting inflight requests max_processes min_processes procs)],
              [], '?json: the class has every documented field');
    ok(ref $j->{external} eq 'ARRAY'
       && !grep({ !defined $_->{server} || !defined $_->{address} }
                @{ $j->{external} }),
       '?json: external[] lists servers with their addresses');
}

# ---------------------------------------------------------------------
# ?auto, HTML, server-status under load
SKIP: {
    skip 'no consistent moment under load', 15 unless $seen{done};
    my $j = $seen{json};
    my @ps = @{ $seen{ps} };
    my $same = same_set(\@ps, $seen{ps_after});

    my $ar = $seen{auto};
    like(FcgixTest::header($ar, 'Content-Type') // '', qr{^text/plain},
         '?auto: text/plain');
    my ($a, $classes, $backends, $bad) = parse_auto($ar->{body});
    ok(!@$bad, '?auto: every line is "Key: value", "Class: ..." or '
       . '"Backend: ..."') or diag("unparsed: @$bad");
    ok(($a->{PMPid} // '') eq $j->{pm}{pid} && ($a->{Processes} // '') =~ /^\d+$/
       && ($a->{MaxProcesses} // '') =~ /^\d+$/ && ($a->{ChildPid} // '') =~ /^\d+$/,
       '?auto: PMPid (same as ?json), Processes, MaxProcesses, ChildPid')
        or diag(explain($a));
    my ($ac) = grep { $_->{path} eq $slow } @$classes;
    ok($ac && (!$same || $ac->{processes} == @ps) && $ac->{busy} >= 1
       && $ac->{inflight} >= 1 && $ac->{uid} == $uid,
       '?auto: Class: line of slow.fcgi: processes = ps count, busy, '
       . 'inflight, uid') or diag(explain($ac));
    ok(scalar(grep { $_->{server} =~ m{/ext/c\.fcgi$} } @$backends),
       '?auto: Backend: lines for the external servers');

    my $h = $seen{html};
    like(FcgixTest::header($h, 'Content-Type') // '', qr{^text/html},
         'HTML: text/html');
    like($h->{body}, qr{<h3>\Q$slow\E</h3>}, 'HTML: the class heading');
    my @rows = grep { $h->{body} =~ m{<tr><td>\d+</td><td>$_</td><td class="st-W">W BUSY</td>} } @ps;
    ok(!$same || @rows == @ps, 'HTML: a row per process, state "W BUSY"')
        or diag($h->{body});
    like($h->{body}, qr{<h2>Key</h2>.*<code>_</code> idle.*<code>W</code> working}s,
         'HTML: the key of the state letters');
    like($h->{body}, qr{<h2>External servers</h2>.*/ext/c\.fcgi}s,
         'HTML: the external servers table');

    my $ss = $seen{ss};
    is($ss->{status}, 200, 'server-status: 200');
    like($ss->{body}, qr{<h2>mod_fcgix</h2>.*<h3>\Q$slow\E</h3>}s,
         'server-status: a mod_fcgix section with the class');
    my ($n) = $seen{ss_auto}{body} =~ /^FcgixProcesses: (\d+)$/m;
    ok(defined $n && $n >= 4, 'server-status?auto: FcgixProcesses: N '
       . '(N >= 4)') or diag($seen{ss_auto}{body});
    # external servers too, not only spawned classes
    like($ss->{body}, qr{<h2>mod_fcgix</h2>.*<h2>External servers</h2>.*<tr><td>[^<]*/ext/c\.fcgi</td><td>unix:[^<]*</td>(?:<td>\d+</td>){7}.*?<td>(?:ok|disabled \d+ s)</td></tr>}s,
         'server-status: the external servers, each address with in '
         . 'flight, open, idle, ..., failures and its state')
        or diag($ss->{body});
    like($seen{ss_auto}{body}, qr{^FcgixBackend: \S+/ext/c\.fcgi unix:\S+ inflight=\d+ open=\d+ idle=\d+ failures=\d+ disabled=\d+$}m,
         'server-status?auto: FcgixBackend: lines for the external servers')
        or diag($seen{ss_auto}{body});
}

# ---------------------------------------------------------------------
# After the load: the processes idle, the requests are counted.
my ($j1, $c1);
dropin_wait(5, sub {
    $j1 = json_of(get('/dropin-status?json'));
    $c1 = $j1 && class_of($j1, $slow);
    $c1 && @{ $c1->{procs} }
        && !grep { $_->{state} ne 'IDLE' } @{ $c1->{procs} };
});
ok($c1 && @{ $c1->{procs} }
   && !grep({ $_->{state} ne 'IDLE' } @{ $c1->{procs} }),
   'after the load: every process of the class is IDLE')
    or diag(explain($c1));
ok($c1 && $c1->{requests} >= $req0 + 4,
   "after the load: the class counted the 4 requests ($req0 -> "
   . ($c1 ? $c1->{requests} : '?') . ')');

# ---------------------------------------------------------------------
# What a person sees: headless Chromium renders the page.
my ($chromium) = grep { -x } qw(/usr/bin/chromium /usr/bin/chromium-browser
                                /usr/bin/google-chrome);
SKIP: {
    skip 'chromium not installed (Debian package "chromium")', 7
        unless $chromium;
    my $dir = catfile($logs, 'dropin');
    my $profile = catfile($dir, "chromium-profile-$$");
    my $shot = catfile($dir, 'status.png');
    File::Path::remove_tree($profile);
    File::Path::make_path($profile);
    unlink $shot;
    my $url = "http://127.0.0.1:$main/dropin-status";
    my ($rc, $dom, $err) = run_chromium($chromium, $profile, $shot, $url, 90);
    File::Path::remove_tree($profile);
    skip "chromium cannot run here (exit $rc): "
        . substr($err // '', -300), 7
        unless $dom =~ /<html/i;
    my @pids = map { $_->{pid} } @{ ($c1 || {})->{procs} || [] };
    (my $text = $dom) =~ s/<[^>]*>/ /g;
    $text =~ s/&amp;/&/g;
    $text =~ s/\s+/ /g;
    like($text, qr/mod_fcgix status/, 'chromium: the page title shows');
    like($text, qr/\Q$slow\E/, 'chromium: the class path shows');
    ok(scalar(grep { $dom =~ m{<td>$_</td><td class="st-[W_]">[W_] (?:BUSY|IDLE)</td>} } @pids),
       'chromium: a process row with its pid and state _ or W')
        or diag("pids @pids; DOM: " . substr($dom, 0, 3000));
    like($text, qr/_ idle \(ready\), W working on a request/,
         'chromium: the key of the state letters');
    like($text, qr/External servers/, 'chromium: the external servers '
         . 'table');
    ok(-s $shot, "chromium: screenshot saved ($shot)");
    open my $fh, '<:raw', $shot;
    my $magic = '';
    read $fh, $magic, 8 if $fh;
    is($magic, "\x89PNG\r\n\x1a\n", 'chromium: the screenshot is a PNG');
}

# chromium --headless --dump-dom --screenshot: (exit code, DOM, stderr)
sub run_chromium {
    my ($bin, $profile, $shot, $url, $timeout) = @_;
    my $out = "$profile.dom";
    my $errf = "$profile.err";
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $errf or POSIX::_exit(126);
        chdir $profile;
        $ENV{DBUS_SESSION_BUS_ADDRESS} = 'disabled:';
        exec $bin, '--headless', '--no-sandbox', '--disable-gpu',
            '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--disable-extensions',
            '--disable-dev-shm-usage', "--user-data-dir=$profile",
            '--window-size=1280,1100', "--screenshot=$shot", '--dump-dom',
            $url
            or POSIX::_exit(127);
    }
    my $deadline = Time::HiRes::time() + $timeout;
    my $st;
    while (1) {
        my $w = waitpid($pid, POSIX::WNOHANG());
        if ($w == $pid) { $st = $?; last }
        if (Time::HiRes::time() > $deadline) {
            kill 'KILL', -$pid;
            waitpid($pid, 0);
            $st = -1;
            last;
        }
        Time::HiRes::sleep(0.1);
    }
    kill 'KILL', -$pid;   # helpers it may have left behind
    my $slurp = sub {
        open my $fh, '<', $_[0] or return '';
        local $/;
        my $s = <$fh> // '';
        unlink $_[0];
        $s;
    };
    return ($st == -1 ? 'timeout' : $st >> 8, $slurp->($out),
            $slurp->($errf));
}

done_testing();
