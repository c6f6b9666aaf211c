/* stats: see stats.h. */
#include "engine/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void st_wilson(uint64_t k, uint64_t n, double *lo, double *hi)
{
    st_wilson_p((double)k / (double)n, (double)n, lo, hi);
}

void st_wilson_p(double p, double nn, double *lo, double *hi)
{
    double z = ST_Z975;
    double den = 1.0 + z * z / nn;
    double centre = (p + z * z / (2.0 * nn)) / den;
    double half = z * sqrt(p * (1.0 - p) / nn + z * z / (4.0 * nn * nn)) / den;
    *lo = centre - half;
    *hi = centre + half;
    /* Rounding can push a bound a hair past the estimate at p = 0 or 1. */
    if (*lo > p)
        *lo = p;
    if (*hi < p)
        *hi = p;
    if (*lo < 0.0)
        *lo = 0.0;
    if (*hi > 1.0)
        *hi = 1.0;
}

/* A double's bits as an unsigned key with the same order (negatives
 * flipped entirely, positives with the sign bit set); -0.0 is made +0.0
 * first so that the two zeros tie, as they compare equal. */
static inline uint64_t order_key(double x)
{
    uint64_t b;
    x = x == 0.0 ? 0.0 : x;
    memcpy(&b, &x, sizeof b);
    return (b >> 63) ? ~b : b | 0x8000000000000000ull;
}

static int cmp_double_asc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A radix pass's digit counts c[0..m] turned into each digit's first
 * slot (an exclusive prefix sum). */
static void counts_to_offsets(size_t *c, size_t m)
{
    size_t sum = 0;
    for (size_t d = 0; d <= m; d++) {
        size_t x = c[d];
        c[d] = sum;
        sum += x;
    }
}

/* Ranks by a radix sort on the top 32 bits of each key (less the
 * column's smallest: see st_ranks), packed with the value's index into
 * one 64-bit word (key << 32 | index), so each pass moves 8 bytes per
 * value. Two passes (11 and 10 bits) order the words by their top 21
 * key bits; an insertion sort of whole words then finishes the order
 * (few words move: distinct values rarely share 21 bits of a spread
 * key, and tied top halves are already in index order). Where too many
 * would move (a column crowded into few of those buckets), the three
 * passes of 11, 11 and 10 bits sort it instead. Values whose top halves
 * tie are then put in exact order by the low halves of their keys,
 * within their run only: runs are short except for columns with many
 * equal values (survival is 0 or 1), which stable sorting has already
 * left in order. Ranks depend only on the values: exact, no
 * comparisons of doubles, no globals. */
#define RADIX 11

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* LSD radix passes p0..2 (digits of 11, 11 and 10 bits above bit 32) of
 * the n words in a; tmp: n words. Returns where the result lies (a or
 * tmp). Stable. */
static uint64_t *radix_passes(size_t n, uint64_t *a, uint64_t *tmp, int p0)
{
    static const int shift[3] = { 32, 43, 54 };
    static const uint64_t mask[3] = { (1u << RADIX) - 1, (1u << RADIX) - 1, (1u << 10) - 1 };
    /* the digits' counts in one read of the keys: a pass reorders the
     * keys but never changes how many have each digit */
    size_t count[3][1u << RADIX];
    memset(count, 0, sizeof count);
    if (p0 == 0)
        for (size_t i = 0; i < n; i++)
            count[0][(a[i] >> 32) & mask[0]]++;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = a[i];
        count[1][(v >> 43) & mask[1]]++;
        count[2][(v >> 54) & mask[2]]++;
    }
    const size_t h = n / 2;
    for (int p = p0; p < 3; p++) {
        const int sh = shift[p];
        const uint64_t m = mask[p];
        size_t *cp = count[p];
        if (cp[(a[0] >> sh) & m] == n) /* one digit for all: nothing to do */
            continue;
        /* Two halves scattered side by side, each through its own
         * offsets (the first half's keys of a digit before the second
         * half's: the same stable order). One stream waited on itself
         * wherever neighbouring keys share a digit (the increment of a
         * digit's offset waits for the one before); two streams halve
         * those waits. The first half's counts, in two quarters (two
         * chains again). */
        size_t ca[2][1u << RADIX];
        memset(ca, 0, sizeof ca);
        const size_t q = h / 2;
        for (size_t i = 0; i < q; i++) {
            ca[0][(a[i] >> sh) & m]++;
            ca[1][(a[q + i] >> sh) & m]++;
        }
        if (h & 1)
            ca[0][(a[h - 1] >> sh) & m]++;
        counts_to_offsets(cp, (size_t)m);
        for (size_t d = 0; d <= m; d++) {
            ca[1][d] += ca[0][d] + cp[d]; /* the second half's first slot */
            ca[0][d] = cp[d];             /* the first half's */
        }
        size_t *oa = ca[0], *ob = ca[1];
        for (size_t i = 0; i < h; i++) {
            uint64_t x = a[i], y = a[h + i];
            tmp[oa[(x >> sh) & m]++] = x;
            tmp[ob[(y >> sh) & m]++] = y;
        }
        if (n & 1)
            tmp[ob[(a[n - 1] >> sh) & m]++] = a[n - 1];
        uint64_t *t = a; a = tmp; tmp = t;
    }
    return a; /* a or tmp: not copied back, the caller reads it where it is */
}

