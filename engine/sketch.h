/* sketch: mergeable quantile sketch with a stated relative error
 * (prefix sk_).
 *
 * Contract. A sketch counts values in log-like buckets read straight off
 * the IEEE-754 bits of |x|: bucket = (binary exponent, top SK_SUB bits of
 * the mantissa), so each octave [2^e, 2^(e+1)) is cut into 2^SK_SUB equal
 * slices. A quantile is the midpoint of the bucket that holds the order
 * statistic of rank floor(q (n-1)) (0-based; the product rounded to
 * double, as numpy computes it), so for |x| in
 * [2^SK_EMIN, 2^SK_EMAX) its relative error is at most 2^-(SK_SUB+1)
 * (0.39% with SK_SUB = 7). Values with |x| < 2^SK_EMIN count as 0
 * (absolute error below 2^SK_EMIN, about 6e-8, i.e. US$60 in US$ billion);
 * values at or above 2^SK_EMAX land in the top bucket and are counted in
 * `overflow` so a caller can report them.
 *
 * Counts are integers, so merging is exact and independent of order: the
 * same values give the same quantiles whatever the thread or process
 * count. Like DDSketch, but without a log() per value.
 */
#ifndef RUNWAY_SKETCH_H
#define RUNWAY_SKETCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#define SK_SUB 7
#define SK_EMIN (-24)
#define SK_EMAX 40
#define SK_NPOS (((SK_EMAX) - (SK_EMIN)) << SK_SUB) /* buckets per sign */
#define SK_NBUCKETS (2 * SK_NPOS + 1)               /* neg, zero, pos */
#define SK_REL_ERROR (1.0 / (double)(2 << SK_SUB))

/* The bucket index of x. Negative values map below SK_NPOS, zero to
 * SK_NPOS, positive above it, monotonically; a NaN maps to the edge
 * bucket of its sign (0 or SK_NBUCKETS - 1), where it counts as
 * overflow. Inline and branch-free so that a loop over values
 * vectorises. */
static inline int sk_bucket(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    /* |x|'s exponent and top SK_SUB mantissa bits, read as one integer,
     * increase with |x|: less the first bucket's, it is the index among
     * one sign's buckets; below 0 means below 2^SK_EMIN (the zero
     * bucket), from SK_NPOS on (NaN too) the top bucket */
    int64_t idx = (int64_t)((bits >> (52 - SK_SUB)) & ((1u << (11 + SK_SUB)) - 1))
                  - ((int64_t)(SK_EMIN + 1023) << SK_SUB);
    int64_t top = idx > SK_NPOS - 1 ? SK_NPOS - 1 : idx;
    int64_t b = (bits >> 63) ? SK_NPOS - 1 - top : SK_NPOS + 1 + top;
    return idx < 0 ? SK_NPOS : (int)b;
}

/* The value that represents bucket b. */
double sk_value(int b);

/* x's place in IEEE-754's total order as a signed integer: the bits,
 * with every bit but the sign flipped for negative numbers. Integer min
 * and max of keys are exact, vectorise, and do not depend on the order
 * the values come in (-0.0 sorts below +0.0, where the comparison
 * x < y calls them equal and keeps whichever came first, so that the
 * extremes of a thread's or a shard's values would depend on the
 * split). The map is its own inverse. */
static inline int64_t sk_key(double x)
{
    int64_t b;
    memcpy(&b, &x, sizeof b);
    return b ^ (int64_t)((uint64_t)(b >> 63) >> 1);
}
static inline double sk_unkey(int64_t k)
{
    int64_t b = k ^ (int64_t)((uint64_t)(k >> 63) >> 1);
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}
/* The smaller and the larger of a and b in the total order (neither NaN). */
static inline double sk_min(double a, double b) { return sk_key(b) < sk_key(a) ? b : a; }
static inline double sk_max(double a, double b) { return sk_key(b) > sk_key(a) ? b : a; }

/* A set of sketches with 16-bit counts, for one thread's share of paths:
 * n sketches of SK_NBUCKETS counts each, plus their exact extremes. 16
 * bits keep the touched part of a thread's sketches in its cache; the
 * caller merges (sk_merge) before any sketch has received 65535 values.
 * Adding a value costs one counter increment (or, for a value in the
 * sketch's hot bucket, a share of one sum: see sk_add_bulk) and two
 * integer min/max: the buckets a sketch touched are those of its extremes and everything
 * between (the buckets are monotone), plus the two edge buckets, so
 * sk_merge derives the range, and the count of values beyond it, from
 * the extremes instead of tracking them value by value. */
typedef struct {
    size_t n;
    uint16_t *count; /* [n][SK_NBUCKETS] */
    double *mn, *mx; /* [n]: the exact extremes added (+inf/-inf: none) */
    int32_t *hot;    /* [n]: a bucket sk_add_bulk counts by a sum (speed
                        only: the counts are the same whatever it holds) */
} sk_local;

