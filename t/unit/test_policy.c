/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Unit tests of the L0 process manager policy, through its public API
 * only: each decision at and around its limits, with times in plain
 * microseconds and no PM, httpd or clock behind them.
 */

#include <stdint.h>
#include <string.h>

#include "fcgix_policy.h"
#include "fcgix_tap.h"

#define SEC FCGIX_POLICY_SEC
/* Somewhere in the middle of a server's life. */
#define T0 (INT64_C(1700000000) * SEC)

static fcgix_policy_limits_t limits(void)
{
    fcgix_policy_limits_t l;

    memset(&l, 0, sizeof(l));
    l.max_procs = 4;
    l.idle_timeout = 300;
    return l;
}

static fcgix_policy_load_t load_of(uint32_t nprocs, uint32_t total)
{
    fcgix_policy_load_t ld;

    memset(&ld, 0, sizeof(ld));
    ld.nprocs = nprocs;
    ld.total = total;
    ld.max_total = 10;
    return ld;
}

static void test_allow_spawn(void)
{
    fcgix_policy_limits_t l = limits();
    fcgix_policy_load_t ld = load_of(3, 3);
    fcgix_policy_rate_t r;
    int i, n;

    memset(&r, 0, sizeof(r));
    ok(fcgix_policy_allow_spawn(&l, &ld, &r, T0), "below every limit");
    ld.nprocs = 4;
    ok(!fcgix_policy_allow_spawn(&l, &ld, &r, T0), "class limit reached");
    ld.nprocs = 5;
    ok(!fcgix_policy_allow_spawn(&l, &ld, &r, T0), "class limit passed");
    ld = load_of(0, 10);
    ok(!fcgix_policy_allow_spawn(&l, &ld, &r, T0), "global limit reached");
    ld.total = 9;
    ok(fcgix_policy_allow_spawn(&l, &ld, &r, T0), "one below global");

    l.max_user_procs = 2;
    ld.user_procs = 2;
    ok(!fcgix_policy_allow_spawn(&l, &ld, &r, T0), "user limit reached");
    ld.user_procs = 1;
    ok(fcgix_policy_allow_spawn(&l, &ld, &r, T0), "one below user limit");
    l.max_user_procs = 0;
    ld.user_procs = 1000;
    ok(fcgix_policy_allow_spawn(&l, &ld, &r, T0), "user limit 0: any");

    ld.next_spawn = T0 + 1;
    ok(!fcgix_policy_allow_spawn(&l, &ld, &r, T0), "in back-off");
    ok(fcgix_policy_allow_spawn(&l, &ld, &r, T0 + 1),
       "back-off over at next_spawn exactly");

    /* The rate window: FCGIX_POLICY_SPAWN_RATE starts, then none until
     * more than a second has passed since the window opened. */
    memset(&r, 0, sizeof(r));
    ld = load_of(0, 0);
    l.max_procs = 1000;
    ld.max_total = 1000;
    for (n = 0, i = 0; i < 100; i++) {
        if (!fcgix_policy_allow_spawn(&l, &ld, &r, T0 + i)) {
            break;
        }
        fcgix_policy_count_spawn(&r);
        n++;
    }
    is_int(n, FCGIX_POLICY_SPAWN_RATE, "starts within one window");
    ok(!fcgix_policy_allow_spawn(&l, &ld, &r, T0 + SEC),
       "window still full one second after it opened");
    ok(fcgix_policy_allow_spawn(&l, &ld, &r, T0 + SEC + 1),
       "new window after more than a second");
    is_int(r.count, 0, "new window counts from 0");
    ok(r.since == T0 + SEC + 1, "new window opens now");

    /* A refused start does not touch the window. */
    r.since = T0;
    r.count = FCGIX_POLICY_SPAWN_RATE;
    ld.nprocs = 1000;
    ok(!fcgix_policy_allow_spawn(&l, &ld, &r, T0 + 5 * SEC),
       "at the class limit");
    ok(r.since == T0 && r.count == FCGIX_POLICY_SPAWN_RATE,
       "limits checked before the window");
}

