/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * The old names of settings of spawned applications: mod_fcgid's
 * FcgidCmdOptions, FcgidOutputBufferSize, FcgidFixPathinfo and
 * FcgidMaxRequestsPerProcess; mod_fastcgi's FastCgiConfig and
 * FastCgiWrapper. Each builds the native records (include/fcgix_compat.h
 * lists them with the rest of the old vocabulary).
 */

#include <stdlib.h>
#include <strings.h>

#include "apr_hash.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"

#include "fcgix.h"
#include "fcgix_conf.h"
#include "fcgix_conf_cmds.h"
#include "fcgix_compat.h"

#define TIME_MAX apr_time_from_sec(FCGIX_LIMIT_SECS)

/* mod_fcgid: -1 meant "unlimited" as 0 does. */
const char *fcgix_compat_max_requests(cmd_parms *cmd, void *dc,
                                      const char *arg)
{
    return fcgix_conf_set_spawn_int(cmd, dc, strcmp(arg, "-1") ? arg : "0");
}

static int flag_value(const char *arg)
{
    if (!strcasecmp(arg, "on") || !strcmp(arg, "1")) {
        return 1;
    }
    if (!strcasecmp(arg, "off") || !strcmp(arg, "0")) {
        return 0;
    }
    return -1;
}

const char *fcgix_compat_fix_pathinfo(cmd_parms *cmd, void *dc,
                                      const char *arg)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);
    int v = flag_value(arg);

    (void)dc;
    if (v < 0) {
        return apr_psprintf(cmd->pool, "%s takes 0 or 1", cmd->cmd->name);
    }
    sc->fix_pathinfo = v;
    return NULL;
}

const char *fcgix_compat_output_buffer(cmd_parms *cmd, void *dc,
                                       const char *arg)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);
    apr_int64_t v;
    const char *err = fcgix_conf_parse_num(cmd->pool, cmd->cmd->name, arg,
                                           0, FCGIX_LIMIT_BYTES,
                                           FCGIX_UNIT_BYTES, &v);

    (void)dc;
    if (err) {
        return err;
    }
    /* Output is passed on whenever the application pauses; a size of 0
     * asks for every read to be flushed at once. */
    sc->output_buffer = v > 0x7fffffff ? 0x7fffffff : (int)v;
    return NULL;
}

#define OPT_OFF(field) APR_OFFSETOF(fcgix_cmd_options_t, field)

/* FcgidCmdOptions' numbers: where each goes (an int, or for TIME an
 * apr_interval_time_t) and what it takes. */
static const struct {
    const char *name;
    fcgix_unit_e unit;
    apr_size_t offset;
} cmd_nums[] = {
    { "IOTimeout", FCGIX_UNIT_TIME, OPT_OFF(io_timeout) },
    { "ConnectTimeout", FCGIX_UNIT_TIME, OPT_OFF(connect_timeout) },
    { "IdleTimeout", FCGIX_UNIT_SECS, OPT_OFF(idle_timeout) },
    { "MaxProcessLifeTime", FCGIX_UNIT_SECS, OPT_OFF(lifetime) },
    { "MaxProcesses", FCGIX_UNIT_COUNT, OPT_OFF(max_procs) },
    { "MinProcesses", FCGIX_UNIT_COUNT, OPT_OFF(min_procs) },
    { "MaxRequestsPerProcess", FCGIX_UNIT_COUNT, OPT_OFF(max_requests) },
    { NULL, FCGIX_UNIT_COUNT, 0 }
};

static const char *cmd_option(cmd_parms *cmd, fcgix_cmd_options_t *o,
                              const char *opt, const char *val)
{
    char *field;
    apr_int64_t v;
    const char *err;
    int i;

    if (!strcasecmp(opt, "InitialEnv")) {
        return fcgix_conf_env_add(cmd->pool, o->env, sizeof(o->env),
                                  &o->env_len,
                                  strchr(val, '=') ? val
                                  : apr_pstrcat(cmd->pool, val, "=", NULL));
    }
    if (!strcasecmp(opt, "Workers")) {
        /* ours: a master of N workers (php-cgi PHP_FCGI_CHILDREN=N) */
        return fcgix_conf_option_int(cmd, opt, val, 1, 256,
                                     FCGIX_UNIT_COUNT, &o->workers);
    }
    for (i = 0; cmd_nums[i].name && strcasecmp(opt, cmd_nums[i].name); i++) {
    }
    if (cmd_nums[i].name == NULL) {
        return apr_psprintf(cmd->pool, "%s: unknown option '%s'",
                            cmd->cmd->name, opt);
    }
    /* mod_fcgid: -1 requests meant "unlimited" as 0 does. */
    if (!strcmp(val, "-1") && cmd_nums[i].offset == OPT_OFF(max_requests)) {
        val = "0";
    }
    err = fcgix_conf_parse_num(cmd->pool, fcgix_conf_what(cmd, opt), val, 0,
                               cmd_nums[i].unit == FCGIX_UNIT_TIME
                               ? apr_time_from_sec(FCGIX_LIMIT_SECS)
                               : FCGIX_LIMIT_SPAWN,
                               cmd_nums[i].unit, &v);
    field = (char *)o + cmd_nums[i].offset;
    if (err == NULL && cmd_nums[i].unit == FCGIX_UNIT_TIME) {
        *(apr_interval_time_t *)field = v;
    }
    else if (err == NULL) {
        *(int *)field = (int)v;
    }
    return err;
}

