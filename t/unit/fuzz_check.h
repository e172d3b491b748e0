/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * What every libFuzzer target in t/unit shares: the entry point libFuzzer
 * calls, and CHECK, which aborts on a broken invariant so that libFuzzer
 * keeps the input as a finding (an assert would vanish under NDEBUG).
 * Included once per target, after the sources it includes whole.
 */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define CHECK(c) \
    do { \
        if (!(c)) { \
            abort(); \
        } \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
