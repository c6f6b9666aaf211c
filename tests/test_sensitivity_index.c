/* The given-data first-order indices and swings (engine/sensitivity.h)
 * against closed forms, on inputs drawn here (no simulation):
 *
 *   analytic    Y = X1 + 2 X2 + 0 X3, X uniform and independent: S = 0.2,
 *               0.8, 0 (Var(a X) = a^2/12). The estimator's bias
 *               correction: over 60 replicates of 4096 paths, the mean
 *               index of X3 (no effect) is 0 within 4 standard errors,
 *               where the uncorrected ratio would be (M-1)/N = 0.0037.
 *               Survival as a product of independent steps: alive at year
 *               1 iff U1 < a and U2 < b, at year 2 iff also U3 < c; with
 *               p = P(alive) and p_i = P(step i passes),
 *               Var(E[Y|U_i]) = (p/p_i)^2 p_i (1 - p_i), so
 *               S_i = (p/p_i)(1 - p_i)/(1 - p); the swings are
 *               P(alive | U_i high) - P(alive | U_i low) in closed form.
 *   correlated  X1, X2 normal with correlation 0.8, X3 independent; alive
 *               iff X1 > 0. S1 = 1; X2 drives nothing, yet
 *               Var(P(X1 > 0 | X2)) = asin(0.64)/(2 pi) (two copies of
 *               X1 given X2 correlate 0.64; Sheppard's formula) gives it
 *               S2 = 0.442: its own index is not an independent effect,
 *               which is why the set {X1, X2} is reported as one, and
 *               the set's index is S1's, not S1 + S2. sn_groups puts
 *               baseline.yaml's four correlated market inputs in one set.
 *   threads     weighted and unweighted figures are the same bits on 1, 2
 *               and 3 threads.
 *
 * Tolerances are in standard errors of the estimate: for an index S from
 * N paths, the correlation ratio's large-sample standard error
 * 2 sqrt(S) (1 - S) / sqrt(N) (that of an R^2 on the bins' indicators);
 * for a band probability p from N/10 paths, sqrt(p (1 - p) / (N/10)).
 * Five of them, so a correct estimator fails about once in a million. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scenario.h"
#include "engine/sensitivity.h"
#include "engine/stats.h"
#include "engine/tornado.h"
#include "rng/rng_stream.h"
#include "test_util.h"

static double se_index(double S, size_t N)
{
    /* plus the spread of the estimate at S = 0: the bins' noise,
     * sqrt(2 (M - 1)) / N (a chi-square on M - 1 degrees of freedom) */
    return 2.0 * sqrt(S) * (1.0 - S) / sqrt((double)N) + sqrt(2.0 * (double)(sn_bins(N) - 1)) / (double)N;
}

