/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Unit tests of the L0 FastCGI codec, through its public API only.
 *
 * Reader vectors are built from the pack helpers and fed whole, byte by
 * byte and split in two at every offset; all three must agree.  Every feed
 * comes from a copy that ends right at a PROT_NONE page, so reading one
 * byte too far faults instead of passing silently.
 */
#define _DEFAULT_SOURCE

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fcgix_proto.h"
#include "fcgix_tap.h"

/* ---------------------------------------------------------------------
 * Guarded buffers
 * ------------------------------------------------------------------- */

typedef struct {
    uint8_t *map;
    size_t maplen;
    uint8_t *end; /* first byte of the PROT_NONE page */
    size_t cap;
} guard_t;

static void guard_init(guard_t *g, size_t cap)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (cap + ps - 1) / ps + 1;
    void *m;

    m = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    g->map = m;
    g->maplen = pages * ps;
    g->end = g->map + (pages - 1) * ps;
    g->cap = (pages - 1) * ps;
    if (mprotect(g->end, ps, PROT_NONE) != 0) {
        perror("mprotect");
        exit(2);
    }
}

static void guard_free(guard_t *g)
{
    munmap(g->map, g->maplen);
}

/* Copies @p n bytes so that the copy ends exactly at the guard page. */
static const uint8_t *guard_put(guard_t *g, const uint8_t *src, size_t n)
{
    if (n > g->cap) {
        fprintf(stderr, "guard_put: %zu > %zu\n", n, g->cap);
        exit(2);
    }
    if (n) {
        memcpy(g->end - n, src, n);
    }
    return g->end - n;
}

static guard_t scratch; /* one page: every piece up to 4 KiB goes here */

static uint8_t fill_byte(size_t i)
{
    return (uint8_t)(i * 31u + 7u);
}

/* ---------------------------------------------------------------------
 * Name-value spec strings: "A=1;B=;C=x" <-> encoded pairs
 * ------------------------------------------------------------------- */

static size_t nv_build(uint8_t *out, size_t cap, const char *spec)
{
    size_t len = 0, w;
    const char *p = spec;

    while (*p) {
        const char *semi = strchr(p, ';');
        const char *end = semi ? semi : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));

        if (!eq || fcgix_proto_nv_encode(out + len, cap - len, p,
                                         (size_t)(eq - p), eq + 1,
                                         (size_t)(end - eq - 1), &w)) {
            fprintf(stderr, "bad nv spec %s\n", spec);
            exit(2);
        }
        len += w;
        p = semi ? semi + 1 : end;
    }
    return len;
}

static void nv_render(char *out, size_t cap, const uint8_t *b, size_t len)
{
    size_t pos = 0, used = 0, c;
    fcgix_nv_t nv;

    out[0] = '\0';
    while (pos < len
           && fcgix_proto_nv_decode(b + pos, len - pos, &nv, &c)
              == FCGIX_OK) {
        used += (size_t)snprintf(out + used, cap - used, "%s%.*s=%.*s",
                                 pos ? ";" : "", (int)nv.name_len,
                                 (const char *)nv.name, (int)nv.value_len,
                                 (const char *)nv.value);
        if (used >= cap) {
            return;
        }
        pos += c;
    }
    if (pos < len) {
        snprintf(out + used, cap - used, "+%zu", len - pos);
    }
}

/* ---------------------------------------------------------------------
 * Vector description
 * ------------------------------------------------------------------- */

enum { B_STOP = 0, B_RAW, B_FILL, B_NV, B_BEGIN, B_END, B_UNK, B_HDR };

typedef struct {
    int body;            /* B_*; B_STOP ends the list */
    int type;
    int rid;
    const char *s;       /* B_RAW text, B_NV spec */
    unsigned long a, b;  /* role/flags, app/protocol status, fill length */
    int pad;             /* -1: the padding fcgix_proto_rec_header picks */
    int version;         /* B_HDR only */
} rec_t;

#define R_RAW(t, rid, s) { B_RAW, t, rid, s, 0, 0, -1, 1 }
#define R_RAWP(t, rid, s, pad) { B_RAW, t, rid, s, 0, 0, pad, 1 }
#define R_FILL(t, rid, n, pad) { B_FILL, t, rid, NULL, n, 0, pad, 1 }
#define R_NV(t, rid, spec) { B_NV, t, rid, spec, 0, 0, -1, 1 }
#define R_BEGIN(rid, role, fl) \
    { B_BEGIN, FCGIX_BEGIN_REQUEST, rid, NULL, role, fl, -1, 1 }
#define R_END(rid, app, ps) \
    { B_END, FCGIX_END_REQUEST, rid, NULL, app, ps, -1, 1 }
#define R_ENDP(rid, app, ps, pad) \
    { B_END, FCGIX_END_REQUEST, rid, NULL, app, ps, pad, 1 }
#define R_ABORT(rid) R_RAW(FCGIX_ABORT_REQUEST, rid, "")
#define R_UNK(t) { B_UNK, FCGIX_UNKNOWN_TYPE, 0, NULL, t, 0, -1, 1 }
/* Raw header with any field, followed by clen filler and pad bytes. */
#define R_HDR(ver, t, rid, clen, pad) \
    { B_HDR, t, rid, NULL, clen, 0, pad, ver }
#define R_STOP { B_STOP, 0, 0, NULL, 0, 0, 0, 0 }

typedef struct {
    int kind;            /* FCGIX_EV_*; FCGIX_EV_NONE ends the list */
    int type;
    int rid;
    const char *data;    /* stream text or nv spec; NULL: fill pattern */
    long len;            /* -1: strlen(data) */
    int nv;              /* data is an nv spec to compare decoded */
    unsigned long a, b;
} exp_t;

#define E_S(t, rid, s) { FCGIX_EV_STREAM, t, rid, s, -1, 0, 0, 0 }
#define E_S0(t, rid) { FCGIX_EV_STREAM, t, rid, "", 0, 0, 0, 0 }
#define E_SN(t, rid, n) { FCGIX_EV_STREAM, t, rid, NULL, n, 0, 0, 0 }
#define E_SNV(t, rid, spec) { FCGIX_EV_STREAM, t, rid, spec, -1, 1, 0, 0 }
#define E_BEGIN(rid, role, fl) \
    { FCGIX_EV_BEGIN_REQUEST, FCGIX_BEGIN_REQUEST, rid, NULL, 0, 0, role, fl }
#define E_END(rid, app, ps) \
    { FCGIX_EV_END_REQUEST, FCGIX_END_REQUEST, rid, NULL, 0, 0, app, ps }
#define E_ABORT(rid) \
    { FCGIX_EV_ABORT_REQUEST, FCGIX_ABORT_REQUEST, rid, NULL, 0, 0, 0, 0 }
#define E_MGMT(t, spec) { FCGIX_EV_MGMT, t, 0, spec, -1, 1, 0, 0 }
#define E_MGMTN(t, n) { FCGIX_EV_MGMT, t, 0, NULL, n, 0, 0, 0 }
#define E_UNKT(ut) \
    { FCGIX_EV_UNKNOWN_TYPE, FCGIX_UNKNOWN_TYPE, 0, NULL, 0, 0, ut, 0 }
#define E_UNKR(t, rid) { FCGIX_EV_UNKNOWN_RECORD, t, rid, NULL, 0, 0, 0, 0 }
#define E_STOP { FCGIX_EV_NONE, 0, 0, NULL, 0, 0, 0, 0 }

