/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

#include "apr_strings.h"
#include "apr_lib.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_main.h"

#include "fcgix.h"
#include "fcgix_conf.h"
#include "fcgix_authz.h"
#include "fcgix_compat.h"
#include "fcgix_spawn.h"

/* ------------------------------------------------------------------ */
/* Create and merge                                                    */
/* ------------------------------------------------------------------ */

void *fcgix_conf_create_server(apr_pool_t *p, server_rec *s)
{
    fcgix_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    (void)s;
    sc->servers = apr_array_make(p, 4, sizeof(fcgix_server_t *));
    sc->auth_providers = apr_table_make(p, 2);
    sc->connect_timeout = FCGIX_UNSET;
    sc->io_timeout = FCGIX_UNSET;
    sc->max_class_procs = sc->min_class_procs = FCGIX_UNSET;
    sc->idle_timeout = sc->lifetime = sc->max_requests = FCGIX_UNSET;
    sc->kill_interval = sc->single_threshold = sc->multi_threshold =
        FCGIX_UNSET;
    sc->busy_timeout = sc->spawn_wait = sc->max_procs = FCGIX_UNSET;
    sc->max_user_procs = sc->max_user_requests = FCGIX_UNSET;
    sc->fix_pathinfo = sc->output_buffer = FCGIX_UNSET;
    sc->cmd_options = apr_hash_make(p);
    sc->initial_env = apr_array_make(p, 4, sizeof(const char *));
    return sc;
}

/* Where the value of each fcgix_named_e setting lives, and its native
 * name. */
static const struct {
    apr_size_t offset;
    const char *native;
} named[FCGIX_NAMED_SRV] = {
    { APR_OFFSETOF(fcgix_srv_conf_t, max_class_procs),
      "FcgixMaxProcessesPerClass" },
    { APR_OFFSETOF(fcgix_srv_conf_t, spawn_wait), "FcgixSpawnWait" },
    { APR_OFFSETOF(fcgix_srv_conf_t, max_user_requests),
      "FcgixMaxRequestsPerUser" }
};

static int named_value(const fcgix_srv_conf_t *sc, int i)
{
    return *(const int *)((const char *)sc + named[i].offset);
}

/* A name goes where its value goes: the virtual host's when it set one. */
static void merge_names(fcgix_srv_conf_t *conf, const fcgix_srv_conf_t *base,
                        const fcgix_srv_conf_t *add)
{
    int i;

    for (i = 0; i < FCGIX_NAMED_SRV; i++) {
        conf->names[i] = named_value(add, i) != FCGIX_UNSET
                         ? add->names[i] : base->names[i];
    }
}

void *fcgix_conf_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    fcgix_srv_conf_t *base = basev, *add = addv;
    fcgix_srv_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    /* A vhost sees its own servers first, then the main server's. */
    conf->servers = apr_array_append(p, add->servers, base->servers);
    FCGIX_MERGE(connect_timeout);
    FCGIX_MERGE(io_timeout);
    FCGIX_MERGE(max_class_procs);
    FCGIX_MERGE(min_class_procs);
    FCGIX_MERGE(idle_timeout);
    FCGIX_MERGE(kill_interval);
    FCGIX_MERGE(single_threshold);
    FCGIX_MERGE(multi_threshold);
    FCGIX_MERGE(lifetime);
    FCGIX_MERGE(max_requests);
    FCGIX_MERGE(busy_timeout);
    FCGIX_MERGE(spawn_wait);
    FCGIX_MERGE(max_user_procs);
    FCGIX_MERGE(fix_pathinfo);
    FCGIX_MERGE(output_buffer);
    conf->cmd_options = apr_hash_overlay(p, add->cmd_options,
                                         base->cmd_options);
    FCGIX_MERGE(max_user_requests);
    FCGIX_MERGE(max_procs);
    merge_names(conf, base, add);
    conf->initial_env = apr_array_append(p, base->initial_env,
                                         add->initial_env);
    conf->ipc_dir = add->ipc_dir ? add->ipc_dir : base->ipc_dir;
    conf->auth_providers = apr_table_overlay(p, base->auth_providers,
                                             add->auth_providers);
    return conf;
}

void *fcgix_conf_create_dir(apr_pool_t *p, char *dir)
{
    fcgix_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));
    int i;

    (void)dir;
    dc->max_request_len = FCGIX_UNSET;
    dc->max_request_in_mem = FCGIX_UNSET;
    dc->max_response_header = FCGIX_UNSET;
    dc->stderr_max_lines = FCGIX_UNSET;
    dc->stderr_max_bytes = FCGIX_UNSET;
    dc->abort_timeout = FCGIX_UNSET;
    dc->abort_max_bytes = FCGIX_UNSET;
    for (i = 0; i < FCGIX_AUTH_PHASES; i++) {
        dc->auth[i].authoritative = FCGIX_UNSET;
    }
    return dc;
}

