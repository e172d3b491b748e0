/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/resource.h>
#include <signal.h>

#include "apr_atomic.h"
#include "apr_file_info.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "unixd.h"

#include "fcgix.h"
#include "fcgix_bridge.h"
#include "fcgix_conf.h"
#include "fcgix_pm.h"
#include "fcgix_sb.h"
#include "fcgix_spawn.h"

#define STATE_KEY "fcgix_spawn_state"
/* A request gives up on unreachable processes after this many. */
#define MAX_UNREACHABLE 3

/* Lives in the process pool: survives graceful restarts, like the PM. */
typedef struct {
    fcgix_sb_t *sb;
    apr_shm_t *shm;
    apr_proc_t pm;
    fcgix_pm_cfg_t cfg;
    apr_pool_t *pool;
    apr_pool_t *pconf;  /* this generation's; holds the registration */
    server_rec *server; /* this generation's main server */
    apr_uint32_t nslots; /* process slots of the scoreboard */
    int running;
} spawn_state_t;

static server_rec *log_server;
/* This httpd child's pid, set at child start (0 in the parent). */
static apr_int32_t my_pid;

static void pm_log(int level, int err, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    apr_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ap_log_error(APLOG_MARK, level, err ? APR_FROM_OS_ERROR(err) : 0,
                 log_server, "%s", buf);
}

/*
 * What names a virtual host for its classes: its name, port and
 * addresses, so that adding or removing another virtual host (which
 * renumbers them) changes nothing. 0 is for static classes. Computed per
 * request: a virtual host without mod_fcgix directives shares the main
 * server's configuration record, so nothing per host can be kept there.
 */
static apr_uint32_t vhost_key(server_rec *vs)
{
    apr_uint32_t h = 2166136261u;
    const char *name = vs->server_hostname ? vs->server_hostname : "";
    server_addr_rec *a;
    char buf[256];
    const char *c;

    apr_snprintf(buf, sizeof(buf), "%s:%u%s", name, (unsigned)vs->port,
                 vs->is_virtual ? "" : " (main)");
    for (c = buf; *c; c++) {
        h = (h ^ (unsigned char)*c) * 16777619u;
    }
    for (a = vs->addrs; a; a = a->next) {
        apr_snprintf(buf, sizeof(buf), " %s:%u",
                     a->virthost ? a->virthost : "*",
                     (unsigned)a->host_port);
        for (c = buf; *c; c++) {
            h = (h ^ (unsigned char)*c) * 16777619u;
        }
    }
    return h ? h : 1;
}

/*
 * In the PM: the parent opened its logs again (a graceful restart, as
 * logrotate sends): what the PM logs goes to the error log of the server
 * record it was forked with, and applications' stderr through its own
 * stderr; both now write to the new file.
 */
static void pm_relog(int fd)
{
    apr_os_file_t old;

    if (log_server && log_server->error_log
        && apr_os_file_get(&old, log_server->error_log) == APR_SUCCESS
        && old != fd && old != STDERR_FILENO) {
        dup2(fd, old);
    }
    if (fd != STDERR_FILENO) {
        dup2(fd, STDERR_FILENO);
    }
    pm_log(APLOG_INFO, 0, FCGIX_LOGNO(00196) "process manager (pid %d) "
           "now logs to the reopened error log", (int)getpid());
}

/* ------------------------------------------------------------------ */
/* Directives                                                          */
/* ------------------------------------------------------------------ */

const char *fcgix_spawn_vhost_name(apr_pool_t *p, apr_uint32_t key)
{
    server_rec *vs;

    if (key == 0) {
        return "(all)";
    }
    for (vs = ap_server_conf; vs; vs = vs->next) {
        if (vhost_key(vs) == key) {
            return apr_psprintf(p, "%s:%u", vs->server_hostname
                                            ? vs->server_hostname : "-",
                                (unsigned)vs->port);
        }
    }
    return apr_psprintf(p, "#%08x (gone)", (unsigned)key);
}

const char *fcgix_spawn_set_int(cmd_parms *cmd, void *dc, const char *arg)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);
    char *end;
    apr_int64_t v;

    (void)dc;
    v = apr_strtoi64(arg, &end, 10);
    if (end == arg || *end || v < 0 || v > 100000000) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a whole number "
                            ">= 0", cmd->cmd->name, arg);
    }
    if ((apr_size_t)cmd->info == APR_OFFSETOF(fcgix_srv_conf_t, max_procs)
        && (v < 1 || v > FCGIX_SB_PROCS_LIMIT)) {
        return apr_psprintf(cmd->pool, "%s must be 1 to %d", cmd->cmd->name,
                            FCGIX_SB_PROCS_LIMIT);
    }
    *(int *)((char *)sc + (apr_size_t)cmd->info) = (int)v;
    return NULL;
}

const char *fcgix_spawn_add_env(cmd_parms *cmd, void *dc, const char *name,
                                const char *value)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);

    (void)dc;
    if (!*name || strchr(name, '=')) {
        return apr_psprintf(cmd->pool, "%s: invalid variable name '%s'",
                            cmd->cmd->name, name);
    }
    APR_ARRAY_PUSH(sc->initial_env, const char *) =
        apr_pstrcat(cmd->pool, name, "=", value ? value : "", NULL);
    return NULL;
}

