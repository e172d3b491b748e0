/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
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
#include "apr_hash.h"

#include "fcgix.h"
#include "fcgix_conf.h"
#include "fcgix_compat.h"
#include "fcgix_sb.h"
#include "fcgix_spawn.h"

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
        *err = fcgix_conf_parse_secs(cmd->pool, opt, val,
                                     &srv->connect_timeout);
    }
    else if (!strcasecmp(opt, "-idle-timeout")) {
        *err = fcgix_conf_parse_secs(cmd->pool, opt, val, &srv->io_timeout);
    }
    else if (!strcasecmp(opt, "-pass-header")) {
        *err = fcgix_conf_check_pass_header(
                   cmd->pool, apr_pstrcat(cmd->pool, cmd->cmd->name, " ",
                                          opt, NULL), val);
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
    *srv = fcgix_conf_server_new(cmd->pool, argv[0], cmd->cmd->name);
    return NULL;
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

/*
 * mod_fastcgi options are case-insensitive and take their value as the
 * next word. mod_fastcgi kept only the last of several -host/-socket
 * options; we keep them all as alternative addresses.
 */
const char *fcgix_compat_external_server(cmd_parms *cmd, void *dc, int argc,
                                         char *const argv[])
{
    const char *name = cmd->cmd->name;
    fcgix_server_t *srv = NULL;
    const char *err;
    int i;

    (void)dc;
    if ((err = server_new(cmd, argc, argv, &srv)) != NULL) {
        return err;
    }
    for (i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val;

        if ((err = option_word(cmd, srv, argc, argv, &i, &val)) != NULL) {
            return err;
        }
        if (val == NULL) {
            continue; /* a flag, applied */
        }
        if (!strcasecmp(opt, "-host") || !strcasecmp(opt, "-socket")) {
            fcgix_addr_t *addr;
            int is_sock = !strcasecmp(opt, "-socket");
            const char *spec = is_sock
                ? apr_pstrcat(cmd->pool, "unix:",
                              fcgix_conf_ipc_path(cmd, val), NULL)
                : val;
            if ((err = fcgix_addr_parse(cmd->pool, spec, 0, &addr))) {
                return apr_psprintf(cmd->pool, "%s %s: %s", name, argv[0],
                                    err);
            }
            if (srv->addrs->nelts == FCGIX_POOL_MAX_ADDRS) {
                return apr_psprintf(cmd->pool, "%s %s: at most %d addresses",
                                    name, argv[0], FCGIX_POOL_MAX_ADDRS);
            }
            APR_ARRAY_PUSH(srv->addrs, fcgix_addr_t *) = addr;
        }
        else if (!strcasecmp(opt, "-user") || !strcasecmp(opt, "-group")) {
            /* An identity for FastCgiWrapper; an external server runs as
             * whoever started it. */
        }
        else if (!common_option(cmd, srv, opt, val, &err)) {
            return apr_psprintf(cmd->pool, "%s %s: unknown option %s", name,
                                argv[0], opt);
        }
        else if (err) {
            return err;
        }
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
 * mod_fastcgi: FastCgiServer <path> [-processes n] [-initial-env n=v]
 *     [-idle-timeout n] [-restart-delay n] [-pass-header name] [-flush]
 *     [-appConnTimeout n] [-listen-queue-depth n] [-init-start-delay n]
 *     [-min-server-life n] [-priority n] [-socket name | -port n]
 * Every instance gets its own socket from the process manager, so
 * -socket/-port/-listen-queue-depth name nothing here; they are accepted
 * so that configurations keep working.
 */
const char *fcgix_compat_server(cmd_parms *cmd, void *dc, int argc,
                                char *const argv[])
{
    const char *name = cmd->cmd->name;
    fcgix_server_t *srv = NULL;
    const char *err;
    int i;

    (void)dc;
    if ((err = server_new(cmd, argc, argv, &srv)) != NULL) {
        return err;
    }
    srv->managed = 1;
    srv->processes = 1;
    srv->restart_delay = 5;
    for (i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val;
        apr_int64_t n;

        if ((err = option_word(cmd, srv, argc, argv, &i, &val)) != NULL) {
            return err;
        }
        if (val == NULL) {
            continue; /* a flag, applied */
        }
        n = apr_atoi64(val);
        if (!strcasecmp(opt, "-processes")) {
            if (n < 1 || n > 128) {
                return apr_psprintf(cmd->pool, "%s %s: -processes must be "
                                    "1 to 128", name, argv[0]);
            }
            srv->processes = (int)n;
        }
        else if (!strcasecmp(opt, "-initial-env")) {
            const char *nv = strchr(val, '=') ? val
                           : apr_pstrcat(cmd->pool, val, "=",
                                         getenv(val) ? getenv(val) : "",
                                         NULL);
            if ((err = fcgix_conf_server_env(cmd->pool, srv, nv))) {
                return apr_psprintf(cmd->pool, "%s %s: %s", name, argv[0],
                                    err);
            }
        }
        else if (!strcasecmp(opt, "-restart-delay")) {
            if (n < 0) {
                return apr_psprintf(cmd->pool, "%s: -restart-delay must be "
                                    ">= 0", name);
            }
            srv->restart_delay = (int)n;
        }
        else if (common_option(cmd, srv, opt, val, &err)) {
            if (err) {
                return err;
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
        else if (!strcasecmp(opt, "-priority")) {
            if (n < 0 || n > 19 || !apr_isdigit(val[0])) {
                return apr_psprintf(cmd->pool, "%s %s: -priority must be 0 "
                                    "to 19", name, argv[0]);
            }
            srv->priority = (int)n;
        }
        else if (!strcasecmp(opt, "-socket") || !strcasecmp(opt, "-port")
                 || !strcasecmp(opt, "-listen-queue-depth")
                 || !strcasecmp(opt, "-init-start-delay")
                 || !strcasecmp(opt, "-min-server-life")) {
            /* See above: accepted, nothing to do. */
        }
        else {
            return apr_psprintf(cmd->pool, "%s %s: unknown option %s", name,
                                argv[0], opt);
        }
    }
    if ((err = refuse_root(cmd, argv[0], srv->run_user,
                           srv->run_group)) != NULL) {
        return err;
    }
    return fcgix_conf_add_server(cmd, srv);
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
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_CONFIG) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, cmd->server,
                     FCGIX_LOGNO(00180) "%s has no effect with mod_fcgix "
                     "(not needed)", cmd->cmd->name);
    }
    return NULL;
}

/* Windows-only settings: accepted, with one notice per start. */
const char *fcgix_compat_windows(cmd_parms *cmd, void *dc, const char *args)
{
    (void)dc;
    (void)args;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_CONFIG) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, cmd->server,
                     FCGIX_LOGNO(00181) "%s applies to Windows only; "
                     "ignored", cmd->cmd->name);
    }
    return NULL;
}

