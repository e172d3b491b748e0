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
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
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
#include "fcgix_policy.h"
#include "fcgix_sync.h"

/* How often the PM looks at timeouts, minimums and its parent. */
#define PM_TICK_MS 200
#define PM_LISTEN_BACKLOG 128
/* A slot a previous PM left in use is not reused before this: an httpd
 * child may still hold it and give it back. */
#define PM_SLOT_QUARANTINE apr_time_from_sec(10)
/* After DETACH, how long a new configuration may take to arrive before
 * the PM takes it that mod_fcgix is no longer loaded. */
#define PM_DETACH_GRACE apr_time_from_sec(10)
/* Virtual hosts one configuration may name. */
#define PM_MAX_VHOSTS 65536


/* Descriptors one message may carry (one is used; more are closed). */
#define PM_MAX_FDS 4

#define PM_FLAGS_KNOWN \
    (FCGIX_SPAWN_CMDLINE | FCGIX_SPAWN_SUEXEC | FCGIX_SPAWN_USERDIR)

/* Which socket file we made: another httpd (a stop and a start that
 * overlap) may have made a new one at the same path since. */
typedef struct {
    dev_t dev;
    ino_t ino; /* 0: none known */
} sock_id_t;

/*
 * A class as the PM knows it. The scoreboard holds a copy for the httpd
 * children to read; anything in shared memory may have been rewritten by
 * code running in a child, so every decision here uses this one.
 */
typedef struct {
    int used;
    int superseded;       /* a newer configuration of the same program */
    int retired;          /* the configuration no longer has it */
    apr_uint32_t gen;     /* static: configuration that last defined it */
    apr_time_t empty_since; /* winding down with nothing left, since */
    apr_uint64_t key;
    char path[FCGIX_SB_PATH_MAX];
    apr_uint64_t inode;
    apr_uint64_t dev;
    apr_uint32_t uid;
    apr_uint32_t gid;
    apr_uint32_t vhost;
    fcgix_sb_limits_t lim;
    char **env;           /* malloc'ed, or NULL: the global one */
    apr_uint32_t nprocs;
    apr_uint32_t failures;
    apr_time_t next_spawn;
    char last_error[FCGIX_SB_ERROR_MAX];
    fcgix_policy_rate_t rate;   /* starts in the current second */
    fcgix_policy_usage_t usage; /* the kill policy's load */
} pm_class_t;

/* A process slot as the PM knows it (never read back from shm). */
typedef struct {
    pid_t pid;            /* our child, not yet reaped; 0: none */
    apr_uint32_t cls;     /* index into pm_t.classes */
    apr_time_t started;
    apr_time_t term_at;   /* when SIGTERM was sent, 0: not yet */
    apr_time_t free_at;   /* quarantine of a slot we did not fill */
    sock_id_t sock;       /* its listen socket's file */
    int err_fd;           /* read end of its stderr, or -1 */
    int exec_errno;       /* why it could not be started, or 0 */
    int exec_step;        /* PM_STEP_* of that failure */
    char line[160];       /* the stderr line being read */
    size_t line_len;
    char last_line[160];  /* the last complete one */
} pm_slot_t;

/* What a spawned child could not do before it became the application:
 * reported to the PM through a close-on-exec pipe. */
enum {
    PM_STEP_NONE = 0,
    PM_STEP_SETUP,    /* descriptors, capabilities */
    PM_STEP_ARGV,     /* the wrapper's command line */
    PM_STEP_CHDIR,    /* the program's directory */
    PM_STEP_EXEC      /* execve() */
};

