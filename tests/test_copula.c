/* test_copula: rc_* gives the rank correlations asked for and keeps every
 * marginal.
 *
 * Three inputs, lognormal "2 to 50", uniform [0, 10] and gamma(2.5, 1.5),
 * with rank correlations 0.8, -0.5 and -0.3, drawn for n = 100000 paths
 * as the engine does: one rs_normal per input and path, rc_apply, then each
 * marginal's rd_quantile. Checks:
 *  - sample Spearman correlations within 4 standard errors of the target.
 *    SE from Bonett and Wright (2000, Psychometrika 65, 23-28): Fisher's
 *    z = atanh(r_s) has variance (1 + rho_s^2 / 2) / (n - 3). (The null
 *    bound 1 / sqrt(n - 1) would be too loose to tell rho_s from the
 *    Pearson r = 2 sin(pi rho_s / 6) it is converted to.)
 *  - the Pearson correlation of the normal scores Phi^-1(u) equals
 *    2 sin(pi rho_s / 6) within 4 SE, SE = (1 - r^2) / sqrt(n - 1), the
 *    asymptotic SE of a bivariate normal's sample correlation;
 *  - each marginal is kept: the share of draws below its 10th, 50th and
 *    90th percentiles is p within 4 sqrt(p (1 - p) / n), and the mean is
 *    within 4 sd / sqrt(n) of the closed form;
 *  - results do not depend on threads: the draws are made by two POSIX
 *    threads sharing one const copula (plain threads rather than OpenMP
 *    so that ThreadSanitizer sees every synchronisation), then redrawn
 *    serially, in place (rc_apply with z and u_out aliased), bit for bit;
 *  - matrices that are not positive definite, not symmetric, without a
 *    unit diagonal or with entries outside [-1, 1] are rejected. */
#include "rng/rng_copula.h"
#include "rng/rng_dist.h"
#include "rng/rng_stream.h"
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>

#define N 100000
#define DIM 3
#define NTHREADS 2
#define BLOCK 1000

static int gsl_errors = 0;
static void count_gsl_error(const char *reason, const char *file, int line, int gsl_errno)
{
    (void)reason; (void)file; (void)line; (void)gsl_errno;
    gsl_errors++;
}

/* ---- ranks ------------------------------------------------------------- */

static const double *sort_key;
static int by_key(const void *a, const void *b)
{
    double x = sort_key[*(const int *)a], y = sort_key[*(const int *)b];
    return (x > y) - (x < y);
}

/* Ranks 1..n (continuous marginals: ties have probability 0, and a tie
 * would only nudge the estimate, not break it). */
static void ranks(const double *x, double *r, int *idx, int n)
{
    for (int i = 0; i < n; i++)
        idx[i] = i;
    sort_key = x;
    qsort(idx, (size_t)n, sizeof *idx, by_key);
    for (int i = 0; i < n; i++)
        r[idx[i]] = i + 1;
}

static double pearson(const double *x, const double *y, int n)
{
    double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= n;
    my /= n;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    return sxy / sqrt(sxx * syy);
}

/* ---- draws ------------------------------------------------------------- */

static void draw_path(const rc_copula *c, const rs_key *keys, const rd_dist *d,
                      uint64_t path, double *x, double *u)
{
    double z[DIM];
    for (int j = 0; j < DIM; j++)
        z[j] = rs_normal(keys[j], path, 0, 0);
    rc_apply(c, z, u);
    for (int j = 0; j < DIM; j++)
        x[j] = rd_quantile(&d[j], u[j]);
}

typedef struct {
    const rc_copula *c;
    const rs_key *keys;
    const rd_dist *d;
    double *x, *u; /* columns: x[j * N + i] */
    int t;
} worker;

/* Thread t takes blocks t, t + NTHREADS, ...: each path's numbers come
 * from its own counter, so the split cannot matter. */
static void *work(void *arg)
{
    worker *w = arg;
    for (int b = w->t * BLOCK; b < N; b += NTHREADS * BLOCK) {
        for (int i = b; i < b + BLOCK && i < N; i++) {
            double xi[DIM], ui[DIM];
            draw_path(w->c, w->keys, w->d, (uint64_t)i, xi, ui);
            for (int j = 0; j < DIM; j++) {
                w->x[j * N + i] = xi[j];
                w->u[j * N + i] = ui[j];
            }
        }
    }
    return NULL;
}

