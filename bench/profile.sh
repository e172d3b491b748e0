#!/bin/bash
# bench/profile.sh - where httpd's CPU goes for one small GET through
# mod_fcgix (issue 19), beside the same GET of a static file: a per-request
# CPU breakdown by binary (kernel, libapr, httpd core, mod_fcgix, ...) and
# the top functions.  See bench/README.md, "Per-request CPU breakdown".
#
#   bench/profile.sh               perf: server CPU µs per request, by binary
#   bench/profile.sh --callgrind   valgrind: instructions per request of one
#                                  single-process httpd (-X), by binary
#
# perf mode: the server as bench/run.sh runs it (event MPM, 2 children x 64
# threads; mod_fcgix with keepalive=4 max-conns=4 to 8 libfcgi processes),
# PROF_REQUESTS requests from ab -k at PROF_CONNS connections after a
# warm-up; httpd's user + system CPU from /proc over exactly those
# requests, split by perf's cpu-clock samples (a software event: this VM
# has no hardware counters).  Kernel time counts.  Noisy on a shared
# machine, like any timing.
# callgrind mode: httpd -X under valgrind; instructions counted only
# while PROF_CG_REQUESTS requests are served one after the other (ab -k
# -c 1).  User space only (no kernel, no waiting), but the same count run
# to run, whatever the machine's load: the measure to compare two builds.
#
# Environment (defaults in brackets):
#   PROF_SERVERS      fcgix static            [fcgix static]
#   PROF_WORKLOAD     small: GET, 14 bytes; get1m: GET of 1 MiB; post1m:
#                     POST of 1 MiB, 14-byte reply (the static server
#                     reads and discards it)          [small]
#   PROF_REQUESTS     requests measured (perf) [40000; 1 MiB: 4000]
#   PROF_CONNS        ab -c (perf)             [16]
#   PROF_CG_REQUESTS  requests measured (callgrind) [2000; 1 MiB: 200]
#   PROF_TOP          functions listed         [25]
#   PROF_DIR          scratch directory        [/tmp/fcgix-bench-prof]
#   PROF_PORT         TCP port on 127.0.0.1    [18190]
#   PROF_PROCS        libfcgi processes        [8]
#   PROF_MODULE       a mod_fcgix.so to profile instead of building this
#                     tree's (another worktree's .libs/mod_fcgix.so: the
#                     before of a before/after)  [this tree, built]
# Output: Markdown on stdout; perf.data / callgrind.out and the generated
# configuration stay in PROF_DIR.  Every process started here is stopped
# by its pid on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
MODE=perf
for arg in "$@"; do
    case $arg in
        --callgrind) MODE=callgrind ;;
        --perf) MODE=perf ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
                   exit 0 ;;
        *) echo "bench/profile.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done
PROF_SERVERS=${PROF_SERVERS:-fcgix static}
PROF_WORKLOAD=${PROF_WORKLOAD:-small}
case $PROF_WORKLOAD in
    small)        PROF_REQUESTS=${PROF_REQUESTS:-40000}
                  PROF_CG_REQUESTS=${PROF_CG_REQUESTS:-2000} ;;
    get1m|post1m) PROF_REQUESTS=${PROF_REQUESTS:-4000}
                  PROF_CG_REQUESTS=${PROF_CG_REQUESTS:-200} ;;
    *) echo "bench/profile.sh: PROF_WORKLOAD is small, get1m or post1m" >&2
       exit 2 ;;
esac
PROF_CONNS=${PROF_CONNS:-16}
PROF_TOP=${PROF_TOP:-25}
PROF_DIR=${PROF_DIR:-/tmp/fcgix-bench-prof}
PROF_PORT=${PROF_PORT:-18190}
PROF_PROCS=${PROF_PROCS:-8}
D=$PROF_DIR
MODDIR=/usr/lib/apache2/modules
KA=$(( PROF_PROCS / 2 > 0 ? PROF_PROCS / 2 : 1 ))

