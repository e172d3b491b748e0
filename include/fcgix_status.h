/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_status.h
 * @brief The status page (SetHandler fcgix-status; ?auto, ?json) and the
 *        mod_fcgix section of mod_status's server-status.
 *
 * Layer L2. Reads the scoreboard (snapshot copies, no locks) and, for
 * external servers, the pools of the httpd child that answers.
 */
#ifndef FCGIX_STATUS_H
#define FCGIX_STATUS_H

#include "apr_pools.h"

#define FCGIX_STATUS_HANDLER "fcgix-status"

void fcgix_status_register_hooks(apr_pool_t *p);

#endif /* FCGIX_STATUS_H */
