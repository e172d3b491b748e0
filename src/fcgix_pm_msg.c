/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Messages to the PM (see fcgix_pm_int.h): sending them (any process),
 * and in the PM receiving one (its size, the sender's credentials,
 * descriptors), checking everything it says before it is believed, and
 * acting on it. The class key is computed here for both sides.
 */

#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "fcgix_logno.h"
#include "fcgix_pm.h"
#include "fcgix_pm_int.h"

/* Virtual hosts one configuration may name. */
#define PM_MAX_VHOSTS 65536
/* Descriptors one message may carry (one is used; more are closed). */
#define PM_MAX_FDS 4

#define PM_FLAGS_KNOWN \
    (FCGIX_SPAWN_CMDLINE | FCGIX_SPAWN_SUEXEC | FCGIX_SPAWN_USERDIR)

/* Length of the env list in @p list (NAME=value\0 ... \0), or -1 when it
 * is not ended within @p len. */
static long env_list_len(const char *list, size_t len)
{
    size_t off = 0;

    while (off < len) {
        const char *e = memchr(list + off, '\0', len - off);
        size_t n;
        if (e == NULL) {
            return -1;
        }
        n = (size_t)(e - (list + off));
        if (n == 0) {
            return (long)off + 1;
        }
        if (memchr(list + off, '=', n) == NULL) {
            return -1;
        }
        off += n + 1;
    }
    return -1;
}

static apr_uint64_t fnv1a(apr_uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    size_t i;

    for (i = 0; i < n; i++) {
        h = (h ^ b[i]) * 1099511628211ULL;
    }
    return h;
}

apr_uint64_t fcgix_pm_msg_key(const fcgix_pm_msg_t *m)
{
    /* FNV-1a over everything that defines the class: a message that
     * differs in anything (limits and environment included) names
     * another class, so no message can change an existing one. */
    apr_uint64_t h = 1469598103934665603ULL;
    apr_uint32_t ids[3];
    apr_uint64_t ino[2];
    long envlen = env_list_len(m->env, sizeof(m->env));

    ids[0] = m->uid;
    ids[1] = m->gid;
    ids[2] = m->vhost;
    ino[0] = m->inode;
    ino[1] = m->dev;
    h = fnv1a(h, m->path, strnlen(m->path, sizeof(m->path)));
    h = fnv1a(h, ids, sizeof(ids));
    h = fnv1a(h, ino, sizeof(ino));
    h = fnv1a(h, &m->lim, FCGIX_PM_LIM_BYTES);
    return fnv1a(h, m->env, envlen > 0 ? (size_t)envlen : 0);
}

/*
 * Everything a message says, checked before it is believed: it comes from
 * an httpd child, where any module (mod_php, mod_lua) can write anything.
 * @return NULL, or why it is refused
 */
static const char *msg_check(pm_t *pm, fcgix_pm_msg_t *m)
{
    const fcgix_sb_limits_t *l = &m->lim;
    struct stat st;
    int i;

    if (m->type != FCGIX_PM_MSG_SPAWN && m->type != FCGIX_PM_MSG_LOOK) {
        return "unknown message type"; /* LOGS was handled on receipt */
    }
    if (m->type == FCGIX_PM_MSG_LOOK) {
        return NULL;
    }
    if (memchr(m->path, '\0', sizeof(m->path)) == NULL) {
        return "program path not terminated";
    }
    if (m->path[0] != '/') {
        return "program path not absolute";
    }
    if (env_list_len(m->env, sizeof(m->env)) < 0) {
        return "malformed environment";
    }
    if ((l->flags & ~PM_FLAGS_KNOWN)
        || ((l->flags & FCGIX_SPAWN_USERDIR)
            && !(l->flags & FCGIX_SPAWN_SUEXEC))) {
        return "unknown flags";
    }
    if ((l->flags & FCGIX_SPAWN_SUEXEC) && pm->cfg->suexec_bin == NULL) {
        return "suexec is not enabled";
    }
    if (l->max_procs == 0 || l->max_procs > pm->nslots
        || l->min_procs > l->max_procs) {
        return "process limits out of range";
    }
    if (l->priority < 0 || l->priority > 19 || l->kill_interval > 86400
        || l->single_threshold > 100 || l->multi_threshold > 100) {
        return "limits out of range";
    }
    for (i = 0; i < 3; i++) {
        if (l->rlim[i][0] < -1 || l->rlim[i][1] < -1) {
            return "limits out of range";
        }
    }
    /* Without suexec, every application runs as User/Group; with it,
     * suexec applies its own rules to the identity. Root, never. */
    if (!(l->flags & FCGIX_SPAWN_SUEXEC)) {
        m->uid = pm->cfg->uid;
        m->gid = pm->cfg->gid;
    }
    if (m->uid == 0 || m->gid == 0) {
        return "uid or gid 0";
    }
    if (!(l->flags & FCGIX_SPAWN_CMDLINE)
        && (stat(m->path, &st) < 0 || !S_ISREG(st.st_mode)
            || (apr_uint64_t)st.st_ino != m->inode
            || (apr_uint64_t)st.st_dev != m->dev)) {
        return "not the program file it names";
    }
    return NULL;
}

