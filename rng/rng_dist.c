/* rng_dist: the distributions of MODEL.md section 4. See rng_dist.h.
 *
 * Quantiles are computed from whichever tail is smaller: a probability
 * near 1 has an absolute resolution of 1e-16, so 1 - u would lose the
 * upper tail, while the upper-tail probability itself keeps full relative
 * precision. For u > 1/2 the truncated mapping is therefore written as
 *   Q = (1 - Fmax) + (1 - u)(Fmax - Fmin),
 * which is 1 - (Fmin + u (Fmax - Fmin)) rearranged; 1 - u is exact there.
 *
 * Beta, PERT and gamma quantiles and CDFs come from rng_special.h: the
 * incomplete beta and gamma functions and their inverses written on
 * rng_math.h's rm_exp and rm_log, so a draw from any family is the same
 * bits on every CPU and libm (GSL's called libm's exp, log, pow and
 * lgamma, which glibc picks by CPU features; its gsl_cdf_beta_Pinv and
 * gsl_cdf_gamma_Pinv also fail to converge for ordinary parameters, such
 * as gamma shape 0.1 at p = 0.05, and then abort under GSL's default
 * error handler). Nothing here calls GSL, so rd_quantile is safe to call
 * from many threads at once. */
#include "rng/rng_dist.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

#include "rng/rng_math.h"
#include "rng/rng_special.h"

/* The largest beta a, b or gamma shape accepted; see rd_prepare. */
#define RD_SHAPE_MAX 1e5
#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- family helpers --------------------------------------------------- */

/* The standard beta behind RD_PERT and RD_BETA: shape (al, be) on [lo, hi]. */
static void beta_std(const rd_dist *d, double *al, double *be, double *lo,
                     double *hi)
{
    if (d->family == RD_PERT) {
        double w = d->c - d->a;
        *al = 1.0 + 4.0 * (d->b - d->a) / w;
        *be = 1.0 + 4.0 * (d->c - d->b) / w;
        *lo = d->a;
        *hi = d->c;
    } else {
        *al = d->a;
        *be = d->b;
        *lo = d->lo;
        *hi = d->hi;
    }
}

/* The family's support, before truncation. */
static void family_support(const rd_dist *d, double *lo, double *hi)
{
    switch (d->family) {
    case RD_CONST:
        *lo = *hi = d->a;
        return;
    case RD_LOGNORMAL:
    case RD_GAMMA:
        *lo = 0.0;
        *hi = INFINITY;
        return;
    case RD_UNIFORM:
        *lo = d->a;
        *hi = d->b;
        return;
    case RD_TRIANGULAR:
    case RD_PERT:
        *lo = d->a;
        *hi = d->c;
        return;
    case RD_BETA:
        *lo = d->lo;
        *hi = d->hi;
        return;
    case RD_NORMAL:
    default:
        *lo = -INFINITY;
        *hi = INFINITY;
        return;
    }
}

/* Untruncated CDF. Infinite and out-of-support x are answered here, so
 * the incomplete beta and gamma only ever see interior points. */
static double cdf_raw(const rd_dist *d, double x)
{
    if (isnan(x))
        return NAN;
    if (d->family == RD_CONST)
        return x < d->a ? 0.0 : 1.0;
    double slo, shi;
    family_support(d, &slo, &shi);
    if (x <= slo)
        return 0.0;
    if (x >= shi)
        return 1.0;
    switch (d->family) {
    case RD_NORMAL:
        return rm_ncdf((x - d->a) / d->b);
    case RD_LOGNORMAL:
        return rm_ncdf((rm_log(x) - d->a) / d->b);
    case RD_UNIFORM:
        return (x - d->a) / (d->b - d->a);
    case RD_TRIANGULAR: {
        double w = d->c - d->a;
        if (x <= d->b)
            return (x - d->a) * (x - d->a) / (w * (d->b - d->a));
        return 1.0 - (d->c - x) * (d->c - x) / (w * (d->c - d->b));
    }
    case RD_PERT:
    case RD_BETA: {
        double al, be, lo, hi;
        beta_std(d, &al, &be, &lo, &hi);
        double y = (x - lo) / (hi - lo);
        if (y <= 0.0)
            return 0.0;
        if (y >= 1.0)
            return 1.0;
        double p, q;
        rsp_beta_pq(al, be, y, &p, &q);
        return p;
    }
    case RD_GAMMA: {
        double p, q;
        rsp_gamma_pq(d->a, x / d->b, &p, &q);
        return p;
    }
    default:
        return NAN;
    }
}

/* ---- quantiles -------------------------------------------------------- */

/* The untruncated quantile at lower-tail probability t (upper == 0) or
 * upper-tail probability t (upper == 1). */
