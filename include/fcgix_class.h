/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_class.h
 * @brief What the process manager is asked to run: the SPAWN message of a
 *        class (a FastCgiServer, a script or its wrapper, an authorizer
 *        program), the identity a FastCgiServer runs as, and the key that
 *        names a virtual host's classes.
 *
 * Layer L2, below the PM's httpd side (fcgix_spawn.c, which registers
 * the FastCgiServer classes) and the upstream layer (fcgix_upstream.c,
 * which asks for a class per request). It sends nothing and keeps no
 * state but what post_config learnt of each FastCgiServer program.
 */
#ifndef FCGIX_CLASS_H
#define FCGIX_CLASS_H

#include "httpd.h"

#include "fcgix_conf.h"
#include "fcgix_pm.h"
#include "fcgix_sb.h"

/**
 * Names virtual host @p vs for its classes: a hash of its name, port and
 * addresses (never 0, which is for static classes).
 */
apr_uint32_t fcgix_class_vhost_key(server_rec *vs);

/**
 * post_config: checks every FastCgiServer program (an executable file)
 * and resolves who runs it (-user/-group through suexec). Logs and
 * returns !OK on the first that fails.
 */
int fcgix_class_post_config(apr_pool_t *pconf, server_rec *s);

/** The class of FastCgiServer @p srv (as post_config found it). */
void fcgix_class_static_msg(const fcgix_server_t *srv, fcgix_pm_msg_t *m);

/**
 * The class of the script @p r names (or of the FcgidWrapper that runs
 * it), after checking that it may be run.
 * @return OK, or an HTTP status (logged)
 */
int fcgix_class_script_msg(request_rec *r, fcgix_pm_msg_t *m);

/**
 * The class of authorizer program @p path (FcgidAuthorizer and friends
 * naming no FastCgiServer), spawned as httpd's User.
 * @return OK, or an HTTP status (logged)
 */
int fcgix_class_program_msg(request_rec *r, const char *path,
                            fcgix_pm_msg_t *m);

/**
 * 503 for a class in start back-off, at once, with Retry-After = what is
 * left of it, and one line naming the cause the PM recorded.
 */
int fcgix_class_backing_off(request_rec *r, fcgix_sb_class_t *c);

/** Whether @p c is in start back-off with no process that could serve. */
int fcgix_class_in_backoff(const fcgix_sb_class_t *c);

/** Requests in flight in the classes of user @p uid, all together. */
apr_uint32_t fcgix_class_user_inflight(fcgix_sb_t *sb, apr_uint32_t uid);

/** FcgidCmdOptions of command @p cmd in @p sc, or NULL. */
const fcgix_cmd_options_t *fcgix_class_cmd_options(
    const fcgix_srv_conf_t *sc, const char *cmd);

#endif /* FCGIX_CLASS_H */
