/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License.  You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/*
 * fcgix_testapp: a controllable FastCGI responder used by the mod_fcgix
 * test suite, benchmarks and multiplexing tests.
 *
 * It deliberately shares no code with the module (nor libfcgi): the app
 * side of the protocol is written again here from the specification, so a
 * bug in our codec cannot be mirrored by the same bug in the peer.
 *
 * Command line
 *   fcgix_testapp [-l ADDR] [-b BACKLOG] [-p PIDFILE] [-m] [-s STATSFILE]
 *                 [-G answer|ignore|close]
 *   If fd 0 is a listening socket (FCGI_LISTENSOCK_FILENO), it is used and
 *   -l is ignored.  Otherwise -l ADDR is required:
 *     127.0.0.1:PORT, [::1]:PORT, *:PORT, unix:/abs/path
 *   A unix socket path is unlinked first when stale and chmod 0666.
 *   -b  listen backlog (default 128)
 *   -p  pid file, written (atomically) once listen() succeeded
 *   -m  multiplex: one thread per request id, FCGI_MPXS_CONNS=1
 *   -s  file holding the counters (created if missing, never reset, so
 *       several processes given the same file share counters); default is
 *       anonymous shared memory
 *   -G  what an FCGI_GET_VALUES record gets: answer (default), ignore (no
 *       reply, the connection goes on) or close (the connection is closed
 *       at once, like applications that do not know management records)
 *   SIGTERM/SIGINT exit 0 (removing a unix socket we created).
 *
 * Protocol behaviour
 *   FCGI_KEEP_CONN honoured; without it the connection is closed after
 *   END_REQUEST.  Without -m a BEGIN_REQUEST for a second id while one is
 *   active gets END_REQUEST(FCGI_CANT_MPX_CONN).  Roles other than
 *   RESPONDER get END_REQUEST(FCGI_UNKNOWN_ROLE).  GET_VALUES answers only
 *   the names asked among FCGI_MAX_CONNS=1000, FCGI_MAX_REQS=1000 (-m) or 1,
 *   FCGI_MPXS_CONNS=1 (-m) or 0.  Any other record on id 0 gets
 *   FCGI_UNKNOWN_TYPE.  FCGI_ABORT_REQUEST on an active id ends it at once
 *   with END_REQUEST(appStatus 1); its sleeps stop within 10 ms.  FCGI_DATA
 *   is ignored; records for inactive ids are ignored.  A bad version, a
 *   malformed record or a record type the server must never send closes
 *   that connection.  EOF from the server (a half-close included) stops
 *   the sleeps and streaming of every request on that connection.
 *
 * Query string (QUERY_STRING, '&'-separated key=value, %XX and '+'
 * decoded; several may be combined).  The reply is produced once STDIN is
 * complete, as STDOUT records (content <= 65535, padded to 8) followed by
 * an empty STDOUT and END_REQUEST(0, FCGI_REQUEST_COMPLETE).
 *   (default)/env      text/plain, every param as NAME=VALUE\n sorted by name
 *   digest             "len=<N> md5=<hex>\n"
 *                      "content_length=<CONTENT_LENGTH param or ->\n"
 *   echo_stdin         body = raw STDIN (application/octet-stream, 64 MiB cap)
 *   bytes=N            N bytes, byte i = 'a' + i % 26, octet-stream
 *     chunk=K          bytes per write batch (default 65536)
 *     delay_ms=M       sleep M ms between batches (abortable)
 *   status=NNN         "Status: NNN <reason>", body "status NNN\n"
 *   location=URL       "Location: URL", empty body
 *   cookies=N          Set-Cookie: c<i>=v<i> for i = 1..N
 *   hdrsize=N          X-Big: followed by N 'x'
 *   hdr=LINE           LINE and CRLF added to the header block, after all
 *                      the others (may repeat; each adds one line)
 *   hdr_pad=N          N 'x' added to the end of the last hdr= line
 *   nph=TEXT           the block starts with the line "HTTP/1.1 TEXT"
 *   interim=TEXT       an interim header block "TEXT\r\n\r\n" before the
 *                      real one (TEXT holds its lines, e.g. "Status: 103
 *                      %0D%0ALink: </a.css>"; may repeat, in order)
 *   interim_ms=N       after the interim blocks, flush and sleep N ms
 *   sleep_ms=N         sleep before answering (abortable)
 *   stderr=TEXT        TEXT as FCGI_STDERR record(s) (then an empty one)
 *                      before any STDOUT
 *   stderr_lines=N     N lines "<stderr_tag> line <i>" (tag default
 *                      "flood"), each padded to stderr_len bytes (default
 *                      64, newline included), on FCGI_STDERR before any
 *                      STDOUT (after stderr=)
 *   forever_ms=MS      stream the bytes= pattern without end (chunk=,
 *                      delay_ms= apply) until MS ms have passed (at most
 *                      60000) or the connection goes away, then end
 *   ignore_abort       FCGI_ABORT_REQUEST for this request is counted
 *                      (aborts, ignored_aborts) and otherwise ignored,
 *                      as php-fpm and libfcgi do
 *   crash_once=TOKEN   the first request of this process that carries
 *                      TOKEN is treated as crash=before_headers, later
 *                      ones are served (at most 256 tokens remembered)
 *   stray=TEXT         after this request's END_REQUEST, the next
 *                      BEGIN_REQUEST on the same connection first gets an
 *                      FCGI_STDOUT record with TEXT for this (ended)
 *                      request id, as a buggy application would send late
 *   rec=N              STDOUT/STDERR records carry at most N bytes (no
 *                      pause: an application flushing small writes)
 *   split=N            every write() carries at most N bytes, ~1 ms apart,
 *                      and STDOUT/STDERR records carry at most N bytes
 *   stats              "connections= requests= completed= aborts=
 *                      max_inflight= open= get_values= after_abort=
 *                      cant_mpx=\n"
 *   conninfo           adds response headers naming the connection:
 *                      X-Fcgix-Conn (serial of the connection in this
 *                      process), X-Fcgix-Pid (this process), X-Fcgix-Rid
 *                      (request id), X-Fcgix-Depth (ids active on the
 *                      connection when this one began, itself included),
 *                      X-Fcgix-Conn-Req (n-th request begun on it),
 *                      X-Fcgix-Peer (pid of the server process on a unix
 *                      socket (SO_PEERCRED), else 0)
 *   headers_then_sleep=MS  headers + "first\n", sleep MS, "last\n"
 *   early_reply        write the reply before reading STDIN, then drain
 *                      STDIN, then end (ignored with digest, echo_stdin,
 *                      stats)
 *   crash=before_headers|after_headers|mid_body
 *                      shut the connection down at that point, no
 *                      END_REQUEST (mid_body: after half the body)
 *   crash=exit         _exit(3) the whole process
 *   malformed=version|type|rid|end_before_headers|truncated_header|
 *             truncated_record|bad_header|begin_from_app|huge_header|
 *             nul_header       a deliberately broken reply stream
 * The body precedence is malformed, stats, digest, echo_stdin, bytes,
 * headers_then_sleep, env (when given), status, location, env (default).
 * A handler runs: read STDIN, sleep_ms, crash=exit, stderr,
 * crash=before_headers, malformed, headers, crash=after_headers, body
 * (crash=mid_body), END_REQUEST.  STDIN is queued up to 1 MiB per request;
 * beyond that the connection is not read until the handler catches up.
 *
 * malformed kinds (each after a normal STDIN phase):
 *   version            STDOUT record with version 2, then a normal end
 *   type               record of type 99, then a normal reply
 *   rid                the STDOUT goes to id rid+1, the end to rid
 *   end_before_headers END_REQUEST only, no STDOUT at all
 *   truncated_header   "Content-Type: text/plain\r\n" then close
 *   truncated_record   STDOUT header announcing 100 bytes, 10 sent, close
 *   bad_header         "this is not a header line\r\n\r\nbody", normal end
 *   begin_from_app     BEGIN_REQUEST to the server, then a normal reply
 *   huge_header        "X-Big: " + 200000 'x', then a normal end
 *   nul_header         "X-Nul: a\0b" header line, then a normal end
 *
 * Counters: connections accepted, requests begun (accepted BEGIN_REQUEST),
 * completed (END_REQUEST sent by the handler with appStatus 0), aborts
 * (ABORT_REQUEST for an active id), max_inflight (max over connections of
 * concurrent ids on one connection), open connections, get_values
 * (FCGI_GET_VALUES records received), after_abort (requests begun on a
 * connection after an FCGI_ABORT_REQUEST was answered on it, i.e. the
 * server kept using a connection that had an aborted request), cant_mpx
 * (END_REQUEST(FCGI_CANT_MPX_CONN) answers), ignored_aborts
 * (ABORT_REQUEST for an ignore_abort request), strays (stray records
 * sent), cut_off (forever_ms streams stopped because their request or
 * connection went away before the time was up).
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FCGI_VERSION_1           1
#define FCGI_BEGIN_REQUEST       1
#define FCGI_ABORT_REQUEST       2
#define FCGI_END_REQUEST         3
#define FCGI_PARAMS              4
#define FCGI_STDIN               5
#define FCGI_STDOUT              6
#define FCGI_STDERR              7
#define FCGI_DATA                8
#define FCGI_GET_VALUES          9
#define FCGI_GET_VALUES_RESULT  10
#define FCGI_UNKNOWN_TYPE       11

#define FCGI_KEEP_CONN           1
#define FCGI_RESPONDER           1

#define FCGI_REQUEST_COMPLETE    0
#define FCGI_CANT_MPX_CONN       1
#define FCGI_OVERLOADED          2
#define FCGI_UNKNOWN_ROLE        3

#define FCGI_HEADER_LEN          8
#define FCGI_MAX_CONTENT     65535

/* Per-request cap on queued STDIN.  When it is full the connection reader
 * stops reading, which gives the server real back-pressure (early_reply
 * relies on that to expose a server that cannot read while writing). */
