/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * libFuzzer target for the L0 reader and name-value decoder.
 *
 * Input: the first byte picks the side (bit 0) and a split size (the other
 * bits, 1..128); the rest is the byte stream.  The stream is read whole,
 * in pieces of the split size and byte by byte; each piece is a separate
 * heap copy so ASan catches any read past the length given.  All three
 * must produce the same events (stream pieces of one record merged), which
 * is the reader's promise of being resumable at any byte.  Any broken
 * invariant aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgix_proto.h"

#include "fuzz_check.h"

typedef struct {
    uint64_t h;
    /* A stream run not hashed yet, because the next piece may extend it. */
    int pending;
    uint8_t ptype;
    uint16_t prid;
    size_t poff, plen;
} digest_t;

static void mix(digest_t *d, const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        d->h = (d->h ^ b[i]) * 0x100000001b3ULL;
    }
}

static void mix_u(digest_t *d, uint64_t v)
{
    mix(d, &v, sizeof(v));
}

static void flush(digest_t *d)
{
    if (d->pending) {
        mix_u(d, FCGIX_EV_STREAM);
        mix_u(d, d->ptype);
        mix_u(d, d->prid);
        mix_u(d, d->poff);
        mix_u(d, d->plen);
        d->pending = 0;
    }
}

/* Every pair in a management body must survive a re-encode. */
static void check_nv(const uint8_t *b, size_t len)
{
    static uint8_t enc[FCGIX_MGMT_MAX + 8];
    size_t pos = 0, c, w, c2;
    fcgix_nv_t nv, nv2;

    for (;;) {
        c = 0;
        if (fcgix_proto_nv_decode(b + pos, len - pos, &nv, &c)
            != FCGIX_OK) {
            break;
        }
        CHECK(c >= 2 && c <= len - pos);
        CHECK(nv.name >= b + pos && nv.value == nv.name + nv.name_len);
        CHECK(nv.value + nv.value_len == b + pos + c);
        CHECK(fcgix_proto_nv_len(nv.name_len, nv.value_len) <= c);
        CHECK(fcgix_proto_nv_encode(enc, sizeof(enc),
                                    (const char *)nv.name, nv.name_len,
                                    (const char *)nv.value, nv.value_len,
                                    &w) == FCGIX_OK);
        CHECK(w == fcgix_proto_nv_len(nv.name_len, nv.value_len));
        CHECK(fcgix_proto_nv_decode(enc, w, &nv2, &c2) == FCGIX_OK);
        CHECK(c2 == w && nv2.name_len == nv.name_len
              && nv2.value_len == nv.value_len);
        CHECK(!nv.name_len || !memcmp(nv2.name, nv.name, nv.name_len));
        CHECK(!nv.value_len
              || !memcmp(nv2.value, nv.value, nv.value_len));
        pos += c;
    }
    CHECK(pos <= len);
}

static void check_event(const fcgix_reader_t *rd, const fcgix_event_t *ev)
{
    int server = rd->side == FCGIX_READ_FROM_SERVER;

    switch (ev->kind) {
    case FCGIX_EV_STREAM:
        CHECK(ev->request_id != 0 && ev->len <= FCGIX_MAX_CONTENT);
        if (server) {
            CHECK(ev->type == FCGIX_PARAMS || ev->type == FCGIX_STDIN
                  || ev->type == FCGIX_DATA);
        }
        else {
            CHECK(ev->type == FCGIX_STDOUT || ev->type == FCGIX_STDERR);
        }
        break;
    case FCGIX_EV_MGMT:
        CHECK(ev->request_id == 0 && ev->data == rd->body
              && ev->len <= FCGIX_MGMT_MAX);
        CHECK(ev->type == (server ? FCGIX_GET_VALUES
                                  : FCGIX_GET_VALUES_RESULT));
        check_nv(ev->data, ev->len);
        break;
    case FCGIX_EV_END_REQUEST:
        CHECK(!server && ev->request_id != 0);
        break;
    case FCGIX_EV_UNKNOWN_TYPE:
        CHECK(!server && ev->request_id == 0);
        break;
    case FCGIX_EV_BEGIN_REQUEST:
    case FCGIX_EV_ABORT_REQUEST:
        CHECK(server && ev->request_id != 0);
        break;
    case FCGIX_EV_UNKNOWN_RECORD:
        CHECK(server && (ev->type == 0 || ev->type > FCGIX_UNKNOWN_TYPE));
        break;
    default:
        CHECK(0);
    }
}

