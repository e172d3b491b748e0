/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Multiplexing, the data side: what the leader reads is demultiplexed
 * (fcgix_reader_pump, the pump the direct path uses too) into the owners'
 * queues, owners take their records and sleep until woken, and writers
 * read while they wait. The connections and their ids are fcgix_mpx.c's.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apr_poll.h"

#include "fcgix_mpx_int.h"

typedef fcgix_mpx_chunk_t chunk_t;
typedef fcgix_mconn_t mconn_t;

/* ------------------------------------------------------------------ */
/* Blocks                                                              */
/* ------------------------------------------------------------------ */

/* Blocks whose last slice went, kept for the next block a reader needs:
 * a 128 KiB malloc freed by another thread would otherwise cost glibc a
 * trim (madvise, TLB flushes) almost every time. Per process, few. */
#define SPARE_MAX 8
static pthread_mutex_t spare_mu = PTHREAD_MUTEX_INITIALIZER;
static fcgix_mpx_block_t *spare[SPARE_MAX];
static int nspare;

void fcgix_mpx_block_unref(void *blk)
{
    fcgix_mpx_block_t *b = blk;

    if (b == NULL || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL)) {
        return;
    }
    pthread_mutex_lock(&spare_mu);
    if (nspare < SPARE_MAX) {
        spare[nspare++] = b;
        b = NULL;
    }
    pthread_mutex_unlock(&spare_mu);
    free(b);
}

/* A block with room to read MPX_READ_MIN into: the connection's own while
 * it has, or again from its start once no slice holds it. NULL: out of
 * memory. Reader only. */
static fcgix_mpx_block_t *block_for_read(mconn_t *mc)
{
    fcgix_mpx_block_t *b = mc->blk;

    if (b && MPX_BLOCK - b->fill >= MPX_READ_MIN) {
        return b;
    }
    if (b && __atomic_load_n(&b->refs, __ATOMIC_ACQUIRE) == 1) {
        b->fill = 0;
        return b;
    }
    fcgix_mpx_block_unref(b);
    b = NULL;
    pthread_mutex_lock(&spare_mu);
    if (nspare) {
        b = spare[--nspare];
    }
    pthread_mutex_unlock(&spare_mu);
    if (b == NULL) {
        b = malloc(sizeof(*b));
    }
    if (b) {
        b->refs = 1;
        b->fill = 0;
    }
    mc->blk = b;
    return b;
}

/* No more per read than before blocks: a read round is what the owners
 * are woken for, and what may outgrow a slow client's queue at once. */
static apr_size_t read_len(const fcgix_mpx_block_t *b)
{
    apr_size_t room = MPX_BLOCK - b->fill;

    return room < MPX_READ_MAX ? room : MPX_READ_MAX;
}

/* ------------------------------------------------------------------ */
/* Queues (group lock held)                                            */
/* ------------------------------------------------------------------ */

static void free_chunk(chunk_t *c)
{
    if (c) {
        fcgix_mpx_block_unref(c->blk);
        free(c);
    }
}

static void free_chunks(chunk_t *c)
{
    while (c) {
        chunk_t *n = c->next;
        free_chunk(c);
        c = n;
    }
}

void fcgix_mpx_stream_empty(fcgix_mstream_t *ms)
{
    free_chunks(ms->head);
    free_chunks(ms->mine);
    free_chunk(ms->cur);
    ms->head = ms->tail = ms->cur = ms->mine = NULL;
    ms->queued = 0;
}

void fcgix_mpx_stream_free(fcgix_mstream_t *ms)
{
    fcgix_mpx_stream_empty(ms);
    sem_destroy(&ms->sem);
    free(ms);
}

/*
 * Moves everything queued to ms->mine, for the owner to go through without
 * the lock; it stays counted in the queue bound until the owner asks for
 * more. Group lock held. The release store lets an owner that wakes up
 * see the records without taking the lock (sleep_until()).
 */