/*
 * A wrapper runs other people's scripts as a long-lived program, so it
 * must be trustworthy: an absolute, existing, executable file nobody but
 * its owner can change.
 */
const char *fcgix_spawn_set_wrapper(cmd_parms *cmd, void *dcv,
                                    const char *command, const char *a2,
                                    const char *a3)
{
    fcgix_dir_conf_t *dc = dcv;
    fcgix_wrapper_t *w;
    char **argv;
    struct stat st;
    const char *args[2];
    int i;

    if (apr_tokenize_to_argv(command, &argv, cmd->pool) != APR_SUCCESS
        || argv[0] == NULL || argv[0][0] != '/') {
        return apr_psprintf(cmd->pool, "%s: the command must start with an "
                            "absolute path: '%s'", cmd->cmd->name, command);
    }
    if (stat(argv[0], &st) < 0) {
        return apr_psprintf(cmd->pool, "%s: %s: %s", cmd->cmd->name, argv[0],
                            strerror(errno));
    }
    if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
        return apr_psprintf(cmd->pool, "%s: %s is not an executable file",
                            cmd->cmd->name, argv[0]);
    }
    if (st.st_mode & 022) {
        return apr_psprintf(cmd->pool, "%s: %s is writable by group or "
                            "others; refusing to run it", cmd->cmd->name,
                            argv[0]);
    }
    w = apr_pcalloc(cmd->pool, sizeof(*w));
    w->cmd = command;
    w->inode = (apr_uint64_t)st.st_ino;
    w->dev = (apr_uint64_t)st.st_dev;
    args[0] = a2;
    args[1] = a3;
    for (i = 0; i < 2 && args[i]; i++) {
        if (!strcasecmp(args[i], "virtual")) {
            w->virtual_ = 1;
        }
        else if (args[i][0] == '.' && args[i][1] && !w->suffix) {
            w->suffix = args[i];
        }
        else {
            return apr_psprintf(cmd->pool, "%s: '%s' is neither a suffix "
                                "(.php) nor 'virtual'", cmd->cmd->name,
                                args[i]);
        }
    }
    if (dc->wrappers == NULL) {
        dc->wrappers = apr_array_make(cmd->pool, 2, sizeof(*w));
    }
    APR_ARRAY_PUSH(dc->wrappers, fcgix_wrapper_t) = *w;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Starting the process manager                                        */
/* ------------------------------------------------------------------ */

static void pm_maintenance(int reason, void *data, apr_wait_t status);
static void tell_config(spawn_state_t *st);
static void send_patiently(spawn_state_t *st, const fcgix_pm_msg_t *m);

/*
 * The registration lives in the configuration pool: httpd may load this
 * module at another address after a graceful restart, and a callback
 * kept from the previous generation would point nowhere. post_config
 * registers it again each generation.
 */
static apr_status_t pm_launch(spawn_state_t *st)
{
    apr_status_t rv = fcgix_pm_start(&st->cfg, st->pool, &st->pm);

    if (rv == APR_SUCCESS) {
        st->running = 1;
        apr_proc_other_child_register(&st->pm, pm_maintenance, st, NULL,
                                      st->pconf);
    }
    return rv;
}

/* The parent learns of the PM's death here and starts another. The dead
 * PM's applications are in its process group: nobody could manage them
 * any more, so they end with it (the group's id cannot have been reused
 * while a member lives). A graceful restart keeps the PM. */
static void pm_maintenance(int reason, void *data, apr_wait_t status)
{
    spawn_state_t *st = data;

    (void)status;
    switch (reason) {
    case APR_OC_REASON_DEATH:
    case APR_OC_REASON_LOST:
        apr_proc_other_child_unregister(st);
        st->running = 0;
        if (st->pm.pid > 1) {
            kill(-st->pm.pid, SIGKILL);
        }
        if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_EXITING) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, log_server,
                         FCGIX_LOGNO(00161) "process manager (pid %d) "
                         "ended; starting a new one", (int)st->pm.pid);
            if (pm_launch(st) == APR_SUCCESS) {
                /* It knows nothing of the configuration but this. */
                tell_config(st);
            }
        }
        break;
    default:
        break;
    }
}

static const char *const *build_env(apr_pool_t *p,
                                    const apr_array_header_t *extra)
{
    apr_array_header_t *env = apr_array_make(p, extra->nelts + 2,
                                             sizeof(char *));
    int i, has_path = 0;

    for (i = 0; i < extra->nelts; i++) {
        const char *e = APR_ARRAY_IDX(extra, i, const char *);
        has_path |= !strncmp(e, "PATH=", 5);
        APR_ARRAY_PUSH(env, const char *) = e;
    }
    /* A clean environment: nothing of httpd's leaks into applications. */
    if (!has_path) {
        APR_ARRAY_PUSH(env, const char *) =
            "PATH=/usr/local/bin:/usr/bin:/bin";
    }
    APR_ARRAY_PUSH(env, const char *) = NULL;
    return (const char *const *)env->elts;
}

static void static_msg(const fcgix_server_t *srv, spawn_state_t *st,
                       fcgix_pm_msg_t *m);
static void no_rlimits(fcgix_sb_limits_t *l);

