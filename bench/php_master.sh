#!/bin/bash
# bench/php_master.sh — one php-cgi master with N workers against N php-cgi
# processes of their own (mod_fcgid's model), both spawned by mod_fcgix
# (issue 15; README "Performance", PHP table).
#
#   bench/php_master.sh            # as root, after `make -f Makefile.apxs`
#
# A PHP page that includes 200 files (each a class with a few methods, so
# compiling matters and opcache counts). Two httpds of their own on
# 127.0.0.1, event MPM, the same php-cgi through FcgidWrapper:
#   procs   FcgidMaxProcessesPerClass N, PHP_FCGI_CHILDREN=0: N processes,
#           one request each, each its own opcode cache
#   master  FcgidInitialEnv PHP_FCGI_CHILDREN N, FcgidMaxProcessesPerClass
#           N: one master, N workers sharing one cache
# For each: a first request (cold), wrk (BENCH_CONNS connections,
# BENCH_SECONDS s after a 2 s warm-up), then the sum of the PSS of every
# php-cgi process of the class (/proc/PID/smaps_rollup), which counts a
# shared page once over all who share it. Writes a Markdown table to
# stdout and bench/results/php_master.md.
set -euo pipefail

N=${BENCH_PHP_WORKERS:-8}
CONNS=${BENCH_CONNS:-16}
SECS=${BENCH_SECONDS:-10}
FILES=${BENCH_PHP_FILES:-200}
TOP=$(cd "$(dirname "$0")/.." && pwd)
W=/tmp/fcgix-bench-php
PHP=/usr/bin/php-cgi
LIB=$(apxs -q LIBEXECDIR 2>/dev/null || echo /usr/lib/apache2/modules)
RUNUSER=${BENCH_USER:-www-data}

command -v wrk >/dev/null || { echo "wrk not installed (bench/run.sh installs it)" >&2; exit 1; }
[ -x "$PHP" ] || { echo "$PHP not installed (scripts/deps.sh test)" >&2; exit 1; }
[ -e "$TOP/.libs/mod_fcgix.so" ] || { echo "build first: make -f Makefile.apxs" >&2; exit 1; }

PIDS=()
cleanup() {
    for d in procs master; do
        [ -f "$W/$d/httpd.pid" ] && apache2 -f "$W/$d/httpd.conf" -k stop 2>/dev/null || true
    done
}
trap cleanup EXIT

rm -rf "$W"
mkdir -p "$W/www/inc"
for i in $(seq 1 "$FILES"); do
    {
        echo "<?php"
        echo "class C$i {"
        for m in 1 2 3 4 5 6; do
            echo "    public function m$m(\$x) { \$a = [];"
            echo "        for (\$k = 0; \$k < 3; \$k++) { \$a[] = str_repeat('x$i', \$k) . \$x; }"
            echo "        return count(\$a) + strlen(implode(',', \$a)); }"
        done
        echo "}"
    } > "$W/www/inc/c$i.php"
done
{
    echo "<?php"
    echo "\$n = 0;"
    echo "for (\$i = 1; \$i <= $FILES; \$i++) { require_once __DIR__ . \"/inc/c\$i.php\"; }"
    echo "\$o = new C$FILES(); echo 'ok ', \$o->m1('y'), \"\\n\";"
} > "$W/www/index.php"
chmod -R a+rX "$W"

conf() {
    local name=$1 port=$2 env=$3
    mkdir -p "$W/$name/logs" "$W/$name/run"
    cat > "$W/$name/httpd.conf" <<EOC
ServerRoot "$W/$name"
Listen 127.0.0.1:$port
ServerName 127.0.0.1
PidFile "$W/$name/httpd.pid"
ErrorLog "$W/$name/logs/error_log"
LogLevel warn
DefaultRuntimeDir "$W/$name/run"
User $RUNUSER
Group $RUNUSER
LoadModule mpm_event_module "$LIB/mod_mpm_event.so"
LoadModule authz_core_module "$LIB/mod_authz_core.so"
LoadModule mime_module "$LIB/mod_mime.so"
LoadModule fcgix_module "$TOP/.libs/mod_fcgix.so"
TypesConfig /etc/mime.types
StartServers 2
ThreadsPerChild 64
MaxRequestWorkers 128
ServerLimit 2
FcgixIpcDir "$W/$name/run/fcgix"
DocumentRoot "$W/www"
FcgidMaxProcessesPerClass $N
FcgidIdleTimeout 600
$env
<Directory "$W/www">
    Options +ExecCGI
    AddHandler fcgid-script .php
    FcgidWrapper "$PHP -d opcache.enable=1 -d opcache.validate_timestamps=0" .php
    Require all granted
</Directory>
EOC
}

# The class's php-cgi processes: children of this httpd's process manager
# (singles, masters) and their children (a master's workers).
class_pids() {
    local pm pid pp
    pm=$(pgrep -x fcgix-pm -P "$(cat "$W/$1/httpd.pid")" | head -1)
    for pid in $(pgrep -x php-cgi); do
        pp=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null || echo 0)
        if [ "$pp" = "$pm" ] || [ "$(awk '{print $4}' "/proc/$pp/stat" 2>/dev/null)" = "$pm" ]; then
            echo "$pid"
        fi
    done
}

pss_kib() {
    local total=0 pid
    for pid in "$@"; do
        total=$((total + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

run() {
    local name=$1 port=$2 env=$3 t0 t1 out rps procs
    conf "$name" "$port" "$env"
    apache2 -f "$W/$name/httpd.conf" -k start
    for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
    t0=$(date +%s.%N)
    curl -sf "http://127.0.0.1:$port/index.php" | grep -q '^ok' || { echo "$name: bad reply" >&2; exit 1; }
    t1=$(date +%s.%N)
    wrk -t2 -c"$CONNS" -d2s "http://127.0.0.1:$port/index.php" >/dev/null
    out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$port/index.php")
    echo "$out" > "$W/$name/wrk.txt"
    rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
    local p99; p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    local errs; errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    local pids; pids=$(class_pids "$name")
    procs=$(echo "$pids" | wc -w)
    local pss; pss=$(pss_kib $pids)
    printf '| %s | %s | %.0f | %s | %s | %s | %d | %s |\n' "$name" "$4" \
        "$(echo "($t1 - $t0) * 1000" | bc)" "$rps" "$p99" "$procs" \
        "$((pss / 1024))" "${errs:-none}"
    apache2 -f "$W/$name/httpd.conf" -k stop
    for _ in $(seq 1 50); do kill -0 $pids 2>/dev/null || break; sleep 0.2; done
}

{
    echo "## One php-cgi master vs one process per request ($(date -u +%F), $(nproc) cores)"
    echo
    echo "A page including $FILES files; $N slots; wrk -t2 -c$CONNS, ${SECS} s after 2 s warm-up; PSS = sum over the class's php-cgi processes after the run."
    echo
    echo "| setup | what | first request (ms) | req/s | p99 | php-cgi processes | PSS sum (MiB) | errors |"
    echo "|---|---|---|---|---|---|---|---|"
    run procs 18201 "FcgidInitialEnv PHP_FCGI_CHILDREN 0" "$N processes, one cache each (mod_fcgid's model)"
    run master 18202 "FcgidInitialEnv PHP_FCGI_CHILDREN $N" "1 master, $N workers, one cache"
} | tee "$TOP/bench/results/php_master.md"