static void analytic(void)
{
    const size_t N = 65536; /* 40 bins of 1638 paths */
    rs_key key = rs_key_make(11, rs_stream_id("test", "sensitivity"));
    double *x = malloc(N * 4 * sizeof *x), *y = malloc(N * sizeof *y);
    int32_t *fy = malloc(N * 2 * sizeof *fy);
    ASSERT_TRUE(x && y && fy);
    for (size_t p = 0; p < N; p++) {
        for (int i = 0; i < 4; i++)
            x[p * 4 + (size_t)i] = rs_uniform(key, p, 0, (uint32_t)i);
        y[p] = x[p * 4] + 2.0 * x[p * 4 + 1];
    }
    /* additive: known indices */
    const double want_add[3] = {0.2, 0.8, 0.0};
    for (int i = 0; i < 3; i++) {
        double S = NAN;
        ASSERT_TRUE(sn_first_order(N, x + i, 4, y, &S) == 0);
        /* the bins miss the variation of E[Y|X] inside each: S/M^2 */
        double tol = 5 * se_index(want_add[i], N) + want_add[i] / 1600.0;
        ASSERT_NEAR(S, want_add[i], tol);
    }

    /* the bias correction: the mean index of an input with no effect is
     * 0, not (M-1)/N, over replicates of few paths */
    {
        enum { R = 60, n = 4096 };
        double sum = 0.0, sq = 0.0;
        double *xx = malloc(n * 2 * sizeof *xx), *yy = malloc(n * sizeof *yy);
        ASSERT_TRUE(xx && yy);
        for (int r = 0; r < R; r++) {
            for (size_t p = 0; p < n; p++) {
                uint64_t path = 1000000 + (uint64_t)r * n + p;
                xx[2 * p] = rs_uniform(key, path, 0, 0);
                xx[2 * p + 1] = rs_uniform(key, path, 0, 1);
                yy[p] = xx[2 * p];
            }
            double S = NAN;
            ASSERT_TRUE(sn_first_order(n, xx + 1, 2, yy, &S) == 0);
            sum += S;
            sq += S * S;
        }
        double mean = sum / R, sd = sqrt((sq - sum * sum / R) / (R - 1));
        double uncorrected = (double)(sn_bins(n) - 1) / (n - 1);
        printf("no-effect input: mean index %.5f (sd %.5f over %d runs; uncorrected "
               "ratio's bias %.5f)\n", mean, sd, R, uncorrected);
        ASSERT_NEAR(mean, 0.0, 4.0 * sd / sqrt(R));
        ASSERT_TRUE(fabs(mean) < 0.25 * uncorrected);
        free(xx);
        free(yy);
    }

    /* survival as independent steps; lab 2: alive iff U4 >= 0.3 */
    const double a = 0.5, b = 0.25, c = 0.75;
    for (size_t p = 0; p < N; p++) {
        const double *u = x + p * 4;
        int y1 = u[0] < a && u[1] < b;
        fy[p * 2] = !y1 ? 1 : u[2] >= c ? 2 : 0;
        fy[p * 2 + 1] = u[3] < 0.3 ? 1 : 0;
    }
    int group[4] = {0, 1, 2, 3};
    sn_data d = {N, 4, 2, 2, x, fy, NULL, group, 4, NULL, 0, 0};
    double idx[2 * 2 * 4], sw[2 * 2 * 4], gi[2 * 2 * 4];
    ASSERT_TRUE(sn_survival(&d, 2, idx, sw, gi) == 0);
    const double pi_[2][3] = {{a, b, 1.0}, {a, b, c}};
    for (int t = 0; t < 2; t++) {
        double p = pi_[t][0] * pi_[t][1] * pi_[t][2];
        for (int i = 0; i < 4; i++) {
            double want = i < 3 ? (p / pi_[t][i]) * (1 - pi_[t][i]) / (1 - p) : 0.0;
            double got = idx[(0 * 2 + t) * 4 + i];
            ASSERT_NEAR(got, want, 5 * se_index(want, N));
            ASSERT_SAME(gi[(0 * 2 + t) * 4 + i], got); /* sets of one */
        }
        /* swing: the high band of U1 (0.85-0.95 >= a) never survives, the
         * low band survives with the other steps' probability */
        for (int i = 0; i < 3; i++) {
            double others = p / pi_[t][i];
            double want = i < 2 || t == 1 ? -others : 0.0;
            double se = sqrt(others * (1 - others) / (N / 10.0));
            ASSERT_NEAR(sw[(0 * 2 + t) * 4 + i], want, 5 * se + 1e-9);
        }
        /* lab 2: alive iff U4 >= 0.3: U4 alone decides (index 1, swing
         * exactly +1: its bands lie wholly on either side of 0.3) */
        ASSERT_NEAR(idx[(1 * 2 + t) * 4 + 3], 1.0, 0.01);
        ASSERT_SAME(sw[(1 * 2 + t) * 4 + 3], 1.0);
        ASSERT_NEAR(idx[(1 * 2 + t) * 4 + 0], 0.0, 5 * se_index(0, N));
    }
    free(x);
    free(y);
    free(fy);
}

