/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_sb.h
 * @brief The shared-memory scoreboard of spawned applications: one slot per
 *        process class and per process, pointer-free, versioned.
 *
 * Layer L1: APR and POSIX only.
 *
 * Who writes what (the rule every function here follows):
 *  - fcgix_sb_pm_*    only in the process manager: creates classes,
 *                     claims process slots for spawns, marks them dead and
 *                     frees them. The PM is the single writer of class
 *                     identity and of slot ownership.
 *  - fcgix_sb_child_* only in httpd children: take an IDLE process (CAS to
 *                     BUSY), give it back, count requests, wait for a
 *                     class to change.
 *  - fcgix_sb_read_*  anywhere: snapshot reads.
 * State changes that others wait for bump the class's `seq` word and wake
 * its futex waiters (Linux futex on shared memory), so nobody sleep-polls.
 *
 * Every httpd child can write all of it, and so can any module running in
 * one (mod_php, mod_lua): the PM keeps what it decides on (class
 * identities, which pid is in which slot) in its own memory and only
 * mirrors it here; what it reads back (states, waiters) is a hint, bounded
 * before use. See docs/SECURITY.md.
 */
#ifndef FCGIX_SB_H
#define FCGIX_SB_H

#include "apr_pools.h"
#include "apr_shm.h"
#include "apr_time.h"

#define FCGIX_SB_MAGIC 0x46434758u /* "FCGX" */
#define FCGIX_SB_VERSION 6u
#define FCGIX_SB_MAX_CLASSES 256
#define FCGIX_SB_MAX_BACKENDS 256
#define FCGIX_SB_SPEC_MAX 128
/* Process slots: sized from FcgixMaxProcesses when the scoreboard is made
 * (it lives as long as httpd; a graceful restart cannot grow it). */
#define FCGIX_SB_MIN_PROCS 1024
#define FCGIX_SB_PROCS_LIMIT 65536
#define FCGIX_SB_PATH_MAX 512
#define FCGIX_SB_SOCK_MAX 108
#define FCGIX_SB_ERROR_MAX 240

/** Process slot states. Transitions: FREE -> IDLE (PM spawned it),
 *  IDLE <-> BUSY (children, CAS), IDLE|BUSY -> RETIRING (child or PM:
 *  kill it when it is not busy), any -> DEAD (PM: exited, or a child found
 *  it unreachable), DEAD -> FREE (PM, after reaping). */
typedef enum {
    FCGIX_PROC_FREE = 0,
    FCGIX_PROC_IDLE,
    FCGIX_PROC_BUSY,
    FCGIX_PROC_RETIRING,
    FCGIX_PROC_DEAD
} fcgix_proc_state_e;

const char *fcgix_sb_proc_state_str(fcgix_proc_state_e st);

/** Why a process ended (for the status page and logs). */
typedef enum {
    FCGIX_EXIT_NONE = 0,
    FCGIX_EXIT_IDLE,      /**< idle timeout */
    FCGIX_EXIT_LIFETIME,  /**< process lifetime */
    FCGIX_EXIT_REQUESTS,  /**< max requests per process */
    FCGIX_EXIT_BUSY,      /**< busy timeout: killed while busy */
    FCGIX_EXIT_SELF,      /**< exited on its own */
    FCGIX_EXIT_SIGNAL,    /**< killed by a signal we did not send */
    FCGIX_EXIT_SHUTDOWN,  /**< server stopping */
    FCGIX_EXIT_UNREACHABLE,/**< a child could not connect to it */
    FCGIX_EXIT_FAILED     /**< a request on it failed (502/504) */
} fcgix_exit_e;

const char *fcgix_sb_exit_str(fcgix_exit_e why);

/** How a request ended, as its metrics count it. */
typedef enum {
    FCGIX_OUTCOME_OK = 0,      /**< the application's reply was sent */
    FCGIX_OUTCOME_ABORTED,     /**< the client left first */
    FCGIX_OUTCOME_REJECTED,    /**< refused before the application (4xx) */
    FCGIX_OUTCOME_BAD_REPLY,   /**< 502: broken or failed exchange */
    FCGIX_OUTCOME_UNAVAILABLE, /**< 503: nothing could take it */
    FCGIX_OUTCOME_TIMEOUT,     /**< 504 */
    FCGIX_OUTCOME_ERROR,       /**< any other failure (500) */
    FCGIX_OUTCOMES
} fcgix_outcome_e;

const char *fcgix_sb_outcome_str(fcgix_outcome_e o);

/** Request duration buckets: the upper bounds in microseconds, the last
 *  one unbounded (+Inf). */
#define FCGIX_SB_BUCKETS 12

