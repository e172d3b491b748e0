/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <signal.h>

#include "apr_file_info.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "unixd.h"

#include "fcgix.h"
#include "fcgix_class.h"
#include "fcgix_conf.h"
#include "fcgix_pm.h"
#include "fcgix_sb.h"
#include "fcgix_spawn.h"

/*
 * What crosses a graceful restart lives in the parent's process pool: the
 * state record below, the scoreboard it points to, and the PM, a fork of
 * the module that made it, which reads messages in its own layout. A
 * module built otherwise (a package upgrade, then logrotate's graceful
 * restart) must not read any of them, so the state is filed under a key
 * that names this build's layout, and the PM under a key that never
 * changes: a text "ABI PID" in PM_RECORD_LEN bytes, a contract kept by
 * every version. t/123 patches ABI_TAG in a copy of the module.
 */
#define ABI_TAG "fcgix-abi:"
#define PM_RECORD_KEY "fcgix-pm"
#define PM_RECORD_LEN 256

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
    int unreachable;     /* monitor rounds the PM's socket refused */
    int registered;      /* with apr_proc_other_child, this generation */
    int zombie_rounds;   /* monitor rounds that found it ended, unreaped */
    int extra;           /* handed to the MPM while no generation holds it */
} spawn_state_t;

static server_rec *log_server;
/* This build's layout, and the key of its state. */
static char abi[128];
/* This generation's state, set by its post_config once the PM runs. */
static spawn_state_t *current;

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
/* Virtual hosts of classes                                            */
/* ------------------------------------------------------------------ */

const char *fcgix_spawn_vhost_name(apr_pool_t *p, apr_uint32_t key)
{
    server_rec *vs;

    if (key == 0) {
        return "(all)";
    }
    for (vs = ap_server_conf; vs; vs = vs->next) {
        if (fcgix_class_vhost_key(vs) == key) {
            return apr_psprintf(p, "%s:%u", vs->server_hostname
                                            ? vs->server_hostname : "-",
                                (unsigned)vs->port);
        }
    }
    return apr_psprintf(p, "#%08x (gone)", (unsigned)key);
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
        char *rec = NULL;

        apr_pool_userdata_get((void **)&rec, PM_RECORD_KEY, st->pool);
        if (rec == NULL) {
            rec = apr_pcalloc(st->pool, PM_RECORD_LEN);
            apr_pool_userdata_set(rec, PM_RECORD_KEY, apr_pool_cleanup_null,
                                  st->pool);
        }
        apr_snprintf(rec, PM_RECORD_LEN, "%s %d", abi, (int)st->pm.pid);
        st->running = 1;
        st->registered = 1;
        apr_proc_other_child_register(&st->pm, pm_maintenance, st, NULL,
                                      st->pconf);
    }
    return rv;
}

/* The PM has ended: its applications go with it (see pm_maintenance),
 * and nothing stays registered for it. */
