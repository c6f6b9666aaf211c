/* rng_special: log-gamma, the regularised incomplete gamma and beta
 * functions and their inverses, bit-for-bit the same on every CPU and
 * libm (prefix rsp_).
 *
 * Why: the beta, PERT and gamma quantiles used to call GSL's incomplete
 * beta and gamma, which call libm's exp, log, pow and lgamma; glibc picks
 * those at run time by CPU features, so two nodes of one cluster could
 * draw different last bits. Everything here is built from rng_math.h's
 * rm_exp and rm_log, sqrt, and IEEE-754 +, -, *, / only, with fixed
 * constants, and the build forbids FMA contraction (-ffp-contract=off):
 * each result is a pure function of its arguments' bits. Loops stop on
 * rules that read only computed values, so the same inputs take the same
 * path everywhere. The test special_functions_call_no_libm checks that
 * the compiled functions call no libm or GSL function, and test_special
 * that they give recorded bits (the same with GCC and clang, -O0 to -O3,
 * AVX-512 and baseline x86-64).
 *
 * Header-only (static inline), like rng_math.h. Thread-safe: no state.
 *
 * Methods.
 *  - s(x) = ln Gamma(x) - (x - 1/2) ln x + x - ln sqrt(2 pi), Stirling's
 *    remainder: its asymptotic series (Bernoulli numbers) for x >= 8, and
 *    below, s(x) = s(x + 1) + g(x), where g(x) = (x + 1/2) ln(1 + 1/x) - 1
 *    = sum_k u^2k / (2k + 1), u = 1/(2x + 1), a series of positive terms
 *    (no cancellation).
 *  - Prefactors in Temme's form (as in DiDonato and Morris, ACM TOMS 12,
 *    1986, and TOMS 708): x^a e^-x / Gamma(a + 1) =
 *    exp(a phi((x - a)/a) - s(a)) / sqrt(2 pi a), and x^a (1 - x)^b / B(a, b)
 *    = sqrt(ab / (2 pi n)) exp(a phi(-l/a) + b phi(l/b) + s(n) - s(a) - s(b)),
 *    n = a + b, l = a - n x, phi(y) = ln(1 + y) - y (an atanh series for
 *    |y| <= 1/2). The large terms a ln x and ln Gamma(a) never meet, so the
 *    error stays near what rounding x itself would cause, for any shape.
 *  - Gamma: P by its power series for x < a + 1, else Q by Legendre's
 *    continued fraction (modified Lentz). Beta (on x <= 1/2; above, the
 *    law of 1 - X): below the switch point (a + 1)/(n + 2), P from
 *    Numerical Recipes' betacf (modified Lentz); above it, Q from
 *    DiDonato and Morris's continued fraction (TOMS 708's BFRAC), which
 *    takes x and a - n x as such where betacf would need 1 - x rounded.
 *    The other tail is 1 minus the one computed.
 *  - Inverses: Halley's method on ln T(e^s) (T the tail solved for, s =
 *    ln x), kept inside a shrinking bracket with geometric bisection as
 *    the fallback (the "rtsafe" safeguard of Numerical Recipes, 2nd ed.,
 *    section 9.4). x is carried as x, not as s: a step multiplies it by
 *    e^step, so no precision is lost to the size of ln x. Starting
 *    values: Wilson-Hilferty or a power law (gamma), AS 109's (beta).
 *
 * Accuracy (relative; eps = 2^-52), measured against mpmath at 50 digits
 * while developing this, and by tests/test_special.c against GSL 2.7.1
 * and closed forms:
 *  - quantiles: within 1.3e-14 of the exact ones for beta a, b in
 *    [0.5, 100] and gamma shape in [0.3, 100] at tail probabilities
 *    1e-10 .. 1/2 (GSL's agree with them to 2.4e-14, being about as far
 *    from exact), within 2e-15 for shapes 1e3 .. 1e5 (where GSL's
 *    gamma Qinv is off by up to 7e-4); in farther tails the error grows
 *    to about eps |ln t| (1e-13 at t = 1e-300; GSL's gamma Qinv is 78%
 *    off there for shape 0.3);
 *  - the incomplete functions: within 9e-15 of the exact values on that
 *    grid for tails >= 1e-10, and in general about 1e-15 + 2 eps |ln T|
 *    (T = e^E with E a sum of rounded terms as large as ln T), plus what
 *    rounding x itself moves T by (eps d ln T / d ln x, large only for
 *    large shapes away from the mode);
 *  - small shapes, below about 0.3: the upper tail near the mode is
 *    computed as 1 - P and keeps about 1e-16 / Q: measured 1e-13 for the
 *    CDF at shape 0.01, 3.5e-13 for a quantile at shape 0.001 (GSL's
 *    gamma Qinv was 285 times too large there). A quantile for a very
 *    small shape is that ill-conditioned anyway: its error grows like
 *    eps / a.
 *
 * Cost: series and continued fractions take O(sqrt(max shape)) terms
 * near the mode (255 at most for beta(1e5, 1e5)); a quantile takes 2 to 4
 * evaluations on average, 15 at most seen (far tails), and a beta one
 * more to find its side of 1/2. Measured: 1 to
 * 2 microseconds a quantile for shapes up to 100, 4 to 12 for 1e4 to 1e5
 * (GSL's route took 2 to 13 and 15 to 77).
 */
