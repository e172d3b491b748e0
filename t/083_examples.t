# The example configurations of conf/examples/ run: each file is loaded as
# it is, but for what names the machine it was written for (its paths,
# users, addresses: mapped onto this test tree by the substitutions below),
# into an httpd of its own with mod_fcgix, and its applications answer.
#   fastcgi-server.conf           t/apps/fcgix_testapp as app.fcgi, 4
#                                 processes at boot, its -initial-env
#   go-app.conf                   two t/apps/echo.go instances (unix
#                                 sockets for the two TCP addresses); one
#                                 killed, the other serves
#   php-fpm-external.conf         the suite's php-fpm (t/TEST.PL)
#   php-cgi-shared-hosting.conf   tenant A of the hosting tests (suexec,
#                                 its php-cgi wrapper)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Copy ();
use File::Path ();
use File::Spec::Functions qw(catfile);
use POSIX ();
use Test::More;
use FcgixTest;
use FcgixPM;
use FcgixDropin qw(dropin_req dropin_procs dropin_environ dropin_wait
                   dropin_brief);

my $top  = Apache::Test::vars('top_dir');
my $logs = Apache::Test::vars('t_logs');
my $docroot = Apache::Test::vars('documentroot');
my $lib  = Apache::Test::vars('fcgix_libexecdir') || '/usr/lib/apache2/modules';
my $examples = catfile($top, 'conf', 'examples');
my $ex = catfile($logs, 'examples');   # apps and sockets of this test

File::Path::remove_tree($ex);
File::Path::make_path("$ex/cgi-bin");
chmod 0755, $ex, "$ex/cgi-bin";
my $user = Apache::Test::vars('user');
my (undef, undef, $uid, $gid) = getpwnam($user);
chown $uid, $gid, $ex;    # the Go apps' sockets are made here

sub example {
    my ($name, @subst) = @_;
    my $f = catfile($examples, $name);
    open my $fh, '<', $f or die "$f: $!";
    local $/;
    my $text = <$fh>;
    close $fh;
    while (my ($from, $to) = splice @subst, 0, 2) {
        my $n = ($text =~ s/\Q$from\E/$to/g);
        die "$name: '$from' not found (the example changed?)\n" unless $n;
    }
    $text;
}

sub started_ok {
    my ($name, $body) = @_;
    (my $dir = $name) =~ s/\.conf$//;
    my $h = eval { pm_own_httpd(name => "ex-$dir", body => $body) };
    ok($h, "$name: httpd starts with it") or diag($@);
    $h;
}

sub get {
    my ($h, $path, @hdr) = @_;
    dropin_req(port => $h->{port}, path => $path, headers => [@hdr],
               timeout => 20);
}

# ---------------------------------------------------------------------
# No example (nor the README) puts a wrapper where the web serves it: a
# client could download it, or replace it through an upload directory.

{
    my @files = ((map { catfile($examples, $_) } sort grep { /\.conf$/ }
                  do { opendir my $d, $examples or die "$examples: $!";
                       readdir $d }),
                 catfile($top, 'README'));
    my @bad;
    for my $f (@files) {
        open my $fh, '<', $f or die "$f: $!";
        my (@roots, @wrappers);
        while (my $l = <$fh>) {
            push @roots, $1
                if $l =~ /^\s*DocumentRoot\s+"?([^"\s]+)/i;
            push @wrappers, $1
                if $l =~ /^\s*(?:Fcgid|Fcgix|FCGI)Wrapper\s+"?(\/[^"\s]+)/i;
        }
        for my $w (@wrappers) {
            for my $d (@roots) {
                (my $dd = $d) =~ s{/+$}{};
                push @bad, "$f: $w is below DocumentRoot $d"
                    if index($w, "$dd/") == 0;
            }
        }
    }
    ok(!@bad, 'examples and README: no wrapper below a DocumentRoot')
        or diag(join "\n", @bad);
}

# ---------------------------------------------------------------------
# fastcgi-server.conf: FastCgiServer -processes 4 -initial-env, status page