#define STDIN_QUEUE_MAX     (1024 * 1024)
#define PARAMS_MAX          (4 * 1024 * 1024)
#define ECHO_MAX            (64 * 1024 * 1024)
#define HDRSIZE_MAX         (16 * 1024 * 1024)
#define COOKIES_MAX         100000
#define MAX_REQS_MPX        1000
#define RBUF_SIZE           65536
#define IOBUF_SIZE          65536
#define PATTERN_SIZE        65536
#define THREAD_STACK        (256 * 1024)
#define HUGE_HEADER_LEN     200000

/* ------------------------------------------------------------------ */
/* Globals and counters                                                */

typedef struct stats_t {
    uint64_t connections;
    uint64_t requests;
    uint64_t completed;
    uint64_t aborts;
    uint64_t max_inflight;
    uint64_t open;
    uint64_t get_values;
    uint64_t after_abort;
    uint64_t cant_mpx;
    uint64_t ignored_aborts;
    uint64_t strays;
    uint64_t cut_off;
} stats_t;

static stats_t *stats;
static int opt_mpx;
enum { GV_ANSWER, GV_IGNORE, GV_CLOSE };
static int opt_gv = GV_ANSWER;
static uint64_t conn_serial;
/* Path of the unix socket we created; read by the signal handler. */
static char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static volatile sig_atomic_t have_unix_path;
/* Byte i of a bytes=N body is pattern[i % 26 + ...]; one table serves any
 * offset because it is 26 bytes longer than the largest slice taken. */
static unsigned char pattern[PATTERN_SIZE + 26];
static pthread_attr_t thread_attr;

static void stat_add(uint64_t *p, int64_t d)
{
    __atomic_add_fetch(p, (uint64_t)d, __ATOMIC_SEQ_CST);
}

