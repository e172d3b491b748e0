<?php
/* php-fpm app of the connection pool tests (t/050_keepalive.t), served by
 * the php-fpm "pool-fpm" that t/TEST.PL starts (process.dumpable = yes, so
 * a worker can read its own /proc/self/fd).
 *   sleep_ms=N   sleep before answering
 * Body: "pid=<worker> conn=<inode of the FastCGI connection's socket>
 * start=<time> end=<time>\n".  The connection is the worker's socket that
 * is not a listening one (flag __SO_ACCEPTCON in /proc/net/unix).
 */
$start = microtime(true);
$ms = (int)($_GET['sleep_ms'] ?? 0);
if ($ms > 0) {
    usleep($ms * 1000);
}
$listening = [];
foreach (@file('/proc/net/unix') ?: [] as $line) {
    $f = preg_split('/\s+/', trim($line));
    if (count($f) >= 7 && preg_match('/^[0-9A-Fa-f]+$/', $f[3])
        && (hexdec($f[3]) & 0x10000)) {
        $listening['socket:[' . $f[6] . ']'] = 1;
    }
}
$conn = [];
foreach (@scandir('/proc/self/fd') ?: [] as $fd) {
    $l = @readlink("/proc/self/fd/$fd");
    if ($l !== false && !isset($listening[$l])
        && preg_match('/^socket:\[(\d+)\]$/', $l, $m)) {
        $conn[] = $m[1];
    }
}
header('Content-Type: text/plain');
printf("pid=%d conn=%s start=%.6f end=%.6f\n", getmypid(),
       $conn ? implode(',', $conn) : '-', $start, microtime(true));
