/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_conf_cmds.h
 * @brief The directive side of the configuration: the one number parser
 *        and the bounds it enforces, the native Fcgix* directive handlers
 *        (parse and store, nothing else) and their command-table pieces.
 *
 * Layer L2. mod_fcgix.c splices FCGIX_CONF_CMDS, FCGIX_CONF_AUTH_CMDS and
 * FCGIX_CONF_SPAWN_CMDS into the module's one command table, beside
 * fcgix_authz.h's and
 * fcgix_compat.h's; fcgix_compat.c maps the old names onto the handlers
 * declared here. Request code never includes this header: it reads the
 * stored values through fcgix_conf.h's accessors.
 */
#ifndef FCGIX_CONF_CMDS_H
#define FCGIX_CONF_CMDS_H

#include "apr_time.h"
#include "httpd.h"
#include "http_config.h"

#include "fcgix_conf.h"
#include "fcgix_sb.h"

/*
 * Bounds of the numeric settings, in one place. A value outside fails
 * `apache2 -t` with the setting's name and the range.
 */
/** Largest timeout or delay: a year. */
#define FCGIX_LIMIT_SECS (365 * 86400)
/** Shortest server-wide I/O and connect timeout: an I/O timeout of 0
 *  would give every request 504 before the application could answer, a
 *  connect timeout of 0 would wait for a connect without bound, so both
 *  are refused, as mod_fcgid refused them. (A server's own
 *  io-timeout=0 or connect-timeout=0 means the server-wide one.) */
#define FCGIX_LIMIT_WAIT_MIN apr_time_from_msec(1)
/** FastCgiConfig -appConnTimeout and -killInterval: a day. */
#define FCGIX_LIMIT_DAY_SECS 86400
/** Sizes, and counts kept in 64 bits, have no bound but their type's. */
#define FCGIX_LIMIT_BYTES APR_INT64_MAX
#define FCGIX_LIMIT_COUNT APR_INT64_MAX
/** Process manager settings (counts and whole seconds). */
#define FCGIX_LIMIT_SPAWN 100000000
/** FcgixMaxProcesses: the scoreboard's process slots. */
#define FCGIX_LIMIT_MAX_PROCS FCGIX_SB_PROCS_LIMIT
/** FcgixMaxResponseHeaderLen. */
#define FCGIX_LIMIT_RESPONSE_HEADER_MIN 1024
#define FCGIX_LIMIT_RESPONSE_HEADER_MAX (16 * 1024 * 1024)
/** FcgixAbortTimeout: at least a second. */
#define FCGIX_LIMIT_ABORT_TIMEOUT_MIN 1
/** FcgixExternalServer keepalive= (idle connections per child). */
#define FCGIX_LIMIT_KEEPALIVE 1024
/** FcgixExternalServer max-conns= (per child). */
#define FCGIX_LIMIT_MAX_CONNS 65535
/** FcgixExternalServer conn-max-requests= (a 32-bit counter). */
#define FCGIX_LIMIT_CONN_REQUESTS APR_UINT32_MAX
/** FcgixExternalServer mpx-max-reqs= (request ids per connection). */
#define FCGIX_LIMIT_MPX_REQS 1024
/** FcgixExternalServer mpx-buffer= (bytes queued per request). */
#define FCGIX_LIMIT_MPX_BUFFER_MIN 65536
/** FcgixServer processes=, FastCgiServer -processes. */
#define FCGIX_LIMIT_SERVER_PROCS 128
/** FastCgiServer -priority: a nice value. */
#define FCGIX_LIMIT_PRIORITY 19
/** FastCgiServer -port (accepted, not used). */
#define FCGIX_LIMIT_PORT 65535
/** FastCgiConfig thresholds: percent. */
#define FCGIX_LIMIT_PERCENT 100

