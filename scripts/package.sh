#!/bin/bash
# Build the Debian package libapache2-mod-fcgix out of tree.
#
#   scripts/package.sh [--no-lintian] [OUTDIR]     (default OUTDIR build/deb)
#
# The tracked files and the new ones git does not ignore (without git:
# the tree minus what the build and the test suite generate) are copied
# into a temporary directory, `dpkg-buildpackage -us -uc -b` runs there, and the .deb,
# .changes and .buildinfo land in OUTDIR.  Then lintian, when installed,
# checks the .changes and fails on any error or warning (overrides and
# their reasons: debian/libapache2-mod-fcgix.lintian-overrides).
# Build dependencies: scripts/deps.sh package.
set -euo pipefail

lintian=1
if [ "${1:-}" = --no-lintian ]; then lintian=; shift; fi
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-build/deb}
case "$out" in /*) ;; *) out="$top/$out" ;; esac

version=$(sed -n 's/^#define FCGIX_VERSION_NUMBER "\(.*\)"$/\1/p' \
    "$top/include/fcgix.h")
deb_version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
if [ "$version" != "$deb_version" ]; then
    echo "$0: FCGIX_VERSION_NUMBER $version but debian/changelog" \
         "$deb_version" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fcgix-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
src="$tmp/mod-fcgix-$version"
mkdir "$src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked and new (not ignored) files as they are in the work tree; a
    # tracked file deleted but not committed is left out.
    (cd "$top" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
        [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -C "$src" -xf -
else
    (cd "$top" && tar --exclude=./.git --exclude=./build \
        --exclude=./t/logs --exclude=./t/state --exclude='*.o' \
        --exclude='*.lo' --exclude='*.slo' --exclude='*.la' \
        --exclude='./.libs' --exclude='./src/.libs' \
        --exclude='./src/names/.libs' -cf - .) | tar -C "$src" -xf -
fi

(cd "$src" && dpkg-buildpackage -us -uc -b)

mkdir -p "$out"
rm -f "$out"/libapache2-mod-fcgix_* "$out"/mod-fcgix_*
cp "$tmp"/libapache2-mod-fcgix*_"$version"_*.deb \
   "$tmp"/mod-fcgix_"$version"_*.changes \
   "$tmp"/mod-fcgix_"$version"_*.buildinfo "$out"/
ls -l "$out"

if [ -n "$lintian" ] && command -v lintian >/dev/null 2>&1; then
    lintian --fail-on error,warning --info "$out"/mod-fcgix_"$version"_*.changes
    echo "lintian: no error, no warning"
fi
