/* rng_math's exp, log and normal quantile agree with libm, long double
 * libm (expl, logl) and GSL (the independent references) within their
 * stated error, over the ranges the engine uses and their edges. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include <gsl/gsl_cdf.h>

#include "rng/rng_math.h"
#include "rng/rng_stream.h"
#include "test_util.h"

static double ulps(double a, double b)
{
    if (a == b)
        return 0;
    double u = nextafter(fabs(b), INFINITY) - fabs(b);
    return fabs(a - b) / u;
}

/* The error of a in ulps of the exact value ref (the spacing of doubles
 * in ref's binade, 2^-1074 among subnormals); the measure of a function's
 * accuracy, e.g. 0.5 for a correctly rounded one. */
static double ulps_exact(double a, long double ref)
{
    int e;
    frexpl(fabsl(ref), &e); /* |ref| = m 2^e, m in [1/2, 1) */
    long double u = ref == 0 || e - 53 < -1074 ? 0x1p-1074L : ldexpl(1.0L, e - 53);
    return (double)(fabsl((long double)a - ref) / u);
}

/* Does long double resolve rm_exp's and rm_log's errors? expl and logl are
 * then the reference to a few thousandths of an ulp (x86-64: 64 bits, the
 * x87 format; AArch64: 113, IEEE quad). Elsewhere only glibc is used. */
static int have_exact_reference(void)
{
    return LDBL_MANT_DIG >= 64;
}

typedef struct {
    double vs_libm, vs_exact, vs_exact_sub, at, at_sub;
} ulp_worst;

static void exp_check(ulp_worst *w, double x)
{
    double y = rm_exp(x), e = ulps(y, exp(x));
    if (e > w->vs_libm)
        w->vs_libm = e;
    if (!have_exact_reference())
        return;
    long double ref = expl((long double)x);
    if (ref > (long double)DBL_MAX)
        return; /* overflow: both +inf, checked below */
    double ex = ulps_exact(y, ref);
    if (ref >= (long double)DBL_MIN ? ex > w->vs_exact : ex > w->vs_exact_sub) {
        if (ref >= (long double)DBL_MIN)
            w->vs_exact = ex, w->at = x;
        else
            w->vs_exact_sub = ex, w->at_sub = x;
    }
}

/* 10^7 evenly spaced points over [-745, 709.78] (the whole range with a
 * finite nonzero result, subnormal results below -708.4), 10^6 over
 * [-20, 20] (the engine's) and 10^6 over [-1/64, 1/64]: within 1 ulp of
 * glibc's exp (itself within 0.51 ulp), and, where long double resolves
 * it, within 0.52 ulp of the exact value for normal results and 0.76 for
 * subnormal ones (rounded twice: to 53 bits, then to the subnormal's). */
static void test_exp_within_052_ulp_of_exact_on_a_dense_sweep(void)
{
    ulp_worst w = { 0 };
    const struct { double lo, hi; uint64_t n; } sweeps[] = {
        { -745.0, 709.78, 10000000 }, { -20.0, 20.0, 1000000 }, { -0x1p-6, 0x1p-6, 1000000 },
    };
    for (int s = 0; s < 3; s++)
        for (uint64_t i = 0; i <= sweeps[s].n; i++)
            exp_check(&w, sweeps[s].lo + (sweeps[s].hi - sweeps[s].lo) * (double)i / (double)sweeps[s].n);
    printf("rm_exp: worst %.0f ulp from glibc's exp; worst error %.4f ulp (x = %a), "
           "%.4f ulp for subnormal results (x = %a)\n",
           w.vs_libm, w.vs_exact, w.at, w.vs_exact_sub, w.at_sub);
    ASSERT_TRUE(w.vs_libm <= 1.0);
    if (have_exact_reference()) {
        ASSERT_TRUE(w.vs_exact < 0.52);
        ASSERT_TRUE(w.vs_exact_sub < 0.76);
    }
}

