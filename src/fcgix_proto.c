/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * FastCGI 1.0 wire codec (layer L0).
 *
 * Kept free of APR, httpd, allocation and I/O so that every byte of
 * untrusted input can be exercised by unit tests and a fuzzer alone.  The
 * reader is a byte-exact state machine: it never looks past the length it
 * is given and keeps no pointer into caller memory between calls, so a
 * caller may feed it from any buffer boundary the network produces.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fcgix_proto.h"

/* ---------------------------------------------------------------------
 * Fixed-size pack / unpack
 * ------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

void fcgix_proto_hdr_pack(uint8_t out[FCGIX_HEADER_LEN],
                          const fcgix_hdr_t *hdr)
{
    out[0] = hdr->version;
    out[1] = hdr->type;
    put16(out + 2, hdr->request_id);
    put16(out + 4, hdr->content_length);
    out[6] = hdr->padding_length;
    out[7] = 0;
}

void fcgix_proto_hdr_unpack(fcgix_hdr_t *hdr,
                            const uint8_t in[FCGIX_HEADER_LEN])
{
    hdr->version = in[0];
    hdr->type = in[1];
    hdr->request_id = get16(in + 2);
    hdr->content_length = get16(in + 4);
    hdr->padding_length = in[6];
}

void fcgix_proto_begin_pack(uint8_t out[8], const fcgix_begin_t *b)
{
    memset(out, 0, 8);
    put16(out, b->role);
    out[2] = b->flags;
}

void fcgix_proto_begin_unpack(fcgix_begin_t *b, const uint8_t in[8])
{
    b->role = get16(in);
    b->flags = in[2];
}

void fcgix_proto_end_pack(uint8_t out[8], const fcgix_end_t *e)
{
    memset(out, 0, 8);
    out[0] = (uint8_t)(e->app_status >> 24);
    out[1] = (uint8_t)(e->app_status >> 16);
    out[2] = (uint8_t)(e->app_status >> 8);
    out[3] = (uint8_t)e->app_status;
    out[4] = e->protocol_status;
}

void fcgix_proto_end_unpack(fcgix_end_t *e, const uint8_t in[8])
{
    e->app_status = ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16)
                    | ((uint32_t)in[2] << 8) | (uint32_t)in[3];
    e->protocol_status = in[4];
}

uint8_t fcgix_proto_rec_header(uint8_t out[FCGIX_HEADER_LEN], uint8_t type,
                               uint16_t rid, uint16_t clen)
{
    fcgix_hdr_t h;

    h.version = FCGIX_VERSION_1;
    h.type = type;
    h.request_id = rid;
    h.content_length = clen;
    /* 8-byte alignment is what the spec recommends for efficient parsing;
     * the header is already 8 bytes, so only the content counts. */
    h.padding_length = (uint8_t)((8u - (clen & 7u)) & 7u);
    fcgix_proto_hdr_pack(out, &h);
    return h.padding_length;
}

const char *fcgix_proto_type_str(unsigned type)
{
    static const char *const names[] = {
        "UNKNOWN", "BEGIN_REQUEST", "ABORT_REQUEST", "END_REQUEST",
        "PARAMS", "STDIN", "STDOUT", "STDERR", "DATA", "GET_VALUES",
        "GET_VALUES_RESULT", "UNKNOWN_TYPE"
    };

    if (type < sizeof(names) / sizeof(names[0])) {
        return names[type];
    }
    return names[0];
}

const char *fcgix_proto_status_str(unsigned protocol_status)
{
    switch (protocol_status) {
    case FCGIX_REQUEST_COMPLETE:
        return "REQUEST_COMPLETE";
    case FCGIX_CANT_MPX_CONN:
        return "CANT_MPX_CONN";
    case FCGIX_OVERLOADED:
        return "OVERLOADED";
    case FCGIX_UNKNOWN_ROLE:
        return "UNKNOWN_ROLE";
    default:
        return "UNKNOWN";
    }
}

/* ---------------------------------------------------------------------
 * Name-value pairs
 * ------------------------------------------------------------------- */

int fcgix_proto_nv_encode(uint8_t *out, size_t cap, const char *name,
                          size_t name_len, const char *value,
                          size_t value_len, size_t *written)
{
    size_t need = fcgix_proto_nv_len(name_len, value_len);

    *written = 0;
    if (need == 0 || need > cap) {
        return FCGIX_ETOOBIG;
    }
    fcgix_proto_nv_put(out, name, name_len, value, value_len);
    *written = need;
    return FCGIX_OK;
}

