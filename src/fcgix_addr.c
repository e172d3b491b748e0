/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_portable.h"

#include "fcgix_addr.h"

static const char *parse_unix(apr_pool_t *p, const char *path,
                              fcgix_addr_t *a)
{
    apr_status_t rv;

    if (path[0] != '/') {
        return apr_psprintf(p, "unix socket path must be absolute: %s",
                            path);
    }
    /* sun_path is about 108 bytes; a longer path would be cut silently. */
    if (strlen(path) >= 100) {
        return apr_psprintf(p, "unix socket path too long (max 99): %s",
                            path);
    }
    a->is_unix = 1;
    a->path = apr_pstrdup(p, path);
    rv = apr_sockaddr_info_get(&a->sa, a->path, APR_UNIX, 0, 0, p);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot use unix socket %s", path);
    }
    return NULL;
}

static const char *parse_tcp(apr_pool_t *p, const char *spec,
                             fcgix_addr_t *a)
{
    char *host = NULL, *scope = NULL;
    apr_port_t port = 0;
    apr_status_t rv;

    rv = apr_parse_addr_port(&host, &scope, &port, spec, p);
    if (rv != APR_SUCCESS || host == NULL || scope != NULL) {
        return apr_psprintf(p, "invalid address '%s' (want host:port, "
                            "[ipv6]:port or unix:/path)", spec);
    }
    if (port == 0) {
        return apr_psprintf(p, "address '%s' needs a port", spec);
    }
    a->host = host;
    a->port = port;
    /* Resolve now: a request thread must never wait on DNS. */
    rv = apr_sockaddr_info_get(&a->sa, host, APR_UNSPEC, port, 0, p);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot resolve '%s'", host);
    }
    return NULL;
}

const char *fcgix_addr_parse(apr_pool_t *p, const char *spec,
                             int allow_bare_path, fcgix_addr_t **out)
{
    fcgix_addr_t *a = apr_pcalloc(p, sizeof(*a));
    const char *err;

    a->spec = apr_pstrdup(p, spec);
    a->pos = -1;
    if (strncasecmp(spec, "unix:", 5) == 0) {
        err = parse_unix(p, spec + 5, a);
    }
    else if (allow_bare_path && spec[0] == '/') {
        err = parse_unix(p, spec, a);
    }
    else {
        err = parse_tcp(p, spec, a);
    }
    if (err == NULL) {
        *out = a;
    }
    return err;
}

apr_status_t fcgix_addr_connect(const fcgix_addr_t *a,
                                apr_interval_time_t timeout,
                                apr_pool_t *p, apr_socket_t **sock)
{
    apr_socket_t *s;
    apr_status_t rv;

    rv = apr_socket_create(&s, a->sa->family, SOCK_STREAM,
                           a->is_unix ? 0 : APR_PROTO_TCP, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!a->is_unix) {
        /* Records are written whole; Nagle would only add latency. */
        apr_socket_opt_set(s, APR_TCP_NODELAY, 1);
    }
    /* A positive timeout makes APR connect non-blocking and poll. */
    apr_socket_timeout_set(s, timeout > 0 ? timeout : -1);
    rv = apr_socket_connect(s, a->sa);
    if (rv != APR_SUCCESS) {
        apr_socket_close(s);
        return rv;
    }
    apr_socket_timeout_set(s, 0);
    *sock = s;
    return APR_SUCCESS;
}

int fcgix_addr_is_literal(const char *host)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, host, buf) == 1
           || inet_pton(AF_INET6, host, buf) == 1;
}

fcgix_addr_t *fcgix_addr_from_ip(apr_pool_t *p, int family,
                                 const unsigned char *ip, apr_port_t port)
{
    fcgix_addr_t *a = apr_pcalloc(p, sizeof(*a));
    char buf[INET6_ADDRSTRLEN];

    if ((family != APR_INET && family != APR_INET6)
        || inet_ntop(family, ip, buf, sizeof(buf)) == NULL) {
        return NULL;
    }
    a->host = apr_pstrdup(p, buf);
    a->port = port;
    a->pos = -1;
    a->spec = family == APR_INET6 ? apr_psprintf(p, "[%s]:%u", buf, port)
                                  : apr_psprintf(p, "%s:%u", buf, port);
    /* A numeric host: no lookup happens here. */
    if (apr_sockaddr_info_get(&a->sa, a->host, family, port, 0, p)
        != APR_SUCCESS) {
        return NULL;
    }
    a->sa->next = NULL;
    return a;
}

int fcgix_addr_raw(const apr_sockaddr_t *sa, unsigned char ip[16])
{
    if (sa->family == APR_INET) {
        memcpy(ip, &sa->sa.sin.sin_addr, 4);
        return APR_INET;
    }
    if (sa->family == APR_INET6) {
        memcpy(ip, &sa->sa.sin6.sin6_addr, 16);
        return APR_INET6;
    }
    return 0;
}

void fcgix_addr_unacked_limit(apr_socket_t *s, apr_interval_time_t limit,
                              int *cur)
{
#ifdef TCP_USER_TIMEOUT
    apr_os_sock_t fd;
    unsigned int ms = limit > 0 ? (unsigned int)apr_time_as_msec(limit) : 0;

    /* A system call per request is what the small requests' CPU budget
     * cannot spare: only a change is made. */
    if (*cur < 0 || (unsigned int)*cur == ms
        || apr_os_sock_get(&fd, s) != APR_SUCCESS) {
        return;
    }
    if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms))) {
        /* Not TCP (a unix socket): nothing to do, now or later. */
        *cur = -1;
        return;
    }
    *cur = (int)ms;
#else
    (void)s;
    (void)limit;
    *cur = -1;
#endif
}