static void pm_buried(spawn_state_t *st)
{
    /* APR's unregister of what is not registered dereferences NULL. */
    if (st->registered) {
        apr_proc_other_child_unregister(st);
        st->registered = 0;
    }
    st->running = 0;
    st->zombie_rounds = 0;
    st->unreachable = 0;
    if (st->pm.pid > 1) {
        kill(-st->pm.pid, SIGKILL);
    }
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
        pm_buried(st);
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

/* FastCgiServer applications start at boot, and again after a restart
 * (the PM keeps the ones it has). The PM may still be binding its
 * socket. */
static void register_statics(spawn_state_t *st)
{
    server_rec *vs;
    fcgix_pm_msg_t m;

    for (vs = st->server; vs; vs = vs->next) {
        fcgix_srv_conf_t *vc =
            ap_get_module_config(vs->module_config, &fcgix_module);
        int i;
        for (i = 0; i < vc->servers->nelts; i++) {
            fcgix_server_t *srv = APR_ARRAY_IDX(vc->servers, i,
                                                fcgix_server_t *);
            if (srv->managed) {
                fcgix_class_static_msg(srv, &m);
                send_patiently(st, &m);
            }
        }
    }
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
        apr_uint32_t key = fcgix_class_vhost_key(vs);
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
    ap_generation_t gen = 0;

    memset(&m, 0, sizeof(m));
    m.type = FCGIX_PM_MSG_DETACH;
    fcgix_pm_send(st->cfg.ctl_path, &m);
    /* Its registration goes with this pool. Until the next post_config
     * takes it back (pm_reclaim), httpd's MPM reaps the PM as one of its
     * own extra processes: if mod_fcgix is not loaded again, the PM's end
     * is not a "long lost child" for httpd to warn about. */
    if (st->running && st->pm.pid > 1 && !st->extra) {
        ap_mpm_query(AP_MPMQ_GENERATION, &gen);
        ap_register_extra_mpm_process(st->pm.pid, gen);
        st->extra = 1;
    }
    return APR_SUCCESS;
}

/* The PM back from the MPM's list (config_detach), before this
 * generation registers it again or ends it. */
static void pm_reclaim(spawn_state_t *st)
{
    ap_generation_t gen;

    if (st->extra) {
        ap_unregister_extra_mpm_process(st->pm.pid, &gen);
        st->extra = 0;
    }
}

/* Once per httpd parent: the scoreboard and the IPC directory, which
 * live as long as the PM. @return OK, with *out NULL when User is root */
static int state_create(server_rec *s, const fcgix_srv_conf_t *sc,
                        apr_pool_t *ppool, spawn_state_t **out)
{
    spawn_state_t *st;
    const char *dir;
    apr_status_t rv;

    *out = NULL;
    if (ap_unixd_config.user_id == 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FCGIX_LOGNO(00162)
                     "User is root: applications are never run as "
                     "root, so spawning is disabled (external servers "
                     "still work)");
        return OK;
    }
    st = apr_pcalloc(ppool, sizeof(*st));
    st->pool = ppool;
    /* One slot per process FcgixMaxProcesses allows, and no fewer than
     * the default: the scoreboard cannot grow until httpd is started
     * anew. */
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
    apr_pool_userdata_set(st, abi, apr_pool_cleanup_null, ppool);
    *out = st;
    return OK;
}

/* Whether the PM has ended: reaped now (a zombie nobody waited for)
 * or already (by a wait that was not ours). */
static int pm_gone(spawn_state_t *st)
{
    int status;
    pid_t w = waitpid(st->pm.pid, &status, WNOHANG);

    return w == st->pm.pid || (w < 0 && errno == ECHILD);
}

/*
 * The monitor's look: whether the PM ended in a way nobody will be told
 * of. Reaped by someone else (ECHILD), it is so at once. Ended but not
 * reaped, it is left one round to httpd's own loop, which reaps every
 * child each second and tells pm_maintenance() (the usual report);
 * reaping it here first would take that report's place.
 */
static int pm_lost(spawn_state_t *st)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)st->pm.pid, &si, WEXITED | WNOHANG | WNOWAIT)) {
        return errno == ECHILD && pm_gone(st);
    }
    if (si.si_pid == 0) {
        st->zombie_rounds = 0;
        return 0;
    }
    if (st->registered && ++st->zombie_rounds < 2) {
        return 0;
    }
    return pm_gone(st);
}

/* Whether our child @p pid is still the PM (its name, set at its start)
 * and not another child given a reused pid. */
static int is_pm(pid_t pid)
{
    char path[64], name[32];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return 0;
    }
    n = read(fd, name, sizeof(name) - 1);
    close(fd);
    return n == 9 && memcmp(name, "fcgix-pm\n", 9) == 0;
}