/* Reads one length at buf[*pos]; returns 0 when the input ends inside it. */
static int nv_get_len(const uint8_t *buf, size_t len, size_t *pos,
                      uint32_t *out)
{
    const uint8_t *p;

    if (*pos >= len) {
        return 0;
    }
    p = buf + *pos;
    if (!(p[0] & 0x80u)) {
        *out = p[0];
        *pos += 1;
        return 1;
    }
    if (len - *pos < 4) {
        return 0;
    }
    *out = (((uint32_t)p[0] & 0x7fu) << 24) | ((uint32_t)p[1] << 16)
           | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
    *pos += 4;
    return 1;
}

int fcgix_proto_nv_decode(const uint8_t *buf, size_t len, fcgix_nv_t *nv,
                          size_t *consumed)
{
    size_t pos = 0;
    uint32_t nlen, vlen;

    if (!nv_get_len(buf, len, &pos, &nlen)
        || !nv_get_len(buf, len, &pos, &vlen)) {
        return FCGIX_AGAIN;
    }
    /* Compare against what is left rather than adding lengths, which
     * could wrap a 32-bit size_t. */
    if (nlen > len - pos) {
        return FCGIX_AGAIN;
    }
    nv->name = buf + pos;
    nv->name_len = nlen;
    pos += nlen;
    if (vlen > len - pos) {
        return FCGIX_AGAIN;
    }
    nv->value = buf + pos;
    nv->value_len = vlen;
    *consumed = pos + vlen;
    return FCGIX_OK;
}

/* ---------------------------------------------------------------------
 * GET_VALUES_RESULT
 * ------------------------------------------------------------------- */

/* A decimal number 0..INT32_MAX, or -1: "12x", "", "-1", " 1" and
 * anything that would overflow say nothing rather than something else. */
static int caps_number(const uint8_t *v, uint32_t len)
{
    int32_t n = 0;
    uint32_t i;

    if (len == 0) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9'
            || n > (INT32_MAX - (v[i] - '0')) / 10) {
            return -1;
        }
        n = n * 10 + (v[i] - '0');
    }
    return (int)n;
}

static int caps_name_is(const fcgix_nv_t *nv, const char *name)
{
    size_t n = strlen(name);

    return nv->name_len == n && memcmp(nv->name, name, n) == 0;
}

int fcgix_proto_caps_parse(const uint8_t *body, size_t len,
                           fcgix_caps_t *caps)
{
    size_t off = 0;

    caps->mpxs_conns = caps->max_conns = caps->max_reqs = -1;
    while (off < len) {
        fcgix_nv_t nv;
        size_t used;
        int *slot = NULL, v;

        if (fcgix_proto_nv_decode(body + off, len - off, &nv, &used)
            != FCGIX_OK) {
            break;
        }
        off += used;
        if (caps_name_is(&nv, "FCGI_MPXS_CONNS")) {
            slot = &caps->mpxs_conns;
        }
        else if (caps_name_is(&nv, "FCGI_MAX_CONNS")) {
            slot = &caps->max_conns;
        }
        else if (caps_name_is(&nv, "FCGI_MAX_REQS")) {
            slot = &caps->max_reqs;
        }
        if (slot == NULL || (v = caps_number(nv.value, nv.value_len)) < 0) {
            continue;
        }
        *slot = (slot == &caps->mpxs_conns) ? (v == 1) : v;
    }
    return (caps->mpxs_conns >= 0) + (caps->max_conns >= 0)
           + (caps->max_reqs >= 0);
}

/* ---------------------------------------------------------------------
 * Record reader
 * ------------------------------------------------------------------- */

enum {
    BODY_STREAM = 0, /* content handed out zero-copy */
    BODY_FIXED,      /* exact length collected into rd->body */
    BODY_MGMT        /* up to FCGIX_MGMT_MAX collected into rd->body */
};

/* What each known type looks like on the wire.  from_server says who may
 * send it; mgmt records carry request id 0, all others a nonzero one. */
static const struct {
    uint8_t from_server;
    uint8_t body;
    uint8_t fixed_len;
    uint8_t mgmt;
    uint8_t ev;
} rec_info[FCGIX_UNKNOWN_TYPE + 1] = {
    [FCGIX_BEGIN_REQUEST] = { 1, BODY_FIXED, 8, 0, FCGIX_EV_BEGIN_REQUEST },
    [FCGIX_ABORT_REQUEST] = { 1, BODY_FIXED, 0, 0, FCGIX_EV_ABORT_REQUEST },
    [FCGIX_END_REQUEST] = { 0, BODY_FIXED, 8, 0, FCGIX_EV_END_REQUEST },
    [FCGIX_PARAMS] = { 1, BODY_STREAM, 0, 0, FCGIX_EV_STREAM },
    [FCGIX_STDIN] = { 1, BODY_STREAM, 0, 0, FCGIX_EV_STREAM },
    [FCGIX_STDOUT] = { 0, BODY_STREAM, 0, 0, FCGIX_EV_STREAM },
    [FCGIX_STDERR] = { 0, BODY_STREAM, 0, 0, FCGIX_EV_STREAM },
    [FCGIX_DATA] = { 1, BODY_STREAM, 0, 0, FCGIX_EV_STREAM },
    [FCGIX_GET_VALUES] = { 1, BODY_MGMT, 0, 1, FCGIX_EV_MGMT },
    [FCGIX_GET_VALUES_RESULT] = { 0, BODY_MGMT, 0, 1, FCGIX_EV_MGMT },
    [FCGIX_UNKNOWN_TYPE] = { 0, BODY_FIXED, 8, 1, FCGIX_EV_UNKNOWN_TYPE }
};

