#!/bin/bash
# bench/run.sh - mod_fcgix against its anchors, on the same backends, in one
# run.  See bench/README.md.  Everything runs on 127.0.0.1 (high ports) and
# unix sockets under $BENCH_DIR; every process started here is stopped by
# its pid on exit (trap EXIT), whatever happens.
#
#   bench/run.sh            full run: every cell 3 times, medians reported
#   bench/run.sh --quick    one run of every cell at 16 connections only
#                           (same as BENCH_QUICK=1)
#
# Environment (defaults in brackets; --quick changes the starred ones):
#   BENCH_SERVERS    servers to run
#                    [static fcgix fcgixpm fcgixka proxy nginx nginxt fcgid]
#   BENCH_BACKENDS   FastCGI backends      [libfcgi php go]
#   BENCH_WORKLOADS  small get1m post1m    [small get1m post1m]
#   BENCH_CONNS      wrk -c values         [16 64] *[16]
#   BENCH_RUNS       runs of every cell, interleaved; medians reported
#                    [3] *[1]
#   BENCH_SECONDS    measured seconds/run  [3]
#   BENCH_WARMUP     warm-up seconds/run   [1]
#   BENCH_THREADS    wrk -t                [2]
#   BENCH_PROCS      libfcgi processes and php-fpm children [8]
#   BENCH_FCGIX_KEEPALIVE  mod_fcgix keepalive= for libfcgi [PROCS/2]
#   BENCH_NGINX_KEEPALIVE  nginx upstream keepalive for libfcgi [(PROCS-2)/2]
#   BENCH_NGINXT_KEEPALIVE nginx (tuned): upstream keepalive per worker
#                          [max(BENCH_CONNS)/2]
#   BENCH_NGINXT_PROCS     nginx (tuned): its backend's processes
#                          [max(BENCH_CONNS) + 2 x NGINXT_KEEPALIVE]
#   BENCH_FCGIX_OPTS       more FcgixExternalServer options, libfcgi and
#                          php [max-conns=PROCS/2]
#   BENCH_FCGIX_GO_OPTS    FcgixExternalServer options for Go [] (e.g.
#                          "mpx=on" or "keepalive=32")
#   BENCH_QUIET_WAIT seconds to wait for a quiet machine first [10]
#   BENCH_RETRY_BUDGET  seconds spent re-measuring noisy runs [20]
#   BENCH_PERF=1     perf record (-g) the server and backend processes
#                    during each measured run: $BENCH_DIR/raw/<cell>-rN.txt.perf
#   BENCH_PERF_ARGS  perf record's options [-F 499 -g], e.g.
#                    "-e sched:sched_switch -g" for where threads block
#   BENCH_LOGLEVEL   httpd LogLevel        [warn]  e.g. "warn fcgix:debug"
#   BENCH_DIR        scratch directory     [/tmp/fcgix-bench]
#   BENCH_PORT_BASE  first TCP port        [18100]
#   BENCH_NO_INSTALL=1  do not call apt-get
#   BENCH_RESULTS    report file           [bench/results/latest.md]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")

for arg in "$@"; do
    case $arg in
        --quick) BENCH_QUICK=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
                   exit 0 ;;
        *) echo "bench/run.sh: unknown argument '$arg' (--quick, --help)" >&2
           exit 2 ;;
    esac
done
# Quick mode (development): one run per cell, 16 connections only.  Any
# variable set explicitly still wins.
if [ "${BENCH_QUICK:-}" = 1 ]; then
    BENCH_RUNS=${BENCH_RUNS:-1}
    BENCH_CONNS=${BENCH_CONNS:-16}
fi
BENCH_SERVERS=${BENCH_SERVERS:-static fcgix fcgixpm fcgixka proxy nginx nginxt fcgid}
BENCH_BACKENDS=${BENCH_BACKENDS:-libfcgi php go}
BENCH_WORKLOADS=${BENCH_WORKLOADS:-small get1m post1m}
BENCH_CONNS=${BENCH_CONNS:-16 64}
# Three interleaved runs of 1 + 3 s: the full matrix (90 cells) takes
# about 23 minutes on the quiet 2-core machine, 28 under other sessions'
# load (README); 5 s would add 13.
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_SECONDS=${BENCH_SECONDS:-3}
[[ $BENCH_RUNS =~ ^[1-9][0-9]*$ ]] ||
    { echo "bench/run.sh: BENCH_RUNS must be a positive number" >&2; exit 2; }
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_PROCS=${BENCH_PROCS:-8}
BENCH_LOGLEVEL=${BENCH_LOGLEVEL:-warn}
BENCH_DIR=${BENCH_DIR:-/tmp/fcgix-bench}
BENCH_PORT_BASE=${BENCH_PORT_BASE:-18100}
BENCH_RESULTS=${BENCH_RESULTS:-$HERE/results/latest.md}
BENCH_FCGIX_GO_OPTS=${BENCH_FCGIX_GO_OPTS:-}
BENCH_QUIET_WAIT=${BENCH_QUIET_WAIT:-10}
# A cell during which other processes (not ours) used more than this share
# of the machine's CPU is flagged "noisy".
NOISY_PCT=10

# httpd children of every Apache under test (event MPM, identical for all):
# 2 children x 64 threads.  Each child must be able to serve all 64 client
# connections on its own (the kernel may hand one child most of them); with
# 32 threads the event MPM closed kept-alive client connections when its
# workers were all busy, which wrk counts as read errors.
HTTPD_CHILDREN=2
HTTPD_THREADS=64

# A kept-alive FastCGI connection pins one single-threaded libfcgi process
# (it waits on that connection for the next request and accepts no other),
# so the connections a server keeps must not outnumber the processes, or a
# new connection waits in the listen queue until an idle one times out
# (ANCHORS.md section 7).  mod_proxy_fcgi never opens more than max= per
# child (extra requests wait for a pooled connection), and mod_fcgix's
# max-conns= does the same: PROCS/children = 4 each keeps all 8 processes
# busy over 8 connections that are never closed.  nginx has no such cap:
# its upstream keepalive N keeps up to N idle connections per worker and
# opens (then closes) extra ones on demand, so N x 2 workers must leave
# processes for those: keepalive 3 pins at most 6 of 8.
PROXY_MAX=$(( BENCH_PROCS / HTTPD_CHILDREN > 0 ? BENCH_PROCS / HTTPD_CHILDREN : 1 ))
BENCH_FCGIX_KEEPALIVE=${BENCH_FCGIX_KEEPALIVE:-$PROXY_MAX}
BENCH_FCGIX_OPTS=${BENCH_FCGIX_OPTS-max-conns=$PROXY_MAX}
BENCH_COLD_N=${BENCH_COLD_N:-5}
BENCH_NGINX_KEEPALIVE=${BENCH_NGINX_KEEPALIVE:-$(( BENCH_PROCS > 3 ? (BENCH_PROCS - 2) / HTTPD_CHILDREN : 1 ))}
# nginx (tuned): the same nginx, configured for its tail latency rather
# than for the same backend.  It never waits for a backend process: at any
# moment its open upstream connections are the requests in flight (at most
# one per client connection, max(BENCH_CONNS)) plus the idle ones it keeps
# (at most keepalive per worker), so a backend with that many processes
# always has one free to accept.  keepalive = max(BENCH_CONNS)/workers lets
# each worker keep all the connections it needs, so none is opened per
# request in the steady state.
MAX_CONNS=$(printf '%s\n' $BENCH_CONNS | sort -n | tail -1)
BENCH_NGINXT_KEEPALIVE=${BENCH_NGINXT_KEEPALIVE:-$(( MAX_CONNS / HTTPD_CHILDREN > 0 ? MAX_CONNS / HTTPD_CHILDREN : 1 ))}
BENCH_NGINXT_PROCS=${BENCH_NGINXT_PROCS:-$(( MAX_CONNS + HTTPD_CHILDREN * BENCH_NGINXT_KEEPALIVE ))}

D=$BENCH_DIR
BIN=$D/bin
RUN=$D/run
RAW=$D/raw
# Every server gets its own backend processes (same binaries), so that one
# server's kept-alive connections never pin the processes another server
# is measured against, and all servers can run at once: the cells of one
# workload are measured back to back, server after server, so that a
# change in the machine's load hits them alike.
sock_of() { echo "$RUN/$1-$2.sock"; }   # server backend
POST_BYTES=1048576
BIG_BYTES=1048576
SMALL_BODY='Hello, world!'$'\n'
SMALL_LEN=14
MODDIR=/usr/lib/apache2/modules
PHP_FPM=${BENCH_PHP_FPM:-/usr/sbin/php-fpm8.2}
WRK_TIMEOUT=10s

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------
# Process bookkeeping: every long-running process is started in its own
# session (setsid) so that its children (httpd children, nginx workers,
# libfcgi forks, mod_fcgid's apps) can be found by session id and
# stopped by pid.
# ---------------------------------------------------------------------
declare -A PROC_PID=()     # name -> pid (= session id)
POLICY_OURS=
ANOMALIES=()               # one line each, printed in the report