static double tail_quantile(const rd_dist *d, double t, int upper)
{
    if (t > 0.5) { /* exact (Sterbenz): switch to the smaller tail */
        t = 1.0 - t;
        upper = !upper;
    }
    if (!(t > 0.0)) /* an underflowed truncated mapping */
        t = DBL_TRUE_MIN;
    switch (d->family) {
    case RD_NORMAL: {
        /* rm_ndtri, not GSL: bit-identical on every CPU (rng_math.h) */
        double z = rm_ndtri(t); /* symmetric: Qinv(t) = -z */
        return upper ? d->a - d->b * z : d->a + d->b * z;
    }
    case RD_LOGNORMAL: {
        double z = rm_ndtri(t);
        return rm_exp(upper ? d->a - d->b * z : d->a + d->b * z);
    }
    case RD_UNIFORM:
        return upper ? d->b - t * (d->b - d->a) : d->a + t * (d->b - d->a);
    case RD_TRIANGULAR: {
        double w = d->c - d->a, left = d->b - d->a, right = d->c - d->b;
        /* Each side of the mode has a closed form in its own tail's
         * probability; past the mode the other tail is 1 - t. */
        if (!upper)
            return t * w <= left ? d->a + sqrt(t * w * left)
                                 : d->c - sqrt((1.0 - t) * w * right);
        return t * w <= right ? d->c - sqrt(t * w * right)
                              : d->a + sqrt((1.0 - t) * w * left);
    }
    case RD_PERT:
    case RD_BETA: {
        double al, be, lo, hi;
        beta_std(d, &al, &be, &lo, &hi);
        int reflected; /* y = 1 - x when x > 1/2 */
        double y = rsp_beta_inv(al, be, t, upper, &reflected);
        return reflected ? hi - (hi - lo) * y : lo + (hi - lo) * y;
    }
    case RD_GAMMA:
        return d->b * rsp_gamma_inv(d->a, t, upper);
    case RD_CONST:
    default:
        return d->a;
    }
}

double rd_quantile(const rd_dist *d, double u)
{
    if (d->family == RD_CONST)
        return d->a;
    /* Outside (0, 1) is a caller's error; answer the nearest valid u
     * rather than an infinity. */
    if (!(u > 0.0))
        u = 0x1p-53;
    if (!(u < 1.0))
        u = 1.0 - 0x1p-53;
    double w = d->Fmax - d->Fmin, x;
    if (u <= 0.5)
        x = tail_quantile(d, d->Fmin + u * w, 0);
    else
        x = tail_quantile(d, (1.0 - d->Fmax) + (1.0 - u) * w, 1);
    if (isinf(x)) /* e.g. exp overflow for a huge sigma */
        x = copysign(DBL_MAX, x);
    double lo, hi;
    rd_support(d, &lo, &hi);
    /* Guards rounding only: F^-1 of a probability inside [Fmin, Fmax]
     * lies inside [tmin, tmax] up to the last bit. */
    if (x < lo)
        x = lo;
    if (x > hi)
        x = hi;
    return x;
}

/* ---- public ----------------------------------------------------------- */

static rd_dist make(rd_family f, double a, double b, double c)
{
    rd_dist d;
    d.family = f;
    d.a = a;
    d.b = b;
    d.c = c;
    d.lo = 0.0;
    d.hi = 1.0;
    d.tmin = -INFINITY;
    d.tmax = INFINITY;
    d.Fmin = 0.0;
    d.Fmax = 1.0;
    d.per_year = 0;
    return d;
}

rd_dist rd_const(double v) { return make(RD_CONST, v, 0.0, 0.0); }
rd_dist rd_normal(double mean, double sd) { return make(RD_NORMAL, mean, sd, 0.0); }

rd_dist rd_normal_p5p95(double p5, double p95)
{
    /* p95 <= p5 gives sd <= 0, which rd_prepare rejects. */
    return make(RD_NORMAL, 0.5 * (p5 + p95), (p95 - p5) / (2.0 * RD_Z95), 0.0);
}

rd_dist rd_lognormal(double mu, double sigma)
{
    return make(RD_LOGNORMAL, mu, sigma, 0.0);
}

rd_dist rd_lognormal_p5p95(double p5, double p95)
{
    /* p5 <= 0 has no logarithm: NaN parameters, which rd_prepare rejects
     * (as it rejects sigma <= 0 from p95 <= p5). */
    if (!(p5 > 0.0))
        return make(RD_LOGNORMAL, NAN, NAN, 0.0);
    double l5 = log(p5), l95 = log(p95);
    return make(RD_LOGNORMAL, 0.5 * (l5 + l95), (l95 - l5) / (2.0 * RD_Z95), 0.0);
}

rd_dist rd_uniform(double min, double max) { return make(RD_UNIFORM, min, max, 0.0); }

rd_dist rd_triangular(double min, double mode, double max)
{
    return make(RD_TRIANGULAR, min, mode, max);
}

rd_dist rd_pert(double min, double mode, double max)
{
    return make(RD_PERT, min, mode, max);
}

rd_dist rd_beta(double alpha, double beta, double lo, double hi)
{
    rd_dist d = make(RD_BETA, alpha, beta, 0.0);
    d.lo = lo;
    d.hi = hi;
    return d;
}

rd_dist rd_gamma(double shape, double scale) { return make(RD_GAMMA, shape, scale, 0.0); }

#define FAIL(...) do { \
        if (err && errlen) snprintf(err, errlen, __VA_ARGS__); \
        return -1; \
    } while (0)
