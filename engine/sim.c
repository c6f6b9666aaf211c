/* sim: the sampler loop. See sim.h for the contract. */
#include "engine/sim.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/evidence.h"
#include "engine/kernel.h"
#include "engine/model.h"
#include "rng/rng_math.h"

#include "engine/sketch.h"
#include "engine/stats.h"
#include "output/h5read.h"

/* What one thread accumulates. Counts are integers so that merging the
 * threads is exact in any order. */
typedef struct {
    uint64_t *alive, *acq, *wd, *sol, *prof; /* [L][T] */
    uint64_t *indep;                   /* [T][L+1] */
    sk_local sk;                       /* [MT_N][L][T] */
    uint64_t sk_paths;                 /* paths since the last sketch flush */
    /* block buffers */
    int32_t *fail_year, *profit_year;  /* [B][L] */
    int8_t *outcome;
    double *final_cash, *raised_total;
    double *inputs;                    /* [B][I] */
    double *labv;                      /* [L][SC_LAB_NKEYS] */
    md_year *years;                    /* [L][T] */
    double *market;                    /* [T][3] */
    md_outcome *out;                   /* [L] */
    kn_work *kw;                       /* the block kernel's work area */
    /* conditioned runs: weighted sketches (64-bit sums of weights), the
     * observations' values on a kernel block's lanes, their weights */
    sk_set skw;
    double *cx;                        /* [KN_LANES][nobs] */
    uint64_t *lsum;                    /* [nobs] */
    uint64_t W[SIM_BLOCK];             /* the block's paths' weights */
    double *weight;                    /* [B] the same as doubles (w) */
    uint64_t wsum;
    unsigned __int128 wsq;
} acc;

static void acc_free(acc *a)
{
    free(a->alive); free(a->acq); free(a->wd); free(a->sol); free(a->prof); free(a->indep);
    sk_local_free(&a->sk);
    free(a->fail_year); free(a->profit_year); free(a->outcome);
    free(a->final_cash); free(a->raised_total); free(a->inputs);
    free(a->labv); free(a->years); free(a->out); free(a->market);
    if (a->skw.count)
        sk_set_free(&a->skw);
    free(a->cx); free(a->lsum); free(a->weight);
    kn_work_free(a->kw);
    memset(a, 0, sizeof *a);
}

static int acc_init(acc *a, const md_plan *plan, size_t L, size_t T, size_t I, size_t nobs)
{
    memset(a, 0, sizeof *a);
    if (nobs) {
        int bad = sk_set_init(&a->skw, MT_N * L * T);
        a->cx = calloc(KN_LANES * nobs, sizeof *a->cx);
        a->lsum = calloc(nobs, sizeof *a->lsum);
        a->weight = calloc(SIM_BLOCK, sizeof *a->weight);
        if (bad || !a->cx || !a->lsum || !a->weight) {
            if (!bad)
                sk_set_free(&a->skw);
            free(a->cx); free(a->lsum); free(a->weight);
            memset(a, 0, sizeof *a);
            return -1;
        }
    }
    size_t LT = L * T, B = SIM_BLOCK;
    a->alive = calloc(LT, sizeof *a->alive);
    a->acq = calloc(LT, sizeof *a->acq);
    a->wd = calloc(LT, sizeof *a->wd);
    a->sol = calloc(LT, sizeof *a->sol);
    a->prof = calloc(LT, sizeof *a->prof);
    a->indep = calloc(T * (L + 1), sizeof *a->indep);
    a->fail_year = calloc(B * L, sizeof *a->fail_year);
    a->profit_year = calloc(B * L, sizeof *a->profit_year);
    a->outcome = calloc(B * L, sizeof *a->outcome);
    a->final_cash = calloc(B * L, sizeof *a->final_cash);
    a->raised_total = calloc(B * L, sizeof *a->raised_total);
    a->inputs = calloc(B * (I ? I : 1), sizeof *a->inputs);
    a->labv = calloc(L * SC_LAB_NKEYS, sizeof *a->labv);
    a->years = calloc(LT, sizeof *a->years);
    a->market = calloc(T * 3 + 1, sizeof *a->market);
    a->out = calloc(L, sizeof *a->out);
    a->kw = kn_work_create(plan);
    int bad = sk_local_init(&a->sk, MT_N * LT);
    if (bad || (nobs && !a->skw.count) || !a->kw || !a->alive || !a->acq || !a->wd || !a->sol || !a->prof || !a->indep || !a->fail_year
        || !a->profit_year || !a->outcome || !a->final_cash || !a->raised_total
        || !a->inputs || !a->labv || !a->years || !a->out || !a->market) {
        acc_free(a);
        return -1;
    }
    return 0;
}

void sim_result_free(sim_result *r)
{
    free(r->survival); free(r->survival_lo); free(r->survival_hi);
    free(r->failed_acquired); free(r->failed_wound_down); free(r->profitable_by);
    free(r->acquired_solvent);
    free(r->obs_evidence);
    for (int m = 0; m < MT_N; m++) {
        free(r->q[m]);
        free(r->traj[m]);
    }
    free(r->independent_alive);
    free(r->sensitivity_survival); free(r->sensitivity_cash);
    free(r->kept_paths);
    free(r->traj_alive);
    memset(r, 0, sizeof *r);
}

static int result_alloc(sim_result *r)
{
    size_t LT = r->L * r->T, KLT = r->K * LT;
    int bad = 0;
#define ALLOC(p, n) do { size_t n_ = (n); (p) = calloc(n_ > 0 ? n_ : 1, sizeof *(p)); bad |= !(p); } while (0)
    ALLOC(r->survival, LT); ALLOC(r->survival_lo, LT); ALLOC(r->survival_hi, LT);
    ALLOC(r->failed_acquired, LT); ALLOC(r->failed_wound_down, LT); ALLOC(r->profitable_by, LT);
    ALLOC(r->acquired_solvent, LT);
    for (int m = 0; m < MT_N; m++) {
        ALLOC(r->q[m], LT * HO_NQUANT);
        if (mt_defs[m].traj)
            ALLOC(r->traj[m], KLT);
    }
    ALLOC(r->independent_alive, r->T * (r->L + 1));
    ALLOC(r->sensitivity_survival, r->L * r->I); ALLOC(r->sensitivity_cash, r->L * r->I);
    ALLOC(r->kept_paths, r->K);
    ALLOC(r->traj_alive, KLT);
#undef ALLOC
    return bad ? -1 : 0;
}

/* Adds one simulated path to a thread's accumulators. */
static void accumulate(acc *a, const sc_scenario *s, size_t L, size_t T)
{
    for (size_t l = 0; l < L; l++) {
        const md_outcome *o = &a->out[l];
        const md_year *y = &a->years[l * T];
        for (size_t t = 0; t < T; t++) {
            size_t lt = l * T + t;
            if (o->fail_year > 0 && (size_t)o->fail_year <= t + 1) {
                if (o->outcome == MD_ACQUIRED)
                    a->acq[lt]++;
                else if (o->outcome == MD_ACQUIRED_SOLVENT)
                    a->sol[lt]++;
                else
                    a->wd[lt]++;
            }
            if (o->profit_year > 0 && (size_t)o->profit_year <= t + 1)
                a->prof[lt]++;
            if (!y[t].alive)
                continue;
            a->alive[lt]++;
            size_t LTn = L * T;
            int parent = s->labs[l].backstop == SC_BACKSTOP_PARENT;
            for (int m = 0; m < MT_N; m++)
                if (m != MT_SUBSIDY || parent)
                    sk_add(&a->sk, (size_t)m * LTn + lt, md_year_metric(&y[t], m));
        }
    }
    for (size_t t = 0; t < T; t++) {
        size_t n = 0;
        for (size_t l = 0; l < L; l++)
            n += s->labs[l].backstop == SC_BACKSTOP_NONE && a->years[l * T + t].alive;
        a->indep[t * (L + 1) + n]++;
    }
}

/* The weighted form of accumulate() (a conditioned run), for the path
 * just simulated by the reference, with weight w. */