/** What a number counts, and so which suffixes it takes. */
typedef enum {
    FCGIX_UNIT_COUNT, /**< a whole number, no suffix */
    FCGIX_UNIT_BYTES, /**< bytes; K, M or G multiply by 1024, 1024^2 ... */
    FCGIX_UNIT_TIME,  /**< a duration in microseconds: seconds, or a
                           number with ms, s, mi or hr
                           (ap_timeout_parameter_parse) */
    FCGIX_UNIT_SECS   /**< a duration that must be whole seconds (the
                           process manager counts in seconds); same
                           syntax, the value in seconds */
} fcgix_unit_e;

/**
 * The one number parser of the configuration: @p arg as a number of
 * @p unit within [@p min, @p max] (microseconds for FCGIX_UNIT_TIME,
 * seconds for FCGIX_UNIT_SECS). Trailing junk, a sign where none fits,
 * overflow, an unknown suffix and a value out of range are refused.
 * @param what the directive, and its option if any, as the admin wrote
 *        them ("FastCgiServer -restart-delay"): the message names it
 * @return NULL, or the message for `apache2 -t`
 */
const char *fcgix_conf_parse_num(apr_pool_t *p, const char *what,
                                 const char *arg, apr_int64_t min,
                                 apr_int64_t max, fcgix_unit_e unit,
                                 apr_int64_t *out);

/** "<directive> <option>" for messages of options. */
const char *fcgix_conf_what(cmd_parms *cmd, const char *option);

/** Option @p option of the directive: a duration of @p min to @p max
 *  microseconds (fcgix_conf_parse_num, FCGIX_UNIT_TIME) into @p field. */
const char *fcgix_conf_option_time(cmd_parms *cmd, const char *option,
                                   const char *val, apr_int64_t min,
                                   apr_int64_t max,
                                   apr_interval_time_t *field);

/** Option @p option of the directive: a count or whole seconds (@p unit)
 *  into the int @p field; @p field NULL: only checked. */
const char *fcgix_conf_option_int(cmd_parms *cmd, const char *option,
                                  const char *val, apr_int64_t min,
                                  apr_int64_t max, fcgix_unit_e unit,
                                  int *field);

/**
 * NULL when @p name may be passed to applications as HTTP_*, else the
 * error for directive @p what (a bad name, or Proxy: httpoxy).
 */
const char *fcgix_conf_check_pass_header(apr_pool_t *p, const char *what,
                                         const char *name);

/* Handlers the old names share (fcgix_compat.h maps onto these). */
const char *fcgix_conf_set_max_request_len(cmd_parms *cmd, void *dc,
                                           const char *arg);
const char *fcgix_conf_set_max_request_in_mem(cmd_parms *cmd, void *dc,
                                              const char *arg);
const char *fcgix_conf_add_pass_header(cmd_parms *cmd, void *dc,
                                       const char *arg);
const char *fcgix_conf_add_pass_header_fcgid(cmd_parms *cmd, void *dc,
                                             const char *arg);
const char *fcgix_conf_set_io_timeout(cmd_parms *cmd, void *dc,
                                      const char *arg);
const char *fcgix_conf_set_connect_timeout(cmd_parms *cmd, void *dc,
                                           const char *arg);
const char *fcgix_conf_set_ipc_dir(cmd_parms *cmd, void *dc,
                                   const char *arg);

/* Handlers only the native names use. */
const char *fcgix_conf_set_max_response_header(cmd_parms *cmd, void *dc,
                                               const char *arg);
/** cmd->info: offset of an apr_off_t in the directory record. */
const char *fcgix_conf_set_dir_bytes(cmd_parms *cmd, void *dc,
                                     const char *arg);
const char *fcgix_conf_set_dir_count(cmd_parms *cmd, void *dc,
                                     const char *arg);
const char *fcgix_conf_set_abort_timeout(cmd_parms *cmd, void *dc,
                                         const char *arg);
/** cmd->info: offset of an int in the directory record (On: 1). */
const char *fcgix_conf_set_dir_flag(cmd_parms *cmd, void *dc, int on);
/** FcgixExternalServer <path> <address>... [key=value]... */
/** After the words of an external server: each host name among its
 *  addresses becomes every address it has (or, with resolve=, max-addrs
 *  positions that follow its answers). @return an error, or NULL */
