<?php
// Tenant PHP script of the shared-hosting tests (t/070-075), served by a
// php-cgi wrapper (FcgidWrapper ... .php).  t/TEST.PL copies it into each
// tenant's tree under /var/www/fcgix-hosting-<port>/ (owned by the tenant,
// as suexec requires) and into the plain (no suexec) vhost's tree.
//
// Reply (text/plain), one NAME=VALUE per line:
//   app=php pid uid euid gid egid user script
// Query string:
//   sleep=S        sleep S seconds first (the load test's slow request)
//   limits         limit_<name>=<soft> <hard> from /proc/self/limits
//   env            env_NAME=VALUE for the process environment as exec()
//                  gave it (/proc/self/environ, not the request's params)
//   connect        for every socket path in the POST body (one a line):
//                  connect=<path> ok | <path> error <errno> <message>
//   kill=PID       kill(PID, 0): kill=ok | kill=error <errno> <message>
header('Content-Type: text/plain');
if (isset($_GET['sleep'])) {
    sleep((int)$_GET['sleep']);
}
$pw = posix_getpwuid(posix_geteuid());
echo "app=php\n";
echo "pid=", getmypid(), "\n";
echo "uid=", posix_getuid(), "\n";
echo "euid=", posix_geteuid(), "\n";
echo "gid=", posix_getgid(), "\n";
echo "egid=", posix_getegid(), "\n";
echo "user=", $pw ? $pw['name'] : '', "\n";
echo "script=", $_SERVER['SCRIPT_FILENAME'] ?? '', "\n";
if (isset($_GET['limits'])) {
    foreach (file('/proc/self/limits') as $line) {
        if (preg_match('/^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/', $line, $m)) {
            $name = str_replace(' ', '_', strtolower($m[1]));
            echo "limit_$name=$m[2] $m[3]\n";
        }
    }
}
if (isset($_GET['env'])) {
    foreach (explode("\0", file_get_contents('/proc/self/environ')) as $e) {
        if ($e !== '') {
            echo "env_$e\n";
        }
    }
}
if (isset($_GET['connect'])) {
    $body = file_get_contents('php://input');
    foreach (preg_split('/\n/', $body, -1, PREG_SPLIT_NO_EMPTY) as $path) {
        $s = socket_create(AF_UNIX, SOCK_STREAM, 0);
        if (@socket_connect($s, $path)) {
            echo "connect=$path ok\n";
        } else {
            $e = socket_last_error($s);
            echo "connect=$path error $e ", socket_strerror($e), "\n";
        }
        socket_close($s);
    }
}
if (isset($_GET['kill'])) {
    if (posix_kill((int)$_GET['kill'], 0)) {
        echo "kill=ok\n";
    } else {
        $e = posix_get_last_error();
        echo "kill=error $e ", posix_strerror($e), "\n";
    }
}
