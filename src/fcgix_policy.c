/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * The process manager's decisions (see fcgix_policy.h). Layer L0: plain
 * C99 arithmetic on the values the PM passes; nothing here touches the
 * system, so every rule can be unit tested without httpd.
 */

#include <stddef.h>

#include "fcgix_policy.h"

/* Seconds as configured, in the policy's microseconds. */
static int64_t secs(uint32_t s)
{
    return (int64_t)s * FCGIX_POLICY_SEC;
}

/* Slots one start adds. A class limit below the workers of one master
 * still allows one master: it then serves at most that many at once. */
static uint32_t slots_of(const fcgix_policy_limits_t *lim)
{
    uint32_t n = lim->workers > 1 ? lim->workers : 1;

    return lim->max_procs && n > lim->max_procs ? lim->max_procs : n;
}

/* a + b > limit, without wrapping */
static int over(uint32_t a, uint32_t b, uint32_t limit)
{
    return a > limit || b > limit - a;
}

int fcgix_policy_allow_spawn(const fcgix_policy_limits_t *lim,
                             const fcgix_policy_load_t *load,
                             fcgix_policy_rate_t *rate, int64_t now)
{
    uint32_t n = slots_of(lim);

    if (over(load->nprocs, n, lim->max_procs)
        || over(load->total, n, load->max_total)
        || now < load->next_spawn
        || (lim->max_user_procs
            && over(load->user_procs, n, lim->max_user_procs))) {
        return 0;
    }
    if (now - rate->since > FCGIX_POLICY_SEC) {
        rate->since = now;
        rate->count = 0;
    }
    return rate->count < FCGIX_POLICY_SPAWN_RATE;
}

void fcgix_policy_count_spawn(fcgix_policy_rate_t *rate)
{
    rate->count++;
}

uint32_t fcgix_policy_provide(const fcgix_policy_limits_t *lim,
                              uint32_t nprocs, uint32_t idle,
                              uint32_t waiters)
{
    uint32_t n = slots_of(lim);
    uint32_t want = waiters > idle ? waiters - idle : 0;

    /* The minimum only keeps processes from the idle timeout (as
     * mod_fcgid's): a dynamic class nobody uses costs nothing. */
    if (lim->prespawn && !lim->winding_down && lim->min_procs > nprocs
        && lim->min_procs - nprocs > want) {
        want = lim->min_procs - nprocs;
    }
    return want / n + (want % n != 0);
}

uint32_t fcgix_policy_backoff(uint32_t failures)
{
    uint32_t f = failures < 6 ? failures : 6;

    return 1u << f;
}

uint32_t fcgix_policy_reaped(const fcgix_policy_limits_t *lim,
                             const fcgix_policy_exit_t *ex,
                             fcgix_policy_starts_t *st, int64_t now)
{
    int early = now - ex->started < FCGIX_POLICY_MIN_LIFE;
    /* A process that exits at start is often told to end as well (a
     * child that could not reach it reports it dead): its own exit code
     * crossed our SIGTERM, and the start still failed. */
    int by_pm = ex->ended_by_pm && (ex->signaled || ex->exit_code == 0);

    if ((early || ex->never_ran) && !by_pm && ex->served == 0) {
        uint32_t delay = fcgix_policy_backoff(st->failures);
        st->failures++;
        st->next_spawn = now + secs(delay);
        return delay;
    }
    if (ex->served > 0) {
        st->failures = 0;
    }
    if (lim->prespawn && lim->restart_delay) {
        st->next_spawn = now + secs(lim->restart_delay);
    }
    return 0;
}

fcgix_policy_verdict_e fcgix_policy_judge(const fcgix_policy_limits_t *lim,
                                          const fcgix_policy_proc_t *proc,
                                          uint32_t staying, uint32_t grace_s,
                                          int64_t now)
{
    uint32_t min = lim->winding_down ? 0 : lim->min_procs;

    if (proc->term_at && now - proc->term_at > secs(grace_s)) {
        return FCGIX_POLICY_KILL;
    }
    switch (proc->state) {
    case FCGIX_POLICY_IDLE:
        if (((lim->idle_timeout
              && now - proc->last_active > secs(lim->idle_timeout))
             || lim->winding_down)
            && staying > min) {
            return FCGIX_POLICY_END_IDLE;
        }
        if (lim->lifetime && now - proc->started > secs(lim->lifetime)) {
            return FCGIX_POLICY_END_LIFETIME;
        }
        return FCGIX_POLICY_KEEP;
    case FCGIX_POLICY_BUSY:
        if (lim->busy_timeout && proc->busy_since
            && now - proc->busy_since > secs(lim->busy_timeout)) {
            return FCGIX_POLICY_END_BUSY;
        }
        return proc->owner_gone ? FCGIX_POLICY_END_ORPHAN : FCGIX_POLICY_KEEP;
    case FCGIX_POLICY_LEAVING:
        return FCGIX_POLICY_END_ASKED;
    default:
        return FCGIX_POLICY_KEEP;
    }
}

int fcgix_policy_kill(const fcgix_policy_limits_t *lim,
                      fcgix_policy_usage_t *u, uint32_t busy, uint32_t live,
                      int64_t now, uint32_t *load_pct,
                      uint32_t *threshold_pct)
{
    uint32_t load, threshold;

    if (!lim->kill_interval) {
        return 0;
    }
    if (u->since == 0) {
        u->since = now;
    }
    u->busy_seen += busy;
    u->procs_seen += live;
    if (now - u->since < secs(lim->kill_interval)) {
        return 0;
    }
    load = u->procs_seen ? (uint32_t)(u->busy_seen * 100 / u->procs_seen)
                         : 0;
    threshold = live > 1 ? lim->multi_threshold : lim->single_threshold;
    u->since = now;
    u->busy_seen = u->procs_seen = 0;
    if (load_pct) {
        *load_pct = load;
    }
    if (threshold_pct) {
        *threshold_pct = threshold;
    }
    return live > lim->min_procs && load < threshold;
}

int fcgix_policy_free_class(int empty, int leaving, int64_t *empty_since,
                            int64_t now)
{
    if (!empty) {
        *empty_since = 0;
        return 0;
    }
    if (*empty_since == 0) {
        /* Seen empty once: a request may be between two counters. */
        *empty_since = now;
        return 0;
    }
    return leaving || now - *empty_since > FCGIX_POLICY_EMPTY_LINGER;
}

int fcgix_policy_unloaded(int64_t detach_at, int64_t now)
{
    return detach_at != 0 && now - detach_at > FCGIX_POLICY_DETACH_GRACE;
}
