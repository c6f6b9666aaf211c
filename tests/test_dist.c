/* test_dist: rd_* draws the distributions of MODEL.md section 4.
 *
 * For every family, plain and truncated:
 *  - the mean of n = 200000 draws rd_quantile(rs_uniform(...)) lies within
 *    4 standard errors (sd / sqrt(n)) of the exact mean: closed forms for
 *    untruncated families; for truncated ones a closed form where one
 *    exists (normal, lognormal, uniform), otherwise numerical integration
 *    of x pdf(x) with GSL's QAGS over GSL's density;
 *  - every draw is finite and inside the support and truncation bounds;
 *  - rd_quantile(p) at p = 0.05, 0.5, 0.95 matches a closed-form quantile
 *    to 1e-9 relative, or, where the quantile has no closed form but the
 *    CDF does (beta(2, 5), pert(0, 5, 10), gamma(2, th)), the closed-form
 *    CDF at rd_quantile(p) matches p;
 *  - rd_cdf(rd_quantile(u)) = u from u = 2^-53 to 1 - 2^-53.
 * Then rd_prepare must reject each bad parameter set with its rule.
 *
 * GSL errors are counted by a handler installed here, so a GSL routine
 * that fails (the references: integration, densities, CDFs; rd_* itself
 * calls no GSL) fails the test instead of aborting it. */
#include "rng/rng_dist.h"
#include "rng/rng_stream.h"
#include "test_util.h"

#include <float.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>

#define NDRAW 200000
#define PI 3.14159265358979323846
/* qnorm(0.95) to 30 digits, 1.64485362695147271486..., rounded to double
 * (mpmath: -sqrt(2) erfinv(-0.9)); independent of RD_Z95. */
#define Z95 1.6448536269514727

static int gsl_errors = 0;
static void count_gsl_error(const char *reason, const char *file, int line, int gsl_errno)
{
    fprintf(stderr, "GSL error %d at %s:%d: %s\n", gsl_errno, file, line, reason);
    gsl_errors++;
}

/* ---- reference formulas ---------------------------------------------- */

typedef double (*ref_fn)(double);

static double q_normal_10_2(double p) { return 10.0 + 2.0 * (p == 0.5 ? 0.0 : (p < 0.5 ? -Z95 : Z95)); }
static double q_p5p95_5_15(double p) { return p == 0.5 ? 10.0 : (p < 0.5 ? 5.0 : 15.0); }
static double q_lognormal_1_05(double p) { return exp(1.0 + 0.5 * (p == 0.5 ? 0.0 : (p < 0.5 ? -Z95 : Z95))); }
/* "2 to 50": p5 = 2, p95 = 50, so the median is sqrt(2 * 50) = 10. */
static double q_a_to_b(double p) { return p == 0.5 ? 10.0 : (p < 0.5 ? 2.0 : 50.0); }
static double q_uniform(double p) { return -1.0 + 4.0 * p; }
/* triangular(0, 2, 10): F(x) = x^2/20 below the mode (F(2) = 0.2),
 * 1 - (10 - x)^2/80 above. */
static double q_tri(double p) { return p <= 0.2 ? sqrt(20.0 * p) : 10.0 - sqrt(80.0 * (1.0 - p)); }
/* triangular(0, 0, 1): F(x) = 1 - (1 - x)^2. */
static double q_tri_left(double p) { return 1.0 - sqrt(1.0 - p); }
/* pert(0, 0, 10) is 10 beta(1, 5): F(x) = 1 - (1 - x/10)^5. */
static double q_pert_left(double p) { return 10.0 * (1.0 - pow(1.0 - p, 0.2)); }
/* beta(1/2, 1/2), the arcsine law: F(x) = (2/pi) asin(sqrt x). */
static double q_arcsine(double p) { double s = sin(PI * p / 2.0); return s * s; }
/* beta(3, 1) on [-1, 1]: F = ((x+1)/2)^3. */
static double q_beta31(double p) { return -1.0 + 2.0 * cbrt(p); }
/* gamma(1, 2) is the exponential with mean 2. */
static double q_expo(double p) { return -2.0 * log1p(-p); }

