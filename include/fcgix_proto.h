/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_proto.h
 * @brief FastCGI 1.0 wire codec: record headers, fixed bodies, name-value
 *        pairs and a resumable, zero-copy record reader.
 *
 * Layer L0: pure C99. No APR, no httpd, no allocation, no I/O, no logging.
 * Every function works on caller-owned memory, so it can be unit tested and
 * fuzzed without Apache. Errors come back as FCGIX_* codes; the caller (L2)
 * decides what to log and which HTTP status to map them to.
 *
 * Callers: anything. The httpd glue (fcgix_bridge.c), the unit tests and the
 * fuzz target.
 */
#ifndef FCGIX_PROTO_H
#define FCGIX_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FCGIX_VERSION_1 1
#define FCGIX_HEADER_LEN 8
/** Largest content a single record can carry. */
#define FCGIX_MAX_CONTENT 65535u
/** Largest name or value a name-value pair can encode (31-bit length). */
#define FCGIX_NV_MAX_LEN 0x7fffffffu
/** Largest management record body the reader buffers (GET_VALUES*). */
#define FCGIX_MGMT_MAX 1024u
/** The listen socket a spawned application inherits (spec 2.2). */
#define FCGIX_LISTENSOCK_FILENO 0

/** Record types (spec 8). */
typedef enum {
    FCGIX_BEGIN_REQUEST = 1,
    FCGIX_ABORT_REQUEST = 2,
    FCGIX_END_REQUEST = 3,
    FCGIX_PARAMS = 4,
    FCGIX_STDIN = 5,
    FCGIX_STDOUT = 6,
    FCGIX_STDERR = 7,
    FCGIX_DATA = 8,
    FCGIX_GET_VALUES = 9,
    FCGIX_GET_VALUES_RESULT = 10,
    FCGIX_UNKNOWN_TYPE = 11
} fcgix_rec_type_e;

/** Roles in BEGIN_REQUEST (spec 5.1). */
typedef enum {
    FCGIX_ROLE_RESPONDER = 1,
    FCGIX_ROLE_AUTHORIZER = 2,
    FCGIX_ROLE_FILTER = 3
} fcgix_role_e;

/** BEGIN_REQUEST flags. */
#define FCGIX_KEEP_CONN 1

/** END_REQUEST protocolStatus values (spec 5.5). */
typedef enum {
    FCGIX_REQUEST_COMPLETE = 0,
    FCGIX_CANT_MPX_CONN = 1,
    FCGIX_OVERLOADED = 2,
    FCGIX_UNKNOWN_ROLE = 3
} fcgix_proto_status_e;

/** Return codes of every fallible codec call. */
typedef enum {
    FCGIX_OK = 0,      /**< done; for the reader: *ev holds an event */
    FCGIX_AGAIN = 1,   /**< reader consumed all input, needs more */
    FCGIX_EPROTO = -1, /**< input violates the protocol */
    FCGIX_ETOOBIG = -2 /**< a length exceeds a codec or caller limit */
} fcgix_rc_e;

/** A record header, host byte order. */
typedef struct {
    uint8_t version;
    uint8_t type;
    uint16_t request_id;
    uint16_t content_length;
    uint8_t padding_length;
} fcgix_hdr_t;

/** FCGI_BeginRequestBody. */
typedef struct {
    uint16_t role;
    uint8_t flags;
} fcgix_begin_t;

/** FCGI_EndRequestBody. */
typedef struct {
    uint32_t app_status;
    uint8_t protocol_status;
} fcgix_end_t;

/** One decoded name-value pair; pointers into the caller's buffer. */
typedef struct {
    const uint8_t *name;
    uint32_t name_len;
    const uint8_t *value;
    uint32_t value_len;
} fcgix_nv_t;

/* ---------------------------------------------------------------------
 * Fixed-size pack / unpack pairs
 * ------------------------------------------------------------------- */

void fcgix_proto_hdr_pack(uint8_t out[FCGIX_HEADER_LEN],
                          const fcgix_hdr_t *hdr);
