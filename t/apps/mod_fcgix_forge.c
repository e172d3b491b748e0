/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * A test module standing for hostile code inside an httpd child (what
 * mod_php, mod_lua or a memory bug in any module can do): it finds the
 * mod_fcgix scoreboard among the child's shared mappings and writes into
 * it, and it sends datagrams to the process manager's socket. t/090 uses
 * it to show that the process manager believes none of it. Loaded only by
 * the test configuration (SetHandler fcgix-forge).
 *
 *   ?find                        where the scoreboard is
 *   ?slot=PID                    a free process slot claims PID (RETIRING)
 *                                and another (DEAD): would the PM signal it?
 *   ?class=UID:GID:PATH          a published class running PATH as
 *                                UID:GID with a waiting request
 *   ?wild                        out-of-range class index and high-water
 *   ?dyn=STATE:FAMILY&at=IPV4    the position of a re-resolved name
 *                                holding IPV4 (t/133) says STATE and
 *                                FAMILY instead, as its resolver would
 *                                write them (sequence word included)
 *   ?undo                        clears what the above wrote
 *   ?msg=KIND&ctl=PATH           a malformed or hostile datagram to the PM
 *   ?redefine=PATH&ctl=SOCK      the message of the class running PATH,
 *                                with LD_PRELOAD in its environment, and
 *                                once more without suexec
 */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "fcgix_pm.h"
#include "fcgix_sb.h"

module AP_MODULE_DECLARE_DATA fcgix_forge_module;

/* What this module wrote carries a mark, so ?undo (from any httpd child)
 * can clear it: slots this request count, classes a key in this range. */
#define FORGE_MARK 0xF0F0F0F0u
#define FORGE_KEY 0x466f726765000000ULL
#define FORGE_KEY_MASK 0xffffffffff000000ULL

static fcgix_sb_t *find_sb(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    fcgix_sb_t *found = NULL;

    if (f == NULL) {
        return NULL;
    }
    while (!found && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3
            || perms[0] != 'r' || perms[1] != 'w' || perms[3] != 's'
            || hi - lo < sizeof(fcgix_sb_t)) {
            continue;
        }
        {
            /* APR puts a small header before the segment's base. */
            unsigned long off;
            for (off = 0; !found && off <= 64; off += 8) {
                fcgix_sb_t *sb = (fcgix_sb_t *)(lo + off);
                if (hi - lo - off >= sizeof(*sb)
                    && sb->magic == FCGIX_SB_MAGIC
                    && sb->version == FCGIX_SB_VERSION
                    && sb->proc_size == sizeof(fcgix_sb_proc_t)) {
                    found = sb;
                }
            }
        }
    }
    fclose(f);
    return found;
}

static int free_slot(fcgix_sb_t *sb)
{
    int i;

    for (i = (int)sb->nprocs - 1; i >= 0; i--) {
        if (sb->procs[i].state == FCGIX_PROC_FREE && sb->procs[i].pid == 0) {
            return i;
        }
    }
    return -1;
}

static int send_dgram(const char *ctl, const void *buf, size_t len)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    ssize_t n;

    if (fd < 0) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    apr_cpystrn(sa.sun_path, ctl, sizeof(sa.sun_path));
    n = sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

/* A well-formed SPAWN message for @p path, which the PM would accept. */
static void plain_msg(fcgix_pm_msg_t *m, const char *path)
{
    int i;

    memset(m, 0, sizeof(*m));
    m->type = FCGIX_PM_MSG_SPAWN;
    m->lim.max_procs = 1;
    for (i = 0; i < 3; i++) {
        m->lim.rlim[i][0] = m->lim.rlim[i][1] = -1;
    }
    apr_cpystrn(m->path, path, sizeof(m->path));
}