start_proc() { # name logfile cmd...
    local name=$1 logf=$2
    shift 2
    setsid "$@" >"$logf" 2>&1 </dev/null &
    PROC_PID[$name]=$!
}

alive() { # pid: running and not a zombie
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ -n $st && $st != Z* ]]
}

session_pids() { # sid
    ps -eo pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'
}

stop_proc() { # name
    local name=$1 pid i p left
    pid=${PROC_PID[$name]:-}
    [ -n "$pid" ] || return 0
    unset "PROC_PID[$name]"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        alive "$pid" || break
        sleep 0.1
    done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    local st=0
    wait "$pid" 2>/dev/null || st=$?
    # TERM (143) is the expected end; anything else is worth reporting.
    if [ "$st" -ne 0 ] && [ "$st" -ne 143 ] && [ "$st" -ne 127 ]; then
        local how="exit status $st"
        [ "$st" -gt 128 ] && how="signal $(kill -l $((st - 128)) 2>/dev/null || echo $((st - 128)))"
        log "WARNING: $name (pid $pid) ended with $how when stopped"
        ANOMALIES+=("$name (pid $pid) ended with $how when stopped with SIGTERM")
    fi
    # Whatever is left in its session (children that outlived it).
    for i in 1 2 3; do
        left=$(session_pids "$pid")
        [ -n "$left" ] || break
        for p in $left; do
            kill "$( [ "$i" -lt 3 ] && echo -TERM || echo -KILL)" "$p" \
                2>/dev/null || true
        done
        sleep 0.5
    done
}

# Processes running one of our binaries (mod_fcgid may detach its apps
# into their own sessions): found by their executable's path under $D,
# stopped by pid.
sweep_our_binaries() {
    local p exe
    for p in /proc/[0-9]*; do
        exe=$(readlink "$p/exe" 2>/dev/null) || continue
        case $exe in
            "$D"/*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;;
        esac
    done
}

cleanup() {
    local rc=$? name
    trap - EXIT INT TERM
    for name in "${!PROC_PID[@]}"; do
        stop_proc "$name"
    done
    [ -d "$D" ] && sweep_our_binaries
    if [ -n "$POLICY_OURS" ]; then
        rm -f /usr/sbin/policy-rc.d
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------
# Dependencies (Debian 12), installed without starting any service.
# ---------------------------------------------------------------------
pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = \
      "install ok installed" ]
}

install_deps() {
    local want=(wrk libapache2-mod-fcgid libfcgi-dev golang-go apache2
                apache2-dev build-essential curl iproute2 php8.2-fpm)
    local missing=() p
    for p in "${want[@]}"; do
        pkg_installed "$p" || missing+=("$p")
    done
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] ||
        missing+=(nginx-light)
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "${BENCH_NO_INSTALL:-}" = 1 ] &&
        die "missing packages: ${missing[*]} (BENCH_NO_INSTALL=1)"
    [ "$(id -u)" -eq 0 ] || die "run as root to install: ${missing[*]}"
    log "installing ${missing[*]}"
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# mod_fcgix bench/run.sh: start no service\nexit 101\n' \
            >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        POLICY_OURS=1
    fi
    local opts=(-y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=600
                -o Dpkg::Options::=--force-confdef
                -o Dpkg::Options::=--force-confold)
    DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" update >/dev/null
    if [[ " ${missing[*]} " == *" nginx-light "* ]] &&
       ! apt-cache show nginx-light >/dev/null 2>&1; then
        missing=("${missing[@]/nginx-light/nginx}")
    fi
    DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install \
        --no-install-recommends "${missing[@]}"
    if [ -n "$POLICY_OURS" ]; then
        rm -f /usr/sbin/policy-rc.d
        POLICY_OURS=
    fi
}

# ---------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------
build_all() {
    log "building mod_fcgix"
    GIT_REV=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
    git -C "$TOP" diff --quiet HEAD -- src include mod_fcgix.c 2>/dev/null ||
        GIT_REV="$GIT_REV+local changes"
    make -C "$TOP" -f Makefile.apxs .libs/mod_fcgix.so >"$D/build.log" 2>&1 ||
        { tail -30 "$D/build.log" >&2; die "mod_fcgix build failed"; }
    log "building backends"
    cc -std=gnu99 -O2 -Wall -Wextra -o "$BIN/hello_libfcgi" \
        "$HERE/apps/hello_libfcgi.c" -lfcgi ||
        die "hello_libfcgi build failed"
    mkdir -p "$D/gocache"
    (cd "$HERE/apps" && GOCACHE="$D/gocache" GOPATH="$D/gopath" GOFLAGS= GO111MODULE=off \
        go build -o "$BIN/hello_go" hello.go) ||
        die "hello.go build failed"
}

# ---------------------------------------------------------------------
# Backends
# ---------------------------------------------------------------------
wait_sock() { # path
    local i
    for i in $(seq 1 100); do
        [ -S "$1" ] && return 0
        sleep 0.05
    done
    die "backend socket $1 did not appear"
}

# php-fpm: a pool of its own per server, static pm (every child forked at
# start, none recycled), a unix socket.  Debian's php.ini and conf.d are
# loaded as php-fpm8.2 loads them (opcache on).
php_fpm_conf() { # server sock children
    local conf=$D/php/$1.conf
    mkdir -p "$D/php"
    cat >"$conf" <<EOF
; generated by bench/run.sh - php-fpm for $1
[global]
pid = $D/php/$1.pid
error_log = $D/logs/$1-php-fpm.log
daemonize = no
log_level = warning
[bench]
user = www-data
group = www-data
listen = $2
listen.owner = www-data
listen.group = www-data
listen.mode = 0666
listen.backlog = 1024
pm = static
pm.max_children = $3
pm.max_requests = 0
catch_workers_output = yes
EOF
    echo "$conf"
}

start_backends() { # server backend...
    local s=$1 b sock procs=$BENCH_PROCS
    shift
    [ "$s" = nginxt ] && procs=$BENCH_NGINXT_PROCS
    for b in "$@"; do
        sock=$(sock_of "$s" "$b")
        rm -f "$sock"
        case $b in
            libfcgi)
                start_proc "be_${s}_$b" "$D/logs/$s-$b.log" \
                    "$BIN/hello_libfcgi" -s "$sock" -n "$procs" ;;
            php)
                start_proc "be_${s}_$b" "$D/logs/$s-$b.log" "$PHP_FPM" -F \
                    -y "$(php_fpm_conf "$s" "$sock" "$procs")" ;;
            go)
                start_proc "be_${s}_$b" "$D/logs/$s-$b.log" \
                    "$BIN/hello_go" -s "$sock" -stats "$RUN/$s-go.stats" ;;
        esac
        wait_sock "$sock"
    done
}

stop_backends() { # server
    stop_proc "be_${1}_libfcgi"
    stop_proc "be_${1}_php"
    stop_proc "be_${1}_go"
}

go_stats() { # server -> "conns reqs"
    local pid=${PROC_PID[be_${1}_go]:-} f=$RUN/$1-go.stats i
    [ -n "$pid" ] || { echo "- -"; return; }
    rm -f "$f"
    kill -USR1 "$pid" 2>/dev/null || true
    for i in $(seq 1 40); do
        [ -s "$f" ] && break
        sleep 0.05
    done
    if [ -s "$f" ]; then
        sed -E 's/.*conns=([0-9]+).*reqs=([0-9]+).*/\1 \2/' "$f"
    else
        echo "- -"
    fi
}

# ---------------------------------------------------------------------
# Servers under test
# ---------------------------------------------------------------------
port_of() {
    case $1 in
        static) echo $((BENCH_PORT_BASE + 0)) ;;
        fcgix)  echo $((BENCH_PORT_BASE + 1)) ;;
        proxy)  echo $((BENCH_PORT_BASE + 2)) ;;
        nginx)  echo $((BENCH_PORT_BASE + 3)) ;;
        fcgid)  echo $((BENCH_PORT_BASE + 4)) ;;
        fcgixpm) echo $((BENCH_PORT_BASE + 5)) ;;
        fcgixka) echo $((BENCH_PORT_BASE + 6)) ;;
        nginxt) echo $((BENCH_PORT_BASE + 7)) ;;
    esac
}

