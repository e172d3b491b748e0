/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_addrset.h
 * @brief The address set of a host name that is re-resolved (resolve=):
 *        which of its max-addrs positions a fresh answer fills, which
 *        ones drain and when a drained one is free again; and the reduced
 *        share of new requests a newly joined address gets (slow-start).
 *
 * Layer L0: pure C99, no APR, no allocation, no I/O. Times are int64_t
 * microseconds. Callers: the resolver (fcgix_upstream_dns.c), the pool's
 * choice (fcgix_pool.c) and t/unit/test_addrset.c.
 */
#ifndef FCGIX_ADDRSET_H
#define FCGIX_ADDRSET_H

#include <stdint.h>

/** A position's state. */
typedef enum {
    FCGIX_ADDRSET_VACANT = 0, /**< no address */
    FCGIX_ADDRSET_ACTIVE,     /**< in the name's answer: takes requests */
    FCGIX_ADDRSET_GONE        /**< left the answer: draining */
} fcgix_addrset_e;

/** An address: family 4 or 6, and 4 or 16 bytes. */
typedef struct {
    int family;
    unsigned char ip[16];
} fcgix_addrset_ip_t;

typedef struct {
    int state;               /**< fcgix_addrset_e */
    fcgix_addrset_ip_t ip;
    int64_t since;           /**< joined (ACTIVE) or left (GONE) */
} fcgix_addrset_pos_t;

/**
 * Applies a fresh answer @p ips (@p nips, duplicates allowed) at @p now
 * to the @p npos positions: an active address not in it goes GONE; a gone
 * one back in it is ACTIVE again (from now: it ramps up anew); a new one
 * takes a VACANT position (ACTIVE from now), or is counted in *ignored
 * when none is left; a GONE position with nothing on it (@p busy[k] 0)
 * for @p grace is VACANT again.
 * @return bit k set for each position that changed
 */
uint64_t fcgix_addrset_update(fcgix_addrset_pos_t *pos, int npos,
                              const fcgix_addrset_ip_t *ips, int nips,
                              int64_t now, int64_t grace, const int *busy,
                              int *ignored);

/**
 * The percentage (10..100) of its share an address that joined @p age ago
 * gets during a slow start of @p period: 10 at once, rising linearly to
 * 100 at the end (100 when @p period <= 0).
 */
int fcgix_addrset_ramp(int64_t age, int64_t period);

/**
 * Whether the @p tick-th choice that reaches a ramping address takes it,
 * given its @p pct: @p pct of every 100 consecutive ticks, spread out.
 */
int fcgix_addrset_admit(int pct, uint32_t tick);

#endif /* FCGIX_ADDRSET_H */
