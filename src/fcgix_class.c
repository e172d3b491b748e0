/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/resource.h>

#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_user.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_request.h"
#include "mpm_common.h"
#include "unixd.h"

#include "fcgix.h"
#include "fcgix_class.h"
#include "fcgix_sb.h"

/* Environments built in the configuration fit in a spawn message. */
typedef char fcgix_class_env_fits[
    sizeof(((fcgix_pm_msg_t *)0)->env) >= FCGIX_CONF_ENV_MAX ? 1 : -1];

/* What post_config learnt of a FastCgiServer program. */
typedef struct {
    apr_uint64_t inode, dev;
    int suexec;             /* uid/gid apply, through suexec */
    apr_uint32_t uid, gid;
} static_id_t;

/* Indexed by server id; this generation's, in its configuration pool. */
static static_id_t *statics;
static int nstatics;

static apr_uint32_t fnv1a(apr_uint32_t h, const char *c)
{
    for (; *c; c++) {
        h = (h ^ (unsigned char)*c) * 16777619u;
    }
    return h;
}

/*
 * Its name, port and addresses, so that adding or removing another
 * virtual host (which renumbers them) changes nothing. Computed per
 * request: a virtual host without mod_fcgix directives shares the main
 * server's configuration record, so nothing per host can be kept there.
 */
apr_uint32_t fcgix_class_vhost_key(server_rec *vs)
{
    apr_uint32_t h = 2166136261u;
    const char *name = vs->server_hostname ? vs->server_hostname : "";
    server_addr_rec *a;
    char buf[256];

    apr_snprintf(buf, sizeof(buf), "%s:%u%s", name, (unsigned)vs->port,
                 vs->is_virtual ? "" : " (main)");
    h = fnv1a(h, buf);
    for (a = vs->addrs; a; a = a->next) {
        apr_snprintf(buf, sizeof(buf), " %s:%u",
                     a->virthost ? a->virthost : "*",
                     (unsigned)a->host_port);
        h = fnv1a(h, buf);
    }
    return h ? h : 1;
}

/* ------------------------------------------------------------------ */
/* FastCgiServer programs                                              */
/* ------------------------------------------------------------------ */

/* A user or group given as "#id" (as httpd's User takes it). */
static int numeric_id(const char *name, apr_uint32_t *id)
{
    if (name[0] == '#' && apr_isdigit(name[1])) {
        *id = (apr_uint32_t)atol(name + 1);
        return 1;
    }
    return 0;
}

/* The uid of -user, and -group's gid or else the user's own group. */
static int run_ids(const fcgix_server_t *srv, static_id_t *id, apr_pool_t *p)
{
    apr_uid_t uid;
    apr_gid_t gid = 0;
    int user_gid = 0;

    if (!numeric_id(srv->run_user, &id->uid)) {
        if (apr_uid_get(&uid, &gid, srv->run_user, p) != APR_SUCCESS) {
            return !OK;
        }
        id->uid = (apr_uint32_t)uid;
        user_gid = 1;
    }
    if (srv->run_group) {
        if (numeric_id(srv->run_group, &id->gid)) {
            return OK;
        }
        if (apr_gid_get(&gid, srv->run_group, p) != APR_SUCCESS) {
            return !OK;
        }
        id->gid = (apr_uint32_t)gid;
        return OK;
    }
    if (!user_gid) {
        return !OK; /* no name to find a group by: -group is needed */
    }
    id->gid = (apr_uint32_t)gid;
    return OK;
}

/*
 * FastCgiServer -user/-group: as in mod_fastcgi, they name the identity
 * only with FastCgiWrapper On, and then the application runs through
 * httpd's suexec as that user (suexec's own checks apply: the program
 * below its docroot, owned by that user). Otherwise they are ignored.
 */