static void accumulate_w(acc *a, const sc_scenario *s, size_t L, size_t T, uint64_t w)
{
    if (!w)
        return;
    size_t LTn = L * T;
    for (size_t l = 0; l < L; l++) {
        const md_outcome *o = &a->out[l];
        const md_year *y = &a->years[l * T];
        int parent = s->labs[l].backstop == SC_BACKSTOP_PARENT;
        for (size_t t = 0; t < T; t++) {
            size_t lt = l * T + t;
            if (o->fail_year > 0 && (size_t)o->fail_year <= t + 1)
                (o->outcome == MD_ACQUIRED ? a->acq : o->outcome == MD_ACQUIRED_SOLVENT ? a->sol
                                                                                          : a->wd)[lt] += w;
            if (o->profit_year > 0 && (size_t)o->profit_year <= t + 1)
                a->prof[lt] += w;
            if (!y[t].alive)
                continue;
            a->alive[lt] += w;
            for (int m = 0; m < MT_N; m++)
                if (m != MT_SUBSIDY || parent)
                    sk_set_add_w(&a->skw, (size_t)m * LTn + lt, md_year_metric(&y[t], m), w);
        }
    }
    for (size_t t = 0; t < T; t++) {
        size_t n = 0;
        for (size_t l = 0; l < L; l++)
            n += s->labs[l].backstop == SC_BACKSTOP_NONE && a->years[l * T + t].alive;
        a->indep[t * (L + 1) + n] += w;
    }
}

/* The weighted form of accumulate_kernel(): lane j adds W[j]. */
static void accumulate_kernel_w(acc *a, const sc_scenario *s, const kn_view *v, size_t n,
                                size_t L, size_t T, const uint64_t *W)
{
    size_t LTn = L * T;
    for (size_t l = 0; l < L; l++) {
        const int64_t *fy = v->fail_year + l * KN_LANES, *py = v->profit_year + l * KN_LANES;
        const int64_t *oc = v->outcome + l * KN_LANES;
        uint64_t nacq[SC_HORIZON_MAX + 1] = { 0 }, nwd[SC_HORIZON_MAX + 1] = { 0 },
                 nsol[SC_HORIZON_MAX + 1] = { 0 }, nprof[SC_HORIZON_MAX + 1] = { 0 };
        for (size_t j = 0; j < n; j++) {
            nacq[fy[j]] += oc[j] == MD_ACQUIRED ? W[j] : 0;
            nwd[fy[j]] += oc[j] == MD_WOUND_DOWN ? W[j] : 0;
            nsol[fy[j]] += oc[j] == MD_ACQUIRED_SOLVENT ? W[j] : 0;
            nprof[py[j]] += W[j];
        }
        uint64_t cacq = 0, cwd = 0, csol = 0, cprof = 0;
        for (size_t t = 0; t < T; t++) {
            cacq += nacq[t + 1];
            cwd += nwd[t + 1];
            csol += nsol[t + 1];
            cprof += nprof[t + 1];
            a->acq[l * T + t] += cacq;
            a->wd[l * T + t] += cwd;
            a->sol[l * T + t] += csol;
            a->prof[l * T + t] += cprof;
        }
        int parent = s->labs[l].backstop == SC_BACKSTOP_PARENT;
        for (size_t t = 0; t < T; t++) {
            size_t lt = l * T + t, off = lt * KN_LANES;
            const int64_t *ya = v->alive + off;
            for (size_t j = 0; j < n; j++) {
                if (!ya[j] || !W[j])
                    continue;
                a->alive[lt] += W[j];
                for (int m = 0; m < MT_N; m++)
                    if (m != MT_SUBSIDY || parent)
                        sk_set_add_w(&a->skw, (size_t)m * LTn + lt, v->y[m][off + j], W[j]);
            }
        }
    }
    for (size_t t = 0; t < T; t++) {
        int64_t cnt[KN_LANES] = { 0 };
        for (size_t l = 0; l < L; l++)
            if (s->labs[l].backstop == SC_BACKSTOP_NONE) {
                const int64_t *ya = v->alive + (l * T + t) * KN_LANES;
                for (size_t j = 0; j < n; j++)
                    cnt[j] += ya[j];
            }
        for (size_t j = 0; j < n; j++)
            a->indep[t * (L + 1) + (size_t)cnt[j]] += W[j];
    }
}

/* The weights of n paths from their observed values x[j * nobs + k]
 * (MODEL.md section 8): W = round(2^SIM_WBITS prod_k l_k), with each
 * l_k's own quantised sum kept for naming the least likely observation.
 * Portable arithmetic (rm_exp), so the bits are the same everywhere. */
static void path_weights(const ob_set *obs, const double *x, size_t n, uint64_t *W,
                         uint64_t *lsum)
{
    const double scale = (double)((uint64_t)1 << SIM_WBITS);
    for (size_t j = 0; j < n; j++) {
        double ll = 0.0;
        for (size_t k = 0; k < obs->n; k++) {
            const ob_obs *o = &obs->obs[k];
            double xv = x[j * obs->n + k], lk;
            if (o->q == OB_STATUS) {
                ob_status st = (int)xv == MD_ACQUIRED ? OB_ACQUIRED
                             : (int)xv == MD_WOUND_DOWN ? OB_WOUND_DOWN
                             : (int)xv == MD_ACQUIRED_SOLVENT ? OB_ACQUIRED_SOLVENT : OB_ALIVE;
                lk = ob_status_matches(o->status, st) ? 0.0 : -INFINITY;
            } else {
                /* a figure of a lab that did not start the year alive: 0 */
                lk = xv == xv ? ob_loglik(o, xv) : -INFINITY;
            }
            if (!(lk == lk))
                lk = -INFINITY;
            lsum[k] += lk == -INFINITY ? 0 : (uint64_t)nearbyint(rm_exp(lk) * scale);
            ll += lk;
        }
        W[j] = ll == -INFINITY || ll < -745.0 ? 0 : (uint64_t)nearbyint(rm_exp(ll) * scale);
    }
}

_Static_assert(KN_LANES <= SK_BULK_MAX, "a kernel block is added to a sketch in one call");

/* The same as accumulate(), for n paths of a kernel block: lane by lane,
 * in path order, so the integer counts are the same as the reference's. */
static void accumulate_kernel(acc *a, const sc_scenario *s, const kn_view *v, size_t n,
                              size_t L, size_t T)
{
    size_t LTn = L * T;
    for (size_t l = 0; l < L; l++) {
        const int64_t *fy = v->fail_year + l * KN_LANES, *py = v->profit_year + l * KN_LANES;
        const int64_t *oc = v->outcome + l * KN_LANES;
        /* lanes by the year they failed or first made a profit (0: never),
         * then running sums: a lab failed by year t counts in every year
         * from t on */
        uint32_t nacq[SC_HORIZON_MAX + 1] = { 0 }, nwd[SC_HORIZON_MAX + 1] = { 0 },
                 nsol[SC_HORIZON_MAX + 1] = { 0 }, nprof[SC_HORIZON_MAX + 1] = { 0 };
        for (size_t j = 0; j < n; j++) {
            nacq[fy[j]] += oc[j] == MD_ACQUIRED;
            nwd[fy[j]] += oc[j] == MD_WOUND_DOWN;
            nsol[fy[j]] += oc[j] == MD_ACQUIRED_SOLVENT;
            nprof[py[j]]++;
        }
        uint64_t cacq = 0, cwd = 0, csol = 0, cprof = 0;
        for (size_t t = 0; t < T; t++) {
            cacq += nacq[t + 1];
            cwd += nwd[t + 1];
            csol += nsol[t + 1];
            cprof += nprof[t + 1];
            a->acq[l * T + t] += cacq;
            a->wd[l * T + t] += cwd;
            a->sol[l * T + t] += csol;
            a->prof[l * T + t] += cprof;
        }
        int parent = s->labs[l].backstop == SC_BACKSTOP_PARENT;
        for (size_t t = 0; t < T; t++) {
            size_t lt = l * T + t, off = lt * KN_LANES;
            const int64_t *ya = v->alive + off;
            uint64_t cnt = 0;
            for (size_t j = 0; j < n; j++)
                cnt += ya[j];
            a->alive[lt] += cnt;
            if (!cnt) /* no lane alive: nothing to add */
                continue;
            for (int m = 0; m < MT_N; m++) {
                if (m == MT_SUBSIDY && !parent)
                    continue;
                sk_add_bulk(&a->sk, (size_t)m * LTn + lt, v->y[m] + off, ya, n);
            }
        }
    }
    /* paths by the number of labs without a backstop alive, year by year */
    for (size_t t = 0; t < T; t++) {
        int64_t cnt[KN_LANES] = { 0 };
        for (size_t l = 0; l < L; l++)
            if (s->labs[l].backstop == SC_BACKSTOP_NONE) {
                const int64_t *ya = v->alive + (l * T + t) * KN_LANES;
                for (size_t j = 0; j < n; j++)
                    cnt[j] += ya[j];
            }
        for (size_t j = 0; j < n; j++)
            a->indep[t * (L + 1) + (size_t)cnt[j]]++;
    }
}

