/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * bench/apps/bodycopy.c - does splice(2) move a request body from the
 * client's TCP socket to the application's unix socket for less CPU than
 * recv + writev?  Issue 19 asks for splice "if it measures better"; this
 * measures it outside httpd, with nothing else in the way: one process
 * sends bodies over loopback TCP, one discards them behind a unix socket,
 * and the process in the middle (the one measured, as httpd would be)
 * frames them as FastCGI STDIN records of 65528 bytes, either
 *
 *   copy:   recv up to 256 KiB into a buffer, writev header + payload
 *           (what src/fcgix_body.c + fcgix_send.c do), or
 *   splice: splice TCP -> pipe (moves page references), write the 8-byte
 *           header, splice pipe -> unix socket.
 *
 * Output: the middle process's user + system CPU per MiB and its system
 * calls per MiB, for each mode, in rounds that alternate the modes (so a
 * burst of load on the machine hits both alike), and the median of each.
 * Usage: bodycopy [MiB per mode and round] [rounds] [unix|tcp]
 * (tcp: the application listens on loopback TCP instead, as an external
 * server on another host would).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define REC 65528u
#define MIB (1024u * 1024u)

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void put_header(unsigned char *h, unsigned len)
{
    h[0] = 1;   /* version */
    h[1] = 5;   /* FCGI_STDIN */
    h[2] = 0;
    h[3] = 1;   /* request id 1 */
    h[4] = (unsigned char)(len >> 8);
    h[5] = (unsigned char)len;
    h[6] = 0;   /* no padding: REC is a multiple of 8 */
    h[7] = 0;
}

/* Writes all of iov, counting the calls. */
static void writev_all(int fd, struct iovec *iov, int n, long *calls)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        (*calls)++;
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("writev");
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
}

static long move_copy(int in, int out, size_t total)
{
    static char buf[256 * 1024];
    unsigned char hdr[8][8];
    long calls = 0;

    while (total > 0) {
        struct iovec iov[16];
        size_t want = total < sizeof(buf) ? total : sizeof(buf), off = 0;
        ssize_t r = recv(in, buf, want, 0);
        int n = 0, k = 0;

        calls++;
        if (r <= 0) {
            die("recv");
        }
        total -= (size_t)r;
        while (off < (size_t)r) {
            unsigned len = (size_t)r - off > REC ? REC : (unsigned)(r - off);
            put_header(hdr[k], len);
            iov[n].iov_base = hdr[k++];
            iov[n++].iov_len = 8;
            iov[n].iov_base = buf + off;
            iov[n++].iov_len = len;
            off += len;
        }
        writev_all(out, iov, n, &calls);
    }
    return calls;
}

