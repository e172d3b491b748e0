/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_filter.h
 * @brief FastCGI's Filter role (FCGI_FILTER) as httpd output filters:
 *        `FcgixFilter NAME TARGET [max-bytes=SIZE]` defines an output
 *        filter NAME (SetOutputFilter, AddOutputFilter) whose response
 *        body goes to application TARGET as FCGI_DATA; the application's
 *        reply (header block and body) replaces the response.
 *
 * Layer L4. TARGET is resolved as an authorizer's application is
 * (fcgix_upstream_resolve: an external server or FastCgiServer covering
 * the path, else a program the process manager spawns) and run through
 * fcgix_bridge_run() in the filter role. The directive registers the
 * filter itself (as mod_ext_filter does), so FCGIX_FILTER_CMDS, which
 * mod_fcgix.c splices into the module's table, lives here.
 */
#ifndef FCGIX_FILTER_H
#define FCGIX_FILTER_H

#include "http_config.h"

/** Largest response body a filter takes by default (max-bytes=). */
#define FCGIX_FILTER_MAX_BYTES_DEFAULT (8 * 1024 * 1024)

/** FcgixFilter NAME TARGET [max-bytes=SIZE] (server config, vhost). */
const char *fcgix_filter_define(cmd_parms *cmd, void *dcv, int argc,
                                char *const argv[]);

#define FCGIX_FILTER_CMDS                                                  \
    AP_INIT_TAKE_ARGV("FcgixFilter", fcgix_filter_define, NULL, RSRC_CONF, \
                      "NAME /path [max-bytes=SIZE]: an output filter run " \
                      "by a FastCGI application in the Filter role"),

#endif /* FCGIX_FILTER_H */
