/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_handler.h
 * @brief Request dispatch: which requests mod_fcgix serves and which
 *        application serves them (fixups and content handler hooks).
 *
 * Layer L2. Called from mod_fcgix.c's hook registration only.
 */
#ifndef FCGIX_HANDLER_H
#define FCGIX_HANDLER_H

#include "apr_pools.h"

void fcgix_handler_register_hooks(apr_pool_t *p);

#endif /* FCGIX_HANDLER_H */
