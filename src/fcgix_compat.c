/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * mod_fastcgi's and mod_fcgid's server definitions (FastCgiServer,
 * FastCgiExternalServer and their older names) as native server records,
 * and the old settings that have nothing left to change. The settings of
 * spawned applications are in fcgix_compat_spawn.c, the old module names
 * in fcgix_compat_names.c.
 */

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <strings.h>

#include "apr_strings.h"
#include "apr_lib.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"
#include "http_core.h"

#include "fcgix.h"
#include "fcgix_conf.h"
#include "fcgix_conf_cmds.h"
#include "fcgix_compat.h"

#define TIME_MAX apr_time_from_sec(FCGIX_LIMIT_SECS)

/*
 * Options FastCgiServer and FastCgiExternalServer share.
 * @return 1 when @p opt is one of them (*err set on a bad value), else 0
 */
static int common_option(cmd_parms *cmd, fcgix_server_t *srv,
                         const char *opt, const char *val, const char **err)
{
    *err = NULL;
    if (!strcasecmp(opt, "-appConnTimeout")) {
        /* 0 meant a blocking connect; ours are always bounded. */
        *err = fcgix_conf_option_time(cmd, opt, val, 0, TIME_MAX,
                                      &srv->connect_timeout);
    }
    else if (!strcasecmp(opt, "-idle-timeout")) {
        /* 0: the server-wide I/O timeout, as the option left out. */
        *err = fcgix_conf_option_time(cmd, opt, val, 0, TIME_MAX,
                                      &srv->io_timeout);
    }
    else if (!strcasecmp(opt, "-pass-header")) {
        *err = fcgix_conf_check_pass_header(
                   cmd->pool, fcgix_conf_what(cmd, opt), val);
        APR_ARRAY_PUSH(srv->pass_headers, const char *) = val;
    }
    else {
        return 0;
    }
    return 1;
}

/* Both server directives start alike: a path, then options. */
static const char *server_new(cmd_parms *cmd, int argc, char *const argv[],
                              fcgix_server_t **srv)
{
    if (argc < 1) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " needs a path",
                           NULL);
    }
    return fcgix_conf_server_open(cmd, argv[0], srv);
}

/*
 * The option word at argv[*i]: -flush and -nph stand alone (applied here,
 * *val NULL); every other takes the next word as its value (*val, and *i
 * moves past it).
 * @return NULL, or the error for an option without a value
 */
static const char *option_word(cmd_parms *cmd, fcgix_server_t *srv,
                               int argc, char *const argv[], int *i,
                               const char **val)
{
    const char *opt = argv[*i];

    *val = NULL;
    if (!strcasecmp(opt, "-flush")) {
        srv->flush = 1;
        return NULL;
    }
    if (!strcasecmp(opt, "-nph")) {
        srv->nph = 1;
        return NULL;
    }
    if (*i + 1 >= argc) {
        return apr_psprintf(cmd->pool, "%s %s: option %s needs a value or "
                            "is unknown", cmd->cmd->name, argv[0], opt);
    }
    *val = argv[++*i];
    return NULL;
}

/* One option with its value; 0 when @p opt is not one of the
 * directive's (*err says why a known one is refused). */
typedef int option_fn(cmd_parms *cmd, fcgix_server_t *srv, const char *what,
                      const char *opt, const char *val, const char **err);

/* The options after the path, flags applied on the way. */
static const char *parse_options(cmd_parms *cmd, fcgix_server_t *srv,
                                 int argc, char *const argv[],
                                 option_fn *fn)
{
    const char *err;
    int i;

    for (i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val;

        if ((err = option_word(cmd, srv, argc, argv, &i, &val)) != NULL) {
            return err;
        }
        if (val == NULL) {
            continue; /* a flag, applied */
        }
        if (!fn(cmd, srv, argv[0], opt, val, &err)) {
            return apr_psprintf(cmd->pool, "%s %s: unknown option %s",
                                cmd->cmd->name, argv[0], opt);
        }
        if (err) {
            return err;
        }
    }
    return NULL;
}

/*
 * mod_fastcgi options are case-insensitive and take their value as the
 * next word. mod_fastcgi kept only the last of several -host/-socket
 * options; we keep them all as alternative addresses.
 */
