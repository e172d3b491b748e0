/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file fcgix_policy.h
 * @brief The process manager's decisions, apart from its mechanism.
 *
 * What the PM decides (may a class start a process now, how many does it
 * want, how long to back off after a failed start, which process ends and
 * why, what FastCgiConfig's kill policy asks for, when a class that winds
 * down is freed, when mod_fcgix is gone) is here as plain functions of
 * plain values, so it can be read and unit tested on its own; the PM's
 * files (fcgix_pm*.c) keep the mechanism (fork and exec, signals,
 * sockets, the scoreboard) and ask these functions.
 *
 * Layer L0: pure C99, like fcgix_proto.c. No APR, no httpd, no allocation,
 * no I/O, no system calls; times are int64_t microseconds (apr_time_t's
 * unit), limits are the class's, in seconds as configured.
 *
 * Callers: the PM (fcgix_pm_watch.c, fcgix_pm_class.c, fcgix_pm.c) and
 * the unit tests (t/unit/test_policy.c).
 * The PM passes values from its own tables; the only values that come
 * from shared memory (a process's state and times, a class's waiters) are
 * hints a child could have forged, and each decision they feed is bounded
 * by the PM's own limits (see docs/SECURITY.md).
 */

#ifndef FCGIX_POLICY_H
#define FCGIX_POLICY_H

#include <stdint.h>

/** One second in the policy's time unit (microseconds). */
#define FCGIX_POLICY_SEC INT64_C(1000000)
/** Starts per class within one second, whatever the demand. */
#define FCGIX_POLICY_SPAWN_RATE 16
/** A process that ends sooner than this after its start failed to start
 * (unless it served a request or the PM ended it). */
#define FCGIX_POLICY_MIN_LIFE (10 * FCGIX_POLICY_SEC)
/** The start back-off doubles from 1 s up to this many seconds. */
#define FCGIX_POLICY_BACKOFF_MAX 64

/** A class's limits, as far as the decisions below use them. */
typedef struct {
    uint32_t min_procs;
    uint32_t max_procs;
    uint32_t max_user_procs;   /**< per uid over all its classes; 0: any */
    uint32_t idle_timeout;     /**< seconds, 0: never */
    uint32_t lifetime;         /**< seconds, 0: never */
    uint32_t busy_timeout;     /**< seconds, 0: never */
    uint32_t prespawn;         /**< static: min_procs started ahead */
    uint32_t restart_delay;    /**< static: seconds between restarts */
    uint32_t kill_interval;    /**< FastCgiConfig: seconds, 0: no policy */
    uint32_t single_threshold; /**< percent busy, one process left */
    uint32_t multi_threshold;  /**< percent busy, several */
    int winding_down;          /**< superseded or retired class */
    /** Requests one process serves at once: a master whose N workers
     *  accept on its socket (php-cgi with PHP_FCGI_CHILDREN=N) is N
     *  slots, and every count and limit here (max_procs, min_procs,
     *  max_user_procs, max_total, nprocs, idle, waiters) is in slots.
     *  0 or 1: a process is one slot. */
    uint32_t workers;
} fcgix_policy_limits_t;

/** The start rate window of a class (the PM keeps one per class, zeroed
 * with it). */
typedef struct {
    int64_t since;
    int count;
} fcgix_policy_rate_t;

/** What a start of one more process of a class depends on. */
typedef struct {
    uint32_t nprocs;      /**< the class's processes */
    uint32_t total;       /**< the PM's processes, all classes */
    uint32_t max_total;   /**< FcgidMaxProcesses */
    uint32_t user_procs;  /**< the class's uid's, all classes (read only
                               when max_user_procs is set) */
    int64_t next_spawn;   /**< back-off or restart delay: not before */
} fcgix_policy_load_t;

/**
 * May the class start one more process now? Below every limit, out of
 * back-off, and within FCGIX_POLICY_SPAWN_RATE starts in the current
 * one-second window (@p rate: a new window opens here when the old one
 * is over).
 */
int fcgix_policy_allow_spawn(const fcgix_policy_limits_t *lim,
                             const fcgix_policy_load_t *load,
                             fcgix_policy_rate_t *rate, int64_t now);

/** Counts a start in the class's rate window. */
void fcgix_policy_count_spawn(fcgix_policy_rate_t *rate);

/**
 * How many processes the class wants started: enough for each waiting
 * request no idle slot serves, and (static classes that are not winding
 * down) up to the minimum (a master of N workers brings N slots). Every
 * one still goes through
 * fcgix_policy_allow_spawn(): a forged waiter count only asks.
 */
uint32_t fcgix_policy_provide(const fcgix_policy_limits_t *lim,
                              uint32_t nprocs, uint32_t idle,
                              uint32_t waiters);

/** The back-off, in seconds, after the (@p failures + 1)th failed start
 * in a row: 1, 2, 4 ... FCGIX_POLICY_BACKOFF_MAX. */
uint32_t fcgix_policy_backoff(uint32_t failures);

/** A reaped process, for fcgix_policy_reaped(). */
typedef struct {
    int64_t started;
    int never_ran;        /**< the exec (or what came before) failed */
    int ended_by_pm;      /**< the PM had sent it SIGTERM */
    int signaled;         /**< it ended by a signal */
    int exit_code;        /**< else its exit code */
    uint32_t served;      /**< requests, as the scoreboard says */
} fcgix_policy_exit_t;