/* The merged set, 64-bit counts. */
typedef struct {
    size_t n;
    uint64_t *count; /* [n][SK_NBUCKETS] */
    uint64_t *total; /* [n] */
    double *mn, *mx; /* [n]: exact extremes; a quantile is clamped into
                        them, so that e.g. an ownership of exactly 1 never
                        reads as its bucket's midpoint 1.0039 */
    uint64_t overflow;
} sk_set;

int sk_local_init(sk_local *s, size_t n);  /* 0, or -1 out of memory */

#if defined(__AVX2__) && !defined(__AVX512F__)
/* sk_pack8[m]: the positions of m's set bits, lowest first, then zeros:
 * the vpermd index that packs the lanes of an 8-bit mask to the front
 * (AVX2 has no compress instruction). 8 KiB, filled on first load. */
extern int32_t sk_pack8[256][8];
#endif

/* Adds every count and extreme of src into dst (same n). */
void sk_set_add(sk_set *dst, const sk_set *src);
void sk_local_free(sk_local *s);

/* Adds x[j], for the j < n with keep[j] != 0 (n <= SK_BULK_MAX), to
 * sketch i: the bulk form of sk_add, for a block of lanes. Two passes:
 * the buckets and the extremes (branch-free, vectorised), then the
 * increments of the kept lanes, packed first without a branch: a branch
 * per lane mispredicts on every lab near even odds. */
#define SK_BULK_MAX 256

/* The first pass of a bulk add: b[j] = sk_bucket(x[j]) for every lane,
 * and the extremes of the kept lanes' values (keep[j] != 0) as keys in
 * *kmn and *kmx (INT64_MAX and INT64_MIN when none). Branch-free, so it
 * vectorises. */
static inline void sk_scan(const double *x, const int64_t *keep, size_t n, int32_t *b,
                           int64_t *kmn_out, int64_t *kmx_out)
{
    int64_t kmn = INT64_MAX, kmx = INT64_MIN;
    for (size_t j = 0; j < n; j++) {
        /* a NaN is counted in an edge bucket (as overflow), never as an
         * extreme (x == x is false for it) */
        int64_t e = -((int64_t)(keep[j] != 0) & (int64_t)(x[j] == x[j]));
        int64_t key = sk_key(x[j]);
        /* selects as masks: GCC vectorises the two reductions only so */
        int64_t a = (key & e) | (INT64_MAX & ~e), z = (key & e) | (INT64_MIN & ~e);
        kmn = a < kmn ? a : kmn;
        kmx = z > kmx ? z : kmx;
        b[j] = sk_bucket(x[j]);
    }
    *kmn_out = kmn;
    *kmx_out = kmx;
}

/* Sketch i's extremes widened to the keys kmn and kmx (sk_scan's; none
 * when kmn is INT64_MAX). */
static inline void sk_widen(double *mn, double *mx, int64_t kmn, int64_t kmx)
{
    if (kmn != INT64_MAX) {
        *mn = sk_min(*mn, sk_unkey(kmn));
        *mx = sk_max(*mx, sk_unkey(kmx));
    }
}

static inline void sk_add_bulk(sk_local *s, size_t i, const double *x, const int64_t *keep,
                               size_t n)
{
    uint16_t *c = s->count + i * SK_NBUCKETS;
    int32_t b[SK_BULK_MAX];
    int64_t kmn, kmx;
    sk_scan(x, keep, n, b, &kmn, &kmx);
    /* The kept lanes' buckets, packed without a branch, except those in
     * the sketch's hot bucket, which are counted and added at once. Often
     * a third to a half of the lanes share one bucket (nothing raised, no
     * cash left, an unchanged stake), and increments of one counter in a
     * row each wait for the one before (counting them by a sum cut the
     * sketches' share of a one-thread profile from 22% to 17%). */
    size_t m = 0, j0 = 0;
    const int32_t h = s->hot[i];
    uint32_t nh = 0;
#if defined(__AVX512F__)
    /* sixteen at a time by vpcompressd (GCC does not vectorise the loop
     * below): a full vector is stored at b + m <= b + j, after lanes
     * j..j+15 were read, so only lanes already packed or read are written */
    const __m512i vh = _mm512_set1_epi32(h);
    for (; j0 + 16 <= n; j0 += 16) {
        __m512i k0 = _mm512_loadu_si512((const void *)(keep + j0));
        __m512i k1 = _mm512_loadu_si512((const void *)(keep + j0 + 8));
        __mmask16 mk = (__mmask16)(_mm512_test_epi64_mask(k0, k0)
                                   | ((unsigned)_mm512_test_epi64_mask(k1, k1) << 8));
        __m512i v = _mm512_loadu_si512((const void *)(b + j0));
        __mmask16 hit = _mm512_mask_cmpeq_epi32_mask(mk, v, vh);
        __mmask16 rest = (__mmask16)(mk & ~hit);
        _mm512_storeu_si512((void *)(b + m), _mm512_maskz_compress_epi32(rest, v));
        m += (size_t)__builtin_popcount(rest);
        nh += (uint32_t)__builtin_popcount(hit);
    }
#elif defined(__AVX2__)
    /* eight at a time through a permutation table (the scalar loop below
     * costs a dependent load, store and add per lane: on the EPYC it was
     * the sketches' largest part); the same stores as AVX-512's above */
    const __m256i vh = _mm256_set1_epi32(h), zero = _mm256_setzero_si256();
    for (; j0 + 8 <= n; j0 += 8) {
        __m256i k0 = _mm256_loadu_si256((const __m256i *)(const void *)(keep + j0));
        __m256i k1 = _mm256_loadu_si256((const __m256i *)(const void *)(keep + j0 + 4));
        unsigned z = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(k0, zero)))
                     | (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(k1, zero))) << 4;
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(b + j0));
        unsigned eq = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(v, vh)));
        unsigned mk = ~z & 0xffu, hit = mk & eq, rest = mk & ~eq;
        __m256i idx = _mm256_loadu_si256((const __m256i *)(const void *)sk_pack8[rest]);
        _mm256_storeu_si256((__m256i *)(void *)(b + m), _mm256_permutevar8x32_epi32(v, idx));
        m += (size_t)__builtin_popcount(rest);
        nh += (uint32_t)__builtin_popcount(hit);
    }
