/* st_ranks against a brute-force count, on columns built to hit every
 * branch of the radix ranking: ties, -0.0 and +0.0, negatives, values
 * equal in their top 32 key bits but not in the low ones (in both orders),
 * long runs of equal values (a survival column), crowds of zeros among
 * both signs, crowds that defeat the insertion sort, strides; the
 * weighted mid-ranks of the same columns against the table they were
 * first computed with, bit for bit; and the Wilson
 * interval's edge cases. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/stats.h"
#include "rng/rng_stream.h"
#include "test_util.h"

/* 1-based average rank by definition: (number below) + (number equal + 1) / 2. */
static double brute_rank(size_t n, const double *x, size_t xs, size_t i)
{
    size_t below = 0, equal = 0;
    for (size_t k = 0; k < n; k++) {
        below += x[k * xs] < x[i * xs];
        equal += x[k * xs] == x[i * xs];
    }
    return (double)below + 0.5 * (double)(equal + 1);
}

/* Weighted mid-ranks as the tornado of a conditioned run first computed
 * them, from the ranks: each weight added to its rank's slot of a table
 * of 2 n + 2 (in index order), then a running sum over the table. */
static void weighted_by_table(size_t n, const double *r, const double *w, double *out)
{
    size_t m = 2 * n + 2;
    double *acc = calloc(m, sizeof *acc);
    ASSERT_TRUE(acc != NULL);
    for (size_t i = 0; i < n; i++)
        acc[(size_t)(2.0 * r[i])] += w[i];
    double before = 0.0;
    for (size_t k = 0; k < m; k++) {
        double here = acc[k];
        acc[k] = before + 0.5 * here;
        before += here;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = acc[(size_t)(2.0 * r[i])];
    free(acc);
}

/* st_weighted_ranks gives the table's bits exactly, strided and in
 * place. The weights span twelve orders of magnitude, with zeros, so
 * that summing a tie group's weights in any other order than the
 * paths' would change low bits. */
static void check_weighted(const char *what, size_t n, const double *x, size_t xs,
                           const double *r, size_t *scratch)
{
    double *w = malloc(n * sizeof *w), *want = malloc(n * sizeof *want);
    double *got = malloc(n * sizeof *got);
    ASSERT_TRUE(w && want && got);
    rs_key k = rs_key_make(11, rs_stream_id("test", "weights"));
    for (size_t i = 0; i < n; i++)
        w[i] = i % 13 == 5 ? 0.0 : exp(3.0 * rs_normal(k, i, 0, 0));
    weighted_by_table(n, r, w, want);
    ASSERT_TRUE(st_weighted_ranks(n, x, xs, w, got, scratch) == 0);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += memcmp(&got[i], &want[i], sizeof got[i]) != 0;
    for (size_t i = 0; i < n; i++) /* in place */
        got[i] = x[i * xs];
    ASSERT_TRUE(st_weighted_ranks(n, got, 1, w, got, scratch) == 0);
    for (size_t i = 0; i < n; i++)
        bad += memcmp(&got[i], &want[i], sizeof got[i]) != 0;
    if (bad)
        printf("%s: %zu weighted ranks differ from the table's\n", what, bad);
    ASSERT_TRUE(bad == 0);
    free(w); free(want); free(got);
}

static void check_column(const char *what, size_t n, const double *x, size_t xs)
{
    double *r = malloc(n * sizeof *r);
    size_t *scratch = malloc(2 * n * sizeof *scratch);
    ASSERT_TRUE(r && scratch);
    ASSERT_TRUE(st_ranks(n, x, xs, r, scratch) == 0);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += r[i] != brute_rank(n, x, xs, i);
    if (bad)
        printf("%s: %zu ranks differ from the brute-force count\n", what, bad);
    ASSERT_TRUE(bad == 0);
    /* in place, as sim.c ranks its columns */
    double *y = malloc(n * sizeof *y);
    ASSERT_TRUE(y != NULL);
    for (size_t i = 0; i < n; i++)
        y[i] = x[i * xs];
    ASSERT_TRUE(st_ranks(n, y, 1, y, scratch) == 0);
    for (size_t i = 0; i < n; i++)
        ASSERT_SAME(y[i], r[i]);
    check_weighted(what, n, x, xs, r, scratch);
    free(y);
    free(r);
    free(scratch);
}

static void test_ranks_and_weighted_ranks_exact_on_hostile_columns(void)
{
    enum { N = 3000 };
    static double x[2 * N];
    rs_key k = rs_key_make(7, rs_stream_id("test", "ranks"));
    /* continuous values of both signs, stride 2 (the other slot garbage) */
    for (size_t i = 0; i < N; i++) {
        x[2 * i] = rs_normal(k, i, 0, 0) * 1e3;
        x[2 * i + 1] = NAN;
    }
    check_column("normal, stride 2", N, x, 2);
    /* heavy ties, both zeros */
    for (size_t i = 0; i < N; i++)
        x[i] = (double)(int)(rs_uniform(k, i, 1, 0) * 7) - 3.0 + (i % 11 == 0 ? -0.0 : 0.0);
    check_column("seven tied values and -0.0", N, x, 1);
    /* 0/1 like a survival column */
    for (size_t i = 0; i < N; i++)
        x[i] = rs_uniform(k, i, 2, 0) < 0.3 ? 0.0 : 1.0;
    check_column("survival 0/1", N, x, 1);
    /* two values, the larger first, with -0.0 and +0.0 tying; stride 2 */
    for (size_t i = 0; i < N; i++) {
        x[2 * i] = i == 0 || rs_uniform(k, i, 3, 0) < 0.6 ? 2.5 : (i % 5 ? 0.0 : -0.0);
        x[2 * i + 1] = -7.0;
    }
    check_column("two values, larger first, both zeros", N, x, 2);
    /* one value throughout (everyone survives) */
    for (size_t i = 0; i < N; i++)
        x[i] = i % 4 ? 0.0 : -0.0;
    check_column("one value", N, x, 1);
    /* two values until the last, which is a third */
    for (size_t i = 0; i < N; i++)
        x[i] = i + 1 == N ? 0.5 : (double)(i % 2);
    check_column("two values then a third", N, x, 1);
    /* equal top 32 bits, low bits in descending then random order */
    for (size_t i = 0; i < N; i++) {
        double base = i % 3 == 0 ? 1e9 : -2.5;
        x[i] = i % 2 ? nextafter(base, INFINITY) : base;
        for (size_t s = 0; s < (N - i) % 17; s++)
            x[i] = nextafter(x[i], INFINITY);
    }
    check_column("runs equal in the top 32 bits", N, x, 1);
    /* one run of distinct values all within 2^-20 relative: a long run
     * that must be sorted by the low halves */
    for (size_t i = 0; i < N; i++)
        x[i] = 1.0 + ldexp((double)((i * 7919) % N), -40);
    check_column("one long run sorted by low bits", N, x, 1);
    /* the radix sort takes the top 32 bits of each key less the column's
     * smallest: with an outlier 30 octaves away, a cluster of values a
     * few ulps apart ties in those bits and is one long run, in
     * descending order, sorted by the low bits; ties inside it too */
    for (size_t i = 0; i < N; i++)
        x[i] = i % 10 == 0 ? 1e9 - (double)i
                           : 1.0 + ldexp((double)((N - i) / 2), -52);
    check_column("a cluster a few ulps wide beside a far outlier", N, x, 1);
    /* the widest span: keys from -DBL_MAX to DBL_MAX */
    for (size_t i = 0; i < N; i++)
        x[i] = i == 0 ? -1.7976931348623157e308 : i == 1 ? 1.7976931348623157e308
                                                 : rs_normal(k, i, 4, 0);
    check_column("keys spanning the whole range", N, x, 1);
    /* A lab's final cash: a crowd of zeros (both signs of it) among
     * values of both signs, some tiny. The ranking closes the gaps
     * between the negatives, zero and the positives and keeps zero's
     * bucket for zeros alone. */
    for (size_t i = 0; i < N; i++) {
        double u = rs_uniform(k, i, 5, 0), v = exp(12.0 * rs_normal(k, i, 6, 0));
        x[i] = u < 0.4 ? (i % 3 ? 0.0 : -0.0) : u < 0.55 ? -v : v;
    }
    check_column("a crowd of zeros among values of both signs", N, x, 1);
    /* the same with the extremes of both signs (denormals, the largest
     * doubles, infinities): no room to close the gaps with margins */
    x[0] = -INFINITY; x[1] = INFINITY; x[2] = -4.9e-324; x[3] = 4.9e-324;
    x[4] = -1.7976931348623157e308; x[5] = 1.7976931348623157e308;
    check_column("zeros, denormals and infinities of both signs", N, x, 1);
    /* distinct values within 2^-30 relative, in random order, beside a
     * far outlier: they share the sort's buckets, and the insertion sort
     * that finishes it gives up for the full radix passes */
    for (size_t i = 0; i < N; i++)
        x[i] = i == N / 2 ? 1e300 : 1.0 + ldexp(rs_uniform(k, i, 7, 0), -30);
    check_column("a crowd in few buckets, in random order", N, x, 1);
    /* a single value, and n = 1 */
    check_column("n = 1", 1, x, 1);
}

static void test_spearman_of_monotone_transform_is_one(void)
{
    enum { N = 5000 };
    static double x[N], y[N], work[2 * N];
    static size_t idx[2 * N];
    rs_key k = rs_key_make(8, rs_stream_id("test", "spearman"));
    for (size_t i = 0; i < N; i++) {
        x[i] = rs_normal(k, i, 0, 0);
        y[i] = exp(3.0 * x[i]);
    }
    ASSERT_NEAR(st_spearman(N, x, 1, y, 1, work, idx), 1.0, 1e-12);
    for (size_t i = 0; i < N; i++)
        y[i] = -y[i];
    ASSERT_NEAR(st_spearman(N, x, 1, y, 1, work, idx), -1.0, 1e-12);
    for (size_t i = 0; i < N; i++)
        y[i] = 2.0;
    ASSERT_TRUE(isnan(st_spearman(N, x, 1, y, 1, work, idx)));
}

static void test_wilson_stays_in_unit_interval_at_the_edges(void)
{
    double lo, hi;
    st_wilson(0, 100, &lo, &hi);
    ASSERT_TRUE(lo == 0.0 && hi > 0.0 && hi < 0.05);
    st_wilson(100, 100, &lo, &hi);
    ASSERT_TRUE(hi == 1.0 && lo < 1.0 && lo > 0.95);
    st_wilson(50, 100, &lo, &hi);
    ASSERT_NEAR(lo, 0.40383, 1e-4);
    ASSERT_NEAR(hi, 0.59617, 1e-4);
}

/* st_sort_doubles (the backtest's sort) gives exactly the order of a
 * stable comparison sort, bit for bit: ascending, -0.0 and +0.0 equal and
 * left in the order they came in (a key that dropped a zero's sign, or a
 * sort that put -0.0 first, would change a quantile's sign of zero), on
 * columns with negatives, ties, subnormals, infinities, a constant column
 * (every pass skipped) and lengths either side of one. */
static void test_sort_doubles_gives_a_stable_comparison_sorts_bits(void)
{
    static const double pool[] = { 0.0, -0.0, 1.0, -1.0, 2.5, 2.5, 1e-310, -1e-310,
                                   INFINITY, -INFINITY, 1e300, -3.75, 0.0, -0.0 };
    const size_t np = sizeof pool / sizeof pool[0];
    uint64_t r = 0x9e3779b97f4a7c15ull;
    size_t bad = 0;
    for (size_t n = 0; n <= 3000; n += n < 20 ? 1 : 997) {
        for (int kind = 0; kind < 3; kind++) {
            double *v = malloc((n + 1) * sizeof *v), *tmp = malloc((n + 1) * sizeof *tmp);
            double *want = malloc((n + 1) * sizeof *want);
            ASSERT_TRUE(v && tmp && want);
            for (size_t i = 0; i < n; i++) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                v[i] = kind == 0 ? pool[r % np]
                     : kind == 1 ? (double)(int64_t)(r >> 11) * 1e-9 - 4e3
                                 : (r % 2 ? 0.0 : -0.0); /* zeros only */
            }
            /* insertion sort: stable, by the same comparison */
            for (size_t i = 0; i < n; i++) {
                double x = v[i];
                size_t k = i;
                for (; k > 0 && want[k - 1] > x; k--)
                    want[k] = want[k - 1];
                want[k] = x;
            }
            st_sort_doubles(n, v, tmp);
            for (size_t i = 0; i < n; i++)
                bad += memcmp(&v[i], &want[i], sizeof v[i]) != 0;
            free(v); free(tmp); free(want);
        }
    }
    ASSERT_EQ_INT(bad, 0);
}

int main(void)
{
    test_sort_doubles_gives_a_stable_comparison_sorts_bits();
    test_ranks_and_weighted_ranks_exact_on_hostile_columns();
    test_spearman_of_monotone_transform_is_one();
    test_wilson_stays_in_unit_interval_at_the_edges();
    TU_DONE();
}