static long move_splice(int in, int out, size_t total, int pfd[2])
{
    long calls = 0;

    while (total > 0) {
        size_t want = total < REC ? total : REC;
        ssize_t got = splice(in, NULL, pfd[1], NULL, want, SPLICE_F_MOVE);
        unsigned char hdr[8];
        struct iovec iov;
        ssize_t left;

        calls++;
        if (got <= 0) {
            die("splice in");
        }
        put_header(hdr, (unsigned)got);
        iov.iov_base = hdr;
        iov.iov_len = 8;
        writev_all(out, &iov, 1, &calls);
        for (left = got; left > 0;) {
            ssize_t s = splice(pfd[0], NULL, out, NULL, (size_t)left,
                               SPLICE_F_MOVE);
            calls++;
            if (s <= 0) {
                die("splice out");
            }
            left -= s;
        }
        total -= (size_t)got;
    }
    return calls;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double cpu_us(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec
         + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

int main(int argc, char **argv)
{
    unsigned mib = argc > 1 ? (unsigned)atoi(argv[1]) : 512;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    int use_tcp = argc > 3 && strcmp(argv[3], "tcp") == 0;
    struct sockaddr_in sin, tin;
    struct sockaddr_un sun;
    socklen_t sl = sizeof(sin);
    int lt, lu, tcp, ux, pfd[2], r, mode;
    double *per[2];
    long ncalls[2] = { 0, 0 };
    pid_t sender, sink;
    char path[64];

    lt = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lt < 0 || bind(lt, (struct sockaddr *)&sin, sizeof(sin)) < 0
        || listen(lt, 1) < 0
        || getsockname(lt, (struct sockaddr *)&sin, &sl) < 0) {
        die("tcp listen");
    }
    snprintf(path, sizeof(path), "/tmp/fcgix-bodycopy-%d.sock",
             (int)getpid());
    unlink(path);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    memset(&tin, 0, sizeof(tin));
    tin.sin_family = AF_INET;
    tin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sl = sizeof(tin);
    lu = socket(use_tcp ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
    if (lu < 0
        || (use_tcp ? bind(lu, (struct sockaddr *)&tin, sizeof(tin))
                    : bind(lu, (struct sockaddr *)&sun, sizeof(sun))) < 0
        || listen(lu, 1) < 0
        || (use_tcp && getsockname(lu, (struct sockaddr *)&tin, &sl) < 0)) {
        die("application listen");
    }
    sink = fork();
    if (sink == 0) {
        static char b[256 * 1024];
        int c = accept(lu, NULL, NULL);
        while (read(c, b, sizeof(b)) > 0) {
        }
        _exit(0);
    }
    sender = fork();
    if (sender == 0) {
        static char b[256 * 1024];
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
            _exit(1);
        }
        memset(b, 'x', sizeof(b));
        for (;;) {
            if (write(c, b, sizeof(b)) < 0) {
                _exit(0);
            }
        }
    }
    tcp = accept(lt, NULL, NULL);
    ux = socket(use_tcp ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
    if (tcp < 0 || ux < 0
        || (use_tcp ? connect(ux, (struct sockaddr *)&tin, sizeof(tin))
                    : connect(ux, (struct sockaddr *)&sun, sizeof(sun))) < 0
        || pipe(pfd) < 0) {
        die("connect");
    }
    fcntl(pfd[1], F_SETPIPE_SZ, 256 * 1024);
    /* Warm both paths up, then alternate them. */
    move_copy(tcp, ux, 16 * (size_t)MIB);
    move_splice(tcp, ux, 16 * (size_t)MIB, pfd);
    per[0] = calloc((size_t)rounds, sizeof(double));
    per[1] = calloc((size_t)rounds, sizeof(double));
    if (rounds < 1 || per[0] == NULL || per[1] == NULL) {
        die("rounds");
    }
    printf("| round | mode | µs CPU per MiB | system calls per MiB |\n"
           "|---:|---|---:|---:|\n");
    for (r = 1; r <= rounds; r++) {
        for (mode = 0; mode < 2; mode++) {
            double t0 = cpu_us();
            long calls = mode ? move_splice(tcp, ux, (size_t)mib * MIB, pfd)
                              : move_copy(tcp, ux, (size_t)mib * MIB);
            double t = cpu_us() - t0;
            per[mode][r - 1] = t / mib;
            ncalls[mode] += calls;
            printf("| %d | %s | %.0f | %.1f |\n", r,
                   mode ? "splice" : "copy", t / mib, (double)calls / mib);
        }
    }
    for (mode = 0; mode < 2; mode++) {
        qsort(per[mode], (size_t)rounds, sizeof(double), by_value);
        printf("\n%s: median %.0f µs CPU per MiB (min %.0f, max %.0f), "
               "%.1f system calls per MiB\n", mode ? "splice" : "copy",
               per[mode][rounds / 2], per[mode][0], per[mode][rounds - 1],
               (double)ncalls[mode] / ((double)mib * rounds));
    }
    kill(sender, SIGKILL);
    close(tcp);
    close(ux);
    waitpid(sender, NULL, 0);
    waitpid(sink, NULL, 0);
    unlink(path);
    return 0;
}
