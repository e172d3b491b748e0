/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include "apr_strings.h"
#include "httpd.h"
#include "http_log.h"

#include "fcgix.h"
#include "fcgix_req.h"

static const char *const state_names[] = {
    "CONNECT", "SEND", "HEADERS", "BODY", "DISCARD", "DONE"
};

const char *fcgix_req_state_str(fcgix_req_state_e st)
{
    if ((unsigned)st < sizeof(state_names) / sizeof(state_names[0])) {
        return state_names[st];
    }
    return "INVALID";
}

void fcgix_req_set_state(fcgix_req_t *q, fcgix_req_state_e st)
{
    ap_log_rerror(APLOG_MARK, APLOG_TRACE3, 0, q->r, SRV_FMT "%s -> %s",
                  SRV_ARGS(q), fcgix_req_state_str(q->state),
                  fcgix_req_state_str(st));
    q->state = st;
}

const char *fcgix_req_secs(const fcgix_req_t *q, apr_interval_time_t t)
{
    int ms = (int)(apr_time_as_msec(t) % 1000);
    char frac[5];
    int n = 4;

    if (ms == 0) {
        return apr_psprintf(q->r->pool, "%" APR_TIME_T_FMT " s",
                            apr_time_sec(t));
    }
    apr_snprintf(frac, sizeof(frac), ".%03d", ms);
    while (frac[n - 1] == '0') {
        n--;
    }
    frac[n] = '\0';
    return apr_psprintf(q->r->pool, "%" APR_TIME_T_FMT "%s s",
                        apr_time_sec(t), frac);
}