static int external_option(cmd_parms *cmd, fcgix_server_t *srv,
                           const char *what, const char *opt,
                           const char *val, const char **err)
{
    const char *name = cmd->cmd->name;
    fcgix_addr_t *addr;
    const char *spec;

    *err = NULL;
    if (!strcasecmp(opt, "-user") || !strcasecmp(opt, "-group")) {
        /* An identity for FastCgiWrapper; an external server runs as
         * whoever started it. */
        return 1;
    }
    if (strcasecmp(opt, "-host") && strcasecmp(opt, "-socket")) {
        return common_option(cmd, srv, opt, val, err);
    }
    spec = !strcasecmp(opt, "-socket")
           ? apr_pstrcat(cmd->pool, "unix:", fcgix_conf_ipc_path(cmd, val),
                         NULL)
           : val;
    if ((*err = fcgix_addr_parse(cmd->pool, spec, 0, &addr)) != NULL) {
        *err = apr_psprintf(cmd->pool, "%s %s: %s", name, what, *err);
    }
    else if (srv->addrs->nelts == FCGIX_POOL_MAX_ADDRS) {
        *err = apr_psprintf(cmd->pool, "%s %s: at most %d addresses", name,
                            what, FCGIX_POOL_MAX_ADDRS);
    }
    else {
        APR_ARRAY_PUSH(srv->addrs, fcgix_addr_t *) = addr;
    }
    return 1;
}

const char *fcgix_compat_external_server(cmd_parms *cmd, void *dc, int argc,
                                         char *const argv[])
{
    fcgix_server_t *srv = NULL;
    const char *err;

    (void)dc;
    if ((err = server_new(cmd, argc, argv, &srv)) != NULL
        || (err = parse_options(cmd, srv, argc, argv, external_option))
           != NULL
        || (err = fcgix_conf_server_names(cmd, srv)) != NULL) {
        return err;
    }
    return fcgix_conf_add_server(cmd, srv);
}

/*
 * The id "#n" names, or the one @p name resolves to (a group when @p
 * group, else a user, whose own group goes to @p ugid when not NULL).
 * @return 0 when the name is unknown here
 */
static int config_id(const char *name, int group, apr_uint32_t *id,
                     apr_uint32_t *ugid)
{
    char *end;

    if (name[0] == '#') {
        unsigned long v = strtoul(name + 1, &end, 10);
        if (!apr_isdigit(name[1]) || *end) {
            return 0;
        }
        *id = (apr_uint32_t)v;
        return 1;
    }
    if (group) {
        struct group *gr = getgrnam(name);
        if (gr) {
            *id = (apr_uint32_t)gr->gr_gid;
        }
        return gr != NULL;
    }
    else {
        struct passwd *pw = getpwnam(name);
        if (pw) {
            *id = (apr_uint32_t)pw->pw_uid;
            if (ugid) {
                *ugid = (apr_uint32_t)pw->pw_gid;
            }
        }
        return pw != NULL;
    }
}

/*
 * -user/-group naming root (uid or gid 0) fail while the configuration is
 * read, so that `apache2 -t` catches them before a restart does. This
 * holds without FastCgiWrapper too: the switch may come later in the file,
 * or be turned on one day, and then this line would mean root. Names not
 * known here are left to the start (FCGIX00189), which also checks the
 * ids again in case the user database changed meanwhile.
 */
static const char *refuse_root(cmd_parms *cmd, const char *path,
                               const char *user, const char *group)
{
    apr_uint32_t uid = 1, gid = 1, ugid = 1;
    int have_ugid = 0;

    if (user && config_id(user, 0, &uid, &ugid)) {
        have_ugid = user[0] != '#';
    }
    if (group) {
        config_id(group, 1, &gid, NULL);
    }
    else if (have_ugid) {
        gid = ugid; /* no -group: the user's own group is used */
    }
    if (uid != 0 && gid != 0) {
        return NULL;
    }
    return apr_psprintf(cmd->pool, "%s %s: refusing to run an application "
                        "as root (-user %s, -group %s: %s 0)",
                        cmd->cmd->name, path, user ? user : "-",
                        group ? group : "-", uid == 0 ? "uid" : "gid");
}

/*
 * FastCgiServer's own options with a value (-processes ...). Every
 * instance gets its own socket from the process manager, so -socket,
 * -port and -listen-queue-depth name nothing here; they are accepted so
 * that configurations keep working.
 * @return 0 when @p opt is none of them
 */
