<?php
// t/080_dropin.t: run by php-cgi through "FcgidWrapper /usr/bin/php-cgi .php"
// (t/conf/dropin.conf.in).  Reply (text/plain), one NAME=VALUE per line.
header('Content-Type: text/plain');
echo "app=php\n";
echo "sapi=", php_sapi_name(), "\n";
echo "pid=", getmypid(), "\n";
echo "script=", $_SERVER['SCRIPT_FILENAME'] ?? '', "\n";
echo "initial_env=", (string)getenv('DROPIN_FCGID'), "\n";
echo "authorization=", $_SERVER['HTTP_AUTHORIZATION'] ?? '-', "\n";
echo "query=", $_SERVER['QUERY_STRING'] ?? '', "\n";
