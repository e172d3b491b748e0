/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Minimal TAP producer for the C unit tests, so they run under prove
 * without a test framework dependency.  Header-only; include it once.
 */
#ifndef FCGIX_TAP_H
#define FCGIX_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define TAP_FN static __attribute__((unused))
#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TAP_FN static
#define TAP_PRINTF(f, a)
#endif

static int tap_run, tap_failed;

TAP_FN TAP_PRINTF(4, 5)
int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    tap_run++;
    printf("%sok %d - ", cond ? "" : "not ", tap_run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond) {
        tap_failed++;
        printf("#   Failed test at %s line %d.\n", file, line);
    }
    fflush(stdout);
    return cond;
}

TAP_FN TAP_PRINTF(1, 2) void note(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

TAP_FN int tap_is_int(long long got, long long want, const char *file,
                      int line, const char *name)
{
    int r = tap_ok(got == want, file, line, "%s", name);

    if (!r) {
        printf("#          got: %lld\n#     expected: %lld\n", got, want);
    }
    return r;
}

TAP_FN int tap_is_mem(const void *got, size_t glen, const void *want,
                      size_t wlen, const char *file, int line,
                      const char *name)
{
    int r = tap_ok(glen == wlen && (wlen == 0 || !memcmp(got, want, wlen)),
                   file, line, "%s", name);

    if (!r) {
        printf("#     got %zu bytes, expected %zu bytes\n", glen, wlen);
    }
    return r;
}

/* Prints the plan; returns the process exit status. */
TAP_FN int done_testing(void)
{
    printf("1..%d\n", tap_run);
    if (tap_failed) {
        printf("# Looks like you failed %d test%s of %d.\n", tap_failed,
               tap_failed == 1 ? "" : "s", tap_run);
    }
    return tap_failed ? 1 : 0;
}

#define ok(cond, ...) tap_ok((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, name) \
    tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, name)
#define is_mem(got, glen, want, wlen, name) \
    tap_is_mem(got, glen, want, wlen, __FILE__, __LINE__, name)

#endif /* FCGIX_TAP_H */
