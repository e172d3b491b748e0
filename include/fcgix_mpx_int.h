/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_mpx_int.h
 * @brief The inside of multiplexing, shared by its two files: the
 *        connections and their ids (fcgix_mpx.c), the per-request queues,
 *        the demultiplexing reader and the writer (fcgix_mpx_demux.c).
 *
 * Layer L1: APR and the L0 codec, no httpd. Included by fcgix_mpx.c and
 * fcgix_mpx_demux.c only; everyone else goes through fcgix_mpx.h.
 *
 * One mutex per group (g->mu) guards every connection and stream field
 * but the reader's own (rd, blk: whoever has set "reading") and what an
 * owner took off its queue (mine, cur: the owner alone). Functions below
 * say when they want it held.
 */
#ifndef FCGIX_MPX_INT_H
#define FCGIX_MPX_INT_H

#include <pthread.h>
#include <semaphore.h>

#include "apr_thread_mutex.h"
#include "apr_time.h"

#include "fcgix_mpx.h"

/* The reader reads into blocks of MPX_BLOCK bytes, at least MPX_READ_MIN
 * and at most MPX_READ_MAX at a time (a read round is what owners are
 * woken for, as before blocks); a record at least MPX_SLICE_MIN long is
 * queued as a slice of the block (a reference on it), a shorter one as a
 * copy. The minimum
 * bounds what a slice may pin: a request's queue holds at most
 * MPX_BLOCK / MPX_SLICE_MIN times its bytes in blocks. */
#define MPX_BLOCK (128 * 1024)
#define MPX_READ_MIN (16 * 1024)
#define MPX_READ_MAX (64 * 1024)
#define MPX_SLICE_MIN (16 * 1024)
/* An owner asleep on its queue is posted once its queue holds
 * MPX_BATCH bytes (at most a quarter of the queue bound, so it is woken
 * with three quarters of its bound still free), once its reply ended or
 * failed, and whenever the reader stops or is about to sleep: a wake (a
 * futex on each side and two context switches) then buys a quarter of a
 * MiB passed on to the client rather than one 64 KiB read, and an
 * application that trickles finds the socket drained, so its owner is
 * posted at once. The reader also posts everyone after MPX_FLUSH_READ
 * bytes read without a pause: an owner whose application pauses behind a
 * busy neighbour waits no longer than that many bytes take to read. */
#define MPX_BATCH(queue_max) \
    ((queue_max) / 4 < 256 * 1024 ? (queue_max) / 4 : 256 * 1024)
#define MPX_FLUSH_READ (1024 * 1024)
/* The last request to leave a connection drains it in slices this long
 * (fcgix_mpx_conn_drain), so a request that joins waits no longer. */
#define MPX_DRAIN_SLICE apr_time_from_msec(100)
/* A writer waiting for room while another thread reads looks again this
 * often, in case that reader stopped and the application, blocked on
 * its replies, waits for someone to read. */
#define MPX_WRITE_LOOK apr_time_from_msec(1)
/* A released id rests this long (and as long again after each late
 * record for it) before it is handed out again: a record the application
 * sends after END_REQUEST must not reach the id's next owner. */
#define MPX_ID_QUIET apr_time_from_sec(1)

/* What the reader reads into. Freed (or kept for the next reader, see
 * fcgix_mpx_block_unref) with its last reference: the connection's, while
 * it reads into it, and one per slice queued or passed to a client, so a
 * block outlives the request, the owner and the connection whose data it
 * holds. */
typedef struct fcgix_mpx_block_t {
    apr_uint32_t refs;     /* atomic */
    apr_size_t fill;       /* the reader's */
    char data[MPX_BLOCK];
} fcgix_mpx_block_t;

/* One record's data queued for its owner: a slice of the block it was
 * read into (blk set) or a copy (data). */
typedef struct fcgix_mpx_chunk_t {
    struct fcgix_mpx_chunk_t *next;
    fcgix_ev_kind_e kind;
    apr_byte_t type;
    fcgix_end_t end;
    apr_size_t len;
    fcgix_mpx_block_t *blk;
    const char *p;
    char data[];
} fcgix_mpx_chunk_t;

typedef struct fcgix_mconn_t fcgix_mconn_t;