/** A class's start history, kept by the PM. */
typedef struct {
    uint32_t failures;    /**< failed starts in a row */
    int64_t next_spawn;   /**< no start before */
} fcgix_policy_starts_t;

/**
 * Updates @p st for a process of the class that was reaped at @p now.
 * A process that never ran, or died within FCGIX_POLICY_MIN_LIFE, before
 * serving and without the PM ending it (a SIGTERM it answered by a
 * signal death or exit code 0), failed to start: the back-off
 * doubles, so a broken application does not fork-loop. A process that
 * served clears the failures; a static class's -restart-delay holds the
 * next start.
 * @return the back-off in seconds after a failed start, 0 otherwise
 */
uint32_t fcgix_policy_reaped(const fcgix_policy_limits_t *lim,
                             const fcgix_policy_exit_t *ex,
                             fcgix_policy_starts_t *st, int64_t now);

/** A live process's state, as far as the decisions use it. */
typedef enum {
    FCGIX_POLICY_OTHER = 0,  /**< nothing to decide (being set up) */
    FCGIX_POLICY_IDLE,
    FCGIX_POLICY_BUSY,
    FCGIX_POLICY_LEAVING     /**< a child marked it retiring or dead */
} fcgix_policy_state_e;

/** A live process of the PM's. */
typedef struct {
    fcgix_policy_state_e state;
    int64_t started;
    int64_t last_active;  /**< last request's end */
    int64_t busy_since;   /**< current request's start, 0: unknown */
    int64_t term_at;      /**< SIGTERM sent at, 0: not yet */
    int owner_gone;       /**< BUSY for an httpd child that no longer
                               exists (the PM asks the kernel) */
} fcgix_policy_proc_t;

/** What is to become of a process. */
typedef enum {
    FCGIX_POLICY_KEEP = 0,
    FCGIX_POLICY_KILL,         /**< SIGTERM's grace is over: SIGKILL */
    FCGIX_POLICY_END_IDLE,     /**< idle timeout, or its class winds down */
    FCGIX_POLICY_END_LIFETIME, /**< idle and older than the lifetime */
    FCGIX_POLICY_END_BUSY,     /**< busy for longer than the timeout */
    FCGIX_POLICY_END_ASKED,    /**< LEAVING: end it for the child's reason */
    FCGIX_POLICY_END_ORPHAN    /**< busy for an httpd child that died
                                    mid-request: nobody gives it back */
} fcgix_policy_verdict_e;

/**
 * Decides about one process. @p staying is how many of the class's
 * processes stay (not on their way out) counting this one: the idle
 * timeout never takes the class below its minimum (0 when it winds down),
 * so a PM ending several in one pass counts each one it ends off. The
 * lifetime replaces an idle process whatever the minimum. @p grace_s is
 * how long SIGTERM may take.
 */
fcgix_policy_verdict_e fcgix_policy_judge(const fcgix_policy_limits_t *lim,
                                          const fcgix_policy_proc_t *proc,
                                          uint32_t staying, uint32_t grace_s,
                                          int64_t now);

/** The kill policy's load over the current interval (one per class, kept
 * by the PM, zeroed with it). */
typedef struct {
    int64_t since;
    uint64_t busy_seen;   /**< processes seen busy, summed over ticks */
    uint64_t procs_seen;  /**< processes seen at all */
} fcgix_policy_usage_t;

/**
 * FastCgiConfig's kill policy, once per PM tick: adds this tick's @p busy
 * and @p live processes of the class to @p u; at the end of each
 * -killInterval, when the share busy is below the threshold (the single
 * one with one process left) and the class has more than its minimum,
 * says one idle process is to end. @p load_pct and @p threshold_pct
 * (may be NULL) get the figures at the end of an interval, for the log.
 * @return 1 when one idle process is to end
 */
int fcgix_policy_kill(const fcgix_policy_limits_t *lim,
                      fcgix_policy_usage_t *u, uint32_t busy, uint32_t live,
                      int64_t now, uint32_t *load_pct,
                      uint32_t *threshold_pct);

/** A class that winds down and has nothing left is freed after this. */
#define FCGIX_POLICY_EMPTY_LINGER (5 * FCGIX_POLICY_SEC)

/**
 * Is a superseded or retired class to be freed? Once it has had no
 * process, waiting request or request in flight (@p empty) for more than
 * FCGIX_POLICY_EMPTY_LINGER, or as soon as it is seen empty twice when the
 * PM is leaving. A child's counts keep it only while they are nonzero.
 * @p empty_since is the PM's, per class: 0 while not empty.
 * @return 1 when the class is to be freed
 */
int fcgix_policy_free_class(int empty, int leaving, int64_t *empty_since,
                            int64_t now);

/** After DETACH, how long a new configuration may take to arrive. */
#define FCGIX_POLICY_DETACH_GRACE (10 * FCGIX_POLICY_SEC)

/**
 * Is mod_fcgix no longer loaded? The parent said DETACH at @p detach_at
 * (0: not since the last complete configuration) when a configuration
 * was unloaded; a graceful restart follows it with the new one at once,
 * so one that has not come after FCGIX_POLICY_DETACH_GRACE never will.
 * @return 1 when every class is to wind down and the PM to end
 */
int fcgix_policy_unloaded(int64_t detach_at, int64_t now);

#endif /* FCGIX_POLICY_H */