/* The metric a probe of a lab's figure reads. */
static const int probe_metric[] = { [SIM_PROBE_CASH] = MT_CASH, [SIM_PROBE_REVENUE] = MT_REVENUE,
                                    [SIM_PROBE_OP] = MT_OP, [SIM_PROBE_RAISED] = MT_RAISED,
                                    [SIM_PROBE_SHARE] = MT_SHARE };

/* A probe's value on the path just simulated by the reference. */
static double probe_ref(const sim_probe *pr, const acc *a, size_t T)
{
    size_t t = (size_t)pr->t - 1;
    if (pr->kind == SIM_PROBE_SIZE)
        return a->market[t * 3 + (size_t)pr->segment];
    const md_year *y = &a->years[(size_t)pr->lab * T + t];
    if (pr->kind == SIM_PROBE_STATUS)
        return y->alive ? (double)MD_SURVIVED : (double)a->out[pr->lab].outcome;
    return md_year_metric(y, probe_metric[pr->kind]);
}

/* The same for n lanes of a kernel block, to dst[0], dst[stride], ... */
static void probe_kernel(const sim_probe *pr, const kn_view *v, size_t T, size_t n,
                         double *dst, size_t stride)
{
    size_t t = (size_t)pr->t - 1;
    const double *src;
    if (pr->kind == SIM_PROBE_SIZE) {
        src = v->market + ((size_t)pr->segment * T + t) * KN_LANES;
    } else if (pr->kind == SIM_PROBE_STATUS) {
        size_t off = ((size_t)pr->lab * T + t) * KN_LANES;
        const int64_t *oc = v->outcome + (size_t)pr->lab * KN_LANES;
        for (size_t j = 0; j < n; j++)
            dst[j * stride] = v->alive[off + j] ? (double)MD_SURVIVED : (double)oc[j];
        return;
    } else {
        src = v->y[probe_metric[pr->kind]] + ((size_t)pr->lab * T + t) * KN_LANES;
    }
    for (size_t j = 0; j < n; j++)
        dst[j * stride] = src[j];
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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

/* Replaces each of the nc columns of col (N rows each) by its centred
 * ranks, and sets ss[c] to their sum of squares. 0, or -1 out of memory. */
static int rank_columns(double *col, double *ss, size_t nc, size_t N, int threads)
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
            bad |= st_ranks(N, x, 1, x, idx) != 0;
            for (size_t i = 0; i < N; i++) {
                x[i] -= mean;
                sxx += x[i] * x[i];
            }
            ss[c] = sxx;
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
/* The tornado of a conditioned run: weighted Spearman correlations
 * (st_weighted_ranks) of each input with survival and final cash over
 * the rank-correlation sample, each path weighted by its weight. Plain
 * loops: a conditioned run is rarer than it is large. */
static int sensitivity_w(sim_result *r, size_t N, const double *inputs, const double *surv,
                         const double *fcash, const double *w, int threads)
{
    size_t I = r->I, L = r->L, C = I + 2 * L;
    if (I == 0 || N == 0)
        return 0;
    double *col = malloc(C * N * sizeof *col), sw = 0.0;
    int bad = !col;
    for (size_t i = 0; i < N; i++)
        sw += w[i];
#pragma omp parallel num_threads(threads) reduction(| : bad)
    {
        size_t *idx = malloc(2 * N * sizeof *idx);
        double *scr = malloc((2 * N + 2) * sizeof *scr), *tmp = malloc(N * sizeof *tmp);
        bad |= !idx || !scr || !tmp;
#pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < C; c++) {
            if (!col || !idx || !scr || !tmp)
                continue;
            const double *src = c < I ? inputs + c : c < I + L ? surv + (c - I) : fcash + (c - I - L);
            size_t stride = c < I ? I : L;
            double *x = col + c * N, m = 0.0;
            bad |= st_ranks(N, src, stride, tmp, idx) != 0;
            st_weighted_ranks(N, tmp, w, scr, x);
            for (size_t i = 0; i < N; i++)
                m += w[i] * x[i];
            m = sw > 0.0 ? m / sw : 0.0;
            for (size_t i = 0; i < N; i++)
                x[i] -= m;
        }
        free(idx); free(scr); free(tmp);
    }
    if (!bad) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (size_t k = 0; k < I * 2 * L; k++) {
            size_t o = k / I, i = k % I;
            const double *x = col + i * N, *y = col + (I + o) * N;
            double sxy = 0.0, sxx = 0.0, syy = 0.0;
            for (size_t p = 0; p < N; p++) {
                sxy += w[p] * x[p] * y[p];
                sxx += w[p] * x[p] * x[p];
                syy += w[p] * y[p] * y[p];
            }
            double rho = sxx > 0.0 && syy > 0.0 ? sxy / sqrt(sxx * syy) : NAN;
            if (o < L)
                r->sensitivity_survival[o * I + i] = rho;
            else
                r->sensitivity_cash[(o - L) * I + i] = rho;
        }
    }
    free(col);
    return bad ? -1 : 0;
}

static int sensitivity(sim_result *r, size_t N, const double *inputs,
                       const double *surv, const double *fcash, int threads)
{
    size_t I = r->I, L = r->L;
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
        bad = rank_columns(out, ss + I, 2 * L, N, threads);
    }
    for (size_t g0 = 0; g0 < I && !bad; g0 += G) {
        size_t gn = I - g0 < G ? I - g0 : G;
        to_columns(in, inputs, I, g0, gn, N, threads);
        bad = rank_columns(in, ss + g0, gn, N, threads);
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
                (c < L ? r->sensitivity_survival : r->sensitivity_cash)[(c % L) * I + k] = rho;
            }
    }
    free(part); free(sxy); free(out); free(in); free(ss);
    return bad ? -1 : 0;
}

/* ---- the mergeable state ---- */

void sim_state_free(sim_state *st)
{
    free(st->alive); free(st->acq); free(st->wd); free(st->sol); free(st->prof);
    free(st->indep);
    if (st->sk.count)
        sk_set_free(&st->sk);
    free(st->col_in); free(st->col_surv); free(st->col_cash);
    for (int m = 0; m < MT_N; m++)
        free(st->traj[m]);
    free(st->traj_alive);
    free(st->done);
    free(st->lsum);
    free(st->col_w);
    memset(st, 0, sizeof *st);
}

int sim_state_weigh(sim_state *st, size_t nobs)
{
    free(st->lsum);
    free(st->col_w);
    st->lsum = calloc(nobs ? nobs : 1, sizeof *st->lsum);
    st->col_w = calloc(st->NS ? st->NS : 1, sizeof *st->col_w);
    if (!st->lsum || !st->col_w)
        return -1;
    st->weighted = 1;
    st->nobs = nobs;
    st->wsum = st->wsq_hi = st->wsq_lo = 0;
    return 0;
}

