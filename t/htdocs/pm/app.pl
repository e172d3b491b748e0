#!/usr/bin/perl
# Perl FCGI application spawned by mod_fcgix's process manager (t/060-065):
# FCGI::Request on the listen socket the PM passes as fd 0.
#
# Reply (text/plain), one NAME=VALUE per line:
#   app=perl pid=<pid> uid=<uid> n=<requests served by this process>
#   script=<SCRIPT_FILENAME> global=<$PM_GLOBAL> static=<$PM_STATIC>
# Query string: sleep_ms=N sleeps first; env adds env_NAME=VALUE for every
# variable of the process environment (as the PM started it).
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
    print "Content-Type: text/plain\r\n\r\n";
    print "app=perl\npid=$$\nuid=$<\nn=$n\n",
          "script=", $env{SCRIPT_FILENAME} // '', "\n",
          "global=", $start_env{PM_GLOBAL} // '', "\n",
          "static=", $start_env{PM_STATIC} // '', "\n";
    if (exists $q{env}) {
        print "env_$_=$start_env{$_}\n" for sort keys %start_env;
    }
    $req->Finish();
}
