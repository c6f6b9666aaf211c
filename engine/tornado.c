/* tornado: rank correlations (see tornado.h). */
#include "engine/tornado.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "engine/stats.h"

/* Eight doubles as one value, for loops GCC and clang turn into plain
 * vector code (lane q of a sum holds the terms i = q mod 8, as a scalar
 * loop over q would, so the bits are the same). Loads and stores are
 * unaligned, through memcpy; macros, not functions, because a function
 * returning one changes the ABI in builds without AVX-512 (valgrind's). */
typedef double v8d __attribute__((vector_size(8 * sizeof(double))));
#define LD8(v, p) memcpy(&(v), (p), sizeof(v8d))
#define ST8(p, v) memcpy((p), &(v), sizeof(v8d))

/* Copies columns c0..c0+nc-1 of a row-major table (stride doubles a row)
 * into dst, column-major with N rows: a block of rows at a time, so both
 * sides stay in cache. */
static void to_columns(double *dst, const double *src, size_t stride, size_t c0, size_t nc,
                       size_t N, int threads)
{
    enum { ROWS = 64 };
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i0 = 0; i0 < N; i0 += ROWS) {
        size_t i1 = i0 + ROWS < N ? i0 + ROWS : N;
        for (size_t c = 0; c < nc; c++)
            for (size_t i = i0; i < i1; i++)
                dst[c * N + i] = src[i * stride + c0 + c];
    }
}

/* Sets each of the nc columns of col (N rows each) to the centred ranks
 * of column c of src (col itself when src is NULL), and ss[c] to their
 * sum of squares; then, when fn is not NULL, hands column c to fn as
 * input c0 + c (tn_spearman). 0, or -1 out of memory. */
static int rank_columns(double *col, const double *src, double *ss, size_t nc, size_t N,
                        int threads, tn_ranks_fn fn, void *ctx, size_t c0)
{
    int bad = 0;
    const double mean = 0.5 * (double)(N + 1);
#pragma omp parallel num_threads(threads) reduction(| : bad)
    {
        size_t *idx = malloc(2 * N * sizeof *idx);
        bad |= !idx;
#pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < nc; c++) {
            if (!idx)
                continue;
            double *x = col + c * N, sxx = 0;
            bad |= st_ranks(N, src ? src + c * N : x, 1, x, idx) != 0;
            for (size_t i = 0; i < N; i++) {
                x[i] -= mean;
                sxx += x[i] * x[i];
            }
            ss[c] = sxx;
            if (fn)
                fn(ctx, c0 + c, x, N);
        }
        free(idx);
    }
    return bad ? -1 : 0;
}

/* Rank correlations of every drawn input with survival to the horizon and
 * with final cash, lab by lab (MODEL.md section 5, the tornado). The 2 L
 * outcome columns are ranked once; the inputs a group of SENS_GROUP
 * columns at a time, through one buffer, so the memory this takes does
 * not grow with the number of inputs (64 inputs at 2^18 paths: 40 MB,
 * not 160) and fresh pages are not faulted in for every column. */
enum { SENS_GROUP = 8 };
/* Four doubles as one value (v8d's kin): lane j of a sum holds outcome
 * j's terms, each product and addition as the scalar code does them. */
typedef double v4d __attribute__((vector_size(4 * sizeof(double))));
#define LD4(v, p) memcpy(&(v), (p), sizeof(v4d))
#define ST4(p, v) memcpy((p), &(v), sizeof(v4d))

/* Outcomes a row holds, padded with zeros (three v4d: twelve, the
 * baseline's 2 L); paths a chunk of the weighted products (48 KB of
 * outcome rows); inputs a group of the weighted tornado. */
enum { WROW = 12, WCHUNK = 512, WGROUP = 16 };

/* Adds the nc paths of inputs x0 and x1 (x1 may be x0: then its sums
 * are not kept) to their sums a0 and a1 (OP doubles each), in path order:
 * a[o] += (w x) y[o], y's rows from yr (OP doubles a path). Two inputs and
 * twelve outcomes at once: six additions under way at a time. */
