/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_file_io.h"
#include "apr_hash.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"

#include "fcgix.h"
#include "fcgix_conf.h"
#include "fcgix_php.h"

typedef struct php_ini_t {
    const char *name;
    const char *value; /**< what PHP is to read: flags "1"/"0" */
    int admin;
    const char *where; /**< "file:line" of the directive */
} php_ini_t;

struct fcgix_php_dir_t {
    apr_array_header_t *ini; /**< php_ini_t, in the order first set */
};

/* Set in post_config: mod_php then does what php_value says, and we
 * send nothing. Read-only while requests run. */
static int php_module_loaded;

static int mod_php_loaded(void)
{
    return ap_find_linked_module("mod_php.c") != NULL
           || ap_find_linked_module("mod_php7.c") != NULL
           || ap_find_linked_module("mod_php5.c") != NULL;
}

static int find_ini(const apr_array_header_t *ini, const char *name)
{
    int i;

    for (i = 0; i < ini->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(ini, i, php_ini_t).name, name)) {
            return i;
        }
    }
    return -1;
}

/* PHP's own setting names; anything else could not be written as one
 * line of PHP_VALUE (and no PHP setting is named so). */
static int good_name(const char *name)
{
    const char *p;

    if (!*name) {
        return 0;
    }
    for (p = name; *p; p++) {
        if (!apr_isalnum(*p) && *p != '.' && *p != '_' && *p != '-') {
            return 0;
        }
    }
    return 1;
}

static const char *flag_value(const char *arg)
{
    if (!strcasecmp(arg, "on") || !strcmp(arg, "1")
        || !strcasecmp(arg, "yes") || !strcasecmp(arg, "true")) {
        return "1";
    }
    if (!strcasecmp(arg, "off") || !strcmp(arg, "0")
        || !strcasecmp(arg, "no") || !strcasecmp(arg, "false")) {
        return "0";
    }
    return NULL;
}

const char *fcgix_php_cmd(cmd_parms *cmd, void *dconf, const char *name,
                          const char *value)
{
    fcgix_dir_conf_t *dc = dconf;
    int bits = (int)(apr_uintptr_t)cmd->info;
    php_ini_t e;
    int i;

    if (mod_php_loaded()) {
        return NULL;
    }
    if (!good_name(name)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a PHP setting name "
                            "(letters, digits, '.', '_' and '-')",
                            cmd->cmd->name, name);
    }
    if (strpbrk(value, "\r\n")) {
        return apr_psprintf(cmd->pool, "%s %s: a value cannot span lines",
                            cmd->cmd->name, name);
    }
    if (bits & FCGIX_PHP_FLAG) {
        e.value = flag_value(value);
        if (!e.value) {
            return apr_psprintf(cmd->pool, "%s %s: '%s' is not On or Off",
                                cmd->cmd->name, name, value);
        }
    }
    else {
        /* mod_php's spelling of the empty value */
        e.value = strcasecmp(value, "none") ? apr_pstrdup(cmd->pool, value)
                                            : "";
    }
    e.name = apr_pstrdup(cmd->pool, name);
    e.admin = (bits & FCGIX_PHP_ADMIN) != 0;
    e.where = cmd->directive
              ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                             cmd->directive->line_num)
              : cmd->cmd->name;
    if (!dc->php) {
        dc->php = apr_pcalloc(cmd->pool, sizeof(*dc->php));
        dc->php->ini = apr_array_make(cmd->pool, 4, sizeof(php_ini_t));
    }
    /* Within one context the last line wins, whatever its kind. */
    if ((i = find_ini(dc->php->ini, e.name)) >= 0) {
        APR_ARRAY_IDX(dc->php->ini, i, php_ini_t) = e;
    }
    else {
        APR_ARRAY_PUSH(dc->php->ini, php_ini_t) = e;
    }
    return NULL;
}

fcgix_php_dir_t *fcgix_php_merge(apr_pool_t *p, const fcgix_php_dir_t *base,
                                 const fcgix_php_dir_t *add)
{
    fcgix_php_dir_t *conf;
    int i;

    if (!add || !base) {
        return (fcgix_php_dir_t *)(add ? add : base);
    }
    conf = apr_palloc(p, sizeof(*conf));
    conf->ini = apr_array_copy(p, base->ini);
    for (i = 0; i < add->ini->nelts; i++) {
        const php_ini_t *e = &APR_ARRAY_IDX(add->ini, i, php_ini_t);
        int at = find_ini(conf->ini, e->name);
        if (at < 0) {
            APR_ARRAY_PUSH(conf->ini, php_ini_t) = *e;
        }
        else if (e->admin >= APR_ARRAY_IDX(conf->ini, at, php_ini_t).admin) {
            APR_ARRAY_IDX(conf->ini, at, php_ini_t) = *e;
        }
    }
    return conf;
}

/* One INI line: name="value" with \, " and $ escaped, which php-fpm's INI
 * parser reads back as the literal value (unquoted, "Off" would become
 * "", "a;b" would end at ';' and "${X}" would be expanded). */