/* The words of a (n; tmp: n more) in ascending order, stable for equal
 * top halves; returns where they lie (a or tmp). */
static uint64_t *radix_hi32(size_t n, uint64_t *a, uint64_t *tmp)
{
    uint64_t *s = radix_passes(n, a, tmp, 1);
    uint64_t *o = s == a ? tmp : a;
    /* The lowest digit's pass (a third of the sort) replaced by an
     * insertion sort: the words are in order but for runs that share
     * their top 21 bits, where a word moves back past the few before it
     * with a greater key. The budget bounds the moves at twice the
     * values; past it the three passes sort the words from where they
     * are: by top halves, with tied top halves perhaps out of index
     * order, which key_order's sort of each such run puts right. */
    const size_t budget = 2 * n + 64;
    size_t moved = 0;
    for (size_t k = 1; k < n; k++) {
        uint64_t v = s[k];
        if (__builtin_expect(v < s[k - 1], 0)) {
            size_t m = k;
            do {
                s[m] = s[m - 1];
                m--;
            } while (m > 0 && s[m - 1] > v);
            s[m] = v;
            moved += k - m;
            if (moved > budget)
                return radix_passes(n, s, o, 0);
        }
    }
    return s;
}

/* Whether x holds at most two distinct keys (survival is 0 or 1): 0 with
 * them in k0 and k1 (k1 == k0: one value) and n0, how many have k0; 1
 * when it holds more. */
static int two_keys(size_t n, const double *x, size_t xs, uint64_t *k0p, uint64_t *k1p,
                    size_t *n0p)
{
    uint64_t k0 = order_key(x[0]), k1 = k0;
    size_t i = 1;
    while (i < n && k1 == k0)
        k1 = order_key(x[i++ * xs]);
    /* branch-free within a stretch (the values come in random order),
     * and a column of many values is told after its first stretch, not
     * after a pass over all of it */
    size_t n0 = 0;
    int other = 0;
    for (size_t j0 = 0; j0 < n && !other && k1 != k0; j0 += 512) {
        size_t j1 = n - j0 < 512 ? n : j0 + 512;
        for (size_t j = j0; j < j1; j++) {
            uint64_t k = order_key(x[j * xs]);
            n0 += k == k0;
            other |= (k != k0) & (k != k1);
        }
    }
    *k0p = k0;
    *k1p = k1;
    *n0p = k1 == k0 ? n : n0;
    return other;
}

/* Ranks of a column holding at most two distinct values: each value's
 * mean rank, without sorting. Returns 0 when it did them, 1 when the
 * column has more than two values. */
