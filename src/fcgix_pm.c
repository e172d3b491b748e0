/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * The process manager's entry and loop: the fork, becoming httpd's User
 * for good, the datagram socket, and the tick that receives messages,
 * reaps, judges and starts (fcgix_pm_int.h says which file does what).
 */

#define _GNU_SOURCE 1
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "fcgix_logno.h"
#include "fcgix_pm.h"
#include "fcgix_pm_int.h"
#include "fcgix_policy.h"

/* How often the PM looks at timeouts, minimums and its parent. */
#define PM_TICK_MS 200
/* A slot a previous PM left in use is not reused before this: an httpd
 * child may still hold it and give it back. */
#define PM_SLOT_QUARANTINE apr_time_from_sec(10)

static volatile sig_atomic_t pm_stop;

static void on_term(int sig)
{
    (void)sig;
    pm_stop = 1;
}

/* ------------------------------------------------------------------ */
/* Privileges                                                         */
/* ------------------------------------------------------------------ */

int fcgix_pm_set_caps(apr_uint32_t mask)
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
            || fcgix_pm_set_caps(keep_kill ? (1u << CAP_KILL) : 0) < 0) {
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
/* The loop                                                           */
/* ------------------------------------------------------------------ */

/* Reaps (through fcgix_pm_watch_gone, like the loop does) until none of
 * our processes is left or @p deadline. @return how many are left */
static int reap_until(pm_t *pm, apr_time_t deadline)
{
    int i, left;

    for (;;) {
        fcgix_pm_watch_reap(pm, apr_time_now());
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
    fcgix_pm_sock_unlink(pm->cfg->ctl_path, &pm->ctl_id);
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
    fcgix_pm_sock_remember(pm->cfg->ctl_path, &pm->ctl_id);
    return fd;
}

/*
 * Slots and classes a previous PM left: their processes were in its
 * process group, which the httpd parent ended when it died. Nothing of
 * them is believed: the slots rest a while (a child may still give one
 * back) and the classes wait for a message that defines them again.
 * Their sockets go: the dead PM could not remove them, and a slot not
 * used again would keep its file for good.
 */
static void forget_previous(pm_t *pm, apr_time_t now)
{
    fcgix_sb_t *sb = pm->sb;
    char pbuf[256];
    int i;

    for (i = 0; i < (int)pm->nslots; i++) {
        fcgix_sb_proc_t *p = &sb->procs[i];
        if (p->state != FCGIX_PROC_FREE || p->pid != 0) {
            unlink(fcgix_pm_sock_path(pm, i, pbuf, sizeof(pbuf)));
            p->state = FCGIX_PROC_DEAD;
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            p->pid = 0;
            pm->slots[i].free_at = now + PM_SLOT_QUARANTINE;
        }
    }
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        sb->classes[i].nprocs = 0;
        sb->classes[i].failures = 0;
        sb->classes[i].next_spawn = 0;
    }
    sb->hiwater = 0;
    sb->total_procs = 0;
}

/* Everything before the first tick: signals, identity, the socket. Exits
 * when the PM cannot become User or bind its socket. */
static void pm_setup(pm_t *pm)
{
    fcgix_sb_t *sb = pm->sb;
    struct sigaction sa;

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
}

/* Sleeps until a message, an application's stderr or the tick, and
 * relays what the applications wrote. */
static void pm_wait(pm_t *pm)
{
    int i, nfd = 1;

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
            fcgix_pm_exec_relay(&pm->slots[pm->pfd_slot[i]]);
        }
    }
}

/* One round: messages, reaping, verdicts, starts for waiters, classes.
 * @return 0 when the PM is to end */
static int pm_tick(pm_t *pm, apr_time_t now)
{
    fcgix_sb_t *sb = pm->sb;
    fcgix_pm_msg_t m;
    int got, i;

    /* Deaths first: a child that could not reach a process which died at
     * start asks for another at once, and that must meet the back-off
     * the death sets, not start a second doomed process. */
    fcgix_pm_watch_reap(pm, now);
    while ((got = fcgix_pm_msg_recv(pm, &m)) >= 0) {
        if (got > 0) {
            fcgix_pm_msg_handle(pm, &m, got == 2, now);
        }
        memset(&m, 0, sizeof(m));
    }
    fcgix_pm_watch_reap(pm, now);
    fcgix_pm_watch_scan(pm, now);
    fcgix_pm_watch_kill(pm, now);
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        pm_class_t *c = &pm->classes[i];
        fcgix_policy_limits_t pl;
        if (!c->used) {
            continue;
        }
        /* Wanted even were every process busy: worth a look. */
        fcgix_pm_class_limits(c, &pl);
        if (fcgix_policy_provide(&pl, c->nprocs, 0,
                                 sb->classes[i].waiters)) {
            fcgix_pm_watch_provide(pm, i, now);
        }
    }
    fcgix_pm_class_tidy(pm, now);
    if (pm->leaving && !fcgix_pm_class_left(pm)) {
        pm->cfg->log(FCGIX_PM_LOG_NOTICE, 0, FCGIX_LOGNO(00198)
                     "mod_fcgix is no longer loaded: the process manager "
                     "ends");
        return 0;
    }
    /* Repairs what a child may have written over. */
    sb->hiwater = pm->hiwater;
    sb->total_procs = pm->total;
    /* httpd is gone: so are we, and the applications */
    return getppid() == pm->parent;
}

static void pm_main(pm_t *pm)
{
    pm_setup(pm);
    while (!pm_stop) {
        pm_wait(pm);
        if (!pm_tick(pm, apr_time_now())) {
            break;
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