static const char *do_msg(apr_pool_t *p, const char *kind, const char *ctl)
{
    fcgix_pm_msg_t m;
    char big[sizeof(m) + 64];

    plain_msg(&m, "/bin/sh");
    if (!strcmp(kind, "logs")) {
        /* "Log here from now on", with a descriptor of our choosing. */
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct sockaddr_un sa;
        struct msghdr mh;
        struct cmsghdr *cm;
        struct iovec iov;
        int fd = open("/dev/null", O_WRONLY), s2;
        ssize_t n = -1;
        m.type = FCGIX_PM_MSG_LOGS;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        apr_cpystrn(sa.sun_path, ctl, sizeof(sa.sun_path));
        memset(&mh, 0, sizeof(mh));
        memset(cbuf, 0, sizeof(cbuf));
        iov.iov_base = &m;
        iov.iov_len = sizeof(m);
        mh.msg_name = &sa;
        mh.msg_namelen = sizeof(sa);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof(cbuf);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        if (fd >= 0 && (s2 = socket(AF_UNIX, SOCK_DGRAM, 0)) >= 0) {
            n = sendmsg(s2, &mh, 0);
            close(s2);
        }
        if (fd >= 0) {
            close(fd);
        }
        return n == (ssize_t)sizeof(m) ? "sent" : "send failed";
    }
    if (!strcmp(kind, "short")) {
        return send_dgram(ctl, &m, 16) ? "send failed" : "sent";
    }
    if (!strcmp(kind, "long")) {
        memset(big, 'A', sizeof(big));
        memcpy(big, &m, sizeof(m));
        return send_dgram(ctl, big, sizeof(big)) ? "send failed" : "sent";
    }
    if (!strcmp(kind, "path")) {
        memset(m.path, 'A', sizeof(m.path)); /* no NUL anywhere */
    }
    else if (!strcmp(kind, "env")) {
        memset(m.env, 'B', sizeof(m.env));
    }
    else if (!strcmp(kind, "type")) {
        m.type = 99;
    }
    else if (!strcmp(kind, "flags")) {
        m.lim.flags = 0xff;
    }
    else if (!strcmp(kind, "root")) {
        m.lim.flags = FCGIX_SPAWN_SUEXEC;
        m.uid = 0;
        m.gid = 0;
    }
    else if (!strcmp(kind, "gid0")) {
        m.lim.flags = FCGIX_SPAWN_SUEXEC;
        m.uid = 1;
        m.gid = 0;
    }
    else if (!strcmp(kind, "procs")) {
        m.lim.max_procs = 0xffffffffu;
        m.lim.min_procs = 0xffffffffu;
        m.lim.prespawn = 1;
    }
    else {
        return apr_psprintf(p, "unknown kind %s", kind);
    }
    /* The key is left 0: the PM computes its own. */
    return send_dgram(ctl, &m, sizeof(m)) ? "send failed" : "sent";
}

/* The class running @p path as its children describe it, made to run
 * with a library preloaded, and without suexec. */
static const char *do_redefine(fcgix_sb_t *sb, const char *path,
                               const char *ctl)
{
    fcgix_sb_class_t *c = NULL;
    fcgix_pm_msg_t m;
    static const char env[] = "LD_PRELOAD=/tmp/fcgix-forge.so\0";
    int i;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES && c == NULL; i++) {
        if (sb->classes[i].state == 1 && !strcmp(sb->classes[i].path, path)) {
            c = &sb->classes[i];
        }
    }
    if (c == NULL) {
        return "no such class";
    }
    memset(&m, 0, sizeof(m));
    m.type = FCGIX_PM_MSG_SPAWN;
    m.vhost = c->vhost;
    m.inode = c->inode;
    m.dev = c->dev;
    m.uid = c->uid;
    m.gid = c->gid;
    m.lim = c->lim;
    apr_cpystrn(m.path, c->path, sizeof(m.path));
    memcpy(m.env, env, sizeof(env));
    /* The key the class has, as an old PM would have trusted it. */
    m.key = c->key;
    if (send_dgram(ctl, &m, sizeof(m))) {
        return "send failed";
    }
    m.lim.flags &= ~(apr_uint32_t)(FCGIX_SPAWN_SUEXEC | FCGIX_SPAWN_USERDIR);
    return send_dgram(ctl, &m, sizeof(m)) ? "send failed" : "sent";
}

