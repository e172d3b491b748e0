#!/bin/sh
# A tenant's php-cgi wrapper (t/070-075): FcgidWrapper names this file, and
# suexec runs it as the tenant, so it is the tenant's own (t/TEST.PL copies
# it into /var/www/fcgix-hosting-<port>/<tenant>/bin/, owned by the tenant,
# mode 0755, as suexec requires).  php-cgi finds the listen socket on fd 0.
exec /usr/bin/php-cgi -d cgi.force_redirect=0 -d display_errors=stderr \
    -d log_errors=0 -d output_buffering=0 -d expose_php=0 "$@"
