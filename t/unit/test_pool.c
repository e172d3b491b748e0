/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Unit tests of the L1 address code with APR and no httpd: parsing the
 * address forms of FastCgiExternalServer / FcgixServer (fcgix_addr.c) and
 * choosing among a server's addresses (fcgix_pool_choose): round-robin,
 * hash and least-connections, skipping addresses already tried and those
 * disabled after a failure unless nothing else is left; and the request
 * counters an address's scoreboard slot keeps for the metrics
 * (fcgix_sb_reqs_count: outcome and duration bucket).
 */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "apr_general.h"
#include "apr_network_io.h"
#include "apr_pools.h"
#include "apr_strings.h"

#include "fcgix_addr.h"
#include "fcgix_pool.h"
#include "fcgix_sb.h"
#include "fcgix_tap.h"

static apr_pool_t *p;

/* A pool's allocator is never destroyed (fcgix_pool_create: a connection
 * still open at exit would be freed into it); the process's exit frees
 * it, and LeakSanitizer is told so rather than switched off. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:apr_allocator_create\n";
}

const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}

static fcgix_addr_t *parse_ok(const char *spec, int bare)
{
    fcgix_addr_t *a = NULL;
    const char *err = fcgix_addr_parse(p, spec, bare, &a);

    ok(err == NULL && a != NULL, "parse '%s'%s", spec, err ? err : "");
    return err ? NULL : a;
}

static void parse_bad(const char *spec, int bare, const char *want)
{
    fcgix_addr_t *a = NULL;
    const char *err = fcgix_addr_parse(p, spec, bare, &a);

    ok(err != NULL && a == NULL && strstr(err, want) != NULL,
       "'%s' refused: %s", spec, err ? err : "(accepted)");
}

static void test_parse(void)
{
    fcgix_addr_t *a;
    const char *err;
    char longpath[120];

    a = parse_ok("unix:/run/app.sock", 0);
    ok(a && a->is_unix && !strcmp(a->path, "/run/app.sock")
           && !strcmp(a->spec, "unix:/run/app.sock") && a->sa,
       "unix: path kept, resolved");
    a = parse_ok("UNIX:/run/app.sock", 0);
    ok(a && a->is_unix, "the unix: prefix in any case");
    a = parse_ok("/run/bare.sock", 1);
    ok(a && a->is_unix && !strcmp(a->path, "/run/bare.sock"),
       "bare path where allowed");
    parse_bad("/run/bare.sock", 0, "port");
    parse_bad("unix:run/app.sock", 0, "must be absolute");
    parse_bad("unix:", 0, "must be absolute");
    memset(longpath, 'a', sizeof(longpath));
    longpath[0] = '/';
    longpath[100] = '\0';
    parse_bad(apr_pstrcat(p, "unix:", longpath, NULL), 0, "too long");
    longpath[99] = '\0';
    a = parse_ok(apr_pstrcat(p, "unix:", longpath, NULL), 0);
    ok(a && strlen(a->path) == 99, "99-byte path fits");

    a = parse_ok("127.0.0.1:9000", 0);
    ok(a && !a->is_unix && !strcmp(a->host, "127.0.0.1") && a->port == 9000
           && a->sa && a->sa->family == APR_INET && a->sa->port == 9000,
       "host:port, resolved to IPv4");
    a = NULL;
    err = fcgix_addr_parse(p, "[::1]:9001", 0, &a);
    if (err && strstr(err, "cannot resolve '::1'")) {
        /* A host without IPv6 refuses ::1 in the resolver; the brackets
         * must still be gone from the host it asked for. */
        ok(1, "[v6]:port parsed to host ::1 (not resolved here: %s)", err);
    }
    else {
        ok(err == NULL && a && !a->is_unix && !strcmp(a->host, "::1")
               && a->port == 9001 && a->sa && a->sa->family == APR_INET6,
           "[v6]:port, brackets gone, resolved to IPv6%s",
           err ? err : "");
    }
    parse_bad("127.0.0.1", 0, "needs a port");
    parse_bad("127.0.0.1:0", 0, "address");
    parse_bad("127.0.0.1:65536", 0, "invalid address");
    parse_bad("127.0.0.1:9x", 0, "port");
    parse_bad("[::1:9000", 0, "invalid address");
    parse_bad("[fe80::1%lo]:9000", 0, "invalid address");
    parse_bad("", 0, "invalid address");
    parse_bad("no-such-host.invalid:9000", 0, "cannot resolve");
}

