/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_sendfile.h
 * @brief What an application's response header asks httpd to do instead
 *        of (or with) its body: X-Sendfile (a file under an allowed root
 *        served by httpd), X-Accel-Redirect (an internal redirect to a
 *        URI) and X-Accel-Buffering (this response streamed or held).
 *
 * Layer L2. fcgix_reply.c calls fcgix_sendfile_take on a responder's
 * parsed header fields; fcgix_bridge.c calls fcgix_sendfile_serve once the
 * application's channel is given back; fcgix_conf.c's directory merge
 * calls fcgix_sendfile_merge; mod_fcgix.c splices FCGIX_SENDFILE_CMDS
 * into the command table.
 */
#ifndef FCGIX_SENDFILE_H
#define FCGIX_SENDFILE_H

#include "httpd.h"
#include "http_config.h"

/** Per-directory settings (FcgixSendfile*), opaque. */
typedef struct fcgix_sendfile_dir_t fcgix_sendfile_dir_t;

/** X-Accel-Buffering, as the application said it. */
typedef enum {
    FCGIX_BUFFERING_UNSAID = 0, /**< the server's flushing as configured */
    FCGIX_BUFFERING_NO,         /**< flush after every read */
    FCGIX_BUFFERING_YES         /**< hold the body (up to a bound) */
} fcgix_buffering_e;

/** What one response's header asked for. */
typedef struct fcgix_sendfile_t {
    const char *file;        /**< X-Sendfile's path, or NULL */
    const char *uri;         /**< X-Accel-Redirect's URI, or NULL */
    int app_type;            /**< the application sent a Content-Type */
    fcgix_buffering_e buffering;
} fcgix_sendfile_t;

/** Bytes a "X-Accel-Buffering: yes" response holds before it passes
 *  what it has on (without a flush). */
#define FCGIX_BUFFERING_HOLD_MAX (1024 * 1024)

const char *fcgix_sendfile_cmd_flag(cmd_parms *cmd, void *dconf, int on);
const char *fcgix_sendfile_cmd_root(cmd_parms *cmd, void *dconf,
                                    const char *arg);
const char *fcgix_sendfile_cmd_header(cmd_parms *cmd, void *dconf,
                                      const char *arg);

/* Not in .htaccess: whoever may write one must not choose which files
 * httpd hands out. */
#define FCGIX_SENDFILE_CTX (RSRC_CONF | ACCESS_CONF)

#define FCGIX_SENDFILE_CMDS                                                \
    AP_INIT_FLAG("FcgixSendfile", fcgix_sendfile_cmd_flag, NULL,           \
                 FCGIX_SENDFILE_CTX,                                       \
                 "On: honour X-Sendfile and X-Accel-Redirect from the "    \
                 "application (default Off)"),                             \
    AP_INIT_ITERATE("FcgixSendfileRoot", fcgix_sendfile_cmd_root, NULL,    \
                    FCGIX_SENDFILE_CTX,                                    \
                    "directories X-Sendfile may serve files from "         \
                    "(none unless given)"),                                \
    AP_INIT_TAKE1("FcgixSendfileHeader", fcgix_sendfile_cmd_header,        \
                  (void *)0, FCGIX_SENDFILE_CTX,                           \
                  "name of the X-Sendfile header (default X-Sendfile)"),   \
    AP_INIT_TAKE1("FcgixAccelRedirectHeader", fcgix_sendfile_cmd_header,   \
                  (void *)1, FCGIX_SENDFILE_CTX,                           \
                  "name of the X-Accel-Redirect header (default "          \
                  "X-Accel-Redirect)"),

/** The directory merge: a setting given in @p add wins; roots replace. */
fcgix_sendfile_dir_t *fcgix_sendfile_merge(apr_pool_t *p,
                                           const fcgix_sendfile_dir_t *base,
                                           const fcgix_sendfile_dir_t *add);

/**
 * Takes X-Accel-Buffering, and with FcgixSendfile On the X-Sendfile and
 * X-Accel-Redirect fields (configured names), out of a responder's parsed
 * @p fields, so they never reach the client; fills @p xs.
 */
void fcgix_sendfile_take(const fcgix_sendfile_dir_t *sd, apr_table_t *fields,
                         fcgix_sendfile_t *xs);

/**
 * Serves what @p xs asks for, after the application's header was applied
 * to @p r and its channel given back: the file (its checks, conditions,
 * ranges through httpd's filters) or the internal redirect.
 * @return OK, or an HTTP status for the handler to return
 */
int fcgix_sendfile_serve(request_rec *r, const fcgix_sendfile_dir_t *sd,
                         const fcgix_sendfile_t *xs);

#endif /* FCGIX_SENDFILE_H */
