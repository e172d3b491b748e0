/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#define _GNU_SOURCE 1
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/resource.h>

#include "apr_strings.h"
#include "apr_tables.h"
#include "apr_time.h"

#include "fcgix_logno.h"
#include "fcgix_pm.h"

/* How often the PM looks at timeouts, minimums and its parent. */
#define PM_TICK_MS 200
/* A process that dies sooner than this after starting failed to start. */
#define PM_MIN_LIFE apr_time_from_sec(10)
/* Spawns per class per second, whatever the demand. */
#define PM_SPAWN_RATE 16
#define PM_LISTEN_BACKLOG 128

/* Which socket file we made: another httpd (a stop and a start that
 * overlap) may have made a new one at the same path since. */
typedef struct {
    dev_t dev;
    ino_t ino; /* 0: none known */
} sock_id_t;

/* PM-private per-slot bookkeeping (never in shared memory). */
typedef struct {
    apr_time_t term_at; /* when SIGTERM was sent, 0: not yet */
    int ours;           /* our child: reaped by waitpid, else by kill(0) */
    sock_id_t sock;     /* its listen socket's file */
} pm_slot_t;

typedef struct {
    const fcgix_pm_cfg_t *cfg;
    fcgix_sb_t *sb;
    apr_pool_t *p;
    pid_t parent;
    int ctl;
    sock_id_t ctl_id;
    pm_slot_t slots[FCGIX_SB_MAX_PROCS];
    char **class_env[FCGIX_SB_MAX_CLASSES]; /* malloc'ed, or NULL */
    apr_time_t spawn_window[FCGIX_SB_MAX_CLASSES];
    int spawn_count[FCGIX_SB_MAX_CLASSES];
} pm_t;

static volatile sig_atomic_t pm_stop;

static void on_term(int sig)
{
    (void)sig;
    pm_stop = 1;
}

/* The PM runs for months: no pool allocation per spawn. */
static const char *sock_path(pm_t *pm, int idx, char *buf, size_t len)
{
    apr_snprintf(buf, len, "%s/p%d.sock", pm->cfg->ipc_dir, idx);
    return buf;
}

static int slot_index(pm_t *pm, fcgix_sb_proc_t *p)
{
    return (int)(p - pm->sb->procs);
}

/* ------------------------------------------------------------------ */
/* Spawning                                                            */
/* ------------------------------------------------------------------ */

static void sock_remember(const char *path, sock_id_t *id)
{
    struct stat st;

    id->ino = 0;
    if (stat(path, &st) == 0) {
        id->dev = st.st_dev;
        id->ino = st.st_ino;
    }
}

/* Removes the socket file at @p path if it is still the one we made. */
static void sock_unlink(const char *path, sock_id_t *id)
{
    struct stat st;

    if (id->ino && stat(path, &st) == 0 && st.st_dev == id->dev
        && st.st_ino == id->ino) {
        unlink(path);
    }
    id->ino = 0;
}

static int listen_unix(pm_t *pm, const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    if (fd < 0) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    apr_cpystrn(sa.sun_path, path, sizeof(sa.sun_path));
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0
        || listen(fd, PM_LISTEN_BACKLOG) < 0
        /* Only the applications' user (httpd's User) may connect. */
        || chown(path, pm->cfg->uid, pm->cfg->gid) < 0
        || chmod(path, 0600) < 0) {
        int e = errno;
        close(fd);
        unlink(path);
        errno = e;
        return -1;
    }
    return fd;
}

static void close_from(int lowfd)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, lowfd, ~0U, 0) == 0) {
        return;
    }
#endif
    {
        long max = sysconf(_SC_OPEN_MAX);
        int fd;
        for (fd = lowfd; fd < (max > 0 ? max : 65536); fd++) {
            close(fd);
        }
    }
}