void fcgix_proto_hdr_unpack(fcgix_hdr_t *hdr,
                            const uint8_t in[FCGIX_HEADER_LEN]);

/** Writes the 8-byte BEGIN_REQUEST body (reserved bytes zero). */
void fcgix_proto_begin_pack(uint8_t out[8], const fcgix_begin_t *b);
void fcgix_proto_begin_unpack(fcgix_begin_t *b, const uint8_t in[8]);

/** Writes the 8-byte END_REQUEST body (reserved bytes zero). */
void fcgix_proto_end_pack(uint8_t out[8], const fcgix_end_t *e);
void fcgix_proto_end_unpack(fcgix_end_t *e, const uint8_t in[8]);

/**
 * Writes a complete record header for @p type / @p rid whose content is
 * @p clen bytes, choosing padding that aligns the record to 8 bytes.
 * @return the padding length the caller must append after the content.
 */
uint8_t fcgix_proto_rec_header(uint8_t out[FCGIX_HEADER_LEN], uint8_t type,
                               uint16_t rid, uint16_t clen);

/** Name of a record type for logs ("STDOUT", ..., "UNKNOWN"). */
const char *fcgix_proto_type_str(unsigned type);
/** Name of a protocolStatus for logs. */
const char *fcgix_proto_status_str(unsigned protocol_status);

/* ---------------------------------------------------------------------
 * Name-value pairs (spec 3.4)
 * ------------------------------------------------------------------- */

/*
 * Encoded size of one pair, or 0 when a length exceeds FCGIX_NV_MAX_LEN.
 * Inline, as fcgix_proto_nv_put: every request's environment is sized and
 * written with them, some thirty pairs each.
 */
static inline size_t fcgix_proto_nv_len(size_t name_len, size_t value_len)
{
    size_t hl = (name_len < 128 ? 1 : 4) + (value_len < 128 ? 1 : 4);

    if (name_len > FCGIX_NV_MAX_LEN || value_len > FCGIX_NV_MAX_LEN) {
        return 0;
    }
    /* Two 31-bit lengths can overflow a 32-bit size_t. */
    if (name_len > SIZE_MAX - hl || value_len > SIZE_MAX - hl - name_len) {
        return 0;
    }
    return hl + name_len + value_len;
}

/* One length of a pair: a byte below 128, else four with the top bit. */
static inline uint8_t *fcgix_proto_nv_put_len(uint8_t *p, size_t n)
{
    if (n < 128) {
        *p++ = (uint8_t)n;
    }
    else {
        p[0] = (uint8_t)((n >> 24) | 0x80u);
        p[1] = (uint8_t)(n >> 16);
        p[2] = (uint8_t)(n >> 8);
        p[3] = (uint8_t)n;
        p += 4;
    }
    return p;
}

/*
 * Writes one pair at @p out, which has room for fcgix_proto_nv_len()
 * bytes (non-zero: the caller checked); returns the end.
 */
static inline uint8_t *fcgix_proto_nv_put(uint8_t *out, const char *name,
                                          size_t name_len, const char *value,
                                          size_t value_len)
{
    uint8_t *p = fcgix_proto_nv_put_len(out, name_len);

    p = fcgix_proto_nv_put_len(p, value_len);
    /* memcpy with a NULL source is undefined even for zero bytes. */
    if (name_len) {
        memcpy(p, name, name_len);
        p += name_len;
    }
    if (value_len) {
        memcpy(p, value, value_len);
        p += value_len;
    }
    return p;
}

/**
 * Encodes one pair into @p out.
 * @param written set to the bytes written on FCGIX_OK
 * @return FCGIX_OK; FCGIX_ETOOBIG when a length is over FCGIX_NV_MAX_LEN or
 *         the pair does not fit into @p cap (nothing is written and
 *         *written is 0 then)
 */
int fcgix_proto_nv_encode(uint8_t *out, size_t cap, const char *name,
                          size_t name_len, const char *value,
                          size_t value_len, size_t *written);

/**
 * Decodes the pair at the start of @p buf.
 * @param consumed set to the bytes the pair occupies on FCGIX_OK
 * @return FCGIX_OK; FCGIX_AGAIN when @p buf ends inside the pair;
 *         FCGIX_EPROTO never (every byte string is a valid prefix)
 */