/* A unix socket that listens and never accepts: connects complete in the
 * backlog, which is all an address needs to count a busy request. */
static fcgix_addr_t *listener(const char *path)
{
    apr_socket_t *s;
    fcgix_addr_t *a;

    unlink(path);
    a = parse_ok(apr_pstrcat(p, "unix:", path, NULL), 0);
    if (a == NULL
        || apr_socket_create(&s, APR_UNIX, SOCK_STREAM, 0, p) != APR_SUCCESS
        || apr_socket_bind(s, a->sa) != APR_SUCCESS
        || apr_socket_listen(s, 16) != APR_SUCCESS) {
        fprintf(stderr, "cannot listen on %s\n", path);
        return NULL;
    }
    return a;
}

#define NP 3

static void make_pools(fcgix_pool_t **pools, fcgix_addr_t **addrs)
{
    fcgix_pool_limits_t lim;
    int i;

    memset(&lim, 0, sizeof(lim));
    lim.disable_for = apr_time_from_sec(60);
    for (i = 0; i < NP; i++) {
        if (fcgix_pool_create(&pools[i], addrs[i], &lim, p) != APR_SUCCESS) {
            fprintf(stderr, "fcgix_pool_create failed\n");
            _exit(2);
        }
    }
}

static void test_choose(void)
{
    fcgix_pool_t *pools[NP];
    fcgix_addr_t *addrs[NP];
    fcgix_conn_t *c1, *c2, *c3;
    char path[NP][64];
    int i, got[6];

    for (i = 0; i < NP; i++) {
        snprintf(path[i], sizeof(path[i]), "/tmp/fcgix-unit-%ld-%d.sock",
                 (long)getpid(), i);
        if ((addrs[i] = listener(path[i])) == NULL) {
            ok(0, "listener %d", i);
            return;
        }
    }
    make_pools(pools, addrs);

    for (i = 0; i < 6; i++) {
        got[i] = fcgix_pool_choose(pools, NP, FCGIX_BALANCE_ROUND_ROBIN, 0, 0);
    }
    ok(got[0] == 0 && got[1] == 1 && got[2] == 2 && got[3] == 0
           && got[4] == 1 && got[5] == 2,
       "round-robin: 0 1 2 0 1 2 (got %d %d %d %d %d %d)", got[0], got[1],
       got[2], got[3], got[4], got[5]);
    /* The counter now stands at 6: the next start is address 0. */
    is_int(fcgix_pool_choose(pools, NP, FCGIX_BALANCE_ROUND_ROBIN, 0, 1u),
           1, "round-robin skips a tried address");
    is_int(fcgix_pool_choose(pools, NP, FCGIX_BALANCE_ROUND_ROBIN, 0, 7u),
           -1, "round-robin: all tried -> -1");

    is_int(fcgix_pool_choose(pools, NP, FCGIX_BALANCE_HASH, 7, 0), 1,
           "hash: key 7 of 3 -> 1");
    is_int(fcgix_pool_choose(pools, NP, FCGIX_BALANCE_HASH, 7, 0), 1,
           "hash: the same key, the same address");
    is_int(fcgix_pool_choose(pools, NP, FCGIX_BALANCE_HASH, 7, 1u << 1), 2,
           "hash: tried -> the next one");
    is_int(fcgix_pool_choose(pools, NP, FCGIX_BALANCE_HASH, 8, 1u << 2), 0,
           "hash: the next one wraps around");

    /* Least connections: two in flight on 0, one on 1, none on 2. */
    if (fcgix_pool_acquire(pools[0], apr_time_from_sec(2), 0, &c1)
            != APR_SUCCESS
        || fcgix_pool_acquire(pools[0], apr_time_from_sec(2), 0, &c2)
            != APR_SUCCESS
        || fcgix_pool_acquire(pools[1], apr_time_from_sec(2), 0, &c3)
            != APR_SUCCESS) {
        ok(0, "connections to the listeners");
        return;
    }
    for (i = 0; i < NP; i++) {
        got[i] = fcgix_pool_choose(pools, NP, FCGIX_BALANCE_LEAST_CONN, 0, 0);
    }
    ok(got[0] == 2 && got[1] == 2 && got[2] == 2,
       "least-conn: the idle address, whatever the start");
    is_int(fcgix_pool_choose(pools, NP, FCGIX_BALANCE_LEAST_CONN, 0, 1u << 2),
           1, "least-conn: idle one tried -> the less busy");

    /* Disabled addresses are skipped while others are left. */
    fcgix_pool_disable(pools[2]);
    is_int(fcgix_pool_choose(pools, NP, FCGIX_BALANCE_LEAST_CONN, 0, 0), 1,
           "least-conn skips a disabled address");
    is_int(fcgix_pool_choose(pools, NP, FCGIX_BALANCE_HASH, 2, 0), 0,
           "hash skips a disabled address");
    fcgix_pool_disable(pools[0]);
    for (i = 0; i < 3; i++) {
        got[i] = fcgix_pool_choose(pools, NP, FCGIX_BALANCE_ROUND_ROBIN, 0,
                                   0);
    }
    ok(got[0] == 1 && got[1] == 1 && got[2] == 1,
       "round-robin: only the enabled address");
    is_int(fcgix_pool_choose(pools, NP, FCGIX_BALANCE_HASH, 0, 1u << 1), 0,
           "all untried ones disabled: tried anyway, in hash order");
    fcgix_pool_disable(pools[1]);
    is_int(fcgix_pool_choose(pools, NP, FCGIX_BALANCE_HASH, 1, 0), 1,
           "all disabled: the hash's own address anyway");
    is_int(fcgix_pool_choose(pools, NP, FCGIX_BALANCE_HASH, 1, 7u), -1,
           "all disabled and tried -> -1");

    fcgix_pool_release(c1, 0);
    fcgix_pool_release(c2, 0);
    fcgix_pool_release(c3, 0);
    for (i = 0; i < NP; i++) {
        unlink(path[i]);
    }
}