typedef struct {
    const fcgix_pm_cfg_t *cfg;
    fcgix_sb_t *sb;
    apr_pool_t *p;
    pid_t parent;
    int ctl;
    sock_id_t ctl_id;
    apr_uint32_t hiwater; /* slots [0, hiwater) ever used by us */
    apr_uint32_t total;   /* our live processes */
    apr_uint32_t nslots;  /* process slots, from our own memory */
    pm_slot_t *slots;
    pm_class_t classes[FCGIX_SB_MAX_CLASSES];
    struct pollfd *pfd;   /* nslots + 1 */
    int *pfd_slot;
    /* The configuration, as the parent tells it (VHOSTS ... CONFIG). */
    apr_uint32_t gen;       /* bumped by the first VHOSTS of a new one */
    int config_open;        /* VHOSTS seen, CONFIG not yet */
    apr_uint32_t *pending;  /* virtual host keys being received */
    size_t npending, cap_pending;
    apr_uint32_t *live;     /* those of the configuration in force */
    size_t nlive;
    int have_live;          /* a configuration was ever complete */
    apr_time_t detach_at;   /* DETACH received, no CONFIG since; 0: none */
    int leaving;            /* mod_fcgix was unloaded: end everything */
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

/* ------------------------------------------------------------------ */
/* Privileges                                                          */
/* ------------------------------------------------------------------ */

static int set_caps(apr_uint32_t mask)
{
    struct __user_cap_header_struct h;
    struct __user_cap_data_struct d[2];

    memset(&h, 0, sizeof(h));
    memset(d, 0, sizeof(d));
    h.version = _LINUX_CAPABILITY_VERSION_3;
    d[0].effective = d[0].permitted = mask;
    return (int)syscall(SYS_capset, &h, d);
}

/*
 * Becomes httpd's User for good, right after the fork. Ending an
 * application that suexec started as a tenant needs permission to signal
 * another uid: that one capability (CAP_KILL) is kept when suexec is in
 * use, and it is used only on our own, not yet reaped children. It is not
 * inherited over exec. Root cannot come back: real, effective and saved
 * ids are all User's and CAP_SETUID is gone.
 */
static int drop_privileges(const fcgix_pm_cfg_t *cfg)
{
    int keep_kill = cfg->suexec_bin != NULL;

    if (geteuid() == 0) {
        gid_t g = (gid_t)cfg->gid;
        if ((keep_kill && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
            || ((cfg->user_name == NULL || cfg->user_name[0] == '#'
                 || initgroups(cfg->user_name, g) < 0)
                && setgroups(1, &g) < 0)
            || setresgid(g, g, g) < 0
            || setresuid((uid_t)cfg->uid, (uid_t)cfg->uid,
                         (uid_t)cfg->uid) < 0
            || set_caps(keep_kill ? (1u << CAP_KILL) : 0) < 0) {
            return -1;
        }
        prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
    }
    /* Others of our uid (httpd children, CGI scripts) may not ptrace us
     * or read our memory: it is the one thing the PM trusts. */
    prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
    prctl(PR_SET_NAME, (unsigned long)"fcgix-pm", 0L, 0L, 0L);
    if (getuid() == 0 || geteuid() == 0 || getgid() == 0
        || getegid() == 0 || setuid(0) == 0 || seteuid(0) == 0) {
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Spawning                                                            */
/* ------------------------------------------------------------------ */

/* The inode of a bound unix socket, from the path it was bound to: fstat
 * of a socket descriptor gives the socket's inode, not the file's. */
static void sock_remember_path(const char *path, sock_id_t *id)
{
    struct stat st;

    id->ino = 0;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        id->dev = st.st_dev;
        id->ino = st.st_ino;
    }
}

/* Removes the socket file at @p path if it is still the one we made. */
static void sock_unlink(const char *path, sock_id_t *id)
{
    struct stat st;

    if (id->ino && lstat(path, &st) == 0 && st.st_dev == id->dev
        && st.st_ino == id->ino) {
        unlink(path);
    }
    id->ino = 0;
}

/*
 * We are httpd's User here, in a directory only User may enter, so the
 * socket is created with the right owner and mode (umask 0177): nothing is
 * changed by path afterwards that a swapped-in symlink could redirect.
 */
static int listen_unix(const char *path, sock_id_t *id)
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
        || listen(fd, PM_LISTEN_BACKLOG) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    sock_remember_path(path, id);
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

/* In the forked child: tell the PM which step failed, and end. */
static void child_fail(int rfd, int step)
{
    int what[2];

    what[0] = step;
    what[1] = errno;
    if (write(rfd, what, sizeof(what)) < 0) {
        /* the PM then learns only the exit status */
    }
    _exit(126);
}

/* In the forked child: become the application. Never returns. @p efd is
 * the write end of its stderr pipe, @p rfd where a failure is reported
 * (close-on-exec: a successful exec closes it). */
static void exec_app(pm_t *pm, const pm_class_t *c, int lfd, int efd,
                     int rfd)
{
    static const int res[3] = { RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC };
    const fcgix_pm_cfg_t *cfg = pm->cfg;
    char **argv, **xargv, *dir, *slash;
    const char *prog;
    int devnull, i, n;
    sigset_t none;

    /* Our capability is for the PM alone. */
    if (set_caps(0) < 0) {
        child_fail(rfd, PM_STEP_SETUP);
    }
    /* It stays in the PM's process group: if the PM dies, the httpd
     * parent ends the whole group, so nothing is left unmanaged. */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    umask(022);

    /* FastCGI: the listen socket is fd 0; stderr goes through the PM to
     * the error log httpd has now, and the PM keeps its last line. The
     * report pipe moves to fd 3 to survive close_from(). */
    if (dup2(lfd, 0) < 0 || (efd >= 0 && dup2(efd, 2) < 0)
        || (rfd >= 0 && rfd != 3 && dup3(rfd, 3, O_CLOEXEC) < 0)) {
        child_fail(rfd, PM_STEP_SETUP);
    }
    rfd = rfd >= 0 ? 3 : -1;
    devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
        dup2(devnull, 1);
    }
    close_from(rfd >= 0 ? 4 : 3);

    if (c->lim.flags & FCGIX_SPAWN_CMDLINE) {
        /* A wrapper: "php-cgi -c /etc/php.ini" and the like. */
        if (apr_tokenize_to_argv(c->path, &argv, pm->p) != APR_SUCCESS
            || argv[0] == NULL) {
            errno = EINVAL;
            child_fail(rfd, PM_STEP_ARGV);
        }
    }
    else {
        argv = apr_pcalloc(pm->p, 2 * sizeof(char *));
        argv[0] = apr_pstrdup(pm->p, c->path);
    }
    for (n = 0; argv[n]; n++) {
        ;
    }
    dir = apr_pstrdup(pm->p, argv[0]);
    if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
        *slash = '\0';
        if (chdir(dir) < 0) {
            child_fail(rfd, PM_STEP_CHDIR);
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
        /* FastCgiServer -priority: lower only. */
        setpriority(PRIO_PROCESS, 0, c->lim.priority > 19
                                     ? 19 : c->lim.priority);
    }
    prog = argv[0];
    xargv = argv;
    if (c->lim.flags & FCGIX_SPAWN_SUEXEC) {
        /* suexec switches to the target user itself (and applies its own
         * rules to it); it insists on being called by httpd's own user,
         * with the program relative to the current directory. */
        if (c->uid == 0 || c->gid == 0 || cfg->suexec_bin == NULL) {
            errno = EPERM;
            child_fail(rfd, PM_STEP_SETUP);
        }
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
    }
    /* The PM is User already; this is the last line of defence. */
    if (getuid() == 0 || geteuid() == 0 || getgid() == 0
        || getegid() == 0) {
        errno = EPERM;
        child_fail(rfd, PM_STEP_SETUP);
    }
    execve(prog, xargv, c->env ? c->env : (char *const *)cfg->env);
    child_fail(rfd, PM_STEP_EXEC);
}

/* Processes of every class of one user. */
static apr_uint32_t user_procs(pm_t *pm, apr_uint32_t uid)
{
    apr_uint32_t n = 0;
    int i;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        const pm_class_t *c = &pm->classes[i];
        if (c->used && c->uid == uid) {
            n += c->nprocs;
        }
    }
    return n;
}

/* Superseded or retired: idle processes end, none is kept or started
 * ahead of demand, and the class goes once it is empty. */
static int winding_down(const pm_class_t *c)
{
    return c->superseded || c->retired;
}

/* The class's limits as the policy takes them: our own copy, never the
 * scoreboard's. */
static void policy_limits(const pm_class_t *c, fcgix_policy_limits_t *pl)
{
    pl->min_procs = c->lim.min_procs;
    pl->max_procs = c->lim.max_procs;
    pl->max_user_procs = c->lim.max_user_procs;
    pl->idle_timeout = c->lim.idle_timeout;
    pl->lifetime = c->lim.lifetime;
    pl->busy_timeout = c->lim.busy_timeout;
    pl->prespawn = c->lim.prespawn;
    pl->restart_delay = c->lim.restart_delay;
    pl->kill_interval = c->lim.kill_interval;
    pl->single_threshold = c->lim.single_threshold;
    pl->multi_threshold = c->lim.multi_threshold;
    pl->winding_down = winding_down(c);
}

static int spawn_allowed(pm_t *pm, pm_class_t *c, apr_time_t now)
{
    fcgix_policy_limits_t pl;
    fcgix_policy_load_t load;

    policy_limits(c, &pl);
    load.nprocs = c->nprocs;
    load.total = pm->total;
    load.max_total = pm->cfg->max_procs;
    load.user_procs = c->lim.max_user_procs ? user_procs(pm, c->uid) : 0;
    load.next_spawn = c->next_spawn;
    return fcgix_policy_allow_spawn(&pl, &load, &c->rate, now);
}

/* The scoreboard's view of class @p ci: what children read. */
static void class_mirror(pm_t *pm, int ci)
{
    const pm_class_t *c = &pm->classes[ci];
    fcgix_sb_class_t *s = &pm->sb->classes[ci];

    s->nprocs = c->nprocs;
    s->failures = c->failures;
    s->next_spawn = c->next_spawn;
    if (strcmp(s->last_error, c->last_error)) {
        memcpy(s->last_error, c->last_error, sizeof(s->last_error));
    }
}

static int slot_claim(pm_t *pm, apr_time_t now)
{
    int i;

    for (i = 0; i < (int)pm->nslots; i++) {
        pm_slot_t *ps = &pm->slots[i];
        if (ps->pid == 0 && ps->free_at <= now) {
            return i;
        }
    }
    return -1;
}

static void slot_gone(pm_t *pm, int idx, int status, apr_time_t now);

/* Waits (briefly: the child is between fork and exec) for the report of
 * a failed start; end of file means exec() succeeded. */
static void exec_report(pm_slot_t *ps, int rfd)
{
    struct pollfd pfd;
    int what[2];

    if (rfd < 0) {
        return;
    }
    pfd.fd = rfd;
    pfd.events = POLLIN;
    if (poll(&pfd, 1, 2000) > 0
        && read(rfd, what, sizeof(what)) == (ssize_t)sizeof(what)) {
        ps->exec_step = what[0];
        ps->exec_errno = what[1] ? what[1] : EINVAL;
    }
    close(rfd);
}

static void spawn(pm_t *pm, int ci, apr_time_t now)
{
    fcgix_sb_t *sb = pm->sb;
    pm_class_t *c = &pm->classes[ci];
    int idx = slot_claim(pm, now);
    char pbuf[256];
    const char *path;
    fcgix_sb_proc_t *p;
    pm_slot_t *ps;
    int lfd, rpipe[2], epipe[2];
    pid_t pid;

    if (idx < 0) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00150) "scoreboard full "
                     "(%u processes); cannot spawn %s", pm->nslots,
                     c->path);
        return;
    }
    ps = &pm->slots[idx];
    p = &sb->procs[idx];
    path = sock_path(pm, idx, pbuf, sizeof(pbuf));
    if ((lfd = listen_unix(path, &ps->sock)) < 0) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, errno,
                     FCGIX_LOGNO(00151) "cannot create "
                     "socket %s for %s", path, c->path);
        return;
    }
    if (pipe2(rpipe, O_CLOEXEC) < 0) {
        rpipe[0] = rpipe[1] = -1;
    }
    if (pipe2(epipe, O_CLOEXEC) < 0) {
        epipe[0] = epipe[1] = -1;
    }
    pid = fork();
    if (pid == 0) {
        exec_app(pm, c, lfd, epipe[1], rpipe[1]);
    }
    /* The socket lives on in the application only: when it exits,
     * connecting fails at once instead of queueing for nobody. */
    close(lfd);
    if (rpipe[1] >= 0) {
        close(rpipe[1]);
    }
    if (epipe[1] >= 0) {
        close(epipe[1]);
    }
    ps->err_fd = epipe[0];
    if (ps->err_fd >= 0) {
        fcntl(ps->err_fd, F_SETFL, O_NONBLOCK);
    }
    ps->line_len = 0;
    ps->last_line[0] = '\0';
    ps->exec_errno = 0;
    ps->exec_step = PM_STEP_NONE;
    if (pid < 0) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, errno, FCGIX_LOGNO(00152) "fork failed "
                     "for %s", c->path);
        sock_unlink(path, &ps->sock);
        if (rpipe[0] >= 0) {
            close(rpipe[0]);
        }
        if (ps->err_fd >= 0) {
            close(ps->err_fd);
            ps->err_fd = -1;
        }
        return;
    }
    exec_report(ps, rpipe[0]);
    fcgix_policy_count_spawn(&c->rate);
    ps->pid = pid;
    ps->cls = (apr_uint32_t)ci;
    ps->started = now;
    ps->term_at = 0;
    if ((apr_uint32_t)idx >= pm->hiwater) {
        pm->hiwater = (apr_uint32_t)idx + 1;
    }
    sb->hiwater = pm->hiwater;
    p->state = FCGIX_PROC_FREE;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    p->cls = (apr_uint32_t)ci;
    p->pid = (apr_int32_t)pid;
    p->owner = 0;
    p->started = p->last_active = now;
    p->busy_since = 0;
    p->requests = 0;
    p->exit_why = FCGIX_EXIT_NONE;
    p->exit_status = 0;
    c->nprocs++;
    pm->total++;
    sb->total_procs = pm->total;
    sb->classes[ci].last_spawn = now;
    class_mirror(pm, ci);
    if (ps->exec_errno) {
        /* It never became the application: no request is sent to it,
         * and the back-off starts now, not at the next reap. */
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            ;
        }
        slot_gone(pm, idx, status, now);
        return;
    }
    /* Listening already: a request can connect now and is served the
     * moment the application reaches accept(). */
    fcgix_sb_pm_publish(sb, p);
    fcgix_sb_wake(&sb->classes[ci]);
    pm->cfg->log(FCGIX_PM_LOG_INFO, 0, FCGIX_LOGNO(00153) "spawned %s pid %d "
                 "(slot %d, %u of max %u)", c->path, (int)pid, idx,
                 c->nprocs, c->lim.max_procs);
}

