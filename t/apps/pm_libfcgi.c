/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License.  You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * pm_libfcgi: a libfcgi (FCGX_Accept_r) application spawned by mod_fcgix's
 * process manager (t/060-065).  t/TEST.PL builds it into
 * t/htdocs/pm/libfcgi.fcgi:  cc -o ... pm_libfcgi.c -lfcgi
 *
 * It accepts on fd 0 (FCGI_LISTENSOCK_FILENO), the socket the PM passes.
 * Reply (text/plain), one NAME=VALUE per line:
 *   app=libfcgi pid=<pid> uid=<uid> n=<requests served by this process>
 *   script=<SCRIPT_FILENAME> global=<$PM_GLOBAL> static=<$PM_STATIC>
 * Query string: sleep_ms=N sleeps first; env adds env_NAME=VALUE for every
 * variable of the process environment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

extern char **environ;

/* The value of KEY in a query string ("" when present without '='), or
 * NULL. */
static const char *query_get(const char *qs, const char *key, char *buf,
                             size_t len)
{
    size_t kl = strlen(key);
    const char *p = qs;

    while (p && *p) {
        const char *end = strchr(p, '&');
        size_t pl = end ? (size_t)(end - p) : strlen(p);
        if (pl >= kl && !strncmp(p, key, kl)
            && (pl == kl || p[kl] == '=')) {
            size_t vl = pl > kl ? pl - kl - 1 : 0;
            if (vl >= len) {
                vl = len - 1;
            }
            memcpy(buf, p + kl + (pl > kl), vl);
            buf[vl] = '\0';
            return buf;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

int main(void)
{
    FCGX_Request req;
    unsigned long n = 0;
    const char *g = getenv("PM_GLOBAL"), *s = getenv("PM_STATIC");

    if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0) {
        fprintf(stderr, "pm_libfcgi: cannot initialise libfcgi\n");
        return 1;
    }
    while (FCGX_Accept_r(&req) >= 0) {
        const char *qs = FCGX_GetParam("QUERY_STRING", req.envp);
        const char *sf = FCGX_GetParam("SCRIPT_FILENAME", req.envp);
        char buf[64];
        char **e;

        n++;
        if (query_get(qs, "sleep_ms", buf, sizeof(buf))) {
            long ms = atol(buf);
            struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
        FCGX_FPrintF(req.out, "Content-Type: text/plain\r\n\r\n"
                     "app=libfcgi\npid=%ld\nuid=%ld\nn=%lu\nscript=%s\n"
                     "global=%s\nstatic=%s\n", (long)getpid(),
                     (long)getuid(), n, sf ? sf : "", g ? g : "",
                     s ? s : "");
        if (query_get(qs, "env", buf, sizeof(buf))) {
            for (e = environ; *e; e++) {
                FCGX_FPrintF(req.out, "env_%s\n", *e);
            }
        }
        FCGX_Finish_r(&req);
    }
    return 0;
}