typedef struct {
    int line;
    const char *name;
    int side;
    rec_t recs[12];
    exp_t evs[16];
    size_t trunc;        /* bytes cut off the end of the built input */
    int rc;              /* final result: FCGIX_AGAIN or an error */
    const char *error;   /* expected rd->error */
    int idle;            /* expected fcgix_reader_idle() at the end */
} vec_t;

#define APP FCGIX_READ_FROM_APP
#define SRV FCGIX_READ_FROM_SERVER
#define OUT FCGIX_STDOUT
#define ERR FCGIX_STDERR
#define GVR FCGIX_GET_VALUES_RESULT
#define GV FCGIX_GET_VALUES
#define DONE 0, FCGIX_AGAIN, NULL, 1

#define E_NOT_APP "record type not allowed from application"
#define E_NOT_SRV "record type not allowed from web server"
#define E_VER "bad version"
#define E_MGMT_RID "management record with nonzero request id"
#define E_APP_RID "application record with request id 0"
#define E_FIXLEN "wrong content length for fixed-size body"
#define E_BIG "management record body too large"
#define EPROTO(why) 0, FCGIX_EPROTO, why, 0
#define ETOOBIG(why) 0, FCGIX_ETOOBIG, why, 0

static const vec_t vectors[] = {
    { __LINE__, "responder reply with padding", APP,
      { R_RAW(OUT, 1, "Content-Type: text/plain\r\n\r\n"),
        R_RAWP(OUT, 1, "Hello, ", 0), R_RAWP(OUT, 1, "world\n", 255),
        R_RAWP(ERR, 1, "warning: x", 3), R_RAWP(OUT, 1, "", 5),
        R_RAW(ERR, 1, ""), R_ENDP(1, 0, FCGIX_REQUEST_COMPLETE, 7),
        R_STOP },
      { E_S(OUT, 1, "Content-Type: text/plain\r\n\r\n"),
        E_S(OUT, 1, "Hello, "), E_S(OUT, 1, "world\n"),
        E_S(ERR, 1, "warning: x"), E_S0(OUT, 1), E_S0(ERR, 1),
        E_END(1, 0, FCGIX_REQUEST_COMPLETE), E_STOP },
      DONE },
    { __LINE__, "largest record, then END with every field set", APP,
      { R_FILL(OUT, 65535, 65535, 1), R_FILL(OUT, 65535, 1, 255),
        R_END(65535, 0xdeadbeefUL, FCGIX_OVERLOADED), R_STOP },
      { E_SN(OUT, 65535, 65535), E_SN(OUT, 65535, 1),
        E_END(65535, 0xdeadbeefUL, FCGIX_OVERLOADED), E_STOP },
      DONE },
    { __LINE__, "interleaved request ids are not validated", APP,
      { R_RAW(OUT, 1, "one"), R_RAW(OUT, 2, "two"), R_RAW(OUT, 1, ""),
        R_END(1, 0, 0), R_END(2, 1, FCGIX_CANT_MPX_CONN), R_STOP },
      { E_S(OUT, 1, "one"), E_S(OUT, 2, "two"), E_S0(OUT, 1),
        E_END(1, 0, 0), E_END(2, 1, FCGIX_CANT_MPX_CONN), E_STOP },
      DONE },
    { __LINE__, "GET_VALUES_RESULT MPXS_CONNS=1", APP,
      { R_NV(GVR, 0, "FCGI_MPXS_CONNS=1"), R_STOP },
      { E_MGMT(GVR, "FCGI_MPXS_CONNS=1"), E_STOP },
      DONE },
    { __LINE__, "GET_VALUES_RESULT with three values", APP,
      { R_NV(GVR, 0, "FCGI_MAX_CONNS=10;FCGI_MAX_REQS=50;FCGI_MPXS_CONNS=0"),
        R_STOP },
      { E_MGMT(GVR, "FCGI_MAX_CONNS=10;FCGI_MAX_REQS=50;FCGI_MPXS_CONNS=0"),
        E_STOP },
      DONE },
    { __LINE__, "empty GET_VALUES_RESULT", APP,
      { R_RAWP(GVR, 0, "", 9), R_STOP },
      { E_MGMT(GVR, ""), E_STOP },
      DONE },
    { __LINE__, "GET_VALUES_RESULT of exactly FCGIX_MGMT_MAX", APP,
      { R_FILL(GVR, 0, FCGIX_MGMT_MAX, 0), R_STOP },
      { E_MGMTN(GVR, FCGIX_MGMT_MAX), E_STOP },
      DONE },
    { __LINE__, "UNKNOWN_TYPE", APP,
      { R_UNK(99), R_UNK(0), R_STOP },
      { E_UNKT(99), E_UNKT(0), E_STOP },
      DONE },
    { __LINE__, "input ends inside a header", APP,
      { R_RAW(OUT, 1, "abc"), R_END(1, 0, 0), R_STOP },
      { E_S(OUT, 1, "abc"), E_STOP },
      13, FCGIX_AGAIN, NULL, 0 },
    { __LINE__, "input ends inside a fixed body", APP,
      { R_END(1, 0, 0), R_STOP },
      { E_STOP },
      3, FCGIX_AGAIN, NULL, 0 },
    { __LINE__, "input ends inside padding", APP,
      { R_RAWP(OUT, 1, "x", 200), R_STOP },
      { E_S(OUT, 1, "x"), E_STOP },
      1, FCGIX_AGAIN, NULL, 0 },
    { __LINE__, "version 0", APP,
      { R_RAW(OUT, 1, "ok"), R_HDR(0, OUT, 1, 2, 0), R_STOP },
      { E_S(OUT, 1, "ok"), E_STOP },
      EPROTO(E_VER) },
    { __LINE__, "version 2", APP,
      { R_HDR(2, OUT, 1, 2, 0), R_STOP },
      { E_STOP },
      EPROTO(E_VER) },
    { __LINE__, "BEGIN_REQUEST from app", APP,
      { R_BEGIN(1, FCGIX_ROLE_RESPONDER, 0), R_STOP },
      { E_STOP },
      EPROTO(E_NOT_APP) },
    { __LINE__, "ABORT_REQUEST from app", APP,
      { R_ABORT(1), R_STOP }, { E_STOP }, EPROTO(E_NOT_APP) },
    { __LINE__, "PARAMS from app", APP,
      { R_RAW(FCGIX_PARAMS, 1, ""), R_STOP }, { E_STOP },
      EPROTO(E_NOT_APP) },
    { __LINE__, "STDIN from app", APP,
      { R_RAW(FCGIX_STDIN, 1, "x"), R_STOP }, { E_STOP },
      EPROTO(E_NOT_APP) },
    { __LINE__, "DATA from app", APP,
      { R_RAW(FCGIX_DATA, 1, "x"), R_STOP }, { E_STOP },
      EPROTO(E_NOT_APP) },
    { __LINE__, "GET_VALUES from app", APP,
      { R_NV(GV, 0, "FCGI_MAX_CONNS="), R_STOP }, { E_STOP },
      EPROTO(E_NOT_APP) },
    { __LINE__, "type 0 from app", APP,
      { R_HDR(1, 0, 1, 0, 0), R_STOP }, { E_STOP }, EPROTO(E_NOT_APP) },
    { __LINE__, "type 12 from app", APP,
      { R_HDR(1, 12, 0, 0, 0), R_STOP }, { E_STOP }, EPROTO(E_NOT_APP) },
    { __LINE__, "type 255 from app", APP,
      { R_HDR(1, 255, 1, 8, 0), R_STOP }, { E_STOP }, EPROTO(E_NOT_APP) },
    { __LINE__, "GET_VALUES_RESULT with request id 1", APP,
      { R_NV(GVR, 1, "FCGI_MPXS_CONNS=1"), R_STOP }, { E_STOP },
      EPROTO(E_MGMT_RID) },
    { __LINE__, "UNKNOWN_TYPE with request id 5", APP,
      { R_HDR(1, FCGIX_UNKNOWN_TYPE, 5, 8, 0), R_STOP }, { E_STOP },
      EPROTO(E_MGMT_RID) },
    { __LINE__, "STDOUT with request id 0", APP,
      { R_RAW(OUT, 0, "x"), R_STOP }, { E_STOP }, EPROTO(E_APP_RID) },
    { __LINE__, "STDERR with request id 0", APP,
      { R_RAW(ERR, 0, ""), R_STOP }, { E_STOP }, EPROTO(E_APP_RID) },
    { __LINE__, "END_REQUEST with request id 0", APP,
      { R_END(0, 0, 0), R_STOP }, { E_STOP }, EPROTO(E_APP_RID) },
    { __LINE__, "END_REQUEST with length 7", APP,
      { R_HDR(1, FCGIX_END_REQUEST, 1, 7, 1), R_STOP }, { E_STOP },
      EPROTO(E_FIXLEN) },
    { __LINE__, "END_REQUEST with length 9", APP,
      { R_HDR(1, FCGIX_END_REQUEST, 1, 9, 7), R_STOP }, { E_STOP },
      EPROTO(E_FIXLEN) },
    { __LINE__, "END_REQUEST with length 0", APP,
      { R_HDR(1, FCGIX_END_REQUEST, 1, 0, 0), R_STOP }, { E_STOP },
      EPROTO(E_FIXLEN) },
    { __LINE__, "UNKNOWN_TYPE with length 0", APP,
      { R_HDR(1, FCGIX_UNKNOWN_TYPE, 0, 0, 0), R_STOP }, { E_STOP },
      EPROTO(E_FIXLEN) },
    { __LINE__, "GET_VALUES_RESULT of FCGIX_MGMT_MAX + 1", APP,
      { R_FILL(GVR, 0, FCGIX_MGMT_MAX + 1, -1), R_STOP }, { E_STOP },
      ETOOBIG(E_BIG) },
    { __LINE__, "GET_VALUES_RESULT of 65535", APP,
      { R_HDR(1, GVR, 0, 65535, 0), R_STOP }, { E_STOP },
      ETOOBIG(E_BIG) },
    { __LINE__, "error is sticky: nothing after it is read", APP,
      { R_RAW(OUT, 1, "before"), R_HDR(3, OUT, 1, 0, 0),
        R_RAW(OUT, 1, "after"), R_END(1, 0, 0), R_STOP },
      { E_S(OUT, 1, "before"), E_STOP },
      EPROTO(E_VER) },

    /* Web server to application. */
    { __LINE__, "server request: BEGIN PARAMS STDIN ABORT mgmt unknown", SRV,
      { R_BEGIN(1, FCGIX_ROLE_RESPONDER, FCGIX_KEEP_CONN),
        R_NV(FCGIX_PARAMS, 1, "SCRIPT_NAME=/app;REQUEST_METHOD=POST"),
        R_RAWP(FCGIX_PARAMS, 1, "", 0), R_RAWP(FCGIX_STDIN, 1, "a=1", 4),
        R_RAW(FCGIX_STDIN, 1, ""), R_ABORT(1),
        R_NV(GV, 0, "FCGI_MAX_CONNS=;FCGI_MAX_REQS=;FCGI_MPXS_CONNS="),
        R_RAWP(99, 1, "unknown body", 255), R_HDR(1, 0, 0, 0, 0),
        R_BEGIN(2, FCGIX_ROLE_FILTER, 0),
        R_RAW(FCGIX_DATA, 2, "filter data"), R_STOP },
      { E_BEGIN(1, FCGIX_ROLE_RESPONDER, FCGIX_KEEP_CONN),
        E_SNV(FCGIX_PARAMS, 1, "SCRIPT_NAME=/app;REQUEST_METHOD=POST"),
        E_S0(FCGIX_PARAMS, 1), E_S(FCGIX_STDIN, 1, "a=1"),
        E_S0(FCGIX_STDIN, 1), E_ABORT(1),
        E_MGMT(GV, "FCGI_MAX_CONNS=;FCGI_MAX_REQS=;FCGI_MPXS_CONNS="),
        E_UNKR(99, 1), E_UNKR(0, 0),
        E_BEGIN(2, FCGIX_ROLE_FILTER, 0),
        E_S(FCGIX_DATA, 2, "filter data"), E_STOP },
      DONE },
    { __LINE__, "filter request as the bridge sends it", SRV,
      { R_BEGIN(3, FCGIX_ROLE_FILTER, FCGIX_KEEP_CONN),
        R_NV(FCGIX_PARAMS, 3, "FCGI_DATA_LENGTH=9;FCGI_DATA_LAST_MOD=0"),
        R_RAW(FCGIX_PARAMS, 3, ""), R_RAW(FCGIX_STDIN, 3, ""),
        R_RAWP(FCGIX_DATA, 3, "abcd", 4), R_RAW(FCGIX_DATA, 3, "efghi"),
        R_RAW(FCGIX_DATA, 3, ""), R_STOP },
      { E_BEGIN(3, FCGIX_ROLE_FILTER, FCGIX_KEEP_CONN),
        E_SNV(FCGIX_PARAMS, 3, "FCGI_DATA_LENGTH=9;FCGI_DATA_LAST_MOD=0"),
        E_S0(FCGIX_PARAMS, 3), E_S0(FCGIX_STDIN, 3),
        E_S(FCGIX_DATA, 3, "abcd"), E_S(FCGIX_DATA, 3, "efghi"),
        E_S0(FCGIX_DATA, 3), E_STOP },
      DONE },
    { __LINE__, "largest unknown record is skipped", SRV,
      { R_HDR(1, 200, 7, 65535, 255), R_ABORT(7), R_STOP },
      { E_UNKR(200, 7), E_ABORT(7), E_STOP },
      DONE },
    { __LINE__, "input ends inside an unknown record", SRV,
      { R_HDR(1, 12, 0, 100, 4), R_STOP },
      { E_UNKR(12, 0), E_STOP },
      50, FCGIX_AGAIN, NULL, 0 },
    { __LINE__, "empty GET_VALUES", SRV,
      { R_RAW(GV, 0, ""), R_STOP }, { E_MGMT(GV, ""), E_STOP }, DONE },
    { __LINE__, "STDOUT from server", SRV,
      { R_RAW(OUT, 1, "x"), R_STOP }, { E_STOP }, EPROTO(E_NOT_SRV) },
    { __LINE__, "STDERR from server", SRV,
      { R_RAW(ERR, 1, "x"), R_STOP }, { E_STOP }, EPROTO(E_NOT_SRV) },
    { __LINE__, "END_REQUEST from server", SRV,
      { R_END(1, 0, 0), R_STOP }, { E_STOP }, EPROTO(E_NOT_SRV) },
    { __LINE__, "GET_VALUES_RESULT from server", SRV,
      { R_NV(GVR, 0, "A=1"), R_STOP }, { E_STOP }, EPROTO(E_NOT_SRV) },
    { __LINE__, "UNKNOWN_TYPE from server", SRV,
      { R_UNK(1), R_STOP }, { E_STOP }, EPROTO(E_NOT_SRV) },
    { __LINE__, "version 2 from server", SRV,
      { R_HDR(2, 99, 1, 0, 0), R_STOP }, { E_STOP }, EPROTO(E_VER) },
    { __LINE__, "GET_VALUES with request id 3", SRV,
      { R_RAW(GV, 3, ""), R_STOP }, { E_STOP }, EPROTO(E_MGMT_RID) },
    { __LINE__, "PARAMS with request id 0", SRV,
      { R_RAW(FCGIX_PARAMS, 0, ""), R_STOP }, { E_STOP },
      EPROTO(E_APP_RID) },
    { __LINE__, "BEGIN_REQUEST with request id 0", SRV,
      { R_BEGIN(0, 1, 0), R_STOP }, { E_STOP }, EPROTO(E_APP_RID) },
    { __LINE__, "BEGIN_REQUEST with length 7", SRV,
      { R_HDR(1, FCGIX_BEGIN_REQUEST, 1, 7, 0), R_STOP }, { E_STOP },
      EPROTO(E_FIXLEN) },
    { __LINE__, "ABORT_REQUEST with length 1", SRV,
      { R_HDR(1, FCGIX_ABORT_REQUEST, 1, 1, 0), R_STOP }, { E_STOP },
      EPROTO(E_FIXLEN) },
    { __LINE__, "GET_VALUES of FCGIX_MGMT_MAX + 1", SRV,
      { R_HDR(1, GV, 0, FCGIX_MGMT_MAX + 1, 0), R_STOP }, { E_STOP },
      ETOOBIG(E_BIG) },
};

