/* sensitivity: first-order indices and swings (see sensitivity.h). */
#include "engine/sensitivity.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "engine/stats.h"
#include "rng/rng_copula.h"

size_t sn_bins(size_t N)
{
    size_t M = (size_t)lround(cbrt((double)N));
    return M < 2 ? 2 : M > SN_MAX_BINS ? SN_MAX_BINS : M;
}

double sn_index_from_bins(size_t M, const double *W, const double *Sy, const double *Syy,
                          const double *R)
{
    double w = 0.0, s = 0.0, q = 0.0, r = 0.0, between = 0.0, rw = 0.0;
    for (size_t m = 0; m < M; m++) {
        if (!(W[m] > 0.0))
            continue;
        w += W[m]; s += Sy[m]; q += Syy[m]; r += R[m];
        between += Sy[m] * Sy[m] / W[m];
        rw += R[m] / W[m];
    }
    if (!(w > 0.0))
        return NAN;
    double sst = q - s * s / w, ssb = between - s * s / w;
    double dfw = w - rw, dfb = rw - r / w;
    /* a constant Y (every path alive): nothing to explain */
    if (!(sst > 1e-12 * w) || !(dfw > 0.0))
        return NAN;
    double ssw = sst - ssb;
    return (ssb - dfb * ssw / dfw) / sst;
}

/* Scratch of one thread for one input (or set) at a time. */
typedef struct {
    size_t *idx;   /* [2N] st_ranks' */
    double *r;     /* [N] ranks */
    double *acc;   /* [2N+2] scratch (the packed codes) */
    double *q;     /* [N] rank positions in [0, 1) */
    uint32_t *cell;/* [N] bin (or joint cell) of each path */
    uint8_t *band; /* [N] 0 none, 1 low band, 2 high band */
    /* bucketed binning (bin_codes) */
    uint16_t *bk;  /* [N] each path's bucket */
    uint32_t *bin; /* [N] each path's bin */
    double *bw;    /* [NBUCKET + 1] weight (count) of each bucket, then below it */
    int64_t *bcode;/* [NBUCKET] the bucket's bin | band << 32, or -1: split */
    struct keyed { uint64_t key; uint64_t idx; } *split; /* [N] */
} scratch;

/* Buckets of the binning's first pass (bin_codes). */
enum { NBUCKET = 1 << 16 };

static void scratch_free(scratch *sc)
{
    free(sc->idx); free(sc->r); free(sc->acc); free(sc->q); free(sc->cell); free(sc->band);
    free(sc->bk); free(sc->bin); free(sc->bw); free(sc->bcode); free(sc->split);
    memset(sc, 0, sizeof *sc);
}

static int scratch_alloc(scratch *sc, size_t N)
{
    size_t n = N ? N : 1;
    sc->idx = malloc(2 * n * sizeof *sc->idx);
    sc->r = malloc(n * sizeof *sc->r);
    sc->acc = malloc((2 * n + 2) * sizeof *sc->acc);
    sc->q = malloc(n * sizeof *sc->q);
    sc->cell = malloc(n * sizeof *sc->cell);
    sc->band = malloc(n * sizeof *sc->band);
    sc->bk = malloc(n * sizeof *sc->bk);
    sc->bin = malloc(n * sizeof *sc->bin);
    sc->bw = malloc((NBUCKET + 1) * sizeof *sc->bw);
    sc->bcode = malloc(NBUCKET * sizeof *sc->bcode);
    sc->split = malloc(n * sizeof *sc->split);
    return sc->idx && sc->r && sc->acc && sc->q && sc->cell && sc->band && sc->bk && sc->bin
        && sc->bw && sc->bcode && sc->split ? 0 : -1;
}

/* q[p] = the position of path p in x's distribution, in [0, 1): its
 * mid-rank over N. Ties share a position, so equal values always fall in
 * one bin. (Weighted, a path's position is the weight below it plus half
 * its ties' over the total weight: bin_codes gives its bins.) */
static int positions(size_t N, const double *x, size_t xs, scratch *sc)
{
    if (st_ranks(N, x, xs, sc->r, sc->idx) != 0)
        return -1;
    for (size_t p = 0; p < N; p++)
        sc->q[p] = (sc->r[p] - 0.5) / (double)N;
    return 0;
}