/* The range edges and exact values: e^0 = 1, +0 and +inf beyond the
 * range, within 1 ulp of glibc where results underflow and around the
 * largest finite one, NaN in NaN out. */
static void test_exp_special_values_and_range_edges(void)
{
    ASSERT_SAME(rm_exp(0.0), 1.0);
    ASSERT_SAME(rm_exp(-0.0), 1.0);
    ASSERT_SAME(rm_exp(0x1p-60), 1.0);
    ASSERT_SAME(rm_exp(-0x1p-60), 1.0);
    ASSERT_EQ_U64(rm_bits(rm_exp(-1000.0)), 0); /* +0 */
    ASSERT_EQ_U64(rm_bits(rm_exp(-INFINITY)), 0);
    ASSERT_SAME(rm_exp(-746.0), 0.0);
    ASSERT_SAME(rm_exp(-745.2), 0.0);       /* 0.47 2^-1074 */
    ASSERT_SAME(rm_exp(-745.0), 0x1p-1074); /* 0.57 2^-1074: the least subnormal */
    ASSERT_TRUE(isinf(rm_exp(1000.0)) && rm_exp(1000.0) > 0);
    ASSERT_TRUE(isinf(rm_exp(INFINITY)));
    ASSERT_TRUE(isinf(rm_exp(709.79)));
    ASSERT_TRUE(isnan(rm_exp(NAN)));
    /* ln(DBL_MAX) = 709.78271289338397...: the double nearest it gives a
     * finite result, the next one up overflows */
    double xmax = 0x1.62e42fefa39efp+9;
    ASSERT_TRUE(isfinite(rm_exp(xmax)) && ulps(rm_exp(xmax), exp(xmax)) <= 1.0);
    ASSERT_TRUE(isinf(rm_exp(nextafter(xmax, INFINITY))));
    for (double x = -745.2; x <= -708.0; x += 0.37) /* subnormal results */
        ASSERT_TRUE(ulps(rm_exp(x), exp(x)) <= 1.0);
    ASSERT_NEAR(rm_exp(-740.0), exp(-740.0), 1e-323);
    /* around ln(2^-1075) = -745.1332..., where results round to 0 or to
     * the least subnormal */
    double x = -0x1.74910d52d3051p+9;
    for (int i = 0; i < 64; i++, x = nextafter(x, 0.0))
        ASSERT_TRUE(ulps(rm_exp(x), exp(x)) <= 1.0);
}

static void log_check(ulp_worst *w, double x)
{
    double y = rm_log(x), e = ulps(y, log(x));
    if (e > w->vs_libm)
        w->vs_libm = e;
    if (!have_exact_reference())
        return;
    double ex = ulps_exact(y, logl((long double)x));
    if (ex > w->vs_exact)
        w->vs_exact = ex, w->at = x;
}

/* 10^7 x evenly spaced in their bits from the least subnormal to DBL_MAX
 * (so every binade alike), 10^6 over (0, 4) (the engine's range), 10^6
 * over [1 - 2^-6, 1 + 2^-6] (where log x is small and a table-driven log
 * is hardest) and 2 x 10^5 within 10^5 ulps of 1: within 1 ulp of glibc's
 * log (itself within 0.52 ulp) and, where long double resolves it, within
 * 0.70 ulp of the exact value. */
static void test_log_within_070_ulp_of_exact_on_a_dense_sweep(void)
{
    ulp_worst w = { 0 };
    const uint64_t lo = 1, hi = rm_bits(DBL_MAX), n = 10000000;
    for (uint64_t i = 0; i <= n; i++)
        log_check(&w, rm_double(lo + (uint64_t)((double)(hi - lo) * ((double)i / (double)n))));
    for (uint64_t i = 1; i <= 1000000; i++)
        log_check(&w, 4.0 * (double)i / 1000000.0);
    for (uint64_t i = 0; i <= 1000000; i++)
        log_check(&w, 1.0 - 0x1p-6 + 0x1p-5 * (double)i / 1000000.0);
    for (uint64_t i = 1; i <= 100000; i++) {
        log_check(&w, 1.0 + (double)i * 0x1p-52);
        log_check(&w, 1.0 - (double)i * 0x1p-53);
    }
    printf("rm_log: worst %.0f ulp from glibc's log; worst error %.4f ulp (x = %a)\n",
           w.vs_libm, w.vs_exact, w.at);
    ASSERT_TRUE(w.vs_libm <= 1.0);
    if (have_exact_reference())
        ASSERT_TRUE(w.vs_exact < 0.70);
}

