/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Unit tests of a re-resolved name's address set (L0): which positions an
 * answer fills, drains and frees, and the slow-start share, with plain
 * values and no resolver, pool or clock behind them.
 */

#include <stdint.h>
#include <string.h>

#include "fcgix_addrset.h"
#include "fcgix_tap.h"

#define SEC INT64_C(1000000)
#define T0 (INT64_C(1700000000) * SEC)
#define GRACE (2 * SEC)

static fcgix_addrset_ip_t v4(int last)
{
    fcgix_addrset_ip_t ip;

    memset(&ip, 0, sizeof(ip));
    ip.family = 4;
    ip.ip[0] = 198;
    ip.ip[1] = 18;
    ip.ip[3] = (unsigned char)last;
    return ip;
}

static fcgix_addrset_ip_t v6(int last)
{
    fcgix_addrset_ip_t ip;

    memset(&ip, 0, sizeof(ip));
    ip.family = 6;
    ip.ip[0] = 0x20;
    ip.ip[1] = 0x01;
    ip.ip[2] = 0x0d;
    ip.ip[3] = 0xb8;
    ip.ip[15] = (unsigned char)last;
    return ip;
}

static int holds(const fcgix_addrset_pos_t *pos, int n, int state,
                 fcgix_addrset_ip_t ip)
{
    int k;

    for (k = 0; k < n; k++) {
        if (pos[k].state == state && pos[k].ip.family == ip.family
            && !memcmp(pos[k].ip.ip, ip.ip, 16)) {
            return k;
        }
    }
    return -1;
}