/* Bins on each input of a set of k inputs binned jointly:
 * floor((N / SN_SET_CELL_PATHS)^(1/k)), at least 2, at most sn_bins(N),
 * and no more than SN_MAX_SET_CELLS cells in all. Why not sn_bins(N) on
 * each: M^k cells would hold a handful of paths each (64^2 = 4096 cells
 * of 64 paths at 2^18 paths), and the correction for their noise would
 * then be most of the estimate; nor a total of M cells: a set of four
 * would be cut at its medians only (2 bins each), missing most of what
 * the set does. About SN_SET_CELL_PATHS paths a cell keeps the noise
 * term small next to the index (baseline's set of four at 2^18 paths:
 * 4 bins each, 256 cells of 1024 paths). 0 for a set of more than 12
 * inputs: even 2 bins each would make too many cells; its index is NaN. */
enum { SN_SET_CELL_PATHS = 512, SN_MAX_SET_CELLS = 4096 };
static size_t set_bins(size_t N, size_t k)
{
    size_t M = sn_bins(N);
    size_t m = (size_t)floor(pow((double)N / SN_SET_CELL_PATHS, 1.0 / (double)k) + 1e-9);
    m = m < 2 ? 2 : m > M ? M : m;
    for (;;) { /* the cap on the cells, keeping 2 bins at least */
        double cells = pow((double)m, (double)k);
        if (cells <= SN_MAX_SET_CELLS)
            return m;
        if (m <= 2) /* more than log2(SN_MAX_SET_CELLS) = 12 inputs */
            return 0;
        m--;
    }
}

static size_t bin_of(double q, size_t m)
{
    size_t b = q > 0.0 ? (size_t)(q * (double)m) : 0;
    return b < m ? b : m - 1;
}

static int band_of(double q)
{
    return q >= SN_BAND_LO0 && q < SN_BAND_LO1 ? 1 : q >= SN_BAND_HI0 && q < SN_BAND_HI1 ? 2 : 0;
}

_Static_assert(SN_MAX_BINS <= 64, "a bin fits the 6 low bits of a code");

void sn_code_table(size_t N, uint8_t *table)
{
    const size_t M = sn_bins(N);
    for (size_t k = 0; k <= 2 * N; k++) {
        /* positions()'s q, bit for bit, for the rank k / 2 */
        double q = (0.5 * (double)k - 0.5) / (double)N;
        table[k] = (uint8_t)(bin_of(q, M) | (size_t)band_of(q) << 6);
    }
}

void sn_codes_from_ranks(size_t N, const uint8_t *table, const double *centred,
                         uint8_t *codes)
{
    /* 2 (rank) is an integer from 2 to 2 N, exactly: the table's index */
    const double twice_mean = (double)(N + 1);
    for (size_t p = 0; p < N; p++)
        codes[p] = table[(size_t)(2.0 * centred[p] + twice_mean)];
}

/* A double's bits as an unsigned key in the same order (-0 as +0, so that
 * they tie, as st_ranks has them). */
static uint64_t order_key(double v)
{
    uint64_t u;
    v = v == 0.0 ? 0.0 : v;
    memcpy(&u, &v, sizeof u);
    return u >> 63 ? ~u : u | ((uint64_t)1 << 63);
}

static int by_key(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    return x->key != y->key ? (x->key < y->key ? -1 : 1) : (x->idx > y->idx) - (x->idx < y->idx);
}

/* sc->bin[p] = bin_of(q_p, m) and, when bands, sc->band[p] = band_of(q_p),
 * for q_p the position that positions() gives, without ranking every
 * path: a sort costs several times the rest of the estimate, and only
 * the ~m + 4 places where a bin or band starts need exact ranks. The
 * values go to NBUCKET buckets of equal width in key order (one pass);
 * a bucket whose paths' positions all lie in one bin and one band
 * (known from the weight of the buckets below it and its own) gives its
 * paths their codes at once; the paths of the few others are sorted and
 * ranked exactly. Unweighted, the codes are positions()'s, bit for bit
 * (the mid-ranks are the same half-integers); weighted, the position is
 * the weight below the path plus half its ties' over wsum, that weight
 * summed bucket by bucket (an exact weighted ranking, st_weighted_ranks,
 * adds it in another order, which could move a path lying exactly on a
 * bin's edge). 0, or -1 when a value is NaN. */
