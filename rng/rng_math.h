/* rng_math: exp, log and the normal quantile, bit-for-bit the same on
 * every x86-64 or ARM machine (prefix rm_).
 *
 * Why not libm: glibc picks its exp/log/pow at run time by CPU features
 * (an FMA variant on newer chips), so two nodes of one cluster can differ
 * in the last bit, and a Monte Carlo run would stop being reproducible
 * across machines. These functions use only IEEE-754 +, -, *, /, sqrt and
 * integer bit operations, and the build forbids contraction into FMA
 * (-ffp-contract=off), so each result is fully determined by its argument.
 * They are also branch-light and inline, so loops over paths vectorise.
 *
 * exp and log are table-driven (128-entry tables, rng/rng_math_tables.h,
 * generated and checked by scripts/gen_math_tables.py), the design of
 * ARM's optimized-routines and glibc without their FMA and their branches:
 * a table read and a short polynomial replace the degree-13 Taylor series
 * exp had, and log no longer divides (fdlibm's s = f/(2+f) did; the
 * divider is the slowest vector unit, and the normal quantile needs it
 * too). In a vectorised loop each table read is a gather. The tables hold
 * uint64_t bit patterns, read back with rm_double: by C's aliasing rules
 * (which GCC applies from -O2) no store to a double can then write them,
 * so a loop that stores doubles through pointers that are not restrict
 * still vectorises around the gathers; tables of doubles would stop it
 * ("possible alias involving gather/scatter").
 *
 * Accuracy (tests/test_rng_math.c measures it against glibc and long
 * double expl/logl on dense sweeps of the whole range):
 *   rm_exp    within 0.51 ulp (0.75 for subnormal results); +0 below
 *             about -745.13, +inf above 709.78, NaN at NaN
 *   rm_log    within 0.68 ulp for finite x > 0; -inf at +-0, NaN below 0
 *             and at NaN, +inf at +inf
 *   rm_ndtri  Wichura's AS241 (Applied Statistics 37, 1988), relative
 *             error about 1e-16, for u in (0, 1)
 */
#ifndef RUNWAY_RNG_MATH_H
#define RUNWAY_RNG_MATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rng/rng_math_tables.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