/* A user (@p group 0) or group name, or "#id" (as httpd's User takes). */
static int name_to_id(const char *name, int group, apr_uint32_t *id)
{
    if (name[0] == '#' && apr_isdigit(name[1])) {
        *id = (apr_uint32_t)atol(name + 1);
        return OK;
    }
    if (group) {
        struct group *gr = getgrnam(name);
        if (gr) {
            *id = (apr_uint32_t)gr->gr_gid;
            return OK;
        }
    }
    else {
        struct passwd *pw = getpwnam(name);
        if (pw) {
            *id = (apr_uint32_t)pw->pw_uid;
            return OK;
        }
    }
    return !OK;
}

/* The uid of -user, and -group's gid or else the user's own group. */
static int run_ids(fcgix_server_t *srv)
{
    struct passwd *pw;

    if (name_to_id(srv->run_user, 0, &srv->run_uid) != OK) {
        return !OK;
    }
    if (srv->run_group) {
        return name_to_id(srv->run_group, 1, &srv->run_gid);
    }
    if (srv->run_user[0] == '#') {
        return !OK; /* no name to find a group by: -group is needed */
    }
    pw = getpwnam(srv->run_user);
    srv->run_gid = (apr_uint32_t)pw->pw_gid;
    return OK;
}

/*
 * FastCgiServer -user/-group: as in mod_fastcgi, they name the identity
 * only with FastCgiWrapper On, and then the application runs through
 * httpd's suexec as that user (suexec's own checks apply: the program
 * below its docroot, owned by that user). Otherwise they are ignored.
 */
static int static_identity(server_rec *s, const fcgix_srv_conf_t *vc,
                           fcgix_server_t *srv)
{
    const fcgix_srv_conf_t *mc =
        ap_get_module_config(s->module_config, &fcgix_module);

    srv->run_suexec = 0;
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
    if (run_ids(srv) != OK) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, FCGIX_LOGNO(00189)
                     "%s %s: unknown -user %s or -group %s",
                     srv->directive, srv->path, srv->run_user,
                     srv->run_group ? srv->run_group : "-");
        return !OK;
    }
    if (srv->run_uid == 0 || srv->run_gid == 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, FCGIX_LOGNO(00188)
                     "%s %s: refusing to run an application as root "
                     "(-user %s, -group %s)", srv->directive, srv->path,
                     srv->run_user, srv->run_group ? srv->run_group : "-");
        return !OK;
    }
    srv->run_suexec = 1;
    return OK;
}

/* Every address of every external server gets its scoreboard slot, so
 * that the status page shows all children's sums. */
static void register_backends(server_rec *s, spawn_state_t *st,
                              apr_pool_t *pconf)
{
    server_rec *vs;
    int full = 0;

    for (vs = s; vs; vs = vs->next) {
        fcgix_srv_conf_t *vc =
            ap_get_module_config(vs->module_config, &fcgix_module);
        int i, k;
        for (i = 0; i < vc->servers->nelts; i++) {
            fcgix_server_t *srv = APR_ARRAY_IDX(vc->servers, i,
                                                fcgix_server_t *);
            if (srv->managed || srv->sb_backends) {
                continue; /* spawned, or seen from another vhost */
            }
            srv->sb_backends = apr_pcalloc(pconf, sizeof(*srv->sb_backends)
                                                  * srv->addrs->nelts);
            for (k = 0; k < srv->addrs->nelts; k++) {
                const fcgix_addr_t *a =
                    APR_ARRAY_IDX(srv->addrs, k, fcgix_addr_t *);
                srv->sb_backends[k] =
                    fcgix_sb_backend_claim(st->sb, srv->path, a->spec);
                full |= srv->sb_backends[k] == NULL;
            }
        }
    }
    if (full) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FCGIX_LOGNO(00190)
                     "more than %d external server addresses: the status "
                     "page counts the others per httpd child",
                     FCGIX_SB_MAX_BACKENDS);
    }
}

/* A FastCgiServer program: an executable file, and who runs it. */
static int static_check(server_rec *s, const fcgix_srv_conf_t *vc,
                        fcgix_server_t *srv, spawn_state_t *st)
{
    struct stat sb;

    (void)st;
    if (stat(srv->path, &sb) < 0 || !S_ISREG(sb.st_mode)
        || !(sb.st_mode & 0111)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), s,
                     FCGIX_LOGNO(00174) "%s %s: not an executable file",
                     srv->directive, srv->path);
        return !OK;
    }
    srv->inode = (apr_uint64_t)sb.st_ino;
    srv->dev = (apr_uint64_t)sb.st_dev;
    return static_identity(s, vc, srv);
}

typedef int static_fn(server_rec *s, const fcgix_srv_conf_t *vc,
                      fcgix_server_t *srv, spawn_state_t *st);

/* Calls @p fn for every FastCgiServer definition, until one fails. */
static int each_static(server_rec *s, spawn_state_t *st, static_fn *fn)
{
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        fcgix_srv_conf_t *vc =
            ap_get_module_config(vs->module_config, &fcgix_module);
        int i;
        for (i = 0; i < vc->servers->nelts; i++) {
            fcgix_server_t *srv = APR_ARRAY_IDX(vc->servers, i,
                                                fcgix_server_t *);
            if (srv->managed && fn(s, vc, srv, st) != OK) {
                return !OK;
            }
        }
    }
    return OK;
}