static int bin_codes(size_t N, const double *x, size_t xs, const double *w, double wsum,
                     size_t m, int bands, scratch *sc)
{
    uint64_t kmin = UINT64_MAX, kmax = 0;
    for (size_t p = 0; p < N; p++) {
        double v = x[p * xs];
        if (v != v)
            return -1;
        uint64_t k = order_key(v);
        kmin = k < kmin ? k : kmin;
        kmax = k > kmax ? k : kmax;
    }
    unsigned shift = 0;
    while (((kmax - kmin) >> shift) >= NBUCKET)
        shift++;
    memset(sc->bw, 0, (NBUCKET + 1) * sizeof *sc->bw);
    for (size_t p = 0; p < N; p++) {
        size_t b = (size_t)((order_key(x[p * xs]) - kmin) >> shift);
        sc->bk[p] = (uint16_t)b;
        sc->bw[b] += w ? w[p] : 1.0;
    }
    const double W = w ? wsum : (double)N;
    double below = 0.0;
    for (size_t b = 0; b < NBUCKET; b++) {
        double in = sc->bw[b];
        sc->bw[b] = below; /* now the weight below the bucket */
        /* the positions its paths can take: mid-ranks lo+1 .. hi, or
         * weights below from `below` to below + in */
        double qlo = w ? below / W : (below + 0.5) / W;
        double qhi = w ? (below + in) / W : (below + in - 0.5) / W;
        below += in;
        size_t blo = bin_of(qlo, m), bhi = bin_of(qhi, m);
        int one = blo == bhi;
        static const double edges[4] = {SN_BAND_LO0, SN_BAND_LO1, SN_BAND_HI0, SN_BAND_HI1};
        for (int e = 0; bands && e < 4; e++)
            one &= !(qlo < edges[e] && edges[e] <= qhi);
        sc->bcode[b] = one ? (int64_t)blo | ((int64_t)(bands ? band_of(qlo) : 0) << 32) : -1;
    }
    sc->bw[NBUCKET] = below;
    size_t ns = 0;
    for (size_t p = 0; p < N; p++) {
        int64_t c = sc->bcode[sc->bk[p]];
        if (c >= 0) {
            sc->bin[p] = (uint32_t)(c & 0xffffffff);
            sc->band[p] = (uint8_t)(c >> 32);
        } else {
            sc->split[ns].key = order_key(x[p * xs]);
            sc->split[ns++].idx = p;
        }
    }
    /* the split buckets' paths in key order: each bucket's together */
    qsort(sc->split, ns, sizeof *sc->split, by_key);
    size_t a = 0;
    while (a < ns) {
        size_t bucket = (size_t)((sc->split[a].key - kmin) >> shift), e = a;
        while (e < ns && (size_t)((sc->split[e].key - kmin) >> shift) == bucket)
            e++;
        /* [a, e): one bucket; its ties, exactly ranked */
        double wb = sc->bw[bucket];
        for (size_t t0 = a; t0 < e;) {
            size_t t1 = t0;
            double tw = 0.0;
            while (t1 < e && sc->split[t1].key == sc->split[t0].key) {
                tw += w ? w[sc->split[t1].idx] : 1.0;
                t1++;
            }
            double q = w ? (wb + 0.5 * tw) / W
                         : (sc->bw[bucket] + 0.5 * (double)(t0 - a + 1 + t1 - a) - 0.5) / W;
            for (size_t t = t0; t < t1; t++) {
                size_t p = (size_t)sc->split[t].idx;
                sc->bin[p] = (uint32_t)bin_of(q, m);
                sc->band[p] = (uint8_t)(bands ? band_of(q) : 0);
            }
            wb += tw;
            t0 = t1;
        }
        a = e;
    }
    return 0;
}

int sn_first_order(size_t N, const double *x, size_t xs, const double *y, double *S)
{
    size_t M = sn_bins(N);
    scratch sc = {0};
    double W[SN_MAX_BINS] = {0}, Sy[SN_MAX_BINS] = {0}, Syy[SN_MAX_BINS] = {0};
    if (scratch_alloc(&sc, N) != 0 || positions(N, x, xs, &sc) != 0) {
        scratch_free(&sc);
        return -1;
    }
    for (size_t p = 0; p < N; p++) {
        size_t b = bin_of(sc.q[p], M);
        W[b] += 1.0; Sy[b] += y[p]; Syy[b] += y[p] * y[p];
    }
    *S = sn_index_from_bins(M, W, Sy, Syy, W);
    scratch_free(&sc);
    return 0;
}

