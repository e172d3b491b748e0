/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix.h
 * @brief Module-wide declarations: the module record, log tags, the unset
 *        sentinel and the handler names.
 *
 * Layer L2 (httpd glue). Included by every httpd-facing source file; never
 * by the L0 codec.
 */
#ifndef FCGIX_H
#define FCGIX_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

extern module AP_MODULE_DECLARE_DATA fcgix_module;

/* mod_fcgix.c gets the log index from AP_DECLARE_MODULE itself. */
#if defined(APLOG_USE_MODULE) && !defined(FCGIX_MODULE_RECORD)
APLOG_USE_MODULE(fcgix);
#endif

#include "fcgix_logno.h"

/*
 * The module's version, defined here only: httpd's Server header (with
 * ServerTokens Full), the status page and the README show this string.
 * 0.x until mod_fcgid and mod_fastcgi sites have been migrated in
 * production (README, "Version").
 */
#define FCGIX_VERSION_NUMBER "0.9.1"
#define FCGIX_VERSION "mod_fcgix/" FCGIX_VERSION_NUMBER

/** The one "not configured here" value of every config scalar. */
#define FCGIX_UNSET (-1)

/**
 * Child value if set, else the parent's (which may still be unset).
 * Defaults are applied only by FCGIX_VALUE in the accessors, because httpd
 * never merges the main server's or a directory-less request's config.
 */
#define FCGIX_MERGE(field)                                               \
    conf->field = (add->field != FCGIX_UNSET) ? add->field : base->field

/** A config scalar, or its default when nothing set it. */
#define FCGIX_VALUE(v, dflt) (((v) == FCGIX_UNSET) ? (dflt) : (v))

/** Handler names: ours / mod_fastcgi's, and mod_fcgid's. */
#define FCGIX_HANDLER "fastcgi-script"
#define FCGIX_HANDLER_FCGID "fcgid-script"

#endif /* FCGIX_H */
