/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Starting an application (see fcgix_pm_int.h): its listen socket, bound
 * before the fork and dup'ed to fd 0; its identity (User, or a tenant
 * through suexec), rlimits and priority; the close-on-exec pipe on which
 * a failure before or at exec is reported; and its stderr, relayed to the
 * error log httpd has now.
 */

#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "fcgix_logno.h"
#include "fcgix_pm.h"
#include "fcgix_pm_int.h"
#include "fcgix_policy.h"

#define PM_LISTEN_BACKLOG 128

/* What a spawned child could not do before it became the application:
 * reported to the PM through a close-on-exec pipe. */
enum {
    PM_STEP_NONE = 0,
    PM_STEP_SETUP,    /* descriptors, capabilities */
    PM_STEP_ARGV,     /* the wrapper's command line */
    PM_STEP_CHDIR,    /* the program's directory */
    PM_STEP_EXEC      /* execve() */
};

/* ------------------------------------------------------------------ */
/* Sockets                                                            */
/* ------------------------------------------------------------------ */

/* The PM runs for months: no pool allocation per spawn. */
const char *fcgix_pm_sock_path(pm_t *pm, int idx, char *buf, size_t len)
{
    apr_snprintf(buf, len, "%s/p%d.sock", pm->cfg->ipc_dir, idx);
    return buf;
}

/* The inode of a bound unix socket, from the path it was bound to: fstat
 * of a socket descriptor gives the socket's inode, not the file's. */
void fcgix_pm_sock_remember(const char *path, sock_id_t *id)
{
    struct stat st;

    id->ino = 0;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        id->dev = st.st_dev;
        id->ino = st.st_ino;
    }
}

/* Removes the socket file at @p path if it is still the one we made. */
void fcgix_pm_sock_unlink(const char *path, sock_id_t *id)
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
    fcgix_pm_sock_remember(path, id);
    return fd;
}

/* ------------------------------------------------------------------ */
/* Spawning                                                           */
/* ------------------------------------------------------------------ */

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

/* In the forked child: its descriptors and signals as an application
 * expects them. @return where the report pipe is now (fd 3), or -1 */
static int exec_fds(int lfd, int efd, int rfd)
{
    int devnull;
    sigset_t none;

    /* Our capability is for the PM alone. */
    if (fcgix_pm_set_caps(0) < 0) {
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
    return rfd;
}

/* In the forked child: the program's command line (@p n words), and its
 * directory as the current one. */
static char **exec_argv(pm_t *pm, const pm_class_t *c, int rfd, int *n)
{
    char **argv, *dir, *slash;

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
    for (*n = 0; argv[*n]; (*n)++) {
        ;
    }
    dir = apr_pstrdup(pm->p, argv[0]);
    if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
        *slash = '\0';
        if (chdir(dir) < 0) {
            child_fail(rfd, PM_STEP_CHDIR);
        }
    }
    return argv;
}

/* In the forked child: RLimit* and -priority, which can only lower. */
static void exec_limits(const pm_class_t *c)
{
    static const int res[3] = { RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC };
    int i;

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
}

/* In the forked child: @p argv (@p n words) as httpd's suexec runs it. */
static char **exec_suexec(pm_t *pm, const pm_class_t *c, char **argv,
                          int n, int rfd)
{
    const fcgix_pm_cfg_t *cfg = pm->cfg;
    char **xargv, *slash;
    int i;

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
                            (c->lim.flags & FCGIX_SPAWN_USERDIR) ? "~" : "",
                            (unsigned long)c->uid);
    xargv[2] = apr_psprintf(pm->p, "%lu", (unsigned long)c->gid);
    xargv[3] = (slash = strrchr(argv[0], '/')) ? slash + 1 : argv[0];
    for (i = 1; i < n; i++) {
        xargv[i + 3] = argv[i];
    }
    return xargv;
}

/* In the forked child: become the application. Never returns. @p efd is
 * the write end of its stderr pipe, @p rfd where a failure is reported
 * (close-on-exec: a successful exec closes it). */