const char *fcgix_conf_server_names(cmd_parms *cmd, fcgix_server_t *srv);

const char *fcgix_conf_cmd_external_server(cmd_parms *cmd, void *dc,
                                           int argc, char *const argv[]);
/** FcgixServer <path> [key=value]... */
const char *fcgix_conf_cmd_server(cmd_parms *cmd, void *dc, int argc,
                                  char *const argv[]);

/*
 * Authorizers per phase (the native names here, the old ones in
 * fcgix_compat.h): cmd->info says the phase, how a 200 feeds the
 * environment, and whether mod_fastcgi's "-compat" flag is accepted.
 */
#define FCGIX_AUTH_INFO(phase, vars, compat_flag)                          \
    ((void *)(apr_uintptr_t)((phase) | ((vars) << 4) | ((compat_flag) << 8)))
#define FCGIX_AUTH_CTX (ACCESS_CONF | OR_AUTHCFG)

/** <path> [-compat] for one phase. */
const char *fcgix_conf_set_auth_app(cmd_parms *cmd, void *dc,
                                    const char *path, const char *flag);
/** On|Off for one phase. */
const char *fcgix_conf_set_auth_authoritative(cmd_parms *cmd, void *dc,
                                              int on);

/*
 * Settings of spawned applications (fcgix_conf_spawn.c).
 */

/** cmd->info: the offset of an int in the server record; the value's
 *  unit and range come from the setting (a count or whole seconds), and
 *  the name used is remembered for the settings of fcgix_named_e. */
const char *fcgix_conf_set_spawn_int(cmd_parms *cmd, void *dc,
                                     const char *arg);
/** FcgixInitialEnv NAME [value] (FcgidInitialEnv, DefaultInitEnv). */
const char *fcgix_conf_add_env(cmd_parms *cmd, void *dc, const char *name,
                               const char *value);
/** FcgixWrapper <command> [suffix] [virtual] (FcgidWrapper ...). */
const char *fcgix_conf_set_wrapper(cmd_parms *cmd, void *dc,
                                   const char *command, const char *a2,
                                   const char *a3);

#define FCGIX_DIR_CTX (RSRC_CONF | ACCESS_CONF | OR_FILEINFO)