static inline uint64_t rm_bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline double rm_double(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* e^x: with N = 128, k = N e + j the integer nearest x N/ln2 (j in
 * [0, N)) and x = k ln2/N + r, |r| <= ln2/(2N), e^x = 2^e 2^(j/N) e^r.
 *  - k ln2/N is subtracted in two parts, the first of 35 bits so that k
 *    times it is exact: r has only its last rounding error;
 *  - 2^(j/N) = H_j (1 + tail_j) from two tables (the bits of H_j less
 *    j << 45, and tail_j), so e^x = 2^e H_j (1 + tmp) with
 *    tmp = tail_j + r + r^2 (C2 + C3 r + C4 r^2 + C5 r^3), a minimax fit
 *    of absolute error 2^-65.3 to e^r - 1 - r on |r| <= ln2/(2N);
 *  - 2^e is applied in two normal factors, 2^(e - floor(e/2)) folded into
 *    H_j's exponent and 2^floor(e/2) at the last product, so a subnormal
 *    result is rounded once more (hence 0.75 ulp there) and an
 *    overflowing one becomes +inf; out of [-746, 709.79], where k and e
 *    would leave their ranges, the result is selected (0, +inf): selects
 *    at the end rather than clamping x to a constant, which let GCC
 *    specialise the table reads on the clamped path and stopped loops
 *    with unrestricted pointers vectorising.
 * rm_exp(0) = 1 exactly (r = 0, tail_0 = 0). Integer steps are on
 * uint64_t, wrapping, with no signed shifts, so every compiler computes
 * the same bits. */
static inline double rm_exp(double x)
{
    const double shift = 0x1.8p52; /* adding it rounds to an integer */
    double kd = x * RM_EXP_INVLN2N + shift;
    uint64_t kb = rm_bits(kd); /* bits(shift) + k: k in the low bits */
    kd -= shift;
    double r = x - kd * RM_EXP_LN2N_HI; /* exact */
    r = r - kd * RM_EXP_LN2N_LO;
    uint64_t j = kb & ((1u << RM_EXP_TABLE_BITS) - 1);
    /* eh = floor(e/2) << 52 (mod 2^64), from (k + 4096 2N) >> (7 + 1) =
     * floor(e/2) + 4096, whose 4096 << 52 = 2^64 vanishes */
    uint64_t eh = ((kb + ((4096ULL << (RM_EXP_TABLE_BITS + 1)) - rm_bits(shift)))
                   >> (RM_EXP_TABLE_BITS + 1)) << 52;
    /* s1 = 2^(j/N) 2^(e - floor(e/2)): k << 45 adds e to H_j's exponent */
    double s1 = rm_double(RM_EXP_BITS[j] + (kb << (52 - RM_EXP_TABLE_BITS)) - eh);
    double s2 = rm_double(eh + (1023ULL << 52)); /* 2^floor(e/2) */
    double tmp = rm_double(RM_EXP_TAIL[j]) + r
                 + r * r * (RM_EXP_C2 + r * (RM_EXP_C3 + r * (RM_EXP_C4 + r * RM_EXP_C5)));
    double y = (s1 + s1 * tmp) * s2;
    y = x < -746.0 ? 0.0 : y;
    return x >= 709.79 ? INFINITY : y;
}

/* ln x, without a division: x = 2^k z with z in [OFF, 2 OFF), OFF =
 * 0x1.5fp-1, the bits of that range cut into N = 128 subintervals (width
 * 2^-8 below 1, 2^-7 above), and for the one holding z a point c = 1/invc:
 *   ln x = k ln2 + ln c + ln(1 + r),  r = z invc - 1, |r| <= 2^-8.
 *  - invc has 26 significant bits, so that with zhi z's top 27 bits and
 *    zlo = z - zhi, rhi = zhi invc - 1 and rlo = zlo invc are exact; r
 *    is their rounded sum and rerr its error, so the reduction loses
 *    nothing without an FMA;
 *  - logc is ln c rounded to double, c chosen (near the subinterval's
 *    centre) so that ln c is within 2^-67 of logc; k ln2_hi is exact and
 *    its sum with logc, then with r, are split exactly into hi + lo
 *    (Fast2Sum: the larger term first);
 *  - ln(1 + r) - r by r^2 (A0 + A1 r + ... + A4 r^4), a minimax fit of
 *    relative error 2^-55.5 on |r| <= 2^-8;
 *  - the result is hi + (lo + the polynomial), one last rounding.
 * The subinterval holding 1 is centred on it, [1 - 2^-9, 1 + 2^-8), with
 * invc = 1 and logc = 0: near 1 the result is r + r^2 (...) with r = x - 1
 * exact, as accurate as the small result needs, and ln 1 = +0. Subnormal
 * x is scaled by 2^52 first. */
static inline double rm_log(double x)
{
    int sub = x < 0x1p-1022;
    uint64_t ix = rm_bits(sub ? x * 0x1p52 : x) - (sub ? 52ULL << 52 : 0);
    uint64_t tmp = ix - RM_LOG_OFF; /* k << 52 plus z's bits less OFF's */
    uint64_t i = (tmp >> (52 - RM_LOG_TABLE_BITS)) & ((1u << RM_LOG_TABLE_BITS) - 1);
    int64_t k = (int64_t)((tmp + (2048ULL << 52)) >> 52) - 2048; /* tmp >> 52, signed */
    uint64_t iz = ix - (tmp & (0xfffULL << 52));
    double z = rm_double(iz);
    double zhi = rm_double(iz & ~((1ULL << 26) - 1)); /* z's top 27 bits */
    double zlo = z - zhi;
    double invc = rm_double(RM_LOG_INVC[i]), logc = rm_double(RM_LOG_LOGC[i]);
    double rhi = zhi * invc - 1.0; /* exact */
    double rlo = zlo * invc;       /* exact */
    double r = rhi + rlo;
    double rerr = rhi - r + rlo; /* r + rerr = rhi + rlo exactly */
    /* (double)k by the bits of 2^52 + 2^51 + k, exact for |k| < 2^51:
     * a conversion from a 64-bit integer has no vector instruction
     * before AVX-512DQ, and stopped this loop vectorising with AVX2 */
    double kd = rm_double(rm_bits(0x1.8p52) + (uint64_t)k) - 0x1.8p52;
    double kh = kd * RM_LOG_LN2_HI; /* exact */
    double w = kh + logc;
    double werr = kh - w + logc; /* w + werr = kh + logc exactly */
    double hi = w + r;
    double lo = w - hi + r + rerr + (kd * RM_LOG_LN2_LO + werr);
    double p = r * r * (RM_LOG_A0 + r * (RM_LOG_A1 + r * (RM_LOG_A2 + r * (RM_LOG_A3 + r * RM_LOG_A4))));
    double y = hi + (lo + p);
    /* selects, not early returns, so that loops over lanes vectorise: x
     * positive and finite (bits - 1 below those of +inf, less one) takes
     * y; else -inf at +-0, +inf at +inf, NaN below 0 and at NaN */
    double special = x == 0.0 ? -INFINITY : (x > 0.0 ? INFINITY : NAN);
    return rm_bits(x) - 1 < 0x7fefffffffffffffULL ? y : special;
}

/* x^y for x > 0 as e^(y ln x); used only for moderate y ln x (the
 * maturity fade, the share elasticity), where the error stays a few ulp. */
static inline double rm_pow(double x, double y)
{
    return rm_exp(y * rm_log(x));
}

/* The standard normal quantile, AS241 (PPND16), in its two regions.
 * Central, |q| <= 0.425 with q = u - 1/2: q times a rational function of
 * 0.180625 - q^2. */
static inline double rm_ndtri_central(double q)
{
    double r = 0.180625 - q * q;
    double num = (((((((2.5090809287301226727e+3 * r + 3.3430575583588128105e+4) * r
                      + 6.7265770927008700853e+4) * r + 4.5921953931549871457e+4) * r
                    + 1.3731693765509461125e+4) * r + 1.9715909503065514427e+3) * r
                  + 1.3314166789178437745e+2) * r + 3.3871328727963666080e+0);
    double den = (((((((5.2264952788528545610e+3 * r + 2.8729085735721942674e+4) * r
                      + 3.9307895800092710610e+4) * r + 2.1213794301586595867e+4) * r
                    + 5.3941960214247511077e+3) * r + 6.8718700749205790830e+2) * r
                  + 4.2313330701600911252e+1) * r + 1.0);
    return q * num / den;
}

/* Tails, |u - 1/2| > 0.425: a rational function of r = sqrt(-ln(min(u,
 * 1-u))), one fit for r <= 5 and one beyond, both computed and the
 * selected pair divided once (the same number as dividing in a branch). */
static inline double rm_ndtri_tail(double u)
{
    double q = u - 0.5;
    double rt = q < 0.0 ? u : 1.0 - u;
    rt = sqrt(-rm_log(rt));
    double r1 = rt - 1.6;
    double num1 = (((((((7.74545014278341407640e-4 * r1 + 2.27238449892691845833e-2) * r1
                       + 2.41780725177450611770e-1) * r1 + 1.27045825245236838258e+0) * r1
                     + 3.64784832476320460504e+0) * r1 + 5.76949722146069140550e+0) * r1
                   + 4.63033784615654529590e+0) * r1 + 1.42343711074968357734e+0);
    double den1 = (((((((1.05075007164441684324e-9 * r1 + 5.47593808499534494600e-4) * r1
                       + 1.51986665636164571966e-2) * r1 + 1.48103976427480074590e-1) * r1
                     + 6.89767334985100004550e-1) * r1 + 1.67638483018380384940e+0) * r1
                   + 2.05319162663775882187e+0) * r1 + 1.0);
    double r2 = rt - 5.0;
    double num2 = (((((((2.01033439929228813265e-7 * r2 + 2.71155556874348757815e-5) * r2
                       + 1.24266094738807843860e-3) * r2 + 2.65321895265761230930e-2) * r2
                     + 2.96560571828504891230e-1) * r2 + 1.78482653991729133580e+0) * r2
                   + 5.46378491116411436990e+0) * r2 + 6.65790464350110377720e+0);
    double den2 = (((((((2.04426310338993978564e-15 * r2 + 1.42151175831644588870e-7) * r2
                       + 1.84631831751005468180e-5) * r2 + 7.86869131145613259100e-4) * r2
                     + 1.48753612908506148525e-2) * r2 + 1.36929880922735805310e-1) * r2
                   + 5.99832206555887937690e-1) * r2 + 1.0);
    double num = rt <= 5.0 ? num1 : num2, den = rt <= 5.0 ? den1 : den2;
    double x = num / den;
    return q < 0.0 ? -x : x;
}

static inline double rm_ndtri(double u)
{
    double q = u - 0.5;
    return fabs(q) <= 0.425 ? rm_ndtri_central(q) : rm_ndtri_tail(u);
}

/* rm_ndtri without branches: both regions are computed and one is
 * selected, so a loop over lanes vectorises; the same bits. */
static inline double rm_ndtri_bf(double u)
{
    double q = u - 0.5;
    double xc = rm_ndtri_central(q), xt = rm_ndtri_tail(u);
    return fabs(q) <= 0.425 ? xc : xt;
}

/* The standard normal CDF, Phi(x), by W. J. Cody's rational Chebyshev
 * approximations ("Rational Chebyshev approximations for the error
 * function", Math. Comp. 23, 1969; his ANORM): a rational function of x^2
 * for |x| < 0.66291, and beyond it Q(|x|) = exp(-x^2/2) R(|x|) with R
 * rational in |x| up to sqrt(32) and in 1/x^2 above, exp(-x^2/2) taken
 * as exp(-y^2/2) exp(-(|x|-y)(|x|+y)/2) with y = |x| rounded down to
 * 1/16 so that no precision is lost squaring x. Relative error near 1e-16
 * (tests/test_rng_math.c compares it with GSL's). Written branch-free on
 * rm_exp, so it gives the same bits on every machine and a loop over
 * lanes vectorises; it replaces GSL's (on libm's exp) in the copula. */
static inline double rm_ncdf(double x)
{
    double ax = fabs(x);
    /* |x| < 0.66291 */
    double xx = x * x;
    double sn = 6.5682337918207449113e-2 * xx, sd = xx;
    sn = (sn + 2.2352520354606839287e+0) * xx; sd = (sd + 4.7202581904688241870e+1) * xx;
    sn = (sn + 1.6102823106855587881e+2) * xx; sd = (sd + 9.7609855173777669322e+2) * xx;
    sn = (sn + 1.0676894854603709582e+3) * xx; sd = (sd + 1.0260932208618978205e+4) * xx;
    double small = 0.5 + x * (sn + 1.8154981253343561249e+4) / (sd + 4.5507789335026729956e+4);
    /* 0.66291 <= |x| < sqrt(32): R in |x| */
    double mn = 1.0765576773720192317e-8 * ax, md = ax;
    mn = (mn + 3.9894151208813466764e-1) * ax; md = (md + 2.2266688044328115691e+1) * ax;
    mn = (mn + 8.8831497943883759412e+0) * ax; md = (md + 2.3538790178262499861e+2) * ax;
    mn = (mn + 9.3506656132177855979e+1) * ax; md = (md + 1.5193775994075548050e+3) * ax;
    mn = (mn + 5.9727027639480026226e+2) * ax; md = (md + 6.4855582982667607550e+3) * ax;
    mn = (mn + 2.4945375852903726711e+3) * ax; md = (md + 1.8615571640885098091e+4) * ax;
    mn = (mn + 6.8481904505362823326e+3) * ax; md = (md + 3.4900952721145977266e+4) * ax;
    mn = (mn + 1.1602651437647350124e+4) * ax; md = (md + 3.8912003286093271411e+4) * ax;
    double rmed = (mn + 9.8427148383839780218e+3) / (md + 1.9685429676859990727e+4);
    /* |x| >= sqrt(32): R in 1/x^2 */
    double z = 1.0 / (ax > 1.0 ? xx : 1.0);
    double ln = 2.3073441764940173030e-2 * z, ld = z;
    ln = (ln + 2.1589853405795699000e-1) * z; ld = (ld + 1.2842600961449112100e+0) * z;
    ln = (ln + 1.2740116116024736390e-1) * z; ld = (ld + 4.6823821248086511800e-1) * z;
    ln = (ln + 2.2235277870649807000e-2) * z; ld = (ld + 6.5988137868928551500e-2) * z;
    ln = (ln + 1.4216191932278934660e-3) * z; ld = (ld + 3.7823963320275824400e-3) * z;
    double rl = z * (ln + 2.9112874951168792000e-5) / (ld + 7.2975155508396620500e-5);
    rl = (3.9894228040143267794e-1 - rl) / (ax > 1.0 ? ax : 1.0); /* 1/sqrt(2 pi) */
    double r = ax < 5.6568542494923801952 ? rmed : rl;          /* sqrt(32) */
    double y = floor(ax * 16.0) / 16.0;
    double del = (ax - y) * (ax + y);
    double q = rm_exp(-0.5 * y * y) * rm_exp(-0.5 * del) * r; /* Q(|x|) */
    double tail = x > 0.0 ? 1.0 - q : q;
    return ax < 0.66291 ? small : tail;
}

/* rm_ndtri of n values, u[j] -> x[j] (x may be u): the same bits as
 * rm_ndtri_bf, faster on arrays. The central region (|u - 1/2| <= 0.425,
 * 85% of draws) is computed for every lane; the tail region's log, sqrt
 * and second rational function only for the lanes that fall in it, packed
 * together first, so a vector does the tail for eight tail lanes rather
 * than for the one or two of every eight that need it. */
static inline void rm_ndtri_n(const double *u, double *x, size_t n)
{
    enum { CH = 256 };
    double ut[CH + 8], xc[CH]; /* + 8: a vector store past the last tail lane */
    uint64_t at[CH + 8];
    for (size_t j0 = 0; j0 < n; j0 += CH) {
        size_t m = n - j0 < CH ? n - j0 : CH, nt = 0;
        const double *uu = u + j0;
        for (size_t j = 0; j < m; j++)
            xc[j] = rm_ndtri_central(uu[j] - 0.5);
        /* pack the tail lanes: with AVX-512 by vcompress, eight lanes an
         * instruction; otherwise branch-free (every lane is written, the
         * count moves only for tail lanes) */
        size_t j = 0;
#if defined(__AVX512F__)
        const __m512d half = _mm512_set1_pd(0.5), lim = _mm512_set1_pd(0.425);
        __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
        const __m512i eight = _mm512_set1_epi64(8);
        for (; j + 8 <= m; j += 8) {
            __m512d v = _mm512_loadu_pd(uu + j);
            __m512d aq = _mm512_abs_pd(_mm512_sub_pd(v, half));
            __mmask8 k = _mm512_cmp_pd_mask(aq, lim, _CMP_GT_OQ);
            _mm512_storeu_pd(ut + nt, _mm512_maskz_compress_pd(k, v));
            _mm512_storeu_si512((void *)(at + nt), _mm512_maskz_compress_epi64(k, lane));
            nt += (size_t)__builtin_popcount((unsigned)k);
            lane = _mm512_add_epi64(lane, eight);
        }
#endif
        for (; j < m; j++) {
            at[nt] = j;
            ut[nt] = uu[j];
            nt += fabs(uu[j] - 0.5) > 0.425;
        }
        for (size_t k = 0; k < nt; k++)
            ut[k] = rm_ndtri_tail(ut[k]);
        double *xx = x + j0;
        memcpy(xx, xc, m * sizeof *xx);
        for (size_t k = 0; k < nt; k++)
            xx[at[k]] = ut[k];
    }
}

#endif