static void digest_event(digest_t *d, const fcgix_event_t *ev, size_t off)
{
    if (ev->kind == FCGIX_EV_STREAM && ev->len && d->pending && d->plen
        && d->ptype == ev->type && d->prid == ev->request_id
        && d->poff + d->plen == off) {
        d->plen += ev->len;
        return;
    }
    flush(d);
    if (ev->kind == FCGIX_EV_STREAM) {
        d->pending = 1;
        d->ptype = ev->type;
        d->prid = ev->request_id;
        d->poff = off;
        d->plen = ev->len;
        return;
    }
    mix_u(d, ev->kind);
    mix_u(d, ev->type);
    mix_u(d, ev->request_id);
    switch (ev->kind) {
    case FCGIX_EV_MGMT:
        mix_u(d, ev->len);
        mix(d, ev->data, ev->len);
        break;
    case FCGIX_EV_END_REQUEST:
        mix_u(d, ev->end.app_status);
        mix_u(d, ev->end.protocol_status);
        break;
    case FCGIX_EV_BEGIN_REQUEST:
        mix_u(d, ev->begin.role);
        mix_u(d, ev->begin.flags);
        break;
    case FCGIX_EV_UNKNOWN_TYPE:
        mix_u(d, ev->unknown_type);
        break;
    default:
        break;
    }
}

/* Reads in[0, len) in pieces of @p split bytes; returns the digest. */
static uint64_t run(int side, const uint8_t *in, size_t len, size_t split)
{
    fcgix_reader_t rd;
    digest_t d;
    size_t off = 0, total = 0;
    int rc = FCGIX_AGAIN;

    memset(&d, 0, sizeof(d));
    d.h = 0xcbf29ce484222325ULL;
    fcgix_reader_init(&rd, (fcgix_reader_side_e)side);
    while (off < len && rc == FCGIX_AGAIN) {
        size_t n = len - off < split ? len - off : split, pos = 0;
        uint8_t *piece = malloc(n);

        CHECK(piece != NULL);
        memcpy(piece, in + off, n);
        for (;;) {
            fcgix_event_t ev;
            size_t c = (size_t)-1;

            rc = fcgix_reader_feed(&rd, piece + pos, n - pos, &c, &ev);
            CHECK(c <= n - pos);
            if (rc == FCGIX_OK) {
                CHECK(c >= 1);
                if (ev.kind == FCGIX_EV_STREAM) {
                    CHECK(ev.data >= piece + pos);
                    CHECK(ev.data + ev.len <= piece + pos + c);
                }
                check_event(&rd, &ev);
                digest_event(&d, &ev, ev.kind == FCGIX_EV_STREAM
                             ? off + (size_t)(ev.data - piece) : 0);
                pos += c;
                continue;
            }
            pos += c;
            if (rc == FCGIX_AGAIN) {
                CHECK(pos == n && rd.state != FCGIX_RS_FAILED);
                break;
            }
            CHECK(rc == FCGIX_EPROTO || rc == FCGIX_ETOOBIG);
            CHECK(rd.state == FCGIX_RS_FAILED && rd.error != NULL);
            CHECK(!fcgix_reader_idle(&rd));
            {
                fcgix_event_t ev2;
                size_t c2 = 1;

                CHECK(fcgix_reader_feed(&rd, piece + pos, n - pos, &c2,
                                        &ev2) == rc && c2 == 0);
            }
            break;
        }
        free(piece);
        total += pos;
        off += n;
    }
    CHECK(rd.state <= FCGIX_RS_FAILED);
    if (fcgix_reader_idle(&rd)) {
        CHECK(rd.state == FCGIX_RS_HEADER && rd.have == 0);
    }
    flush(&d);
    mix_u(&d, (uint64_t)(int64_t)rc);
    mix_u(&d, total);
    mix_u(&d, (uint64_t)(uintptr_t)rd.error);
    mix_u(&d, rd.state);
    mix_u(&d, (uint64_t)fcgix_reader_idle(&rd));
    return d.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int side;
    size_t split;
    uint64_t whole;

    if (size < 1) {
        return 0;
    }
    side = data[0] & 1;
    split = (size_t)(data[0] >> 1) + 1;
    data++;
    size--;

    whole = run(side, data, size, size ? size : 1);
    CHECK(run(side, data, size, split) == whole);
    if (split != 1) {
        CHECK(run(side, data, size, 1) == whole);
    }
    /* The decoder also sees raw, unframed bytes. */
    if (size <= FCGIX_MGMT_MAX) {
        check_nv(data, size);
    }
    return 0;
}
