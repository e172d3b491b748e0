/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * The configuration records: creating and merging them, the accessors
 * that apply the defaults, the table of server definitions, the names
 * settings were given by and the IPC directory. The directive handlers
 * that fill them are in fcgix_conf_cmds.c, fcgix_conf_server.c and
 * fcgix_conf_spawn.c.
 */

#include <string.h>

#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_main.h"

#include "fcgix.h"
#include "fcgix_conf.h"
#include "fcgix_conf_cmds.h"
#include "fcgix_php.h"
#include "fcgix_sendfile.h"

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
    sc->filters = apr_hash_make(p);
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
    /* mod_fastcgi's switch was global: set anywhere, it stays on. */
    conf->fastcgi_wrapper = base->fastcgi_wrapper || add->fastcgi_wrapper;
    merge_names(conf, base, add);
    /* The host's own first: the first of a name is the one applied. */
    conf->initial_env = apr_array_append(p, add->initial_env,
                                         base->initial_env);
    conf->ipc_dir = add->ipc_dir ? add->ipc_dir : base->ipc_dir;
    conf->auth_providers = apr_table_overlay(p, base->auth_providers,
                                             add->auth_providers);
    conf->filters = apr_hash_overlay(p, add->filters, base->filters);
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
    dc->error_override = FCGIX_UNSET;
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
    FCGIX_MERGE(error_override);
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
    conf->php = fcgix_php_merge(p, base->php, add->php);
    conf->sendfile = fcgix_sendfile_merge(p, base->sendfile, add->sendfile);
    return conf;
}

/* ------------------------------------------------------------------ */
/* Accessors: the only place defaults are applied                     */
/* ------------------------------------------------------------------ */

static const fcgix_srv_conf_t *sconf_of(const request_rec *r)
{
    return ap_get_module_config(r->server->module_config, &fcgix_module);
}

apr_interval_time_t fcgix_conf_connect_timeout(const request_rec *r,
                                               apr_interval_time_t own)
{
    return own > 0 ? own
                   : FCGIX_VALUE(sconf_of(r)->connect_timeout,
                                 FCGIX_DEFAULT_CONNECT_TIMEOUT);
}

/* httpd's own Timeout is what an admin expects to govern a gateway. */
apr_interval_time_t fcgix_conf_io_timeout(const request_rec *r,
                                          apr_interval_time_t own)
{
    return own > 0 ? own
                   : FCGIX_VALUE(sconf_of(r)->io_timeout, r->server->timeout);
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

int fcgix_conf_error_override(const fcgix_dir_conf_t *dc)
{
    return FCGIX_VALUE(dc->error_override, 0);
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

const char *fcgix_conf_server_open(cmd_parms *cmd, const char *path,
                                   fcgix_server_t **srv)
{
    char *full = ap_server_root_relative(cmd->pool, path);

    if (full == NULL || !*path) {
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'",
                            cmd->cmd->name, path);
    }
    /* A request's file name never has these; the path must match one. */
    ap_getparents(full);
    ap_no2slash(full);
    *srv = fcgix_conf_server_new(cmd->pool, full, cmd->cmd->name);
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
    srv->slow_start = FCGIX_UNSET;
    return srv;
}

const char *fcgix_conf_env_add(apr_pool_t *p, char *env, apr_size_t size,
                               apr_size_t *len, const char *nv)
{
    apr_size_t n = strlen(nv) + 1;

    if (!strchr(nv, '=') || nv[0] == '=') {
        return apr_psprintf(p, "invalid environment entry '%s' (want "
                            "NAME=value)", nv);
    }
    /* The list travels to the process manager in one datagram. */
    if (*len + n + 1 > size) {
        return apr_psprintf(p, "initial environment too large (%"
                            APR_SIZE_T_FMT " bytes per application)",
                            size);
    }
    memcpy(env + *len, nv, n);
    *len += n;
    env[*len] = '\0';
    return NULL;
}

const char *fcgix_conf_server_env(apr_pool_t *p, fcgix_server_t *srv,
                                  const char *nv)
{
    return fcgix_conf_env_add(p, srv->env, sizeof(srv->env), &srv->env_len,
                              nv);
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

void fcgix_conf_register_server(server_rec *s, fcgix_server_t *srv)
{
    fcgix_srv_conf_t *sc = ap_get_module_config(s->module_config,
                                                &fcgix_module);

    srv->id = nservers++;
    APR_ARRAY_PUSH(sc->servers, fcgix_server_t *) = srv;
}

int fcgix_conf_any_external(void)
{
    return any_external;
}

int fcgix_conf_server_count(void)
{
    return nservers;
}

int fcgix_conf_each_server(server_rec *s, fcgix_conf_server_fn *fn,
                           void *baton)
{
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        const fcgix_srv_conf_t *vc =
            ap_get_module_config(vs->module_config, &fcgix_module);
        int i, rv;

        for (i = 0; i < vc->servers->nelts; i++) {
            rv = fn(vs, vc, APR_ARRAY_IDX(vc->servers, i, fcgix_server_t *),
                    baton);
            if (rv != OK) {
                return rv;
            }
        }
    }
    return OK;
}

/* ------------------------------------------------------------------ */
/* Names the settings were given by                                    */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* The IPC directory                                                   */
/* ------------------------------------------------------------------ */

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