static int static_identity(server_rec *s, const fcgix_srv_conf_t *vc,
                           const fcgix_server_t *srv, static_id_t *id,
                           apr_pool_t *p)
{
    const fcgix_srv_conf_t *mc =
        ap_get_module_config(s->module_config, &fcgix_module);

    id->suexec = 0;
    if (!srv->run_user || !(mc->fastcgi_wrapper || vc->fastcgi_wrapper)) {
        return OK;
    }
    if (!ap_unixd_config.suexec_enabled) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FCGIX_LOGNO(00187)
                     "%s %s: -user %s needs httpd's suexec, which is not "
                     "enabled; the application runs as User/Group",
                     srv->directive, srv->path, srv->run_user);
        return OK;
    }
    if (run_ids(srv, id, p) != OK) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, FCGIX_LOGNO(00189)
                     "%s %s: unknown -user %s or -group %s",
                     srv->directive, srv->path, srv->run_user,
                     srv->run_group ? srv->run_group : "-");
        return !OK;
    }
    if (id->uid == 0 || id->gid == 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, FCGIX_LOGNO(00188)
                     "%s %s: refusing to run an application as root "
                     "(-user %s, -group %s)", srv->directive, srv->path,
                     srv->run_user, srv->run_group ? srv->run_group : "-");
        return !OK;
    }
    id->suexec = 1;
    return OK;
}

/* A FastCgiServer program: an executable file, and who runs it. */
static int static_check(server_rec *s, const fcgix_srv_conf_t *vc,
                        const fcgix_server_t *srv, apr_pool_t *p)
{
    static_id_t *id = &statics[srv->id];
    struct stat sb;

    if (stat(srv->path, &sb) < 0 || !S_ISREG(sb.st_mode)
        || !(sb.st_mode & 0111)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), s,
                     FCGIX_LOGNO(00174) "%s %s: not an executable file",
                     srv->directive, srv->path);
        return !OK;
    }
    id->inode = (apr_uint64_t)sb.st_ino;
    id->dev = (apr_uint64_t)sb.st_dev;
    return static_identity(s, vc, srv, id, p);
}

typedef struct {
    server_rec *s; /* the main server, which startup errors name */
    apr_pool_t *p;
} check_ctx_t;

static int check_one(server_rec *vs, const fcgix_srv_conf_t *vc,
                     const fcgix_server_t *srv, void *baton)
{
    check_ctx_t *ctx = baton;

    (void)vs;
    if (srv->managed && static_check(ctx->s, vc, srv, ctx->p) != OK) {
        return !OK;
    }
    return OK;
}

