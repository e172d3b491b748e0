# Shared hosting: one tenant's flood does not hurt another tenant
# (t/conf/hosting.conf.in: both tenants' vhosts have FcgixMaxRequestsPerUser
# 4, FcgixMaxProcessesPerUser 3, FcgixMaxProcessesPerClass 2 and
# FcgixSpawnWait 10).
#
# 16 clients flood tenant A with slow requests (1 s each, half to its
# php-cgi class, half to its Perl class), retrying 50 ms after a 503, for
# 5 s or until tenant B has been measured: 20 requests to tenant B, one
# every 0.2 s from 0.5 s into the flood on, must all succeed and
# stay fast: B has its own budget (per uid), A's requests past its 4 in
# flight get 503 + Retry-After at once (FCGIX00177) instead of waiting up
# to 10 s for a process, and A never has more than 3 processes (2 per
# class).  The latency bound for B (2 s) is generous on purpose: unloaded
# it is a few ms, and a B request that had to wait behind A's (1 s each)
# or for a process B cannot get would take more.  The figures are printed
# with -verbose.
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
use FcgixHosting;

my $root = hosting_root()
    or plan skip_all => 'no hosting config (reconfigure: t/TEST.PL -clean)';
my ($suexec, $why) = suexec_state();
plan skip_all => "suexec: $why (both tenants would be httpd's User: one "
               . "budget)" unless $suexec;

use constant { CLIENTS => 16, FLOOD_SECS => 5, B_REQUESTS => 20,
               B_BOUND => 2.0, FAST_503 => 2.0 };
my ($ta, $tb) = (tenant('a'), tenant('b'));

sub stats {
    my @s = sort { $a <=> $b } @_;
    return (0, 0) unless @s;
    return ($s[int(@s / 2)], $s[-1]);
}

# A's processes of hosting_a's classes: {php => n, perl => n, all => n}
sub a_procs {
    my %n = (php => 0, perl => 0, all => 0);
    for my $pid (app_pids()) {
        my $p = proc_ids($pid) or next;
        next unless $p->{uid}[0] == $ta->{uid}
                    && $p->{cwd} =~ m{^\Q$root\E/a/};
        $n{all}++;
        $n{ $p->{exe} =~ /php/ ? 'php' : 'perl' }++;
    }
    return \%n;
}

# Warm up: both tenants' classes exist and have a process.
for (['hosting_b', '/app.php'], ['hosting_b', '/app.php'],
     ['hosting_a', '/app.php'], ['hosting_a', '/app.pl']) {
    my $r = hget(@$_);
    is($r->{status}, 200, "warm-up $_->[0] $_->[1]") or diag(brief_h($r));
}

# B alone.
my @before;
for (1 .. B_REQUESTS) {
    my $r = hget('hosting_b', '/app.php');
    push @before, $r->{secs} if $r->{status} == 200;
}
is(scalar @before, B_REQUESTS, 'tenant B alone: all requests succeed');

# The flood: until B has been measured (at least FLOOD_SECS; at most 60 s
# should this process die).
my $off = log_mark();
my $tmp = catfile(Apache::Test::vars('t_logs'), "hosting-load-$$");
mkdir $tmp;
my $stop = "$tmp/stop";
my $start = Time::HiRes::time();
my @kids;
for my $i (1 .. CLIENTS) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        my $path = $i % 2 ? '/app.php?sleep=1' : '/app.pl?sleep_ms=1000';
        open my $out, '>', "$tmp/$i.out" or POSIX::_exit(1);
        my $t0 = Time::HiRes::time();
        while (!-e $stop && Time::HiRes::time() < $t0 + 60) {
            my $r = hget('hosting_a', $path, timeout => 30);
            my $e = env_of($r);
            printf $out "%d %.4f %s %s\n", $r->{status}, $r->{secs},
                header($r, 'Retry-After') // '-', $e->{uid} // '-';
            Time::HiRes::sleep(0.05) if $r->{status} != 200;
        }
        close $out;
        POSIX::_exit(0);
    }
    push @kids, $pid;
}

