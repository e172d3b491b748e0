# Another build of mod_fcgix across a graceful restart (issue 20: a package
# upgrade replaces the module file, and the next graceful restart, such as
# logrotate's, loads it). What a graceful restart keeps (the scoreboard,
# the process manager, its applications) was made by the old build, in its
# layout: the new one must not read it. An httpd of its own (t/logs/pmabi)
# loads mod_fcgix through a symbolic link, switched between the build and
# a copy of it whose layout tag is changed (the bytes "fcgix-abi:" in the
# binary, so the copy differs in nothing else):
#  * a graceful restart with the same build keeps the process manager and
#    the application process (the check does not misfire);
#  * switched to the other build: the old process manager and its
#    application are gone, a new one serves, the parent is the same, and
#    FCGIX00726 said so once, naming both layouts;
#  * the other build restarted gracefully keeps its own process manager;
#  * switched back: replaced again;
#  * no build at all (worker MPM): the process manager ends and httpd
#    reaps it without a "long lost child" warning.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Path ();
use Test::More;
use FcgixTest;
use FcgixPM;

my $top = Apache::Test::vars('top_dir');
my $dir = Apache::Test::vars('t_logs') . '/pmabi-so';
File::Path::make_path($dir);
my $build = "$top/.libs/mod_fcgix.so";
my $other = "$dir/mod_fcgix_other.so";
my $link = "$dir/mod_fcgix.so";

{
    open my $in, '<:raw', $build or die "$build: $!";
    local $/;
    my $bin = <$in>;
    my $n = ($bin =~ s/fcgix-abi:/fcgix-abX:/g);
    is($n, 1, 'the build carries its layout tag once');
    open my $out, '>:raw', $other or die "$other: $!";
    print $out $bin;
    close $out or die "$other: $!";
}

sub point_to {
    unlink $link;
    symlink($_[0], $link) or die "symlink $link: $!";
}
point_to($build);

my $h = eval { pm_own_httpd(name => 'pmabi', module => $link) };
ok($h, 'an httpd of its own starts, mod_fcgix through a link') or diag($@);
END { pm_own_httpd_stop($h) if $h && $h->{pid} && kill 0, $h->{pid} }
plan skip_all => 'no httpd' unless $h;

my $url = '/pm/idle/app.pl';
my $httpd = Apache::Test::vars('httpd');

sub graceful {
    system($httpd, '-f', $h->{conf}, '-k', 'graceful') == 0
        or diag("graceful: $?");
}

sub parent {
    open my $p, '<', $h->{pidfile} or return 0;
    my ($pid) = ((<$p> // '') =~ /(\d+)/);
    $pid // 0;
}

# The application's pid, once a request is served (within $secs).
sub app_pid {
    my ($secs) = @_;
    my $pid;
    pm_wait_until($secs, sub {
        my $r = pm_get(port => $h->{port}, path => "$url?t=" . rand,
                       timeout => 5);
        $pid = $r->{status} == 200 ? $r->{kv}{pid} : undef;
    });
    $pid;
}

sub said {
    my ($off) = @_;
    open my $fh, '<', $h->{log} or die "$h->{log}: $!";
    seek $fh, $off, 0;
    grep { /FCGIX00726:/ } <$fh>;
}

my $app = app_pid(10);
my $pm = pm_pm_pid($h->{pid});
ok($app && $pm, "served by application $app, process manager $pm");

# The same build: everything stays.
{
    my $off = -s $h->{log};
    graceful();
    my $now = app_pid(15);
    is($now, $app, 'same build, graceful restart: the same application '
                   . 'process serves');
    is(pm_pm_pid($h->{pid}), $pm, 'and the same process manager');
    is(scalar(said($off)), 0, 'nothing said');
}

# Another build, then back: each time the old ones end, new ones serve.
for my $step (['the other build', $other], ['the build again', $build]) {
    my ($name, $so) = @$step;
    my $off = -s $h->{log};
    point_to($so);
    graceful();
    my $new_pm;
    my $ok = pm_wait_until(20, sub {
        $new_pm = pm_pm_pid($h->{pid});
        $new_pm && $new_pm != $pm;
    });
    ok($ok, "$name: a new process manager ($pm -> "
            . ($new_pm // 'none') . ')');
    my $now = app_pid(15);
    ok($now && $now != $app, "$name: a new application process serves "
                             . "($app -> " . ($now // 'none') . ')');
    ok(pm_wait_until(10, sub { !kill(0, $pm) && !kill(0, $app) }),
       "$name: the old process manager and application are gone");
    is(parent(), $h->{pid}, "$name: the httpd parent is the same");
    my @said = said($off);
    is(scalar @said, 1, "$name: FCGIX00726 said once") or diag(@said);
    like($said[0] // '', qr/fcgix-ab[iX]:\S+ -> fcgix-ab[iX]:\S+/,
         "$name: it names both layouts");
    ($pm, $app) = ($new_pm, $now);

    # and that build restarted gracefully keeps its own
    $off = -s $h->{log};
    graceful();
    is(app_pid(15), $app, "$name, graceful again: the same application");
    is(pm_pm_pid($h->{pid}), $pm, "$name, graceful again: the same "
                                  . 'process manager');
    is(scalar(said($off)), 0, "$name, graceful again: nothing said");
}

pm_own_httpd_stop($h);
ok(pm_wait_until(20, sub { !kill(0, $h->{pid}) && !kill(0, $pm)
                           && !kill(0, $app) }),
   'stopped: httpd, the process manager and the application are gone');
$h = undef;

# No build at all (a package removed, then a graceful reload): the process
# manager ends, and httpd reaps it as one of its own extra processes
# (config_detach hands it over), not as a "long lost child" it warns
# about. The worker MPM: the event MPM no longer looks at that list.
$h = eval { pm_own_httpd(name => 'pmabi', module => $build,
                         mpm => 'worker') };
ok($h, 'worker MPM: an httpd of its own starts') or diag($@);
if ($h) {
    $app = app_pid(10);
    $pm = pm_pm_pid($h->{pid});
    ok($app && $pm, "worker MPM: served by $app, process manager $pm");
    my $conf = do { local (@ARGV, $/) = ($h->{conf}); <> };
    $conf =~ s/^LoadModule fcgix_module .*$//m or die 'no LoadModule';
    open my $fh, '>', $h->{conf} or die "$h->{conf}: $!";
    print $fh $conf;
    close $fh;
    my $off = -s $h->{log};
    graceful();
    ok(pm_wait_until(30, sub { !kill(0, $pm) && !kill(0, $app) }),
       'unloaded: the process manager and the application end');
    # the parent reaps within a second of the end
    sleep 2;
    open my $lf, '<', $h->{log} or die "$h->{log}: $!";
    seek $lf, $off, 0;
    my @lost = grep { /long lost child/ } <$lf>;
    is(scalar @lost, 0, 'unloaded: no "long lost child came home"')
        or diag(@lost);
    is(parent(), $h->{pid}, 'unloaded: the httpd parent is the same');
    pm_own_httpd_stop($h);
    pm_wait_until(20, sub { !kill(0, $h->{pid}) });
    $h = undef;
}

done_testing();