int fcgix_class_post_config(apr_pool_t *pconf, server_rec *s)
{
    check_ctx_t ctx;

    nstatics = fcgix_conf_server_count();
    statics = apr_pcalloc(pconf, sizeof(*statics) * (nstatics + 1));
    ctx.s = s;
    ctx.p = pconf;
    return fcgix_conf_each_server(s, check_one, &ctx);
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

/* No class asks for more processes than the scoreboard has slots (any
 * number mod_fcgid accepts is accepted), then the key: the PM computes
 * it from the same bytes. */
static void msg_seal(fcgix_pm_msg_t *m)
{
    if (m->lim.max_procs > fcgix_sb_slots()) {
        m->lim.max_procs = fcgix_sb_slots();
    }
    if (m->lim.min_procs > m->lim.max_procs) {
        m->lim.min_procs = m->lim.max_procs;
    }
    m->key = fcgix_pm_msg_key(m);
}

/* A SPAWN message for httpd's User, nothing else said yet. */
static void msg_init(fcgix_pm_msg_t *m, apr_uint32_t vhost)
{
    memset(m, 0, sizeof(*m));
    m->type = FCGIX_PM_MSG_SPAWN;
    m->vhost = vhost;
    m->uid = (apr_uint32_t)ap_unixd_config.user_id;
    m->gid = (apr_uint32_t)ap_unixd_config.group_id;
}

/* -1: leave the limit as the process manager has it. */
static void no_rlimits(fcgix_sb_limits_t *l)
{
    int i;

    for (i = 0; i < 3; i++) {
        l->rlim[i][0] = l->rlim[i][1] = -1;
    }
}

/* The class of a static application (FastCgiServer): one for every
 * virtual host, as in mod_fastcgi. */
void fcgix_class_static_msg(const fcgix_server_t *srv, fcgix_pm_msg_t *m)
{
    const static_id_t *id = srv->id < nstatics ? &statics[srv->id] : NULL;

    msg_init(m, 0);
    if (id) {
        m->inode = id->inode;
        m->dev = id->dev;
    }
    if (id && id->suexec) {
        m->uid = id->uid;
        m->gid = id->gid;
        m->lim.flags |= FCGIX_SPAWN_SUEXEC;
    }
    m->lim.min_procs = m->lim.max_procs = (apr_uint32_t)srv->processes;
    m->lim.prespawn = 1;
    m->lim.restart_delay = (apr_uint32_t)srv->restart_delay;
    m->lim.priority = srv->priority;
    no_rlimits(&m->lim);
    apr_cpystrn(m->path, srv->path, sizeof(m->path));
    memcpy(m->env, srv->env, sizeof(m->env));
    msg_seal(m);
}

static void class_limits(const fcgix_srv_conf_t *sc, fcgix_sb_limits_t *l)
{
    l->max_procs = (apr_uint32_t)FCGIX_VALUE(sc->max_class_procs,
                                             FCGIX_DEFAULT_MAX_CLASS_PROCS);
    l->min_procs = (apr_uint32_t)FCGIX_VALUE(sc->min_class_procs,
                                             FCGIX_DEFAULT_MIN_CLASS_PROCS);
    l->idle_timeout = (apr_uint32_t)FCGIX_VALUE(sc->idle_timeout,
                                                FCGIX_DEFAULT_IDLE_TIMEOUT);
    l->lifetime = (apr_uint32_t)FCGIX_VALUE(sc->lifetime,
                                            FCGIX_DEFAULT_LIFETIME);
    l->max_requests = (apr_uint32_t)FCGIX_VALUE(sc->max_requests, 0);
    l->busy_timeout = (apr_uint32_t)FCGIX_VALUE(sc->busy_timeout,
                                                FCGIX_DEFAULT_BUSY_TIMEOUT);
    l->max_user_procs = (apr_uint32_t)FCGIX_VALUE(sc->max_user_procs, 0);
    l->kill_interval = (apr_uint32_t)FCGIX_VALUE(sc->kill_interval, 0);
    /* mod_fastcgi's defaults */
    l->single_threshold = (apr_uint32_t)FCGIX_VALUE(sc->single_threshold, 0);
    l->multi_threshold = (apr_uint32_t)FCGIX_VALUE(sc->multi_threshold, 50);
    if (l->max_procs == 0) {
        l->max_procs = 1;
    }
    if (l->min_procs > l->max_procs) {
        l->min_procs = l->max_procs;
    }
}

/* FcgixInitialEnv of a virtual host (the global ones are the PM's). */
static void vhost_env(const fcgix_srv_conf_t *sc, fcgix_pm_msg_t *m)
{
    apr_size_t off = 0;
    int i;

    for (i = 0; i < sc->initial_env->nelts; i++) {
        const char *e = APR_ARRAY_IDX(sc->initial_env, i, const char *);
        apr_size_t n = strlen(e) + 1;
        if (off + n + 1 > sizeof(m->env)) {
            break;
        }
        memcpy(m->env + off, e, n);
        off += n;
    }
    m->env[off] = '\0';
}

const fcgix_cmd_options_t *fcgix_class_cmd_options(
    const fcgix_srv_conf_t *sc, const char *cmd)
{
    return apr_hash_get(sc->cmd_options, cmd, APR_HASH_KEY_STRING);
}

/* FcgidCmdOptions for this command override the server's settings. */
static void apply_cmd_options(const fcgix_srv_conf_t *sc, fcgix_pm_msg_t *m,
                              const char *cmd)
{
    const fcgix_cmd_options_t *o = fcgix_class_cmd_options(sc, cmd);

    if (o == NULL) {
        return;
    }
    if (o->max_procs != FCGIX_UNSET) {
        m->lim.max_procs = (apr_uint32_t)(o->max_procs ? o->max_procs : 1);
    }
    if (o->min_procs != FCGIX_UNSET) {
        m->lim.min_procs = (apr_uint32_t)o->min_procs;
    }
    if (o->idle_timeout != FCGIX_UNSET) {
        m->lim.idle_timeout = (apr_uint32_t)o->idle_timeout;
    }
    if (o->lifetime != FCGIX_UNSET) {
        m->lim.lifetime = (apr_uint32_t)o->lifetime;
    }
    if (o->max_requests != FCGIX_UNSET) {
        m->lim.max_requests = (apr_uint32_t)o->max_requests;
    }
    if (o->workers != FCGIX_UNSET) {
        m->lim.workers = (apr_uint32_t)o->workers;
    }
    if (o->env_len) {
        memcpy(m->env, o->env, sizeof(m->env));
    }
}

static const fcgix_wrapper_t *find_wrapper(request_rec *r)
{
    const fcgix_dir_conf_t *dc =
        ap_get_module_config(r->per_dir_config, &fcgix_module);
    const fcgix_wrapper_t *any = NULL;
    apr_size_t flen = r->filename ? strlen(r->filename) : 0;
    int i;

    if (dc->wrappers == NULL) {
        return NULL;
    }
    /* The most specific (a suffix) and the latest configured win. */
    for (i = dc->wrappers->nelts - 1; i >= 0; i--) {
        const fcgix_wrapper_t *w =
            &APR_ARRAY_IDX(dc->wrappers, i, fcgix_wrapper_t);
        if (w->suffix) {
            apr_size_t sl = strlen(w->suffix);
            if (flen >= sl && !strcasecmp(r->filename + flen - sl,
                                          w->suffix)) {
                return w;
            }
        }
        else if (any == NULL) {
            any = w;
        }
    }
    return any;
}

static void copy_rlimits(request_rec *r, fcgix_sb_limits_t *l)
{
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    struct rlimit *rl[3];
    int i;

    rl[0] = cd->limit_cpu;
    rl[1] = cd->limit_mem;
    rl[2] = cd->limit_nproc;
    for (i = 0; i < 3; i++) {
        l->rlim[i][0] = rl[i] ? (apr_int64_t)rl[i]->rlim_cur : -1;
        l->rlim[i][1] = rl[i] ? (apr_int64_t)rl[i]->rlim_max : -1;
    }
}

/* Whether the script may run at all, as mod_fcgid and mod_cgi decide. */
static int script_check(request_rec *r, const fcgix_wrapper_t *w)
{
    if (!(ap_allow_options(r) & OPT_EXECCGI)
        && !(r->notes && apr_table_get(r->notes, "alias-forced-type"))) {
        /* An executable alone does not make a program the server may
         * run. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00178)
                      "%s: Options ExecCGI is off in this directory",
                      r->filename);
        return HTTP_FORBIDDEN;
    }
    if (w && w->virtual_) {
        /* The wrapper decides what the URL means; no file is needed. */
    }
    else if (r->finfo.filetype == APR_NOFILE) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FCGIX_LOGNO(00176)
                      "script not found: %s", r->filename);
        return HTTP_NOT_FOUND;
    }
    else if (r->finfo.filetype != APR_REG
             || (!w && !(r->finfo.protection & (APR_UEXECUTE
                                                | APR_GEXECUTE
                                                | APR_WEXECUTE)))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00168)
                      "%s: not an executable file; cannot run it as a "
                      "FastCGI application", r->filename);
        return HTTP_FORBIDDEN;
    }
    return OK;
}