/* In the forked child: become the application. Never returns. */
static void exec_app(pm_t *pm, fcgix_sb_class_t *c, int lfd)
{
    static const int res[3] = { RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC };
    const fcgix_pm_cfg_t *cfg = pm->cfg;
    char **argv, **xargv, *dir, *slash;
    const char *prog;
    uid_t uid = (uid_t)c->uid;
    gid_t gid = (gid_t)c->gid;
    int devnull, i, n;
    sigset_t none;

    /* Its own process group: signals meant for httpd are not for it. */
    setpgid(0, 0);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);

    /* FastCGI: the listen socket is fd 0; stderr stays the error log. */
    if (dup2(lfd, 0) < 0) {
        _exit(126);
    }
    devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
        dup2(devnull, 1);
    }
    close_from(3);

    if (c->lim.flags & FCGIX_SPAWN_CMDLINE) {
        /* A wrapper: "php-cgi -c /etc/php.ini" and the like. */
        if (apr_tokenize_to_argv(c->path, &argv, pm->p) != APR_SUCCESS
            || argv[0] == NULL) {
            _exit(126);
        }
    }
    else {
        argv = apr_pcalloc(pm->p, 2 * sizeof(char *));
        argv[0] = c->path;
    }
    for (n = 0; argv[n]; n++) {
        ;
    }
    dir = apr_pstrdup(pm->p, argv[0]);
    if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
        *slash = '\0';
        if (chdir(dir) < 0) {
            _exit(126);
        }
    }
    for (i = 0; i < 3; i++) {
        if (c->lim.rlim[i][0] >= 0) {
            struct rlimit rl;
            rl.rlim_cur = (rlim_t)c->lim.rlim[i][0];
            rl.rlim_max = (rlim_t)c->lim.rlim[i][1];
            setrlimit(res[i], &rl);
        }
    }
    if (c->lim.priority > 0) {
        /* FastCgiServer -priority: lower only (we are still root). */
        setpriority(PRIO_PROCESS, 0, c->lim.priority > 19
                                     ? 19 : c->lim.priority);
    }
    prog = argv[0];
    xargv = argv;
    if (c->lim.flags & FCGIX_SPAWN_SUEXEC) {
        /* suexec switches to the target user itself and insists on being
         * called by httpd's own user, with the program relative to the
         * current directory. */
        xargv = apr_pcalloc(pm->p, (size_t)(n + 4) * sizeof(char *));
        xargv[0] = (char *)cfg->suexec_bin;
        xargv[1] = apr_psprintf(pm->p, "%s%lu",
                                (c->lim.flags & FCGIX_SPAWN_USERDIR) ? "~"
                                                                    : "",
                                (unsigned long)c->uid);
        xargv[2] = apr_psprintf(pm->p, "%lu", (unsigned long)c->gid);
        xargv[3] = (slash = strrchr(argv[0], '/')) ? slash + 1 : argv[0];
        for (i = 1; i < n; i++) {
            xargv[i + 3] = argv[i];
        }
        prog = cfg->suexec_bin;
        uid = cfg->uid;
        gid = cfg->gid;
    }
    /* Never as root: refused at configuration time; this is the last
     * line of defence. */
    if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0
        || getuid() == 0 || geteuid() == 0) {
        _exit(126);
    }
    execve(prog, xargv, pm->class_env[c->id] ? pm->class_env[c->id]
                                             : (char *const *)cfg->env);
    _exit(127);
}

/* Processes of every class of one user. */
static apr_uint32_t user_procs(pm_t *pm, apr_uint32_t uid)
{
    apr_uint32_t n = 0;
    int i;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        fcgix_sb_class_t *c = &pm->sb->classes[i];
        if (c->state == 1 && c->uid == uid) {
            n += c->nprocs;
        }
    }
    return n;
}

static int spawn_allowed(pm_t *pm, fcgix_sb_class_t *c, apr_time_t now)
{
    int ci = (int)c->id;

    if (c->nprocs >= c->lim.max_procs
        || pm->sb->total_procs >= pm->sb->max_procs
        || now < c->next_spawn
        || (c->lim.max_user_procs
            && user_procs(pm, c->uid) >= c->lim.max_user_procs)) {
        return 0;
    }
    if (now - pm->spawn_window[ci] > apr_time_from_sec(1)) {
        pm->spawn_window[ci] = now;
        pm->spawn_count[ci] = 0;
    }
    return pm->spawn_count[ci] < PM_SPAWN_RATE;
}

