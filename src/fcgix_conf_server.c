/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * The native server definitions, FcgixExternalServer and FcgixServer:
 * their key=value options become one fcgix_server_t, registered with
 * fcgix_conf_add_server. The numeric options are a table (name, unit,
 * range, where the value goes), read by the one number parser.
 */

#include <strings.h>

#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"

#include "fcgix.h"
#include "fcgix_conf.h"
#include "fcgix_conf_cmds.h"

/* How a numeric option is stored. */
typedef enum { AS_INT, AS_TIME, AS_U32, AS_SIZE } store_e;

typedef struct {
    const char *name;
    fcgix_unit_e unit;
    apr_int64_t min, max;
    store_e as;
    apr_size_t offset; /* in fcgix_server_t */
} num_option_t;

#define SRV_OFF(field) APR_OFFSETOF(fcgix_server_t, field)
#define TIME_MAX apr_time_from_sec(FCGIX_LIMIT_SECS)

static const num_option_t external_nums[] = {
    { "connect-timeout", FCGIX_UNIT_TIME, 0, TIME_MAX, AS_TIME,
      SRV_OFF(connect_timeout) },
    { "io-timeout", FCGIX_UNIT_TIME, 0, TIME_MAX, AS_TIME,
      SRV_OFF(io_timeout) },
    { "keepalive", FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_KEEPALIVE, AS_INT,
      SRV_OFF(limits.keepalive) },
    { "keepalive-timeout", FCGIX_UNIT_TIME, 0, TIME_MAX, AS_TIME,
      SRV_OFF(limits.idle_ttl) },
    { "max-conns", FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_MAX_CONNS, AS_INT,
      SRV_OFF(limits.max_conns) },
    { "max-conns-wait", FCGIX_UNIT_TIME, 0, TIME_MAX, AS_TIME,
      SRV_OFF(limits.max_wait) },
    { "conn-max-requests", FCGIX_UNIT_COUNT, 0, FCGIX_LIMIT_CONN_REQUESTS,
      AS_U32, SRV_OFF(limits.max_conn_requests) },
    { "retry", FCGIX_UNIT_TIME, 0, TIME_MAX, AS_TIME,
      SRV_OFF(limits.disable_for) },
    { "mpx-max-reqs", FCGIX_UNIT_COUNT, 1, FCGIX_LIMIT_MPX_REQS, AS_INT,
      SRV_OFF(mpx_limits.max_reqs) },
    { "mpx-buffer", FCGIX_UNIT_BYTES, FCGIX_LIMIT_MPX_BUFFER_MIN,
      FCGIX_LIMIT_BYTES, AS_SIZE, SRV_OFF(mpx_limits.queue_max) },
    { "check", FCGIX_UNIT_TIME, 0, TIME_MAX, AS_TIME, SRV_OFF(check) },
    { "check-status", FCGIX_UNIT_COUNT, 200, 599, AS_INT,
      SRV_OFF(check_status) },
    { "fails", FCGIX_UNIT_COUNT, 1, 100, AS_INT, SRV_OFF(check_fails) },
    { "passes", FCGIX_UNIT_COUNT, 1, 100, AS_INT, SRV_OFF(check_passes) },
    { "resolve", FCGIX_UNIT_TIME, apr_time_from_sec(1), TIME_MAX, AS_TIME,
      SRV_OFF(resolve) },
    { "slow-start", FCGIX_UNIT_TIME, 0, TIME_MAX, AS_TIME,
      SRV_OFF(slow_start) },
    { "max-addrs", FCGIX_UNIT_COUNT, 1, FCGIX_POOL_MAX_ADDRS, AS_INT,
      SRV_OFF(max_addrs) },
    { NULL, FCGIX_UNIT_COUNT, 0, 0, AS_INT, 0 }
};

static const num_option_t server_nums[] = {
    { "processes", FCGIX_UNIT_COUNT, 1, FCGIX_LIMIT_SERVER_PROCS, AS_INT,
      SRV_OFF(processes) },
    { "io-timeout", FCGIX_UNIT_TIME, 0, TIME_MAX, AS_TIME,
      SRV_OFF(io_timeout) },
    { "connect-timeout", FCGIX_UNIT_TIME, 0, TIME_MAX, AS_TIME,
      SRV_OFF(connect_timeout) },
    { "restart-delay", FCGIX_UNIT_SECS, 0, FCGIX_LIMIT_SECS, AS_INT,
      SRV_OFF(restart_delay) },
    { NULL, FCGIX_UNIT_COUNT, 0, 0, AS_INT, 0 }
};

