/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_pm.h
 * @brief The process manager: a process forked by the httpd parent that
 *        spawns, watches, retires and reaps FastCGI applications.
 *
 * Layer L1: APR and POSIX (Linux: capabilities, SO_PASSCRED); it logs
 * through a callback the httpd glue supplies (the PM never calls httpd).
 * fcgix_pm_start runs in the httpd parent; fcgix_pm_send and
 * fcgix_pm_msg_key anywhere.
 *
 * The PM runs as httpd's User from right after its fork, keeping at most
 * CAP_KILL (to end applications suexec runs as other users). It believes
 * nothing it shares: classes are defined by checked messages and kept in
 * its own memory, and it signals only its own children.
 *
 * The PM is not tied to httpd's configuration pool: a graceful restart
 * leaves it, and the applications, running. It ends (and ends every
 * application) when the httpd parent is gone. Its applications share its
 * process group: if it dies, the parent ends that group and starts
 * another PM.
 */
#ifndef FCGIX_PM_H
#define FCGIX_PM_H

#include <sys/types.h>

#include "apr_pools.h"
#include "apr_thread_proc.h"

#include "fcgix_sb.h"

/** Log levels of the callback (syslog numbering, as httpd's). */
#define FCGIX_PM_LOG_ERR 3
#define FCGIX_PM_LOG_WARN 4
#define FCGIX_PM_LOG_NOTICE 5
#define FCGIX_PM_LOG_INFO 6
#define FCGIX_PM_LOG_DEBUG 7

typedef void fcgix_pm_log_fn(int level, int err, const char *fmt, ...);

typedef struct fcgix_pm_cfg_t {
    fcgix_sb_t *sb;
    const char *ipc_dir;      /**< private directory of the sockets */
    const char *ctl_path;     /**< the PM's datagram socket */
    uid_t uid;                /**< applications run as this user */
    gid_t gid;
    apr_uint32_t max_procs;   /**< all classes together */
    apr_uint32_t kill_grace;  /**< seconds from SIGTERM to SIGKILL */
    const char *const *env;   /**< NAME=value for every application */
    const char *user_name;    /**< User, for its supplementary groups */
    const char *suexec_bin;   /**< httpd's suexec, or NULL: not enabled */
    fcgix_pm_log_fn *log;
    /** In the PM: from now on, log (and pass applications' stderr) to
     *  @p fd, the error log of httpd's new generation. */
    void (*relog)(int fd);
} fcgix_pm_cfg_t;

/** What a child asks of the PM. */
typedef enum {
    FCGIX_PM_MSG_SPAWN = 1, /**< create the class if needed; spawn if a
                                 request waits and nothing is idle */
    FCGIX_PM_MSG_LOOK = 2,  /**< a slot changed (dead/retiring): look now */
    FCGIX_PM_MSG_LOGS = 3,  /**< from the httpd parent only, with the new
                                 error log's descriptor attached */
    FCGIX_PM_MSG_VHOSTS = 4,/**< parent only: virtual host keys of the new
                                 configuration (uid: how many, in env) */
    FCGIX_PM_MSG_CONFIG = 5,/**< parent only: the new configuration is
                                 complete (after VHOSTS and every static
                                 class's SPAWN): retire what it lacks */
    FCGIX_PM_MSG_DETACH = 6 /**< parent only: the configuration is being
                                 unloaded; without a CONFIG soon, mod_fcgix
                                 is gone: end everything */
} fcgix_pm_msg_type_e;

typedef struct fcgix_pm_msg_t {
    apr_uint32_t type;
    apr_uint32_t vhost;
    apr_uint64_t key;
    apr_uint64_t inode;
    apr_uint64_t dev;
    apr_uint32_t uid;
    apr_uint32_t gid;
    fcgix_sb_limits_t lim;
    char path[FCGIX_SB_PATH_MAX];
    /** Extra environment of the class: NAME=value strings, each ended by
     *  a NUL, the list by an empty string (FastCgiServer -initial-env). */
    char env[2048];
} fcgix_pm_msg_t;

/**
 * Forks the PM. In the parent, @p proc describes it.
 * @p cfg and what it points to must stay valid in the PM (it lives in the
 * forked copy of the parent's memory).
 */
apr_status_t fcgix_pm_start(const fcgix_pm_cfg_t *cfg, apr_pool_t *p,
                            apr_proc_t *proc);

/**
 * The key of the class a SPAWN message defines: a hash of everything in
 * it (program, identity, limits, environment), so that a message that
 * differs in anything names another class.
 */
apr_uint64_t fcgix_pm_msg_key(const fcgix_pm_msg_t *m);

/** Sends a message to the PM (non-blocking datagram; never waits). */
apr_status_t fcgix_pm_send(const char *ctl_path,
                           const fcgix_pm_msg_t *msg);

/**
 * httpd parent, after a restart opened the logs again: hands the PM the
 * error log's descriptor @p fd (FCGIX_PM_MSG_LOGS with SCM_RIGHTS), so
 * that nothing it or its applications write goes to a rotated file.
 */
apr_status_t fcgix_pm_send_log(const char *ctl_path, int fd);

/** Most virtual host keys one VHOSTS message carries. */
#define FCGIX_PM_VHOSTS_PER_MSG \
    (sizeof(((fcgix_pm_msg_t *)0)->env) / sizeof(apr_uint32_t))

#endif /* FCGIX_PM_H */