int sim_state_init(sim_state *st, const sc_scenario *s, uint64_t N, size_t keep)
{
    memset(st, 0, sizeof *st);
    st->L = s->nlabs; st->T = (size_t)s->horizon; st->I = s->ninputs; st->N = N;
    st->K = keep < N ? keep : (size_t)N;
    st->NS = N < SIM_SENS_PATHS ? (size_t)N : SIM_SENS_PATHS;
    st->nblocks = (N + SIM_BLOCK - 1) / SIM_BLOCK;
    size_t LT = st->L * st->T, KLT = st->K * LT, NS = st->NS;
    int bad = sk_set_init(&st->sk, MT_N * LT);
#define A(p, n) do { size_t n_ = (n); (p) = calloc(n_ ? n_ : 1, sizeof *(p)); bad |= !(p); } while (0)
    A(st->alive, LT); A(st->acq, LT); A(st->wd, LT); A(st->sol, LT); A(st->prof, LT);
    A(st->indep, st->T * (st->L + 1));
    if (st->I) {
        A(st->col_in, NS * st->I); A(st->col_surv, NS * st->L); A(st->col_cash, NS * st->L);
    }
    for (int m = 0; m < MT_N; m++)
        if (mt_defs[m].traj)
            A(st->traj[m], KLT);
    A(st->traj_alive, KLT);
    A(st->done, (size_t)st->nblocks);
#undef A
    if (bad) {
        sim_state_free(st);
        return -1;
    }
    return 0;
}

uint64_t sim_state_paths_done(const sim_state *st)
{
    uint64_t n = 0;
    for (uint64_t b = 0; b < st->nblocks; b++)
        if (st->done[b])
            n += st->N - b * SIM_BLOCK < SIM_BLOCK ? st->N - b * SIM_BLOCK : SIM_BLOCK;
    return n;
}

/* Copies the rows of paths [p0, p1) that live in the sensitivity sample
 * and in the kept trajectories. */
static void copy_rows(sim_state *d, const sim_state *s, uint64_t p0, uint64_t p1)
{
    size_t LT = d->L * d->T;
    uint64_t e = p1 < d->NS ? p1 : d->NS;
    if (d->I && p0 < e) {
        memcpy(d->col_in + p0 * d->I, s->col_in + p0 * d->I, (size_t)(e - p0) * d->I * 8);
        memcpy(d->col_surv + p0 * d->L, s->col_surv + p0 * d->L, (size_t)(e - p0) * d->L * 8);
        memcpy(d->col_cash + p0 * d->L, s->col_cash + p0 * d->L, (size_t)(e - p0) * d->L * 8);
    }
    if (d->weighted && p0 < (p1 < d->NS ? p1 : d->NS))
        memcpy(d->col_w + p0, s->col_w + p0, (size_t)((p1 < d->NS ? p1 : d->NS) - p0) * 8);
    e = p1 < d->K ? p1 : d->K;
    if (p0 < e) {
        size_t off = (size_t)p0 * LT, n = (size_t)(e - p0) * LT;
        for (int m = 0; m < MT_N; m++)
            if (d->traj[m])
                memcpy(d->traj[m] + off, s->traj[m] + off, n * 8);
        memcpy(d->traj_alive + off, s->traj_alive + off, n);
    }
}

int sim_state_merge(sim_state *d, const sim_state *s, char *err, size_t errlen)
{
    if (d->L != s->L || d->T != s->T || d->I != s->I || d->N != s->N || d->K != s->K
        || d->weighted != s->weighted || d->nobs != s->nobs) {
        snprintf(err, errlen, "the parts do not belong to one run (labs, horizon, inputs, "
                              "paths or kept paths differ)");
        return -1;
    }
    for (uint64_t b = 0; b < d->nblocks; b++)
        if (d->done[b] && s->done[b]) {
            snprintf(err, errlen, "paths %llu.. are in two parts (a shard given twice?)",
                     (unsigned long long)(b * SIM_BLOCK));
            return -1;
        }
    size_t LT = d->L * d->T;
    for (size_t i = 0; i < LT; i++) {
        d->alive[i] += s->alive[i]; d->acq[i] += s->acq[i];
        d->wd[i] += s->wd[i]; d->sol[i] += s->sol[i]; d->prof[i] += s->prof[i];
    }
    for (size_t i = 0; i < d->T * (d->L + 1); i++)
        d->indep[i] += s->indep[i];
    sk_set_add(&d->sk, &s->sk);
    if (d->weighted) {
        d->wsum += s->wsum;
        unsigned __int128 q = ((unsigned __int128)d->wsq_hi << 64 | d->wsq_lo)
                            + ((unsigned __int128)s->wsq_hi << 64 | s->wsq_lo);
        d->wsq_hi = (uint64_t)(q >> 64);
        d->wsq_lo = (uint64_t)q;
        for (size_t k = 0; k < d->nobs; k++)
            d->lsum[k] += s->lsum[k];
    }
    for (uint64_t b = 0; b < d->nblocks; b++)
        if (s->done[b]) {
            uint64_t p0 = b * SIM_BLOCK, p1 = p0 + SIM_BLOCK < d->N ? p0 + SIM_BLOCK : d->N;
            copy_rows(d, s, p0, p1);
            d->done[b] = 1;
        }
    return 0;
}

int sim_state_save(const sim_state *st, ho_file *f, char *err, size_t errlen)
{
    size_t LT = st->L * st->T;
    /* the sketches, sparse: (sketch * SK_NBUCKETS + bucket, count) */
    size_t nnz = 0, nb = st->sk.n * SK_NBUCKETS;
    for (size_t i = 0; i < nb; i++)
        nnz += st->sk.count[i] != 0;
    uint64_t *sp = malloc((nnz ? nnz : 1) * 2 * sizeof *sp);
    if (!sp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0, k = 0; i < nb; i++)
        if (st->sk.count[i]) {
            sp[2 * k] = i;
            sp[2 * k + 1] = st->sk.count[i];
            k++;
        }
    uint64_t hdr[4] = { st->N, st->nblocks, st->sk.overflow, st->K };
    int rc = ho_put_state(f, "header", HO_U64, hdr, 1, 4, err, errlen)
          || ho_put_state(f, "alive", HO_U64, st->alive, st->L, st->T, err, errlen)
          || ho_put_state(f, "acquired", HO_U64, st->acq, st->L, st->T, err, errlen)
          || ho_put_state(f, "wound_down", HO_U64, st->wd, st->L, st->T, err, errlen)
          || ho_put_state(f, "acquired_solvent", HO_U64, st->sol, st->L, st->T, err, errlen)
          || ho_put_state(f, "profitable", HO_U64, st->prof, st->L, st->T, err, errlen)
          || ho_put_state(f, "independent", HO_U64, st->indep, st->T, st->L + 1, err, errlen)
          || ho_put_state(f, "sketch", HO_U64, sp, nnz, 2, err, errlen)
          || ho_put_state(f, "sketch_min", HO_F64, st->sk.mn, st->sk.n, 1, err, errlen)
          || ho_put_state(f, "sketch_max", HO_F64, st->sk.mx, st->sk.n, 1, err, errlen)
          || ho_put_state(f, "done", HO_U8, st->done, st->nblocks, 1, err, errlen);
    /* state/traj_FIELD of each metric with trajectories (metrics.h) */
    for (int m = 0; m < MT_N && !rc; m++)
        if (st->traj[m]) {
            char name[64];
            snprintf(name, sizeof name, "traj_%s", mt_defs[m].field);
            rc = ho_put_state(f, name, HO_F64, st->traj[m], st->K, LT, err, errlen);
        }
    rc = rc || ho_put_state(f, "traj_alive", HO_U8, st->traj_alive, st->K, LT, err, errlen);
    if (!rc && st->I)
        rc = ho_put_state(f, "col_inputs", HO_F64, st->col_in, st->NS, st->I, err, errlen)
          || ho_put_state(f, "col_survived", HO_F64, st->col_surv, st->NS, st->L, err, errlen)
          || ho_put_state(f, "col_final_cash", HO_F64, st->col_cash, st->NS, st->L, err, errlen);
    if (!rc && st->weighted) {
        uint64_t w[3] = { st->wsum, st->wsq_hi, st->wsq_lo };
        rc = ho_put_state(f, "weights", HO_U64, w, 1, 3, err, errlen)
          || ho_put_state(f, "likelihood_sums", HO_U64, st->lsum, st->nobs, 1, err, errlen)
          || ho_put_state(f, "col_weight", HO_F64, st->col_w, st->NS, 1, err, errlen);
    }
    free(sp);
    return rc ? -1 : 0;
}

