/* rng_philox: Philox4x32-10 for many counters at once (prefix rs_).
 *
 * The same function as Random123's philox4x32 (tests/test_rng_philox.c
 * checks it against Random123 and the known-answer vectors), written as
 * plain loops over lanes so that the compiler turns them into vector code:
 * each lane is one path. Counter of lane j: {path lo, path hi, year,
 * index} with path = first + j, as rs_block in rng_stream.h.
 */
#ifndef RUNWAY_RNG_PHILOX_H
#define RUNWAY_RNG_PHILOX_H

#include <stddef.h>
#include <stdint.h>

#include "rng/rng_stream.h"

/* Words (0,1) of each lane's block as a uniform in (0,1) into u0, and
 * words (2,3) into u1 (u1 may be NULL). Same mapping as rs_u01. */
static inline void rs_philox_uniforms(rs_key key, uint64_t first, size_t n,
                                      uint32_t year, uint32_t index,
                                      double *restrict u0, double *restrict u1)
{
    for (size_t j = 0; j < n; j++) {
        uint64_t path = first + j;
        uint32_t c0 = (uint32_t)path, c1 = (uint32_t)(path >> 32), c2 = year, c3 = index;
        uint32_t k0 = key.k[0], k1 = key.k[1];
        for (int r = 0; r < 10; r++) {
            uint64_t p0 = (uint64_t)0xD2511F53u * c0;
            uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
            c1 = (uint32_t)p1;
            c3 = (uint32_t)p0;
            c0 = n0;
            c2 = n2;
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        uint64_t a = ((uint64_t)c0 << 32) | c1, b = ((uint64_t)c2 << 32) | c3;
        u0[j] = ((double)(a >> 12) + 0.5) * 0x1p-52;
        if (u1)
            u1[j] = ((double)(b >> 12) + 0.5) * 0x1p-52;
    }
}

#endif
