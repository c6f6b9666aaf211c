/* The quantile sketch keeps its stated relative error against exact order
 * statistics, and merging is exact whatever the split. */
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "engine/sketch.h"
#include "rng/rng_dist.h"
#include "rng/rng_stream.h"
#include "test_util.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_quantiles_within_stated_relative_error(void)
{
    enum { N = 20001 };
    static double x[N];
    rs_key key = rs_key_make(3, rs_stream_id("test", "sketch"));
    /* Mixed signs and magnitudes, like operating cash flow. */
    rd_dist d = rd_normal(0.5, 20.0);
    char err[128];
    rd_prepare(&d, err, sizeof err);
    sk_local loc[3];
    sk_set set;
    for (int i = 0; i < 3; i++)
        sk_local_init(&loc[i], 1);
    sk_set_init(&set, 1);
    for (int i = 0; i < N; i++) {
        x[i] = rd_quantile(&d, rs_uniform(key, (uint64_t)i, 0, 0));
        sk_add(&loc[i % 3], 0, x[i]);
    }
    for (int i = 2; i >= 0; i--) /* any order */
        sk_merge(&set, &loc[i]);
    qsort(x, N, sizeof x[0], cmp);
    const double qs[] = { 0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0 };
    for (size_t j = 0; j < sizeof qs / sizeof qs[0]; j++) {
        double exact = x[(size_t)floor(qs[j] * (N - 1))];
        double est = sk_quantile(&set, 0, qs[j]);
        ASSERT_NEAR(est, exact, SK_REL_ERROR * fabs(exact) + ldexp(1.0, SK_EMIN));
    }
    ASSERT_EQ_U64(set.total[0], N);
    ASSERT_EQ_U64(set.overflow, 0);
    for (int i = 0; i < 3; i++)
        sk_local_free(&loc[i]);
    sk_set_free(&set);
}

static void test_buckets_are_monotone_and_cover_zero(void)
{
    double v[] = { -1e13, -3.5, -1e-3, -1e-9, 0.0, 1e-9, 1e-3, 1.0, 1.0078125, 3.5, 1e13 };
    for (size_t i = 1; i < sizeof v / sizeof v[0]; i++)
        ASSERT_TRUE(sk_bucket(v[i - 1]) <= sk_bucket(v[i]));
    ASSERT_EQ_INT(sk_bucket(0.0), SK_NPOS);
    ASSERT_EQ_INT(sk_bucket(-0.0), SK_NPOS);
    ASSERT_EQ_INT(sk_bucket(1e-9), SK_NPOS);
    ASSERT_TRUE(sk_bucket(1e13) == SK_NBUCKETS - 1);
    ASSERT_TRUE(sk_bucket(-1e13) == 0);
    /* representative of 1.0's bucket [1, 1 + 1/128) is its midpoint */
    ASSERT_SAME(sk_value(sk_bucket(1.0)), 1.0 + 0.5 / 128);
}

/* The bucket by its definition: (binary exponent clamped to
 * [SK_EMIN, SK_EMAX), top SK_SUB mantissa bits), mirrored for negatives,
 * tiny values in the zero bucket, huge ones and NaN in the top bucket. */
static int bucket_by_definition(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    if (e < SK_EMIN)
        return SK_NPOS;
    int idx = e >= SK_EMAX ? SK_NPOS - 1
                           : ((e - SK_EMIN) << SK_SUB) | (int)((bits >> (52 - SK_SUB)) & ((1u << SK_SUB) - 1));
    return (bits >> 63) ? SK_NPOS - 1 - idx : SK_NPOS + 1 + idx;
}

static void test_bucket_matches_its_definition_on_every_exponent_and_sign(void)
{
    size_t bad = 0;
    for (uint64_t sign = 0; sign < 2; sign++)
        for (uint64_t e = 0; e < 2048; e++) /* subnormals, infinities and NaN too */
            for (uint64_t m = 0; m < 1024; m++) {
                /* mantissas with every top-7-bit pattern, both extremes of
                 * the rest, and scrambled ones */
                uint64_t mant = m < 256 ? (m >> 1) << 45 | (m & 1 ? (1ull << 45) - 1 : 0)
                                        : (m * 0x9E3779B97F4A7C15ull) & ((1ull << 52) - 1);
                uint64_t b = sign << 63 | e << 52 | mant;
                double x;
                memcpy(&x, &b, sizeof x);
                bad += sk_bucket(x) != bucket_by_definition(x);
            }
    ASSERT_TRUE(bad == 0);
}

/* sk_add_bulk counts exactly the kept lanes (keep != 0, any value), each in
 * sk_bucket's bucket, and keeps their exact extremes (NaN never one): for
 * block lengths either side of the vector width, keep patterns from none
 * to all, and values that repeat, as lanes of one bucket do in a run.
 * Five adds to the same sketch, with the crowd moving between buckets, so
 * that its hot bucket (counted by a sum) changes between calls. */
