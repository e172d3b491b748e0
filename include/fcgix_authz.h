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
 * Layer L2. Registers its own hooks and providers; its directives are
 * spliced into the module's table through FCGIX_AUTHZ_CMDS (native names)
 * and fcgix_compat.h (mod_fastcgi / mod_fcgid names).
 */
#ifndef FCGIX_AUTHZ_H
#define FCGIX_AUTHZ_H

#include "http_config.h"

#include "fcgix_conf.h"

void fcgix_authz_register_hooks(apr_pool_t *p);

/*
 * cmd->info of the directive handlers: the phase, how a 200 feeds the
 * environment, and whether mod_fastcgi's "-compat" flag is accepted.
 */
#define FCGIX_AUTHZ_INFO(phase, vars, compat_flag)                         \
    ((void *)(apr_uintptr_t)((phase) | ((vars) << 4) | ((compat_flag) << 8)))

/** <path> [-compat] for one phase. */
const char *fcgix_authz_set_app(cmd_parms *cmd, void *dc, const char *path,
                                const char *flag);
/** On|Off for one phase. */
const char *fcgix_authz_set_authoritative(cmd_parms *cmd, void *dc,
                                          int on);
/** FcgixAuthProvider authn|authz <name> <path> */
const char *fcgix_authz_define_provider(cmd_parms *cmd, void *dc,
                                        const char *kind, const char *name,
                                        const char *path);

#define FCGIX_AUTH_CTX (ACCESS_CONF | OR_AUTHCFG)

#define FCGIX_AUTHZ_CMDS                                                   \
    AP_INIT_TAKE12("FcgixAuthenticator", fcgix_authz_set_app,               \
                  FCGIX_AUTHZ_INFO(FCGIX_AUTHN, FCGIX_AUTH_VARS, 0),       \
                  FCGIX_AUTH_CTX,                                          \
                  "FastCGI authorizer application for authentication"),   \
    AP_INIT_TAKE12("FcgixAuthorizer", fcgix_authz_set_app,                  \
                  FCGIX_AUTHZ_INFO(FCGIX_AUTHZ, FCGIX_AUTH_VARS, 0),       \
                  FCGIX_AUTH_CTX,                                          \
                  "FastCGI authorizer application for authorization"),    \
    AP_INIT_TAKE12("FcgixAccessChecker", fcgix_authz_set_app,               \
                  FCGIX_AUTHZ_INFO(FCGIX_ACCESS, FCGIX_AUTH_VARS, 0),      \
                  FCGIX_AUTH_CTX,                                          \
                  "FastCGI authorizer application for access control"),   \
    AP_INIT_FLAG("FcgixAuthenticatorAuthoritative",                        \
                 fcgix_authz_set_authoritative,                            \
                 FCGIX_AUTHZ_INFO(FCGIX_AUTHN, 0, 0), FCGIX_AUTH_CTX,      \
                 "Off: a denial passes to other authentication modules"), \
    AP_INIT_FLAG("FcgixAuthorizerAuthoritative",                           \
                 fcgix_authz_set_authoritative,                            \
                 FCGIX_AUTHZ_INFO(FCGIX_AUTHZ, 0, 0), FCGIX_AUTH_CTX,      \
                 "Off: a denial passes to other authorization modules"),  \
    AP_INIT_FLAG("FcgixAccessCheckerAuthoritative",                        \
                 fcgix_authz_set_authoritative,                            \
                 FCGIX_AUTHZ_INFO(FCGIX_ACCESS, 0, 0), FCGIX_AUTH_CTX,     \
                 "Off: a denial passes to other access modules"),         \
    AP_INIT_TAKE3("FcgixAuthProvider", fcgix_authz_define_provider, NULL,  \
                  RSRC_CONF,                                               \
                  "authn|authz <name> <path>: a FastCGI authorizer as an " \
                  "AuthBasicProvider or Require provider"),

#endif /* FCGIX_AUTHZ_H */