/*
 * A PM left by a module of another layout: it and its applications end
 * now, as at a stop, before a new PM binds the same socket names. A state
 * of this layout found as well is older than that build's turn, and
 * stale. The scoreboards stay mapped in the parent, unread, until httpd
 * exits. @return whether there was one
 */
static int end_foreign_pm(server_rec *s, apr_pool_t *ppool)
{
    char *rec = NULL;
    const char *sp;
    int pid, status, k;

    apr_pool_userdata_get((void **)&rec, PM_RECORD_KEY, ppool);
    if (rec == NULL || (sp = strrchr(rec, ' ')) == NULL) {
        return 0;
    }
    if ((size_t)(sp - rec) == strlen(abi) && !strncmp(rec, abi, sp - rec)) {
        return 0;
    }
    pid = atoi(sp + 1);
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, FCGIX_LOGNO(00726)
                 "mod_fcgix was replaced by another build (%.*s -> %s) "
                 "across a graceful restart: the process manager (pid %d) "
                 "and its applications end, a new one starts",
                 (int)(sp - rec), rec, abi, pid);
    if (pid > 1 && is_pm(pid)) {
        ap_generation_t gen;

        /* That build's config_detach may have handed it to the MPM. */
        ap_unregister_extra_mpm_process(pid, &gen);
        kill(pid, SIGTERM);
        /* Its applications get their grace (3 s) before SIGKILL. */
        for (k = 0; k < 600 && waitpid(pid, &status, WNOHANG) == 0; k++) {
            apr_sleep(apr_time_from_msec(10));
        }
        kill(-pid, SIGKILL);
        if (k == 600) {
            waitpid(pid, &status, 0);
        }
    }
    /* Said once: the next launch writes this build's record. */
    rec[0] = '\0';
    return 1;
}

/* Every generation: the settings a restart may change. */
static void state_renew(spawn_state_t *st, server_rec *s,
                        const fcgix_srv_conf_t *sc, apr_pool_t *pconf)
{
    apr_pool_t *ppool = st->pool;

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
    st->cfg.relog = pm_relog;
    st->cfg.suexec_bin = ap_unixd_config.suexec_enabled
                         ? apr_pstrdup(ppool, SUEXEC_BIN) : NULL;
    st->cfg.user_name = ap_unixd_config.user_name
                        ? apr_pstrdup(ppool, ap_unixd_config.user_name)
                        : NULL;
    st->pconf = pconf;
    /* The registration went with the last configuration pool, so a death
     * since then told nobody. kill(pid, 0) would pass a dead PM not yet
     * reaped: reap it here (or learn it was reaped) and start another,
     * or every later restart keeps a PM that is not there. */
    st->registered = 0;
    if (st->running && pm_gone(st)) {
        pm_buried(st);
    }
}

/* The PM of the earlier generation stays (its new error log is handed
 * over), or one is started. */
static int pm_keep_or_launch(spawn_state_t *st, server_rec *s,
                             apr_pool_t *pconf)
{
    apr_status_t rv;

    if (st->running) {
        st->registered = 1;
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
    return OK;
}

static int fcgix_spawn_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                   apr_pool_t *ptemp, server_rec *s)
{
    apr_pool_t *ppool = s->process->pool;
    fcgix_srv_conf_t *sc =
        ap_get_module_config(s->module_config, &fcgix_module);
    spawn_state_t *st = NULL;
    server_rec *vs;

    (void)plog;
    (void)ptemp;
    current = NULL;
    for (vs = s; vs; vs = vs->next) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, FCGIX_LOGNO(00201)
                     "virtual host %s:%u: class key %08x",
                     vs->server_hostname ? vs->server_hostname : "-",
                     (unsigned)vs->port, (unsigned)fcgix_class_vhost_key(vs));
    }
    /* The first pass only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    log_server = s;
    apr_snprintf(abi, sizeof(abi), ABI_TAG "%s/sb%u/%lu.%lu.%lu.%lu.%lu",
                 FCGIX_VERSION_NUMBER, (unsigned)FCGIX_SB_VERSION,
                 (unsigned long)sizeof(spawn_state_t),
                 (unsigned long)sizeof(fcgix_pm_cfg_t),
                 (unsigned long)sizeof(fcgix_sb_t),
                 (unsigned long)sizeof(fcgix_sb_proc_t),
                 (unsigned long)sizeof(fcgix_pm_msg_t));
    apr_pool_userdata_get((void **)&st, abi, ppool);
    if (end_foreign_pm(s, ppool)) {
        st = NULL;
    }
    if (st == NULL) {
        int status = state_create(s, sc, ppool, &st);
        if (status != OK || st == NULL) {
            return status; /* OK: User is root, no spawning */
        }
    }
    pm_reclaim(st);
    state_renew(st, s, sc, pconf);
    if (pm_keep_or_launch(st, s, pconf) != OK) {
        return !OK;
    }
    current = st;
    st->server = s;
    if (fcgix_class_post_config(pconf, s) != OK) {
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
    register_statics(st);
    config_msg(st, FCGIX_PM_MSG_CONFIG);
}