#ifndef RUNWAY_RNG_SPECIAL_H
#define RUNWAY_RNG_SPECIAL_H

#include <float.h>
#include <math.h>

#include "rng/rng_math.h"

#define RSP_LN_SQRT_2PI 0.91893853320467274178032973640562 /* ln sqrt(2 pi) */
#define RSP_2PI 6.283185307179586476925286766559            /* 2 pi */
#define RSP_INV_2PI 0.15915494309189533576888376337251     /* 1 / (2 pi) */

/* ---- elementary helpers ----------------------------------------------- */

/* ln(1 + x) for x > -1, accurate for small x: Goldberg's correction
 * (What every computer scientist should know..., theorem 4) of ln(u),
 * u = 1 + x rounded, by x / (u - 1). */
static inline double rsp_log1p(double x)
{
    double u = 1.0 + x;
    if (u == 1.0)
        return x;
    if (u == INFINITY)
        return rm_log(x);
    return rm_log(u) * (x / (u - 1.0));
}

/* ln(num / den) for num, den > 0, from the quotient when it is a normal
 * double (one rounding), else as a difference of logs (no overflow or
 * underflow). */
static inline double rsp_lnratio(double num, double den)
{
    double r = num / den;
    if (r >= DBL_MIN && r <= DBL_MAX)
        return rm_log(r);
    return rm_log(num) - rm_log(den);
}

/* sum_{k=0}^{17} w^k / (2k + 3): within 1e-18 relative of the infinite
 * sum for 0 <= w <= 1/9. */
static inline double rsp_atanh_tail(double w)
{
    double p = 1.0 / 37;
    p = p * w + 1.0 / 35;
    p = p * w + 1.0 / 33;
    p = p * w + 1.0 / 31;
    p = p * w + 1.0 / 29;
    p = p * w + 1.0 / 27;
    p = p * w + 1.0 / 25;
    p = p * w + 1.0 / 23;
    p = p * w + 1.0 / 21;
    p = p * w + 1.0 / 19;
    p = p * w + 1.0 / 17;
    p = p * w + 1.0 / 15;
    p = p * w + 1.0 / 13;
    p = p * w + 1.0 / 11;
    p = p * w + 1.0 / 9;
    p = p * w + 1.0 / 7;
    p = p * w + 1.0 / 5;
    return p * w + 1.0 / 3;
}

/* phi(y) = ln(1 + y) - y for |y| <= 1/2, to a few ulp relative: with
 * t = y / (2 + y) (|t| <= 1/3), ln(1 + y) = 2 atanh t and y - 2t = t y, so
 * phi = -t y + 2 t^3 (1/3 + t^2/5 + ...): two terms of the same order as
 * the result, no cancellation. */