static void store(fcgix_server_t *srv, const num_option_t *o, apr_int64_t v)
{
    void *field = (char *)srv + o->offset;

    switch (o->as) {
    case AS_INT:
        *(int *)field = (int)v;
        break;
    case AS_TIME:
        *(apr_interval_time_t *)field = v;
        break;
    case AS_U32:
        *(apr_uint32_t *)field = (apr_uint32_t)v;
        break;
    case AS_SIZE:
        *(apr_size_t *)field = (apr_size_t)v;
        break;
    }
}

/*
 * key=value (@p eq points at the '=') when key is a numeric option of
 * @p table. @return 0 when it is none of them, else 1 (*err set on a bad
 * value).
 */
static int num_option(cmd_parms *cmd, fcgix_server_t *srv,
                      const num_option_t *table, const char *a,
                      const char *eq, const char **err)
{
    apr_size_t klen = (apr_size_t)(eq - a);
    const num_option_t *o;
    apr_int64_t v;

    for (o = table; o->name; o++) {
        if (strlen(o->name) == klen && !strncasecmp(a, o->name, klen)) {
            *err = fcgix_conf_parse_num(cmd->pool,
                                        fcgix_conf_what(cmd, o->name),
                                        eq + 1, o->min, o->max, o->unit,
                                        &v);
            if (*err == NULL) {
                store(srv, o, v);
            }
            return 1;
        }
    }
    return 0;
}

/* on|off options; @return 0 when @p a is none of them. */
static int flag_option(fcgix_server_t *srv, const char *a, int external)
{
    static const struct {
        const char *name;
        apr_size_t offset;
        int external_only;
    } flags[] = {
        { "flush", SRV_OFF(flush), 0 },
        { "ignore-client-abort", SRV_OFF(ignore_client_abort), 1 },
        { "get-values", SRV_OFF(get_values), 1 },
    };
    size_t i;

    for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        apr_size_t n = strlen(flags[i].name);
        int *field = (int *)((char *)srv + flags[i].offset);
        if ((flags[i].external_only && !external)
            || strncasecmp(a, flags[i].name, n) || a[n] != '=') {
            continue;
        }
        if (!strcasecmp(a + n + 1, "on") || !strcasecmp(a + n + 1, "off")) {
            *field = !strcasecmp(a + n + 1, "on");
            return 1;
        }
    }
    return 0;
}

/* balance= and mpx=; @return 0 when @p a is neither. */
static int choice_option(cmd_parms *cmd, fcgix_server_t *srv, const char *a,
                         const char *eq, const char **err)
{
    static const char *const balance[] = {
        "least-conn", "round-robin", "hash", NULL
    };
    static const int balance_v[] = {
        FCGIX_BALANCE_LEAST_CONN, FCGIX_BALANCE_ROUND_ROBIN,
        FCGIX_BALANCE_HASH
    };
    static const char *const mpx[] = { "auto", "on", "off", NULL };
    static const int mpx_v[] = { FCGIX_MPX_AUTO, FCGIX_MPX_ON,
                                 FCGIX_MPX_OFF };
    int is_balance = !strncasecmp(a, "balance=", 8);
    const char *const *names = is_balance ? balance : mpx;
    int i;

    if (!is_balance && strncasecmp(a, "mpx=", 4)) {
        return 0;
    }
    for (i = 0; names[i] && strcasecmp(eq + 1, names[i]); i++) {
    }
    if (names[i] == NULL) {
        *err = apr_psprintf(cmd->pool, is_balance
                            ? "%s: balance must be least-conn, round-robin "
                              "or hash"
                            : "%s: mpx must be auto, on or off",
                            cmd->cmd->name);
    }
    else if (is_balance) {
        srv->balance = balance_v[i];
    }
    else {
        srv->mpx = mpx_v[i];
    }
    return 1;
}