void *fcgix_conf_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    fcgix_dir_conf_t *base = basev, *add = addv;
    fcgix_dir_conf_t *conf = apr_pcalloc(p, sizeof(*conf));
    int i;

    for (i = 0; i < FCGIX_AUTH_PHASES; i++) {
        if (add->auth[i].path) {
            conf->auth[i].path = add->auth[i].path;
            conf->auth[i].vars = add->auth[i].vars;
        }
        else {
            conf->auth[i].path = base->auth[i].path;
            conf->auth[i].vars = base->auth[i].vars;
        }
        FCGIX_MERGE(auth[i].authoritative);
    }
    FCGIX_MERGE(max_request_len);
    conf->max_request_len_name = add->max_request_len != FCGIX_UNSET
                                 ? add->max_request_len_name
                                 : base->max_request_len_name;
    FCGIX_MERGE(max_request_in_mem);
    FCGIX_MERGE(max_response_header);
    FCGIX_MERGE(stderr_max_lines);
    FCGIX_MERGE(stderr_max_bytes);
    FCGIX_MERGE(abort_timeout);
    FCGIX_MERGE(abort_max_bytes);
    if (add->wrappers && base->wrappers) {
        conf->wrappers = apr_array_append(p, base->wrappers, add->wrappers);
    }
    else {
        conf->wrappers = add->wrappers ? add->wrappers : base->wrappers;
    }
    if (add->pass_headers && base->pass_headers) {
        conf->pass_headers = apr_array_append(p, base->pass_headers,
                                              add->pass_headers);
    }
    else {
        conf->pass_headers = add->pass_headers ? add->pass_headers
                                               : base->pass_headers;
    }
    return conf;
}

/* ------------------------------------------------------------------ */
/* Accessors: the only place defaults are applied                     */
/* ------------------------------------------------------------------ */

apr_interval_time_t fcgix_conf_connect_timeout(const request_rec *r,
                                               apr_interval_time_t own)
{
    const fcgix_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &fcgix_module);

    if (own > 0) {
        return own;
    }
    return FCGIX_VALUE(sc->connect_timeout, FCGIX_DEFAULT_CONNECT_TIMEOUT);
}

apr_interval_time_t fcgix_conf_io_timeout(const request_rec *r,
                                          apr_interval_time_t own)
{
    const fcgix_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &fcgix_module);

    if (own > 0) {
        return own;
    }
    /* httpd's own Timeout is what an admin expects to govern a gateway. */
    return FCGIX_VALUE(sc->io_timeout, r->server->timeout);
}

apr_off_t fcgix_conf_max_request_len(const fcgix_dir_conf_t *dc)
{
    return FCGIX_VALUE(dc->max_request_len, 0);
}

apr_off_t fcgix_conf_max_request_in_mem(const fcgix_dir_conf_t *dc)
{
    return FCGIX_VALUE(dc->max_request_in_mem,
                       FCGIX_DEFAULT_MAX_REQUEST_IN_MEM);
}

apr_size_t fcgix_conf_max_response_header(const fcgix_dir_conf_t *dc)
{
    return (apr_size_t)FCGIX_VALUE(dc->max_response_header,
                                   FCGIX_DEFAULT_MAX_RESPONSE_HEADER);
}

apr_off_t fcgix_conf_stderr_max_lines(const fcgix_dir_conf_t *dc)
{
    return FCGIX_VALUE(dc->stderr_max_lines, FCGIX_DEFAULT_STDERR_MAX_LINES);
}

apr_off_t fcgix_conf_stderr_max_bytes(const fcgix_dir_conf_t *dc)
{
    return FCGIX_VALUE(dc->stderr_max_bytes, FCGIX_DEFAULT_STDERR_MAX_BYTES);
}

apr_interval_time_t fcgix_conf_abort_timeout(const fcgix_dir_conf_t *dc)
{
    return FCGIX_VALUE(dc->abort_timeout, FCGIX_DEFAULT_ABORT_TIMEOUT);
}

apr_off_t fcgix_conf_abort_max_bytes(const fcgix_dir_conf_t *dc)
{
    return FCGIX_VALUE(dc->abort_max_bytes, FCGIX_DEFAULT_ABORT_MAX_BYTES);
}