/* The parent's word on the configuration: virtual host keys gather until
 * CONFIG says the new configuration is complete. */
static void on_config(pm_t *pm, const fcgix_pm_msg_t *m, apr_time_t now)
{
    size_t n, i;

    switch (m->type) {
    case FCGIX_PM_MSG_DETACH:
        pm->detach_at = now;
        break;
    case FCGIX_PM_MSG_VHOSTS:
        if (!pm->config_open) {
            pm->config_open = 1;
            pm->gen++;
            pm->npending = 0;
        }
        n = m->uid < FCGIX_PM_VHOSTS_PER_MSG ? m->uid
                                            : FCGIX_PM_VHOSTS_PER_MSG;
        if (pm->npending + n > PM_MAX_VHOSTS) {
            break;
        }
        if (pm->npending + n > pm->cap_pending) {
            size_t cap = (pm->npending + n) * 2;
            apr_uint32_t *v = realloc(pm->pending, cap * sizeof(*v));
            if (v == NULL) {
                break;
            }
            pm->pending = v;
            pm->cap_pending = cap;
        }
        for (i = 0; i < n; i++) {
            memcpy(&pm->pending[pm->npending++],
                   m->env + i * sizeof(apr_uint32_t), sizeof(apr_uint32_t));
        }
        break;
    case FCGIX_PM_MSG_CONFIG:
        if (pm->config_open) {
            fcgix_pm_class_commit(pm);
        }
        break;
    default:
        break;
    }
}

void fcgix_pm_msg_handle(pm_t *pm, fcgix_pm_msg_t *m, int from_parent,
                         apr_time_t now)
{
    const char *why;
    apr_uint64_t key;
    int ci;

    if (m->type == FCGIX_PM_MSG_VHOSTS || m->type == FCGIX_PM_MSG_CONFIG
        || m->type == FCGIX_PM_MSG_DETACH) {
        if (!from_parent) {
            pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00199) "refused "
                         "a configuration message from an httpd child");
            return;
        }
        on_config(pm, m, now);
        return;
    }
    if ((why = msg_check(pm, m)) != NULL) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00184) "refused a "
                     "message: %s", why);
        return;
    }
    if (m->type != FCGIX_PM_MSG_SPAWN) {
        return; /* LOOK: the loop scans anyway */
    }
    key = fcgix_pm_msg_key(m);
    if ((ci = fcgix_pm_class_find(pm, key, m)) < 0 && !from_parent
        && (why = fcgix_pm_class_unconfigured(pm, m)) != NULL) {
        /* Old-generation children may still ask for what a restart
         * removed: worth a note, not an error. */
        pm->cfg->log(FCGIX_PM_LOG_INFO, 0, FCGIX_LOGNO(00205) "no class "
                     "for %s: %s", m->path, why);
        return;
    }
    if (ci < 0
        && (pm->leaving || (ci = fcgix_pm_class_create(pm, m, key)) < 0)) {
        if (pm->leaving) {
            return;
        }
        if (ci == -2) {
            pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00193) "refused "
                         "a message: it would redefine the class of %s",
                         m->path);
            return;
        }
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00156) "too many "
                     "application classes (%d); cannot serve %s",
                     FCGIX_SB_MAX_CLASSES, m->path);
        return;
    }
    if (from_parent && m->lim.prespawn) {
        /* A static class the configuration in the making defines. */
        pm->classes[ci].gen = pm->gen;
        pm->classes[ci].retired = 0;
    }
    fcgix_pm_watch_provide(pm, ci, now);
}

/* The parent of @p pid, from /proc, or -1. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512], *p;
    ssize_t n;
    int fd;
    long pp;

    apr_snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if ((fd = open(path, O_RDONLY)) < 0) {
        return -1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and ')'. */
    if ((p = strrchr(buf, ')')) == NULL
        || sscanf(p + 1, " %*c %ld", &pp) != 1) {
        return -1;
    }
    return (pid_t)pp;
}

/* The sender's credentials (@return 1 when there are some, in @p cr)
 * and the descriptors of a received message: the first PM_MAX_FDS in
 * @p fds, the others closed at once. */