static void take_all(fcgix_mstream_t *ms)
{
    chunk_t *c = ms->head;

    ms->head = ms->tail = NULL;
    ms->taken = ms->queued;
    __atomic_store_n(&ms->mine, c, __ATOMIC_RELEASE);
}

static void post(fcgix_mstream_t *ms)
{
    ms->waiting = 0;
    sem_post(&ms->sem);
}

/* How many owners wake() posts (MPX_BATCH). */
typedef enum {
    WAKE_BATCH, /* the reader reads on: those with a batch or an end */
    WAKE_ALL,   /* the reader pauses: everyone with anything */
    WAKE_LEAD   /* the reader stopped: WAKE_ALL and one more to read */
} wake_e;

/* Worth a wake while the reader reads on (MPX_BATCH). */
static int worth_wake(const fcgix_mstream_t *ms)
{
    return ms->ended || ms->queued >= MPX_BATCH(ms->mc->g->lim.queue_max);
}

/*
 * Wakes, of the owners asleep on this connection, those with something to
 * take (a record, an overflow, a broken connection) as @p how says, and,
 * for WAKE_LEAD when nobody reads, one more to become the reader. Group
 * lock held.
 */
static void wake(mconn_t *mc, wake_e how)
{
    int leader = how == WAKE_LEAD && !mc->reading && !mc->broken;
    int i;

    if (how != WAKE_BATCH) {
        mc->unflushed = 0;
    }
    for (i = 0; i < mc->nids; i++) {
        fcgix_mstream_t *ms = mc->ids[i];
        if (ms == NULL || !ms->waiting) {
            continue;
        }
        if (ms->head && how == WAKE_BATCH && !worth_wake(ms)
            && !ms->overflow && !mc->broken) {
            /* Posted when the batch fills or the reader pauses. */
            continue;
        }
        if (ms->head && !ms->overflow && !mc->broken && ms->mine == NULL) {
            /* Handed over with the wake: the owner need not queue up on
             * the group lock again to take it. */
            take_all(ms);
            post(ms);
        }
        else if (ms->head || ms->overflow || mc->broken) {
            post(ms);
        }
        else if (leader) {
            post(ms);
            leader = 0;
        }
    }
}

/* Queues the record: a slice of the block it was read into when it is
 * long enough to be worth pinning the block for, else a copy. */
static void enqueue(mconn_t *mc, fcgix_mstream_t *ms, const fcgix_event_t *ev)
{
    fcgix_mpx_block_t *b = mc->blk;
    int slice = b && ev->len >= MPX_SLICE_MIN
                && (uintptr_t)ev->data >= (uintptr_t)b->data
                && (uintptr_t)ev->data + ev->len
                       <= (uintptr_t)b->data + MPX_BLOCK;
    chunk_t *c = malloc(sizeof(*c) + (slice ? 0 : ev->len));

    if (c == NULL) {
        fcgix_mpx_conn_break(mc, APR_ENOMEM, "out of memory");
        return;
    }
    c->kind = ev->kind;
    c->type = ev->type;
    c->end = ev->end;
    c->len = ev->len;
    if (slice) {
        __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
        c->blk = b;
        c->p = (const char *)ev->data;
    }
    else {
        c->blk = NULL;
        c->p = c->data;
        if (ev->len) {
            memcpy(c->data, ev->data, ev->len);
        }
    }
    c->next = NULL;
    if (ms->tail) {
        ms->tail->next = c;
    }
    else {
        ms->head = c;
    }
    ms->tail = c;
    ms->queued += c->len;
}

