package FcgixPrefork;
# The pre-forking parent of the suite's Perl FastCGI applications
# (t/apps/echo.pl, t/apps/auth.pl): they listen, then hand their workers
# to this.
#
#  prefork_pidfile($path)  writes our pid to $path (through a rename, so a
#                          reader never sees half of it); nothing for undef
#  prefork_run(KIND => [$count, \&worker], ...)
#        forks $count processes of each kind, in the order given, each
#        running its worker with SIGTERM, SIGINT and SIGCHLD at their
#        defaults, and replaces one that ends (a worker crashing on purpose
#        is a test case) until SIGTERM or SIGINT; then stops them (SIGTERM,
#        SIGKILL after 2.5 s) and returns, in the parent only.
use strict;
use warnings;

use POSIX ();
use Time::HiRes ();

use Exporter 'import';
our @EXPORT = qw(prefork_pidfile prefork_run);

sub prefork_pidfile {
    my ($pidfile) = @_;
    return unless $pidfile;
    open my $fh, '>', "$pidfile.tmp" or die "$pidfile.tmp: $!";
    print $fh "$$\n";
    close $fh;
    rename "$pidfile.tmp", $pidfile or die "rename $pidfile: $!";
}

sub prefork_run {
    my (@kinds) = @_;
    my %kinds = @kinds;
    my %kids;   # pid => kind
    my $stopping = 0;

    my $spawn = sub {
        my ($kind) = @_;
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            $SIG{TERM} = $SIG{INT} = 'DEFAULT';
            $SIG{CHLD} = 'DEFAULT';
            $kinds{$kind}[1]->();
            POSIX::_exit(0);
        }
        $kids{$pid} = $kind;
    };

    # perl restarts waitpid() after a signal, so the handler itself stops
    # the workers; the waitpid below then returns as they exit.
    $SIG{TERM} = $SIG{INT} = sub { $stopping = 1; kill 'TERM', keys %kids };
    for my $i (grep { $_ % 2 == 0 } 0 .. $#kinds) {
        $spawn->($kinds[$i]) for 1 .. $kinds[$i + 1][0];
    }
    while (!$stopping) {
        my $pid = waitpid(-1, 0);
        if ($pid > 0) {
            my $kind = delete $kids{$pid};
            $spawn->($kind) if $kind && !$stopping;
        }
        elsif ($pid < 0 && !$stopping) {
            sleep 1;
        }
    }
    kill 'TERM', keys %kids;
    for (1 .. 50) {
        last unless %kids;
        my $pid = waitpid(-1, POSIX::WNOHANG());
        if ($pid > 0) { delete $kids{$pid}; next }
        Time::HiRes::sleep(0.05);
    }
    kill 'KILL', keys %kids if %kids;
}

1;
