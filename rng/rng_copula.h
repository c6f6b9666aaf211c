/* rng_copula: the Gaussian copula of MODEL.md section 4 (prefix rc_).
 *
 * Contract. An analyst gives rank (Spearman) correlations rho_s. The
 * normals are correlated with r = 2 sin(pi rho_s / 6) (the exact relation
 * for a bivariate normal) through the Cholesky factor of that matrix (GSL),
 * then mapped to uniforms with the normal CDF (rm_ncdf); each marginal's inverse CDF
 * then gives the value, so every marginal is kept and the rank correlation
 * is rho_s.
 */
#ifndef RUNWAY_RNG_COPULA_H
#define RUNWAY_RNG_COPULA_H

#include <stddef.h>

#include "rng/rng_math.h"

typedef struct rc_copula rc_copula; /* opaque */

/* The Pearson correlation of the normals for a rank correlation rho_s. */
double rc_spearman_to_pearson(double rho_s);

/* Builds a copula of dimension n from an n x n row-major matrix of rank
 * correlations (symmetric, unit diagonal, entries in [-1, 1]).
 * Returns 0 and *out (owned by the caller, free with rc_free), or -1 with
 * err set ("correlation matrix is not positive definite") and *out NULL. */
int rc_create(rc_copula **out, size_t n, const double *spearman,
              char *err, size_t errlen);
void rc_free(rc_copula *c);
size_t rc_dim(const rc_copula *c);

/* z: n independent standard normals. u_out: n uniforms in (0,1) whose
 * normal scores are correlated as requested. z and u_out may alias.
 * Row k of the factor times z, summed from the first term, then
 * rc_uniform: a vectorised caller that does the same gets the same bits. */
void rc_apply(const rc_copula *c, const double *z, double *u_out);

/* The Cholesky factor, n x n row-major (lower triangle). */
const double *rc_factor(const rc_copula *c);

/* rc_apply's bounds on u: never exactly 0 or 1, so every marginal's
 * inverse CDF stays finite. 1 - 2^-53 is the largest double below 1;
 * 2^-60 keeps the lower tail a little beyond rs_u01's 2^-53. */
#define RC_U_MIN 0x1p-60
#define RC_U_MAX (1.0 - 0x1p-53)

/* A correlated normal score to its uniform: Phi (rm_ncdf, the same bits on
 * every machine) clamped into [RC_U_MIN, RC_U_MAX]; NaN gives RC_U_MIN. */
static inline double rc_uniform(double y)
{
    double u = rm_ncdf(y);
    u = u >= RC_U_MIN ? u : RC_U_MIN; /* also catches a NaN */
    return u > RC_U_MAX ? RC_U_MAX : u;
}

#endif