static void test_correlations(void)
{
    char err[200];
    const double rho[DIM][DIM] = {{1, 0.8, -0.5}, {0.8, 1, -0.3}, {-0.5, -0.3, 1}};
    rc_copula *c = NULL;
    ASSERT_EQ_INT(rc_create(&c, DIM, &rho[0][0], err, sizeof err), 0);
    if (c == NULL) {
        TU_FAIL_("rc_create: %s", err);
        return;
    }
    ASSERT_EQ_INT((int)rc_dim(c), DIM);

    rd_dist d[DIM] = {rd_lognormal_p5p95(2, 50), rd_uniform(0, 10), rd_gamma(2.5, 1.5)};
    for (int j = 0; j < DIM; j++)
        ASSERT_EQ_INT(rd_prepare(&d[j], err, sizeof err), 0);
    /* Keyed by name, as the engine keys inputs. */
    const char *names[DIM] = {"market.a", "market.b", "market.c"};
    rs_key keys[DIM];
    for (int j = 0; j < DIM; j++)
        keys[j] = rs_key_make(7, rs_stream_id("input", names[j]));

    double *x = malloc(sizeof(double) * N * DIM), *u = malloc(sizeof(double) * N * DIM);
    double *r = malloc(sizeof(double) * N * DIM), *s = malloc(sizeof(double) * N * DIM);
    int *idx = malloc(sizeof(int) * N);
    if (!x || !u || !r || !s || !idx) {
        TU_FAIL_("out of memory");
        return;
    }
    pthread_t th[NTHREADS];
    worker w[NTHREADS];
    int started[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        w[t] = (worker){c, keys, d, x, u, t};
        started[t] = pthread_create(&th[t], NULL, work, &w[t]) == 0;
        if (!started[t]) /* no threads here: the split is still made */
            work(&w[t]);
    }
    for (int t = 0; t < NTHREADS; t++)
        if (started[t])
            pthread_join(th[t], NULL);
    /* Serial redraw: same bits, so a path's numbers are a function of its
     * index only. Also in place (z and u_out aliased). */
    int differ = 0;
    for (int i = 0; i < N; i++) {
        double buf[DIM];
        for (int j = 0; j < DIM; j++)
            buf[j] = rs_normal(keys[j], (uint64_t)i, 0, 0);
        rc_apply(c, buf, buf);
        for (int j = 0; j < DIM; j++)
            differ += buf[j] != u[j * N + i] || rd_quantile(&d[j], buf[j]) != x[j * N + i];
    }
    ASSERT_EQ_INT(differ, 0);

    for (int j = 0; j < DIM; j++) {
        ranks(x + (size_t)j * N, r + (size_t)j * N, idx, N);
        for (int i = 0; i < N; i++)
            s[j * N + i] = gsl_cdf_ugaussian_Pinv(u[j * N + i]);
    }
    for (int a = 0; a < DIM; a++) {
        for (int b = a + 1; b < DIM; b++) {
            double rs = pearson(r + (size_t)a * N, r + (size_t)b * N, N);
            double want = rho[a][b];
            double sez = sqrt((1 + want * want / 2) / (N - 3));
            double zs = (atanh(rs) - atanh(want)) / sez;
            if (!(fabs(zs) <= 4))
                TU_FAIL_("Spearman (%d, %d): %.5f vs %.5f, %.2f SE", a, b, rs, want, zs);
            double rp = pearson(s + (size_t)a * N, s + (size_t)b * N, N);
            double wantp = rc_spearman_to_pearson(want);
            double zp = (rp - wantp) / ((1 - wantp * wantp) / sqrt(N - 1.0));
            if (!(fabs(zp) <= 4))
                TU_FAIL_("normal-score Pearson (%d, %d): %.5f vs %.5f, %.2f SE", a, b, rp, wantp, zp);
        }
    }

    /* Marginals kept. sd: lognormal e^(mu + s^2/2) sqrt(e^(s^2) - 1);
     * uniform 10 / sqrt(12); gamma sqrt(k) th. */
    double s_ln = (log(50.0) - log(2.0)) / (2 * RD_Z95);
    double m_ln = exp(log(10.0) + s_ln * s_ln / 2);
    const double mean[DIM] = {m_ln, 5, 3.75};
    const double sd[DIM] = {m_ln * sqrt(expm1(s_ln * s_ln)), 10 / sqrt(12.0), sqrt(2.5) * 1.5};
    const double ps[] = {0.1, 0.5, 0.9};
    for (int j = 0; j < DIM; j++) {
        double sum = 0;
        for (int i = 0; i < N; i++)
            sum += x[j * N + i];
        double zm = (sum / N - mean[j]) / (sd[j] / sqrt((double)N));
        if (!(fabs(zm) <= 4))
            TU_FAIL_("marginal %d mean %.6g vs %.6g, %.2f SE", j, sum / N, mean[j], zm);
        for (int k = 0; k < 3; k++) {
            double q = rd_quantile(&d[j], ps[k]);
            int below = 0;
            for (int i = 0; i < N; i++)
                below += x[j * N + i] <= q;
            double share = (double)below / N;
            double zq = (share - ps[k]) / sqrt(ps[k] * (1 - ps[k]) / N);
            if (!(fabs(zq) <= 4))
                TU_FAIL_("marginal %d: %.5f of draws below its %g quantile, %.2f SE",
                         j, share, ps[k], zq);
        }
    }
    free(x);
    free(u);
    free(r);
    free(s);
    free(idx);
    rc_free(c);
}