/* A record for an id no live request owns. */
static void dispatch_orphan(mconn_t *mc, apr_uint16_t rid)
{
    if (mc->quiet_until[rid - 1] == 0) {
        fcgix_mpx_conn_break(mc, APR_EGENERAL,
                             "record for a request id never used");
        return;
    }
    /* Sent after its END_REQUEST: dropped, and the id rests longer. */
    mc->quiet_until[rid - 1] = apr_time_now() + MPX_ID_QUIET;
    mc->late_seen = 1;
    mc->late_rid = rid;
    __atomic_add_fetch(&mc->late_n, 1, __ATOMIC_RELAXED);
    mc->g->stats.late++;
}

/* A stream record for a request whose owner left: counted against what
 * it may still send (fcgix_mpx_close). */
static void dispatch_drain(mconn_t *mc, fcgix_mstream_t *ms,
                           const fcgix_event_t *ev)
{
    if (ev->len > ms->drain_left || apr_time_now() >= ms->drain_until) {
        fcgix_mpx_conn_retire(mc, ms);
    }
    else {
        ms->drain_left -= ev->len;
    }
}

/* Routes one record to its owner's queue. Group lock held. */
static void dispatch(mconn_t *mc, const fcgix_event_t *ev)
{
    fcgix_mstream_t *ms;

    if (ev->kind == FCGIX_EV_MGMT) {
        if (ev->type == FCGIX_GET_VALUES_RESULT) {
            fcgix_pool_caps_answer(mc->g->pl, ev->data, ev->len);
        }
        return;
    }
    if (ev->kind == FCGIX_EV_UNKNOWN_TYPE) {
        return;
    }
    if (ev->request_id == 0 || ev->request_id > mc->nids) {
        fcgix_mpx_conn_break(mc, APR_EGENERAL,
                             "record for a request id not in use");
        return;
    }
    if ((ms = mc->ids[ev->request_id - 1]) == NULL) {
        dispatch_orphan(mc, ev->request_id);
        return;
    }
    if (ev->kind == FCGIX_EV_END_REQUEST) {
        if (ms->detached) {
            fcgix_mpx_conn_forget(mc, ms);
            return;
        }
        ms->ended = 1;
        if (!ms->overflow) {
            /* Dropped ones' end must not read as a complete reply. */
            enqueue(mc, ms, ev);
        }
        return;
    }
    if (ev->kind != FCGIX_EV_STREAM) {
        return;
    }
    if (ms->detached) {
        dispatch_drain(mc, ms, ev);
    }
    else if (ms->overflow) {
        return;
    }
    else if (ms->queued + ev->len > mc->g->lim.queue_max) {
        /* Its client reads too slowly: drop this request, not the
         * connection (see fcgix_mpx.h). */
        ms->overflow = 1;
        free_chunks(ms->head);
        ms->head = ms->tail = NULL;
        ms->queued = 0;
        mc->g->stats.overflows++;
    }
    else {
        enqueue(mc, ms, ev);
    }
}

/* ------------------------------------------------------------------ */
/* Reading (as the connection's current reader)                        */
/* ------------------------------------------------------------------ */

apr_status_t fcgix_mpx_conn_poll(mconn_t *mc, apr_int16_t events,
                                 apr_interval_time_t timeout,
                                 apr_int16_t *rev)
{
    apr_pollfd_t pfd;
    apr_int32_t n;
    apr_status_t rv;

    memset(&pfd, 0, sizeof(pfd));
    pfd.p = mc->conn->p;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.reqevents = events;
    pfd.desc.s = mc->conn->sock;
    do {
        rv = apr_poll(&pfd, 1, &n, timeout);
    } while (APR_STATUS_IS_EINTR(rv));
    *rev = pfd.rtnevents;
    return rv;
}

/* The pump's callback: demultiplexes, stops once the connection broke. */
static int demux_event(void *baton, const fcgix_event_t *ev)
{
    mconn_t *mc = baton;

    dispatch(mc, ev);
    return mc->broken;
}

/*
 * One read and its dispatch. Called with the group lock NOT held and
 * mc->reading set by the caller; takes the lock to dispatch.
 */