static inline void wsum_pair(size_t nc, size_t OP, const double *w, const double *x0,
                             const double *x1, const double *yr, double *a0, double *a1)
{
    for (size_t g = 0; g < OP; g += WROW) {
        v4d s0, s1, s2, t0, t1, t2, y0, y1, y2;
        LD4(s0, a0 + g); LD4(s1, a0 + g + 4); LD4(s2, a0 + g + 8);
        LD4(t0, a1 + g); LD4(t1, a1 + g + 4); LD4(t2, a1 + g + 8);
        for (size_t p = 0; p < nc; p++) {
            const double u = w[p] * x0[p], v = w[p] * x1[p]; /* w x y is (w x) y */
            const double *y = yr + p * OP + g;
            LD4(y0, y); LD4(y1, y + 4); LD4(y2, y + 8);
            s0 += u * y0; s1 += u * y1; s2 += u * y2;
            t0 += v * y0; t1 += v * y1; t2 += v * y2;
        }
        ST4(a0 + g, s0); ST4(a0 + g + 4, s1); ST4(a0 + g + 8, s2);
        if (a1 != a0) {
            ST4(a1 + g, t0); ST4(a1 + g + 4, t1); ST4(a1 + g + 8, t2);
        }
    }
}

/* Column x (N values) made its weighted ranks (in place), centred on
 * their weighted mean (sw: the weights' sum); returns their weighted sum
 * of squares, or 0 for a column of one value (a lab that never fails),
 * which correlates with nothing: its weighted mean, rounded, can differ
 * from its value by an ulp, and the ulps left gave correlations of 1e-16
 * instead of NaN. idx: 2 N of scratch. */
static double weighted_centre(size_t N, double *x, const double *w, double sw, size_t *idx,
                              int *bad)
{
    double m = 0.0, sxx = 0.0;
    *bad |= st_weighted_ranks(N, x, 1, w, x, idx) != 0;
    int constant = 1;
    for (size_t i = 0; i < N; i++) {
        m += w[i] * x[i];
        constant &= x[i] == x[0];
    }
    m = sw > 0.0 ? m / sw : 0.0;
    for (size_t i = 0; i < N; i++)
        x[i] -= m;
    for (size_t p = 0; p < N; p++)
        sxx += w[p] * x[p] * x[p];
    return constant ? 0.0 : sxx;
}

/* nc columns of the weighted tornado, on its kept paths: dst[j N + k] =
 * column j's value on kept path keep[k], read from src (column j at
 * src + j * stride, path p at p * step), each made centred weighted
 * ranks, ss[j] their sum of squares. */
static void weighted_columns(double *dst, size_t nc, const double *src, size_t stride,
                             size_t step, const size_t *keep, size_t N, const double *w,
                             double sw, double *ss, int threads, int *bad)
{
    int b = 0;
#pragma omp parallel num_threads(threads) reduction(| : b)
    {
        size_t *idx = malloc(2 * N * sizeof *idx);
        b |= !idx;
#pragma omp for schedule(dynamic, 1)
        for (size_t j = 0; j < nc; j++) {
            if (!idx)
                continue;
            double *x = dst + j * N;
            for (size_t k = 0; k < N; k++)
                x[k] = src[j * stride + keep[k] * step];
            ss[j] = weighted_centre(N, x, w, sw, idx, &b);
        }
        free(idx);
    }
    *bad |= b;
}

/* The tornado of a conditioned run: weighted Spearman correlations
 * (st_weighted_ranks) of each input with survival and final cash over
 * the rank-correlation sample, each path weighted by its weight.
 *
 * Only the paths with weight are kept: a path of weight 0 adds +0 to
 * every sum here (its weight to its tie group's and to the weight below,
 * w x to the mean, w x x and w x y to the products), and adding zero
 * changes no sum's bits, so the correlations are those of all the paths,
 * bit for bit. A run conditioned on a surprising fact keeps few (the 2024
 * backtest on 2025's figures: 5 paths in 10^5).
 *
 * The 2 L outcomes are ranked once and laid out a row per path (OP
 * doubles, padded with zeros); the inputs WGROUP at a time through one
 * buffer, as tn_spearman does, so that the memory this takes does not
 * grow with the inputs (at 2^18 paths and 68 inputs, about 85 MB where
 * all the columns at once took 168). Each product is one sum in path
 * order, so its bits depend on neither the threads nor the grouping: two
 * inputs' sums with all twelve outcomes run at once (six additions under
 * way, where the sums of one input with four outcomes waited on each
 * addition). */