static void correlated(void)
{
    const size_t N = 65536;
    rs_key key = rs_key_make(12, rs_stream_id("test", "sensitivity"));
    double *x = malloc(N * 3 * sizeof *x);
    int32_t *fy = malloc(N * sizeof *fy);
    ASSERT_TRUE(x && fy);
    for (size_t p = 0; p < N; p++) {
        double z1 = rs_normal(key, p, 0, 0), z2 = rs_normal(key, p, 0, 1);
        x[p * 3] = z1;
        x[p * 3 + 1] = 0.8 * z1 + 0.6 * z2;
        x[p * 3 + 2] = rs_normal(key, p, 0, 2);
        fy[p] = z1 > 0 ? 0 : 1;
    }
    int group[3] = {0, 0, 1};
    sn_data d = {N, 3, 1, 1, x, fy, NULL, group, 2, NULL, 0, 0};
    double idx[3], sw[3], gi[2];
    ASSERT_TRUE(sn_survival(&d, 2, idx, sw, gi) == 0);
    const double S2 = asin(0.64) / (2 * 3.14159265358979323846) / 0.25;
    printf("correlated: S1 %.4f S2 %.4f (closed form %.4f) S3 %.4f; set {X1,X2} %.4f; "
           "swings %+.3f %+.3f %+.3f\n", idx[0], idx[1], S2, idx[2], gi[0], sw[0], sw[1], sw[2]);
    ASSERT_NEAR(idx[0], 1.0, 0.01);
    /* 40 bins of a smooth E[Y|X2]: within 0.01 of the closed form */
    ASSERT_NEAR(idx[1], S2, 5 * se_index(S2, N) + 0.01);
    ASSERT_NEAR(idx[2], 0.0, 5 * se_index(0, N));
    /* the set is worth what X1 is, not X1's and X2's added up */
    /* joint bins: floor(sqrt(N / 512)) = 11 on each input; X1's median
     * falls inside its middle bin, whose paths (1/11 of them) hold at
     * most 1/11 of Var(Y) that the set's cells cannot all explain */
    ASSERT_TRUE(gi[0] > 1.0 - 1.0 / 11.0 - 0.01);
    ASSERT_TRUE(gi[0] <= idx[0] + 0.01);
    ASSERT_TRUE(idx[0] + idx[1] > gi[0] + 0.35);
    ASSERT_SAME(gi[1], idx[2]);
    /* swings: X1 decides (+1); X2 moves X1, so it swings survival too */
    ASSERT_SAME(sw[0], 1.0);
    ASSERT_TRUE(sw[1] > 0.5);
    ASSERT_NEAR(sw[2], 0.0, 5 * sqrt(0.25 / (N / 10.0)) * 1.42);
    free(x);
    free(fy);

    /* baseline.yaml's correlated inputs form one set (price_decline,
     * serving_cost_decline, token_demand_growth, usage_growth) */
    sc_scenario *s = NULL;
    char err[512];
    ASSERT_TRUE(sc_load(&s, "../scenarios/baseline.yaml", NULL, err, sizeof err) == 0);
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    int *g = malloc(s->ninputs * sizeof *g);
    size_t G = 0;
    ASSERT_TRUE(g != NULL);
    sn_groups(s, g, &G);
    int set = -1;
    size_t members = 0;
    for (size_t i = 0; i < s->ninputs; i++) {
        const char *nm = s->inputs[i].name;
        int in_set = !strcmp(nm, "market.price_decline") || !strcmp(nm, "market.serving_cost_decline")
                  || !strcmp(nm, "market.token_demand_growth") || !strcmp(nm, "market.usage_growth");
        if (in_set) {
            if (set < 0)
                set = g[i];
            ASSERT_EQ_INT(g[i], set);
            members++;
        } else {
            for (size_t j = 0; j < i; j++)
                ASSERT_TRUE(g[j] != g[i]); /* a set of its own */
        }
    }
    ASSERT_EQ_INT(members, 4);
    ASSERT_EQ_INT(G, s->ninputs - 3);
    char *name = set >= 0 ? sn_group_name(s, g, set) : NULL;
    ASSERT_TRUE(name && strstr(name, "market.price_decline+") && strstr(name, "+market.usage_growth"));
    printf("baseline: %zu inputs in %zu sets; the correlated one: %s\n", s->ninputs, G,
           name ? name : "?");
    free(name);
    free(g);
    sc_free(s);
}