/* ------------------------------------------------------------------ */
/* Server table                                                        */
/* ------------------------------------------------------------------ */

/* Set while the configuration is read: does any server run elsewhere? */
static int any_external;
/* Servers defined so far in this reading (their ids); reset in
 * pre_config. */
static int nservers;

static fcgix_server_t *find_in(const fcgix_srv_conf_t *sc,
                               const char *filename, apr_size_t len)
{
    int i;

    for (i = 0; i < sc->servers->nelts; i++) {
        fcgix_server_t *srv = APR_ARRAY_IDX(sc->servers, i,
                                            fcgix_server_t *);
        if (srv->path_len <= len
            && memcmp(srv->path, filename, srv->path_len) == 0
            && (filename[srv->path_len] == '\0'
                || filename[srv->path_len] == '/')) {
            return srv;
        }
    }
    return NULL;
}

fcgix_server_t *fcgix_conf_find_server(server_rec *s, const char *filename)
{
    const fcgix_srv_conf_t *sc =
        ap_get_module_config(s->module_config, &fcgix_module);
    apr_size_t len = strlen(filename);
    fcgix_server_t *srv;
    server_rec *vs;

    if ((srv = find_in(sc, filename, len)) != NULL) {
        return srv;
    }
    for (vs = ap_server_conf; vs; vs = vs->next) {
        if (vs == s) {
            continue;
        }
        sc = ap_get_module_config(vs->module_config, &fcgix_module);
        if ((srv = find_in(sc, filename, len)) != NULL) {
            return srv;
        }
    }
    return NULL;
}

fcgix_server_t *fcgix_conf_server_new(apr_pool_t *p, const char *path,
                                      const char *directive)
{
    fcgix_server_t *srv = apr_pcalloc(p, sizeof(*srv));
    char *canon = apr_pstrdup(p, path);
    apr_size_t len = strlen(canon);

    /* "/x/app/" must match "/x/app/info" the same as "/x/app". */
    while (len > 1 && canon[len - 1] == '/') {
        canon[--len] = '\0';
    }
    srv->path = canon;
    srv->path_len = len;
    srv->directive = directive;
    srv->addrs = apr_array_make(p, 1, sizeof(fcgix_addr_t *));
    srv->connect_timeout = FCGIX_UNSET;
    srv->io_timeout = FCGIX_UNSET;
    srv->pass_headers = apr_array_make(p, 2, sizeof(const char *));
    srv->limits.keepalive = 0;
    srv->limits.idle_ttl = FCGIX_DEFAULT_KEEPALIVE_TIMEOUT;
    srv->limits.max_conn_requests = 0;
    srv->limits.disable_for = FCGIX_DEFAULT_RETRY;
    srv->limits.max_conns = 0;
    srv->limits.max_wait = FCGIX_DEFAULT_MAX_CONNS_WAIT;
    srv->balance = FCGIX_BALANCE_LEAST_CONN;
    srv->get_values = 1;
    srv->mpx = FCGIX_MPX_AUTO;
    srv->mpx_limits.max_reqs = FCGIX_DEFAULT_MPX_MAX_REQS;
    srv->mpx_limits.queue_max = FCGIX_DEFAULT_MPX_BUFFER;
    return srv;
}

const char *fcgix_conf_server_env(apr_pool_t *p, fcgix_server_t *srv,
                                  const char *nv)
{
    apr_size_t n = strlen(nv) + 1;

    if (!strchr(nv, '=') || nv[0] == '=') {
        return apr_psprintf(p, "invalid environment entry '%s' (want "
                            "NAME=value)", nv);
    }
    /* The list travels to the process manager in one datagram. */
    if (srv->env_len + n + 1 > sizeof(srv->env)) {
        return "initial environment too large (2 KiB per application)";
    }
    memcpy(srv->env + srv->env_len, nv, n);
    srv->env_len += n;
    srv->env[srv->env_len] = '\0';
    return NULL;
}