/* An address of FcgixExternalServer (a word without '='). */
static const char *add_address(cmd_parms *cmd, fcgix_server_t *srv,
                               const char *a)
{
    fcgix_addr_t *addr;
    const char *err = fcgix_addr_parse(cmd->pool, a, 0, &addr);

    if (err != NULL) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err, NULL);
    }
    if (srv->addrs->nelts == FCGIX_POOL_MAX_ADDRS) {
        return apr_psprintf(cmd->pool, "%s: at most %d addresses",
                            cmd->cmd->name, FCGIX_POOL_MAX_ADDRS);
    }
    APR_ARRAY_PUSH(srv->addrs, fcgix_addr_t *) = addr;
    return NULL;
}

static const char *pass_header(cmd_parms *cmd, fcgix_server_t *srv,
                               const char *name)
{
    const char *err = fcgix_conf_check_pass_header(cmd->pool,
                                                   cmd->cmd->name, name);

    if (err == NULL) {
        APR_ARRAY_PUSH(srv->pass_headers, const char *) = name;
    }
    return err;
}

/*
 * One word of either directive. @p external: FcgixExternalServer (words
 * without '=' are addresses), else FcgixServer.
 */
static const char *server_word(cmd_parms *cmd, fcgix_server_t *srv,
                               const char *a, int external)
{
    const char *eq = strchr(a, '=');
    const char *err = NULL;

    if (eq == NULL && external) {
        return add_address(cmd, srv, a);
    }
    if (eq && (num_option(cmd, srv, external ? external_nums : server_nums,
                          a, eq, &err)
               || (external && choice_option(cmd, srv, a, eq, &err))
               || flag_option(srv, a, external))) {
        return err;
    }
    if (eq && !strncasecmp(a, "pass-header=", 12)) {
        return pass_header(cmd, srv, eq + 1);
    }
    if (eq && external && !strncasecmp(a, "check-uri=", 10)) {
        if (eq[1] != '/') {
            return apr_psprintf(cmd->pool, "%s: check-uri must be a path "
                                "(/...)", cmd->cmd->name);
        }
        srv->check_uri = eq + 1;
        return NULL;
    }
    if (eq && external && !strncasecmp(a, "drain=", 6)) {
        return NULL; /* once every address is known: drain_marks() */
    }
    if (eq && !external && !strncasecmp(a, "env=", 4)) {
        return fcgix_conf_server_env(cmd->pool, srv, eq + 1);
    }
    return apr_psprintf(cmd->pool, "%s: unknown option '%s'",
                        cmd->cmd->name, a);
}

/* drain=ADDRESS (repeatable): an address of this server, as written
 * among them, that takes no new requests in this configuration. */
static const char *drain_marks(cmd_parms *cmd, fcgix_server_t *srv,
                               int argc, char *const argv[])
{
    int i, k, found;

    for (i = 1; i < argc; i++) {
        const char *spec = argv[i] + 6;
        if (strncasecmp(argv[i], "drain=", 6)) {
            continue;
        }
        for (k = 0, found = 0; k < srv->addrs->nelts; k++) {
            const fcgix_addr_t *a = APR_ARRAY_IDX(srv->addrs, k,
                                                  fcgix_addr_t *);
            /* A name drains all of its addresses. */
            if (!strcmp(a->spec, spec) || (a->name && !strcmp(a->name,
                                                              spec))) {
                srv->drain |= 1u << k;
                found = 1;
            }
        }
        if (!found) {
            return apr_psprintf(cmd->pool, "%s: drain=%s is not one of the "
                                "server's addresses", cmd->cmd->name, spec);
        }
    }
    return NULL;
}

/* The name's addresses, as the startup lookup found them (none twice).
 * With resolve=, the name gets max-addrs positions instead, the first
 * of which keeps the lookup's answer for the first set. */
static const char *expand_name(cmd_parms *cmd, const fcgix_server_t *srv,
                               fcgix_addr_t *named,
                               apr_array_header_t *out)
{
    int first = out->nelts, k;
    apr_sockaddr_t *sa;

    if (srv->resolve > 0) {
        for (k = 0; k < srv->max_addrs; k++) {
            fcgix_addr_t *a = apr_pmemdup(cmd->pool, named, sizeof(*a));
            a->name = named->spec;
            a->pos = k;
            a->spec = apr_psprintf(cmd->pool, "%s#%d", named->spec, k);
            if (k > 0) {
                a->sa = NULL;
            }
            APR_ARRAY_PUSH(out, fcgix_addr_t *) = a;
        }
        return NULL;
    }
    for (sa = named->sa; sa; sa = sa->next) {
        unsigned char ip[16];
        int fam = fcgix_addr_raw(sa, ip);
        fcgix_addr_t *a = fam ? fcgix_addr_from_ip(cmd->pool, fam, ip,
                                                   named->port) : NULL;
        if (a == NULL) {
            continue;
        }
        for (k = first; k < out->nelts; k++) {
            if (!strcmp(APR_ARRAY_IDX(out, k, fcgix_addr_t *)->spec,
                        a->spec)) {
                break;
            }
        }
        if (k == out->nelts) {
            a->name = named->spec;
            APR_ARRAY_PUSH(out, fcgix_addr_t *) = a;
        }
    }
    return NULL;
}

