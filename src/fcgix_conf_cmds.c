/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Handlers of the native per-server and per-directory scalars (timeouts,
 * sizes, passed headers, the authorizer of each phase): each parses its
 * value and stores it in the configuration record, nothing more. Server
 * definitions are in fcgix_conf_server.c, spawn settings in
 * fcgix_conf_spawn.c.
 */

#include <strings.h>

#include "apr_lib.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"

#include "fcgix.h"
#include "fcgix_conf.h"
#include "fcgix_conf_cmds.h"

static const char *set_bytes(cmd_parms *cmd, const char *arg,
                             apr_int64_t min, apr_int64_t max,
                             apr_off_t *field)
{
    apr_int64_t v;
    const char *err = fcgix_conf_parse_num(cmd->pool, cmd->cmd->name, arg,
                                           min, max, FCGIX_UNIT_BYTES, &v);

    if (err == NULL) {
        *field = (apr_off_t)v;
    }
    return err;
}

/* A server-wide timeout (cmd->info unused): 1 ms at least. */
static const char *set_timeout(cmd_parms *cmd, const char *arg,
                               apr_interval_time_t *field)
{
    apr_int64_t v;
    const char *err = fcgix_conf_parse_num(
        cmd->pool, cmd->cmd->name, arg, FCGIX_LIMIT_WAIT_MIN,
        apr_time_from_sec(FCGIX_LIMIT_SECS), FCGIX_UNIT_TIME, &v);

    if (err == NULL) {
        *field = v;
    }
    return err;
}

const char *fcgix_conf_set_max_request_len(cmd_parms *cmd, void *dcv,
                                           const char *arg)
{
    fcgix_dir_conf_t *dc = dcv;

    dc->max_request_len_name = cmd->cmd->name;
    return set_bytes(cmd, arg, 0, FCGIX_LIMIT_BYTES, &dc->max_request_len);
}

const char *fcgix_conf_set_max_request_in_mem(cmd_parms *cmd, void *dcv,
                                              const char *arg)
{
    fcgix_dir_conf_t *dc = dcv;

    return set_bytes(cmd, arg, 0, FCGIX_LIMIT_BYTES,
                     &dc->max_request_in_mem);
}

const char *fcgix_conf_set_max_response_header(cmd_parms *cmd, void *dcv,
                                               const char *arg)
{
    fcgix_dir_conf_t *dc = dcv;

    return set_bytes(cmd, arg, FCGIX_LIMIT_RESPONSE_HEADER_MIN,
                     FCGIX_LIMIT_RESPONSE_HEADER_MAX,
                     &dc->max_response_header);
}

const char *fcgix_conf_set_dir_bytes(cmd_parms *cmd, void *dcv,
                                     const char *arg)
{
    apr_off_t *field = (apr_off_t *)((char *)dcv + (apr_size_t)cmd->info);

    return set_bytes(cmd, arg, 0, FCGIX_LIMIT_BYTES, field);
}

const char *fcgix_conf_set_dir_count(cmd_parms *cmd, void *dcv,
                                     const char *arg)
{
    apr_off_t *field = (apr_off_t *)((char *)dcv + (apr_size_t)cmd->info);
    apr_int64_t v;
    const char *err = fcgix_conf_parse_num(cmd->pool, cmd->cmd->name, arg,
                                           0, FCGIX_LIMIT_COUNT,
                                           FCGIX_UNIT_COUNT, &v);

    if (err == NULL) {
        *field = (apr_off_t)v;
    }
    return err;
}

const char *fcgix_conf_set_dir_flag(cmd_parms *cmd, void *dcv, int on)
{
    *(int *)((char *)dcv + (apr_size_t)cmd->info) = on;
    return NULL;
}

const char *fcgix_conf_set_abort_timeout(cmd_parms *cmd, void *dcv,
                                         const char *arg)
{
    fcgix_dir_conf_t *dc = dcv;
    apr_int64_t v;
    const char *err = fcgix_conf_parse_num(
        cmd->pool, cmd->cmd->name, arg,
        apr_time_from_sec(FCGIX_LIMIT_ABORT_TIMEOUT_MIN),
        apr_time_from_sec(FCGIX_LIMIT_SECS), FCGIX_UNIT_TIME, &v);

    if (err == NULL) {
        dc->abort_timeout = v;
    }
    return err;
}

const char *fcgix_conf_set_io_timeout(cmd_parms *cmd, void *dcv,
                                      const char *arg)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);

    (void)dcv;
    return set_timeout(cmd, arg, &sc->io_timeout);
}

const char *fcgix_conf_set_connect_timeout(cmd_parms *cmd, void *dcv,
                                           const char *arg)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);

    (void)dcv;
    return set_timeout(cmd, arg, &sc->connect_timeout);
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

#define INFO_PHASE(i) ((int)((apr_uintptr_t)(i) & 0xf))
#define INFO_VARS(i) ((int)(((apr_uintptr_t)(i) >> 4) & 0xf))
#define INFO_COMPAT(i) ((int)(((apr_uintptr_t)(i) >> 8) & 0x1))

const char *fcgix_conf_set_auth_app(cmd_parms *cmd, void *dcv,
                                    const char *path, const char *flag)
{
    fcgix_dir_conf_t *dc = dcv;
    fcgix_dir_auth_t *a = &dc->auth[INFO_PHASE(cmd->info)];

    a->vars = INFO_VARS(cmd->info);
    if (flag) {
        if (!INFO_COMPAT(cmd->info) || strcasecmp(flag, "-compat")) {
            return apr_psprintf(cmd->pool, "%s: unknown option '%s'",
                                cmd->cmd->name, flag);
        }
        /* mod_fastcgi's -compat: only Variable-* fields, as the spec. */
        a->vars = FCGIX_AUTH_VARS;
    }
    /* Matched like a request filename against the server table. */
    a->path = path;
    return NULL;
}

const char *fcgix_conf_set_auth_authoritative(cmd_parms *cmd, void *dcv,
                                              int on)
{
    fcgix_dir_conf_t *dc = dcv;

    dc->auth[INFO_PHASE(cmd->info)].authoritative = on;
    return NULL;
}
