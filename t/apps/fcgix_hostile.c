/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License.  You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * fcgix_hostile: a FastCGI responder that answers each request with a
 * reproducibly broken record stream, for t/110_hostile.t and the soak.
 *
 * It shares no code with the module: the application side is written
 * again here from the specification, kept as small as it can be.
 *
 * Command line
 *   fcgix_hostile [-l unix:/abs/path]
 *   With fd 0 a listening socket (spawned by the process manager) it is
 *   used; otherwise -l is required.  One forked process per connection.
 *   SIGTERM ends it (the children too: same process group).
 *
 * Query string: seed=N (decimal).  The kind of answer is N % 16, its
 * details come from a PRNG seeded with N, so a request can be replayed.
 * A valid reply's body is "ok N\n" (text/plain).
 *    0 valid, one write           8 a record longer than what is sent,
 *    1 valid, 1..7-byte writes       then close
 *    2 valid after one STDERR     9 padding announced, not sent, close
 *      line                      10 a broken header block (NUL, no
 *    3 valid, big paddings,         colon, space in a name, bad Status,
 *      UNKNOWN_TYPE and an          interim Status, negative or signed
 *      empty GET_VALUES_RESULT      Content-Length, a control
 *      on id 0                      character, 70000 bytes)
 *                                11 END_REQUEST before any STDOUT
 *    4 a record of version != 1  12 END_REQUEST(CANT_MPX_CONN,
 *    5 a record type an app must    OVERLOADED or UNKNOWN_ROLE) first
 *      not send                  13 headers, then body without end:
 *    6 STDOUT for another id        1 MiB, then close
 *    7 the valid stream cut at   14 silence: the connection stays open,
 *      a random byte, then close    nothing is sent (60 s at most)
 *                                15 the valid stream with 1..3 bits
 *                                   flipped, then close
 * Kinds 0-3 keep the connection when FCGI_KEEP_CONN asks for it; every
 * other kind closes it after its stream.  FCGI_GET_VALUES is answered
 * (FCGI_MPXS_CONNS=0, FCGI_MAX_REQS=1); FCGI_ABORT_REQUEST ends the
 * connection.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HDR 8
#define KINDS 16
#define ENDLESS_BYTES (1024 * 1024)

typedef struct {
    unsigned char *p;
    size_t len, cap;
} buf_t;

static void put(buf_t *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL) {
            _exit(2);
        }
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void rec(buf_t *b, int ver, int type, unsigned rid, const void *c,
                size_t clen, unsigned pad)
{
    unsigned char h[HDR] = { (unsigned char)ver, (unsigned char)type,
                             (unsigned char)(rid >> 8), (unsigned char)rid,
                             (unsigned char)(clen >> 8),
                             (unsigned char)clen, (unsigned char)pad, 0 };
    static const unsigned char zeros[256];

    put(b, h, HDR);
    put(b, c, clen);
    put(b, zeros, pad);
}

static void end_rec(buf_t *b, unsigned rid, unsigned pstatus)
{
    unsigned char body[8] = { 0, 0, 0, 0, (unsigned char)pstatus, 0, 0, 0 };

    rec(b, 1, 3, rid, body, 8, 0);
}

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? (uint32_t)(rng % n) : 0;
}

/* ---- I/O ------------------------------------------------------------- */

