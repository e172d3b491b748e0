/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * libFuzzer target for FCGI_GET_VALUES answers: an application's record
 * stream goes through the L0 reader, and every GET_VALUES_RESULT body to
 * fcgix_pool_caps_answer() (src/fcgix_pool.c, included whole, with its
 * scoreboard slot), as the direct and the multiplexed readers do.
 *
 * What must hold: only a name the answer gives changes its value (an
 * empty answer, as Go's net/http/fcgi sends after its real one, changes
 * nothing); FCGI_MPXS_CONNS is 0 or 1; the limits are what the L0 parser
 * (fcgix_proto_caps_parse) read, never negative; the slot shows the same
 * as the pool. Links with APR only (connecting is a stub).
 *
 * Input: the record stream.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/fcgix_pool.c"

#include "fuzz_check.h"

apr_status_t fcgix_addr_connect(const fcgix_addr_t *a,
                                apr_interval_time_t timeout,
                                apr_pool_t *p, apr_socket_t **sock)
{
    (void)a;
    (void)timeout;
    (void)p;
    (void)sock;
    return APR_ECONNREFUSED;
}

typedef struct {
    int mpxs, max_conns, max_reqs, named;
} want_t;

/* One answer, read by the L0 parser (its own unit tests hold it to the
 * names and numbers): what it found must land in the pool and the slot,
 * and only that. */
static void expect(want_t *w, const uint8_t *b, size_t len)
{
    fcgix_caps_t c;
    int n = fcgix_proto_caps_parse(b, len, &c);

    CHECK(n == (c.mpxs_conns >= 0) + (c.max_conns >= 0)
               + (c.max_reqs >= 0));
    CHECK(c.mpxs_conns <= 1);
    if (c.mpxs_conns >= 0) {
        w->mpxs = c.mpxs_conns;
    }
    if (c.max_conns >= 0) {
        w->max_conns = c.max_conns;
    }
    if (c.max_reqs >= 0) {
        w->max_reqs = c.max_reqs;
    }
    w->named |= n > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *root;
    static fcgix_sb_backend_t slot;
    fcgix_pool_t pl;
    fcgix_reader_t rd;
    want_t w = { 0, 0, 0, 0 };
    size_t off = 0;

    if (root == NULL) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    memset(&pl, 0, sizeof(pl));
    memset(&slot, 0, sizeof(slot));
    CHECK(apr_thread_mutex_create(&pl.mu, APR_THREAD_MUTEX_DEFAULT, root)
          == APR_SUCCESS);
    pl.shm = &slot;
    fcgix_reader_init(&rd, FCGIX_READ_FROM_APP);
    while (off < size) {
        fcgix_event_t ev;
        size_t used = 0;
        int rc = fcgix_reader_feed(&rd, data + off, size - off, &used, &ev);

        off += used;
        if (rc != FCGIX_OK) {
            break;
        }
        if (ev.kind != FCGIX_EV_MGMT || ev.type != FCGIX_GET_VALUES_RESULT) {
            continue;
        }
        expect(&w, ev.data, ev.len);
        fcgix_pool_caps_answer(&pl, ev.data, ev.len);
        CHECK(pl.caps == (w.named ? FCGIX_CAPS_KNOWN : FCGIX_CAPS_UNKNOWN));
        CHECK(pl.mpxs_conns == w.mpxs);
        CHECK(pl.max_conns == w.max_conns && pl.max_reqs == w.max_reqs);
        CHECK(pl.max_conns >= 0 && pl.max_reqs >= 0);
        CHECK(slot.caps == pl.caps);
        CHECK(!w.named || (slot.mpxs_conns == pl.mpxs_conns
                           && slot.max_conns == pl.max_conns
                           && slot.max_reqs == pl.max_reqs));
    }
    apr_thread_mutex_destroy(pl.mu);
    return 0;
}
