# A FastCgiExternalServer path names no file: httpd's directory walk must
# still merge <Directory> and <Files> sections for it, without looking for
# it on disk (no stat of the path nor lstat of every parent per request).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use File::Spec::Functions qw(catfile);
use POSIX ();
use FcgixTest;
use FcgixPM qw(pm_httpd_pid);

my $docroot = Apache::Test::vars('documentroot');
my $t_logs  = Apache::Test::vars('t_logs');

SKIP: {
    skip 'fcgix_testapp backend not started', 7 unless backend_started('c');

    my $r = http(path => '/walk/open.fcgi');
    is($r->{status}, 200, 'a server path that names no file is served');

    $r = http(path => '/walk/open.fcgi/x/y?q=1');
    my $e = env_of($r);
    ok($r->{status} == 200 && ($e->{PATH_INFO} // '') eq '/x/y'
       && ($e->{SCRIPT_NAME} // '') eq '/walk/open.fcgi',
       'path_info below it: SCRIPT_NAME and PATH_INFO split at the server '
       . 'path') or diag(explain($e));

    is(http(path => '/walk/denied/c.fcgi')->{status}, 403,
       '<Directory> of the directory the path is in applies (Require all '
       . 'denied: 403)');
    is(http(path => '/walk/denied/c.fcgi/more')->{status}, 403,
       '... with path_info too');
    is(http(path => '/walk/files-denied.fcgi')->{status}, 403,
       '<Files> on the path\'s last segment applies (403)');
    $r = http(path => '/walk/owner/c.fcgi/x');
    $e = env_of($r);
    ok($r->{status} == 200 && ($e->{PATH_INFO} // '') eq '/x',
       'under Options SymLinksIfOwnerMatch too (PATH_INFO /x)')
        or diag(substr $r->{body}, 0, 300);

    # Which paths httpd's children look up while serving the path.
    my $strace = -x '/usr/bin/strace' ? '/usr/bin/strace' : undef;
    skip 'strace not installed', 1 unless $strace;
    skip 'needs root to trace httpd', 1 unless $> == 0;
    my @kids = map { $_->{pid} }
               FcgixTest::children_of(pm_httpd_pid() // 0);
    skip 'no httpd children found', 1 unless @kids;
    my $out = catfile($t_logs, 'dirwalk.strace');
    unlink $out;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDERR, '>', '/dev/null';
        delete $ENV{LD_PRELOAD};
        exec($strace, '-f', '-qq', '-e', 'trace=%file', '-o', $out,
             map { ('-p', $_) } @kids) or POSIX::_exit(127);
    }
    # strace writes nothing until a traced syscall: give it time to attach
    sleep 1;
    http(path => $_) for ('/walk/open.fcgi') x 4, ('/walk/owner/c.fcgi') x 4;
    http(path => '/walk/open.fcgi/x/y');
    select undef, undef, undef, 0.5;
    kill 'INT', $pid;
    waitpid $pid, 0;
    my @lines = do { open my $fh, '<', $out or (); <$fh> };
    my $bare = grep { /\Q"$docroot\/walk\/\E(open|owner\/c)\.fcgi"/ } @lines;
    my $deep = grep { /\Q"$docroot\/walk\/open.fcgi\/x\/y"\E/ } @lines;
    skip 'strace saw none of the requests (could not trace httpd?)', 1
        unless $deep;
    is($bare, 0, 'the server paths themselves are never stat()ed (strace '
       . "of the children: $deep lookups of a path_info URL seen, $bare of "
       . 'the server paths)');
    unlink $out;
}

done_testing();
