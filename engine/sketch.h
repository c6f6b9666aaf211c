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

#define SK_SUB 7
#define SK_EMIN (-24)
#define SK_EMAX 40
#define SK_NPOS (((SK_EMAX) - (SK_EMIN)) << SK_SUB) /* buckets per sign */
#define SK_NBUCKETS (2 * SK_NPOS + 1)               /* neg, zero, pos */
#define SK_REL_ERROR (1.0 / (double)(2 << SK_SUB))

/* The bucket index of x (NaN must not be passed). Negative values map
 * below SK_NPOS, zero to SK_NPOS, positive above it, monotonically.
 * Inline and branch-free so that a loop over values vectorises. */
static inline int sk_bucket(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int neg = (int)(bits >> 63);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    int ec = e < SK_EMIN ? SK_EMIN : e; /* no shift of a negative number */
    int idx = ((ec - SK_EMIN) << SK_SUB) | (int)((bits >> (52 - SK_SUB)) & ((1u << SK_SUB) - 1));
    idx = e >= SK_EMAX ? SK_NPOS - 1 : idx; /* top bucket, counted as overflow */
    int b = neg ? SK_NPOS - 1 - idx : SK_NPOS + 1 + idx;
    return e < SK_EMIN ? SK_NPOS : b; /* zero bucket: tiny values and subnormals */
}



/* The value that represents bucket b. */
double sk_value(int b);

/* A set of sketches with 16-bit counts, for one thread's share of paths:
 * n sketches of SK_NBUCKETS counts each, plus their totals. 16 bits keep
 * the touched part of a thread's sketches in its cache; the caller merges
 * (sk_merge) before any sketch has received 65535 values. */
typedef struct {
    size_t n;
    uint16_t *count; /* [n][SK_NBUCKETS] */
    int32_t *lo, *hi; /* [n]: the buckets touched, lo > hi when none */
    double *mn, *mx;  /* [n]: the exact extremes added (+inf/-inf: none) */
    uint64_t overflow;
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
/* Adds the values whose buckets are b[j], for the j < n with keep[j] != 0,
 * to sketch i: the bulk form of sk_add. */
static inline void sk_add_buckets(sk_local *s, size_t i, const int32_t *b, const double *x,
                                  const int64_t *keep, size_t n)
{
    uint16_t *c = s->count + i * SK_NBUCKETS;
    int32_t lo = s->lo[i], hi = s->hi[i];
    double mn = s->mn[i], mx = s->mx[i];
    for (size_t j = 0; j < n; j++)
        if (keep[j]) {
            c[b[j]]++;
            lo = b[j] < lo ? b[j] : lo;
            hi = b[j] > hi ? b[j] : hi;
            mn = x[j] < mn ? x[j] : mn;
            mx = x[j] > mx ? x[j] : mx;
            s->overflow += (b[j] == SK_NBUCKETS - 1) | (b[j] == 0);
        }
    s->lo[i] = lo;
    s->hi[i] = hi;
    s->mn[i] = mn;
    s->mx[i] = mx;
}
void sk_local_free(sk_local *s);
static inline void sk_add(sk_local *s, size_t i, double x)
{
    int b = sk_bucket(x);
    s->count[i * SK_NBUCKETS + (size_t)b]++;
    /* Merging walks only the touched range, so a thread pays for the
     * buckets it used, not for the whole (mostly untouched) array. */
    if (b < s->lo[i])
        s->lo[i] = b;
    if (b > s->hi[i])
        s->hi[i] = b;
    if (x < s->mn[i])
        s->mn[i] = x;
    if (x > s->mx[i])
        s->mx[i] = x;
    if (b == SK_NBUCKETS - 1 || b == 0)
        s->overflow++;
}

int sk_set_init(sk_set *s, size_t n);      /* 0, or -1 out of memory */
void sk_set_free(sk_set *s);
/* Adds a local set into s and zeroes the local counts it had touched. */
void sk_merge(sk_set *s, sk_local *l);
/* Quantile q in [0,1] of sketch i; NaN when it holds no value. */
double sk_quantile(const sk_set *s, size_t i, double q);

#endif