int tn_spearman_w(size_t N0, size_t I, size_t L, const double *inputs, const double *surv,
                  const double *fcash, const double *w0, int threads, double *rho_surv,
                  double *rho_cash)
{
    if (I == 0 || N0 == 0)
        return 0;
    size_t N = 0;
    for (size_t p = 0; p < N0; p++)
        N += w0[p] != 0.0;
    if (N == 0) { /* nothing weighs: no correlation is defined */
        for (size_t k = 0; k < L * I; k++)
            rho_surv[k] = rho_cash[k] = NAN;
        return 0;
    }
    const size_t O = 2 * L, OP = (O + WROW - 1) / WROW * WROW;
    const size_t G = I < WGROUP ? I : WGROUP;
    size_t *keep = malloc(N * sizeof *keep);
    double *w = malloc(N * sizeof *w), *ss = malloc((I + O) * sizeof *ss);
    double *out = malloc(O * N * sizeof *out), *in = malloc(G * N * sizeof *in);
    double *yr = calloc(N * OP, sizeof *yr), *sxy = calloc(I * OP, sizeof *sxy), sw = 0.0;
    int bad = !keep || !w || !ss || !out || !in || !yr || !sxy;
    if (!bad) {
        for (size_t p = 0, k = 0; p < N0; p++)
            if (w0[p] != 0.0) {
                keep[k] = p;
                w[k] = w0[p];
                sw += w[k++];
            }
        /* the outcomes, ranked once, then a row per path */
        weighted_columns(out, L, surv, 1, L, keep, N, w, sw, ss + I, threads, &bad);
        weighted_columns(out + L * N, L, fcash, 1, L, keep, N, w, sw, ss + I + L, threads, &bad);
        for (size_t o = 0; o < O; o++)
            for (size_t k = 0; k < N; k++)
                yr[k * OP + o] = out[o * N + k];
    }
    free(out);
    for (size_t g0 = 0; g0 < I && !bad; g0 += G) {
        const size_t gn = I - g0 < G ? I - g0 : G;
        weighted_columns(in, gn, inputs + g0 * N0, N0, 1, keep, N, w, sw, ss + g0, threads, &bad);
        if (bad)
            break;
        /* each thread a fixed range of the group's inputs, two at a
         * time, a chunk of paths at a time: the chunk's outcome rows are
         * read from memory once and reused, from cache, for every pair */
#pragma omp parallel num_threads(threads)
        {
            size_t nt = (size_t)omp_get_num_threads(), me = (size_t)omp_get_thread_num();
            size_t k_lo = gn * me / nt, k_hi = gn * (me + 1) / nt;
            for (size_t i0 = 0; i0 < N; i0 += WCHUNK) {
                const size_t nc = N - i0 < WCHUNK ? N - i0 : WCHUNK;
                const double *y = yr + i0 * OP;
                size_t k = k_lo;
                for (; k + 2 <= k_hi; k += 2)
                    wsum_pair(nc, OP, w + i0, in + k * N + i0, in + (k + 1) * N + i0, y,
                              sxy + (g0 + k) * OP, sxy + (g0 + k + 1) * OP);
                if (k < k_hi)
                    wsum_pair(nc, OP, w + i0, in + k * N + i0, in + k * N + i0, y,
                              sxy + (g0 + k) * OP, sxy + (g0 + k) * OP);
            }
        }
    }
    if (!bad)
        for (size_t i = 0; i < I; i++)
            for (size_t o = 0; o < O; o++) {
                double sxx = ss[i], syy = ss[I + o];
                double rho = sxx > 0.0 && syy > 0.0 ? sxy[i * OP + o] / sqrt(sxx * syy) : NAN;
                if (o < L)
                    rho_surv[o * I + i] = rho;
                else
                    rho_cash[(o - L) * I + i] = rho;
            }
    free(keep); free(w); free(ss); free(in); free(yr); free(sxy);
    return bad ? -1 : 0;
}

