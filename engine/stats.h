/* stats: the small statistics the summaries need (prefix st_). */
#ifndef RUNWAY_STATS_H
#define RUNWAY_STATS_H

#include <stddef.h>
#include <stdint.h>

/* 95% two-sided normal quantile used by the Wilson interval. */
#define ST_Z975 1.959963984540054

/* Wilson score interval for k successes out of n (n > 0), at 95%.
 * Unlike the Wald interval it stays inside [0, 1] and is sensible at
 * p = 0 or 1, which survival probabilities often are. */
void st_wilson(uint64_t k, uint64_t n, double *lo, double *hi);

/* The same for an estimate p from an effective sample size n (> 0), as
 * a weighted (conditioned) run has: n = (sum w)^2 / sum w^2. */
void st_wilson_p(double p, double n, double *lo, double *hi);

/* Spearman rank correlation of x and y (n values each, strided by xs and
 * ys doubles), with ties given their average rank. NaN when either side is
 * constant or n < 2. work must hold 2 n doubles and idx 2 n size_t. The
 * result depends only on the values, never on thread count. */
double st_spearman(size_t n, const double *x, size_t xs, const double *y,
                   size_t ys, double *work, size_t *idx);

/* Average ranks (1-based) of x[i*xs] into r, ties averaged; idx holds
 * 2 n size_t of scratch. Radix sort: O(n) but for long runs of values
 * equal in their top 32 key bits yet not all equal. Returns 0, or -1 when
 * n >= 2^32 or out of memory (r is then unset). x may be r (in place). */
int st_ranks(size_t n, const double *x, size_t xs, double *r, size_t *idx);

/* Sorts v[0..n-1] (no NaN) ascending, stably, with -0.0 and +0.0 equal:
 * the order qsort with a (x > y) - (x < y) comparison gives when it is
 * stable, as glibc's merge sort is. A radix sort on the double's bits
 * (st_ranks's: two passes on the top 21 bits of the keys' distances from
 * the smallest and an insertion sort to their top 32, or three passes
 * where that would move too many, then the rare runs of tied top halves by
 * their low bits): a backtest sorts every path's value of every observed
 * figure. tmp holds n doubles. */
void st_sort_doubles(size_t n, double *v, double *tmp);

/* Weighted mid-ranks of x[i*xs], for a weighted Spearman correlation (a
 * weighted Pearson correlation of these) and the weighted bins of the
 * sensitivity indices: with weights w >= 0, out[i] = the weight of the
 * values below value i plus half the weight of its ties (equal values,
 * -0.0 and +0.0 alike), each tie group's weight summed in index order and
 * the groups in ascending order. scratch: 2 n size_t. x may be out (in
 * place, xs = 1). Returns 0, or -1 when n >= 2^32 or out of memory. */
int st_weighted_ranks(size_t n, const double *x, size_t xs, const double *w, double *out,
                      size_t *scratch);

#endif