const char *fcgix_conf_add_server(cmd_parms *cmd, fcgix_server_t *srv)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);
    server_rec *s;

    if (srv->addrs->nelts == 0 && !srv->managed) {
        return apr_psprintf(cmd->pool, "%s %s: no address given",
                            cmd->cmd->name, srv->path);
    }
    /* Servers are global (mod_fastcgi semantics), so clash globally. */
    for (s = cmd->server; s; s = s->next) {
        fcgix_srv_conf_t *o =
            ap_get_module_config(s->module_config, &fcgix_module);
        int i;
        /* A vhost that used none of our directives has no record yet. */
        if (o == NULL) {
            continue;
        }
        for (i = 0; i < o->servers->nelts; i++) {
            fcgix_server_t *x = APR_ARRAY_IDX(o->servers, i,
                                              fcgix_server_t *);
            if (strcmp(x->path, srv->path) == 0) {
                return apr_psprintf(cmd->pool, "%s: a FastCGI server for "
                                    "%s is already defined (%s)",
                                    cmd->cmd->name, srv->path,
                                    x->directive);
            }
        }
    }
    srv->id = nservers++;
    APR_ARRAY_PUSH(sc->servers, fcgix_server_t *) = srv;
    if (!srv->managed) {
        any_external = 1;
    }
    return NULL;
}

int fcgix_conf_any_external(void)
{
    return any_external;
}

int fcgix_conf_server_count(void)
{
    return nservers;
}

/* ------------------------------------------------------------------ */
/* Value parsing                                                       */
/* ------------------------------------------------------------------ */

const char *fcgix_conf_parse_secs(apr_pool_t *p, const char *what,
                                  const char *arg, apr_interval_time_t *out)
{
    char *end;
    apr_int64_t v;

    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (errno || end == arg || *end || v < 0 || v > 86400 * 365) {
        return apr_psprintf(p, "%s: '%s' is not a number of seconds "
                            "(0 to 31536000)", what, arg);
    }
    *out = apr_time_from_sec(v);
    return NULL;
}

static const char *parse_bytes(cmd_parms *cmd, const char *arg,
                               apr_off_t *out)
{
    char *end;
    apr_off_t v;

    if (apr_strtoff(&v, arg, &end, 10) != APR_SUCCESS || end == arg
        || *end || v < 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a byte count >= 0",
                            cmd->cmd->name, arg);
    }
    *out = v;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Directive handlers                                                  */
/* ------------------------------------------------------------------ */

const char *fcgix_conf_set_max_request_len(cmd_parms *cmd, void *dcv,
                                           const char *arg)
{
    fcgix_dir_conf_t *dc = dcv;

    dc->max_request_len_name = cmd->cmd->name;
    return parse_bytes(cmd, arg, &dc->max_request_len);
}

const char *fcgix_conf_max_request_len_name(const fcgix_dir_conf_t *dc)
{
    return dc->max_request_len_name ? dc->max_request_len_name
                                    : "FcgixMaxRequestLen";
}

const char *fcgix_conf_name(const server_rec *s, fcgix_named_e which)
{
    const fcgix_srv_conf_t *sc =
        ap_get_module_config(s->module_config, &fcgix_module);

    return sc->names[which] ? sc->names[which] : named[which].native;
}

void fcgix_conf_note_name(cmd_parms *cmd, fcgix_named_e which,
                          const char *name)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);

    sc->names[which] = name;
}

const char *fcgix_conf_set_spawn_int(cmd_parms *cmd, void *dc,
                                     const char *arg)
{
    const char *err = fcgix_spawn_set_int(cmd, dc, arg);
    int i;

    for (i = 0; err == NULL && i < FCGIX_NAMED_SRV; i++) {
        if (named[i].offset == (apr_size_t)cmd->info) {
            fcgix_conf_note_name(cmd, (fcgix_named_e)i, cmd->cmd->name);
        }
    }
    return err;
}

const char *fcgix_conf_set_max_request_in_mem(cmd_parms *cmd, void *dcv,
                                              const char *arg)
{
    return parse_bytes(cmd, arg,
                       &((fcgix_dir_conf_t *)dcv)->max_request_in_mem);
}

static const char *set_max_response_header(cmd_parms *cmd, void *dcv,
                                           const char *arg)
{
    fcgix_dir_conf_t *dc = dcv;
    const char *err = parse_bytes(cmd, arg, &dc->max_response_header);

    if (err == NULL && (dc->max_response_header < 1024
                        || dc->max_response_header > 16 * 1024 * 1024)) {
        return apr_psprintf(cmd->pool, "%s must be between 1024 and "
                            "16777216", cmd->cmd->name);
    }
    return err;
}

static const char *set_dir_bytes(cmd_parms *cmd, void *dcv,
                                 const char *arg)
{
    apr_off_t *field = (apr_off_t *)((char *)dcv + (apr_size_t)cmd->info);

    return parse_bytes(cmd, arg, field);
}

static const char *set_abort_timeout(cmd_parms *cmd, void *dcv,
                                     const char *arg)
{
    fcgix_dir_conf_t *dc = dcv;
    const char *err = fcgix_conf_parse_secs(cmd->pool, cmd->cmd->name, arg,
                                            &dc->abort_timeout);

    if (err == NULL && dc->abort_timeout == 0) {
        return apr_psprintf(cmd->pool, "%s must be at least 1 second",
                            cmd->cmd->name);
    }
    return err;
}