/* A duration lands in the first bucket whose bound it does not pass; the
 * bounds grow; the last bucket has none. */
static void test_reqs(void)
{
    fcgix_sb_reqs_t st;
    int i, grows = 1;

    memset(&st, 0, sizeof(st));
    fcgix_sb_reqs_count(&st, FCGIX_OUTCOME_OK, 0);
    fcgix_sb_reqs_count(&st, FCGIX_OUTCOME_OK, 5000);
    fcgix_sb_reqs_count(&st, FCGIX_OUTCOME_TIMEOUT, 5001);
    fcgix_sb_reqs_count(&st, FCGIX_OUTCOME_UNAVAILABLE,
                        apr_time_from_sec(3600));
    fcgix_sb_reqs_count(&st, FCGIX_OUTCOMES, -1);
    is_int((int)st.outcome[FCGIX_OUTCOME_OK], 2, "reqs: two ok");
    is_int((int)st.outcome[FCGIX_OUTCOME_TIMEOUT], 1, "reqs: one timeout");
    is_int((int)st.outcome[FCGIX_OUTCOME_ERROR], 1,
           "reqs: an outcome out of range counts as an error");
    is_int((int)st.bucket[0], 3, "reqs: 0, 5 ms and -1 in le 0.005");
    is_int((int)st.bucket[1], 1, "reqs: 5.001 ms in le 0.01");
    is_int((int)st.bucket[FCGIX_SB_BUCKETS - 1], 1, "reqs: an hour in +Inf");
    ok(st.dur_us == 5000 + 5001 + (apr_uint64_t)apr_time_from_sec(3600),
       "reqs: durations summed (a negative one as 0)");
    for (i = 1; i < FCGIX_SB_BUCKETS - 1; i++) {
        grows &= fcgix_sb_bucket_bound(i) > fcgix_sb_bucket_bound(i - 1);
    }
    ok(grows && fcgix_sb_bucket_bound(FCGIX_SB_BUCKETS - 1) == -1,
       "reqs: bounds grow, the last is +Inf");
    fcgix_sb_reqs_waited(&st, 250);
    fcgix_sb_reqs_waited(&st, -3);
    ok(st.queued == 2 && st.queue_us == 250, "reqs: two waits, 250 us");
    is_int(strcmp(fcgix_sb_outcome_str(FCGIX_OUTCOME_BAD_REPLY),
                  "bad_reply"), 0, "reqs: outcome names");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_parse();
    test_choose();
    test_reqs();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