static uint64_t stat_get(uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void stat_max(uint64_t *p, uint64_t v)
{
    uint64_t cur = __atomic_load_n(p, __ATOMIC_SEQ_CST);

    while (cur < v) {
        if (__atomic_compare_exchange_n(p, &cur, v, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            break;
        }
    }
}

static void sleep_ms(unsigned long ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    /* An early wake-up from a signal only shortens a poll slice. */
    nanosleep(&ts, NULL);
}

#include "md5.h"

/* ------------------------------------------------------------------ */
/* Growable byte buffer; a failed allocation sticks in ->err so callers
 * can check once at the end instead of after every append.            */

typedef struct sb_t {
    char *p;
    size_t len, cap;
    int err;
} sb_t;

static void sb_put(sb_t *b, const void *data, size_t n)
{
    if (b->err) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *np;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        np = realloc(b->p, cap);
        if (!np) {
            b->err = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    if (n) {
        memcpy(b->p + b->len, data, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sb_t *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(sb_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(sb_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->err = 1;
        return;
    }
    sb_put(b, tmp, (size_t)n);
}

static void sb_fill(sb_t *b, int ch, size_t n)
{
    char tmp[4096];

    memset(tmp, ch, sizeof(tmp));
    while (n > 0 && !b->err) {
        size_t k = n > sizeof(tmp) ? sizeof(tmp) : n;

        sb_put(b, tmp, k);
        n -= k;
    }
}

/* ------------------------------------------------------------------ */
/* Connection and request state                                        */

typedef struct chunk_t {
    struct chunk_t *next;
    size_t len, off;
    unsigned char data[];
} chunk_t;

typedef struct nv_t {
    const unsigned char *name, *value;
    size_t nlen, vlen;
} nv_t;

struct conn_t;

typedef struct req_t {
    struct req_t *next;         /* in conn->reqs while active */
    struct conn_t *conn;
    unsigned int id;
    unsigned int depth;         /* ids active when it began (conninfo) */
    unsigned long long nth;     /* n-th request of the connection */
    int keep_conn;
    int params_done;
    int has_worker;
    int stdin_eof;
    int aborted;                /* atomic: read by sleep loops */
    int ignore_abort;           /* atomic: ABORT_REQUEST is ignored */
    int ended;                  /* END_REQUEST sent; guarded by conn->wmu */
    pthread_cond_t cv;          /* worker waits for STDIN here */
    chunk_t *qhead, *qtail;
    size_t qbytes;
    unsigned char *params;
    size_t plen, pcap;
    nv_t *nv;
    size_t nnv;
    /* Output side, touched by the worker only. */
    unsigned char *wire;        /* serialised records not yet written */
    size_t wlen, wcap;
    int werr;
    unsigned char *ob;          /* STDOUT content not yet in a record */
    size_t oblen;
    size_t maxrec;
    size_t split;
} req_t;

typedef struct conn_t {
    int fd;
    /* mu guards the request table, the STDIN queues and nworkers; wmu
     * serialises whole records onto the socket.  Lock order: wmu, mu. */
    pthread_mutex_t mu;
    pthread_mutex_t wmu;
    pthread_cond_t space_cv;    /* reader waits for queue space */
    pthread_cond_t done_cv;     /* reader waits for workers to leave */
    req_t *reqs;
    unsigned int inflight, max_inflight;
    unsigned int nworkers;
    unsigned long long serial;  /* conninfo: n-th connection accepted */
    unsigned long long nreqs;   /* requests begun on it */
    long peer_pid;              /* SO_PEERCRED on unix sockets, else 0 */
    int had_abort;              /* an ABORT_REQUEST was answered on it */
    /* stray=: sent before the next BEGIN_REQUEST; guarded by wmu. */
    unsigned int stray_id;
    char *stray;
    size_t stray_len;
    int rclosed;                /* atomic: reader saw EOF or error */
    int dead;                   /* atomic: no more writes on fd */
    size_t rpos, rlen;
    unsigned char rbuf[RBUF_SIZE];
    unsigned char content[FCGI_MAX_CONTENT + 1];
} conn_t;

static int is_dead(conn_t *c)
{
    return __atomic_load_n(&c->dead, __ATOMIC_SEQ_CST);
}

static void set_dead(conn_t *c)
{
    __atomic_store_n(&c->dead, 1, __ATOMIC_SEQ_CST);
}

/* A request is gone when it was aborted or the server went away; every
 * sleep or long loop of a handler checks this. */
static int req_gone(req_t *r)
{
    return __atomic_load_n(&r->aborted, __ATOMIC_SEQ_CST)
           || __atomic_load_n(&r->conn->rclosed, __ATOMIC_SEQ_CST)
           || is_dead(r->conn);
}

static req_t *req_find(conn_t *c, unsigned int id)
{
    req_t *r;

    for (r = c->reqs; r; r = r->next) {
        if (r->id == id) {
            return r;
        }
    }
    return NULL;
}

/* Caller holds c->mu.  Returns 1 if r was in the table. */
static int req_unlink(conn_t *c, req_t *r)
{
    req_t **pp;

    for (pp = &c->reqs; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            r->next = NULL;
            c->inflight--;
            /* The reader may be waiting for queue space in r. */
            pthread_cond_broadcast(&c->space_cv);
            return 1;
        }
    }
    return 0;
}

static void req_free(req_t *r)
{
    chunk_t *ch = r->qhead;

    while (ch) {
        chunk_t *n = ch->next;

        free(ch);
        ch = n;
    }
    pthread_cond_destroy(&r->cv);
    free(r->params);
    free(r->nv);
    free(r->wire);
    free(r->ob);
    free(r);
}

/* ------------------------------------------------------------------ */
/* Low level I/O                                                       */

/* Writes everything, retrying short writes and EINTR.  With split, no
 * write() carries more than split bytes and each is followed by ~1 ms,
 * so the server sees the stream cut at arbitrary points. */
static int write_all(int fd, const unsigned char *p, size_t n, size_t split)
{
    while (n > 0) {
        size_t want = n;
        ssize_t k;

        if (split && want > split) {
            want = split;
        }
        k = write(fd, p, want);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += k;
        n -= (size_t)k;
        if (split) {
            sleep_ms(1);
        }
    }
    return 0;
}

static void put_header(unsigned char *h, int version, int type,
                       unsigned int id, size_t clen, size_t plen)
{
    h[0] = (unsigned char)version;
    h[1] = (unsigned char)type;
    h[2] = (unsigned char)(id >> 8);
    h[3] = (unsigned char)id;
    h[4] = (unsigned char)(clen >> 8);
    h[5] = (unsigned char)clen;
    h[6] = (unsigned char)plen;
    h[7] = 0;
}

/* Writes one small record from the reader thread.  Caller holds wmu. */
static int conn_send(conn_t *c, int type, unsigned int id,
                     const unsigned char *data, size_t len)
{
    unsigned char buf[FCGI_HEADER_LEN + 1024 + 8];
    size_t pad = (8 - len % 8) % 8;

    if (is_dead(c) || len > 1024) {
        return -1;
    }
    put_header(buf, FCGI_VERSION_1, type, id, len, pad);
    memcpy(buf + FCGI_HEADER_LEN, data, len);
    memset(buf + FCGI_HEADER_LEN + len, 0, pad);
    if (write_all(c->fd, buf, FCGI_HEADER_LEN + len + pad, 0) < 0) {
        set_dead(c);
        return -1;
    }
    return 0;
}

static void end_body(unsigned char *b, unsigned int app, int proto)
{
    b[0] = (unsigned char)(app >> 24);
    b[1] = (unsigned char)(app >> 16);
    b[2] = (unsigned char)(app >> 8);
    b[3] = (unsigned char)app;
    b[4] = (unsigned char)proto;
    b[5] = b[6] = b[7] = 0;
}

static int conn_send_end(conn_t *c, unsigned int id, unsigned int app,
                         int proto)
{
    unsigned char b[8];

    end_body(b, app, proto);
    return conn_send(c, FCGI_END_REQUEST, id, b, sizeof(b));
}

/* ------------------------------------------------------------------ */
/* Worker output: records are assembled in r->wire and written whole
 * under wmu so requests sharing a connection never interleave inside a
 * record.                                                              */

static void wire_raw(req_t *r, const void *data, size_t n)
{
    if (r->werr) {
        return;
    }
    if (r->wlen + n > r->wcap) {
        size_t cap = r->wcap ? r->wcap : 4096;
        unsigned char *np;

        while (cap < r->wlen + n) {
            cap *= 2;
        }
        np = realloc(r->wire, cap);
        if (!np) {
            r->werr = 1;
            return;
        }
        r->wire = np;
        r->wcap = cap;
    }
    memcpy(r->wire + r->wlen, data, n);
    r->wlen += n;
}

/* Appends one record; len must be <= 65535.  version is a parameter only
 * so that malformed=version can lie about it. */
static void wire_record(req_t *r, int version, int type, unsigned int id,
                        const void *data, size_t len)
{
    static const unsigned char zeros[8];
    unsigned char h[FCGI_HEADER_LEN];
    size_t pad = (8 - len % 8) % 8;

    put_header(h, version, type, id, len, pad);
    wire_raw(r, h, sizeof(h));
    if (len) {
        wire_raw(r, data, len);
    }
    wire_raw(r, zeros, pad);
}

/* Appends a stream as as many records as maxrec requires. */
static void wire_stream(req_t *r, int type, const void *data, size_t len)
{
    const unsigned char *p = data;

    while (len > 0) {
        size_t k = len > r->maxrec ? r->maxrec : len;

        wire_record(r, FCGI_VERSION_1, type, r->id, p, k);
        p += k;
        len -= k;
    }
}

static int wire_send(req_t *r)
{
    conn_t *c = r->conn;
    int rc = 0;

    if (r->werr) {
        return -1;
    }
    if (r->wlen == 0) {
        return 0;
    }
    pthread_mutex_lock(&c->wmu);
    /* ended means the reader already answered an ABORT_REQUEST: nothing
     * more may be sent for this id. */
    if (r->ended || is_dead(c)) {
        rc = -1;
    }
    else if (write_all(c->fd, r->wire, r->wlen, r->split) < 0) {
        set_dead(c);
        rc = -1;
    }
    pthread_mutex_unlock(&c->wmu);
    r->wlen = 0;
    return rc;
}

static int out_flush(req_t *r)
{
    if (r->oblen) {
        wire_record(r, FCGI_VERSION_1, FCGI_STDOUT, r->id, r->ob, r->oblen);
        r->oblen = 0;
    }
    return wire_send(r);
}

/* Coalesces STDOUT so that small pieces share a record while a full
 * record goes out as soon as it is complete. */
static int out_write(req_t *r, const void *data, size_t n)
{
    const unsigned char *p = data;

    while (n > 0) {
        size_t k = r->maxrec - r->oblen;

        if (k > n) {
            k = n;
        }
        memcpy(r->ob + r->oblen, p, k);
        r->oblen += k;
        p += k;
        n -= k;
        if (r->oblen == r->maxrec && out_flush(r) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Simulates the app dying mid-response while keeping the process up. */
static void conn_crash(req_t *r)
{
    conn_t *c = r->conn;

    pthread_mutex_lock(&c->wmu);
    set_dead(c);
    /* The reader wakes up with EOF and closes the descriptor once every
     * worker has left, so no thread can write to a recycled fd. */
    shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&c->wmu);
}

/* Ends the request: pending STDOUT, optionally the empty STDOUT, and
 * END_REQUEST in one write. */
static int req_finish(req_t *r, int stdout_eos)
{
    conn_t *c = r->conn;
    unsigned char b[8];
    int rc = -1, mine = 0;

    if (r->oblen) {
        wire_record(r, FCGI_VERSION_1, FCGI_STDOUT, r->id, r->ob, r->oblen);
        r->oblen = 0;
    }
    if (stdout_eos) {
        wire_record(r, FCGI_VERSION_1, FCGI_STDOUT, r->id, NULL, 0);
    }
    end_body(b, 0, FCGI_REQUEST_COMPLETE);
    wire_record(r, FCGI_VERSION_1, FCGI_END_REQUEST, r->id, b, sizeof(b));
    if (r->werr) {
        return -1;
    }

    pthread_mutex_lock(&c->wmu);
    pthread_mutex_lock(&c->mu);
    if (!r->ended && !is_dead(c)) {
        /* Leave the table before the server can see END_REQUEST: it may
         * reuse the id at once. */
        r->ended = 1;
        req_unlink(c, r);
        mine = 1;
    }
    pthread_mutex_unlock(&c->mu);
    if (mine) {
        if (write_all(c->fd, r->wire, r->wlen, r->split) < 0) {
            set_dead(c);
        }
        else {
            rc = 0;
            if (!r->keep_conn) {
                set_dead(c);
                shutdown(c->fd, SHUT_RDWR);
            }
        }
    }
    pthread_mutex_unlock(&c->wmu);
    r->wlen = 0;
    if (rc == 0) {
        stat_add(&stats->completed, 1);
    }
    return rc;
}

/* Sleeps in short slices so that an abort is noticed quickly. */
static int nap(req_t *r, unsigned long long ms)
{
    while (ms > 0) {
        unsigned long step = ms > 10 ? 10 : (unsigned long)ms;

        if (req_gone(r)) {
            return -1;
        }
        sleep_ms(step);
        ms -= step;
    }
    return req_gone(r) ? -1 : 0;
}

/* Reads STDIN: >0 bytes, 0 at the end of the stream, -1 if the request
 * was aborted or the connection went away. */
static ssize_t req_read(req_t *r, unsigned char *buf, size_t n)
{
    conn_t *c = r->conn;
    size_t got = 0;

    pthread_mutex_lock(&c->mu);
    while (!r->qhead && !r->stdin_eof && !r->aborted && !c->rclosed) {
        pthread_cond_wait(&r->cv, &c->mu);
    }
    if (r->aborted || (!r->qhead && !r->stdin_eof)) {
        pthread_mutex_unlock(&c->mu);
        return -1;
    }
    while (r->qhead && got < n) {
        chunk_t *ch = r->qhead;
        size_t k = ch->len - ch->off;

        if (k > n - got) {
            k = n - got;
        }
        memcpy(buf + got, ch->data + ch->off, k);
        ch->off += k;
        got += k;
        if (ch->off == ch->len) {
            r->qhead = ch->next;
            if (!r->qhead) {
                r->qtail = NULL;
            }
            free(ch);
        }
    }
    r->qbytes -= got;
    pthread_cond_broadcast(&c->space_cv);
    pthread_mutex_unlock(&c->mu);
    return (ssize_t)got;
}

/* ------------------------------------------------------------------ */
/* Query string                                                        */

enum { CRASH_NONE, CRASH_BEFORE, CRASH_AFTER, CRASH_MID, CRASH_EXIT };

enum {
    MAL_NONE, MAL_VERSION, MAL_TYPE, MAL_RID, MAL_END_BEFORE_HEADERS,
    MAL_TRUNC_HEADER, MAL_TRUNC_RECORD, MAL_BAD_HEADER, MAL_BEGIN,
    MAL_HUGE_HEADER, MAL_NUL_HEADER
};

typedef struct opts_t {
    int env, digest, stats, echo, early, has_bytes, has_hts, conninfo;
    int ignore_abort;
    unsigned long long stderr_lines, stderr_len, forever_ms;
    sb_t stderr_tag, crash_once, stray;
    unsigned long long bytes, chunk, delay_ms, sleep_ms, hts_ms, split, rec;
    unsigned long long cookies, hdrsize, hdr_pad;
    unsigned int status;
    sb_t location;
    int has_location;
    sb_t hdrs, nph, interim;
    int has_nph;
    unsigned long long interim_ms;
    sb_t errtext;
    int has_stderr;
    int crash;
    int malformed;
} opts_t;

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Decodes %XX and '+'; a '%' not followed by two hex digits stays. */
static void url_decode(sb_t *out, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char ch = s[i];

        if (ch == '+') {
            ch = ' ';
        }
        else if (ch == '%' && i + 2 < n
                 && hexval((unsigned char)s[i + 1]) >= 0
                 && hexval((unsigned char)s[i + 2]) >= 0) {
            ch = (char)(hexval((unsigned char)s[i + 1]) * 16
                        + hexval((unsigned char)s[i + 2]));
            i += 2;
        }
        sb_put(out, &ch, 1);
    }
}

static unsigned long long num(const sb_t *v)
{
    return v->p ? strtoull(v->p, NULL, 10) : 0;
}

/* One query parameter NAME=VALUE: the handler of NAME in opt_table sets
 * its option (s: the value as a string, "" when there is none). */
typedef void (*opt_fn)(opts_t *o, const char *s, sb_t *v);

#define OPT_FLAG(name, field)                                       \
    static void opt_##name(opts_t *o, const char *s, sb_t *v)       \
    {                                                               \
        (void)s;                                                    \
        (void)v;                                                    \
        o->field = 1;                                               \
    }
#define OPT_NUM(name, field)                                        \
    static void opt_##name(opts_t *o, const char *s, sb_t *v)       \
    {                                                               \
        (void)s;                                                    \
        o->field = num(v);                                          \
    }
#define OPT_TEXT(name, field)                                       \
    static void opt_##name(opts_t *o, const char *s, sb_t *v)       \
    {                                                               \
        o->field.len = 0;                                           \
        sb_put(&o->field, s, v->len);                               \
    }

OPT_FLAG(env, env)
OPT_FLAG(digest, digest)
OPT_FLAG(stats, stats)
OPT_FLAG(conninfo, conninfo)
OPT_FLAG(echo_stdin, echo)
OPT_FLAG(early_reply, early)
OPT_FLAG(ignore_abort, ignore_abort)
OPT_NUM(chunk, chunk)
OPT_NUM(delay_ms, delay_ms)
OPT_NUM(sleep_ms, sleep_ms)
OPT_NUM(split, split)
OPT_NUM(rec, rec)
OPT_NUM(cookies, cookies)
OPT_NUM(hdrsize, hdrsize)
OPT_NUM(hdr_pad, hdr_pad)
OPT_NUM(stderr_lines, stderr_lines)
OPT_NUM(stderr_len, stderr_len)
OPT_TEXT(stderr_tag, stderr_tag)
OPT_TEXT(crash_once, crash_once)
OPT_TEXT(stray, stray)

static void opt_bytes(opts_t *o, const char *s, sb_t *v)
{
    (void)s;
    o->has_bytes = 1;
    o->bytes = num(v);
}

static void opt_headers_then_sleep(opts_t *o, const char *s, sb_t *v)
{
    (void)s;
    o->has_hts = 1;
    o->hts_ms = num(v);
}

static void opt_status(opts_t *o, const char *s, sb_t *v)
{
    (void)s;
    o->status = (unsigned int)(num(v) % 1000);
}

static void opt_location(opts_t *o, const char *s, sb_t *v)
{
    o->has_location = 1;
    o->location.len = 0;
    sb_put(&o->location, s, v->len);
}

static void opt_hdr(opts_t *o, const char *s, sb_t *v)
{
    sb_put(&o->hdrs, s, v->len);
    sb_str(&o->hdrs, "\r\n");
}

static void opt_nph(opts_t *o, const char *s, sb_t *v)
{
    o->has_nph = 1;
    o->nph.len = 0;
    sb_put(&o->nph, s, v->len);
}

static void opt_interim(opts_t *o, const char *s, sb_t *v)
{
    sb_put(&o->interim, s, v->len);
    sb_str(&o->interim, "\r\n\r\n");
}

static void opt_interim_ms(opts_t *o, const char *s, sb_t *v)
{
    (void)s;
    o->interim_ms = num(v);
}

static void opt_stderr(opts_t *o, const char *s, sb_t *v)
{
    o->has_stderr = 1;
    o->errtext.len = 0;
    sb_put(&o->errtext, s, v->len);
}

static void opt_forever_ms(opts_t *o, const char *s, sb_t *v)
{
    (void)s;
    o->forever_ms = num(v);
    if (o->forever_ms > 60000) {
        o->forever_ms = 60000;
    }
}

static void opt_crash(opts_t *o, const char *s, sb_t *v)
{
    (void)v;
    o->crash = !strcmp(s, "before_headers") ? CRASH_BEFORE
               : !strcmp(s, "after_headers") ? CRASH_AFTER
               : !strcmp(s, "mid_body") ? CRASH_MID
               : !strcmp(s, "exit") ? CRASH_EXIT : CRASH_NONE;
}

static void opt_malformed(opts_t *o, const char *s, sb_t *v)
{
    static const char *const kinds[] = {
        "", "version", "type", "rid", "end_before_headers",
        "truncated_header", "truncated_record", "bad_header",
        "begin_from_app", "huge_header", "nul_header"
    };
    size_t i;

    (void)v;
    o->malformed = MAL_NONE;
    for (i = 1; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (!strcmp(s, kinds[i])) {
            o->malformed = (int)i;
        }
    }
}

/* The query modes (t/lib/FcgixTest.pm lists the contract). */
static const struct {
    const char *name;
    opt_fn set;
} opt_table[] = {
    { "env", opt_env },
    { "digest", opt_digest },
    { "stats", opt_stats },
    { "conninfo", opt_conninfo },
    { "echo_stdin", opt_echo_stdin },
    { "early_reply", opt_early_reply },
    { "bytes", opt_bytes },
    { "chunk", opt_chunk },
    { "delay_ms", opt_delay_ms },
    { "sleep_ms", opt_sleep_ms },
    { "headers_then_sleep", opt_headers_then_sleep },
    { "split", opt_split },
    { "rec", opt_rec },
    { "cookies", opt_cookies },
    { "hdrsize", opt_hdrsize },
    { "status", opt_status },
    { "location", opt_location },
    { "hdr", opt_hdr },
    { "hdr_pad", opt_hdr_pad },
    { "nph", opt_nph },
    { "interim", opt_interim },
    { "interim_ms", opt_interim_ms },
    { "stderr", opt_stderr },
    { "stderr_lines", opt_stderr_lines },
    { "stderr_len", opt_stderr_len },
    { "stderr_tag", opt_stderr_tag },
    { "forever_ms", opt_forever_ms },
    { "ignore_abort", opt_ignore_abort },
    { "crash_once", opt_crash_once },
    { "stray", opt_stray },
    { "crash", opt_crash },
    { "malformed", opt_malformed },
};

static void opts_set(opts_t *o, const char *k, sb_t *v)
{
    const char *s = v->p ? v->p : "";
    size_t i;

    for (i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++) {
        if (!strcmp(k, opt_table[i].name)) {
            opt_table[i].set(o, s, v);
            return;
        }
    }
}

static const nv_t *param_get(req_t *r, const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; i < r->nnv; i++) {
        if (r->nv[i].nlen == n && !memcmp(r->nv[i].name, name, n)) {
            return &r->nv[i];
        }
    }
    return NULL;
}

static void opts_parse(req_t *r, opts_t *o)
{
    const nv_t *qs = param_get(r, "QUERY_STRING");
    const char *s, *end;

    memset(o, 0, sizeof(*o));
    if (!qs) {
        return;
    }
    s = (const char *)qs->value;
    end = s + qs->vlen;
    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(pe - s));
        sb_t k = { 0 }, v = { 0 };

        url_decode(&k, s, (size_t)((eq ? eq : pe) - s));
        if (eq) {
            url_decode(&v, eq + 1, (size_t)(pe - eq - 1));
        }
        if (k.p && !k.err && !v.err) {
            opts_set(o, k.p, &v);
        }
        free(k.p);
        free(v.p);
        s = pe + 1;
    }
}

/* ------------------------------------------------------------------ */
/* Request handler (one thread per request)                            */

static const char *reason(unsigned int code)
{
    switch (code) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 418: return "I'm a teapot";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default:  return "Some Text";
    }
}

static int nv_cmp(const void *a, const void *b)
{
    const nv_t *x = *(const nv_t *const *)a, *y = *(const nv_t *const *)b;
    size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
    int d = memcmp(x->name, y->name, n);

    if (d) {
        return d;
    }
    return x->nlen < y->nlen ? -1 : x->nlen > y->nlen ? 1 : 0;
}

typedef struct body_t {
    req_t *r;
    unsigned long long total;   /* known in advance for mid_body */
    unsigned long long done;
    int crash_mid;
} body_t;

/* Writes body bytes; with crash=mid_body it stops after half the body and
 * kills the connection.  Returns -1 whenever the handler must stop. */
static int body_write(body_t *b, const void *data, size_t n)
{
    if (b->crash_mid) {
        unsigned long long half = (b->total + 1) / 2;
        unsigned long long room = half - b->done;

        if (n >= room) {
            if (out_write(b->r, data, (size_t)room) == 0
                && out_flush(b->r) == 0) {
                conn_crash(b->r);
            }
            return -1;
        }
    }
    b->done += n;
    return out_write(b->r, data, n);
}

/* Streams bytes [off, off+n) of the a..z pattern. */
static int body_pattern(body_t *b, unsigned long long off,
                        unsigned long long n)
{
    while (n > 0) {
        size_t k = n > PATTERN_SIZE ? PATTERN_SIZE : (size_t)n;

        if (req_gone(b->r)
            || body_write(b, pattern + off % 26, k) < 0) {
            return -1;
        }
        off += k;
        n -= k;
    }
    return 0;
}

static int drain_stdin(req_t *r, unsigned char *buf)
{
    ssize_t k;

    while ((k = req_read(r, buf, IOBUF_SIZE)) > 0) {
    }
    return k < 0 ? -1 : 0;
}

static int do_malformed(req_t *r, int kind)
{
    static const char hdr[] = "Content-Type: text/plain\r\n\r\n";
    static const char bad[] = "this is not a header line\r\n\r\nbody";
    static const char nul[] = "Content-Type: text/plain\r\n"
                              "X-Nul: a\0b\r\n\r\nnul\n";
    unsigned char h[FCGI_HEADER_LEN];
    sb_t sb = { 0 };
    int rc = -1;

    switch (kind) {
    case MAL_VERSION:
        sb_str(&sb, hdr);
        sb_str(&sb, "bad version\n");
        wire_record(r, 2, FCGI_STDOUT, r->id, sb.p, sb.len);
        rc = wire_send(r) < 0 ? -1 : req_finish(r, 1);
        break;
    case MAL_TYPE:
        wire_record(r, FCGI_VERSION_1, 99, r->id, "junk", 4);
        sb_str(&sb, hdr);
        sb_str(&sb, "bad type\n");
        wire_stream(r, FCGI_STDOUT, sb.p, sb.len);
        rc = wire_send(r) < 0 ? -1 : req_finish(r, 1);
        break;
    case MAL_RID:
        sb_str(&sb, hdr);
        sb_str(&sb, "bad rid\n");
        /* Never 0: that would turn it into a management record. */
        wire_record(r, FCGI_VERSION_1, FCGI_STDOUT, r->id % 65535 + 1,
                    sb.p, sb.len);
        rc = wire_send(r) < 0 ? -1 : req_finish(r, 1);
        break;
    case MAL_END_BEFORE_HEADERS:
        rc = req_finish(r, 0);
        break;
    case MAL_TRUNC_HEADER:
        wire_stream(r, FCGI_STDOUT, "Content-Type: text/plain\r\n", 26);
        if (wire_send(r) == 0) {
            conn_crash(r);
        }
        break;
    case MAL_TRUNC_RECORD:
        put_header(h, FCGI_VERSION_1, FCGI_STDOUT, r->id, 100, 4);
        wire_raw(r, h, sizeof(h));
        wire_raw(r, "Content-Ty", 10);
        if (wire_send(r) == 0) {
            conn_crash(r);
        }
        break;
    case MAL_BAD_HEADER:
        rc = out_write(r, bad, sizeof(bad) - 1);
        rc = rc < 0 ? -1 : req_finish(r, 1);
        break;
    case MAL_BEGIN:
        memset(h, 0, sizeof(h));
        h[1] = FCGI_RESPONDER;
        wire_record(r, FCGI_VERSION_1, FCGI_BEGIN_REQUEST, r->id, h, 8);
        sb_str(&sb, hdr);
        sb_str(&sb, "begin\n");
        wire_stream(r, FCGI_STDOUT, sb.p, sb.len);
        rc = wire_send(r) < 0 ? -1 : req_finish(r, 1);
        break;
    case MAL_HUGE_HEADER:
        sb_str(&sb, "Content-Type: text/plain\r\nX-Big: ");
        sb_fill(&sb, 'x', HUGE_HEADER_LEN);
        sb_str(&sb, "\r\n\r\nhuge\n");
        if (!sb.err && out_write(r, sb.p, sb.len) == 0) {
            rc = req_finish(r, 1);
        }
        break;
    case MAL_NUL_HEADER:
        rc = out_write(r, nul, sizeof(nul) - 1);
        rc = rc < 0 ? -1 : req_finish(r, 1);
        break;
    }
    free(sb.p);
    return rc;
}

/* crash_once: 1 the first time this process sees @p tok, else 0. */
static int first_sighting(const sb_t *tok)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char *seen[256];
    static size_t nseen;
    size_t i;
    int first = 1;

    pthread_mutex_lock(&mu);
    for (i = 0; i < nseen && first; i++) {
        if (!strcmp(seen[i], tok->p)) {
            first = 0;
        }
    }
    if (first && nseen < sizeof(seen) / sizeof(seen[0])) {
        seen[nseen] = strdup(tok->p);
        if (seen[nseen]) {
            nseen++;
        }
    }
    pthread_mutex_unlock(&mu);
    return first;
}

/* stderr_lines: the flood, as few records as maxrec allows. */
static int stderr_flood(req_t *r, const opts_t *o)
{
    const char *tag = o->stderr_tag.p ? o->stderr_tag.p : "flood";
    size_t len = o->stderr_len ? (size_t)o->stderr_len : 64;
    unsigned long long i;
    sb_t b = { 0 };
    int rc;

    for (i = 0; i < o->stderr_lines && !b.err; i++) {
        size_t start = b.len;

        sb_printf(&b, "%s line %llu ", tag, i + 1);
        if (b.len - start + 1 < len) {
            sb_fill(&b, 'e', len - (b.len - start) - 1);
        }
        sb_put(&b, "\n", 1);
    }
    if (b.err) {
        free(b.p);
        return -1;
    }
    wire_stream(r, FCGI_STDERR, b.p, b.len);
    free(b.p);
    rc = wire_send(r);
    return rc;
}

static unsigned long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000
           + (unsigned long long)ts.tv_nsec / 1000000;
}

