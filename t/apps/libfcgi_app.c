/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License.  You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/*
 * libfcgi_app: a FastCGI responder built on the reference C library
 * (libfcgi, Debian libfcgi-dev), for the connection pool tests of the
 * mod_fcgix suite (t/050..t/054).  libfcgi is what many C/C++ FastCGI
 * applications use: one request at a time per process, FCGI_KEEP_CONN
 * honoured (a kept connection pins its process until the server closes
 * it), FCGI_GET_VALUES answered with MPXS_CONNS=0, a second BEGIN_REQUEST
 * on a busy connection answered with FCGI_CANT_MPX_CONN.
 *
 * Command line
 *   libfcgi_app -l /path/to.sock [-n WORKERS] [-b BACKLOG]
 *   FCGX_OpenSocket on the unix socket path (mode 0666), then WORKERS
 *   processes (default 1) serve it with FCGX_Accept_r, each one request
 *   at a time.  SIGTERM/SIGINT stop the workers, remove the socket and
 *   exit 0.
 *
 * Query string ('&'-separated, no decoding needed by the tests)
 *   (default)     text/plain, every param as NAME=VALUE\n, sorted
 *   digest        read the body: "len=<N> md5=<hex>\n"
 *                 "content_length=<CONTENT_LENGTH or ->\n"
 *   sleep_ms=N    sleep before answering
 *   stats         "connections= requests= workers=\n", counters over all
 *                 workers: connections that carried a request (told apart
 *                 by socket inode), requests begun
 *   conninfo      adds X-Fcgix-Conn (inode of the connection's socket),
 *                 X-Fcgix-Pid (worker), X-Fcgix-Conn-Req (n-th request on
 *                 the connection), X-Fcgix-Peer (server pid, SO_PEERCRED)
 * The request body is always read completely before the reply.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64

typedef struct stats_t {
    uint64_t connections;
    uint64_t requests;
} stats_t;

static stats_t *stats;
static const char *sock_path;
static pid_t workers[MAX_WORKERS];
static int nworkers;

#include "md5.h"

/* ------------------------------------------------------------------ */
/* Requests                                                            */