int tn_spearman(size_t N, size_t I, size_t L, const double *inputs, const double *surv,
                const double *fcash, int threads, double *rho_surv, double *rho_cash,
                tn_ranks_fn fn, void *ctx)
{
    if (I == 0 || N == 0)
        return 0;
    /* Eight interleaved partial sums per product (path i goes to sum
     * i mod 8), added up in a fixed order at the end: the loop vectorises,
     * and the bits depend on N alone, never on threads or groups. */
    enum { LANES = 8 };
    _Static_assert(sizeof(v8d) == LANES * sizeof(double), "one v8d per partial-sum row");
    size_t npair = 2 * L * I, G = I < SENS_GROUP ? I : SENS_GROUP;
    double *out = malloc(N * 2 * L * sizeof *out), *in = malloc(N * G * sizeof *in);
    double *ss = malloc((I + 2 * L) * sizeof *ss); /* inputs', then outcomes' */
    double *part = calloc(npair * LANES, sizeof *part);
    double *sxy = calloc(npair, sizeof *sxy);
    int bad = !out || !in || !ss || !part || !sxy;
    if (!bad) {
        to_columns(out, surv, L, 0, L, N, threads);
        to_columns(out + L * N, fcash, L, 0, L, N, threads);
        bad = rank_columns(out, NULL, ss + I, 2 * L, N, threads, NULL, NULL, 0);
    }
    for (size_t g0 = 0; g0 < I && !bad; g0 += G) {
        size_t gn = I - g0 < G ? I - g0 : G;
        /* ranked from their columns into the group's buffer */
        bad = rank_columns(in, inputs + g0 * N, ss + g0, gn, N, threads, fn, ctx, g0);
        if (bad)
            break;
        /* The group's 2 L gn cross products, paths taken in chunks so a
         * chunk of the outcome columns is read from memory once and
         * reused, from cache, for every input of the group; each thread
         * takes a fixed range of the group's inputs. */
        enum { CHUNK = 512 };
#pragma omp parallel num_threads(threads)
        {
        size_t nt = (size_t)omp_get_num_threads(), me = (size_t)omp_get_thread_num();
        size_t k_lo = gn * me / nt, k_hi = gn * (me + 1) / nt;
        for (size_t i0 = 0; i0 < N; i0 += CHUNK) {
            size_t i1 = i0 + CHUNK < N ? i0 + CHUNK : N;
            for (size_t kk = k_lo; kk < k_hi; kk++) {
                const double *x = in + kk * N;
                const size_t k = g0 + kk;
                /* four outcome columns at a time: each load of x serves
                 * four products (the loop is bound by loads, not
                 * arithmetic); each product's sums are the same as one at
                 * a time */
                size_t c = 0;
                for (; c + 4 <= 2 * L; c += 4) {
                    const double *y0 = out + c * N, *y1 = y0 + N, *y2 = y1 + N, *y3 = y2 + N;
                    double *p0 = part + (c * I + k) * LANES, *p1 = p0 + I * LANES,
                           *p2 = p1 + I * LANES, *p3 = p2 + I * LANES;
                    v8d l0, l1, l2, l3, xv, yv;
                    LD8(l0, p0); LD8(l1, p1); LD8(l2, p2); LD8(l3, p3);
                    size_t i = i0;
                    for (; i + LANES <= i1; i += LANES) {
                        LD8(xv, x + i);
                        LD8(yv, y0 + i); l0 += xv * yv;
                        LD8(yv, y1 + i); l1 += xv * yv;
                        LD8(yv, y2 + i); l2 += xv * yv;
                        LD8(yv, y3 + i); l3 += xv * yv;
                    }
                    ST8(p0, l0); ST8(p1, l1); ST8(p2, l2); ST8(p3, l3);
                    for (; i < i1; i++) {
                        p0[i % LANES] += x[i] * y0[i];
                        p1[i % LANES] += x[i] * y1[i];
                        p2[i % LANES] += x[i] * y2[i];
                        p3[i % LANES] += x[i] * y3[i];
                    }
                }
                for (; c < 2 * L; c++) {
                    const double *y = out + c * N;
                    double *pc = part + (c * I + k) * LANES;
                    v8d lc, xv, yv;
                    LD8(lc, pc);
                    size_t i = i0;
                    for (; i + LANES <= i1; i += LANES) {
                        LD8(xv, x + i);
                        LD8(yv, y + i);
                        lc += xv * yv;
                    }
                    ST8(pc, lc);
                    for (; i < i1; i++)
                        pc[i % LANES] += x[i] * y[i];
                }
            }
        }
        }
    }
    if (!bad) {
        for (size_t p = 0; p < npair; p++) {
            double t = 0.0;
            for (int q = 0; q < LANES; q++)
                t += part[p * LANES + (size_t)q];
            sxy[p] = t;
        }
        for (size_t c = 0; c < 2 * L; c++)
            for (size_t k = 0; k < I; k++) {
                double sx = ss[k], sy = ss[I + c];
                /* A constant column (everyone survives) has no rank
                 * correlation with anything: NaN, not 0. */
                double rho = (sx > 0 && sy > 0) ? sxy[c * I + k] / sqrt(sx * sy) : NAN;
                (c < L ? rho_surv : rho_cash)[(c % L) * I + k] = rho;
            }
    }
    free(part); free(sxy); free(out); free(in); free(ss);
    return bad ? -1 : 0;
}

