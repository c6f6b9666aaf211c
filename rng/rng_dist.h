/* rng_dist: the distributions of MODEL.md section 4 (prefix rd_).
 *
 * Contract. A value is drawn by inverse CDF: x = F^-1(u) for u in (0,1):
 * rng_math.h's rm_ndtri (normal, lognormal), closed forms (uniform,
 * triangular), or rng_special.h's inverse incomplete beta and gamma (beta,
 * PERT, gamma: a safeguarded Halley solve on incomplete functions written
 * on rm_exp and rm_log). None of these calls libm's exp, log, pow or
 * lgamma or GSL, so rd_quantile and rd_cdf give the same bits on every
 * CPU and libm for every family (contraction into FMA is off in the
 * build); only rd_lognormal_p5p95 still derives mu and sigma with libm's
 * log (kept so that lognormal results stay as they were). Beta, PERT and gamma quantiles are within a few 1e-14 relative
 * of the exact ones (and of GSL's) for shapes 0.3 .. 100 and tail
 * probabilities down to 1e-10; farther out and for other shapes see
 * rng_special.h. Safe to call from many threads at once. Truncation to
 * [tmin, tmax] is exact: u is mapped onto [F(tmin), F(tmax)] first.
 * A dist is a plain value type; nothing here allocates.
 *
 * Parameters by family (fields a, b, c):
 *   RD_CONST       a = value
 *   RD_NORMAL      a = mean, b = sd (> 0)
 *   RD_LOGNORMAL   a = mu, b = sigma (> 0) of ln x
 *   RD_UNIFORM     a = min, b = max (min < max)
 *   RD_TRIANGULAR  a = min, b = mode, c = max (min <= mode <= max, min < max)
 *   RD_PERT        a = min, b = mode, c = max; a beta on [min, max] with
 *                  alpha = 1 + 4 (mode-min)/(max-min), beta = 1 + 4 (max-mode)/(max-min)
 *   RD_BETA        a = alpha, b = beta (each in (0, 1e5]), support scaled to [lo, hi]
 *                  (default [0, 1]; lo < hi)
 *   RD_GAMMA       a = shape (in (0, 1e5]: the cost of a quantile grows
 *                  like sqrt(shape)), b = scale (> 0)
 * tmin/tmax: truncation bounds, -INFINITY/+INFINITY when absent.
 * per_year: redraw every year (only some market inputs may; the scenario
 * module enforces which).
 */
#ifndef RUNWAY_RNG_DIST_H
#define RUNWAY_RNG_DIST_H

#include <stddef.h>

typedef enum {
    RD_CONST = 0,
    RD_NORMAL,
    RD_LOGNORMAL,
    RD_UNIFORM,
    RD_TRIANGULAR,
    RD_PERT,
    RD_BETA,
    RD_GAMMA
} rd_family;

typedef struct {
    rd_family family;
    double a, b, c;
    double lo, hi;     /* RD_BETA support; ignored otherwise */
    double tmin, tmax; /* truncation; +-INFINITY when none */
    double Fmin, Fmax; /* set by rd_prepare: F(tmin), F(tmax) */
    int per_year;
} rd_dist;

/* z such that P(Z <= z) = 0.95 for a standard normal. */
#define RD_Z95 1.6448536269514727

/* Constructors. They only fill fields; call rd_prepare before use. */
rd_dist rd_const(double v);
rd_dist rd_normal(double mean, double sd);
rd_dist rd_normal_p5p95(double p5, double p95);
rd_dist rd_lognormal(double mu, double sigma);
rd_dist rd_lognormal_p5p95(double p5, double p95); /* also "a to b" */
rd_dist rd_uniform(double min, double max);
rd_dist rd_triangular(double min, double mode, double max);
rd_dist rd_pert(double min, double mode, double max);
rd_dist rd_beta(double alpha, double beta, double lo, double hi);
rd_dist rd_gamma(double shape, double scale);

/* Checks that the parameters define a proper distribution (all finite,
 * the family's constraints above, and tmin < tmax with positive
 * probability between them) and sets Fmin/Fmax. Returns 0, or -1 with a
 * short rule in err (e.g. "sd must be > 0", "truncation [5, 6] has
 * probability 0"). */
int rd_prepare(rd_dist *d, char *err, size_t errlen);

/* 1 when the dist is a constant (no random numbers are used for it). */
int rd_is_const(const rd_dist *d);

/* Inverse CDF of the (truncated) distribution at u in (0,1). For RD_CONST,
 * the value. The result always lies inside the truncation bounds. */
double rd_quantile(const rd_dist *d, double u);

/* CDF of the (truncated) distribution. */
double rd_cdf(const rd_dist *d, double x);

/* Closed-form mean of the untruncated distribution (tests use it). */
double rd_mean_untruncated(const rd_dist *d);

/* Support [lo, hi] after truncation (may be infinite). */
void rd_support(const rd_dist *d, double *lo, double *hi);

/* Family name as written in a scenario ("normal", ...; "constant"). */
const char *rd_family_name(rd_family f);

#endif