static int ranks_two_valued(size_t n, const double *x, size_t xs, double *r)
{
    uint64_t k0, k1;
    size_t n0;
    if (two_keys(n, x, xs, &k0, &k1, &n0))
        return 1;
    if (k1 == k0) { /* one value: every rank is the middle one */
        for (size_t j = 0; j < n; j++)
            r[j] = 0.5 * (double)(n + 1);
        return 0;
    }
    /* the smaller value has ranks 1..m, the larger m+1..n */
    size_t m = k0 < k1 ? n0 : n - n0;
    double rs = 0.5 * (double)(1 + m), rl = 0.5 * (double)(m + 1 + n);
    double r0 = k0 < k1 ? rs : rl, r1 = k0 < k1 ? rl : rs;
    for (size_t j = 0; j < n; j++)
        r[j] = order_key(x[j * xs]) == k0 ? r0 : r1;
    return 0;
}

/* The n values in order of the top 32 bits of their keys' distances d
 * (below): returns the n words (a or a + n) d's top 32 bits << 32 |
 * index, ascending; lowk[i] = the low bits of value i's d, for the runs
 * of equal top halves (sort_run). a: 2 n words; lowk: n; n < 2^32.
 * key_order then puts the runs in order (the stable order of the values
 * by key, order_key), st_ranks ranks them.
 *
 * Sorted on each key less the smallest, d = key - kmin, which keeps the
 * order: its top 32 varying bits d >> s (s = bits of the span beyond 32)
 * go beside the index, its s low bits to lowk for the runs below. The
 * plain top half of a key holds only the sign, exponent and 20 mantissa
 * bits, so a column of 2^18 draws spanning part of an octave had a third
 * of its values in runs of tied top halves, each resolved through a
 * random read of lowk; d's top bits tie only where the values nearly do.
 * Between the keys of the largest negative value, zero and the smallest
 * positive value lie those of every double of smaller magnitude: gaps
 * that took most of the span where a column holds zeros or both signs
 * (a lab's final cash: its values shared their top 21 bits in runs of
 * hundreds). d closes them: the negatives' keys less kmin, then zero's
 * d, then the positives' keys moved down to follow it, which keeps the
 * order. Zero keeps a margin of two of the sort's buckets (2^21 of them
 * over the span) on each side, so that its bucket holds only zeros: a
 * zero is often a crowd (a failed lab's final cash), and one other value
 * among the crowd would have to move past all of it.
 * The keys' low parts, dense, for the runs (reading them back from a
 * strided x would cost a cache miss each). */
static uint64_t *key_sort(size_t n, const double *x, size_t xs, uint64_t *a, uint32_t *lowk)
{
    const uint64_t POS = 0x8000000000000000ull; /* the smallest key of a value >= 0 */
    uint64_t kmin = UINT64_MAX, kmax = 0, negmax = 0, posmin = UINT64_MAX;
    for (size_t i = 0; i < n; i++) { /* x read once: the keys wait in a */
        uint64_t key = order_key(x[i * xs]);
        a[i] = key;
        kmin = key < kmin ? key : kmin;
        kmax = key > kmax ? key : kmax;
        uint64_t kn = key < POS ? key : 0, kp = key > POS ? key : UINT64_MAX;
        negmax = kn > negmax ? kn : negmax;
        posmin = kp < posmin ? kp : posmin;
    }
    /* the gaps closed: s0 = the span of the negatives' and the
     * positives' keys; mg = two buckets of a span up to 2 s0 (the margins
     * add at most 2 mg <= s0 / 2^19, or keep it below 2^32) */
    const int neg = kmin < POS, pos = kmax > POS;
    const uint64_t s0 = (neg ? negmax - kmin : 0) + (pos ? kmax - posmin : 0) + 2;
    const int b0 = 64 - __builtin_clzll(s0);
    const uint64_t mg = 1ULL << ((b0 + 1 > 32 ? b0 + 1 - 32 : 0) + 11);
    uint64_t dz = neg ? negmax - kmin + mg : 0; /* zero's d */
    uint64_t padj = posmin - dz - mg;          /* a positive's d = key - padj */
    uint64_t span = pos ? kmax - padj : kmax == POS ? dz : kmax - kmin;
    if (b0 == 64) { /* near DBL_MAX and near 0 of both signs: no room for margins */
        dz = POS - kmin;
        padj = kmin;
        span = kmax - kmin;
    }
    const int sh = span >> 32 ? 32 - __builtin_clzll(span) : 0; /* bits(span) - 32 */
    const uint64_t lowmask = (1ULL << sh) - 1;                  /* sh <= 32 */
    for (size_t i = 0; i < n; i++) {
        const uint64_t key = a[i];
        uint64_t d = key < POS ? key - kmin : key > POS ? key - padj : dz;
        a[i] = ((d >> sh) << 32) | (uint64_t)i;
        lowk[i] = (uint32_t)(d & lowmask);
    }
    return radix_hi32(n, a, a + n);
}

