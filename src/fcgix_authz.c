/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <strings.h>

#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_provider.h"
#include "mod_auth.h"

#include "fcgix.h"
#include "fcgix_authz.h"
#include "fcgix_bridge.h"
#include "fcgix_response.h"
#include "fcgix_upstream.h"

static const char *const apache_roles[FCGIX_AUTH_PHASES] = {
    "AUTHENTICATOR", "AUTHORIZER", "ACCESS_CHECKER"
};

/* ------------------------------------------------------------------ */
/* Running the application                                             */
/* ------------------------------------------------------------------ */

/*
 * Runs the authorizer for one role. A failure to get an answer is a
 * server error for the protected request: 504 when the application timed
 * out, 503 when it cannot be reached, 500 for a crash or a bad reply.
 */
static int ask(request_rec *r, const char *path, int phase,
               const char *password, const char *require,
               fcgix_auth_reply_t *rep)
{
    apr_table_t *extra = apr_table_make(r->pool, 4);
    fcgix_role_t role;
    fcgix_upstream_t *up;
    int status;

    apr_table_setn(extra, "FCGI_ROLE", "AUTHORIZER");
    /* PHP and other script runners execute SCRIPT_FILENAME: it must name
     * the authorizer; the protected file stays visible to it. */
    apr_table_setn(extra, "SCRIPT_FILENAME", path);
    if (r->filename) {
        apr_table_setn(extra, "FCGIX_AUTH_FILENAME", r->filename);
    }
    apr_table_setn(extra, "FCGI_APACHE_ROLE", apache_roles[phase]);
    if (r->user) {
        apr_table_setn(extra, "REMOTE_USER", r->user);
    }
    if (password) {
        apr_table_setn(extra, "REMOTE_PASSWD", password);
    }
    if (require) {
        apr_table_setn(extra, "FCGIX_REQUIRE", require);
    }
    memset(&role, 0, sizeof(role));
    role.extra = extra;
    role.reply = rep;
    if ((status = fcgix_upstream_resolve(r, path, &up)) == OK) {
        status = fcgix_bridge_run(r, up, &role);
    }
    if (status == HTTP_BAD_GATEWAY) {
        status = HTTP_INTERNAL_SERVER_ERROR;
    }
    return status;
}

/* A 200 feeds the responder's environment; never the client. */
static void take_variables(request_rec *r, const fcgix_auth_reply_t *rep,
                           int vars)
{
    const apr_array_header_t *arr = apr_table_elts(rep->headers);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        const char *k = e[i].key;

        if (!strncasecmp(k, "Variable-", 9)) {
            k += 9;
            if (!*k) {
                continue;
            }
            if (!strcasecmp(k, "REMOTE_USER") && *e[i].val) {
                r->user = apr_pstrdup(r->pool, e[i].val);
            }
        }
        else if (vars != FCGIX_AUTH_ALL || !strcasecmp(k, "Status")
                 || fcgix_response_hop_by_hop(k)) {
            continue;
        }
        apr_table_set(r->subprocess_env, k, e[i].val);
    }
}

/*
 * A denial goes to the client as the authorizer wrote it: its status,
 * headers (minus Variable-* and hop-by-hop fields) and body. We send it
 * here and return DONE, because an error page built by httpd would drop
 * the body and the Content-Type.
 */
static int send_denial(request_rec *r, int phase,
                       const fcgix_auth_reply_t *rep)
{
    const apr_array_header_t *arr = apr_table_elts(rep->headers);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    apr_bucket_brigade *bb = rep->body;
    int i;

    r->status = rep->status;
    r->status_line = NULL;
    apr_table_clear(r->headers_out);
    for (i = 0; i < arr->nelts; i++) {
        const char *k = e[i].key;
        if (!strcasecmp(k, "Status") || !strncasecmp(k, "Variable-", 9)
            || fcgix_response_hop_by_hop(k)
            || !strcasecmp(k, "Content-Length")) {
            continue;
        }
        if (!strcasecmp(k, "Content-Type")) {
            ap_set_content_type(r, apr_pstrdup(r->pool, e[i].val));
            continue;
        }
        apr_table_add(r->err_headers_out, k, e[i].val);
    }
    if (rep->status == HTTP_UNAUTHORIZED && phase == FCGIX_AUTHN
        && !apr_table_get(r->err_headers_out, "WWW-Authenticate")) {
        ap_note_auth_failure(r);
    }
    if (r->header_only) {
        apr_brigade_cleanup(bb);
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(
                                    r->connection->bucket_alloc));
    ap_pass_brigade(r->output_filters, bb);
    return DONE;
}

/* The hook body shared by the three phases. */
static int run_phase(request_rec *r, int phase)
{
    const fcgix_dir_conf_t *dc =
        ap_get_module_config(r->per_dir_config, &fcgix_module);
    const fcgix_dir_auth_t *a = &dc->auth[phase];
    const char *password = NULL;
    fcgix_auth_reply_t rep;
    int status;

    if (a->path == NULL) {
        return DECLINED;
    }
    if (phase == FCGIX_AUTHN) {
        status = ap_get_basic_auth_pw(r, &password);
        if (status != OK) {
            /* DECLINED: not Basic auth; 401: no credentials yet. */
            return status;
        }
    }
    status = ask(r, a->path, phase, password, NULL, &rep);
    if (status != OK) {
        return status;
    }
    if (rep.status == HTTP_OK) {
        take_variables(r, &rep, a->vars);
        return OK;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FCGIX_LOGNO(00131)
                  "authorizer %s denied %s (%d) for user %s", a->path,
                  apache_roles[phase], rep.status,
                  r->user ? r->user : "-");
    if (FCGIX_VALUE(a->authoritative, 1) == 0) {
        return DECLINED;
    }
    return send_denial(r, phase, &rep);
}