const char *fcgix_reader_state_str(fcgix_reader_state_e st)
{
    switch (st) {
    case FCGIX_RS_HEADER:
        return "header";
    case FCGIX_RS_CONTENT:
        return "content";
    case FCGIX_RS_BODY:
        return "body";
    case FCGIX_RS_PADDING:
        return "padding";
    case FCGIX_RS_FAILED:
        return "failed";
    default:
        return "invalid";
    }
}

void fcgix_reader_init(fcgix_reader_t *rd, fcgix_reader_side_e side)
{
    memset(rd, 0, sizeof(*rd));
    rd->state = FCGIX_RS_HEADER;
    rd->side = side;
}

int fcgix_reader_idle(const fcgix_reader_t *rd)
{
    return rd->state == FCGIX_RS_HEADER && rd->have == 0;
}

static int reader_fail(fcgix_reader_t *rd, int rc, const char *why)
{
    rd->state = FCGIX_RS_FAILED;
    rd->err = rc;
    rd->error = why;
    return rc;
}

/* Moves past the current record's content: skip bytes still to come. */
static void reader_next(fcgix_reader_t *rd, uint32_t skip)
{
    rd->have = 0;
    rd->remain = skip;
    rd->state = skip ? FCGIX_RS_PADDING : FCGIX_RS_HEADER;
}

static void ev_init(fcgix_event_t *ev, const fcgix_reader_t *rd, int kind)
{
    memset(ev, 0, sizeof(*ev));
    ev->kind = (fcgix_ev_kind_e)kind;
    ev->type = rd->hdr.type;
    ev->request_id = rd->hdr.request_id;
}

/* Emits the event of a complete fixed or management body. */
static void reader_emit_body(fcgix_reader_t *rd, fcgix_event_t *ev)
{
    ev_init(ev, rd, rec_info[rd->hdr.type].ev);
    switch (ev->kind) {
    case FCGIX_EV_BEGIN_REQUEST:
        fcgix_proto_begin_unpack(&ev->begin, rd->body);
        break;
    case FCGIX_EV_END_REQUEST:
        fcgix_proto_end_unpack(&ev->end, rd->body);
        break;
    case FCGIX_EV_UNKNOWN_TYPE:
        ev->unknown_type = rd->body[0];
        break;
    case FCGIX_EV_MGMT:
        ev->data = rd->body;
        ev->len = rd->hdr.content_length;
        break;
    default:
        break;
    }
    reader_next(rd, rd->hdr.padding_length);
}

/*
 * Validates a complete header and sets up the record.  Returns FCGIX_OK
 * when the header alone completes an event, FCGIX_AGAIN when content must
 * follow, or an error.  @p here is where content would start in the
 * caller's buffer, so an empty stream record points inside it too.
 */