int fcgix_proto_nv_decode(const uint8_t *buf, size_t len, fcgix_nv_t *nv,
                          size_t *consumed);

/* ---------------------------------------------------------------------
 * FCGI_GET_VALUES_RESULT (spec 4.1)
 * ------------------------------------------------------------------- */

/** What an application said about itself; -1: the answer did not say. */
typedef struct {
    int mpxs_conns; /**< 1 or 0 */
    int max_conns;
    int max_reqs;
} fcgix_caps_t;

/**
 * Reads a GET_VALUES_RESULT body. Only the three names of the spec count;
 * a value that is not a decimal number from 0 to 2^31-1 counts as not
 * said, and of a name said twice the last valid value wins. Decoding stops
 * at a pair cut short; the pairs before it count.
 * @return how many of the three the body said (0: leave what is known)
 */
int fcgix_proto_caps_parse(const uint8_t *body, size_t len,
                           fcgix_caps_t *caps);

/* ---------------------------------------------------------------------
 * Resumable record reader
 * ------------------------------------------------------------------- */

/** Which side the reader sits on: it accepts only that side's types. */
typedef enum {
    FCGIX_READ_FROM_APP = 0,   /**< web server reading an application */
    FCGIX_READ_FROM_SERVER = 1 /**< application reading a web server */
} fcgix_reader_side_e;

/** Reader states. */
typedef enum {
    FCGIX_RS_HEADER = 0, /**< collecting the 8 header bytes */
    FCGIX_RS_CONTENT,    /**< inside a stream record's content */
    FCGIX_RS_BODY,       /**< collecting a fixed or management body */
    FCGIX_RS_PADDING,    /**< skipping padding (or an unknown record) */
    FCGIX_RS_FAILED      /**< a protocol error was returned; sticky */
} fcgix_reader_state_e;

const char *fcgix_reader_state_str(fcgix_reader_state_e st);

/** Event kinds the reader emits. */
typedef enum {
    FCGIX_EV_NONE = 0,
    /** A piece of a stream record's content: STDOUT/STDERR from an app,
     *  PARAMS/STDIN/DATA from a server. data/len point into the caller's
     *  buffer. len == 0 means the stream's terminating empty record. */
    FCGIX_EV_STREAM,
    /** END_REQUEST: ev.end is filled. */
    FCGIX_EV_END_REQUEST,
    /** BEGIN_REQUEST: ev.begin is filled. */
    FCGIX_EV_BEGIN_REQUEST,
    /** ABORT_REQUEST (no body). */
    FCGIX_EV_ABORT_REQUEST,
    /** GET_VALUES or GET_VALUES_RESULT: data/len is the whole body (held in
     *  the reader, valid until the next feed call); decode with
     *  fcgix_proto_nv_decode. */
    FCGIX_EV_MGMT,
    /** UNKNOWN_TYPE from an app: ev.unknown_type is the type it rejected. */
    FCGIX_EV_UNKNOWN_TYPE,
    /** A record of a type the reader's side does not know (server side
     *  only: the application should answer FCGI_UNKNOWN_TYPE).  Its body is
     *  skipped. */
    FCGIX_EV_UNKNOWN_RECORD
} fcgix_ev_kind_e;

typedef struct {
    fcgix_ev_kind_e kind;
    uint8_t type;        /**< record type the event came from */
    uint16_t request_id; /**< never validated here: the caller checks it */
    const uint8_t *data;
    size_t len;
    fcgix_end_t end;
    fcgix_begin_t begin;
    uint8_t unknown_type;
} fcgix_event_t;

/**
 * Caller-owned reader state. Zero-initialise it (then set side), or call
 * fcgix_reader_init(). It holds no pointers into caller memory between
 * calls.
 */