/* A master with N workers (PHP_FCGI_CHILDREN=N) is N slots. */
static void test_workers(void)
{
    fcgix_policy_limits_t l = limits();
    fcgix_policy_load_t ld = load_of(0, 0);
    fcgix_policy_rate_t r;

    memset(&r, 0, sizeof(r));
    l.workers = 4;
    l.max_procs = 8;
    ok(fcgix_policy_allow_spawn(&l, &ld, &r, T0), "workers: first master");
    ld.nprocs = ld.total = 4;
    ok(fcgix_policy_allow_spawn(&l, &ld, &r, T0), "workers: second fits");
    ld.nprocs = ld.total = 5;
    ok(!fcgix_policy_allow_spawn(&l, &ld, &r, T0),
       "workers: 4 more slots would pass the class limit");
    ld = load_of(0, 7);
    ok(!fcgix_policy_allow_spawn(&l, &ld, &r, T0),
       "workers: 4 more slots would pass the global limit");
    ld = load_of(0, 0);
    l.max_user_procs = 6;
    ld.user_procs = 3;
    ok(!fcgix_policy_allow_spawn(&l, &ld, &r, T0),
       "workers: the user limit counts workers");
    ld.user_procs = 2;
    ok(fcgix_policy_allow_spawn(&l, &ld, &r, T0),
       "workers: user limit met exactly");
    l.max_user_procs = 0;
    l.max_procs = 2;
    ok(fcgix_policy_allow_spawn(&l, &ld, &r, T0),
       "workers: a class limit below the workers allows one master");
    ld.nprocs = 2;
    ok(!fcgix_policy_allow_spawn(&l, &ld, &r, T0),
       "workers: ... and no second");
    ld.nprocs = UINT32_MAX;
    ok(!fcgix_policy_allow_spawn(&l, &ld, &r, T0), "workers: no wrap");

    l = limits();
    l.workers = 4;
    is_int(fcgix_policy_provide(&l, 0, 0, 1), 1, "workers: 1 waiter, 1");
    is_int(fcgix_policy_provide(&l, 0, 0, 4), 1, "workers: 4 waiters, 1");
    is_int(fcgix_policy_provide(&l, 4, 0, 5), 2, "workers: 5 waiters, 2");
    is_int(fcgix_policy_provide(&l, 4, 3, 3), 0,
           "workers: idle slots serve them");
    l.prespawn = 1;
    l.min_procs = 6;
    is_int(fcgix_policy_provide(&l, 0, 0, 0), 2,
           "workers: minimum 6 slots, two masters");
    l.workers = 1;
    is_int(fcgix_policy_provide(&l, 0, 0, 0), 6, "workers 1: six");
}

static void test_provide(void)
{
    fcgix_policy_limits_t l = limits();

    is_int(fcgix_policy_provide(&l, 0, 0, 0), 0, "nothing waits: none");
    is_int(fcgix_policy_provide(&l, 2, 2, 3), 1, "one waiter unserved");
    is_int(fcgix_policy_provide(&l, 2, 3, 3), 0, "idle cover waiters");
    is_int(fcgix_policy_provide(&l, 2, 5, 3), 0, "more idle than waiters");
    is_int(fcgix_policy_provide(&l, 0, 0, 4000000000u), 4000000000u,
           "a forged waiter count only asks (limits bound it)");

    l.min_procs = 3;
    is_int(fcgix_policy_provide(&l, 0, 0, 0), 0,
           "dynamic class: the minimum is not started ahead");
    l.prespawn = 1;
    is_int(fcgix_policy_provide(&l, 0, 0, 0), 3, "static: up to minimum");
    is_int(fcgix_policy_provide(&l, 2, 0, 0), 1, "static: one short");
    is_int(fcgix_policy_provide(&l, 3, 0, 0), 0, "static: at minimum");
    is_int(fcgix_policy_provide(&l, 5, 0, 0), 0, "static: above minimum");
    is_int(fcgix_policy_provide(&l, 1, 0, 5), 5, "waiters beyond minimum");
    is_int(fcgix_policy_provide(&l, 1, 1, 2), 2, "minimum beyond waiters");
    l.winding_down = 1;
    is_int(fcgix_policy_provide(&l, 0, 0, 0), 0,
           "winding down: no minimum");
    is_int(fcgix_policy_provide(&l, 0, 0, 2), 2,
           "winding down: still serves its waiters");
}