/* sn_survival bins the paths through buckets and ranks only the paths of
 * buckets that straddle a bin or band edge (sensitivity.c, bin_codes);
 * sn_first_order ranks every path (st_ranks). On columns built to make
 * the buckets awkward (ties in long runs, -0.0 beside +0.0, a constant, an
 * outlier that squeezes every other value into one bucket, negatives,
 * subnormals) both must give the same index bits, and the swing must be
 * the one computed here from st_ranks' mid-ranks. */
static void binning(void)
{
    const size_t N = 30011;
    const int NCOL = 7;
    rs_key key = rs_key_make(14, rs_stream_id("test", "sensitivity"));
    double *x = malloc(N * NCOL * sizeof *x), *y = malloc(N * sizeof *y), *r = malloc(N * sizeof *r);
    int32_t *fy = malloc(N * sizeof *fy);
    size_t *idx = malloc(2 * N * sizeof *idx);
    ASSERT_TRUE(x && y && fy && r && idx);
    for (size_t p = 0; p < N; p++) {
        double u = rs_uniform(key, p, 0, 0), v = rs_uniform(key, p, 0, 1);
        double *row = x + p * NCOL;
        row[0] = floor(3 * u);                              /* three values */
        row[1] = u < 0.3 ? -0.0 : u < 0.6 ? 0.0 : v;        /* signed zeros tie */
        row[2] = 4.0;                                       /* constant */
        row[3] = p == 17 ? 1e300 : u;                       /* an outlier */
        row[4] = -u * 1e6;                                  /* negatives */
        row[5] = u * 1e-310;                                /* subnormals */
        row[6] = u < 0.12 ? 0.5 : u;                        /* a run across a band edge */
        fy[p] = u + 0.5 * v > 0.7 ? 0 : 1;
        y[p] = fy[p] == 0;
    }
    int group[7] = {0, 1, 2, 3, 4, 5, 6};
    sn_data d = {N, NCOL, 1, 1, x, fy, NULL, group, 7, NULL, 0, 0};
    double idx_[7], sw[7], gi[7];
    ASSERT_TRUE(sn_survival(&d, 2, idx_, sw, gi) == 0);
    for (int i = 0; i < NCOL; i++) {
        double S = NAN;
        ASSERT_TRUE(sn_first_order(N, x + i, NCOL, y, &S) == 0);
        ASSERT_SAME(idx_[i], S);
        ASSERT_TRUE(st_ranks(N, x + i, NCOL, r, idx) == 0);
        double a[2] = {0, 0}, n[2] = {0, 0};
        for (size_t p = 0; p < N; p++) {
            double q = (r[p] - 0.5) / (double)N;
            int band = q >= SN_BAND_LO0 && q < SN_BAND_LO1 ? 0 : q >= SN_BAND_HI0 && q < SN_BAND_HI1 ? 1 : -1;
            if (band >= 0) {
                a[band] += y[p];
                n[band] += 1;
            }
        }
        double want = (n[1] > 0 ? a[1] / n[1] : NAN) - (n[0] > 0 ? a[0] / n[0] : NAN);
        ASSERT_SAME(sw[i], want);
    }
    free(x); free(y); free(r); free(fy); free(idx);
}

