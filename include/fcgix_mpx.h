/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_mpx.h
 * @brief Multiplexing: many requests of one httpd child share a FastCGI
 *        connection, each under its own request id.
 *
 * Layer L1: APR and the L0 codec, no httpd. Used by the bridge in request
 * threads when the application said FCGI_MPXS_CONNS=1 (or configuration
 * forces it).
 *
 * There is no I/O thread. Whichever request thread needs data while
 * nobody reads becomes the reader until a batch of its own data arrives
 * (or less, once the socket is drained): it demultiplexes the records
 * into per-request queues, wakes just their owners, once per batch or
 * whenever it pauses, then hands the lead to one owner still waiting
 * (leader / follower). Writes of whole record batches are serialised by a per-
 * connection write lock; a writer that must wait for the application to
 * read also reads, so the two directions can never block each other.
 *
 * FastCGI has no flow control per request, so a request whose client is
 * slow could make its queue grow without bound. Past the configured bound
 * that request alone is dropped: the application gets FCGI_ABORT_REQUEST,
 * its further records are discarded, and its owner sees FCGIX_MPX_OVERFLOW.
 * The other requests on the connection never wait for a slow client.
 */
#ifndef FCGIX_MPX_H
#define FCGIX_MPX_H

#include <sys/uio.h>

#include "apr_buckets.h"
#include "apr_pools.h"

#include "fcgix_limits.h"
#include "fcgix_pool.h"
#include "fcgix_proto.h"

/** A request's queue outgrew the bound (see above). */
#define FCGIX_MPX_OVERFLOW (APR_OS_START_USERERR + 801)

typedef struct fcgix_mpx_group_t fcgix_mpx_group_t;
typedef struct fcgix_mstream_t fcgix_mstream_t;

/** Counters for status displays. */
typedef struct fcgix_mpx_stats_t {
    apr_uint32_t conns;    /**< multiplexed connections open */
    apr_uint32_t streams;  /**< requests on them now */
    apr_uint32_t max_depth;/**< most requests seen on one connection */
    apr_uint32_t overflows;
    apr_uint32_t late;     /**< records for ended requests, dropped */
} fcgix_mpx_stats_t;

/** One group per pool (address) per child; from child_init. */
apr_status_t fcgix_mpx_group_create(fcgix_mpx_group_t **g,
                                    fcgix_pool_t *pl,
                                    const fcgix_mpx_limits_t *lim,
                                    apr_pool_t *pchild);

/**
 * Attaches a request to a connection with a free id (opening one when all
 * are full), and gives the request id to use.
 */
apr_status_t fcgix_mpx_open(fcgix_mpx_group_t *g,
                            apr_interval_time_t connect_timeout,
                            fcgix_mstream_t **ms, apr_uint16_t *rid);

/** Writes whole records for this request (other requests' reads go on). */
apr_status_t fcgix_mpx_send(fcgix_mstream_t *ms, struct iovec *iov, int n,
                            apr_interval_time_t timeout);

/**
 * The next event for this request: STREAM (STDOUT/STDERR data, valid until
 * the next call) or END_REQUEST.
 * @param timeout 0 to return APR_EAGAIN at once when nothing is queued
 * @return APR_SUCCESS; APR_EAGAIN; APR_TIMEUP; FCGIX_MPX_OVERFLOW; the
 *         connection's error (APR_EOF, a protocol error as APR_EGENERAL
 *         with @p why set)
 */
apr_status_t fcgix_mpx_next(fcgix_mstream_t *ms, apr_interval_time_t timeout,
                            fcgix_event_t *ev, const char **why);

/**
 * Whether the next fcgix_mpx_next returns at once, without a lock or a
 * wait: records this request took with the last one are left. Only the
 * request's own thread may ask (the reader hands records over only to an
 * owner asleep in fcgix_mpx_next).
 */
int fcgix_mpx_at_hand(const fcgix_mstream_t *ms);

/**
 * Hands the record fcgix_mpx_next gave last to the caller as a heap
 * bucket holding @p len bytes at @p data (which must lie in that
 * record's data), freed with the bucket instead of by the next call:
 * the reply goes down without a second copy. NULL when @p data is not
 * the record's or it was handed over already.
 */
apr_bucket *fcgix_mpx_bucket(fcgix_mstream_t *ms, const char *data,
                             apr_size_t len, apr_bucket_alloc_t *ba);

/**
 * Detaches the request. One that has not seen its END_REQUEST gets
 * FCGI_ABORT_REQUEST sent, and its id stays reserved until the
 * application ends it. If the application sends more than @p drain_max
 * bytes for it, or has not ended it after @p drain_time, the connection
 * is retired: it takes no more requests and is closed once no live
 * request is left on it (an application that ignores the abort cannot
 * keep it busy). With @p read_on (the client left: nobody waits for this
 * thread), a request that was the connection's last live one reads it on
 * until the application's end arrives or those limits are reached, since
 * nobody else would read it in time.
 * @return with @p read_on, the group's connections retired and not yet
 *         reported (fcgix_mpx_take_retired), now taken: the drain just
 *         done may have retired one, and its thread is the one to tell;
 *         @p rid as there. 0 otherwise.
 */
apr_uint32_t fcgix_mpx_close(fcgix_mstream_t *ms,
                             apr_interval_time_t drain_time,
                             apr_size_t drain_max, int read_on,
                             apr_uint16_t *rid);

/**
 * Connections of this request's group retired since the last call, as
 * fcgix_mpx_close describes (0 if none); @p rid is the aborted request id
 * that caused the latest.
 */
apr_uint32_t fcgix_mpx_take_retired(fcgix_mstream_t *ms, apr_uint16_t *rid);

/**
 * Records the application sent for requests it had already ended, on
 * this request's connection, dropped since the last call (0 if none);
 * @p rid is the id of the latest. They never reach another request: ids
 * are handed out round-robin, and a released id rests (1 s, and again
 * after each late record for it) before it is used again.
 */
apr_uint32_t fcgix_mpx_take_late(fcgix_mstream_t *ms, apr_uint16_t *rid);

void fcgix_mpx_stats(fcgix_mpx_group_t *g, fcgix_mpx_stats_t *st);

#endif /* FCGIX_MPX_H */
