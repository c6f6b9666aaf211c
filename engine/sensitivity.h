/* sensitivity: first-order sensitivity indices and survival swings of the
 * drawn inputs, from the paths already run (prefix sn_).
 *
 * Why. A rank correlation (tornado.h) covers one year, is not a
 * probability, and credits an input that merely moves with a driver (an
 * input correlated 0.8 with price_decline shows as if it mattered itself).
 * This module gives, for every lab, year and input:
 *
 *  - the first-order index S_i = Var(E[Y | X_i]) / Var(Y) of
 *    Y = 1{the lab is alive at the end of year t}: the share of the
 *    variance of survival that knowing X_i alone removes. It is estimated
 *    from the sample as it is ("given data": no extra runs), by cutting X_i
 *    into M bins of equal probability (by rank) and taking the variance of
 *    the bin means, corrected for the part of it that the finite bins'
 *    noise alone makes (see sn_index_from_bins);
 *  - the swing: P(alive at t | X_i in its 85-95% band) - P(alive at t | X_i
 *    in its 5-15% band), in probability (1 = 100 points), the bands taken
 *    on X_i's ranks (weighted ranks in a conditioned run);
 *  - for every set of inputs the scenario correlates (the connected
 *    components of its nonzero correlations), the set's first-order index
 *    Var(E[Y | X_set]) / Var(Y), by joint binning over the set.
 *
 * With correlated inputs, S_i counts what X_i tells about Y through the
 * inputs it moves with, so the indices of a correlated set overlap and do
 * not add up; the set's own index is the figure to read (docs/reports.md).
 *
 * Every result depends on the data alone, never on the thread count: each
 * input's (and each set's) figures are summed by one thread, in path
 * order. No function here prints or exits; the caller owns every array.
 */
#ifndef RUNWAY_SENSITIVITY_H
#define RUNWAY_SENSITIVITY_H

#include <stddef.h>
#include <stdint.h>

#include "engine/scenario.h"

/* The bands of the swing, as fractions of X_i's ranks: "around the 10th
 * percentile" is [SN_BAND_LO0, SN_BAND_LO1), "around the 90th"
 * [SN_BAND_HI0, SN_BAND_HI1): 10% of the paths each. */
#define SN_BAND_LO0 0.05
#define SN_BAND_LO1 0.15
#define SN_BAND_HI0 0.85
#define SN_BAND_HI1 0.95

/* The most bins the estimator uses (reached at 2^18 paths). */
#define SN_MAX_BINS 64

/* The bin count for N paths: round(N^(1/3)), at least 2, at most
 * SN_MAX_BINS. Why N^(1/3): the binned estimate loses the variation of
 * E[Y|X] inside a bin, a bias that falls as 1/M^2 for a smooth E[Y|X],
 * while the noise in the bin means (each from N/M paths) grows as M/N;
 * the mean squared error of the two is smallest for M of order N^(1/3)
 * (Plischke 2010 and Strong & Oakley 2013 use bin counts of this order).
 * At 2^18 paths (the sample sim.c keeps) M = 64, 4096 paths a bin; at
 * 10^4, 22 bins of 455. */
size_t sn_bins(size_t N);

/* The bias-corrected first-order index from the per-bin sums of M bins:
 * W[m] = sum of the weights in bin m, Sy[m] = sum w y, Syy[m] = sum w y^2,
 * R[m] = sum w^2 (unweighted: W = R = the bin's count). With
 * SST = sum w (y - ybar)^2, SSB = sum_m W_m (ybar_m - ybar)^2 and
 * SSW = SST - SSB, the estimate is
 *     (SSB - dfb SSW / dfw) / SST,
 *     dfb = sum_m R_m/W_m - R/W,   dfw = W - sum_m R_m/W_m,
 * which unweighted is (SSB - (K-1) SSW/(N-K)) / SST over the K bins that
 * hold paths (Kelley's epsilon^2): SSW/dfw estimates the variance within
 * bins, and dfb times it is what SSB holds on average when Y does not
 * depend on X at all. The estimate is therefore about 0 (it may be a
 * little below) for an input with no effect, where the uncorrected ratio
 * would be (K-1)/N. NaN when Y is constant or no degree of freedom is
 * left (dfw <= 0). Empty bins (W[m] = 0) are skipped. */