label_of() { # server backend
    case $1 in
        static) echo "static file (httpd)" ;;
        fcgix)  [ "$2" = go ] && echo "mod_fcgix (${BENCH_FCGIX_GO_OPTS:-mpx auto})" ||
                echo "mod_fcgix (keepalive=$BENCH_FCGIX_KEEPALIVE${BENCH_FCGIX_OPTS:+ $BENCH_FCGIX_OPTS})" ;;
        proxy)  [ "$2" = go ] && echo "mod_proxy_fcgi (enablereuse)" ||
                echo "mod_proxy_fcgi (enablereuse, max=$PROXY_MAX)" ;;
        nginx)  [ "$2" = go ] && echo "nginx (keepalive 32)" ||
                echo "nginx (keepalive $BENCH_NGINX_KEEPALIVE)" ;;
        nginxt) echo "nginx (tuned: keepalive $BENCH_NGINXT_KEEPALIVE, $BENCH_NGINXT_PROCS procs)" ;;
        fcgid)  echo "mod_fcgid ($BENCH_PROCS procs, spawns app)" ;;
        fcgixpm) echo "mod_fcgix ($BENCH_PROCS procs, spawns app)" ;;
        fcgixka) echo "mod_fcgix keep-alive, no mpx (keepalive=$HTTPD_THREADS)" ;;
    esac
}

# Which backends a server is measured with.
backends_of() {
    local b out=()
    case $1 in
        static) echo static; return ;;
        fcgid|fcgixpm)
                [[ " $BENCH_BACKENDS " == *" libfcgi "* ]] && echo libfcgi
                return ;;
        fcgixka)
                [[ " $BENCH_BACKENDS " == *" go "* ]] && echo go
                return ;;
        nginxt) # the Go app queues nothing: nginx's own row is its best
                for b in $BENCH_BACKENDS; do
                    [ "$b" = go ] || out+=("$b")
                done
                echo "${out[*]}"
                return ;;
    esac
    for b in $BENCH_BACKENDS; do out+=("$b"); done
    echo "${out[*]}"
}

httpd_conf() { # name port extra-config
    local name=$1 port=$2 extra=$3 dir=$D/$1
    cat >"$dir/httpd.conf" <<EOF
# generated by bench/run.sh - $name
ServerRoot "$dir"
DefaultRuntimeDir "$dir"
PidFile "$dir/httpd.pid"
Listen 127.0.0.1:$port
ServerName 127.0.0.1
User www-data
Group www-data
ErrorLog "$dir/error.log"
LogLevel $BENCH_LOGLEVEL
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
# The same MPM for every Apache under test.
StartServers $HTTPD_CHILDREN
ServerLimit $HTTPD_CHILDREN
ThreadsPerChild $HTTPD_THREADS
ThreadLimit $HTTPD_THREADS
MaxRequestWorkers $((HTTPD_CHILDREN * HTTPD_THREADS))
MinSpareThreads $HTTPD_THREADS
MaxSpareThreads $((HTTPD_CHILDREN * HTTPD_THREADS))
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
Timeout 30
# Files (the static ceiling) without a per-request mmap/munmap: in a
# threaded process each munmap is a TLB shootdown on every core, which cost
# the static server about a third of its small-file rate here.  1 MiB files
# go out with sendfile.
EnableMMAP Off
EnableSendfile On
DocumentRoot "$dir/htdocs"
<Directory />
    AllowOverride None
    Require all granted
</Directory>
$extra
EOF
}

nginx_conf() { # name port keepalive(libfcgi, php) why
    local name=$1 port=$2 ka=$3 why=$4 dir=$D/$1
    mkdir -p "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
# generated by bench/run.sh - $name: nginx with upstream keep-alive
user www-data;
worker_processes $HTTPD_CHILDREN;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_timeout 60;
    keepalive_requests 10000000;
    client_body_temp_path $dir/tmp/body;
    fastcgi_temp_path $dir/tmp/fastcgi;
    proxy_temp_path $dir/tmp/proxy;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    # Tuned so that 1 MiB bodies stay in memory both ways (defaults would
    # spill them to temporary files).
    client_max_body_size 4m;
    client_body_buffer_size 2m;
    fastcgi_buffer_size 16k;
    fastcgi_buffers 80 16k;
    fastcgi_busy_buffers_size 64k;
    upstream bench_libfcgi {
        server unix:$(sock_of "$name" libfcgi);
        # $why
        keepalive $ka;
        keepalive_requests 10000000;
    }
    upstream bench_php {
        server unix:$(sock_of "$name" php);
        # php-fpm children are pinned like libfcgi processes
        keepalive $ka;
        keepalive_requests 10000000;
    }
    upstream bench_go {
        server unix:$(sock_of "$name" go);
        keepalive 32;
        keepalive_requests 10000000;
    }
    server {
        listen 127.0.0.1:$port;
        location = /hello {
            include /etc/nginx/fastcgi_params;
            fastcgi_keep_conn on;
            fastcgi_pass bench_libfcgi;
        }
        location = /hello.php {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $dir/htdocs/hello.php;
            fastcgi_keep_conn on;
            fastcgi_pass bench_php;
        }
        location = /go {
            include /etc/nginx/fastcgi_params;
            fastcgi_keep_conn on;
            fastcgi_pass bench_go;
        }
    }
}
EOF
}

setup_server() { # name
    local name=$1 dir=$D/$1 port
    local LIBFCGI_SOCK GO_SOCK PHP_SOCK
    LIBFCGI_SOCK=$(sock_of "$name" libfcgi)
    GO_SOCK=$(sock_of "$name" go)
    PHP_SOCK=$(sock_of "$name" php)
    port=$(port_of "$name")
    mkdir -p "$dir/htdocs"
    # The PHP script is a real file: php-fpm runs SCRIPT_FILENAME.
    cp "$HERE/apps/hello.php" "$dir/htdocs/hello.php"
    case $name in
        static)
            printf '%s' "$SMALL_BODY" >"$dir/htdocs/hello.txt"
            head -c "$BIG_BYTES" /dev/zero | tr '\0' x >"$dir/htdocs/1m.bin"
            httpd_conf static "$port" "# plain core default handler"
            ;;
        fcgix)
            httpd_conf fcgix "$port" "LoadModule fcgix_module $TOP/.libs/mod_fcgix.so
# libfcgi: $BENCH_FCGIX_KEEPALIVE kept connections per child at most
# (x $HTTPD_CHILDREN children = $BENCH_PROCS processes, see run.sh).
FcgixExternalServer $dir/htdocs/hello unix:$LIBFCGI_SOCK keepalive=$BENCH_FCGIX_KEEPALIVE $BENCH_FCGIX_OPTS
# php-fpm: as libfcgi (a kept connection pins a child the same way).
FcgixExternalServer $dir/htdocs/hello.php unix:$PHP_SOCK keepalive=$BENCH_FCGIX_KEEPALIVE $BENCH_FCGIX_OPTS
# Go: defaults; it says FCGI_MPXS_CONNS=1, so requests are multiplexed.
FcgixExternalServer $dir/htdocs/go unix:$GO_SOCK $BENCH_FCGIX_GO_OPTS"
            ;;
        fcgixka)
            # The multiplexing target's yardstick: the same Go app on kept-
            # alive connections, one per request in flight (up to 64 per
            # child), no multiplexing.
            httpd_conf fcgixka "$port" "LoadModule fcgix_module $TOP/.libs/mod_fcgix.so
FcgixExternalServer $dir/htdocs/go unix:$GO_SOCK mpx=off keepalive=$HTTPD_THREADS"
            ;;
        proxy)
            httpd_conf proxy "$port" "LoadModule proxy_module $MODDIR/mod_proxy.so
