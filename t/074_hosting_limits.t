# Shared hosting: resource limits and environment (t/conf/hosting.conf.in).
#
#  * core's RLimitCPU / RLimitMEM / RLimitNPROC of a vhost reach its
#    applications: soft and hard, through suexec (tenant A) and without
#    (hosting_plain), and only there (tenant B sets none);
#  * nothing of httpd's environment leaks into applications: t/TEST.PL
#    starts httpd with FCGIX_HOSTING_LEAK set (checked in the httpd
#    parent's /proc/PID/environ); applications without suexec get exactly
#    PATH and the FcgixInitialEnv variables; none sees FCGIX_HOSTING_LEAK
#    or any other of httpd's variables (same name and value).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Spec::Functions qw(catfile);
use Test::More;
use FcgixTest;
use FcgixHosting;

my $root = hosting_root()
    or plan skip_all => 'no hosting config (reconfigure: t/TEST.PL -clean)';
my ($suexec, $why) = suexec_state();

# /proc/PID/limits as {cpu => "soft hard", as => ..., nproc => ...}
sub limits_of_pid {
    my ($pid) = @_;
    my %l;
    open my $fh, '<', "/proc/$pid/limits" or return \%l;
    while (my $line = <$fh>) {
        $l{cpu} = "$1 $2" if $line =~ /^Max cpu time\s+(\S+)\s+(\S+)/;
        $l{as} = "$1 $2" if $line =~ /^Max address space\s+(\S+)\s+(\S+)/;
        $l{nproc} = "$1 $2" if $line =~ /^Max processes\s+(\S+)\s+(\S+)/;
    }
    return \%l;
}

sub limits_ok {
    my ($name, $vhost, $path, %want) = @_;
    my $r = hget($vhost, "$path?limits=1");
    my $e = env_of($r);
    is($r->{status}, 200, "$name: 200") or diag(brief_h($r));
    is($e->{limit_max_cpu_time} // '', $want{cpu},
       "$name: RLimitCPU $want{cpu}");
    is($e->{limit_max_address_space} // '', $want{as},
       "$name: RLimitMEM $want{as}");
    is($e->{limit_max_processes} // '', $want{nproc},
       "$name: RLimitNPROC $want{nproc}");
    return $e;
}

my $httpd_pid = do {
    open my $fh, '<', Apache::Test::vars('t_pid_file') or die "pid file: $!";
    my $p = <$fh>;
    chomp $p;
    $p;
};
my $httpd_lim = limits_of_pid($httpd_pid);

SKIP: {
    skip "suexec: $why", 1 unless $suexec;
    limits_ok('tenant a php (suexec)', 'hosting_a', '/app.php',
              cpu => '100 200', as => '3000000000 3500000000',
              nproc => '40000 40001');
    # the Perl app, spawned itself through suexec: its /proc/PID/limits
    my $e = env_of(hget('hosting_a', '/app.pl'));
    my $l = limits_of_pid($e->{pid} || 0);
    is_deeply($l, { cpu => '100 200', as => '3000000000 3500000000',
                    nproc => '40000 40001' },
              'tenant a perl (suexec): /proc/PID/limits');
    # tenant B's vhost sets none: what httpd has
    $e = env_of(hget('hosting_b', '/app.php?limits=1'));
    is($e->{limit_max_cpu_time} // '', $httpd_lim->{cpu},
       "tenant b php: no RLimitCPU: httpd's ($httpd_lim->{cpu})");
    is($e->{limit_max_processes} // '', $httpd_lim->{nproc},
       "tenant b php: no RLimitNPROC: httpd's ($httpd_lim->{nproc})");
}
limits_ok('plain php', 'hosting_plain', '/app.php',
          cpu => '101 201', as => '3000000001 3500000001',
          nproc => '40002 40003');

# ---------------------------------------------------------------------
# Environment

my %httpd_env = do {
    open my $fh, '<', "/proc/$httpd_pid/environ" or die "environ: $!";
    local $/;
    map { /^([^=]*)=(.*)$/s ? ($1 => $2) : () } split /\0/, <$fh>;
};
is($httpd_env{FCGIX_HOSTING_LEAK}, 'httpd-environment-only',
   'httpd runs with FCGIX_HOSTING_LEAK in its environment');

# FcgixInitialEnv NAME [value] of every configuration file of the suite
my %initial;
for my $f (glob catfile(Apache::Test::vars('t_conf'), '*.conf')) {
    open my $fh, '<', $f or next;
    while (my $l = <$fh>) {
        $initial{$1} = 1 if $l =~ /^\s*FcgixInitialEnv\s+(\S+)/i;
    }
}
ok($initial{HOSTING_INITIAL}, 'hosting.conf sets FcgixInitialEnv HOSTING_INITIAL');

sub env_lines {
    my ($r) = @_;
    my %env;
    for (split /\n/, $r->{body}) {
        $env{$1} = $2 if /^env_([^=]+)=(.*)$/;
    }
    return \%env;
}

# no variable of httpd's (same name and value) but PATH
sub no_leak_ok {
    my ($name, $env) = @_;
    ok(keys %$env, "$name: reports its environment");
    ok(!exists $env->{FCGIX_HOSTING_LEAK}, "$name: no FCGIX_HOSTING_LEAK");
    my @same = grep { $_ ne 'PATH' && defined $httpd_env{$_}
                      && $httpd_env{$_} eq $env->{$_} } sort keys %$env;
    ok(!@same, "$name: nothing else of httpd's environment")
        or diag("leaked: @same");
}

for (['plain php', 'hosting_plain', '/app.php?env=1'],
     ['plain perl (virtual wrapper)', 'hosting_plain', '/virt/?env=1']) {
    my ($name, $vhost, $path) = @$_;
    my $r = hget($vhost, $path);
    my $env = env_lines($r);
    no_leak_ok($name, $env);
    is($env->{HOSTING_INITIAL}, 'hosting-initial-value',
       "$name: FcgixInitialEnv HOSTING_INITIAL");
    my @other = grep { $_ ne 'PATH' && !$initial{$_} } sort keys %$env;
    ok(!@other, "$name: only PATH and FcgixInitialEnv variables")
        or diag("also: @other");
}

SKIP: {
    skip "suexec: $why", 1 unless $suexec;
    # suexec itself keeps only its list of safe variables
    no_leak_ok('tenant a php (suexec)',
               env_lines(hget('hosting_a', '/app.php?env=1')));
    no_leak_ok('tenant a perl (suexec)',
               env_lines(hget('hosting_a', '/app.pl?env=1')));
    no_leak_ok('~a perl (suexec userdir)',
               env_lines(hget('hosting_u',
                              '/~' . tenant('a')->{user} . '/app.pl?env=1')));
}

done_testing();
