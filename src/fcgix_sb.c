/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <string.h>

#include "apr_strings.h"

#include "fcgix_sb.h"
#include "fcgix_sync.h"

static const char *const proc_state_names[] = {
    "FREE", "IDLE", "BUSY", "RETIRING", "DEAD"
};

const char *fcgix_sb_proc_state_str(fcgix_proc_state_e st)
{
    if ((unsigned)st < sizeof(proc_state_names) / sizeof(*proc_state_names)) {
        return proc_state_names[st];
    }
    return "INVALID";
}

static const char *const exit_names[] = {
    "-", "idle timeout", "lifetime", "max requests", "busy timeout",
    "exited", "signal", "shutdown", "unreachable", "request failed"
};

const char *fcgix_sb_exit_str(fcgix_exit_e why)
{
    if ((unsigned)why < sizeof(exit_names) / sizeof(*exit_names)) {
        return exit_names[why];
    }
    return "?";
}

static const char *const outcome_names[] = {
    "ok", "aborted", "rejected", "bad_reply", "unavailable", "timeout",
    "error"
};

const char *fcgix_sb_outcome_str(fcgix_outcome_e o)
{
    if ((unsigned)o < sizeof(outcome_names) / sizeof(*outcome_names)) {
        return outcome_names[o];
    }
    return "?";
}

/* Prometheus's default buckets: a FastCGI request is a web request. */
static const apr_int64_t bucket_us[FCGIX_SB_BUCKETS - 1] = {
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000, 10000000
};

apr_int64_t fcgix_sb_bucket_bound(int i)
{
    return i >= 0 && i < FCGIX_SB_BUCKETS - 1 ? bucket_us[i] : -1;
}

void fcgix_sb_reqs_count(fcgix_sb_reqs_t *s, fcgix_outcome_e o,
                         apr_interval_time_t dur)
{
    int i = 0;

    if (dur < 0) {
        dur = 0;
    }
    while (i < FCGIX_SB_BUCKETS - 1 && dur > bucket_us[i]) {
        i++;
    }
    if ((unsigned)o >= FCGIX_OUTCOMES) {
        o = FCGIX_OUTCOME_ERROR;
    }
    __atomic_add_fetch(&s->bucket[i], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->dur_us, (apr_uint64_t)dur, __ATOMIC_RELAXED);
    /* Last: a reader that sees the count sees its bucket too. */
    __atomic_add_fetch(&s->outcome[o], 1, __ATOMIC_RELEASE);
}

void fcgix_sb_reqs_waited(fcgix_sb_reqs_t *s, apr_interval_time_t waited)
{
    __atomic_add_fetch(&s->queue_us, (apr_uint64_t)(waited > 0 ? waited : 0),
                       __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->queued, 1, __ATOMIC_RELAXED);
}

char *fcgix_sb_sock_path(apr_pool_t *p, const char *ipc_dir, int idx)
{
    return apr_psprintf(p, "%s/p%d.sock", ipc_dir, idx);
}

/* Set where the scoreboard is made (and again by each configuration
 * generation: a graceful restart loads this module anew), inherited by
 * every process forked after: the bound of every slot index, which no
 * child can rewrite. */
static apr_uint32_t slots;

apr_uint32_t fcgix_sb_slots(void)
{
    return slots;
}

