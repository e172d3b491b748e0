# X-Sendfile and X-Accel-Redirect (issue 16; t/conf/sendfile.conf.in).
# The C test app (hdr= adds header lines) and php-fpm
# (t/htdocs/sendfile/send.php) name files under t/logs/sendfile/, which
# this test makes: httpd serves them with its own validators, ranges and
# conditional requests, the application's other headers kept and its
# body dropped; paths outside the roots, through a symlink out of them,
# with "..", relative, not regular or unreadable are refused (403 and a
# log line), a missing one is a 404; off by default the header is passed
# on like any other.  Last, the application's only process (a class of
# one, virtual host sendfile_one) serves a second request while httpd
# still sends a 1 GiB (sparse) file to a client that reads slowly.  Bad
# values of the directives stop `apache2 -t`.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Path ();
use IO::Select ();
use Test::More;
use Time::HiRes ();
use FcgixTest qw(:DEFAULT http_start);

my $base = Apache::Test::vars('t_logs') . '/sendfile';
my $root = "$base/root";
my $BIG = 1024 * 1024 * 1024;

sub spew {
    my ($f, $data, $mode) = @_;
    open my $fh, '>', $f or die "$f: $!";
    binmode $fh;
    print $fh $data;
    close $fh;
    chmod $mode // 0644, $f;
}

File::Path::remove_tree($base);
File::Path::make_path("$root/sub", "$base/root2", "$base/outside",
                      "${root}x", { mode => 0755 });
chmod 0755, $base, $root, "$root/sub", "$base/root2", "$base/outside",
      "${root}x";
my $small = join '', map { sprintf "line %05d of the sent file\n", $_ }
                     1 .. 500;
