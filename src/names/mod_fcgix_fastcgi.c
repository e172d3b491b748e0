/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * mod_fastcgi's name and nothing else, for <IfModule fastcgi_module> and
 * <IfModule mod_fastcgi.c>: see mod_fcgix_fcgid.c, which says why the
 * name lives in a file of its own.
 */

#include "fcgix_names.h"

FCGIX_NAME_MODULE(fastcgi_module, "mod_fastcgi.c");