/** The upper bound of bucket @p i in microseconds, or -1 for +Inf. */
apr_int64_t fcgix_sb_bucket_bound(int i);

/**
 * What the requests of one class or address did, summed over every httpd
 * child (atomic adds; counters only, they never go down). Buckets are
 * not cumulative here; whoever prints them adds them up.
 */
typedef struct {
    volatile apr_uint64_t outcome[FCGIX_OUTCOMES];
    volatile apr_uint64_t bucket[FCGIX_SB_BUCKETS];
    volatile apr_uint64_t dur_us;    /**< sum of the durations */
    volatile apr_uint64_t queued;    /**< requests that had to wait */
    volatile apr_uint64_t queue_us;  /**< sum of those waits */
} fcgix_sb_reqs_t;

/** Counts one request that ended with @p o after @p dur. */
void fcgix_sb_reqs_count(fcgix_sb_reqs_t *s, fcgix_outcome_e o,
                         apr_interval_time_t dur);

/** Counts one wait (for a process, or under max-conns) of @p waited. */
void fcgix_sb_reqs_waited(fcgix_sb_reqs_t *s, apr_interval_time_t waited);

/** Limits of a class, copied in by the PM when it creates the class. */
typedef struct {
    apr_uint32_t min_procs;
    apr_uint32_t max_procs;
    apr_uint32_t max_requests;       /**< per process, 0: unlimited */
    apr_uint32_t idle_timeout;       /**< seconds, 0: never */
    apr_uint32_t lifetime;           /**< seconds, 0: never */
    apr_uint32_t busy_timeout;       /**< seconds, 0: never */
    apr_uint32_t prespawn;           /**< static: keep min_procs running */
    apr_uint32_t restart_delay;      /**< static: seconds between restarts */
    apr_uint32_t flags;              /**< FCGIX_SPAWN_* */
    apr_uint32_t max_user_procs;     /**< per uid, all its classes; 0: any */
    apr_uint32_t kill_interval;      /**< FastCgiConfig: s, 0: no policy */
    apr_uint32_t single_threshold;   /**< percent busy, one process */
    apr_uint32_t multi_threshold;    /**< percent busy, several */
    /** FcgidCmdOptions Workers: requests one process serves at once (a
     *  master whose workers accept on its socket); 0: from the class's
     *  PHP_FCGI_CHILDREN, else 1. */
    apr_uint32_t workers;
    apr_int64_t rlim[3][2];          /**< CPU, AS, NPROC {cur, max}; -1 */
    apr_int32_t priority;            /**< nice value added (-priority) */
} fcgix_sb_limits_t;

/** How a class's process is started. */
#define FCGIX_SPAWN_CMDLINE 1 /**< path is a command line (a wrapper) */
#define FCGIX_SPAWN_SUEXEC 2  /**< through httpd's suexec, as uid/gid */
#define FCGIX_SPAWN_USERDIR 4 /**< suexec "~user" form (mod_userdir) */

typedef struct {
    volatile apr_uint32_t state;     /**< 0 free, 1 in use */
    apr_uint32_t id;                 /**< index, for messages */
    apr_uint64_t key;                /**< hash of the identity */
    char path[FCGIX_SB_PATH_MAX];    /**< script */
    apr_uint64_t inode;
    apr_uint64_t dev;
    apr_uint32_t uid;
    apr_uint32_t gid;
    apr_uint32_t vhost;              /**< virtual host number */
    fcgix_sb_limits_t lim;
    volatile apr_uint32_t seq;       /**< futex word: bumped on change */
    volatile apr_uint32_t nprocs;    /**< live processes (PM writes) */
    volatile apr_uint32_t waiters;   /**< requests asleep without a process */
    volatile apr_uint32_t inflight;  /**< requests waiting or served */
    volatile apr_uint32_t failures;  /**< recent start failures */
    volatile apr_uint64_t requests;  /**< served, all processes */
    volatile apr_int64_t last_spawn; /**< apr_time_t */
    volatile apr_int64_t next_spawn; /**< back-off: no spawn before */
    /** Why the last process failed to start, in words ("exit code 1;
     *  last stderr: ..."), for the log line of a refused request and the
     *  status page; empty when it did not. */
    char last_error[FCGIX_SB_ERROR_MAX];
    /* Metrics: cleared by the PM when it creates the class. */
    volatile apr_uint64_t spawns;         /**< processes started (PM) */
    volatile apr_uint64_t spawn_failures; /**< starts that failed (PM) */
    fcgix_sb_reqs_t reqs;                 /**< children */
} fcgix_sb_class_t;