static void test_backoff(void)
{
    static const uint32_t want[] = { 1, 2, 4, 8, 16, 32, 64, 64, 64 };
    fcgix_policy_limits_t l = limits();
    fcgix_policy_starts_t st;
    fcgix_policy_exit_t ex;
    uint32_t i;

    for (i = 0; i < sizeof(want) / sizeof(*want); i++) {
        is_int(fcgix_policy_backoff(i), want[i], "back-off doubles to 64 s");
    }
    is_int(fcgix_policy_backoff(UINT32_MAX), FCGIX_POLICY_BACKOFF_MAX,
           "back-off after ever so many failures");

    memset(&st, 0, sizeof(st));
    memset(&ex, 0, sizeof(ex));
    ex.started = T0;
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + SEC), 1,
           "died at once: failed start, 1 s");
    is_int(st.failures, 1, "failure counted");
    ok(st.next_spawn == T0 + 2 * SEC, "next start 1 s after the death");
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + 3 * SEC), 2,
           "second failure: 2 s");
    ok(st.next_spawn == T0 + 5 * SEC, "next start 2 s after");

    /* The minimum life's boundary. */
    memset(&st, 0, sizeof(st));
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + FCGIX_POLICY_MIN_LIFE - 1),
           1, "just below the minimum life: failed start");
    memset(&st, 0, sizeof(st));
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + FCGIX_POLICY_MIN_LIFE), 0,
           "at the minimum life: an ordinary end");
    ok(st.failures == 0 && st.next_spawn == 0, "nothing held");
    ex.never_ran = 1;
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + 3600 * SEC), 1,
           "exec failed: a failed start however late it is reaped");
    ex.never_ran = 0;

    memset(&st, 0, sizeof(st));
    ex.ended_by_pm = 1;
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + SEC), 0,
           "ended early by the PM (exit 0): no back-off");
    ex.signaled = 1;
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + SEC), 0,
           "ended early by the PM (its signal): no back-off");
    ex.signaled = 0;
    ex.exit_code = 3;
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + SEC), 1,
           "told to end, but exited 3 at start by itself: failed start");
    is_int(st.failures, 1, "that failure counted");
    memset(&st, 0, sizeof(st));
    ex.exit_code = 0;
    ex.ended_by_pm = 0;
    ex.served = 1;
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + SEC), 0,
           "died early after serving: no back-off");

    st.failures = 5;
    st.next_spawn = T0;
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + 20 * SEC), 0,
           "served, then ended");
    is_int(st.failures, 0, "serving clears the failures");
    ok(st.next_spawn == T0, "dynamic class: no restart delay");

    ex.served = 0;
    st.failures = 5;
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + 20 * SEC), 0,
           "served nothing, lived long");
    is_int(st.failures, 5, "failures kept when it served nothing");

    l.prespawn = 1;
    l.restart_delay = 7;
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + 20 * SEC), 0,
           "static class ends");
    ok(st.next_spawn == T0 + 27 * SEC, "-restart-delay holds the restart");
    memset(&st, 0, sizeof(st));
    is_int(fcgix_policy_reaped(&l, &ex, &st, T0 + SEC), 1,
           "static class fails to start");
    ok(st.next_spawn == T0 + 2 * SEC, "back-off, not the restart delay");
}

static fcgix_policy_proc_t proc(fcgix_policy_state_e state)
{
    fcgix_policy_proc_t p;

    memset(&p, 0, sizeof(p));
    p.state = state;
    p.started = T0;
    p.last_active = T0;
    return p;
}

