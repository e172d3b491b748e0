/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_override.h
 * @brief FcgixErrorOverride: an application's 4xx/5xx reply replaced by
 *        httpd's error page for that status (ErrorDocument), its body
 *        read to the end and dropped.
 *
 * Layer L3. fcgix_reply.c asks fcgix_override_wanted once a responder's
 * header block is applied; fcgix_bridge.c calls fcgix_override_status
 * after the reply was read to END_REQUEST and the channel given back.
 */
#ifndef FCGIX_OVERRIDE_H
#define FCGIX_OVERRIDE_H

#include "fcgix_req.h"

/** True when the applied reply of @p q is to be replaced by the error
 *  page of its status. */
int fcgix_override_wanted(const fcgix_req_t *q);

/**
 * Leaves r as httpd's error handling needs it (status 200, the reply's
 * fields gone but those kept for the error page: Set-Cookie, and
 * WWW-Authenticate of a 401).
 * @return the application's status, for the handler to return
 */
int fcgix_override_status(fcgix_req_t *q);

#endif /* FCGIX_OVERRIDE_H */