static void spawn(pm_t *pm, fcgix_sb_class_t *c)
{
    fcgix_sb_t *sb = pm->sb;
    fcgix_sb_proc_t *p = fcgix_sb_pm_slot_claim(sb);
    apr_time_t now = apr_time_now();
    char pbuf[256];
    const char *path;
    int lfd, idx;
    pid_t pid;

    if (p == NULL) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00150) "scoreboard full "
                     "(%d processes); cannot spawn %s", FCGIX_SB_MAX_PROCS,
                     c->path);
        return;
    }
    idx = slot_index(pm, p);
    path = sock_path(pm, idx, pbuf, sizeof(pbuf));
    if ((lfd = listen_unix(pm, path)) < 0) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, errno,
                     FCGIX_LOGNO(00151) "cannot create "
                     "socket %s for %s", path, c->path);
        return;
    }
    sock_remember(path, &pm->slots[idx].sock);
    pid = fork();
    if (pid == 0) {
        exec_app(pm, c, lfd);
    }
    /* The socket lives on in the application only: when it exits,
     * connecting fails at once instead of queueing for nobody. */
    close(lfd);
    if (pid < 0) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, errno, FCGIX_LOGNO(00152) "fork failed "
                     "for %s", c->path);
        sock_unlink(path, &pm->slots[idx].sock);
        return;
    }
    pm->spawn_count[c->id]++;
    pm->slots[idx].term_at = 0;
    pm->slots[idx].ours = 1;
    p->cls = c->id;
    p->pid = (apr_int32_t)pid;
    p->owner = 0;
    p->started = p->last_active = now;
    p->busy_since = 0;
    p->requests = 0;
    p->exit_why = FCGIX_EXIT_NONE;
    p->exit_status = 0;
    c->nprocs++;
    c->last_spawn = now;
    sb->total_procs++;
    /* Listening already: a request can connect now and is served the
     * moment the application reaches accept(). */
    fcgix_sb_pm_publish(sb, p);
    fcgix_sb_wake(c);
    pm->cfg->log(FCGIX_PM_LOG_INFO, 0, FCGIX_LOGNO(00153) "spawned %s pid %d "
                 "(slot %d, %u of max %u)", c->path, (int)pid, idx,
                 c->nprocs, c->lim.max_procs);
}

/* ------------------------------------------------------------------ */
/* Ending processes                                                    */
/* ------------------------------------------------------------------ */

static void terminate(pm_t *pm, fcgix_sb_proc_t *p, fcgix_exit_e why,
                      apr_time_t now)
{
    pm_slot_t *ps = &pm->slots[slot_index(pm, p)];

    if (ps->term_at == 0 && p->pid > 0) {
        p->exit_why = why;
        ps->term_at = now;
        kill((pid_t)p->pid, SIGTERM);
    }
}

/* The slot's process is gone: free the slot. */
static void slot_gone(pm_t *pm, fcgix_sb_proc_t *p, int status,
                      apr_time_t now)
{
    fcgix_sb_t *sb = pm->sb;
    fcgix_sb_class_t *c = &sb->classes[p->cls];
    int idx = slot_index(pm, p);
    int early = now - p->started < PM_MIN_LIFE;
    char pbuf[256];

    if (p->exit_why == FCGIX_EXIT_NONE) {
        p->exit_why = WIFSIGNALED(status) ? FCGIX_EXIT_SIGNAL
                                          : FCGIX_EXIT_SELF;
    }
    p->exit_status = status;
    if (early && pm->slots[idx].term_at == 0 && p->requests == 0) {
        /* Died before serving anything: back off, doubling to a minute,
         * so a broken application does not fork-loop. */
        apr_uint32_t f = c->failures < 6 ? c->failures : 6;
        c->failures++;
        c->next_spawn = now + apr_time_from_sec(1 << f);
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0,
                     FCGIX_LOGNO(00154) "%s (pid %d) exited "
                     "at start with status %d; next start in %d s",
                     c->path, (int)p->pid, status, 1 << f);
    }
    else {
        if (p->requests > 0) {
            c->failures = 0;
        }
        if (c->lim.prespawn && c->lim.restart_delay) {
            /* FastCgiServer -restart-delay between restarts. */
            c->next_spawn = now + apr_time_from_sec(c->lim.restart_delay);
        }
        pm->cfg->log(FCGIX_PM_LOG_INFO, 0,
                     FCGIX_LOGNO(00155) "%s (pid %d) ended: "
                     "%s, %u requests", c->path, (int)p->pid,
                     fcgix_sb_exit_str((fcgix_exit_e)p->exit_why),
                     p->requests);
    }
    sock_unlink(sock_path(pm, idx, pbuf, sizeof(pbuf)), &pm->slots[idx].sock);
    pm->slots[idx].term_at = 0;
    pm->slots[idx].ours = 0;
    if (c->nprocs > 0) {
        c->nprocs--;
    }
    if (sb->total_procs > 0) {
        sb->total_procs--;
    }
    p->state = FCGIX_PROC_DEAD;
    __sync_synchronize();
    p->pid = 0;
    p->state = FCGIX_PROC_FREE;
    fcgix_sb_wake(c);
}

