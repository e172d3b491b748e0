package FcgixDropin;
# Helpers of the drop-in tests (t/080-082, t/conf/dropin.conf.in).
#
#  dropin_port($vhost)        port of an Apache::Test <VirtualHost NAME>
#                             (undef: the main server's)
#  dropin_req(port => N, method => 'GET', path => '/x',
#             headers => [Name => value, ...], body => $bytes,
#             chunked => 1, timeout => S)
#        one request (Connection: close, read to EOF) through
#        FcgixTest::http; returns FcgixTest's result hash (status, head,
#        headers => [[name, value]...], body (dechunked), kv: the body's
#        NAME=VALUE lines as a hash, secs, error, ...)
#  dropin_parallel(reqs => [[port, path], ...], timeout => S,
#                  tick => sub {...})
#        all GETs at once; tick runs about every 50 ms while they run;
#        returns the same hashes, in order
#  dropin_procs($path)        live pids whose argv[0] (or argv[1], for
#                             "#!" interpreters) is $path
#  dropin_proc($pid)          {pid, ppid, state, uid, argv => [...]}
#  dropin_environ($pid)       the process environment as a hash ref
#  dropin_wait($secs, sub {...})  polls every 50 ms until true
use strict;
use warnings;

use Apache::Test ();
use File::Spec::Functions qw(catfile);

use FcgixTest ();

use Exporter 'import';
our @EXPORT = qw(dropin_port dropin_req dropin_parallel dropin_procs
                 dropin_proc dropin_environ dropin_wait dropin_brief
                 dropin_docroot dropin_kv);

$SIG{PIPE} = 'IGNORE';

sub dropin_docroot { catfile(Apache::Test::vars('documentroot'), 'dropin') }

sub dropin_port {
    my ($vhost) = @_;
    return Apache::Test::vars('port') unless defined $vhost;
    return Apache::Test::vars("${vhost}_port");
}

sub dropin_kv { FcgixTest::kv_of(@_) }

# Requests: FcgixTest's client (HTTP/1.1, Connection: close, read to EOF,
# 30 s); a chunked body goes in 300-byte pieces.
sub _args {
    my %a = @_;
    my %o = (method => $a{method} || 'GET', path => $a{path},
             port => $a{port} || dropin_port(),
             timeout => $a{timeout} || 30,
             headers => ['User-Agent' => 'fcgix-dropin-test',
                         @{ $a{headers} || [] }]);
    if (defined $a{body} && $a{chunked}) {
        $o{chunks} = [ map { substr $a{body}, $_ * 300, 300 }
                       0 .. int((length($a{body}) - 1) / 300) ];
    }
    elsif (defined $a{body}) {
        $o{body} = $a{body};
    }
    return %o;
}

sub dropin_req { FcgixTest::http(_args(@_)) }

sub dropin_parallel {
    my %a = @_;
    FcgixTest::http_parallel(
        reqs => [ map { +{ _args(port => $_->[0], path => $_->[1]) } }
                  @{ $a{reqs} } ],
        timeout => $a{timeout}, tick => $a{tick});
}

sub dropin_brief { FcgixTest::brief(@_) }

sub dropin_proc { FcgixTest::proc_info(@_) }

sub dropin_procs { FcgixTest::procs_running(@_) }

sub dropin_environ {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/environ" or return {};
    local $/;
    my $raw = <$fh> // '';
    my %e;
    for (split /\0/, $raw) {
        my ($k, $v) = split /=/, $_, 2;
        $e{$k} = $v // '' if defined $k && length $k;
    }
    \%e;
}

sub dropin_wait { FcgixTest::wait_until(@_) }

1;