/* beta(2, 5): I_x(2, 5) = 1 - (1-x)^6 - 6x(1-x)^5 (binomial sum). */
static double F_beta25(double x) { return 1.0 - pow(1 - x, 6) - 6 * x * pow(1 - x, 5); }
/* pert(0, 5, 10) is 10 beta(3, 3): I_y(3, 3) = 10y^3 - 15y^4 + 6y^5. */
static double F_pert_sym(double x) { double y = x / 10.0; return y * y * y * (10 - 15 * y + 6 * y * y); }
/* gamma(2, 1.5): F(x) = 1 - e^(-x/th) (1 + x/th) (Erlang). */
static double F_gamma2(double x) { double y = x / 1.5; return -expm1(-y) - y * exp(-y); }
/* gamma(0.3, 1): no closed form; GSL's regularised incomplete gamma. */
static double F_gamma03(double x) { return gsl_cdf_gamma_P(x, 0.3, 1.0); }

/* ---- the density, from GSL's randist (not rd_*), for integration ------ */

static double pdf(const rd_dist *d, double x)
{
    switch (d->family) {
    case RD_NORMAL: return gsl_ran_gaussian_pdf(x - d->a, d->b);
    case RD_LOGNORMAL: return x > 0 ? gsl_ran_lognormal_pdf(x, d->a, d->b) : 0.0;
    case RD_UNIFORM: return gsl_ran_flat_pdf(x, d->a, d->b);
    case RD_TRIANGULAR: {
        double a = d->a, m = d->b, c = d->c;
        if (x < a || x > c) return 0.0;
        return x <= m ? 2 * (x - a) / ((c - a) * (m - a)) : 2 * (c - x) / ((c - a) * (c - m));
    }
    case RD_PERT: {
        double w = d->c - d->a;
        return gsl_ran_beta_pdf((x - d->a) / w, 1 + 4 * (d->b - d->a) / w, 1 + 4 * (d->c - d->b) / w) / w;
    }
    case RD_BETA: {
        double w = d->hi - d->lo;
        return gsl_ran_beta_pdf((x - d->lo) / w, d->a, d->b) / w;
    }
    case RD_GAMMA: return gsl_ran_gamma_pdf(x, d->a, d->b);
    default: return 0.0;
    }
}

typedef struct { const rd_dist *d; int power; } integrand;
static double f_moment(double x, void *p)
{
    const integrand *g = p;
    double v = pdf(g->d, x);
    for (int k = 0; k < g->power; k++)
        v *= x;
    return v;
}

/* The integral of x^power pdf(x) over [lo, hi] (either may be infinite). */
static double moment(const rd_dist *d, int power, double lo, double hi)
{
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(2000);
    integrand g = {d, power};
    gsl_function f = {f_moment, &g};
    double r = NAN, abserr;
    int st;
    if (isinf(lo) && isinf(hi))
        st = gsl_integration_qagi(&f, 0, 1e-11, 2000, w, &r, &abserr);
    else if (isinf(hi))
        st = gsl_integration_qagiu(&f, lo, 0, 1e-11, 2000, w, &r, &abserr);
    else if (isinf(lo))
        st = gsl_integration_qagil(&f, hi, 0, 1e-11, 2000, w, &r, &abserr);
    else
        st = gsl_integration_qags(&f, lo, hi, 0, 1e-11, 2000, w, &r, &abserr);
    gsl_integration_workspace_free(w);
    ASSERT_EQ_INT(st, GSL_SUCCESS);
    return r;
}

/* ---- one case --------------------------------------------------------- */

typedef struct {
    const char *name;
    rd_dist d;
    double mean, sd; /* exact; sd <= 0: integrate numerically */
    ref_fn quantile; /* closed-form quantile, or NULL */
    ref_fn cdf;      /* closed-form untruncated CDF, or NULL */
} dcase;