static char *ini_line(apr_pool_t *p, const php_ini_t *e)
{
    apr_size_t n = strlen(e->name) + 4, i;
    const char *v;
    char *out, *o;

    for (v = e->value; *v; v++) {
        n += (*v == '\\' || *v == '"' || *v == '$') ? 2 : 1;
    }
    o = out = apr_palloc(p, n + 1);
    i = strlen(e->name);
    memcpy(o, e->name, i);
    o += i;
    *o++ = '=';
    *o++ = '"';
    for (v = e->value; *v; v++) {
        if (*v == '\\' || *v == '"' || *v == '$') {
            *o++ = '\\';
        }
        *o++ = *v;
    }
    *o++ = '"';
    *o++ = '\n';
    *o = '\0';
    return out;
}

static void put_param(apr_pool_t *p, apr_table_t *vars, const char *key,
                      const char *lines)
{
    const char *old;

    if (!lines) {
        return;
    }
    old = apr_table_get(vars, key);
    apr_table_setn(vars, key, old && *old ? apr_pstrcat(p, old, "\n", lines,
                                                        NULL)
                                          : lines);
}

void fcgix_php_env(request_rec *r, const fcgix_php_dir_t *php,
                   apr_table_t *vars)
{
    const char *user = NULL, *admin = NULL;
    int i;

    if (!php || php_module_loaded) {
        return;
    }
    for (i = 0; i < php->ini->nelts; i++) {
        const php_ini_t *e = &APR_ARRAY_IDX(php->ini, i, php_ini_t);
        const char **to = e->admin ? &admin : &user;
        const char *line = ini_line(r->pool, e);
        *to = *to ? apr_pstrcat(r->pool, *to, line, NULL) : line;
    }
    put_param(r->pool, vars, "PHP_VALUE", user);
    put_param(r->pool, vars, "PHP_ADMIN_VALUE", admin);
}

/* ------------------------------------------------------------------ */
/* At startup: settings that reach php-cgi, which ignores them.         */

/* php-cgi, php-cgi8.2, php5-cgi, php8.2-cgi ... */
static int names_php_cgi(const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i + 3 <= len; i++) {
        apr_size_t j = i + 3;
        if (strncmp(s + i, "php", 3)) {
            continue;
        }
        while (j < len && (apr_isdigit(s[j]) || s[j] == '.')) {
            j++;
        }
        if (j + 4 <= len && !strncmp(s + j, "-cgi", 4)) {
            return 1;
        }
    }
    return 0;
}

/* The wrapper's program, or the program its #! script runs (the usual
 * "php-fcgi-starter": a shell script that execs php-cgi). */
static int runs_php_cgi(apr_pool_t *p, const char *cmd)
{
    const char *end = cmd + strcspn(cmd, " \t");
    const char *prog = apr_pstrmemdup(p, cmd, end - cmd);
    char buf[4096];
    apr_size_t n = sizeof(buf);
    apr_file_t *f;
    int yes;

    if (names_php_cgi(prog, strlen(prog))) {
        return 1;
    }
    if (apr_file_open(&f, prog, APR_FOPEN_READ, 0, p) != APR_SUCCESS) {
        return 0;
    }
    yes = apr_file_read(f, buf, &n) == APR_SUCCESS && n > 2
          && buf[0] == '#' && buf[1] == '!' && names_php_cgi(buf, n);
    apr_file_close(f);
    return yes;
}

typedef struct php_scan_t {
    apr_pool_t *p;
    const char *where;   /**< the first php setting that reaches php-cgi */
    const char *wrapper; /**< and the wrapper it reaches it through */
    apr_hash_t *lines;   /**< "file:line" of every such setting */
} php_scan_t;

typedef struct php_ctx_t {
    const char *path;  /**< section path; "" for the server's defaults */
    int url;           /**< a <Location> rather than a file system path */
    const fcgix_dir_conf_t *dc;
} php_ctx_t;

static const char *php_cgi_wrapper(apr_pool_t *p, const fcgix_dir_conf_t *dc)
{
    int i;

    for (i = 0; dc->wrappers && i < dc->wrappers->nelts; i++) {
        const fcgix_wrapper_t *w = &APR_ARRAY_IDX(dc->wrappers, i,
                                                  fcgix_wrapper_t);
        if (runs_php_cgi(p, w->cmd)) {
            return w->cmd;
        }
    }
    return NULL;
}

/* Whether one context applies within the other: the server's defaults
 * apply everywhere, sections of one kind when one path contains the
 * other. */
static int meet(const php_ctx_t *a, const php_ctx_t *b)
{
    apr_size_t la, lb;

    if (!*a->path || !*b->path) {
        return 1;
    }
    if (a->url != b->url) {
        return 0;
    }
    la = strlen(a->path);
    lb = strlen(b->path);
    return !strncmp(a->path, b->path, la < lb ? la : lb);
}