/* ------------------------------------------------------------------ */
/* Applications' stderr                                                */
/* ------------------------------------------------------------------ */

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* Keeps the last complete, non-empty line of what the process wrote. */
static void track_lines(pm_slot_t *ps, const char *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        char ch = buf[i];
        if (ch == '\n') {
            if (ps->line_len) {
                memcpy(ps->last_line, ps->line, ps->line_len);
                ps->last_line[ps->line_len] = '\0';
            }
            ps->line_len = 0;
        }
        else if (ch != '\r' && ps->line_len < sizeof(ps->line) - 1) {
            ps->line[ps->line_len++] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
        }
    }
}

/*
 * Passes what the process wrote to stderr on to ours, which is the error
 * log httpd has now (a graceful restart hands us the new one). Bounded per
 * call so one chatty process cannot hold the PM; it blocks on its pipe
 * meanwhile, as it would on a slow disk.
 */
static void relay_stderr(pm_slot_t *ps)
{
    char buf[8192];
    int rounds;

    for (rounds = 0; ps->err_fd >= 0 && rounds < 8; rounds++) {
        ssize_t n = read(ps->err_fd, buf, sizeof(buf));
        if (n > 0) {
            write_all(2, buf, (size_t)n);
            track_lines(ps, buf, (size_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        close(ps->err_fd); /* end of file: nobody writes to it any more */
        ps->err_fd = -1;
    }
}

/* Why a process that never served ended, in words. */
static void exit_words(const pm_class_t *c, const pm_slot_t *ps, int status,
                       char *buf, size_t len)
{
    static const char *const steps[] = {
        "", "preparing it", "parsing the command line", "entering its "
        "directory", "executing it"
    };
    char sig[64];
    size_t n;

    if (ps->exec_errno) {
        struct stat st;
        const char *hint = "";
        if (ps->exec_step == PM_STEP_EXEC && ps->exec_errno == ENOENT
            && !(c->lim.flags & FCGIX_SPAWN_CMDLINE)
            && stat(c->path, &st) == 0) {
            /* The file is there: its #! interpreter (or loader) is not. */
            hint = " (bad interpreter?)";
        }
        apr_snprintf(buf, len, "failed %s: %s%s",
                     steps[ps->exec_step <= PM_STEP_EXEC ? ps->exec_step : 0],
                     strerror(ps->exec_errno), hint);
    }
    else if (WIFSIGNALED(status)) {
        const char *name = sigabbrev_np(WTERMSIG(status));
        apr_snprintf(sig, sizeof(sig), "SIG%s", name ? name : "?");
        apr_snprintf(buf, len, "killed by signal %s (%s)", sig,
                     strsignal(WTERMSIG(status)));
    }
    else if (WIFEXITED(status)) {
        apr_snprintf(buf, len, "exit code %d%s", WEXITSTATUS(status),
                     (c->lim.flags & FCGIX_SPAWN_SUEXEC)
                     && WEXITSTATUS(status) >= 100
                     ? " (from suexec? see its log)" : "");
    }
    else {
        apr_snprintf(buf, len, "wait status %d", status);
    }
    n = strlen(buf);
    if (ps->last_line[0] && n + 20 < len) {
        apr_snprintf(buf + n, len - n, "; last stderr: %s", ps->last_line);
    }
}

/* ------------------------------------------------------------------ */
/* Ending processes                                                    */
/* ------------------------------------------------------------------ */

/* Only ever a pid from our own table: a child of ours not yet reaped,
 * so the pid cannot have been reused by anyone else. */
static void terminate(pm_t *pm, int idx, fcgix_exit_e why, apr_time_t now)
{
    pm_slot_t *ps = &pm->slots[idx];

    if (ps->term_at == 0 && ps->pid > 0) {
        pm->sb->procs[idx].exit_why = why;
        ps->term_at = now;
        kill(ps->pid, SIGTERM);
    }
}

/* Slot @p idx's process was reaped: free the slot. */
static void slot_gone(pm_t *pm, int idx, int status, apr_time_t now)
{
    fcgix_sb_t *sb = pm->sb;
    pm_slot_t *ps = &pm->slots[idx];
    fcgix_sb_proc_t *p = &sb->procs[idx];
    int ci = (int)ps->cls;
    pm_class_t *c = &pm->classes[ci];
    apr_uint32_t served = p->requests;
    apr_uint32_t why = p->exit_why;
    fcgix_policy_limits_t pl;
    fcgix_policy_exit_t ex;
    fcgix_policy_starts_t starts;
    uint32_t delay;
    char pbuf[256];

    if (why == FCGIX_EXIT_NONE || why > FCGIX_EXIT_FAILED) {
        why = WIFSIGNALED(status) ? FCGIX_EXIT_SIGNAL : FCGIX_EXIT_SELF;
    }
    p->exit_why = why;
    p->exit_status = status;
    relay_stderr(ps);
    if (ps->err_fd >= 0) {
        /* Children it left may still hold the pipe: no more waiting. */
        close(ps->err_fd);
        ps->err_fd = -1;
    }
    policy_limits(c, &pl);
    ex.started = ps->started;
    ex.never_ran = ps->exec_errno != 0;
    ex.ended_by_pm = ps->term_at != 0;
    ex.served = served;
    starts.failures = c->failures;
    starts.next_spawn = c->next_spawn;
    delay = fcgix_policy_reaped(&pl, &ex, &starts, now);
    c->failures = starts.failures;
    c->next_spawn = starts.next_spawn;
    if (delay) {
        /* Died before serving anything: the back-off keeps a broken
         * application from fork-looping; say why where the requests
         * that meet the back-off can say it too. */
        exit_words(c, ps, status, c->last_error, sizeof(c->last_error));
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0,
                     FCGIX_LOGNO(00154) "%s (pid %d) could not start: %s; "
                     "next start in %d s", c->path, (int)ps->pid,
                     c->last_error, (int)delay);
    }
    else {
        if (served > 0) {
            c->last_error[0] = '\0';
        }
        pm->cfg->log(FCGIX_PM_LOG_INFO, 0,
                     FCGIX_LOGNO(00155) "%s (pid %d) ended: "
                     "%s, %u requests", c->path, (int)ps->pid,
                     fcgix_sb_exit_str((fcgix_exit_e)why), served);
    }
    sock_unlink(sock_path(pm, idx, pbuf, sizeof(pbuf)), &ps->sock);
    ps->pid = 0;
    ps->term_at = 0;
    if (c->nprocs > 0) {
        c->nprocs--;
    }
    if (pm->total > 0) {
        pm->total--;
    }
    sb->total_procs = pm->total;
    class_mirror(pm, ci);
    p->state = FCGIX_PROC_DEAD;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    p->pid = 0;
    p->state = FCGIX_PROC_FREE;
    fcgix_sb_wake(&sb->classes[ci]);
}

static int slot_of_pid(pm_t *pm, pid_t pid)
{
    int i, n = (int)pm->hiwater;

    for (i = 0; i < n; i++) {
        if (pm->slots[i].pid == pid) {
            return i;
        }
    }
    return -1;
}

static void reap(pm_t *pm, apr_time_t now)
{
    int status, idx;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if ((idx = slot_of_pid(pm, pid)) >= 0) {
            slot_gone(pm, idx, status, now);
        }
    }
}

/* The state a child gave a slot; a value we never wrote counts as BUSY,
 * the state in which the PM ends a process only for a reason. */
static apr_uint32_t slot_state(const fcgix_sb_proc_t *p)
{
    apr_uint32_t st = p->state;

    return st >= FCGIX_PROC_IDLE && st <= FCGIX_PROC_DEAD ? st
                                                          : FCGIX_PROC_BUSY;
}

/* Timeouts, retirement, the grace period and dead httpd children. */
static void scan(pm_t *pm, apr_time_t now)
{
    fcgix_sb_t *sb = pm->sb;
    int i, n = (int)pm->hiwater;

    /* Processes of each class that stay (not already on their way out):
     * the idle timeout never takes a class below its minimum, even when
     * several processes go idle in the same tick. (The lifetime replaces
     * processes whatever the minimum.) */
    apr_uint32_t staying[FCGIX_SB_MAX_CLASSES];

    memset(staying, 0, sizeof(staying));
    for (i = 0; i < n; i++) {
        apr_uint32_t st = slot_state(&sb->procs[i]);
        if (pm->slots[i].pid > 0 && st != FCGIX_PROC_RETIRING
            && st != FCGIX_PROC_DEAD && !pm->slots[i].term_at) {
            staying[pm->slots[i].cls]++;
        }
    }
    for (i = 0; i < n; i++) {
        fcgix_sb_proc_t *p = &sb->procs[i];
        pm_slot_t *ps = &pm->slots[i];
        apr_uint32_t ci = ps->cls;
        const pm_class_t *c = &pm->classes[ci];
        apr_uint32_t st = slot_state(p);
        fcgix_policy_limits_t pl;
        fcgix_policy_proc_t pp;
        fcgix_policy_verdict_e v;
        apr_int32_t owner;

        if (ps->pid <= 0) {
            continue;
        }
        policy_limits(c, &pl);
        /* Times and state are the children's word: at worst they end a
         * process of theirs early or keep it, within the class's limits. */
        pp.state = st == FCGIX_PROC_IDLE ? FCGIX_POLICY_IDLE
                   : st == FCGIX_PROC_BUSY ? FCGIX_POLICY_BUSY
                   : st == FCGIX_PROC_RETIRING || st == FCGIX_PROC_DEAD
                     ? FCGIX_POLICY_LEAVING : FCGIX_POLICY_OTHER;
        pp.started = ps->started;
        pp.last_active = p->last_active;
        pp.busy_since = p->busy_since;
        pp.term_at = ps->term_at;
        v = fcgix_policy_judge(&pl, &pp, staying[ci], pm->cfg->kill_grace,
                               now);
        switch (v) {
        case FCGIX_POLICY_KILL:
            kill(ps->pid, SIGKILL);
            break;
        case FCGIX_POLICY_END_IDLE:
        case FCGIX_POLICY_END_LIFETIME:
            /* Only if no child took it meanwhile. */
            if (fcgix_sync_cas(&p->state, st, FCGIX_PROC_RETIRING)) {
                staying[ci]--;
                terminate(pm, i, v == FCGIX_POLICY_END_LIFETIME
                                 ? FCGIX_EXIT_LIFETIME : FCGIX_EXIT_IDLE,
                          now);
            }
            break;
        case FCGIX_POLICY_END_BUSY:
            terminate(pm, i, FCGIX_EXIT_BUSY, now);
            break;
        case FCGIX_POLICY_END_ASKED:
            terminate(pm, i, p->exit_why && p->exit_why <= FCGIX_EXIT_FAILED
                             ? (fcgix_exit_e)p->exit_why
                             : FCGIX_EXIT_UNREACHABLE,
                      now);
            break;
        default:
            owner = p->owner;
            if (st == FCGIX_PROC_BUSY && owner > 0
                && kill((pid_t)owner, 0) < 0 && errno == ESRCH) {
                /* The httpd child died mid-request: nobody will give
                 * this process back, and it may be stuck. (Signal 0
                 * only asks whether the pid exists.) */
                terminate(pm, i, FCGIX_EXIT_BUSY, now);
            }
            break;
        }
    }
}

/*
 * FastCgiConfig's kill policy: over each -killInterval, the share of the
 * class's processes that were busy at the PM's ticks; below the threshold
 * (the single one with one process left), one idle process above the
 * minimum ends.
 */
static void kill_policy(pm_t *pm, apr_time_t now)
{
    apr_uint32_t busy[FCGIX_SB_MAX_CLASSES], live[FCGIX_SB_MAX_CLASSES];
    int i, n = (int)pm->hiwater;

    memset(busy, 0, sizeof(busy));
    memset(live, 0, sizeof(live));
    for (i = 0; i < n; i++) {
        pm_slot_t *ps = &pm->slots[i];
        if (ps->pid > 0 && !ps->term_at) {
            live[ps->cls]++;
            busy[ps->cls] += slot_state(&pm->sb->procs[i]) == FCGIX_PROC_BUSY;
        }
    }
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        pm_class_t *c = &pm->classes[i];
        fcgix_policy_limits_t pl;
        apr_uint32_t threshold = 0, load = 0;
        int j, victim = -1;

        if (!c->used) {
            continue;
        }
        policy_limits(c, &pl);
        if (!fcgix_policy_kill(&pl, &c->usage, busy[i], live[i], now, &load,
                               &threshold)) {
            continue;
        }
        /* The one idle the longest. */
        for (j = 0; j < n; j++) {
            fcgix_sb_proc_t *p = &pm->sb->procs[j];
            if (pm->slots[j].pid > 0 && pm->slots[j].cls == (apr_uint32_t)i
                && !pm->slots[j].term_at && p->state == FCGIX_PROC_IDLE
                && (victim < 0 || p->last_active
                                  < pm->sb->procs[victim].last_active)) {
                victim = j;
            }
        }
        if (victim >= 0
            && fcgix_sync_cas(&pm->sb->procs[victim].state,
                              FCGIX_PROC_IDLE, FCGIX_PROC_RETIRING)) {
            pm->cfg->log(FCGIX_PM_LOG_INFO, 0, FCGIX_LOGNO(00204) "%s: "
                         "busy %u%% of the last %u s (threshold %u%%): "
                         "one of its %u processes ends", c->path, load,
                         c->lim.kill_interval, threshold, live[i]);
            terminate(pm, victim, FCGIX_EXIT_IDLE, now);
        }
    }
}