/* FastCgiServer applications start at boot, and again after a restart
 * (the PM keeps the ones it has). The PM may still be binding its
 * socket. */
static int register_static(server_rec *s, const fcgix_srv_conf_t *vc,
                           fcgix_server_t *srv, spawn_state_t *st)
{
    fcgix_pm_msg_t m;

    (void)s;
    (void)vc;
    static_msg(srv, st, &m);
    send_patiently(st, &m);
    return OK;
}

/* Whether directory @p fd has no entry but . and .. */
static int dir_empty(int fd)
{
    DIR *d;
    struct dirent *e;
    int dfd = dup(fd), empty = 1;

    if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
        if (dfd >= 0) {
            close(dfd);
        }
        return 0;
    }
    while (empty && (e = readdir(d)) != NULL) {
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    }
    closedir(d);
    return empty;
}

/*
 * Whether no directory above @p dir is User's or writable by others than
 * its owner (unless sticky): otherwise code running as User could move
 * another directory, or a link to one, into the path while root works on
 * it. (A checkout owned by an administrator's own account is fine.)
 */
static int ancestors_safe(const char *dir, apr_pool_t *p)
{
    char *path = apr_pstrdup(p, dir), *slash = path;
    struct stat sb;

    while ((slash = strchr(slash + 1, '/')) != NULL) {
        *slash = '\0';
        if (lstat(path, &sb) < 0 || sb.st_uid == ap_unixd_config.user_id
            || (S_ISDIR(sb.st_mode) && (sb.st_mode & 022)
                && !(sb.st_mode & S_ISVTX))) {
            return 0;
        }
        *slash = '/';
    }
    return 1;
}

/*
 * The IPC directory, made as root for User. Nothing is done by path after
 * mkdir(): the directory is opened without following a symbolic link,
 * checked, and handed over through the descriptor. An existing one must be
 * ours from an earlier start (owned by User) or an empty one root made for
 * us; the directories above it must not be writable by User.
 */