static apr_status_t read_once(mconn_t *mc, apr_interval_time_t timeout)
{
    fcgix_mpx_group_t *g = mc->g;
    fcgix_mpx_block_t *b = block_for_read(mc);
    char *buf;
    apr_size_t len;
    size_t used;
    apr_int16_t rev;
    apr_status_t rv;

    if (b == NULL) {
        pthread_mutex_lock(&g->mu);
        fcgix_mpx_conn_break(mc, APR_ENOMEM, "out of memory");
        wake(mc, WAKE_ALL);
        pthread_mutex_unlock(&g->mu);
        return APR_SUCCESS;
    }
    buf = b->data + b->fill;
    len = read_len(b);
    rv = apr_socket_recv(mc->conn->sock, buf, &len);
    if (len == 0 && APR_STATUS_IS_EAGAIN(rv)) {
        if (timeout == 0) {
            return APR_EAGAIN;
        }
        if (__atomic_load_n(&mc->unflushed, __ATOMIC_RELAXED)) {
            /* Drained: nobody's records wait while the reader sleeps. */
            pthread_mutex_lock(&g->mu);
            wake(mc, WAKE_ALL);
            pthread_mutex_unlock(&g->mu);
        }
        rv = fcgix_mpx_conn_poll(mc, APR_POLLIN, timeout, &rev);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        len = read_len(b);
        rv = apr_socket_recv(mc->conn->sock, buf, &len);
    }
    pthread_mutex_lock(&g->mu);
    if (len == 0) {
        if (!APR_STATUS_IS_EAGAIN(rv)) {
            fcgix_mpx_conn_break(mc, rv == APR_SUCCESS ? APR_EOF : rv,
                                 "connection closed by the application");
        }
    }
    else if (!mc->broken) {
        int rc = fcgix_reader_pump(&mc->rd, (const uint8_t *)buf, len,
                                   &used, demux_event, mc);
        b->fill += len;
        mc->unflushed += len;
        if (rc != FCGIX_OK && rc != FCGIX_AGAIN) {
            fcgix_mpx_conn_break(mc, APR_EGENERAL,
                                 mc->rd.error ? mc->rd.error : "bad record");
        }
    }
    wake(mc, mc->unflushed >= MPX_FLUSH_READ ? WAKE_ALL : WAKE_BATCH);
    pthread_mutex_unlock(&g->mu);
    return APR_SUCCESS;
}

/* The earliest drain deadline of the connection's detached requests. */
static apr_time_t drain_deadline(const mconn_t *mc)
{
    apr_time_t until = 0;
    int i;

    for (i = 0; i < mc->nids; i++) {
        const fcgix_mstream_t *ms = mc->ids[i];
        if (ms && ms->detached && (until == 0 || ms->drain_until < until)) {
            until = ms->drain_until;
        }
    }
    return until;
}

/*
 * Without a reader the application's END_REQUEST for an aborted request
 * would sit unread until the next request came by, long after the drain
 * time: the connection would then be retired for a limit the application
 * kept. So the last request to leave reads it, as a direct connection's
 * request does, within the same limits.
 */
