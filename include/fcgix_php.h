/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_php.h
 * @brief mod_php's php_value, php_flag, php_admin_value and php_admin_flag
 *        for sites that run PHP over FastCGI: read where mod_php reads
 *        them, merged per directory as mod_php merges them, and sent as
 *        the FastCGI parameters PHP_VALUE and PHP_ADMIN_VALUE, which
 *        php-fpm applies (php-cgi ignores both; see the README).
 *
 * Layer L2. The directive table includes FCGIX_PHP_CMDS; the directory
 * merge calls fcgix_php_merge; fcgix_env.c calls fcgix_php_env once per
 * request; mod_fcgix.c calls fcgix_php_register_hooks.
 */
#ifndef FCGIX_PHP_H
#define FCGIX_PHP_H

#include "apr_tables.h"
#include "httpd.h"
#include "http_config.h"

/** The PHP settings of one directory context (opaque). */
typedef struct fcgix_php_dir_t fcgix_php_dir_t;

/* cmd->info of the four directives. */
#define FCGIX_PHP_ADMIN 1 /**< php_admin_*: not from .htaccess, wins */
#define FCGIX_PHP_FLAG 2  /**< php_*flag: On/Off */

/**
 * Directive handler of all four (cmd->info: FCGIX_PHP_* bits). A no-op
 * when mod_php is loaded: httpd runs every module's handler of a
 * directive name, and mod_php's then does the work.
 */
const char *fcgix_php_cmd(cmd_parms *cmd, void *dconf, const char *name,
                          const char *value);

/* The contexts are mod_php's: php_value and php_flag also in .htaccess
 * under AllowOverride Options, the admin forms only in the server,
 * virtual host and <Directory>/<Location>/<Files> sections. */
#define FCGIX_PHP_CMDS                                                   \
    AP_INIT_TAKE2("php_value", fcgix_php_cmd, (void *)0, OR_OPTIONS,      \
                  "PHP setting and value, sent as PHP_VALUE"),            \
    AP_INIT_TAKE2("php_flag", fcgix_php_cmd, (void *)FCGIX_PHP_FLAG,      \
                  OR_OPTIONS,                                             \
                  "PHP setting and On|Off, sent as PHP_VALUE"),           \
    AP_INIT_TAKE2("php_admin_value", fcgix_php_cmd,                       \
                  (void *)FCGIX_PHP_ADMIN, ACCESS_CONF | RSRC_CONF,       \
                  "PHP setting and value, sent as PHP_ADMIN_VALUE"),      \
    AP_INIT_TAKE2("php_admin_flag", fcgix_php_cmd,                        \
                  (void *)(FCGIX_PHP_ADMIN | FCGIX_PHP_FLAG),             \
                  ACCESS_CONF | RSRC_CONF,                                \
                  "PHP setting and On|Off, sent as PHP_ADMIN_VALUE"),

/**
 * mod_php's merge: a directory's setting replaces its parent's unless the
 * parent's is an admin setting and the directory's is not.
 * Either argument may be NULL (nothing set there).
 */
fcgix_php_dir_t *fcgix_php_merge(apr_pool_t *p, const fcgix_php_dir_t *base,
                                 const fcgix_php_dir_t *add);

/**
 * Adds PHP_VALUE and PHP_ADMIN_VALUE to @p vars (the variables about to
 * be encoded for the application), after whatever SetEnv put there, so
 * the directives win. Values are quoted for PHP's INI parser, so the
 * application reads them literally, as mod_php would have.
 */
void fcgix_php_env(request_rec *r, const fcgix_php_dir_t *php,
                   apr_table_t *vars);

void fcgix_php_register_hooks(apr_pool_t *p);

#endif /* FCGIX_PHP_H */