static apr_status_t ipc_dir_make(const char *dir, apr_pool_t *p)
{
    const char *slash = strrchr(dir, '/');
    struct stat sb;
    int fd, made = 0;
    apr_status_t rv;

    if (slash && slash != dir) {
        rv = apr_dir_make_recursive(apr_pstrndup(p, dir, slash - dir),
                                    APR_FPROT_OS_DEFAULT, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    if (geteuid() == 0 && !ancestors_safe(dir, p)) {
        return APR_EACCES;
    }
    if (mkdir(dir, 0700) == 0) {
        made = 1;
    }
    else if (errno != EEXIST) {
        return APR_FROM_OS_ERROR(errno);
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    errno = 0;
    if (fstat(fd, &sb) < 0 || !S_ISDIR(sb.st_mode)
        || !(made || sb.st_uid == ap_unixd_config.user_id
             || (sb.st_uid == 0 && dir_empty(fd)))
        || (geteuid() == 0
            && fchown(fd, ap_unixd_config.user_id,
                      ap_unixd_config.group_id) < 0)
        || fchmod(fd, 0700) < 0) {
        rv = errno ? APR_FROM_OS_ERROR(errno) : APR_EGENERAL;
        close(fd);
        return rv;
    }
    close(fd);
    return APR_SUCCESS;
}

/* A message the PM may be too young to receive yet (just forked, still
 * binding its socket): tried for up to 2 s. */
static void send_patiently(spawn_state_t *st, const fcgix_pm_msg_t *m)
{
    apr_time_t until = apr_time_now() + apr_time_from_sec(2);

    while (fcgix_pm_send(st->cfg.ctl_path, m) != APR_SUCCESS
           && apr_time_now() < until) {
        apr_sleep(apr_time_from_msec(20));
    }
}

static void config_msg(spawn_state_t *st, apr_uint32_t type)
{
    fcgix_pm_msg_t m;

    memset(&m, 0, sizeof(m));
    m.type = type;
    send_patiently(st, &m);
}

/* The virtual hosts of this configuration: the PM retires the classes of
 * those that are gone once CONFIG follows. */
static void send_vhosts(server_rec *s, spawn_state_t *st)
{
    fcgix_pm_msg_t m;
    server_rec *vs;
    apr_uint32_t n = 0;

    memset(&m, 0, sizeof(m));
    m.type = FCGIX_PM_MSG_VHOSTS;
    for (vs = s; vs; vs = vs->next) {
        apr_uint32_t key = vhost_key(vs);
        memcpy(m.env + n * sizeof(key), &key, sizeof(key));
        if (++n == FCGIX_PM_VHOSTS_PER_MSG || vs->next == NULL) {
            m.uid = n;
            send_patiently(st, &m);
            n = 0;
        }
    }
}

/* The configuration goes (a restart, or a stop): if the next one does
 * not load mod_fcgix, nothing will tell the PM again, so it is told now
 * and ends everything unless a new configuration follows soon. */
static apr_status_t config_detach(void *data)
{
    spawn_state_t *st = data;
    fcgix_pm_msg_t m;

    memset(&m, 0, sizeof(m));
    m.type = FCGIX_PM_MSG_DETACH;
    fcgix_pm_send(st->cfg.ctl_path, &m);
    return APR_SUCCESS;
}

static int fcgix_spawn_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                   apr_pool_t *ptemp, server_rec *s)
{
    apr_pool_t *ppool = s->process->pool;
    fcgix_srv_conf_t *sc =
        ap_get_module_config(s->module_config, &fcgix_module);
    spawn_state_t *st = NULL;
    const char *dir;
    server_rec *vs;
    apr_status_t rv;

    (void)plog;
    (void)ptemp;
    for (vs = s; vs; vs = vs->next) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, FCGIX_LOGNO(00201)
                     "virtual host %s:%u: class key %08x",
                     vs->server_hostname ? vs->server_hostname : "-",
                     (unsigned)vs->port, (unsigned)vhost_key(vs));
    }
    /* The first pass only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    log_server = s;
    apr_pool_userdata_get((void **)&st, STATE_KEY, ppool);
    if (st == NULL) {
        if (ap_unixd_config.user_id == 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FCGIX_LOGNO(00162)
                         "User is root: applications are never run as "
                         "root, so spawning is disabled (external servers "
                         "still work)");
            return OK;
        }
        st = apr_pcalloc(ppool, sizeof(*st));
        st->pool = ppool;
        /* One slot per process FcgixMaxProcesses allows, and no fewer
         * than the default: the scoreboard cannot grow until httpd is
         * started anew. */
        rv = fcgix_sb_create(&st->sb, &st->shm,
                             (apr_uint32_t)FCGIX_VALUE(sc->max_procs, 0)
                             > FCGIX_SB_MIN_PROCS
                             ? (apr_uint32_t)sc->max_procs
                             : FCGIX_SB_MIN_PROCS, ppool);
        st->nslots = fcgix_sb_slots();
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, FCGIX_LOGNO(00163)
                         "cannot create the scoreboard");
            return !OK;
        }
        /* Copied: the configuration pool does not outlive a restart. */
        dir = apr_pstrdup(ppool, fcgix_conf_ipc_dir(ppool));
        if ((rv = ipc_dir_make(dir, ppool)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         FCGIX_LOGNO(00164) "cannot create the private "
                         "socket directory %s (%s): it must be a "
                         "directory of its own, not a symbolic link, made "
                         "by mod_fcgix or owned by User, in directories "
                         "neither User nor others may write", dir,
                         fcgix_conf_ipc_dir_name());
            return !OK;
        }
        if (strlen(dir) > 90) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, FCGIX_LOGNO(00165)
                         "%s %s is too long for unix socket "
                         "names (max 90 characters)",
                         fcgix_conf_ipc_dir_name(), dir);
            return !OK;
        }
        st->cfg.sb = st->sb;
        st->cfg.ipc_dir = dir;
        st->cfg.ctl_path = apr_pstrcat(ppool, dir, "/pm.sock", NULL);
        st->cfg.uid = ap_unixd_config.user_id;
        st->cfg.gid = ap_unixd_config.group_id;
        st->cfg.kill_grace = 3;
        st->cfg.env = build_env(ppool, sc->initial_env);

        st->cfg.log = pm_log;
        apr_pool_userdata_set(st, STATE_KEY, apr_pool_cleanup_null, ppool);
    }
    fcgix_sb_set_slots(st->nslots);
    st->cfg.max_procs = (apr_uint32_t)FCGIX_VALUE(sc->max_procs,
                                                  FCGIX_DEFAULT_MAX_PROCS);
    if (st->cfg.max_procs > fcgix_sb_slots()) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FCGIX_LOGNO(00203)
                     "FcgixMaxProcesses %u: the scoreboard made at start "
                     "has %u process slots; the new limit takes effect "
                     "when httpd is started anew", st->cfg.max_procs,
                     fcgix_sb_slots());
        st->cfg.max_procs = fcgix_sb_slots();
    }
    st->sb->max_procs = st->cfg.max_procs;
    /* Pointers into this module must be of this generation's mapping. */
    st->cfg.log = pm_log;
    st->cfg.suexec_bin = ap_unixd_config.suexec_enabled
                         ? apr_pstrdup(ppool, SUEXEC_BIN) : NULL;
    st->cfg.user_name = ap_unixd_config.user_name
                        ? apr_pstrdup(ppool, ap_unixd_config.user_name)
                        : NULL;
    st->pconf = pconf;
    if (st->running && kill(st->pm.pid, 0) < 0) {
        st->running = 0;
    }
    st->cfg.relog = pm_relog;
    if (st->running) {
        apr_proc_other_child_register(&st->pm, pm_maintenance, st, NULL,
                                      pconf);
        /* httpd has just opened its logs again, and its stderr is the
         * main server's error log (or what it pipes to). */
        if ((rv = fcgix_pm_send_log(st->cfg.ctl_path, STDERR_FILENO))
            != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                         FCGIX_LOGNO(00197) "cannot hand the reopened error "
                         "log to the process manager; it keeps the old one");
        }
    }
    else if ((rv = pm_launch(st)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, FCGIX_LOGNO(00166)
                     "cannot start the process manager");
        return !OK;
    }
    sc->spawn = st;
    st->server = s;
    register_backends(s, st, pconf);
    if (each_static(s, st, static_check) != OK) {
        return !OK;
    }
    tell_config(st);
    apr_pool_cleanup_register(pconf, st, config_detach,
                              apr_pool_cleanup_null);
    return OK;
}

