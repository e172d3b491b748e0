/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * The configuration's one number parser (include/fcgix_conf_cmds.h):
 * every numeric directive and option, native or old name, is read here,
 * so they all refuse the same malformed input with the same message.
 */

#include <errno.h>
#include <string.h>

#include "apr_lib.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"

#include "fcgix.h"
#include "fcgix_conf_cmds.h"

/* The suffixes of durations: those ap_timeout_parameter_parse reads,
 * spelled out, because it stops reading after their first letters
 * ("5hours" or "5sec" would pass it). */
static const char *const time_units[] = {
    "", "ms", "s", "mi", "min", "h", "hr", NULL
};

/* The largest number of hours (the largest suffix) that still fits in
 * 64 bits of microseconds. */
#define MAX_HOURS (APR_INT64_MAX / APR_USEC_PER_SEC / 3600)

static apr_status_t scale_bytes(apr_int64_t n, const char *suffix,
                                apr_int64_t *v)
{
    apr_int64_t mul;

    switch (apr_toupper(*suffix)) {
    case '\0':
        mul = 1;
        break;
    case 'K':
        mul = 1024;
        break;
    case 'M':
        mul = 1024 * 1024;
        break;
    case 'G':
        mul = 1024 * 1024 * 1024;
        break;
    default:
        return APR_EINVAL;
    }
    if (*suffix && suffix[1]) {
        return APR_EINVAL;
    }
    if (n > APR_INT64_MAX / mul || n < -(APR_INT64_MAX / mul)) {
        return APR_ERANGE;
    }
    *v = n * mul;
    return APR_SUCCESS;
}

/* Plain numbers are seconds, as they always were. */
static apr_status_t parse_time(const char *arg, apr_int64_t n,
                               const char *suffix, apr_int64_t *v)
{
    apr_interval_time_t t;
    int i;

    for (i = 0; time_units[i] && strcmp(suffix, time_units[i]); i++) {
    }
    if (time_units[i] == NULL) {
        return APR_EINVAL;
    }
    if (n > MAX_HOURS || n < -MAX_HOURS) {
        return APR_ERANGE;
    }
    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *v = t;
    return APR_SUCCESS;
}

static apr_status_t parse_value(const char *arg, fcgix_unit_e unit,
                                apr_int64_t *v)
{
    const char *digits = arg[0] == '-' ? arg + 1 : arg;
    char *end;
    apr_int64_t n;
    apr_status_t rv;

    /* No blanks or '+' that strtol would skip: one plain spelling. */
    if (!apr_isdigit(*digits)) {
        return APR_EINVAL;
    }
    errno = 0;
    n = apr_strtoi64(arg, &end, 10);
    if (errno == ERANGE) {
        return APR_ERANGE;
    }
    switch (unit) {
    case FCGIX_UNIT_COUNT:
        *v = n;
        return *end ? APR_EINVAL : APR_SUCCESS;
    case FCGIX_UNIT_BYTES:
        return scale_bytes(n, end, v);
    case FCGIX_UNIT_TIME:
        return parse_time(arg, n, end, v);
    case FCGIX_UNIT_SECS:
        rv = parse_time(arg, n, end, v);
        if (rv == APR_SUCCESS && *v % APR_USEC_PER_SEC) {
            return APR_EINVAL;
        }
        *v /= APR_USEC_PER_SEC;
        return rv;
    }
    return APR_EINVAL;
}

/* A bound as the admin would write it. */
static const char *bound(apr_pool_t *p, fcgix_unit_e unit, apr_int64_t v)
{
    if (unit == FCGIX_UNIT_TIME && v % APR_USEC_PER_SEC) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT "ms", v / 1000);
    }
    if (unit == FCGIX_UNIT_TIME) {
        v /= APR_USEC_PER_SEC;
    }
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

static const char *range(apr_pool_t *p, fcgix_unit_e unit, apr_int64_t min,
                         apr_int64_t max)
{
    if (max == APR_INT64_MAX) {
        return apr_pstrcat(p, "of at least ", bound(p, unit, min), NULL);
    }
    return apr_pstrcat(p, "from ", bound(p, unit, min), " to ",
                       bound(p, unit, max), NULL);
}

/* What the message says @p unit takes. */
static const char *kind(fcgix_unit_e unit)
{
    switch (unit) {
    case FCGIX_UNIT_BYTES:
        return "a size in bytes";
    case FCGIX_UNIT_TIME:
        return "a duration in seconds";
    case FCGIX_UNIT_SECS:
        return "a whole number of seconds";
    default:
        return "a whole number";
    }
}

static const char *suffixes(fcgix_unit_e unit)
{
    switch (unit) {
    case FCGIX_UNIT_BYTES:
        return " (or with K, M, G)";
    case FCGIX_UNIT_TIME:
        return " (or with ms, s, mi, hr)";
    case FCGIX_UNIT_SECS:
        return " (or with s, mi, hr)";
    default:
        return "";
    }
}

const char *fcgix_conf_parse_num(apr_pool_t *p, const char *what,
                                 const char *arg, apr_int64_t min,
                                 apr_int64_t max, fcgix_unit_e unit,
                                 apr_int64_t *out)
{
    apr_int64_t v = 0;

    if (parse_value(arg, unit, &v) == APR_SUCCESS && v >= min && v <= max) {
        *out = v;
        return NULL;
    }
    return apr_psprintf(p, "%s: '%s' is not %s %s%s", what, arg,
                        kind(unit), range(p, unit, min, max),
                        suffixes(unit));
}

const char *fcgix_conf_what(cmd_parms *cmd, const char *option)
{
    return apr_pstrcat(cmd->pool, cmd->cmd->name, " ", option, NULL);
}

const char *fcgix_conf_option_time(cmd_parms *cmd, const char *option,
                                   const char *val, apr_int64_t min,
                                   apr_int64_t max,
                                   apr_interval_time_t *field)
{
    apr_int64_t v;
    const char *err = fcgix_conf_parse_num(cmd->pool,
                                           fcgix_conf_what(cmd, option), val,
                                           min, max, FCGIX_UNIT_TIME, &v);

    if (err == NULL) {
        *field = v;
    }
    return err;
}

const char *fcgix_conf_option_int(cmd_parms *cmd, const char *option,
                                  const char *val, apr_int64_t min,
                                  apr_int64_t max, fcgix_unit_e unit,
                                  int *field)
{
    apr_int64_t v;
    const char *err = fcgix_conf_parse_num(cmd->pool,
                                           fcgix_conf_what(cmd, option), val,
                                           min, max, unit, &v);

    if (err == NULL && field) {
        *field = (int)v;
    }
    return err;
}
