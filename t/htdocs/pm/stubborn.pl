#!/usr/bin/perl
# A Perl FCGI application that ignores SIGTERM (t/065): the process manager
# must follow up with SIGKILL (3 s later) when httpd stops.
# Query string: sleep_ms=N sleeps first.
use strict;
use warnings;
use FCGI;
use Time::HiRes ();

$SIG{TERM} = 'IGNORE';   # before FCGI: libfcgi keeps a handler it finds set
my %env;
my $req = FCGI::Request(\*STDIN, \*STDOUT, \*STDERR, \%env);
while ($req->Accept() >= 0) {
    my ($ms) = ($env{QUERY_STRING} // '') =~ /(?:^|&)sleep_ms=(\d+)/;
    Time::HiRes::sleep($ms / 1000) if $ms;
    print "Content-Type: text/plain\r\n\r\napp=stubborn\npid=$$\n";
}