static void handle(req_t *r)
{
    opts_t o;
    md5_ctx_t md5;
    unsigned long long dlen = 0, i;
    unsigned char *io = NULL;
    sb_t echo = { 0 }, hdr = { 0 }, text = { 0 };
    body_t b;
    ssize_t k;
    int octet, late_stdin;

    opts_parse(r, &o);
    if (o.ignore_abort) {
        __atomic_store_n(&r->ignore_abort, 1, __ATOMIC_SEQ_CST);
    }
    if (o.forever_ms) {
        o.has_bytes = 1;
        o.bytes = ~0ULL >> 2;
    }
    r->split = (size_t)o.split;
    r->maxrec = (o.split && o.split < FCGI_MAX_CONTENT)
                ? (size_t)o.split : FCGI_MAX_CONTENT;
    if (o.rec && o.rec < r->maxrec) {
        r->maxrec = (size_t)o.rec;
    }
    r->ob = malloc(r->maxrec);
    io = malloc(IOBUF_SIZE);
    if (!r->ob || !io || o.location.err || o.errtext.err
        || o.stderr_tag.err || o.crash_once.err || o.stray.err) {
        conn_crash(r);
        goto done;
    }

    /* STDIN first unless early_reply, which is pointless for bodies that
     * are computed from STDIN. */
    late_stdin = o.early && !o.digest && !o.echo && !o.stats;
    md5_init(&md5);
    if (!late_stdin) {
        while ((k = req_read(r, io, IOBUF_SIZE)) > 0) {
            dlen += (unsigned long long)k;
            if (o.digest) {
                md5_update(&md5, io, (size_t)k);
            }
            else if (o.echo && echo.len + (size_t)k <= ECHO_MAX) {
                sb_put(&echo, io, (size_t)k);
            }
        }
        if (k < 0 || echo.err) {
            goto done;
        }
    }

    if (o.sleep_ms && nap(r, o.sleep_ms) < 0) {
        goto done;
    }
    if (o.crash == CRASH_EXIT) {
        _exit(3);
    }
    if (o.has_stderr) {
        wire_stream(r, FCGI_STDERR, o.errtext.p, o.errtext.len);
        wire_record(r, FCGI_VERSION_1, FCGI_STDERR, r->id, NULL, 0);
        if (wire_send(r) < 0) {
            goto done;
        }
    }
    if (o.stderr_lines && stderr_flood(r, &o) < 0) {
        goto done;
    }
    if (o.crash_once.p && first_sighting(&o.crash_once)) {
        o.crash = CRASH_BEFORE;
    }
    if (o.crash == CRASH_BEFORE) {
        conn_crash(r);
        goto done;
    }
    if (o.malformed) {
        if (late_stdin && drain_stdin(r, io) < 0) {
            goto done;
        }
        do_malformed(r, o.malformed);
        goto done;
    }

    /* Body text for every mode that is not streamed. */
    if (o.stats) {
        sb_printf(&text, "connections=%llu requests=%llu completed=%llu "
                  "aborts=%llu max_inflight=%llu open=%llu "
                  "get_values=%llu after_abort=%llu cant_mpx=%llu "
                  "ignored_aborts=%llu strays=%llu cut_off=%llu\n",
                  (unsigned long long)stat_get(&stats->connections),
                  (unsigned long long)stat_get(&stats->requests),
                  (unsigned long long)stat_get(&stats->completed),
                  (unsigned long long)stat_get(&stats->aborts),
                  (unsigned long long)stat_get(&stats->max_inflight),
                  (unsigned long long)stat_get(&stats->open),
                  (unsigned long long)stat_get(&stats->get_values),
                  (unsigned long long)stat_get(&stats->after_abort),
                  (unsigned long long)stat_get(&stats->cant_mpx),
                  (unsigned long long)stat_get(&stats->ignored_aborts),
                  (unsigned long long)stat_get(&stats->strays),
                  (unsigned long long)stat_get(&stats->cut_off));
    }
    else if (o.digest) {
        const nv_t *cl = param_get(r, "CONTENT_LENGTH");
        char hex[33];

        md5_hex(&md5, hex);
        sb_printf(&text, "len=%llu md5=%s\ncontent_length=", dlen, hex);
        if (cl) {
            sb_put(&text, cl->value, cl->vlen);
        }
        else {
            sb_str(&text, "-");
        }
        sb_str(&text, "\n");
    }
    else if (o.echo || o.has_bytes || o.has_hts) {
        /* streamed or stored elsewhere */
    }
    else if (o.status && !o.env) {
        sb_printf(&text, "status %u\n", o.status);
    }
    else if (o.has_location && !o.env) {
        /* empty body */
    }
    else {
        const nv_t **v = malloc((r->nnv + 1) * sizeof(*v));

        if (!v) {
            conn_crash(r);
            goto done;
        }
        for (i = 0; i < r->nnv; i++) {
            v[i] = &r->nv[i];
        }
        qsort(v, r->nnv, sizeof(*v), nv_cmp);
        for (i = 0; i < r->nnv; i++) {
            sb_put(&text, v[i]->name, v[i]->nlen);
            sb_put(&text, "=", 1);
            sb_put(&text, v[i]->value, v[i]->vlen);
            sb_put(&text, "\n", 1);
        }
        free(v);
    }

    octet = !o.stats && !o.digest && (o.echo || o.has_bytes);
    if (o.has_nph) {
        sb_str(&hdr, "HTTP/1.1 ");
        sb_put(&hdr, o.nph.p, o.nph.len);
        sb_str(&hdr, "\r\n");
    }
    if (o.status) {
        sb_printf(&hdr, "Status: %03u %s\r\n", o.status, reason(o.status));
    }
    if (o.has_location) {
        sb_str(&hdr, "Location: ");
        sb_put(&hdr, o.location.p, o.location.len);
        sb_str(&hdr, "\r\n");
    }
    sb_str(&hdr, octet ? "Content-Type: application/octet-stream\r\n"
                       : "Content-Type: text/plain\r\n");
    if (o.cookies > COOKIES_MAX) {
        o.cookies = COOKIES_MAX;
    }
    for (i = 1; i <= o.cookies; i++) {
        sb_printf(&hdr, "Set-Cookie: c%llu=v%llu\r\n", i, i);
    }
    if (o.conninfo) {
        sb_printf(&hdr, "X-Fcgix-Conn: %llu\r\nX-Fcgix-Pid: %ld\r\n"
                  "X-Fcgix-Rid: %u\r\nX-Fcgix-Depth: %u\r\n"
                  "X-Fcgix-Conn-Req: %llu\r\nX-Fcgix-Peer: %ld\r\n",
                  r->conn->serial, (long)getpid(), r->id, r->depth, r->nth,
                  r->conn->peer_pid);
    }
    if (o.hdrsize) {
        sb_str(&hdr, "X-Big: ");
        sb_fill(&hdr, 'x', o.hdrsize > HDRSIZE_MAX ? HDRSIZE_MAX
                                                   : (size_t)o.hdrsize);
        sb_str(&hdr, "\r\n");
    }
    if (o.hdrs.len) {
        /* hdr_pad goes before the last line's CRLF. */
        sb_put(&hdr, o.hdrs.p, o.hdrs.len - 2);
        sb_fill(&hdr, 'x', o.hdr_pad > HDRSIZE_MAX ? HDRSIZE_MAX
                                                   : (size_t)o.hdr_pad);
        sb_str(&hdr, "\r\n");
    }
    sb_str(&hdr, "\r\n");
    if (hdr.err || text.err || o.hdrs.err || o.nph.err || o.interim.err) {
        conn_crash(r);
        goto done;
    }
    if (o.interim.len) {
        if (out_write(r, o.interim.p, o.interim.len) < 0
            || out_flush(r) < 0 || nap(r, o.interim_ms) < 0) {
            goto done;
        }
    }

    if (out_write(r, hdr.p, hdr.len) < 0) {
        goto done;
    }
    if (o.crash == CRASH_AFTER) {
        if (out_flush(r) == 0) {
            conn_crash(r);
        }
        goto done;
    }

    b.r = r;
    b.done = 0;
    b.crash_mid = o.crash == CRASH_MID;
    if (o.stats || o.digest || !(o.echo || o.has_bytes || o.has_hts)) {
        b.total = text.len;
        if (b.total == 0 && b.crash_mid) {
            out_flush(r);
            conn_crash(r);
            goto done;
        }
        if (text.len && body_write(&b, text.p, text.len) < 0) {
            goto done;
        }
    }
    else if (o.echo) {
        b.total = echo.len;
        if (b.total == 0 && b.crash_mid) {
            out_flush(r);
            conn_crash(r);
            goto done;
        }
        if (echo.len && body_write(&b, echo.p, echo.len) < 0) {
            goto done;
        }
    }
    else if (o.has_bytes) {
        unsigned long long chunk = o.chunk ? o.chunk : 65536, off = 0;
        unsigned long long until = o.forever_ms ? now_ms() + o.forever_ms
                                                : 0;

        b.total = o.bytes;
        if (b.total == 0 && b.crash_mid) {
            out_flush(r);
            conn_crash(r);
            goto done;
        }
        while (off < o.bytes) {
            unsigned long long n = o.bytes - off;

            if (n > chunk) {
                n = chunk;
            }
            if (body_pattern(&b, off, n) < 0) {
                goto cut;
            }
            off += n;
            if (until && now_ms() >= until) {
                break;
            }
            /* Without a delay the batches only matter to the caller, and
             * leaving a partial record pending keeps records full. */
            if (o.delay_ms && off < o.bytes) {
                if (out_flush(r) < 0 || nap(r, o.delay_ms) < 0) {
                    goto cut;
                }
            }
        }
    }
    else {
        b.total = 11;
        if (body_write(&b, "first\n", 6) < 0 || out_flush(r) < 0
            || nap(r, o.hts_ms) < 0 || body_write(&b, "last\n", 5) < 0) {
            goto done;
        }
    }

    if (late_stdin) {
        /* Flush first: the point of early_reply is that the server gets
         * the whole response while it is still sending STDIN. */
        if (out_flush(r) < 0 || drain_stdin(r, io) < 0) {
            goto done;
        }
    }
    if (o.stray.p) {
        conn_t *c = r->conn;
        char *t = malloc(o.stray.len + 1);

        if (t) {
            memcpy(t, o.stray.p, o.stray.len);
            /* Armed before END_REQUEST goes out: the next BEGIN_REQUEST
             * can only follow it. */
            pthread_mutex_lock(&c->wmu);
            free(c->stray);
            c->stray = t;
            c->stray_len = o.stray.len;
            c->stray_id = r->id;
            pthread_mutex_unlock(&c->wmu);
        }
    }
    req_finish(r, 1);
    goto done;

cut:
    if (o.forever_ms) {
        stat_add(&stats->cut_off, 1);
    }
done:
    free(io);
    free(echo.p);
    free(hdr.p);
    free(text.p);
    free(o.location.p);
    free(o.hdrs.p);
    free(o.nph.p);
    free(o.interim.p);
    free(o.errtext.p);
    free(o.stderr_tag.p);
    free(o.crash_once.p);
    free(o.stray.p);
}

