/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * The one empty module record behind each old module name in src/names/
 * (mod_fcgix_fcgid.c says why each is a file of its own): no
 * configuration, no hooks, only the symbol mod_so looks up and the file
 * name <IfModule mod_x.c> compares. Included by those files only.
 */
#ifndef FCGIX_NAMES_H
#define FCGIX_NAMES_H

#include "httpd.h"
#include "http_config.h"

/* FCGIX_NAME_MODULE(fcgid_module, "mod_fcgid.c") defines fcgid_module. */
#define FCGIX_NAME_MODULE(sym, file) \
    module AP_MODULE_DECLARE_DATA sym = { \
        MODULE_MAGIC_NUMBER_MAJOR, \
        MODULE_MAGIC_NUMBER_MINOR, \
        -1, \
        file, \
        NULL, \
        NULL, \
        MODULE_MAGIC_COOKIE, \
        NULL, \
        NULL, NULL, NULL, NULL, NULL, NULL, \
        AP_MODULE_FLAG_NONE \
    }

#endif
