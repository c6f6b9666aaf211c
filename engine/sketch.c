/* sketch: see sketch.h. */
#include "engine/sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static void reset_ranges(sk_local *s)
{
    for (size_t i = 0; i < s->n; i++) {
        s->lo[i] = SK_NBUCKETS;
        s->hi[i] = -1;
        s->mn[i] = INFINITY;
        s->mx[i] = -INFINITY;
    }
}

int sk_local_init(sk_local *s, size_t n)
{
    s->n = n;
    s->overflow = 0;
    /* calloc of a large block maps zero pages lazily: untouched buckets
     * cost no memory */
    s->count = calloc(n * SK_NBUCKETS, sizeof *s->count);
    s->lo = malloc((n ? n : 1) * sizeof *s->lo);
    s->hi = malloc((n ? n : 1) * sizeof *s->hi);
    s->mn = malloc((n ? n : 1) * sizeof *s->mn);
    s->mx = malloc((n ? n : 1) * sizeof *s->mx);
    if (!s->count || !s->lo || !s->hi || !s->mn || !s->mx) {
        sk_local_free(s);
        return -1;
    }
    reset_ranges(s);
    return 0;
}

void sk_local_free(sk_local *s)
{
    free(s->count);
    free(s->lo);
    free(s->hi);
    free(s->mn);
    free(s->mx);
    s->count = NULL;
    s->lo = s->hi = NULL;
    s->mn = s->mx = NULL;
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

void sk_merge(sk_set *s, sk_local *l)
{
    for (size_t i = 0; i < s->n; i++) {
        uint64_t tot = 0;
        uint16_t *c = &l->count[i * SK_NBUCKETS];
        uint64_t *g = &s->count[i * SK_NBUCKETS];
        for (int32_t b = l->lo[i]; b <= l->hi[i]; b++) {
            tot += c[b];
            g[b] += c[b];
            c[b] = 0;
        }
        s->total[i] += tot;
        s->mn[i] = l->mn[i] < s->mn[i] ? l->mn[i] : s->mn[i];
        s->mx[i] = l->mx[i] > s->mx[i] ? l->mx[i] : s->mx[i];
    }
    reset_ranges(l);
    s->overflow += l->overflow;
    l->overflow = 0;
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
    uint64_t cum = 0;
    for (int b = 0; b < SK_NBUCKETS; b++) {
        cum += c[b];
        if (cum > rank) {
            double v = sk_value(b);
            v = v < s->mn[i] ? s->mn[i] : v;
            return v > s->mx[i] ? s->mx[i] : v;
        }
    }
    return NAN; /* unreachable: the counts sum to n */
}
