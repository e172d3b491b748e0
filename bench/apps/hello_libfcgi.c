/* hello_libfcgi - the libfcgi benchmark backend of bench/run.sh.
 *
 *   GET  /...               200, "Hello, world!\n" (14 bytes)
 *   GET  /...?bytes=N       200, N bytes of 'x'
 *   POST /...               the body is read and discarded; the reply is
 *                           the small one, with "X-Read: <bytes read>"
 *
 * Every reply carries Content-Length. The request body (even an empty
 * FCGI_STDIN) is always read to its end before replying, so a kept-alive
 * connection stays in step (ANCHORS.md section 7, first pitfall).
 *
 * Two ways to run:
 *   hello_libfcgi                      accept on fd 0 (FCGI_LISTENSOCK_FILENO),
 *                                      as mod_fcgid / mod_fastcgi start it
 *   hello_libfcgi -s /path.sock [-n N] [-b backlog]
 *                                      create the unix socket and fork N
 *                                      children that all accept on it (the
 *                                      mod_fastcgi / php-fpm prefork model:
 *                                      the kernel hands each connection to
 *                                      one idle child). SIGTERM to the
 *                                      parent stops the children too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#define SMALL "Hello, world!\n"
#define CHUNK 65536

static char xbuf[CHUNK];
static char inbuf[CHUNK];

static long long query_bytes(const char *qs)
{
    const char *p;
    if (qs == NULL) {
        return -1;
    }
    for (p = qs; p && *p; ) {
        if (strncmp(p, "bytes=", 6) == 0) {
            return atoll(p + 6);
        }
        p = strchr(p, '&');
        if (p) {
            p++;
        }
    }
    return -1;
}

static void handle(FCGX_Request *req)
{
    long long got = 0, want;
    int n;

    while ((n = FCGX_GetStr(inbuf, sizeof(inbuf), req->in)) > 0) {
        got += n;
    }
    want = query_bytes(FCGX_GetParam("QUERY_STRING", req->envp));
    if (want >= 0) {
        FCGX_FPrintF(req->out, "Content-Type: application/octet-stream\r\n"
                     "Content-Length: %lld\r\n\r\n", want);
        while (want > 0) {
            int k = want > CHUNK ? CHUNK : (int)want;
            if (FCGX_PutStr(xbuf, k, req->out) < 0) {
                break;
            }
            want -= k;
        }
    }
    else {
        FCGX_FPrintF(req->out, "Content-Type: text/plain\r\n"
                     "Content-Length: %d\r\nX-Read: %lld\r\n\r\n%s",
                     (int)strlen(SMALL), got, SMALL);
    }
}

static int serve(int listen_fd)
{
    FCGX_Request req;

    signal(SIGPIPE, SIG_IGN);
    if (FCGX_InitRequest(&req, listen_fd, 0) != 0) {
        fprintf(stderr, "hello_libfcgi: FCGX_InitRequest failed\n");
        return 1;
    }
    while (FCGX_Accept_r(&req) >= 0) {
        handle(&req);
        FCGX_Finish_r(&req);
    }
    return 0;
}

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv)
{
    const char *path = NULL;
    int nproc = 1, backlog = 1024, opt, fd, i;
    pid_t *kids;

    memset(xbuf, 'x', sizeof(xbuf));
    while ((opt = getopt(argc, argv, "s:n:b:")) != -1) {
        switch (opt) {
        case 's': path = optarg; break;
        case 'n': nproc = atoi(optarg); break;
        case 'b': backlog = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-s socket [-n procs] [-b backlog]]\n",
                    argv[0]);
            return 2;
        }
    }
    if (FCGX_Init() != 0) {
        fprintf(stderr, "hello_libfcgi: FCGX_Init failed\n");
        return 1;
    }
    if (path == NULL) {
        return serve(0); /* started by mod_fcgid: listen socket on fd 0 */
    }
    if (nproc < 1) {
        nproc = 1;
    }
    unlink(path);
    umask(0); /* httpd/nginx children (www-data) must be able to connect */
    fd = FCGX_OpenSocket(path, backlog);
    if (fd < 0) {
        fprintf(stderr, "hello_libfcgi: cannot listen on %s\n", path);
        return 1;
    }
    chmod(path, 0777);

    kids = calloc((size_t)nproc, sizeof(*kids));
    {
        /* no SA_RESTART: wait() must return so the loop sees stop */
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_term;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
    }
    for (i = 0; i < nproc; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            signal(SIGTERM, SIG_DFL);
            signal(SIGINT, SIG_DFL);
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() == 1) {
                _exit(0);
            }
            _exit(serve(fd));
        }
        kids[i] = pid;
    }
    while (!stop) {
        pid_t pid = wait(NULL);
        if (pid < 0 && errno == ECHILD) {
            break;
        }
        if (pid > 0) {
            fprintf(stderr, "hello_libfcgi: child %d exited\n", (int)pid);
        }
    }
    for (i = 0; i < nproc; i++) {
        if (kids[i] > 0) {
            kill(kids[i], SIGTERM);
        }
    }
    while (wait(NULL) > 0 || errno == EINTR) {
    }
    unlink(path);
    return 0;
}