/* log 1 = +0 exactly; 0 -> -inf, below 0 or NaN -> NaN, +inf -> +inf; the
 * ends of the range (least subnormal, DBL_MIN, DBL_MAX) and powers of 2
 * within 1 ulp of glibc. */
static void test_log_special_values(void)
{
    ASSERT_EQ_U64(rm_bits(rm_log(1.0)), 0); /* +0 */
    ASSERT_TRUE(isinf(rm_log(0.0)) && rm_log(0.0) < 0);
    ASSERT_TRUE(isinf(rm_log(-0.0)) && rm_log(-0.0) < 0);
    ASSERT_TRUE(isnan(rm_log(-1.0)));
    ASSERT_TRUE(isnan(rm_log(-0x1p-1074)));
    ASSERT_TRUE(isnan(rm_log(-INFINITY)));
    ASSERT_TRUE(isnan(rm_log(NAN)));
    ASSERT_TRUE(isinf(rm_log(INFINITY)) && rm_log(INFINITY) > 0);
    const double xs[] = { 0x1p-1074, 0x1.8p-1070, 0x1p-1023, DBL_MIN, DBL_MAX, 2.0, 0.5, 3.0, 10.0 };
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        ASSERT_TRUE(ulps(rm_log(xs[i]), log(xs[i])) <= 1.0);
    for (int k = -1074; k <= 1023; k++)
        ASSERT_TRUE(ulps(rm_log(ldexp(1.0, k)), log(ldexp(1.0, k))) <= 1.0);
    ASSERT_SAME(rm_log(2.0), 0x1.62e42fefa39efp-1); /* ln 2, correctly rounded */
}

/* rm_exp and rm_log must give the same bits whether a loop calling them is
 * vectorised (table reads become gathers, selects become masks) or not.
 * The lane loops below are vectorised with AVX-512 in the Release build
 * (-fopt-info-vec reports them), unconditionally and under a condition
 * (masked gathers, as the kernel's `c ? 1 : rm_exp(...)`), with and
 * without restrict; the out-of-line calls are scalar code. Inputs: every
 * region, the edges and the special values. */
enum { LANES = 128 };

static void exp_lanes(const double *restrict x, double *restrict y)
{
    for (int j = 0; j < LANES; j++)
        y[j] = rm_exp(x[j]);
}

static void log_lanes(const double *restrict x, double *restrict y)
{
    for (int j = 0; j < LANES; j++)
        y[j] = rm_log(x[j]);
}

static void exp_log_lanes_masked(const double *m, const double *x, double *y, double *z)
{
    for (int j = 0; j < LANES; j++) {
        y[j] = m[j] > 0.5 ? 1.0 : rm_exp(x[j]);
        z[j] = m[j] > 0.25 ? rm_log(x[j]) : 0.0;
    }
}

__attribute__((noinline)) static double exp_one(double x)
{
    return rm_exp(x);
}

__attribute__((noinline)) static double log_one(double x)
{
    return rm_log(x);
}

static int same_bits(double a, double b)
{
    return rm_bits(a) == rm_bits(b) || (isnan(a) && isnan(b));
}

