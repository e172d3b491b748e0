# Processes follow the configuration (issue 12). An httpd of its own
# (t/logs/pmconfig) with virtual hosts on ports of their own:
#  * a class belongs to its virtual host by name and port, not position:
#    adding a virtual host in front of the others (graceful) keeps every
#    running process, and no class is duplicated;
#  * a virtual host removed (graceful): its processes end, the others'
#    stay;
#  * mod_fcgix removed from the configuration (graceful): every
#    application and the process manager end, httpd goes on serving;
#  * the status page names classes' virtual hosts and users, and drops
#    the classes of a removed host.
# One host uses mod_fastcgi's handler name, another mod_fcgid's.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use Test::More;
use IO::Socket::INET;
use Time::HiRes ();
use FcgixTest;
use FcgixPM;

# three distinct free ports (each socket held until all are picked)
my @ports = do {
    my @s = map { IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                        LocalPort => 0, Listen => 1)
                  or die "no free port: $!" } 1 .. 3;
    map { $_->sockport } @s;
};
my $docroot = pm_docroot();
my $app = pm_app_path('app.pl');

sub vhost {
    my ($i, $handler) = @_;
    return <<"EOV";
Listen 127.0.0.1:$ports[$i]
<VirtualHost 127.0.0.1:$ports[$i]>
    ServerName host$i.test
    DocumentRoot "$docroot"
    <Directory "$docroot/pm">
        Options +ExecCGI
        AddHandler $handler .pl
    </Directory>
</VirtualHost>
EOV
}

my $status = <<'EOS';
<Location /fcgix-status>
    SetHandler fcgix-status
</Location>
EOS
my $h = eval { pm_own_httpd(name => 'pmconfig',
                            body => $status . vhost(1, 'fastcgi-script')
                                    . vhost(2, 'fcgid-script')) };
ok($h, 'own httpd started') or BAIL_OUT("own httpd: $@");
my $httpd = Apache::Test::vars('httpd');

sub conf_write {
    my ($body, $without_fcgix) = @_;
    $body = $status . $body unless $without_fcgix;
    my $c = pm_own_httpd_conf(root => $h->{root}, port => $h->{port},
                              body => $body);
    if ($without_fcgix) {
        $c =~ s/^LoadModule fcgix_module .*$//m;
    }
    open my $fh, '>', $h->{conf} or die "$h->{conf}: $!";
    print $fh $c;
    close $fh;
}

sub graceful {
    my ($name) = @_;
    my $off = -s $h->{log} || 0;
    system($httpd, '-f', $h->{conf}, '-k', 'graceful') == 0
        or diag("graceful: $?");
    ok(pm_wait_until(15, sub {
        open my $f, '<', $h->{log} or return;
        seek $f, $off, 0;
        local $/;
        (<$f> // '') =~ /resuming normal operations/;
    }), "$name: graceful restart done");
}

sub pid_on {
    my ($i) = @_;
    my $r = pm_get(port => $ports[$i], path => "/pm/app.pl?host=$i",
                   timeout => 20);
    return $r->{status} == 200 ? $r->{kv}{pid} : undef;
}

my $pm = pm_wait_until(5, sub { pm_pm_pid($h->{pid}) });

# This httpd's processes running the application (the main test server
# may run it too)
sub ours {
    return sort { $a <=> $b }
           grep { (pm_proc_info($_) || {})->{ppid} == $pm } pm_procs($app);
}
my %pid = map { $_ => pid_on($_) } 1, 2;
ok($pid{1} && $pid{2} && $pid{1} != $pid{2},
   "host 1 and host 2 have a process each ($pid{1}, $pid{2})");

# A virtual host added in front of the others
conf_write(vhost(0, 'fastcgi-script') . vhost(1, 'fastcgi-script')
           . vhost(2, 'fcgid-script'));
graceful('add');
is(pm_pm_pid($h->{pid}) // 0, $pm, 'add: the process manager was kept');
is(pid_on(1) // 0, $pid{1}, 'add: host 1 is served by the same process');
is(pid_on(2) // 0, $pid{2}, 'add: host 2 is served by the same process');
my $p0 = pid_on(0);
ok($p0 && $p0 != $pid{1} && $p0 != $pid{2},
   "add: the new host 0 got a process of its own ($p0)");
is_deeply([ours()], [sort { $a <=> $b } $p0, $pid{1}, $pid{2}],
          'add: three processes in all, none duplicated');

# The classes' virtual hosts and users, by name
sub classes {
    my $r = pm_get(port => $h->{port}, path => '/fcgix-status?json');
    return [ $r->{body} =~ /"path":"[^"]*app\.pl","user":"([^"]*)",
                           "uid":\d+,"gid":\d+,"vhost":"([^"]*)"/xg ];
}
my %vh = @{ classes() }[map { $_ * 2 + 1, $_ * 2 } 0 .. 2];
is_deeply([sort keys %vh], ["host0.test:0", "host1.test:0", "host2.test:0"],
          'status page: the classes name their virtual hosts')
    or diag(explain(classes()));
is_deeply([sort values %vh], [(Apache::Test::vars('user')) x 3],
          'status page: ... and their user');

# A virtual host removed
conf_write(vhost(0, 'fastcgi-script') . vhost(2, 'fcgid-script'));
graceful('remove');
ok(pm_wait_until(20, sub { !pm_proc_info($pid{1}) }),
   "remove: host 1's process ($pid{1}) ended");
ok(pm_wait_until(10, sub { !grep { /host1/ } @{ classes() } }),
   'remove: the status page no longer lists its class');
ok(pm_proc_info($pid{2}) && pm_proc_info($p0),
   'remove: the other hosts\' processes stay');
is(pid_on(2) // 0, $pid{2}, 'remove: host 2 is still served by it');

# mod_fcgix no longer loaded
conf_write(vhost(0, 'fastcgi-script') . vhost(2, 'fcgid-script'), 1);
graceful('unload');
my @left = ours();
ok(pm_wait_until(30, sub { !grep { pm_proc_info($_) } @left }),
   "unload: every application ended (@left)");
ok(pm_wait_until(10, sub { !pm_proc_info($pm) }),
   "unload: the process manager ($pm) ended");
my $r = pm_get(port => $h->{port}, path => '/');
ok($r->{status} && $r->{status} < 500, "unload: httpd still serves "
   . "($r->{status})");

pm_own_httpd_stop($h);
# (a configuration that failed to load would make -k stop fail too)
kill 'TERM', $h->{pid}
    unless pm_wait_until(10, sub { !kill 0, $h->{pid} });
done_testing();
