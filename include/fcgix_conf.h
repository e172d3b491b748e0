/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_conf.h
 * @brief Configuration: per-server and per-directory records, their
 *        accessors and the external server table.
 *
 * Layer L2. The directives that fill these records are parsed by the
 * handlers of fcgix_conf_cmds.h (and of fcgix_compat.h for the old
 * names); mod_fcgix.c builds the one command table. Request code reads
 * configuration only through the accessors below, which apply the
 * defaults (written once, here).
 */
#ifndef FCGIX_CONF_H
#define FCGIX_CONF_H

#include "apr_hash.h"
#include "apr_tables.h"
#include "httpd.h"
#include "http_config.h"

#include "fcgix_addr.h"
#include "fcgix_limits.h"

/* Defaults, in one place. */
#define FCGIX_DEFAULT_CONNECT_TIMEOUT apr_time_from_sec(5)
#define FCGIX_DEFAULT_MAX_REQUEST_IN_MEM (64 * 1024)
#define FCGIX_DEFAULT_MAX_RESPONSE_HEADER (64 * 1024)
/* Application stderr logged per request; the rest is counted. */
#define FCGIX_DEFAULT_STDERR_MAX_LINES 100
#define FCGIX_DEFAULT_STDERR_MAX_BYTES (64 * 1024)
/* After FCGI_ABORT_REQUEST: how long, and how much output, the
 * application gets to end the request before its connection is closed. */
#define FCGIX_DEFAULT_ABORT_TIMEOUT apr_time_from_sec(3)
#define FCGIX_DEFAULT_ABORT_MAX_BYTES (4 * 1024 * 1024)
#define FCGIX_DEFAULT_IPC_DIR "fastcgi"
/* An application's own environment travels to the process manager in
 * one message (fcgix_pm_msg_t.env, the same size; fcgix_class.c checks
 * that at compile time). */
#define FCGIX_CONF_ENV_MAX 2048
#define FCGIX_DEFAULT_KEEPALIVE_TIMEOUT apr_time_from_sec(5)
#define FCGIX_DEFAULT_RETRY apr_time_from_sec(10)
/* How long a request waits for a connection under max-conns. */
#define FCGIX_DEFAULT_MAX_CONNS_WAIT apr_time_from_sec(30)

/** When requests share connections. */
typedef enum {
    FCGIX_MPX_AUTO = 0, /**< once the application says FCGI_MPXS_CONNS=1 */
    FCGIX_MPX_ON,       /**< always (the application must multiplex) */
    FCGIX_MPX_OFF       /**< never */
} fcgix_mpx_mode_e;

#define FCGIX_DEFAULT_MPX_MAX_REQS 100
#define FCGIX_DEFAULT_MPX_BUFFER (4 * 1024 * 1024)
/** resolve=: positions per name (max-addrs), a new address's ramp in
 *  seconds (slow-start). */
#define FCGIX_DEFAULT_MAX_ADDRS 16
#define FCGIX_DEFAULT_SLOW_START 10

/** A FastCGI server httpd does not start (FcgixExternalServer). */
typedef struct fcgix_server_t {
    const char *path;          /**< filename requests are matched on */
    apr_size_t path_len;
    const char *directive;     /**< directive that defined it, for logs */
    apr_array_header_t *addrs; /**< fcgix_addr_t *, tried in turn */
    apr_interval_time_t connect_timeout; /**< FCGIX_UNSET: server default */
    apr_interval_time_t io_timeout;      /**< FCGIX_UNSET: server default */
    apr_array_header_t *pass_headers;    /**< const char * */
    int flush;                 /**< flush to the client after every read */
    int ignore_client_abort;   /**< finish requests whose client left */
    int nph;                   /**< the reply starts with an HTTP status
                                    line (mod_fastcgi -nph) */
    fcgix_pool_limits_t limits;/**< keep-alive and failure handling */
    int balance;               /**< fcgix_balance_e */
    int get_values;            /**< ask FCGI_GET_VALUES on first contact */
    int mpx;                   /**< fcgix_mpx_mode_e */
    fcgix_mpx_limits_t mpx_limits;
    apr_uint32_t drain;        /**< bit k: address k is draining (drain=);
                                    applied at post_config */
    /* Active health checks (check=S): one child at a time, elected per
     * round through the address's scoreboard slot. */
    apr_interval_time_t check; /**< every S; 0: no active check */
    const char *check_uri;     /**< a GET to this; NULL: FCGI_GET_VALUES */
    int check_status;          /**< the status check-uri must get (200) */
    int check_fails;           /**< failures in a row: down (2) */
    int check_passes;          /**< passes in a row: up again (2) */
    /* Host names re-resolved (resolve=S): each name has max_addrs
     * positions among addrs, whose addresses follow its answers. */
    apr_interval_time_t resolve;    /**< every S; 0: once, at startup */
    apr_interval_time_t slow_start; /**< a new address's ramp */
    int max_addrs;                  /**< positions per name */
    /* A static application mod_fcgix starts (FastCgiServer). */
    int managed;
    int processes;             /**< -processes, kept running */
    int restart_delay;         /**< seconds between restarts */
    int priority;              /**< -priority: nice value, 0..19 */
    /** -user/-group: run through suexec as these (FastCgiWrapper On). */
    const char *run_user, *run_group;
    char env[FCGIX_CONF_ENV_MAX]; /**< -initial-env, NUL-separated */
    apr_size_t env_len;
    /** Its place in the server table (fcgix_conf_add_server), from 0:
     *  the index of its runtime record in the upstream layer. */
    int id;
} fcgix_server_t;