static inline double rsp_log1pmx_small(double y)
{
    double t = y / (2.0 + y);
    double w = t * t;
    return -t * y + 2.0 * t * w * rsp_atanh_tail(w);
}

/* ---- log-gamma -------------------------------------------------------- */

/* Stirling's remainder s(x) = ln Gamma(x) - (x - 1/2) ln x + x - ln sqrt(2 pi)
 * for x > 0. For x >= 8 its asymptotic series sum B_2k / (2k (2k-1) x^(2k-1))
 * to k = 10 (truncation below 2e-18); below, s(x) = s(x + 1) + g(x) with
 *   g(x) = (x + 1/2) ln(1 + 1/x) - 1 = atanh(u)/u - 1 = sum_{k>=1} u^2k/(2k+1),
 * u = 1/(2x + 1) (u <= 1/3 for x >= 1), or for x < 1 the closed form with
 * ln(1 + 1/x) = ln(1 + x) - ln x (no overflow for tiny x). Absolute error
 * about 1e-16 for x >= 1, 5e-16 below (relative to |s(x)| ~ 0.5 |ln x|). */
static inline double rsp_stirling(double x)
{
    double acc = 0.0;
    if (x < 1.0) {
        acc = (x + 0.5) * (rsp_log1p(x) - rm_log(x)) - 1.0;
        x += 1.0;
    }
    while (x < 8.0) {
        double u = 1.0 / (2.0 * x + 1.0), w = u * u;
        acc += w * rsp_atanh_tail(w);
        x += 1.0;
    }
    double z = 1.0 / x, z2 = z * z;
    double p = -174611.0 / 125400;
    p = p * z2 + 43867.0 / 244188;
    p = p * z2 - 3617.0 / 122400;
    p = p * z2 + 1.0 / 156;
    p = p * z2 - 691.0 / 360360;
    p = p * z2 + 1.0 / 1188;
    p = p * z2 - 1.0 / 1680;
    p = p * z2 + 1.0 / 1260;
    p = p * z2 - 1.0 / 360;
    p = p * z2 + 1.0 / 12;
    return acc + p * z;
}

/* ln Gamma(x) for x > 0, absolute error a few ulp of the terms
 * (x - 1/2) ln x and x (so about 1e-15 near x = 1 and 2, where it is 0). */
static inline double rsp_lgamma(double x)
{
    return (x - 0.5) * rm_log(x) - x + RSP_LN_SQRT_2PI + rsp_stirling(x);
}

/* ---- the incomplete gamma function ------------------------------------ */

/* Hard caps on terms: never reached for shapes up to rd_prepare's 1e5
 * (which need a few thousand near the mode); they only bound the loops. */
#define RSP_MAXTERMS 200000
/* Lentz's guard against a zero denominator (Numerical Recipes' FPMIN). */
#define RSP_FPMIN 0x1p-1000

/* One step of modified Lentz for a continued fraction's term an / (bn +
 * ...): updates c and d and returns the factor the value is multiplied by
 * (1 when converged). Shared by the gamma and the beta fractions. */
static inline double rsp_lentz_step(double an, double bn, double *c, double *d)
{
    double dd = an * *d + bn;
    dd = fabs(dd) < RSP_FPMIN ? RSP_FPMIN : dd;
    double cc = bn + an / *c;
    cc = fabs(cc) < RSP_FPMIN ? RSP_FPMIN : cc;
    *c = cc;
    *d = 1.0 / dd;
    return *d * cc;
}

/* A gamma shape's constants, computed once per shape. */
typedef struct {
    double a;
    double lnpre; /* -s(a) - ln sqrt(2 pi a) */
} rsp_gamma_shape;

static inline rsp_gamma_shape rsp_gamma_shape_make(double a)
{
    rsp_gamma_shape g;
    g.a = a;
    g.lnpre = -rsp_stirling(a) - 0.5 * rm_log(RSP_2PI * a);
    return g;
}

/* ln(x^a e^-x / Gamma(a + 1)) for x > 0 as a phi((x - a)/a) - s(a) -
 * ln sqrt(2 pi a), Gamma(a + 1) being sqrt(2 pi a) a^a e^-a e^s(a). */