# Tenant B during the flood (once it is under way); A's processes sampled
# in between.
Time::HiRes::sleep(0.5);
my (@during, @bad_b, %max);
for (1 .. B_REQUESTS) {
    my $t0 = Time::HiRes::time();
    my $r = hget('hosting_b', '/app.php', timeout => 30);
    my $e = env_of($r);
    if ($r->{status} == 200 && ($e->{uid} // '') eq $tb->{uid}) {
        push @during, $r->{secs};
    }
    else {
        push @bad_b, brief_h($r);
    }
    my $n = a_procs();
    $max{$_} = $n->{$_} > ($max{$_} // 0) ? $n->{$_} : $max{$_} // 0
        for keys %$n;
    my $left = $t0 + 0.2 - Time::HiRes::time();
    Time::HiRes::sleep($left) if $left > 0;
}
my $left = $start + FLOOD_SECS - Time::HiRes::time();
Time::HiRes::sleep($left) if $left > 0;
open my $sfh, '>', $stop or die "$stop: $!";
close $sfh;
my $flood_secs = Time::HiRes::time() - $start;
waitpid $_, 0 for @kids;

my (@a200, @a503, @aother, $no_retry, @wrong_uid);
for my $f (glob "$tmp/*.out") {
    open my $fh, '<', $f or next;
    while (my $l = <$fh>) {
        my ($st, $secs, $retry, $uid) = split ' ', $l;
        if ($st == 200) {
            push @a200, $secs;
            push @wrong_uid, $uid if $uid ne $ta->{uid};
        }
        elsif ($st == 503) {
            push @a503, $secs;
            $no_retry++ if $retry eq '-';
        }
        else {
            push @aother, $st;
        }
    }
    unlink $f;
}
unlink $stop;
rmdir $tmp;

# The figures.
my ($bmed0, $bmax0) = stats(@before);
my ($bmed1, $bmax1) = stats(@during);
my ($med503, $max503) = stats(@a503);
my ($med200, $max200) = stats(@a200);
note(sprintf "tenant B alone:       %d requests, median %.1f ms, max %.1f ms",
             scalar @before, 1000 * $bmed0, 1000 * $bmax0);
note(sprintf "tenant B under flood: %d requests, median %.1f ms, max %.1f ms",
             scalar @during, 1000 * $bmed1, 1000 * $bmax1);
note(sprintf "tenant A flood: %d clients, %.1f s, %d requests: %d x 200 "
             . "(median %.0f ms, max %.0f ms), %d x 503 (median %.1f ms, "
             . "max %.1f ms), %d other; A's processes at most %d (php %d, "
             . "perl %d)", CLIENTS, $flood_secs,
             @a200 + @a503 + @aother, scalar @a200, 1000 * $med200,
             1000 * $max200, scalar @a503, 1000 * $med503, 1000 * $max503,
             scalar @aother, $max{all} // 0, $max{php} // 0,
             $max{perl} // 0);

# Tenant B: unharmed.
ok(!@bad_b, 'tenant B under flood: every request succeeds, served as B')
    or diag(join "\n", @bad_b);
cmp_ok($bmax1, '<', B_BOUND,
       sprintf('tenant B under flood: max latency %.0f ms < %.0f ms',
               1000 * $bmax1, 1000 * B_BOUND));

# Tenant A: saturated, served, the excess refused at once.
cmp_ok(scalar @a200, '>=', 4, "tenant A: served during the flood");
ok(!@wrong_uid, "tenant A: served as A") or diag("uids: @wrong_uid");
cmp_ok(scalar @a503, '>=', CLIENTS,
       'tenant A: requests past its in-flight limit get 503');
ok(!@aother, 'tenant A: no other status') or diag("statuses: @aother");
ok(!$no_retry, 'tenant A: every 503 has Retry-After');
cmp_ok($max503, '<', FAST_503,
       sprintf('tenant A: the 503s come at once (max %.0f ms)',
               1000 * $max503));
log_tag_ok($off, 'hosting_user_requests', 'tenant A flood');
cmp_ok($max{all} // 0, '>=', 2, "tenant A: several processes during the flood");
cmp_ok($max{all} // 0, '<=', 3, 'tenant A: at most 3 processes (per user)');
cmp_ok($max{php} // 0, '<=', 2, 'tenant A: at most 2 php-cgi (per class)');
cmp_ok($max{perl} // 0, '<=', 2, 'tenant A: at most 2 Perl (per class)');

done_testing();
