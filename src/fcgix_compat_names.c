/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * The old modules' names (fcgix_compat_register_hooks in
 * include/fcgix_compat.h): records that answer <IfModule mod_fcgid.c>
 * and <IfModule mod_fastcgi.c>, and the warning when the real module is
 * loaded beside us. Their directives are in fcgix_compat.c.
 */

#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"

#include "fcgix.h"
#include "fcgix_compat.h"

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
