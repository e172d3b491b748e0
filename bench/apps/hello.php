<?php
// hello.php - the PHP backend of bench/run.sh (php-fpm), the same contract
// as apps/hello_libfcgi.c and apps/hello.go:
//   GET            200, "Hello, world!\n" (14 bytes)
//   GET ?bytes=N   200, N bytes of 'x'
//   POST           the body is read (php://input) and discarded; the small
//                  reply, with "X-Read: <bytes read>"
// Every reply carries Content-Length.
$small = "Hello, world!\n";
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $body = file_get_contents('php://input');
    header('X-Read: ' . strlen($body));
    unset($body);
    $out = $small;
} elseif (isset($_GET['bytes']) && ctype_digit($_GET['bytes'])) {
    $out = str_repeat('x', (int) $_GET['bytes']);
    header('Content-Type: application/octet-stream');
} else {
    $out = $small;
    header('Content-Type: text/plain');
}
header('Content-Length: ' . strlen($out));
echo $out;
