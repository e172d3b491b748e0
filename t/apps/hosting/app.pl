#!/usr/bin/perl
# Tenant Perl FCGI application of the shared-hosting tests (t/070-075),
# spawned directly (no wrapper) on the listen socket the process manager
# passes as fd 0.  t/TEST.PL copies it into ~fcgixa<port>/public_html
# (mod_userdir + suexec) and into the tenants' trees, owned by the tenant.
#
# Reply (text/plain), one NAME=VALUE per line:
#   app=perl pid uid euid gid egid user script n (requests of this process)
# Query string: sleep_ms=N sleeps first; env adds env_NAME=VALUE for the
# environment the process was started with.
use strict;
use warnings;
use FCGI;
use Time::HiRes ();

my %start_env = %ENV;
my %env;
my $req = FCGI::Request(\*STDIN, \*STDOUT, \*STDERR, \%env);
my $n = 0;
while ($req->Accept() >= 0) {
    $n++;
    my %q;
    for (split /&/, $env{QUERY_STRING} // '') {
        my ($k, $v) = split /=/, $_, 2;
        $q{$k} = $v // '';
    }
    Time::HiRes::sleep($q{sleep_ms} / 1000) if $q{sleep_ms};
    my $user = getpwuid($>) // '';
    print "Content-Type: text/plain\r\n\r\n";
    print "app=perl\npid=$$\nuid=$<\neuid=$>\n",
          "gid=", (split ' ', $()[0], "\negid=", (split ' ', $))[0], "\n",
          "user=$user\nscript=", $env{SCRIPT_FILENAME} // '', "\nn=$n\n";
    if (exists $q{env}) {
        print "env_$_=$start_env{$_}\n" for sort keys %start_env;
    }
    $req->Finish();
}