static void scan_ctxs(php_scan_t *sc, const apr_array_header_t *ctxs)
{
    int i, j;

    for (i = 0; i < ctxs->nelts; i++) {
        const php_ctx_t *a = &APR_ARRAY_IDX(ctxs, i, php_ctx_t);
        int hit = 0;
        if (!a->dc->php || !a->dc->php->ini->nelts) {
            continue;
        }
        for (j = 0; j < ctxs->nelts && !hit; j++) {
            const php_ctx_t *b = &APR_ARRAY_IDX(ctxs, j, php_ctx_t);
            const char *w;
            if (meet(a, b) && (w = php_cgi_wrapper(sc->p, b->dc)) != NULL) {
                hit = 1;
                if (!sc->where) {
                    sc->where = APR_ARRAY_IDX(a->dc->php->ini, 0,
                                              php_ini_t).where;
                    sc->wrapper = w;
                }
            }
        }
        /* Virtual hosts inherit the main server's sections: count each
         * line once. */
        for (j = 0; hit && j < a->dc->php->ini->nelts; j++) {
            const char *where = APR_ARRAY_IDX(a->dc->php->ini, j,
                                              php_ini_t).where;
            apr_hash_set(sc->lines, where, APR_HASH_KEY_STRING, where);
        }
    }
}

static void add_ctx(apr_array_header_t *ctxs, ap_conf_vector_t *sec,
                    const char *path, int url)
{
    const fcgix_dir_conf_t *dc = ap_get_module_config(sec, &fcgix_module);
    php_ctx_t *c;

    if (!dc) {
        return; /* a section read before LoadModule fcgix_module */
    }
    c = apr_array_push(ctxs);
    c->path = path ? path : "";
    c->url = url;
    c->dc = dc;
}

static void add_files(apr_array_header_t *ctxs, ap_conf_vector_t *sec,
                      const char *path)
{
    const core_dir_config *cd = ap_get_core_module_config(sec);
    int i;

    for (i = 0; cd && cd->sec_file && i < cd->sec_file->nelts; i++) {
        add_ctx(ctxs, APR_ARRAY_IDX(cd->sec_file, i, ap_conf_vector_t *),
                path, 0);
    }
}

static void scan_server(php_scan_t *sc, server_rec *s)
{
    core_server_config *sconf = ap_get_core_module_config(s->module_config);
    apr_array_header_t *ctxs = apr_array_make(sc->p, 8, sizeof(php_ctx_t));
    int i;

    add_ctx(ctxs, s->lookup_defaults, "", 0);
    add_files(ctxs, s->lookup_defaults, "");
    for (i = 0; i < sconf->sec_dir->nelts; i++) {
        ap_conf_vector_t *sec = APR_ARRAY_IDX(sconf->sec_dir, i,
                                              ap_conf_vector_t *);
        const core_dir_config *cd = ap_get_core_module_config(sec);
        add_ctx(ctxs, sec, cd->d, 0);
        add_files(ctxs, sec, cd->d);
    }
    for (i = 0; i < sconf->sec_url->nelts; i++) {
        ap_conf_vector_t *sec = APR_ARRAY_IDX(sconf->sec_url, i,
                                              ap_conf_vector_t *);
        const core_dir_config *cd = ap_get_core_module_config(sec);
        add_ctx(ctxs, sec, cd->d, 1);
    }
    scan_ctxs(sc, ctxs);
}

/*
 * php-cgi reads neither PHP_VALUE nor PHP_ADMIN_VALUE (tested with PHP
 * 8.2): a site moved off mod_php onto php-cgi would silently lose its
 * settings. Said once per start and restart. Only what the configuration
 * shows can be told: a wrapper that is php-cgi or a script running it;
 * a #! script, .htaccess and external servers are not known here.
 */
static int php_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    php_scan_t sc;
    server_rec *vs;

    (void)pconf;
    (void)plog;
    php_module_loaded = mod_php_loaded();
    if (php_module_loaded
        || ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_CONFIG) {
        return OK;
    }
    memset(&sc, 0, sizeof(sc));
    sc.p = ptemp;
    sc.lines = apr_hash_make(ptemp);
    for (vs = s; vs; vs = vs->next) {
        scan_server(&sc, vs);
    }
    if (sc.where) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FCGIX_LOGNO(00530)
                     "php_value/php_flag/php_admin_* at %s%s reach php-cgi "
                     "(wrapper %s), which ignores PHP_VALUE and "
                     "PHP_ADMIN_VALUE: they have no effect there (php-fpm "
                     "applies them; for php-cgi use its -d options or "
                     "a .user.ini)", sc.where,
                     apr_hash_count(sc.lines) > 1
                         ? apr_psprintf(ptemp, " and %u more lines",
                                        apr_hash_count(sc.lines) - 1)
                         : "",
                     sc.wrapper);
    }
    return OK;
}

void fcgix_php_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(php_post_config, NULL, NULL, APR_HOOK_MIDDLE);
}
