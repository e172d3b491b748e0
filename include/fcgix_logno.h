/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_logno.h
 * @brief The log tag macro, with no dependencies, so that L1 code which
 *        logs through a callback (the process manager) tags its messages
 *        the same way as the httpd glue.
 */
#ifndef FCGIX_LOGNO_H
#define FCGIX_LOGNO_H

/** Our own log tag space: httpd reserves "AH" for its distribution. */
#define FCGIX_LOGNO(n) "FCGIX" #n ": "

#endif /* FCGIX_LOGNO_H */