static apr_uint32_t idle_count(pm_t *pm, int ci)
{
    apr_uint32_t idle = 0;
    int i, n = (int)pm->hiwater;

    for (i = 0; i < n; i++) {
        if (pm->slots[i].pid > 0 && pm->slots[i].cls == (apr_uint32_t)ci
            && pm->sb->procs[i].state == FCGIX_PROC_IDLE) {
            idle++;
        }
    }
    return idle;
}

/* Spawns for waiting requests. The minimum only keeps processes from
 * the idle timeout (as mod_fcgid's): a class nobody uses costs nothing.
 * The waiter count is the children's word, trusted only as a number of
 * spawns, which every limit above still bounds. */
static void provide(pm_t *pm, int ci, apr_time_t now)
{
    pm_class_t *c = &pm->classes[ci];
    fcgix_policy_limits_t pl;
    apr_uint32_t want, k;

    /* A process that already died at start puts the class in back-off:
     * learn it before starting another. */
    reap(pm, now);
    policy_limits(c, &pl);
    want = fcgix_policy_provide(&pl, c->nprocs, idle_count(pm, ci),
                                pm->sb->classes[ci].waiters);
    for (k = 0; spawn_allowed(pm, c, now) && k < want; k++) {
        apr_uint32_t before = c->nprocs;
        spawn(pm, ci, now);
        if (c->nprocs == before) {
            break;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

/* Length of the env list in @p list (NAME=value\0 ... \0), or -1 when it
 * is not ended within @p len. */
static long env_list_len(const char *list, size_t len)
{
    size_t off = 0;

    while (off < len) {
        const char *e = memchr(list + off, '\0', len - off);
        size_t n;
        if (e == NULL) {
            return -1;
        }
        n = (size_t)(e - (list + off));
        if (n == 0) {
            return (long)off + 1;
        }
        if (memchr(list + off, '=', n) == NULL) {
            return -1;
        }
        off += n + 1;
    }
    return -1;
}

/* The bytes of a class's limits that define it: the struct has no
 * padding before its last field, only after. */
#define LIM_BYTES \
    (offsetof(fcgix_sb_limits_t, priority) + sizeof(apr_int32_t))

static apr_uint64_t fnv1a(apr_uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    size_t i;

    for (i = 0; i < n; i++) {
        h = (h ^ b[i]) * 1099511628211ULL;
    }
    return h;
}

apr_uint64_t fcgix_pm_msg_key(const fcgix_pm_msg_t *m)
{
    /* FNV-1a over everything that defines the class: a message that
     * differs in anything (limits and environment included) names
     * another class, so no message can change an existing one. */
    apr_uint64_t h = 1469598103934665603ULL;
    apr_uint32_t ids[3];
    apr_uint64_t ino[2];
    long envlen = env_list_len(m->env, sizeof(m->env));

    ids[0] = m->uid;
    ids[1] = m->gid;
    ids[2] = m->vhost;
    ino[0] = m->inode;
    ino[1] = m->dev;
    h = fnv1a(h, m->path, strnlen(m->path, sizeof(m->path)));
    h = fnv1a(h, ids, sizeof(ids));
    h = fnv1a(h, ino, sizeof(ino));
    h = fnv1a(h, &m->lim, LIM_BYTES);
    return fnv1a(h, m->env, envlen > 0 ? (size_t)envlen : 0);
}

/*
 * Everything a message says, checked before it is believed: it comes from
 * an httpd child, where any module (mod_php, mod_lua) can write anything.
 * @return NULL, or why it is refused
 */
static const char *msg_check(pm_t *pm, fcgix_pm_msg_t *m)
{
    const fcgix_sb_limits_t *l = &m->lim;
    struct stat st;
    int i;

    if (m->type != FCGIX_PM_MSG_SPAWN && m->type != FCGIX_PM_MSG_LOOK) {
        return "unknown message type"; /* LOGS was handled on receipt */
    }
    if (m->type == FCGIX_PM_MSG_LOOK) {
        return NULL;
    }
    if (memchr(m->path, '\0', sizeof(m->path)) == NULL) {
        return "program path not terminated";
    }
    if (m->path[0] != '/') {
        return "program path not absolute";
    }
    if (env_list_len(m->env, sizeof(m->env)) < 0) {
        return "malformed environment";
    }
    if ((l->flags & ~PM_FLAGS_KNOWN)
        || ((l->flags & FCGIX_SPAWN_USERDIR)
            && !(l->flags & FCGIX_SPAWN_SUEXEC))) {
        return "unknown flags";
    }
    if ((l->flags & FCGIX_SPAWN_SUEXEC) && pm->cfg->suexec_bin == NULL) {
        return "suexec is not enabled";
    }
    if (l->max_procs == 0 || l->max_procs > pm->nslots
        || l->min_procs > l->max_procs) {
        return "process limits out of range";
    }
    if (l->priority < 0 || l->priority > 19 || l->kill_interval > 86400
        || l->single_threshold > 100 || l->multi_threshold > 100) {
        return "limits out of range";
    }
    for (i = 0; i < 3; i++) {
        if (l->rlim[i][0] < -1 || l->rlim[i][1] < -1) {
            return "limits out of range";
        }
    }
    /* Without suexec, every application runs as User/Group; with it,
     * suexec applies its own rules to the identity. Root, never. */
    if (!(l->flags & FCGIX_SPAWN_SUEXEC)) {
        m->uid = pm->cfg->uid;
        m->gid = pm->cfg->gid;
    }
    if (m->uid == 0 || m->gid == 0) {
        return "uid or gid 0";
    }
    if (!(l->flags & FCGIX_SPAWN_CMDLINE)
        && (stat(m->path, &st) < 0 || !S_ISREG(st.st_mode)
            || (apr_uint64_t)st.st_ino != m->inode
            || (apr_uint64_t)st.st_dev != m->dev)) {
        return "not the program file it names";
    }
    return NULL;
}

/* The global environment plus the class's own (class values win). */
static char **class_env(const char *const *g, const char *list)
{
    size_t n = 0, i, k = 0;
    const char *e;
    char **env;

    if (!list[0]) {
        return NULL;
    }
    for (e = list; *e; e += strlen(e) + 1) {
        n++;
    }
    for (i = 0; g[i]; i++) {
        n++;
    }
    if ((env = calloc(n + 1, sizeof(char *))) == NULL) {
        return NULL;
    }
    for (e = list; *e; e += strlen(e) + 1) {
        env[k++] = strdup(e);
    }
    for (i = 0; g[i]; i++) {
        size_t nl = strcspn(g[i], "=");
        size_t j;
        int dup = 0;
        for (j = 0; j < k && !dup; j++) {
            dup = env[j] && !strncmp(env[j], g[i], nl) && env[j][nl] == '=';
        }
        if (!dup) {
            env[k++] = strdup(g[i]);
        }
    }
    for (i = 0; i < k; i++) {
        if (env[i] == NULL) { /* out of memory: no half environment */
            for (i = 0; i < k; i++) {
                free(env[i]);
            }
            free(env);
            return NULL;
        }
    }
    return env;
}

static int same_program(const pm_class_t *a, const pm_class_t *b)
{
    return a->inode == b->inode && a->dev == b->dev && a->uid == b->uid
           && a->gid == b->gid && a->vhost == b->vhost
           && a->lim.flags == b->lim.flags && !strcmp(a->path, b->path);
}

/* A new class from a checked message; its scoreboard copy is written from
 * ours. An index of the scoreboard that already has this key is reused
 * (children of an earlier PM may be waiting on it). */
static int class_create(pm_t *pm, const fcgix_pm_msg_t *m, apr_uint64_t key)
{
    fcgix_sb_class_t *s;
    pm_class_t *c;
    int i, ci = -1;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        s = &pm->sb->classes[i];
        if (!pm->classes[i].used && s->state == 1 && s->key == key) {
            ci = i;
            break;
        }
    }
    for (i = 0; ci < 0 && i < FCGIX_SB_MAX_CLASSES; i++) {
        if (!pm->classes[i].used && pm->sb->classes[i].state != 1) {
            ci = i;
        }
    }
    for (i = 0; ci < 0 && i < FCGIX_SB_MAX_CLASSES; i++) {
        if (!pm->classes[i].used) {
            ci = i; /* a scoreboard entry we never made */
        }
    }
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        if (pm->classes[i].used && pm->classes[i].key == key) {
            /* Another definition with this key: children find classes
             * by key, so it must stay unique, first come first served. */
            return -2;
        }
    }
    if (ci < 0) {
        return -1;
    }
    c = &pm->classes[ci];
    memset(c, 0, sizeof(*c));
    c->key = key;
    apr_cpystrn(c->path, m->path, sizeof(c->path));
    c->inode = m->inode;
    c->dev = m->dev;
    c->uid = m->uid;
    c->gid = m->gid;
    c->vhost = m->vhost;
    c->lim = m->lim;
    c->env = class_env(pm->cfg->env, m->env);
    c->used = 1;
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        pm_class_t *o = &pm->classes[i];
        if (i != ci && o->used && !o->superseded && same_program(o, c)) {
            /* A graceful restart changed its limits or environment: the
             * old class's processes end as they come free. */
            o->superseded = 1;
        }
    }

    s = &pm->sb->classes[ci];
    s->state = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    s->id = (apr_uint32_t)ci;
    s->key = key;
    apr_cpystrn(s->path, c->path, sizeof(s->path));
    s->inode = c->inode;
    s->dev = c->dev;
    s->uid = c->uid;
    s->gid = c->gid;
    s->vhost = c->vhost;
    s->lim = c->lim;
    s->starting = 0;
    class_mirror(pm, ci);
    fcgix_sb_pm_class_publish(pm->sb, s);
    pm->cfg->log(FCGIX_PM_LOG_DEBUG, 0, FCGIX_LOGNO(00202) "class %d: %s, "
                 "uid %u gid %u, virtual host %08x, flags %u", ci, c->path,
                 c->uid, c->gid, (unsigned)c->vhost, c->lim.flags);
    return ci;
}