double sn_index_from_bins(size_t M, const double *W, const double *Sy, const double *Syy,
                          const double *R);

/* The first-order index of a continuous output y (N values) with respect
 * to x (strided by xs doubles), unweighted, with sn_bins(N) bins by rank:
 * the same estimator as sn_survival, for any y. 0, or -1 out of memory. */
int sn_first_order(size_t N, const double *x, size_t xs, const double *y, double *S);

/* The correlated sets of a scenario's inputs: group[i] is the set of input
 * i, numbered 0.. in the order of each set's first input, so an input
 * that is correlated with nothing is a set of its own. Two inputs are in
 * one set when a chain of nonzero correlations links them (the copula's
 * matrix, rebuilt from its Cholesky factor: |rho| > 1e-12). *ngroups
 * receives the number of sets. group holds s->ninputs ints. */
void sn_groups(const sc_scenario *s, int *group, size_t *ngroups);

/* The name of set g: its inputs' names joined by '+', in input order
 * ("market.price_decline+market.serving_cost_decline"). malloc'd; NULL
 * when memory runs out. */
char *sn_group_name(const sc_scenario *s, const int *group, int g);

typedef struct {
    size_t N, I, L, T;         /* paths, inputs, labs, years */
    const double *inputs;      /* [N][I], or [I][N] with by_column */
    const int32_t *fail_year;  /* [N][L]: 0 alive at the horizon, else the year
                                  (1..T) the lab left; alive at the end of
                                  year t iff 0 or > t */
    const double *w;           /* [N] weights >= 0 (a conditioned run), or NULL */
    const int *group;          /* [I] sn_groups' */
    size_t G;                  /* number of sets */
    const uint8_t *codes;      /* [I][N] each input's bins and bands from its
                                  ranks (sn_codes_from_ranks), or NULL: the
                                  inputs are binned here. Unweighted only
                                  (ignored when w is not NULL). */
    int plain_sums;            /* 1: weights summed as doubles path by path
                                  even where they could be summed as
                                  integers (the same bits: tests compare
                                  the two); 0 normally */
    int by_column;             /* 1: inputs is [I][N], input i's column at
                                  inputs + i N (a run's sample); 0: [N][I] */
} sn_data;

/* Input i's bins and bands, as sn_survival makes them for an unweighted
 * run, from its centred ranks (tornado.h's tn_ranks_fn gives them):
 * codes[p] = bin | band << 6, the bin of path p among sn_bins(N) (at most
 * SN_MAX_BINS = 64) and its band (0 none, 1 low, 2 high). With them
 * (sn_data.codes), the inputs are ranked once for both the rank
 * correlations and the indices; the results are the same, bit for bit.
 * table: sn_code_table(N)'s, the code of every rank (2 N + 1 bytes, by
 * twice the rank, which is a whole number: ranks are whole or halves),
 * made once for all inputs. */
void sn_code_table(size_t N, uint8_t *table);
void sn_codes_from_ranks(size_t N, const uint8_t *table, const double *centred,
                         uint8_t *codes);

/* For every lab l, year t (0-based, year t+1) and input i:
 * index[(l T + t) I + i] (first-order index), swing[(l T + t) I + i]
 * (in probability; NaN when a band holds no weight) and, for every set g,
 * gindex[(l T + t) G + g] (a set of one input: that input's index; a
 * larger set of k inputs: joint binning on m bins of each input's ranks,
 * m^k cells of about 512 paths each (sensitivity.c, set_bins). Its
 * limits: m is coarser than one input's bins (4 per input for a set of
 * four at 2^18 paths, 2 at 10^4 paths), so an effect that varies within a
 * bin is partly missed and the set's index is biased low, more so for
 * larger sets and fewer paths; a set of more than 12 inputs is not binned
 * at all (NaN). Returns 0; -1 when scratch
 * memory cannot be had; -2 when a fail year lies outside 0..T (the
 * outputs are then incomplete). threads: OpenMP threads to use. */
int sn_survival(const sn_data *d, int threads, double *index, double *swing, double *gindex);

#endif
