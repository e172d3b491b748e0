<?php
/* php-fpm echo app, TCP pool (see echo.inc) */
require __DIR__ . '/echo.inc';
