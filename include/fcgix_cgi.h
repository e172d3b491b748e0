/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_cgi.h
 * @brief The CGI response header block inside FCGI_STDOUT: where it ends,
 *        and what a "Status:" value says.
 *
 * Layer L0: pure C99 like fcgix_proto.c (no APR, no httpd, no allocation),
 * so that the bytes an application sends can be unit tested alone. Called
 * by fcgix_reply.c and fcgix_response.c.
 */
#ifndef FCGIX_CGI_H
#define FCGIX_CGI_H

#include <stddef.h>

/** Results of fcgix_cgi_header_end(). */
typedef enum {
    FCGIX_CGI_FOUND = 0,  /**< *body_off is the first byte after the block */
    FCGIX_CGI_AGAIN = 1,  /**< no end yet: collect more and call again */
    FCGIX_CGI_TOOBIG = -1 /**< @p max bytes held and still no end */
} fcgix_cgi_rc_e;

/**
 * Looks for the blank line (LF LF, LF CR LF, or one at the very start)
 * that ends the header block in buf[0..len).
 * @param max   the most the block may take, blank line included
 * @param scan  in/out: where to resume, so that a block arriving in many
 *              pieces is scanned once (start with 0)
 * @param body_off with FCGIX_CGI_FOUND, the offset of the first body byte
 *              (at most @p max)
 */
fcgix_cgi_rc_e fcgix_cgi_header_end(const char *buf, size_t len, size_t max,
                                    size_t *scan, size_t *body_off);

/**
 * The status a CGI "Status:" value names ("NNN" or "NNN reason").
 * @return 100..999, or 0 for anything else
 */
int fcgix_cgi_status(const char *value);

#endif /* FCGIX_CGI_H */