/* mod_fcgid: -1 meant "unlimited" as 0 does. */
const char *fcgix_compat_max_requests(cmd_parms *cmd, void *dc,
                                      const char *arg)
{
    return fcgix_spawn_set_int(cmd, dc, strcmp(arg, "-1") ? arg : "0");
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
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    (void)dc;
    if (end == arg || *end || v < 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a byte count",
                            cmd->cmd->name, arg);
    }
    /* Output is passed on whenever the application pauses; a size of 0
     * asks for every read to be flushed at once. */
    sc->output_buffer = v > 0x7fffffff ? 0x7fffffff : (int)v;
    return NULL;
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
    o->lifetime = o->max_requests = FCGIX_UNSET;
    o->io_timeout = o->connect_timeout = FCGIX_UNSET;
    for (i = 1; i < argc && err == NULL; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int n;
        if (val == NULL) {
            return apr_psprintf(cmd->pool, "%s: %s needs a value",
                                cmd->cmd->name, opt);
        }
        n = atoi(val);
        if (!strcasecmp(opt, "InitialEnv")) {
            fcgix_server_t tmp;
            memcpy(tmp.env, o->env, sizeof(o->env));
            tmp.env_len = o->env_len;
            err = fcgix_conf_server_env(cmd->pool, &tmp,
                                        strchr(val, '=') ? val
                                        : apr_pstrcat(cmd->pool, val, "=",
                                                      NULL));
            memcpy(o->env, tmp.env, sizeof(o->env));
            o->env_len = tmp.env_len;
        }
        else if (!strcasecmp(opt, "IOTimeout")) {
            err = fcgix_conf_parse_secs(cmd->pool, opt, val, &o->io_timeout);
        }
        else if (!strcasecmp(opt, "ConnectTimeout")) {
            err = fcgix_conf_parse_secs(cmd->pool, opt, val,
                                        &o->connect_timeout);
        }
        else if (n < 0 && !(n == -1 && !strcasecmp(opt,
                                                   "MaxRequestsPerProcess"))) {
            err = apr_psprintf(cmd->pool, "%s: %s must be >= 0",
                               cmd->cmd->name, opt);
        }
        else if (!strcasecmp(opt, "IdleTimeout")) {
            o->idle_timeout = n;
        }
        else if (!strcasecmp(opt, "MaxProcesses")) {
            o->max_procs = n;
        }
        else if (!strcasecmp(opt, "MinProcesses")) {
            o->min_procs = n;
        }
        else if (!strcasecmp(opt, "MaxProcessLifeTime")) {
            o->lifetime = n;
        }
        else if (!strcasecmp(opt, "MaxRequestsPerProcess")) {
            o->max_requests = n < 0 ? 0 : n;
        }
        else {
            err = apr_psprintf(cmd->pool, "%s: unknown option '%s'",
                               cmd->cmd->name, opt);
        }
    }
    if (err == NULL) {
        apr_hash_set(sc->cmd_options, argv[0], APR_HASH_KEY_STRING, o);
    }
    return err;
}

