/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/* The futex behind fcgix_sync.h: Linux only (see there why). */

#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "fcgix_sync.h"

int fcgix_sync_wait(volatile uint32_t *word, uint32_t seen,
                    int64_t timeout_us)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(timeout_us / 1000000);
    ts.tv_nsec = (long)(timeout_us % 1000000) * 1000;
    /* Not FUTEX_PRIVATE: the word is in memory other processes map. */
    return syscall(SYS_futex, word, FUTEX_WAIT, seen, &ts, NULL, 0) == -1
           && errno == ETIMEDOUT;
}

void fcgix_sync_wake(volatile uint32_t *word, int n)
{
    syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}