int fcgix_sb_round_claim(volatile apr_int64_t *next_at, apr_time_t now,
                         apr_interval_time_t every)
{
    apr_int64_t next = __atomic_load_n(next_at, __ATOMIC_ACQUIRE);

    return now >= next
           && __atomic_compare_exchange_n(next_at, &next, now + every, 0,
                                          __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

void fcgix_sb_set_slots(apr_uint32_t n)
{
    slots = n;
}

apr_status_t fcgix_sb_create(fcgix_sb_t **out, apr_shm_t **shm,
                             apr_uint32_t nprocs, apr_pool_t *p)
{
    apr_size_t size;
    fcgix_sb_t *sb;
    apr_status_t rv;

    if (nprocs > FCGIX_SB_PROCS_LIMIT) {
        nprocs = FCGIX_SB_PROCS_LIMIT;
    }
    size = sizeof(fcgix_sb_t) + nprocs * sizeof(fcgix_sb_proc_t);
    /* Anonymous: inherited over fork by the PM and every httpd child, and
     * gone with the last of them, so a stop leaves nothing behind. */
    rv = apr_shm_create(shm, size, NULL, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    sb = apr_shm_baseaddr_get(*shm);
    memset(sb, 0, size);
    slots = nprocs;
    sb->magic = FCGIX_SB_MAGIC;
    sb->version = FCGIX_SB_VERSION;
    sb->class_size = sizeof(fcgix_sb_class_t);
    sb->proc_size = sizeof(fcgix_sb_proc_t);
    sb->nclasses = FCGIX_SB_MAX_CLASSES;
    sb->nprocs = nprocs;
    *out = sb;
    return APR_SUCCESS;
}

fcgix_sb_backend_t *fcgix_sb_backend_claim(fcgix_sb_t *sb, const char *path,
                                           const char *spec)
{
    apr_uint64_t h = 1469598103934665603ULL;
    fcgix_sb_backend_t *free_slot = NULL;
    const char *p;
    int i;

    for (p = path; *p; p++) {
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    }
    h = (h ^ '\n') * 1099511628211ULL;
    for (p = spec; *p; p++) {
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    }
    for (i = 0; i < FCGIX_SB_MAX_BACKENDS; i++) {
        fcgix_sb_backend_t *b = &sb->backends[i];
        if (b->state == 1 && b->key == h && !strcmp(b->path, path)
            && !strcmp(b->spec, spec)) {
            return b;
        }
        if (b->state == 0 && free_slot == NULL) {
            free_slot = b;
        }
    }
    if (free_slot) {
        memset(free_slot, 0, sizeof(*free_slot));
        free_slot->key = h;
        apr_cpystrn(free_slot->path, path, sizeof(free_slot->path));
        apr_cpystrn(free_slot->spec, spec, sizeof(free_slot->spec));
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        free_slot->state = 1;
    }
    return free_slot;
}

fcgix_sb_class_t *fcgix_sb_read_class(fcgix_sb_t *sb, apr_uint64_t key,
                                      const char *path)
{
    int i;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        fcgix_sb_class_t *c = &sb->classes[i];
        if (c->state == 1 && c->key == key && !strcmp(c->path, path)) {
            return c;
        }
    }
    return NULL;
}

void fcgix_sb_pm_class_publish(fcgix_sb_t *sb, fcgix_sb_class_t *c)
{
    /* Visible only once complete. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    c->state = 1;
    __atomic_add_fetch(&sb->seq, 1, __ATOMIC_SEQ_CST);
    fcgix_sync_wake(&sb->seq, FCGIX_SYNC_ALL);
}

apr_uint32_t fcgix_sb_read_hiwater(const fcgix_sb_t *sb)
{
    apr_uint32_t n = sb->hiwater;

    return n < slots ? n : slots;
}

void fcgix_sb_wake(fcgix_sb_class_t *c)
{
    __atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
    fcgix_sync_wake(&c->seq, FCGIX_SYNC_ALL);
}

void fcgix_sb_wake_one(fcgix_sb_class_t *c)
{
    __atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
    /* A waiter reads seq before it looks and counts itself before it
     * sleeps, and the increment above is a full barrier: one not yet
     * counted finds seq changed and does not sleep, so nobody counted
     * means nobody to wake, and the uncontended release costs no
     * syscall. */
    if (__atomic_load_n(&c->waiters, __ATOMIC_SEQ_CST)) {
        fcgix_sync_wake(&c->seq, 1);
    }
}

void fcgix_sb_pm_publish(fcgix_sb_t *sb, fcgix_sb_proc_t *p)
{
    (void)sb;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    p->state = FCGIX_PROC_IDLE;
}

fcgix_sb_proc_t *fcgix_sb_child_acquire(fcgix_sb_t *sb,
                                        fcgix_sb_class_t *c,
                                        apr_int32_t me)
{
    apr_uint32_t cls = c->id;
    fcgix_sb_proc_t *best = NULL;
    int i;

    /* Prefer the most recently used idle process: its code and data are
     * warm, and the others can age out under the idle timeout. */
    for (;;) {
        int n = (int)fcgix_sb_read_hiwater(sb);
        best = NULL;
        for (i = 0; i < n; i++) {
            fcgix_sb_proc_t *p = &sb->procs[i];
            if (p->state == FCGIX_PROC_IDLE && p->cls == cls
                && (best == NULL || p->last_active > best->last_active)) {
                best = p;
            }
        }
        if (best == NULL) {
            return NULL;
        }
        if (fcgix_sync_cas(&best->state, FCGIX_PROC_IDLE,
                           FCGIX_PROC_BUSY)) {
            if (best->cls != cls) {
                /* Reused for another class between scan and CAS. */
                best->state = FCGIX_PROC_IDLE;
                continue;
            }
            best->owner = me;
            best->busy_since = apr_time_now();
            return best;
        }
    }
}

void fcgix_sb_child_release(fcgix_sb_class_t *c, fcgix_sb_proc_t *p,
                            int served, fcgix_exit_e retire, int dead)
{
    apr_uint32_t next;

    if (served) {
        __atomic_add_fetch(&p->requests, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&c->requests, 1, __ATOMIC_SEQ_CST);
    }
    p->last_active = apr_time_now();
    p->owner = 0;
    if (dead) {
        p->exit_why = FCGIX_EXIT_UNREACHABLE;
        next = FCGIX_PROC_DEAD;
    }
    else if (retire) {
        p->exit_why = retire;
        next = FCGIX_PROC_RETIRING;
    }
    else if (c->lim.max_requests && p->requests >= c->lim.max_requests) {
        p->exit_why = FCGIX_EXIT_REQUESTS;
        next = FCGIX_PROC_RETIRING;
    }
    else {
        next = FCGIX_PROC_IDLE;
    }
    /* Only BUSY -> next: the PM may have marked it DEAD meanwhile. */
    if (fcgix_sync_cas(&p->state, FCGIX_PROC_BUSY, next)
        && next == FCGIX_PROC_IDLE) {
        /* One process free: one waiter, not a herd fighting over it (a
         * waiter that gives up passes the wake on). */
        fcgix_sb_wake_one(c);
    }
    else {
        fcgix_sb_wake(c);
    }
}

apr_status_t fcgix_sb_child_wait(volatile apr_uint32_t *word,
                                 apr_uint32_t seen,
                                 apr_interval_time_t timeout)
{
    return fcgix_sync_wait(word, seen, (int64_t)timeout) ? APR_TIMEUP
                                                          : APR_SUCCESS;
}

int fcgix_sb_dyn_read(const fcgix_sb_backend_t *b, fcgix_sb_dyn_t *d)
{
    apr_uint32_t s1 = __atomic_load_n(&b->dyn_seq, __ATOMIC_ACQUIRE);
    int i;

    if (s1 & 1) {
        return 0;
    }
    d->state = b->dyn_state;
    d->family = b->dyn_family;
    for (i = 0; i < 16; i++) {
        d->ip[i] = b->dyn_ip[i];
    }
    d->since = b->dyn_since;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    d->seq = s1;
    return __atomic_load_n(&b->dyn_seq, __ATOMIC_RELAXED) == s1;
}

void fcgix_sb_dyn_write(fcgix_sb_backend_t *b, apr_uint32_t state,
                        apr_uint32_t family, const unsigned char *ip,
                        apr_int64_t since)
{
    int i;

    __atomic_add_fetch(&b->dyn_seq, 1, __ATOMIC_SEQ_CST);
    b->dyn_state = state;
    b->dyn_family = family;
    for (i = 0; i < 16; i++) {
        b->dyn_ip[i] = ip ? ip[i] : 0;
    }
    b->dyn_since = since;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    /* Back to even, and never 0 again: 0 means never written. */
    if (__atomic_add_fetch(&b->dyn_seq, 1, __ATOMIC_SEQ_CST) == 0) {
        __atomic_add_fetch(&b->dyn_seq, 2, __ATOMIC_SEQ_CST);
    }
}
