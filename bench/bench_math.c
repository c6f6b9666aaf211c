/* bench_math: ns per call of rm_exp and rm_log, in loops over 128 lanes
 * as the kernel calls them (the compiler vectorises each loop).
 *
 *   bench_math [CALLS]   (default 100000000 per function and input range)
 *
 * For comparison it also times the forms they replaced (a degree-13
 * Taylor series for exp, fdlibm's e_log.c with its division for log;
 * rng_math.h before the table-driven rewrite), copied here and used
 * nowhere else. Inputs: uniform on the range the engine mostly uses and
 * on the whole range; every 128-lane block differs (64 blocks, cycled),
 * so table reads see varied indices.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rng/rng_math.h"

enum { LANES = 128, BLOCKS = 64 };

/* --- the replaced forms, for comparison only --- */
static inline double old_exp(double x)
{
    const double shift = 0x1.8p52;
    x = x < -746.0 ? -746.0 : x;
    x = x > 710.0 ? 710.0 : x;
    double kd = x * 0x1.71547652b82fep0 + shift;
    int64_t k = (int64_t)(rm_bits(kd) - rm_bits(shift));
    kd -= shift;
    double r = x - kd * 0x1.62e42fefa3800p-1;
    r = r - kd * 0x1.ef35793c7673p-45;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r * r + r;
    p = p + 1.0;
    int64_t k1 = k / 2, k2 = k - k1;
    double s1 = rm_double((uint64_t)(k1 + 1023) << 52);
    double s2 = rm_double((uint64_t)(k2 + 1023) << 52);
    double y = p * s1 * s2;
    return x >= 709.79 ? INFINITY : y;
}

static inline double old_log(double x)
{
    const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                 Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                 Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                 Lg7 = 1.479819860511658591e-01;
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    int sub = x < 0x1p-1022;
    double xs = sub ? x * 0x1p54 : x;
    uint64_t ix = rm_bits(xs) - 0x3fe6a09e667f3bcdULL;
    int64_t k = (int64_t)ix >> 52;
    double m = rm_double((ix & 0x000fffffffffffffULL) + 0x3fe6a09e667f3bcdULL);
    double dk = (double)(k - (sub ? 54 : 0));
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s, w = z * z;
    double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
    double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
    double R = t2 + t1;
    double hfsq = 0.5 * f * f;
    double y = dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
    y = x > 0.0 ? y : (x == 0.0 ? -INFINITY : NAN);
    return x == INFINITY ? INFINITY : y;
}

/* --- one 128-lane loop per function, kept out of line so each is one
 * vectorised loop, as in the kernel --- */
#define LANE_LOOP(name, fn)                                                     \
    __attribute__((noinline)) static void name(const double *restrict x,        \
                                               double *restrict y)              \
    {                                                                           \
        for (int j = 0; j < LANES; j++)                                         \
            y[j] = fn(x[j]);                                                    \
    }
LANE_LOOP(loop_rm_exp, rm_exp)
LANE_LOOP(loop_old_exp, old_exp)
LANE_LOOP(loop_rm_log, rm_log)
LANE_LOOP(loop_old_log, old_log)

typedef void (*loop_fn)(const double *restrict, double *restrict);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ns per call of fn over the BLOCKS x LANES inputs, repeated to `calls`;
 * the best of three timings */
static double time_loop(loop_fn fn, const double *in, uint64_t calls, double *check)
{
    static double out[LANES];
    uint64_t reps = calls / (BLOCKS * LANES);
    reps = reps ? reps : 1;
    double best = INFINITY, acc = 0.0;
    for (int t = 0; t < 3; t++) {
        double t0 = now();
        for (uint64_t r = 0; r < reps; r++)
            for (int b = 0; b < BLOCKS; b++) {
                fn(in + (size_t)b * LANES, out);
                acc += out[b & (LANES - 1)];
            }
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    *check = acc;
    return 1e9 * best / ((double)reps * BLOCKS * LANES);
}

/* a fixed, well-spread sequence in [0, 1) (golden-ratio increments) */
static double spread(size_t i)
{
    double u = 0.5 + 0.6180339887498949 * (double)i;
    return u - floor(u);
}

int main(int argc, char **argv)
{
    uint64_t calls = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000000;
    static double in[BLOCKS * LANES];
    struct {
        const char *what;
        double lo, hi;
        int logscale;
        loop_fn now_fn, old_fn;
    } cases[] = {
        { "exp, x in [-20, 20] (the engine's range)", -20.0, 20.0, 0, loop_rm_exp, loop_old_exp },
        { "exp, x in [-745, 709]", -745.0, 709.0, 0, loop_rm_exp, loop_old_exp },
        { "log, x in (0, 4)", 0.0, 4.0, 0, loop_rm_log, loop_old_log },
        { "log, x = e^t, t in [-700, 700]", -700.0, 700.0, 1, loop_rm_log, loop_old_log },
    };
    double sink = 0.0, c;
    printf("runway bench_math: ns per call over %d-lane loops, best of 3, %llu calls each\n",
           LANES, (unsigned long long)calls);
    printf("%-42s %10s %10s %8s\n", "function and inputs", "table", "replaced", "ratio");
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (size_t i = 0; i < (size_t)BLOCKS * LANES; i++) {
            double t = cases[k].lo + (cases[k].hi - cases[k].lo) * spread(i);
            in[i] = cases[k].logscale ? exp(t) : t;
        }
        double tn = time_loop(cases[k].now_fn, in, calls, &c);
        sink += c;
        double to = time_loop(cases[k].old_fn, in, calls, &c);
        sink += c;
        printf("%-42s %10.3f %10.3f %8.2f\n", cases[k].what, tn, to, to / tn);
    }
    if (sink == 42.0) /* keep the results live */
        printf("%g\n", sink);
    return 0;
}
