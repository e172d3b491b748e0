/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Unit tests of the L0 CGI header block scanner (fcgix_cgi.c): where the
 * block ends, with CRLF, LF and mixed line ends, arriving whole or split
 * at every offset as records may split it, the FcgixMaxResponseHeaderLen
 * limit, and Status values. Each call sees a copy that ends right at a
 * PROT_NONE page, so a read past the length it is given faults.
 */
#define _DEFAULT_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fcgix_cgi.h"
#include "fcgix_tap.h"

static char *guard_end; /* first byte of the PROT_NONE page */
static size_t guard_cap;

static void guard_init(size_t cap)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (cap + ps - 1) / ps + 1;
    char *m = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (m == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    guard_end = m + (pages - 1) * ps;
    guard_cap = (pages - 1) * ps;
    if (mprotect(guard_end, ps, PROT_NONE) != 0) {
        perror("mprotect");
        exit(2);
    }
}

/* The first @p n bytes of @p s, ending at the guard page. */
static const char *guarded(const char *s, size_t n)
{
    if (n > guard_cap) {
        fprintf(stderr, "guarded: %zu > %zu\n", n, guard_cap);
        exit(2);
    }
    memcpy(guard_end - n, s, n);
    return guard_end - n;
}

/* One call as fcgix_reply.c makes it on a buffer that holds @p len
 * bytes of the output so far. */
static int end_of(const char *s, size_t len, size_t max, size_t *scan,
                  size_t *off)
{
    return fcgix_cgi_header_end(guarded(s, len), len, max, scan, off);
}

typedef struct {
    const char *name;
    const char *out; /* the application's output (header block + body) */
    int rc;          /* with the whole output and a 64 KiB limit */
    size_t off;      /* body offset with FCGIX_CGI_FOUND */
} vec_t;

static const vec_t vectors[] = {
    { "CRLF", "Content-Type: text/plain\r\nX: 1\r\n\r\nbody",
      FCGIX_CGI_FOUND, 34 },
    { "LF", "Content-Type: text/plain\nX: 1\n\nbody", FCGIX_CGI_FOUND, 31 },
    { "LF then CRLF blank line", "A: 1\n\r\nbody", FCGIX_CGI_FOUND, 7 },
    { "CRLF then LF blank line", "A: 1\r\n\nbody", FCGIX_CGI_FOUND, 7 },
    { "mixed lines", "A: 1\r\nB: 2\nC: 3\r\n\r\n\r\n", FCGIX_CGI_FOUND,
      19 },
    { "empty block, LF", "\nbody", FCGIX_CGI_FOUND, 1 },
    { "empty block, CRLF", "\r\nbody", FCGIX_CGI_FOUND, 2 },
    { "empty block, nothing after", "\r\n", FCGIX_CGI_FOUND, 2 },
    { "blank line in the body is not the end", "A: 1\r\n\r\nx\n\ny",
      FCGIX_CGI_FOUND, 8 },
    { "bare CR lines do not end it", "A: 1\r\r\rB: 2\r\r", FCGIX_CGI_AGAIN,
      0 },
    { "CR CR LF is no blank line", "A: 1\r\n\r\r\n", FCGIX_CGI_AGAIN, 0 },
    { "no end yet", "A: 1\r\nB: 2\r\n", FCGIX_CGI_AGAIN, 0 },
    { "half a CRLF blank line", "A: 1\r\n\r", FCGIX_CGI_AGAIN, 0 },
    { "a lone CR", "\r", FCGIX_CGI_AGAIN, 0 },
    { "nothing", "", FCGIX_CGI_AGAIN, 0 },
};

#define NVEC (sizeof(vectors) / sizeof(vectors[0]))
#define MAX64K 65536

static void test_whole(void)
{
    size_t i;

    for (i = 0; i < NVEC; i++) {
        const vec_t *v = &vectors[i];
        size_t scan = 0, off = 0;
        int rc = end_of(v->out, strlen(v->out), MAX64K, &scan, &off);

        ok(rc == v->rc && (rc != FCGIX_CGI_FOUND || off == v->off),
           "whole: %s (rc %d off %zu, want %d %zu)", v->name, rc, off,
           v->rc, v->off);
    }
}

