# Hostile applications (issue 17): thousands of requests, each answered
# by t/apps/fcgix_hostile with a reproducibly broken record stream (the
# kind is seed % 16, see the app's header), through an httpd of its own
# (t/logs/hostile), to the app as an external server on a unix socket and
# as a FcgixServer the process manager spawns.  What must hold:
#  * httpd never crashes or hangs: every request gets a whole HTTP reply
#    within its time, the parent and a final request are still fine;
#  * every reply is what its stream deserves: 200 with the exact body
#    from a valid stream; 502 for a broken one before the header block
#    was applied (503 for OVERLOADED/CANT_MPX_CONN, 504 for silence); a
#    stream broken after it is a 200 whose body is NOT complete (a cut
#    response must never look whole to the client);
#  * other requests (a static file, a valid stream) are served meanwhile,
#    each within 5 s (a valid stream of the spawned class within 10 s);
#  * the error log grows by about one line per failed request.
# HOSTILE_N (external, default 1000), HOSTILE_SPAWN_N (spawned, default
# 200: a process that failed a request is replaced, which is slower) and
# HOSTILE_P (clients at once) make it longer.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Copy ();
use File::Path ();
use File::Temp ();
use POSIX ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;

my %N = (external => $ENV{HOSTILE_N} || 1000,
         spawned => $ENV{HOSTILE_SPAWN_N} || 200);
my $P = $ENV{HOSTILE_P} || 8;       # clients at once
my $top = Apache::Test::vars('top_dir');
my $app = "$top/t/apps/fcgix_hostile";
plan skip_all => "$app not built" unless -x $app;

my $logs = Apache::Test::vars('t_logs');
my $docs = "$logs/hostile-docs";
my $sock = "$logs/hostile.sock";
my $conf = <<"EOC";
DocumentRoot "$docs"
<Directory "$docs">
    Require all granted
</Directory>
FcgixExternalServer "$docs/ext.fcgi" unix:$sock io-timeout=1
FcgixServer "$docs/spawn.fcgi" processes=4 io-timeout=1 restart-delay=1
EOC

my $h = eval {
    File::Path::remove_tree($docs);
    mkdir $docs or die "$docs: $!";
    chmod 0755, $docs;
    File::Copy::copy($app, "$docs/spawn.fcgi") or die "copy: $!";
    chmod 0755, "$docs/spawn.fcgi";
    open my $fh, '>', "$docs/static.txt" or die $!;
    print $fh "static\n";
    close $fh;
    # the external application, in a process group of its own
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        exec $app, '-l', "unix:$sock" or POSIX::_exit(127);
    }
    pm_wait_until(10, sub { -S $sock }) or die "hostile app: no $sock";
    my $hh = pm_own_httpd(name => 'hostile', body => $conf);
    $hh->{app} = $pid;
    $hh;
};
ok($h, 'an httpd of its own with the hostile app, external and spawned')
    or diag($@);
unless ($h) {
    done_testing();
    exit;
}

sub get {
    my ($path) = @_;
    FcgixTest::http(path => $path, port => $h->{port}, timeout => 30);
}