static inline double rsp_gamma_lnpref(const rsp_gamma_shape *g, double x)
{
    double a = g->a, d = x - a; /* exact within [a/2, 2a] (Sterbenz) */
    double e = fabs(d) <= 0.5 * a ? a * rsp_log1pmx_small(d / a)
                                  : a * rsp_lnratio(x, a) - d;
    return e + g->lnpre;
}

/* P(a, x) and Q(a, x) = 1 - P, and x f(x) (f the gamma(a, 1) density), at
 * x >= 0. The tail computed directly is the one of at most about 1/2 (P
 * below a + 1, Q above); the other is 1 minus it. */
static inline void rsp_gamma_eval(const rsp_gamma_shape *g, double x, double *p, double *q,
                                  double *xf)
{
    const double a = g->a;
    if (!(x > 0.0)) {
        *p = 0.0, *q = 1.0, *xf = 0.0;
        return;
    }
    if (x == INFINITY) {
        *p = 1.0, *q = 0.0, *xf = 0.0;
        return;
    }
    double D = rm_exp(rsp_gamma_lnpref(g, x)); /* x^a e^-x / Gamma(a + 1) */
    *xf = a * D;
    if (x < a + 1.0) {
        /* P = D sum_{k>=0} x^k / ((a+1)...(a+k)); the terms fall from the
         * first (x / (a + k) < 1) and the rest of the sum after a term is
         * below term x / (a + k + 1 - x): stop when that is under 2^-54. */
        double sum = 1.0, term = 1.0, ap = a;
        for (int k = 0; k < RSP_MAXTERMS; k++) {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if (term * x <= sum * (ap + 1.0 - x) * 0x1p-54)
                break;
        }
        double P = D * sum;
        P = P < 1.0 ? P : 1.0;
        *p = P, *q = 1.0 - P;
    } else {
        /* Q = a D / (x + 1 - a - 1(1 - a)/(x + 3 - a - 2(2 - a)/(x + 5 - a - ...))),
         * by modified Lentz (Numerical Recipes' gcf). */
        double bb = x + 1.0 - a, c = 1.0 / RSP_FPMIN, d = 1.0 / bb, h = d;
        for (int i = 1; i < RSP_MAXTERMS; i++) {
            double an = -(double)i * ((double)i - a);
            bb += 2.0;
            double del = rsp_lentz_step(an, bb, &c, &d);
            h *= del;
            if (fabs(del - 1.0) <= 2.0 * DBL_EPSILON)
                break;
        }
        double Q = a * D * h;
        Q = Q < 1.0 ? Q : 1.0;
        *q = Q, *p = 1.0 - Q;
    }
}

/* The regularised incomplete gamma functions P(a, x) (lower) and Q(a, x)
 * (upper), a > 0, x >= 0; each, where it is below 1/2, within about
 * 1e-15 + 2 eps |ln T| relative (T the value; less for Q near the mode
 * of a shape below 0.3, see the top of this file). */
static inline void rsp_gamma_pq(double a, double x, double *p, double *q)
{
    rsp_gamma_shape g = rsp_gamma_shape_make(a);
    double xf;
    rsp_gamma_eval(&g, x, p, q, &xf);
}

/* ---- the incomplete beta function ------------------------------------- */

/* A beta shape's constants, computed once per (a, b). */
typedef struct {
    double a, b, n; /* n = a + b */
    double x0;      /* a / n */
    double lnpre;   /* s(n) - s(a) - s(b) + ln sqrt(ab / (2 pi n)) */
} rsp_beta_shape;

static inline rsp_beta_shape rsp_beta_shape_make(double a, double b)
{
    rsp_beta_shape s;
    s.a = a, s.b = b, s.n = a + b, s.x0 = a / s.n;
    double r = s.x0 * b * RSP_INV_2PI;
    double lr = r >= DBL_MIN ? rm_log(r)
                             : rm_log(s.x0) + rm_log(b) + rm_log(RSP_INV_2PI);
    s.lnpre = rsp_stirling(s.n) - rsp_stirling(a) - rsp_stirling(b) + 0.5 * lr;
    return s;
}

