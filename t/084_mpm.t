# mod_fcgix under the other MPMs: prefork (one single-threaded request per
# process: what most mod_php-era shared hosts still run) and worker. The
# suite itself runs on event; here an httpd of its own per MPM serves the
# suite's backends through every path: kept-alive connections, request
# bodies (Content-Length and chunked), multiplexed connections (our test
# app and Go), an application it spawns, a graceful restart, and a stop
# that leaves none of its processes behind.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Digest::MD5 qw(md5_hex);
use File::Copy ();
use File::Path ();
use Test::More;
use FcgixTest;
use FcgixPM;

my $top  = Apache::Test::vars('top_dir');
my $logs = Apache::Test::vars('t_logs');
my $docroot = Apache::Test::vars('documentroot');
my $lib  = Apache::Test::vars('fcgix_libexecdir') || '/usr/lib/apache2/modules';
my $httpd = Apache::Test::vars('httpd');

sub all_200 {
    my (@r) = @_;
    my @bad = grep { $_->{status} != 200 } @r;
    diag(join "\n", map { pm_brief($_) } @bad[0 .. ($#bad > 2 ? 2 : $#bad)])
        if @bad;
    return @r && !@bad;
}

# $n parallel GETs of $path, all 200
sub burst_ok {
    my ($port, $path, $n, $name) = @_;
    ok(all_200(pm_parallel(port => $port, timeout => 60,
                           paths => [($path) x $n])), $name);
}

for my $mpm (qw(prefork worker)) {
  SKIP: {
    skip "no mod_mpm_$mpm", 1 unless -e "$lib/mod_mpm_$mpm.so";
    my $dir = "$logs/mpm-$mpm";
    File::Path::remove_tree($dir);
    File::Path::make_path("$dir/cgi");
    chmod 0755, $dir, "$dir/cgi";
    # a copy of its own, so that its processes are told from the suite's
    my $app = "$dir/cgi/app.fcgi";
    File::Copy::copy("$top/t/apps/fcgix_testapp", $app) or die "copy: $!";
    chmod 0755, $app;
    my $body = <<"EOC";
<IfModule !alias_module>
    LoadModule alias_module "$lib/mod_alias.so"
</IfModule>
FcgixExternalServer "$docroot/mpm/c.fcgi" unix:$logs/c.sock keepalive=2
FastCgiExternalServer "$docroot/mpm/cm.fcgi" -socket "$logs/cm.sock"
FastCgiExternalServer "$docroot/mpm/go.fcgi" -socket "$logs/go.sock"
FcgidMaxProcessesPerClass 4
Alias /cgi/ "$dir/cgi/"
<Directory "$dir/cgi">
    Options +ExecCGI
    AddHandler fcgid-script .fcgi
    Require all granted
</Directory>
EOC
    my $h = eval { pm_own_httpd(name => "mpm-$mpm-httpd", body => $body,
                                mpm => $mpm) };
    ok($h, "$mpm: httpd with mod_fcgix starts") or diag($@);
    next unless $h;
    my $port = $h->{port};

    my $r = http(port => $port, path => '/mpm/c.fcgi/p?x=1');
    my $e = env_of($r);
    ok($r->{status} == 200 && ($e->{PATH_INFO} // '') eq '/p'
       && ($e->{QUERY_STRING} // '') eq 'x=1',
       "$mpm: external server answers, PATH_INFO and QUERY_STRING")
        or diag(pm_brief($r));

    my $big = join '', map { chr(($_ * 7) % 256) } 0 .. 1048575;
    $r = http(port => $port, method => 'POST', path => '/mpm/c.fcgi?digest',
              body => $big);
    my ($len, $md5, $cl) = digest_of($r);
    ok($r->{status} == 200 && ($md5 // '') eq md5_hex($big)
       && ($cl // '') eq '1048576',
       "$mpm: 1 MiB POST reaches the application intact") or diag($r->{body});

    my @pieces = map { 'x' x (1000 + $_) } 1 .. 50;
    my $all = join '', @pieces;
    $r = http(port => $port, method => 'POST', path => '/mpm/c.fcgi?digest',
              chunks => \@pieces);
    ($len, $md5, $cl) = digest_of($r);
    ok($r->{status} == 200 && ($md5 // '') eq md5_hex($all)
       && ($cl // '') eq length($all),
       "$mpm: chunked POST, CONTENT_LENGTH the body's length")
        or diag($r->{body});

    burst_ok($port, '/mpm/c.fcgi?sleep_ms=100', 12,
             "$mpm: 12 parallel requests over kept-alive connections");
    # mpx=auto: the app says FCGI_MPXS_CONNS=1
    burst_ok($port, '/mpm/cm.fcgi?sleep_ms=200', 12,
             "$mpm: 12 parallel requests to a multiplexing application");
  SKIP: {
        skip 'Go backend not started', 1 unless backend_started('go');
        burst_ok($port, '/mpm/go.fcgi', 12, "$mpm: 12 parallel requests "
                 . 'to Go net/http/fcgi (multiplexed)');
    }
    burst_ok($port, '/cgi/app.fcgi?sleep_ms=100', 8, "$mpm: fcgid-script "
             . 'application spawned on demand, 8 parallel requests');
    my @procs = pm_procs($app);
    ok(@procs >= 1 && @procs <= 4, "$mpm: 1 to 4 processes of it ("
       . scalar(@procs) . '), FcgidMaxProcessesPerClass 4');

    system($httpd, '-f', $h->{conf}, '-k', 'graceful') == 0
        or diag("graceful: $?");
    my $fresh = pm_wait_until(20, sub {
        my $x = pm_get(port => $port, path => '/cgi/app.fcgi?env');
        $x->{status} == 200;
    });
    my @p = pm_parallel(port => $port, timeout => 60,
                        paths => [('/cgi/app.fcgi?sleep_ms=50',
                                   '/mpm/c.fcgi?sleep_ms=50',
                                   '/mpm/cm.fcgi?sleep_ms=50') x 4]);
    ok($fresh && all_200(@p), "$mpm: after a graceful restart, 12 "
       . 'parallel requests of all kinds');

    pm_own_httpd_stop($h);
    my $gone = pm_wait_until(20, sub {
        !pm_procs($app) && !(kill 0, $h->{pid});
    });
    ok($gone, "$mpm: stop leaves neither httpd nor the spawned "
       . 'application running') or diag('left: ' . join ' ', pm_procs($app));
  }
}

done_testing();