static void reap(pm_t *pm, apr_time_t now)
{
    fcgix_sb_t *sb = pm->sb;
    int status, i, n = (int)sb->hiwater;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (i = 0; i < n; i++) {
            if (sb->procs[i].pid == pid) {
                slot_gone(pm, &sb->procs[i], status, now);
                break;
            }
        }
    }
    /* Adopted processes (spawned by a PM before us) are not our
     * children: notice their end with kill(0). */
    for (i = 0; i < n; i++) {
        fcgix_sb_proc_t *p = &sb->procs[i];
        if (p->pid > 0 && !pm->slots[i].ours
            && kill((pid_t)p->pid, 0) < 0 && errno == ESRCH) {
            slot_gone(pm, p, 0, now);
        }
    }
}

/* Timeouts, retirement, the grace period and dead httpd children. */
static void scan(pm_t *pm, apr_time_t now)
{
    fcgix_sb_t *sb = pm->sb;
    apr_time_t grace = apr_time_from_sec(pm->cfg->kill_grace);
    int i, n = (int)sb->hiwater;

    /* Processes of each class that stay (not already on their way out):
     * the idle timeout never takes a class below its minimum, even when
     * several processes go idle in the same tick. (The lifetime replaces
     * processes whatever the minimum.) */
    apr_uint32_t staying[FCGIX_SB_MAX_CLASSES];

    memset(staying, 0, sizeof(staying));
    for (i = 0; i < n; i++) {
        fcgix_sb_proc_t *p = &sb->procs[i];
        if (p->pid > 0 && p->state != FCGIX_PROC_RETIRING
            && p->state != FCGIX_PROC_DEAD && !pm->slots[i].term_at) {
            staying[p->cls]++;
        }
    }
    for (i = 0; i < n; i++) {
        fcgix_sb_proc_t *p = &sb->procs[i];
        fcgix_sb_class_t *c = &sb->classes[p->cls];
        pm_slot_t *ps = &pm->slots[i];
        apr_uint32_t st = p->state;

        if (p->pid <= 0) {
            continue;
        }
        if (ps->term_at && now - ps->term_at > grace) {
            kill((pid_t)p->pid, SIGKILL);
            continue;
        }
        switch (st) {
        case FCGIX_PROC_IDLE:
            if (c->lim.idle_timeout && staying[p->cls] > c->lim.min_procs
                && now - p->last_active
                   > apr_time_from_sec(c->lim.idle_timeout)
                && __sync_bool_compare_and_swap(&p->state, st,
                                                FCGIX_PROC_RETIRING)) {
                staying[p->cls]--;
                terminate(pm, p, FCGIX_EXIT_IDLE, now);
            }
            else if (c->lim.lifetime
                     && now - p->started > apr_time_from_sec(c->lim.lifetime)
                     && __sync_bool_compare_and_swap(&p->state, st,
                                                     FCGIX_PROC_RETIRING)) {
                staying[p->cls]--;
                terminate(pm, p, FCGIX_EXIT_LIFETIME, now);
            }
            break;
        case FCGIX_PROC_BUSY:
            if (c->lim.busy_timeout && p->busy_since
                && now - p->busy_since
                   > apr_time_from_sec(c->lim.busy_timeout)) {
                terminate(pm, p, FCGIX_EXIT_BUSY, now);
            }
            else if (p->owner > 0 && kill((pid_t)p->owner, 0) < 0
                     && errno == ESRCH) {
                /* The httpd child died mid-request: nobody will give
                 * this process back, and it may be stuck. */
                terminate(pm, p, FCGIX_EXIT_BUSY, now);
            }
            break;
        case FCGIX_PROC_RETIRING:
        case FCGIX_PROC_DEAD:
            terminate(pm, p, (fcgix_exit_e)(p->exit_why
                                            ? p->exit_why
                                            : FCGIX_EXIT_UNREACHABLE),
                      now);
            break;
        default:
            break;
        }
    }
}

