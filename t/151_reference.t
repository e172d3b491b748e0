# The directive reference (docs/directives.md, issue 20) against the
# module's command table as httpd itself reports it (`apache2 -L` with the
# build's mod_fcgix.so loaded): every directive has an entry and every
# entry a directive; each entry has every row of the manual's layout
# (Description, Syntax, Default, Context, Override, Status, Maps to,
# Aliases) and an example; its Context is the one httpd enforces, its
# Override says whether .htaccess may use it; an alias maps to native
# entries that exist and the native entry lists it back; the index lists
# every directive; every link inside the file has its anchor; the README
# links the reference.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test ();
use File::Path ();
use Test::More;

my $top   = Apache::Test::vars('top_dir');
my $httpd = Apache::Test::vars('httpd');
my $lib   = Apache::Test::vars('fcgix_libexecdir')
            || '/usr/lib/apache2/modules';
my $work  = Apache::Test::vars('t_logs') . '/reference';
File::Path::make_path($work);

sub slurp {
    open my $fh, '<', $_[0] or die "$_[0]: $!";
    local $/;
    <$fh>;
}

# ---------------------------------------------------------------------
# The command table, from httpd
open my $cf, '>', "$work/httpd.conf" or die "$work/httpd.conf: $!";
print $cf <<"EOC";
ServerRoot "$work"
ServerName 127.0.0.1
ErrorLog "$work/error_log"
PidFile "$work/httpd.pid"
<IfModule !mpm_event_module>
    LoadModule mpm_event_module "$lib/mod_mpm_event.so"
</IfModule>
LoadModule fcgix_module "$top/.libs/mod_fcgix.so"
EOC
close $cf;
my $out = `"$httpd" -f "$work/httpd.conf" -L 2>&1`;
is($?, 0, 'httpd -L with mod_fcgix loaded') or diag($out);

my %ctx_of = (
    'Allowed in *.conf only outside <Directory>, <Files>, <Location>, or <If>'
        => 'server config, virtual host',
    'Allowed in *.conf anywhere'
        => 'server config, virtual host, directory',
    'Allowed in *.conf anywhere and in .htaccess'
        => 'server config, virtual host, directory, .htaccess',
    'Allowed in *.conf only inside <Directory>, <Files>, <Location>, or <If>'
      . ' and in .htaccess'
        => 'directory, .htaccess',
);
my (@table, %table);
my @lines = split /\n/, $out;
for my $i (0 .. $#lines) {
    next unless $lines[$i] =~ /^(\S+) \(mod_fcgix\.c\)$/;
    my $name = $1;
    my $last = $i + 3 < $#lines ? $i + 3 : $#lines;
    my ($allowed) = grep { /^\tAllowed in / } @lines[$i + 1 .. $last];
    $allowed //= '';
    $allowed =~ s/^\t//;
    push @table, $name;
    $table{$name} = { allowed => $allowed, ctx => $ctx_of{$allowed} };
}
ok(@table >= 100, scalar(@table) . ' directives in the command table');
my @odd = grep { !defined $table{$_}{ctx} } @table;
is("@odd", '', 'each has one of the four contexts this test knows');

# ---------------------------------------------------------------------
# The reference
my $ref = "$top/docs/directives.md";
my $doc = slurp($ref);
my @rows = ('Description', 'Syntax', 'Default', 'Context', 'Override',
            'Status', 'Maps to', 'Aliases');
my %status_ok = map { $_ => 1 } ('native', 'mod_fcgid alias',
    'mod_fcgid deprecated alias', 'mod_fastcgi alias', 'mod_php alias');