void sn_groups(const sc_scenario *s, int *group, size_t *ngroups)
{
    size_t I = s->ninputs, n = s->ncop;
    /* union-find over the inputs, linked by the copula's nonzero
     * correlations: R = F F^T with F its lower Cholesky factor */
    size_t *up = malloc((I ? I : 1) * sizeof *up);
    const double *F = s->copula ? rc_factor(s->copula) : NULL;
    for (size_t i = 0; i < I; i++)
        if (up)
            up[i] = i;
    for (size_t a = 0; up && F && a < n; a++)
        for (size_t b = 0; b < a; b++) {
            double r = 0.0;
            for (size_t k = 0; k <= b; k++)
                r += F[a * n + k] * F[b * n + k];
            if (fabs(r) <= 1e-12)
                continue;
            size_t x = s->cop_input[a], y = s->cop_input[b];
            while (up[x] != x) x = up[x];
            while (up[y] != y) y = up[y];
            if (x != y)
                up[x > y ? x : y] = x < y ? x : y; /* the root is the lowest input */
        }
    size_t G = 0;
    for (size_t i = 0; i < I; i++) {
        size_t root = i;
        while (up && up[root] != root)
            root = up[root];
        /* the root comes first in input order, so its set is numbered */
        group[i] = root == i ? (int)G++ : group[root];
    }
    *ngroups = G;
    free(up);
}

char *sn_group_name(const sc_scenario *s, const int *group, int g)
{
    size_t len = 1;
    for (size_t i = 0; i < s->ninputs; i++)
        if (group[i] == g)
            len += strlen(s->inputs[i].name) + 1;
    char *out = malloc(len), *o = out;
    if (!out)
        return NULL;
    *o = 0;
    for (size_t i = 0; i < s->ninputs; i++)
        if (group[i] == g) {
            if (o != out)
                *o++ = '+';
            size_t k = strlen(s->inputs[i].name);
            memcpy(o, s->inputs[i].name, k + 1);
            o += k;
        }
    return out;
}

/* The labs' fail years, g labs to a tuple (code = fy[l0] + V fy[l0+1] +
 * V^2 ...), for the histograms summed as integers (the unweighted counts,
 * and a conditioned run's quantised weights: quantised_weights): one add
 * per tuple instead of one per lab, so the histogram of an input costs
 * P = ceil(L / g) scattered adds a path, not L + 1 (the histograms were
 * half of the estimate's time). Integer sums do not depend on how they
 * are grouped, so the results are the same. */
typedef struct {
    size_t g, P, K;        /* labs a tuple, tuples, codes a tuple (V^g) */
    uint16_t *code;        /* [N][P] */
    uint8_t *year;         /* [K][g]: the i-th lab's fail year in code k */
} tuples;

/* The largest K a tuple's table may have: (SN_MAX_BINS + 2) P K counts
 * stay in the L2 cache (66 x 3 x 121 x 4 bytes = 96 KiB for 6 labs and
 * 10 years). */
enum { TUPLE_MAX_CODES = 256 };

static int tuples_make(const sn_data *d, tuples *tp)
{
    const size_t V = d->T + 1;
    memset(tp, 0, sizeof *tp);
    size_t g = 1, K = V;
    while (K * V <= TUPLE_MAX_CODES && g < d->L) {
        K *= V;
        g++;
    }
    if (g < 2)
        return 0; /* no gain: the per-lab histograms */
    tp->g = g; tp->K = K; tp->P = (d->L + g - 1) / g;
    tp->code = malloc(d->N * tp->P * sizeof *tp->code);
    tp->year = malloc(K * g);
    if (!tp->code || !tp->year) {
        free(tp->code); free(tp->year);
        tp->code = NULL; tp->year = NULL;
        return -1;
    }
    for (size_t k = 0; k < K; k++) /* read back where counts are spread: no division there */
        for (size_t i = 0, c = k; i < g; i++, c /= V)
            tp->year[k * g + i] = (uint8_t)(c % V);
    for (size_t p = 0; p < d->N; p++) {
        const int32_t *fy = d->fail_year + p * d->L;
        for (size_t j = 0; j < tp->P; j++) {
            size_t c = 0, mult = 1;
            for (size_t l = j * g; l < (j + 1) * g && l < d->L; l++) {
                c += (size_t)fy[l] * mult;
                mult *= V;
            }
            tp->code[p * tp->P + j] = (uint16_t)c;
        }
    }
    return 0;
}

/* A conditioned run's weights w = W / 2^32, W = round(2^32 x a product
 * of likelihoods relative to their modes) <= 2^32 (sim.c, path_weights),
 * are whole multiples of 2^-32 in [0, 1]: with at most 2^21 paths, every
 * sum of them is a whole number of 2^-32 below 2^53 of them, so a double
 * holds it exactly whatever the order of the additions. Such weights are
 * then summed as integers (Wq), which gives the same bits as the sums
 * path by path. Wq[p] = W, or NULL when a weight is not of that form. */
