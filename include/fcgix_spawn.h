/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_spawn.h
 * @brief Applications mod_fcgix starts itself (AddHandler fastcgi-script,
 *        fcgid-script): the process manager's httpd side.
 *
 * Layer L2. post_config creates the scoreboard and forks the PM once per
 * httpd parent (kept over graceful restarts) and tells it the
 * configuration (virtual hosts, FastCgiServer classes). The upstream
 * layer (fcgix_upstream.c) serves requests with the PM's processes
 * through the scoreboard and fcgix_spawn_send(); the status page reads
 * the scoreboard.
 */
#ifndef FCGIX_SPAWN_H
#define FCGIX_SPAWN_H

#include "httpd.h"
#include "http_config.h"

#include "fcgix_conf.h"
#include "fcgix_pm.h"

void fcgix_spawn_register_hooks(apr_pool_t *p);

/** The scoreboard of spawned applications, or NULL when none runs. */
struct fcgix_sb_t *fcgix_spawn_scoreboard(void);

/** The name of the virtual host whose classes carry key @p key
 *  ("name:port"), for the status page. */
const char *fcgix_spawn_vhost_name(apr_pool_t *p, apr_uint32_t key);

/** The IPC directory of the running PM (its sockets are there). */
const char *fcgix_spawn_ipc_dir(void);

/** Sends @p m to the PM (a datagram; may be lost, nothing waits). */
apr_status_t fcgix_spawn_send(const fcgix_pm_msg_t *m);

/** Directive handler: cmd->info is the offset of an int in the server
 *  config; the value is a whole number >= 0. */
const char *fcgix_spawn_set_int(cmd_parms *cmd, void *dc, const char *arg);
const char *fcgix_spawn_add_env(cmd_parms *cmd, void *dc, const char *name,
                                const char *value);

/** FcgidWrapper / FcgixWrapper <command> [suffix] [virtual]. */
const char *fcgix_spawn_set_wrapper(cmd_parms *cmd, void *dc,
                                    const char *command, const char *a2,
                                    const char *a3);

#define FCGIX_SPAWN_INT(name, field, help)                                 \
    AP_INIT_TAKE1(name, fcgix_conf_set_spawn_int,                          \
                  (void *)APR_OFFSETOF(fcgix_srv_conf_t, field), RSRC_CONF, \
                  help)

#define FCGIX_SPAWN_CMDS                                                   \
    FCGIX_SPAWN_INT("FcgixMaxProcesses", max_procs,                        \
                    "spawned processes of all classes together (1000)"),   \
    FCGIX_SPAWN_INT("FcgixMaxProcessesPerClass", max_class_procs,          \
                    "processes of one application (100)"),                 \
    FCGIX_SPAWN_INT("FcgixMinProcessesPerClass", min_class_procs,          \
                    "processes kept once started (3)"),                    \
    FCGIX_SPAWN_INT("FcgixIdleTimeout", idle_timeout,                      \
                    "seconds before an idle process above the minimum "    \
                    "ends (300, 0: never)"),                               \
    FCGIX_SPAWN_INT("FcgixProcessLifeTime", lifetime,                      \
                    "seconds after which an idle process ends (3600)"),    \
    FCGIX_SPAWN_INT("FcgixMaxRequestsPerProcess", max_requests,            \
                    "requests before a process ends (0: unlimited)"),      \
    FCGIX_SPAWN_INT("FcgixBusyTimeout", busy_timeout,                      \
                    "seconds one request may keep a process (300)"),       \
    FCGIX_SPAWN_INT("FcgixSpawnWait", spawn_wait,                          \
                    "seconds a request waits for a free process before "   \
                    "503 (60)"),                                           \
    FCGIX_SPAWN_INT("FcgixMaxProcessesPerUser", max_user_procs,            \
                    "processes of one user's applications together "       \
                    "(0: no limit)"),                                      \
    FCGIX_SPAWN_INT("FcgixMaxRequestsPerUser", max_user_requests,          \
                    "requests in flight for one user's applications; "     \
                    "more get 503 at once (0: no limit)"),                 \
    AP_INIT_TAKE123("FcgixWrapper", fcgix_spawn_set_wrapper, NULL,         \
                    RSRC_CONF | ACCESS_CONF | OR_FILEINFO,                 \
                    "<command> [.suffix] [virtual]: run scripts through "  \
                    "this FastCGI program"),                               \
    AP_INIT_TAKE12("FcgixInitialEnv", fcgix_spawn_add_env, NULL,           \
                   RSRC_CONF, "NAME [value]: environment of spawned "      \
                   "applications"),

#endif /* FCGIX_SPAWN_H */
