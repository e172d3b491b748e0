<?php
/* php-fpm echo app under FcgixErrorOverride On (t/027; see echo.inc) */
require __DIR__ . '/../../php/echo.inc';