static int idle_count(pm_t *pm, fcgix_sb_class_t *c)
{
    fcgix_sb_t *sb = pm->sb;
    int i, n = (int)sb->hiwater, idle = 0;

    for (i = 0; i < n; i++) {
        if (sb->procs[i].cls == c->id
            && sb->procs[i].state == FCGIX_PROC_IDLE) {
            idle++;
        }
    }
    return idle;
}

/* Spawns for waiting requests. The minimum only keeps processes from
 * the idle timeout (as mod_fcgid's): a class nobody uses costs nothing. */
static void provide(pm_t *pm, fcgix_sb_class_t *c, apr_time_t now)
{
    int idle = idle_count(pm, c);

    while (spawn_allowed(pm, c, now)
           && ((apr_uint32_t)idle < c->waiters
               || (c->lim.prespawn && c->nprocs < c->lim.min_procs))) {
        apr_uint32_t before = c->nprocs;
        spawn(pm, c);
        if (c->nprocs == before) {
            break;
        }
        idle++;
    }
}

/* ------------------------------------------------------------------ */
/* Messages and the loop                                               */
/* ------------------------------------------------------------------ */

/* The global environment plus the class's own (class values win). */
static void set_class_env(pm_t *pm, fcgix_sb_class_t *c, const char *list,
                          size_t len)
{
    const char *const *g = pm->cfg->env;
    size_t n = 0, i, k = 0;
    const char *e;
    char **env;

    for (e = list; e < list + len && *e; e += strlen(e) + 1) {
        n++;
    }
    for (i = 0; g[i]; i++) {
        n++;
    }
    if ((env = calloc(n + 1, sizeof(char *))) == NULL) {
        return;
    }
    for (e = list; e < list + len && *e; e += strlen(e) + 1) {
        env[k++] = strdup(e);
    }
    for (i = 0; g[i]; i++) {
        size_t nl = strcspn(g[i], "=");
        size_t j;
        int dup = 0;
        for (j = 0; j < k && !dup; j++) {
            dup = !strncmp(env[j], g[i], nl) && env[j][nl] == '=';
        }
        if (!dup) {
            env[k++] = strdup(g[i]);
        }
    }
    env[k] = NULL;
    if (pm->class_env[c->id]) {
        for (i = 0; pm->class_env[c->id][i]; i++) {
            free(pm->class_env[c->id][i]);
        }
        free(pm->class_env[c->id]);
    }
    pm->class_env[c->id] = env;
}

