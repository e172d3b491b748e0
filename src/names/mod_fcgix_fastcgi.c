/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * mod_fastcgi's name and nothing else, for <IfModule fastcgi_module> and
 * <IfModule mod_fastcgi.c>: see mod_fcgix_fcgid.c, which says why the
 * name lives in a file of its own.
 */

#include "httpd.h"
#include "http_config.h"

module AP_MODULE_DECLARE_DATA fastcgi_module = {
    MODULE_MAGIC_NUMBER_MAJOR,
    MODULE_MAGIC_NUMBER_MINOR,
    -1,
    "mod_fastcgi.c",  /* what <IfModule mod_fastcgi.c> compares */
    NULL,
    NULL,
    MODULE_MAGIC_COOKIE,
    NULL,
    NULL, NULL, NULL, NULL, NULL, NULL,  /* no configuration, no hooks */
    AP_MODULE_FLAG_NONE
};
