/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * The PM's watch over its processes (see fcgix_pm_int.h): it asks
 * fcgix_policy_* which process ends and how many start, and does it:
 * SIGTERM and SIGKILL to its own children only, CAS on the slots children
 * may take meanwhile, reaping, and the back-off a failed start earns.
 */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "apr_time.h"

#include "fcgix_logno.h"
#include "fcgix_pm.h"
#include "fcgix_pm_int.h"
#include "fcgix_policy.h"
#include "fcgix_sync.h"

/* How long a process a child found unreachable gets to be reaped before
 * another start (settle_dying): 50 x 1 ms. */
#define SETTLE_POLLS 50
#define SETTLE_STEP 1000

/* ------------------------------------------------------------------ */
/* Ending processes                                                   */
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
void fcgix_pm_watch_gone(pm_t *pm, int idx, int status, apr_time_t now)
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
    fcgix_pm_exec_relay(ps);
    if (ps->err_fd >= 0) {
        /* Children it left may still hold the pipe: no more waiting. */
        close(ps->err_fd);
        ps->err_fd = -1;
    }
    fcgix_pm_class_limits(c, &pl);
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
        fcgix_pm_exec_why(c, ps, status, c->last_error, sizeof(c->last_error));
        __atomic_add_fetch(&sb->classes[ci].spawn_failures, 1,
                           __ATOMIC_RELAXED);
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
    fcgix_pm_sock_unlink(fcgix_pm_sock_path(pm, idx, pbuf, sizeof(pbuf)),
                         &ps->sock);
    ps->pid = 0;
    ps->term_at = 0;
    if (c->nprocs > 0) {
        c->nprocs--;
    }
    if (pm->total > 0) {
        pm->total--;
    }
    sb->total_procs = pm->total;
    fcgix_pm_class_mirror(pm, ci);
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

void fcgix_pm_watch_reap(pm_t *pm, apr_time_t now)
{
    int status, idx;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if ((idx = slot_of_pid(pm, pid)) >= 0) {
            fcgix_pm_watch_gone(pm, idx, status, now);
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

/* Asks the policy about the live process in slot @p i and acts on its
 * verdict; @p staying counts its class's processes not on their way
 * out (one less for each this ends). */
static void judge(pm_t *pm, int i, apr_uint32_t *staying, apr_time_t now)
{
    fcgix_sb_proc_t *p = &pm->sb->procs[i];
    pm_slot_t *ps = &pm->slots[i];
    apr_uint32_t ci = ps->cls;
    apr_uint32_t st = slot_state(p);
    fcgix_policy_limits_t pl;
    fcgix_policy_proc_t pp;
    fcgix_policy_verdict_e v;
    apr_int32_t owner;

    fcgix_pm_class_limits(&pm->classes[ci], &pl);
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
    /* Signal 0 only asks whether the pid exists. */
    owner = p->owner;
    pp.owner_gone = st == FCGIX_PROC_BUSY && owner > 0
                    && kill((pid_t)owner, 0) < 0 && errno == ESRCH;
    v = fcgix_policy_judge(&pl, &pp, staying[ci], pm->cfg->kill_grace, now);
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
    case FCGIX_POLICY_END_ORPHAN:
        /* Nobody will give it back, and it may be stuck. */
        terminate(pm, i, FCGIX_EXIT_BUSY, now);
        break;
    default:
        break;
    }
}

/* Timeouts, retirement, the grace period and dead httpd children. */
void fcgix_pm_watch_scan(pm_t *pm, apr_time_t now)
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
        if (pm->slots[i].pid > 0) {
            judge(pm, i, staying, now);
        }
    }
}

/*
 * FastCgiConfig's kill policy: over each -killInterval, the share of the
 * class's processes that were busy at the PM's ticks; below the threshold
 * (the single one with one process left), one idle process above the
 * minimum ends.
 */
void fcgix_pm_watch_kill(pm_t *pm, apr_time_t now)
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
        fcgix_pm_class_limits(c, &pl);
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

/* ------------------------------------------------------------------ */
/* Starting                                                           */
/* ------------------------------------------------------------------ */

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

static int spawn_allowed(pm_t *pm, pm_class_t *c, apr_time_t now)
{
    fcgix_policy_limits_t pl;
    fcgix_policy_load_t load;

    fcgix_pm_class_limits(c, &pl);
    load.nprocs = c->nprocs;
    load.total = pm->total;
    load.max_total = pm->cfg->max_procs;
    load.user_procs = c->lim.max_user_procs ? user_procs(pm, c->uid) : 0;
    load.next_spawn = c->next_spawn;
    return fcgix_policy_allow_spawn(&pl, &load, &c->rate, now);
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

/*
 * A child that could not reach a new process asks for another at once.
 * Such a process is usually dying: its socket closes before it can be
 * reaped, so the message may come first. Its death must count (and set
 * the back-off) before another start, or a program that dies at start
 * gets two starts per back-off step. A process still alive after a
 * short wait is left to the verdicts; each slot is waited for once.
 */
static void settle_dying(pm_t *pm, int ci, apr_time_t now)
{
    int i, k, status, n = (int)pm->hiwater;

    for (i = 0; i < n; i++) {
        pm_slot_t *ps = &pm->slots[i];
        fcgix_sb_proc_t *p = &pm->sb->procs[i];

        if (ps->pid <= 0 || ps->cls != (apr_uint32_t)ci || ps->settled
            || p->state != FCGIX_PROC_DEAD || p->requests != 0) {
            continue;
        }
        ps->settled = 1;
        for (k = 0; k < SETTLE_POLLS; k++) {
            if (waitpid(ps->pid, &status, WNOHANG) == ps->pid) {
                fcgix_pm_watch_gone(pm, i, status, now);
                break;
            }
            apr_sleep(SETTLE_STEP);
        }
    }
}

/* Spawns for waiting requests. The minimum only keeps processes from
 * the idle timeout (as mod_fcgid's): a class nobody uses costs nothing.
 * The waiter count is the children's word, trusted only as a number of
 * spawns, which every limit above still bounds. */
void fcgix_pm_watch_provide(pm_t *pm, int ci, apr_time_t now)
{
    pm_class_t *c = &pm->classes[ci];
    fcgix_policy_limits_t pl;
    apr_uint32_t want, k;

    /* A process that already died at start puts the class in back-off:
     * learn it before starting another. */
    fcgix_pm_watch_reap(pm, now);
    settle_dying(pm, ci, now);
    fcgix_pm_class_limits(c, &pl);
    want = fcgix_policy_provide(&pl, c->nprocs, idle_count(pm, ci),
                                pm->sb->classes[ci].waiters);
    for (k = 0; spawn_allowed(pm, c, now) && k < want; k++) {
        apr_uint32_t before = c->nprocs;
        fcgix_pm_exec_spawn(pm, ci, now);
        if (c->nprocs == before) {
            break;
        }
    }
}