static void *worker_main(void *arg)
{
    req_t *r = arg;
    conn_t *c = r->conn;

    handle(r);
    pthread_mutex_lock(&c->mu);
    req_unlink(c, r);
    c->nworkers--;
    pthread_cond_broadcast(&c->done_cv);
    pthread_mutex_unlock(&c->mu);
    /* c may be freed from here on; r is ours alone. */
    req_free(r);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Connection reader                                                   */

enum { REC_OK = 0, REC_CLOSE = -1 };

static int rd_exact(conn_t *c, unsigned char *dst, size_t n)
{
    while (n > 0) {
        size_t k;

        if (c->rpos == c->rlen) {
            ssize_t got = read(c->fd, c->rbuf, sizeof(c->rbuf));

            if (got < 0 && errno == EINTR) {
                continue;
            }
            if (got <= 0) {
                return -1;
            }
            c->rpos = 0;
            c->rlen = (size_t)got;
        }
        k = c->rlen - c->rpos;
        if (k > n) {
            k = n;
        }
        if (dst) {
            memcpy(dst, c->rbuf + c->rpos, k);
            dst += k;
        }
        c->rpos += k;
        n -= k;
    }
    return 0;
}

/* Parses one name-value length (1 or 4 bytes). */
static int nv_len(const unsigned char *p, size_t n, size_t *pos, size_t *len)
{
    if (*pos >= n) {
        return -1;
    }
    if (p[*pos] & 0x80) {
        if (n - *pos < 4) {
            return -1;
        }
        *len = ((size_t)(p[*pos] & 0x7f) << 24) | ((size_t)p[*pos + 1] << 16)
               | ((size_t)p[*pos + 2] << 8) | p[*pos + 3];
        *pos += 4;
    }
    else {
        *len = p[*pos];
        *pos += 1;
    }
    return 0;
}

/* Splits name-value pairs; when out is NULL only counts them.  Returns the
 * number of pairs or -1 if the stream is malformed. */
static long nv_parse(const unsigned char *p, size_t n, nv_t *out)
{
    size_t pos = 0;
    long cnt = 0;

    while (pos < n) {
        size_t nl, vl;

        if (nv_len(p, n, &pos, &nl) < 0 || nv_len(p, n, &pos, &vl) < 0
            || nl > n - pos || vl > n - pos - nl) {
            return -1;
        }
        if (out) {
            out[cnt].name = p + pos;
            out[cnt].nlen = nl;
            out[cnt].value = p + pos + nl;
            out[cnt].vlen = vl;
        }
        pos += nl + vl;
        cnt++;
    }
    return cnt;
}

static void nv_put(sb_t *b, const char *name, const char *value)
{
    unsigned char l[2];

    l[0] = (unsigned char)strlen(name);
    l[1] = (unsigned char)strlen(value);
    sb_put(b, l, 2);
    sb_str(b, name);
    sb_str(b, value);
}

static int on_get_values(conn_t *c, size_t clen)
{
    long n = nv_parse(c->content, clen, NULL), i;
    nv_t *nv;
    sb_t b = { 0 };
    int rc = REC_CLOSE;

    if (n < 0 || !(nv = malloc(((size_t)n + 1) * sizeof(*nv)))) {
        return REC_CLOSE;
    }
    nv_parse(c->content, clen, nv);
    for (i = 0; i < n; i++) {
        static const char *const names[] = {
            "FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"
        };
        const char *vals[3];
        int j;

        vals[0] = "1000";
        vals[1] = opt_mpx ? "1000" : "1";
        vals[2] = opt_mpx ? "1" : "0";
        for (j = 0; j < 3; j++) {
            if (nv[i].nlen == strlen(names[j])
                && !memcmp(nv[i].name, names[j], nv[i].nlen)) {
                nv_put(&b, names[j], vals[j]);
            }
        }
    }
    free(nv);
    if (!b.err && b.len <= 1024) {
        pthread_mutex_lock(&c->wmu);
        rc = conn_send(c, FCGI_GET_VALUES_RESULT, 0,
                       (unsigned char *)(b.p ? b.p : ""), b.len) < 0
             ? REC_CLOSE : REC_OK;
        pthread_mutex_unlock(&c->wmu);
    }
    free(b.p);
    return rc;
}

static int on_begin(conn_t *c, unsigned int id, size_t clen)
{
    unsigned int role;
    int flags, proto = -1, rc = REC_OK;
    req_t *r;

    if (clen < 8) {
        return REC_CLOSE;
    }
    role = (unsigned int)c->content[0] << 8 | c->content[1];
    flags = c->content[2];

    pthread_mutex_lock(&c->wmu);
    if (c->stray) {
        int bad = conn_send(c, FCGI_STDOUT, c->stray_id,
                            (const unsigned char *)c->stray,
                            c->stray_len) < 0;

        free(c->stray);
        c->stray = NULL;
        stat_add(&stats->strays, 1);
        if (bad) {
            pthread_mutex_unlock(&c->wmu);
            return REC_CLOSE;
        }
    }
    pthread_mutex_unlock(&c->wmu);

    pthread_mutex_lock(&c->mu);
    if (req_find(c, id)) {
        /* A duplicate BEGIN for an active id is ignored (spec 3.3). */
        pthread_mutex_unlock(&c->mu);
        return REC_OK;
    }
    if (role != FCGI_RESPONDER) {
        proto = FCGI_UNKNOWN_ROLE;
    }
    else if (!opt_mpx && c->inflight >= 1) {
        proto = FCGI_CANT_MPX_CONN;
        stat_add(&stats->cant_mpx, 1);
    }
    else if (c->inflight >= MAX_REQS_MPX) {
        proto = FCGI_OVERLOADED;
    }
    else if (!(r = calloc(1, sizeof(*r)))) {
        proto = FCGI_OVERLOADED;
    }
    else {
        r->conn = c;
        r->id = id;
        r->keep_conn = flags & FCGI_KEEP_CONN;
        r->maxrec = FCGI_MAX_CONTENT;
        pthread_cond_init(&r->cv, NULL);
        r->next = c->reqs;
        c->reqs = r;
        c->inflight++;
        r->depth = c->inflight;
        r->nth = ++c->nreqs;
        if (c->had_abort) {
            stat_add(&stats->after_abort, 1);
        }
        if (c->inflight > c->max_inflight) {
            c->max_inflight = c->inflight;
            stat_max(&stats->max_inflight, c->max_inflight);
        }
        stat_add(&stats->requests, 1);
    }
    pthread_mutex_unlock(&c->mu);

    if (proto >= 0) {
        pthread_mutex_lock(&c->wmu);
        rc = conn_send_end(c, id, 0, proto) < 0 ? REC_CLOSE : REC_OK;
        pthread_mutex_unlock(&c->wmu);
    }
    return rc;
}

static int on_abort(conn_t *c, unsigned int id)
{
    req_t *r;
    int worker, keep, rc;

    pthread_mutex_lock(&c->wmu);
    pthread_mutex_lock(&c->mu);
    r = req_find(c, id);
    if (!r) {
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_unlock(&c->wmu);
        return REC_OK;
    }
    if (__atomic_load_n(&r->ignore_abort, __ATOMIC_SEQ_CST)) {
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_unlock(&c->wmu);
        stat_add(&stats->aborts, 1);
        stat_add(&stats->ignored_aborts, 1);
        return REC_OK;
    }
    __atomic_store_n(&r->aborted, 1, __ATOMIC_SEQ_CST);
    r->ended = 1;
    req_unlink(c, r);
    c->had_abort = 1;
    pthread_cond_broadcast(&r->cv);
    worker = r->has_worker;
    keep = r->keep_conn;
    pthread_mutex_unlock(&c->mu);
    stat_add(&stats->aborts, 1);

    /* Answered here rather than by the handler so the reply is prompt
     * even when the handler is stuck in a long computation. */
    rc = conn_send_end(c, id, 1, FCGI_REQUEST_COMPLETE) < 0 ? REC_CLOSE
                                                            : REC_OK;
    if (!keep) {
        set_dead(c);
        shutdown(c->fd, SHUT_RDWR);
        rc = REC_CLOSE;
    }
    pthread_mutex_unlock(&c->wmu);
    if (!worker) {
        req_free(r);
    }
    return rc;
}

static int on_params(conn_t *c, unsigned int id, size_t clen)
{
    pthread_t t;
    req_t *r;
    long n;

    pthread_mutex_lock(&c->mu);
    r = req_find(c, id);
    pthread_mutex_unlock(&c->mu);
    /* Only the reader creates workers or frees worker-less requests, so r
     * stays valid while it has no worker. */
    if (!r || r->params_done) {
        return REC_OK;
    }
    if (clen) {
        if (r->plen + clen > PARAMS_MAX) {
            return REC_CLOSE;
        }
        if (r->plen + clen > r->pcap) {
            size_t cap = r->pcap ? r->pcap : 1024;
            unsigned char *np;

            while (cap < r->plen + clen) {
                cap *= 2;
            }
            if (!(np = realloc(r->params, cap))) {
                return REC_CLOSE;
            }
            r->params = np;
            r->pcap = cap;
        }
        memcpy(r->params + r->plen, c->content, clen);
        r->plen += clen;
        return REC_OK;
    }

    n = nv_parse(r->params, r->plen, NULL);
    if (n < 0 || !(r->nv = malloc(((size_t)n + 1) * sizeof(*r->nv)))) {
        return REC_CLOSE;
    }
    nv_parse(r->params, r->plen, r->nv);
    r->nnv = (size_t)n;

    pthread_mutex_lock(&c->mu);
    r->params_done = 1;
    r->has_worker = 1;
    c->nworkers++;
    pthread_mutex_unlock(&c->mu);
    if (pthread_create(&t, &thread_attr, worker_main, r) != 0) {
        pthread_mutex_lock(&c->wmu);
        pthread_mutex_lock(&c->mu);
        r->has_worker = 0;
        c->nworkers--;
        req_unlink(c, r);
        pthread_mutex_unlock(&c->mu);
        conn_send_end(c, id, 0, FCGI_OVERLOADED);
        pthread_mutex_unlock(&c->wmu);
        req_free(r);
    }
    return REC_OK;
}

static int on_stdin(conn_t *c, unsigned int id, size_t clen)
{
    chunk_t *ch = NULL;
    req_t *r;

    if (clen) {
        if (!(ch = malloc(sizeof(*ch) + clen))) {
            return REC_CLOSE;
        }
        ch->next = NULL;
        ch->len = clen;
        ch->off = 0;
        memcpy(ch->data, c->content, clen);
    }

    pthread_mutex_lock(&c->mu);
    for (;;) {
        r = req_find(c, id);
        if (!r || r->stdin_eof) {
            pthread_mutex_unlock(&c->mu);
            free(ch);
            return REC_OK;
        }
        if (!r->params_done) {
            /* STDIN before the end of PARAMS breaks the protocol. */
            pthread_mutex_unlock(&c->mu);
            free(ch);
            return REC_CLOSE;
        }
        if (!ch || r->qbytes < STDIN_QUEUE_MAX) {
            break;
        }
        /* Back-pressure: the lookup is redone after waking because the
         * request may have ended meanwhile. */
        pthread_cond_wait(&c->space_cv, &c->mu);
    }
    if (ch) {
        if (r->qtail) {
            r->qtail->next = ch;
        }
        else {
            r->qhead = ch;
        }
        r->qtail = ch;
        r->qbytes += clen;
    }
    else {
        r->stdin_eof = 1;
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&c->mu);
    return REC_OK;
}

static int on_record(conn_t *c, int type, unsigned int id, size_t clen)
{
    if (id == 0) {
        unsigned char b[8];
        int rc;

        if (type == FCGI_GET_VALUES) {
            stat_add(&stats->get_values, 1);
            if (opt_gv == GV_IGNORE) {
                return REC_OK;
            }
            if (opt_gv == GV_CLOSE) {
                return REC_CLOSE;
            }
            return on_get_values(c, clen);
        }
        memset(b, 0, sizeof(b));
        b[0] = (unsigned char)type;
        pthread_mutex_lock(&c->wmu);
        rc = conn_send(c, FCGI_UNKNOWN_TYPE, 0, b, sizeof(b));
        pthread_mutex_unlock(&c->wmu);
        return rc < 0 ? REC_CLOSE : REC_OK;
    }
    switch (type) {
    case FCGI_BEGIN_REQUEST:
        return on_begin(c, id, clen);
    case FCGI_ABORT_REQUEST:
        return on_abort(c, id);
    case FCGI_PARAMS:
        return on_params(c, id, clen);
    case FCGI_STDIN:
        return on_stdin(c, id, clen);
    case FCGI_DATA:
        return REC_OK;
    default:
        /* Types only an application may send, or unknown ones. */
        return REC_CLOSE;
    }
}

static void *conn_main(void *arg)
{
    conn_t *c = arg;
    unsigned char h[FCGI_HEADER_LEN];
    req_t *r, *next;

    for (;;) {
        size_t clen, plen;

        if (rd_exact(c, h, sizeof(h)) < 0) {
            break;
        }
        if (h[0] != FCGI_VERSION_1) {
            break;
        }
        clen = (size_t)h[4] << 8 | h[5];
        plen = h[6];
        if (rd_exact(c, c->content, clen) < 0 || rd_exact(c, NULL, plen) < 0
            || on_record(c, h[1], (unsigned int)h[2] << 8 | h[3], clen)
               != REC_OK) {
            break;
        }
    }

    /* Nothing more will arrive: wake handlers waiting for STDIN, drop
     * requests that never got a handler, and wait for the others. */
    shutdown(c->fd, SHUT_RD);
    pthread_mutex_lock(&c->mu);
    __atomic_store_n(&c->rclosed, 1, __ATOMIC_SEQ_CST);
    for (r = c->reqs; r; r = next) {
        next = r->next;
        pthread_cond_broadcast(&r->cv);
        if (!r->has_worker) {
            req_unlink(c, r);
            req_free(r);
        }
    }
    while (c->nworkers > 0) {
        pthread_cond_wait(&c->done_cv, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);

    close(c->fd);
    stat_add(&stats->open, -1);
    free(c->stray);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->wmu);
    pthread_cond_destroy(&c->space_cv);
    pthread_cond_destroy(&c->done_cv);
    free(c);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Startup                                                             */

static void on_term(int sig)
{
    (void)sig;
    if (have_unix_path) {
        unlink(unix_path);
    }
    _exit(0);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fcgix_testapp [-l ADDR] [-b BACKLOG] [-p PIDFILE] [-m]"
            " [-s STATSFILE]\n"
            "       [-G answer|ignore|close]\n"
            "  ADDR: 127.0.0.1:PORT | [::1]:PORT | *:PORT | unix:/path\n"
            "  (-l is not needed when fd 0 is a listening socket)\n");
    exit(2);
}

static int listen_unix(const char *path, int backlog)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd;

    if (path[0] != '/' || strlen(path) >= sizeof(sun.sun_path)) {
        fprintf(stderr, "fcgix_testapp: bad unix path %s\n", path);
        return -1;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "fcgix_testapp: %s exists, not a socket\n", path);
            return -1;
        }
        unlink(path);
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        perror("fcgix_testapp: unix socket");
        return -1;
    }
    strcpy(unix_path, path);
    have_unix_path = 1;
    /* httpd children usually run as another user than the test app. */
    if (chmod(path, 0666) < 0 || listen(fd, backlog) < 0) {
        perror("fcgix_testapp: unix listen");
        return -1;
    }
    return fd;
}

