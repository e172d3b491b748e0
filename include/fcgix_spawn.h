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

#endif /* FCGIX_SPAWN_H */