/*
 * mod_fcgid: FcgidCmdOptions <command> <option value>...
 * Options for one application, overriding the server's.
 */
const char *fcgix_compat_cmd_options(cmd_parms *cmd, void *dc, int argc,
                                     char *const argv[])
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);
    fcgix_cmd_options_t *o;
    const char *err = NULL;
    int i;

    (void)dc;
    if (argc < 1) {
        return "FcgidCmdOptions needs a command";
    }
    o = apr_pcalloc(cmd->pool, sizeof(*o));
    o->max_procs = o->min_procs = o->idle_timeout = FCGIX_UNSET;
    o->lifetime = o->max_requests = o->workers = FCGIX_UNSET;
    o->io_timeout = o->connect_timeout = FCGIX_UNSET;
    for (i = 1; i < argc && err == NULL; i += 2) {
        if (i + 1 >= argc) {
            return apr_psprintf(cmd->pool, "%s: %s needs a value",
                                cmd->cmd->name, argv[i]);
        }
        err = cmd_option(cmd, o, argv[i], argv[i + 1]);
    }
    if (err == NULL) {
        apr_hash_set(sc->cmd_options, argv[0], APR_HASH_KEY_STRING, o);
    }
    return err;
}

#define SC_OFF(field) APR_OFFSETOF(fcgix_srv_conf_t, field)
#define NOWHERE ((apr_size_t)-1)

/* FastCgiConfig's whole numbers: where each goes in the server record
 * (NOWHERE: checked, not needed here; see below) and what it takes. */
static const struct {
    const char *name;
    fcgix_unit_e unit;
    apr_int64_t min, max;
    apr_size_t offset;
} config_ints[] = {
    { "-maxProcesses", FCGIX_UNIT_COUNT, 1, FCGIX_LIMIT_MAX_PROCS,
      SC_OFF(max_procs) },
    { "-maxClassProcesses", FCGIX_UNIT_COUNT, 1, FCGIX_LIMIT_MAX_PROCS,
      SC_OFF(max_class_procs) },
    { "-minProcesses", FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_MAX_PROCS,
      SC_OFF(min_class_procs) },
    { "-killInterval", FCGIX_UNIT_SECS, 1, FCGIX_LIMIT_DAY_SECS,
      SC_OFF(kill_interval) },
    { "-singleThreshold", FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_PERCENT,
      SC_OFF(single_threshold) },
    { "-singleThreshhold", FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_PERCENT,
      SC_OFF(single_threshold) },
    { "-multiThreshold", FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_PERCENT,
      SC_OFF(multi_threshold) },
    { "-multiThreshhold", FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_PERCENT,
      SC_OFF(multi_threshold) },
    { "-init-start-delay", FCGIX_UNIT_SECS, 0, FCGIX_LIMIT_SPAWN, NOWHERE },
    { "-min-server-life", FCGIX_UNIT_SECS, 0, FCGIX_LIMIT_SPAWN, NOWHERE },
    { "-restart-delay", FCGIX_UNIT_SECS, 0, FCGIX_LIMIT_SPAWN, NOWHERE },
    { "-updateInterval", FCGIX_UNIT_SECS, 0, FCGIX_LIMIT_SPAWN, NOWHERE },
    { "-startDelay", FCGIX_UNIT_SECS, 0, FCGIX_LIMIT_SPAWN, NOWHERE },
    { "-listen-queue-depth", FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_SPAWN,
      NOWHERE },
    { "-processSlack", FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_SPAWN, NOWHERE },
    { "-priority", FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_SPAWN, NOWHERE },
    { NULL, FCGIX_UNIT_COUNT, 0, 0, NOWHERE }
};

