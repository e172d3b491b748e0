/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_pm_int.h
 * @brief The process manager's own tables and the calls between its
 *        files; only the PM's files (src/fcgix_pm*.c) include it.
 *
 * Layer L1, like fcgix_pm.h: APR and POSIX, no httpd. Everything here
 * lives in the PM process alone: its class and slot tables are the ones
 * it believes (the scoreboard only mirrors them, see docs/SECURITY.md).
 *
 * The files, one concern each:
 * - fcgix_pm.c: the entry (fork, dropping to User), the loop and its
 *   tick, shutdown;
 * - fcgix_pm_msg.c: messages: sending, receiving (size, credentials,
 *   descriptors), checking (paths, environment, limits, identity), the
 *   class key, and what each one asks for;
 * - fcgix_pm_class.c: the class table: creating, finding, superseding,
 *   retiring and freeing classes, following the configuration;
 * - fcgix_pm_exec.c: starting an application (socket on fd 0, identity,
 *   suexec, rlimits, the exec-failure pipe) and relaying its stderr;
 * - fcgix_pm_watch.c: applying fcgix_policy_*'s verdicts: timeouts, the
 *   kill policy, starting for waiters, terminating and reaping.
 */
#ifndef FCGIX_PM_INT_H
#define FCGIX_PM_INT_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#include "apr_time.h"

#include "fcgix_pm.h"
#include "fcgix_policy.h"

/* The bytes of a class's limits that define it (the key and the lookup
 * compare these): the struct has no padding before its last field, only
 * after. */
#define FCGIX_PM_LIM_BYTES \
    (offsetof(fcgix_sb_limits_t, priority) + sizeof(apr_int32_t))

/* Which socket file we made: another httpd (a stop and a start that
 * overlap) may have made a new one at the same path since. */
typedef struct {
    dev_t dev;
    ino_t ino; /* 0: none known */
} sock_id_t;

/*
 * A class as the PM knows it. The scoreboard holds a copy for the httpd
 * children to read; anything in shared memory may have been rewritten by
 * code running in a child, so every decision here uses this one.
 */
typedef struct {
    int used;
    int superseded;       /* a newer configuration of the same program */
    int retired;          /* the configuration no longer has it */
    apr_uint32_t gen;     /* static: configuration that last defined it */
    apr_time_t empty_since; /* winding down with nothing left, since */
    apr_uint64_t key;
    char path[FCGIX_SB_PATH_MAX];
    apr_uint64_t inode;
    apr_uint64_t dev;
    apr_uint32_t uid;
    apr_uint32_t gid;
    apr_uint32_t vhost;
    fcgix_sb_limits_t lim;
    char **env;           /* malloc'ed, or NULL: the global one */
    apr_uint32_t workers; /* slots one process is: a master's workers */
    apr_uint32_t nprocs;
    apr_uint32_t failures;
    apr_time_t next_spawn;
    char last_error[FCGIX_SB_ERROR_MAX];
    fcgix_policy_rate_t rate;   /* starts in the current second */
    fcgix_policy_usage_t usage; /* the kill policy's load */
} pm_class_t;

/* A process slot as the PM knows it (never read back from shm). */
typedef struct {
    pid_t pid;            /* our child, not yet reaped; 0: none */
    int master;           /* a worker slot of the master in slot
                             master - 1 (same pid); 0: a process's own */
    apr_uint32_t cls;     /* index into pm_t.classes */
    apr_time_t started;
    apr_time_t term_at;   /* when SIGTERM was sent, 0: not yet */
    apr_time_t free_at;   /* quarantine of a slot we did not fill */
    sock_id_t sock;       /* its listen socket's file */
    int err_fd;           /* read end of its stderr, or -1 */
    int exec_errno;       /* why it could not be started, or 0 */
    int exec_step;        /* which step failed (fcgix_pm_exec.c) */
    int settled;          /* its death was waited for once */
    char line[160];       /* the stderr line being read */
    size_t line_len;
    char last_line[160];  /* the last complete one */
} pm_slot_t;