static void test_judge(void)
{
    fcgix_policy_limits_t l = limits();
    fcgix_policy_proc_t p = proc(FCGIX_POLICY_IDLE);
    int64_t idle_over = T0 + 300 * SEC + 1;
    uint32_t staying, ended;
    int i;

    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + 300 * SEC),
           FCGIX_POLICY_KEEP, "idle exactly the timeout: kept");
    is_int(fcgix_policy_judge(&l, &p, 1, 3, idle_over),
           FCGIX_POLICY_END_IDLE, "idle past the timeout: ends");
    l.idle_timeout = 0;
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + 86400 * SEC),
           FCGIX_POLICY_KEEP, "idle timeout 0: never");
    l.idle_timeout = 300;

    /* The minimum, with several processes going idle in one pass: the
     * PM counts each one it ends off the staying ones. */
    l.min_procs = 2;
    is_int(fcgix_policy_judge(&l, &p, 2, 3, idle_over), FCGIX_POLICY_KEEP,
           "at the minimum: kept");
    staying = 5;
    ended = 0;
    for (i = 0; i < 5; i++) {
        if (fcgix_policy_judge(&l, &p, staying, 3, idle_over)
            == FCGIX_POLICY_END_IDLE) {
            staying--;
            ended++;
        }
    }
    is_int(ended, 3, "five idle in one pass, minimum 2: three end");
    is_int(staying, 2, "the minimum stays");

    /* The lifetime replaces whatever the minimum. */
    l.lifetime = 3600;
    p.last_active = T0 + 3600 * SEC;
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + 3600 * SEC),
           FCGIX_POLICY_KEEP, "exactly the lifetime: kept");
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + 3600 * SEC + 1),
           FCGIX_POLICY_END_LIFETIME, "past the lifetime, below minimum");
    is_int(fcgix_policy_judge(&l, &p, 9, 3, T0 + 3600 * SEC + 1),
           FCGIX_POLICY_END_LIFETIME, "past the lifetime, recently active");
    p.last_active = T0;
    is_int(fcgix_policy_judge(&l, &p, 9, 3, T0 + 3600 * SEC + 1),
           FCGIX_POLICY_END_IDLE, "idle and old: the idle timeout says");
    l.lifetime = 0;

    /* Superseded or retired: idle processes end, down to none. */
    l.winding_down = 1;
    p.last_active = T0 + 10 * SEC;
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + 11 * SEC),
           FCGIX_POLICY_END_IDLE, "winding down: last idle one ends");
    l.idle_timeout = 0;
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + 11 * SEC),
           FCGIX_POLICY_END_IDLE, "winding down, no idle timeout: ends");
    is_int(fcgix_policy_judge(&l, &p, 0, 3, T0 + 11 * SEC),
           FCGIX_POLICY_KEEP, "none counted staying: nothing to end");
    l.winding_down = 0;
    l.idle_timeout = 300;

    /* Busy timeout. */
    p = proc(FCGIX_POLICY_BUSY);
    p.busy_since = T0;
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + 86400 * SEC),
           FCGIX_POLICY_KEEP, "busy timeout 0: never");
    l.busy_timeout = 30;
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + 30 * SEC),
           FCGIX_POLICY_KEEP, "busy exactly the timeout: kept");
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + 30 * SEC + 1),
           FCGIX_POLICY_END_BUSY, "busy past the timeout: ends");
    p.busy_since = 0;
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + 86400 * SEC),
           FCGIX_POLICY_KEEP, "busy since unknown: kept");
    p.busy_since = T0;
    l.winding_down = 1;
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + SEC), FCGIX_POLICY_KEEP,
           "winding down: a busy process finishes");
    l.winding_down = 0;

    /* Busy for an httpd child that died mid-request. */
    p = proc(FCGIX_POLICY_BUSY);
    p.busy_since = T0;
    p.owner_gone = 1;
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + SEC),
           FCGIX_POLICY_END_ORPHAN, "its httpd child is gone: ends");
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + 30 * SEC + 1),
           FCGIX_POLICY_END_BUSY, "and past the busy timeout: that says");
    p.term_at = T0 + SEC;
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + 5 * SEC),
           FCGIX_POLICY_KILL, "SIGTERM's grace over first: SIGKILL");
    p = proc(FCGIX_POLICY_IDLE);
    p.owner_gone = 1;
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + SEC), FCGIX_POLICY_KEEP,
           "an idle process has no owner to lose");
    l.winding_down = 1;
    p = proc(FCGIX_POLICY_BUSY);
    p.owner_gone = 1;
    is_int(fcgix_policy_judge(&l, &p, 1, 3, T0 + SEC),
           FCGIX_POLICY_END_ORPHAN, "winding down: an orphan still ends");
    l.winding_down = 0;

    /* Leaving, and SIGTERM's grace. */
    p = proc(FCGIX_POLICY_LEAVING);
    is_int(fcgix_policy_judge(&l, &p, 0, 3, T0), FCGIX_POLICY_END_ASKED,
           "marked retiring or dead by a child: ends");
    p = proc(FCGIX_POLICY_OTHER);
    is_int(fcgix_policy_judge(&l, &p, 5, 3, T0 + 86400 * SEC),
           FCGIX_POLICY_KEEP, "being set up: nothing decided");
    p = proc(FCGIX_POLICY_BUSY);
    p.term_at = T0;
    is_int(fcgix_policy_judge(&l, &p, 0, 3, T0 + 3 * SEC),
           FCGIX_POLICY_KEEP, "SIGTERM exactly the grace ago: waits");
    is_int(fcgix_policy_judge(&l, &p, 0, 3, T0 + 3 * SEC + 1),
           FCGIX_POLICY_KILL, "grace over: SIGKILL");
    p.state = FCGIX_POLICY_IDLE;
    is_int(fcgix_policy_judge(&l, &p, 0, 0, T0 + 1), FCGIX_POLICY_KILL,
           "grace 0: SIGKILL at the next pass, whatever the state");
}