/* ---------------------------------------------------------------------
 * Building input
 * ------------------------------------------------------------------- */

#define INPUT_MAX (3 * (FCGIX_HEADER_LEN + FCGIX_MAX_CONTENT + 255))

static uint8_t input[INPUT_MAX];

static size_t build(const vec_t *v)
{
    static uint8_t body[FCGIX_MAX_CONTENT];
    size_t len = 0, blen, i;
    const rec_t *r;

    for (r = v->recs; r->body != B_STOP; r++) {
        fcgix_hdr_t h;
        fcgix_begin_t b;
        fcgix_end_t e;

        switch (r->body) {
        case B_RAW:
            blen = strlen(r->s);
            memcpy(body, r->s, blen);
            break;
        case B_FILL:
        case B_HDR:
            blen = r->a;
            for (i = 0; i < blen; i++) {
                body[i] = fill_byte(i);
            }
            break;
        case B_NV:
            blen = nv_build(body, sizeof(body), r->s);
            break;
        case B_BEGIN:
            b.role = (uint16_t)r->a;
            b.flags = (uint8_t)r->b;
            fcgix_proto_begin_pack(body, &b);
            blen = 8;
            break;
        case B_END:
            e.app_status = (uint32_t)r->a;
            e.protocol_status = (uint8_t)r->b;
            fcgix_proto_end_pack(body, &e);
            blen = 8;
            break;
        case B_UNK:
            memset(body, 0, 8);
            body[0] = (uint8_t)r->a;
            blen = 8;
            break;
        default:
            abort();
        }
        if (r->pad < 0) {
            h.padding_length = fcgix_proto_rec_header(
                input + len, (uint8_t)r->type, (uint16_t)r->rid,
                (uint16_t)blen);
        }
        else {
            h.version = (uint8_t)r->version;
            h.type = (uint8_t)r->type;
            h.request_id = (uint16_t)r->rid;
            h.content_length = (uint16_t)blen;
            h.padding_length = (uint8_t)r->pad;
            fcgix_proto_hdr_pack(input + len, &h);
        }
        len += FCGIX_HEADER_LEN;
        memcpy(input + len, body, blen);
        len += blen;
        memset(input + len, 0xee, h.padding_length);
        len += h.padding_length;
    }
    return len - v->trunc;
}