/* Value of KEY in the query string (KEY alone gives ""), or NULL. */
static const char *query_get(const char *qs, const char *key, char *buf,
                             size_t bufsz)
{
    size_t klen = strlen(key);

    while (qs && *qs) {
        const char *amp = strchr(qs, '&');
        size_t len = amp ? (size_t)(amp - qs) : strlen(qs);

        if (len >= klen && !strncmp(qs, key, klen)
            && (len == klen || qs[klen] == '=')) {
            size_t vlen = len == klen ? 0 : len - klen - 1;

            if (vlen >= bufsz) {
                vlen = bufsz - 1;
            }
            memcpy(buf, qs + klen + (len == klen ? 0 : 1), vlen);
            buf[vlen] = '\0';
            return buf;
        }
        qs = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void nap(unsigned long ms)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static void serve(FCGX_Request *req, unsigned long long nth, ino_t ino)
{
    const char *qs = FCGX_GetParam("QUERY_STRING", req->envp);
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
    char v[64], buf[65536], hex[33];
    unsigned long long len = 0;
    md5_ctx_t md5;
    int n;

    /* The whole body first. */
    md5_init(&md5);
    while ((n = FCGX_GetStr(buf, sizeof(buf), req->in)) > 0) {
        md5_update(&md5, (unsigned char *)buf, (size_t)n);
        len += (unsigned long long)n;
    }
    if (query_get(qs, "sleep_ms", v, sizeof(v))) {
        nap(strtoul(v, NULL, 10));
    }

    FCGX_FPrintF(req->out, "Content-Type: text/plain\r\n");
    if (query_get(qs, "conninfo", v, sizeof(v))) {
        struct ucred cr;
        socklen_t crl = sizeof(cr);
        long peer = 0;

        if (getsockopt(req->ipcFd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) == 0) {
            peer = (long)cr.pid;
        }
        FCGX_FPrintF(req->out,
                     "X-Fcgix-Conn: %llu\r\nX-Fcgix-Pid: %ld\r\n"
                     "X-Fcgix-Conn-Req: %llu\r\nX-Fcgix-Peer: %ld\r\n",
                     (unsigned long long)ino, (long)getpid(), nth, peer);
    }
    FCGX_FPrintF(req->out, "\r\n");

    if (query_get(qs, "stats", v, sizeof(v))) {
        FCGX_FPrintF(req->out, "connections=%llu requests=%llu workers=%d\n",
                     (unsigned long long)__atomic_load_n(&stats->connections,
                                                         __ATOMIC_SEQ_CST),
                     (unsigned long long)__atomic_load_n(&stats->requests,
                                                         __ATOMIC_SEQ_CST),
                     nworkers);
    }
    else if (query_get(qs, "digest", v, sizeof(v))) {
        md5_hex(&md5, hex);
        FCGX_FPrintF(req->out, "len=%llu md5=%s\ncontent_length=%s\n", len,
                     hex, cl ? cl : "-");
    }
    else {
        size_t cnt = 0, i;
        char **e;

        while (req->envp[cnt]) {
            cnt++;
        }
        e = malloc((cnt + 1) * sizeof(*e));
        if (e) {
            memcpy(e, req->envp, cnt * sizeof(*e));
            qsort(e, cnt, sizeof(*e), str_cmp);
            for (i = 0; i < cnt; i++) {
                FCGX_FPrintF(req->out, "%s\n", e[i]);
            }
            free(e);
        }
    }
}

static void worker(int sock)
{
    FCGX_Request req;
    ino_t last = 0;
    unsigned long long nth = 0;

    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (FCGX_InitRequest(&req, sock, 0) != 0) {
        _exit(1);
    }
    while (FCGX_Accept_r(&req) >= 0) {
        struct stat st;

        if (fstat(req.ipcFd, &st) == 0 && st.st_ino != last) {
            last = st.st_ino;
            nth = 0;
            __atomic_add_fetch(&stats->connections, 1, __ATOMIC_SEQ_CST);
        }
        nth++;
        __atomic_add_fetch(&stats->requests, 1, __ATOMIC_SEQ_CST);
        serve(&req, nth, last);
        FCGX_Finish_r(&req);
    }
    _exit(0);
}

static void on_term(int sig)
{
    int i;

    (void)sig;
    for (i = 0; i < nworkers; i++) {
        if (workers[i] > 0) {
            kill(workers[i], SIGTERM);
        }
    }
    if (sock_path) {
        unlink(sock_path);
    }
    _exit(0);
}

static void usage(void)
{
    fprintf(stderr, "usage: libfcgi_app -l /path/to.sock [-n WORKERS] "
                    "[-b BACKLOG]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    int ch, sock, backlog = 128, i;

    nworkers = 1;
    while ((ch = getopt(argc, argv, "l:n:b:h")) != -1) {
        switch (ch) {
        case 'l':
            sock_path = optarg;
            break;
        case 'n':
            nworkers = atoi(optarg);
            break;
        case 'b':
            backlog = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (!sock_path || sock_path[0] != '/' || optind != argc
        || nworkers < 1 || nworkers > MAX_WORKERS) {
        usage();
    }
    stats = mmap(NULL, sizeof(*stats), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (stats == MAP_FAILED) {
        perror("libfcgi_app: mmap");
        return 1;
    }
    if (FCGX_Init() != 0) {
        fprintf(stderr, "libfcgi_app: FCGX_Init failed\n");
        return 1;
    }
    umask(0);
    unlink(sock_path);
    sock = FCGX_OpenSocket(sock_path, backlog);
    if (sock < 0) {
        fprintf(stderr, "libfcgi_app: cannot listen on %s\n", sock_path);
        return 1;
    }
    chmod(sock_path, 0666);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    for (i = 0; i < nworkers; i++) {
        pid_t pid = fork();

        if (pid < 0) {
            perror("libfcgi_app: fork");
            on_term(0);
        }
        if (pid == 0) {
            sa.sa_handler = SIG_DFL;
            sigaction(SIGTERM, &sa, NULL);
            sigaction(SIGINT, &sa, NULL);
            worker(sock);
        }
        workers[i] = pid;
    }
    /* A worker that dies is not replaced: the tests count on a fixed set. */
    for (;;) {
        if (wait(NULL) < 0 && errno == ECHILD) {
            break;
        }
    }
    unlink(sock_path);
    return 0;
}