static int recv_ancillary(struct msghdr *mh, struct ucred *cr, int *fds,
                          int *nfds)
{
    struct cmsghdr *cm;
    int have_cr = 0, i;

    for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET) {
            continue;
        }
        if (cm->cmsg_type == SCM_CREDENTIALS) {
            memcpy(cr, CMSG_DATA(cm), sizeof(*cr));
            have_cr = 1;
        }
        else if (cm->cmsg_type == SCM_RIGHTS) {
            int n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (i = 0; i < n; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cm) + (size_t)i * sizeof(int),
                       sizeof(int));
                if (*nfds < PM_MAX_FDS) {
                    fds[(*nfds)++] = fd;
                }
                else {
                    close(fd);
                }
            }
        }
    }
    return have_cr;
}

/*
 * One message, only from an httpd child: the socket is writable by
 * httpd's User, which CGI scripts and unwrapped applications share, so the
 * kernel-attested sender must be a child of our httpd parent. A datagram
 * of any other size is dropped whole.
 * @return 2 for a message from the parent, 1 from a child, 0 for one
 *         dropped, -1 when none is waiting
 */
int fcgix_pm_msg_recv(pm_t *pm, fcgix_pm_msg_t *m)
{
    char cbuf[CMSG_SPACE(sizeof(struct ucred))
              + CMSG_SPACE(PM_MAX_FDS * sizeof(int))];
    struct iovec iov;
    struct msghdr mh;
    struct ucred cr;
    int fds[PM_MAX_FDS], nfds = 0, have_cr, i, ok = 0;
    ssize_t got;

    memset(&mh, 0, sizeof(mh));
    iov.iov_base = m;
    iov.iov_len = sizeof(*m);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof(cbuf);
    got = recvmsg(pm->ctl, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (got < 0) {
        return -1;
    }
    have_cr = recv_ancillary(&mh, &cr, fds, &nfds);
    if (!have_cr) {
        /* nothing to judge the sender by */
    }
    else if (cr.pid != pm->parent && parent_of(cr.pid) != pm->parent) {
        pm->cfg->log(FCGIX_PM_LOG_WARN, 0,
                     FCGIX_LOGNO(00185) "ignored a message from pid "
                     "%ld: not an httpd child", (long)cr.pid);
    }
    else if (got != (ssize_t)sizeof(*m) || (mh.msg_flags & MSG_TRUNC)) {
        pm->cfg->log(FCGIX_PM_LOG_ERR, 0,
                     FCGIX_LOGNO(00191) "refused a message of %ld "
                     "bytes from pid %ld", (long)got, (long)cr.pid);
    }
    else if (m->type == FCGIX_PM_MSG_LOGS) {
        /* Only the parent opens error logs; from anyone else the
         * descriptor could be anything. */
        if (cr.pid == pm->parent && nfds == 1
            && !(mh.msg_flags & MSG_CTRUNC) && pm->cfg->relog) {
            pm->cfg->relog(fds[0]);
        }
        else {
            pm->cfg->log(FCGIX_PM_LOG_ERR, 0, FCGIX_LOGNO(00195) "refused "
                         "a log descriptor from pid %ld", (long)cr.pid);
        }
    }
    else {
        ok = cr.pid == pm->parent ? 2 : 1;
    }
    /* A descriptor sent with anything else is not kept: nobody may fill
     * our descriptor table. */
    for (i = 0; i < nfds; i++) {
        close(fds[i]);
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* Sending                                                            */
/* ------------------------------------------------------------------ */

/* One datagram to the PM's socket, with descriptor @p fd attached when
 * it is not -1. Never waits. */
static apr_status_t send_dgram(const char *ctl_path,
                               const fcgix_pm_msg_t *msg, int fd)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct sockaddr_un sa;
    struct msghdr mh;
    struct iovec iov;
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ssize_t n;

    if (s < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    apr_cpystrn(sa.sun_path, ctl_path, sizeof(sa.sun_path));
    memset(&mh, 0, sizeof(mh));
    iov.iov_base = (void *)msg;
    iov.iov_len = sizeof(*msg);
    mh.msg_name = &sa;
    mh.msg_namelen = sizeof(sa);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (fd != -1) {
        struct cmsghdr *cm;
        memset(cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof(cbuf);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    n = sendmsg(s, &mh, MSG_DONTWAIT);
    close(s);
    return n == (ssize_t)sizeof(*msg) ? APR_SUCCESS
                                      : APR_FROM_OS_ERROR(errno);
}

apr_status_t fcgix_pm_send(const char *ctl_path, const fcgix_pm_msg_t *msg)
{
    return send_dgram(ctl_path, msg, -1);
}

apr_status_t fcgix_pm_send_log(const char *ctl_path, int fd)
{
    fcgix_pm_msg_t m;

    memset(&m, 0, sizeof(m));
    m.type = FCGIX_PM_MSG_LOGS;
    return send_dgram(ctl_path, &m, fd);
}
