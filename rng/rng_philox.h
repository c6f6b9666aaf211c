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
#include <string.h>

#include "rng/rng_stream.h"

#if defined(__AVX2__) /* also defined wherever AVX-512 is */
#include <immintrin.h>
#endif

/* (x + 1/2) 2^-52 for x < 2^52, rs_u01's mapping: x + 1/2 read off the
 * bits of 2^52 + x less 2^52 - 1/2 (both exact, 53 bits), because a
 * conversion from a 64-bit integer has no vector instruction before
 * AVX-512DQ; the same number as ((double)x + 0.5) * 0x1p-52. */
static inline double rs_u52(uint64_t x)
{
    uint64_t b = 0x4330000000000000ULL | x; /* the bits of 2^52 + x */
    double d;
    memcpy(&d, &b, sizeof d);
    return (d - (0x1p52 - 0.5)) * 0x1p-52;
}

/* Philox4x32-10's multipliers, and its key schedule: the key of round r
 * is the key plus r times the Weyl increments. One place for the lane
 * and each vector form. */
#define RS_PHILOX_M0 0xD2511F53u
#define RS_PHILOX_M1 0xCD9E8D57u
static inline void rs_philox_round_keys(rs_key key, uint32_t rk0[10], uint32_t rk1[10])
{
    uint32_t k0 = key.k[0], k1 = key.k[1];
    for (int r = 0; r < 10; r++) {
        rk0[r] = k0;
        rk1[r] = k1;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
}

/* One lane of rs_philox_uniforms: the reference and the tail of a batch. */
static inline void rs_philox_lane(rs_key key, uint64_t path, uint32_t year, uint32_t index,
                                  double *u0, double *u1)
{
    uint32_t c0 = (uint32_t)path, c1 = (uint32_t)(path >> 32), c2 = year, c3 = index;
    uint32_t rk0[10], rk1[10];
    rs_philox_round_keys(key, rk0, rk1);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)RS_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)RS_PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ rk0[r];
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ rk1[r];
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
    }
    uint64_t a = ((uint64_t)c0 << 32) | c1, b = ((uint64_t)c2 << 32) | c3;
    *u0 = rs_u52(a >> 12);
    if (u1)
        *u1 = rs_u52(b >> 12);
}

/* Words (0,1) of each lane's block as a uniform in (0,1) into u0, and
 * words (2,3) into u1 (u1 may be NULL). Same mapping as rs_u01.
 *
 * With AVX-512, eight lanes at a time in 64-bit slots: Philox's 32 x 32
 * -> 64 bit products are exactly what vpmuludq computes, one instruction
 * where a plain loop over 64-bit lanes compiles to the three-uop vpmullq,
 * and the two three-way xors are one vpternlogq each. The high halves
 * that the low products leave in c1 and c3 are never read by vpmuludq and
 * are masked off at the end, so every bit equals the scalar lane's (the
 * integer arithmetic is the same; the conversion to double is exact). */