LoadModule proxy_fcgi_module $MODDIR/mod_proxy_fcgi.so
# max=$PROXY_MAX per child x $HTTPD_CHILDREN children = the $BENCH_PROCS libfcgi processes.
ProxyPass /hello unix:$LIBFCGI_SOCK|fcgi://bench-libfcgi/ enablereuse=on max=$PROXY_MAX
# php-fpm takes the script's path from after the host of this URL.
ProxyPass /hello.php unix:$PHP_SOCK|fcgi://bench-php$dir/htdocs/hello.php enablereuse=on max=$PROXY_MAX
ProxyPass /go unix:$GO_SOCK|fcgi://bench-go/ enablereuse=on"
            ;;
        fcgid|fcgixpm)
            mkdir -p "$dir/fcgid" "$dir/htdocs/cold"
            chown www-data "$dir/htdocs/cold"
            cp "$BIN/hello_libfcgi" "$dir/htdocs/hello"
            chmod 0755 "$dir/htdocs/hello"
            # mod_fcgid cannot talk to an external server: it spawns the
            # same binary itself (listen socket on fd 0), up to PROCS.
            # Tuned for its best: no spawn throttling, bodies kept in
            # memory (its default spools past 64 KiB to a temp file and
            # rejects bodies over 128 KiB with 500).  fcgixpm is mod_fcgix
            # loaded with the very same mod_fcgid configuration (drop-in).
            # /cold/: never-spawned classes for the cold-start measure
            # (room for them beyond the PROCS of /hello).
            local mod="fcgid_module $MODDIR/mod_fcgid.so"
            [ "$name" = fcgixpm ] && mod="fcgix_module $TOP/.libs/mod_fcgix.so"
            httpd_conf "$name" "$port" "LoadModule $mod
FcgidIPCDir $dir/fcgid/ipc
FcgidProcessTableFile $dir/fcgid/shm
FcgidMaxProcesses $((BENCH_PROCS + 8))
FcgidMaxProcessesPerClass $BENCH_PROCS
FcgidMinProcessesPerClass 0
FcgidSpawnScoreUpLimit 64
FcgidMaxRequestLen 4194304
FcgidMaxRequestInMem 2097152
FcgidIOTimeout 40
# Processes live through the whole run (a round of the full run lasts
# several minutes; the default 300 s could end them between rounds).
FcgidIdleTimeout 3600
<Location /hello>
    SetHandler fcgid-script
    Options +ExecCGI
</Location>
<Location /cold>
    SetHandler fcgid-script
    Options +ExecCGI
</Location>"
            ;;
        nginx)
            nginx_conf nginx "$port" "$BENCH_NGINX_KEEPALIVE" \
                "idle connections per worker x $HTTPD_CHILDREN workers < $BENCH_PROCS processes"
            ;;
        nginxt)
            nginx_conf nginxt "$port" "$BENCH_NGINXT_KEEPALIVE" \
                "tuned: open connections <= $MAX_CONNS in flight + $HTTPD_CHILDREN x $BENCH_NGINXT_KEEPALIVE idle <= $BENCH_NGINXT_PROCS processes"
            ;;
    esac
    chmod -R a+rX "$dir"
}

start_server() { # name
    local name=$1 dir=$D/$1
    : >"$dir/error.log"
    if [ "$name" = nginx ] || [ "$name" = nginxt ]; then
        start_proc "srv_$name" "$dir/stdout.log" /usr/sbin/nginx -p "$dir" \
            -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;'
    else
        start_proc "srv_$name" "$dir/stdout.log" /usr/sbin/apache2 \
            -f "$dir/httpd.conf" -DFOREGROUND
    fi
    local port i code
    port=$(port_of "$name")
    for i in $(seq 1 100); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
               "http://127.0.0.1:$port/" 2>/dev/null || true)
        [ -n "$code" ] && [ "$code" != 000 ] && return 0
        alive "${PROC_PID[srv_$name]}" || break
        sleep 0.1
    done
    cat "$dir/stdout.log" "$dir/error.log" >&2 || true
    return 1
}

url_of() { # server backend workload
    local port
    port=$(port_of "$1")
    if [ "$1" = static ]; then
        case $3 in
            get1m) echo "http://127.0.0.1:$port/1m.bin" ;;
            *)     echo "http://127.0.0.1:$port/hello.txt" ;;
        esac
        return
    fi
    local path=/hello
    [ "$2" = go ] && path=/go
    [ "$2" = php ] && path=/hello.php
    case $3 in
        get1m) echo "http://127.0.0.1:$port$path?bytes=$BIG_BYTES" ;;
        *)     echo "http://127.0.0.1:$port$path" ;;
    esac
}

# Backend connections open now (server-side ends of the unix sockets).
backend_conns() { # server backend
    local prefix
    case $1/$2 in
        static/*) echo -; return ;;
        fcgid/*|fcgixpm/*) prefix=$D/$1/fcgid/ipc/ ;;
        *)        prefix=$(sock_of "$1" "$2") ;;
    esac
    # ESTAB: connections; LISTEN Recv-Q: connections not yet accepted by
    # any process (waiting in the listen queue), shown as "+N queued".
    ss -xan 2>/dev/null | awk -v p="$prefix" '
        index($5, p) == 1 && $2 == "ESTAB" { n++ }
        index($5, p) == 1 && $2 == "LISTEN" { q += $3 }
        END { printf "%d%s\n", n, q ? " +" q " queued" : "" }'
}

# One correct request per workload before measuring.
sanity() { # server backend workload -> 0 ok
    local url hdr body code size
    url=$(url_of "$1" "$2" "$3")
    hdr=$D/sanity.hdr
    body=$D/sanity.body
    if [ "$3" = post1m ]; then
        read -r code size < <(curl -s -o "$body" -D "$hdr" --max-time 20 \
            -w '%{http_code} %{size_download}\n' -H 'Expect:' \
            -H 'Content-Type: application/octet-stream' \
            --data-binary @"$D/post.bin" "$url" || echo "000 0")
    else
        read -r code size < <(curl -s -o "$body" -D "$hdr" --max-time 20 \
            -w '%{http_code} %{size_download}\n' "$url" || echo "000 0")
    fi
    local want=$SMALL_LEN
    [ "$3" = get1m ] && want=$BIG_BYTES
    if [ "$code" != 200 ] || [ "$size" != "$want" ]; then
        log "SANITY FAILED $1/$2/$3: status $code, $size bytes (want 200, $want) $url"
        return 1
    fi
    if [ "$3" = post1m ] && [ "$1" != static ] &&
       ! grep -qi "^X-Read: $POST_BYTES" "$hdr"; then
        log "SANITY FAILED $1/$2/$3: the application did not read the body"
        return 1
    fi
    if [ "$3" != get1m ] && [ "$(cat "$body")" != "${SMALL_BODY%$'\n'}" ]; then
        log "SANITY FAILED $1/$2/$3: unexpected body"
        return 1
    fi
    return 0
}

# ---------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------
declare -A R=()            # "server|backend|workload|conns|field" -> value

# CPU ticks of the whole machine (/proc/stat): "busy total", where busy is
# user + nice + system time of processes plus steal (the hypervisor's other
# guests).  irq/softirq time (loopback traffic, mostly ours) is left out of
# busy: it is charged to no process.
machine_ticks() {
    awk '/^cpu / { b = $2 + $3 + $4 + $9
                   print b, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' \
        /proc/stat
}

# CPU ticks used by us: every process in our sessions, plus this script
# and its reaped children (wrk, curl) through its own cutime/cstime.
our_ticks() {
    local sids=" ${PROC_PID[*]:-} " pid sid list=()
    while read -r pid sid; do
        [[ $sids == *" $sid "* ]] && list+=("/proc/$pid/stat")
    done < <(ps -eo pid=,sid=)
    {
        cat "${list[@]}" 2>/dev/null || true
        sed 's/^/self /' "/proc/$$/stat"
    } | awk '{ self = ($1 == "self"); sub(/^.*\) /, "");
               t += $12 + $13; if (self) t += $14 + $15 }
             END { print t + 0 }'
}

# The server's own CPU: its session holds the applications a spawning
# server (mod_fcgid, mod_fcgix's PM) forked, which are counted out by name
# so that those rows compare with the ones whose backends run apart.
session_ticks() { # sid
    local list=() pid
    for pid in $(session_pids "$1"); do list+=("/proc/$pid/stat"); done
    [ ${#list[@]} -gt 0 ] || { echo 0; return; }
    cat "${list[@]}" 2>/dev/null |
        awk '/ \((apache2|nginx|fcgix-pm)\) / {
                 sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

# Context switches (voluntary + involuntary) of the server's threads so
# far: written beside each run's raw output, as switches per request
# tell a hand-off between threads from work done.
session_csw() { # sid
    local pid
    for pid in $(session_pids "$1"); do
        cat /proc/"$pid"/task/*/status 2>/dev/null
    done | awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

# Share of the machine (%) used by processes that are not ours between two
# snapshots "busy total ours".
bg_pct() { # busy0 total0 ours0 busy1 total1 ours1
    awk -v b0="$1" -v t0="$2" -v o0="$3" -v b1="$4" -v t1="$5" -v o1="$6" \
        'BEGIN { dt = t1 - t0; bg = (b1 - b0) - (o1 - o0); if (bg < 0) bg = 0
                 if (dt <= 0) print 0; else printf "%.0f", 100 * bg / dt }'
}