static uint64_t *quantised_weights(const sn_data *d)
{
    const double scale = 4294967296.0; /* 2^32 */
    if (!d->w || d->N > ((size_t)1 << 21) || d->plain_sums)
        return NULL;
    uint64_t *Wq = malloc(d->N * sizeof *Wq);
    int ok = Wq != NULL;
    for (size_t p = 0; ok && p < d->N; p++) {
        double x = d->w[p] * scale; /* exact: a power of two */
        ok = x >= 0.0 && x <= scale && x == floor(x);
        Wq[p] = ok ? (uint64_t)x : 0;
    }
    if (!ok) {
        free(Wq);
        return NULL;
    }
    return Wq;
}

/* Path p's P tuple codes pc counted in the table row at row: one count
 * each (hn), or its quantised weight (hw, when Wq is given). Whether Wq
 * is given is the same for every path: a branch that is always
 * predicted. */
static inline void tuple_add(const uint16_t *pc, size_t P, size_t K, size_t row,
                             const uint64_t *Wq, size_t p, uint32_t *hn, uint64_t *hw)
{
    for (size_t j = 0; j < P; j++) {
        if (Wq)
            hw[row + j * K + pc[j]] += Wq[p];
        else
            hn[row + j * K + pc[j]]++;
    }
}

/* The histograms of C cells (and the two bands) by tuple: h[c L V + l V +
 * v] = the paths (unweighted, Wq NULL: counted in hn) or the weight
 * (Wq: summed as integers in hw) of cell c with lab l's fail year v; wc[c]
 * = the paths or weight of cell c, rc[c] = the sum of the squared weights
 * (the paths, unweighted). hn or hw holds (C + 2) P K entries. */
static void tuple_counts(const sn_data *d, const scratch *sc, const tuples *tp, size_t C,
                         int bands, const uint64_t *Wq, uint32_t *hn, uint64_t *hw,
                         double *h, double *wc, double *rc)
{
    const size_t N = d->N, L = d->L, V = d->T + 1, LV = L * V, P = tp->P, K = tp->K;
    const size_t RT = P * K;
    const double unit = Wq ? 1.0 / 4294967296.0 : 1.0; /* an integer count's worth */
    if (Wq)
        memset(hw, 0, (C + 2) * RT * sizeof *hw);
    else
        memset(hn, 0, (C + 2) * RT * sizeof *hn);
    /* Unweighted, the cells' paths are counted a cell at a time, so that
     * the counts being added to (one cell's P K) stay in the L1 cache: in
     * path order every count was an L2 access of its own ((C + 2) P K
     * counts, 70 KiB for 46 cells), and those accesses took most of the
     * time. A counting sort by cell moves each path's codes (P of them,
     * each < K <= 256: one byte) packed in a word, read in path order and
     * written to C places at once, each in cache; listing the paths and
     * reading their codes back in cell order cost more than it saved (a
     * cache miss a path). The counts are whole numbers: their order does
     * not change them. The paths in a band (a fifth) are listed, without
     * a branch (a branch per path on its band mispredicted often), and
     * counted after. (A pass per tuple, each table in the L1 cache, cost
     * more: 0.21 -> 0.28 s.) */
    _Static_assert(TUPLE_MAX_CODES <= 256, "a tuple's code packs in a byte");
    size_t nb = 0;
    uint64_t *packed = (uint64_t *)sc->acc; /* scratch of 2 N + 2 doubles, free here */
    if (!Wq && P <= 8) {
        size_t start[SN_MAX_BINS + 1]; /* C <= SN_MAX_BINS: one input's bins */
        memset(start, 0, (C + 1) * sizeof *start);
        for (size_t p = 0; p < N; p++) {
            start[sc->cell[p] + 1]++;
            sc->split[nb].idx = p; /* scratch of N entries, free here */
            nb += bands && sc->band[p];
        }
        for (size_t c = 0; c < C; c++)
            start[c + 1] += start[c];
        for (size_t p = 0; p < N; p++) {
            const uint16_t *pc = tp->code + p * P;
            uint64_t v = 0;
            for (size_t j = 0; j < P; j++)
                v |= (uint64_t)pc[j] << (8 * j);
            packed[start[sc->cell[p]]++] = v;
        }
        /* Within a cell, one tuple code is most paths' (every lab
         * alive), and an add to the count just added to waits for it:
         * four copies of the cell's counts, path k adding to copy k mod 4,
         * summed after. */
        uint32_t cp[4][8 * TUPLE_MAX_CODES]; /* P <= 8: 32 KiB */
        for (size_t c = 0, k = 0; c < C; c++) { /* start[c] is now cell c's end */
            for (int q = 0; q < 4; q++)
                memset(cp[q], 0, RT * sizeof cp[q][0]);
            for (; k < start[c]; k++) {
                uint64_t v = packed[k];
                uint32_t *h4 = cp[k & 3];
                for (size_t j = 0; j < P; j++)
                    h4[j * K + ((v >> (8 * j)) & 255)]++;
            }
            uint32_t *hc = hn + c * RT;
            for (size_t r = 0; r < RT; r++)
                hc[r] = cp[0][r] + cp[1][r] + cp[2][r] + cp[3][r];
        }
    } else {
        for (size_t p = 0; p < N; p++) {
            tuple_add(tp->code + p * P, P, K, (size_t)sc->cell[p] * RT, Wq, p, hn, hw);
            sc->split[nb].idx = p; /* scratch of N entries, free here */
            nb += bands && sc->band[p];
        }
    }
    for (size_t k = 0; k < nb; k++) {
        size_t p = (size_t)sc->split[k].idx;
        tuple_add(tp->code + p * P, P, K, (C + sc->band[p] - 1) * RT, Wq, p, hn, hw);
    }
    for (size_t c = 0; c < C + 2; c++) {
        uint64_t n = 0;
        for (size_t k = 0; k < K; k++) /* tuple 0 holds every path of the cell once */
            n += Wq ? hw[c * RT + k] : hn[c * RT + k];
        wc[c] = (double)n * unit;
        rc[c] = Wq ? 0.0 : wc[c];
        for (size_t j = 0; j < P; j++)
            for (size_t k = 0; k < K; k++) {
                uint64_t cnt = Wq ? hw[c * RT + j * K + k] : hn[c * RT + j * K + k];
                if (!cnt)
                    continue;
                const uint8_t *yr = tp->year + k * tp->g;
                for (size_t l = j * tp->g; l < (j + 1) * tp->g && l < L; l++)
                    h[c * LV + l * V + yr[l - j * tp->g]] += (double)cnt * unit; /* exact */
            }
    }
    /* the squares' sums, which no double holds exactly: path by path, in
     * path order, as the weighted histograms always summed them */
    for (size_t p = 0; Wq && p < N; p++) {
        double w = d->w[p];
        rc[sc->cell[p]] += w * w;
    }
}