static void check_rel(const char *what, const char *name, double p, double got, double want, double rel)
{
    double tol = rel * fmax(fabs(want), 1e-3);
    if (!(fabs(got - want) <= tol))
        TU_FAIL_("%s: %s at p=%g: %.17g vs %.17g (rel tol %g)", name, what, p, got, want, rel);
}

static void run_case(dcase *c)
{
    char err[200];
    rd_dist *d = &c->d;
    if (rd_prepare(d, err, sizeof err) != 0) {
        TU_FAIL_("%s: rd_prepare rejected a valid dist: %s", c->name, err);
        return;
    }
    double slo, shi;
    rd_support(d, &slo, &shi);

    /* Mean and sd: exact, or by integration over the truncated support. */
    double mean = c->mean, sd = c->sd;
    if (!(sd > 0)) {
        double mass = moment(d, 0, slo, shi);
        /* The integrator against GSL's CDFs: both routes give the mass. */
        ASSERT_NEAR(mass, d->Fmax - d->Fmin, 1e-9);
        mean = moment(d, 1, slo, shi) / mass;
        sd = sqrt(moment(d, 2, slo, shi) / mass - mean * mean);
        if (!isnan(c->mean)) /* a closed form as well: the two must agree */
            check_rel("integrated mean vs closed form", c->name, 0, mean, c->mean, 1e-8);
    }

    /* Draws. */
    rs_key key = rs_key_make(20240601, rs_stream_id("test_dist", c->name));
    double sum = 0.0;
    int outside = 0;
    for (uint64_t i = 0; i < NDRAW; i++) {
        double x = rd_quantile(d, rs_uniform(key, i, 0, 0));
        if (!isfinite(x) || x < slo || x > shi || x < d->tmin || x > d->tmax)
            outside++;
        sum += x;
    }
    ASSERT_EQ_INT(outside, 0);
    double se = sd / sqrt((double)NDRAW), smean = sum / NDRAW;
    if (!(fabs(smean - mean) <= 4.0 * se))
        TU_FAIL_("%s: sample mean %.10g vs %.10g: %.2f standard errors (se %.3g)",
                 c->name, smean, mean, (smean - mean) / se, se);

    /* Closed-form quantiles and CDFs (untruncated cases only). */
    static const double ps[] = {0.05, 0.5, 0.95};
    for (int k = 0; k < 3; k++) {
        double x = rd_quantile(d, ps[k]);
        if (c->quantile)
            check_rel("quantile", c->name, ps[k], x, c->quantile(ps[k]), 1e-9);
        if (c->cdf)
            check_rel("closed-form cdf at quantile", c->name, ps[k], c->cdf(x), ps[k], 1e-9);
    }

    /* rd_cdf inverts rd_quantile across (0, 1), tails included. */
    static const double us[] = {0x1p-53, 1e-12, 1e-6, 0.01, 0.05, 0.25, 0.5,
                                0.75, 0.95, 0.99, 1 - 1e-6, 1 - 1e-12, 1 - 0x1p-53};
    int untrunc = isinf(d->tmin) && isinf(d->tmax);
    for (size_t k = 0; k < sizeof us / sizeof us[0]; k++) {
        double x = rd_quantile(d, us[k]);
        if (!isfinite(x) || x < slo || x > shi)
            TU_FAIL_("%s: rd_quantile(%g) = %g outside [%g, %g]", c->name, us[k], x, slo, shi);
        double F = rd_cdf(d, x);
        /* x itself is rounded: where the density is steep (the arcsine law
         * near 1) one ulp of x moves F by more than 1e-12, so allow the
         * change in F over two ulps of x on top. rd_cdf is a lower-tail
         * CDF: near 1 it resolves 1e-16 absolute. */
        double ulpF = fmax(fabs(rd_cdf(d, nextafter(x, INFINITY)) - F),
                           fabs(F - rd_cdf(d, nextafter(x, -INFINITY))));
        ASSERT_NEAR(F, us[k], 1e-12 + 2 * ulpF);
        /* Near 0 an untruncated quantile must also be right relatively. */
        if (untrunc && us[k] <= 1e-6 && d->family != RD_TRIANGULAR && d->family != RD_UNIFORM)
            check_rel("rd_cdf(rd_quantile(u)) in the lower tail", c->name, us[k], F, us[k], 1e-8);
    }
    /* Out-of-range u (a caller's error) still gives a value inside. */
    double xs[] = {rd_quantile(d, 0.0), rd_quantile(d, 1.0), rd_quantile(d, NAN)};
    for (int k = 0; k < 3; k++)
        ASSERT_TRUE(isfinite(xs[k]) && xs[k] >= slo && xs[k] <= shi);
}