#define FCGIX_CONF_CMDS                                                    \
    AP_INIT_TAKE_ARGV("FcgixExternalServer",                               \
                      fcgix_conf_cmd_external_server, NULL, RSRC_CONF,     \
                      "<path> <address>... [connect-timeout=s] "           \
                      "[io-timeout=s] [pass-header=Name] [flush=on|off] "  \
                      "[keepalive=n] [keepalive-timeout=s] [max-conns=n] " \
                      "[max-conns-wait=s] [conn-max-requests=n] "          \
                      "[balance=least-conn|round-robin|hash] [retry=s] "   \
                      "[get-values=on|off] "                               \
                      "[mpx=auto|on|off] [mpx-max-reqs=n] [mpx-buffer=b] " \
                      "[ignore-client-abort=on|off] [drain=address] "      \
                      "[check=s] [check-uri=/path] [check-status=n] "      \
                      "[fails=n] [passes=n] [resolve=s] [slow-start=s] "   \
                      "[max-addrs=n]"),                                    \
    AP_INIT_TAKE_ARGV("FcgixServer", fcgix_conf_cmd_server, NULL,          \
                      RSRC_CONF,                                           \
                      "<path> [processes=n] [env=NAME=value] "             \
                      "[io-timeout=s] [connect-timeout=s] "                \
                      "[restart-delay=s] [pass-header=Name] "              \
                      "[flush=on|off]"),                                   \
    AP_INIT_TAKE1("FcgixConnectTimeout", fcgix_conf_set_connect_timeout,   \
                  NULL, RSRC_CONF, "seconds to wait for a connection "     \
                  "(or with ms, s, mi, hr)"),                              \
    AP_INIT_TAKE1("FcgixIOTimeout", fcgix_conf_set_io_timeout, NULL,       \
                  RSRC_CONF, "seconds an application may stay silent "     \
                  "(or with ms, s, mi, hr)"),                              \
    AP_INIT_TAKE1("FcgixIpcDir", fcgix_conf_set_ipc_dir, NULL, RSRC_CONF,  \
                  "directory for relative socket names"),                  \
    AP_INIT_TAKE1("FcgixMaxRequestLen", fcgix_conf_set_max_request_len,    \
                  NULL, FCGIX_DIR_CTX,                                     \
                  "largest request body in bytes, K, M or G (0: no own "   \
                  "limit); larger gets 413"),                              \
    AP_INIT_TAKE1("FcgixMaxRequestInMem",                                  \
                  fcgix_conf_set_max_request_in_mem, NULL, FCGIX_DIR_CTX,  \
                  "bytes of a chunked body kept in memory before "         \
                  "spooling to a temporary file"),                         \
    AP_INIT_TAKE1("FcgixMaxResponseHeaderLen",                             \
                  fcgix_conf_set_max_response_header, NULL, FCGIX_DIR_CTX, \
                  "largest response header block in bytes"),               \
    AP_INIT_TAKE1("FcgixStderrMaxLines", fcgix_conf_set_dir_count,         \
                  (void *)APR_OFFSETOF(fcgix_dir_conf_t, stderr_max_lines),\
                  FCGIX_DIR_CTX,                                           \
                  "lines of application stderr logged per request "        \
                  "(default 100); the rest is counted in one line"),       \
    AP_INIT_TAKE1("FcgixStderrMaxBytes", fcgix_conf_set_dir_bytes,         \
                  (void *)APR_OFFSETOF(fcgix_dir_conf_t, stderr_max_bytes),\
                  FCGIX_DIR_CTX,                                           \
                  "bytes of application stderr logged per request "        \
                  "(default 64K)"),                                        \
    AP_INIT_TAKE1("FcgixAbortTimeout", fcgix_conf_set_abort_timeout, NULL, \
                  FCGIX_DIR_CTX,                                           \
                  "time an application gets to end a request after "       \
                  "FCGI_ABORT_REQUEST before its connection is closed "    \
                  "(default 3 s)"),                                        \
    AP_INIT_TAKE1("FcgixAbortMaxBytes", fcgix_conf_set_dir_bytes,          \
                  (void *)APR_OFFSETOF(fcgix_dir_conf_t, abort_max_bytes), \
                  FCGIX_DIR_CTX,                                           \
                  "bytes read and discarded after FCGI_ABORT_REQUEST "     \
                  "before the connection is closed (default 4M)"),         \
    AP_INIT_FLAG("FcgixErrorOverride", fcgix_conf_set_dir_flag,            \
                 (void *)APR_OFFSETOF(fcgix_dir_conf_t, error_override),   \
                 FCGIX_DIR_CTX,                                            \
                 "On: an application's 4xx/5xx reply is replaced by the "  \
                 "ErrorDocument (default Off)"),                           \
    AP_INIT_ITERATE("FcgixPassHeader", fcgix_conf_add_pass_header, NULL,   \
                    FCGIX_DIR_CTX,                                         \
                    "request headers passed to the application as "        \
                    "HTTP_*"),