static int valid_header_name(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!apr_isalnum(*s) && *s != '-' && *s != '_') {
            return 0;
        }
    }
    return 1;
}

const char *fcgix_conf_check_pass_header(apr_pool_t *p, const char *what,
                                         const char *name)
{
    if (!valid_header_name(name)) {
        return apr_psprintf(p, "%s: invalid header name '%s'", what, name);
    }
    /* A client's "Proxy:" would become HTTP_PROXY, which many HTTP
     * libraries take as their outgoing proxy (httpoxy). */
    if (!strcasecmp(name, "Proxy")) {
        return apr_psprintf(p, "%s: the header '%s' may not be passed: as "
                            "HTTP_PROXY it would set the application's "
                            "outgoing proxy (httpoxy)", what, name);
    }
    return NULL;
}

const char *fcgix_conf_add_pass_header(cmd_parms *cmd, void *dcv,
                                       const char *arg)
{
    fcgix_dir_conf_t *dc = dcv;
    const char *err = fcgix_conf_check_pass_header(cmd->pool,
                                                   cmd->cmd->name, arg);

    if (err) {
        return err;
    }
    if (dc->pass_headers == NULL) {
        dc->pass_headers = apr_array_make(cmd->pool, 2, sizeof(char *));
    }
    APR_ARRAY_PUSH(dc->pass_headers, const char *) = arg;
    return NULL;
}

const char *fcgix_conf_add_pass_header_fcgid(cmd_parms *cmd, void *dcv,
                                             const char *arg)
{
    const char *err = fcgix_conf_add_pass_header(cmd, dcv, arg);
    fcgix_dir_conf_t *dc = dcv;

    if (err == NULL) {
        /* mod_fcgid also sets the header's own name, unmangled. */
        APR_ARRAY_IDX(dc->pass_headers, dc->pass_headers->nelts - 1,
                      const char *) = apr_pstrcat(cmd->pool, "!", arg, NULL);
    }
    return err;
}

const char *fcgix_conf_set_io_timeout(cmd_parms *cmd, void *dcv,
                                      const char *arg)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);

    (void)dcv;
    return fcgix_conf_parse_secs(cmd->pool, cmd->cmd->name, arg,
                                 &sc->io_timeout);
}

const char *fcgix_conf_set_connect_timeout(cmd_parms *cmd, void *dcv,
                                           const char *arg)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);

    (void)dcv;
    return fcgix_conf_parse_secs(cmd->pool, cmd->cmd->name, arg,
                                 &sc->connect_timeout);
}

/*
 * The IPC directory is global and must precede the servers that name
 * sockets relative to it (as in mod_fastcgi). Directive handlers of a
 * virtual host cannot reach the main server's record, so the value read so
 * far is kept here; pre_config resets it for every configuration pass.
 */
static const char *ipc_dir_seen;
static const char *ipc_dir_name;

void fcgix_conf_pre_config(void)
{
    ipc_dir_seen = NULL;
    ipc_dir_name = NULL;
    any_external = 0;
    nservers = 0;
}

const char *fcgix_conf_set_ipc_dir(cmd_parms *cmd, void *dcv,
                                   const char *arg)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dcv;
    if (err) {
        return err;
    }
    sc->ipc_dir = ap_runtime_dir_relative(cmd->pool, arg);
    if (sc->ipc_dir == NULL) {
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'",
                            cmd->cmd->name, arg);
    }
    ipc_dir_seen = sc->ipc_dir;
    ipc_dir_name = cmd->cmd->name;
    return NULL;
}

const char *fcgix_conf_ipc_dir_name(void)
{
    return ipc_dir_name ? ipc_dir_name : "FcgixIpcDir";
}

const char *fcgix_conf_ipc_dir(apr_pool_t *p)
{
    return ipc_dir_seen ? ipc_dir_seen
                        : ap_runtime_dir_relative(p, FCGIX_DEFAULT_IPC_DIR);
}

const char *fcgix_conf_ipc_path(cmd_parms *cmd, const char *name)
{
    const char *dir = ipc_dir_seen;

    if (name[0] == '/') {
        return name;
    }
    if (dir == NULL) {
        dir = ap_runtime_dir_relative(cmd->pool, FCGIX_DEFAULT_IPC_DIR);
    }
    return apr_pstrcat(cmd->pool, dir, "/", name, NULL);
}