static void test_apply(void)
{
    char err[200];
    const double id[DIM * DIM] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    rc_copula *c;
    ASSERT_EQ_INT(rc_create(&c, DIM, id, err, sizeof err), 0);
    /* Identity: u = Phi(z) exactly, clamped inside (0, 1) in the tails. */
    double z[DIM] = {0.3, -40, 40}, u[DIM];
    rc_apply(c, z, u);
    ASSERT_SAME(u[0], gsl_cdf_ugaussian_P(0.3));
    ASSERT_SAME(u[1], 0x1p-60);
    ASSERT_SAME(u[2], 1 - 0x1p-53);
    rc_free(c);

    /* Two dimensions, by hand: y2 = r z1 + sqrt(1 - r^2) z2. */
    const double m2[4] = {1, 0.5, 0.5, 1};
    ASSERT_EQ_INT(rc_create(&c, 2, m2, err, sizeof err), 0);
    double r = rc_spearman_to_pearson(0.5);
    double z2[2] = {0.7, -1.1}, u2[2];
    rc_apply(c, z2, u2);
    ASSERT_NEAR(u2[0], gsl_cdf_ugaussian_P(0.7), 1e-15);
    ASSERT_NEAR(u2[1], gsl_cdf_ugaussian_P(r * 0.7 - sqrt(1 - r * r) * 1.1), 1e-15);
    rc_free(c);
    rc_free(NULL);

    /* 2 sin(pi rho / 6) at rho = 1/2 is 2 sin(pi/12) = (sqrt 6 - sqrt 2)/2. */
    ASSERT_NEAR(rc_spearman_to_pearson(0.5), (sqrt(6.0) - sqrt(2.0)) / 2, 1e-15);
    ASSERT_NEAR(rc_spearman_to_pearson(1.0), 1.0, 1e-15);
    ASSERT_NEAR(rc_spearman_to_pearson(-1.0), -1.0, 1e-15);
    ASSERT_SAME(rc_spearman_to_pearson(0.0), 0.0);
}

static void test_rejects(void)
{
    struct {
        size_t n;
        double m[9];
        const char *want;
    } bad[] = {
        {3, {1, .9, -.9, .9, 1, .9, -.9, .9, 1}, "correlation matrix is not positive definite"},
        /* 0.8, -0.5, +0.3: inconsistent (two strongly linked inputs cannot
         * both be opposite to a third and alike with it): det < 0. */
        {3, {1, .8, -.5, .8, 1, .3, -.5, .3, 1}, "correlation matrix is not positive definite"},
        {2, {1, .5, .4, 1}, "correlation matrix is not symmetric"},
        {2, {0.9, .5, .5, 1}, "correlation matrix must have 1 on its diagonal"},
        {2, {1, 1.5, 1.5, 1}, "must be in [-1, 1]"},
        {2, {1, NAN, NAN, 1}, "must be in [-1, 1]"},
        {0, {0}, "correlation matrix is empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[200] = "untouched";
        rc_copula *c = (rc_copula *)&err; /* must be set to NULL */
        int before = gsl_errors;
        ASSERT_EQ_INT(rc_create(&c, bad[i].n, bad[i].m, err, sizeof err), -1);
        ASSERT_TRUE(c == NULL);
        if (strstr(err, bad[i].want) == NULL)
            TU_FAIL_("case %zu: message \"%s\" lacks \"%s\"", i, err, bad[i].want);
        /* GSL's handler was off during the Cholesky... */
        ASSERT_EQ_INT(gsl_errors, before);
    }
    /* ...and is restored after it: a domain error reaches ours again. */
    int before = gsl_errors;
    (void)gsl_cdf_beta_Pinv(2.0, 1.0, 1.0);
    ASSERT_EQ_INT(gsl_errors, before + 1);
}

int main(void)
{
    gsl_set_error_handler(count_gsl_error);
    test_apply();
    test_rejects();
    test_correlations();
    TU_DONE();
}
