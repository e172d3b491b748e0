# FastCGI's Filter role (issue 16): FcgixFilter defines an output filter
# whose response body goes to a FastCGI application as FCGI_DATA; the
# application's reply replaces the response. t/conf/filter.conf.in: the
# same libfcgi filter application (t/apps/fcgix_filterapp) as a spawned
# program, an FcgixServer, a FastCgiServer, an FcgixExternalServer and a
# FastCgiExternalServer, each filtering a directory of static files.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Path ();
use Test::More;
use FcgixTest qw(:DEFAULT brief);

my $docroot = Apache::Test::vars('documentroot');
my $port = Apache::Test::vars('filter_port');
plan skip_all => 't/apps/fcgix_filterapp not built (libfcgi-dev)'
    unless -x "$docroot/filter/app/dyn.fcgi";

# The files filtered, the same in every directory.
my $mtime = 1234567890;
my $hello = "Hello, Filter world: Mixed Case 123 \x{e9}t\x{e9}.\n";
utf8::encode($hello);
my $big = '';
$big .= sprintf "line %06d of the big file: abc xyz\n", length $big
    while length $big < 300 * 1024;
$big = substr $big, 0, 300 * 1024;
my %files = ('hello.txt' => $hello, 'empty.txt' => '', 'big.txt' => $big,
             'hello.up' => $hello);

sub put {
    my ($path, $content) = @_;
    open my $fh, '>', $path or die "$path: $!";
    binmode $fh;
    print $fh $content;
    close $fh or die "$path: $!";
    chmod 0644, $path;
    utime $mtime, $mtime, $path or die "utime $path: $!";
}

my @kinds = qw(dyn static fastcgi ext extfc);
for my $d (@kinds, qw(small none elsewhere byext)) {
    File::Path::make_path("$docroot/filter/$d");
    chmod 0755, "$docroot/filter/$d";
    put("$docroot/filter/$d/$_", $files{$_}) for keys %files;
}

sub get {
    my ($path, %a) = @_;
    return http(port => $a{port} || $port, path => $path,
                method => $a{method} || 'GET',
                headers => $a{headers} || []);
}

# Upper-case a-z only, as the application does (bytes, not characters).
sub upper { my $s = shift; $s =~ tr/a-z/A-Z/; $s }

sub filtered_ok {
    my ($kind, $file, $method) = @_;
    my $name = "$kind: $method $file";
    my $r = get("/filter/$kind/$file", method => $method);
    my $want = $files{$file};
    is($r->{status}, 200, "$name: 200") or diag(brief($r));
    is(header($r, 'Content-Type'), 'text/x-fcgix-upper',
       "$name: the application's Content-Type");
    is(header($r, 'X-Role'), 'FILTER', "$name: FCGI_ROLE=FILTER");
    is(header($r, 'X-Data-Length'), length $want,
       "$name: FCGI_DATA_LENGTH is the file's size");
    is(header($r, 'X-Data-Last-Mod'), $mtime,
       "$name: FCGI_DATA_LAST_MOD is the file's mtime");
    is(header($r, 'X-Data-Read'), length $want,
       "$name: the application read all of FCGI_DATA");
    is(header($r, 'X-Stdin-Read'), 0, "$name: FCGI_STDIN is empty");
    is(header($r, 'ETag'), undef, "$name: the file's ETag is dropped");
    if ($method eq 'HEAD') {
        is($r->{body}, '', "$name: no body");
        return $r;
    }
    ok($r->{body} eq upper($want), "$name: the body is transformed")
        or diag('got ' . length($r->{body}) . ' bytes: '
                . substr($r->{body}, 0, 80));
    my $cl = header($r, 'Content-Length');
    ok(!defined $cl || $cl == length $want,
       "$name: no Content-Length of the original's making")
        or diag("Content-Length: $cl");
    ok($r->{complete}, "$name: the response is complete");
    return $r;
}

# Every kind of server, every file.
for my $kind (@kinds) {
    filtered_ok($kind, 'hello.txt', 'GET');
    filtered_ok($kind, 'hello.txt', 'HEAD');
    filtered_ok($kind, 'empty.txt', 'GET');
    filtered_ok($kind, 'big.txt', 'GET');
}

# A static server is one process: every request went to it.
{
    my @pids = map { header(get('/filter/static/hello.txt'), 'X-Pid') }
        1 .. 3;
    ok($pids[0] && $pids[0] eq $pids[1] && $pids[1] eq $pids[2],
       'static: one FcgixServer process serves the filter')
        or diag("pids @pids");
}

# AddOutputFilter by extension: only *.up.
{
    filtered_ok('byext', 'hello.up', 'GET');
    my $r = get('/filter/byext/hello.txt');
    is($r->{status}, 200, 'byext: hello.txt 200');
    ok($r->{body} eq $hello, 'byext: hello.txt is not filtered');
    like(header($r, 'Content-Type') // '', qr{^text/plain},
         'byext: hello.txt keeps its type');
}

# A FastCGI responder's output, of no known length and no mtime.
{
    my $r = get('/filter/resp/c.fcgi?x=1');
    is($r->{status}, 200, 'resp: 200') or diag(brief($r));
    like($r->{body}, qr/^QUERY_STRING=X=1$/m,
         'resp: the responder\'s output is transformed');
    unlike($r->{body}, qr/[a-z]/, 'resp: no lower case letter left');
    is(header($r, 'X-Data-Length'), length $r->{body},
       'resp: FCGI_DATA_LENGTH is what the responder wrote');
    is(header($r, 'X-Data-Last-Mod'), 0, 'resp: FCGI_DATA_LAST_MOD is 0');
    is(header($r, 'Content-Type'), 'text/x-fcgix-upper',
       'resp: the filter\'s Content-Type');
}