/*
 * FcgixExternalServer <path> <address>... [connect-timeout=N]
 *     [io-timeout=N] [pass-header=Name]... [flush=on|off]
 */
static const char *cmd_external_server(cmd_parms *cmd, void *dcv, int argc,
                                       char *const argv[])
{
    fcgix_server_t *srv;
    const char *err;
    int i;

    (void)dcv;
    if (argc < 2) {
        return "FcgixExternalServer needs a path and at least one address";
    }
    srv = fcgix_conf_server_new(cmd->pool, argv[0], cmd->cmd->name);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');

        if (eq == NULL) {
            fcgix_addr_t *addr;
            if ((err = fcgix_addr_parse(cmd->pool, a, 0, &addr)) != NULL) {
                return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err,
                                   NULL);
            }
            if (srv->addrs->nelts == FCGIX_POOL_MAX_ADDRS) {
                return apr_psprintf(cmd->pool, "%s: at most %d addresses",
                                    cmd->cmd->name, FCGIX_POOL_MAX_ADDRS);
            }
            APR_ARRAY_PUSH(srv->addrs, fcgix_addr_t *) = addr;
        }
        else if (!strncasecmp(a, "connect-timeout=", 16)) {
            err = fcgix_conf_parse_secs(cmd->pool, "connect-timeout",
                                        eq + 1, &srv->connect_timeout);
            if (err) {
                return err;
            }
        }
        else if (!strncasecmp(a, "io-timeout=", 11)) {
            err = fcgix_conf_parse_secs(cmd->pool, "io-timeout", eq + 1,
                                        &srv->io_timeout);
            if (err) {
                return err;
            }
        }
        else if (!strncasecmp(a, "pass-header=", 12)) {
            err = fcgix_conf_check_pass_header(cmd->pool, cmd->cmd->name,
                                               eq + 1);
            if (err) {
                return err;
            }
            APR_ARRAY_PUSH(srv->pass_headers, const char *) = eq + 1;
        }
        else if (!strncasecmp(a, "keepalive=", 10)) {
            apr_int64_t n = apr_atoi64(eq + 1);
            if (n < 0 || n > 1024 || !apr_isdigit(eq[1])) {
                return apr_psprintf(cmd->pool, "%s: keepalive must be 0 to "
                                    "1024 idle connections per child",
                                    cmd->cmd->name);
            }
            srv->limits.keepalive = (int)n;
        }
        else if (!strncasecmp(a, "keepalive-timeout=", 18)) {
            err = fcgix_conf_parse_secs(cmd->pool, "keepalive-timeout",
                                        eq + 1, &srv->limits.idle_ttl);
            if (err) {
                return err;
            }
        }
        else if (!strncasecmp(a, "max-conns=", 10)) {
            apr_int64_t n = apr_atoi64(eq + 1);
            if (n < 0 || n > 65535 || !apr_isdigit(eq[1])) {
                return apr_psprintf(cmd->pool, "%s: max-conns must be 0 "
                                    "(no cap) to 65535 connections per "
                                    "child", cmd->cmd->name);
            }
            srv->limits.max_conns = (int)n;
        }
        else if (!strncasecmp(a, "max-conns-wait=", 15)) {
            err = fcgix_conf_parse_secs(cmd->pool, "max-conns-wait",
                                        eq + 1, &srv->limits.max_wait);
            if (err) {
                return err;
            }
        }
        else if (!strncasecmp(a, "conn-max-requests=", 18)) {
            apr_int64_t n = apr_atoi64(eq + 1);
            if (n < 0 || !apr_isdigit(eq[1])) {
                return apr_psprintf(cmd->pool, "%s: conn-max-requests "
                                    "must be >= 0", cmd->cmd->name);
            }
            srv->limits.max_conn_requests = (apr_uint32_t)n;
        }
        else if (!strncasecmp(a, "retry=", 6)) {
            err = fcgix_conf_parse_secs(cmd->pool, "retry", eq + 1,
                                        &srv->limits.disable_for);
            if (err) {
                return err;
            }
        }
        else if (!strncasecmp(a, "balance=", 8)) {
            if (!strcasecmp(eq + 1, "least-conn")) {
                srv->balance = FCGIX_BALANCE_LEAST_CONN;
            }
            else if (!strcasecmp(eq + 1, "round-robin")) {
                srv->balance = FCGIX_BALANCE_ROUND_ROBIN;
            }
            else if (!strcasecmp(eq + 1, "hash")) {
                srv->balance = FCGIX_BALANCE_HASH;
            }
            else {
                return apr_psprintf(cmd->pool, "%s: balance must be "
                                    "least-conn, round-robin or hash",
                                    cmd->cmd->name);
            }
        }
        else if (!strncasecmp(a, "mpx=", 4)) {
            if (!strcasecmp(eq + 1, "auto")) {
                srv->mpx = FCGIX_MPX_AUTO;
            }
            else if (!strcasecmp(eq + 1, "on")) {
                srv->mpx = FCGIX_MPX_ON;
            }
            else if (!strcasecmp(eq + 1, "off")) {
                srv->mpx = FCGIX_MPX_OFF;
            }
            else {
                return apr_psprintf(cmd->pool, "%s: mpx must be auto, on "
                                    "or off", cmd->cmd->name);
            }
        }
        else if (!strncasecmp(a, "mpx-max-reqs=", 13)) {
            apr_int64_t n = apr_atoi64(eq + 1);
            if (n < 1 || n > 1024) {
                return apr_psprintf(cmd->pool, "%s: mpx-max-reqs must be 1 "
                                    "to 1024", cmd->cmd->name);
            }
            srv->mpx_limits.max_reqs = (int)n;
        }
        else if (!strncasecmp(a, "mpx-buffer=", 11)) {
            apr_int64_t n = apr_atoi64(eq + 1);
            if (n < 65536) {
                return apr_psprintf(cmd->pool, "%s: mpx-buffer must be at "
                                    "least 65536 bytes", cmd->cmd->name);
            }
            srv->mpx_limits.queue_max = (apr_size_t)n;
        }
        else if (!strcasecmp(a, "ignore-client-abort=on")) {
            srv->ignore_client_abort = 1;
        }
        else if (!strcasecmp(a, "ignore-client-abort=off")) {
            srv->ignore_client_abort = 0;
        }
        else if (!strcasecmp(a, "get-values=on")) {
            srv->get_values = 1;
        }
        else if (!strcasecmp(a, "get-values=off")) {
            srv->get_values = 0;
        }
        else if (!strcasecmp(a, "flush=on")) {
            srv->flush = 1;
        }
        else if (!strcasecmp(a, "flush=off")) {
            srv->flush = 0;
        }
        else {
            return apr_psprintf(cmd->pool, "%s: unknown option '%s'",
                                cmd->cmd->name, a);
        }
    }
    return fcgix_conf_add_server(cmd, srv);
}