/* The configuration as the PM needs it: virtual hosts, FastCgiServer
 * classes, then CONFIG, which retires what is no longer there. */
static void tell_config(spawn_state_t *st)
{
    send_vhosts(st->server, st);
    each_static(st->server, st, register_static);
    config_msg(st, FCGIX_PM_MSG_CONFIG);
}

/* ------------------------------------------------------------------ */
/* Serving a request                                                   */
/* ------------------------------------------------------------------ */

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

/* 503 while the class is in start back-off: at once, not after the
 * wait, with Retry-After = what is left of it. */
static int backing_off(request_rec *r, fcgix_sb_class_t *c)
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
static int in_backoff(const fcgix_sb_class_t *c)
{
    return c->failures && c->nprocs == 0
           && c->next_spawn > apr_time_now();
}

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

static int unavailable(request_rec *r, int wait)
{
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_itoa(r->pool, wait > 0 && wait < 30 ? wait : 5));
    return HTTP_SERVICE_UNAVAILABLE;
}

static spawn_state_t *state_of(void)
{
    fcgix_srv_conf_t *msc =
        ap_get_module_config(ap_server_conf->module_config, &fcgix_module);
    return msc->spawn;
}

fcgix_sb_t *fcgix_spawn_scoreboard(void)
{
    spawn_state_t *st = ap_server_conf ? state_of() : NULL;
    return st ? st->sb : NULL;
}

/* What a request asks of the process: respond, or authorize. */
typedef struct {
    const apr_table_t *extra;
    fcgix_auth_reply_t *reply; /* NULL: responder */
} role_t;

static int serve(request_rec *r, spawn_state_t *st, fcgix_pm_msg_t *mp,
                 fcgix_server_t *tmpl, const role_t *role);
static int serve_class(request_rec *r, spawn_state_t *st, fcgix_pm_msg_t *mp,
                       fcgix_sb_class_t *c, fcgix_server_t *tmpl,
                       apr_time_t deadline, int wait, const role_t *role);

static const role_t responder = { NULL, NULL };

static apr_uint32_t user_inflight(fcgix_sb_t *sb, apr_uint32_t uid)
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

/* FcgidCmdOptions for this command override the server's settings. */
static const fcgix_cmd_options_t *cmd_options(const fcgix_srv_conf_t *sc,
                                              const char *cmd)
{
    return apr_hash_get(sc->cmd_options, cmd, APR_HASH_KEY_STRING);
}

static void apply_cmd_options(const fcgix_srv_conf_t *sc, fcgix_pm_msg_t *m,
                              const char *cmd)
{
    const fcgix_cmd_options_t *o = cmd_options(sc, cmd);

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
    if (o->env_len) {
        memcpy(m->env, o->env, sizeof(m->env));
    }
}

/* Timeouts and flushing of one spawned class's requests. */
static fcgix_server_t *class_template(request_rec *r,
                                      const fcgix_srv_conf_t *sc,
                                      const char *cmd)
{
    fcgix_server_t *t = fcgix_conf_server_new(r->pool, r->filename,
                                              "fastcgi-script");
    const fcgix_cmd_options_t *o = cmd_options(sc, cmd);

    t->flush = FCGIX_VALUE(sc->output_buffer, -1) == 0;
    if (o) {
        t->io_timeout = o->io_timeout;
        t->connect_timeout = o->connect_timeout;
    }
    return t;
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

/* -1: leave the limit as the process manager has it. */
static void no_rlimits(fcgix_sb_limits_t *l)
{
    int i;

    for (i = 0; i < 3; i++) {
        l->rlim[i][0] = l->rlim[i][1] = -1;
    }
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

int fcgix_spawn_handle(request_rec *r)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &fcgix_module);
    spawn_state_t *st = state_of();
    const fcgix_wrapper_t *w = find_wrapper(r);
    ap_unix_identity_t *id = NULL;
    const char *cmd;
    fcgix_pm_msg_t m;

    if (st == NULL || st->sb == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00167)
                      "%s: cannot spawn applications (no process manager; "
                      "see the startup log)", r->filename);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!(ap_allow_options(r) & OPT_EXECCGI)
        && !(r->notes && apr_table_get(r->notes, "alias-forced-type"))) {
        /* As mod_fcgid and mod_cgi: an executable alone does not make a
         * program the server may run. */
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

    memset(&m, 0, sizeof(m));
    m.type = FCGIX_PM_MSG_SPAWN;
    m.vhost = vhost_key(r->server);
    m.uid = st->cfg.uid;
    m.gid = st->cfg.gid;
    class_limits(sc, &m.lim);
    copy_rlimits(r, &m.lim);
    if (w) {
        /* One class per wrapper: php-cgi serves every script. */
        cmd = w->cmd;
        m.inode = w->inode;
        m.dev = w->dev;
        m.lim.flags |= FCGIX_SPAWN_CMDLINE;
    }
    else {
        cmd = r->filename;
        m.inode = (apr_uint64_t)r->finfo.inode;
        m.dev = (apr_uint64_t)r->finfo.device;
    }
    if (ap_unixd_config.suexec_enabled
        && (id = ap_run_get_suexec_identity(r)) != NULL
        && (id->uid != st->cfg.uid || id->gid != st->cfg.gid
            || id->userdir)) {
        m.uid = (apr_uint32_t)id->uid;
        m.gid = (apr_uint32_t)id->gid;
        m.lim.flags |= FCGIX_SPAWN_SUEXEC
                       | (id->userdir ? FCGIX_SPAWN_USERDIR : 0);
    }
    vhost_env(sc, &m);
    apply_cmd_options(sc, &m, cmd);
    if (m.uid == 0 || m.gid == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00175)
                      "%s: refusing to run an application as root",
                      r->filename);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (strlen(cmd) >= sizeof(m.path)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00169)
                      "%s: path too long for an application", cmd);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_cpystrn(m.path, cmd, sizeof(m.path));
    msg_seal(&m);
    return serve(r, st, &m, class_template(r, sc, cmd), &responder);
}