spew("$root/small.txt", $small);
spew("$root/secret-mode.txt", "unreadable\n", 0600);
spew("$base/root2/other.txt", "from the second root\n");
spew("$base/outside/secret.txt", "outside secret\n");
spew("${root}x/evil.txt", "a root's name as a prefix\n");
symlink "$base/outside/secret.txt", "$root/link-out" or die "symlink: $!";
symlink "$root/small.txt", "$root/link-in" or die "symlink: $!";
symlink "$base/outside", "$root/dir-out" or die "symlink: $!";
{
    open my $fh, '>', "$root/big.bin" or die "big.bin: $!";
    truncate $fh, $BIG or die "truncate: $!";
    close $fh;
    chmod 0644, "$root/big.bin";
}
# the test runs as root: a file only root may read is unreadable for
# httpd's children only if they run as someone else
my $httpd_not_root = (getpwnam(Apache::Test::vars('user') // '') // 0) != 0;

# A request to the C app with header lines @hdr added.
sub capp {
    my ($prefix, $extra, @hdr) = @_;
    my $q = join '&', map { 'hdr=' . uri_escape($_) } @hdr;
    $q .= "&$extra" if $extra;
    return "/$prefix/c.fcgi?$q";
}

sub sendfile_req {
    my ($path, %a) = @_;
    my $hname = delete $a{hname} // 'X-Sendfile';
    my $prefix = delete $a{prefix} // 'sendfile';
    my $extra = delete $a{extra};
    return http(path => capp($prefix, $extra, "$hname: $path"), %a);
}

# ---------------------------------------------------------------------
# The file, with the application's headers

my $r = sendfile_req("$root/small.txt", extra => 'cookies=1',
                     hname => 'X-Sendfile');
is($r->{status}, 200, 'C app: X-Sendfile: 200') or diag(brief($r));
ok($r->{body} eq $small, 'C app: the body is the file, not the '
                         . 'application\'s') or diag(brief($r));
is(header($r, 'Content-Length'), length $small,
   'Content-Length is the file\'s');
is(header($r, 'Content-Type'), 'text/plain',
   'the application\'s Content-Type kept');
is(header($r, 'Set-Cookie'), 'c1=v1', 'the application\'s cookie kept');
ok(!defined header($r, 'X-Sendfile'), 'X-Sendfile not passed to the client');
my $etag = header($r, 'ETag');
my $lm = header($r, 'Last-Modified');
ok(defined $etag && defined $lm, 'ETag and Last-Modified of the file')
    or diag(brief($r));
is(header($r, 'Accept-Ranges'), 'bytes', 'Accept-Ranges: bytes');

$r = sendfile_req("$root/small.txt",
                  headers => ['Range' => 'bytes=100-199']);
is($r->{status}, 206, 'Range: 206') or diag(brief($r));
is($r->{body}, substr($small, 100, 100), 'Range: the right 100 bytes');
is(header($r, 'Content-Range'), 'bytes 100-199/' . length $small,
   'Range: Content-Range');

$r = sendfile_req("$root/small.txt",
                  headers => ['If-None-Match' => $etag // '"none"']);
is($r->{status}, 304, 'If-None-Match with the ETag: 304')
    or diag(brief($r));
is($r->{body}, '', '304: no body');

$r = sendfile_req("$root/small.txt",
                  headers => ['If-Modified-Since' => $lm // 'x']);
is($r->{status}, 304, 'If-Modified-Since the Last-Modified: 304')
    or diag(brief($r));

$r = sendfile_req("$root/small.txt",
                  headers => ['If-None-Match' => '"other"']);
is($r->{status}, 200, 'If-None-Match with another ETag: 200');

$r = sendfile_req("$root/small.txt", method => 'HEAD');
ok($r->{status} == 200 && $r->{body} eq ''
   && (header($r, 'Content-Length') // '') eq length($small),
   'HEAD: 200, the file\'s length, no body') or diag(brief($r));

$r = sendfile_req("$root/small.txt", method => 'POST', body => 'a=1');
ok($r->{status} == 200 && $r->{body} eq $small,
   'POST: the file is sent') or diag(brief($r));

$r = sendfile_req("$root/link-in");
ok($r->{status} == 200 && $r->{body} eq $small,
   'a symlink that stays inside the root: served') or diag(brief($r));

$r = sendfile_req("$base/root2/other.txt");
ok($r->{status} == 200 && $r->{body} eq "from the second root\n",
   'a file under the second root (configured with a trailing /)')
    or diag(brief($r));

# the application's body is read to its end and dropped: a kept
# connection serves the next request; a shared one carries it too
for my $app ('ka', 'cm') {
    $r = http(path => "/sendfile/$app.fcgi?bytes=300000&hdr="
                      . uri_escape("X-Sendfile: $root/small.txt"));
    ok($r->{status} == 200 && $r->{body} eq $small,
       "$app.fcgi: file sent, the application's 300000 bytes dropped")
        or diag(brief($r));
    $r = http(path => "/sendfile/$app.fcgi?after=1");
    ok($r->{status} == 200 && $r->{body} =~ /^QUERY_STRING=after=1$/m,
       "$app.fcgi: the next request is served") or diag(brief($r));
}

# Go's net/http/fcgi on a multiplexed connection: the file, a range, a
# 304 and X-Accel-Redirect
SKIP: {
    skip 'backend go was not started', 6
        unless backend_started('go');
    my $go = sub {
        my ($hdr, %a) = @_;
        http(path => '/sendfile/go.fcgi?cookies=1&hdr=' . uri_escape($hdr),
             %a);
    };
    $r = $go->("X-Sendfile: $root/small.txt");
    ok($r->{status} == 200 && $r->{body} eq $small
       && (header($r, 'Set-Cookie') // '') eq 'c1=v1'
       && !defined header($r, 'X-Sendfile'),
       'Go: X-Sendfile: the file, the application\'s cookie, no header')
        or diag(brief($r));
    my $getag = header($r, 'ETag');
    $r = $go->("X-Sendfile: $root/small.txt",
               headers => ['Range' => 'bytes=0-9']);
    ok($r->{status} == 206 && $r->{body} eq substr($small, 0, 10),
       'Go: Range: 206, the first 10 bytes') or diag(brief($r));
    $r = $go->("X-Sendfile: $root/small.txt",
               headers => ['If-None-Match' => $getag // '"none"']);
    is($r->{status}, 304, 'Go: If-None-Match with the ETag: 304')
        or diag(brief($r));
    my $off = log_mark();
    $r = $go->("X-Sendfile: $root/link-out");
    ok($r->{status} == 403 && $r->{body} !~ /secret/,
       'Go: a symlink out of the root: 403') or diag(brief($r));
    log_tag_ok($off, 'sendfile_refused', 'Go, symlink out');
    $r = $go->('X-Accel-Redirect: /static.txt');
    ok($r->{status} == 200 && $r->{body} eq static_content(),
       'Go: X-Accel-Redirect to a static URI') or diag(brief($r));
}

# ---------------------------------------------------------------------
# Refused

my @refused = (
    ['outside the roots',         "$base/outside/secret.txt"],
    ['a symlink out of the root', "$root/link-out"],
    ['a directory symlink out',   "$root/dir-out/secret.txt"],
    ['".." back into the root',   "$root/sub/../small.txt"],
    ['".." out of the root',      "$root/../outside/secret.txt"],
    ['a relative path',           'root/small.txt'],
    ['a root\'s name as a prefix', "${root}x/evil.txt"],
    ['a directory',               "$root/sub"],
    ['outside, not existing',     "$base/outside/none.txt"],
);
for my $c (@refused) {
    my ($name, $path) = @$c;
    my $off = log_mark();
    $r = sendfile_req($path);
    ok($r->{status} == 403 && $r->{body} !~ /secret|prefix|sent file/,
       "$name: 403, never the file") or diag(brief($r));
    log_tag_ok($off, 'sendfile_refused', $name);
}

SKIP: {
    skip 'httpd runs as root: a 0600 file is readable', 2
        unless $httpd_not_root;
    my $off = log_mark();
    $r = sendfile_req("$root/secret-mode.txt");
    ok($r->{status} == 403 && $r->{body} !~ /unreadable/,
       'a file httpd may not read: 403') or diag(brief($r));
    log_tag_ok($off, 'sendfile_open_failed', 'unreadable file');
}

$r = sendfile_req("$root/none.txt");
is($r->{status}, 404, 'a missing file under a root: 404')
    or diag(brief($r));

{
    my $off = log_mark();
    $r = sendfile_req("$root/small.txt", prefix => 'sendfile-noroot');
    ok($r->{status} == 403 && $r->{body} !~ /sent file/,
       'FcgixSendfile On without FcgixSendfileRoot: 403')
        or diag(brief($r));
    log_tag_ok($off, 'sendfile_refused', 'no root');
}

# ---------------------------------------------------------------------
# Off by default; other names

$r = sendfile_req("$root/small.txt", prefix => 'sendfile-off');
ok($r->{status} == 200 && $r->{body} =~ /^QUERY_STRING=/m
   && $r->{body} ne $small,
   'FcgixSendfile unset: the application\'s own body')
    or diag(brief($r));
is(header($r, 'X-Sendfile'), "$root/small.txt",
   'FcgixSendfile unset: X-Sendfile passed on as the application sent it');

$r = sendfile_req("$root/small.txt", prefix => 'sendfile-names',
                  hname => 'X-LIGHTTPD-send-file');
ok($r->{status} == 200 && $r->{body} eq $small
   && !defined header($r, 'X-LIGHTTPD-send-file'),
   'FcgixSendfileHeader X-LIGHTTPD-send-file: served, header dropped')
    or diag(brief($r));
$r = sendfile_req("$root/small.txt", prefix => 'sendfile-names');
ok($r->{status} == 200 && $r->{body} =~ /^QUERY_STRING=/m
   && defined header($r, 'X-Sendfile'),
   'FcgixSendfileHeader set: X-Sendfile is a header like any other')
    or diag(brief($r));
$r = sendfile_req('/static.txt', prefix => 'sendfile-names',
                  hname => 'X-Internal-Redirect');
ok($r->{status} == 200 && $r->{body} eq static_content(),
   'FcgixAccelRedirectHeader X-Internal-Redirect: redirected')
    or diag(brief($r));

# ---------------------------------------------------------------------
# X-Accel-Redirect

$r = http(path => capp('sendfile', 'cookies=1',
                       'X-Accel-Redirect: /static.txt',
                       'Content-Disposition: attachment'));
ok($r->{status} == 200 && $r->{body} eq static_content(),
   'X-Accel-Redirect: /static.txt is served') or diag(brief($r));
is(header($r, 'Set-Cookie'), 'c1=v1', 'X-Accel-Redirect: cookie kept');
is(header($r, 'Content-Disposition'), 'attachment',
   'X-Accel-Redirect: Content-Disposition kept');
ok(!defined header($r, 'X-Accel-Redirect'),
   'X-Accel-Redirect not passed to the client');

$r = http(path => capp('sendfile', undef,
                       'X-Accel-Redirect: /static.txt'),
          headers => ['Range' => 'bytes=0-5']);
ok($r->{status} == 206 && $r->{body} eq substr(static_content(), 0, 6),
   'X-Accel-Redirect: the target honours Range') or diag(brief($r));

for my $bad ('http://example.com/x', '//example.com/x', 'static.txt') {
    my $off = log_mark();
    $r = http(path => capp('sendfile', undef, "X-Accel-Redirect: $bad"));
    is($r->{status}, 502, "X-Accel-Redirect: $bad: 502")
        or diag(brief($r));
    log_tag_ok($off, 'accel_not_local', "X-Accel-Redirect: $bad");
}

# ---------------------------------------------------------------------
# php-fpm

SKIP: {
    skip 'backend php-fpm was not started', 10
        unless backend_started('php-fpm');
    my $q = 'file=' . uri_escape("$root/small.txt")
            . '&type=' . uri_escape('application/x-report');
    $r = http(path => "/sendfile/send.php?$q");
    is($r->{status}, 200, 'PHP: X-Sendfile: 200') or diag(brief($r));
    ok($r->{body} eq $small, 'PHP: the body is the file');
    is(header($r, 'Content-Type'), 'application/x-report',
       'PHP: the application\'s Content-Type kept');
    like(header($r, 'Content-Disposition') // '', qr/report\.bin/,
         'PHP: Content-Disposition kept');
    like(header($r, 'Set-Cookie') // '', qr/^sf=app/, 'PHP: cookie kept');
    $r = http(path => "/sendfile/send.php?$q",
              headers => ['Range' => 'bytes=-10']);
    ok($r->{status} == 206 && $r->{body} eq substr($small, -10),
       'PHP: Range of the last 10 bytes') or diag(brief($r));
    my $off = log_mark();
    $r = http(path => '/sendfile/send.php?file='
                      . uri_escape("$root/link-out"));
    ok($r->{status} == 403 && $r->{body} !~ /secret/,
       'PHP: a symlink out of the root: 403') or diag(brief($r));
    log_tag_ok($off, 'sendfile_refused', 'PHP symlink out');
    $r = http(path => '/sendfile/send.php?notype=1&file='
                      . uri_escape("$base/root2/other.txt"));
    ok($r->{status} == 200 && $r->{body} eq "from the second root\n"
       && (header($r, 'Content-Type') // '') =~ m{^text/plain\b},
       'PHP without Content-Type: the file\'s own type (text/plain)')
        or diag(brief($r));
    $r = http(path => '/sendfile/send.php?uri=/static.txt');
    ok($r->{status} == 200 && $r->{body} eq static_content()
       && !defined header($r, 'X-Accel-Redirect'),
       'PHP: X-Accel-Redirect served') or diag(brief($r));
}

# ---------------------------------------------------------------------
# The application is free while the file is sent

{
    my $port = Apache::Test::vars('sendfile_one_port');
    my $app = '/pm/sendfile/testapp.fcgi';
    # the class's process started first, so the slow download below
    # finds it ready
    $r = http(port => $port, path => "$app?warm=1", timeout => 30);
    is($r->{status}, 200, 'class of one: warm-up request')
        or diag(brief($r));
    my $h = http_start(port => $port, timeout => 60,
                       path => "$app?hdr="
                               . uri_escape("X-Sendfile: $root/big.bin"));
    my $sock = $h && $h->{s};
    my $sel = $sock && IO::Select->new($sock);
    my ($raw, $got) = ('', 0);
    # read a little (the head and some 64 KiB), then stop reading
    my $until = Time::HiRes::time() + 20;
    while ($sock && Time::HiRes::time() < $until && $got < 65536) {
        next unless $sel->can_read(0.5);
        my $n = sysread $sock, $raw, 65536, length $raw;
        last unless $n;
        $got = length($raw) - (index($raw, "\r\n\r\n") + 4)
            if index($raw, "\r\n\r\n") >= 0;
    }
    like($raw, qr{^HTTP/1\.1 200 .*\r\nContent-Length: $BIG\r\n}s,
         'slow client: 200 with the 1 GiB length')
        or diag(substr $raw, 0, 300);
    # the other request of the class while the file is under way
    my $r2 = http(port => $port, path => "$app?second=1", timeout => 8);
    ok($r2->{status} == 200 && $r2->{body} =~ /^QUERY_STRING=second=1$/m,
       'the class\'s only process serves another request while its '
       . 'file is still being sent') or diag(brief($r2));
    # and the download is still far from done
    my $more = 0;
    if ($sock && $sel->can_read(0)) {
        $more = sysread($sock, my $buf, 65536) // 0;
    }
    ok($more > 0, 'the slow download is still open and going');
    close $sock if $sock;
}

# ---------------------------------------------------------------------
# The directives: bad values stop `apache2 -t`

{
    my $t = Apache::Test::vars('serverroot');
    my $libexec = Apache::Test::vars('fcgix_libexecdir')
                  // '/usr/lib/apache2/modules';
    my $mpm = -e "$libexec/mod_mpm_event.so" ? 'mpm_event' : 'mpm_prefork';
    my $head = join "\n", qq{ServerRoot "$t"},
        'ServerName 127.0.0.1', 'Listen 127.0.0.1:80',
        qq{PidFile "$base/check.pid"}, qq{ErrorLog "$base/check.log"},
        qq{DefaultRuntimeDir "$base"},
        qq{LoadModule ${mpm}_module "$libexec/mod_$mpm.so"},
        qq{LoadModule authz_core_module "$libexec/mod_authz_core.so"},
        'LoadModule fcgix_module ../.libs/mod_fcgix.so', '';
    my $check = sub {
        my ($rc, undef, $out) = FcgixTest::config_check($base, $head, $_[0]);
        return ($rc, $out);
    };
    my ($rc, $out) = $check->(join "\n",
        qq{<Directory "$base">},
        '    FcgixSendfile On',
        qq{    FcgixSendfileRoot "$root" relative/root},
        '    FcgixSendfileHeader X-LIGHTTPD-send-file',
        '    FcgixAccelRedirectHeader X_Internal',
        '</Directory>');
    ok($rc == 0 && $out =~ /Syntax OK/, 'the directives in <Directory>: '
                                       . 'Syntax OK') or diag($out);
    for my $c (['FcgixSendfile maybe', qr/FcgixSendfile/],
               ['FcgixSendfileHeader "X Bad"',
                qr/FcgixSendfileHeader: 'X Bad' is not a header name/],
               ['FcgixAccelRedirectHeader X:Y',
                qr/FcgixAccelRedirectHeader: 'X:Y' is not a header name/]) {
        ($rc, $out) = $check->($c->[0]);
        ok($rc != 0 && $out =~ $c->[1], "$c->[0]: refused") or diag($out);
    }
}

File::Path::remove_tree($base);
done_testing();