static int check_access(request_rec *r)
{
    return run_phase(r, FCGIX_ACCESS);
}

static int check_authn(request_rec *r)
{
    return run_phase(r, FCGIX_AUTHN);
}

static int check_authz(request_rec *r)
{
    return run_phase(r, FCGIX_AUTHZ);
}

/* ------------------------------------------------------------------ */
/* httpd 2.4 providers                                                 */
/* ------------------------------------------------------------------ */

static const char *provider_path(request_rec *r, const char *note)
{
    const char *name = apr_table_get(r->notes, note);
    const fcgix_srv_conf_t *sc;
    const char *path = NULL;

    if (name) {
        sc = ap_get_module_config(r->server->module_config, &fcgix_module);
        path = apr_table_get(sc->auth_providers, name);
        if (path == NULL && ap_server_conf) {
            sc = ap_get_module_config(ap_server_conf->module_config,
                                      &fcgix_module);
            path = apr_table_get(sc->auth_providers, name);
        }
    }
    if (path == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00132)
                      "FastCGI auth provider '%s' is not defined here",
                      name ? name : "?");
    }
    return path;
}

static authn_status authn_check_password(request_rec *r, const char *user,
                                         const char *password)
{
    const char *path = provider_path(r, AUTHN_PROVIDER_NAME_NOTE);
    fcgix_auth_reply_t rep;

    (void)user; /* mod_auth_basic has set r->user to it */
    if (path == NULL
        || ask(r, path, FCGIX_AUTHN, password, NULL, &rep) != OK) {
        return AUTH_GENERAL_ERROR;
    }
    if (rep.status == HTTP_OK) {
        take_variables(r, &rep, FCGIX_AUTH_VARS);
        return AUTH_GRANTED;
    }
    if (rep.status == HTTP_UNAUTHORIZED || rep.status == HTTP_FORBIDDEN) {
        return AUTH_DENIED;
    }
    if (rep.status == HTTP_NOT_FOUND) {
        return AUTH_USER_NOT_FOUND;
    }
    return AUTH_GENERAL_ERROR;
}

static const authn_provider authn_provider_fcgix = {
    authn_check_password,
    NULL
};

static authz_status authz_check(request_rec *r, const char *require_line,
                                const void *parsed)
{
    const char *path = provider_path(r, AUTHZ_PROVIDER_NAME_NOTE);
    fcgix_auth_reply_t rep;

    (void)parsed;
    if (path == NULL
        || ask(r, path, FCGIX_AUTHZ, NULL, require_line, &rep) != OK) {
        return AUTHZ_GENERAL_ERROR;
    }
    if (rep.status == HTTP_OK) {
        take_variables(r, &rep, FCGIX_AUTH_VARS);
        return AUTHZ_GRANTED;
    }
    /* Without a user yet, a 401 asks httpd to authenticate first and
     * then ask again. */
    if (rep.status == HTTP_UNAUTHORIZED && r->user == NULL) {
        return AUTHZ_DENIED_NO_USER;
    }
    if (rep.status == HTTP_UNAUTHORIZED || rep.status == HTTP_FORBIDDEN) {
        return AUTHZ_DENIED;
    }
    return AUTHZ_GENERAL_ERROR;
}

static const authz_provider authz_provider_fcgix = {
    authz_check,
    NULL
};

const char *fcgix_authz_define_provider(cmd_parms *cmd, void *dcv,
                                        const char *kind, const char *name,
                                        const char *path)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);

    (void)dcv;
    if (!strcasecmp(kind, "authn")) {
        ap_register_auth_provider(cmd->pool, AUTHN_PROVIDER_GROUP, name,
                                  AUTHN_PROVIDER_VERSION,
                                  &authn_provider_fcgix,
                                  AP_AUTH_INTERNAL_PER_CONF);
    }
    else if (!strcasecmp(kind, "authz")) {
        ap_register_auth_provider(cmd->pool, AUTHZ_PROVIDER_GROUP, name,
                                  AUTHZ_PROVIDER_VERSION,
                                  &authz_provider_fcgix,
                                  AP_AUTH_INTERNAL_PER_CONF);
    }
    else {
        return apr_psprintf(cmd->pool, "%s: first argument must be authn "
                            "or authz, not '%s'", cmd->cmd->name, kind);
    }
    apr_table_setn(sc->auth_providers, name, path);
    return NULL;
}

void fcgix_authz_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* FIRST: our phases decide before mod_auth_basic / mod_authz_core,
     * whatever the LoadModule order, and only where configured. */
    ap_hook_check_access(check_access, NULL, NULL, APR_HOOK_FIRST,
                         AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_authn(check_authn, NULL, NULL, APR_HOOK_FIRST,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_authz(check_authz, NULL, NULL, APR_HOOK_FIRST,
                        AP_AUTH_INTERNAL_PER_CONF);
}