static void exec_app(pm_t *pm, const pm_class_t *c, int lfd, int efd,
                     int rfd)
{
    const fcgix_pm_cfg_t *cfg = pm->cfg;
    char **argv, **xargv;
    const char *prog;
    int n;

    rfd = exec_fds(lfd, efd, rfd);
    argv = exec_argv(pm, c, rfd, &n);
    exec_limits(c);
    prog = argv[0];
    xargv = argv;
    if (c->lim.flags & FCGIX_SPAWN_SUEXEC) {
        xargv = exec_suexec(pm, c, argv, n, rfd);
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

/* Forks the application of @p c on listen socket @p lfd (closed here)
 * for slot @p ps, and learns whether its exec failed. @return its pid, or
 * -1 when the fork failed (logged, the slot left as it was) */
static pid_t spawn_fork(pm_t *pm, const pm_class_t *c, pm_slot_t *ps,
                        const char *path, int lfd)
{
    int rpipe[2], epipe[2];
    pid_t pid;

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
        fcgix_pm_sock_unlink(path, &ps->sock);
        if (rpipe[0] >= 0) {
            close(rpipe[0]);
        }
        if (ps->err_fd >= 0) {
            close(ps->err_fd);
            ps->err_fd = -1;
        }
        return -1;
    }
    exec_report(ps, rpipe[0]);
    return pid;
}

/* Slot @p idx holds process @p pid of class @p ci now: our table first,
 * then the scoreboard's copy (not yet published to children). */
static void spawn_record(pm_t *pm, int ci, int idx, pid_t pid,
                         apr_time_t now)
{
    fcgix_sb_t *sb = pm->sb;
    pm_class_t *c = &pm->classes[ci];
    pm_slot_t *ps = &pm->slots[idx];
    fcgix_sb_proc_t *p = &sb->procs[idx];

    ps->pid = pid;
    ps->cls = (apr_uint32_t)ci;
    ps->started = now;
    ps->term_at = 0;
    ps->settled = 0;
    ps->master = 0;
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
    p->sock = (apr_uint32_t)idx;
    c->nprocs++;
    pm->total++;
    sb->total_procs = pm->total;
    sb->classes[ci].last_spawn = now;
    __atomic_add_fetch(&sb->classes[ci].spawns, 1, __ATOMIC_RELAXED);
    fcgix_pm_class_mirror(pm, ci);
}

/*
 * A master of N workers (pm_class_t.workers) has N slots: its own, and
 * N - 1 more whose requests go to its socket. Each is taken and given
 * back by children like any slot, so no more than N requests are ever
 * on the master at once; they come and go with the master (its reap
 * frees them, fcgix_pm_watch_gone). Fewer free slots: fewer at once.
 */
static void spawn_workers(pm_t *pm, int ci, int lead, apr_time_t now)
{
    pm_class_t *c = &pm->classes[ci];
    apr_uint32_t k;

    for (k = 1; k < c->workers; k++) {
        int idx = slot_claim(pm, now);
        pm_slot_t *ps;
        if (idx < 0) {
            break;
        }
        ps = &pm->slots[idx];
        ps->err_fd = -1;
        ps->exec_errno = 0;
        ps->sock.ino = 0;
        spawn_record(pm, ci, idx, pm->slots[lead].pid, now);
        ps->master = lead + 1;
        pm->sb->procs[idx].sock = (apr_uint32_t)lead;
        fcgix_sb_pm_publish(pm->sb, &pm->sb->procs[idx]);
    }
}

void fcgix_pm_exec_spawn(pm_t *pm, int ci, apr_time_t now)
{
    fcgix_sb_t *sb = pm->sb;
    pm_class_t *c = &pm->classes[ci];
    int idx = slot_claim(pm, now);
    char pbuf[256];
    const char *path;
    pm_slot_t *ps;
    int lfd;
    pid_t pid;

    if (idx < 0) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00150) "scoreboard full "
                     "(%u processes); cannot spawn %s", pm->nslots,
                     c->path);
        __atomic_add_fetch(&sb->classes[ci].spawn_failures, 1,
                           __ATOMIC_RELAXED);
        return;
    }
    ps = &pm->slots[idx];
    path = fcgix_pm_sock_path(pm, idx, pbuf, sizeof(pbuf));
    if ((lfd = listen_unix(path, &ps->sock)) < 0) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, errno,
                     FCGIX_LOGNO(00151) "cannot create "
                     "socket %s for %s", path, c->path);
        __atomic_add_fetch(&sb->classes[ci].spawn_failures, 1,
                           __ATOMIC_RELAXED);
        return;
    }
    if ((pid = spawn_fork(pm, c, ps, path, lfd)) < 0) {
        __atomic_add_fetch(&sb->classes[ci].spawn_failures, 1,
                           __ATOMIC_RELAXED);
        return;
    }
    fcgix_policy_count_spawn(&c->rate);
    spawn_record(pm, ci, idx, pid, now);
    if (ps->exec_errno) {
        /* It never became the application: no request is sent to it,
         * and the back-off starts now, not at the next reap. */
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            ;
        }
        fcgix_pm_watch_gone(pm, idx, status, now);
        return;
    }
    /* Listening already: a request can connect now and is served the
     * moment the application reaches accept(). */
    fcgix_sb_pm_publish(sb, &sb->procs[idx]);
    spawn_workers(pm, ci, idx, now);
    fcgix_sb_wake(&sb->classes[ci]);
    pm->cfg->log(FCGIX_PM_LOG_INFO, 0, FCGIX_LOGNO(00153) "spawned %s pid %d "
                 "(slot %d, %u of max %u)", c->path, (int)pid, idx,
                 c->nprocs, c->lim.max_procs);
}

/* ------------------------------------------------------------------ */
/* Applications' stderr                                               */
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
void fcgix_pm_exec_relay(pm_slot_t *ps)
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
void fcgix_pm_exec_why(const pm_class_t *c, const pm_slot_t *ps,
                       int status, char *buf, size_t len)
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
