/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_proxy.h
 * @brief mod_proxy_fcgi's handler form, SetHandler
 *        "proxy:unix:/path|fcgi://host[:port]/..." and
 *        "proxy:fcgi://host:port/...", served by mod_fcgix while
 *        mod_proxy_fcgi is not loaded: reading the handler string, and
 *        the SCRIPT_FILENAME (and PATH_INFO) php-fpm gets from
 *        mod_proxy_fcgi for it.
 *
 * Layer L2. Called by the request path for requests whose handler has
 * this form.
 */
#ifndef FCGIX_PROXY_H
#define FCGIX_PROXY_H

#include "httpd.h"

/** A handler string of mod_proxy_fcgi's form, read. */
typedef struct fcgix_proxy_target_t {
    const char *socket; /**< "unix:" socket path, or NULL for TCP */
    const char *addr;   /**< for fcgix_addr_parse: unix:/path, host:port */
    const char *host;   /**< as mod_proxy writes it: lower case, IPv6 in
                             brackets, ":port" unless 8000 */
    const char *prefix; /**< the URL path after the host ("" or "/x") */
} fcgix_proxy_target_t;

/**
 * Reads @p handler. @return NULL with t->addr set (the form is ours),
 * NULL with t->addr NULL (not a "proxy:" handler of the fcgi scheme:
 * someone else's), or an error for a malformed fcgi one.
 */
const char *fcgix_proxy_parse(apr_pool_t *p, const char *handler,
                              fcgix_proxy_target_t *t);

/**
 * The SCRIPT_FILENAME mod_proxy_fcgi (2.4.71) sends for request @p r
 * (FPM backend type, its default): "proxy:fcgi://HOST/" and the path of
 * handler and file name; php-fpm takes the file name after the host.
 * Honours the proxy-fcgi-pathinfo variable, which may set r->path_info,
 * and sets proxy-nokeepalive=1 as mod_proxy does when connections are
 * not kept (@p keepalive 0). The handler makes it r->filename, as
 * mod_proxy does, before the CGI variables are made.
 */
const char *fcgix_proxy_script_filename(request_rec *r,
                                        const fcgix_proxy_target_t *t,
                                        int keepalive);

/** post_config: the servers of the handler strings in the configuration;
 *  handler: their requests. */
void fcgix_proxy_register_hooks(apr_pool_t *p);

#endif /* FCGIX_PROXY_H */