/* Reads state/NAME, which must be rows x cols. */
static int get(hr_file *f, const char *name, int type, void *buf, uint64_t rows, uint64_t cols,
               char *err, size_t errlen)
{
    char path[64];
    uint64_t r, c;
    snprintf(path, sizeof path, "state/%s", name);
    if (hr_shape(f, path, &r, &c, err, errlen) != 0)
        return -1;
    if (r != rows || (rows && c != cols)) {
        snprintf(err, errlen, "%s: %s is %llux%llu, expected %llux%llu (not this run's state)",
                 hr_name(f), path, (unsigned long long)r, (unsigned long long)c,
                 (unsigned long long)rows, (unsigned long long)cols);
        return -1;
    }
    return hr_read(f, path, type, 0, rows, c, buf, err, errlen);
}

int sim_state_load(sim_state *st, hr_file *f, char *err, size_t errlen)
{
    size_t LT = st->L * st->T;
    uint64_t hdr[4];
    const char *fn = hr_name(f);
    if (get(f, "header", HO_U64, hdr, 1, 4, err, errlen) != 0)
        return -1;
    if (hdr[0] != st->N || hdr[1] != st->nblocks || hdr[3] != st->K) {
        snprintf(err, errlen, "%s: the saved state is for %llu paths in %llu blocks and %llu "
                 "kept, not %llu in %llu and %zu", fn, (unsigned long long)hdr[0],
                 (unsigned long long)hdr[1], (unsigned long long)hdr[3],
                 (unsigned long long)st->N, (unsigned long long)st->nblocks, st->K);
        return -1;
    }
    st->sk.overflow = hdr[2];
    uint64_t r, c;
    /* A conditioned run's state: its counts are sums of weights (up to
     * 2^SIM_WBITS a path), and it says on how many observations. */
    if (hr_exists(f, "state/weights")) {
        uint64_t w[3];
        err[0] = 0;
        if (hr_shape(f, "state/likelihood_sums", &r, &c, err, errlen) != 0
            || r == 0 || r > 1000000 || sim_state_weigh(st, (size_t)r) != 0
            || get(f, "weights", HO_U64, w, 1, 3, err, errlen)
            || get(f, "likelihood_sums", HO_U64, st->lsum, st->nobs, 1, err, errlen)
            || get(f, "col_weight", HO_F64, st->col_w, st->NS, 1, err, errlen)) {
            if (!*err)
                snprintf(err, errlen, "%s: state/likelihood_sums is not a conditioned run's", fn);
            return -1;
        }
        st->wsum = w[0];
        st->wsq_hi = w[1];
        st->wsq_lo = w[2];
        for (size_t p = 0; p < st->NS; p++)
            if (!(st->col_w[p] >= 0.0 && st->col_w[p] <= 1.0)) {
                snprintf(err, errlen, "%s: state/col_weight holds %g, not a weight in [0, 1]", fn,
                         st->col_w[p]);
                return -1;
            }
    }
    const uint64_t max_count = st->weighted ? st->N << SIM_WBITS : st->N;
    if (hr_shape(f, "state/sketch", &r, &c, err, errlen) != 0)
        return -1;
    /* sim_state_save writes one row per non-empty bucket, in increasing
     * bucket order: at most every bucket once */
    size_t nb = st->sk.n * SK_NBUCKETS;
    if (r > 0 && c != 2) {
        snprintf(err, errlen, "%s: state/sketch has %llu columns, not 2", fn,
                 (unsigned long long)c);
        return -1;
    }
    if (r > nb) {
        snprintf(err, errlen, "%s: state/sketch has %llu rows, more than the %zu buckets", fn,
                 (unsigned long long)r, nb);
        return -1;
    }
    uint64_t *sp = malloc((r ? r : 1) * 2 * sizeof *sp);
    if (!sp || (r && hr_read(f, "state/sketch", HO_U64, 0, r, 2, sp, err, errlen) != 0)) {
        if (!sp)
            snprintf(err, errlen, "out of memory");
        free(sp);
        return -1;
    }
    for (uint64_t k = 0; k < r; k++) {
        uint64_t b = sp[2 * k], n = sp[2 * k + 1];
        const char *why = b >= nb ? "out of range"
                        : k > 0 && b <= sp[2 * k - 2] ? "not in increasing order"
                        : n == 0 || n > max_count ? "with a count of 0 or above the paths" : NULL;
        if (why) {
            snprintf(err, errlen, "%s: state/sketch: bucket %llu %s", fn,
                     (unsigned long long)b, why);
            free(sp);
            return -1;
        }
        /* no overflow: each count <= N <= 2^40, fewer than 2^15 per sketch */
        st->sk.count[b] = n;
        st->sk.total[b / SK_NBUCKETS] += n;
    }
    free(sp);
    int rc = get(f, "sketch_min", HO_F64, st->sk.mn, st->sk.n, 1, err, errlen)
          || get(f, "sketch_max", HO_F64, st->sk.mx, st->sk.n, 1, err, errlen)
          || get(f, "alive", HO_U64, st->alive, st->L, st->T, err, errlen)
          || get(f, "acquired", HO_U64, st->acq, st->L, st->T, err, errlen)
          || get(f, "wound_down", HO_U64, st->wd, st->L, st->T, err, errlen)
          || get(f, "acquired_solvent", HO_U64, st->sol, st->L, st->T, err, errlen)
          || get(f, "profitable", HO_U64, st->prof, st->L, st->T, err, errlen)
          || get(f, "independent", HO_U64, st->indep, st->T, st->L + 1, err, errlen)
          || get(f, "done", HO_U8, st->done, st->nblocks, 1, err, errlen);
    for (int m = 0; m < MT_N && !rc; m++)
        if (st->traj[m]) {
            char name[64];
            snprintf(name, sizeof name, "traj_%s", mt_defs[m].field);
            rc = get(f, name, HO_F64, st->traj[m], st->K, LT, err, errlen);
        }
    rc = rc || get(f, "traj_alive", HO_U8, st->traj_alive, st->K, LT, err, errlen);
    if (!rc && st->I)
        rc = get(f, "col_inputs", HO_F64, st->col_in, st->NS, st->I, err, errlen)
          || get(f, "col_survived", HO_F64, st->col_surv, st->NS, st->L, err, errlen)
          || get(f, "col_final_cash", HO_F64, st->col_cash, st->NS, st->L, err, errlen);
    for (uint64_t b = 0; !rc && b < st->nblocks; b++)
        if (st->done[b] > 1) {
            snprintf(err, errlen, "%s: state/done holds %d, not 0 or 1", fn, st->done[b]);
            rc = 1;
        }
    return rc ? -1 : 0;
}

/* The first and last non-empty buckets of sketch i other than the two
 * edge buckets (lo > hi when none). */
static void sketch_range(const sk_set *sk, size_t i, int *lo, int *hi)
{
    const uint64_t *c = sk->count + i * SK_NBUCKETS;
    *lo = SK_NBUCKETS;
    *hi = -1;
    int b = 1;
    /* most buckets are empty: skip them eight at a time */
    for (; b + 8 <= SK_NBUCKETS - 1; b += 8) {
        if (!(c[b] | c[b + 1] | c[b + 2] | c[b + 3] | c[b + 4] | c[b + 5] | c[b + 6] | c[b + 7]))
            continue;
        for (int k = b; k < b + 8; k++)
            if (c[k]) {
                *lo = k < *lo ? k : *lo;
                *hi = k;
            }
    }
    for (; b < SK_NBUCKETS - 1; b++)
        if (c[b]) {
            *lo = b < *lo ? b : *lo;
            *hi = b;
        }
}

