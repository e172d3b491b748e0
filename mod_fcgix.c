/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * mod_fcgix: FastCGI for Apache httpd 2.4, successor of mod_fcgid and
 * mod_fastcgi. This file wires the parts together: the module record, the
 * one command table (assembled here from the pieces each part exports, so
 * the configuration needs to know none of the parts that add directives)
 * and hook registration. Every concern lives in src/fcgix_<concern>.c.
 */

#define FCGIX_MODULE_RECORD

#include "httpd.h"
#include "http_config.h"

#include "fcgix.h"
#include "fcgix_authz.h"
#include "fcgix_body.h"
#include "fcgix_compat.h"
#include "fcgix_conf.h"
#include "fcgix_conf_cmds.h"
#include "fcgix_filter.h"
#include "fcgix_handler.h"
#include "fcgix_php.h"
#include "fcgix_proxy.h"
#include "fcgix_sendfile.h"
#include "fcgix_spawn.h"
#include "fcgix_status.h"
#include "fcgix_upstream.h"

static const command_rec fcgix_cmds[] = {
    FCGIX_CONF_CMDS
    FCGIX_CONF_SPAWN_CMDS
    FCGIX_CONF_AUTH_CMDS
    FCGIX_AUTHZ_CMDS
    FCGIX_FILTER_CMDS
    FCGIX_COMPAT_CMDS
    FCGIX_PHP_CMDS
    FCGIX_SENDFILE_CMDS
    {NULL}
};

static void fcgix_register_hooks(apr_pool_t *p)
{
    fcgix_handler_register_hooks(p);
    fcgix_authz_register_hooks(p);
    fcgix_spawn_register_hooks(p);
    fcgix_upstream_register_hooks(p);
    fcgix_status_register_hooks(p);
    fcgix_compat_register_hooks(p);
    fcgix_php_register_hooks(p);
    fcgix_proxy_register_hooks(p);
    fcgix_body_register_hooks(p);
}

AP_DECLARE_MODULE(fcgix) = {
    STANDARD20_MODULE_STUFF,
    fcgix_conf_create_dir,
    fcgix_conf_merge_dir,
    fcgix_conf_create_server,
    fcgix_conf_merge_server,
    fcgix_cmds,
    fcgix_register_hooks,
    AP_MODULE_FLAG_NONE
};