static void test_bulk_add_counts_exactly_the_kept_lanes(void)
{
    static const size_t ns[] = { 1, 2, 15, 16, 17, 31, 33, 100, 128, 255, 256 };
    static const double pool[] = { 0.0, -0.0, 1.0, 1.0, 1.0, 3.5, -2.25, 1e-30, 7e20, NAN, 0.75 };
    static const double crowd[] = { 1.0, 1.0, 0.75, 0.0, 3.5 };
    const size_t np = sizeof pool / sizeof pool[0];
    uint64_t r = 88172645463325252ull;
    size_t bad = 0;
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (int density = 0; density <= 4; density++) {
            size_t n = ns[a];
            sk_local s;
            ASSERT_TRUE(sk_local_init(&s, 2) == 0);
            static uint32_t want[SK_NBUCKETS];
            memset(want, 0, sizeof want);
            double mn = INFINITY, mx = -INFINITY;
            for (int call = 0; call < 5; call++) {
                double x[SK_BULK_MAX];
                int64_t keep[SK_BULK_MAX];
                for (size_t j = 0; j < n; j++) {
                    r ^= r << 13, r ^= r >> 7, r ^= r << 17; /* xorshift64 */
                    x[j] = (r >> 20) % 2 ? crowd[call] : pool[(r >> 8) % np];
                    keep[j] = (int)((r >> 40) % 4) < density ? (((int64_t)((r >> 50) % 3) - 1) | 1) : 0;
                    if (!keep[j])
                        continue;
                    want[sk_bucket(x[j])]++;
                    if (x[j] == x[j]) {
                        mn = sk_min(mn, x[j]);
                        mx = sk_max(mx, x[j]);
                    }
                }
                sk_add_bulk(&s, 1, x, keep, n);
            }
            for (size_t b = 0; b < SK_NBUCKETS; b++) {
                bad += s.count[b] != 0; /* sketch 0 untouched */
                bad += s.count[SK_NBUCKETS + b] != want[b];
            }
            ASSERT_TRUE(sk_key(s.mn[1]) == sk_key(mn));
            ASSERT_TRUE(sk_key(s.mx[1]) == sk_key(mx));
            sk_local_free(&s);
        }
    ASSERT_EQ_INT(bad, 0);
}

/* sk_set_add_bulk_w, a conditioned run's block add, gives each bucket
 * the sum of its kept lanes' weights (w != 0; a lane of weight 0 is not
 * kept and is never an extreme), the total and the overflow (edge
 * buckets, NaN included) their sums, and the extremes of the kept
 * values; sk_set_add_w, one lane, the same. Weights up to 2^32, as a
 * path's quantised weight can be; values that repeat and edge values. */
static void test_weighted_bulk_add_sums_the_kept_weights(void)
{
    static const size_t ns[] = { 1, 7, 16, 17, 64, 255, 256 };
    static const double pool[] = { 0.0, -0.0, 1.0, 1.0, 3.5, -2.25, 1e-30, 7e20, -7e20, NAN, 0.75 };
    const size_t np = sizeof pool / sizeof pool[0];
    uint64_t r = 0x9e3779b97f4a7c15ull;
    size_t bad = 0;
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (int density = 0; density <= 4; density++) {
            size_t n = ns[a];
            sk_set s;
            ASSERT_TRUE(sk_set_init(&s, 2) == 0);
            static uint64_t want[SK_NBUCKETS];
            memset(want, 0, sizeof want);
            uint64_t total = 0, over = 0;
            double mn = INFINITY, mx = -INFINITY;
            for (int call = 0; call < 4; call++) {
                double x[SK_BULK_MAX];
                uint64_t w[SK_BULK_MAX], tot = 0;
                for (size_t j = 0; j < n; j++) {
                    r ^= r << 13, r ^= r >> 7, r ^= r << 17; /* xorshift64 */
                    x[j] = pool[(r >> 8) % np];
                    w[j] = (int)((r >> 40) % 4) < density ? 1 + (r >> 31) : 0; /* <= 2^33 */
                    tot += w[j];
                    if (!w[j])
                        continue;
                    int b = sk_bucket(x[j]);
                    want[b] += w[j];
                    over += b == 0 || b == SK_NBUCKETS - 1 ? w[j] : 0;
                    if (x[j] == x[j]) {
                        mn = sk_min(mn, x[j]);
                        mx = sk_max(mx, x[j]);
                    }
                }
                total += tot;
                if (call % 2)
                    sk_set_add_bulk_w(&s, 1, x, w, tot, n);
                else
                    for (size_t j = 0; j < n; j++)
                        if (w[j])
                            sk_set_add_w(&s, 1, x[j], w[j]);
            }
            for (size_t b = 0; b < SK_NBUCKETS; b++) {
                bad += s.count[b] != 0; /* sketch 0 untouched */
                bad += s.count[SK_NBUCKETS + b] != want[b];
            }
            bad += s.total[0] != 0;
            bad += s.total[1] != total;
            bad += s.overflow != over;
            ASSERT_TRUE(sk_key(s.mn[1]) == sk_key(mn));
            ASSERT_TRUE(sk_key(s.mx[1]) == sk_key(mx));
            sk_set_free(&s);
        }
    ASSERT_EQ_INT(bad, 0);
}

int main(void)
{
    test_weighted_bulk_add_sums_the_kept_weights();
    test_bulk_add_counts_exactly_the_kept_lanes();
    test_bucket_matches_its_definition_on_every_exponent_and_sign();
    test_quantiles_within_stated_relative_error();
    test_buckets_are_monotone_and_cover_zero();
    TU_DONE();
}