static rd_dist trunc_(rd_dist d, double tmin, double tmax)
{
    d.tmin = tmin;
    d.tmax = tmax;
    return d;
}

/* Truncated normal mean: mu + s (phi(al) - phi(be)) / (Phi(be) - Phi(al)),
 * al = (a - mu)/s, be = (b - mu)/s (Johnson, Kotz, Balakrishnan,
 * Continuous Univariate Distributions 1, 2nd ed., eq. 13.134). */
static double tn_mean(double mu, double s, double a, double b)
{
    double al = (a - mu) / s, be = (b - mu) / s;
    return mu + s * (gsl_ran_ugaussian_pdf(al) - gsl_ran_ugaussian_pdf(be)) /
                    (gsl_cdf_ugaussian_P(be) - gsl_cdf_ugaussian_P(al));
}

/* Truncated lognormal mean: E[X | a < X < b] =
 * e^(mu + s^2/2) [Phi(B - s) - Phi(A - s)] / [Phi(B) - Phi(A)],
 * A = (ln a - mu)/s, B = (ln b - mu)/s (the lognormal partial expectation,
 * e.g. Johnson, Kotz, Balakrishnan, ch. 14). */
static double tln_mean(double mu, double s, double a, double b)
{
    double A = a > 0 ? (log(a) - mu) / s : -INFINITY, B = (log(b) - mu) / s;
    double PA_s = isinf(A) ? 0.0 : gsl_cdf_ugaussian_P(A - s);
    double PA = isinf(A) ? 0.0 : gsl_cdf_ugaussian_P(A);
    return exp(mu + s * s / 2) * (gsl_cdf_ugaussian_P(B - s) - PA_s) / (gsl_cdf_ugaussian_P(B) - PA);
}