/* @return 0 when @p opt is none of config_ints */
static int config_int(cmd_parms *cmd, fcgix_srv_conf_t *sc, const char *opt,
                      const char *val, const char **err)
{
    int *field;
    int i;

    for (i = 0; config_ints[i].name; i++) {
        if (!strcasecmp(opt, config_ints[i].name)) {
            break;
        }
    }
    if (config_ints[i].name == NULL) {
        return 0;
    }
    field = config_ints[i].offset == NOWHERE
            ? NULL : (int *)((char *)sc + config_ints[i].offset);
    *err = fcgix_conf_option_int(cmd, opt, val, config_ints[i].min,
                                 config_ints[i].max, config_ints[i].unit,
                                 field);
    if (*err == NULL
        && config_ints[i].offset == SC_OFF(max_class_procs)) {
        fcgix_conf_note_name(cmd, FCGIX_NAMED_MAX_CLASS_PROCS,
                             fcgix_conf_what(cmd, opt));
    }
    return 1;
}

/* FastCgiConfig's options that are not whole numbers. */
static const char *config_other(cmd_parms *cmd, fcgix_srv_conf_t *sc,
                                void *dc, const char *opt, const char *val)
{
    apr_interval_time_t t;
    const char *err = NULL;

    if (!strcasecmp(opt, "-idle-timeout")) {
        /* 0: httpd's Timeout, as for a server's own -idle-timeout 0. */
        err = fcgix_conf_option_time(cmd, opt, val, 0, TIME_MAX, &t);
        if (err == NULL && t > 0) {
            sc->io_timeout = t;
        }
    }
    else if (!strcasecmp(opt, "-appConnTimeout")) {
        /* 0 meant a blocking connect: the default applies. */
        err = fcgix_conf_option_time(cmd, opt, val, 0,
                                     apr_time_from_sec(FCGIX_LIMIT_DAY_SECS),
                                     &t);
        if (err == NULL && t > 0) {
            sc->connect_timeout = t;
        }
    }
    else if (!strcasecmp(opt, "-initial-env")) {
        const char *eq = strchr(val, '=');
        err = fcgix_conf_add_env(cmd, dc,
                                 eq ? apr_pstrmemdup(cmd->pool, val, eq - val)
                                    : val,
                                 eq ? eq + 1 : getenv(val));
    }
    else if (!strcasecmp(opt, "-pass-header")) {
        err = fcgix_conf_add_pass_header(cmd, dc, val);
    }
    else if (!strcasecmp(opt, "-gainValue")) {
        /* A fraction, the one number that is not whole. */
        char *end;
        double g = strtod(val, &end);
        if (end == val || *end || g < 0 || g > 1) {
            err = apr_psprintf(cmd->pool, "%s: -gainValue must be "
                               "between 0 and 1", cmd->cmd->name);
        }
    }
    else {
        err = apr_psprintf(cmd->pool, "%s: unknown option %s",
                           cmd->cmd->name, opt);
    }
    return err;
}

/*
 * mod_fastcgi: FastCgiConfig <option>... for dynamic applications. Its
 * kill policy has an equivalent: every -killInterval seconds, a class
 * whose processes were busy less than -multiThreshold percent of the time
 * (-singleThreshold with one process left) ends an idle one above
 * -minProcesses. -updateInterval (how often load is sampled) and
 * -gainValue (its smoothing) are checked and not needed: the process
 * manager samples every 200 ms and averages over the interval.
 */
const char *fcgix_compat_fastcgi_config(cmd_parms *cmd, void *dc, int argc,
                                        char *const argv[])
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);
    const char *err = NULL;
    int i;

    for (i = 0; i < argc && err == NULL; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcasecmp(opt, "-flush") || !strcasecmp(opt, "-restart")
            || !strcasecmp(opt, "-autoUpdate")) {
            if (!strcasecmp(opt, "-flush")) {
                sc->output_buffer = 0;
            }
            /* -autoUpdate: a replaced program has a new inode, hence a
             * new class; the old processes age out. */
            continue;
        }
        if (val == NULL) {
            return apr_psprintf(cmd->pool, "%s: option %s needs a value or "
                                "is unknown", cmd->cmd->name, opt);
        }
        i++;
        if (!config_int(cmd, sc, opt, val, &err)) {
            err = config_other(cmd, sc, dc, opt, val);
        }
    }
    return err;
}

/* mod_fastcgi: FastCgiWrapper On|Off|<path> (FastCgiSuexec). */
const char *fcgix_compat_fastcgi_wrapper(cmd_parms *cmd, void *dc,
                                         const char *arg)
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);

    (void)dc;
    if (strcasecmp(arg, "on") && strcasecmp(arg, "off") && arg[0] != '/') {
        return apr_psprintf(cmd->pool, "%s takes On, Off or an absolute "
                            "path", cmd->cmd->name);
    }
    /* Dynamic applications take their identity from SuexecUserGroup /
     * ~user (httpd's suexec, whose path httpd fixes: a path given here
     * means On); FastCgiServer's -user/-group need it On. */
    sc->fastcgi_wrapper = strcasecmp(arg, "off") != 0;
    return NULL;
}