/* The tenant suexec names for this request, when it is not User. */
static void script_identity(request_rec *r, fcgix_pm_msg_t *m)
{
    ap_unix_identity_t *id;

    if (ap_unixd_config.suexec_enabled
        && (id = ap_run_get_suexec_identity(r)) != NULL
        && (id->uid != m->uid || id->gid != m->gid || id->userdir)) {
        m->uid = (apr_uint32_t)id->uid;
        m->gid = (apr_uint32_t)id->gid;
        m->lim.flags |= FCGIX_SPAWN_SUEXEC
                        | (id->userdir ? FCGIX_SPAWN_USERDIR : 0);
    }
}

int fcgix_class_script_msg(request_rec *r, fcgix_pm_msg_t *m)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &fcgix_module);
    const fcgix_wrapper_t *w = find_wrapper(r);
    const char *cmd;
    int status;

    if ((status = script_check(r, w)) != OK) {
        return status;
    }
    msg_init(m, fcgix_class_vhost_key(r->server));
    class_limits(sc, &m->lim);
    copy_rlimits(r, &m->lim);
    if (w) {
        /* One class per wrapper: php-cgi serves every script. */
        cmd = w->cmd;
        m->inode = w->inode;
        m->dev = w->dev;
        m->lim.flags |= FCGIX_SPAWN_CMDLINE;
    }
    else {
        cmd = r->filename;
        m->inode = (apr_uint64_t)r->finfo.inode;
        m->dev = (apr_uint64_t)r->finfo.device;
    }
    script_identity(r, m);
    vhost_env(sc, m);
    apply_cmd_options(sc, m, cmd);
    if (m->uid == 0 || m->gid == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00175)
                      "%s: refusing to run an application as root",
                      r->filename);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (strlen(cmd) >= sizeof(m->path)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00169)
                      "%s: path too long for an application", cmd);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_cpystrn(m->path, cmd, sizeof(m->path));
    msg_seal(m);
    return OK;
}