/* Sketch i could have been filled by sk_add: its extremes are the
 * smallest and largest values added other than NaN (+inf and -inf when
 * there are none), so they lie in non-empty buckets and every other
 * non-empty bucket lies between theirs, except the two edge buckets,
 * which also count NaNs. */
static int sketch_ok(const sk_set *sk, size_t i)
{
    const uint64_t *c = sk->count + i * SK_NBUCKETS;
    double mn = sk->mn[i], mx = sk->mx[i];
    int lo, hi;
    sketch_range(sk, i, &lo, &hi);
    if (isnan(mn) || isnan(mx))
        return 0;
    if (mn == INFINITY && mx == -INFINITY) /* empty, or only NaNs */
        return lo > hi;
    if (mn > mx)
        return 0;
    int bmn = sk_bucket(mn), bmx = sk_bucket(mx);
    return c[bmn] && c[bmx] && (lo > hi || (lo >= bmn && hi <= bmx));
}

int sim_state_check(const sim_state *st, const sc_scenario *s, uint64_t b_lo, uint64_t b_hi,
                    char *err, size_t errlen)
{
    const size_t L = st->L, T = st->T, I = st->I, LT = L * T;
    if (L != s->nlabs || T != (size_t)s->horizon || I != s->ninputs) {
        snprintf(err, errlen, "the state is not shaped for the scenario");
        return -1;
    }
    for (uint64_t b = 0; b < st->nblocks; b++)
        if (st->done[b] > 1 || (st->done[b] && (b < b_lo || b >= b_hi))) {
            snprintf(err, errlen, "state/done marks paths %llu.. as done, outside this file's "
                     "paths %llu..%llu", (unsigned long long)(b * SIM_BLOCK),
                     (unsigned long long)(b_lo * SIM_BLOCK),
                     (unsigned long long)(b_hi * SIM_BLOCK < st->N ? b_hi * SIM_BLOCK : st->N) - 1);
            return -1;
        }
    /* Every count is a number of the paths done, P: each lab is alive,
     * acquired or wound down at the end of each year; failures and
     * profitability only accumulate. */
    /* In a conditioned run every count is a sum of weights: P is then
     * the weight of the paths done. */
    const uint64_t P = st->weighted ? st->wsum : sim_state_paths_done(st);
    if (st->weighted && st->wsum > sim_state_paths_done(st) << SIM_WBITS) {
        snprintf(err, errlen, "state/weights: the weights exceed 1 a path");
        return -1;
    }
    size_t nind = 0; /* labs without a backstop: the columns of `independent` */
    for (size_t l = 0; l < L; l++)
        nind += s->labs[l].backstop == SC_BACKSTOP_NONE;
    for (size_t l = 0; l < L; l++)
        for (size_t t = 0; t < T; t++) {
            size_t i = l * T + t;
            const char *why = NULL;
            if (st->alive[i] > P || st->acq[i] > P - st->alive[i]
                || st->sol[i] > P - st->alive[i] - st->acq[i]
                || st->wd[i] != P - st->alive[i] - st->acq[i] - st->sol[i])
                why = "alive, acquired, wound down and bought while solvent do not add up to "
                      "the paths done";
            else if (st->prof[i] > P)
                why = "more profitable than paths done";
            else if (t > 0 && (st->acq[i] < st->acq[i - 1] || st->wd[i] < st->wd[i - 1]
                               || st->sol[i] < st->sol[i - 1]
                               || st->prof[i] < st->prof[i - 1]))
                why = "failures or profitability decrease over the years";
            if (why) {
                snprintf(err, errlen, "state: %s (lab %zu, year %zu: %llu paths done)", why,
                         l + 1, t + 1, (unsigned long long)P);
                return -1;
            }
        }
    for (size_t t = 0; t < T; t++) {
        /* paths by number of independent labs alive: they are the paths
         * done, and their labs are the independent labs alive */
        uint64_t n = 0, labs = 0, want = 0;
        const uint64_t *row = st->indep + t * (L + 1);
        int bad = 0;
        for (size_t k = 0; k <= L; k++) {
            bad |= row[k] > P - n || (k > nind && row[k]);
            if (bad)
                break;
            n += row[k];
            labs += row[k] * k;
        }
        for (size_t l = 0; l < L; l++)
            if (s->labs[l].backstop == SC_BACKSTOP_NONE)
                want += st->alive[l * T + t];
        if (bad || n != P || labs != want) {
            snprintf(err, errlen, "state/independent disagrees with the paths done or with "
                     "state/alive (year %zu)", t + 1);
            return -1;
        }
    }
    /* The sketches hold one value per lab alive (the subsidy's: only for a
     * parent-backstopped lab); values beyond the range are counted. */
    uint64_t edge = 0;
    for (int m = 0; m < MT_N; m++)
        for (size_t i = 0; i < LT; i++) {
            size_t k = (size_t)m * LT + i;
            const uint64_t *c = st->sk.count + k * SK_NBUCKETS;
            int parent = s->labs[i / T].backstop == SC_BACKSTOP_PARENT;
            uint64_t want = m == MT_SUBSIDY && !parent ? 0 : st->alive[i];
            edge += c[0] + c[SK_NBUCKETS - 1];
            if (st->sk.total[k] != want || !sketch_ok(&st->sk, k)) {
                snprintf(err, errlen, "state: sketch %d of lab %zu, year %zu %s", m,
                         i / T + 1, i % T + 1, st->sk.total[k] != want
                         ? "does not count one value per lab alive"
                         : "has a minimum or maximum outside its buckets");
                return -1;
            }
        }
    if (edge != st->sk.overflow) {
        snprintf(err, errlen, "state/header counts %llu values beyond the sketches' range, "
                 "the sketches %llu", (unsigned long long)st->sk.overflow,
                 (unsigned long long)edge);
        return -1;
    }
    /* Rows of the paths done: kept trajectories, whose labs once dead stay
     * dead, and the rank-correlation sample. */
    for (uint64_t p = 0; p < st->K; p++) {
        if (!st->done[p / SIM_BLOCK])
            continue;
        for (size_t l = 0; l < L; l++)
            for (size_t t = 0; t < T; t++) {
                uint8_t a = st->traj_alive[p * LT + l * T + t];
                if (a > 1 || (t > 0 && a > st->traj_alive[p * LT + l * T + t - 1])
                    || (I && p < st->NS && t == T - 1 && (double)a != st->col_surv[p * L + l])) {
                    snprintf(err, errlen, "state/traj_alive of path %llu, lab %zu is not a "
                             "lab's life (or disagrees with state/col_survived)",
                             (unsigned long long)p, l + 1);
                    return -1;
                }
            }
    }
    if (I && !st->weighted) {
        uint64_t in_sample = 0;
        uint64_t *surv = calloc(L, sizeof *surv);
        if (!surv) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        int bad = 0;
        for (uint64_t p = 0; p < st->NS && !bad; p++) {
            if (!st->done[p / SIM_BLOCK])
                continue;
            in_sample++;
            for (size_t l = 0; l < L; l++) {
                double v = st->col_surv[p * L + l];
                bad |= v != 0.0 && v != 1.0;
                surv[l] += v == 1.0;
            }
            for (size_t i = 0; i < I; i++)
                bad |= !isfinite(st->col_in[p * I + i]);
        }
        /* the sample's survivors are survivors: all of them when every
         * path done is in the sample */
        for (size_t l = 0; l < L && !bad; l++) {
            uint64_t alive = st->alive[l * T + T - 1];
            bad = surv[l] > alive || alive - surv[l] > P - in_sample;
        }
        free(surv);
        if (bad) {
            snprintf(err, errlen, "state/col_survived or col_inputs are not survival flags and "
                     "finite inputs matching state/alive");
            return -1;
        }
    }
    return 0;
}

