/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <string.h>

#include "fcgix_addrset.h"

static int same(const fcgix_addrset_ip_t *a, const fcgix_addrset_ip_t *b)
{
    return a->family == b->family
           && !memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4);
}

static int find(const fcgix_addrset_pos_t *pos, int npos,
                const fcgix_addrset_ip_t *ip)
{
    int k;

    for (k = 0; k < npos; k++) {
        if (pos[k].state != FCGIX_ADDRSET_VACANT && same(&pos[k].ip, ip)) {
            return k;
        }
    }
    return -1;
}

static int in_answer(const fcgix_addrset_ip_t *ips, int nips,
                     const fcgix_addrset_ip_t *ip)
{
    int i;

    for (i = 0; i < nips; i++) {
        if (same(&ips[i], ip)) {
            return 1;
        }
    }
    return 0;
}

uint64_t fcgix_addrset_update(fcgix_addrset_pos_t *pos, int npos,
                              const fcgix_addrset_ip_t *ips, int nips,
                              int64_t now, int64_t grace, const int *busy,
                              int *ignored)
{
    uint64_t changed = 0;
    int k, i;

    *ignored = 0;
    for (k = 0; k < npos && k < 64; k++) {
        fcgix_addrset_pos_t *ps = &pos[k];
        int listed = ps->state != FCGIX_ADDRSET_VACANT
                     && in_answer(ips, nips, &ps->ip);
        if (ps->state == FCGIX_ADDRSET_ACTIVE && !listed) {
            ps->state = FCGIX_ADDRSET_GONE;
            ps->since = now;
            changed |= (uint64_t)1 << k;
        }
        else if (ps->state == FCGIX_ADDRSET_GONE && listed) {
            ps->state = FCGIX_ADDRSET_ACTIVE;
            ps->since = now;
            changed |= (uint64_t)1 << k;
        }
        else if (ps->state == FCGIX_ADDRSET_GONE && !busy[k]
                 && now - ps->since >= grace) {
            ps->state = FCGIX_ADDRSET_VACANT;
            ps->since = now;
            changed |= (uint64_t)1 << k;
        }
    }
    for (i = 0; i < nips; i++) {
        if ((ips[i].family != 4 && ips[i].family != 6)
            || find(pos, npos, &ips[i]) >= 0) {
            continue; /* kept, or a duplicate of one placed */
        }
        /* The position vacant longest: the least likely to be still
         * referred to by a request that chose it just before. */
        int best = -1;
        for (k = 0; k < npos && k < 64; k++) {
            if (pos[k].state == FCGIX_ADDRSET_VACANT
                && (best < 0 || pos[k].since < pos[best].since)) {
                best = k;
            }
        }
        if (best < 0) {
            (*ignored)++;
            continue;
        }
        pos[best].state = FCGIX_ADDRSET_ACTIVE;
        pos[best].ip = ips[i];
        pos[best].since = now;
        changed |= (uint64_t)1 << best;
    }
    return changed;
}

int fcgix_addrset_ramp(int64_t age, int64_t period)
{
    int64_t pct;

    if (period <= 0 || age >= period) {
        return 100;
    }
    if (age <= 0) {
        return 10;
    }
    pct = 10 + age * 90 / period;
    return pct > 100 ? 100 : (int)pct;
}

int fcgix_addrset_admit(int pct, uint32_t tick)
{
    /* 61 is prime to 100: ticks 0..99 map onto 0..99 once each, in an
     * order that spreads the admitted ones. */
    return (int)((tick % 100u) * 61u % 100u) < pct;
}