/* ---------------------------------------------------------------------
 * Running the reader
 * ------------------------------------------------------------------- */

typedef struct {
    int kind, type, rid;
    size_t off, len;         /* stream: where in input the data lies */
    uint8_t body[FCGIX_MGMT_MAX];
    size_t blen;             /* EV_MGMT copy */
    fcgix_begin_t begin;
    fcgix_end_t end;
    int unknown_type;
} got_t;

#define GOT_MAX 64

typedef struct {
    got_t ev[GOT_MAX];
    size_t n;
    int rc;
    size_t consumed;
    const char *error;
    int idle;
    int state;
    char bad[200];           /* first invariant violation */
} run_t;

static run_t ref, cur;

#define BAD(run, ...) \
    do { \
        if (!(run)->bad[0]) { \
            snprintf((run)->bad, sizeof((run)->bad), __VA_ARGS__); \
        } \
    } while (0)

static void record(run_t *run, const fcgix_event_t *ev, size_t off)
{
    got_t *g, *last = run->n ? &run->ev[run->n - 1] : NULL;

    /* Pieces of one record are contiguous in the input: merging them makes
     * any split produce the same list as a single feed. */
    if (ev->kind == FCGIX_EV_STREAM && ev->len && last
        && last->kind == FCGIX_EV_STREAM && last->len
        && last->type == ev->type && last->rid == ev->request_id
        && last->off + last->len == off) {
        last->len += ev->len;
        return;
    }
    if (run->n == GOT_MAX) {
        BAD(run, "more than %d events", GOT_MAX);
        return;
    }
    g = &run->ev[run->n++];
    memset(g, 0, sizeof(*g));
    g->kind = ev->kind;
    g->type = ev->type;
    g->rid = ev->request_id;
    switch (ev->kind) {
    case FCGIX_EV_STREAM:
        g->off = off;
        g->len = ev->len;
        break;
    case FCGIX_EV_MGMT:
        if (ev->len > FCGIX_MGMT_MAX) {
            BAD(run, "mgmt len %zu", ev->len);
            break;
        }
        g->blen = ev->len;
        if (ev->len) {
            memcpy(g->body, ev->data, ev->len);
        }
        break;
    case FCGIX_EV_BEGIN_REQUEST:
        g->begin = ev->begin;
        break;
    case FCGIX_EV_END_REQUEST:
        g->end = ev->end;
        break;
    case FCGIX_EV_UNKNOWN_TYPE:
        g->unknown_type = ev->unknown_type;
        break;
    default:
        break;
    }
}

/* Errors must stick without consuming anything. */
static void check_sticky(run_t *run, fcgix_reader_t *rd, const uint8_t *p,
                         size_t n)
{
    fcgix_event_t ev;
    size_t c = 99;
    int rc = fcgix_reader_feed(rd, p, n, &c, &ev);

    if (rc != run->rc || c != 0 || rd->state != FCGIX_RS_FAILED
        || rd->error != run->error) {
        BAD(run, "not sticky: rc %d consumed %zu state %s", rc, c,
            fcgix_reader_state_str(rd->state));
    }
}