/*
 * A host name among the addresses stands for every address it has (A and
 * AAAA), found at startup, or followed at run time with resolve=.
 */
const char *fcgix_conf_server_names(cmd_parms *cmd, fcgix_server_t *srv)
{
    apr_array_header_t *out;
    int k;

    if (srv->max_addrs == 0) {
        srv->max_addrs = FCGIX_DEFAULT_MAX_ADDRS;
    }
    if (srv->slow_start == FCGIX_UNSET) {
        srv->slow_start = apr_time_from_sec(FCGIX_DEFAULT_SLOW_START);
    }
    out = apr_array_make(cmd->pool, srv->addrs->nelts,
                         sizeof(fcgix_addr_t *));
    for (k = 0; k < srv->addrs->nelts; k++) {
        fcgix_addr_t *a = APR_ARRAY_IDX(srv->addrs, k, fcgix_addr_t *);
        const char *err;
        if (a->is_unix || fcgix_addr_is_literal(a->host)) {
            APR_ARRAY_PUSH(out, fcgix_addr_t *) = a;
        }
        else if ((err = expand_name(cmd, srv, a, out)) != NULL) {
            return err;
        }
    }
    if (out->nelts > FCGIX_POOL_MAX_ADDRS) {
        return apr_psprintf(cmd->pool, "%s %s: %d addresses (names count "
                            "max-addrs each with resolve=, else each of "
                            "their records): at most %d", cmd->cmd->name,
                            srv->path, out->nelts, FCGIX_POOL_MAX_ADDRS);
    }
    srv->addrs = out;
    return NULL;
}

/*
 * FcgixExternalServer <path> <address>... [connect-timeout=N]
 *     [io-timeout=N] [pass-header=Name]... [flush=on|off] ...
 */
const char *fcgix_conf_cmd_external_server(cmd_parms *cmd, void *dcv,
                                           int argc, char *const argv[])
{
    fcgix_server_t *srv;
    const char *err;
    int i;

    (void)dcv;
    if (argc < 2) {
        return "FcgixExternalServer needs a path and at least one address";
    }
    if ((err = fcgix_conf_server_open(cmd, argv[0], &srv)) != NULL) {
        return err;
    }
    for (i = 1; i < argc; i++) {
        if ((err = server_word(cmd, srv, argv[i], 1)) != NULL) {
            return err;
        }
    }
    if ((err = fcgix_conf_server_names(cmd, srv)) != NULL
        || (err = drain_marks(cmd, srv, argc, argv)) != NULL) {
        return err;
    }
    return fcgix_conf_add_server(cmd, srv);
}

/*
 * FcgixServer <path> [processes=N] [env=NAME=value]... [io-timeout=S]
 *     [connect-timeout=S] [restart-delay=S] [pass-header=Name]
 *     [flush=on|off]: an application mod_fcgix starts at boot and keeps
 * running.
 */
const char *fcgix_conf_cmd_server(cmd_parms *cmd, void *dcv, int argc,
                                  char *const argv[])
{
    fcgix_server_t *srv;
    const char *err;
    int i;

    (void)dcv;
    if (argc < 1) {
        return "FcgixServer needs a path";
    }
    if ((err = fcgix_conf_server_open(cmd, argv[0], &srv)) != NULL) {
        return err;
    }
    srv->managed = 1;
    srv->processes = 1;
    srv->restart_delay = 5;
    for (i = 1; i < argc; i++) {
        if ((err = server_word(cmd, srv, argv[i], 0)) != NULL) {
            return err;
        }
    }
    return fcgix_conf_add_server(cmd, srv);
}
