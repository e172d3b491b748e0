/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * The PM's class table (see fcgix_pm_int.h): classes are made only from
 * checked messages and kept in the PM's own memory, the scoreboard gets
 * a copy. A class defined again with other limits is superseded; one the
 * configuration no longer has is retired; both are freed once empty.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "fcgix_logno.h"
#include "fcgix_pm.h"
#include "fcgix_pm_int.h"
#include "fcgix_policy.h"

/* Superseded or retired: idle processes end, none is kept or started
 * ahead of demand, and the class goes once it is empty. */
static int winding_down(const pm_class_t *c)
{
    return c->superseded || c->retired;
}

/* The class's limits as the policy takes them: our own copy, never the
 * scoreboard's. */
void fcgix_pm_class_limits(const pm_class_t *c, fcgix_policy_limits_t *pl)
{
    pl->min_procs = c->lim.min_procs;
    pl->max_procs = c->lim.max_procs;
    pl->max_user_procs = c->lim.max_user_procs;
    pl->idle_timeout = c->lim.idle_timeout;
    pl->lifetime = c->lim.lifetime;
    pl->busy_timeout = c->lim.busy_timeout;
    pl->prespawn = c->lim.prespawn;
    pl->restart_delay = c->lim.restart_delay;
    pl->kill_interval = c->lim.kill_interval;
    pl->single_threshold = c->lim.single_threshold;
    pl->multi_threshold = c->lim.multi_threshold;
    pl->winding_down = winding_down(c);
    pl->workers = c->workers;
}

/* The scoreboard's view of class @p ci: what children read. */
void fcgix_pm_class_mirror(pm_t *pm, int ci)
{
    const pm_class_t *c = &pm->classes[ci];
    fcgix_sb_class_t *s = &pm->sb->classes[ci];

    s->nprocs = c->nprocs;
    s->failures = c->failures;
    s->next_spawn = c->next_spawn;
    if (strcmp(s->last_error, c->last_error)) {
        memcpy(s->last_error, c->last_error, sizeof(s->last_error));
    }
}

/* Appends a copy of "NAME=value" @p e to @p env (*k entries) unless
 * NAME is there already: the first of a name wins, as a name twice in
 * an environment would leave the choice to each program's getenv. A
 * failed copy is left NULL for the caller to see. */
static void env_add(char **env, size_t *k, const char *e)
{
    size_t nl = strcspn(e, "=");
    size_t j;

    for (j = 0; j < *k; j++) {
        if (env[j] && !strncmp(env[j], e, nl) && env[j][nl] == '=') {
            return;
        }
    }
    env[(*k)++] = strdup(e);
}

/* The global environment plus the class's own (class values win, and of
 * the class's, a virtual host's line comes before the main server's). */
static char **class_env(const char *const *g, const char *list)
{
    size_t n = 0, i, k = 0;
    const char *e;
    char **env;

    if (!list[0]) {
        return NULL;
    }
    for (e = list; *e; e += strlen(e) + 1) {
        n++;
    }
    for (i = 0; g[i]; i++) {
        n++;
    }
    if ((env = calloc(n + 1, sizeof(char *))) == NULL) {
        return NULL;
    }
    for (e = list; *e; e += strlen(e) + 1) {
        env_add(env, &k, e);
    }
    for (i = 0; g[i]; i++) {
        env_add(env, &k, g[i]);
    }
    for (i = 0; i < k; i++) {
        if (env[i] == NULL) { /* out of memory: no half environment */
            for (i = 0; i < k; i++) {
                free(env[i]);
            }
            free(env);
            return NULL;
        }
    }
    return env;
}

/* Most workers one master may have: more would only be slots the
 * scoreboard cannot give it. */
#define PM_MAX_WORKERS 256

/* PHP_FCGI_CHILDREN=N of an environment, or 0. */
static apr_uint32_t env_children(const char *const *env)
{
    static const char name[] = "PHP_FCGI_CHILDREN=";
    size_t i;

    for (i = 0; env && env[i]; i++) {
        if (!strncmp(env[i], name, sizeof(name) - 1)) {
            long n = strtol(env[i] + sizeof(name) - 1, NULL, 10);
            return n > 0 ? (apr_uint32_t)(n < PM_MAX_WORKERS
                                          ? n : PM_MAX_WORKERS)
                         : 0;
        }
    }
    return 0;
}

/*
 * Slots one process of the class is. php-cgi with PHP_FCGI_CHILDREN=N
 * forks N workers that accept on its socket and share its opcode cache:
 * one master serves N requests at once. "Workers N" (FcgidCmdOptions)
 * says so for a wrapper that sets the variable itself (under suexec the
 * environment does not reach it); else the class's environment does.
 */
static apr_uint32_t class_workers(const pm_class_t *c, const pm_t *pm)
{
    apr_uint32_t n = c->lim.workers;

    if (!n) {
        n = env_children(c->env ? (const char *const *)c->env
                                : (const char *const *)pm->cfg->env);
    }
    return n > PM_MAX_WORKERS ? PM_MAX_WORKERS : n > 1 ? n : 1;
}

