#!/usr/bin/php-cgi
<?php
// php-cgi application spawned by mod_fcgix's process manager (t/060-065).
// The kernel runs "/usr/bin/php-cgi <this file>"; php-cgi finds the listen
// socket on fd 0, runs in FastCGI mode and executes SCRIPT_FILENAME (this
// file) for every request, skipping the "#!" line.  It exits by itself
// after PHP_FCGI_MAX_REQUESTS requests (t/062 sets it with FcgixInitialEnv).
//
// Reply (text/plain), one NAME=VALUE per line:
//   app=php pid=<pid> script=<SCRIPT_FILENAME> global=<$PM_GLOBAL>
//   max_requests=<$PHP_FCGI_MAX_REQUESTS>
// Query string: sleep_ms=N sleeps first.
header('Content-Type: text/plain');
if (isset($_GET['sleep_ms'])) {
    usleep((int)$_GET['sleep_ms'] * 1000);
}
echo "app=php\n";
echo "pid=", getmypid(), "\n";
echo "script=", $_SERVER['SCRIPT_FILENAME'] ?? '', "\n";
echo "global=", (string)getenv('PM_GLOBAL'), "\n";
echo "max_requests=", (string)getenv('PHP_FCGI_MAX_REQUESTS'), "\n";