typedef struct {
    const fcgix_pm_cfg_t *cfg;
    fcgix_sb_t *sb;
    apr_pool_t *p;
    pid_t parent;
    int ctl;
    sock_id_t ctl_id;
    apr_uint32_t hiwater; /* slots [0, hiwater) ever used by us */
    apr_uint32_t total;   /* our live processes */
    apr_uint32_t nslots;  /* process slots, from our own memory */
    pm_slot_t *slots;
    pm_class_t classes[FCGIX_SB_MAX_CLASSES];
    struct pollfd *pfd;   /* nslots + 1 */
    int *pfd_slot;
    /* The configuration, as the parent tells it (VHOSTS ... CONFIG). */
    apr_uint32_t gen;       /* bumped by the first VHOSTS of a new one */
    int config_open;        /* VHOSTS seen, CONFIG not yet */
    apr_uint32_t *pending;  /* virtual host keys being received */
    size_t npending, cap_pending;
    apr_uint32_t *live;     /* those of the configuration in force */
    size_t nlive;
    int have_live;          /* a configuration was ever complete */
    apr_time_t detach_at;   /* DETACH received, no CONFIG since; 0: none */
    int leaving;            /* mod_fcgix was unloaded: end everything */
} pm_t;

/* fcgix_pm.c */

/** Sets the PM's (or a spawned child's) capabilities to @p mask. */
int fcgix_pm_set_caps(apr_uint32_t mask);

/* fcgix_pm_msg.c */

/** Takes one datagram off the PM's socket: @return 2 for a message from
 * the parent, 1 from a child, 0 for one dropped, -1 when none waits. */
int fcgix_pm_msg_recv(pm_t *pm, fcgix_pm_msg_t *m);

/** Acts on a message fcgix_pm_msg_recv() accepted. */
void fcgix_pm_msg_handle(pm_t *pm, fcgix_pm_msg_t *m, int from_parent,
                         apr_time_t now);

/* fcgix_pm_class.c */

/** The class's limits as the policy takes them (our copy, never the
 * scoreboard's). */
void fcgix_pm_class_limits(const pm_class_t *c, fcgix_policy_limits_t *pl);

/** Copies what children read of class @p ci to the scoreboard. */
void fcgix_pm_class_mirror(pm_t *pm, int ci);

/** The class a checked SPAWN message names, or -1. */
int fcgix_pm_class_find(pm_t *pm, apr_uint64_t key,
                        const fcgix_pm_msg_t *m);

/** A new class from a checked message: its index, -1 when the table is
 * full, -2 when another definition has the key. */
int fcgix_pm_class_create(pm_t *pm, const fcgix_pm_msg_t *m,
                          apr_uint64_t key);

/** Why a child may not create the class @p m defines, or NULL. */
const char *fcgix_pm_class_unconfigured(const pm_t *pm,
                                        const fcgix_pm_msg_t *m);

/** The configuration the parent sent is complete: retires what it lacks. */
void fcgix_pm_class_commit(pm_t *pm);

/** Frees classes winding down that nothing uses; ends them all after a
 * DETACH no configuration followed. */
void fcgix_pm_class_tidy(pm_t *pm, apr_time_t now);

/** @return 1 while any class is in use */
int fcgix_pm_class_left(const pm_t *pm);

/* fcgix_pm_exec.c */

/** The socket path of slot @p idx, in @p buf. */
const char *fcgix_pm_sock_path(pm_t *pm, int idx, char *buf, size_t len);

/** Remembers which file the socket bound at @p path is. */
void fcgix_pm_sock_remember(const char *path, sock_id_t *id);

/** Removes the socket file at @p path if it is still the one we made. */
void fcgix_pm_sock_unlink(const char *path, sock_id_t *id);

/** Starts one process of class @p ci (it may fail: the class's nprocs
 * says whether it did). */
void fcgix_pm_exec_spawn(pm_t *pm, int ci, apr_time_t now);

/** Passes what the process of @p ps wrote to stderr on to ours. */
void fcgix_pm_exec_relay(pm_slot_t *ps);

/** Why a process that never served ended, in words, in @p buf. */
void fcgix_pm_exec_why(const pm_class_t *c, const pm_slot_t *ps,
                       int status, char *buf, size_t len);

/* fcgix_pm_watch.c */

/** Slot @p idx's process was reaped (wait status @p status). */
void fcgix_pm_watch_gone(pm_t *pm, int idx, int status, apr_time_t now);

/** Reaps every child of ours that has ended. */
void fcgix_pm_watch_reap(pm_t *pm, apr_time_t now);

/** Timeouts, retirement, SIGTERM's grace and dead httpd children. */
void fcgix_pm_watch_scan(pm_t *pm, apr_time_t now);

/** FastCgiConfig's kill policy, once per tick. */
void fcgix_pm_watch_kill(pm_t *pm, apr_time_t now);

/** Starts what class @p ci wants, within every limit. */
void fcgix_pm_watch_provide(pm_t *pm, int ci, apr_time_t now);

#endif /* FCGIX_PM_INT_H */