/* A run of m > 1 words of key_sort with equal top halves, put in order
 * by their keys' low parts: each word becomes lowk << 32 | index. */
static void sort_run(uint64_t *a, size_t m, const uint32_t *lowk)
{
    const uint64_t LO = 0xffffffffull;
    int sorted = 1;
    for (size_t k = 0; k < m; k++) {
        uint64_t id = a[k] & LO;
        a[k] = ((uint64_t)lowk[id] << 32) | id;
        sorted &= k == 0 || a[k] >= a[k - 1];
    }
    if (!sorted && m <= 16) {
        /* the usual case, two or three values that share their top
         * halves by chance: insertion sort */
        for (size_t k = 1; k < m; k++) {
            uint64_t v = a[k];
            size_t q = k;
            for (; q > 0 && a[q - 1] > v; q--)
                a[q] = a[q - 1];
            a[q] = v;
        }
    } else if (!sorted) {
        qsort(a, m, sizeof *a, cmp_u64);
    }
}

/* The end of the run of equal top halves that starts at i. */
static inline size_t run_end(size_t n, const uint64_t *a, size_t i)
{
    size_t j = i + 1;
    while (j < n && (a[j] >> 32) == (a[i] >> 32))
        j++;
    return j;
}

/* The stable order of n values by key (order_key): returns the n words
 * (a or a + n) that hold, in ascending key order, each value's index in
 * their low 32 bits; eq[k] = 1 when the k-th value in that order has the
 * key of the one before (eq[0] = 0). Ties keep their index order. a: 2 n
 * words; eq: n bytes; n < 2^32. NULL out of memory. */
static uint64_t *key_order(size_t n, const double *x, size_t xs, uint64_t *a, uint8_t *eq)
{
    uint32_t *lowk = malloc(n * sizeof *lowk);
    if (!lowk)
        return NULL;
    a = key_sort(n, x, xs, a, lowk);
    for (size_t i = 0, j; i < n; i = j) {
        j = run_end(n, a, i);
        eq[i] = 0; /* its top half differs from the value's before */
        if (j - i > 1) {
            sort_run(a + i, j - i, lowk);
            for (size_t k = i + 1; k < j; k++) /* equal in both halves: a tie */
                eq[k] = (a[k] >> 32) == (a[k - 1] >> 32);
        }
    }
    free(lowk);
    return a;
}

/* What st_ranks and st_weighted_ranks check first: -1 for n >= 2^32 (an
 * index is packed in a word's low 32 bits), 0 for no value (nothing to
 * do), 1 to go on. */
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "scratch is used as 64-bit words");
static int rank_count_ok(size_t n)
{
    return (uint64_t)n > 0xffffffffull ? -1 : n != 0;
}

int st_ranks(size_t n, const double *x, size_t xs, double *r, size_t *scratch)
{
    const uint64_t LO = 0xffffffffull;
    const int go = rank_count_ok(n);
    if (go <= 0)
        return go;
    if (ranks_two_valued(n, x, xs, r) == 0)
        return 0;
    uint32_t *lowk = malloc(n * sizeof *lowk);
    if (!lowk)
        return -1;
    const uint64_t *a = key_sort(n, x, xs, (uint64_t *)scratch, lowk);
    /* One pass: a value alone in its top half has its position's rank;
     * a run of them (rare, but in most columns: 2^32 top halves for 10^5
     * values) is put in order, and its ties (equal keys) share the mean
     * of their ranks. */
    for (size_t i = 0, j; i < n; i = j) {
        j = run_end(n, a, i);
        if (j - i == 1) {
            r[a[i] & LO] = (double)(i + 1);
            continue;
        }
        sort_run((uint64_t *)a + i, j - i, lowk);
        for (size_t k = i; k < j;) {
            size_t m = k + 1;
            while (m < j && (a[m] >> 32) == (a[k] >> 32))
                m++;
            double avg = 0.5 * (double)(k + 1 + m); /* mean of ranks k+1..m */
            for (size_t q = k; q < m; q++)
                r[a[q] & LO] = avg;
            k = m;
        }
    }
    free(lowk);
    return 0;
}