{
    my $app = "$ex/cgi-bin/app.fcgi";
    File::Copy::copy("$top/t/apps/fcgix_testapp", $app) or die "copy: $!";
    chmod 0755, $app;
    # (Require local is mod_authz_host's)
    my $body = qq{<IfModule !authz_host_module>\n}
        . qq{    LoadModule authz_host_module "$lib/mod_authz_host.so"\n}
        . qq{</IfModule>\n}
        . example('fastcgi-server.conf',
                  '/usr/lib/cgi-bin/app.fcgi' => $app)
        . qq{<IfModule !alias_module>\n}
        . qq{    LoadModule alias_module "$lib/mod_alias.so"\n}
        . qq{</IfModule>\n}
        . qq{Alias /cgi-bin/ "$ex/cgi-bin/"\n}
        . qq{<Directory "$ex/cgi-bin">\n    Require all granted\n}
        . qq{</Directory>\n};
    if (my $h = started_ok('fastcgi-server.conf', $body)) {
        my @p;
        dropin_wait(10, sub { @p = dropin_procs($app); @p >= 4 });
        is(scalar @p, 4, 'fastcgi-server.conf: -processes 4 running '
           . 'before any request');
        my $r = get($h, '/cgi-bin/app.fcgi/x?env');
        is($r->{status}, 200, 'fastcgi-server.conf: the application '
           . 'answers') or diag(dropin_brief($r));
        like($r->{body}, qr{^PATH_INFO=/x$}m,
             'fastcgi-server.conf: with its PATH_INFO');
        my $env = @p ? dropin_environ($p[0]) : {};
        is($env->{APP_ENV}, 'production',
           'fastcgi-server.conf: -initial-env APP_ENV=production in the '
           . 'process environment');
        $r = get($h, '/fcgix-status?auto');
        is($r->{status}, 200, 'fastcgi-server.conf: /fcgix-status '
           . 'answers a local client') or diag(dropin_brief($r));
        like($r->{body}, qr/\Q$app\E/,
             'fastcgi-server.conf: the status page lists the application');
        pm_own_httpd_stop($h);
        ok(dropin_wait(10, sub { !dropin_procs($app) }),
           'fastcgi-server.conf: the processes end with httpd');
    }
}

# ---------------------------------------------------------------------
# go-app.conf: two addresses, least-conn, retry=10

SKIP: {
    my $go = "$logs/echo-go";
    skip 'no Go test application (golang-go)', 6 unless -x $go;
    my @socks = ("$ex/go-a.sock", "$ex/go-b.sock");
    my @pids;
    for my $s (@socks) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            # as httpd's User, like the suite's other backends
            POSIX::setgid($gid);
            POSIX::setuid($uid);
            open STDOUT, '>', '/dev/null';
            exec $go, '-l', $s or POSIX::_exit(127);
        }
        push @pids, $pid;
    }
    dropin_wait(10, sub { !grep { !-S $_ } @socks });
    my $body = example('go-app.conf',
                       '127.0.0.1:9001 127.0.0.1:9002' =>
                           "unix:$socks[0] unix:$socks[1]",
                       '/var/www/html/api' => "$docroot/api")
        # (and a status page for this test to look at)
        . qq{<Location /fcgix-status>\n    SetHandler fcgix-status\n}
        . qq{</Location>\n};
    if (my $h = started_ok('go-app.conf', $body)) {
        my @r = map { get($h, "/api/hello?i=$_") } 1 .. 10;
        is(scalar(grep { $_->{status} == 200 } @r), 10,
           'go-app.conf: 10 requests, all 200')
            or diag(join "\n", map { dropin_brief($_) } @r);
        kill 'KILL', $pids[0];
        waitpid $pids[0], 0;
        @r = map { get($h, "/api/hello?after=$_") } 1 .. 10;
        is(scalar(grep { $_->{status} == 200 } @r), 10,
           'go-app.conf: one address killed: 10 more requests, all 200 '
           . '(the other address serves)')
            or diag(join "\n", map { dropin_brief($_) } @r);
        my $st = get($h, '/fcgix-status?auto');
        like($st->{body}, qr{^Backend: \Q$docroot\E/api unix:\Q$socks[0]\E .*disabled=[1-9]}m,
             'go-app.conf: the dead address is shown disabled')
            or diag($st->{body});
        like($st->{body}, qr{^Backend: \Q$docroot\E/api unix:\Q$socks[1]\E .*mpxs=1}m,
             'go-app.conf: the live one multiplexes (FCGI_MPXS_CONNS=1)')
            or diag($st->{body});
        pm_own_httpd_stop($h);
    }
    kill 'TERM', @pids;
    waitpid $_, 0 for @pids;
}