# What each kind deserves (t/apps/fcgix_hostile.c).
sub verdict {
    my ($seed, $r) = @_;
    my $kind = $seed % 16;
    my $s = $r->{status} // 0;
    return 'no HTTP reply: ' . ($r->{error} // '?')
        unless $s && ($r->{proto} // '') =~ /^HTTP\/1\.[01]$/;
    return "took $r->{secs} s" if $r->{secs} > 15;
    if ($kind <= 3) {
        return '' if $s == 200 && $r->{complete}
                     && ($r->{body} // '') eq "ok $seed\n";
        return "valid stream: $s, complete=$r->{complete}";
    }
    return $s == 502 ? '' : "want 502, got $s"
        if grep { $kind == $_ } 4, 5, 6, 10, 11;
    return $s == 502 || $s == 503 ? '' : "want 502/503, got $s"
        if $kind == 12;
    return $s == 504 ? '' : "want 504, got $s" if $kind == 14;
    if (grep { $kind == $_ } 7, 8, 9, 13) {
        return '' if $s == 502 || ($s == 200 && !$r->{complete});
        return "cut stream: $s, complete=" . ($r->{complete} // 0);
    }
    return grep({ $s == $_ } 200, 502, 503, 504) ? '' : "flips: $s";
}

# P clients over the seeds of one target; the results in a file each.
sub storm {
    my ($path, $first, $N) = @_;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    my @kids;
    for my $c (0 .. $P - 1) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            open my $out, '>', "$dir/$c" or POSIX::_exit(1);
            for (my $i = $c; $i < $N; $i += $P) {
                my $seed = $first + $i;
                my $r = get("$path?seed=$seed");
                my $v = verdict($seed, $r);
                printf $out "%d\t%d\t%d\t%s\n", $seed, $r->{status} // 0,
                    $r->{complete} ? 1 : 0, $v;
            }
            close $out;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    # meanwhile: the static file within 5 s, a valid stream within 5 s
    # (10 s for the spawned class: its 4 processes are what the storm
    # uses too, and each that failed a request is replaced after 1 s)
    my ($others, @slow) = (0);
    my $bound = $path =~ /spawn/ ? 10 : 5;
    while (grep { waitpid($_, POSIX::WNOHANG()) == 0 } @kids) {
        for my $p ('/static.txt', "$path?seed=" . (16 * int(rand(1e6)))) {
            my $r = get($p);
            $others++;
            push @slow, "$p: " . ($r->{status} // 'none')
                . " in $r->{secs} s"
                unless ($r->{status} // 0) == 200 && $r->{complete}
                       && $r->{secs} < ($p =~ /static/ ? 5 : $bound);
        }
        Time::HiRes::sleep(0.05);
    }
    1 while waitpid(-1, POSIX::WNOHANG()) > 0;
    my (%st, @bad, $failed, $n);
    for my $c (0 .. $P - 1) {
        open my $in, '<', "$dir/$c" or next;
        while (<$in>) {
            chomp;
            my ($seed, $status, $complete, $v) = split /\t/, $_, 4;
            $n++;
            $st{$status}++;
            $failed++ if $status != 200 || !$complete;
            push @bad, "seed $seed (kind " . ($seed % 16) . "): $v"
                if length $v;
        }
    }
    return { n => $n // 0, st => \%st, bad => \@bad, failed => $failed // 0,
             others => $others, slow => \@slow };
}

my $log = $h->{log};
my %res;
for my $t (['external', '/ext.fcgi', 1], ['spawned', '/spawn.fcgi', 100001]) {
    my ($name, $path, $first) = @$t;
    my $before = -s $log // 0;
    my $t0 = Time::HiRes::time();
    my $N = $N{$name};
    my $r = storm($path, $first, $N);
    my $secs = Time::HiRes::time() - $t0;
    # errors and warnings (LogLevel info adds the PM's "ended" and
    # "spawned" lines for each replaced process)
    open my $lf, '<', $log or die "$log: $!";
    seek $lf, $before, 0;
    my $lines = grep { /\[fcgix:(?:error|warn)\]/ } <$lf>;
    close $lf;
    $res{$name} = $r;
    is($r->{n}, $N, "$name: $N mutated streams answered");
    ok(!@{ $r->{bad} }, "$name: every reply is what its stream deserves")
        or diag(join "\n", @{ $r->{bad} }[0 .. ($#{ $r->{bad} } > 20
                                                 ? 20 : $#{ $r->{bad} })]);
    ok($r->{others} > 0 && !@{ $r->{slow} },
       "$name: $r->{others} other requests served meanwhile, in time")
        or diag(join "\n", @{ $r->{slow} }[0 .. ($#{ $r->{slow} } > 10
                                                  ? 10 : $#{ $r->{slow} })]);
    # one line per failed request, and the valid stderr kind's one line
    my $budget = int(1.2 * $r->{failed} + $N / 16 + 20);
    ok($lines <= $budget, "$name: $lines errors and warnings logged for "
       . "$r->{failed} failed requests (at most $budget)");
    diag(sprintf "%s: %d requests in %.1f s, statuses %s", $name, $r->{n},
         $secs, join ' ', map { "$_=$r->{st}{$_}" } sort keys %{ $r->{st} });
}

ok(kill(0, $h->{pid}), 'the httpd parent is still running');
my $r = get('/ext.fcgi?seed=32');
ok($r->{status} == 200 && ($r->{body} // '') eq "ok 32\n",
   'a valid stream is served after the storm');
open my $lf, '<', $log or die $!;
my @crash = grep { /AH0005[12]|exit signal|Segmentation fault/ } <$lf>;
ok(!@crash, 'no httpd child crashed') or diag(@crash[0 .. 5]);

pm_own_httpd_stop($h);
pm_wait_until(20, sub { !kill 0, $h->{pid} });
kill 'TERM', -$h->{app};
waitpid($h->{app}, 0);
done_testing();
