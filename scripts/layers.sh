#!/bin/sh
# The include and call rules of the layers (docs/ARCHITECTURE.md,
# "Layers"), checked by `make -f Makefile.apxs check`.
#
#   scripts/layers.sh [objdir ...]
#
# Every source and header has a layer, from its name; a file may include
# the headers of its own layer and of lower ones only, and may call only
# functions defined in its own layer or lower ones (read from the object
# files in the objdirs, when given: apxs leaves them in .libs and
# src/.libs).  L0 and L1
# may not include httpd headers; L0 may not include APR either.  A file
# the map below does not know fails the check: a new file gets a layer
# when it is written.
set -u

layer_of() {
    case "$1" in
    logno|proto|policy|cgi|addrset) echo 0 ;;
    addr|pool|limits|mpx|mpx_*|sb|sync|pm|pm_*) echo 1 ;;
    fcgix) echo 2 ;;
    conf|conf_*|compat|compat_*|env|body|response|names|php|sendfile)
        echo 2 ;;
    upstream|upstream_*|class|spawn|bridge|req|chan|send|reply|loop|fail)
        echo 3 ;;
    interim|override) echo 3 ;;
    handler|authz|filter|status|metrics|admin|proxy|module) echo 4 ;;
    *) echo "" ;;
    esac
}

layer_name() {
    case "$1" in
    0) echo "L0 codec and policy" ;;
    1) echo "L1 transport and process manager" ;;
    2) echo "L2 configuration and request helpers" ;;
    3) echo "L3 upstream and bridge" ;;
    4) echo "L4 hooks" ;;
    esac
}

# fcgix_pool.c -> pool; mod_fcgix.c -> module
concern() {
    b=$(basename "$1")
    b=${b%.c}
    b=${b%.h}
    b=${b%.o}
    case "$b" in
    mod_fcgix) echo module ;;
    fcgix) echo fcgix ;;
    fcgix_*) echo "${b#fcgix_}" ;;
    *) echo "?$b" ;;
    esac
}

bad=0
fail() {
    echo "layering: $*"
    bad=1
}

HTTPD_H='(httpd|http_[a-z_]*|ap_[a-z_]*|util_[a-z_]*|mod_[a-z_]*)\.h'
APR_H='(apr|apu)[a-z_]*\.h'

for f in mod_fcgix.c src/*.c include/*.h; do
    [ -f "$f" ] || continue
    me=$(concern "$f")
    ml=$(layer_of "$me")
    if [ -z "$ml" ]; then
        fail "$f has no layer (add it to scripts/layers.sh)"
        continue
    fi
    incs=$(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/p' "$f")
    for h in $incs; do
        if [ "$ml" -le 1 ] && echo "$h" | grep -qE "^$HTTPD_H\$"; then
            fail "$f ($(layer_name "$ml")) includes httpd header $h"
        fi
        if [ "$ml" -eq 0 ] && echo "$h" | grep -qE "^$APR_H\$"; then
            fail "$f ($(layer_name 0)) includes APR header $h"
        fi
        case "$h" in
        fcgix*.h)
            hl=$(layer_of "$(concern "$h")")
            if [ -z "$hl" ]; then
                fail "$f includes $h, which has no layer"
            elif [ "$hl" -gt "$ml" ]; then
                fail "$f ($(layer_name "$ml")) includes $h ($(layer_name "$hl"))"
            fi
            ;;
        esac
    done
done

# Calls: an object's undefined fcgix_* symbols (but fcgix_module, the
# module record every layer from L2 up reads its configuration through)
# must be defined by an object of its own layer or a lower one.
objs=
for d in "$@"; do
    for o in "$d"/*.o; do
        [ -f "$o" ] && objs="$objs $o"
    done
done
if [ -n "$objs" ]; then
    defs=$(mktemp)
    for o in $objs; do
        l=$(layer_of "$(concern "$o")")
        nm -g --defined-only "$o" 2>/dev/null |
            awk -v l="$l" '$3 ~ /^fcgix_/ { print $3, l }'
    done >"$defs"
    for o in $objs; do
        ol=$(layer_of "$(concern "$o")")
        [ -n "$ol" ] || { fail "$o has no layer"; continue; }
        for s in $(nm -u "$o" 2>/dev/null | awk '$2 ~ /^fcgix_/ && $2 != "fcgix_module" { print $2 }'); do
            sl=$(awk -v s="$s" '$1 == s { print $2; exit }' "$defs")
            if [ -n "$sl" ] && [ "$sl" -gt "$ol" ]; then
                fail "$(basename "$o") ($(layer_name "$ol")) calls $s ($(layer_name "$sl"))"
            fi
        done
    done
    rm -f "$defs"
fi

[ "$bad" -eq 0 ] && echo "layering ok"
exit "$bad"