static int class_find(pm_t *pm, apr_uint64_t key, const fcgix_pm_msg_t *m)
{
    int i;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        const pm_class_t *c = &pm->classes[i];
        if (c->used && c->key == key && !strcmp(c->path, m->path)
            && c->uid == m->uid && c->gid == m->gid && c->vhost == m->vhost
            && c->inode == m->inode && c->dev == m->dev
            && !memcmp(&c->lim, &m->lim, LIM_BYTES)) {
            return i;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* Following the configuration                                         */
/* ------------------------------------------------------------------ */

static int vhost_live(const pm_t *pm, apr_uint32_t vhost)
{
    size_t i;

    if (vhost == 0) {
        return 1; /* static classes: judged by their definition */
    }
    for (i = 0; i < pm->nlive; i++) {
        if (pm->live[i] == vhost) {
            return 1;
        }
    }
    return 0;
}

static void class_retire(pm_t *pm, int ci, const char *why)
{
    pm_class_t *c = &pm->classes[ci];

    if (!c->retired) {
        c->retired = 1;
        pm->cfg->log(FCGIX_PM_LOG_INFO, 0, FCGIX_LOGNO(00200) "class of %s "
                     "retired: %s", c->path, why);
    }
}

/* The new configuration is complete: what it no longer defines ends as
 * it comes free; what it defines again stays. */
static void config_commit(pm_t *pm)
{
    int i;

    free(pm->live);
    pm->live = pm->pending;
    pm->nlive = pm->npending;
    pm->pending = NULL;
    pm->npending = pm->cap_pending = 0;
    pm->have_live = 1;
    pm->config_open = 0;
    pm->detach_at = 0;
    pm->leaving = 0;
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        pm_class_t *c = &pm->classes[i];
        if (!c->used) {
            continue;
        }
        if (c->lim.prespawn && c->vhost == 0) {
            if (c->gen != pm->gen) {
                class_retire(pm, i, "no longer a configured FastCgiServer");
            }
        }
        else if (!vhost_live(pm, c->vhost)) {
            class_retire(pm, i, "its virtual host is no longer configured");
        }
        else {
            c->retired = 0;
        }
    }
}

static void on_config(pm_t *pm, const fcgix_pm_msg_t *m, apr_time_t now)
{
    size_t n, i;

    switch (m->type) {
    case FCGIX_PM_MSG_DETACH:
        pm->detach_at = now;
        break;
    case FCGIX_PM_MSG_VHOSTS:
        if (!pm->config_open) {
            pm->config_open = 1;
            pm->gen++;
            pm->npending = 0;
        }
        n = m->uid < FCGIX_PM_VHOSTS_PER_MSG ? m->uid
                                            : FCGIX_PM_VHOSTS_PER_MSG;
        if (pm->npending + n > PM_MAX_VHOSTS) {
            break;
        }
        if (pm->npending + n > pm->cap_pending) {
            size_t cap = (pm->npending + n) * 2;
            apr_uint32_t *v = realloc(pm->pending, cap * sizeof(*v));
            if (v == NULL) {
                break;
            }
            pm->pending = v;
            pm->cap_pending = cap;
        }
        for (i = 0; i < n; i++) {
            memcpy(&pm->pending[pm->npending++],
                   m->env + i * sizeof(apr_uint32_t), sizeof(apr_uint32_t));
        }
        break;
    case FCGIX_PM_MSG_CONFIG:
        if (pm->config_open) {
            config_commit(pm);
        }
        break;
    default:
        break;
    }
}

static void class_free(pm_t *pm, int ci)
{
    pm_class_t *c = &pm->classes[ci];
    fcgix_sb_class_t *s = &pm->sb->classes[ci];
    size_t i;

    s->state = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (c->env) {
        for (i = 0; c->env[i]; i++) {
            free(c->env[i]);
        }
        free(c->env);
    }
    memset(c, 0, sizeof(*c));
    fcgix_sb_wake(s);
}

/* Classes winding down that nothing uses any more are freed; after a
 * DETACH with no configuration following, everything winds down. */
static void tidy_classes(pm_t *pm, apr_time_t now)
{
    int i;

    if (pm->detach_at && !pm->leaving
        && now - pm->detach_at > PM_DETACH_GRACE) {
        pm->leaving = 1;
        for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
            if (pm->classes[i].used) {
                class_retire(pm, i, "mod_fcgix is no longer loaded");
            }
        }
    }
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        pm_class_t *c = &pm->classes[i];
        fcgix_sb_class_t *s = &pm->sb->classes[i];
        if (!c->used || !winding_down(c)) {
            continue;
        }
        if (fcgix_policy_free_class(!c->nprocs && !s->waiters
                                    && !s->inflight, pm->leaving,
                                    &c->empty_since, now)) {
            class_free(pm, i);
        }
    }
}