/* The same shape with a and b exchanged: the law of 1 - X. */
static inline rsp_beta_shape rsp_beta_shape_swap(const rsp_beta_shape *s)
{
    rsp_beta_shape r = *s;
    r.a = s->b, r.b = s->a, r.x0 = s->b / s->n;
    return r;
}

/* Numerical Recipes' betacf (2nd ed., section 6.4) by modified Lentz: the
 * continued fraction cf with I_x(a, b) = x^a (1-x)^b cf / (a B(a, b)),
 * quick for x < (a + 1)/(a + b + 2). */
static inline double rsp_beta_cf(double a, double b, double x)
{
    const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    d = fabs(d) < RSP_FPMIN ? RSP_FPMIN : d;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m < RSP_MAXTERMS; m++) {
        double md = (double)m, m2 = 2.0 * md;
        double aa = md * (b - md) * x / ((qam + m2) * (a + m2));
        h *= rsp_lentz_step(aa, 1.0, &c, &d);
        aa = -(a + md) * (qab + md) * x / ((a + m2) * (qap + m2));
        double del = rsp_lentz_step(aa, 1.0, &c, &d);
        h *= del;
        if (fabs(del - 1.0) <= 2.0 * DBL_EPSILON)
            break;
    }
    return h;
}

/* DiDonato and Morris's continued fraction (ACM TOMS 18, 1992, algorithm
 * 708, their BFRAC): r with I_x(a, b) = x^a y^b r / B(a, b), y = 1 - x,
 * for lam = a - (a + b) x >= 0, by the forward recurrence
 * A_k = alpha_k A_(k-2) + beta_k A_(k-1) (and B_k alike), rescaled every
 * step. Unlike betacf it takes lam and y as well as x: the terms that
 * cancel near the mean are written with them (1 + lam, n (y + 1)), so a
 * y = 1 - x that is exact while x is not (x near 1) loses nothing; x
 * only multiplies. */
static inline double rsp_beta_cf_dm(double a, double b, double x, double y, double lam)
{
    const double c = 1.0 + lam, c0 = b / a, c1 = 1.0 + 1.0 / a, yp1 = y + 1.0;
    double p = 1.0, s = a + 1.0;
    double an = 0.0, bn = 1.0, anp1 = 1.0, bnp1 = c / c1, r = c1 / c;
    for (int k = 1; k < RSP_MAXTERMS; k++) {
        double n = (double)k, t = n / a, w = n * (b - n) * x, e = a / s;
        double alpha = p * (p + c0) * e * e * (w * x);
        e = (1.0 + t) / (c1 + t + t);
        double beta = n + w / s + e * (c + n * yp1);
        p = 1.0 + t;
        s += 2.0;
        double u = alpha * an + beta * anp1;
        an = anp1;
        anp1 = u;
        u = alpha * bn + beta * bnp1;
        bn = bnp1;
        bnp1 = u;
        double r0 = r;
        r = anp1 / bnp1;
        if (fabs(r - r0) <= 2.0 * DBL_EPSILON * r)
            break;
        an /= bnp1;
        bn /= bnp1;
        anp1 = r;
        bnp1 = 1.0;
    }
    return r;
}

/* I_v(a, b), 1 - I_v(a, b) and v f(v) (f the beta(a, b) density) at
 * 0 <= v <= 1/2. With l = a - n v, e1 = -l/a and e2 = l/b:
 *   v^a (1-v)^b / B(a, b) = exp(a phi(e1) + b phi(e2) + lnpre),
 * because a ln(v/x0) + b ln((1-v)/y0) = a phi(e1) + b phi(e2) (the linear
 * terms a e1 + b e2 cancel exactly), x0 = a/n, y0 = b/n, and Stirling
 * gives x0^a y0^b / B(a, b) = sqrt(ab / (2 pi n)) e^(s(n) - s(a) - s(b)).
 * l carries one rounding of n v, the error rounding v itself would
 * cause; 1 + e1 = v/x0 and 1 + e2 = (b + l)/b are formed directly where
 * |e| > 1/2, so no logarithm sees a cancelled argument. For v <= 1/2,
 * e2 >= -1/2, so b + l >= b/2.
 * Below the switch point (a + 1)/(n + 2), P comes from betacf on v;
 * above it (then a <= b and l <= 0), Q = I_(1-v)(b, a) from DiDonato and
 * Morris's fraction with lam = -l: betacf there would need 1 - v, whose
 * rounding is an absolute error of eps in v (1e-11 relative for
 * beta(0.1, 1e5), as GSL shows), while theirs takes v and -l. Just above
 * the mean, where their fraction is slow for a small a, betacf is used. */