/** Process manager settings of spawned applications. */
#define FCGIX_DEFAULT_MAX_PROCS 1000
#define FCGIX_DEFAULT_MAX_CLASS_PROCS 100
#define FCGIX_DEFAULT_MIN_CLASS_PROCS 3
#define FCGIX_DEFAULT_IDLE_TIMEOUT 300
#define FCGIX_DEFAULT_LIFETIME 3600
#define FCGIX_DEFAULT_BUSY_TIMEOUT 300
#define FCGIX_DEFAULT_SPAWN_WAIT 60

/** FcgidCmdOptions for one command (FCGIX_UNSET: not given). */
typedef struct fcgix_cmd_options_t {
    int max_procs, min_procs, idle_timeout, lifetime, max_requests;
    int workers; /**< Workers N: one process serves N at once */
    apr_interval_time_t io_timeout, connect_timeout;
    char env[FCGIX_CONF_ENV_MAX]; /**< NUL-separated NAME=value */
    apr_size_t env_len;
} fcgix_cmd_options_t;

/**
 * Server settings that log lines name: the name the admin wrote is
 * recorded with the value (FcgidMaxProcessesPerClass, FastCgiConfig
 * -maxClassProcesses ...), so that a message points at the line to change.
 */
typedef enum {
    FCGIX_NAMED_MAX_CLASS_PROCS = 0, /**< FcgixMaxProcessesPerClass */
    FCGIX_NAMED_SPAWN_WAIT,          /**< FcgixSpawnWait */
    FCGIX_NAMED_MAX_USER_REQUESTS,   /**< FcgixMaxRequestsPerUser */
    FCGIX_NAMED_SRV
} fcgix_named_e;

typedef struct fcgix_srv_conf_t {
    apr_array_header_t *servers; /**< fcgix_server_t *, this vhost's */
    /* Spawned classes of this virtual host (FCGIX_UNSET: default). */
    int max_class_procs;
    int min_class_procs;
    int idle_timeout;
    /* FastCgiConfig's kill policy: every kill_interval seconds, a class
     * busy less than the threshold (percent; single: one process left,
     * multi: several) loses an idle process above its minimum. */
    int kill_interval, single_threshold, multi_threshold;
    int lifetime;
    int max_requests;
    int busy_timeout;
    int spawn_wait;
    int fix_pathinfo;        /**< FcgidFixPathinfo */
    int output_buffer;       /**< FcgidOutputBufferSize; 0: flush */
    apr_hash_t *cmd_options; /**< FcgidCmdOptions: command -> options */
    int max_user_procs;      /**< per suexec user, all classes */
    int max_user_requests;   /**< in flight per user, all classes */
    /** Directive names used for the settings of fcgix_named_e, NULL:
     *  not set here (the native name); they merge with their values. */
    const char *names[FCGIX_NAMED_SRV];
    /* Global only (main server). */
    int max_procs;
    apr_array_header_t *initial_env; /**< "NAME=value" */
    apr_interval_time_t connect_timeout;
    apr_interval_time_t io_timeout;
    const char *ipc_dir;
    int fastcgi_wrapper;     /**< FastCgiWrapper On (global) */
    apr_table_t *auth_providers; /**< provider name -> application path */
    /** FcgixFilter: lower-case filter name -> its definition (owned and
     *  read by fcgix_filter.c); a vhost sees the main server's too. */
    apr_hash_t *filters;
} fcgix_srv_conf_t;