static int listen_inet(const char *spec, int backlog)
{
    char host[256], port[32];
    const char *colon;
    struct addrinfo hints, *ai;
    int fd, one = 1, rc;

    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');

        if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof(host)) {
            return -1;
        }
        memcpy(host, spec + 1, (size_t)(rb - spec - 1));
        host[rb - spec - 1] = '\0';
        colon = rb + 1;
    }
    else {
        colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof(host)) {
            return -1;
        }
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
    }
    if (strlen(colon + 1) >= sizeof(port) || !colon[1]) {
        return -1;
    }
    strcpy(port, colon + 1);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    rc = getaddrinfo((!host[0] || !strcmp(host, "*")) ? NULL : host, port,
                     &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "fcgix_testapp: %s: %s\n", spec, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        }
    }
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0
        || listen(fd, backlog) < 0) {
        perror("fcgix_testapp: listen");
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int write_pidfile(const char *path)
{
    char tmp[4096];
    FILE *f;

    /* Written aside and renamed so a harness polling for the file never
     * reads a half-written pid. */
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid())
        >= (int)sizeof(tmp)) {
        return -1;
    }
    f = fopen(tmp, "w");
    if (!f) {
        return -1;
    }
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static stats_t *stats_map(const char *path)
{
    void *p;

    if (path) {
        struct stat st;
        int fd = open(path, O_RDWR | O_CREAT, 0666);

        if (fd < 0 || fstat(fd, &st) < 0
            || ((size_t)st.st_size < sizeof(stats_t)
                && ftruncate(fd, sizeof(stats_t)) < 0)) {
            perror("fcgix_testapp: stats file");
            return NULL;
        }
        p = mmap(NULL, sizeof(stats_t), PROT_READ | PROT_WRITE, MAP_SHARED,
                 fd, 0);
        close(fd);
    }
    else {
        p = mmap(NULL, sizeof(stats_t), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    }
    return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv)
{
    const char *addr = NULL, *pidfile = NULL, *statsfile = NULL;
    struct sigaction sa;
    socklen_t len;
    int lfd = -1, backlog = 128, ch, accepting = 0;
    size_t i;

    while ((ch = getopt(argc, argv, "l:b:p:ms:G:h")) != -1) {
        switch (ch) {
        case 'l':
            addr = optarg;
            break;
        case 'b':
            backlog = atoi(optarg);
            break;
        case 'p':
            pidfile = optarg;
            break;
        case 'm':
            opt_mpx = 1;
            break;
        case 's':
            statsfile = optarg;
            break;
        case 'G':
            if (!strcmp(optarg, "answer")) {
                opt_gv = GV_ANSWER;
            }
            else if (!strcmp(optarg, "ignore")) {
                opt_gv = GV_IGNORE;
            }
            else if (!strcmp(optarg, "close")) {
                opt_gv = GV_CLOSE;
            }
            else {
                usage();
            }
            break;
        default:
            usage();
        }
    }
    if (optind != argc) {
        usage();
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    if (!(stats = stats_map(statsfile))) {
        return 1;
    }
    for (i = 0; i < sizeof(pattern); i++) {
        pattern[i] = (unsigned char)('a' + i % 26);
    }
    pthread_attr_init(&thread_attr);
    pthread_attr_setdetachstate(&thread_attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&thread_attr, THREAD_STACK);

    /* FCGI_LISTENSOCK_FILENO: a process manager hands us the socket. */
    len = sizeof(accepting);
    if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0
        && accepting) {
        lfd = 0;
    }
    else if (!addr) {
        usage();
    }
    else if (!strncmp(addr, "unix:", 5)) {
        lfd = listen_unix(addr + 5, backlog);
    }
    else {
        lfd = listen_inet(addr, backlog);
    }
    if (lfd < 0) {
        if (have_unix_path) {
            unlink(unix_path);
        }
        return 1;
    }
    if (pidfile && write_pidfile(pidfile) < 0) {
        perror("fcgix_testapp: pid file");
        return 1;
    }

    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        pthread_t t;
        conn_t *c;
        int fd = accept(lfd, (struct sockaddr *)&ss, &sl), one = 1;

        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* An inherited socket may be non-blocking. */
                struct pollfd pfd = { lfd, POLLIN, 0 };

                poll(&pfd, 1, -1);
            }
            else if (errno != EINTR && errno != ECONNABORTED) {
                /* EMFILE and friends: back off instead of spinning. */
                sleep_ms(10);
            }
            continue;
        }
        if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
            /* Replies are already coalesced; Nagle would only delay the
             * small writes of split=N. */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        if (!(c = calloc(1, sizeof(*c)))) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->serial = ++conn_serial;
        if (ss.ss_family == AF_UNIX) {
            struct ucred cr;
            socklen_t crl = sizeof(cr);

            if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) == 0) {
                c->peer_pid = (long)cr.pid;
            }
        }
        pthread_mutex_init(&c->mu, NULL);
        pthread_mutex_init(&c->wmu, NULL);
        pthread_cond_init(&c->space_cv, NULL);
        pthread_cond_init(&c->done_cv, NULL);
        stat_add(&stats->connections, 1);
        stat_add(&stats->open, 1);
        if (pthread_create(&t, &thread_attr, conn_main, c) != 0) {
            stat_add(&stats->open, -1);
            close(fd);
            free(c);
        }
    }
    return 0;
}
