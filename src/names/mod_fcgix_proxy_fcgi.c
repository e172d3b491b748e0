/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * mod_proxy_fcgi's name and nothing else: conf/fcgix.conf loads this file
 * as "LoadModule proxy_fcgi_module ..." when the real mod_proxy_fcgi is
 * not enabled, so that <IfModule proxy_fcgi_module> and <IfModule
 * mod_proxy_fcgi.c> sections (Debian's conf-available/php8.2-fpm.conf)
 * are read for mod_fcgix, which then serves their
 * SetHandler "proxy:unix:...|fcgi://..." itself.
 *
 * A file of its own for the reason src/names/mod_fcgix_fcgid.c gives:
 * mod_so loads one file per symbol name, so this file and the real
 * module exclude each other; fcgix.conf, read after every .load file,
 * loads this one only when proxy_fcgi.load did not load the real one.
 */

#include "fcgix_names.h"

FCGIX_NAME_MODULE(proxy_fcgi_module, "mod_proxy_fcgi.c");
