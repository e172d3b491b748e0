package FcgixDebian;
# Helpers of the tests that build a Debian /etc/apache2 layout of their
# own below t/logs and run Debian's tools and httpd on it (t/085, t/141).
#
#  layout_env($root)      the variables Debian's envvars sets, for a
#                         layout rooted at $root (APACHE_CONFDIR etc.; the
#                         suite's User and Group), as a list
#  layout_envvars($root)  the text of $root/envvars: export lines for the
#                         variables httpd itself reads (RUN, PID, LOCK, LOG)
#  run_in($root, @cmd)    @cmd with that environment, stdin /dev/null,
#                         stderr into stdout: (exit code, output)
#  httpd_ctl($h, @args)   apache2 -d ROOT -f ROOT/apache2.conf @args, as
#                         apache2ctl runs it, for $h->{root}: as run_in
use strict;
use warnings;

use Apache::Test ();

use Exporter 'import';
our @EXPORT = qw(layout_env layout_envvars run_in httpd_ctl);

sub layout_env {
    my ($root) = @_;
    return (APACHE_CONFDIR => $root, APACHE_ENVVARS => "$root/envvars",
            APACHE_STATE_DIRECTORY => "$root/state",
            APACHE_RUN_USER => Apache::Test::vars('user'),
            APACHE_RUN_GROUP => Apache::Test::vars('group'),
            APACHE_PID_FILE => "$root/run/apache2.pid",
            APACHE_RUN_DIR => "$root/run", APACHE_LOCK_DIR => "$root/lock",
            APACHE_LOG_DIR => "$root/logs", LANG => 'C');
}

sub layout_envvars {
    my ($root) = @_;
    my %e = layout_env($root);
    join '', map { "export $_=$e{$_}\n" }
             grep { /^APACHE_(RUN|PID|LOCK|LOG)/ } sort keys %e;
}

sub run_in {
    my ($root, @cmd) = @_;
    local %ENV = (%ENV, layout_env($root));
    my $pid = open my $fh, '-|';
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        open STDIN, '<', '/dev/null';
        exec @cmd or exit 127;
    }
    local $/;
    my $text = <$fh> // '';
    close $fh;
    ($? >> 8, $text);
}

sub httpd_ctl {
    my ($h, @args) = @_;
    # no core files (Apache::Test's "ulimit -c unlimited" is inherited)
    run_in($h->{root}, '/bin/sh', '-c',
           'ulimit -c 0; r=$1; shift; exec "$0" -d "$r" -f "$r/apache2.conf"'
           . ' "$@"', Apache::Test::vars('httpd'), $h->{root}, @args);
}

1;