# GitHub's anchors: lower case, spaces to '-', punctuation but - and _ out
sub anchor {
    my $a = lc shift;
    $a =~ s/[^\w\- ]//g;
    $a =~ s/ /-/g;
    $a;
}
my %anchors = map { anchor($_) => 1 } ($doc =~ /^#+ +(.+?)\s*$/mg);

my (%entry, @order);
for my $chunk (split /^(?=### )/m, $doc) {
    next unless $chunk =~ /^### +(\S+)\s*\n/;
    my $name = $1;
    my %row;
    while ($chunk =~ /^\| *([A-Z][a-z]+(?: to)?) *\| *(.*?) *\|\s*$/mg) {
        $row{$1} //= $2;    # the entry's own table comes first
    }
    push @order, $name;
    $entry{$name} = { row => \%row, text => $chunk,
                      dup => exists $entry{$name} };
}

my @missing = grep { !$entry{$_} } @table;
is("@missing", '', 'every directive has an entry');
my @extra = grep { !$table{$_} } @order;
is("@extra", '', 'every entry is a directive');
my @dups = grep { $entry{$_}{dup} } @order;
is("@dups", '', 'no directive has two entries');

my (@rowless, @badctx, @badovr, @badstat, @badsyn, @noex, @badmap,
    @unlisted);
for my $name (grep { $table{$_} } @order) {
    my $e = $entry{$name};
    my $r = $e->{row};
    my @no = grep { !defined $r->{$_} || $r->{$_} eq '' } @rows;
    push @rowless, "$name(@no)" if @no;
    my $want = $table{$name}{ctx} // '?';
    push @badctx, "$name: '" . ($r->{Context} // '') . "' not '$want'"
        if ($r->{Context} // '') ne $want;
    my $htaccess = $want =~ /\.htaccess/;
    my $ovr = $r->{Override} // '';
    push @badovr, "$name: '$ovr'"
        if $htaccess
           ? $ovr !~ /^(?:AuthConfig|FileInfo|Indexes|Limit|Options)
                       (?:, (?:AuthConfig|FileInfo|Indexes|Limit|Options))*$/x
           : $ovr ne 'none';
    my $st = $r->{Status} // '';
    push @badstat, "$name: '$st'"
        unless $status_ok{$st}
               && (($name =~ /^Fcgix/) == ($st eq 'native'));
    push @badsyn, $name unless ($r->{Syntax} // '') =~ /^`\Q$name\E\b/;
    push @noex, $name unless $e->{text} =~ /^```apache\n.*?\S.*?^```/ms;
    my $maps = $r->{'Maps to'} // '';
    if ($st eq 'native') {
        push @badmap, "$name: Maps to '$maps'" unless $maps eq '—';
    }
    else {
        push @badmap, "$name: Aliases '$r->{Aliases}'"
            unless ($r->{Aliases} // '') eq '—';
        for my $t ($maps =~ /\]\(#([^)]+)\)/g) {
            my ($native) = grep { lc($_) eq $t } @table;
            if (!$native || $native !~ /^Fcgix/) {
                push @badmap, "$name -> #$t (no native directive)";
            }
            elsif (($entry{$native}{row}{Aliases} // '')
                   !~ /\[\Q$name\E\]\(#\Q${\ anchor($name)}\E\)/) {
                push @unlisted, "$native lacks $name";
            }
        }
    }
}
is("@rowless", '', 'every entry has every row');
is(join('; ', @badctx), '', 'every Context is the one httpd enforces');
is(join('; ', @badovr), '',
   'Override: an AllowOverride class exactly where .htaccess may use it');
is(join('; ', @badstat), '', 'Status: native for Fcgix*, an alias else');
is("@badsyn", '', 'every Syntax starts with the directive');
is("@noex", '', 'every entry has an example');
is(join('; ', @badmap), '', 'aliases map to native directives');
is(join('; ', @unlisted), '', 'native entries list their aliases back');

# every alias of the command table ("alias of X") is listed under X
my @hidden;
for my $i (0 .. $#lines) {
    next unless $lines[$i] =~ /^(\S+) \(mod_fcgix\.c\)$/;
    my $name = $1;
    my ($native) = ($lines[$i + 1] // '') =~ /^\talias of (Fcgix\w+)/;
    next unless $native;
    push @hidden, "$native lacks $name"
        unless ($entry{$native}{row}{Aliases} // '') =~ /\[\Q$name\E\]/;
}
is(join('; ', @hidden), '', "httpd's 'alias of' descriptions agree");

my ($index) = $doc =~ /^## +[^\n]*\bIndex\b[^\n]*\n(.*?)^## /msi;
ok(defined $index, 'the reference has an index');
my @unindexed = grep { ($index // '') !~ /\[\Q$_\E\]\(#\Q${\ anchor($_)}\E\)/ }
                @table;
is("@unindexed", '', 'the index lists every directive');

# the index says what the entries say
my @disagree;
while (($index // '') =~ /^\| *\[(\S+?)\]\(#[^)]+\) *\| *(.*?) *\| *(.*?) *\|\s*$/mg) {
    my ($name, $st, $ctx) = ($1, $2, $3);
    my $r = $entry{$name} ? $entry{$name}{row} : {};
    push @disagree, "$name: '$st' / '$ctx'"
        if $st ne ($r->{Status} // '') || $ctx ne ($r->{Context} // '');
}
is(join('; ', @disagree), '', "the index's Status and Context agree with "
                              . 'the entries');

my @dangling = grep { !$anchors{$_} } ($doc =~ /\]\(#([^)]+)\)/g);
is(join(' ', sort keys %{{ map { $_ => 1 } @dangling }}), '',
   'every link inside the reference has its anchor');

like(slurp("$top/README"), qr{docs/directives\.md},
     'the README links the reference');

done_testing();
