/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include "httpd.h"
#include "http_log.h"

#include "fcgix.h"
#include "fcgix_override.h"

int fcgix_override_wanted(const fcgix_req_t *q)
{
    const request_rec *r = q->r;

    if (q->auth || q->data || q->action != FCGIX_RESP_SEND
        || !ap_is_HTTP_ERROR(r->status)
        || !fcgix_conf_error_override(q->dc)) {
        return 0;
    }
    /* A filter's reply replaces a response already under way; within a
     * subrequest nobody shows an error page; and when this request is
     * itself the error page of another error, replacing it would only
     * get httpd's canned "additionally, an error ..." text: the
     * application's own page is the better one. */
    return r->main == NULL
           && !(r->prev && ap_is_HTTP_ERROR(r->prev->status));
}

static int keep(void *err_out, const char *key, const char *val)
{
    apr_table_add(err_out, key, val);
    return 1;
}

int fcgix_override_status(fcgix_req_t *q)
{
    request_rec *r = q->r;
    int status = r->status;

    /* Set-Cookie is in err_headers_out already (httpd's CGI scanner put
     * it there, as for mod_proxy_fcgi), so it reaches the error page;
     * a 401 without its challenges would be one no client can answer. */
    if (status == HTTP_UNAUTHORIZED) {
        apr_table_do(keep, r->err_headers_out, r->headers_out,
                     "WWW-Authenticate", NULL);
    }
    apr_table_clear(r->headers_out);
    /* ap_die() takes a status other than 200 in r->status for an error
     * met while handling another one, and would skip ErrorDocument. */
    r->status = HTTP_OK;
    r->status_line = NULL;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FCGIX_LOGNO(00663)
                  SRV_FMT "reply %d replaced by the error page "
                  "(FcgixErrorOverride)", SRV_ARGS(q), status);
    return status;
}
