/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/* MD5 (RFC 1321) for the C test applications in t/apps, so that their
 * "digest" answers need no library: static functions, one copy per
 * program. */
#ifndef FCGIX_TEST_MD5_H
#define FCGIX_TEST_MD5_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct md5_ctx_t {
    uint32_t s[4];
    uint64_t len;
    unsigned char buf[64];
} md5_ctx_t;

static const uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
    0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
    0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
    0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
    0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
    0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
    0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391
};

static const unsigned char md5_r[64] = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21
};

static void md5_init(md5_ctx_t *c)
{
    c->s[0] = 0x67452301;
    c->s[1] = 0xefcdab89;
    c->s[2] = 0x98badcfe;
    c->s[3] = 0x10325476;
    c->len = 0;
}

static void md5_block(md5_ctx_t *c, const unsigned char *p)
{
    uint32_t x[16], a = c->s[0], b = c->s[1], cc = c->s[2], d = c->s[3];
    int i;

    /* MD5 is defined on little-endian words whatever the host order. */
    for (i = 0; i < 16; i++) {
        x[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8
               | (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
    }
    for (i = 0; i < 64; i++) {
        uint32_t f, t;
        int g;

        if (i < 16) {
            f = (b & cc) | (~b & d);
            g = i;
        }
        else if (i < 32) {
            f = (b & d) | (cc & ~d);
            g = (5 * i + 1) & 15;
        }
        else if (i < 48) {
            f = b ^ cc ^ d;
            g = (3 * i + 5) & 15;
        }
        else {
            f = cc ^ (b | ~d);
            g = (7 * i) & 15;
        }
        t = a + f + md5_k[i] + x[g];
        a = d;
        d = cc;
        cc = b;
        b = b + ((t << md5_r[i]) | (t >> (32 - md5_r[i])));
    }
    c->s[0] += a;
    c->s[1] += b;
    c->s[2] += cc;
    c->s[3] += d;
}

static void md5_update(md5_ctx_t *c, const unsigned char *p, size_t n)
{
    size_t have = (size_t)(c->len & 63);

    c->len += n;
    if (have) {
        size_t take = 64 - have;

        if (take > n) {
            take = n;
        }
        memcpy(c->buf + have, p, take);
        p += take;
        n -= take;
        if (have + take < 64) {
            return;
        }
        md5_block(c, c->buf);
    }
    while (n >= 64) {
        md5_block(c, p);
        p += 64;
        n -= 64;
    }
    if (n) {
        memcpy(c->buf, p, n);
    }
}

static void md5_hex(md5_ctx_t *c, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char pad[72], dig[16];
    uint64_t bits = c->len * 8;
    size_t padlen = 64 - (size_t)((c->len + 8) & 63);
    int i;

    memset(pad, 0, sizeof(pad));
    pad[0] = 0x80;
    for (i = 0; i < 8; i++) {
        pad[padlen + i] = (unsigned char)(bits >> (8 * i));
    }
    md5_update(c, pad, padlen + 8);
    for (i = 0; i < 16; i++) {
        dig[i] = (unsigned char)(c->s[i / 4] >> (8 * (i % 4)));
        out[2 * i] = hex[dig[i] >> 4];
        out[2 * i + 1] = hex[dig[i] & 15];
    }
    out[32] = '\0';
}

#endif /* FCGIX_TEST_MD5_H */