int sim_accumulate(sim_state *st, const sc_scenario *s, const sim_options *o,
                   uint64_t b_lo, uint64_t b_hi, char *err, size_t errlen)
{
    const size_t L = st->L, T = st->T, I = st->I, LT = L * T;
    const uint64_t N = st->N;
    const size_t K = st->K, NS = st->NS;
    if (b_hi > st->nblocks)
        b_hi = st->nblocks;
    md_plan *plan = md_plan_create(s, o->seed, err, errlen);
    if (!plan)
        return -1;
    int failed = 0, nthreads = 1;
    char cb_err[512] = "";
    uint64_t done = 0;
    double t0 = now_s(), last = t0;
    int threads = o->threads > 0 ? o->threads : omp_get_max_threads();
    const ob_set *cond = o->cond;
    const size_t nobs = cond ? cond->n : 0;
    sim_probe *cprobes = NULL;
    if (cond) {
        if (!st->weighted || st->nobs != nobs || N > SIM_WMAX_PATHS) {
            md_plan_free(plan);
            snprintf(err, errlen, N > SIM_WMAX_PATHS
                     ? "a conditioned run takes at most 2^31 paths (its weights are summed in 64 bits)"
                     : "the state is not a conditioned run's on these observations");
            return -1;
        }
        if (!(cprobes = calloc(nobs, sizeof *cprobes))) {
            md_plan_free(plan);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        ev_probes(cond, cprobes);
    }
    const double wscale = 1.0 / (double)((uint64_t)1 << SIM_WBITS);

#pragma omp parallel num_threads(threads)
    {
        acc a;
        int mine_bad = acc_init(&a, plan, L, T, I, nobs);
#pragma omp single
        nthreads = omp_get_num_threads();
        if (mine_bad) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (uint64_t b = b_lo; b < b_hi; b++) {
            int stop;
#pragma omp atomic read
            stop = failed;
            /* a signal stops the run between blocks: the blocks done stay
             * done (a checkpoint resumes from them) */
            if (stop || st->done[b] || (o->stop && *o->stop))
                continue;
            uint64_t first = b * SIM_BLOCK;
            uint64_t count = N - first < SIM_BLOCK ? N - first : SIM_BLOCK;
            /* 16-bit sketch counts (half the cache a thread's sketches
             * take): flush before any could wrap. */
            if (a.sk_paths + count > UINT16_MAX) {
#pragma omp critical(sim_merge)
                sk_merge(&st->sk, &a.sk);
                a.sk_paths = 0;
            }
            a.sk_paths += count;
            if (o->reference) {
                for (uint64_t j = 0; j < count; j++) {
                    uint64_t path = first + j;
                    md_values v;
                    v.lab = a.labv;
                    double *drawn = a.inputs + j * I;
                    md_draw_inputs(plan, path, &v, I ? drawn : NULL);
                    md_simulate_ex(plan, path, &v, a.years, a.out,
                                   o->nprobes || cond ? a.market : NULL);
                    for (size_t k = 0; k < o->nprobes; k++)
                        o->probe_x[path * o->nprobes + k] = probe_ref(&o->probes[k], &a, T);
                    if (cond) {
                        for (size_t k = 0; k < nobs; k++)
                            a.cx[k] = probe_ref(&cprobes[k], &a, T);
                        path_weights(cond, a.cx, 1, &a.W[j], a.lsum);
                        accumulate_w(&a, s, L, T, a.W[j]);
                    } else {
                        accumulate(&a, s, L, T);
                    }
                    for (size_t l = 0; l < L; l++) {
                        size_t jl = j * L + l;
                        a.fail_year[jl] = a.out[l].fail_year;
                        a.profit_year[jl] = a.out[l].profit_year;
                        a.outcome[jl] = a.out[l].outcome;
                        a.final_cash[jl] = a.out[l].final_cash;
                        a.raised_total[jl] = a.out[l].raised_total;
                    }
                    if (path < K)
                        for (size_t lt = 0; lt < LT; lt++) {
                            const md_year *y = &a.years[lt];
                            size_t at = (size_t)path * LT + lt;
                            for (int m = 0; m < MT_N; m++)
                                if (st->traj[m])
                                    st->traj[m][at] = md_year_metric(y, m);
                            st->traj_alive[at] = (uint8_t)y->alive;
                        }
                }
            } else {
                const int rows = o->on_paths != NULL || first < NS;
                for (uint64_t j0 = 0; j0 < count; j0 += KN_LANES) {
                    size_t n = count - j0 < KN_LANES ? (size_t)(count - j0) : KN_LANES;
                    kn_run(plan, a.kw, first + j0, n);
                    kn_view kv;
                    kn_view_get(a.kw, &kv);
                    if (cond) {
                        for (size_t k = 0; k < nobs; k++)
                            probe_kernel(&cprobes[k], &kv, T, n, a.cx + k, nobs);
                        path_weights(cond, a.cx, n, a.W + j0, a.lsum);
                        accumulate_kernel_w(&a, s, &kv, n, L, T, a.W + j0);
                    } else {
                        accumulate_kernel(&a, s, &kv, n, L, T);
                    }
                    for (size_t k = 0; k < o->nprobes; k++)
                        probe_kernel(&o->probes[k], &kv, T, n,
                                     o->probe_x + (first + j0) * o->nprobes + k, o->nprobes);
                    for (size_t jj = 0; jj < n; jj++) {
                        size_t j = (size_t)j0 + jj;
                        /* per-path rows are read only by the sink and by
                         * the rank-correlation sample (paths < NS): with
                         * neither (--per-path none, beyond the sample),
                         * they are not copied */
                        if (rows) {
                            for (size_t l = 0; l < L; l++) {
                                size_t jl = j * L + l, lk = l * KN_LANES + jj;
                                a.fail_year[jl] = (int32_t)kv.fail_year[lk];
                                a.profit_year[jl] = (int32_t)kv.profit_year[lk];
                                a.outcome[jl] = (int8_t)kv.outcome[lk];
                                a.final_cash[jl] = kv.final_cash[lk];
                                a.raised_total[jl] = kv.raised_total[lk];
                            }
                            for (size_t i = 0; i < I; i++)
                                a.inputs[j * I + i] = kv.drawn[i * KN_LANES + jj];
                        }
                        uint64_t path = first + j;
                        if (path < K)
                            for (size_t lt = 0; lt < LT; lt++) {
                                size_t at = (size_t)path * LT + lt, ko = lt * KN_LANES + jj;
                                for (int m = 0; m < MT_N; m++)
                                    if (st->traj[m])
                                        st->traj[m][at] = kv.y[m][ko];
                                st->traj_alive[at] = (uint8_t)kv.alive[ko];
                            }
                    }
                }
            }
            if (cond)
                for (uint64_t j = 0; j < count; j++) {
                    uint64_t w = a.W[j];
                    a.weight[j] = (double)w * wscale; /* exact: w < 2^53 */
                    a.wsum += w;
                    a.wsq += (unsigned __int128)w * w;
                    if (first + j < NS)
                        st->col_w[first + j] = a.weight[j];
                }
            for (uint64_t j = 0; j < count; j++) {
                uint64_t path = first + j;
                if (!I || path >= NS)
                    continue;
                for (size_t l = 0; l < L; l++) {
                    st->col_surv[path * L + l] = a.fail_year[j * L + l] == 0;
                    st->col_cash[path * L + l] = a.final_cash[j * L + l];
                }
                memcpy(st->col_in + path * I, a.inputs + j * I, I * sizeof *st->col_in);
            }
            if (o->on_paths) {
                /* no lock here: the sink takes what it needs (the file
                 * writer compresses on every thread at once) */
                ho_paths blk = { a.fail_year, a.outcome, a.profit_year,
                                 a.final_cash, a.raised_total, a.inputs,
                                 cond ? a.weight : NULL };
                char my_err[sizeof cb_err] = "";
                int bad;
#pragma omp atomic read
                bad = failed;
                if (!bad && o->on_paths(o->ctx, first, count, &blk, my_err, sizeof my_err) != 0) {
#pragma omp critical(sim_sink_err)
                    {
                        int was;
#pragma omp atomic read
                        was = failed;
                        if (was != 2) /* the first failure's message */
                            memcpy(cb_err, my_err, sizeof cb_err);
#pragma omp atomic write
                        failed = 2;
                    }
                }
            }
            if (!failed)
                st->done[b] = 1; /* one thread per block: no race */
            uint64_t d;
#pragma omp atomic capture
            d = done += count;
            if (o->progress && omp_get_thread_num() == 0) {
                double tn = now_s();
                if (tn - last > 0.5) {
                    last = tn;
                    fprintf(stderr, "\r  %llu / %llu paths (%.0f%%)", (unsigned long long)d,
                            (unsigned long long)N, 100.0 * (double)d / (double)N);
                }
            }
        }
        if (!mine_bad) {
#pragma omp critical(sim_merge)
            {
                for (size_t i = 0; i < LT; i++) {
                    st->alive[i] += a.alive[i]; st->acq[i] += a.acq[i];
                    st->wd[i] += a.wd[i]; st->sol[i] += a.sol[i]; st->prof[i] += a.prof[i];
                }
                for (size_t i = 0; i < T * (L + 1); i++)
                    st->indep[i] += a.indep[i];
                sk_merge(&st->sk, &a.sk);
                if (cond) {
                    sk_set_add(&st->sk, &a.skw);
                    st->wsum += a.wsum;
                    unsigned __int128 q = ((unsigned __int128)st->wsq_hi << 64 | st->wsq_lo) + a.wsq;
                    st->wsq_hi = (uint64_t)(q >> 64);
                    st->wsq_lo = (uint64_t)q;
                    for (size_t k = 0; k < nobs; k++)
                        st->lsum[k] += a.lsum[k];
                }
            }
            acc_free(&a);
        }
    }
    if (o->progress && isatty(2))
        fprintf(stderr, "\r%60s\r", "");
    st->threads_used = nthreads;
    md_plan_free(plan);
    free(cprobes);
    if (failed) {
        if (failed == 2)
            snprintf(err, errlen, "%s", cb_err);
        else
            snprintf(err, errlen, "out of memory for a thread's accumulators");
        return -1;
    }
    return 0;
}

int sim_finalize(const sim_state *st, const sc_scenario *s, int threads, sim_result *r,
                 char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    const size_t L = st->L, T = st->T, LT = L * T;
    const uint64_t N = st->N;
    for (uint64_t b = 0; b < st->nblocks; b++)
        if (!st->done[b]) {
            snprintf(err, errlen, "paths %llu.. were never simulated (a missing shard?)",
                     (unsigned long long)(b * SIM_BLOCK));
            return -1;
        }
    r->L = L; r->T = T; r->I = st->I; r->N = N; r->K = st->K;
    r->sens_paths = st->NS;
    r->threads_used = st->threads_used;
    if (threads <= 0)
        threads = omp_get_max_threads();
    if (result_alloc(r) != 0) {
        sim_result_free(r);
        snprintf(err, errlen, "out of memory for the summaries");
        return -1;
    }
    for (size_t k = 0; k < r->K; k++)
        r->kept_paths[k] = k;
    size_t KLT = r->K * LT;
    for (int m = 0; m < MT_N; m++)
        if (st->traj[m])
            memcpy(r->traj[m], st->traj[m], KLT * 8);
    memcpy(r->traj_alive, st->traj_alive, KLT);
    double n = (double)N;
    if (st->weighted) {
        /* weighted summaries: fractions of the weight; intervals from the
         * effective sample size */
        long double sq = ((long double)st->wsq_hi * 18446744073709551616.0L + (long double)st->wsq_lo);
        long double ws = (long double)st->wsum;
        r->weighted = 1;
        r->n_eff = sq > 0 ? (double)(ws * ws / sq) : 0.0;
        r->evidence = (double)(ws / (long double)((uint64_t)1 << SIM_WBITS) / (long double)N);
        r->nobs = st->nobs;
        r->obs_evidence = calloc(st->nobs ? st->nobs : 1, sizeof *r->obs_evidence);
        if (!r->obs_evidence) {
            sim_result_free(r);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (size_t k = 0; k < st->nobs; k++)
            r->obs_evidence[k] = (double)((long double)st->lsum[k]
                                          / (long double)((uint64_t)1 << SIM_WBITS) / (long double)N);
        if (st->wsum == 0) {
            sim_result_free(r);
            snprintf(err, errlen, "no path is consistent with the observations (every weight is 0): "
                                  "the scenario cannot produce what was observed");
            return -1;
        }
        n = (double)st->wsum;
    }
    for (size_t i = 0; i < LT; i++) {
        r->survival[i] = (double)st->alive[i] / n;
        if (st->weighted)
            st_wilson_p(r->survival[i], r->n_eff, &r->survival_lo[i], &r->survival_hi[i]);
        else
            st_wilson(st->alive[i], N, &r->survival_lo[i], &r->survival_hi[i]);
        r->failed_acquired[i] = (double)st->acq[i] / n;
        r->failed_wound_down[i] = (double)st->wd[i] / n;
        r->acquired_solvent[i] = (double)st->sol[i] / n;
        r->profitable_by[i] = (double)st->prof[i] / n;
    }
    for (size_t i = 0; i < T * (L + 1); i++)
        r->independent_alive[i] = (double)st->indep[i] / n;
    for (int m = 0; m < MT_N; m++)
        for (size_t lt = 0; lt < LT; lt++)
            for (int q = 0; q < HO_NQUANT; q++) {
                size_t l = lt / T;
                int no_subsidy = m == MT_SUBSIDY && s->labs[l].backstop != SC_BACKSTOP_PARENT;
                r->q[m][lt * HO_NQUANT + (size_t)q] =
                    no_subsidy ? NAN : sk_quantile(&st->sk, (size_t)m * LT + lt, ho_quantiles[q]);
            }
    /* a conditioned run counts weights: the clamped values' weight, in paths */
    r->overflow = st->weighted ? st->sk.overflow >> SIM_WBITS : st->sk.overflow;
    if ((st->weighted ? sensitivity_w(r, st->NS, st->col_in, st->col_surv, st->col_cash,
                                      st->col_w, threads)
                      : sensitivity(r, st->NS, st->col_in, st->col_surv, st->col_cash, threads)) != 0) {
        sim_result_free(r);
        snprintf(err, errlen, "out of memory for the rank correlations");
        return -1;
    }
    return 0;
}

int sim_run(const sc_scenario *s, const sim_options *o, sim_result *r,
            char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    sim_state st;
    uint64_t N = o->paths ? o->paths : s->paths;
    if (sim_state_init(&st, s, N, o->keep) != 0) {
        snprintf(err, errlen, "out of memory for %llu paths' state", (unsigned long long)N);
        return -1;
    }
    int rc = sim_accumulate(&st, s, o, 0, st.nblocks, err, errlen);
    if (rc == 0 && o->stop && *o->stop) {
        snprintf(err, errlen, "interrupted");
        rc = -1;
    }
    if (rc == 0)
        rc = sim_finalize(&st, s, o->threads, r, err, errlen);
    sim_state_free(&st);
    return rc;
}

void sim_summary_view(const sim_result *r, ho_summary *o)
{
    *o = (ho_summary){
        r->survival, r->survival_lo, r->survival_hi,
        r->failed_acquired, r->failed_wound_down, r->profitable_by,
#define SIM_Q_(K, f, n, u, tr, ql, tl) r->q[MT_##K],
        MT_METRICS(SIM_Q_)
#undef SIM_Q_
        r->independent_alive,
        r->sensitivity_survival, r->sensitivity_cash,
        r->acquired_solvent,
    };
}

void sim_traj_view(const sim_result *r, ho_traj *o)
{
    *o = (ho_traj){
#define SIM_TRAJ_(K, f, n, u, tr, ql, tl) MT_IF(tr, r->traj[MT_##K],)
        MT_METRICS(SIM_TRAJ_)
#undef SIM_TRAJ_
        r->traj_alive };
}
