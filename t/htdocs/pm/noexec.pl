#!/usr/bin/perl
# Not executable (mode 0644): mod_fcgix must refuse to run it (403) and
# must never send this source (t/060).
print "Content-Type: text/plain\r\n\r\nSECRET-SOURCE-MARKER\n";