/* Feeds input[off, off + n) from a guarded copy, the way a caller would. */
static void feed_piece(run_t *run, fcgix_reader_t *rd, const guard_t *whole,
                       size_t total, size_t off, size_t n)
{
    const uint8_t *p;
    size_t pos = 0;

    if (n <= scratch.cap) {
        p = guard_put(&scratch, input + off, n);
    }
    else {
        /* Too big to copy for every split: use the input's own guarded
         * copy, which is only fenced at the very end. */
        p = whole->end - total + off;
    }
    if (run->rc != FCGIX_AGAIN) {
        check_sticky(run, rd, p, n);
        return;
    }
    for (;;) {
        fcgix_event_t ev;
        size_t c = (size_t)-1;
        int rc = fcgix_reader_feed(rd, p + pos, n - pos, &c, &ev);

        if (c > n - pos) {
            BAD(run, "consumed %zu of %zu", c, n - pos);
            return;
        }
        if (rc == FCGIX_OK) {
            if (c == 0) {
                BAD(run, "event without progress at %zu", off + pos);
                return;
            }
            if (ev.kind == FCGIX_EV_STREAM
                && (ev.data < p + pos || ev.data + ev.len > p + pos + c)) {
                BAD(run, "stream data outside the consumed input");
                return;
            }
            record(run, &ev, ev.kind == FCGIX_EV_STREAM
                   ? off + (size_t)(ev.data - p) : 0);
        }
        else if (rc == FCGIX_AGAIN) {
            if (c != n - pos) {
                BAD(run, "AGAIN left %zu bytes", n - pos - c);
            }
        }
        else if (rc != FCGIX_EPROTO && rc != FCGIX_ETOOBIG) {
            BAD(run, "bad rc %d", rc);
        }
        pos += c;
        run->consumed += c;
        if (rc != FCGIX_OK) {
            if (rc != FCGIX_AGAIN) {
                run->rc = rc;
                run->error = rd->error;
                if (!rd->error) {
                    BAD(run, "error without reason");
                }
                check_sticky(run, rd, p + pos, n - pos);
            }
            return;
        }
    }
}

/* What fcgix_reader_pump's callback sees of the piece being pumped. */
typedef struct {
    run_t *run;
    const uint8_t *p; /* the rest of the piece handed to the pump */
    size_t off, n;    /* where that rest lies in input, its length */
    int stop;         /* stop the pump after every event */
    int events;       /* events of the current pump call */
} pump_t;

static int pump_cb(void *baton, const fcgix_event_t *ev)
{
    pump_t *x = baton;

    x->events++;
    if (ev->kind == FCGIX_EV_STREAM
        && (ev->data < x->p || ev->data + ev->len > x->p + x->n)) {
        BAD(x->run, "pumped stream data outside the input");
        return 1;
    }
    record(x->run, ev, ev->kind == FCGIX_EV_STREAM
           ? x->off + (size_t)(ev->data - x->p) : 0);
    return x->stop;
}

/* feed_piece through the pump: it must see what feeding by hand sees,
 * and resume where a callback stopped it. */
static void pump_piece(run_t *run, fcgix_reader_t *rd, const guard_t *whole,
                       size_t total, size_t off, size_t n, int stop)
{
    const uint8_t *p;
    size_t pos = 0;
    pump_t x;

    p = n <= scratch.cap ? guard_put(&scratch, input + off, n)
                         : whole->end - total + off;
    if (run->rc != FCGIX_AGAIN) {
        check_sticky(run, rd, p, n);
        return;
    }
    x.run = run;
    x.stop = stop;
    for (;;) {
        size_t c = (size_t)-1;
        int rc;

        x.p = p + pos;
        x.off = off + pos;
        x.n = n - pos;
        x.events = 0;
        rc = fcgix_reader_pump(rd, p + pos, n - pos, &c, pump_cb, &x);
        if (c > n - pos) {
            BAD(run, "pump consumed %zu of %zu", c, n - pos);
            return;
        }
        pos += c;
        run->consumed += c;
        if (rc == FCGIX_OK) {
            /* Only a stop ends a pump early, right after its event. */
            if (!stop || x.events != 1 || c == 0) {
                BAD(run, "pump OK after %d events, %zu bytes", x.events,
                    c);
                return;
            }
            continue;
        }
        if (stop && x.events > 1) {
            BAD(run, "pump went on after a stop");
            return;
        }
        if (rc == FCGIX_AGAIN) {
            if (pos != n) {
                BAD(run, "pump AGAIN left %zu bytes", n - pos);
            }
            return;
        }
        if (rc != FCGIX_EPROTO && rc != FCGIX_ETOOBIG) {
            BAD(run, "pump: bad rc %d", rc);
        }
        run->rc = rc;
        run->error = rd->error;
        if (!rd->error) {
            BAD(run, "pump: error without reason");
        }
        check_sticky(run, rd, p + pos, n - pos);
        return;
    }
}

static void run_begin(run_t *run, fcgix_reader_t *rd, int side)
{
    /* Not a memset: this runs once per split offset. */
    run->n = 0;
    run->rc = FCGIX_AGAIN;
    run->consumed = 0;
    run->error = NULL;
    run->bad[0] = '\0';
    fcgix_reader_init(rd, side);
}

static void run_end(run_t *run, fcgix_reader_t *rd)
{
    run->idle = fcgix_reader_idle(rd);
    run->state = rd->state;
}

static void render(char *out, size_t cap, const got_t *g)
{
    char nv[160];

    switch (g->kind) {
    case FCGIX_EV_STREAM:
        snprintf(out, cap, "STREAM %s rid %d off %zu len %zu",
                 fcgix_proto_type_str((unsigned)g->type), g->rid, g->off,
                 g->len);
        break;
    case FCGIX_EV_MGMT:
        nv_render(nv, sizeof(nv), g->body, g->blen);
        snprintf(out, cap, "MGMT %s len %zu [%s]",
                 fcgix_proto_type_str((unsigned)g->type), g->blen, nv);
        break;
    case FCGIX_EV_BEGIN_REQUEST:
        snprintf(out, cap, "BEGIN rid %d role %u flags %u", g->rid,
                 g->begin.role, g->begin.flags);
        break;
    case FCGIX_EV_END_REQUEST:
        snprintf(out, cap, "END rid %d app %lu %s", g->rid,
                 (unsigned long)g->end.app_status,
                 fcgix_proto_status_str(g->end.protocol_status));
        break;
    default:
        snprintf(out, cap, "kind %d type %d rid %d ut %d", g->kind,
                 g->type, g->rid, g->unknown_type);
        break;
    }
}

static void dump(const char *what, const run_t *run)
{
    char line[256];
    size_t i;

    note("%s: rc %d consumed %zu error %s idle %d state %s%s%s", what,
         run->rc, run->consumed, run->error ? run->error : "-", run->idle,
         fcgix_reader_state_str((fcgix_reader_state_e)run->state),
         run->bad[0] ? " BAD: " : "", run->bad);
    for (i = 0; i < run->n; i++) {
        render(line, sizeof(line), &run->ev[i]);
        note("  %s", line);
    }
}

static int runs_equal(const run_t *a, const run_t *b)
{
    size_t i;

    if (a->n != b->n || a->rc != b->rc || a->consumed != b->consumed
        || a->error != b->error || a->idle != b->idle
        || a->state != b->state || a->bad[0] || b->bad[0]) {
        return 0;
    }
    for (i = 0; i < a->n; i++) {
        const got_t *x = &a->ev[i], *y = &b->ev[i];

        if (x->kind != y->kind || x->type != y->type || x->rid != y->rid
            || x->off != y->off || x->len != y->len || x->blen != y->blen
            || memcmp(x->body, y->body, x->blen)
            || x->begin.role != y->begin.role
            || x->begin.flags != y->begin.flags
            || x->end.app_status != y->end.app_status
            || x->end.protocol_status != y->end.protocol_status
            || x->unknown_type != y->unknown_type) {
            return 0;
        }
    }
    return 1;
}