static void on_message(pm_t *pm, fcgix_pm_msg_t *m, apr_time_t now)
{
    fcgix_sb_class_t *c;

    if (m->type != FCGIX_PM_MSG_SPAWN) {
        return; /* LOOK: the loop scans anyway */
    }
    /* Never trust an identity from a message: without suexec every
     * application runs as httpd's User/Group; with it, suexec applies its
     * own rules to the identity. Root, user or group, never. */
    if (!(m->lim.flags & FCGIX_SPAWN_SUEXEC)) {
        m->uid = pm->cfg->uid;
        m->gid = pm->cfg->gid;
    }
    if (m->uid == 0 || m->gid == 0) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0,
                     FCGIX_LOGNO(00184) "refusing to run %s as uid %u gid "
                     "%u", m->path, m->uid, m->gid);
        return;
    }
    c = fcgix_sb_pm_class_create(pm->sb, m->key, m->path, m->inode, m->dev,
                                 m->uid, m->gid, m->vhost, &m->lim);
    if (c == NULL) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00156) "too many "
                     "application classes (%d); cannot serve %s",
                     FCGIX_SB_MAX_CLASSES, m->path);
        return;
    }
    if (m->env[0]) {
        set_class_env(pm, c, m->env, sizeof(m->env));
    }
    provide(pm, c, now);
}

/* The parent of @p pid, from /proc, or -1. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512], *p;
    ssize_t n;
    int fd;
    long pp;

    apr_snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if ((fd = open(path, O_RDONLY)) < 0) {
        return -1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and ')'. */
    if ((p = strrchr(buf, ')')) == NULL
        || sscanf(p + 1, " %*c %ld", &pp) != 1) {
        return -1;
    }
    return (pid_t)pp;
}

/*
 * One message, only from an httpd child: the socket is writable by
 * httpd's User, which CGI scripts and unwrapped applications share, so the
 * kernel-attested sender must be a child of our httpd parent.
 * @return 1 for a message, 0 for one dropped, -1 when none is waiting
 */
static int recv_msg(pm_t *pm, fcgix_pm_msg_t *m)
{
    char cbuf[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov;
    struct msghdr mh;
    struct cmsghdr *cm;
    ssize_t got;

    memset(&mh, 0, sizeof(mh));
    iov.iov_base = m;
    iov.iov_len = sizeof(*m);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof(cbuf);
    got = recvmsg(pm->ctl, &mh, MSG_DONTWAIT);
    if (got < 0) {
        return -1;
    }
    for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cr;
            memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
            /* The parent registers FastCgiServer definitions itself. */
            if (got == (ssize_t)sizeof(*m)
                && (cr.pid == pm->parent
                    || parent_of(cr.pid) == pm->parent)) {
                return 1;
            }
            pm->cfg->log(FCGIX_PM_LOG_WARN, 0,
                         FCGIX_LOGNO(00185) "ignored a message from pid "
                         "%ld: not an httpd child", (long)cr.pid);
            return 0;
        }
    }
    return 0;
}

static void shutdown_all(pm_t *pm)
{
    fcgix_sb_t *sb = pm->sb;
    apr_time_t deadline;
    int i, n = (int)sb->hiwater, left;

    for (i = 0; i < n; i++) {
        if (sb->procs[i].pid > 0) {
            sb->procs[i].exit_why = FCGIX_EXIT_SHUTDOWN;
            kill((pid_t)sb->procs[i].pid, SIGTERM);
        }
    }
    deadline = apr_time_now() + apr_time_from_sec(pm->cfg->kill_grace);
    do {
        reap(pm, apr_time_now());
        for (left = 0, i = 0; i < n; i++) {
            left += sb->procs[i].pid > 0;
        }
        if (left) {
            apr_sleep(apr_time_from_msec(50));
        }
    } while (left && apr_time_now() < deadline);
    for (i = 0; i < n; i++) {
        if (sb->procs[i].pid > 0) {
            kill((pid_t)sb->procs[i].pid, SIGKILL);
        }
    }
    /* Reap what we killed: an unreaped child would stay a zombie under
     * an init that does not reap (containers). */
    deadline = apr_time_now() + apr_time_from_sec(2);
    while (apr_time_now() < deadline) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid < 0 && errno == ECHILD) {
            break;
        }
        if (pid <= 0) {
            apr_sleep(apr_time_from_msec(10));
        }
    }
    for (i = 0; i < n; i++) {
        char pbuf[256];
        sock_unlink(sock_path(pm, i, pbuf, sizeof(pbuf)), &pm->slots[i].sock);
    }
    sock_unlink(pm->cfg->ctl_path, &pm->ctl_id);
}

