/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_metrics.h
 * @brief The status handler's ?metrics: the scoreboard's counters in the
 *        Prometheus text exposition format (version 0.0.4).
 *
 * Layer L4 (hooks). Called by the status handler (fcgix_status.c) only.
 * Reads a copy of the scoreboard, so every httpd child's requests are in
 * it; an external server's address without a scoreboard slot (no process
 * manager: httpd's User is root) shows this child's pool alone and no
 * request counts.
 */
#ifndef FCGIX_METRICS_H
#define FCGIX_METRICS_H

#include "httpd.h"

/** The content type of the exposition. */
#define FCGIX_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/** Writes every metric family to @p r (content type set here). */
void fcgix_metrics_write(request_rec *r);

#endif /* FCGIX_METRICS_H */