# Waits (at most BENCH_QUIET_WAIT s) until others use < NOISY_PCT of CPU.
wait_quiet() {
    local i m0 m1 pct
    for i in $(seq 1 $(( BENCH_QUIET_WAIT / 2 + 1 ))); do
        read -r -a m0 < <(machine_ticks)
        sleep 2
        read -r -a m1 < <(machine_ticks)
        pct=$(bg_pct "${m0[0]}" "${m0[1]}" 0 "${m1[0]}" "${m1[1]}" 0)
        if [ "$pct" -lt "$NOISY_PCT" ]; then
            log "machine quiet (${pct}% CPU busy)"
            return 0
        fi
        [ "$i" = 1 ] && log "machine busy (${pct}% CPU used by other processes); waiting up to ${BENCH_QUIET_WAIT} s"
    done
    log "WARNING: still ${pct}% CPU used by other processes; results will be noisy"
}

wrk_run() { # seconds conns url post-bytes outfile [--latency]
    BENCH_POST_BYTES=$4 wrk -t"$BENCH_THREADS" -c"$2" -d"$1"s \
        --timeout "$WRK_TIMEOUT" ${6:-} -s "$HERE/wrk/report.lua" "$3" \
        >"$5" 2>&1 || true
}

CELL_FIELDS="requests duration_us rps p50_us p99_us max_us non2xx connect read write timeout errs status bconns gconns greqs bg srvticks cpureq srvcsw csreq"