/* "Workers N" given: the class's environment list with
 * PHP_FCGI_CHILDREN=N, unless it names the variable already. */
static const char *workers_env(const fcgix_pm_msg_t *m, char *buf,
                               size_t len)
{
    const char *e;
    size_t used = 0;
    int n;

    if (!m->lim.workers) {
        return m->env;
    }
    for (e = m->env; *e; e += strlen(e) + 1) {
        if (!strncmp(e, "PHP_FCGI_CHILDREN=", 18)) {
            return m->env;
        }
        used = (size_t)(e + strlen(e) + 1 - m->env);
    }
    n = snprintf(buf, len, "PHP_FCGI_CHILDREN=%u",
                 (unsigned)(m->lim.workers < PM_MAX_WORKERS
                            ? m->lim.workers : PM_MAX_WORKERS));
    if (n < 0 || used + (size_t)n + 2 > len) {
        return m->env;
    }
    memmove(buf + used, buf, (size_t)n + 1);
    memcpy(buf, m->env, used);
    buf[used + (size_t)n + 1] = '\0';
    return buf;
}

static int same_program(const pm_class_t *a, const pm_class_t *b)
{
    return a->inode == b->inode && a->dev == b->dev && a->uid == b->uid
           && a->gid == b->gid && a->vhost == b->vhost
           && a->lim.flags == b->lim.flags && !strcmp(a->path, b->path);
}

/* Another class has this key: children find classes by key, so it must
 * stay unique, first come first served. */
static int key_taken(const pm_t *pm, apr_uint64_t key)
{
    int i;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        if (pm->classes[i].used && pm->classes[i].key == key) {
            return 1;
        }
    }
    return 0;
}

/* The index a class with @p key gets: the scoreboard's that has this key
 * already (children of an earlier PM may be waiting on it), else one
 * without a live class in the scoreboard, else any we do not use; -1 when
 * the table is full. */
static int free_index(const pm_t *pm, apr_uint64_t key)
{
    int i;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        const fcgix_sb_class_t *s = &pm->sb->classes[i];
        if (!pm->classes[i].used && s->state == 1 && s->key == key) {
            return i;
        }
    }
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        if (!pm->classes[i].used && pm->sb->classes[i].state != 1) {
            return i;
        }
    }
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        if (!pm->classes[i].used) {
            return i; /* a scoreboard entry we never made */
        }
    }
    return -1;
}

/* Our class @p ci, from a checked message. */
static void class_fill(pm_t *pm, int ci, const fcgix_pm_msg_t *m,
                       apr_uint64_t key)
{
    pm_class_t *c = &pm->classes[ci];
    char wenv[sizeof(m->env) + 32];

    memset(c, 0, sizeof(*c));
    c->key = key;
    apr_cpystrn(c->path, m->path, sizeof(c->path));
    c->inode = m->inode;
    c->dev = m->dev;
    c->uid = m->uid;
    c->gid = m->gid;
    c->vhost = m->vhost;
    c->lim = m->lim;
    c->env = class_env(pm->cfg->env, workers_env(m, wenv, sizeof(wenv)));
    c->workers = class_workers(c, pm);
    c->used = 1;
}

/* Classes of the same program as @p ci, older: a graceful restart changed
 * its limits or environment, so their processes end as they come free. */
static void supersede_older(pm_t *pm, int ci)
{
    const pm_class_t *c = &pm->classes[ci];
    int i;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        pm_class_t *o = &pm->classes[i];
        if (i != ci && o->used && !o->superseded && same_program(o, c)) {
            o->superseded = 1;
        }
    }
}

/* The scoreboard's copy of class @p ci, written from ours, then
 * published for children. */
static void class_publish(pm_t *pm, int ci)
{
    const pm_class_t *c = &pm->classes[ci];
    fcgix_sb_class_t *s = &pm->sb->classes[ci];

    s->state = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    s->id = (apr_uint32_t)ci;
    s->key = c->key;
    apr_cpystrn(s->path, c->path, sizeof(s->path));
    s->inode = c->inode;
    s->dev = c->dev;
    s->uid = c->uid;
    s->gid = c->gid;
    s->vhost = c->vhost;
    s->lim = c->lim;
    /* A slot freed by another class: its counters start again. */
    s->requests = 0;
    s->spawns = 0;
    s->spawn_failures = 0;
    memset((void *)&s->reqs, 0, sizeof(s->reqs));
    fcgix_pm_class_mirror(pm, ci);
    fcgix_sb_pm_class_publish(pm->sb, s);
}

/* A new class from a checked message; its scoreboard copy is written from
 * ours. -2: another class has the key; -1: the table is full. */