static void test_kill(void)
{
    fcgix_policy_limits_t l = limits();
    fcgix_policy_usage_t u;
    uint32_t load = 99, thr = 99;
    int i, r;

    memset(&u, 0, sizeof(u));
    ok(!fcgix_policy_kill(&l, &u, 0, 5, T0, &load, &thr),
       "no -killInterval: no policy");
    ok(u.since == 0 && u.procs_seen == 0, "and nothing counted");

    l.kill_interval = 10;
    l.single_threshold = 0;
    l.multi_threshold = 50;
    /* Ticks over one interval: 4 processes, 1 busy: 25 %. */
    for (i = 0, r = 0; i < 10; i++) {
        r |= fcgix_policy_kill(&l, &u, 1, 4, T0 + i * SEC, NULL, NULL);
    }
    ok(!r, "nothing within the interval");
    ok(u.since == T0, "interval opened at the first tick");
    ok(fcgix_policy_kill(&l, &u, 1, 4, T0 + 10 * SEC, &load, &thr),
       "25%% busy, multi threshold 50%%: one ends");
    is_int(load, 25, "load over the interval");
    is_int(thr, 50, "multi threshold with several processes");
    ok(u.since == T0 + 10 * SEC && u.busy_seen == 0 && u.procs_seen == 0,
       "a new interval starts");

    /* At the threshold: kept. */
    for (i = 1; i < 10; i++) {
        fcgix_policy_kill(&l, &u, 2, 4, T0 + (10 + i) * SEC, NULL, NULL);
    }
    ok(!fcgix_policy_kill(&l, &u, 2, 4, T0 + 20 * SEC, &load, &thr),
       "50%% busy at 50%%: none ends");
    is_int(load, 50, "load exactly the threshold");

    /* One process left: the single threshold. */
    memset(&u, 0, sizeof(u));
    fcgix_policy_kill(&l, &u, 0, 1, T0, NULL, NULL);
    ok(!fcgix_policy_kill(&l, &u, 0, 1, T0 + 10 * SEC, &load, &thr),
       "single threshold 0%%: the last process stays");
    is_int(thr, 0, "single threshold with one process");
    l.single_threshold = 1;
    fcgix_policy_kill(&l, &u, 0, 1, T0 + 11 * SEC, NULL, NULL);
    ok(fcgix_policy_kill(&l, &u, 0, 1, T0 + 20 * SEC, &load, &thr),
       "single threshold 1%%, idle: the last one ends");

    /* The minimum. */
    l.min_procs = 1;
    fcgix_policy_kill(&l, &u, 0, 1, T0 + 21 * SEC, NULL, NULL);
    ok(!fcgix_policy_kill(&l, &u, 0, 1, T0 + 30 * SEC, &load, &thr),
       "at the minimum: none ends");
    l.min_procs = 3;
    fcgix_policy_kill(&l, &u, 0, 4, T0 + 31 * SEC, NULL, NULL);
    ok(fcgix_policy_kill(&l, &u, 0, 4, T0 + 40 * SEC, &load, &thr),
       "above the minimum: one ends");
    is_int(load, 0, "idle all the time");

    /* No process seen over the interval. */
    memset(&u, 0, sizeof(u));
    l.min_procs = 0;
    fcgix_policy_kill(&l, &u, 0, 0, T0, NULL, NULL);
    ok(!fcgix_policy_kill(&l, &u, 0, 0, T0 + 10 * SEC, &load, &thr),
       "no process: nothing to end");
    is_int(load, 0, "no process: load 0");
}