fcgix_sb_t *fcgix_spawn_scoreboard(void)
{
    return current ? current->sb : NULL;
}

const char *fcgix_spawn_ipc_dir(void)
{
    return current->cfg.ipc_dir;
}

apr_status_t fcgix_spawn_send(const fcgix_pm_msg_t *m)
{
    return fcgix_pm_send(current->cfg.ctl_path, m);
}

/*
 * The parent's safety net, every few seconds (httpd's monitor hook): a
 * PM whose end went unnoticed, or that lives without its socket, or
 * none at all after a failed start, would leave every spawned
 * application unserved until httpd is started anew. Any of these is
 * repaired here, within two rounds, and said once.
 */
static int fcgix_spawn_monitor(apr_pool_t *p, server_rec *s)
{
    spawn_state_t *st = current;
    fcgix_pm_msg_t m;
    apr_status_t rv;

    (void)p;
    if (st == NULL || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_EXITING) {
        return DECLINED;
    }
    if (st->running && pm_lost(st)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FCGIX_LOGNO(00710)
                     "process manager (pid %d) ended unnoticed; starting a "
                     "new one", (int)st->pm.pid);
        pm_buried(st);
    }
    else if (st->running) {
        memset(&m, 0, sizeof(m));
        m.type = FCGIX_PM_MSG_LOOK;
        rv = fcgix_pm_send(st->cfg.ctl_path, &m);
        /* A full queue is a busy PM; refused or absent, a broken one. */
        if (rv == APR_FROM_OS_ERROR(ECONNREFUSED)
            || rv == APR_FROM_OS_ERROR(ENOENT)) {
            if (++st->unreachable >= 2 && is_pm(st->pm.pid)) {
                int k;
                ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                             FCGIX_LOGNO(00711) "process manager (pid %d) "
                             "does not take messages at %s; ending it",
                             (int)st->pm.pid, st->cfg.ctl_path);
                kill(st->pm.pid, SIGKILL);
                /* Reaped here, or httpd would find a child it never
                 * started; SIGKILL ends it within moments. */
                for (k = 0; k < 100 && !pm_gone(st); k++) {
                    apr_sleep(apr_time_from_msec(10));
                }
                pm_buried(st);
            }
        }
        else {
            st->unreachable = 0;
        }
    }
    if (!st->running) {
        if ((rv = pm_launch(st)) == APR_SUCCESS) {
            tell_config(st);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, FCGIX_LOGNO(00712)
                         "cannot start the process manager; trying again");
        }
    }
    return DECLINED;
}

void fcgix_spawn_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(fcgix_spawn_post_config, NULL, NULL,
                        APR_HOOK_MIDDLE);
    ap_hook_monitor(fcgix_spawn_monitor, NULL, NULL, APR_HOOK_MIDDLE);
}