static void test_update(void)
{
    fcgix_addrset_pos_t pos[4];
    fcgix_addrset_ip_t a[6];
    int busy[4] = { 0, 0, 0, 0 }, ignored, k1, k2;
    uint64_t ch;

    memset(pos, 0, sizeof(pos));
    a[0] = v4(1);
    a[1] = v4(2);
    a[2] = v4(1); /* a duplicate */
    ch = fcgix_addrset_update(pos, 4, a, 3, T0, GRACE, busy, &ignored);
    is_int(ch, 3, "first answer fills positions 0 and 1");
    is_int(ignored, 0, "nothing left out");
    ok(holds(pos, 4, FCGIX_ADDRSET_ACTIVE, v4(1)) >= 0
       && holds(pos, 4, FCGIX_ADDRSET_ACTIVE, v4(2)) >= 0,
       "both addresses active, the duplicate once");
    is_int(pos[2].state, FCGIX_ADDRSET_VACANT, "position 2 vacant");

    ch = fcgix_addrset_update(pos, 4, a, 2, T0 + SEC, GRACE, busy,
                              &ignored);
    is_int(ch, 0, "the same answer changes nothing");

    /* 198.18.0.1 leaves, an AAAA record joins. */
    a[0] = v4(2);
    a[1] = v6(7);
    k1 = holds(pos, 4, FCGIX_ADDRSET_ACTIVE, v4(1));
    ch = fcgix_addrset_update(pos, 4, a, 2, T0 + 2 * SEC, GRACE, busy,
                              &ignored);
    is_int(pos[k1].state, FCGIX_ADDRSET_GONE, "the vanished one drains");
    is_int(pos[k1].since, T0 + 2 * SEC, "since it left");
    k2 = holds(pos, 4, FCGIX_ADDRSET_ACTIVE, v6(7));
    ok(k2 >= 0 && k2 != k1, "the new one takes a vacant position, "
       "not the draining one");
    is_int(pos[k2].since, T0 + 2 * SEC, "joined now (slow start)");
    ok(ch == ((1u << k1) | (1u << k2)), "both changes reported");

    /* Still busy after the grace: stays draining. */
    busy[k1] = 1;
    ch = fcgix_addrset_update(pos, 4, a, 2, T0 + 10 * SEC, GRACE, busy,
                              &ignored);
    is_int(pos[k1].state, FCGIX_ADDRSET_GONE, "busy: still draining");
    is_int(ch, 0, "nothing changed");
    busy[k1] = 0;
    ch = fcgix_addrset_update(pos, 4, a, 2, T0 + 2 * SEC + GRACE - 1, GRACE,
                              busy, &ignored);
    /* since was T0 + 2 s: the grace has passed at T0 + 10 s, but here
     * time is before it ends. */
    is_int(pos[k1].state, FCGIX_ADDRSET_GONE, "idle within the grace: "
           "still draining");
    ch = fcgix_addrset_update(pos, 4, a, 2, T0 + 11 * SEC, GRACE, busy,
                              &ignored);
    is_int(pos[k1].state, FCGIX_ADDRSET_VACANT, "idle past the grace: "
           "vacant");
    ok(ch == (1u << k1), "that change reported");

    /* Comes back while draining: active again, same position. */
    a[2] = v4(2);
    memset(pos, 0, sizeof(pos));
    a[0] = v4(1);
    a[1] = v4(2);
    fcgix_addrset_update(pos, 4, a, 2, T0, GRACE, busy, &ignored);
    k1 = holds(pos, 4, FCGIX_ADDRSET_ACTIVE, v4(1));
    fcgix_addrset_update(pos, 4, a + 1, 1, T0 + SEC, GRACE, busy, &ignored);
    ch = fcgix_addrset_update(pos, 4, a, 2, T0 + 2 * SEC, GRACE, busy,
                              &ignored);
    is_int(pos[k1].state, FCGIX_ADDRSET_ACTIVE, "back: active again");
    is_int(pos[k1].since, T0 + 2 * SEC, "ramps up anew");
    is_int(holds(pos, 4, FCGIX_ADDRSET_ACTIVE, v4(1)), k1,
           "in its old position, once");

    /* More records than positions. */
    memset(pos, 0, sizeof(pos));
    for (k1 = 0; k1 < 6; k1++) {
        a[k1] = v4(10 + k1);
    }
    fcgix_addrset_update(pos, 4, a, 6, T0, GRACE, busy, &ignored);
    is_int(ignored, 2, "two beyond max-addrs left out");

    /* A record of neither family is not placed. */
    memset(pos, 0, sizeof(pos));
    a[0].family = 5;
    ch = fcgix_addrset_update(pos, 4, a, 1, T0, GRACE, busy, &ignored);
    is_int(ch, 0, "bad family: ignored");

    /* An empty answer drains everything (the resolver never passes one:
     * a failed lookup keeps the set). */
    memset(pos, 0, sizeof(pos));
    a[0] = v4(1);
    fcgix_addrset_update(pos, 4, a, 1, T0, GRACE, busy, &ignored);
    fcgix_addrset_update(pos, 4, a, 0, T0 + SEC, GRACE, busy, &ignored);
    is_int(pos[0].state, FCGIX_ADDRSET_GONE, "empty answer: gone");
}

static void test_ramp(void)
{
    int pct, n, t;

    is_int(fcgix_addrset_ramp(0, 10 * SEC), 10, "joined now: 10 %");
    is_int(fcgix_addrset_ramp(-SEC, 10 * SEC), 10, "clock behind: 10 %");
    is_int(fcgix_addrset_ramp(5 * SEC, 10 * SEC), 55, "half way: 55 %");
    is_int(fcgix_addrset_ramp(10 * SEC, 10 * SEC), 100, "done: 100 %");
    is_int(fcgix_addrset_ramp(SEC, 0), 100, "no slow start: 100 %");
    for (pct = 10; pct <= 100; pct += 15) {
        for (n = 0, t = 0; t < 100; t++) {
            n += fcgix_addrset_admit(pct, (uint32_t)(1000 + t));
        }
        is_int(n, pct, "admits pct of 100 consecutive ticks");
    }
    /* Spread: at 50 %, never 10 refusals in a row. */
    for (n = 0, pct = 0, t = 0; t < 200; t++) {
        n = fcgix_addrset_admit(50, (uint32_t)t) ? 0 : n + 1;
        pct = n > pct ? n : pct;
    }
    ok(pct < 10, "refusals spread out (longest run %d)", pct);
}

int main(void)
{
    note("positions");
    test_update();
    note("slow start");
    test_ramp();
    return done_testing();
}
