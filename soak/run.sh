#!/bin/bash
# The soak (t/120_soak.t) for as long as asked, from the top of the tree:
#
#   soak/run.sh [SECONDS]            the module as built (default 1800 s)
#   soak/run.sh --asan [SECONDS]     the module built with ASan+UBSan,
#                                    leak detection on at exit; any report
#                                    from the module's code fails the run
#
# SOAK_CLIENTS=N sets the clients at once (6).  Loopback only: an httpd
# of its own in t/logs/soak; the report (requests by outcome, faults by
# kind, the leak checks) is printed by the test.  make test runs the same
# file for 90 s.
set -uo pipefail
cd "$(dirname "$0")/.."
asan=
if [ "${1:-}" = "--asan" ]; then
    asan=1
    shift
fi
export SOAK_SECONDS=${1:-1800}
make -f Makefile.apxs WERROR=1 all >/dev/null || exit 1
if [ -z "$asan" ]; then
    exec perl t/TEST.PL -verbose t/120_soak.t
fi

rt="$(cc -print-file-name=libasan.so):$(cc -print-file-name=libubsan.so)"
rm -rf .libs src/.libs ./*.lo src/*.lo ./*.slo src/*.slo
apxs -c -I include -Wc,-fsanitize=address,undefined \
    -Wc,-fno-omit-frame-pointer -Wc,-O1 -Wc,-std=gnu99 \
    -Wl,-fsanitize=address,undefined -o mod_fcgix.la \
    mod_fcgix.c src/*.c >/dev/null || exit 1
out=/tmp/fcgix-soak-asan
rm -f "$out".*
LD_PRELOAD="$rt" \
    ASAN_OPTIONS="detect_leaks=1:log_path=$out:fast_unwind_on_malloc=0" \
    LSAN_OPTIONS="exitcode=0:suppressions=$PWD/soak/lsan.supp" \
    UBSAN_OPTIONS="print_stacktrace=1:log_path=$out" \
    perl t/TEST.PL -verbose t/120_soak.t
rc=$?
# the normal module again
rm -rf .libs src/.libs ./*.lo src/*.lo ./*.slo src/*.slo
make -f Makefile.apxs WERROR=1 all >/dev/null
bad=0
# Memory errors anywhere in httpd; leaks only when the module's code
# allocated them (httpd and APR keep their configuration to the end;
# soak/lsan.supp lists what the module keeps to the end on purpose).
for f in "$out".*; do
    [ -e "$f" ] || continue
    if grep -qE 'ERROR: AddressSanitizer|runtime error' "$f"; then
        echo "soak/run.sh: sanitizer report in $f"; bad=1
    fi
    if grep -q 'ERROR: LeakSanitizer' "$f" \
        && awk '/^(Direct|Indirect) leak/{s=$0; m=0} /fcgix_/{m=1}
                /^$/{if (s && m) {print s; found=1} s=""}
                END{exit !found}' "$f"; then
        echo "soak/run.sh: leak in the module's allocations in $f"; bad=1
    fi
done
n=$(ls "$out".* 2>/dev/null | wc -l)
echo "soak/run.sh: ASan+UBSan, $n sanitizer log(s), module reports: $bad"
[ "$bad" = 0 ] && exit "$rc"
exit 1
