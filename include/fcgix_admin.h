/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_admin.h
 * @brief The status page's actions: a POST to the fcgix-status handler
 *        drains an external server's address or ends its drain.
 *
 * Layer L4 (hooks). Called by the status handler (fcgix_status.c) only,
 * for POST requests; whoever may POST there is whoever the Location's
 * Require lets in. The flag lives in the address's scoreboard slot, so every
 * httpd child sees it; the next configuration generation (a graceful
 * restart) sets it from drain= again.
 */
#ifndef FCGIX_ADMIN_H
#define FCGIX_ADMIN_H

#include "httpd.h"

/**
 * Carries out the form in @p r's body: action=drain|resume,
 * server=<path as configured>, address=<address as configured>.
 * @return OK (a one-line text/plain answer sent), or an HTTP status:
 *         400 (bad form), 404 (no such address), 409 (no scoreboard)
 */
int fcgix_admin_post(request_rec *r);

#endif /* FCGIX_ADMIN_H */