static void test_vectorised_loops_give_the_scalar_bits(void)
{
    const double edges[] = { 0.0, -0.0, INFINITY, -INFINITY, NAN, 1.0, -1.0, 0x1p-1074,
                             0x1p-1022, 0x1.fffffffffffffp-1023, DBL_MAX, -746.0, -745.2,
                             -708.4, 709.78, 709.79, 0x1.62e42fefa39efp+9, 710.0, 1e300,
                             -1e300, 1.0 - 0x1p-53, 1.0 + 0x1p-52, 0x1.0080000000001p0 };
    const size_t ne = sizeof edges / sizeof edges[0];
    rs_key k = rs_key_make(4, rs_stream_id("test", "exp_log_lanes"));
    static double x[LANES], m[LANES], y[LANES], z[LANES], ym[LANES], zm[LANES];
    size_t differ = 0;
    for (uint64_t b = 0; b < 20000; b++) {
        for (int j = 0; j < LANES; j++) {
            uint64_t i = b * LANES + (uint64_t)j;
            double u = rs_uniform(k, i, 0, 0);
            switch (i % 5) {
            case 0: x[j] = -750.0 + 1462.0 * u; break;                       /* exp's range */
            case 1: x[j] = rm_double((uint64_t)(u * 0x1p63)); break;          /* any bits >= 0 */
            case 2: x[j] = 1.0 + 0x1p-5 * (u - 0.5); break;                   /* near 1 */
            case 3: x[j] = -20.0 + 40.0 * u; break;
            default: x[j] = edges[i / 5 % ne]; break;
            }
            m[j] = rs_uniform(k, i, 1, 0);
        }
        exp_lanes(x, y);
        log_lanes(x, z);
        exp_log_lanes_masked(m, x, ym, zm);
        for (int j = 0; j < LANES; j++) {
            differ += !same_bits(y[j], exp_one(x[j])) + !same_bits(z[j], log_one(x[j]));
            differ += !same_bits(ym[j], m[j] > 0.5 ? 1.0 : exp_one(x[j]));
            differ += !same_bits(zm[j], m[j] > 0.25 ? log_one(x[j]) : 0.0);
        }
    }
    ASSERT_EQ_INT(differ, 0);
}

static void test_ndtri_matches_gsl_everywhere_including_tails(void)
{
    double worst = 0;
    rs_key k = rs_key_make(1, rs_stream_id("test", "ndtri"));
    for (uint64_t i = 0; i < 1000000; i++) {
        double u = rs_uniform(k, i, 0, 0);
        if (i % 3 == 1)
            u = ldexp(u, -(int)(i % 53)); /* lower tail down to 2^-54 */
        if (i % 3 == 2)
            u = 1.0 - ldexp(u, -(int)(i % 40));
        double a = rm_ndtri(u), b = gsl_cdf_ugaussian_Pinv(u);
        double rel = fabs(a - b) / fmax(fabs(b), 1e-300);
        if (rel > worst && fabs(b) > 1e-8)
            worst = rel;
    }
    printf("rm_ndtri worst relative difference from GSL %.3g\n", worst);
    ASSERT_TRUE(worst < 1e-13);
    /* AS241 far tail (r > 5, u < e^-25): compare at fixed points. */
    double tails[] = { 1e-12, 1e-15, 0x1p-54, 1e-300 };
    for (int i = 0; i < 4; i++)
        ASSERT_NEAR(rm_ndtri(tails[i]), gsl_cdf_ugaussian_Pinv(tails[i]),
                    1e-13 * fabs(gsl_cdf_ugaussian_Pinv(tails[i])));
    ASSERT_SAME(rm_ndtri(0.5), 0.0);
    ASSERT_NEAR(rm_ndtri(0.975), 1.959963984540054, 1e-15);
}

static void test_branch_free_ndtri_is_bit_identical(void)
{
    rs_key k = rs_key_make(2, rs_stream_id("test", "ndtri_bf"));
    for (uint64_t i = 0; i < 1000000; i++) {
        double u = rs_uniform(k, i, 0, 0);
        if (i % 3 == 1)
            u = ldexp(u, -(int)(i % 53));
        if (i % 3 == 2)
            u = 1.0 - ldexp(u, -(int)(i % 40));
        ASSERT_SAME(rm_ndtri_bf(u), rm_ndtri(u));
    }
}