# Measures one cell once into R[...], after its warm-up.
measure_cell() { # server backend workload conns rawfile
    local s=$1 b=$2 w=$3 c=$4 raw=$5 url pb=0 key line kv sampler f
    url=$(url_of "$s" "$b" "$w")
    [ "$w" = post1m ] && pb=$POST_BYTES
    key="$s|$b|$w|$c"
    for f in $CELL_FIELDS; do unset "R[$key|$f]"; done
    wrk_run "$BENCH_WARMUP" "$c" "$url" "$pb" "$raw.warmup"
    local g0=(- -) g1=(- -)
    [ "$b" = go ] && read -r -a g0 < <(go_stats "$s")
    (sleep "$(awk -v s="$BENCH_SECONDS" 'BEGIN { print s / 2 }')"
     backend_conns "$s" "$b" >"$raw.conns") &
    sampler=$!
    local m0 m1 o0 o1 perf_pid=
    if [ "${BENCH_PERF:-}" = 1 ]; then
        local pids
        pids=$(for f in "srv_$s" "be_${s}_libfcgi" "be_${s}_php" "be_${s}_go"; do
                   if [ -n "${PROC_PID[$f]:-}" ]; then
                       session_pids "${PROC_PID[$f]}"
                   fi
               done | paste -sd, -) || true
        # shellcheck disable=SC2086
        perf record -q ${BENCH_PERF_ARGS:--F 499 -g} -p "$pids" \
            -o "$raw.perf" -- \
            sleep "$BENCH_SECONDS" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    local srvpid=${PROC_PID[srv_$s]} st0 st1 cs0 cs1
    st0=$(session_ticks "$srvpid")
    cs0=$(session_csw "$srvpid")
    read -r -a m0 < <(machine_ticks)
    o0=$(our_ticks)
    wrk_run "$BENCH_SECONDS" "$c" "$url" "$pb" "$raw" --latency
    wait "$sampler" 2>/dev/null || true
    [ -n "$perf_pid" ] && { wait "$perf_pid" 2>/dev/null || true; }
    read -r -a m1 < <(machine_ticks)
    o1=$(our_ticks)
    st1=$(session_ticks "$srvpid")
    cs1=$(session_csw "$srvpid")
    R[$key|srvcsw]=$(( cs1 - cs0 ))
    R[$key|srvticks]=$(( st1 - st0 ))
    R[$key|bg]=$(bg_pct "${m0[0]}" "${m0[1]}" "$o0" "${m1[0]}" "${m1[1]}" "$o1")
    [ "$b" = go ] && read -r -a g1 < <(go_stats "$s")
    R[$key|bconns]=$(cat "$raw.conns" 2>/dev/null || echo -)
    if [ "${g0[0]}" != - ] && [ "${g1[0]}" != - ]; then
        R[$key|gconns]=$(( g1[0] - g0[0] ))
        R[$key|greqs]=$(( g1[1] - g0[1] ))
    fi
    line=$(grep '^BENCH ' "$raw" || true)
    if [ -z "$line" ]; then
        R[$key|status]=failed
        log "  wrk failed: $(tail -3 "$raw" | tr '\n' ' ')"
        return
    fi
    for kv in ${line#BENCH }; do
        R[$key|${kv%%=*}]=${kv#*=}
    done
    local errs=$(( ${R[$key|connect]} + ${R[$key|read]} + ${R[$key|write]} + ${R[$key|timeout]} ))
    R[$key|errs]=$errs
    # CPU the server's own processes (httpd or nginx, not the backends nor
    # wrk) spent per request, in microseconds.
    R[$key|cpureq]=$(awk -v t="${R[$key|srvticks]}" -v n="${R[$key|requests]}" \
        -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "-" }')
    R[$key|csreq]=$(awk -v t="${R[$key|srvcsw]}" -v n="${R[$key|requests]}" \
        'BEGIN { if (n > 0) printf "%.1f", t / n; else print "-" }')
    if [ "${R[$key|non2xx]}" -gt 0 ] || [ "$errs" -gt 0 ]; then
        R[$key|status]=invalid
    else
        R[$key|status]=ok
    fi
    log "  $(printf '%.0f' "${R[$key|rps]}") req/s, p99 $(( ${R[$key|p99_us]} / 1000 )) ms, non-2xx ${R[$key|non2xx]}, socket errors $errs, backend conns ${R[$key|bconns]}, server CPU ${R[$key|cpureq]} us/req, ${R[$key|csreq]} context switches/req, others' CPU ${R[$key|bg]}%"
}

# A cell disturbed by other processes (> NOISY_PCT of the CPU) is measured
# again once, while the retry budget lasts; the quieter run is kept.
RETRY_LEFT=${BENCH_RETRY_BUDGET:-20}
run_cell() { # server backend workload conns run
    local s=$1 b=$2 w=$3 c=$4 n=$5 raw key f t0
    raw=$RAW/$s-$b-$w-c$c-r$n.txt
    key="$s|$b|$w|$c"
    log "cell $s $b $w c=$c (run $n/$BENCH_RUNS)"
    measure_cell "$s" "$b" "$w" "$c" "$raw"
    if [ "${R[$key|bg]:-0}" -gt "$NOISY_PCT" ] && [ "$RETRY_LEFT" -gt 0 ]; then
        declare -A keep=()
        for f in $CELL_FIELDS; do keep[$f]=${R[$key|$f]:-}; done
        cp "$raw" "$raw.first"
        t0=$SECONDS
        log "  noisy; measuring again (retry budget ${RETRY_LEFT} s)"
        measure_cell "$s" "$b" "$w" "$c" "$raw"
        RETRY_LEFT=$(( RETRY_LEFT - (SECONDS - t0) ))
        if [ "${R[$key|bg]:-100}" -gt "${keep[bg]:-0}" ]; then
            for f in $CELL_FIELDS; do R[$key|$f]=${keep[$f]}; done
            mv "$raw.first" "$raw"
        fi
    fi
    # This run's figures, for the medians (aggregate_cell).
    for f in $CELL_FIELDS; do R[$key|r$n|$f]=${R[$key|$f]:-}; done
}

median() { # values... -> the median (mean of the middle two when even)
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) exit
              if (NR % 2) print v[(NR + 1) / 2]
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The cell's reported figures from its runs: req/s, p99, server CPU per
# request and others' CPU are each the median over the runs that produced
# a wrk report; the backend connection counts are those of the run whose
# req/s is nearest that median; non-2xx and socket errors are summed, and
# one run with any makes the cell INVALID.  spread = (max - min) / median
# of req/s.
aggregate_cell() { # server backend workload conns
    local key="$1|$2|$3|$4" n f st runs=() any_invalid=0 near best d
    for n in $(seq 1 "$BENCH_RUNS"); do
        st=${R[$key|r$n|status]:-}
        [ -n "$st" ] || continue
        [ "$st" = failed ] && continue
        runs+=("$n")
        [ "$st" = invalid ] && any_invalid=1
    done
    for f in $CELL_FIELDS; do unset "R[$key|$f]"; done
    R[$key|runs]="${#runs[@]}/$BENCH_RUNS"
    if [ ${#runs[@]} -eq 0 ]; then
        [ -n "${R[$key|r1|status]:-}" ] && R[$key|status]=failed
        return 0
    fi
    for f in rps p99_us cpureq csreq bg requests; do
        local vals=()
        for n in "${runs[@]}"; do vals+=("${R[$key|r$n|$f]:-0}"); done
        R[$key|$f]=$(median "${vals[@]}")
    done
    R[$key|bg]=$(printf '%.0f' "${R[$key|bg]}")
    [[ ${R[$key|cpureq]} =~ ^[0-9.]+$ ]] &&
        R[$key|cpureq]=$(printf '%.0f' "${R[$key|cpureq]}")
    local sum2=0 sume=0 lo='' hi=''
    best=
    for n in "${runs[@]}"; do
        sum2=$(( sum2 + ${R[$key|r$n|non2xx]:-0} ))
        sume=$(( sume + ${R[$key|r$n|errs]:-0} ))
        d=$(awk -v a="${R[$key|r$n|rps]}" -v m="${R[$key|rps]}" \
            'BEGIN { d = a - m; if (d < 0) d = -d; printf "%.3f", d }')
        if [ -z "$best" ] || awk -v a="$d" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$d near=$n
        fi
        lo=$(awk -v a="${R[$key|r$n|rps]}" -v b="${lo:-${R[$key|r$n|rps]}}" 'BEGIN { print (a < b) ? a : b }')
        hi=$(awk -v a="${R[$key|r$n|rps]}" -v b="${hi:-${R[$key|r$n|rps]}}" 'BEGIN { print (a > b) ? a : b }')
    done
    R[$key|non2xx]=$sum2
    R[$key|errs]=$sume
    for f in bconns gconns greqs; do R[$key|$f]=${R[$key|r$near|$f]:-}; done
    R[$key|spread]=$(awk -v lo="$lo" -v hi="$hi" -v m="${R[$key|rps]}" -v n="${#runs[@]}" \
        'BEGIN { if (n < 2 || m <= 0) print "-"; else printf "%.0f%%", 100 * (hi - lo) / m }')
    R[$key|status]=ok
    [ "$any_invalid" = 1 ] && R[$key|status]=invalid
    return 0
}

# Sets up, starts and checks one server with its own backends.
bring_up() { # name
    local s=$1 backends b w
    backends=$(backends_of "$s")
    [ -n "$backends" ] || return 0
    log "starting $s ($backends)"
    setup_server "$s"
    local need=()
    for b in $backends; do [ "$b" != static ] && need+=("$b"); done
    start_backends "$s" "${need[@]}"
    if ! start_server "$s"; then
        log "$s did not start"
        for b in $backends; do R[$s|$b|start]=failed; done
        stop_proc "srv_$s"
        stop_backends "$s"
        return 0
    fi
    UP+=("$s")
    for b in $backends; do
        for w in $BENCH_WORKLOADS; do
            sanity "$s" "$b" "$w" || R[$s|$b|$w|sanity]=failed
        done
        # One warm-up per server and backend (mod_fcgid spawns lazily).
        local pre=1
        [ "$s" = fcgid ] || [ "$s" = fcgixpm ] && pre=3
        wrk_run "$pre" 64 "$(url_of "$s" "$b" small)" 0 "$RAW/$s-$b-prewarm.txt"
    done
}

bring_down() { # name
    local s=$1
    stop_proc "srv_$s"
    stop_backends "$s"
    # Keep the interesting lines of its error log for the report.
    grep -vE 'resuming normal operations|Command line:|caught SIG|shutting down|AH00094|AH00163|AH00489|AH00492|AH00558|AH10159|AH00484|index.html" is not found|notice\]' \
        "$D/$s/error.log" 2>/dev/null | tail -20 >"$D/$s/error.tail" || true
}

# Is server s up and measured with backend b?
measured_with() { # server backend
    local x
    [ "${R[$1|$2|start]:-}" = failed ] && return 1
    [[ " ${UP[*]:-} " == *" $1 "* ]] || return 1
    for x in $(backends_of "$1"); do [ "$x" = "$2" ] && return 0; done
    return 1
}

# ---------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

cell() { # server backend workload conns field
    local s=$1 b=$2
    [ "$s" = static ] && b=static
    echo "${R[$s|$b|$3|$4|$5]:-}"
}

# req/s of a cell usable for ratios (empty when missing or invalid)
valid_rps() {
    [ "$(cell "$1" "$2" "$3" "$4" status)" = ok ] && cell "$1" "$2" "$3" "$4" rps
}

wl_title() {
    case $1 in
        small)  echo "small GET (14 B)" ;;
        get1m)  echo "1 MiB GET" ;;
        post1m) echo "1 MiB POST (14 B reply)" ;;
    esac
}

report() {
    local b w c s rps fx st p99 line
    local servers_all="fcgix fcgixpm fcgixka proxy nginx nginxt fcgid static"
    echo "# mod_fcgix benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -srm), $(nproc) cores;" \
         "mod_fcgix ${GIT_REV:-unknown} (as built);" \
         "$(/usr/sbin/apache2 -v | sed -n 's/Server version: //p'), mod_fcgid $(dpkg-query -W -f='${Version}' libapache2-mod-fcgid 2>/dev/null)," \
         "$(/usr/sbin/nginx -v 2>&1 | sed 's/.*version: //'), $(go version | awk '{print $3}'), libfcgi $(dpkg-query -W -f='${Version}' libfcgi-dev 2>/dev/null)."
    echo
    local runs_txt="one run per cell"
    [ "$BENCH_RUNS" -gt 1 ] && runs_txt="every cell measured $BENCH_RUNS times in whole-matrix rounds (each round measures every cell once, the servers' order rotating); req/s, p99, server CPU/req and others' CPU are each the median over a cell's runs, backend conns those of the run nearest the median req/s, \"spread\" = (max - min) / median req/s, non-2xx and socket errors summed over the runs"
    echo "wrk -t$BENCH_THREADS, ${BENCH_SECONDS} s per run after ${BENCH_WARMUP} s warm-up, --timeout $WRK_TIMEOUT; $runs_txt." \
         "Apache: event MPM, $HTTPD_CHILDREN children x $HTTPD_THREADS threads; nginx: $HTTPD_CHILDREN workers." \
         "All servers run side by side, each with its own backend processes (same binaries); the cells of one workload and concurrency are measured back to back, server after server." \
         "libfcgi backend: $BENCH_PROCS prefork processes on one unix socket (mod_fcgid spawns $BENCH_PROCS itself);" \
         "php backend: php-fpm ($(basename "$PHP_FPM"), static pm, $BENCH_PROCS children, unix socket) running apps/hello.php;" \
         "nginx (tuned): upstream keepalive $BENCH_NGINXT_KEEPALIVE per worker and its own backends with $BENCH_NGINXT_PROCS processes / children (≥ $MAX_CONNS requests in flight + $HTTPD_CHILDREN × $BENCH_NGINXT_KEEPALIVE idle kept connections), so that no connection waits for a backend process;" \
         "Go backend: one net/http/fcgi process. p99 in ms." \
         "\"server µs CPU/req\": CPU time (user + system) of the server's own processes (httpd or nginx; not the backends, not wrk) per request; \"server cs/req\": their threads' context switches (voluntary and involuntary, from /proc) per request, which tell a hand-off between threads from work done." \
         "\"backend conns\": established backend connections sampled mid-run (+N queued: waiting in the backend's listen queue);" \
         "\"app conns/reqs\": connections the Go app accepted / requests it served during the measured run." \
         "\"others' CPU\": share of the machine's CPU used by processes not belonging to the benchmark during the cell (> ${NOISY_PCT}%: marked noisy)." \
         "\"ratio\" = mod_fcgix req/s ÷ that server's (for mod_fcgid: mod_fcgix spawning the app ÷ mod_fcgid, when measured). A cell with any non-2xx or socket error is marked INVALID."
    for b in $BENCH_BACKENDS; do
        for w in $BENCH_WORKLOADS; do
            for c in $BENCH_CONNS; do
                echo
                echo "### $b backend · $(wl_title "$w") · $c connections"
                echo
                if [ "$b" = go ]; then
                    echo "| server | req/s | spread | p99 ms | non-2xx | sock err | server µs CPU/req | server cs/req | backend conns | app conns/reqs | others' CPU | ratio |"
                    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
                else
                    echo "| server | req/s | spread | p99 ms | non-2xx | sock err | server µs CPU/req | server cs/req | backend conns | others' CPU | ratio |"
                    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
                fi
                fx=$(valid_rps fcgix "$b" "$w" "$c" || true)
                for s in $servers_all; do
                    [[ " $BENCH_SERVERS " == *" $s "* ]] || continue
                    [ "$s" = fcgid ] || [ "$s" = fcgixpm ] &&
                        [ "$b" != libfcgi ] && continue
                    [ "$s" = fcgixka ] && [ "$b" != go ] && continue
                    [ "$s" = nginxt ] && [ "$b" = go ] && continue
                    st=$(cell "$s" "$b" "$w" "$c" status)
                    local lbl
                    lbl=$(label_of "$s" "$b")
                    [ "$s" = fcgix ] && lbl="**$lbl**"
                    if [ -z "$st" ] || [ "$st" = failed ]; then
                        local why="not run"
                        [ "$st" = failed ] && why="wrk failed"
                        [ "${R[$s|$([ "$s" = static ] && echo static || echo "$b")|$w|sanity]:-}" = failed ] && why="SANITY FAILED"
                        [ "${R[$s|$([ "$s" = static ] && echo static || echo "$b")|start]:-}" = failed ] && why="did not start"
                        if [ "$b" = go ]; then
                            echo "| $lbl | $why | | | | | | | | | | |"
                        else
                            echo "| $lbl | $why | | | | | | | | | |"
                        fi
                        continue
                    fi
                    rps=$(printf '%.0f' "$(cell "$s" "$b" "$w" "$c" rps)")
                    [ "$st" = invalid ] && rps="$rps INVALID"
                    local bg
                    bg=$(cell "$s" "$b" "$w" "$c" bg)
                    [ "${bg:-0}" -gt "$NOISY_PCT" ] && rps="$rps (noisy)"
                    p99=$(awk -v u="$(cell "$s" "$b" "$w" "$c" p99_us)" 'BEGIN { printf "%.2f", u / 1000 }')
                    line="| $lbl | $rps | $(cell "$s" "$b" "$w" "$c" spread) | $p99 | $(cell "$s" "$b" "$w" "$c" non2xx) | $(cell "$s" "$b" "$w" "$c" errs) | $(cell "$s" "$b" "$w" "$c" cpureq) | $(cell "$s" "$b" "$w" "$c" csreq) | $(cell "$s" "$b" "$w" "$c" bconns)"
                    if [ "$b" = go ]; then
                        if [ "$s" = static ]; then
                            line="$line | -"
                        else
                            line="$line | $(cell "$s" "$b" "$w" "$c" gconns)/$(cell "$s" "$b" "$w" "$c" greqs)"
                        fi
                    fi
                    # mod_fcgid spawns: compared with mod_fcgix spawning
                    local num=$fx
                    if [ "$s" = fcgid ]; then
                        num=$(valid_rps fcgixpm "$b" "$w" "$c" || true)
                        [ -n "$num" ] || num=$fx
                    fi
                    echo "$line | ${bg:-?}% | $(ratio "$num" "$(valid_rps "$s" "$b" "$w" "$c" || true)") |"
                done
            done
        done
    done

    echo
    echo "## Error log lines (after filtering start/stop notices)"
    echo
    local any=0
    for s in $BENCH_SERVERS; do
        if [ -s "$D/$s/error.tail" ]; then
            any=1
            echo "$s ($D/$s/error.log):"
            echo '```'
            cat "$D/$s/error.tail"
            echo '```'
        fi
    done
    [ "$any" = 1 ] || echo "none"
    if [ ${#ANOMALIES[@]} -gt 0 ]; then
        echo
        echo "## Anomalies"
        echo
        local a
        for a in "${ANOMALIES[@]}"; do echo "- $a"; done
    fi

    local alone=""
    if [ -s "$RAW/coldstart.txt" ]; then
        echo
        echo "## Cold start of a never-spawned class"
        echo
        echo "The libfcgi binary copied to a new file name (a new class) and requested once; median of $BENCH_COLD_N (min), and a second request to the same URL (warm). \"App alone\": the binary started with its listen socket on fd 0 and one FastCGI request sent at once, exec to END_REQUEST: its own exec-to-accept time plus one request."
        echo
        echo "| | first request ms (median) | min | warm request ms | ok |"
        echo "|---|---:|---:|---:|---:|"
        local nm med mn warm ok n
        while read -r nm med mn warm ok n; do
            case $nm in
                alone)   echo "| app alone (exec → reply) | $med | $mn | - | $ok/$n |"; alone=$med ;;
                fcgixpm) echo "| **mod_fcgix** | $med | $mn | $warm | $ok/$n |"; COLD_FX=$med ;;
                fcgid)   echo "| mod_fcgid | $med | $mn | $warm | $ok/$n |" ;;
            esac
        done <"$RAW/coldstart.txt"
    fi

    echo
    echo "## Targets (issue 19; medians of the same run)"
    echo
    echo "Against nginx's default row (\`nginx (keepalive $BENCH_NGINX_KEEPALIVE)\`, counted); the indented line under each says what the same target gives against \`nginx (tuned)\` (counted apart)."
    echo
    MET=0 MISSED=0 NA=0 TMET=0 TMISSED=0 TNA=0
    local b=libfcgi
    if [[ " $BENCH_BACKENDS " == *" libfcgi "* ]]; then
        for c in $BENCH_CONNS; do
            target_rps main "$b" post1m "$c" fcgix nginx 1.00
            target_rps tuned "$b" post1m "$c" fcgix nginxt 1.00
        done
        for c in $BENCH_CONNS; do
            target_cpu "$b" post1m "$c" static 1 100
        done
        for c in $BENCH_CONNS; do
            target_rps main "$b" get1m "$c" fcgix nginx 1.00
            target_rps tuned "$b" get1m "$c" fcgix nginxt 1.00
        done
        for c in $BENCH_CONNS; do
            target_cpu "$b" small "$c" static 1.5 0
            target_rps main "$b" small "$c" fcgix nginx 0.80
            target_rps tuned "$b" small "$c" fcgix nginxt 0.80
        done
        for w in $BENCH_WORKLOADS; do
            for c in $BENCH_CONNS; do
                target_spawn "$w" "$c"
            done
        done
    fi
    if [[ " $BENCH_BACKENDS " == *" go "* ]]; then
        for w in $BENCH_WORKLOADS; do
            for c in $BENCH_CONNS; do
                target_mpx "$w" "$c"
            done
        done
    fi
    if [ -n "$alone" ] && [ -n "${COLD_FX:-}" ]; then
        echo "- (not an issue-19 target) cold start: mod_fcgix $COLD_FX ms, app alone $alone ms"
    fi
    echo
    echo "**$MET met, $MISSED missed, $NA not measured** (against nginx's default row)."
    if [ $((TMET + TMISSED + TNA)) -gt 0 ]; then
        echo "Against nginx (tuned) instead: $TMET met, $TMISSED missed, $TNA not measured."
    fi
}