static int classes_left(const pm_t *pm)
{
    int i;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        if (pm->classes[i].used) {
            return 1;
        }
    }
    return 0;
}

/* A new class only as the configuration defines it: static ones from
 * the parent alone, dynamic ones of a configured virtual host. */
static const char *not_configured(const pm_t *pm, const fcgix_pm_msg_t *m)
{
    if (m->lim.prespawn || m->vhost == 0) {
        return "a FastCgiServer the configuration does not define";
    }
    if (pm->have_live && !vhost_live(pm, m->vhost)) {
        return "its virtual host is not configured";
    }
    return NULL;
}

static void on_message(pm_t *pm, fcgix_pm_msg_t *m, int from_parent,
                       apr_time_t now)
{
    const char *why;
    apr_uint64_t key;
    int ci;

    if (m->type == FCGIX_PM_MSG_VHOSTS || m->type == FCGIX_PM_MSG_CONFIG
        || m->type == FCGIX_PM_MSG_DETACH) {
        if (!from_parent) {
            pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00199) "refused "
                         "a configuration message from an httpd child");
            return;
        }
        on_config(pm, m, now);
        return;
    }
    if ((why = msg_check(pm, m)) != NULL) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00184) "refused a "
                     "message: %s", why);
        return;
    }
    if (m->type != FCGIX_PM_MSG_SPAWN) {
        return; /* LOOK: the loop scans anyway */
    }
    key = fcgix_pm_msg_key(m);
    if ((ci = class_find(pm, key, m)) < 0 && !from_parent
        && (why = not_configured(pm, m)) != NULL) {
        /* Old-generation children may still ask for what a restart
         * removed: worth a note, not an error. */
        pm->cfg->log(FCGIX_PM_LOG_INFO, 0, FCGIX_LOGNO(00205) "no class "
                     "for %s: %s", m->path, why);
        return;
    }
    if (ci < 0 && (pm->leaving || (ci = class_create(pm, m, key)) < 0)) {
        if (pm->leaving) {
            return;
        }
        if (ci == -2) {
            pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00193) "refused "
                         "a message: it would redefine the class of %s",
                         m->path);
            return;
        }
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00156) "too many "
                     "application classes (%d); cannot serve %s",
                     FCGIX_SB_MAX_CLASSES, m->path);
        return;
    }
    if (from_parent && m->lim.prespawn) {
        /* A static class the configuration in the making defines. */
        pm->classes[ci].gen = pm->gen;
        pm->classes[ci].retired = 0;
    }
    provide(pm, ci, now);
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
 * kernel-attested sender must be a child of our httpd parent. A datagram
 * of any other size is dropped whole.
 * @return 2 for a message from the parent, 1 from a child, 0 for one
 *         dropped, -1 when none is waiting
 */
