package FcgixMetrics;
# The status handler's ?metrics read back (t/130, t/131): the Prometheus
# text format parsed into samples, and sums of the samples whose labels
# match.
#
#   my ($res, $m) = metrics_get('/metrics-status');
#   metric_val($m, 'fcgix_backend_requests_total', server => $path,
#              outcome => 'ok')
use strict;
use warnings;
use Exporter 'import';
use FcgixTest ();

our @EXPORT = qw(metrics_parse metrics_get metric_val metric_count);

# { m => { name => [ [ {labels}, value ], ... ] }, type => { name => TYPE },
#   bad => [ lines that did not parse ] }
sub metrics_parse {
    my ($text) = @_;
    my (%m, %type, @bad);
    for my $l (split /\n/, $text) {
        if ($l =~ /^# TYPE (\w+) (\w+)$/) {
            $type{$1} = $2;
        }
        elsif ($l =~ /^#/) {
            next;
        }
        elsif ($l =~ /^(\w+)(?:\{(.*)\})? (\S+)$/) {
            my ($name, $ls, $v) = ($1, $2 // '', $3);
            my %lab;
            while ($ls =~ /\G(\w+)="((?:[^"\\]|\\.)*)",?/gc) {
                my ($k, $x) = ($1, $2);
                $x =~ s/\\n/\n/g;
                $x =~ s/\\(.)/$1/g;
                $lab{$k} = $x;
            }
            push @bad, $l if (pos($ls) // 0) != length $ls;
            push @{ $m{$name} }, [\%lab, $v eq '+Inf' ? 9**9**9 : $v];
        }
        else {
            push @bad, $l;
        }
    }
    return { m => \%m, type => \%type, bad => \@bad };
}

# ($response, parsed or undef) of $location?metrics
sub metrics_get {
    my ($location) = @_;
    my $r = FcgixTest::http(path => "$location?metrics");
    return ($r, $r->{status} == 200 ? metrics_parse($r->{body}) : undef);
}

sub _match {
    my ($s, $want) = @_;
    !grep { ($s->[0]{$_} // "\0") ne $want->{$_} } keys %$want;
}

# The sum of the samples of $name whose labels include %want.
sub metric_val {
    my ($p, $name, %want) = @_;
    my $sum = 0;
    $sum += $_->[1] for grep { _match($_, \%want) } @{ $p->{m}{$name} || [] };
    return $sum;
}

# How many samples of $name have labels including %want.
sub metric_count {
    my ($p, $name, %want) = @_;
    scalar grep { _match($_, \%want) } @{ $p->{m}{$name} || [] };
}

1;
