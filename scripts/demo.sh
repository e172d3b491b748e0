#!/bin/bash
# Runs (or stops) a demo: httpd on 127.0.0.1:PORT serving the bundled C
# FastCGI application through mod_fcgix. Usage: demo.sh start|stop [PORT]
set -euo pipefail

action=${1:-start}
port=${2:-8080}
top=$(cd "$(dirname "$0")/.." && pwd)
run=/tmp/fcgix-demo-$port
httpd=$(apxs -q SBINDIR)/$(apxs -q TARGET)
moddir=$(apxs -q LIBEXECDIR)

stop() {
    if [ -f "$run/httpd.pid" ]; then
        "$httpd" -f "$run/httpd.conf" -k stop 2>/dev/null || true
        for _ in $(seq 50); do
            [ -f "$run/httpd.pid" ] || break
            sleep 0.1
        done
    fi
    if [ -f "$run/app/app.pid" ]; then
        kill "$(cat "$run/app/app.pid")" 2>/dev/null || true
        rm -f "$run/app/app.pid"
    fi
}

if [ "$action" = stop ]; then
    stop
    echo "demo on port $port stopped"
    exit 0
fi

stop
# World-readable: httpd's children run as an unprivileged user.
mkdir -p "$run/htdocs" "$run/logs" "$run/app"
chmod 755 "$run" "$run/htdocs" "$run/logs" "$run/app"
# The application's own directory: its socket and pid file.
chown nobody:nogroup "$run/app"
install -m 755 "$top/t/apps/fcgix_testapp" "$run/fcgix_testapp"
cat > "$run/htdocs/index.html" <<HTML
<!doctype html><title>mod_fcgix demo</title>
<h1>mod_fcgix demo</h1>
<p>Everything under <a href="/app/hello?name=world">/app/</a> is served by
a FastCGI application (t/apps/fcgix_testapp) over a unix socket.</p>
<ul>
<li><a href="/app/hello?name=world">the CGI environment it receives</a>
<li><a href="/app/big?bytes=1048576">1 MiB streamed from the app</a>
<li><a href="/app/slow?headers_then_sleep=2000">a reply that streams
  ("first" now, "last" 2 s later)</a>
<li><a href="/app/missing?status=404">a Status: 404 from the app</a>
</ul>
HTML
chmod 644 "$run/htdocs/index.html"
cat > "$run/httpd.conf" <<CONF
ServerRoot $run
ServerName 127.0.0.1
Listen 127.0.0.1:$port
LoadModule mpm_event_module $moddir/mod_mpm_event.so
LoadModule authz_core_module $moddir/mod_authz_core.so
LoadModule mime_module $moddir/mod_mime.so
LoadModule dir_module $moddir/mod_dir.so
LoadModule fcgix_module $top/.libs/mod_fcgix.so
User nobody
Group nogroup
PidFile $run/httpd.pid
ErrorLog $run/logs/error_log
LogLevel warn
TypesConfig /etc/mime.types
DocumentRoot $run/htdocs
DirectoryIndex index.html
<Directory $run/htdocs>
    Require all granted
</Directory>
# Every URL below /app goes to the application; the rest is PATH_INFO.
FcgixExternalServer $run/htdocs/app unix:$run/app/app.sock io-timeout=30
CONF

# The application runs as nobody too: it never needs root.
runuser -u nobody -- "$run/fcgix_testapp" -l "unix:$run/app/app.sock" \
    -p "$run/app/app.pid" </dev/null >>"$run/logs/app.log" 2>&1 &
for _ in $(seq 50); do
    [ -S "$run/app/app.sock" ] && break
    sleep 0.1
done
"$httpd" -f "$run/httpd.conf" -k start
for _ in $(seq 50); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
done
echo
echo "mod_fcgix demo running: http://127.0.0.1:$port/"
echo "try:  curl 'http://127.0.0.1:$port/app/hello?name=world'"
curl -s "http://127.0.0.1:$port/app/hello?name=world" | \
    grep -E '^(SCRIPT_NAME|PATH_INFO|QUERY_STRING)=' || true
echo "logs: $run/logs/error_log"
echo "stop: make -f Makefile.apxs demo-stop DEMO_PORT=$port"
