/* tornado: rank correlations of the drawn inputs with each lab's survival
 * and final cash (MODEL.md section 5, the result file's
 * sensitivity_survival and sensitivity_cash) (prefix tn_).
 *
 * Contract. Over N paths, with inputs [I][N] (input i's column at
 * inputs + i N, as a run's sample holds them), surv [N][L] (1 survived to
 * the horizon, 0 not) and fcash [N][L] (final cash), both functions write
 * the Spearman correlation of input i with lab l's survival to
 * rho_surv[l * I + i] and with its final cash to rho_cash[l * I + i];
 * NaN where either column is constant (everyone survives). The bits
 * depend on the data alone, never on the thread count (threads: OpenMP
 * threads to use). Nothing is written when I or N is 0. The caller owns
 * every array; the functions allocate only scratch space, and return 0,
 * or -1 when it cannot be had (the outputs are then incomplete).
 */
#ifndef RUNWAY_TORNADO_H
#define RUNWAY_TORNADO_H

#include <stddef.h>

/* An input's ranks as tn_spearman computes them: centred[p] = the
 * mid-rank of path p's value (1..N, ties averaged: st_ranks) less
 * (N + 1) / 2, which is exact, so adding (N + 1) / 2 back gives the rank
 * itself. Called once per input i, from the thread that ranked it, while
 * other threads rank other inputs: fn must write only what belongs to i. */
typedef void (*tn_ranks_fn)(void *ctx, size_t i, const double *centred, size_t N);

/* fn, when not NULL, receives each input's ranks as soon as they are
 * made, so that another estimate on the same ranks (the sensitivity
 * indices' bins: sn_codes_from_ranks) need not sort the inputs again; the
 * correlations do not depend on it. */
int tn_spearman(size_t N, size_t I, size_t L, const double *inputs, const double *surv,
                const double *fcash, int threads, double *rho_surv, double *rho_cash,
                tn_ranks_fn fn, void *ctx);

/* The same for a conditioned run: path p weighs w[p] (>= 0), and each
 * correlation is the weighted Pearson correlation of the weighted ranks
 * (st_weighted_ranks). Paths of weight 0 count for nothing (they are
 * left out: the same bits as summing their zeros); a correlation is NaN
 * where either column takes one value over the paths with weight, or no
 * path has any. */
int tn_spearman_w(size_t N, size_t I, size_t L, const double *inputs, const double *surv,
                  const double *fcash, const double *w, int threads, double *rho_surv,
                  double *rho_cash);

#endif