/* The class of a static application (FastCgiServer): one for every
 * virtual host, as in mod_fastcgi. */
static void static_msg(const fcgix_server_t *srv, spawn_state_t *st,
                       fcgix_pm_msg_t *m)
{
    memset(m, 0, sizeof(*m));
    m->type = FCGIX_PM_MSG_SPAWN;
    m->vhost = 0;
    m->inode = srv->inode;
    m->dev = srv->dev;
    m->uid = st->cfg.uid;
    m->gid = st->cfg.gid;
    if (srv->run_suexec) {
        m->uid = srv->run_uid;
        m->gid = srv->run_gid;
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

int fcgix_spawn_handle_static(request_rec *r, fcgix_server_t *srv)
{
    spawn_state_t *st = state_of();
    fcgix_pm_msg_t m;

    if (st == NULL || st->sb == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00173)
                      "%s: cannot run FastCgiServer applications (no "
                      "process manager; see the startup log)", srv->path);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    static_msg(srv, st, &m);
    return serve(r, st, &m, srv, &responder);
}

int fcgix_spawn_authorize(request_rec *r, const char *path,
                          fcgix_server_t *srv, const apr_table_t *extra,
                          fcgix_auth_reply_t *reply)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &fcgix_module);
    spawn_state_t *st = state_of();
    role_t role;
    fcgix_pm_msg_t m;
    struct stat sb;

    role.extra = extra;
    role.reply = reply;
    if (st == NULL || st->sb == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00182)
                      "authorizer %s: no process manager to run it",
                      path);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (srv && srv->managed) {
        static_msg(srv, st, &m);
        return serve(r, st, &m, srv, &role);
    }
    /* A program named by FcgidAuthorizer and friends: spawned like a
     * script, as httpd's User. */
    if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || !(sb.st_mode & 0111)
        || strlen(path) >= sizeof(m.path)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00183)
                      "authorizer %s: not an executable file", path);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    memset(&m, 0, sizeof(m));
    m.type = FCGIX_PM_MSG_SPAWN;
    m.vhost = vhost_key(r->server);
    m.inode = (apr_uint64_t)sb.st_ino;
    m.dev = (apr_uint64_t)sb.st_dev;
    m.uid = st->cfg.uid;
    m.gid = st->cfg.gid;
    class_limits(sc, &m.lim);
    no_rlimits(&m.lim);
    apply_cmd_options(sc, &m, path);
    apr_cpystrn(m.path, path, sizeof(m.path));
    msg_seal(&m);
    return serve(r, st, &m, class_template(r, sc, path), &role);
}

static int serve(request_rec *r, spawn_state_t *st, fcgix_pm_msg_t *mp,
                 fcgix_server_t *tmpl, const role_t *role)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &fcgix_module);
    int wait = FCGIX_VALUE(sc->spawn_wait, FCGIX_DEFAULT_SPAWN_WAIT);
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(wait);
    fcgix_pm_msg_t m = *mp;
    fcgix_sb_class_t *c;
    apr_uint32_t user_max;
    int status;

    /* First request of a class: the PM creates it and spawns. */
    while ((c = fcgix_sb_read_class(st->sb, m.key, m.path)) == NULL) {
        apr_uint32_t seen = st->sb->seq;
        apr_interval_time_t left = deadline - apr_time_now();
        if ((c = fcgix_sb_read_class(st->sb, m.key, m.path)) != NULL) {
            break;
        }
        if (left <= 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00170)
                          "%s: the process manager did not register the "
                          "application within %d s", r->filename, wait);
            return unavailable(r, wait);
        }
        fcgix_pm_send(st->cfg.ctl_path, &m);
        fcgix_sb_child_wait(&st->sb->seq, seen,
                            left < apr_time_from_sec(1)
                            ? left : apr_time_from_sec(1));
    }

    /* One tenant flooding its scripts must not hold every httpd worker:
     * past its in-flight limit its requests fail fast instead of queueing
     * (other tenants' classes are untouched). */
    user_max = (apr_uint32_t)FCGIX_VALUE(sc->max_user_requests, 0);
    if (user_max && user_inflight(st->sb, c->uid) >= user_max) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00177)
                      "%s: user %u already has %u requests in flight "
                      "(%s)", r->filename, (unsigned)c->uid, user_max,
                      fcgix_conf_name(r->server,
                                      FCGIX_NAMED_MAX_USER_REQUESTS));
        return unavailable(r, 1);
    }
    apr_atomic_inc32(&c->inflight);
    status = serve_class(r, st, &m, c, tmpl, deadline, wait, role);
    apr_atomic_dec32(&c->inflight);
    return status;
}

