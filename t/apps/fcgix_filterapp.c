/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * fcgix_filterapp: a FastCGI application in the Filter role, built on
 * libfcgi's filter API (FCGX_StartFilterData), for t/044_filter.t.
 *
 * Command line
 *   fcgix_filterapp             the listen socket is fd 0 (spawned by the
 *                               process manager: FcgixFilter to a program
 *                               or a FastCgiServer)
 *   fcgix_filterapp -l PATH     listens on unix socket PATH (mode 0666):
 *                               an external server; SIGTERM ends it
 *
 * Every request: STDIN is read to its end (its length is reported), then
 * FCGX_StartFilterData and the data stream. The reply (by the request's
 * QUERY_STRING):
 *   (default)      Content-Type: text/x-fcgix-upper; X-Role (FCGI_ROLE),
 *                  X-Data-Length (FCGI_DATA_LENGTH), X-Data-Last-Mod
 *                  (FCGI_DATA_LAST_MOD), X-Data-Read (bytes of FCGI_DATA
 *                  read), X-Stdin-Read, X-Pid; the body is the data with
 *                  a-z upper-cased
 *   fail=exit      reads the data, then exits without a reply (no
 *                  END_REQUEST; nothing left unread, so no reset)
 *   fail=bad       a header block with a line that is no field
 *   fail=status    "Status: 503" and a body of its own
 *   fail=redirect  "Location: /elsewhere" (a filter cannot redirect)
 * Not the Filter role (FCGX_StartFilterData fails): Status 500 saying so.
 */

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

static const char *sock_path;

static void on_term(int sig)
{
    (void)sig;
    if (sock_path) {
        unlink(sock_path);
    }
    _exit(0);
}

static int has_query(const char *qs, const char *kv)
{
    size_t n = strlen(kv);

    while (qs && *qs) {
        const char *amp = strchr(qs, '&');
        size_t len = amp ? (size_t)(amp - qs) : strlen(qs);
        if (len == n && !strncmp(qs, kv, n)) {
            return 1;
        }
        qs = amp ? amp + 1 : NULL;
    }
    return 0;
}

static long drain(FCGX_Stream *in)
{
    char buf[8192];
    long total = 0;
    int n;

    while ((n = FCGX_GetStr(buf, sizeof(buf), in)) > 0) {
        total += n;
    }
    return total;
}

static void serve(FCGX_Request *req)
{
    const char *qs = FCGX_GetParam("QUERY_STRING", req->envp);
    const char *role = FCGX_GetParam("FCGI_ROLE", req->envp);
    const char *dlen = FCGX_GetParam("FCGI_DATA_LENGTH", req->envp);
    const char *dmod = FCGX_GetParam("FCGI_DATA_LAST_MOD", req->envp);
    long in_len = drain(req->in), got = 0;
    size_t cap = 65536, used = 0;
    char *data, buf[8192];
    int n;

    if (FCGX_StartFilterData(req->in) != 0) {
        FCGX_FPrintF(req->out, "Status: 500\r\nContent-Type: text/plain"
                     "\r\n\r\nnot a filter request (FCGI_ROLE=%s)\n",
                     role ? role : "-");
        return;
    }
    data = malloc(cap);
    while (data && (n = FCGX_GetStr(buf, sizeof(buf), req->in)) > 0) {
        if (used + (size_t)n > cap) {
            char *more = realloc(data, cap * 2);
            if (more == NULL) {
                break;
            }
            data = more;
            cap *= 2;
        }
        memcpy(data + used, buf, (size_t)n);
        used += (size_t)n;
        got += n;
    }
    if (has_query(qs, "fail=exit")) {
        _exit(3);
    }
    if (has_query(qs, "fail=bad")) {
        FCGX_FPrintF(req->out, "Content-Type: text/plain\r\n"
                     "this line is no field\r\n\r\nbad\n");
    }
    else if (has_query(qs, "fail=status")) {
        FCGX_FPrintF(req->out, "Status: 503 Filter Busy\r\n"
                     "Content-Type: text/plain\r\n\r\nfilter says busy\n");
    }
    else if (has_query(qs, "fail=redirect")) {
        FCGX_FPrintF(req->out, "Location: /elsewhere\r\n\r\n");
    }
    else {
        size_t i;
        for (i = 0; i < used; i++) {
            data[i] = (char)toupper((unsigned char)data[i]);
        }
        FCGX_FPrintF(req->out, "Content-Type: text/x-fcgix-upper\r\n"
                     "X-Role: %s\r\nX-Data-Length: %s\r\n"
                     "X-Data-Last-Mod: %s\r\nX-Data-Read: %ld\r\n"
                     "X-Stdin-Read: %ld\r\nX-Pid: %ld\r\n\r\n",
                     role ? role : "-", dlen ? dlen : "-",
                     dmod ? dmod : "-", got, in_len, (long)getpid());
        if (used) {
            FCGX_PutStr(data, (int)used, req->out);
        }
    }
    free(data);
}

int main(int argc, char **argv)
{
    FCGX_Request req;
    int sock = 0;

    if (FCGX_Init() != 0) {
        fprintf(stderr, "fcgix_filterapp: cannot initialise libfcgi\n");
        return 1;
    }
    if (argc == 3 && !strcmp(argv[1], "-l")) {
        sock_path = argv[2];
        unlink(sock_path);
        umask(0);
        if ((sock = FCGX_OpenSocket(sock_path, 64)) < 0) {
            fprintf(stderr, "fcgix_filterapp: cannot listen on %s\n",
                    sock_path);
            return 1;
        }
        signal(SIGTERM, on_term);
        signal(SIGINT, on_term);
    }
    else if (argc != 1) {
        fprintf(stderr, "usage: fcgix_filterapp [-l /path/to.sock]\n");
        return 2;
    }
    if (FCGX_InitRequest(&req, sock, 0) != 0) {
        fprintf(stderr, "fcgix_filterapp: cannot initialise a request\n");
        return 1;
    }
    while (FCGX_Accept_r(&req) >= 0) {
        serve(&req);
        FCGX_Finish_r(&req);
    }
    return 0;
}
