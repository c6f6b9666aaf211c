/* stats: see stats.h. */
#include "engine/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void st_wilson(uint64_t k, uint64_t n, double *lo, double *hi)
{
    double z = ST_Z975, nn = (double)n, p = (double)k / nn;
    double den = 1.0 + z * z / nn;
    double centre = (p + z * z / (2.0 * nn)) / den;
    double half = z * sqrt(p * (1.0 - p) / nn + z * z / (4.0 * nn * nn)) / den;
    *lo = centre - half;
    *hi = centre + half;
    /* Rounding can push a bound a hair past the estimate at p = 0 or 1. */
    if (*lo > p)
        *lo = p;
    if (*hi < p)
        *hi = p;
    if (*lo < 0.0)
        *lo = 0.0;
    if (*hi > 1.0)
        *hi = 1.0;
}

/* A double's bits as an unsigned key with the same order (negatives
 * flipped entirely, positives with the sign bit set); -0.0 is made +0.0
 * first so that the two zeros tie, as they compare equal. */
static uint64_t order_key(double x)
{
    uint64_t b;
    if (x == 0.0)
        x = 0.0;
    memcpy(&b, &x, sizeof b);
    return (b >> 63) ? ~b : b | 0x8000000000000000ull;
}

/* Stable LSD radix sort of indices by key, 11 bits a pass (a count
 * table that stays in L1); a pass whose
 * digit is the same for every value is skipped (a binary column such as
 * survival needs one). O(n), no comparisons, no globals. On return key and
 * idx hold the sorted order. */
#define RADIX 11
#define MASK ((1u << RADIX) - 1)

static void radix_idx(size_t n, uint64_t *key, uint64_t *ktmp, size_t *idx,
                      size_t *itmp)
{
    uint64_t *k0 = key;
    size_t *i0 = idx;
    size_t count[1u << RADIX];
    for (int shift = 0; shift < 64; shift += RADIX) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(key[i] >> shift) & MASK]++;
        if (count[(key[0] >> shift) & MASK] == n)
            continue;
        size_t sum = 0;
        for (size_t d = 0; d < (1u << RADIX); d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t at = count[(key[i] >> shift) & MASK]++;
            ktmp[at] = key[i];
            itmp[at] = idx[i];
        }
        uint64_t *kt = key; key = ktmp; ktmp = kt;
        size_t *it = idx; idx = itmp; itmp = it;
    }
    if (key != k0) {
        memcpy(k0, key, n * sizeof *key);
        memcpy(i0, idx, n * sizeof *idx);
    }
}

int st_ranks(size_t n, const double *x, size_t xs, double *r, size_t *idx)
{
    uint64_t *key = malloc(2 * n * sizeof *key);
    if (!key)
        return -1;
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
        key[i] = order_key(x[i * xs]);
    }
    radix_idx(n, key, key + n, idx, idx + n);
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && key[j] == key[i])
            j++;
        double avg = 0.5 * (double)(i + 1 + j); /* mean of ranks i+1..j */
        for (size_t k = i; k < j; k++)
            r[idx[k]] = avg;
        i = j;
    }
    free(key);
    return 0;
}

double st_spearman(size_t n, const double *x, size_t xs, const double *y,
                   size_t ys, double *work, size_t *idx)
{
    if (n < 2)
        return NAN;
    double *rx = work, *ry = work + n;
    if (st_ranks(n, x, xs, rx, idx) != 0 || st_ranks(n, y, ys, ry, idx) != 0)
        return NAN;
    double mean = 0.5 * (double)(n + 1), sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double a = rx[i] - mean, b = ry[i] - mean;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if (sxx == 0.0 || syy == 0.0)
        return NAN;
    return sxy / sqrt(sxx * syy);
}