#endif
    for (size_t j = j0; j < n; j++) {
        size_t k = keep[j] != 0, hit = b[j] == h;
        b[m] = b[j];
        m += k & !hit;
        nh += (uint32_t)(k & hit);
    }
    if (nh) /* a write of 0 would map a page the sketch never used */
        c[h] = (uint16_t)(c[h] + nh);
    for (size_t j = 0; j < m; j++)
        c[b[j]]++;
    /* a hot bucket that caught under a quarter of the lanes gives way to
     * a kept lane's: a bucket holding a third or more is found within a
     * few calls and then stays */
    if (m > 3 * (size_t)nh)
        s->hot[i] = b[0];
    sk_widen(&s->mn[i], &s->mx[i], kmn, kmx);
}

/* Adds one value to sketch i. */
static inline void sk_add(sk_local *s, size_t i, double x)
{
    int64_t keep = 1;
    sk_add_bulk(s, i, &x, &keep, 1);
}

/* Adds x[j] with integer weight w[j] to sketch i of a merged set, for
 * the j < n (n <= SK_BULK_MAX) with w[j] != 0 (0: a lane not kept); tot
 * is the w[j]'s sum, which the caller has for all the sketches of a
 * block. The form a conditioned run uses, whose counts are sums of
 * weights (still integers, so merging stays exact, and adding a block's
 * lanes sketch by sketch gives the same counts as lane by lane). A value
 * in an edge bucket adds its weight to overflow. */
static inline void sk_set_add_bulk_w(sk_set *s, size_t i, const double *x, const uint64_t *w,
                                     uint64_t tot, size_t n)
{
    uint64_t *c = s->count + i * SK_NBUCKETS;
    int32_t b[SK_BULK_MAX];
    uint64_t wk[SK_BULK_MAX], ov = 0;
    int64_t kmn, kmx;
    sk_scan(x, (const int64_t *)w, n, b, &kmn, &kmx); /* a weight < 2^63 */
    /* the kept lanes packed first: an add of 0 would map a page of the
     * counts that nothing else touches */
    size_t m = 0;
    for (size_t j = 0; j < n; j++) {
        ov += (b[j] == 0) | (b[j] == SK_NBUCKETS - 1) ? w[j] : 0;
        b[m] = b[j];
        wk[m] = w[j];
        m += w[j] != 0;
    }
    for (size_t j = 0; j < m; j++)
        c[b[j]] += wk[j];
    s->total[i] += tot;
    s->overflow += ov;
    sk_widen(&s->mn[i], &s->mx[i], kmn, kmx);
}

/* Adds x with integer weight w (> 0) to sketch i of a merged set. */
static inline void sk_set_add_w(sk_set *s, size_t i, double x, uint64_t w)
{
    sk_set_add_bulk_w(s, i, &x, &w, w, 1);
}

int sk_set_init(sk_set *s, size_t n);      /* 0, or -1 out of memory */
void sk_set_free(sk_set *s);
/* Adds a local set into s and zeroes the local counts it had touched. */
void sk_merge(sk_set *s, sk_local *l);
/* Quantile q in [0,1] of sketch i; NaN when it holds no value. */
double sk_quantile(const sk_set *s, size_t i, double q);

#endif
