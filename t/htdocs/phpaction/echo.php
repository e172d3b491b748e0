<?php
/* php-fpm echo app reached through AddHandler + Action (t/038) */
require __DIR__ . '/../php/echo.inc';