static void test_families(void)
{
    const double s_ln1 = 0.5, s_ab = (log(50.0) - log(2.0)) / (2 * Z95), m_ab = log(10.0);
    const double pa = 1 + 4 * 0.3, pb = 1 + 4 * 0.7; /* pert(0, 3, 10) */
    dcase cases[] = {
        /* Untruncated: exact mean and sd from the textbook closed forms. */
        {"normal", rd_normal(10, 2), 10, 2, q_normal_10_2, NULL},
        {"normal p5 p95", rd_normal_p5p95(5, 15), 10, 5 / Z95, q_p5p95_5_15, NULL},
        {"lognormal mu sigma", rd_lognormal(1, s_ln1), exp(1 + s_ln1 * s_ln1 / 2),
         exp(1 + s_ln1 * s_ln1 / 2) * sqrt(expm1(s_ln1 * s_ln1)), q_lognormal_1_05, NULL},
        {"lognormal 2 to 50", rd_lognormal_p5p95(2, 50), exp(m_ab + s_ab * s_ab / 2),
         exp(m_ab + s_ab * s_ab / 2) * sqrt(expm1(s_ab * s_ab)), q_a_to_b, NULL},
        {"uniform", rd_uniform(-1, 3), 1, 4 / sqrt(12.0), q_uniform, NULL},
        /* Triangular: mean (a+m+c)/3, var (a^2+m^2+c^2-am-ac-mc)/18. */
        {"triangular", rd_triangular(0, 2, 10), 4, sqrt((4 + 100 - 20) / 18.0), q_tri, NULL},
        {"triangular mode=min", rd_triangular(0, 0, 1), 1 / 3.0, sqrt(1 / 18.0), q_tri_left, NULL},
        /* PERT: a beta(pa, pb) on [0, 10]; beta var = ab / ((a+b)^2 (a+b+1)). */
        {"pert", rd_pert(0, 3, 10), (0 + 12 + 10) / 6.0,
         10 * sqrt(pa * pb / ((pa + pb) * (pa + pb) * (pa + pb + 1))), NULL, NULL},
        {"pert mode=min", rd_pert(0, 0, 10), 10 / 6.0, 10 * sqrt(5 / (36.0 * 7)), q_pert_left, NULL},
        {"pert symmetric", rd_pert(0, 5, 10), 5, 10 * sqrt(9 / (36.0 * 7)), NULL, F_pert_sym},
        {"beta 2 5", rd_beta(2, 5, 0, 1), 2 / 7.0, sqrt(10 / (49.0 * 8)), NULL, F_beta25},
        {"beta arcsine", rd_beta(0.5, 0.5, 0, 1), 0.5, sqrt(1 / 8.0), q_arcsine, NULL},
        {"beta 3 1 on [-1, 1]", rd_beta(3, 1, -1, 1), -1 + 2 * 0.75, 2 * sqrt(3 / (16.0 * 5)), q_beta31, NULL},
        {"beta 2 3 on [10, 20]", rd_beta(2, 3, 10, 20), 14, 10 * sqrt(6 / (25.0 * 6)), NULL, NULL},
        /* Gamma: mean k th, sd sqrt(k) th. */
        {"gamma", rd_gamma(2.5, 1.5), 3.75, sqrt(2.5) * 1.5, NULL, NULL},
        {"gamma exponential", rd_gamma(1, 2), 2, 2, q_expo, NULL},
        {"gamma erlang", rd_gamma(2, 1.5), 3, sqrt(2.0) * 1.5, NULL, F_gamma2},
        /* gsl_cdf_gamma_Pinv fails to converge for this shape at p = 0.05. */
        {"gamma small shape", rd_gamma(0.3, 1), 0.3, sqrt(0.3), NULL, F_gamma03},

        /* Truncated: mean and sd by integration (sd = 0); where a closed
         * mean exists it is given too and must agree with the integral. */
        {"normal [9, 14]", trunc_(rd_normal(10, 2), 9, 14), tn_mean(10, 2, 9, 14), 0, NULL, NULL},
        {"normal [2, inf)", trunc_(rd_normal(0, 1), 2, INFINITY), tn_mean(0, 1, 2, INFINITY), 0, NULL, NULL},
        {"normal (-inf, -3]", trunc_(rd_normal(0, 1), -INFINITY, -3), tn_mean(0, 1, -INFINITY, -3), 0, NULL, NULL},
        {"lognormal [2, 4]", trunc_(rd_lognormal(1, 0.5), 2, 4), tln_mean(1, 0.5, 2, 4), 0, NULL, NULL},
        {"2 to 50, max 30", trunc_(rd_lognormal_p5p95(2, 50), -INFINITY, 30), tln_mean(m_ab, s_ab, 0, 30), 0, NULL, NULL},
        {"uniform [0, 10]", trunc_(rd_uniform(-1, 3), 0, 10), 1.5, 0, NULL, NULL},
        {"triangular [1, 5]", trunc_(rd_triangular(0, 2, 10), 1, 5), NAN, 0, NULL, NULL},
        {"pert [2, 8]", trunc_(rd_pert(0, 3, 10), 2, 8), NAN, 0, NULL, NULL},
        {"beta [12, 15]", trunc_(rd_beta(2, 3, 10, 20), 12, 15), NAN, 0, NULL, NULL},
        {"gamma [1, 6]", trunc_(rd_gamma(2.5, 1.5), 1, 6), NAN, 0, NULL, NULL},
        {"gamma small shape [0.5, inf)", trunc_(rd_gamma(0.3, 1), 0.5, INFINITY), NAN, 0, NULL, NULL},
        {"gamma upper tail [15, inf)", trunc_(rd_gamma(2.5, 1.5), 15, INFINITY), NAN, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = tu_failures;
        run_case(&cases[i]);
        if (tu_failures != before)
            fprintf(stderr, "  (in case \"%s\")\n", cases[i].name);
    }
}

/* ---- the rest of the interface ---------------------------------------- */

static void test_misc(void)
{
    char err[200];
    /* The header's constant against the independent one: equal to 2 ulp. */
    ASSERT_NEAR(RD_Z95, Z95, 1e-15);

    rd_dist c = trunc_(rd_const(3.5), 10, 20); /* truncation ignored */
    ASSERT_EQ_INT(rd_prepare(&c, err, sizeof err), 0);
    ASSERT_TRUE(rd_is_const(&c));
    ASSERT_SAME(rd_quantile(&c, 0.01), 3.5);
    ASSERT_SAME(rd_quantile(&c, 0.99), 3.5);
    ASSERT_SAME(rd_cdf(&c, 3.4), 0.0);
    ASSERT_SAME(rd_cdf(&c, 3.5), 1.0);
    ASSERT_SAME(rd_mean_untruncated(&c), 3.5);
    double lo, hi;
    rd_support(&c, &lo, &hi);
    ASSERT_SAME(lo, 3.5);
    ASSERT_SAME(hi, 3.5);

    rd_dist n = rd_normal(0, 1);
    ASSERT_TRUE(!rd_is_const(&n));
    ASSERT_SAME(n.tmin, -INFINITY);
    ASSERT_SAME(n.tmax, INFINITY);
    ASSERT_EQ_INT(n.per_year, 0);
    rd_support(&n, &lo, &hi);
    ASSERT_SAME(lo, -INFINITY);
    ASSERT_SAME(hi, INFINITY);
    rd_dist g = trunc_(rd_gamma(2, 1), -5, 7);
    rd_support(&g, &lo, &hi);
    ASSERT_SAME(lo, 0.0);
    ASSERT_SAME(hi, 7.0);
    rd_dist b = trunc_(rd_beta(2, 2, 10, 20), 12, INFINITY);
    rd_support(&b, &lo, &hi);
    ASSERT_SAME(lo, 12.0);
    ASSERT_SAME(hi, 20.0);

    /* The same u gives the same x: draws are a function of the counter. */
    rd_dist p = rd_pert(1, 2, 9);
    ASSERT_EQ_INT(rd_prepare(&p, err, sizeof err), 0);
    ASSERT_SAME(rd_quantile(&p, 0.3), rd_quantile(&p, 0.3));

    const char *names[] = {"constant", "normal", "lognormal", "uniform",
                           "triangular", "pert", "beta", "gamma"};
    for (int f = RD_CONST; f <= RD_GAMMA; f++)
        ASSERT_TRUE(strcmp(rd_family_name((rd_family)f), names[f]) == 0);
}

typedef struct { rd_dist d; const char *want; } bad_case;

static void test_rejects(void)
{
    rd_dist unknown = rd_normal(0, 1);
    unknown.family = (rd_family)99;
    bad_case bad[] = {
        {rd_const(NAN), "value must be a finite number"},
        {rd_normal(0, 0), "sd must be > 0"},
        {rd_normal(0, -1), "sd must be > 0"},
        {rd_normal(NAN, 1), "mean must be a finite number"},
        {rd_normal(INFINITY, 1), "mean must be a finite number"},
        {rd_normal(0, INFINITY), "sd must be a finite number"},
        {rd_normal_p5p95(5, 5), "sd must be > 0"},
        {rd_normal_p5p95(6, 5), "sd must be > 0"},
        {rd_lognormal(0, 0), "sigma must be > 0"},
        {rd_lognormal(NAN, 1), "mu must be a finite number"},
        {rd_lognormal_p5p95(0, 5), "must be a finite number"},
        {rd_lognormal_p5p95(-1, 5), "must be a finite number"},
        {rd_lognormal_p5p95(5, 2), "sigma must be > 0"},
        {rd_lognormal_p5p95(5, 5), "sigma must be > 0"},
        {rd_uniform(1, 1), "min must be < max"},
        {rd_uniform(2, 1), "min must be < max"},
        {rd_uniform(0, NAN), "max must be a finite number"},
        {rd_triangular(0, 5, 3), "mode must be in [min, max]"},
        {rd_triangular(0, -1, 3), "mode must be in [min, max]"},
        {rd_triangular(1, 1, 1), "min must be < max"},
        {rd_triangular(-DBL_MAX, 0, DBL_MAX), "max - min must be a finite number"},
        {rd_pert(0, 4, 3), "mode must be in [min, max]"},
        {rd_pert(3, 3, 3), "min must be < max"},
        {rd_pert(0, NAN, 3), "mode must be a finite number"},
        {rd_beta(0, 1, 0, 1), "a must be > 0"},
        {rd_beta(1, -1, 0, 1), "b must be > 0"},
        {rd_beta(1, 1, 1, 1), "min must be < max"},
        {rd_beta(1, 1, 0, INFINITY), "max must be a finite number"},
        {rd_beta(2e5, 1, 0, 1), "a and b must be <= 1e5"},
        {rd_gamma(0, 1), "shape must be > 0"},
        {rd_gamma(1, 0), "scale must be > 0"},
        {rd_gamma(1, -2), "scale must be > 0"},
        {rd_gamma(2e5, 1), "shape must be <= 1e5"},
        {unknown, "unknown distribution family"},
        {trunc_(rd_normal(0, 1), 1, 1), "truncation min must be < max"},
        {trunc_(rd_normal(0, 1), 2, 1), "truncation min must be < max"},
        {trunc_(rd_normal(0, 1), NAN, 1), "truncation bounds must be numbers"},
        {trunc_(rd_uniform(0, 1), 2, 3), "truncation [2, 3] has probability 0 under this distribution"},
        {trunc_(rd_lognormal(0, 1), -5, -1), "truncation [-5, -1] has probability 0"},
        {trunc_(rd_gamma(2, 1), -INFINITY, 0), "has probability 0"},
        {trunc_(rd_beta(2, 2, 10, 20), 0, 10), "has probability 0"},
        /* 40 sd out: the probability underflows, 1 - 1 = 0 in doubles. */
        {trunc_(rd_normal(0, 1), 40, 50), "has probability 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[200] = "untouched";
        int rc = rd_prepare(&bad[i].d, err, sizeof err);
        ASSERT_EQ_INT(rc, -1);
        if (strstr(err, bad[i].want) == NULL)
            TU_FAIL_("case %zu: message \"%s\" lacks \"%s\"", i, err, bad[i].want);
        /* A short rule, no file or line: the caller adds those. */
        ASSERT_TRUE(strlen(err) < 80);
    }
    /* No message buffer: still -1, no crash. */
    rd_dist d = rd_normal(0, -1);
    ASSERT_EQ_INT(rd_prepare(&d, NULL, 0), -1);
    /* A small buffer is truncated, not overrun. */
    char small[8];
    ASSERT_EQ_INT(rd_prepare(&d, small, sizeof small), -1);
    ASSERT_EQ_INT((int)strlen(small), 7);
}

int main(void)
{
    gsl_set_error_handler(count_gsl_error);
    test_misc();
    test_rejects();
    test_families();
    ASSERT_EQ_INT(gsl_errors, 0);
    TU_DONE();
}