struct fcgix_mstream_t {
    fcgix_mconn_t *mc;
    apr_uint16_t rid;
    fcgix_mpx_chunk_t *head, *tail, *cur;
    /* taken off the queue in one go; owner only, no lock */
    fcgix_mpx_chunk_t *mine;
    apr_size_t queued;
    apr_size_t taken; /* bytes of the last take, still counted in queued:
                       * the bound stays strict while the owner works */
    int ended;     /* END_REQUEST received */
    int overflow;  /* dropped for outgrowing the queue bound */
    int detached;  /* owner gone; freed when END_REQUEST arrives */
    /* Detached: what the application may still send for it, and until
     * when, before the connection is retired (fcgix_mpx_conn_retire). */
    apr_time_t drain_until;
    apr_size_t drain_left;
    int waiting;   /* owner asleep on sem; whoever posts clears it */
    sem_t sem;     /* wakes the owner alone: no herd per record */
};

struct fcgix_mconn_t {
    fcgix_mpx_group_t *g;
    fcgix_conn_t *conn;
    fcgix_reader_t rd;     /* only the current reader touches rd/blk */
    fcgix_mpx_block_t *blk; /* read into; NULL until the first read */
    int reading;
    /* Bytes read since the reader last posted everyone with anything
     * (MPX_FLUSH_READ); the reader's. */
    apr_size_t unflushed;
    int broken;
    apr_status_t broken_rv;
    const char *why;
    int nstreams;          /* ids in use, detached ones included */
    int ndetached;
    int retired;           /* takes no more requests; closed once only
                              detached ids are left */
    int nids;
    fcgix_mstream_t **ids; /* index rid - 1 */
    /* Per id: 0 never used, else when it may be handed out again. Ids
     * are handed out round-robin from next_id, so the one just released
     * is the last candidate. */
    apr_time_t *quiet_until;
    int next_id;
    /* The application once wrote for an id after its END_REQUEST: its
     * ids rest in full from then on, whatever the cost in connections. */
    int late_seen;
    /* Late records dropped and not yet reported (fcgix_mpx_take_late). */
    apr_uint32_t late_n;
    apr_uint16_t late_rid;
    apr_thread_mutex_t *wmu;
    apr_time_t idle_since;
    fcgix_mconn_t *next;
};

struct fcgix_mpx_group_t {
    /* Guards every mconn and stream field. Every request takes it a few
     * times, for a few hundred nanoseconds: it spins a little before it
     * sleeps. */
    pthread_mutex_t mu;
    fcgix_pool_t *pl;
    fcgix_mpx_limits_t lim;
    fcgix_mconn_t *conns;
    fcgix_mpx_stats_t stats;
    /* Connections retired and not yet reported (fcgix_mpx_take_retired). */
    apr_uint32_t retired_n;
    apr_uint16_t retired_rid;
};

/* fcgix_mpx.c: connections and ids (group lock held) */

/** Marks the connection unusable; detached streams go with it. */
void fcgix_mpx_conn_break(fcgix_mconn_t *mc, apr_status_t rv,
                          const char *why);

/** No more requests on @p mc; @p ms is the aborted request to blame. */
void fcgix_mpx_conn_retire(fcgix_mconn_t *mc, const fcgix_mstream_t *ms);

/** Retires @p mc if a detached request's drain time was up at @p now. */
void fcgix_mpx_conn_retire_overdue(fcgix_mconn_t *mc, apr_time_t now);

/** END_REQUEST for a detached stream: its id rests, the stream goes. */
void fcgix_mpx_conn_forget(fcgix_mconn_t *mc, fcgix_mstream_t *ms);

/* fcgix_mpx_demux.c: queues, reading, writing */

/** Drops a reference on @p blk (NULL is fine); any thread, no lock. */
void fcgix_mpx_block_unref(void *blk);

/** Frees what is queued for or held by the owner (group lock held, or
 *  the stream no longer reachable by a reader). */
void fcgix_mpx_stream_empty(fcgix_mstream_t *ms);

/** fcgix_mpx_stream_empty, then the stream itself. */
void fcgix_mpx_stream_free(fcgix_mstream_t *ms);

/**
 * The last live request has left @p mc and nobody reads it: reads on, as
 * its reader, until the detached requests' ends arrive, their drain time
 * is up, a live request comes back to the connection, or it breaks.
 * Group lock held on entry and on return (released while reading).
 */
void fcgix_mpx_conn_drain(fcgix_mconn_t *mc);

/** Polls the connection's socket for @p events, retrying on EINTR. */
apr_status_t fcgix_mpx_conn_poll(fcgix_mconn_t *mc, apr_int16_t events,
                                 apr_interval_time_t timeout,
                                 apr_int16_t *rev);

#endif /* FCGIX_MPX_INT_H */