static void threads(void)
{
    const size_t N = 20011, I = 5, L = 2, T = 3;
    rs_key key = rs_key_make(13, rs_stream_id("test", "sensitivity"));
    double *x = malloc(N * I * sizeof *x), *w = malloc(N * sizeof *w);
    int32_t *fy = malloc(N * L * sizeof *fy);
    ASSERT_TRUE(x && w && fy);
    for (size_t p = 0; p < N; p++) {
        for (size_t i = 0; i < I; i++)
            x[p * I + i] = rs_normal(key, p, 0, (uint32_t)i);
        x[p * I + 1] += x[p * I]; /* a correlated pair */
        w[p] = rs_uniform(key, p, 1, 0);
        for (size_t l = 0; l < L; l++) {
            double v = x[p * I + l] + x[p * I + 2] + rs_normal(key, p, 2, (uint32_t)l);
            fy[p * L + l] = v > 1.5 ? 0 : v > 0.5 ? 3 : v > -0.5 ? 2 : 1;
        }
    }
    int group[5] = {0, 0, 1, 2, 3};
    const size_t n = L * T * I, ng = L * T * 4;
    double out[3][2][3][L * T * I];
    for (int weighted = 0; weighted < 2; weighted++)
        for (int th = 1; th <= 3; th++) {
            sn_data d = {N, I, L, T, x, fy, weighted ? w : NULL, group, 4, NULL, 0, 0};
            ASSERT_TRUE(sn_survival(&d, th, out[th - 1][weighted][0], out[th - 1][weighted][1],
                                    out[th - 1][weighted][2]) == 0);
        }
    for (int th = 2; th <= 3; th++)
        for (int weighted = 0; weighted < 2; weighted++)
            for (int k = 0; k < 3; k++)
                ASSERT_TRUE(memcmp(out[0][weighted][k], out[th - 1][weighted][k],
                                   (k == 2 ? ng : n) * sizeof(double)) == 0);
    /* weights matter: the weighted figures are not the unweighted ones */
    ASSERT_TRUE(memcmp(out[0][0][0], out[0][1][0], n * sizeof(double)) != 0);
    /* a fail year outside 0..T is refused, not read out of bounds */
    fy[7] = (int32_t)T + 1;
    sn_data d = {N, I, L, T, x, fy, NULL, group, 4, NULL, 0, 0};
    ASSERT_EQ_INT(sn_survival(&d, 2, out[0][0][0], out[0][0][1], out[0][0][2]), -2);
    free(x);
    free(w);
    free(fy);
}

static void put_codes(void *table, size_t i, const double *centred, size_t N)
{
    const uint8_t *t = table;
    sn_codes_from_ranks(N, t, centred, (uint8_t *)table + 2 * N + 1 + i * N);
}

/* sim.c ranks each input once: tn_spearman hands the ranks to
 * sn_codes_from_ranks, and sn_survival reads those bins instead of binning
 * the inputs itself; unweighted, it counts fail years by tuples of labs.
 * Both must leave every figure as it was, bit for bit: against its own
 * binning (codes NULL), and against the per-lab histograms of the
 * weighted code with every weight 1 (whose sums are then the same
 * integers). A conditioned run's weights (whole multiples of 2^-32 in
 * [0, 1]) are summed as integers by tuple: the same bits as their sums
 * path by path (plain_sums). Columns with ties across bin and band edges; labs in
 * tuples of 2 with one left over (L = 5, T = 9: 100 codes a tuple), of 3
 * (L = 3, T = 4: 125), and none (T = 20: 21 x 21 > 256). */