static inline void rsp_beta_eval(const rsp_beta_shape *s, double v, double *p, double *q,
                                 double *vf)
{
    const double a = s->a, b = s->b;
    if (!(v > 0.0)) {
        *p = 0.0, *q = 1.0, *vf = 0.0;
        return;
    }
    double l = a - s->n * v;
    double e1 = -l / a, e2 = l / b;
    double t1 = fabs(e1) <= 0.5 ? a * rsp_log1pmx_small(e1) : a * rsp_lnratio(v, s->x0) + l;
    double t2 = fabs(e2) <= 0.5 ? b * rsp_log1pmx_small(e2) : b * rsp_lnratio(b + l, b) - l;
    double pre = rm_exp(t1 + t2 + s->lnpre); /* v^a (1-v)^b / B(a, b) */
    *vf = pre / (1.0 - v);
    if (v < (a + 1.0) / (s->n + 2.0)) {
        double P = pre * rsp_beta_cf(a, b, v) / a;
        P = P < 1.0 ? P : 1.0;
        *p = P, *q = 1.0 - P;
    } else {
        double Q = pre * rsp_beta_cf_dm(b, a, 1.0 - v, v, l < 0.0 ? -l : 0.0);
        Q = Q < 1.0 ? Q : 1.0;
        *q = Q, *p = 1.0 - Q;
    }
}

/* The regularised incomplete beta function I_x(a, b) (lower tail) and
 * 1 - I_x(a, b) (upper), a, b > 0, x in [0, 1]; accuracy as for
 * rsp_gamma_pq. Above x = 1/2 it is computed as the law of 1 - X at
 * 1 - x (exact there). */
static inline void rsp_beta_pq(double a, double b, double x, double *p, double *q)
{
    rsp_beta_shape s = rsp_beta_shape_make(a, b);
    double vf;
    if (!(x > 0.0)) {
        *p = 0.0, *q = 1.0;
    } else if (!(x < 1.0)) {
        *p = 1.0, *q = 0.0;
    } else if (x <= 0.5) {
        rsp_beta_eval(&s, x, p, q, &vf);
    } else {
        rsp_beta_shape r = rsp_beta_shape_swap(&s);
        rsp_beta_eval(&r, 1.0 - x, q, p, &vf);
    }
}

/* ---- inversion -------------------------------------------------------- */

/* The tail T a quantile solves for: P or Q of a gamma, or, on v <= 1/2,
 * of a beta. */
typedef struct {
    int beta;  /* 1: beta (bs), 0: gamma (gs) */
    int upper; /* T = Q (falls with v), else T = P */
    rsp_gamma_shape gs;
    rsp_beta_shape bs;
} rsp_tail;

/* T(v), L = d ln T / d ln v = +-v f(v) / T and m = d ln(v f(v)) / d ln v. */
static inline void rsp_tail_eval(const rsp_tail *c, double v, double *T, double *L, double *m)
{
    double p, q, vf;
    if (c->beta) {
        rsp_beta_eval(&c->bs, v, &p, &q, &vf);
        *m = c->bs.a - (c->bs.b - 1.0) * v / (1.0 - v);
    } else {
        rsp_gamma_eval(&c->gs, v, &p, &q, &vf);
        *m = c->gs.a - v;
    }
    *T = c->upper ? q : p;
    *L = (c->upper ? -vf : vf) / *T;
}

