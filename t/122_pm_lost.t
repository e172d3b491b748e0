# The process manager lost and found again (issue 17). An httpd of its
# own (t/logs/pmlost):
#  * a kill -9 of the process manager within milliseconds of a graceful
#    restart, before and after it, eight times (delays from a fixed seed):
#    each time a new process manager runs within 15 s and a spawned
#    application answers;
#  * its control socket removed (as a /tmp cleaner would): the parent's
#    monitor finds the process manager deaf, ends it (FCGIX00711) and
#    starts another, and requests are served again, within 40 s.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;

my $h = eval { pm_own_httpd(name => 'pmlost') };
ok($h, 'an httpd of its own starts') or diag($@);
END { pm_own_httpd_stop($h) if $h && $h->{pid} && kill 0, $h->{pid} }
plan skip_all => 'no httpd' unless $h;

my $url = '/pm/idle/app.pl';
my $httpd = Apache::Test::vars('httpd');

sub pidfile {
    open my $p, '<', $h->{pidfile} or return 0;
    my ($pid) = ((<$p> // '') =~ /(\d+)/);
    $pid // 0;
}

sub graceful { system($httpd, '-f', $h->{conf}, '-k', 'graceful') }

# A process manager other than $old, and a spawned application serving
# through it; returns [seconds, new pm] or [].
sub recovered {
    my ($old, $within) = @_;
    my $t0 = Time::HiRes::time();
    my $pm;
    my $ok = pm_wait_until($within, sub {
        $pm = pm_pm_pid($h->{pid});
        return 0 unless $pm && $pm != $old;
        my $r = pm_get(port => $h->{port}, path => "$url?t=" . rand,
                       timeout => 5);
        $r->{status} == 200;
    });
    return $ok ? [Time::HiRes::time() - $t0, $pm] : [];
}

my $r = pm_get(port => $h->{port}, path => "$url?warm");
is($r->{status}, 200, 'a spawned application answers') or diag(pm_brief($r));

# ---------------------------------------------------------------------
# kill -9 within milliseconds of a graceful restart
srand(122);
for my $round (1 .. 8) {
    my $old = pm_pm_pid($h->{pid}) // 0;
    my $delay = int(rand(100)) / 1000;
    my $first = $round % 2 ? 'kill' : 'graceful';
    if ($first eq 'kill') {
        kill 'KILL', $old if $old;
        Time::HiRes::sleep($delay);
        graceful();
    }
    else {
        graceful();
        Time::HiRes::sleep($delay);
        kill 'KILL', $old if $old;
    }
    my $got = recovered($old, 15);
    is(pidfile(), $h->{pid}, "round $round: the httpd parent is the same");
    ok($old && @$got, sprintf('round %d: %s, %d ms, then the other: a new '
       . 'process manager serves (%s)', $round, $first, $delay * 1000,
       @$got ? sprintf('pid %d after %.1f s', $got->[1], $got->[0])
             : 'none within 15 s'));
}

# ---------------------------------------------------------------------
# The control socket removed
{
    my $old = pm_pm_pid($h->{pid}) // 0;
    my $off = -s $h->{log};
    my $sock = "$h->{ipc}/pm.sock";
    ok(-S $sock, "the control socket $sock exists");
    ok(unlink($sock), 'it is removed');
    my $got = recovered($old, 40);
    ok(@$got, 'a new process manager serves ('
       . (@$got ? sprintf('pid %d after %.1f s', $got->[1], $got->[0])
                : 'none within 40 s') . ')');
    ok(-S $sock, 'the new one has its control socket');
    open my $fh, '<', $h->{log} or die "$h->{log}: $!";
    seek $fh, $off, 0;
    my @said = grep { /FCGIX00711:/ } <$fh>;
    is(scalar @said, 1, 'the parent said once why it ended the old one')
        or diag(@said);
    ok($old && !kill(0, $old), "the old process manager ($old) is gone");
    is(pidfile(), $h->{pid}, 'the httpd parent is the same');
}

done_testing();