# What the handler did not send as 200 passes untouched.
{
    my $r = get('/filter/dyn/hello.txt',
                headers => ['If-Modified-Since',
                            'Sat, 01 Jan 2022 00:00:00 GMT']);
    is($r->{status}, 304, 'a 304 of the handler is not filtered')
        or diag(brief($r));
    $r = get('/filter/dyn/missing.txt');
    is($r->{status}, 404, 'a 404 of the handler is not filtered');
    unlike($r->{body}, qr/NOT FOUND/, 'the 404 page is not upper-cased');
}

# The application decides: its own status and body.
{
    my $r = get('/filter/dyn/hello.txt?fail=status');
    is($r->{status}, 503, 'a filter reply with Status 503: 503');
    is($r->{body}, "filter says busy\n", '... and its body');
}

# Failures: one log line each.
sub one_line_ok {
    my ($off, $key, $name) = @_;
    log_tag_ok($off, $key, $name);
    my @l = grep { /\[fcgix:(?:error|warn)\]/ } log_new_lines($off);
    is(scalar @l, 1, "$name: one log line") or diag(@l);
}
{
    my $off = log_mark();
    my $r = get('/filter/dyn/hello.txt?fail=exit');
    is($r->{status}, 502, 'the filter application exits: 502')
        or diag(brief($r));
    one_line_ok($off, 'app_closed', 'filter exits');

    $off = log_mark();
    $r = get('/filter/ext/hello.txt?fail=bad');
    is($r->{status}, 502, 'a malformed filter reply: 502');
    one_line_ok($off, 'bad_header', 'filter bad reply');

    $off = log_mark();
    $r = get('/filter/static/hello.txt?fail=redirect');
    is($r->{status}, 502, 'a filter reply with Location: 502');
    one_line_ok($off, 'filter_redirect', 'filter redirect');

    $off = log_mark();
    $r = get('/filter/small/big.txt');
    is($r->{status}, 500, 'over max-bytes: 500') or diag(brief($r));
    unlike($r->{body}, qr/LINE 0/, '... and nothing of the application');
    one_line_ok($off, 'filter_too_large', 'over max-bytes');
    filtered_ok('small', 'hello.txt', 'GET');

    $off = log_mark();
    $r = get('/filter/none/hello.txt');
    is($r->{status}, 500, 'a filter whose program does not exist: 500');
    one_line_ok($off, 'authz_no_server', 'no such program');

    $off = log_mark();
    $r = get('/filter/elsewhere/hello.txt', port => Apache::Test::vars('port'));
    is($r->{status}, 500, 'a filter not defined in this virtual host: 500');
    one_line_ok($off, 'filter_undefined', 'undefined here');
}

# Each kind still serves after the failures.
filtered_ok($_, 'hello.txt', 'GET') for @kinds;

# The directive: what `apache2 -t` refuses, naming the directive.
{
    my $vars = Apache::Test::config()->{vars};
    my $libexec = $vars->{fcgix_libexecdir} || '/usr/lib/apache2/modules';
    my $work = "$vars->{t_logs}/filter-t";
    File::Path::remove_tree($work);
    File::Path::make_path($work);
    my $head = join "\n",
        qq{ServerRoot "$work"},
        'ServerName localhost',
        qq{PidFile "$work/httpd.pid"},
        qq{ErrorLog "$work/error_log"},
        qq{DefaultRuntimeDir "$work"},
        qq{LoadModule mpm_prefork_module "$libexec/mod_mpm_prefork.so"},
        qq{LoadModule fcgix_module "$vars->{top_dir}/.libs/mod_fcgix.so"},
        'Listen 127.0.0.1:1', '';
    my $t = sub {
        my ($rc, undef, $out) = FcgixTest::config_check($work, $head, $_[0]);
        return ($rc, $out);
    };
    my @bad = (
        ['FcgixFilter BYTERANGE /srv/f.fcgi',
         qr/FcgixFilter: BYTERANGE is already an output filter/],
        ['FcgixFilter F f.fcgi',
         qr/FcgixFilter F: 'f.fcgi' is not an absolute/],
        ['FcgixFilter F', qr/FcgixFilter: NAME and an absolute path/],
        ['FcgixFilter F /srv/f.fcgi color=red',
         qr/FcgixFilter F: unknown option 'color=red'/],
        ['FcgixFilter F /srv/f.fcgi max-bytes=0', qr/FcgixFilter max-bytes/],
        ['FcgixFilter F /srv/f.fcgi max-bytes=1Q', qr/FcgixFilter max-bytes/],
        ["FcgixFilter F /srv/f.fcgi\nFcgixFilter f /srv/g.fcgi",
         qr/FcgixFilter: f is defined twice/],
        ["<Directory /srv>\nFcgixFilter F /srv/f.fcgi\n</Directory>",
         qr/FcgixFilter.*not allowed/],
    );
    for my $c (@bad) {
        my ($rc, $out) = $t->($c->[0]);
        ok($rc != 0 && $out =~ $c->[1],
           "apache2 -t refuses: " . ($c->[0] =~ s{\n}{ / }gr))
            or diag("rc=$rc: $out");
    }
    my ($rc, $out) = $t->("FcgixFilter F /srv/f.fcgi max-bytes=2M\n"
                          . "<VirtualHost 127.0.0.1:1>\n"
                          . "FcgixFilter F /srv/g.fcgi\n</VirtualHost>");
    is($rc, 0, 'apache2 -t: a virtual host may define a name again')
        or diag($out);
}

done_testing();