/* v in [vlo, vhi] with T(v) = t, from the guess v. Works on
 * h(s) = ln(T(e^s) / t), s = ln v: a power-law tail is a straight line
 * there, and Newton's step is exact on it. Each step is Halley's,
 * -h/L / (1 + (-h/L)(m - L)/2) (h' = L, h'' = L (m - L)), or Newton's
 * where that correction is large; the bracket [vlo, vhi] shrinks with
 * every evaluation, and a step that leaves it or does not at least halve
 * the step before last is replaced by geometric bisection. v is updated
 * as v e^step (one rounding), so its precision does not depend on the
 * size of ln v. Stops after a step below max(1e-12, 2^-48 / |L|) (the
 * error left is then about step^2 (m - L)/2, below 1e-20 in practice,
 * and 2^-48 / |L| is where rounding in T starts to move the step), or
 * when a step no longer changes v or the bracket is a few ulp wide (a
 * subnormal v has few digits); a pure function of its inputs. */
static inline double rsp_solve(const rsp_tail *c, double t, double v, double vlo, double vhi)
{
    const double sg = c->upper ? -1.0 : 1.0; /* sg h rises with v */
    double dold = INFINITY, dx = INFINITY;
    if (!(v > vlo && v < vhi))
        v = sqrt(vlo) * sqrt(vhi);
    for (int it = 0; it < 400; it++) {
        double T, L, m;
        rsp_tail_eval(c, v, &T, &L, &m);
        double r = T / t;
        double h = r >= 0x1p-900 && r <= 0x1p900 ? rm_log(r) : rm_log(T) - rm_log(t);
        if (h == 0.0)
            return v;
        if (sg * h < 0.0)
            vlo = v;
        else if (sg * h > 0.0)
            vhi = v;
        double step = 0.0, vn = 0.0;
        int ok = isfinite(h) && isfinite(L) && sg * L > 0.0;
        if (ok) {
            double dn = -h / L;
            double k = 0.5 * dn * (m - L);
            step = fabs(k) < 0.5 ? dn / (1.0 + k) : dn;
            double tol = 0x1p-48 / fabs(L);
            tol = tol > 1e-12 ? tol : 1e-12;
            vn = v * rm_exp(step);
            if (fabs(step) <= tol || vn == v) /* converged, or v subnormal */
                return vn;
            ok = vn > vlo && vn < vhi && fabs(step) <= 0.5 * fabs(dold);
        }
        if (!ok) {
            vn = sqrt(vlo) * sqrt(vhi);
            /* the bracket is a few ulp wide (or subnormal spacing) */
            if (!(vhi > vlo * (1.0 + 4.0 * DBL_EPSILON)) || vn <= vlo || vn >= vhi)
                return vn;
            step = rsp_lnratio(vn, v);
        }
        dold = dx;
        dx = step;
        v = vn;
    }
    return v;
}

/* x with P(a, x) = t (upper == 0) or Q(a, x) = t (upper == 1), a > 0,
 * t in (0, 1); t > 1/2 is answered from the other tail (1 - t is exact).
 * Starting value: Wilson-Hilferty ((x/a)^(1/3) nearly normal with mean
 * 1 - 1/(9a) and sd 1/(3 sqrt a)) for a >= 1; else the lower tail's
 * power law P ~ x^a / Gamma(a + 1) or the upper tail's
 * Q ~ x^(a-1) e^-x / Gamma(a). */
static inline double rsp_gamma_inv(double a, double t, int upper)
{
    if (t > 0.5) {
        t = 1.0 - t;
        upper = !upper;
    }
    t = t > 0.0 ? t : DBL_TRUE_MIN;
    rsp_tail c;
    c.beta = 0;
    c.upper = upper;
    c.gs = rsp_gamma_shape_make(a);
    double lna = rm_log(a);
    double lg1 = a * lna - a - c.gs.lnpre; /* ln Gamma(a + 1) */
    double z = rm_ndtri(t);                 /* <= 0 */
    if (upper)
        z = -z;
    double wh = 1.0 - 1.0 / (9.0 * a) + z / (3.0 * sqrt(a));
    double x0 = a;
    if (a >= 1.0 && wh > 0.0) {
        x0 = a * wh * wh * wh;
    } else if (!upper) {
        x0 = rm_exp((rm_log(t) + lg1) / a);
        x0 = x0 < a ? x0 : a;
    } else {
        double x1 = -rm_log(t) - (lg1 - lna);
        if (x1 > 1.0)
            x1 += (a - 1.0) * rm_log(x1);
        x0 = x1 > a ? x1 : a;
    }
    x0 = x0 > DBL_MIN ? x0 : DBL_MIN;
    return rsp_solve(&c, t, x0, DBL_TRUE_MIN, DBL_MAX);
}