# ---------------------------------------------------------------------
# php-fpm-external.conf: the suite's php-fpm

SKIP: {
    my $sock = "$logs/php-fpm.sock";
    skip 'no php-fpm in this run', 3 unless -S $sock;
    my $dir = "$docroot/examples-fpm";
    File::Path::make_path($dir);
    open my $fh, '>', "$dir/index.php" or die "$dir/index.php: $!";
    print $fh qq{<?php header('Content-Type: text/plain');\n}
            . qq{echo "php-fpm example ", \$_SERVER['SCRIPT_FILENAME'], }
            . qq{" path=", \$_SERVER['PATH_INFO'] ?? '-', }
            . qq{" auth=", \$_SERVER['HTTP_AUTHORIZATION'] ?? '-', "\\n";\n};
    close $fh;
    my $body = example('php-fpm-external.conf',
                       '/var/www/html/app' => $dir,
                       '/run/php/php8.2-fpm.sock' => $sock);
    if (my $h = started_ok('php-fpm-external.conf', $body)) {
        my $r = get($h, '/examples-fpm/index.php/some/route',
                    Authorization => 'Basic Zm9vOmJhcg==');
        is($r->{status}, 200, 'php-fpm-external.conf: php-fpm answers')
            or diag(dropin_brief($r));
        like($r->{body}, qr{^php-fpm example \Q$dir\E/index\.php path=/some/route auth=Basic Zm9vOmJhcg==$}m,
             'php-fpm-external.conf: the front controller ran, with its '
             . 'route as PATH_INFO and pass-header=Authorization')
            or diag(dropin_brief($r));
        pm_own_httpd_stop($h);
    }
    unlink "$dir/index.php";
    rmdir $dir;
}

# ---------------------------------------------------------------------
# php-cgi-shared-hosting.conf: a tenant's PHP through suexec and its
# wrapper

SKIP: {
    my $tuser = Apache::Test::vars('fcgix_hosting_user_a');
    my $root = Apache::Test::vars('fcgix_hosting_root');
    skip 'no hosting tenants in this run', 4
        unless $tuser && $root && -d "$root/a" && getpwnam($tuser);
    skip 'no php-cgi', 4 unless -x '/usr/bin/php-cgi';
    skip 'no suexec', 4 unless -e "$lib/mod_suexec.so"
        && -x '/usr/lib/apache2/suexec';
    my $tuid = (getpwnam($tuser))[2];
    my $body = qq{<IfModule !mod_suexec.c>\n}
        . qq{    LoadModule suexec_module "$lib/mod_suexec.so"\n}
        . qq{</IfModule>\n}
        . example('php-cgi-shared-hosting.conf',
                  '<VirtualHost *:80>' => '<VirtualHost *>',
                  'SuexecUserGroup alice alice' =>
                      "SuexecUserGroup $tuser $tuser",
                  '/var/www/alice/bin/php-wrapper' => "$root/a/bin/php.fcgi",
                  '/var/www/alice/htdocs' => "$root/a/htdocs");
    if (my $h = started_ok('php-cgi-shared-hosting.conf', $body)) {
        # (the only virtual host: every request lands in it)
        my $r = get($h, '/app.php');
        is($r->{status}, 200, 'php-cgi-shared-hosting.conf: the '
           . "tenant's PHP answers") or diag(dropin_brief($r));
        my %kv = %{ FcgixTest::kv_of($r->{body}) };
        is($kv{app}, 'php', 'php-cgi-shared-hosting.conf: through php-cgi');
        is($kv{uid}, $tuid, 'php-cgi-shared-hosting.conf: running as the '
           . "tenant ($tuser, uid $tuid), not as httpd's User")
            or diag(dropin_brief($r));
        pm_own_httpd_stop($h);
    }
}

done_testing();
