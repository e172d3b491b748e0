# mod_fastcgi's FastCgiServer -user/-group with FastCgiWrapper On: the
# static application runs through httpd's suexec as that user, started at
# boot; without FastCgiWrapper the options name nothing and it runs as
# httpd's User; -user root is refused by the configuration check.  Each case is an httpd
# of its own (t/lib/FcgixPM.pm pm_own_httpd) serving a copy of tenant A's
# Perl FCGI app (t/apps/hosting/app.pl) placed in A's tree, owned by A, as
# suexec requires.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Copy ();
use Test::More;
use FcgixTest;
use FcgixPM;
use FcgixHosting qw(tenant hosting_root suexec_state);
use FcgixDropin qw(dropin_req dropin_procs dropin_proc dropin_wait
                   dropin_brief);

my $root = hosting_root();
plan skip_all => 'no hosting tree in this run'
    unless $root && -d "$root/a/htdocs";
my ($have_suexec, $why) = suexec_state();
plan skip_all => "no suexec: $why" unless $have_suexec;

my $lib = Apache::Test::vars('fcgix_libexecdir') || '/usr/lib/apache2/modules';
my $a = tenant('a');
my $httpd_uid = (getpwnam(Apache::Test::vars('user')))[2];
my $app = "$root/a/htdocs/static-user.pl";
File::Copy::copy("$root/a/htdocs/app.pl", $app) or die "copy: $!";
chown $a->{uid}, $a->{gid}, $app;
chmod 0755, $app;

sub conf {
    my (@lines) = @_;
    join "\n",
        qq{<IfModule !mod_suexec.c>},
        qq{    LoadModule suexec_module "$lib/mod_suexec.so"},
        qq{</IfModule>},
        qq{<IfModule !alias_module>},
        qq{    LoadModule alias_module "$lib/mod_alias.so"},
        qq{</IfModule>},
        qq{Alias /a/ "$root/a/htdocs/"},
        qq{<Directory "$root/a/htdocs">},
        qq{    Require all granted},
        qq{</Directory>},
        @lines, '';
}

sub uids_of { map { (dropin_proc($_) || {})->{uid} // -1 } @_ }

# suexec runs the program by its base name, from its directory: find the
# processes by that.
sub app_procs {
    my @p;
    for my $d (glob '/proc/[0-9]*') {
        open my $fh, '<', "$d/cmdline" or next;
        local $/;
        my @argv = split /\0/, <$fh> // '';
        push @p, substr($d, 6)
            if grep { m{(?:^|/)static-user\.pl$} } @argv[0 .. ($#argv > 1 ? 1 : $#argv)];
    }
    @p;
}

# With FastCgiWrapper On: A's uid, before any request.
{
    my $h = eval { pm_own_httpd(name => 'static-user', body => conf(
        'FastCgiWrapper On',
        qq{FastCgiServer "$app" -processes 2 -user $a->{user} }
        . qq{-group $a->{user}})) };
    ok($h, 'FastCgiWrapper On + FastCgiServer -user/-group: httpd starts')
        or diag($@);
    if ($h) {
        my @p;
        dropin_wait(10, sub { @p = app_procs(); @p >= 2 });
        is(scalar @p, 2, '-processes 2 running before any request');
        my @u = uids_of(@p);
        ok(@u && !grep({ $_ != $a->{uid} } @u),
           "the processes run as $a->{user} (uid $a->{uid}): @u");
        my $r = dropin_req(port => $h->{port}, path => '/a/static-user.pl');
        is($r->{status}, 200, 'the application answers')
            or diag(dropin_brief($r));
        my $k = FcgixTest::kv_of($r->{body});
        is($k->{uid}, $a->{uid}, "its reply says uid $a->{uid}");
        is($k->{gid}, $a->{gid}, "and gid $a->{gid}");
        pm_own_httpd_stop($h);
        ok(dropin_wait(10, sub { !app_procs() }),
           'the processes end with httpd');
    }
}

# FastCgiWrapper On inside the <VirtualHost> of the FastCgiServer: the
# same (the setting was lost when the host's configuration was merged).
{
    my $h = eval { pm_own_httpd(name => 'static-user', body => conf(
        '<VirtualHost _default_:*>',
        '    FastCgiWrapper On',
        qq{    FastCgiServer "$app" -processes 1 -user $a->{user} }
        . qq{-group $a->{user}},
        '</VirtualHost>')) };
    ok($h, 'FastCgiWrapper On in a <VirtualHost>: httpd starts')
        or diag($@);
    if ($h) {
        my $r = dropin_req(port => $h->{port}, path => '/a/static-user.pl');
        is($r->{status}, 200, 'in a <VirtualHost>: the application answers')
            or diag(dropin_brief($r));
        is(FcgixTest::kv_of($r->{body})->{uid}, $a->{uid},
           "in a <VirtualHost>: it runs as $a->{user} (uid $a->{uid})");
        pm_own_httpd_stop($h);
        dropin_wait(10, sub { !app_procs() });
    }
}

# Without FastCgiWrapper: -user/-group name nothing (mod_fastcgi), httpd's
# User runs it.
{
    my $h = eval { pm_own_httpd(name => 'static-user', body => conf(
        qq{FastCgiServer "$app" -processes 1 -user $a->{user} }
        . qq{-group $a->{user}})) };
    ok($h, 'FastCgiServer -user without FastCgiWrapper: httpd starts')
        or diag($@);
    if ($h) {
        my $r = dropin_req(port => $h->{port}, path => '/a/static-user.pl');
        is($r->{status}, 200, 'without FastCgiWrapper: the application '
           . 'answers') or diag(dropin_brief($r));
        is(FcgixTest::kv_of($r->{body})->{uid}, $httpd_uid,
           "without FastCgiWrapper: it runs as httpd's User (uid "
           . "$httpd_uid)");
        pm_own_httpd_stop($h);
        dropin_wait(10, sub { !app_procs() });
    }
}

# -user root: refused while the configuration is read (so `apache2 -t`
# says it), nothing runs.
{
    my $h = eval { pm_own_httpd(name => 'static-user', body => conf(
        'FastCgiWrapper On',
        qq{FastCgiServer "$app" -processes 1 -user root -group root})) };
    ok(!$h, 'FastCgiServer -user root with FastCgiWrapper On: httpd '
       . 'refuses to start');
    pm_own_httpd_stop($h) if $h;
    my $conf = Apache::Test::vars('t_logs') . '/static-user/conf/httpd.conf';
    my $httpd = Apache::Test::vars('httpd');
    my $out = `"$httpd" -t -f "$conf" 2>&1`;
    ok($? != 0 && $out =~ /FastCgiServer \Q$app\E: refusing to run an application as root/,
       '... and `apache2 -t` already says why') or diag($out);
    ok(!app_procs(), '... and nothing runs');
}

# An unknown -user: refused at startup, saying which.
{
    my $h = eval { pm_own_httpd(name => 'static-user', body => conf(
        'FastCgiWrapper On',
        qq{FastCgiServer "$app" -processes 1 -user fcgix-no-such-user})) };
    ok(!$h, 'FastCgiServer -user <unknown> with FastCgiWrapper On: httpd '
       . 'refuses to start');
    pm_own_httpd_stop($h) if $h;
    my $log = Apache::Test::vars('t_logs') . '/static-user/logs/error_log';
    open my $fh, '<', $log;
    my $text = $fh ? do { local $/; <$fh> } : '';
    like($text, qr/FCGIX00189:.*unknown -user fcgix-no-such-user/,
         '... and says why (FCGIX00189)');
}

unlink $app;
done_testing();