/*
 * FcgixServer <path> [processes=N] [env=NAME=value]... [io-timeout=S]
 *     [connect-timeout=S] [restart-delay=S] [pass-header=Name]
 *     [flush=on|off]: an application mod_fcgix starts at boot and keeps
 * running.
 */
static const char *cmd_server(cmd_parms *cmd, void *dcv, int argc,
                              char *const argv[])
{
    fcgix_server_t *srv;
    const char *err = NULL;
    int i;

    (void)dcv;
    if (argc < 1) {
        return "FcgixServer needs a path";
    }
    srv = fcgix_conf_server_new(cmd->pool, argv[0], cmd->cmd->name);
    srv->managed = 1;
    srv->processes = 1;
    srv->restart_delay = 5;
    for (i = 1; i < argc && err == NULL; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        apr_interval_time_t t;

        if (eq == NULL) {
            err = apr_psprintf(cmd->pool, "%s: unknown option '%s'",
                               cmd->cmd->name, a);
        }
        else if (!strncasecmp(a, "processes=", 10)) {
            srv->processes = atoi(eq + 1);
            if (srv->processes < 1 || srv->processes > 128) {
                err = "FcgixServer: processes must be 1 to 128";
            }
        }
        else if (!strncasecmp(a, "env=", 4)) {
            err = fcgix_conf_server_env(cmd->pool, srv, eq + 1);
        }
        else if (!strncasecmp(a, "io-timeout=", 11)) {
            err = fcgix_conf_parse_secs(cmd->pool, "io-timeout", eq + 1,
                                        &srv->io_timeout);
        }
        else if (!strncasecmp(a, "connect-timeout=", 16)) {
            err = fcgix_conf_parse_secs(cmd->pool, "connect-timeout",
                                        eq + 1, &srv->connect_timeout);
        }
        else if (!strncasecmp(a, "restart-delay=", 14)) {
            err = fcgix_conf_parse_secs(cmd->pool, "restart-delay", eq + 1,
                                        &t);
            srv->restart_delay = (int)apr_time_sec(t);
        }
        else if (!strncasecmp(a, "pass-header=", 12)) {
            err = fcgix_conf_check_pass_header(cmd->pool, cmd->cmd->name,
                                               eq + 1);
            APR_ARRAY_PUSH(srv->pass_headers, const char *) = eq + 1;
        }
        else if (!strcasecmp(a, "flush=on") || !strcasecmp(a, "flush=off")) {
            srv->flush = !strcasecmp(a, "flush=on");
        }
        else {
            err = apr_psprintf(cmd->pool, "%s: unknown option '%s'",
                               cmd->cmd->name, a);
        }
    }
    return err ? err : fcgix_conf_add_server(cmd, srv);
}