/** The three Apache phases an authorizer application can serve. */
typedef enum {
    FCGIX_AUTHN = 0,  /**< check_authn: FCGI_APACHE_ROLE=AUTHENTICATOR */
    FCGIX_AUTHZ = 1,  /**< check_authz: AUTHORIZER */
    FCGIX_ACCESS = 2, /**< check_access: ACCESS_CHECKER */
    FCGIX_AUTH_PHASES = 3
} fcgix_auth_phase_e;

/** How a 200 from an authorizer feeds the responder's environment. */
typedef enum {
    FCGIX_AUTH_VARS = 0,   /**< spec: only Variable-NAME, as NAME */
    FCGIX_AUTH_ALL = 1     /**< mod_fastcgi without -compat: every field */
} fcgix_auth_vars_e;

typedef struct fcgix_dir_auth_t {
    const char *path;  /**< application path, NULL: phase not handled */
    int vars;          /**< fcgix_auth_vars_e */
    int authoritative; /**< FCGIX_UNSET means On */
} fcgix_dir_auth_t;

/** FcgidWrapper <command> [suffix] [virtual]. */
typedef struct fcgix_wrapper_t {
    const char *cmd;       /**< command line; argv[0] absolute */
    const char *suffix;    /**< ".php", or NULL: every script */
    int virtual_;          /**< the script need not exist */
    apr_uint64_t inode, dev;
} fcgix_wrapper_t;

typedef struct fcgix_dir_conf_t {
    apr_off_t max_request_len;    /**< 0: only LimitRequestBody applies */
    const char *max_request_len_name; /**< the directive that set it */
    apr_off_t max_request_in_mem; /**< spool RAM before a temp file */
    apr_off_t max_response_header;
    apr_off_t stderr_max_lines;   /**< FcgixStderrMaxLines */
    apr_off_t stderr_max_bytes;   /**< FcgixStderrMaxBytes */
    apr_interval_time_t abort_timeout; /**< FcgixAbortTimeout */
    apr_off_t abort_max_bytes;    /**< FcgixAbortMaxBytes */
    int error_override;           /**< FcgixErrorOverride (FCGIX_UNSET: Off) */
    apr_array_header_t *pass_headers; /**< const char * */
    fcgix_dir_auth_t auth[FCGIX_AUTH_PHASES];
    apr_array_header_t *wrappers; /**< fcgix_wrapper_t, later ones win */
    struct fcgix_php_dir_t *php;  /**< php_value & co. (fcgix_php.c) */
    struct fcgix_sendfile_dir_t *sendfile; /**< FcgixSendfile* */
} fcgix_dir_conf_t;

void *fcgix_conf_create_server(apr_pool_t *p, server_rec *s);
void *fcgix_conf_merge_server(apr_pool_t *p, void *basev, void *addv);
void *fcgix_conf_create_dir(apr_pool_t *p, char *dir);
void *fcgix_conf_merge_dir(apr_pool_t *p, void *basev, void *addv);

/** Adds NAME=value to the NUL-separated list @p env of @p size bytes,
 *  @p len used (a static server's, or FcgidCmdOptions'). */
const char *fcgix_conf_env_add(apr_pool_t *p, char *env, apr_size_t size,
                               apr_size_t *len, const char *nv);

/** Adds NAME=value to a static server's environment list. */
const char *fcgix_conf_server_env(apr_pool_t *p, fcgix_server_t *srv,
                                  const char *nv);

/** Registers a server definition built by a directive handler. */
const char *fcgix_conf_add_server(cmd_parms *cmd, fcgix_server_t *srv);

/** Adds a server that no directive defines (mod_proxy_fcgi's handler
 *  strings, fcgix_proxy.c) to @p s's table, in post_config before the
 *  upstream layer counts them; its path matches no file name. */
void fcgix_conf_register_server(server_rec *s, fcgix_server_t *srv);