static int recv_msg(pm_t *pm, fcgix_pm_msg_t *m)
{
    char cbuf[CMSG_SPACE(sizeof(struct ucred))
              + CMSG_SPACE(PM_MAX_FDS * sizeof(int))];
    struct iovec iov;
    struct msghdr mh;
    struct cmsghdr *cm;
    struct ucred cr;
    int fds[PM_MAX_FDS], nfds = 0, have_cr = 0, i, ok = 0;
    ssize_t got;

    memset(&mh, 0, sizeof(mh));
    iov.iov_base = m;
    iov.iov_len = sizeof(*m);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof(cbuf);
    got = recvmsg(pm->ctl, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (got < 0) {
        return -1;
    }
    for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET) {
            continue;
        }
        if (cm->cmsg_type == SCM_CREDENTIALS) {
            memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
            have_cr = 1;
        }
        else if (cm->cmsg_type == SCM_RIGHTS) {
            int n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (i = 0; i < n; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cm) + (size_t)i * sizeof(int),
                       sizeof(int));
                if (nfds < PM_MAX_FDS) {
                    fds[nfds++] = fd;
                }
                else {
                    close(fd);
                }
            }
        }
    }
    if (!have_cr) {
        /* nothing to judge the sender by */
    }
    else if (cr.pid != pm->parent && parent_of(cr.pid) != pm->parent) {
        pm->cfg->log(FCGIX_PM_LOG_WARN, 0,
                     FCGIX_LOGNO(00185) "ignored a message from pid "
                     "%ld: not an httpd child", (long)cr.pid);
    }
    else if (got != (ssize_t)sizeof(*m) || (mh.msg_flags & MSG_TRUNC)) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0,
                     FCGIX_LOGNO(00191) "refused a message of %ld "
                     "bytes from pid %ld", (long)got, (long)cr.pid);
    }
    else if (m->type == FCGIX_PM_MSG_LOGS) {
        /* Only the parent opens error logs; from anyone else the
         * descriptor could be anything. */
        if (cr.pid == pm->parent && nfds == 1
            && !(mh.msg_flags & MSG_CTRUNC) && pm->cfg->relog) {
            pm->cfg->relog(fds[0]);
        }
        else {
            pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00195) "refused "
                         "a log descriptor from pid %ld", (long)cr.pid);
        }
    }
    else {
        ok = cr.pid == pm->parent ? 2 : 1;
    }
    /* A descriptor sent with anything else is not kept: nobody may fill
     * our descriptor table. */
    for (i = 0; i < nfds; i++) {
        close(fds[i]);
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

/* Reaps (through slot_gone, like the loop does) until none of our
 * processes is left or @p deadline. @return how many are left */
static int reap_until(pm_t *pm, apr_time_t deadline)
{
    int i, left;

    for (;;) {
        reap(pm, apr_time_now());
        for (left = 0, i = 0; i < (int)pm->hiwater; i++) {
            left += pm->slots[i].pid > 0;
        }
        if (!left || apr_time_now() >= deadline) {
            return left;
        }
        apr_sleep(apr_time_from_msec(20));
    }
}

static void shutdown_all(pm_t *pm)
{
    fcgix_sb_t *sb = pm->sb;
    int i, n = (int)pm->hiwater;

    for (i = 0; i < n; i++) {
        if (pm->slots[i].pid > 0) {
            /* Ended by us: not a start failure, whatever its age. */
            sb->procs[i].exit_why = FCGIX_EXIT_SHUTDOWN;
            pm->slots[i].term_at = apr_time_now();
            kill(pm->slots[i].pid, SIGTERM);
        }
    }
    if (reap_until(pm, apr_time_now()
                       + apr_time_from_sec(pm->cfg->kill_grace))) {
        for (i = 0; i < n; i++) {
            if (pm->slots[i].pid > 0) {
                kill(pm->slots[i].pid, SIGKILL);
            }
        }
        /* Reap what we killed: an unreaped child would stay a zombie
         * under an init that does not reap (containers). */
        reap_until(pm, apr_time_now() + apr_time_from_sec(2));
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
        || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    sock_remember_path(pm->cfg->ctl_path, &pm->ctl_id);
    return fd;
}

/*
 * Slots and classes a previous PM left: their processes were in its
 * process group, which the httpd parent ended when it died. Nothing of
 * them is believed: the slots rest a while (a child may still give one
 * back) and the classes wait for a message that defines them again.
 */
static void forget_previous(pm_t *pm, apr_time_t now)
{
    fcgix_sb_t *sb = pm->sb;
    int i;

    for (i = 0; i < (int)pm->nslots; i++) {
        fcgix_sb_proc_t *p = &sb->procs[i];
        if (p->state != FCGIX_PROC_FREE || p->pid != 0) {
            p->state = FCGIX_PROC_DEAD;
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            p->pid = 0;
            pm->slots[i].free_at = now + PM_SLOT_QUARANTINE;
        }
    }
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        sb->classes[i].nprocs = 0;
        sb->classes[i].starting = 0;
        sb->classes[i].failures = 0;
        sb->classes[i].next_spawn = 0;
    }
    sb->hiwater = 0;
    sb->total_procs = 0;
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
    /* Its own process group, which its applications share: the parent
     * ends that group if the PM dies. */
    setpgid(0, 0);
    umask(0177);

    if (drop_privileges(pm->cfg) < 0) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, errno, FCGIX_LOGNO(00192) "process "
                     "manager cannot become uid %u gid %u; exiting",
                     pm->cfg->uid, pm->cfg->gid);
        _exit(2);
    }
    if ((pm->ctl = open_ctl(pm)) < 0) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, errno,
                     FCGIX_LOGNO(00157) "cannot bind the "
                     "process manager socket %s", pm->cfg->ctl_path);
        _exit(2);
    }
    forget_previous(pm, apr_time_now());
    sb->pm_pid = (apr_int32_t)getpid();
    sb->pm_generation++;
    pm->cfg->log(FCGIX_PM_LOG_NOTICE, 0, FCGIX_LOGNO(00158) "process manager "
                 "started (pid %d, uid %u)", (int)getpid(),
                 (unsigned)getuid());

    while (!pm_stop) {
        fcgix_pm_msg_t m;
        apr_time_t now;
        int got, nfd = 1;

        pm->pfd[0].fd = pm->ctl;
        pm->pfd[0].events = POLLIN;
        pm->pfd[0].revents = 0;
        for (i = 0; i < (int)pm->hiwater; i++) {
            if (pm->slots[i].err_fd >= 0) {
                pm->pfd[nfd].fd = pm->slots[i].err_fd;
                pm->pfd[nfd].events = POLLIN;
                pm->pfd[nfd].revents = 0;
                pm->pfd_slot[nfd++] = i;
            }
        }
        poll(pm->pfd, (nfds_t)nfd, PM_TICK_MS);
        for (i = 1; i < nfd; i++) {
            if (pm->pfd[i].revents) {
                relay_stderr(&pm->slots[pm->pfd_slot[i]]);
            }
        }
        now = apr_time_now();
        while ((got = recv_msg(pm, &m)) >= 0) {
            if (got > 0) {
                on_message(pm, &m, got == 2, now);
            }
            memset(&m, 0, sizeof(m));
        }
        reap(pm, now);
        scan(pm, now);
        kill_policy(pm, now);
        for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
            pm_class_t *c = &pm->classes[i];
            fcgix_policy_limits_t pl;
            if (!c->used) {
                continue;
            }
            /* Wanted even were every process busy: worth a look. */
            policy_limits(c, &pl);
            if (fcgix_policy_provide(&pl, c->nprocs, 0,
                                     sb->classes[i].waiters)) {
                provide(pm, i, now);
            }
        }
        tidy_classes(pm, now);
        if (pm->leaving && !classes_left(pm)) {
            pm->cfg->log(FCGIX_PM_LOG_NOTICE, 0, FCGIX_LOGNO(00198)
                         "mod_fcgix is no longer loaded: the process manager "
                         "ends");
            break;
        }
        /* Repairs what a child may have written over. */
        sb->hiwater = pm->hiwater;
        sb->total_procs = pm->total;
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
        int i;
        pm->cfg = cfg;
        pm->sb = cfg->sb;
        pm->parent = parent;
        pm->nslots = fcgix_sb_slots();
        pm->slots = calloc(pm->nslots, sizeof(*pm->slots));
        pm->pfd = calloc(pm->nslots + 1, sizeof(*pm->pfd));
        pm->pfd_slot = calloc(pm->nslots + 1, sizeof(*pm->pfd_slot));
        if (!pm->slots || !pm->pfd || !pm->pfd_slot) {
            _exit(2);
        }
        for (i = 0; i < (int)pm->nslots; i++) {
            pm->slots[i].err_fd = -1;
        }
        pm_main(pm);
    }
    return rv == APR_INPARENT ? APR_SUCCESS : rv;
}