#define FCGIX_DIR_CTX (RSRC_CONF | ACCESS_CONF | OR_FILEINFO)

const command_rec fcgix_conf_cmds[] = {
    AP_INIT_TAKE_ARGV("FcgixExternalServer", cmd_external_server, NULL,
                      RSRC_CONF,
                      "<path> <address>... [connect-timeout=s] "
                      "[io-timeout=s] [pass-header=Name] [flush=on|off] "
                      "[keepalive=n] [keepalive-timeout=s] [max-conns=n] "
                      "[max-conns-wait=s] [conn-max-requests=n] "
                      "[balance=least-conn|round-robin|hash] [retry=s] "
                      "[get-values=on|off] "
                      "[mpx=auto|on|off] [mpx-max-reqs=n] [mpx-buffer=b] "
                      "[ignore-client-abort=on|off]"),
    AP_INIT_TAKE_ARGV("FcgixServer", cmd_server, NULL, RSRC_CONF,
                      "<path> [processes=n] [env=NAME=value] "
                      "[io-timeout=s] [connect-timeout=s] [restart-delay=s] "
                      "[pass-header=Name] [flush=on|off]"),
    AP_INIT_TAKE1("FcgixConnectTimeout", fcgix_conf_set_connect_timeout,
                  NULL, RSRC_CONF, "seconds to wait for a connection"),
    AP_INIT_TAKE1("FcgixIOTimeout", fcgix_conf_set_io_timeout, NULL,
                  RSRC_CONF, "seconds an application may stay silent"),
    AP_INIT_TAKE1("FcgixIpcDir", fcgix_conf_set_ipc_dir, NULL, RSRC_CONF,
                  "directory for relative socket names"),
    AP_INIT_TAKE1("FcgixMaxRequestLen", fcgix_conf_set_max_request_len,
                  NULL, FCGIX_DIR_CTX,
                  "largest request body in bytes (0: no own limit); "
                  "larger gets 413"),
    AP_INIT_TAKE1("FcgixMaxRequestInMem", fcgix_conf_set_max_request_in_mem,
                  NULL, FCGIX_DIR_CTX,
                  "bytes of a chunked body kept in memory before spooling "
                  "to a temporary file"),
    AP_INIT_TAKE1("FcgixMaxResponseHeaderLen", set_max_response_header,
                  NULL, FCGIX_DIR_CTX,
                  "largest response header block in bytes"),
    AP_INIT_TAKE1("FcgixStderrMaxLines", set_dir_bytes,
                  (void *)APR_OFFSETOF(fcgix_dir_conf_t, stderr_max_lines),
                  FCGIX_DIR_CTX,
                  "lines of application stderr logged per request (default "
                  "100); the rest is counted in one line"),
    AP_INIT_TAKE1("FcgixStderrMaxBytes", set_dir_bytes,
                  (void *)APR_OFFSETOF(fcgix_dir_conf_t, stderr_max_bytes),
                  FCGIX_DIR_CTX,
                  "bytes of application stderr logged per request (default "
                  "65536)"),
    AP_INIT_TAKE1("FcgixAbortTimeout", set_abort_timeout, NULL,
                  FCGIX_DIR_CTX,
                  "seconds an application gets to end a request after "
                  "FCGI_ABORT_REQUEST before its connection is closed "
                  "(default 3)"),
    AP_INIT_TAKE1("FcgixAbortMaxBytes", set_dir_bytes,
                  (void *)APR_OFFSETOF(fcgix_dir_conf_t, abort_max_bytes),
                  FCGIX_DIR_CTX,
                  "bytes read and discarded after FCGI_ABORT_REQUEST before "
                  "the connection is closed (default 4194304)"),
    AP_INIT_ITERATE("FcgixPassHeader", fcgix_conf_add_pass_header, NULL,
                    FCGIX_DIR_CTX,
                    "request headers passed to the application as HTTP_*"),
    FCGIX_SPAWN_CMDS
    FCGIX_AUTHZ_CMDS
    FCGIX_COMPAT_CMDS
    {NULL}
};