/* Compares one recorded event against its expectation; "" when equal. */
static const char *mismatch(const got_t *g, const exp_t *e)
{
    static char why[416];
    char nv[400];
    size_t i, elen;

    if (g->kind != e->kind || g->type != e->type || g->rid != e->rid) {
        return "kind, type or request id";
    }
    elen = e->len < 0 ? strlen(e->data) : (size_t)e->len;
    switch (g->kind) {
    case FCGIX_EV_STREAM:
        if (e->nv) {
            nv_render(nv, sizeof(nv), input + g->off, g->len);
            if (strcmp(nv, e->data)) {
                snprintf(why, sizeof(why), "nv [%s]", nv);
                return why;
            }
            return "";
        }
        if (g->len != elen) {
            return "stream length";
        }
        for (i = 0; i < elen; i++) {
            if (input[g->off + i]
                != (e->data ? (uint8_t)e->data[i] : fill_byte(i))) {
                return "stream data";
            }
        }
        return "";
    case FCGIX_EV_MGMT:
        if (!e->nv) {
            return g->blen == elen ? "" : "mgmt length";
        }
        nv_render(nv, sizeof(nv), g->body, g->blen);
        if (strcmp(nv, e->data)) {
            snprintf(why, sizeof(why), "nv [%s]", nv);
            return why;
        }
        return "";
    case FCGIX_EV_BEGIN_REQUEST:
        return g->begin.role == e->a && g->begin.flags == e->b
               ? "" : "begin body";
    case FCGIX_EV_END_REQUEST:
        return g->end.app_status == e->a && g->end.protocol_status == e->b
               ? "" : "end body";
    case FCGIX_EV_UNKNOWN_TYPE:
        return (unsigned long)g->unknown_type == e->a ? "" : "unknown_type";
    default:
        return "";
    }
}

static void check_expected(const vec_t *v, const run_t *run, size_t total)
{
    const char *why = "";
    size_t i, nexp = 0;

    while (v->evs[nexp].kind != FCGIX_EV_NONE) {
        nexp++;
    }
    if (run->bad[0]) {
        why = run->bad;
    }
    else if (run->n != nexp) {
        why = "event count";
    }
    for (i = 0; !*why && i < nexp; i++) {
        why = mismatch(&run->ev[i], &v->evs[i]);
    }
    if (!*why && run->rc != v->rc) {
        why = "return code";
    }
    if (!*why && run->rc == FCGIX_AGAIN && run->consumed != total) {
        why = "consumed";
    }
    if (!*why && (run->error ? !v->error || strcmp(run->error, v->error)
                             : v->error != NULL)) {
        why = "error string";
    }
    if (!*why && run->idle != v->idle) {
        why = "idle";
    }
    if (!ok(!*why, "line %d %s: whole feed (%zu bytes) as expected",
            v->line, v->name, total)) {
        note("mismatch: %s", why);
        dump("got", run);
    }
}

/* The pump over the same input: whole, stopped after every event and
 * resumed, byte by byte, split at every offset; always the events, end
 * state and error of the whole feed (ref). */
static void test_vector_pump(const vec_t *v, const guard_t *whole,
                             size_t total)
{
    fcgix_reader_t rd;
    size_t i, k;
    int stop, same = 1;

    for (stop = 0; stop <= 1; stop++) {
        run_begin(&cur, &rd, v->side);
        pump_piece(&cur, &rd, whole, total, 0, total, stop);
        run_end(&cur, &rd);
        if (!ok(runs_equal(&ref, &cur), "line %d %s: pump whole%s",
                v->line, v->name, stop ? ", stopped at each event" : "")) {
            dump("pump", &cur);
        }
    }
    run_begin(&cur, &rd, v->side);
    for (i = 0; i < total; i++) {
        pump_piece(&cur, &rd, whole, total, i, 1, 0);
    }
    run_end(&cur, &rd);
    if (!ok(runs_equal(&ref, &cur), "line %d %s: pump byte by byte",
            v->line, v->name)) {
        dump("pump byte by byte", &cur);
    }
    for (k = 0; k <= total && same; k++) {
        run_begin(&cur, &rd, v->side);
        pump_piece(&cur, &rd, whole, total, 0, k, 0);
        pump_piece(&cur, &rd, whole, total, k, total - k, 0);
        run_end(&cur, &rd);
        same = runs_equal(&ref, &cur);
    }
    if (!ok(same, "line %d %s: pump split at each of %zu offsets",
            v->line, v->name, total + 1)) {
        note("first difference when split at %zu", k - 1);
        dump("pump split", &cur);
    }
}

static void test_vector(const vec_t *v)
{
    fcgix_reader_t rd;
    guard_t whole;
    size_t total = build(v), i, k;
    int same = 1;

    guard_init(&whole, total);
    guard_put(&whole, input, total);

    run_begin(&ref, &rd, v->side);
    feed_piece(&ref, &rd, &whole, total, 0, total);
    run_end(&ref, &rd);
    check_expected(v, &ref, total);

    run_begin(&cur, &rd, v->side);
    for (i = 0; i < total; i++) {
        feed_piece(&cur, &rd, &whole, total, i, 1);
    }
    run_end(&cur, &rd);
    if (!ok(runs_equal(&ref, &cur), "line %d %s: byte by byte", v->line,
            v->name)) {
        dump("byte by byte", &cur);
    }

    for (k = 0; k <= total && same; k++) {
        run_begin(&cur, &rd, v->side);
        feed_piece(&cur, &rd, &whole, total, 0, k);
        feed_piece(&cur, &rd, &whole, total, k, total - k);
        run_end(&cur, &rd);
        same = runs_equal(&ref, &cur);
    }
    if (!ok(same, "line %d %s: split at each of %zu offsets", v->line,
            v->name, total + 1)) {
        note("first difference when split at %zu", k - 1);
        dump("split", &cur);
    }
    test_vector_pump(v, &whole, total);
    guard_free(&whole);
}

/* ---------------------------------------------------------------------
 * Fixed-size codecs
 * ------------------------------------------------------------------- */

static void test_header(void)
{
    static const uint8_t want[8] = { 1, 6, 0x12, 0x34, 0xff, 0xfe, 0xab, 0 };
    fcgix_hdr_t h = { 1, 6, 0x1234, 0xfffe, 0xab }, u;
    uint8_t out[8];
    unsigned clen;

    memset(out, 0x55, sizeof(out));
    fcgix_proto_hdr_pack(out, &h);
    is_mem(out, 8, want, 8, "header packs big-endian, reserved byte 0");
    memset(&u, 0, sizeof(u));
    fcgix_proto_hdr_unpack(&u, out);
    ok(u.version == 1 && u.type == 6 && u.request_id == 0x1234
       && u.content_length == 0xfffe && u.padding_length == 0xab,
       "header round trip");

    for (clen = 0; clen <= 18; clen++) {
        unsigned c = clen == 18 ? FCGIX_MAX_CONTENT : clen;
        uint8_t pad = fcgix_proto_rec_header(out, FCGIX_STDOUT, 7,
                                             (uint16_t)c);

        fcgix_proto_hdr_unpack(&u, out);
        ok((8 + c + pad) % 8 == 0 && pad < 8 && u.padding_length == pad
           && u.version == FCGIX_VERSION_1 && u.type == FCGIX_STDOUT
           && u.request_id == 7 && u.content_length == c && out[7] == 0,
           "rec_header clen %u pads %u", c, pad);
    }
}