/* The buffer grows as records come: first @p k bytes, then the rest. */
static void test_split(void)
{
    size_t i, k;

    for (i = 0; i < NVEC; i++) {
        const vec_t *v = &vectors[i];
        size_t len = strlen(v->out);
        int bad = 0;

        for (k = 0; k <= len; k++) {
            size_t scan = 0, off = 0;
            int rc = end_of(v->out, k, MAX64K, &scan, &off);

            if (rc == FCGIX_CGI_FOUND) {
                /* Found in the prefix already: must be the same end. */
                bad += v->rc != FCGIX_CGI_FOUND || off != v->off;
                continue;
            }
            bad += rc != FCGIX_CGI_AGAIN || scan > k;
            rc = end_of(v->out, len, MAX64K, &scan, &off);
            bad += rc != v->rc || (rc == FCGIX_CGI_FOUND && off != v->off);
        }
        ok(bad == 0, "split at every offset: %s", v->name);
    }
}

static void test_byte_by_byte(void)
{
    size_t i, k;

    for (i = 0; i < NVEC; i++) {
        const vec_t *v = &vectors[i];
        size_t len = strlen(v->out), scan = 0, off = 0;
        int rc = FCGIX_CGI_AGAIN;

        for (k = 0; k <= len && rc == FCGIX_CGI_AGAIN; k++) {
            rc = end_of(v->out, k, MAX64K, &scan, &off);
        }
        ok(rc == v->rc && (rc != FCGIX_CGI_FOUND || off == v->off),
           "byte by byte: %s", v->name);
    }
}

static void test_limit(void)
{
    static char big[70000];
    size_t scan = 0, off = 0, n;
    int rc;

    /* One field of 60000 bytes in a 64 KiB limit, as t/100 sends it. */
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'x', 60000);
    memcpy(big + 60007, "\r\n\r\n", 4);
    rc = end_of(big, 60011, MAX64K, &scan, &off);
    ok(rc == FCGIX_CGI_FOUND && off == 60011, "60000-byte field fits");

    /* The limit reached without an end: no more room in the buffer. */
    memset(big, 'a', sizeof(big));
    scan = 0;
    rc = end_of(big, MAX64K, MAX64K, &scan, &off);
    is_int(rc, FCGIX_CGI_TOOBIG, "64 KiB without a blank line: too big");
    scan = 0;
    rc = end_of(big, MAX64K - 1, MAX64K, &scan, &off);
    is_int(rc, FCGIX_CGI_AGAIN, "one byte short of the limit: more");

    /* The blank line's last byte exactly at the limit is in. */
    n = 1024;
    memset(big, 'a', n);
    memcpy(big, "A: ", 3);
    memcpy(big + n - 4, "\r\n\r\n", 4);
    scan = 0;
    rc = end_of(big, n, n, &scan, &off);
    ok(rc == FCGIX_CGI_FOUND && off == n, "blank line ending at the limit");
    scan = 0;
    rc = end_of(big, n, n - 1, &scan, &off);
    is_int(rc, FCGIX_CGI_TOOBIG, "blank line one byte past the limit");
    scan = 0;
    rc = end_of("\r\nbody", 6, 1, &scan, &off);
    is_int(rc, FCGIX_CGI_TOOBIG, "limit 1, leading CRLF: too big");
    scan = 0;
    rc = end_of("\nbody", 5, 1, &scan, &off);
    ok(rc == FCGIX_CGI_FOUND && off == 1, "limit 1, leading LF: found");
    scan = 0;
    rc = end_of("\r", 1, 1, &scan, &off);
    is_int(rc, FCGIX_CGI_TOOBIG, "limit 1, a lone CR: too big");

    /* Output beyond the limit is not looked at. */
    memset(big, 'a', 100);
    memcpy(big + 100, "\n\n", 2);
    scan = 0;
    rc = end_of(big, 102, 100, &scan, &off);
    is_int(rc, FCGIX_CGI_TOOBIG, "end only past the limit: too big");
}

static void test_status(void)
{
    static const struct {
        const char *v;
        int want;
    } st[] = {
        { "200", 200 }, { "404 Not Found", 404 }, { "599 x", 599 },
        { "100", 100 }, { "999", 999 }, { "099", 0 }, { "20", 0 },
        { "2000", 0 }, { "200x", 0 }, { "20x", 0 }, { "", 0 },
        { " 200", 0 }, { "200\tOK", 0 }, { "abc", 0 }, { "-20", 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "Status '%s' -> %d", st[i].v,
                 st[i].want);
        is_int(fcgix_cgi_status(st[i].v), st[i].want, name);
    }
}

int main(void)
{
    guard_init(70000);
    test_whole();
    test_split();
    test_byte_by_byte();
    test_limit();
    test_status();
    return done_testing();
}