typedef struct {
    fcgix_reader_state_e state;
    fcgix_reader_side_e side;
    fcgix_hdr_t hdr;
    uint8_t hbuf[FCGIX_HEADER_LEN];
    uint32_t have;   /**< bytes of header/body collected so far */
    uint32_t remain; /**< content or padding bytes left in this record */
    uint8_t body[FCGIX_MGMT_MAX];
    const char *error; /**< static reason of the last error, or NULL */
    int err;           /**< the FCGIX_E* code repeated while FAILED */
} fcgix_reader_t;

void fcgix_reader_init(fcgix_reader_t *rd, fcgix_reader_side_e side);

/**
 * Feeds bytes to the reader.
 *
 * @param consumed set to how many bytes of @p buf were used; the caller
 *        calls again with buf + consumed for the rest.
 * @param ev filled when FCGIX_OK is returned.
 * @return FCGIX_OK when an event is ready (possibly with unconsumed input
 *         left; at least one byte was consumed); FCGIX_AGAIN when all input
 *         was consumed with no event (also for @p len 0);
 *         FCGIX_EPROTO / FCGIX_ETOOBIG on bad input (rd->error says why;
 *         *consumed counts the bytes up to the offending header's end).
 *         Errors are sticky: the reader enters FCGIX_RS_FAILED and every
 *         later call returns the same code without consuming anything.
 *
 * Events are emitted as soon as they are complete: a stream piece for
 * whatever content the input holds (never more than one record's worth),
 * an empty stream record, ABORT_REQUEST, an empty management record and an
 * unknown record as soon as their header is complete, other fixed and
 * management bodies as soon as their last byte arrives. Padding (and the
 * body of an unknown record) that is already in @p buf after an event is
 * consumed before returning, so the reader is idle right after a record
 * whenever the input contained all of it. Padding content is not checked.
 *
 * Accepted from an application: STDOUT, STDERR (request id != 0),
 * END_REQUEST (8-byte body, request id != 0), GET_VALUES_RESULT (request
 * id 0) and UNKNOWN_TYPE (8-byte body, request id 0); anything else is
 * FCGIX_EPROTO. Accepted from a web server: BEGIN_REQUEST (8-byte body),
 * ABORT_REQUEST (empty body), PARAMS, STDIN, DATA (all request id != 0)
 * and GET_VALUES (request id 0); types 0 and > 11 become
 * FCGIX_EV_UNKNOWN_RECORD (request id not checked), the application-only
 * types are FCGIX_EPROTO.
 *
 * Validates the version (must be 1), that the type is allowed for the
 * side, that fixed bodies have their exact length, that management records
 * use request id 0 and application records do not, and that management
 * bodies fit FCGIX_MGMT_MAX.
 */
int fcgix_reader_feed(fcgix_reader_t *rd, const uint8_t *buf, size_t len,
                      size_t *consumed, fcgix_event_t *ev);

/** True when the reader stands between records (nothing half-read). */
int fcgix_reader_idle(const fcgix_reader_t *rd);

/**
 * Takes one event of fcgix_reader_pump: the owner's dispatch (the direct
 * reply's, or a shared connection's demultiplexer). @p ev and what it
 * points to are valid during the call only.
 * @return 0 to go on, nonzero to stop the pump right after this event
 */
typedef int (*fcgix_reader_cb_fn)(void *baton, const fcgix_event_t *ev);

/**
 * The record pump: feeds all of @p buf to the reader and hands every
 * event to @p cb, in order. The one loop both reading paths (a
 * connection of its own, a shared one) run over each read, so that they
 * cannot drift apart; no copy, no allocation.
 *
 * @param consumed set to the bytes of @p buf used: all of them unless the
 *        callback stopped the pump or the input is bad
 * @return FCGIX_AGAIN when all input was consumed (also for @p len 0);
 *         FCGIX_OK when the callback stopped it (the rest of @p buf, if
 *         any, is still the caller's); FCGIX_EPROTO / FCGIX_ETOOBIG as
 *         fcgix_reader_feed (rd->error says why; sticky)
 */
int fcgix_reader_pump(fcgix_reader_t *rd, const uint8_t *buf, size_t len,
                      size_t *consumed, fcgix_reader_cb_fn cb, void *baton);

#endif /* FCGIX_PROTO_H */
