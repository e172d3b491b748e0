/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <stdlib.h>
#include <strings.h>

#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"

#include "fcgix.h"
#include "fcgix_conf.h"
#include "fcgix_compat.h"

/*
 * mod_fastcgi options are case-insensitive and take their value as the
 * next word. mod_fastcgi kept only the last of several -host/-socket
 * options; we keep them all as alternative addresses.
 */
const char *fcgix_compat_external_server(cmd_parms *cmd, void *dc, int argc,
                                         char *const argv[])
{
    const char *name = cmd->cmd->name;
    fcgix_server_t *srv;
    const char *err;
    int i;

    (void)dc;
    if (argc < 1) {
        return apr_pstrcat(cmd->pool, name, " needs a path", NULL);
    }
    srv = fcgix_conf_server_new(cmd->pool, argv[0], name);
    for (i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;

        if (!strcasecmp(opt, "-flush")) {
            srv->flush = 1;
            continue;
        }
        if (val == NULL) {
            return apr_psprintf(cmd->pool, "%s %s: option %s needs a value"
                                " or is unknown", name, argv[0], opt);
        }
        i++;
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
        else if (!strcasecmp(opt, "-appConnTimeout")) {
            /* 0 meant a blocking connect; ours are always bounded. */
            if ((err = fcgix_conf_parse_secs(cmd->pool, opt, val,
                                             &srv->connect_timeout))) {
                return err;
            }
        }
        else if (!strcasecmp(opt, "-idle-timeout")) {
            if ((err = fcgix_conf_parse_secs(cmd->pool, opt, val,
                                             &srv->io_timeout))) {
                return err;
            }
        }
        else if (!strcasecmp(opt, "-pass-header")) {
            APR_ARRAY_PUSH(srv->pass_headers, const char *) = val;
        }
        else {
            return apr_psprintf(cmd->pool, "%s %s: unknown option %s", name,
                                argv[0], opt);
        }
    }
    return fcgix_conf_add_server(cmd, srv);
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
    fcgix_server_t *srv;
    const char *err;
    int i;

    (void)dc;
    if (argc < 1) {
        return apr_pstrcat(cmd->pool, name, " needs a path", NULL);
    }
    srv = fcgix_conf_server_new(cmd->pool, argv[0], name);
    srv->managed = 1;
    srv->processes = 1;
    srv->restart_delay = 5;
    for (i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        apr_int64_t n;

        if (!strcasecmp(opt, "-flush")) {
            srv->flush = 1;
            continue;
        }
        if (val == NULL) {
            return apr_psprintf(cmd->pool, "%s %s: option %s needs a value"
                                " or is unknown", name, argv[0], opt);
        }
        i++;
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
        else if (!strcasecmp(opt, "-idle-timeout")) {
            if ((err = fcgix_conf_parse_secs(cmd->pool, opt, val,
                                             &srv->io_timeout))) {
                return err;
            }
        }
        else if (!strcasecmp(opt, "-appConnTimeout")) {
            if ((err = fcgix_conf_parse_secs(cmd->pool, opt, val,
                                             &srv->connect_timeout))) {
                return err;
            }
        }
        else if (!strcasecmp(opt, "-restart-delay")) {
            if (n < 0) {
                return apr_psprintf(cmd->pool, "%s: -restart-delay must be "
                                    ">= 0", name);
            }
            srv->restart_delay = (int)n;
        }
        else if (!strcasecmp(opt, "-pass-header")) {
            APR_ARRAY_PUSH(srv->pass_headers, const char *) = val;
        }
        else if (!strcasecmp(opt, "-socket") || !strcasecmp(opt, "-port")
                 || !strcasecmp(opt, "-listen-queue-depth")
                 || !strcasecmp(opt, "-init-start-delay")
                 || !strcasecmp(opt, "-min-server-life")
                 || !strcasecmp(opt, "-priority")) {
            /* See above: accepted, nothing to do. */
        }
        else {
            return apr_psprintf(cmd->pool, "%s %s: unknown option %s", name,
                                argv[0], opt);
        }
    }
    return fcgix_conf_add_server(cmd, srv);
}
