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
    pm_slot_t *ps;

    if (pm->slots[idx].master) {
        idx = pm->slots[idx].master - 1; /* a worker: its master */
    }
    ps = &pm->slots[idx];

    if (ps->term_at == 0 && ps->pid > 0) {
        pm->sb->procs[idx].exit_why = why;
        ps->term_at = now;
        kill(ps->pid, SIGTERM);
    }
}

/* One slot of a gone process: free for children and for the PM. */
static void slot_free(pm_t *pm, int idx, int ci)
{
    fcgix_sb_proc_t *p = &pm->sb->procs[idx];
    pm_class_t *c = &pm->classes[ci];

    pm->slots[idx].pid = 0;
    pm->slots[idx].term_at = 0;
    pm->slots[idx].master = 0;
    if (c->nprocs > 0) {
        c->nprocs--;
    }
    if (pm->total > 0) {
        pm->total--;
    }
    p->state = FCGIX_PROC_DEAD;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    p->pid = 0;
    p->state = FCGIX_PROC_FREE;
}

/* The worker slots of the master in slot @p idx go with it. */
static void workers_gone(pm_t *pm, int idx, int ci)
{
    int i, n = (int)pm->hiwater;

    for (i = 0; i < n; i++) {
        if (pm->slots[i].master == idx + 1) {
            pm->sb->procs[idx].requests += pm->sb->procs[i].requests;
            slot_free(pm, i, ci);
        }
    }
}

/* Slot @p idx's process was reaped: free the slot (and a master's
 * worker slots). */
void fcgix_pm_watch_gone(pm_t *pm, int idx, int status, apr_time_t now)
{
    fcgix_sb_t *sb = pm->sb;
    pm_slot_t *ps = &pm->slots[idx];
    fcgix_sb_proc_t *p = &sb->procs[idx];
    int ci = (int)ps->cls;
    pm_class_t *c = &pm->classes[ci];
    apr_uint32_t served;
    apr_uint32_t why = p->exit_why;
    fcgix_policy_limits_t pl;
    fcgix_policy_exit_t ex;
    fcgix_policy_starts_t starts;
    uint32_t delay;
    char pbuf[256];

    workers_gone(pm, idx, ci);
    served = p->requests;
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
    ex.signaled = WIFSIGNALED(status);
    ex.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
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
    slot_free(pm, idx, ci);
    sb->total_procs = pm->total;
    fcgix_pm_class_mirror(pm, ci);
    fcgix_sb_wake(&sb->classes[ci]);
}

