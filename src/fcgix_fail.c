/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"

#include "fcgix.h"
#include "fcgix_fail.h"
#include "fcgix_req.h"

/* The connection broke before any reply, and the request may not be
 * repeated: it fails here, with this one line. */
static void log_no_resend(fcgix_req_t *q, apr_status_t rv)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv == APR_EOF ? 0 : rv, q->r,
                  FCGIX_LOGNO(00303) SRV_FMT "connection closed before "
                  "any reply; the %s request%s is not sent again (only a "
                  "GET, HEAD or OPTIONS without a body is)", SRV_ARGS(q),
                  q->r->method, q->ms ? " (multiplexed)" : "");
}

/* A connection of its own broke (or the application closed it). */
void fcgix_fail_read(fcgix_req_t *q, apr_status_t rv)
{
    q->fail = HTTP_BAD_GATEWAY;
    /* A spawned process resets connections it never accepted when it
     * exits; one that accepted ours and died may have acted on it, so
     * only a reset is safe to send elsewhere. */
    if (q->may_retry && q->rx_bytes == 0
        && (!q->direct || APR_STATUS_IS_ECONNRESET(rv))) {
        /* A kept-alive connection the application had closed, or an
         * application that hangs up on FCGI_GET_VALUES: most likely
         * nothing of the request was processed, and it is one that
         * may be repeated, so it is sent once more. */
        q->retry = 1;
    }
    else if (q->no_resend && q->rx_bytes == 0
             && (!q->direct || APR_STATUS_IS_ECONNRESET(rv))) {
        log_no_resend(q, rv);
    }
    else if (q->client_gone) {
        /* Nobody is waiting for this reply. */
    }
    else if (q->out_started) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR,
                      rv == APR_EOF ? 0 : rv, q->r,
                      FCGIX_LOGNO(00111) SRV_FMT
                      "application closed the connection after the "
                      "response started; response aborted",
                      SRV_ARGS(q));
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_ERR,
                      rv == APR_EOF ? 0 : rv, q->r,
                      FCGIX_LOGNO(00106) SRV_FMT
                      "application closed the connection before "
                      "ending the request (%s)", SRV_ARGS(q),
                      fcgix_req_state_str(q->state));
    }
}

void fcgix_fail_read_mpx(fcgix_req_t *q, apr_status_t rv, const char *why)
{
    q->fail = HTTP_BAD_GATEWAY;
    if (q->may_retry && q->rx_bytes == 0 && !APR_STATUS_IS_TIMEUP(rv)
        && rv != FCGIX_MPX_OVERFLOW) {
        /* The shared connection broke before anything of ours came
         * back (the application was restarted, say): once more. */
        q->retry = 1;
    }
    else if (q->no_resend && q->rx_bytes == 0
             && !APR_STATUS_IS_TIMEUP(rv) && rv != FCGIX_MPX_OVERFLOW) {
        log_no_resend(q, rv);
    }
    else if (APR_STATUS_IS_TIMEUP(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, q->r,
                      FCGIX_LOGNO(00140) SRV_FMT
                      "no reply within %s (I/O timeout, request id %u)",
                      SRV_ARGS(q), fcgix_req_secs(q, q->io_timeout), q->rid);
        q->fail = HTTP_GATEWAY_TIME_OUT;
    }
    else if (rv == FCGIX_MPX_OVERFLOW) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      FCGIX_LOGNO(00141) SRV_FMT
                      "client too slow: more than %" APR_SIZE_T_FMT
                      " bytes queued on a multiplexed connection; "
                      "request aborted", SRV_ARGS(q),
                      q->set->mpx_limits.queue_max);
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, q->r,
                      FCGIX_LOGNO(00142) SRV_FMT
                      "multiplexed connection failed: %s%s",
                      SRV_ARGS(q), why ? why : "closed",
                      q->out_started ? "; response aborted" : "");
    }
}

/* What went wrong while sending; what the application wrote before it
 * stopped reading may still be a complete answer, so that is no failure. */
void fcgix_fail_send(fcgix_req_t *q, apr_status_t rv, int client_err)
{
    request_rec *r = q->r;

    if (client_err) {
        int status = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r,
                      FCGIX_LOGNO(00120) "reading the request body failed");
        q->fail = status == HTTP_REQUEST_ENTITY_TOO_LARGE
                  ? status : HTTP_BAD_REQUEST;
        if (q->c->aborted) {
            q->client_gone = 1;
        }
    }
    else if (APR_STATUS_IS_TIMEUP(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      FCGIX_LOGNO(00121) SRV_FMT
                      "application did not read the request within %s "
                      "(I/O timeout)", SRV_ARGS(q),
                      fcgix_req_secs(q, q->io_timeout));
        q->fail = HTTP_GATEWAY_TIME_OUT;
    }
    else if (rv != APR_SUCCESS && rv != FCGIX_APP_DONE
             && rv != FCGIX_FAILED) {
        /* The application stopped reading (closed, reset). */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                      FCGIX_LOGNO(00122) SRV_FMT
                      "writing the request to the application failed",
                      SRV_ARGS(q));
    }
}

/* After END_REQUEST: was the reply a usable response? */
void fcgix_fail_check_end(fcgix_req_t *q)
{
    if (q->fail || !q->ended || q->client_gone) {
        return;
    }
    if (q->end.protocol_status != FCGIX_REQUEST_COMPLETE) {
        int overloaded =
            q->end.protocol_status == FCGIX_OVERLOADED
            || q->end.protocol_status == FCGIX_CANT_MPX_CONN;
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      FCGIX_LOGNO(00114) SRV_FMT
                      "application refused the request: %s", SRV_ARGS(q),
                      fcgix_proto_status_str(q->end.protocol_status));
        q->fail = overloaded ? HTTP_SERVICE_UNAVAILABLE : HTTP_BAD_GATEWAY;
        return;
    }
    if (q->state == FCGIX_REQ_HEADERS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      FCGIX_LOGNO(00107) SRV_FMT
                      "request ended before a complete response header "
                      "(%" APR_SIZE_T_FMT " header bytes, app status %u)",
                      SRV_ARGS(q), q->hlen,
                      (unsigned)q->end.app_status);
        q->fail = HTTP_BAD_GATEWAY;
    }
}

