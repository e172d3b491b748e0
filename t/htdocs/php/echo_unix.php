<?php
/* php-fpm echo app, unix-socket pool (see echo.inc) */
require __DIR__ . '/echo.inc';