static int slot_of_pid(pm_t *pm, pid_t pid)
{
    int i, n = (int)pm->hiwater;

    for (i = 0; i < n; i++) {
        if (pm->slots[i].pid == pid && !pm->slots[i].master) {
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

/* Whether slot @p j is process @p i's: the slot itself, or one of the
 * worker slots of the master in it. */
static int member_of(const pm_t *pm, int j, int i)
{
    return j == i || pm->slots[j].master == i + 1;
}

static fcgix_policy_state_e policy_state(apr_uint32_t st)
{
    return st == FCGIX_PROC_IDLE ? FCGIX_POLICY_IDLE
           : st == FCGIX_PROC_BUSY ? FCGIX_POLICY_BUSY
           : st == FCGIX_PROC_RETIRING || st == FCGIX_PROC_DEAD
             ? FCGIX_POLICY_LEAVING : FCGIX_POLICY_OTHER;
}

/*
 * Process @p i as the policy sees it: for a master, its slots as one
 * (leaving if any is, else busy if any is, idle only if all are; the
 * latest activity, the oldest request). @return its slots; @p leaving
 * the slot a child marked, for its reason. Times and states are the
 * children's word: at worst they end a process of theirs early or keep
 * it, within the class's limits.
 */
static apr_uint32_t view(pm_t *pm, int i, fcgix_policy_proc_t *pp,
                         int *leaving, int *busy)
{
    int group = pm->classes[pm->slots[i].cls].workers > 1;
    int j, n = group ? (int)pm->hiwater : i + 1;
    int any_leaving = 0, any_busy = 0, any_other = 0;
    apr_uint32_t members = 0;

    memset(pp, 0, sizeof(*pp));
    pp->started = pm->slots[i].started;
    pp->term_at = pm->slots[i].term_at;
    *leaving = i;
    for (j = group ? 0 : i; j < n; j++) {
        const fcgix_sb_proc_t *p = &pm->sb->procs[j];
        fcgix_policy_state_e s;
        apr_int32_t owner;
        if (!member_of(pm, j, i)) {
            continue;
        }
        members++;
        s = policy_state(slot_state(p));
        if (p->last_active > pp->last_active) {
            pp->last_active = p->last_active;
        }
        any_busy |= s == FCGIX_POLICY_BUSY;
        any_other |= s == FCGIX_POLICY_OTHER;
        if (s == FCGIX_POLICY_BUSY) {
            /* Signal 0 only asks whether the pid exists. */
            owner = p->owner;
            pp->owner_gone |= owner > 0 && kill((pid_t)owner, 0) < 0
                              && errno == ESRCH;
            if (p->busy_since && (!pp->busy_since
                                  || p->busy_since < pp->busy_since)) {
                pp->busy_since = p->busy_since;
            }
        }
        if (s == FCGIX_POLICY_LEAVING && !any_leaving) {
            any_leaving = 1;
            *leaving = j;
        }
    }
    pp->state = any_leaving ? FCGIX_POLICY_LEAVING
                : any_busy ? FCGIX_POLICY_BUSY
                : any_other ? FCGIX_POLICY_OTHER : FCGIX_POLICY_IDLE;
    *busy = any_busy;
    return members;
}

/* Idle slots of process @p i to RETIRING, all or none: a child may take
 * one meanwhile, and a master is only ended whole. */
static int retire(pm_t *pm, int i)
{
    int group = pm->classes[pm->slots[i].cls].workers > 1;
    int j, k, first = group ? 0 : i, n = group ? (int)pm->hiwater : i + 1;

    for (j = first; j < n; j++) {
        if (member_of(pm, j, i)
            && !fcgix_sync_cas(&pm->sb->procs[j].state, FCGIX_PROC_IDLE,
                               FCGIX_PROC_RETIRING)) {
            for (k = first; k < j; k++) {
                if (member_of(pm, k, i)) {
                    fcgix_sync_cas(&pm->sb->procs[k].state,
                                   FCGIX_PROC_RETIRING, FCGIX_PROC_IDLE);
                }
            }
            return 0;
        }
    }
    return 1;
}

/* A master one of whose slots a child marked (its request limit, a
 * failed exchange) while others still serve: no new request goes to it,
 * and it ends once they are done. */
static void drain(pm_t *pm, int i)
{
    int j, n = (int)pm->hiwater;

    for (j = 0; j < n; j++) {
        if (member_of(pm, j, i)) {
            fcgix_sync_cas(&pm->sb->procs[j].state, FCGIX_PROC_IDLE,
                           FCGIX_PROC_RETIRING);
        }
    }
}

/* Asks the policy about the live process in slot @p i and acts on its
 * verdict; @p staying counts its class's slots not on their way out
 * (less those of each process this ends). */
static void judge(pm_t *pm, int i, apr_uint32_t *staying, apr_time_t now)
{
    pm_slot_t *ps = &pm->slots[i];
    apr_uint32_t ci = ps->cls;
    fcgix_policy_limits_t pl;
    fcgix_policy_proc_t pp;
    fcgix_policy_verdict_e v;
    int leaving, busy;
    apr_uint32_t members = view(pm, i, &pp, &leaving, &busy);
    /* the slots that stay if this ends, as for one slot */
    apr_uint32_t left = staying[ci] >= members ? staying[ci] - members + 1
                                               : 0;
    apr_uint32_t why = pm->sb->procs[leaving].exit_why;

    fcgix_pm_class_limits(&pm->classes[ci], &pl);
    v = fcgix_policy_judge(&pl, &pp, left, pm->cfg->kill_grace, now);
    switch (v) {
    case FCGIX_POLICY_KILL:
        kill(ps->pid, SIGKILL);
        break;
    case FCGIX_POLICY_END_IDLE:
    case FCGIX_POLICY_END_LIFETIME:
        /* Only if no child took it meanwhile. */
        if (retire(pm, i)) {
            staying[ci] -= members < staying[ci] ? members : staying[ci];
            terminate(pm, i, v == FCGIX_POLICY_END_LIFETIME
                             ? FCGIX_EXIT_LIFETIME : FCGIX_EXIT_IDLE,
                      now);
        }
        break;
    case FCGIX_POLICY_END_BUSY:
        terminate(pm, i, FCGIX_EXIT_BUSY, now);
        break;
    case FCGIX_POLICY_END_ASKED:
        if (busy && members > 1) {
            drain(pm, i);
            break;
        }
        terminate(pm, i,
                  why && why <= FCGIX_EXIT_FAILED ? (fcgix_exit_e)why
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
        if (pm->slots[i].pid > 0 && !pm->slots[i].master) {
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
        /* The one idle the longest (a master: all its slots idle). */
        for (j = 0; j < n; j++) {
            fcgix_sb_proc_t *p = &pm->sb->procs[j];
            fcgix_policy_proc_t pp;
            int leaving, busy;
            if (pm->slots[j].pid > 0 && pm->slots[j].cls == (apr_uint32_t)i
                && !pm->slots[j].master && !pm->slots[j].term_at
                && p->state == FCGIX_PROC_IDLE
                && (c->workers <= 1
                    || (view(pm, j, &pp, &leaving, &busy)
                        && pp.state == FCGIX_POLICY_IDLE))
                && (victim < 0 || p->last_active
                                  < pm->sb->procs[victim].last_active)) {
                victim = j;
            }
        }
        if (victim >= 0 && retire(pm, victim)) {
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
            || ps->master /* a master's worker slot: waited for as it */
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
    apr_uint32_t want, k, idle, waiters;

    /* A process that already died at start puts the class in back-off:
     * learn it before starting another. */
    fcgix_pm_watch_reap(pm, now);
    settle_dying(pm, ci, now);
    fcgix_pm_class_limits(c, &pl);
    /* Idle processes first, then waiters: a waiter uncounts itself
     * before it takes a process, so read in this order a request is
     * never seen both waiting and holding the process it just took
     * (which would start one nobody needs). */
    idle = idle_count(pm, ci);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    waiters = __atomic_load_n(&pm->sb->classes[ci].waiters,
                              __ATOMIC_SEQ_CST);
    want = fcgix_policy_provide(&pl, c->nprocs, idle, waiters);
    for (k = 0; spawn_allowed(pm, c, now) && k < want; k++) {
        apr_uint32_t before = c->nprocs;
        fcgix_pm_exec_spawn(pm, ci, now);
        if (c->nprocs == before) {
            break;
        }
    }
}
