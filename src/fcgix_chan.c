/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include "httpd.h"

#include "fcgix.h"
#include "fcgix_chan.h"
#include "fcgix_loop.h"
#include "fcgix_req.h"

int fcgix_chan_connect(fcgix_req_t *q)
{
    fcgix_lease_t ls;
    int status = fcgix_upstream_lease(q->up, &ls);

    if (status != OK) {
        return status;
    }
    q->addr = ls.addr;
    q->sock = ls.sock;
    q->conn = ls.conn;
    q->ms = ls.ms;
    q->rid = ls.rid;
    q->pl = ls.pl;
    q->direct = ls.process;
    return OK;
}

/* What the caller will return is a 502 or 504 (see the bridge's
 * finish()): the application failed this request. */
static int failed(const fcgix_req_t *q)
{
    if (q->fail != HTTP_BAD_GATEWAY && q->fail != HTTP_GATEWAY_TIME_OUT) {
        return 0;
    }
    return q->auth || (!q->client_gone && !q->out_started);
}

void fcgix_chan_release(fcgix_req_t *q, int retry)
{
    fcgix_lease_t ls;
    fcgix_lease_end_e how;

    ls.addr = q->addr;
    ls.sock = q->sock;
    ls.conn = q->conn;
    ls.ms = q->ms;
    ls.rid = q->rid;
    ls.pl = q->pl;
    ls.process = q->direct;
    /* Only for a client that left: a failed request's error page, or a
     * retry, must not wait for the drain. */
    ls.read_on = !retry && q->client_gone && !q->fail;
    if (retry) {
        how = FCGIX_LEASE_RETRY;
    }
    /* The reuse checklist: a clean end we asked to keep, the reader
     * between records, nothing unread, no failure. */
    else if (q->keep_conn && q->ended && !q->fail
             && q->end.protocol_status == FCGIX_REQUEST_COMPLETE
             && fcgix_reader_idle(&q->rd) && !q->leftover) {
        how = FCGIX_LEASE_REUSE;
    }
    else {
        how = failed(q) ? FCGIX_LEASE_FAILED : FCGIX_LEASE_CLOSE;
    }
    fcgix_upstream_release(q->up, &ls, how);
    if (ls.retired) {
        fcgix_loop_note_retired(q, ls.retired, ls.retired_rid);
    }
    q->ms = NULL;
    q->conn = NULL;
    q->sock = NULL;
}