/* A whole number in [lo, hi] for option @p opt of the directive. */
static const char *whole(cmd_parms *cmd, const char *opt, const char *val,
                         int lo, int hi, int *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(val, &end, 10);

    if (end == val || *end || v < lo || v > hi) {
        return apr_psprintf(cmd->pool, "%s: %s must be a whole number "
                            "from %d to %d, not '%s'", cmd->cmd->name, opt,
                            lo, hi, val);
    }
    *out = (int)v;
    return NULL;
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

    (void)dc;
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
        if (!strcasecmp(opt, "-maxProcesses")) {
            err = whole(cmd, opt, val, 1, FCGIX_SB_PROCS_LIMIT,
                        &sc->max_procs);
        }
        else if (!strcasecmp(opt, "-maxClassProcesses")) {
            err = whole(cmd, opt, val, 1, FCGIX_SB_PROCS_LIMIT,
                        &sc->max_class_procs);
            fcgix_conf_note_name(cmd, FCGIX_NAMED_MAX_CLASS_PROCS,
                                 apr_pstrcat(cmd->pool, cmd->cmd->name, " ",
                                             opt, NULL));
        }
        else if (!strcasecmp(opt, "-minProcesses")) {
            err = whole(cmd, opt, val, 0, FCGIX_SB_PROCS_LIMIT,
                        &sc->min_class_procs);
        }
        else if (!strcasecmp(opt, "-killInterval")) {
            err = whole(cmd, opt, val, 1, 86400, &sc->kill_interval);
        }
        else if (!strcasecmp(opt, "-singleThreshold")
                 || !strcasecmp(opt, "-singleThreshhold")) {
            err = whole(cmd, opt, val, 0, 100, &sc->single_threshold);
        }
        else if (!strcasecmp(opt, "-multiThreshold")
                 || !strcasecmp(opt, "-multiThreshhold")) {
            err = whole(cmd, opt, val, 0, 100, &sc->multi_threshold);
        }
        else if (!strcasecmp(opt, "-idle-timeout")) {
            err = fcgix_conf_set_io_timeout(cmd, dc, val);
        }
        else if (!strcasecmp(opt, "-appConnTimeout")) {
            int n;
            err = whole(cmd, opt, val, 0, 86400, &n);
            if (err == NULL && n > 0) {
                err = fcgix_conf_set_connect_timeout(cmd, dc, val);
            }
        }
        else if (!strcasecmp(opt, "-initial-env")) {
            const char *eq = strchr(val, '=');
            err = fcgix_spawn_add_env(cmd, dc,
                                      eq ? apr_pstrmemdup(cmd->pool, val,
                                                          eq - val)
                                         : val,
                                      eq ? eq + 1 : getenv(val));
        }
        else if (!strcasecmp(opt, "-pass-header")) {
            err = fcgix_conf_add_pass_header(cmd, dc, val);
        }
        else if (!strcasecmp(opt, "-gainValue")) {
            char *end;
            double g = strtod(val, &end);
            if (end == val || *end || g < 0 || g > 1) {
                err = apr_psprintf(cmd->pool, "%s: -gainValue must be "
                                   "between 0 and 1", cmd->cmd->name);
            }
        }
        else if (!strcasecmp(opt, "-init-start-delay")
                 || !strcasecmp(opt, "-listen-queue-depth")
                 || !strcasecmp(opt, "-min-server-life")
                 || !strcasecmp(opt, "-restart-delay")
                 || !strcasecmp(opt, "-updateInterval")
                 || !strcasecmp(opt, "-startDelay")
                 || !strcasecmp(opt, "-processSlack")
                 || !strcasecmp(opt, "-priority")) {
            /* See above; the values must still be numbers. */
            int n;
            err = whole(cmd, opt, val, 0, 100000000, &n);
        }
        else {
            err = apr_psprintf(cmd->pool, "%s: unknown option %s",
                               cmd->cmd->name, opt);
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

/* ------------------------------------------------------------------ */
/* The old modules' names                                              */
/* ------------------------------------------------------------------ */

static module fcgid_name = { STANDARD20_MODULE_STUFF, NULL, NULL, NULL,
                             NULL, NULL, NULL, AP_MODULE_FLAG_NONE };
static module fastcgi_name = { STANDARD20_MODULE_STUFF, NULL, NULL, NULL,
                               NULL, NULL, NULL, AP_MODULE_FLAG_NONE };

static struct {
    module *m;
    const char *file;    /* what <IfModule> compares */
    const char *sym;     /* its symbol, as LoadModule named it */
    const char *handler; /* what the real module would claim too */
    int added;
} old_names[] = {
    { &fcgid_name, "mod_fcgid.c", "fcgid_module", "fcgid-script", 0 },
    { &fastcgi_name, "mod_fastcgi.c", "fastcgi_module", "fastcgi-script", 0 }
};

/*
 * A record under an old name that carries nothing: ours, or one of
 * src/names/ loaded by conf/fcgix.load. The real modules have directives
 * and configuration.
 */
static int is_name_only(const module *m)
{
    return m->cmds == NULL && m->create_server_config == NULL
           && m->create_dir_config == NULL && m->register_hooks == NULL;
}

/* Before the DSO is unloaded (mod_so's own cleanups were registered
 * before ours for the file, after ours for the module): records in the
 * unloaded file must not stay in the module list. */
static apr_status_t drop_names(void *data)
{
    size_t i;

    (void)data;
    for (i = 0; i < sizeof(old_names) / sizeof(old_names[0]); i++) {
        if (old_names[i].added) {
            ap_remove_module(old_names[i].m);
            old_names[i].m->next = NULL;
            old_names[i].added = 0;
        }
    }
    return APR_SUCCESS;
}

/*
 * A name already in the module list is left alone: either the real
 * module is loaded (it keeps its name), or conf/fcgix.load loaded the
 * name's own file before fcgix_module, which also gave mod_so the symbol
 * for <IfModule fcgid_module>. Only when neither did is our own record
 * added, so <IfModule mod_fcgid.c> still works for a configuration that
 * loads fcgix_module alone.
 */
static void register_names(apr_pool_t *pconf)
{
    size_t i;

    for (i = 0; i < sizeof(old_names) / sizeof(old_names[0]); i++) {
        module *m = old_names[i].m;
        if (old_names[i].added || ap_find_linked_module(old_names[i].file)) {
            continue;
        }
        m->name = old_names[i].file;
        m->module_index = -1;
        m->next = NULL;
        if (ap_add_module(m, pconf, old_names[i].sym) == NULL) {
            old_names[i].added = 1;
        }
    }
    apr_pool_cleanup_register(pconf, NULL, drop_names,
                              apr_pool_cleanup_null);
}

/*
 * The real mod_fcgid or mod_fastcgi beside us claims the same handler
 * and directives; which module then runs a script depends on hook order,
 * not on the configuration. Said once per start (and per restart, the
 * configuration being read again), in the error log.
 */
static int warn_rivals(apr_pool_t *pconf, apr_pool_t *plog,
                       apr_pool_t *ptemp, server_rec *s)
{
    const char *rivals = NULL;
    size_t i;

    (void)pconf;
    (void)plog;
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_CONFIG) {
        return OK;
    }
    for (i = 0; i < sizeof(old_names) / sizeof(old_names[0]); i++) {
        const module *m;
        for (m = ap_top_module; m; m = m->next) {
            if (!strcmp(m->name, old_names[i].file) && !is_name_only(m)) {
                break;
            }
        }
        if (m) {
            const char *one = apr_psprintf(ptemp, "%s (%s)",
                                           old_names[i].file,
                                           old_names[i].handler);
            rivals = rivals ? apr_pstrcat(ptemp, rivals, " and ", one, NULL)
                            : one;
        }
    }
    if (rivals) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FCGIX_LOGNO(00340)
                     "%s loaded beside mod_fcgix: both claim the same "
                     "handler and directives, so either may serve a "
                     "script; disable the old module (a2dismod)", rivals);
    }
    return OK;
}

void fcgix_compat_register_hooks(apr_pool_t *pconf)
{
    register_names(pconf);
    ap_hook_post_config(warn_rivals, NULL, NULL, APR_HOOK_MIDDLE);
}