int fcgix_pm_class_create(pm_t *pm, const fcgix_pm_msg_t *m,
                          apr_uint64_t key)
{
    const pm_class_t *c;
    int ci;

    if (key_taken(pm, key)) {
        return -2;
    }
    if ((ci = free_index(pm, key)) < 0) {
        return -1;
    }
    class_fill(pm, ci, m, key);
    supersede_older(pm, ci);
    class_publish(pm, ci);
    c = &pm->classes[ci];
    pm->cfg->log(FCGIX_PM_LOG_DEBUG, 0, FCGIX_LOGNO(00202) "class %d: %s, "
                 "uid %u gid %u, virtual host %08x, flags %u, workers %u",
                 ci, c->path, c->uid, c->gid, (unsigned)c->vhost,
                 c->lim.flags, c->workers);
    return ci;
}

int fcgix_pm_class_find(pm_t *pm, apr_uint64_t key,
                        const fcgix_pm_msg_t *m)
{
    int i;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        const pm_class_t *c = &pm->classes[i];
        if (c->used && c->key == key && !strcmp(c->path, m->path)
            && c->uid == m->uid && c->gid == m->gid && c->vhost == m->vhost
            && c->inode == m->inode && c->dev == m->dev
            && !memcmp(&c->lim, &m->lim, FCGIX_PM_LIM_BYTES)) {
            return i;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* Following the configuration                                        */
/* ------------------------------------------------------------------ */

static int vhost_live(const pm_t *pm, apr_uint32_t vhost)
{
    size_t i;

    if (vhost == 0) {
        return 1; /* static classes: judged by their definition */
    }
    for (i = 0; i < pm->nlive; i++) {
        if (pm->live[i] == vhost) {
            return 1;
        }
    }
    return 0;
}

static void class_retire(pm_t *pm, int ci, const char *why)
{
    pm_class_t *c = &pm->classes[ci];

    if (!c->retired) {
        c->retired = 1;
        pm->cfg->log(FCGIX_PM_LOG_INFO, 0, FCGIX_LOGNO(00200) "class of %s "
                     "retired: %s", c->path, why);
    }
}

/* The new configuration is complete: what it no longer defines ends as
 * it comes free; what it defines again stays. */
void fcgix_pm_class_commit(pm_t *pm)
{
    int i;

    free(pm->live);
    pm->live = pm->pending;
    pm->nlive = pm->npending;
    pm->pending = NULL;
    pm->npending = pm->cap_pending = 0;
    pm->have_live = 1;
    pm->config_open = 0;
    pm->detach_at = 0;
    pm->leaving = 0;
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        pm_class_t *c = &pm->classes[i];
        if (!c->used) {
            continue;
        }
        if (c->lim.prespawn && c->vhost == 0) {
            if (c->gen != pm->gen) {
                class_retire(pm, i, "no longer a configured FastCgiServer");
            }
        }
        else if (!vhost_live(pm, c->vhost)) {
            class_retire(pm, i, "its virtual host is no longer configured");
        }
        else {
            c->retired = 0;
        }
    }
}

static void class_free(pm_t *pm, int ci)
{
    pm_class_t *c = &pm->classes[ci];
    fcgix_sb_class_t *s = &pm->sb->classes[ci];
    size_t i;

    s->state = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (c->env) {
        for (i = 0; c->env[i]; i++) {
            free(c->env[i]);
        }
        free(c->env);
    }
    memset(c, 0, sizeof(*c));
    fcgix_sb_wake(s);
}

/* Classes winding down that nothing uses any more are freed; after a
 * DETACH with no configuration following, everything winds down. */
void fcgix_pm_class_tidy(pm_t *pm, apr_time_t now)
{
    int i;

    if (!pm->leaving && fcgix_policy_unloaded(pm->detach_at, now)) {
        pm->leaving = 1;
        for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
            if (pm->classes[i].used) {
                class_retire(pm, i, "mod_fcgix is no longer loaded");
            }
        }
    }
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        pm_class_t *c = &pm->classes[i];
        fcgix_sb_class_t *s = &pm->sb->classes[i];
        if (!c->used || !winding_down(c)) {
            continue;
        }
        if (fcgix_policy_free_class(!c->nprocs && !s->waiters
                                    && !s->inflight, pm->leaving,
                                    &c->empty_since, now)) {
            class_free(pm, i);
        }
    }
}

int fcgix_pm_class_left(const pm_t *pm)
{
    int i;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        if (pm->classes[i].used) {
            return 1;
        }
    }
    return 0;
}

/* A new class only as the configuration defines it: static ones from
 * the parent alone, dynamic ones of a configured virtual host. */
const char *fcgix_pm_class_unconfigured(const pm_t *pm,
                                        const fcgix_pm_msg_t *m)
{
    if (m->lim.prespawn || m->vhost == 0) {
        return "a FastCgiServer the configuration does not define";
    }
    if (pm->have_live && !vhost_live(pm, m->vhost)) {
        return "its virtual host is not configured";
    }
    return NULL;
}
