/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_authz.h
 * @brief FastCGI authorizers: the FCGI_AUTHORIZER role in httpd's access,
 *        authentication and authorization phases, and as httpd 2.4 authn
 *        and authz providers.
 *
 * Layer L2. Registers its own hooks and providers. The directives that
 * name an authorizer per phase only store a path (fcgix_conf_cmds.h and,
 * for the old names, fcgix_compat.h); FcgixAuthProvider registers a
 * provider of this file, so FCGIX_AUTHZ_CMDS, which mod_fcgix.c splices
 * into the module's table, lists it here.
 */
#ifndef FCGIX_AUTHZ_H
#define FCGIX_AUTHZ_H

#include "http_config.h"

#include "fcgix_conf.h"

void fcgix_authz_register_hooks(apr_pool_t *p);

/** FcgixAuthProvider authn|authz <name> <path> */
const char *fcgix_authz_define_provider(cmd_parms *cmd, void *dc,
                                        const char *kind, const char *name,
                                        const char *path);

#define FCGIX_AUTHZ_CMDS                                                   \
    AP_INIT_TAKE3("FcgixAuthProvider", fcgix_authz_define_provider, NULL,  \
                  RSRC_CONF,                                               \
                  "authn|authz <name> <path>: a FastCGI authorizer as an " \
                  "AuthBasicProvider or Require provider"),

#endif /* FCGIX_AUTHZ_H */