/* The array form packs tail lanes together; whatever the mix of regions
 * and the array length (chunk boundaries, odd tails), every value must be
 * rm_ndtri's, and writing in place must work. */
static void test_array_ndtri_is_bit_identical_in_every_region(void)
{
    rs_key k = rs_key_make(3, rs_stream_id("test", "ndtri_n"));
    enum { N = 1000 };
    static double u[N], x[N];
    for (size_t n = 1; n <= N; n = n < 20 ? n + 1 : n * 3 + 7) {
        for (size_t j = 0; j < n; j++) {
            u[j] = rs_uniform(k, n * N + j, 0, 0);
            if (j % 4 == 1)
                u[j] = ldexp(u[j], -(int)(j % 53));
            if (j % 4 == 2)
                u[j] = 1.0 - ldexp(u[j], -(int)(j % 40));
        }
        rm_ndtri_n(u, x, n);
        for (size_t j = 0; j < n; j++)
            ASSERT_SAME(x[j], rm_ndtri(u[j]));
        rm_ndtri_n(u, u, n);
        for (size_t j = 0; j < n; j++)
            ASSERT_SAME(u[j], x[j]);
    }
}

/* rm_ncdf against GSL's Cody implementation, across every region and
 * both tails: relative error of Phi(x) where it is small (x < 0) and of
 * 1 - Phi(x) for x > 0 (compared as GSL's Q), far below what the copula
 * needs; and the symmetry and limits the copula relies on. */
static void test_ncdf_matches_gsl_in_every_region(void)
{
    double worst = 0.0;
    for (double x = -38.0; x <= 9.0; x += 0.00173) {
        double a = rm_ncdf(x), b = gsl_cdf_ugaussian_P(x);
        double ref = x < 0.0 ? b : gsl_cdf_ugaussian_Q(x);
        double got = x < 0.0 ? a : 1.0 - a;
        if (ref > 1e-300) {
            double rel = fabs(got - ref) / ref;
            if (x > 0.0)
                rel = fabs(a - b) / b; /* 1 - Phi is not resolved above 1/2 */
            worst = rel > worst ? rel : worst;
        }
    }
    printf("rm_ncdf worst relative difference from GSL %.3g\n", worst);
    ASSERT_TRUE(worst < 1e-14);
    ASSERT_SAME(rm_ncdf(0.0), 0.5);
    ASSERT_SAME(rm_ncdf(-40.0), 0.0);
    ASSERT_SAME(rm_ncdf(40.0), 1.0);
    ASSERT_NEAR(rm_ncdf(1.959963984540054), 0.975, 1e-15);
    ASSERT_NEAR(rm_ncdf(-1.959963984540054), 0.025, 1e-16);
    ASSERT_TRUE(isnan(rm_ncdf(NAN)));
    /* continuity where one rational fit hands over to the next */
    const double edges[] = { 0.66291, 5.6568542494923801952 };
    for (int i = 0; i < 2; i++)
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            double e = sgn * edges[i];
            double lo = rm_ncdf(nextafter(e, -INFINITY)), hi = rm_ncdf(nextafter(e, INFINITY));
            ASSERT_NEAR(lo, hi, 1e-13 * lo); /* the fits meet within 1e-14 */
        }
}

int main(void)
{
    test_ncdf_matches_gsl_in_every_region();
    test_branch_free_ndtri_is_bit_identical();
    test_array_ndtri_is_bit_identical_in_every_region();
    test_exp_within_052_ulp_of_exact_on_a_dense_sweep();
    test_exp_special_values_and_range_edges();
    test_log_within_070_ulp_of_exact_on_a_dense_sweep();
    test_log_special_values();
    test_vectorised_loops_give_the_scalar_bits();
    test_ndtri_matches_gsl_everywhere_including_tails();
    TU_DONE();
}