static int reader_start(fcgix_reader_t *rd, const uint8_t *here,
                        fcgix_event_t *ev)
{
    fcgix_hdr_t *h = &rd->hdr;
    int server = rd->side == FCGIX_READ_FROM_SERVER;

    fcgix_proto_hdr_unpack(h, rd->hbuf);
    rd->have = 0;
    if (h->version != FCGIX_VERSION_1) {
        return reader_fail(rd, FCGIX_EPROTO, "bad version");
    }
    if (h->type == 0 || h->type > FCGIX_UNKNOWN_TYPE) {
        if (!server) {
            return reader_fail(rd, FCGIX_EPROTO,
                               "record type not allowed from application");
        }
        /* Reported before its body so the application can answer
         * UNKNOWN_TYPE without waiting for bytes it will discard. */
        ev_init(ev, rd, FCGIX_EV_UNKNOWN_RECORD);
        reader_next(rd, (uint32_t)h->content_length + h->padding_length);
        return FCGIX_OK;
    }
    if (rec_info[h->type].from_server != server) {
        return reader_fail(rd, FCGIX_EPROTO, server
                           ? "record type not allowed from web server"
                           : "record type not allowed from application");
    }
    if (rec_info[h->type].mgmt && h->request_id != 0) {
        return reader_fail(rd, FCGIX_EPROTO,
                           "management record with nonzero request id");
    }
    if (!rec_info[h->type].mgmt && h->request_id == 0) {
        return reader_fail(rd, FCGIX_EPROTO,
                           "application record with request id 0");
    }

    switch (rec_info[h->type].body) {
    case BODY_STREAM:
        if (h->content_length == 0) {
            ev_init(ev, rd, FCGIX_EV_STREAM);
            ev->data = here;
            reader_next(rd, h->padding_length);
            return FCGIX_OK;
        }
        rd->remain = h->content_length;
        rd->state = FCGIX_RS_CONTENT;
        return FCGIX_AGAIN;
    case BODY_FIXED:
        if (h->content_length != rec_info[h->type].fixed_len) {
            return reader_fail(rd, FCGIX_EPROTO,
                               "wrong content length for fixed-size body");
        }
        break;
    default:
        if (h->content_length > FCGIX_MGMT_MAX) {
            return reader_fail(rd, FCGIX_ETOOBIG,
                               "management record body too large");
        }
        break;
    }
    if (h->content_length == 0) {
        reader_emit_body(rd, ev);
        return FCGIX_OK;
    }
    rd->state = FCGIX_RS_BODY;
    return FCGIX_AGAIN;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Skips up to @p avail bytes of padding; returns how many it took. */
static size_t reader_skip(fcgix_reader_t *rd, size_t avail)
{
    size_t n = min_size(rd->remain, avail);

    rd->remain -= (uint32_t)n;
    if (rd->remain == 0) {
        rd->state = FCGIX_RS_HEADER;
    }
    return n;
}

int fcgix_reader_feed(fcgix_reader_t *rd, const uint8_t *buf, size_t len,
                      size_t *consumed, fcgix_event_t *ev)
{
    size_t pos = 0, n;
    int rc = FCGIX_AGAIN;

    *consumed = 0;
    if (rd->state == FCGIX_RS_FAILED) {
        return rd->err < 0 ? rd->err : FCGIX_EPROTO;
    }
    while (pos < len && rc == FCGIX_AGAIN) {
        switch (rd->state) {
        case FCGIX_RS_HEADER:
            n = min_size(FCGIX_HEADER_LEN - rd->have, len - pos);
            memcpy(rd->hbuf + rd->have, buf + pos, n);
            rd->have += (uint32_t)n;
            pos += n;
            if (rd->have == FCGIX_HEADER_LEN) {
                rc = reader_start(rd, buf + pos, ev);
            }
            break;
        case FCGIX_RS_CONTENT:
            n = min_size(rd->remain, len - pos);
            ev_init(ev, rd, FCGIX_EV_STREAM);
            ev->data = buf + pos;
            ev->len = n;
            pos += n;
            rd->remain -= (uint32_t)n;
            if (rd->remain == 0) {
                reader_next(rd, rd->hdr.padding_length);
            }
            rc = FCGIX_OK;
            break;
        case FCGIX_RS_BODY:
            n = min_size(rd->hdr.content_length - rd->have, len - pos);
            memcpy(rd->body + rd->have, buf + pos, n);
            rd->have += (uint32_t)n;
            pos += n;
            if (rd->have == rd->hdr.content_length) {
                reader_emit_body(rd, ev);
                rc = FCGIX_OK;
            }
            break;
        case FCGIX_RS_PADDING:
            pos += reader_skip(rd, len - pos);
            break;
        default:
            rc = reader_fail(rd, FCGIX_EPROTO, "reader state corrupt");
            break;
        }
    }
    /* Eat padding already at hand, so a finished record leaves the reader
     * idle and the caller can tell a clean connection from a torn one. */
    if (rc == FCGIX_OK && rd->state == FCGIX_RS_PADDING) {
        pos += reader_skip(rd, len - pos);
    }
    *consumed = pos;
    return rc;
}

int fcgix_reader_pump(fcgix_reader_t *rd, const uint8_t *buf, size_t len,
                      size_t *consumed, fcgix_reader_cb_fn cb, void *baton)
{
    fcgix_event_t ev;
    size_t pos = 0, used;
    /* Fed at least once: a failed reader says so even for no input. */
    int rc = fcgix_reader_feed(rd, buf, len, &pos, &ev);

    while (rc == FCGIX_OK && !cb(baton, &ev)) {
        if (pos == len) {
            rc = FCGIX_AGAIN;
            break;
        }
        rc = fcgix_reader_feed(rd, buf + pos, len - pos, &used, &ev);
        pos += used;
    }
    *consumed = pos;
    return rc;
}