# Counts one verdict and prints its line.
verdict() { # main|tuned MET|MISSED|n/a text
    local pre="- "
    case $1/$2 in
        main/MET)     MET=$((MET + 1)) ;;
        main/MISSED)  MISSED=$((MISSED + 1)) ;;
        main/n/a)     NA=$((NA + 1)) ;;
        tuned/MET)    TMET=$((TMET + 1)); pre="    - " ;;
        tuned/MISSED) TMISSED=$((TMISSED + 1)); pre="    - " ;;
        tuned/n/a)    TNA=$((TNA + 1)); pre="    - " ;;
    esac
    printf '%s`%-6s` %s\n' "$pre" "$2" "$3"
}

in_run() { # server workload conns: was that cell part of the run?
    [[ " $BENCH_SERVERS " == *" $1 "* && " $BENCH_WORKLOADS " == *" $2 "* &&
       " $BENCH_CONNS " == *" $3 "* ]]
}

sname() {
    case $1 in
        fcgix)   echo mod_fcgix ;;
        fcgixpm) echo "mod_fcgix spawning" ;;
        fcgixka) echo "mod_fcgix keep-alive" ;;
        proxy)   echo mod_proxy_fcgi ;;
        fcgid)   echo mod_fcgid ;;
        nginxt)  echo "nginx (tuned)" ;;
        static)  echo "Apache static" ;;
        *)       echo "$1" ;;
    esac
}

# req/s of ours / the anchor's >= min
target_rps() { # main|tuned backend workload conns ours anchor min
    local k=$1 b=$2 w=$3 c=$4 us=$5 a=$6 min=$7 r v
    in_run "$us" "$w" "$c" && in_run "$a" "$w" "$c" || return 0
    r=$(ratio "$(valid_rps "$us" "$b" "$w" "$c" || true)" \
              "$(valid_rps "$a" "$b" "$w" "$c" || true)")
    v=n/a
    if [ "$r" != - ]; then
        v=MISSED
        awk -v r="$r" -v m="$min" 'BEGIN { exit !(r >= m) }' && v=MET
    fi
    verdict "$k" "$v" "$b, $(wl_title "$w"), c=$c: $(sname "$us")/$(sname "$a") req/s = $r (target ≥ $min)"
}