/* Each distinct value's weight is summed in index order, and the values
 * in ascending order, as the ranks-then-weights computation (ranks
 * first, then each weight added to its rank's slot of a table of 2 n + 2,
 * then a running sum over the table) summed them: the same bits. That
 * computation's scattered adds to the table and gathers from it were,
 * with the ranks it needed first, most of a conditioned run's extra
 * time; the order key_order leaves reads each tie group at once. */
int st_weighted_ranks(size_t n, const double *x, size_t xs, const double *w, double *out,
                      size_t *scratch)
{
    const uint64_t LO = 0xffffffffull;
    const int go = rank_count_ok(n);
    if (go <= 0)
        return go;
    uint64_t k0, k1;
    size_t n0;
    if (!two_keys(n, x, xs, &k0, &k1, &n0)) {
        double s0 = 0.0, s1 = 0.0; /* the weights of k0's paths and of k1's */
        for (size_t j = 0; j < n; j++) {
            double wj = w[j];
            if (order_key(x[j * xs]) == k0)
                s0 += wj;
            else
                s1 += wj;
        }
        double before = 0.0, sl = k0 <= k1 ? s0 : s1, sh = k0 <= k1 ? s1 : s0;
        double rl = before + 0.5 * sl;
        before += sl;
        double rh = before + 0.5 * sh;
        double r0 = k0 <= k1 ? rl : rh, r1 = k0 <= k1 ? rh : rl;
        for (size_t j = 0; j < n; j++)
            out[j] = order_key(x[j * xs]) == k0 ? r0 : r1;
        return 0;
    }
    uint8_t *eq = malloc(n);
    const uint64_t *o = eq ? key_order(n, x, xs, (uint64_t *)scratch, eq) : NULL;
    if (!o) {
        free(eq);
        return -1;
    }
    double before = 0.0;
    for (size_t k = 0, m; k < n; k = m) {
        double here = 0.0;
        here += w[o[k] & LO];
        for (m = k + 1; m < n && eq[m]; m++)
            here += w[o[m] & LO];
        double r = before + 0.5 * here;
        for (size_t q = k; q < m; q++)
            out[o[q] & LO] = r;
        before += here;
    }
    free(eq);
    return 0;
}

void st_sort_doubles(size_t n, double *v, double *tmp)
{
    if (n < 2)
        return;
    /* the order st_ranks sorts by (key_order: the top 32 bits of each
     * key's distance from the smallest, then runs of equal top halves by
     * their low bits): stable, so the same values in the same order as
     * the six-pass sort of whole keys it replaced */
    uint64_t *a = (uint64_t)n <= 0xffffffffull ? malloc(2 * n * sizeof *a) : NULL;
    uint8_t *eq = a ? malloc(n) : NULL;
    const uint64_t *o = eq ? key_order(n, v, 1, a, eq) : NULL;
    if (!o) { /* out of memory or 2^32 values: the comparison sort, as before */
        free(a); free(eq);
        qsort(v, n, sizeof *v, cmp_double_asc);
        return;
    }
    for (size_t k = 0; k < n; k++)
        tmp[k] = v[o[k] & 0xffffffffull];
    memcpy(v, tmp, n * sizeof *v);
    free(a); free(eq);
}

double st_spearman(size_t n, const double *x, size_t xs, const double *y,
                   size_t ys, double *work, size_t *idx)
{
    if (n < 2)
        return NAN;
    double *rx = work, *ry = work + n;
    if (st_ranks(n, x, xs, rx, idx) != 0 || st_ranks(n, y, ys, ry, idx) != 0)
        return NAN;
    double mean = 0.5 * (double)(n + 1), sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double a = rx[i] - mean, b = ry[i] - mean;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if (sxx == 0.0 || syy == 0.0)
        return NAN;
    return sxy / sqrt(sxx * syy);
}
