/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * mod_fcgid's name and nothing else: conf/fcgix.load names this file in
 * "LoadModule fcgid_module ...", so that mod_so knows the symbol and
 * <IfModule fcgid_module> as well as <IfModule mod_fcgid.c> sections are
 * read for mod_fcgix (which serves fcgid-script and every Fcgid*
 * directive).
 *
 * A file of its own rather than a second symbol of mod_fcgix.so: httpd
 * loads modules RTLD_GLOBAL, so a real mod_fcgid.so loaded after a file
 * that exports fcgid_module would bind its own references to that record
 * and run on an empty one. mod_so loads one file per symbol name, so this
 * file and the real module exclude each other, in either order.
 */

#include "fcgix_names.h"

FCGIX_NAME_MODULE(fcgid_module, "mod_fcgid.c");