static int open_ctl(pm_t *pm)
{
    int on = 1;
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    apr_cpystrn(sa.sun_path, pm->cfg->ctl_path, sizeof(sa.sun_path));
    unlink(pm->cfg->ctl_path);
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0
        || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0
        || chown(pm->cfg->ctl_path, pm->cfg->uid, pm->cfg->gid) < 0
        || chmod(pm->cfg->ctl_path, 0600) < 0) {
        close(fd);
        return -1;
    }
    sock_remember(pm->cfg->ctl_path, &pm->ctl_id);
    return fd;
}

static void pm_main(pm_t *pm)
{
    fcgix_sb_t *sb = pm->sb;
    struct sigaction sa;
    int i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* httpd's restart signals are for httpd: the PM stays. */
    signal(SIGHUP, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGWINCH, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    setpgid(0, 0);

    if ((pm->ctl = open_ctl(pm)) < 0) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, errno,
                     FCGIX_LOGNO(00157) "cannot bind the "
                     "process manager socket %s", pm->cfg->ctl_path);
        _exit(2);
    }
    /* Adopt what a previous PM left running, sockets included. */
    for (i = 0; i < (int)sb->hiwater; i++) {
        char pbuf[256];
        pm->slots[i].ours = 0;
        pm->slots[i].term_at = 0;
        sock_remember(sock_path(pm, i, pbuf, sizeof(pbuf)),
                      &pm->slots[i].sock);
    }
    sb->pm_pid = (apr_int32_t)getpid();
    sb->pm_generation++;
    pm->cfg->log(FCGIX_PM_LOG_NOTICE, 0, FCGIX_LOGNO(00158) "process manager "
                 "started (pid %d, %u processes adopted)", (int)getpid(),
                 sb->total_procs);

    while (!pm_stop) {
        struct pollfd pfd;
        fcgix_pm_msg_t m;
        apr_time_t now;
        ssize_t got;

        pfd.fd = pm->ctl;
        pfd.events = POLLIN;
        pfd.revents = 0;
        poll(&pfd, 1, PM_TICK_MS);
        now = apr_time_now();
        while ((got = recv_msg(pm, &m)) > 0) {
            on_message(pm, &m, now);
        }
        reap(pm, now);
        scan(pm, now);
        for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
            fcgix_sb_class_t *c = &sb->classes[i];
            if (c->state == 1 && (c->waiters || (c->lim.prespawn
                                                 && c->nprocs
                                                    < c->lim.min_procs))) {
                provide(pm, c, now);
            }
        }
        if (getppid() != pm->parent) {
            break; /* httpd is gone: so are we, and the applications */
        }
    }
    shutdown_all(pm);
    pm->cfg->log(FCGIX_PM_LOG_NOTICE, 0, FCGIX_LOGNO(00159) "process manager "
                 "(pid %d) exiting", (int)getpid());
    _exit(0);
}

apr_status_t fcgix_pm_start(const fcgix_pm_cfg_t *cfg, apr_pool_t *p,
                            apr_proc_t *proc)
{
    apr_status_t rv;
    pid_t parent = getpid();

    rv = apr_proc_fork(proc, p);
    if (rv == APR_INCHILD) {
        pm_t *pm = calloc(1, sizeof(*pm));
        if (pm == NULL || apr_pool_create(&pm->p, NULL) != APR_SUCCESS) {
            _exit(2);
        }
        pm->cfg = cfg;
        pm->sb = cfg->sb;
        pm->parent = parent;
        pm_main(pm);
    }
    return rv == APR_INPARENT ? APR_SUCCESS : rv;
}

apr_status_t fcgix_pm_send(const char *ctl_path, const fcgix_pm_msg_t *msg)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ssize_t n;

    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    apr_cpystrn(sa.sun_path, ctl_path, sizeof(sa.sun_path));
    n = sendto(fd, msg, sizeof(*msg), MSG_DONTWAIT, (struct sockaddr *)&sa,
               sizeof(sa));
    close(fd);
    return n == (ssize_t)sizeof(*msg) ? APR_SUCCESS
                                      : APR_FROM_OS_ERROR(errno);
}