static int forge_handler(request_rec *r)
{
    fcgix_sb_t *sb;
    const char *q = r->args ? r->args : "";
    apr_table_t *a = apr_table_make(r->pool, 4);
    char *args = apr_pstrdup(r->pool, q), *tok, *last;
    const char *v;

    if (strcmp(r->handler, "fcgix-forge")) {
        return DECLINED;
    }
    for (tok = apr_strtok(args, "&", &last); tok;
         tok = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(tok, '=');
        if (eq) {
            *eq++ = '\0';
        }
        ap_unescape_url(tok);
        if (eq) {
            ap_unescape_url(eq);
        }
        apr_table_setn(a, tok, eq ? eq : "");
    }
    ap_set_content_type(r, "text/plain");
    if ((sb = find_sb()) == NULL) {
        ap_rputs("sb=none\n", r);
        return OK;
    }
    ap_rprintf(r, "sb=found\nhiwater=%u\npm_pid=%d\n", sb->hiwater,
               (int)sb->pm_pid);
    if ((v = apr_table_get(a, "slot")) != NULL) {
        int k;
        for (k = 0; k < 2; k++) {
            int i = free_slot(sb);
            fcgix_sb_proc_t *pr;
            if (i < 0) {
                break;
            }
            pr = &sb->procs[i];
            pr->cls = 0;
            pr->exit_why = FCGIX_EXIT_BUSY;
            pr->pid = (apr_int32_t)atoi(v);
            pr->requests = FORGE_MARK;
            pr->state = k ? FCGIX_PROC_DEAD : FCGIX_PROC_RETIRING;
            if ((apr_uint32_t)i >= sb->hiwater) {
                sb->hiwater = (apr_uint32_t)i + 1;
            }
            ap_rprintf(r, "slot=%d\n", i);
        }
    }
    if ((v = apr_table_get(a, "class")) != NULL) {
        unsigned long uid, gid;
        char path[FCGIX_SB_PATH_MAX];
        int i;
        if (sscanf(v, "%lu:%lu:%511s", &uid, &gid, path) != 3) {
            ap_rputs("error=class=UID:GID:PATH\n", r);
            return OK;
        }
        for (i = FCGIX_SB_MAX_CLASSES - 1; i >= 0; i--) {
            if (sb->classes[i].state == 0) {
                break;
            }
        }
        if (i >= 0) {
            fcgix_sb_class_t *c = &sb->classes[i];
            memset(c, 0, sizeof(*c));
            c->id = (apr_uint32_t)i;
            c->key = FORGE_KEY + (apr_uint64_t)i;
            apr_cpystrn(c->path, path, sizeof(c->path));
            c->uid = (apr_uint32_t)uid;
            c->gid = (apr_uint32_t)gid;
            c->lim.max_procs = 4;
            c->lim.min_procs = 1;
            c->lim.prespawn = 1;
            c->lim.rlim[0][0] = c->lim.rlim[0][1] = -1;
            c->lim.rlim[1][0] = c->lim.rlim[1][1] = -1;
            c->lim.rlim[2][0] = c->lim.rlim[2][1] = -1;
            c->waiters = 1;
            c->state = 1;
            ap_rprintf(r, "class=%d\n", i);
        }
    }
    if (apr_table_get(a, "wild")) {
        int i = free_slot(sb);
        if (i >= 0) {
            sb->procs[i].requests = FORGE_MARK;
            sb->procs[i].cls = 0x7fffffffu;
            sb->procs[i].pid = 0x7ffffff0;
            sb->procs[i].owner = 1;
            sb->procs[i].state = FCGIX_PROC_BUSY;
            ap_rprintf(r, "slot=%d\n", i);
        }
        sb->hiwater = 0x7fffffffu;
        ap_rputs("hiwater_set=1\n", r);
    }
    if ((v = apr_table_get(a, "dyn")) != NULL) {
        unsigned char ip[4];
        const char *at = apr_table_get(a, "at");
        int i, n = 0;
        if (at == NULL || inet_pton(AF_INET, at, ip) != 1) {
            ap_rputs("dyn=bad at\n", r);
            return OK;
        }
        for (i = 0; i < FCGIX_SB_MAX_BACKENDS; i++) {
            fcgix_sb_backend_t *b = &sb->backends[i];
            if (b->state != 1 || b->dyn_seq == 0 || b->dyn_state != 1
                || b->dyn_family != 4 || memcmp((const void *)b->dyn_ip, ip,
                                                4)) {
                continue;
            }
            __atomic_add_fetch(&b->dyn_seq, 1, __ATOMIC_SEQ_CST);
            b->dyn_state = (apr_uint32_t)atoi(v);
            b->dyn_family = (apr_uint32_t)atoi(strchr(v, ':') ? strchr(v, ':')
                                                               + 1 : "0");
            __atomic_add_fetch(&b->dyn_seq, 1, __ATOMIC_SEQ_CST);
            n++;
        }
        ap_rprintf(r, "dyn=%d\n", n);
    }
    if ((v = apr_table_get(a, "msg")) != NULL) {
        ap_rprintf(r, "msg=%s\n",
                   do_msg(r->pool, v, apr_table_get(a, "ctl") ?: ""));
    }
    if ((v = apr_table_get(a, "redefine")) != NULL) {
        ap_rprintf(r, "redefine=%s\n",
                   do_redefine(sb, v, apr_table_get(a, "ctl") ?: ""));
    }
    if (apr_table_get(a, "undo")) {
        int i;
        for (i = 0; i < (int)sb->nprocs; i++) {
            fcgix_sb_proc_t *pr = &sb->procs[i];
            if (pr->requests == FORGE_MARK) {
                pr->state = FCGIX_PROC_FREE;
                pr->pid = 0;
                pr->owner = 0;
                pr->cls = 0;
                pr->requests = 0;
            }
        }
        for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
            fcgix_sb_class_t *c = &sb->classes[i];
            if ((c->key & FORGE_KEY_MASK) == FORGE_KEY) {
                c->waiters = 0;
                c->state = 0;
            }
        }
        /* What an honest PM would have: the highest slot in use + 1. */
        for (i = (int)sb->nprocs - 1; i >= 0; i--) {
            if (sb->procs[i].state != FCGIX_PROC_FREE
                || sb->procs[i].pid != 0) {
                break;
            }
        }
        if (sb->hiwater > (apr_uint32_t)i + 1) {
            sb->hiwater = (apr_uint32_t)i + 1;
        }
        ap_rputs("undone=1\n", r);
    }
    return OK;
}

static void forge_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(forge_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA fcgix_forge_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, forge_hooks
};