static void test_bodies(void)
{
    static const uint8_t bwant[8] = { 0, 1, 1, 0, 0, 0, 0, 0 };
    static const char *const names[] = {
        "REQUEST_COMPLETE", "CANT_MPX_CONN", "OVERLOADED", "UNKNOWN_ROLE"
    };
    fcgix_begin_t b = { FCGIX_ROLE_RESPONDER, FCGIX_KEEP_CONN }, bu;
    fcgix_end_t e, eu;
    uint8_t out[8];
    unsigned ps;

    memset(out, 0x55, sizeof(out));
    fcgix_proto_begin_pack(out, &b);
    is_mem(out, 8, bwant, 8, "BEGIN_REQUEST body bytes");
    fcgix_proto_begin_unpack(&bu, out);
    ok(bu.role == FCGIX_ROLE_RESPONDER && bu.flags == FCGIX_KEEP_CONN,
       "BEGIN_REQUEST round trip");
    b.role = 0xfedc;
    b.flags = 0xff;
    fcgix_proto_begin_pack(out, &b);
    fcgix_proto_begin_unpack(&bu, out);
    ok(bu.role == 0xfedc && bu.flags == 0xff && out[3] == 0 && out[7] == 0,
       "BEGIN_REQUEST round trip, all bits");

    for (ps = 0; ps <= 3; ps++) {
        uint8_t want[8] = { 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0 };

        want[4] = (uint8_t)ps;
        e.app_status = 0xdeadbeefUL;
        e.protocol_status = (uint8_t)ps;
        memset(out, 0x55, sizeof(out));
        fcgix_proto_end_pack(out, &e);
        is_mem(out, 8, want, 8, "END_REQUEST body bytes");
        memset(&eu, 0, sizeof(eu));
        fcgix_proto_end_unpack(&eu, out);
        ok(eu.app_status == 0xdeadbeefUL && eu.protocol_status == ps,
           "END_REQUEST round trip, status %u", ps);
        ok(!strcmp(fcgix_proto_status_str(ps), names[ps]),
           "status_str(%u) is %s", ps, names[ps]);
    }
    ok(!strcmp(fcgix_proto_status_str(4), "UNKNOWN")
       && !strcmp(fcgix_proto_status_str(255), "UNKNOWN"),
       "status_str of unknown values");
}

static void test_strings(void)
{
    static const char *const types[] = {
        "UNKNOWN", "BEGIN_REQUEST", "ABORT_REQUEST", "END_REQUEST",
        "PARAMS", "STDIN", "STDOUT", "STDERR", "DATA", "GET_VALUES",
        "GET_VALUES_RESULT", "UNKNOWN_TYPE"
    };
    static const char *const states[] = {
        "header", "content", "body", "padding", "failed"
    };
    unsigned i;
    int good = 1;

    for (i = 0; i < 12; i++) {
        good &= !strcmp(fcgix_proto_type_str(i), types[i]);
    }
    ok(good, "type_str of types 0..11");
    ok(!strcmp(fcgix_proto_type_str(12), "UNKNOWN")
       && !strcmp(fcgix_proto_type_str(99), "UNKNOWN")
       && !strcmp(fcgix_proto_type_str(~0u), "UNKNOWN"),
       "type_str of unknown types");
    good = 1;
    for (i = 0; i < 5; i++) {
        good &= !strcmp(fcgix_reader_state_str((fcgix_reader_state_e)i),
                        states[i]);
    }
    ok(good, "reader_state_str of every state");
    ok(!strcmp(fcgix_reader_state_str((fcgix_reader_state_e)42), "invalid"),
       "reader_state_str of a bad state");
}

/* ---------------------------------------------------------------------
 * Name-value pairs
 * ------------------------------------------------------------------- */

/* Decoding any strict prefix says AGAIN, the whole pair OK and exact. */
static int nv_check_decode(const uint8_t *enc, size_t len, size_t nlen,
                           size_t vlen)
{
    fcgix_nv_t nv;
    size_t k, c;
    const uint8_t *p;

    for (k = 0; k < len; k++) {
        p = k <= scratch.cap ? guard_put(&scratch, enc, k) : enc;
        if (fcgix_proto_nv_decode(p, k, &nv, &c) != FCGIX_AGAIN) {
            note("prefix %zu of %zu did not say AGAIN", k, len);
            return 0;
        }
    }
    p = len <= scratch.cap ? guard_put(&scratch, enc, len) : enc;
    c = 0;
    if (fcgix_proto_nv_decode(p, len, &nv, &c) != FCGIX_OK || c != len
        || nv.name_len != nlen || nv.value_len != vlen
        || nv.name < p || nv.name + nlen > p + len
        || nv.value != nv.name + nlen || nv.value + vlen != p + len) {
        note("whole pair of %zu bytes did not decode", len);
        return 0;
    }
    return 1;
}

static void nv_case(size_t nlen, size_t vlen, size_t hlen)
{
    static uint8_t enc[80000];
    static char name[300], value[70000];
    fcgix_nv_t nv;
    size_t w = 0, i, need = nlen + vlen + hlen, c;

    for (i = 0; i < nlen; i++) {
        name[i] = (char)('a' + i % 26);
    }
    for (i = 0; i < vlen; i++) {
        value[i] = (char)('A' + i % 23);
    }
    is_int(fcgix_proto_nv_len(nlen, vlen), need, "nv_len");
    memset(enc, 0xaa, need + 1);
    ok(fcgix_proto_nv_encode(enc, need, name, nlen, value, vlen, &w)
       == FCGIX_OK && w == need && enc[need] == 0xaa,
       "nv encode name %zu value %zu into exact cap: %zu bytes", nlen, vlen,
       need);
    ok(nv_check_decode(enc, need, nlen, vlen),
       "nv decode name %zu value %zu: AGAIN at every prefix, then OK",
       nlen, vlen);
    ok(fcgix_proto_nv_decode(enc, need, &nv, &c) == FCGIX_OK
       && (nlen == 0 || !memcmp(nv.name, name, nlen))
       && (vlen == 0 || !memcmp(nv.value, value, vlen)),
       "nv decode name %zu value %zu: contents", nlen, vlen);
}