static inline void rs_philox_uniforms(rs_key key, uint64_t first, size_t n,
                                      uint32_t year, uint32_t index,
                                      double *restrict u0, double *restrict u1)
{
    size_t j = 0;
#if defined(__AVX512F__) && defined(__AVX512DQ__)
    const __m512i M0 = _mm512_set1_epi64(RS_PHILOX_M0), M1 = _mm512_set1_epi64(RS_PHILOX_M1);
    const __m512i lo32 = _mm512_set1_epi64(0xffffffffu);
    const __m512d half = _mm512_set1_pd(0.5), scale = _mm512_set1_pd(0x1p-52);
    uint32_t rk0[10], rk1[10];
    rs_philox_round_keys(key, rk0, rk1);
    __m512i ks0[10], ks1[10];
    for (int r = 0; r < 10; r++) {
        ks0[r] = _mm512_set1_epi64(rk0[r]);
        ks1[r] = _mm512_set1_epi64(rk1[r]);
    }
    __m512i path = _mm512_add_epi64(_mm512_set1_epi64((long long)first),
                                    _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
    const __m512i eight = _mm512_set1_epi64(8);
    const __m512i cy = _mm512_set1_epi64(year), ci = _mm512_set1_epi64(index);
    for (; j + 8 <= n; j += 8) {
        __m512i c0 = _mm512_and_si512(path, lo32), c1 = _mm512_srli_epi64(path, 32);
        __m512i c2 = cy, c3 = ci;
        for (int r = 0; r < 10; r++) {
            __m512i p0 = _mm512_mul_epu32(c0, M0), p1 = _mm512_mul_epu32(c2, M1);
            c0 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c1, ks0[r], 0x96);
            c2 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c3, ks1[r], 0x96);
            c1 = p1;
            c3 = p0;
        }
        __m512i a = _mm512_or_si512(_mm512_slli_epi64(c0, 32), _mm512_and_si512(c1, lo32));
        __m512d x = _mm512_cvtepu64_pd(_mm512_srli_epi64(a, 12));
        _mm512_storeu_pd(u0 + j, _mm512_mul_pd(_mm512_add_pd(x, half), scale));
        if (u1) {
            __m512i b = _mm512_or_si512(_mm512_slli_epi64(c2, 32), _mm512_and_si512(c3, lo32));
            __m512d y = _mm512_cvtepu64_pd(_mm512_srli_epi64(b, 12));
            _mm512_storeu_pd(u1 + j, _mm512_mul_pd(_mm512_add_pd(y, half), scale));
        }
        path = _mm512_add_epi64(path, eight);
    }
#elif defined(__AVX2__)
    /* Four lanes at a time, as the AVX-512 path; the three-way xors are
     * two instructions each, and the conversion is rs_u52's. */
    const __m256i M0 = _mm256_set1_epi64x(RS_PHILOX_M0), M1 = _mm256_set1_epi64x(RS_PHILOX_M1);
    const __m256i lo32 = _mm256_set1_epi64x(0xffffffffu);
    const __m256i two52 = _mm256_set1_epi64x(0x4330000000000000LL);
    const __m256d off = _mm256_set1_pd(0x1p52 - 0.5), scale = _mm256_set1_pd(0x1p-52);
    uint32_t rk0[10], rk1[10];
    rs_philox_round_keys(key, rk0, rk1);
    __m256i ks0[10], ks1[10];
    for (int r = 0; r < 10; r++) {
        ks0[r] = _mm256_set1_epi64x(rk0[r]);
        ks1[r] = _mm256_set1_epi64x(rk1[r]);
    }
    __m256i path = _mm256_add_epi64(_mm256_set1_epi64x((long long)first),
                                    _mm256_set_epi64x(3, 2, 1, 0));
    const __m256i four = _mm256_set1_epi64x(4);
    const __m256i cy = _mm256_set1_epi64x(year), ci = _mm256_set1_epi64x(index);
    for (; j + 4 <= n; j += 4) {
        __m256i c0 = _mm256_and_si256(path, lo32), c1 = _mm256_srli_epi64(path, 32);
        __m256i c2 = cy, c3 = ci;
        for (int r = 0; r < 10; r++) {
            __m256i p0 = _mm256_mul_epu32(c0, M0), p1 = _mm256_mul_epu32(c2, M1);
            c0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1), ks0[r]);
            c2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3), ks1[r]);
            c1 = p1;
            c3 = p0;
        }
        __m256i a = _mm256_or_si256(_mm256_slli_epi64(c0, 32), _mm256_and_si256(c1, lo32));
        __m256d x = _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(a, 12), two52));
        _mm256_storeu_pd(u0 + j, _mm256_mul_pd(_mm256_sub_pd(x, off), scale));
        if (u1) {
            __m256i b = _mm256_or_si256(_mm256_slli_epi64(c2, 32), _mm256_and_si256(c3, lo32));
            __m256d y = _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(b, 12), two52));
            _mm256_storeu_pd(u1 + j, _mm256_mul_pd(_mm256_sub_pd(y, off), scale));
        }
        path = _mm256_add_epi64(path, four);
    }
#endif
    for (; j < n; j++)
        rs_philox_lane(key, first + j, year, index, u0 + j, u1 ? u1 + j : NULL);
}

#endif