/* The figures of one input or set whose paths' cells (0..C-1) and bands
 * are in sc: a histogram of fail years per cell and lab, in path order,
 * then every year's index (and swing, when swing is not NULL) from it.
 * h holds (C + 2) L (T + 1) doubles, wc and rc C + 2 each, hn (an
 * unweighted run's integer counts) (C + 2) (L (T + 1) + 1) uint32.
 * out[(l T + t) stride] receives the index, sw[...] the swing. */
static void figures(const sn_data *d, const scratch *sc, const tuples *tp,
                    const uint64_t *Wq, size_t C, double *h, double *wc, double *rc,
                    uint32_t *hn, uint64_t *hw, double *ay, double *out, double *sw,
                    size_t stride)
{
    const size_t N = d->N, L = d->L, T = d->T, V = T + 1, LV = L * V;
    memset(h, 0, (C + 2) * LV * sizeof *h);
    memset(wc, 0, (C + 2) * sizeof *wc);
    memset(rc, 0, (C + 2) * sizeof *rc);
    if (tp && tp->code && (!d->w || Wq))
        tuple_counts(d, sc, tp, C, sw != NULL, Wq, hn, hw, h, wc, rc);
    else if (!d->w) {
        /* unweighted: integer counts (exact; an add to a double in memory
         * waits on the add before it, an integer add does not wait as
         * long), each cell's count after its L (T + 1) fail-year counts;
         * N < 2^32 (st_ranks' bound) */
        const size_t R = LV + 1;
        memset(hn, 0, (C + 2) * R * sizeof *hn);
        for (size_t p = 0; p < N; p++) {
            const int32_t *fy = d->fail_year + p * L;
            uint32_t *hc = hn + (size_t)sc->cell[p] * R;
            hc[LV]++;
            for (size_t l = 0; l < L; l++)
                hc[l * V + (size_t)fy[l]]++;
            if (sw && sc->band[p]) {
                uint32_t *hb = hn + (C + sc->band[p] - 1) * R;
                hb[LV]++;
                for (size_t l = 0; l < L; l++)
                    hb[l * V + (size_t)fy[l]]++;
            }
        }
        for (size_t c = 0; c < C + 2; c++) {
            for (size_t k = 0; k < LV; k++)
                h[c * LV + k] = (double)hn[c * R + k];
            wc[c] = rc[c] = (double)hn[c * R + LV];
        }
    }
    /* weighted: sums of doubles, each in path order (the bits); the paths
     * in a band listed without a branch, then added after the cells (the
     * band sums are separate sums: the order of each stays the paths') */
    size_t nb = 0;
    const int plain = d->w && !(tp && tp->code && Wq); /* summed path by path */
    for (size_t p = 0; plain && p < N; p++) {
        double w = d->w[p];
        const int32_t *fy = d->fail_year + p * L;
        size_t c = sc->cell[p];
        double *hc = h + c * L * V;
        wc[c] += w;
        rc[c] += w * w;
        for (size_t l = 0; l < L; l++)
            hc[l * V + (size_t)fy[l]] += w;
        sc->split[nb].idx = p;
        nb += sw && sc->band[p];
    }
    for (size_t k = 0; plain && k < nb; k++) {
        size_t p = (size_t)sc->split[k].idx;
        double w = d->w[p];
        const int32_t *fy = d->fail_year + p * L;
        size_t cb = C + sc->band[p] - 1;
        double *hb = h + cb * L * V;
        wc[cb] += w;
        for (size_t l = 0; l < L; l++)
            hb[l * V + (size_t)fy[l]] += w;
    }
    for (size_t l = 0; l < L; l++) {
        /* ay[c]: the weight alive at the end of year t + 1 in cell c
         * (fail year 0, or t + 2 and later), built from the horizon
         * backwards */
        for (size_t c = 0; c < C + 2; c++)
            ay[c] = h[(c * L + l) * V];
        for (size_t t = T; t-- > 0;) {
            for (size_t c = 0; t + 2 <= T && c < C + 2; c++)
                ay[c] += h[(c * L + l) * V + t + 2];
            out[(l * T + t) * stride] = sn_index_from_bins(C, wc, ay, ay, rc);
            if (sw) {
                double lo = wc[C] > 0.0 ? ay[C] / wc[C] : NAN;
                double hi = wc[C + 1] > 0.0 ? ay[C + 1] / wc[C + 1] : NAN;
                sw[(l * T + t) * stride] = hi - lo;
            }
        }
    }
}

