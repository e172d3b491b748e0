/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_interim.h
 * @brief Interim (1xx) responses an application writes before its real
 *        header block: "Status: 103" with Link fields (Early Hints), or
 *        "Status: 100", relayed to the client as interim responses.
 *
 * Layer L3. Called by fcgix_reply.c when a responder's header block is
 * complete; the block after an interim one is collected as usual.
 */
#ifndef FCGIX_INTERIM_H
#define FCGIX_INTERIM_H

#include "apr_tables.h"

#include "fcgix_req.h"

/** Interim blocks one reply may carry; one more is a bad reply (502). */
#define FCGIX_INTERIM_MAX 8

/** Internal status: the block was an interim one, the next follows. */
#define FCGIX_INTERIM (APR_OS_START_USERERR + 711)

/** The code of a block whose Status is 1xx but 101, else 0 (a final
 *  block; 101 is refused there as any final 1xx is). */
int fcgix_interim_code(const apr_table_t *fields);

/**
 * Sends the interim response of a 1xx block to an HTTP/1.1 (or later)
 * client; drops it for an HTTP/1.0 one, and drops a 100 the client did
 * not ask for (or was already sent). r->status, r->status_line and
 * r->headers_out are the same afterwards.
 * @return FCGIX_INTERIM, or FCGIX_FAILED (logged; q->fail is 502) for
 *         more than FCGIX_INTERIM_MAX blocks
 */
apr_status_t fcgix_interim_send(fcgix_req_t *q, const apr_table_t *fields,
                                int code);

/** Forgets the interim block of @p len bytes at the start of the header
 *  buffer: the next block is collected from what followed it. */
void fcgix_interim_drop(fcgix_req_t *q, apr_size_t len);

#endif /* FCGIX_INTERIM_H */
