/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_compat.h
 * @brief mod_fastcgi and mod_fcgid directive names, in one place.
 *
 * Layer L2. Every legacy name is listed in FCGIX_COMPAT_CMDS, which
 * mod_fcgix.c splices into the module's directive table. A legacy name
 * either maps onto the native handler or, where the old syntax differs,
 * onto a translator here that builds the same native records.
 */
#ifndef FCGIX_COMPAT_H
#define FCGIX_COMPAT_H

#include "http_config.h"

#include "fcgix_conf_cmds.h"

/* mod_fastcgi: FastCgiExternalServer <path> -host h:p | -socket s ... */
const char *fcgix_compat_external_server(cmd_parms *cmd, void *dc, int argc,
                                         char *const argv[]);

/* mod_fastcgi: FastCgiServer <path> [-processes n] ... */
const char *fcgix_compat_server(cmd_parms *cmd, void *dc, int argc,
                                char *const argv[]);

#define FCGIX_COMPAT_FASTCGI_SERVER_USAGE                                  \
    "<path> [-processes n] [-initial-env name=value] [-idle-timeout s] "   \
    "[-restart-delay s] [-pass-header Name] [-flush] [-appConnTimeout s]"

#define FCGIX_COMPAT_FASTCGI_EXT_USAGE                                     \
    "<path> -host host:port | -socket path [-appConnTimeout s] "           \
    "[-idle-timeout s] [-pass-header Name] [-flush]"

const char *fcgix_compat_ignore(cmd_parms *cmd, void *dc, const char *args);

/**
 * The old modules' names and their rivalry, from the module's hook
 * registration (at LoadModule time, before the sections that test the
 * names are read):
 *  - unless a record of that name is loaded already (the real module, or
 *    src/names/mod_fcgix_<name>.so from conf/fcgix.load), an empty record
 *    named mod_fcgid.c / mod_fastcgi.c is added so that <IfModule
 *    mod_fcgid.c> sections are read as they were (Debian's own fcgid.conf
 *    is one); it leaves with the configuration pool @p pconf. The symbol
 *    forms (<IfModule fcgid_module>) need the files of src/names/.
 *  - a post_config hook warns (FCGIX00340) when the real mod_fcgid or
 *    mod_fastcgi is loaded beside mod_fcgix.
 */
void fcgix_compat_register_hooks(apr_pool_t *pconf);
const char *fcgix_compat_windows(cmd_parms *cmd, void *dc,
                                 const char *args);
const char *fcgix_compat_max_requests(cmd_parms *cmd, void *dc,
                                      const char *arg);
const char *fcgix_compat_fix_pathinfo(cmd_parms *cmd, void *dc,
                                      const char *arg);
const char *fcgix_compat_output_buffer(cmd_parms *cmd, void *dc,
                                       const char *arg);
const char *fcgix_compat_cmd_options(cmd_parms *cmd, void *dc, int argc,
                                     char *const argv[]);
const char *fcgix_compat_fastcgi_config(cmd_parms *cmd, void *dc, int argc,
                                        char *const argv[]);
const char *fcgix_compat_fastcgi_wrapper(cmd_parms *cmd, void *dc,
                                         const char *arg);

/* One legacy name for a spawn setting (cmd->info: its offset). */
#define FCGIX_COMPAT_INT(name, field)                                      \
    AP_INIT_TAKE1(name, fcgix_conf_set_spawn_int,                          \
                  (void *)APR_OFFSETOF(fcgix_srv_conf_t, field), RSRC_CONF, \
                  "mod_fcgid name of an Fcgix* setting")
#define FCGIX_COMPAT_IGNORED(name)                                         \
    AP_INIT_RAW_ARGS(name, fcgix_compat_ignore, NULL, RSRC_CONF,           \
                     "accepted; no effect with mod_fcgix")