typedef struct {
    volatile apr_uint32_t state;     /**< fcgix_proc_state_e */
    apr_uint32_t cls;                /**< class index */
    volatile apr_int32_t pid;
    volatile apr_int32_t owner;      /**< httpd child pid while BUSY */
    volatile apr_int64_t started;
    volatile apr_int64_t last_active;
    volatile apr_int64_t busy_since;
    volatile apr_uint32_t requests;
    volatile apr_uint32_t exit_why;  /**< fcgix_exit_e */
    volatile apr_int32_t exit_status;
    /** The slot whose socket serves this one: itself, or the slot of
     *  the master a worker slot belongs to (PM writes, before publish). */
    volatile apr_uint32_t sock;
} fcgix_sb_proc_t;

/**
 * One address of an external server (FcgixExternalServer and the old
 * names): the sums over every httpd child's pool for that address. Claimed
 * by the httpd parent in post_config (by path and address, so a graceful
 * restart keeps it); the counters are atomic adds by the children's pools,
 * each of which takes its own share back when the child exits. Gauges are
 * signed: a child that crashed leaves its share until the next full
 * restart, and readers clamp at 0.
 */
typedef struct {
    volatile apr_uint32_t state;     /**< 0 free, 1 in use */
    apr_uint64_t key;
    char path[FCGIX_SB_PATH_MAX];    /**< the server's path */
    char spec[FCGIX_SB_SPEC_MAX];    /**< the address as configured */
    volatile apr_int32_t inflight;   /**< requests on it now */
    volatile apr_int32_t open;       /**< connections open (idle too) */
    volatile apr_int32_t idle;       /**< kept-alive, unused */
    volatile apr_int32_t waiting;    /**< requests waiting (max-conns) */
    volatile apr_int32_t mpx_conns;  /**< shared connections */
    volatile apr_int32_t mpx_streams;/**< requests on shared connections */
    volatile apr_uint32_t mpx_depth; /**< most requests seen on one */
    volatile apr_uint64_t opened;    /**< connections ever opened */
    volatile apr_uint64_t reuses;    /**< requests on a kept connection */
    volatile apr_uint64_t failures;  /**< connect failures */
    volatile apr_uint64_t waited;    /**< requests that had to wait */
    volatile apr_int64_t disabled_until; /**< apr_time_t */
    volatile apr_uint32_t caps;      /**< fcgix_caps_state_e */
    volatile apr_int32_t mpxs_conns; /**< FCGI_MPXS_CONNS said */
    volatile apr_int32_t max_conns;  /**< FCGI_MAX_CONNS said */
    volatile apr_int32_t max_reqs;   /**< FCGI_MAX_REQS said */
    volatile apr_uint64_t mpx_streams_total; /**< ids ever opened */
    volatile apr_uint32_t draining;  /**< no new requests (the parent at
                                          post_config from the
                                          configuration; the status
                                          page's POST) */
    /* Active checks: the child that moves check_next on (CAS) runs the
     * round; the verdict is for every child. */
    volatile apr_int64_t check_next; /**< apr_time_t of the next round */
    volatile apr_uint32_t down;      /**< failed fails= checks in a row */
    volatile apr_uint32_t check_run; /**< failures (down) or passes (up)
                                          in a row so far */
    volatile apr_uint64_t checks;    /**< checks run */
    volatile apr_uint64_t check_failures; /**< checks failed */
    fcgix_sb_reqs_t reqs;            /**< requests that ended on it */
    /* A position of a re-resolved name (resolve=): its current address,
     * written by the child that won the name's round (or the parent when
     * it claims the slot fresh) between two bumps of dyn_seq (odd while
     * writing); a reader copies it between two equal even values and
     * validates what it copied (state, family) before use. */
    volatile apr_uint32_t dyn_seq;
    volatile apr_uint32_t dyn_state; /**< fcgix_addrset_e */
    volatile apr_uint32_t dyn_family;/**< 4 or 6 */
    volatile unsigned char dyn_ip[16];
    volatile apr_int64_t dyn_since;  /**< joined or left, apr_time_t */
    /* The name's round (its position 0's slot only): the child whose CAS
     * moves resolve_next on resolves; the others read the result. */
    volatile apr_int64_t resolve_next;
    volatile apr_uint32_t resolve_failing; /**< last lookup failed */
    volatile apr_uint32_t resolve_over;    /**< records were left out */
} fcgix_sb_backend_t;

/** A position's address, as a child copies it out of its slot. */
typedef struct {
    apr_uint32_t seq;
    apr_uint32_t state;
    apr_uint32_t family;
    unsigned char ip[16];
    apr_int64_t since;
} fcgix_sb_dyn_t;

/** Copies slot @p b's position (seqlock). @return 0 while it is being
 *  written (try again later), else 1 (*d as found: unvalidated). */
int fcgix_sb_dyn_read(const fcgix_sb_backend_t *b, fcgix_sb_dyn_t *d);