void fcgix_mpx_conn_drain(mconn_t *mc)
{
    fcgix_mpx_group_t *g = mc->g;
    apr_status_t rv = APR_SUCCESS;

    if (mc->reading || mc->broken) {
        return;
    }
    mc->reading = 1;
    while (rv == APR_SUCCESS && mc->ndetached && !mc->broken
           && !mc->retired && mc->nstreams == mc->ndetached) {
        apr_interval_time_t left = drain_deadline(mc) - apr_time_now();
        if (left <= 0) {
            break;
        }
        pthread_mutex_unlock(&g->mu);
        /* In slices: a live request that joins meanwhile is handed the
         * lead soon. Not under a millisecond: poll(2) would take that as
         * 0 and this would spin to the deadline. */
        if (left > MPX_DRAIN_SLICE) {
            left = MPX_DRAIN_SLICE;
        }
        else if (left < apr_time_from_msec(1)) {
            left = apr_time_from_msec(1);
        }
        rv = read_once(mc, left);
        pthread_mutex_lock(&g->mu);
        if (APR_STATUS_IS_TIMEUP(rv)) {
            rv = APR_SUCCESS;
        }
    }
    if (!mc->broken && mc->nstreams == mc->ndetached) {
        /* Still writing when its time was up: retired now, so the
         * caller closes it (close_if_spent), not the next request. */
        fcgix_mpx_conn_retire_overdue(mc, apr_time_now());
    }
    mc->reading = 0;
    wake(mc, WAKE_LEAD);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* Is another thread reading? If not, the writer reads what is there
 * (the application may be blocked writing its replies, waiting for
 * someone to read, and so not reading what we write) and says 0. */
static int read_while_writing(mconn_t *mc)
{
    fcgix_mpx_group_t *g = mc->g;
    int other;

    pthread_mutex_lock(&g->mu);
    other = mc->reading;
    mc->reading = 1;
    pthread_mutex_unlock(&g->mu);
    if (other) {
        return 1;
    }
    read_once(mc, 0);
    pthread_mutex_lock(&g->mu);
    mc->reading = 0;
    wake(mc, WAKE_LEAD);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

apr_status_t fcgix_mpx_send(fcgix_mstream_t *ms, struct iovec *iov, int n,
                            apr_interval_time_t timeout)
{
    mconn_t *mc = ms->mc;
    fcgix_mpx_group_t *g = mc->g;
    apr_status_t rv = APR_SUCCESS;
    apr_time_t until = 0; /* of the wait for room; 0: not waiting */
    int other = 0;        /* another thread reads */

    apr_thread_mutex_lock(mc->wmu);
    while (n > 0) {
        apr_int16_t rev = 0;
        apr_interval_time_t left;

        if (iov->iov_len == 0) {
            iov++;
            n--;
            continue;
        }
        if (mc->broken) {
            rv = mc->broken_rv;
            break;
        }
        rv = fcgix_pool_sendv(mc->conn->sock, &iov, &n);
        if (rv == APR_SUCCESS) {
            continue;
        }
        if (!APR_STATUS_IS_EAGAIN(rv)) {
            pthread_mutex_lock(&g->mu);
            fcgix_mpx_conn_break(mc, rv, "write to the application failed");
            wake(mc, WAKE_ALL);
            pthread_mutex_unlock(&g->mu);
            break;
        }
        if (until == 0) {
            until = apr_time_now() + timeout;
        }
        left = until - apr_time_now();
        if (left <= 0) {
            rv = APR_TIMEUP;
            break;
        }
        /* Another thread reads what the application writes: waiting
         * for room alone, not for those records too (which would wake
         * this writer for every one of them, with nothing to do), lets
         * a body stream without spinning or sleeping. */
        rv = fcgix_mpx_conn_poll(mc, other ? APR_POLLOUT
                                           : APR_POLLOUT | APR_POLLIN,
                                 other && left > MPX_WRITE_LOOK
                                     ? MPX_WRITE_LOOK : left,
                                 &rev);
        if (APR_STATUS_IS_TIMEUP(rv) && other) {
            other = read_while_writing(mc);
            continue;
        }
        if (rv != APR_SUCCESS) {
            break;
        }
        if (rev & APR_POLLOUT) {
            until = 0;
        }
        if (rev & (APR_POLLIN | APR_POLLHUP | APR_POLLERR)) {
            other = read_while_writing(mc);
            if (other && (rev & (APR_POLLHUP | APR_POLLERR))
                && !(rev & APR_POLLOUT)) {
                /* Hung up or failed, and another reader will find out;
                 * no room meanwhile: do not spin on it. */
                apr_sleep(MPX_WRITE_LOOK);
            }
        }
    }
    apr_thread_mutex_unlock(mc->wmu);
    return rv;
}

/* ------------------------------------------------------------------ */
/* Taking records (as their owner)                                     */
/* ------------------------------------------------------------------ */

/* The next of the chunks the owner took: becomes ms->cur (freed by the
 * next call) and is described in @p ev. */
static void chunk_event(fcgix_mstream_t *ms, fcgix_event_t *ev)
{
    chunk_t *c = ms->mine;

    ms->mine = c->next;
    ms->cur = c;
    memset(ev, 0, sizeof(*ev));
    ev->kind = c->kind;
    ev->type = c->type;
    ev->request_id = ms->rid;
    ev->data = (const uint8_t *)c->p;
    ev->len = c->len;
    ev->end = c->end;
}

int fcgix_mpx_at_hand(const fcgix_mstream_t *ms)
{
    return __atomic_load_n(&ms->mine, __ATOMIC_ACQUIRE) != NULL;
}

apr_bucket *fcgix_mpx_bucket(fcgix_mstream_t *ms, const char *data,
                             apr_size_t len, apr_bucket_alloc_t *ba)
{
    chunk_t *c = ms->cur;
    apr_size_t off;
    apr_bucket *b;

    if (c == NULL || (uintptr_t)data < (uintptr_t)c->p
        || (uintptr_t)data + len > (uintptr_t)c->p + c->len) {
        return NULL;
    }
    if (c->blk) {
        /* The chunk's reference on the block goes to the bucket. The
         * heap bucket ends where the slice does: nothing may append. */
        off = (apr_size_t)(data - (const char *)c->blk);
        b = apr_bucket_heap_create((char *)c->blk, off + len,
                                   fcgix_mpx_block_unref, ba);
        free(c);
    }
    else {
        off = (apr_size_t)(data - (const char *)c);
        b = apr_bucket_heap_create((char *)c, off + len, free, ba);
    }
    b->start = off;
    b->length = len;
    ms->cur = NULL;
    return b;
}

/* Sleeps on the stream's semaphore until posted or @p deadline. Group
 * lock held on entry, and on return unless records were handed over with
 * the wake (then 1, lock not held, records in ms->mine). */
static int sleep_until(fcgix_mstream_t *ms, apr_time_t deadline)
{
    fcgix_mpx_group_t *g = ms->mc->g;
    struct timespec ts;

    ts.tv_sec = (time_t)apr_time_sec(deadline);
    ts.tv_nsec = (long)apr_time_usec(deadline) * 1000;
    ms->waiting = 1;
    pthread_mutex_unlock(&g->mu);
    while (sem_timedwait(&ms->sem, &ts) != 0 && errno == EINTR) {
    }
    /* An owner only sleeps with nothing taken: records in mine now were
     * handed over by the reader, which also cleared "waiting". */
    if (__atomic_load_n(&ms->mine, __ATOMIC_ACQUIRE)) {
        return 1;
    }
    pthread_mutex_lock(&g->mu);
    /* Timed out and not posted meanwhile: no post is coming. A post that
     * raced the timeout leaves the count at 1: the next sleep returns at
     * once and the caller looks again, which is harmless. */
    ms->waiting = 0;
    return 0;
}

/* What the owner can have without anyone reading: records, its
 * overflow, the connection's failure. Group lock held; released when 1
 * is returned, with *rv (and ev or why) filled. */
static int have_now(fcgix_mstream_t *ms, fcgix_event_t *ev,
                    const char **why, apr_status_t *rv)
{
    mconn_t *mc = ms->mc;

    *rv = APR_SUCCESS;
    if (ms->head && !ms->mine) {
        /* All of it at once: a small reply (STDOUT, its end,
         * END_REQUEST) then costs one lock, not three. */
        take_all(ms);
    }
    if (ms->mine) {
        /* Just taken, or handed over as a timed-out sleep ended. */
        pthread_mutex_unlock(&mc->g->mu);
        chunk_event(ms, ev);
        return 1;
    }
    if (ms->overflow) {
        *rv = FCGIX_MPX_OVERFLOW;
    }
    else if (mc->broken) {
        *why = mc->why;
        *rv = mc->broken_rv;
    }
    else {
        return 0;
    }
    pthread_mutex_unlock(&mc->g->mu);
    return 1;
}

/*
 * Leads: reads until a batch for @p ms arrives, or its end, or something
 * for it and the socket is drained (waking the owners of what else
 * arrives), the connection fails or @p deadline passes, then hands the
 * lead on. @p timeout 0: reads only what is there. Group lock held; a
 * deadline that passed is set to the time it was noticed.
 */
static apr_status_t lead(fcgix_mstream_t *ms, apr_interval_time_t timeout,
                         apr_time_t now, apr_time_t *deadline)
{
    mconn_t *mc = ms->mc;
    fcgix_mpx_group_t *g = mc->g;
    apr_status_t rv;

    mc->reading = 1;
    do {
        /* Its own records are there: it reads on only while the socket
         * has more, never sleeps on it with a reply of its own waiting. */
        apr_interval_time_t left = timeout && !ms->head ? *deadline - now
                                                        : 0;
        pthread_mutex_unlock(&g->mu);
        rv = read_once(mc, left > 0 ? left : 0);
        pthread_mutex_lock(&g->mu);
        now = apr_time_now();
    } while (!(ms->head && worth_wake(ms)) && !ms->overflow && !mc->broken
             && rv == APR_SUCCESS && (!timeout || now < *deadline));
    mc->reading = 0;
    wake(mc, WAKE_LEAD);
    if (APR_STATUS_IS_TIMEUP(rv)) {
        rv = APR_SUCCESS; /* the caller's deadline check decides */
        *deadline = now;
    }
    return rv;
}

/* Someone asleep on the connection with nobody reading: whoever stopped
 * reading last posted one of them to take over (wake(), WAKE_LEAD), so a
 * request that only looks need not read in its stead (and, stopping, post
 * yet another). Group lock held. */
static int lead_posted(const mconn_t *mc)
{
    int i;

    for (i = 0; i < mc->nids; i++) {
        if (mc->ids[i] && mc->ids[i]->waiting) {
            return 1;
        }
    }
    return 0;
}

apr_status_t fcgix_mpx_next(fcgix_mstream_t *ms, apr_interval_time_t timeout,
                            fcgix_event_t *ev, const char **why)
{
    mconn_t *mc = ms->mc;
    fcgix_mpx_group_t *g = mc->g;
    apr_time_t deadline = apr_time_now() + timeout;
    apr_status_t rv = APR_SUCCESS, out;

    *why = NULL;
    free_chunk(ms->cur);
    ms->cur = NULL;
    if (ms->mine) {
        /* The rest of what the last call took: no lock needed. */
        chunk_event(ms, ev);
        return APR_SUCCESS;
    }
    pthread_mutex_lock(&g->mu);
    /* What the last take held is done with now. */
    ms->queued = ms->queued > ms->taken ? ms->queued - ms->taken : 0;
    ms->taken = 0;
    for (;;) {
        apr_time_t now;

        if (have_now(ms, ev, why, &out)) {
            return out;
        }
        if (APR_STATUS_IS_EAGAIN(rv) && timeout == 0) {
            break;
        }
        now = apr_time_now();
        if (timeout && now >= deadline) {
            pthread_mutex_unlock(&g->mu);
            return APR_TIMEUP;
        }
        if (!mc->reading) {
            if (timeout == 0 && lead_posted(mc)) {
                break;
            }
            rv = lead(ms, timeout, now, &deadline);
            continue;
        }
        if (timeout == 0) {
            break;
        }
        if (sleep_until(ms, deadline)) {
            chunk_event(ms, ev);
            return APR_SUCCESS;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return APR_EAGAIN;
}