/* A starting value for the quantile of beta(p, q) at lower-tail
 * probability al <= 1/2: Cran, Martin and Thomas's AS 109 (Applied
 * Statistics 26, 1977) with Carter's approximation from AS 64, on the
 * exact normal quantile; lnB = ln B(p, q). */
static inline double rsp_beta_guess(double al, double p, double q, double lnB)
{
    double y = -rm_ndtri(al); /* >= 0 */
    if (p > 1.0 && q > 1.0) {
        double r = (y * y - 3.0) / 6.0, s = 1.0 / (p + p - 1.0), t = 1.0 / (q + q - 1.0);
        double h = 2.0 / (s + t);
        double w = y * sqrt(h + r) / h - (t - s) * (r + 5.0 / 6.0 - 2.0 / (3.0 * h));
        return p / (p + q * rm_exp(w + w));
    }
    double r = q + q, t = 1.0 / (9.0 * q);
    double c = 1.0 - t + y * sqrt(t);
    t = r * c * c * c;
    if (t <= 0.0)
        return 1.0 - rm_exp((rsp_log1p(-al) + rm_log(q) + lnB) / q);
    t = (4.0 * p + r - 2.0) / t;
    if (t <= 1.0)
        return rm_exp((rm_log(al * p) + lnB) / p);
    return 1.0 - 2.0 / (t + 1.0);
}

/* The quantile of beta(a, b) at lower-tail (upper == 0) or upper-tail
 * probability t in (0, 1) (t > 1/2 is answered from the other tail).
 * Returns x when it is at most 1/2 (*reflected = 0), else y = 1 - x
 * (*reflected = 1), which keeps its resolution: a double near 1 cannot
 * say how far from 1 it is. Y = 1 - X is beta(b, a), whose lower tail is
 * X's upper tail; which side holds the answer is decided by comparing t
 * with the tail at 1/2 (1/2 itself when a == b). */
static inline double rsp_beta_inv(double a, double b, double t, int upper, int *reflected)
{
    if (t > 0.5) {
        t = 1.0 - t;
        upper = !upper;
    }
    t = t > 0.0 ? t : DBL_TRUE_MIN;
    rsp_beta_shape s = rsp_beta_shape_make(a, b);
    double ph = 0.5, qh = 0.5, vf;
    if (a != b)
        rsp_beta_eval(&s, 0.5, &ph, &qh, &vf);
    double half = upper ? qh : ph;
    if (t == half) {
        *reflected = 0;
        return 0.5;
    }
    int refl = upper ? t < half : t > half;
    *reflected = refl;
    rsp_tail c;
    c.beta = 1;
    c.upper = refl ? !upper : upper;
    c.bs = refl ? rsp_beta_shape_swap(&s) : s;
    double pa = c.bs.a, pb = c.bs.b;
    /* ln B(a, b) = a ln a + b ln b - n ln n - lnpre (Stirling's form) */
    double lnB = a * rm_log(a) + b * rm_log(b) - s.n * rm_log(s.n) - s.lnpre;
    double v0 = c.upper ? 1.0 - rsp_beta_guess(t, pb, pa, lnB) : rsp_beta_guess(t, pa, pb, lnB);
    v0 = v0 < 0.4995 ? v0 : 0.4995;
    v0 = v0 > DBL_MIN ? v0 : DBL_MIN;
    return rsp_solve(&c, t, v0, DBL_TRUE_MIN, 0.5);
}

#endif
