/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Unit tests of fcgix_proto_caps_parse (L0): what an application's
 * FCGI_GET_VALUES_RESULT tells the pool. Bodies are built with the
 * codec's own encoder; an unsaid or unusable value must read as -1
 * (unknown), never as 0, which would mean "no multiplexing" or "no
 * connections".
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fcgix_proto.h"
#include "fcgix_tap.h"

static uint8_t body[4096];
static size_t blen;

static void put(const char *name, const char *value)
{
    size_t w = 0;

    if (fcgix_proto_nv_encode(body + blen, sizeof(body) - blen, name,
                              strlen(name), value, strlen(value), &w)
        != FCGIX_OK) {
        fprintf(stderr, "encode %s failed\n", name);
    }
    blen += w;
}

static int parse(fcgix_caps_t *c)
{
    return fcgix_proto_caps_parse(body, blen, c);
}

#define caps_is(c, m, x, r, name)                                      \
    ok((c).mpxs_conns == (m) && (c).max_conns == (x)                   \
           && (c).max_reqs == (r),                                     \
       "%s (got %d/%d/%d)", name, (c).mpxs_conns, (c).max_conns,       \
       (c).max_reqs)

static void test_answers(void)
{
    fcgix_caps_t c;

    blen = 0;
    put("FCGI_MPXS_CONNS", "1");
    put("FCGI_MAX_CONNS", "50");
    put("FCGI_MAX_REQS", "200");
    is_int(parse(&c), 3, "all three said");
    caps_is(c, 1, 50, 200, "all three values");

    blen = 0;
    is_int(parse(&c), 0, "empty body says nothing");
    caps_is(c, -1, -1, -1, "empty body: all unknown (not 0)");

    blen = 0;
    put("FCGI_MPXS_CONNS", "0");
    is_int(parse(&c), 1, "MPXS_CONNS=0 is said");
    caps_is(c, 0, -1, -1, "MPXS_CONNS=0, the rest unknown");

    blen = 0;
    put("FCGI_MPXS_CONNS", "2");
    parse(&c);
    is_int(c.mpxs_conns, 0, "MPXS_CONNS=2 is not 1: no multiplexing");

    blen = 0;
    put("FCGI_MAX_REQS", "7");
    put("FCGI_MAX_CONNS", "0");
    put("FCGI_OTHER", "9");
    put("FCGI_MAX_CONNSX", "9");
    put("FCGI_MAX", "9");
    put("fcgi_max_reqs", "9");
    is_int(parse(&c), 2, "unknown and near-miss names ignored");
    caps_is(c, -1, 0, 7, "any order; names compared exactly");
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "", "x", "12x", "-1", "+1", " 1", "1 ", "0x10", "2147483648",
        "99999999999999999999", "1.5",
    };
    fcgix_caps_t c;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char name[80];
        blen = 0;
        put("FCGI_MAX_CONNS", bad[i]);
        put("FCGI_MPXS_CONNS", bad[i]);
        snprintf(name, sizeof(name), "value '%s' is not said", bad[i]);
        ok(parse(&c) == 0 && c.max_conns == -1 && c.mpxs_conns == -1,
           "%s", name);
    }

    blen = 0;
    put("FCGI_MAX_CONNS", "2147483647");
    parse(&c);
    is_int(c.max_conns, 2147483647, "2^31-1 is the largest value");

    blen = 0;
    put("FCGI_MAX_CONNS", "0007");
    parse(&c);
    is_int(c.max_conns, 7, "leading zeros are a number");
}

static void test_duplicates_and_cuts(void)
{
    fcgix_caps_t c;
    size_t whole;

    blen = 0;
    put("FCGI_MAX_CONNS", "5");
    put("FCGI_MAX_CONNS", "8");
    parse(&c);
    is_int(c.max_conns, 8, "said twice: the last wins");

    blen = 0;
    put("FCGI_MAX_CONNS", "5");
    put("FCGI_MAX_CONNS", "junk");
    parse(&c);
    is_int(c.max_conns, 5, "a bad repeat leaves the good value");

    /* A pair cut short ends the answer; what came before counts. */
    blen = 0;
    put("FCGI_MPXS_CONNS", "1");
    whole = blen;
    put("FCGI_MAX_REQS", "30");
    c.max_reqs = 99;
    is_int(fcgix_proto_caps_parse(body, blen - 1, &c), 1,
           "cut in the last value: the first pair counts");
    caps_is(c, 1, -1, -1, "cut in the last value: it is unknown");
    is_int(fcgix_proto_caps_parse(body, whole + 1, &c), 1,
           "cut after one length byte");

    /* An oversized value (4-byte length) is read past, not trusted. */
    blen = 0;
    {
        static char longv[300];
        memset(longv, '1', sizeof(longv) - 1);
        put("FCGI_MAX_REQS", longv);
    }
    put("FCGI_MAX_CONNS", "3");
    parse(&c);
    ok(c.max_reqs == -1 && c.max_conns == 3,
       "a 299-digit value is unknown and the next pair still read");
}

int main(void)
{
    test_answers();
    test_malformed();
    test_duplicates_and_cuts();
    return done_testing();
}