#define FCGIX_CONF_AUTH_CMDS                                               \
    AP_INIT_TAKE12("FcgixAuthenticator", fcgix_conf_set_auth_app,          \
                   FCGIX_AUTH_INFO(FCGIX_AUTHN, FCGIX_AUTH_VARS, 0),       \
                   FCGIX_AUTH_CTX,                                         \
                   "FastCGI authorizer application for authentication"),  \
    AP_INIT_TAKE12("FcgixAuthorizer", fcgix_conf_set_auth_app,             \
                   FCGIX_AUTH_INFO(FCGIX_AUTHZ, FCGIX_AUTH_VARS, 0),       \
                   FCGIX_AUTH_CTX,                                         \
                   "FastCGI authorizer application for authorization"),   \
    AP_INIT_TAKE12("FcgixAccessChecker", fcgix_conf_set_auth_app,          \
                   FCGIX_AUTH_INFO(FCGIX_ACCESS, FCGIX_AUTH_VARS, 0),      \
                   FCGIX_AUTH_CTX,                                         \
                   "FastCGI authorizer application for access control"),  \
    AP_INIT_FLAG("FcgixAuthenticatorAuthoritative",                        \
                 fcgix_conf_set_auth_authoritative,                        \
                 FCGIX_AUTH_INFO(FCGIX_AUTHN, 0, 0), FCGIX_AUTH_CTX,       \
                 "Off: a denial passes to other authentication modules"), \
    AP_INIT_FLAG("FcgixAuthorizerAuthoritative",                           \
                 fcgix_conf_set_auth_authoritative,                        \
                 FCGIX_AUTH_INFO(FCGIX_AUTHZ, 0, 0), FCGIX_AUTH_CTX,       \
                 "Off: a denial passes to other authorization modules"),  \
    AP_INIT_FLAG("FcgixAccessCheckerAuthoritative",                        \
                 fcgix_conf_set_auth_authoritative,                        \
                 FCGIX_AUTH_INFO(FCGIX_ACCESS, 0, 0), FCGIX_AUTH_CTX,      \
                 "Off: a denial passes to other access modules"),

#define FCGIX_CONF_SPAWN_INT(name, field, help)                            \
    AP_INIT_TAKE1(name, fcgix_conf_set_spawn_int,                          \
                  (void *)APR_OFFSETOF(fcgix_srv_conf_t, field), RSRC_CONF, \
                  help)

#define FCGIX_CONF_SPAWN_CMDS                                              \
    FCGIX_CONF_SPAWN_INT("FcgixMaxProcesses", max_procs,                   \
                    "spawned processes of all classes together (1000)"),   \
    FCGIX_CONF_SPAWN_INT("FcgixMaxProcessesPerClass", max_class_procs,     \
                    "processes of one application (100)"),                 \
    FCGIX_CONF_SPAWN_INT("FcgixMinProcessesPerClass", min_class_procs,     \
                    "processes kept once started (3)"),                    \
    FCGIX_CONF_SPAWN_INT("FcgixIdleTimeout", idle_timeout,                 \
                    "seconds before an idle process above the minimum "    \
                    "ends (300, 0: never)"),                               \
    FCGIX_CONF_SPAWN_INT("FcgixProcessLifeTime", lifetime,                 \
                    "seconds after which an idle process ends (3600)"),    \
    FCGIX_CONF_SPAWN_INT("FcgixMaxRequestsPerProcess", max_requests,       \
                    "requests before a process ends (0: unlimited)"),      \
    FCGIX_CONF_SPAWN_INT("FcgixBusyTimeout", busy_timeout,                 \
                    "seconds one request may keep a process (300)"),       \
    FCGIX_CONF_SPAWN_INT("FcgixSpawnWait", spawn_wait,                     \
                    "seconds a request waits for a free process before "   \
                    "503 (60)"),                                           \
    FCGIX_CONF_SPAWN_INT("FcgixMaxProcessesPerUser", max_user_procs,       \
                    "processes of one user's applications together "       \
                    "(0: no limit)"),                                      \
    FCGIX_CONF_SPAWN_INT("FcgixMaxRequestsPerUser", max_user_requests,     \
                    "requests in flight for one user's applications; "     \
                    "more get 503 at once (0: no limit)"),                 \
    AP_INIT_TAKE123("FcgixWrapper", fcgix_conf_set_wrapper, NULL,          \
                    RSRC_CONF | ACCESS_CONF | OR_FILEINFO,                 \
                    "<command> [.suffix] [virtual]: run scripts through "  \
                    "this FastCGI program"),                               \
    AP_INIT_TAKE12("FcgixInitialEnv", fcgix_conf_add_env, NULL,            \
                   RSRC_CONF, "NAME [value]: environment of spawned "      \
                   "applications"),

#endif /* FCGIX_CONF_CMDS_H */
