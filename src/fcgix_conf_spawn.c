/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Settings of spawned applications (process manager limits, the initial
 * environment, wrappers): parsed and stored in the configuration records;
 * fcgix_spawn.c reads them when it starts the process manager and serves
 * requests.
 */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"

#include "fcgix.h"
#include "fcgix_conf.h"
#include "fcgix_conf_cmds.h"

#define SC_OFF(field) APR_OFFSETOF(fcgix_srv_conf_t, field)

/* The int settings of the server record: unit, range, and whether log
 * lines name the setting (fcgix_named_e, -1: not). */
static const struct {
    apr_size_t offset;
    fcgix_unit_e unit;
    apr_int64_t min, max;
    int named;
} spawn_ints[] = {
    { SC_OFF(max_procs), FCGIX_UNIT_COUNT, 1, FCGIX_LIMIT_MAX_PROCS, -1 },
    { SC_OFF(max_class_procs), FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_SPAWN,
      FCGIX_NAMED_MAX_CLASS_PROCS },
    { SC_OFF(min_class_procs), FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_SPAWN, -1 },
    { SC_OFF(idle_timeout), FCGIX_UNIT_SECS, 0, FCGIX_LIMIT_SPAWN, -1 },
    { SC_OFF(lifetime), FCGIX_UNIT_SECS, 0, FCGIX_LIMIT_SPAWN, -1 },
    { SC_OFF(max_requests), FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_SPAWN, -1 },
    { SC_OFF(busy_timeout), FCGIX_UNIT_SECS, 0, FCGIX_LIMIT_SPAWN, -1 },
    { SC_OFF(spawn_wait), FCGIX_UNIT_SECS, 0, FCGIX_LIMIT_SPAWN,
      FCGIX_NAMED_SPAWN_WAIT },
    { SC_OFF(max_user_procs), FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_SPAWN, -1 },
    { SC_OFF(max_user_requests), FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_SPAWN,
      FCGIX_NAMED_MAX_USER_REQUESTS },
};
#define N_SPAWN_INTS (sizeof(spawn_ints) / sizeof(spawn_ints[0]))

const char *fcgix_conf_set_spawn_int(cmd_parms *cmd, void *dc,
                                     const char *arg)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);
    apr_size_t offset = (apr_size_t)cmd->info;
    const char *err;
    apr_int64_t v;
    size_t i;

    (void)dc;
    for (i = 0; i < N_SPAWN_INTS && spawn_ints[i].offset != offset; i++) {
    }
    if (i == N_SPAWN_INTS) {
        return apr_psprintf(cmd->pool, "%s: not a setting of spawned "
                            "applications", cmd->cmd->name);
    }
    err = fcgix_conf_parse_num(cmd->pool, cmd->cmd->name, arg,
                               spawn_ints[i].min, spawn_ints[i].max,
                               spawn_ints[i].unit, &v);
    if (err) {
        return err;
    }
    *(int *)((char *)sc + offset) = (int)v;
    if (spawn_ints[i].named >= 0) {
        fcgix_conf_note_name(cmd, (fcgix_named_e)spawn_ints[i].named,
                             cmd->cmd->name);
    }
    return NULL;
}

const char *fcgix_conf_add_env(cmd_parms *cmd, void *dc, const char *name,
                               const char *value)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);
    const char *nv;
    apr_size_t total;
    int i;

    (void)dc;
    if (!*name || strchr(name, '=')) {
        return apr_psprintf(cmd->pool, "%s: invalid variable name '%s'",
                            cmd->cmd->name, name);
    }
    nv = apr_pstrcat(cmd->pool, name, "=", value ? value : "", NULL);
    /* A virtual host's own lines travel to the process manager with each
     * start, in one message (FCGIX_CONF_ENV_MAX); what did not fit
     * was dropped without a word. The main server's reach every
     * application through the process manager's own environment. */
    if (cmd->server->is_virtual) {
        total = strlen(nv) + 2;
        for (i = 0; i < sc->initial_env->nelts; i++) {
            total += strlen(APR_ARRAY_IDX(sc->initial_env, i,
                                          const char *)) + 1;
        }
        if (total > FCGIX_CONF_ENV_MAX) {
            return apr_psprintf(cmd->pool, "%s %s: the initial environment "
                                "of this virtual host is too large (%d "
                                "bytes in all)", cmd->cmd->name, name,
                                FCGIX_CONF_ENV_MAX);
        }
    }
    APR_ARRAY_PUSH(sc->initial_env, const char *) = nv;
    return NULL;
}

/* [.suffix] [virtual] after a wrapper's command. */
static const char *wrapper_args(cmd_parms *cmd, fcgix_wrapper_t *w,
                                const char *a2, const char *a3)
{
    const char *args[2];
    int i;

    args[0] = a2;
    args[1] = a3;
    for (i = 0; i < 2 && args[i]; i++) {
        if (!strcasecmp(args[i], "virtual")) {
            w->virtual_ = 1;
        }
        else if (args[i][0] == '.' && args[i][1] && !w->suffix) {
            w->suffix = args[i];
        }
        else {
            return apr_psprintf(cmd->pool, "%s: '%s' is neither a suffix "
                                "(.php) nor 'virtual'", cmd->cmd->name,
                                args[i]);
        }
    }
    return NULL;
}

/*
 * A wrapper runs other people's scripts as a long-lived program, so it
 * must be trustworthy: an absolute, existing, executable file nobody but
 * its owner can change.
 */
const char *fcgix_conf_set_wrapper(cmd_parms *cmd, void *dcv,
                                   const char *command, const char *a2,
                                   const char *a3)
{
    fcgix_dir_conf_t *dc = dcv;
    fcgix_wrapper_t *w;
    char **argv;
    struct stat st;
    const char *err;

    if (apr_tokenize_to_argv(command, &argv, cmd->pool) != APR_SUCCESS
        || argv[0] == NULL || argv[0][0] != '/') {
        return apr_psprintf(cmd->pool, "%s: the command must start with an "
                            "absolute path: '%s'", cmd->cmd->name, command);
    }
    if (stat(argv[0], &st) < 0) {
        return apr_psprintf(cmd->pool, "%s: %s: %s", cmd->cmd->name, argv[0],
                            strerror(errno));
    }
    if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
        return apr_psprintf(cmd->pool, "%s: %s is not an executable file",
                            cmd->cmd->name, argv[0]);
    }
    if (st.st_mode & 022) {
        return apr_psprintf(cmd->pool, "%s: %s is writable by group or "
                            "others; refusing to run it", cmd->cmd->name,
                            argv[0]);
    }
    w = apr_pcalloc(cmd->pool, sizeof(*w));
    w->cmd = command;
    w->inode = (apr_uint64_t)st.st_ino;
    w->dev = (apr_uint64_t)st.st_dev;
    if ((err = wrapper_args(cmd, w, a2, a3)) != NULL) {
        return err;
    }
    if (dc->wrappers == NULL) {
        dc->wrappers = apr_array_make(cmd->pool, 2, sizeof(*w));
    }
    APR_ARRAY_PUSH(dc->wrappers, fcgix_wrapper_t) = *w;
    return NULL;
}