int fcgix_class_program_msg(request_rec *r, const char *path,
                            fcgix_pm_msg_t *m)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &fcgix_module);
    struct stat sb;

    if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || !(sb.st_mode & 0111)
        || strlen(path) >= sizeof(m->path)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00183)
                      "application %s (authorizer or filter): not an "
                      "executable file", path);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    msg_init(m, fcgix_class_vhost_key(r->server));
    m->inode = (apr_uint64_t)sb.st_ino;
    m->dev = (apr_uint64_t)sb.st_dev;
    class_limits(sc, &m->lim);
    no_rlimits(&m->lim);
    apply_cmd_options(sc, m, path);
    apr_cpystrn(m->path, path, sizeof(m->path));
    msg_seal(m);
    return OK;
}

/* ------------------------------------------------------------------ */
/* What the scoreboard says of a class                                 */
/* ------------------------------------------------------------------ */

/* 503 while the class is in start back-off: at once, not after the
 * wait, with Retry-After = what is left of it. */
int fcgix_class_backing_off(request_rec *r, fcgix_sb_class_t *c)
{
    apr_time_t left = c->next_spawn - apr_time_now();
    apr_int64_t secs = (left + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC;
    char why[FCGIX_SB_ERROR_MAX];

    memcpy(why, c->last_error, sizeof(why));
    why[sizeof(why) - 1] = '\0';
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00194)
                  "%s: the application could not start (%s); next try in "
                  "%" APR_INT64_T_FMT " s", c->path,
                  why[0] ? why : "no reason known", secs);
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                secs > 0 ? secs : 1));
    return HTTP_SERVICE_UNAVAILABLE;
}

/* In back-off with nothing running that could serve: waiting would only
 * hold a worker until the back-off or the wait ends. */
int fcgix_class_in_backoff(const fcgix_sb_class_t *c)
{
    return c->failures && c->nprocs == 0
           && c->next_spawn > apr_time_now();
}

apr_uint32_t fcgix_class_user_inflight(fcgix_sb_t *sb, apr_uint32_t uid)
{
    apr_uint32_t n = 0;
    int i;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        fcgix_sb_class_t *c = &sb->classes[i];
        if (c->state == 1 && c->uid == uid) {
            n += c->inflight;
        }
    }
    return n;
}