/** A new server record (fcgix_conf_server_new) for the path a server
 *  directive names, written as request file names are: relative to
 *  ServerRoot (as mod_fastcgi read it), "." and ".." segments and doubled
 *  slashes taken out. @return NULL, or the error when httpd cannot
 *  resolve @p path */
const char *fcgix_conf_server_open(cmd_parms *cmd, const char *path,
                                   fcgix_server_t **srv);

/** A new server record for @p path with everything unset. */
fcgix_server_t *fcgix_conf_server_new(apr_pool_t *p, const char *path,
                                      const char *directive);

/** How many servers the configuration defines (ids 0 to this - 1). */
int fcgix_conf_server_count(void);

/** What fcgix_conf_each_server() calls: OK to go on. */
typedef int fcgix_conf_server_fn(server_rec *vs, const fcgix_srv_conf_t *vc,
                                 const fcgix_server_t *srv, void *baton);

/**
 * Calls @p fn for the server definitions of every virtual host, from
 * @p s on (a definition several hosts share comes once per host).
 * @return OK, or the first other value @p fn returned
 */
int fcgix_conf_each_server(server_rec *s, fcgix_conf_server_fn *fn,
                           void *baton);

/** Forgets per-pass parse state; called from pre_config. */
void fcgix_conf_pre_config(void);

/** The IPC directory of this configuration (FcgixIpcDir or default). */
const char *fcgix_conf_ipc_dir(apr_pool_t *p);

/** The name of the directive that set the IPC directory (FcgixIpcDir,
 *  FastCgiIpcDir, FcgidIPCDir ...), for log lines. */
const char *fcgix_conf_ipc_dir_name(void);

/**
 * The directive name the admin used for setting @p which of server @p s
 * (virtual host or main), or its native name when nothing set it: log
 * lines that name a setting use this, so a mod_fcgid configuration reads
 * FcgidMaxProcessesPerClass where a native one reads
 * FcgixMaxProcessesPerClass.
 */
const char *fcgix_conf_name(const server_rec *s, fcgix_named_e which);

/** Same for FcgixMaxRequestLen (FcgidMaxRequestLen, MaxRequestLen). */
const char *fcgix_conf_max_request_len_name(const fcgix_dir_conf_t *dc);

/** Records @p name (with its option, e.g. "FastCgiConfig
 *  -maxClassProcesses") as the name setting @p which was given by. */
void fcgix_conf_note_name(cmd_parms *cmd, fcgix_named_e which,
                          const char *name);

/** Resolves an IPC directory relative socket name to an absolute path. */
const char *fcgix_conf_ipc_path(cmd_parms *cmd, const char *name);

/**
 * The external server whose path equals @p filename or is a directory
 * prefix of it, searching @p s first and then every virtual host (a server
 * defined anywhere serves every host, as in mod_fastcgi).
 */
fcgix_server_t *fcgix_conf_find_server(server_rec *s, const char *filename);
/* Whether the configuration names any server mod_fcgix does not start
 * (FastCgiExternalServer and its kin); read-only after startup. */
int fcgix_conf_any_external(void);

/** A server's or class's own timeout @p own (FCGIX_UNSET or 0: none),
 *  else the request's virtual host's setting, else the default. */
apr_interval_time_t fcgix_conf_connect_timeout(const request_rec *r,
                                               apr_interval_time_t own);
apr_interval_time_t fcgix_conf_io_timeout(const request_rec *r,
                                          apr_interval_time_t own);
apr_off_t fcgix_conf_max_request_len(const fcgix_dir_conf_t *dc);
apr_off_t fcgix_conf_max_request_in_mem(const fcgix_dir_conf_t *dc);
apr_size_t fcgix_conf_max_response_header(const fcgix_dir_conf_t *dc);
apr_off_t fcgix_conf_stderr_max_lines(const fcgix_dir_conf_t *dc);
apr_off_t fcgix_conf_stderr_max_bytes(const fcgix_dir_conf_t *dc);
apr_interval_time_t fcgix_conf_abort_timeout(const fcgix_dir_conf_t *dc);
apr_off_t fcgix_conf_abort_max_bytes(const fcgix_dir_conf_t *dc);
/** FcgixErrorOverride: an application's 4xx/5xx becomes httpd's error
 *  page (ErrorDocument). */
int fcgix_conf_error_override(const fcgix_dir_conf_t *dc);

#endif /* FCGIX_CONF_H */