#define NEED_FINITE(v, name) do { if (!isfinite(v)) FAIL("%s must be a finite number", name); } while (0)
#define NEED_POSITIVE(v, name) do { NEED_FINITE(v, name); \
        if (!((v) > 0.0)) FAIL("%s must be > 0", name); } while (0)

int rd_prepare(rd_dist *d, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    switch (d->family) {
    case RD_CONST:
        NEED_FINITE(d->a, "value");
        d->Fmin = 0.0;
        d->Fmax = 1.0;
        return 0; /* truncation ignored */
    case RD_NORMAL:
        NEED_FINITE(d->a, "mean");
        NEED_POSITIVE(d->b, "sd");
        break;
    case RD_LOGNORMAL:
        NEED_FINITE(d->a, "mu");
        NEED_POSITIVE(d->b, "sigma");
        break;
    case RD_UNIFORM:
        NEED_FINITE(d->a, "min");
        NEED_FINITE(d->b, "max");
        if (!(d->a < d->b))
            FAIL("min must be < max");
        break;
    case RD_TRIANGULAR:
    case RD_PERT:
        NEED_FINITE(d->a, "min");
        NEED_FINITE(d->b, "mode");
        NEED_FINITE(d->c, "max");
        if (!(d->a < d->c))
            FAIL("min must be < max");
        if (!(d->a <= d->b && d->b <= d->c))
            FAIL("mode must be in [min, max]");
        /* A range so wide that max - min overflows cannot be scaled. */
        if (!isfinite(d->c - d->a))
            FAIL("max - min must be a finite number");
        break;
    case RD_BETA:
        NEED_POSITIVE(d->a, "a");
        NEED_POSITIVE(d->b, "b");
        /* The incomplete beta and gamma (rng_special.h) take O(sqrt(shape))
         * terms near the mode: 1e5 keeps a quantile within tens of
         * microseconds. So narrow a distribution is a normal in all but
         * name. */
        if (d->a > RD_SHAPE_MAX || d->b > RD_SHAPE_MAX)
            FAIL("a and b must be <= " STR(RD_SHAPE_MAX));
        NEED_FINITE(d->lo, "min");
        NEED_FINITE(d->hi, "max");
        if (!(d->lo < d->hi))
            FAIL("min must be < max");
        if (!isfinite(d->hi - d->lo))
            FAIL("max - min must be a finite number");
        break;
    case RD_GAMMA:
        NEED_POSITIVE(d->a, "shape");
        if (d->a > RD_SHAPE_MAX)
            FAIL("shape must be <= " STR(RD_SHAPE_MAX));
        NEED_POSITIVE(d->b, "scale");
        break;
    default:
        FAIL("unknown distribution family");
    }
    if (isnan(d->tmin) || isnan(d->tmax))
        FAIL("truncation bounds must be numbers");
    if (!(d->tmin < d->tmax))
        FAIL("truncation min must be < max");
    double fmin = cdf_raw(d, d->tmin), fmax = cdf_raw(d, d->tmax);
    if (!(fmax - fmin > 0.0))
        FAIL("truncation [%g, %g] has probability 0 under this distribution",
             d->tmin, d->tmax);
    d->Fmin = fmin;
    d->Fmax = fmax;
    return 0;
}

int rd_is_const(const rd_dist *d) { return d->family == RD_CONST; }

double rd_cdf(const rd_dist *d, double x)
{
    if (d->family == RD_CONST)
        return cdf_raw(d, x);
    if (isnan(x))
        return NAN;
    if (x < d->tmin)
        return 0.0;
    if (x >= d->tmax)
        return 1.0;
    double p = (cdf_raw(d, x) - d->Fmin) / (d->Fmax - d->Fmin);
    return p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
}

double rd_mean_untruncated(const rd_dist *d)
{
    switch (d->family) {
    case RD_CONST:
    case RD_NORMAL:
        return d->a;
    case RD_LOGNORMAL:
        return exp(d->a + 0.5 * d->b * d->b);
    case RD_UNIFORM:
        return 0.5 * (d->a + d->b);
    case RD_TRIANGULAR:
        return (d->a + d->b + d->c) / 3.0;
    case RD_PERT:
        return (d->a + 4.0 * d->b + d->c) / 6.0;
    case RD_BETA:
        return d->lo + (d->hi - d->lo) * d->a / (d->a + d->b);
    case RD_GAMMA:
        return d->a * d->b;
    default:
        return NAN;
    }
}

void rd_support(const rd_dist *d, double *lo, double *hi)
{
    family_support(d, lo, hi);
    if (d->family == RD_CONST)
        return;
    if (d->tmin > *lo)
        *lo = d->tmin;
    if (d->tmax < *hi)
        *hi = d->tmax;
}

const char *rd_family_name(rd_family f)
{
    switch (f) {
    case RD_CONST: return "constant";
    case RD_NORMAL: return "normal";
    case RD_LOGNORMAL: return "lognormal";
    case RD_UNIFORM: return "uniform";
    case RD_TRIANGULAR: return "triangular";
    case RD_PERT: return "pert";
    case RD_BETA: return "beta";
    case RD_GAMMA: return "gamma";
    default: return "unknown";
    }
}