static void shared(void)
{
    static const size_t cases[][3] = {{30011, 5, 9}, {4099, 3, 4}, {20000, 2, 20}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const size_t N = cases[c][0], L = cases[c][1], T = cases[c][2], I = 5;
        rs_key key = rs_key_make(15 + c, rs_stream_id("test", "sensitivity"));
        double *x = malloc(N * I * sizeof *x), *w = malloc(N * sizeof *w);
        double *surv = malloc(N * L * sizeof *surv), *cash = malloc(N * L * sizeof *cash);
        double *rs = malloc(L * I * sizeof *rs), *rc = malloc(L * I * sizeof *rc);
        int32_t *fy = malloc(N * L * sizeof *fy);
        uint8_t *table = malloc(2 * N + 1 + N * I), *codes = table + 2 * N + 1;
        ASSERT_TRUE(x && w && surv && cash && rs && rc && fy && table);
        sn_code_table(N, table);
        for (size_t p = 0; p < N; p++) {
            double u = rs_uniform(key, p, 0, 0);
            double *row = x + p * I;
            row[0] = floor(7 * u);                       /* ties across bins */
            row[1] = u < 0.12 ? 0.5 : u;                 /* a run across a band edge */
            row[2] = rs_normal(key, p, 0, 1);
            row[3] = row[2] + rs_normal(key, p, 0, 2);   /* a correlated pair */
            row[4] = rs_uniform(key, p, 0, 3) < 0.5 ? -0.0 : 0.0; /* one value, two zeros */
            w[p] = 1.0;
            for (size_t l = 0; l < L; l++) {
                double v = row[l % 4] + rs_normal(key, p, 1, (uint32_t)l);
                int32_t y = v > 1.0 ? 0 : 1 + (int32_t)((size_t)(fabs(v) * 3) % T);
                fy[p * L + l] = y;
                surv[p * L + l] = y == 0;
                cash[p * L + l] = v;
            }
        }
        /* a run's sample holds its inputs by column ([I][N]): tn_spearman
         * reads them so, and sn_survival either way (by_column) */
        double *xc = malloc(N * I * sizeof *xc);
        ASSERT_TRUE(xc != NULL);
        for (size_t p = 0; p < N; p++)
            for (size_t i = 0; i < I; i++)
                xc[i * N + p] = x[p * I + i];
        ASSERT_TRUE(tn_spearman(N, I, L, xc, surv, cash, 2, rs, rc, put_codes, table) == 0);
        int group[5] = {0, 1, 2, 2, 3};
        const size_t n = L * T * I, ng = L * T * 4;
        /* a conditioned run's weights: whole multiples of 2^-32 in [0, 1] */
        double *wq = malloc(N * sizeof *wq);
        double *out = malloc(8 * (2 * n + ng) * sizeof *out);
        ASSERT_TRUE(out != NULL && wq != NULL);
        for (size_t p = 0; p < N; p++)
            wq[p] = floor(rs_uniform(key, p, 2, 0) * 4294967296.0) / 4294967296.0;
        for (int k = 0; k < 8; k++) {
            /* k = 0: the shared codes; 1: binned here; 2: weights of 1,
             * summed as integers; 3: the same summed path by path; 4 and
             * 5: the quantised weights, as integers and path by path; 6
             * and 7: 1 and 4 with the inputs by column */
            const double *wk = k == 2 || k == 3 ? w : k == 4 || k == 5 || k == 7 ? wq : NULL;
            sn_data d = {N, I, L, T, k >= 6 ? xc : x, fy, wk, group, 4, k == 0 ? codes : NULL,
                         k == 3 || k == 5, k >= 6};
            double *o = out + (size_t)k * (2 * n + ng);
            ASSERT_TRUE(sn_survival(&d, 2, o, o + n, o + 2 * n) == 0);
        }
        for (int k = 1; k < 4; k++)
            ASSERT_TRUE(memcmp(out, out + (size_t)k * (2 * n + ng),
                               (2 * n + ng) * sizeof *out) == 0);
        ASSERT_TRUE(memcmp(out + 4 * (2 * n + ng), out + 5 * (2 * n + ng),
                           (2 * n + ng) * sizeof *out) == 0);
        ASSERT_TRUE(memcmp(out, out + 6 * (2 * n + ng), (2 * n + ng) * sizeof *out) == 0);
        ASSERT_TRUE(memcmp(out + 4 * (2 * n + ng), out + 7 * (2 * n + ng),
                           (2 * n + ng) * sizeof *out) == 0);
        /* the weights change the figures: the last comparison is not of
         * the unweighted ones */
        ASSERT_TRUE(memcmp(out, out + 4 * (2 * n + ng), n * sizeof *out) != 0);
        free(wq);
        /* and the figures are not all NaN or 0: a real comparison */
        int finite = 0;
        for (size_t k = 0; k < n; k++)
            finite += isfinite(out[k]) && out[k] != 0.0;
        ASSERT_TRUE(finite > (int)(n / 2));
        free(x); free(xc); free(w); free(surv); free(cash); free(rs); free(rc); free(fy); free(table);
        free(out);
    }
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";
    int all = !strcmp(what, "all");
    if (all || !strcmp(what, "analytic"))
        analytic();
    if (all || !strcmp(what, "correlated"))
        correlated();
    if (all || !strcmp(what, "threads"))
        threads();
    if (all || !strcmp(what, "binning"))
        binning();
    if (all || !strcmp(what, "shared"))
        shared();
    TU_DONE();
}
