# Shared hosting: who the applications run as (t/conf/hosting.conf.in).
#
#  * tenant A's vhost (SuexecUserGroup A) runs its .php through A's own
#    php-cgi wrapper as A, tenant B's as B; A's Perl FCGI app (spawned
#    itself, no wrapper) as A; ~A/app.pl (mod_userdir) as A.  The apps
#    report their ids, and /proc confirms them (real, effective, saved and
#    filesystem ids; no supplementary groups of httpd's).  Each is a
#    child of the process manager: suexec exec()s in place.
#  * without a suexec identity (vhost hosting_plain) the system wrapper
#    /usr/bin/php-cgi runs as httpd's User, with SCRIPT_FILENAME = the
#    script; a "virtual" wrapper serves URLs that name no file.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use FcgixTest;
use FcgixHosting;

my $root = hosting_root()
    or plan skip_all => 'no hosting config (reconfigure: t/TEST.PL -clean)';
my ($suexec, $why) = suexec_state();
my $www = httpd_user();
# suexec installed (scripts/deps.sh test): httpd must use it
ok($suexec, 'httpd runs applications through suexec') or diag($why)
    if -e '/usr/lib/apache2/suexec';
my $pm = pm_pid();
ok($pm, "the process manager runs (pid " . ($pm // '-') . ')');

# ok() that PID runs with exactly uid/gid (all four of each), no other
# groups, and is the process manager's child.
sub ids_ok {
    my ($name, $pid, $uid, $gid) = @_;
    my $p = proc_ids($pid);
    unless ($p) {
        ok(0, "$name: process $pid exists") for 1 .. 3;
        return;
    }
    is_deeply($p->{uid}, [($uid) x 4], "$name: /proc: uids all $uid");
    is_deeply($p->{gid}, [($gid) x 4], "$name: /proc: gids all $gid");
    ok(!grep({ $_ != $gid } @{ $p->{groups} || [] }),
       "$name: /proc: no supplementary groups but $gid")
        or diag("groups: @{ $p->{groups} }");
    is($p->{ppid}, $pm, "$name: spawned by the process manager");
    return $p;
}

# A request that must be answered by an app as $who.
sub served_as {
    my ($name, $vhost, $path, $who, %want) = @_;
    my $r = hget($vhost, $path);
    my $e = env_of($r);
    is($r->{status}, 200, "$name: 200") or diag(brief_h($r), "\nsuexec.log:\n",
                                                 suexec_log_tail(5));
    is($e->{uid} // '', $who->{uid}, "$name: uid is $who->{user}'s");
    is($e->{euid} // '', $who->{uid}, "$name: euid is $who->{user}'s");
    is($e->{gid} // '', $who->{gid}, "$name: gid is $who->{user}'s group");
    is($e->{egid} // '', $who->{gid}, "$name: egid");
    is($e->{user} // '', $who->{user}, "$name: user name");
    for (sort keys %want) {
        is($e->{$_}, $want{$_}, "$name: $_");
    }
    return ($r, $e);
}

SKIP: {
    skip "suexec: $why", 1 unless $suexec;
    my %pid;
    for my $t (qw(a b)) {
        my $who = tenant($t);
        my ($r, $e) = served_as("tenant $t php", "hosting_$t", '/app.php',
                                $who, app => 'php',
                                script => "$root/$t/htdocs/app.php");
        $pid{$t} = $e->{pid} || 0;
        my $p = ids_ok("tenant $t php", $pid{$t}, $who->{uid}, $who->{gid});
        # the wrapper script exec'ed php-cgi: the process is php-cgi,
        # started in the wrapper's directory (suexec's cwd)
        like($p->{exe} // '', qr{/php-cgi[\d.]*$},
             "tenant $t php: the process is php-cgi");
        is($p->{cwd} // '', "$root/$t/bin",
           "tenant $t php: started in the wrapper's directory");
        like($p->{cmd} // '', qr{^/usr/bin/php-cgi },
             "tenant $t php: exec'ed by the tenant's wrapper");
    }
    isnt($pid{a}, $pid{b}, 'tenants A and B: different processes');

    # a second request goes to the same class (one class per wrapper)
    my $again = env_of(hget('hosting_a', '/app.php'));
    is($again->{uid}, tenant('a')->{uid}, 'tenant a php: second request');

    # the Perl FCGI app, spawned itself (no wrapper), through suexec
    my $ta = tenant('a');
    my (undef, $e) = served_as('tenant a perl', 'hosting_a', '/app.pl', $ta,
                               app => 'perl',
                               script => "$root/a/htdocs/app.pl");
    ids_ok('tenant a perl', $e->{pid} || 0, $ta->{uid}, $ta->{gid});

    # ~A (mod_userdir): suexec's userdir mode
    (undef, $e) = served_as('~a perl', 'hosting_u', "/~$ta->{user}/app.pl",
                            $ta, app => 'perl',
                            script => "$ta->{home}/public_html/app.pl");
    my $p = ids_ok('~a perl', $e->{pid} || 0, $ta->{uid}, $ta->{gid});
    is($p->{cwd} // '', "$ta->{home}/public_html",
       '~a perl: started in public_html');

    # suexec logged the launches as the tenants
    my $log = suexec_log_tail(200);
    like($log, qr/uid: \($ta->{uid}\/$ta->{user}\) .*cmd: php\.fcgi/,
         "suexec.log: php.fcgi run as $ta->{user}");
    my $tb = tenant('b');
    like($log, qr/uid: \($tb->{uid}\/$tb->{user}\) .*cmd: php\.fcgi/,
         "suexec.log: php.fcgi run as $tb->{user}");
}

# No suexec identity: the system-wide wrapper as httpd's User.
my $who = { user => $www->[0], uid => $www->[1], gid => $www->[2] };
my ($r, $e) = served_as('plain php', 'hosting_plain', '/app.php', $who,
                        app => 'php',
                        script => "$root/plain/htdocs/app.php");
my $p = ids_ok('plain php', $e->{pid} || 0, $who->{uid}, $who->{gid});
like($p->{exe} // '', qr{/php-cgi[\d.]*$}, 'plain php: the process is php-cgi');

# A virtual wrapper runs for whatever URL it is configured for: the
# directory itself (exists) ...
($r, $e) = served_as('virtual wrapper, dir', 'hosting_plain', '/virt/', $who,
                     app => 'perl', script => "$root/plain/htdocs/virt/");
# ... and, the point of "virtual", a URL that names no file (SCRIPT_FILENAME:
# the path as mapped): fcgix_class_script_msg() (fcgix_upstream_resolve()
# asks it) looks at the wrapper's "virtual" before it wants a file, so no
# 404 "script not found" (FCGIX00176).
$r = hget('hosting_plain', '/virt/no/such/file');
$e = env_of($r);
ok($r->{status} == 200 && ($e->{app} // '') eq 'perl'
   && ($e->{script} // '') =~ m{^\Q$root\E/plain/htdocs/virt/no},
   'virtual wrapper: serves a URL that names no file')
    or diag(brief_h($r));
# ... a plain one does not.
$r = hget('hosting_plain', '/no-such-script.php');
is($r->{status}, 404, 'plain wrapper: a missing script is 404')
    or diag(brief_h($r));

done_testing();
