#!/bin/bash
# Install the Debian 12 packages mod_fcgix needs.
#
#   scripts/deps.sh demo   build + demo: apache2 apache2-dev build-essential
#   scripts/deps.sh test   everything the unit tests, the fuzzer and the
#                          Apache::Test suite (t/TEST.PL) need
#   scripts/deps.sh package  the Debian package's build (make -f
#                          Makefile.apxs package) and lintian
#
# Only missing packages are installed; `apt-get update` runs at most once,
# and only when something is missing.  Runs non-interactively as root (or
# through sudo when available).  No service is started: a policy-rc.d that
# refuses every start is in place while dpkg runs (php-fpm's postinst would
# otherwise start the system php-fpm; the tests run their own instance).
set -euo pipefail

usage() { echo "usage: $0 demo|test|package" >&2; exit 2; }
[ $# -eq 1 ] || usage

DEMO_PKGS=(apache2 apache2-dev build-essential)
# debian/control's Build-Depends (apache2-dev provides dh-apache2),
# dpkg-buildpackage, and lintian, which checks the result.
PACKAGE_PKGS=(apache2-dev build-essential dpkg-dev debhelper lintian)
TEST_PKGS=("${DEMO_PKGS[@]}"
    libapache2-mod-perl2   # Apache::Test (+ libwww-perl)
    libfcgi-perl           # t/apps/echo.pl (FCGI.pm)
    libfcgi-bin            # cgi-fcgi, handy for poking backends by hand
    libfcgi-dev
    php-cgi php-fpm        # php-fpm backends of the suite
    golang-go              # t/apps/echo.go (net/http/fcgi)
    clang libclang-rt-14-dev   # libFuzzer + sanitizers (make fuzz / check)
    strace                 # t/023: which files a request makes httpd stat
    # t/133: the name server of a re-resolved host name (run by the test
    # on 127.0.0.133:53). dnsmasq-base is the program alone: the package
    # "dnsmasq" adds a system service that would take port 53 on every
    # address at install. iproute2: the test's network namespaces.
    dnsmasq-base iproute2
    # ---- hosting ----
    # t/070-079: httpd's suexec (/usr/lib/apache2/suexec, setuid root).
    # pristine, not custom: its compiled-in docroot /var/www and userdir
    # suffix public_html fit the test layout (t/TEST.PL puts the vhosts'
    # trees under /var/www/fcgix-hosting-<port>/), so no system file
    # (/etc/apache2/suexec/www-data) has to be edited.  With both flavours
    # installed, `update-alternatives --set suexec
    # /usr/lib/apache2/suexec-pristine` selects it.  Either way its
    # AP_HTTPD_USER is www-data: the suite's httpd runs as www-data.
    apache2-suexec-pristine
    # ---- end hosting ----
    # ---- dropin ----
    # t/082: headless Chromium renders the status page (the sub-test is
    # skipped without it); t/081: Debian's own fcgid.conf is checked as a
    # drop-in configuration; t/085 migrates a copy of Debian's layout from
    # it (fcgid.load/.conf) and loads mod_fcgid beside mod_fcgix once, in
    # an httpd of its own (php-cgi, above, runs that test's scripts)
    chromium
    libapache2-mod-fcgid
    # ---- end dropin ----
    # ---- scale-out ----
    prometheus             # t/130: promtool check metrics on ?metrics
    # ---- end scale-out ----
    # t/150: builds the Debian package, lintian checks it, and it is
    # installed into the system's apache2
    "${PACKAGE_PKGS[@]}"
)
# Digest::MD5, IO::Socket::IP, Time::HiRes, POSIX and Test::More, which the
# suite also uses, are part of perl itself (perl-base / perl-modules-5.36).

case "$1" in
    demo) want=("${DEMO_PKGS[@]}") ;;
    test) want=("${TEST_PKGS[@]}") ;;
    package) want=("${PACKAGE_PKGS[@]}") ;;
    *) usage ;;
esac

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "$0: must run as root (or have sudo) to install packages" >&2
        exit 1
    fi
fi

installed() {
    # "install ok installed" only; half-installed/config-files don't count
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = \
      "install ok installed" ]
}

# ---- hosting ----
# t/070-079 need suexec-pristine's rules (docroot /var/www, userdir
# public_html).  apache2-suexec-custom, if installed too, would win the
# "suexec" alternative (higher priority): select pristine explicitly.
hosting_suexec() {
    if [ "$1" = test ] && [ -x /usr/lib/apache2/suexec-pristine ] &&
       [ -e /usr/lib/apache2/suexec-custom ]; then
        $SUDO update-alternatives --set suexec \
            /usr/lib/apache2/suexec-pristine
    fi
}
# ---- end hosting ----

missing=()
for p in "${want[@]}"; do
    [ -n "$p" ] || continue
    installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    hosting_suexec "$1"   # ---- hosting ----
    echo "deps ($1): all ${#want[@]} packages present"
    exit 0
fi
echo "deps ($1): installing ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o Dpkg::Use-Pty=0
          -o Dpkg::Options::=--force-confdef
          -o Dpkg::Options::=--force-confold
          -o DPkg::Lock::Timeout=600)

# Keep services from being started by maintainer scripts.  Only install our
# policy-rc.d when none exists, and only remove what we installed.
POLICY=/usr/sbin/policy-rc.d
policy_installed=
cleanup() {
    if [ -n "$policy_installed" ]; then
        $SUDO rm -f "$POLICY"
    fi
}
trap cleanup EXIT
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# installed by mod_fcgix scripts/deps.sh\nexit 101\n' |
        $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 0755 "$POLICY"
    policy_installed=1
fi

# DPkg::Lock::Timeout covers the dpkg lock only; the package lists lock of a
# concurrent apt run makes `update` fail at once, so wait for it here.
apt_update() {
    local i out
    for i in $(seq 1 120); do
        if out=$($SUDO env DEBIAN_FRONTEND=noninteractive \
                 apt-get "${APT_OPTS[@]}" update 2>&1); then
            printf '%s\n' "$out"
            return 0
        fi
        if ! grep -qiE 'could not get lock|unable to lock' <<<"$out"; then
            printf '%s\n' "$out" >&2
            return 1
        fi
        [ "$i" -eq 1 ] && echo "deps: waiting for another apt/dpkg run..."
        sleep 5
    done
    echo "deps: apt lock still held after 10 minutes" >&2
    return 1
}
apt_update
$SUDO env DEBIAN_FRONTEND=noninteractive \
    apt-get "${APT_OPTS[@]}" install --no-install-recommends "${missing[@]}"

still=()
for p in "${missing[@]}"; do
    installed "$p" || still+=("$p")
done
if [ ${#still[@]} -ne 0 ]; then
    echo "deps ($1): still missing after install: ${still[*]}" >&2
    exit 1
fi
hosting_suexec "$1"   # ---- hosting ----
echo "deps ($1): done"