static void test_nv(void)
{
    static const uint8_t w128[8] = { 0x80, 0, 0, 0x80, 0x7f };
    static const uint8_t w70k[4] = { 0x80, 0x01, 0x11, 0x70 };
    static const uint8_t trailing[] = { 1, 2, 'A', 'b', 'c', 9, 9 };
    static const uint8_t longform[] = { 0x80, 0, 0, 3, 0, 'a', 'b', 'c' };
    static const uint8_t maxlen[] = { 0xff, 0xff, 0xff, 0xff, 0, 'x' };
    static char big[70000];
    static uint8_t enc[4 + 1 + 70000 + 1];
    uint8_t out[600], before[600];
    fcgix_nv_t nv;
    size_t w, c;
    int rc;

    nv_case(0, 0, 2);
    nv_case(127, 0, 2);
    nv_case(0, 127, 2);
    nv_case(128, 127, 5);
    nv_case(127, 128, 5);
    nv_case(128, 128, 8);
    nv_case(15, 70000, 5);

    rc = fcgix_proto_nv_encode(out, sizeof(out), big, 128, big, 127, &w);
    ok(rc == FCGIX_OK && w == 128 + 127 + 5 && !memcmp(out, w128, 5),
       "4-byte name length 128, 1-byte value length 127");
    rc = fcgix_proto_nv_encode(out, sizeof(out), big, 70000, "", 0, &w);
    ok(rc == FCGIX_ETOOBIG && w == 0, "70000-byte pair into 600 bytes");
    memset(enc, 0x5a, sizeof(enc));
    rc = fcgix_proto_nv_encode(enc, sizeof(enc) - 1, big, 70000, "x", 1,
                               &w);
    ok(rc == FCGIX_ETOOBIG && w == 0 && enc[0] == 0x5a && enc[4] == 0x5a
       && enc[70005] == 0x5a,
       "cap one byte short: ETOOBIG and nothing written");
    rc = fcgix_proto_nv_encode(enc, sizeof(enc), big, 70000, "x", 1, &w);
    ok(rc == FCGIX_OK && w == sizeof(enc) && !memcmp(enc, w70k, 4)
       && enc[4] == 1 && enc[70005] == 'x', "70000-byte name length bytes");
    memset(out, 0x5a, sizeof(out));
    memcpy(before, out, sizeof(out));
    rc = fcgix_proto_nv_encode(out, 3, "ab", 2, "", 0, &w);
    ok(rc == FCGIX_ETOOBIG && w == 0 && !memcmp(out, before, sizeof(out)),
       "cap too small for a short pair");
    rc = fcgix_proto_nv_encode(out, 0, "", 0, "", 0, &w);
    ok(rc == FCGIX_ETOOBIG && w == 0, "cap 0");
    rc = fcgix_proto_nv_encode(out, 2, NULL, 0, NULL, 0, &w);
    ok(rc == FCGIX_OK && w == 2 && out[0] == 0 && out[1] == 0,
       "empty pair with NULL pointers");

    is_int(fcgix_proto_nv_len(FCGIX_NV_MAX_LEN, 0),
           (size_t)FCGIX_NV_MAX_LEN + 5, "nv_len at the 31-bit limit");
    is_int(fcgix_proto_nv_len((size_t)FCGIX_NV_MAX_LEN + 1, 0), 0,
           "nv_len of an over-long name");
    is_int(fcgix_proto_nv_len(0, (size_t)FCGIX_NV_MAX_LEN + 1), 0,
           "nv_len of an over-long value");
    rc = fcgix_proto_nv_encode(out, sizeof(out), "",
                               (size_t)FCGIX_NV_MAX_LEN + 1, "", 0, &w);
    ok(rc == FCGIX_ETOOBIG && w == 0, "encode of an over-long name");
    rc = fcgix_proto_nv_encode(out, SIZE_MAX, "", 0, "",
                               (size_t)FCGIX_NV_MAX_LEN + 1, &w);
    ok(rc == FCGIX_ETOOBIG && w == 0, "encode of an over-long value");

    rc = fcgix_proto_nv_decode(trailing, sizeof(trailing), &nv, &c);
    ok(rc == FCGIX_OK && c == 5 && nv.name_len == 1 && nv.name[0] == 'A'
       && nv.value_len == 2 && !memcmp(nv.value, "bc", 2),
       "decode stops at the pair's end, trailing bytes untouched");
    rc = fcgix_proto_nv_decode(longform, sizeof(longform), &nv, &c);
    ok(rc == FCGIX_OK && c == 8 && nv.name_len == 3 && nv.value_len == 0
       && !memcmp(nv.name, "abc", 3), "4-byte form of a short length");
    rc = fcgix_proto_nv_decode(maxlen, sizeof(maxlen), &nv, &c);
    ok(rc == FCGIX_AGAIN, "high bit masked: 0x7fffffff-byte name is AGAIN");
    ok(fcgix_proto_nv_decode(NULL, 0, &nv, &c) == FCGIX_AGAIN,
       "decode of nothing");
}

/* ---------------------------------------------------------------------
 * Reader odds and ends not covered by the vectors
 * ------------------------------------------------------------------- */

static void test_reader_misc(void)
{
    fcgix_reader_t rd, zero;
    fcgix_event_t ev;
    uint8_t rec[16];
    size_t c = 99;
    int rc;

    fcgix_reader_init(&rd, FCGIX_READ_FROM_APP);
    ok(fcgix_reader_idle(&rd) && rd.state == FCGIX_RS_HEADER
       && rd.error == NULL, "fresh reader is idle");
    rc = fcgix_reader_feed(&rd, NULL, 0, &c, &ev);
    ok(rc == FCGIX_AGAIN && c == 0 && fcgix_reader_idle(&rd),
       "empty feed says AGAIN");

    memset(&zero, 0, sizeof(zero));
    zero.side = FCGIX_READ_FROM_SERVER;
    fcgix_proto_rec_header(rec, FCGIX_ABORT_REQUEST, 3, 0);
    rc = fcgix_reader_feed(&zero, rec, 8, &c, &ev);
    ok(rc == FCGIX_OK && c == 8 && ev.kind == FCGIX_EV_ABORT_REQUEST
       && ev.request_id == 3 && fcgix_reader_idle(&zero),
       "zero-initialised reader works");

    fcgix_reader_init(&rd, FCGIX_READ_FROM_APP);
    fcgix_proto_rec_header(rec, FCGIX_STDOUT, 1, 1);
    rec[8] = 'x';
    rc = fcgix_reader_feed(&rd, rec, 4, &c, &ev);
    ok(rc == FCGIX_AGAIN && c == 4 && !fcgix_reader_idle(&rd)
       && rd.state == FCGIX_RS_HEADER, "half a header is not idle");
    rc = fcgix_reader_feed(&rd, rec + 4, 5, &c, &ev);
    ok(rc == FCGIX_OK && c == 5 && ev.len == 1 && ev.data == rec + 8
       && rd.state == FCGIX_RS_PADDING, "stream piece points into input");
    rc = fcgix_reader_feed(&rd, rec + 9, 7, &c, &ev);
    ok(rc == FCGIX_AGAIN && c == 7 && fcgix_reader_idle(&rd),
       "padding skipped on the next feed");

    /* An event stops the feed: the rest stays with the caller. */
    fcgix_reader_init(&rd, FCGIX_READ_FROM_APP);
    fcgix_proto_rec_header(rec, FCGIX_STDOUT, 1, 0);
    fcgix_proto_rec_header(rec + 8, FCGIX_STDOUT, 1, 0);
    rc = fcgix_reader_feed(&rd, rec, 16, &c, &ev);
    ok(rc == FCGIX_OK && c == 8 && ev.len == 0 && ev.data == rec + 8,
       "one event per call, empty stream data points after its header");

    /* Padding at hand is eaten with the event, leaving the reader idle. */
    fcgix_reader_init(&rd, FCGIX_READ_FROM_APP);
    fcgix_proto_rec_header(rec, FCGIX_STDOUT, 1, 3);
    memcpy(rec + 8, "abc\0\0\0\0\0", 8);
    rc = fcgix_reader_feed(&rd, rec, 16, &c, &ev);
    ok(rc == FCGIX_OK && c == 16 && ev.len == 3 && fcgix_reader_idle(&rd),
       "padding after content is consumed with it");
    fcgix_reader_init(&rd, FCGIX_READ_FROM_APP);
    rc = fcgix_reader_feed(&rd, rec, 13, &c, &ev);
    ok(rc == FCGIX_OK && c == 13 && rd.state == FCGIX_RS_PADDING
       && rd.remain == 3, "partial padding is consumed too");

    fcgix_reader_init(&rd, FCGIX_READ_FROM_APP);
    fcgix_proto_rec_header(rec, FCGIX_STDOUT, 1, 0);
    rec[0] = 2;
    rc = fcgix_reader_feed(&rd, rec, 16, &c, &ev);
    ok(rc == FCGIX_EPROTO && c == 8 && rd.state == FCGIX_RS_FAILED
       && !fcgix_reader_idle(&rd) && !strcmp(rd.error, "bad version"),
       "error consumes the bad header");
    rc = fcgix_reader_feed(&rd, NULL, 0, &c, &ev);
    ok(rc == FCGIX_EPROTO && c == 0, "error sticks even for empty input");
}

int main(void)
{
    size_t i;

    guard_init(&scratch, 4096);
    note("codec");
    test_header();
    test_bodies();
    test_strings();
    note("name-value pairs");
    test_nv();
    note("reader");
    test_reader_misc();
    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        test_vector(&vectors[i]);
    }
    guard_free(&scratch);
    return done_testing();
}