static void test_free_class(void)
{
    int64_t since = 0;

    ok(!fcgix_policy_free_class(0, 0, &since, T0), "not empty: kept");
    ok(since == 0, "not empty: no linger");
    ok(!fcgix_policy_free_class(1, 0, &since, T0), "first seen empty");
    ok(since == T0, "linger starts");
    ok(!fcgix_policy_free_class(1, 0, &since, T0 + 5 * SEC),
       "empty exactly the linger: kept");
    ok(!fcgix_policy_free_class(0, 0, &since, T0 + 5 * SEC),
       "a request came: kept");
    ok(since == 0, "linger starts over");
    fcgix_policy_free_class(1, 0, &since, T0 + 6 * SEC);
    ok(fcgix_policy_free_class(1, 0, &since, T0 + 11 * SEC + 1),
       "empty past the linger: freed");
    since = 0;
    ok(!fcgix_policy_free_class(1, 1, &since, T0),
       "leaving: first seen empty, kept");
    ok(fcgix_policy_free_class(1, 1, &since, T0 + 1),
       "leaving: seen empty twice, freed at once");
    since = T0;
    ok(!fcgix_policy_free_class(0, 1, &since, T0 + 60 * SEC),
       "leaving, not empty: kept");
}

static void test_unloaded(void)
{
    ok(!fcgix_policy_unloaded(0, T0), "no DETACH: loaded");
    ok(!fcgix_policy_unloaded(T0, T0), "DETACH just now: loaded");
    ok(!fcgix_policy_unloaded(T0, T0 + 10 * SEC),
       "DETACH exactly the grace ago: still loaded");
    ok(fcgix_policy_unloaded(T0, T0 + 10 * SEC + 1),
       "DETACH past the grace, no configuration: unloaded");
    ok(!fcgix_policy_unloaded(0, T0 + 3600 * SEC),
       "a configuration came (DETACH cleared): loaded however long");
}

int main(void)
{
    note("spawn limits and rate");
    test_allow_spawn();
    note("provide");
    test_provide();
    note("masters with workers");
    test_workers();
    note("back-off and exits");
    test_backoff();
    note("idle, lifetime, busy timeout");
    test_judge();
    note("kill policy");
    test_kill();
    note("classes winding down");
    test_free_class();
    test_unloaded();
    return done_testing();
}