static int serve_class(request_rec *r, spawn_state_t *st, fcgix_pm_msg_t *mp,
                       fcgix_sb_class_t *c, fcgix_server_t *tmpl,
                       apr_time_t deadline, int wait, const role_t *role)
{
    fcgix_pm_msg_t m = *mp;
    fcgix_sb_proc_t *p = NULL;
    apr_int32_t me = my_pid ? my_pid : (apr_int32_t)getpid();
    int tries, status = HTTP_SERVICE_UNAVAILABLE;

    for (tries = 0; tries < MAX_UNREACHABLE; tries++) {
        int unreachable = 0, sent = 0;
        fcgix_addr_t addr;

        /* Wait for a free process: woken by a release or a spawn, never
         * by a timer alone. */
        apr_atomic_inc32(&c->waiters);
        while ((p = fcgix_sb_child_acquire(st->sb, c, me)) == NULL) {
            apr_uint32_t seen = c->seq;
            apr_interval_time_t left = deadline - apr_time_now();
            if ((p = fcgix_sb_child_acquire(st->sb, c, me))) {
                break;
            }
            if (in_backoff(c)) {
                apr_atomic_dec32(&c->waiters);
                fcgix_sb_wake_one(c);
                return backing_off(r, c);
            }
            if (left <= 0) {
                /* A wake meant for us may be lost with us: pass it on. */
                fcgix_sb_wake_one(c);
                break;
            }
            /* The PM spawns for waiters on its own tick; a message makes
             * it act at once, and is worth sending only when the class
             * has room (not once per queued request on a busy class). */
            if (!sent && (c->lim.max_procs == 0
                          || c->nprocs + c->starting < c->lim.max_procs)) {
                fcgix_pm_send(st->cfg.ctl_path, &m);
                sent = 1;
            }
            fcgix_sb_child_wait(&c->seq, seen,
                                left < apr_time_from_sec(1)
                                ? left : apr_time_from_sec(1));
        }
        apr_atomic_dec32(&c->waiters);
        if (p && (c->key != m.key || c->state != 1)) {
            /* The class was retired and its slot reused meanwhile: this
             * process is another program's. */
            fcgix_sb_child_release(c, p, 0, FCGIX_EXIT_NONE, 0);
            return unavailable(r, 1);
        }
        if (p == NULL) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00171)
                          "%s: no process free within %d s (%u running, "
                          "max %u); %s, %s", r->filename, wait,
                          c->nprocs, c->lim.max_procs,
                          fcgix_conf_name(r->server, FCGIX_NAMED_SPAWN_WAIT),
                          fcgix_conf_name(r->server,
                                          FCGIX_NAMED_MAX_CLASS_PROCS));
            return unavailable(r, wait);
        }

        memset(&addr, 0, sizeof(addr));
        addr.is_unix = 1;
        addr.path = fcgix_sb_sock_path(r->pool, st->cfg.ipc_dir,
                                       (int)(p - st->sb->procs));
        addr.spec = addr.path;
        if (apr_sockaddr_info_get(&addr.sa, addr.path, APR_UNIX, 0, 0,
                                  r->pool) != APR_SUCCESS) {
            fcgix_sb_child_release(c, p, 0, FCGIX_EXIT_NONE, 1);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        status = role->reply
                 ? fcgix_bridge_authorize_direct(r, tmpl, &addr, role->extra,
                                                 role->reply, &unreachable)
                 : fcgix_bridge_run_direct(r, tmpl, &addr, &unreachable);
        if (!unreachable) {
            /* A failed exchange may have left the process in any state:
             * let the PM end it rather than trust it again. */
            int failed = status == HTTP_BAD_GATEWAY
                         || status == HTTP_GATEWAY_TIME_OUT;
            /* A failed request is not "served": a program that fails at
             * once must count as failing to start (back-off). */
            fcgix_sb_child_release(c, p, !failed,
                                   failed ? FCGIX_EXIT_FAILED
                                          : FCGIX_EXIT_NONE, 0);
            return status;
        }
        /* Exited since it was published (e.g. after its own request
         * limit): nothing was sent, so try another process. */
        fcgix_sb_child_release(c, p, 0, FCGIX_EXIT_NONE, 1);
        m.type = FCGIX_PM_MSG_LOOK;
        fcgix_pm_send(st->cfg.ctl_path, &m);
        m.type = FCGIX_PM_MSG_SPAWN;
    }
    if (in_backoff(c)) {
        return backing_off(r, c);
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00172)
                  "%s: %d processes in a row could not be reached",
                  r->filename, MAX_UNREACHABLE);
    return unavailable(r, wait);
}

/* glibc no longer caches getpid(): one syscall per request saved. */
static void spawn_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    (void)s;
    my_pid = (apr_int32_t)getpid();
}

void fcgix_spawn_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(fcgix_spawn_post_config, NULL, NULL,
                        APR_HOOK_MIDDLE);
    ap_hook_child_init(spawn_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
