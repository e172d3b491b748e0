#!/bin/bash
# The request path under valgrind (issue 17), from the top of the tree:
#
#   scripts/valgrind.sh [t/NNN_name.t ...]     (make valgrind)
#
# Starts the suite's httpd and backends (perl t/TEST.PL -start-httpd),
# then starts the same httpd again under valgrind's memcheck (the parent,
# the process manager and every httpd child; the applications are not
# traced), runs the given test files against it (by default the request
# path's: responses, buffering, sendfile, the backends, authorizers,
# filters, keep-alive, multiplexing, aborts, GET_VALUES, spawning, errors)
# and stops it, so every process writes its leak report at exit.
#
# Fails on any invalid read or write, use of uninitialised memory, bad
# free or syscall parameter anywhere, and on a definitely lost block whose
# stack is in the module; what httpd, APR and mod_perl keep is counted,
# not judged. The tests' own results are printed, not judged: a server
# ten times slower misses some of their timings (t/051's slow readers).
# Logs: /tmp/fcgix-valgrind/vg.PID.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=/tmp/fcgix-valgrind
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
    tests=(t/020_env.t t/024_response.t t/025_buffering.t t/026_sendfile.t
           t/027_error_override.t t/028_interim.t t/029_continue.t
           t/031_c_unix.t t/034_php_fpm_tcp.t t/036_go.t t/037_perl.t
           t/040_authz.t t/044_filter.t t/050_keepalive.t t/051_mpx.t
           t/052_abort.t t/054_get_values.t t/058_mpx_late.t
           t/060_pm_spawn.t t/100_errors.t)
fi
command -v valgrind >/dev/null || apt-get install -y valgrind >/dev/null
make -f Makefile.apxs WERROR=1 all >/dev/null || exit 1

perl t/TEST.PL -start-httpd >/dev/null 2>&1 || { echo "httpd did not start"; exit 1; }
pid=$(cat t/logs/httpd.pid)
# the exact command line Apache::Test used
mapfile -t -d '' cmd < "/proc/$pid/cmdline"
port=$(perl -ne 'print $1 and exit if /^Listen\s+127\.0\.0\.1:(\d+)/' \
       t/conf/httpd.conf)
kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done

rm -rf "$out"
mkdir -p "$out"
chmod 0777 "$out"
valgrind --trace-children=yes \
    --trace-children-skip='*perl*,*php*,*fcgix_*,*echo-go*,*suexec*,*libfcgi*,*.fcgi,*.pl,*.sh,*/sh' \
    --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --num-callers=30 \
    --log-file="$out/vg.%p" "${cmd[@]}" -k start
up=
for _ in $(seq 1 120); do
    if curl -s -m 5 -o /dev/null "http://127.0.0.1:$port/"; then up=1; break; fi
    sleep 1
done
[ -n "$up" ] || { echo "httpd under valgrind did not answer"; exit 1; }

timeout 1800 perl t/TEST.PL -run-tests "${tests[@]}"
rc=$?
vpid=$(cat t/logs/httpd.pid)
kill -TERM "$vpid"
for _ in $(seq 1 120); do
    pgrep -f "valgrind.*--log-file=$out" >/dev/null || break
    sleep 1
done
perl t/TEST.PL -stop-httpd >/dev/null 2>&1

bad=0
n=0
for f in "$out"/vg.*; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    if grep -qE 'Invalid (read|write|free)|uninitialised|Conditional jump|Syscall param|Mismatched free' "$f"; then
        echo "scripts/valgrind.sh: memory error in $f"; bad=1
    fi
    if awk '/definitely lost in/{s=1; m=0} s && /fcgix_/{m=1}
            /^==[0-9]+== $/{if (s && m) found=1; s=0}
            END{exit !found}' "$f"; then
        echo "scripts/valgrind.sh: a leak in the module's code in $f"; bad=1
    fi
done
lost=$(grep -h 'definitely lost:' "$out"/vg.* 2>/dev/null \
       | awk '{gsub(",", ""); b += $4; k += $7} END{print b+0 " bytes in " k+0 " blocks"}')
echo "scripts/valgrind.sh: $n processes traced, tests rc $rc, definitely" \
     "lost in all: $lost, module reports: $bad"
exit "$bad"
