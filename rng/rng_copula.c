/* rng_copula: the Gaussian copula of MODEL.md section 4. See rng_copula.h. */
#include "rng/rng_copula.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>


struct rc_copula {
    size_t n;
    double *L; /* n x n row-major, lower triangle: the Cholesky factor */
};

double rc_spearman_to_pearson(double rho_s)
{
    /* Pearson (1907): for a bivariate normal, rho_s = (6/pi) asin(r/2). */
    return 2.0 * sin(3.14159265358979323846 * rho_s / 6.0);
}

#define FAIL(...) do { \
        if (err && errlen) snprintf(err, errlen, __VA_ARGS__); \
        return -1; \
    } while (0)

static int check_matrix(size_t n, const double *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            double v = s[i * n + j];
            if (!isfinite(v) || v < -1.0 || v > 1.0)
                FAIL("correlation %g (row %zu, column %zu) must be in [-1, 1]",
                     v, i + 1, j + 1);
            if (i == j && v != 1.0)
                FAIL("correlation matrix must have 1 on its diagonal");
            if (v != s[j * n + i])
                FAIL("correlation matrix is not symmetric");
        }
    }
    return 0;
}

int rc_create(rc_copula **out, size_t n, const double *spearman,
              char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (n == 0 || spearman == NULL)
        FAIL("correlation matrix is empty");
    if (check_matrix(n, spearman, err, errlen))
        return -1;

    gsl_matrix *m = gsl_matrix_alloc(n, n);
    if (m == NULL)
        FAIL("out of memory");
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            gsl_matrix_set(m, i, j, i == j ? 1.0 : rc_spearman_to_pearson(spearman[i * n + j]));

    /* GSL reports a matrix that is not positive definite through its
     * error handler, whose default aborts: turn it off for this call only
     * and read the status instead. (rc_create runs at setup, before any
     * threads use GSL.) */
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int status = gsl_linalg_cholesky_decomp1(m);
    gsl_set_error_handler(old);
    if (status != GSL_SUCCESS) {
        gsl_matrix_free(m);
        FAIL("correlation matrix is not positive definite");
    }

    rc_copula *c = malloc(sizeof *c);
    double *L = calloc(n * n, sizeof *L);
    if (c == NULL || L == NULL) {
        free(c);
        free(L);
        gsl_matrix_free(m);
        FAIL("out of memory");
    }
    /* decomp1 leaves L in the lower triangle and L^T above it. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++)
            L[i * n + j] = gsl_matrix_get(m, i, j);
    gsl_matrix_free(m);
    c->n = n;
    c->L = L;
    *out = c;
    return 0;
}

void rc_free(rc_copula *c)
{
    if (c == NULL)
        return;
    free(c->L);
    free(c);
}

size_t rc_dim(const rc_copula *c) { return c->n; }

const double *rc_factor(const rc_copula *c) { return c->L; }

void rc_apply(const rc_copula *c, const double *z, double *u_out)
{
    const size_t n = c->n;
    /* Row i of L z reads z[0..i] only, so going from the last row up lets
     * u_out overwrite z in place: z[i] is last read by row i. */
    for (size_t k = n; k-- > 0;) {
        const double *row = c->L + k * n;
        double y = 0.0;
        for (size_t j = 0; j <= k; j++)
            y += row[j] * z[j];
        u_out[k] = rc_uniform(y);
    }
}
