/* sketch: see sketch.h. */
#include "engine/sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX2__) && !defined(__AVX512F__)
int32_t sk_pack8[256][8];

/* Filled before main: the table is read-only from then on, so threads
 * share it without a lock. */
__attribute__((constructor)) static void sk_pack8_fill(void)
{
    for (int m = 0; m < 256; m++) {
        int k = 0;
        for (int j = 0; j < 8; j++)
            if (m >> j & 1)
                sk_pack8[m][k++] = j;
    }
}
#endif

double sk_value(int b)
{
    if (b == SK_NPOS)
        return 0.0;
    int neg = b < SK_NPOS;
    int idx = neg ? SK_NPOS - 1 - b : b - SK_NPOS - 1;
    int e = (idx >> SK_SUB) + SK_EMIN;
    int j = idx & ((1 << SK_SUB) - 1);
    /* midpoint of [2^e (1 + j/2^SUB), 2^e (1 + (j+1)/2^SUB)) */
    double v = ldexp(1.0 + (j + 0.5) / (double)(1 << SK_SUB), e);
    return neg ? -v : v;
}

static void reset_extremes(sk_local *s)
{
    for (size_t i = 0; i < s->n; i++) {
        s->mn[i] = INFINITY;
        s->mx[i] = -INFINITY;
    }
}

int sk_local_init(sk_local *s, size_t n)
{
    s->n = n;
    /* calloc of a large block maps zero pages lazily: untouched buckets
     * cost no memory */
    s->count = calloc(n * SK_NBUCKETS, sizeof *s->count);
    s->mn = malloc((n ? n : 1) * sizeof *s->mn);
    s->mx = malloc((n ? n : 1) * sizeof *s->mx);
    s->hot = malloc((n ? n : 1) * sizeof *s->hot);
    if (!s->count || !s->mn || !s->mx || !s->hot) {
        sk_local_free(s);
        return -1;
    }
    reset_extremes(s);
    for (size_t i = 0; i < n; i++)
        s->hot[i] = SK_NPOS; /* zero: the usual crowd (nothing raised) */
    return 0;
}

void sk_local_free(sk_local *s)
{
    free(s->count);
    free(s->mn);
    free(s->mx);
    free(s->hot);
    s->count = NULL;
    s->mn = s->mx = NULL;
    s->hot = NULL;
}

int sk_set_init(sk_set *s, size_t n)
{
    s->n = n;
    s->overflow = 0;
    s->count = calloc(n * SK_NBUCKETS, sizeof *s->count);
    s->total = calloc(n ? n : 1, sizeof *s->total);
    s->mn = malloc((n ? n : 1) * sizeof *s->mn);
    s->mx = malloc((n ? n : 1) * sizeof *s->mx);
    if (!s->count || !s->total || !s->mn || !s->mx) {
        sk_set_free(s);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        s->mn[i] = INFINITY;
        s->mx[i] = -INFINITY;
    }
    return 0;
}

void sk_set_free(sk_set *s)
{
    free(s->count);
    free(s->total);
    free(s->mn);
    free(s->mx);
    s->count = NULL;
    s->total = NULL;
    s->mn = s->mx = NULL;
}

/* Moves count c[b] of a local sketch into the merged one. */
static inline uint64_t take(uint64_t *g, uint16_t *c, int32_t b)
{
    uint64_t v = c[b];
    g[b] += v;
    c[b] = 0;
    return v;
}

void sk_merge(sk_set *s, sk_local *l)
{
    for (size_t i = 0; i < s->n; i++) {
        uint16_t *c = &l->count[i * SK_NBUCKETS];
        uint64_t *g = &s->count[i * SK_NBUCKETS];
        /* the edge buckets (values beyond the range, and NaN), then the
         * buckets from the minimum's to the maximum's, which hold every
         * other value */
        uint64_t edge = take(g, c, 0) + take(g, c, SK_NBUCKETS - 1), tot = edge;
        if (l->mn[i] <= l->mx[i]) {
            int32_t lo = sk_bucket(l->mn[i]), hi = sk_bucket(l->mx[i]);
            lo = lo < 1 ? 1 : lo;
            hi = hi > SK_NBUCKETS - 2 ? SK_NBUCKETS - 2 : hi;
            for (int32_t b = lo; b <= hi; b++)
                tot += take(g, c, b);
            s->mn[i] = sk_min(s->mn[i], l->mn[i]);
            s->mx[i] = sk_max(s->mx[i], l->mx[i]);
        }
        s->total[i] += tot;
        s->overflow += edge;
    }
    reset_extremes(l);
}

/* The buckets [*lo, *hi] between sketch i's extremes' (clipped to the
 * inner buckets), which with the two edge buckets hold every count it
 * has: the buckets are monotone, a value beyond the range or a NaN lands
 * in an edge bucket, and every other value lies between the extremes.
 * Returns 0 when it holds no value but NaNs (only the edges then). */
static int inner_range(const sk_set *s, size_t i, int32_t *lo, int32_t *hi)
{
    if (!(s->mn[i] <= s->mx[i]))
        return 0;
    *lo = sk_bucket(s->mn[i]);
    *hi = sk_bucket(s->mx[i]);
    *lo = *lo < 1 ? 1 : *lo;
    *hi = *hi > SK_NBUCKETS - 2 ? SK_NBUCKETS - 2 : *hi;
    return 1;
}

void sk_set_add(sk_set *d, const sk_set *s)
{
    /* only the buckets s can have counted: a conditioned run's thread set
     * is 55 MB on the baseline, nearly all of it never touched, and
     * reading it all (and writing all of d) cost more than its adds */
    for (size_t i = 0; i < d->n; i++) {
        const uint64_t *c = &s->count[i * SK_NBUCKETS];
        uint64_t *g = &d->count[i * SK_NBUCKETS];
        int32_t lo, hi;
        g[0] += c[0];
        g[SK_NBUCKETS - 1] += c[SK_NBUCKETS - 1];
        if (inner_range(s, i, &lo, &hi))
            for (int32_t b = lo; b <= hi; b++)
                g[b] += c[b];
    }
    for (size_t i = 0; i < d->n; i++) {
        d->total[i] += s->total[i];
        d->mn[i] = sk_min(d->mn[i], s->mn[i]);
        d->mx[i] = sk_max(d->mx[i], s->mx[i]);
    }
    d->overflow += s->overflow;
}

double sk_quantile(const sk_set *s, size_t i, double q)
{
    uint64_t n = s->total[i];
    if (n == 0)
        return NAN;
    /* rank floor(q (n-1)) with the product rounded to double, as numpy
     * and most tools compute it: 0.95 (stored as 0.94999...) times 2880
     * then gives 2736, not 2735. */
    double pos = q * (double)(n - 1);
    uint64_t rank = (uint64_t)floor(pos);
    if (rank > n - 1)
        rank = n - 1;
    const uint64_t *c = &s->count[i * SK_NBUCKETS];
    /* from the lower edge bucket straight to the minimum's: every bucket
     * between holds nothing (inner_range), and the scan from 0 was most
     * of a short run's fixed cost (16385 buckets, five times a sketch) */
    uint64_t cum = 0;
    int32_t lo, hi;
    if (!inner_range(s, i, &lo, &hi))
        lo = 1;
    for (int b = 0; b < SK_NBUCKETS; b = b ? b + 1 : lo) {
        cum += c[b];
        if (cum > rank) {
            double v = sk_value(b);
            v = v < s->mn[i] ? s->mn[i] : v;
            return v > s->mx[i] ? s->mx[i] : v;
        }
    }
    return NAN; /* unreachable: the counts sum to n */
}