/** Writes slot @p b's position (the name's resolver, or the parent). */
void fcgix_sb_dyn_write(fcgix_sb_backend_t *b, apr_uint32_t state,
                        apr_uint32_t family, const unsigned char *ip,
                        apr_int64_t since);

typedef struct fcgix_sb_t {
    apr_uint32_t magic;
    apr_uint32_t version;
    apr_uint32_t class_size;
    apr_uint32_t proc_size;
    apr_uint32_t nclasses;
    apr_uint32_t nprocs;
    volatile apr_uint32_t seq;       /**< futex word: a class appeared */
    volatile apr_int32_t pm_pid;
    volatile apr_uint32_t pm_generation; /**< bumped per PM (re)start */
    volatile apr_uint32_t total_procs;
    volatile apr_uint32_t max_procs; /**< global limit (PM enforces) */
    volatile apr_uint32_t hiwater;   /**< slots [0, hiwater) ever used */
    fcgix_sb_class_t classes[FCGIX_SB_MAX_CLASSES];
    fcgix_sb_backend_t backends[FCGIX_SB_MAX_BACKENDS];
    fcgix_sb_proc_t procs[];         /**< nprocs of them */
} fcgix_sb_t;

/** The socket of process slot @p idx: "<ipc_dir>/p<idx>.sock". */
char *fcgix_sb_sock_path(apr_pool_t *p, const char *ipc_dir, int idx);

/** Creates the scoreboard with @p nprocs process slots (anonymous shared
 *  memory, inherited by fork). */
apr_status_t fcgix_sb_create(fcgix_sb_t **sb, apr_shm_t **shm,
                             apr_uint32_t nprocs, apr_pool_t *p);

/** The number of process slots, as this process made or inherited the
 *  scoreboard (never read back from shared memory). */
apr_uint32_t fcgix_sb_slots(void);

/**
 * Whether this process runs a round of work shared by every httpd child
 * (an address's health check, a name's lookup) whose next time is
 * @p next_at: it is due at @p now and this process moved it @p every on
 * first (compare-and-swap), so one child a round does it.
 */
int fcgix_sb_round_claim(volatile apr_int64_t *next_at, apr_time_t now,
                         apr_interval_time_t every);

/** httpd parent, each configuration generation: the slot count of the
 *  scoreboard it kept (the module's memory was loaded anew). */
void fcgix_sb_set_slots(apr_uint32_t n);

/** The class with this identity, or NULL (lock-free scan). */
fcgix_sb_class_t *fcgix_sb_read_class(fcgix_sb_t *sb, apr_uint64_t key,
                                      const char *path);

/**
 * The slot of one external server address (httpd parent, post_config):
 * the one it had before a restart, else a free one, else NULL (counters
 * then stay per child).
 */
fcgix_sb_backend_t *fcgix_sb_backend_claim(fcgix_sb_t *sb, const char *path,
                                           const char *spec);

/** The high-water mark of process slots, never past the array. */
apr_uint32_t fcgix_sb_read_hiwater(const fcgix_sb_t *sb);

/* ---- process manager side ---- */

/** Makes a class the PM has filled in visible, and wakes the requests
 *  waiting for a class to appear. */
void fcgix_sb_pm_class_publish(fcgix_sb_t *sb, fcgix_sb_class_t *c);

/** Makes a spawned process visible as IDLE and wakes waiters. */
void fcgix_sb_pm_publish(fcgix_sb_t *sb, fcgix_sb_proc_t *p);

/** Wakes everyone waiting on the class. */
void fcgix_sb_wake(fcgix_sb_class_t *c);

/** Wakes one waiter: a single process came free. */
void fcgix_sb_wake_one(fcgix_sb_class_t *c);

/* ---- httpd child side ---- */

/** Takes an IDLE process of the class (CAS to BUSY), or NULL. */
fcgix_sb_proc_t *fcgix_sb_child_acquire(fcgix_sb_t *sb,
                                        fcgix_sb_class_t *c,
                                        apr_int32_t me);

/**
 * Gives a process back. @p retire marks it RETIRING (the PM ends it),
 * @p dead marks it DEAD (unreachable; the PM reaps it).
 */
void fcgix_sb_child_release(fcgix_sb_class_t *c, fcgix_sb_proc_t *p,
                            int served, fcgix_exit_e retire, int dead);

/**
 * Waits until the class's seq differs from @p seen, or @p timeout.
 * @return APR_SUCCESS (changed or spurious), APR_TIMEUP
 */
apr_status_t fcgix_sb_child_wait(volatile apr_uint32_t *word,
                                 apr_uint32_t seen,
                                 apr_interval_time_t timeout);

#endif /* FCGIX_SB_H */