static int static_option(cmd_parms *cmd, fcgix_server_t *srv,
                         const char *what, const char *opt, const char *val,
                         const char **err)
{
    (void)what;
    *err = NULL;
    if (!strcasecmp(opt, "-processes")) {
        *err = fcgix_conf_option_int(cmd, opt, val, 1,
                                     FCGIX_LIMIT_SERVER_PROCS,
                                     FCGIX_UNIT_COUNT, &srv->processes);
    }
    else if (!strcasecmp(opt, "-restart-delay")) {
        *err = fcgix_conf_option_int(cmd, opt, val, 0, FCGIX_LIMIT_SECS,
                                     FCGIX_UNIT_SECS, &srv->restart_delay);
    }
    else if (!strcasecmp(opt, "-priority")) {
        *err = fcgix_conf_option_int(cmd, opt, val, 0, FCGIX_LIMIT_PRIORITY,
                                     FCGIX_UNIT_COUNT, &srv->priority);
    }
    else if (!strcasecmp(opt, "-initial-env")) {
        const char *nv = strchr(val, '=') ? val
                       : apr_pstrcat(cmd->pool, val, "=",
                                     getenv(val) ? getenv(val) : "", NULL);
        if ((*err = fcgix_conf_server_env(cmd->pool, srv, nv)) != NULL) {
            *err = apr_psprintf(cmd->pool, "%s %s: %s", cmd->cmd->name,
                                srv->path, *err);
        }
    }
    else if (!strcasecmp(opt, "-user")) {
        /* Used with FastCgiWrapper On: the application runs as this
         * user through httpd's suexec (see fcgix_spawn). */
        srv->run_user = val;
    }
    else if (!strcasecmp(opt, "-group")) {
        srv->run_group = val;
    }
    else if (!strcasecmp(opt, "-port")) {
        *err = fcgix_conf_option_int(cmd, opt, val, 0, FCGIX_LIMIT_PORT,
                                     FCGIX_UNIT_COUNT, NULL);
    }
    else if (!strcasecmp(opt, "-listen-queue-depth")) {
        *err = fcgix_conf_option_int(cmd, opt, val, 0, FCGIX_LIMIT_SPAWN,
                                     FCGIX_UNIT_COUNT, NULL);
    }
    else if (!strcasecmp(opt, "-init-start-delay")
             || !strcasecmp(opt, "-min-server-life")) {
        *err = fcgix_conf_option_int(cmd, opt, val, 0, FCGIX_LIMIT_SPAWN,
                                     FCGIX_UNIT_SECS, NULL);
    }
    else if (strcasecmp(opt, "-socket")) {
        return common_option(cmd, srv, opt, val, err);
    }
    return 1;
}

/*
 * mod_fastcgi: FastCgiServer <path> [-processes n] [-initial-env n=v]
 *     [-idle-timeout n] [-restart-delay n] [-pass-header name] [-flush]
 *     [-appConnTimeout n] [-listen-queue-depth n] [-init-start-delay n]
 *     [-min-server-life n] [-priority n] [-socket name | -port n]
 */
const char *fcgix_compat_server(cmd_parms *cmd, void *dc, int argc,
                                char *const argv[])
{
    fcgix_server_t *srv = NULL;
    const char *err;

    (void)dc;
    if ((err = server_new(cmd, argc, argv, &srv)) != NULL) {
        return err;
    }
    srv->managed = 1;
    srv->processes = 1;
    srv->restart_delay = 5;
    if ((err = parse_options(cmd, srv, argc, argv, static_option)) != NULL) {
        return err;
    }
    if ((err = refuse_root(cmd, argv[0], srv->run_user,
                           srv->run_group)) != NULL) {
        return err;
    }
    return fcgix_conf_add_server(cmd, srv);
}

/* A directive taken without effect: said once per configuration that
 * runs (httpd's start and each restart; not `apache2 -t`, nor the start's
 * first pass, which only checks), at @p level; @p fmt names it with one
 * %s. */
static const char *accepted(cmd_parms *cmd, int level, const char *fmt)
{
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_CONFIG) {
        ap_log_error(APLOG_MARK, level, 0, cmd->server, fmt,
                     cmd->cmd->name);
    }
    return NULL;
}

/*
 * Settings of mod_fcgid and mod_fastcgi that only tuned their own
 * machinery (scan intervals, spawn scores, the shared-memory file name):
 * the process manager here watches continuously and rate-limits spawns
 * itself, so they are accepted and have nothing left to change.
 */
const char *fcgix_compat_ignore(cmd_parms *cmd, void *dc, const char *args)
{
    (void)dc;
    (void)args;
    return accepted(cmd, APLOG_DEBUG, FCGIX_LOGNO(00180) "%s has no effect "
                    "with mod_fcgix (not needed)");
}

/* Windows-only settings: accepted, with one notice per start. */
const char *fcgix_compat_windows(cmd_parms *cmd, void *dc, const char *args)
{
    (void)dc;
    (void)args;
    return accepted(cmd, APLOG_NOTICE, FCGIX_LOGNO(00181) "%s applies to "
                    "Windows only; ignored");
}
