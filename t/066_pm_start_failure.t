# Applications that cannot start (issue 12, "fail fast, say why"): a
# script that exits 1 after a line on stderr, one killed by SIGSEGV, one
# whose #! interpreter does not exist (t/htdocs/pm/startfail/).
#  * the first request gets 503 once the start failed, not after
#    FcgixSpawnWait (60 s here);
#  * while the class is in start back-off, a request gets 503 at once
#    (< 100 ms) with Retry-After = the back-off left (what the process
#    manager's last "next start in N s" said: 1 s after the first failure,
#    then doubling);
#  * the log line of that request (FCGIX00194) and the process manager's
#    (FCGIX00154) name the program and the cause in words, with the
#    application's last stderr line; the status page says the same.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;

my %apps = (
    'exit1.fcgi' => qr{\Qexit code 1; last stderr: startfail: cannot read \E/etc/fcgix-test/app\.ini},
    'segv.fcgi'  => qr/killed by signal SIGSEGV \(Segmentation fault\)/,
    'badinterp.fcgi' =>
        qr/failed executing it: No such file or directory \(bad interpreter\?\)/,
);

# The back-off the process manager last announced for $path since $off.
sub backoff {
    my ($off, $path) = @_;
    my @l = FcgixTest::log_wait(
        $off, qr/FCGIX00154: \Q$path\E .* next start in \d+ s/);
    ($l[-1] // '') =~ /next start in (\d+) s/ ? $1 : '';
}

sub retry_after {
    my ($r) = @_;
    ($r->{head} // '') =~ /^Retry-After:\s*(\S+)/mi ? $1 : '';
}

# The applications, written here: .gitignore keeps t/htdocs/pm/*/ (what
# t/TEST.PL generates) out of the repository, so a fresh checkout has none.
{
    my %body = (
        'exit1.fcgi' => "#!/bin/sh\n"
            . "echo 'startfail: cannot read /etc/fcgix-test/app.ini' >&2\n"
            . "exit 1\n",
        'segv.fcgi' => "#!/bin/sh\nkill -SEGV \$\$\n",
        'badinterp.fcgi' => "#!/usr/bin/fcgix-no-such-interpreter\n",
    );
    my $dir = pm_app_path('startfail');
    mkdir $dir;
    chmod 0755, $dir;
    for my $app (sort keys %body) {
        my $f = "$dir/$app";
        unlink $f;
        open my $fh, '>', $f or die "$f: $!";
        print $fh $body{$app};
        close $fh or die "$f: $!";
        chmod 0755, $f;
    }
}

for my $app (sort keys %apps) {
    my $url = "/pm/startfail/$app";
    my $path = pm_app_path('startfail', $app);
    my $off = log_mark();
    my $r = pm_get(path => "$url?first", timeout => 30);
    is($r->{status}, 503, "$app: the first request gets 503")
        or diag(pm_brief($r));
    ok($r->{secs} < 5, sprintf("$app: ... once the start failed (%.2f s, "
                               . 'not the 60 s of FcgixSpawnWait)',
                               $r->{secs}));
    my @pm = FcgixTest::log_wait(
        $off, qr/FCGIX00154: \Q$path\E \(pid \d+\) could not start:/);
    like($pm[0] // '', $apps{$app}, "$app: the process manager says why "
         . '(FCGIX00154)');
    is(backoff($off, $path), 1, "$app: back-off of 1 s after one failure");

    # back-off 1 s after the first failure: an immediate request is
    # refused at once
    $r = pm_get(path => "$url?second", timeout => 30);
    is($r->{status}, 503, "$app: in back-off: 503");
    ok($r->{secs} < 0.1, sprintf("$app: ... at once (%.3f s)", $r->{secs}));
    is(retry_after($r), backoff($off, $path),
       "$app: ... Retry-After: the back-off left");
    my @line = FcgixTest::log_wait(
        $off, qr/FCGIX00194: \Q$path\E: the application could not start/);
    like($line[0] // '', $apps{$app},
         "$app: the request's log line names the cause (FCGIX00194)");
    like($line[0] // '', qr/\[client 127\.0\.0\.1:\d+\]/,
         "$app: ... in the request's context");

    # after the back-off: one more start, which fails, then 2 s
    Time::HiRes::sleep(1.2);
    my $off2 = log_mark();
    $r = pm_get(path => "$url?third", timeout => 30);
    is($r->{status}, 503, "$app: after the back-off a new start fails: 503");
    # (2 s; 4 s when one more process was started before the PM saw the
    # last one die, which an application that dies after exec allows)
    my $b2 = backoff($off2, $path);
    like($b2, qr/^[24]$/, "$app: the back-off doubled ($b2 s)");
    $r = pm_get(path => "$url?fourth", timeout => 30);
    ok($r->{status} == 503 && $r->{secs} < 0.1
       && retry_after($r) eq $b2,
       "$app: then 503 at once with Retry-After: $b2")
        or diag(pm_brief($r) . ' retry-after ' . retry_after($r));
}

# the status page (t/conf/dropin.conf.in's /dropin-status) shows the cause
{
    my $r = pm_get(path => '/dropin-status?json');
    my $body = $r->{body} // '';
    for my $app (sort keys %apps) {
        my $path = pm_app_path('startfail', $app);
        my ($err) = $body =~ /"path":"\Q$path\E"[^{}]*"last_error":"([^"]*)"/;
        like($err // '', $apps{$app}, "status page: $app: last_error");
    }
    $r = pm_get(path => '/dropin-status?auto');
    like($r->{body} // '', qr/^ClassError: \S+exit1\.fcgi exit code 1/m,
         'status page ?auto: ClassError line');
}

done_testing();