int sn_survival(const sn_data *d, int threads, double *index, double *swing, double *gindex)
{
    const size_t N = d->N, I = d->I, L = d->L, T = d->T, G = d->G;
    if (N == 0 || I == 0 || L == 0 || T == 0)
        return 0;
    for (size_t k = 0; k < N * L; k++)
        if (d->fail_year[k] < 0 || (size_t)d->fail_year[k] > T)
            return -2;
    const size_t M = sn_bins(N);
    double wsum = 0.0;
    for (size_t p = 0; d->w && p < N; p++)
        wsum += d->w[p];
    /* the sets of two or more inputs; a set of one takes its input's index */
    size_t *first = malloc((G ? G : 1) * sizeof *first), *size = calloc(G ? G : 1, sizeof *size);
    size_t *multi = malloc((G ? G : 1) * sizeof *multi), nmulti = 0;
    int bad = !first || !size || !multi;
    for (size_t i = 0; !bad && i < I; i++) {
        size_t g = (size_t)d->group[i];
        if (g >= G) {
            bad = 1;
            break;
        }
        if (size[g]++ == 0)
            first[g] = i;
    }
    const size_t C = M; /* an input's cells */
    /* a set's bins on each input: see set_bins */
    size_t *mset = calloc(G ? G : 1, sizeof *mset), maxcells = M;
    bad |= !mset;
    for (size_t g = 0; !bad && g < G; g++)
        if (size[g] > 1) {
            multi[nmulti++] = g;
            mset[g] = set_bins(N, size[g]);
            size_t cells = 1;
            for (size_t j = 0; mset[g] && j < size[g]; j++)
                cells *= mset[g];
            maxcells = cells > maxcells ? cells : maxcells;
        }
    if (bad) {
        free(first); free(size); free(multi); free(mset);
        return -1;
    }
    /* The inputs are read COLS at a time, copied (a block of rows at a
     * time) into columns: read straight from the [N][I] table, every value
     * of a column is a cache miss of its own, which cost more than the
     * whole estimate (twice the time at 10^5 paths). Inputs by column
     * are read where they are. */
    enum { COLS = 16, ROWS = 64 };
    const uint8_t *codes = d->w ? NULL : d->codes; /* bins from the tornado's ranks */
    double *col = codes || d->by_column ? NULL
                                        : malloc((I < COLS ? I : COLS) * N * sizeof *col);
    tuples tp;
    if ((!codes && !d->by_column && !col) || tuples_make(d, &tp) != 0) {
        free(col);
        free(first); free(size); free(multi); free(mset);
        return -1;
    }
    /* the tuples' table of an input (sets, with up to SN_MAX_SET_CELLS
     * cells, keep the per-lab histograms: see figures) */
    size_t hwords = (maxcells + 2) * (L * (T + 1) + 1);
    if (tp.code && (C + 2) * tp.P * tp.K > hwords)
        hwords = (C + 2) * tp.P * tp.K;
    /* weights summed as integers where they allow it (quantised_weights) */
    uint64_t *Wq = tp.code ? quantised_weights(d) : NULL;
#pragma omp parallel num_threads(threads) reduction(| : bad)
    {
        scratch sc = {0};
        size_t hn = (maxcells + 2) * L * (T + 1);
        double *h = malloc(hn * sizeof *h), *wc = malloc((maxcells + 2) * sizeof *wc);
        double *rc = malloc((maxcells + 2) * sizeof *rc), *ay = malloc((maxcells + 2) * sizeof *ay);
        uint32_t *hcount = malloc(hwords * sizeof *hcount);
        uint64_t *hw = Wq ? malloc((C + 2) * tp.P * tp.K * sizeof *hw) : NULL;
        int mine = scratch_alloc(&sc, N) != 0 || !h || !wc || !rc || !ay || !hcount
                   || (Wq && !hw);
        bad |= mine;
        /* every thread meets every loop below (work-sharing), even one
         * without scratch: it then skips its share, and bad says so */
        for (size_t c0 = 0; c0 < I; c0 += COLS) {
            size_t cn = I - c0 < COLS ? I - c0 : COLS;
#pragma omp for schedule(static)
            for (size_t r0 = 0; r0 < (codes || d->by_column ? 0 : N); r0 += ROWS) {
                size_t r1 = r0 + ROWS < N ? r0 + ROWS : N;
                for (size_t k = 0; k < cn; k++)
                    for (size_t p = r0; p < r1; p++)
                        col[k * N + p] = d->inputs[p * I + c0 + k];
            }
#pragma omp for schedule(dynamic, 1)
            for (size_t k = 0; k < cn; k++) {
                size_t i = c0 + k;
                if (mine) {
                    continue;
                } else if (codes) {
                    const uint8_t *ci = codes + i * N;
                    for (size_t p = 0; p < N; p++) {
                        sc.cell[p] = ci[p] & 63u;
                        sc.band[p] = (uint8_t)(ci[p] >> 6);
                    }
                } else if (bin_codes(N, d->by_column ? d->inputs + i * N : col + k * N, 1, d->w,
                                     wsum, M, 1, &sc) != 0) {
                    mine = 1;
                    continue;
                } else {
                    memcpy(sc.cell, sc.bin, N * sizeof *sc.cell);
                }
                figures(d, &sc, &tp, Wq, C, h, wc, rc, hcount, hw, ay, index + i, swing + i,
                        I);
            }
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t job = I; job < I + nmulti; job++) {
            if (mine)
                continue;
            {
                /* a set of k inputs: m bins on each, m^k joint cells */
                size_t g = multi[job - I], m = mset[g], cells = 1;
                if (m == 0) {
                    for (size_t lt = 0; lt < L * T; lt++)
                        gindex[lt * G + g] = NAN;
                    continue;
                }
                for (size_t j = 0; j < size[g]; j++)
                    cells *= m;
                memset(sc.cell, 0, N * sizeof *sc.cell);
                for (size_t i = first[g]; i < I; i++) {
                    if ((size_t)d->group[i] != g)
                        continue;
                    for (size_t p = 0; p < N; p++) /* one strided pass, not two */
                        sc.q[p] = d->by_column ? d->inputs[i * N + p] : d->inputs[p * I + i];
                    if (bin_codes(N, sc.q, 1, d->w, wsum, m, 0, &sc) != 0) {
                        mine = 1;
                        break;
                    }
                    for (size_t p = 0; p < N; p++)
                        sc.cell[p] = sc.cell[p] * (uint32_t)m + sc.bin[p];
                }
                if (!mine)
                    figures(d, &sc, NULL, NULL, cells, h, wc, rc, hcount, NULL, ay, gindex + g,
                            NULL, G);
            }
        }
        bad |= mine;
        scratch_free(&sc);
        free(h); free(wc); free(rc); free(ay); free(hcount); free(hw);
    }
    free(col);
    free(tp.code);
    free(tp.year);
    free(Wq);
    /* a set of one input: that input's index */
    for (size_t g = 0; !bad && g < G; g++)
        if (size[g] == 1)
            for (size_t lt = 0; lt < L * T; lt++)
                gindex[lt * G + g] = index[lt * I + first[g]];
    free(first); free(size); free(multi); free(mset);
    return bad ? -1 : 0;
}