# mod_fcgix's server CPU per request <= factor x the static file's + add µs
target_cpu() { # backend workload conns anchor factor add
    local b=$1 w=$2 c=$3 a=$4 f=$5 add=$6 us an lim v=n/a what
    in_run fcgix "$w" "$c" && in_run "$a" "$w" "$c" || return 0
    us=$([ "$(cell fcgix "$b" "$w" "$c" status)" = ok ] && cell fcgix "$b" "$w" "$c" cpureq || true)
    an=$([ "$(cell "$a" "$b" "$w" "$c" status)" = ok ] && cell "$a" "$b" "$w" "$c" cpureq || true)
    if [[ $us =~ ^[0-9.]+$ && $an =~ ^[0-9.]+$ ]]; then
        lim=$(awk -v a="$an" -v f="$f" -v d="$add" 'BEGIN { printf "%.0f", a * f + d }')
        v=MISSED
        awk -v u="$us" -v l="$lim" 'BEGIN { exit !(u <= l) }' && v=MET
    fi
    what="$f × $(sname "$a")'s"
    [ "$f" = 1 ] && what="$(sname "$a")'s"
    [ "$add" != 0 ] && what="$what + $add µs"
    [ "$w" = post1m ] && [ "$a" = static ] && what="$what (its read-and-discard)"
    verdict main "$v" "$b, $(wl_title "$w"), c=$c: mod_fcgix server CPU ${us:-?} µs/req ≤ $what = ${lim:-?} µs (${an:-?} µs)"
}

# Spawning: mod_fcgix's req/s >= mod_fcgid's and its p99 <= 1/20 of theirs
target_spawn() { # workload conns
    local w=$1 c=$2 r p1 p2 v=n/a
    in_run fcgixpm "$w" "$c" && in_run fcgid "$w" "$c" || return 0
    r=$(ratio "$(valid_rps fcgixpm libfcgi "$w" "$c" || true)" \
              "$(valid_rps fcgid libfcgi "$w" "$c" || true)")
    p1=$(awk -v u="$(cell fcgixpm libfcgi "$w" "$c" p99_us)" 'BEGIN { printf "%.1f", u / 1000 }')
    p2=$(awk -v u="$(cell fcgid libfcgi "$w" "$c" p99_us)" 'BEGIN { printf "%.1f", u / 1000 }')
    if [ "$r" != - ]; then
        v=MISSED
        awk -v r="$r" -v a="$p1" -v b="$p2" \
            'BEGIN { exit !(r >= 1.0 && a * 20 <= b) }' && v=MET
    fi
    verdict main "$v" "libfcgi, $(wl_title "$w"), c=$c: spawning, mod_fcgix/mod_fcgid req/s = $r (≥ 1.0) and p99 $p1 ms ≤ $p2/20 ms"
}

# Go multiplexed (fcgix, mpx auto) >= the same on kept-alive connections
# (fcgixka), with at most 1/8 of its backend connections (sampled mid-run)
target_mpx() { # workload conns
    local w=$1 c=$2 r n1 n2 v=n/a
    in_run fcgix "$w" "$c" && in_run fcgixka "$w" "$c" || return 0
    r=$(ratio "$(valid_rps fcgix go "$w" "$c" || true)" \
              "$(valid_rps fcgixka go "$w" "$c" || true)")
    n1=$(cell fcgix go "$w" "$c" bconns | awk '{ print $1 + 0 }')
    n2=$(cell fcgixka go "$w" "$c" bconns | awk '{ print $1 + 0 }')
    if [ "$r" != - ]; then
        v=MISSED
        awk -v r="$r" -v a="$n1" -v b="$n2" \
            'BEGIN { exit !(r >= 1.0 && a * 8 <= b) }' && v=MET
    fi
    verdict main "$v" "go, $(wl_title "$w"), c=$c: multiplexed/kept-alive req/s = $r (≥ 1.0) over $n1 vs $n2 connections (≤ 1/8)"
}

# ---------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "run as root (httpd and nginx drop to www-data)"
install_deps

case $D in
    /tmp/*|/var/tmp/*|/run/*) ;;
    *) [ ! -e "$D" ] || [ -e "$D/.fcgix-bench" ] ||
           die "$D exists and is not a bench directory" ;;
esac
rm -rf "$D"
mkdir -p "$BIN" "$RUN" "$RAW" "$D/logs"
touch "$D/.fcgix-bench"
chmod 0755 "$D" "$RUN"
head -c "$POST_BYTES" /dev/zero | tr '\0' p >"$D/post.bin"

build_all
wait_quiet

ncells=0
for s in $BENCH_SERVERS; do
    for b in $(backends_of "$s"); do
        for w in $BENCH_WORKLOADS; do
            for c in $BENCH_CONNS; do ncells=$((ncells + 1)); done
        done
    done
done
log "$ncells cells x $BENCH_RUNS runs x $((BENCH_WARMUP + BENCH_SECONDS)) s: about $(( (ncells * BENCH_RUNS * (BENCH_WARMUP + BENCH_SECONDS + 1) + 60) / 60 )) min"

UP=()
for s in $BENCH_SERVERS; do
    case $s in
        static|fcgix|fcgixpm|fcgixka|proxy|nginx|nginxt|fcgid) bring_up "$s" ;;
        *) die "unknown server '$s' (static fcgix fcgixpm fcgixka proxy nginx nginxt fcgid)" ;;
    esac
done

# Cell order: whole-matrix rounds.  Round n measures every cell once
# (backend, workload, concurrency, then every server in turn, back to back,
# so that the machine's load hits the servers of a cell alike); the next
# round starts over.  A burst of load shorter than a round (several
# minutes) thus spoils at most one of a cell's runs, which the median
# drops.  Within a cell the servers' order rotates by one each round, so
# that no server is always the one measured right after a given other.
# The static file is measured once per workload and concurrency, with the
# first backend.
first_backend=${BENCH_BACKENDS%% *}
for n in $(seq 1 "$BENCH_RUNS"); do
    [ "$BENCH_RUNS" -gt 1 ] && log "round $n of $BENCH_RUNS"
    read -r -a order <<<"$BENCH_SERVERS"
    rot=$(( (n - 1) % ${#order[@]} ))
    order=("${order[@]:$rot}" "${order[@]:0:$rot}")
    for b in $BENCH_BACKENDS; do
        for w in $BENCH_WORKLOADS; do
            for c in $BENCH_CONNS; do
                for s in "${order[@]}"; do
                    if [ "$s" = static ]; then
                        [ "$b" = "$first_backend" ] && measured_with static static &&
                            [ "${R[static|static|$w|sanity]:-}" != failed ] &&
                            run_cell static static "$w" "$c" "$n"
                        continue
                    fi
                    measured_with "$s" "$b" || continue
                    [ "${R[$s|$b|$w|sanity]:-}" = failed ] && continue
                    run_cell "$s" "$b" "$w" "$c" "$n"
                done
            done
        done
    done
done
for s in $BENCH_SERVERS; do
    for b in $(backends_of "$s"); do
        for w in $BENCH_WORKLOADS; do
            for c in $BENCH_CONNS; do
                aggregate_cell "$s" "$b" "$w" "$c"
            done
        done
    done
done

# Cold start: a class never spawned before, on the servers that spawn.
COLD_ARGS=()
for s in fcgixpm fcgid; do
    measured_with "$s" libfcgi &&
        COLD_ARGS+=("$s" "$D/$s/htdocs/cold" "http://127.0.0.1:$(port_of "$s")/cold")
done
if [ ${#COLD_ARGS[@]} -gt 0 ]; then
    log "cold start ($BENCH_COLD_N each)"
    perl "$HERE/coldstart.pl" "$BIN/hello_libfcgi" "$BENCH_COLD_N" \
        "${COLD_ARGS[@]}" >"$RAW/coldstart.txt" 2>"$RAW/coldstart.err" ||
        ANOMALIES+=("cold-start measure failed: $(tail -1 "$RAW/coldstart.err")")
fi

for s in "${UP[@]}"; do
    bring_down "$s"
done
sweep_our_binaries

mkdir -p "$(dirname "$BENCH_RESULTS")"
report >"$BENCH_RESULTS"
cat "$BENCH_RESULTS"
log "report written to $BENCH_RESULTS; logs and raw wrk output in $D"