log() { printf '[profile %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (httpd drops to www-data; perf)"
for t in ab curl cc; do
    command -v "$t" >/dev/null || die "$t not found (apache2-utils, curl, build-essential)"
done
if [ "$MODE" = perf ]; then
    command -v perf >/dev/null || die "perf not found (Debian: linux-perf)"
else
    command -v valgrind >/dev/null || die "valgrind not found"
fi

# Processes started here: pid (= session id, setsid) by name.
declare -A PID=()
start_proc() { # name logfile cmd...
    local name=$1 logf=$2
    shift 2
    setsid "$@" >"$logf" 2>&1 </dev/null &
    PID[$name]=$!
}
session_pids() { ps -eo pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'; }
stop_proc() { # name [tenths of a second to wait before KILL]
    local pid=${PID[$1]:-} p
    [ -n "$pid" ] || return 0
    unset "PID[$1]"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 "${2:-100}"); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    for p in $(session_pids "$pid"); do kill -KILL "$p" 2>/dev/null || true; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$? n
    trap - EXIT INT TERM
    for n in "${!PID[@]}"; do stop_proc "$n"; done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

case $D in
    /tmp/*) rm -rf "$D" ;;
    *) [ ! -e "$D" ] || die "$D exists (PROF_DIR must be under /tmp)" ;;
esac
mkdir -p "$D/htdocs" "$D/run"
chmod 0755 "$D" "$D/run"

if [ -n "${PROF_MODULE:-}" ]; then
    [ -f "$PROF_MODULE" ] || die "PROF_MODULE $PROF_MODULE not found"
    MODULE=$(cd "$(dirname "$PROF_MODULE")" && pwd)/$(basename "$PROF_MODULE")
    REV="$MODULE"
else
    log "building mod_fcgix"
    make -C "$TOP" -f Makefile.apxs .libs/mod_fcgix.so >"$D/build.log" 2>&1 ||
        { tail -20 "$D/build.log" >&2; die "mod_fcgix build failed"; }
    MODULE=$TOP/.libs/mod_fcgix.so
    REV=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
    git -C "$TOP" diff --quiet HEAD -- src include mod_fcgix.c 2>/dev/null ||
        REV="$REV+local changes"
fi
log "building the libfcgi app"
cc -std=gnu99 -O2 -Wall -Wextra -o "$D/hello_libfcgi" \
    "$HERE/apps/hello_libfcgi.c" -lfcgi || die "hello_libfcgi build failed"
printf 'Hello, world!\n' >"$D/htdocs/hello.txt"
head -c 1048576 /dev/zero | tr '\0' x >"$D/htdocs/1m.bin"
head -c 1048576 /dev/zero | tr '\0' p >"$D/post.bin"
chmod -R a+rX "$D"

SOCK=$D/run/libfcgi.sock
start_proc backend "$D/backend.log" "$D/hello_libfcgi" -s "$SOCK" -n "$PROF_PROCS"
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || die "backend socket did not appear"

conf() { # server -> path of its httpd.conf
    local s=$1 c=$D/$1.conf extra
    mkdir -p "$D/$s"
    if [ "$s" = fcgix ]; then
        extra="LoadModule fcgix_module $MODULE
FcgixExternalServer $D/htdocs/hello unix:$SOCK keepalive=$KA max-conns=$KA"
    else
        extra="# static: core's default handler"
    fi
    cat >"$c" <<EOF
# generated by bench/profile.sh - $s (as bench/run.sh configures it)
ServerRoot "$D/$s"
DefaultRuntimeDir "$D/$s"
PidFile "$D/$s/httpd.pid"
Listen 127.0.0.1:$PROF_PORT
ServerName 127.0.0.1
User www-data
Group www-data
ErrorLog "$D/$s/error.log"
LogLevel warn
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
StartServers 2
ServerLimit 2
ThreadsPerChild 64
ThreadLimit 64
MaxRequestWorkers 128
MinSpareThreads 64
MaxSpareThreads 128
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
EnableMMAP Off
EnableSendfile On
DocumentRoot "$D/htdocs"
<Directory />
    AllowOverride None
    Require all granted
</Directory>
$extra
EOF
    echo "$c"
}

url_of() { # server [small: the URL that answers "Hello, world!"]
    local w=${2:-$PROF_WORKLOAD}
    case $1/$w in
        fcgix/get1m)  echo "http://127.0.0.1:$PROF_PORT/hello?bytes=1048576" ;;
        fcgix/*)      echo "http://127.0.0.1:$PROF_PORT/hello" ;;
        static/get1m) echo "http://127.0.0.1:$PROF_PORT/1m.bin" ;;
        static/*)     echo "http://127.0.0.1:$PROF_PORT/hello.txt" ;;
    esac
}

wait_up() { # server url [tries]
    for _ in $(seq 1 "${3:-100}"); do
        [ "$(curl -s --max-time 2 "$2" 2>/dev/null || true)" = "Hello, world!" ] &&
            return 0
        kill -0 "${PID[srv]}" 2>/dev/null || break
        sleep 0.2
    done
    cat "$D/$1/error.log" "$D/$1.stdout" >&2 2>/dev/null || true
    die "$1 did not answer $2"
}

ab_run() { # n conns url -> checks every request succeeded
    local out=$D/ab.txt failed non2xx post=()
    [ "$PROF_WORKLOAD" = post1m ] &&
        post=(-p "$D/post.bin" -T application/octet-stream)
    ab -q -k "${post[@]}" -n "$1" -c "$2" "$3" >"$out" 2>&1 ||
        { cat "$out" >&2; die "ab failed"; }
    failed=$(awk '/^Failed requests:/ { print $3 }' "$out")
    non2xx=$(awk '/^Non-2xx responses:/ { print $3 }' "$out")
    [ "${failed:-0}" = 0 ] && [ "${non2xx:-0}" = 0 ] ||
        die "ab: $failed failed, ${non2xx:-0} non-2xx requests ($3)"
}

# Binary of a perf/callgrind object name, in the table's words.
group_of() {
    awk '{
        o = $0; sub(/.*\//, "", o)
        if (o ~ /^\[kernel|^\[vdso|vmlinux/) g = "kernel"
        else if (o ~ /^mod_fcgix/) g = "mod_fcgix"
        else if (o ~ /^libaprutil/) g = "libaprutil"
        else if (o ~ /^libapr-/) g = "libapr"
        else if (o ~ /^apache2$|^httpd$/) g = "httpd core (apache2)"
        else if (o ~ /^mod_mpm_event/) g = "event MPM"
        else if (o ~ /^libc[.-]/) g = "libc"
        else if (o ~ /^ld-linux/) g = "ld.so"
        else if (o ~ /^mod_/) g = "other httpd modules"
        else g = "other (" o ")"
        print g
    }'
}

ticks_of() { # session id -> user + system ticks of its processes
    local list=() p
    for p in $(session_pids "$1"); do list+=("/proc/$p/stat"); done
    [ ${#list[@]} -gt 0 ] || { echo 0; return; }
    cat "${list[@]}" 2>/dev/null |
        awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

declare -A US=() PCT=()   # "server|group" -> µs/req, %
declare -A TOTAL=() CS=()
SYSCALL_H=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
GROUPS_SEEN=""

profile_perf() { # server
    local s=$1 url c pids t0 t1 perf_pid hz
    url=$(url_of "$s")
    c=$(conf "$s")
    start_proc srv "$D/$s.stdout" /usr/sbin/apache2 -f "$c" -DFOREGROUND
    wait_up "$s" "$(url_of "$s" small)"
    log "$s: warm-up"
    ab_run $(( PROF_REQUESTS / 5 )) "$PROF_CONNS" "$url"
    pids=$(session_pids "${PID[srv]}" | paste -sd, -)
    perf record -q -e cpu-clock -F 4999 -p "$pids" -o "$D/$s.perf.data" \
        >"$D/$s.perf.log" 2>&1 &
    perf_pid=$!
    sleep 0.5
    log "$s: $PROF_REQUESTS requests, ab -k -c $PROF_CONNS, perf recording"
    t0=$(ticks_of "${PID[srv]}")
    ab_run "$PROF_REQUESTS" "$PROF_CONNS" "$url"
    t1=$(ticks_of "${PID[srv]}")
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    # Second pass, apart from the timing (tracing every system call costs
    # CPU): system calls and context switches of httpd per request.
    local nsys=$(( PROF_REQUESTS / 4 )) stat_pid
    pids=$(session_pids "${PID[srv]}" | paste -sd, -)
    perf record -q -e raw_syscalls:sys_enter -c 1 -p "$pids" \
        -o "$D/$s.sys.data" >"$D/$s.sys.log" 2>&1 &
    perf_pid=$!
    perf stat -e context-switches -x, -p "$pids" -o "$D/$s.cs.txt" \
        >/dev/null 2>&1 &
    stat_pid=$!
    sleep 0.5
    log "$s: $nsys requests, system calls traced"
    ab_run "$nsys" "$PROF_CONNS" "$url"
    kill -INT "$perf_pid" "$stat_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    wait "$stat_pid" 2>/dev/null || true
    stop_proc srv
    CS[$s]=$(awk -F, -v n="$nsys" '$3 == "context-switches" { printf "%.1f", $1 / n }' \
        "$D/$s.cs.txt")
    perf script -i "$D/$s.sys.data" -F trace 2>/dev/null |
        awk -v n="$nsys" -v hdr="$SYSCALL_H" '
            BEGIN { while ((getline l < hdr) > 0)
                        if (l ~ /^#define __NR_/) {
                            split(l, f, /[ \t]+/); sub(/^__NR_/, "", f[2])
                            name[f[3]] = f[2] } }
            $1 == "NR" { c[$2]++; t++ }
            END { for (k in c) printf "%.2f\t%s\n", c[k] / n,
                                      (k in name) ? name[k] : "nr " k
                  printf "%.2f\t%s\n", t / n, "TOTAL" }' |
        sort -t$'\t' -k1,1gr >"$D/$s.sys.tsv"
    hz=$(getconf CLK_TCK)
    TOTAL[$s]=$(awk -v t=$(( t1 - t0 )) -v n="$PROF_REQUESTS" -v hz="$hz" \
        'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
    # Samples per binary; the share of each times the measured total.
    perf report -i "$D/$s.perf.data" --stdio --no-children -q \
        --sort dso -g none 2>/dev/null | awk 'NF >= 2 && $1 ~ /%$/ {
            p = $1; sub(/%/, "", p); $1 = ""; sub(/^ +/, ""); print p "\t" $0 }' \
        >"$D/$s.dso.tsv"
    local pct obj g
    while IFS=$'\t' read -r pct obj; do
        g=$(echo "$obj" | group_of)
        PCT[$s|$g]=$(awk -v a="${PCT[$s|$g]:-0}" -v b="$pct" 'BEGIN { print a + b }')
        [[ "|$GROUPS_SEEN|" == *"|$g|"* ]] || GROUPS_SEEN="$GROUPS_SEEN|$g"
    done <"$D/$s.dso.tsv"
    perf report -i "$D/$s.perf.data" --stdio --no-children -q \
        --sort dso,sym -g none 2>/dev/null |
        awk -v n="$PROF_TOP" 'NF >= 3 && $1 ~ /%$/ && k++ < n' >"$D/$s.top.txt"
}

# Exclusive instruction counts per function from a callgrind output file
# (a cost line right after a calls= line is the callee's inclusive cost:
# skipped).  Names may be compressed: "(id) name" once, "(id)" after.
cg_by_function() { # file -> "Ir<TAB>object<TAB>function"
    awk '
        function name_of(line, pre, kind,   id, nm) {
            sub("^" pre, "", line)
            if (match(line, /^\([0-9]+\)/)) {
                id = kind substr(line, 2, RLENGTH - 2)
                nm = substr(line, RLENGTH + 1); sub(/^ /, "", nm)
                if (nm != "") names[id] = nm
                return names[id]
            }
            return line
        }
        /^ob=/  { ob = name_of($0, "ob=", "o"); next }
        /^cob=/ { name_of($0, "cob=", "o"); next }
        /^fn=/  { fn = name_of($0, "fn=", "f"); next }
        /^cfn=/ { name_of($0, "cfn=", "f"); next }
        /^calls=/ { skip = 1; next }
        /^[0-9+*-]/ {
            if (skip) { skip = 0; next }
            ir[ob "\t" fn] += $2; next }
        END { for (k in ir) printf "%d\t%s\n", ir[k], k }' "$1"
}

# httpd -X under callgrind serving warm-up + n requests, stopped; sets
# CG_OUT to the output file's path (not a subshell: the trap must know the
# process).
cg_run() { # server n
    local s=$1 n=$2 url c out
    url=$(url_of "$s")
    c=$(conf "$s")
    # httpd runs as www-data from the start (a port above 1024, its files
    # in directories of www-data): valgrind writes its output at exit, when
    # a root httpd would no longer be root.  One file per process: the
    # module's process manager is a fork of its own.
    mkdir -p "$D/cg"
    chown -R www-data: "$D/cg" "$D/$s"
    out=$D/cg/$s.$n
    start_proc srv "$D/$s.stdout" setpriv --reuid=www-data --regid=www-data \
        --init-groups valgrind --tool=callgrind \
        --callgrind-out-file="$out.%p" /usr/sbin/apache2 -X -f "$c" -DFOREGROUND
    local vpid=${PID[srv]}
    wait_up "$s" "$(url_of "$s" small)" 300
    ab_run 100 1 "$url"
    log "$s: $n requests under callgrind (ab -k -c 1)"
    ab_run "$n" 1 "$url"
    stop_proc srv 300
    out=$out.$vpid
    [ -s "$out" ] || die "no callgrind output for $s ($out)"
    CG_OUT=$out
}

# Two runs, n/5 and n requests after the same start and warm-up; their
# difference / (4n/5) is the cost of one request, start and stop cancelled.
profile_callgrind() { # server
    local s=$1 n1 n2 a b
    n2=$PROF_CG_REQUESTS
    n1=$(( n2 / 5 ))
    cg_run "$s" "$n1"
    a=$CG_OUT
    cg_run "$s" "$n2"
    b=$CG_OUT
    cg_by_function "$a" >"$D/$s.fn.$n1.tsv"
    cg_by_function "$b" >"$D/$s.fn.$n2.tsv"
    awk -F'\t' -v d=$(( n2 - n1 )) '
        FNR == NR { a[$2 "\t" $3] = $1; next }
        { k = $2 "\t" $3; v = ($1 - a[k]) / d; if (v != 0) printf "%.2f\t%s\n", v, k
          delete a[k] }
        END { for (k in a) if (a[k] != 0) printf "%.2f\t%s\n", -a[k] / d, k }' \
        "$D/$s.fn.$n1.tsv" "$D/$s.fn.$n2.tsv" | sort -t$'\t' -k1,1gr >"$D/$s.fn.tsv"
    TOTAL[$s]=$(awk -F'\t' '{ t += $1 } END { printf "%.0f", t }' "$D/$s.fn.tsv")
    local ir obj g
    while IFS=$'\t' read -r ir obj _; do
        g=$(echo "$obj" | group_of)
        US[$s|$g]=$(awk -v a="${US[$s|$g]:-0}" -v b="$ir" 'BEGIN { print a + b }')
        [[ "|$GROUPS_SEEN|" == *"|$g|"* ]] || GROUPS_SEEN="$GROUPS_SEEN|$g"
    done < <(awk -F'\t' '{ s[$2] += $1 } END { for (o in s) printf "%.2f\t%s\t-\n", s[o], o }' "$D/$s.fn.tsv")
    awk -F'\t' -v n="$PROF_TOP" 'k++ < n { o = $2; sub(/.*\//, "", o)
        printf "%10.0f  %-24s %s\n", $1, o, $3 }' "$D/$s.fn.tsv" >"$D/$s.top.txt"
}

for s in $PROF_SERVERS; do
    case $s in fcgix|static) ;; *) die "unknown server '$s' (fcgix static)" ;; esac
    "profile_$MODE" "$s"
done

# ---------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------
case $PROF_WORKLOAD in
    small)  WTXT="a small GET (14-byte reply)" ;;
    get1m)  WTXT="a GET of 1 MiB" ;;
    post1m) WTXT="a POST of 1 MiB (14-byte reply; static: read and discarded)" ;;
esac
echo "# Per-request CPU of $WTXT (bench/profile.sh, $MODE)"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, mod_fcgix $REV;" \
     "$(/usr/sbin/apache2 -v | sed -n 's/Server version: //p'), event MPM."
echo
if [ "$MODE" = perf ]; then
    echo "httpd's user + system CPU per request over $PROF_REQUESTS requests" \
         "(ab -k -c $PROF_CONNS, $WTXT; mod_fcgix: libfcgi app, $PROF_PROCS processes," \
         "keepalive=$KA max-conns=$KA), split by perf cpu-clock samples of httpd's processes." \
         "µs per request; the backend and ab are not counted."
    UNIT="µs/req"
else
    echo "Instructions per request (user space; callgrind, httpd -X, one process;" \
         "ab -k -c 1): the difference between a run of $PROF_CG_REQUESTS and one of" \
         "$(( PROF_CG_REQUESTS / 5 )) requests after the same start and warm-up, divided by" \
         "$(( PROF_CG_REQUESTS - PROF_CG_REQUESTS / 5 )). No kernel time, no waiting; the same" \
         "count run to run, whatever the machine's load."
    UNIT="instr/req"
fi
echo
hdr="| binary |" sep="|---|"
for s in $PROF_SERVERS; do
    hdr="$hdr $s $UNIT |"
    [ "$MODE" = perf ] && hdr="$hdr % |"
    sep="$sep---:|"
    [ "$MODE" = perf ] && sep="$sep---:|"
done
[[ " $PROF_SERVERS " == *" fcgix "* && " $PROF_SERVERS " == *" static "* ]] &&
    { hdr="$hdr fcgix − static |"; sep="$sep---:|"; }
echo "$hdr"
echo "$sep"
IFS='|' read -r -a GL <<<"${GROUPS_SEEN#|}"
# Rows by the first server's cost, largest first.
first=${PROF_SERVERS%% *}
mapfile -t GL < <(for g in "${GL[@]}"; do
    if [ "$MODE" = perf ]; then v=${PCT[$first|$g]:-0}; else v=${US[$first|$g]:-0}; fi
    printf '%s\t%s\n' "$v" "$g"
done | sort -t$'\t' -k1,1gr | cut -f2)
fmt() { awk -v v="$1" -v m="$MODE" 'BEGIN { if (m == "perf") printf "%.1f", v; else printf "%.0f", v }'; }
for g in "${GL[@]}"; do
    line="| $g |"
    for s in $PROF_SERVERS; do
        if [ "$MODE" = perf ]; then
            US[$s|$g]=$(awk -v p="${PCT[$s|$g]:-0}" -v t="${TOTAL[$s]}" 'BEGIN { print p * t / 100 }')
            line="$line $(fmt "${US[$s|$g]}") | $(fmt "${PCT[$s|$g]:-0}") |"
        else
            line="$line $(fmt "${US[$s|$g]:-0}") |"
        fi
    done
    [[ " $PROF_SERVERS " == *" fcgix "* && " $PROF_SERVERS " == *" static "* ]] &&
        line="$line $(fmt "$(awk -v a="${US[fcgix|$g]:-0}" -v b="${US[static|$g]:-0}" 'BEGIN { print a - b }')") |"
    echo "$line"
done
line="| **total** |"
for s in $PROF_SERVERS; do
    line="$line **$(fmt "${TOTAL[$s]}")** |"
    [ "$MODE" = perf ] && line="$line 100 |"
done
[[ " $PROF_SERVERS " == *" fcgix "* && " $PROF_SERVERS " == *" static "* ]] &&
    line="$line **$(fmt "$(awk -v a="${TOTAL[fcgix]}" -v b="${TOTAL[static]}" 'BEGIN { print a - b }')")** |"
echo "$line"
if [ "$MODE" = perf ]; then
    echo
    echo "In this VM, cpu-clock samples taken while interrupts are off land where they are turned back on (pvm_irq_enable), so the kernel's total is right but its functions are not: the system calls per request below say what the kernel time is spent on."
    echo
    hdr="| system calls per request |" sep="|---|"
    for s in $PROF_SERVERS; do hdr="$hdr $s |"; sep="$sep---:|"; done
    echo "$hdr"
    echo "$sep"
    line="| context switches |"
    for s in $PROF_SERVERS; do line="$line ${CS[$s]:-?} |"; done
    echo "$line"
    for n in $(for s in $PROF_SERVERS; do cut -f2 "$D/$s.sys.tsv"; done | awk '!seen[$0]++'); do
        line="| $n |" any=0
        [ "$n" = TOTAL ] && line="| **all system calls** |"
        for s in $PROF_SERVERS; do
            v=$(awk -F'\t' -v n="$n" '$2 == n { v = $1 } END { print (v == "") ? "0" : v }' "$D/$s.sys.tsv")
            awk -v v="$v" 'BEGIN { exit !(v >= 0.01) }' && any=1
            line="$line $v |"
        done
        # calls made by fewer than one request in a hundred: left out
        [ "$any" = 1 ] && echo "$line"
    done
fi
for s in $PROF_SERVERS; do
    echo
    echo "Top $PROF_TOP functions, $s ($([ "$MODE" = perf ] && echo "share of httpd's samples" || echo "exclusive instructions per request")):"
    echo
    echo '```'
    cat "$D/$s.top.txt"
    echo '```'
done
log "done; raw data in $D"
