/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file fcgix_sync.h
 * @brief Waiting and waking across processes: Linux-specific.
 *
 * The PM and the httpd children share one scoreboard mapping and meet on
 * 32-bit words in it (a class's seq, the scoreboard's seq). A child that
 * needs a process sleeps on such a word until someone changes it; nobody
 * sleep-polls. Only the Linux futex does that on memory shared between
 * processes with no lock around it, so this header is not portable: a port
 * replaces fcgix_sync.c (with a process-shared condition variable, say)
 * and keeps these calls.
 *
 * Atomics: the files that use these words (fcgix_sb.c, fcgix_pm.c, like
 * fcgix_mpx.c and fcgix_pool.c) use the GCC __atomic builtins, which say
 * their memory order at each use and work on any width; APR's apr_atomic_*
 * has only full barriers on 32-bit and pointer words.
 *
 * Callers: the scoreboard code (fcgix_sb.c) and the PM. No APR here.
 */

#ifndef FCGIX_SYNC_H
#define FCGIX_SYNC_H

#include <limits.h>
#include <stdint.h>

/** Wake every sleeper, for fcgix_sync_wake(). */
#define FCGIX_SYNC_ALL INT_MAX

/**
 * Sleeps while @p *word still holds @p seen, at most @p timeout_us
 * microseconds (a signal or a spurious wake-up may end it early: callers
 * look again).
 * @return 1 when the time ran out, 0 otherwise
 */
int fcgix_sync_wait(volatile uint32_t *word, uint32_t seen,
                    int64_t timeout_us);

/** Wakes up to @p n processes sleeping on @p word (FCGIX_SYNC_ALL). */
void fcgix_sync_wake(volatile uint32_t *word, int n);

/** Sets @p *word from @p from to @p to if it still holds @p from (a full
 * barrier either way). @return 1 when it did */
static inline int fcgix_sync_cas(volatile uint32_t *word, uint32_t from,
                                 uint32_t to)
{
    return __atomic_compare_exchange_n(word, &from, to, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

#endif /* FCGIX_SYNC_H */