#define FCGIX_COMPAT_CMDS                                                  \
    /* mod_fastcgi */                                                      \
    AP_INIT_TAKE_ARGV("FastCgiServer", fcgix_compat_server, NULL,          \
                      RSRC_CONF, FCGIX_COMPAT_FASTCGI_SERVER_USAGE),       \
    AP_INIT_TAKE_ARGV("AppClass", fcgix_compat_server, NULL, RSRC_CONF,    \
                      FCGIX_COMPAT_FASTCGI_SERVER_USAGE),                  \
    AP_INIT_TAKE_ARGV("FastCgiExternalServer",                             \
                      fcgix_compat_external_server, NULL, RSRC_CONF,       \
                      FCGIX_COMPAT_FASTCGI_EXT_USAGE),                     \
    AP_INIT_TAKE_ARGV("ExternalAppClass", fcgix_compat_external_server,    \
                      NULL, RSRC_CONF, FCGIX_COMPAT_FASTCGI_EXT_USAGE),    \
    AP_INIT_TAKE1("FastCgiIpcDir", fcgix_conf_set_ipc_dir, NULL,           \
                  RSRC_CONF, "alias of FcgixIpcDir"),                      \
    /* mod_fastcgi authorizers: <path> [-compat]; without -compat every  \
     * field of a 200 reaches the environment, as mod_fastcgi did. */      \
    AP_INIT_TAKE12("FastCgiAuthenticator", fcgix_conf_set_auth_app,        \
                   FCGIX_AUTH_INFO(FCGIX_AUTHN, FCGIX_AUTH_ALL, 1),        \
                   FCGIX_AUTH_CTX, "<path> [-compat]"),                    \
    AP_INIT_TAKE12("FastCgiAuthorizer", fcgix_conf_set_auth_app,           \
                   FCGIX_AUTH_INFO(FCGIX_AUTHZ, FCGIX_AUTH_ALL, 1),        \
                   FCGIX_AUTH_CTX, "<path> [-compat]"),                    \
    AP_INIT_TAKE12("FastCgiAccessChecker", fcgix_conf_set_auth_app,        \
                   FCGIX_AUTH_INFO(FCGIX_ACCESS, FCGIX_AUTH_ALL, 1),       \
                   FCGIX_AUTH_CTX, "<path> [-compat]"),                    \
    AP_INIT_FLAG("FastCgiAuthenticatorAuthoritative",                      \
                 fcgix_conf_set_auth_authoritative,                        \
                 FCGIX_AUTH_INFO(FCGIX_AUTHN, 0, 0), FCGIX_AUTH_CTX,       \
                 "alias of FcgixAuthenticatorAuthoritative"),             \
    AP_INIT_FLAG("FastCgiAuthorizerAuthoritative",                         \
                 fcgix_conf_set_auth_authoritative,                        \
                 FCGIX_AUTH_INFO(FCGIX_AUTHZ, 0, 0), FCGIX_AUTH_CTX,       \
                 "alias of FcgixAuthorizerAuthoritative"),                \
    AP_INIT_FLAG("FastCgiAccessCheckerAuthoritative",                      \
                 fcgix_conf_set_auth_authoritative,                        \
                 FCGIX_AUTH_INFO(FCGIX_ACCESS, 0, 0), FCGIX_AUTH_CTX,      \
                 "alias of FcgixAccessCheckerAuthoritative"),             \
    /* mod_fcgid authorizers (spec semantics: Variable-* only) */          \
    AP_INIT_TAKE12("FcgidAuthenticator", fcgix_conf_set_auth_app,          \
                  FCGIX_AUTH_INFO(FCGIX_AUTHN, FCGIX_AUTH_VARS, 0),        \
                  FCGIX_AUTH_CTX, "alias of FcgixAuthenticator"),          \
    AP_INIT_TAKE12("FcgidAuthorizer", fcgix_conf_set_auth_app,             \
                  FCGIX_AUTH_INFO(FCGIX_AUTHZ, FCGIX_AUTH_VARS, 0),        \
                  FCGIX_AUTH_CTX, "alias of FcgixAuthorizer"),             \
    AP_INIT_TAKE12("FcgidAccessChecker", fcgix_conf_set_auth_app,          \
                  FCGIX_AUTH_INFO(FCGIX_ACCESS, FCGIX_AUTH_VARS, 0),       \
                  FCGIX_AUTH_CTX, "alias of FcgixAccessChecker"),          \
    AP_INIT_FLAG("FcgidAuthenticatorAuthoritative",                        \
                 fcgix_conf_set_auth_authoritative,                        \
                 FCGIX_AUTH_INFO(FCGIX_AUTHN, 0, 0), FCGIX_AUTH_CTX,       \
                 "alias of FcgixAuthenticatorAuthoritative"),             \
    AP_INIT_FLAG("FcgidAuthorizerAuthoritative",                           \
                 fcgix_conf_set_auth_authoritative,                        \
                 FCGIX_AUTH_INFO(FCGIX_AUTHZ, 0, 0), FCGIX_AUTH_CTX,       \
                 "alias of FcgixAuthorizerAuthoritative"),                \
    AP_INIT_FLAG("FcgidAccessCheckerAuthoritative",                        \
                 fcgix_conf_set_auth_authoritative,                        \
                 FCGIX_AUTH_INFO(FCGIX_ACCESS, 0, 0), FCGIX_AUTH_CTX,      \
                 "alias of FcgixAccessCheckerAuthoritative"),             \
    /* mod_fcgid process settings, current and legacy names */             \
    FCGIX_COMPAT_INT("FcgidMaxProcesses", max_procs),                      \
    FCGIX_COMPAT_INT("MaxProcessCount", max_procs),                        \
    FCGIX_COMPAT_INT("FcgidMaxProcessesPerClass", max_class_procs),        \
    FCGIX_COMPAT_INT("DefaultMaxClassProcessCount", max_class_procs),      \
    FCGIX_COMPAT_INT("FcgidMinProcessesPerClass", min_class_procs),        \
    FCGIX_COMPAT_INT("DefaultMinClassProcessCount", min_class_procs),      \
    FCGIX_COMPAT_INT("FcgidIdleTimeout", idle_timeout),                    \
    FCGIX_COMPAT_INT("IdleTimeout", idle_timeout),                         \
    FCGIX_COMPAT_INT("FcgidProcessLifeTime", lifetime),                    \
    FCGIX_COMPAT_INT("ProcessLifeTime", lifetime),                         \
    FCGIX_COMPAT_INT("FcgidBusyTimeout", busy_timeout),                    \
    FCGIX_COMPAT_INT("BusyTimeout", busy_timeout),                         \
    AP_INIT_TAKE1("FcgidMaxRequestsPerProcess", fcgix_compat_max_requests, \
                  (void *)APR_OFFSETOF(fcgix_srv_conf_t, max_requests),    \
                  RSRC_CONF, "requests per process (0 or -1: any)"),       \
    AP_INIT_TAKE1("MaxRequestsPerProcess", fcgix_compat_max_requests,      \
                  (void *)APR_OFFSETOF(fcgix_srv_conf_t, max_requests),    \
                  RSRC_CONF, "requests per process (0 or -1: any)"),       \
    AP_INIT_TAKE12("FcgidInitialEnv", fcgix_conf_add_env, NULL,            \
                   RSRC_CONF, "alias of FcgixInitialEnv"),                 \
    AP_INIT_TAKE12("DefaultInitEnv", fcgix_conf_add_env, NULL, RSRC_CONF,  \
                   "alias of FcgixInitialEnv"),                            \
    AP_INIT_TAKE1("FcgidIPCDir", fcgix_conf_set_ipc_dir, NULL, RSRC_CONF,  \
                  "alias of FcgixIpcDir"),                                 \
    AP_INIT_TAKE1("SocketPath", fcgix_conf_set_ipc_dir, NULL, RSRC_CONF,   \
                  "alias of FcgixIpcDir"),                                 \
    AP_INIT_TAKE1("FcgidFixPathinfo", fcgix_compat_fix_pathinfo, NULL,     \
                  RSRC_CONF, "SCRIPT_NAME as PHP's cgi.fix_pathinfo=1 "    \
                  "expects"),                                              \
    AP_INIT_TAKE1("PHP_Fix_Pathinfo_Enable", fcgix_compat_fix_pathinfo,    \
                  NULL, RSRC_CONF, "alias of FcgidFixPathinfo"),           \
    AP_INIT_TAKE1("FcgidOutputBufferSize", fcgix_compat_output_buffer,     \
                  NULL, RSRC_CONF, "0: flush every read to the client"),   \
    AP_INIT_TAKE1("OutputBufferSize", fcgix_compat_output_buffer, NULL,    \
                  RSRC_CONF, "alias of FcgidOutputBufferSize"),            \
    AP_INIT_TAKE_ARGV("FcgidCmdOptions", fcgix_compat_cmd_options, NULL,   \
                      RSRC_CONF, "<command> <option> <value>..."),         \
    FCGIX_COMPAT_IGNORED("FcgidBusyScanInterval"),                         \
    FCGIX_COMPAT_IGNORED("BusyScanInterval"),                              \
    FCGIX_COMPAT_IGNORED("FcgidErrorScanInterval"),                        \
    FCGIX_COMPAT_IGNORED("ErrorScanInterval"),                             \
    FCGIX_COMPAT_IGNORED("FcgidIdleScanInterval"),                         \
    FCGIX_COMPAT_IGNORED("IdleScanInterval"),                              \
    FCGIX_COMPAT_IGNORED("FcgidZombieScanInterval"),                       \
    FCGIX_COMPAT_IGNORED("ZombieScanInterval"),                            \
    FCGIX_COMPAT_IGNORED("FcgidProcessTableFile"),                         \
    FCGIX_COMPAT_IGNORED("SharememPath"),                                  \
    FCGIX_COMPAT_IGNORED("FcgidSpawnScore"),                               \
    FCGIX_COMPAT_IGNORED("SpawnScore"),                                    \
    FCGIX_COMPAT_IGNORED("FcgidSpawnScoreUpLimit"),                        \
    FCGIX_COMPAT_IGNORED("SpawnScoreUpLimit"),                             \
    FCGIX_COMPAT_IGNORED("FcgidTerminationScore"),                         \
    FCGIX_COMPAT_IGNORED("TerminationScore"),                              \
    FCGIX_COMPAT_IGNORED("FcgidTimeScore"),                                \
    FCGIX_COMPAT_IGNORED("TimeScore"),                                     \
    AP_INIT_RAW_ARGS("FcgidWin32PreventOrphans", fcgix_compat_windows,     \
                     NULL, RSRC_CONF, "Windows only"),                     \
    /* mod_fastcgi dynamic applications and wrapper */                     \
    AP_INIT_TAKE_ARGV("FastCgiConfig", fcgix_compat_fastcgi_config, NULL,  \
                      RSRC_CONF, "options of dynamic applications"),       \
    AP_INIT_TAKE_ARGV("FCGIConfig", fcgix_compat_fastcgi_config, NULL,     \
                      RSRC_CONF, "alias of FastCgiConfig"),                \
    AP_INIT_TAKE1("FastCgiWrapper", fcgix_compat_fastcgi_wrapper, NULL,    \
                  RSRC_CONF, "On|Off|path"),                               \
    AP_INIT_TAKE1("FastCgiSuexec", fcgix_compat_fastcgi_wrapper, NULL,     \
                  RSRC_CONF, "alias of FastCgiWrapper"),                   \
    /* mod_fcgid, current and legacy names */                              \
    AP_INIT_TAKE123("FcgidWrapper", fcgix_conf_set_wrapper, NULL,          \
                    RSRC_CONF | ACCESS_CONF | OR_FILEINFO,                 \
                    "alias of FcgixWrapper"),                              \
    AP_INIT_TAKE123("FCGIWrapper", fcgix_conf_set_wrapper, NULL,           \
                    RSRC_CONF | ACCESS_CONF | OR_FILEINFO,                 \
                    "alias of FcgixWrapper"),                              \
    AP_INIT_TAKE1("FcgidMaxRequestLen", fcgix_conf_set_max_request_len,    \
                  NULL, RSRC_CONF | ACCESS_CONF | OR_FILEINFO,             \
                  "alias of FcgixMaxRequestLen"),                          \
    AP_INIT_TAKE1("MaxRequestLen", fcgix_conf_set_max_request_len, NULL,   \
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,                   \
                  "alias of FcgixMaxRequestLen"),                          \
    AP_INIT_TAKE1("FcgidMaxRequestInMem",                                  \
                  fcgix_conf_set_max_request_in_mem, NULL,                 \
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,                   \
                  "alias of FcgixMaxRequestInMem"),                        \
    AP_INIT_TAKE1("MaxRequestInMem", fcgix_conf_set_max_request_in_mem,    \
                  NULL, RSRC_CONF | ACCESS_CONF | OR_FILEINFO,             \
                  "alias of FcgixMaxRequestInMem"),                        \
    AP_INIT_TAKE1("FcgidPassHeader", fcgix_conf_add_pass_header_fcgid,     \
                  NULL,                                                    \
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,                   \
                  "alias of FcgixPassHeader"),                             \
    AP_INIT_TAKE1("PassHeader", fcgix_conf_add_pass_header_fcgid, NULL,    \
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,                   \
                  "alias of FcgixPassHeader"),                             \
    AP_INIT_TAKE1("FcgidIOTimeout", fcgix_conf_set_io_timeout, NULL,       \
                  RSRC_CONF, "alias of FcgixIOTimeout"),                   \
    AP_INIT_TAKE1("IPCCommTimeout", fcgix_conf_set_io_timeout, NULL,       \
                  RSRC_CONF, "alias of FcgixIOTimeout"),                   \
    AP_INIT_TAKE1("FcgidConnectTimeout", fcgix_conf_set_connect_timeout,   \
                  NULL, RSRC_CONF, "alias of FcgixConnectTimeout"),        \
    AP_INIT_TAKE1("IPCConnectTimeout", fcgix_conf_set_connect_timeout,     \
                  NULL, RSRC_CONF, "alias of FcgixConnectTimeout"),

#endif /* FCGIX_COMPAT_H */
