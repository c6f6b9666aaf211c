/* rng_copula: the Gaussian copula of MODEL.md section 4 (prefix rc_).
 *
 * Contract. An analyst gives rank (Spearman) correlations rho_s. The
 * normals are correlated with r = 2 sin(pi rho_s / 6) (the exact relation
 * for a bivariate normal) through the Cholesky factor of that matrix (GSL),
 * then mapped to uniforms with the normal CDF; each marginal's inverse CDF
 * then gives the value, so every marginal is kept and the rank correlation
 * is rho_s.
 */
#ifndef RUNWAY_RNG_COPULA_H
#define RUNWAY_RNG_COPULA_H

#include <stddef.h>

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
 * normal scores are correlated as requested. z and u_out may alias. */
void rc_apply(const rc_copula *c, const double *z, double *u_out);

#endif