static int write_all(int fd, const void *d, size_t n)
{
    const char *p = d;

    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_full(int fd, void *d, size_t n)
{
    char *p = d;

    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* ---- one request ------------------------------------------------------ */

typedef struct {
    unsigned rid;
    int keep;
    unsigned long seed;
} req_t;

/* QUERY_STRING's seed= out of the PARAMS stream. */
static unsigned long find_seed(const unsigned char *p, size_t len)
{
    size_t off = 0;

    while (off < len) {
        size_t nl, vl, i;

        for (i = 0; i < 2; i++) {
            size_t *l = i ? &vl : &nl;
            if (off >= len) {
                return 0;
            }
            if (p[off] & 0x80) {
                if (off + 4 > len) {
                    return 0;
                }
                *l = ((size_t)(p[off] & 0x7f) << 24) | (size_t)p[off + 1] << 16
                     | (size_t)p[off + 2] << 8 | p[off + 3];
                off += 4;
            }
            else {
                *l = p[off++];
            }
        }
        if (nl > len - off || vl > len - off - nl) {
            return 0;
        }
        if (nl == 12 && !memcmp(p + off, "QUERY_STRING", 12)) {
            const unsigned char *v = p + off + nl;
            char q[64];
            const char *s;
            size_t n = vl < sizeof(q) - 1 ? vl : sizeof(q) - 1;

            memcpy(q, v, n);
            q[n] = '\0';
            s = strstr(q, "seed=");
            return s ? strtoul(s + 5, NULL, 10) : 0;
        }
        off += nl + vl;
    }
    return 0;
}

/* Reads records until a request's PARAMS and STDIN are complete.
 * Returns 0, or -1 when the connection is done. */
static int read_request(int fd, req_t *q)
{
    buf_t params = { 0 };
    int begun = 0, params_done = 0, stdin_done = 0;

    while (!(begun && params_done && stdin_done)) {
        unsigned char h[HDR], body[65535 + 255];
        unsigned rid, clen;

        if (read_full(fd, h, HDR) < 0) {
            free(params.p);
            return -1;
        }
        rid = (unsigned)h[2] << 8 | h[3];
        clen = (unsigned)h[4] << 8 | h[5];
        if (h[0] != 1 || read_full(fd, body, clen + h[6]) < 0) {
            free(params.p);
            return -1;
        }
        switch (h[1]) {
        case 1: /* BEGIN_REQUEST */
            q->rid = rid;
            q->keep = clen >= 3 && (body[2] & 1);
            begun = 1;
            params.len = 0;
            params_done = stdin_done = 0;
            break;
        case 2: /* ABORT_REQUEST */
            free(params.p);
            return -1;
        case 4:
            if (clen == 0) {
                params_done = 1;
            }
            put(&params, body, clen);
            break;
        case 5:
            stdin_done = clen == 0;
            break;
        case 9: { /* GET_VALUES */
            buf_t a = { 0 };
            static const unsigned char nv[] =
                "\x0f\x01" "FCGI_MPXS_CONNS" "0"
                "\x0d\x01" "FCGI_MAX_REQS" "1";
            rec(&a, 1, 10, 0, nv, sizeof(nv) - 1, 0);
            if (write_all(fd, a.p, a.len) < 0) {
                free(a.p);
                free(params.p);
                return -1;
            }
            free(a.p);
            break;
        }
        default:
            break;
        }
    }
    q->seed = find_seed(params.p, params.len);
    free(params.p);
    return 0;
}

/* The valid stream: headers, "ok N\n", empty STDOUT, END_REQUEST. */
static size_t valid(buf_t *b, const req_t *q, int big_pads)
{
    char txt[96];
    size_t hdr_end;
    int n = snprintf(txt, sizeof(txt),
                     "Content-Type: text/plain\r\n\r\nok %lu\n", q->seed);
    int split = (int)(strstr(txt, "\r\n\r\n") - txt) + 4;

    rec(b, 1, 6, q->rid, txt, (size_t)split, big_pads ? rnd(256) : 0);
    hdr_end = b->len;
    if (big_pads) {
        unsigned char unknown[8] = { 42, 0, 0, 0, 0, 0, 0, 0 };
        rec(b, 1, 11, 0, unknown, 8, rnd(256));
        rec(b, 1, 10, 0, "", 0, rnd(256));
    }
    rec(b, 1, 6, q->rid, txt + split, (size_t)(n - split),
        big_pads ? rnd(256) : 0);
    rec(b, 1, 6, q->rid, "", 0, 0);
    end_rec(b, q->rid, 0);
    return hdr_end;
}

static const char nul_block[] =
    "Content-Type: text/plain\r\nX-Nul: a\0b\r\n\r\n";
static const char *const bad_blocks[] = {
    nul_block,
    "Content-Type: text/plain\r\nno colon here\r\n\r\n",
    "Content Type: text/plain\r\n\r\n",
    "Status: abc\r\n\r\n",
    "Status: 103 Early Hints\r\n\r\n",
    "Content-Length: -1\r\n\r\n",
    "Content-Length: +5\r\n\r\n",
    " folded: first\r\n\r\n",
    "Content-Type: text/plain\x05\r\n\r\n",
};

static void bad_block(buf_t *b, const req_t *q)
{
    uint32_t i = rnd(sizeof(bad_blocks) / sizeof(bad_blocks[0]) + 1);

    if (i == sizeof(bad_blocks) / sizeof(bad_blocks[0])) {
        /* Larger than any header limit: 70000 bytes, no blank line. */
        static char big[60000];
        memset(big, 'x', sizeof(big));
        memcpy(big, "X-Big: ", 7);
        rec(b, 1, 6, q->rid, big, sizeof(big), 0);
        rec(b, 1, 6, q->rid, big, 10000, 0);
    }
    else {
        const char *s = bad_blocks[i];
        size_t n = strlen(s);
        if (i == 0) {
            n = sizeof(nul_block) - 1; /* past the NUL */
        }
        rec(b, 1, 6, q->rid, s, n, 0);
    }
    rec(b, 1, 6, q->rid, "", 0, 0);
    end_rec(b, q->rid, 0);
}

/* Fills @p b with the answer; returns 1 when the connection may be kept. */
static int answer(buf_t *b, const req_t *q, int kind, int *endless,
                  int *silent, int *split)
{
    size_t hdr_end;

    switch (kind) {
    case 0:
        valid(b, q, 0);
        return q->keep;
    case 1:
        valid(b, q, 0);
        *split = 1;
        return q->keep;
    case 2:
        rec(b, 1, 7, q->rid, "hostile: one stderr line\n", 25, 0);
        valid(b, q, 0);
        return q->keep;
    case 3:
        valid(b, q, 1);
        return q->keep;
    case 4:
        valid(b, q, 0);
        b->p[0] = (unsigned char)rnd(256);
        b->p[0] = b->p[0] == 1 ? 0 : b->p[0];
        return 0;
    case 5: {
        static const unsigned char bad[] = { 0, 1, 2, 4, 5, 8, 9, 12, 99,
                                             255 };
        valid(b, q, 0);
        b->p[1] = bad[rnd(sizeof(bad))];
        return 0;
    }
    case 6:
        valid(b, q, 0);
        b->p[3] = (unsigned char)(q->rid + 1 + rnd(200));
        return 0;
    case 7:
        valid(b, q, 0);
        b->len = rnd((uint32_t)b->len);
        return 0;
    case 8: {
        unsigned char h[HDR] = { 1, 6, (unsigned char)(q->rid >> 8),
                                 (unsigned char)q->rid, 0x10, 0, 0, 0 };
        hdr_end = valid(b, q, 0);
        b->len = hdr_end;
        put(b, h, HDR);
        put(b, "partial", 7);
        return 0;
    }
    case 9:
        rec(b, 1, 6, q->rid, "Content-Type: text/plain\r\n\r\n", 28, 0);
        b->p[6] = (unsigned char)(1 + rnd(255)); /* none follows */
        return 0;
    case 10:
        bad_block(b, q);
        return 0;
    case 11:
        end_rec(b, q->rid, 0);
        return 0;
    case 12:
        end_rec(b, q->rid, 1 + rnd(3));
        return 0;
    case 13:
        rec(b, 1, 6, q->rid, "Content-Type: text/plain\r\n\r\n", 28, 0);
        *endless = 1;
        return 0;
    case 14:
        *silent = 1;
        return 0;
    default: {
        int flips = 1 + (int)rnd(3);
        valid(b, q, 0);
        while (flips--) {
            b->p[rnd((uint32_t)b->len)] ^= (unsigned char)(1u << rnd(8));
        }
        return 0;
    }
    }
}

static int send_endless(int fd, const req_t *q)
{
    static char chunk[16384];
    buf_t b = { 0 };
    size_t sent = 0;
    int rc = 0;

    memset(chunk, 'y', sizeof(chunk));
    rec(&b, 1, 6, q->rid, chunk, sizeof(chunk), 0);
    while (sent < ENDLESS_BYTES && rc == 0) {
        rc = write_all(fd, b.p, b.len);
        sent += sizeof(chunk);
    }
    free(b.p);
    return -1;
}

static int serve_one(int fd, const req_t *q)
{
    buf_t b = { 0 };
    int endless = 0, silent = 0, split = 0, keep, rc = 0;
    size_t i;

    rng = 0x9e3779b97f4a7c15ULL ^ (q->seed * 0x2545f4914f6cdd1dULL);
    rnd(1);
    keep = answer(&b, q, (int)(q->seed % KINDS), &endless, &silent, &split);
    if (split) {
        for (i = 0; i < b.len && rc == 0;) {
            size_t n = 1 + rnd(7);
            n = n > b.len - i ? b.len - i : n;
            rc = write_all(fd, b.p + i, n);
            i += n;
        }
    }
    else if (b.len) {
        rc = write_all(fd, b.p, b.len);
    }
    free(b.p);
    if (rc == 0 && endless) {
        rc = send_endless(fd, q);
    }
    if (silent) {
        /* Until the server gives up on us (or a minute passes). */
        struct pollfd p = { fd, POLLIN, 0 };
        char sink[4096];
        time_t until = time(NULL) + 60;
        while (time(NULL) < until && poll(&p, 1, 1000) >= 0) {
            if ((p.revents & POLLIN) && read(fd, sink, sizeof(sink)) <= 0) {
                break;
            }
            if (p.revents & (POLLHUP | POLLERR)) {
                break;
            }
        }
        return -1;
    }
    return rc == 0 && keep ? 0 : -1;
}

static void serve_conn(int fd)
{
    req_t q;

    while (read_request(fd, &q) == 0 && serve_one(fd, &q) == 0) {
    }
    close(fd);
}

static int listen_on(const char *addr)
{
    struct sockaddr_un sun;
    int fd;

    if (strncmp(addr, "unix:", 5) || strlen(addr + 5) >= sizeof(sun.sun_path)) {
        fprintf(stderr, "fcgix_hostile: -l unix:/path only\n");
        exit(2);
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, addr + 5);
    unlink(sun.sun_path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0
        || chmod(sun.sun_path, 0666) < 0 || listen(fd, 128) < 0) {
        perror("fcgix_hostile: listen");
        exit(2);
    }
    return fd;
}

int main(int argc, char **argv)
{
    struct sockaddr_un peer;
    socklen_t plen = sizeof(peer);
    int lfd = 0, c;

    while ((c = getopt(argc, argv, "l:")) != -1) {
        if (c == 'l') {
            lfd = listen_on(optarg);
        }
        else {
            return 2;
        }
    }
    if (lfd == 0 && getsockname(0, (struct sockaddr *)&peer, &plen) < 0) {
        fprintf(stderr, "usage: fcgix_hostile [-l unix:/path]\n");
        return 2;
    }
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return 1;
        }
        if (fork() == 0) {
            /* A connection's process ends with the application. */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            close(lfd);
            serve_conn(fd);
            _exit(0);
        }
        close(fd);
    }
}
