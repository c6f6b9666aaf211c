/* stats: see stats.h. */
#include "engine/stats.h"

#include <math.h>
#include <stdlib.h>

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

/* qsort has no context pointer in C11; a merge sort of indices keeps the
 * sort stable and free of globals (the function runs on many threads). */
static void sort_idx(size_t n, const double *x, size_t xs, size_t *idx,
                     size_t *tmp)
{
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = x[idx[j] * xs] < x[idx[i] * xs] ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[k++] = idx[i++];
            while (j < hi)
                tmp[k++] = idx[j++];
        }
        for (size_t k = 0; k < n; k++)
            idx[k] = tmp[k];
    }
}

void st_ranks(size_t n, const double *x, size_t xs, double *r, size_t *idx)
{
    size_t *tmp = idx + n;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    sort_idx(n, x, xs, idx, tmp);
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && x[idx[j] * xs] == x[idx[i] * xs])
            j++;
        double avg = 0.5 * (double)(i + 1 + j); /* mean of ranks i+1..j */
        for (size_t k = i; k < j; k++)
            r[idx[k]] = avg;
        i = j;
    }
}

double st_spearman(size_t n, const double *x, size_t xs, const double *y,
                   size_t ys, double *work, size_t *idx)
{
    if (n < 2)
        return NAN;
    double *rx = work, *ry = work + n;
    st_ranks(n, x, xs, rx, idx);
    st_ranks(n, y, ys, ry, idx);
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
