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
 * nothing); FCGI_MPXS_CONNS is 0 or 1; a limit is the decimal value of
 * its last occurrence in the answer, a negative one is ignored; the slot
 * shows the same as the pool. Links with APR only (connecting is a stub).
 *
 * Input: the record stream.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/fcgix_pool.c"

#define CHECK(c) \
    do { \
        if (!(c)) { \
            abort(); \
        } \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

/* The value as an application would mean it: leading decimal digits
 * (the reader keeps 15 characters). */
static int leading_int(const fcgix_nv_t *nv)
{
    char buf[16];
    size_t n = nv->value_len < 15 ? nv->value_len : 15;

    memcpy(buf, nv->value, n);
    buf[n] = '\0';
    return atoi(buf);
}

/* One answer: per name its last value; a negative limit says nothing. */
static void expect(want_t *w, const uint8_t *b, size_t len)
{
    size_t off = 0, used;
    fcgix_nv_t nv;
    int mpxs = -1, conns = -1, reqs = -1;

    while (off < len
           && fcgix_proto_nv_decode(b + off, len - off, &nv, &used)
                  == FCGIX_OK) {
        off += used;
        if (nv_is(&nv, "FCGI_MPXS_CONNS")) {
            mpxs = leading_int(&nv) == 1;
        }
        else if (nv_is(&nv, "FCGI_MAX_CONNS")) {
            conns = leading_int(&nv);
        }
        else if (nv_is(&nv, "FCGI_MAX_REQS")) {
            reqs = leading_int(&nv);
        }
    }
    if (mpxs >= 0) {
        w->mpxs = mpxs;
    }
    if (conns >= 0) {
        w->max_conns = conns;
    }
    if (reqs >= 0) {
        w->max_reqs = reqs;
    }
    w->named |= mpxs >= 0 || conns >= 0 || reqs >= 0;
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
