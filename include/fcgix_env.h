/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_env.h
 * @brief The CGI/1.1 environment of a request, encoded as the opening
 *        records of a FastCGI request (BEGIN_REQUEST and PARAMS).
 *
 * Layer L2. Called by fcgix_bridge.c once per request, before connecting.
 */
#ifndef FCGIX_ENV_H
#define FCGIX_ENV_H

#include "httpd.h"

#include "fcgix_conf.h"

typedef struct fcgix_env_opts_t {
    apr_uint16_t request_id;
    apr_uint16_t role;
    int keep_conn;
    /** >= 0: the body length we will send (a spooled chunked body);
     *  -1: keep what the client's Content-Length said. */
    apr_off_t content_length;
    /** Append the empty STDIN record: the request has no body. */
    int no_body;
    /** Variables for this application only (authorizer roles): the
     *  environment is then built in a copy, r->subprocess_env keeps none
     *  of them, and CONTENT_LENGTH is dropped. */
    const apr_table_t *extra;
} fcgix_env_opts_t;

/**
 * Fills r->subprocess_env with the CGI variables (RFC 3875 as httpd's core
 * produces them, without HTTP_PROXY and, unless passed, Authorization),
 * adds the pass-headers of the server (@p own_headers, or NULL) and of
 * the directory, and encodes BEGIN_REQUEST, PARAMS, the
 * empty PARAMS and optionally the empty STDIN into one buffer, so that a
 * bodyless request goes out in a single write.
 * @return APR_SUCCESS, or APR_EINVAL when a variable is too large to encode
 */
apr_status_t fcgix_env_build(request_rec *r,
                             const apr_array_header_t *own_headers,
                             const fcgix_dir_conf_t *dc,
                             const fcgix_env_opts_t *opts, char **out,
                             apr_size_t *out_len);

#endif /* FCGIX_ENV_H */