/* One datagram to the PM's socket, with descriptor @p fd attached when
 * it is not -1. Never waits. */
static apr_status_t send_dgram(const char *ctl_path,
                               const fcgix_pm_msg_t *msg, int fd)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct sockaddr_un sa;
    struct msghdr mh;
    struct iovec iov;
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ssize_t n;

    if (s < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    apr_cpystrn(sa.sun_path, ctl_path, sizeof(sa.sun_path));
    memset(&mh, 0, sizeof(mh));
    iov.iov_base = (void *)msg;
    iov.iov_len = sizeof(*msg);
    mh.msg_name = &sa;
    mh.msg_namelen = sizeof(sa);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (fd != -1) {
        struct cmsghdr *cm;
        memset(cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof(cbuf);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    n = sendmsg(s, &mh, MSG_DONTWAIT);
    close(s);
    return n == (ssize_t)sizeof(*msg) ? APR_SUCCESS
                                      : APR_FROM_OS_ERROR(errno);
}

apr_status_t fcgix_pm_send(const char *ctl_path, const fcgix_pm_msg_t *msg)
{
    return send_dgram(ctl_path, msg, -1);
}

apr_status_t fcgix_pm_send_log(const char *ctl_path, int fd)
{
    fcgix_pm_msg_t m;

    memset(&m, 0, sizeof(m));
    m.type = FCGIX_PM_MSG_LOGS;
    return send_dgram(ctl_path, &m, fd);
}
