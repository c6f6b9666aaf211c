/* sim: the sampler loop. See sim.h for the contract. */
#include "engine/sim.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/evidence.h"
#include "engine/kernel.h"
#include "engine/model.h"
#include "engine/sketch.h"
#include "engine/stats.h"
#include "engine/sensitivity.h"
#include "engine/tornado.h"
#include "rng/rng_math.h"

const double sim_quantiles[SIM_NQUANT] = { 0.05, 0.25, 0.5, 0.75, 0.95 };

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
    free(r->sensitivity_index); free(r->sensitivity_swing); free(r->sensitivity_group_index);
    free(r->input_group);
    for (size_t g = 0; r->group_names && g < r->G; g++)
        free(r->group_names[g]);
    free(r->group_names);
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
        ALLOC(r->q[m], LT * SIM_NQUANT);
        if (mt_defs[m].traj)
            ALLOC(r->traj[m], KLT);
    }
    ALLOC(r->independent_alive, r->T * (r->L + 1));
    ALLOC(r->sensitivity_survival, r->L * r->I); ALLOC(r->sensitivity_cash, r->L * r->I);
    ALLOC(r->sensitivity_index, LT * r->I); ALLOC(r->sensitivity_swing, LT * r->I);
    ALLOC(r->sensitivity_group_index, LT * r->G);
    ALLOC(r->input_group, r->I); ALLOC(r->group_names, r->G);
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

/* Lab l's exits and first profits in a conditioned run, for n paths (a
 * kernel block's lanes, or the reference's one path), path j weighing
 * W[j]: the year the lab failed or was bought on it (fy, outcome oc) and
 * the year it first made a profit (py), 1..T, 0 for never. Weights by
 * that year, then running sums: a path counts in every year from then
 * on. (accumulate_kernel keeps its own unweighted copy, with 32-bit
 * counts: it is the sampler's hot loop.) */
static void add_exits_w(acc *a, size_t l, size_t T, const int64_t *fy, const int64_t *py,
                        const int64_t *oc, size_t n, const uint64_t *W)
{
    uint64_t by[4][SC_HORIZON_MAX + 1] = { { 0 } }; /* acquired, wound down, solvent, profit */
    for (size_t j = 0; j < n; j++) {
        by[0][fy[j]] += oc[j] == MD_ACQUIRED ? W[j] : 0;
        by[1][fy[j]] += oc[j] == MD_WOUND_DOWN ? W[j] : 0;
        by[2][fy[j]] += oc[j] == MD_ACQUIRED_SOLVENT ? W[j] : 0;
        by[3][py[j]] += W[j];
    }
    uint64_t *sum[4] = { a->acq + l * T, a->wd + l * T, a->sol + l * T, a->prof + l * T };
    for (int k = 0; k < 4; k++) {
        uint64_t c = 0;
        for (size_t t = 0; t < T; t++) {
            c += by[k][t + 1];
            sum[k][t] += c;
        }
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
        const int64_t fy = o->fail_year, py = o->profit_year, oc = o->outcome;
        add_exits_w(a, l, T, &fy, &py, &oc, 1, &w);
        int parent = s->labs[l].backstop == SC_BACKSTOP_PARENT;
        for (size_t t = 0; t < T; t++) {
            size_t lt = l * T + t;
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
        add_exits_w(a, l, T, v->fail_year + l * KN_LANES, v->profit_year + l * KN_LANES,
                    v->outcome + l * KN_LANES, n, W);
        int parent = s->labs[l].backstop == SC_BACKSTOP_PARENT;
        for (size_t t = 0; t < T; t++) {
            /* sketch by sketch, the block's lanes at once (sums of
             * integers: the same counts as lane by lane, which spent a
             * conditioned run's time on one scalar add after another) */
            size_t lt = l * T + t, off = lt * KN_LANES;
            const int64_t *ya = v->alive + off;
            uint64_t wa[KN_LANES], sa = 0; /* the weights of the lanes alive, once */
            for (size_t j = 0; j < n; j++) {
                wa[j] = W[j] & -(uint64_t)(ya[j] != 0);
                sa += wa[j];
            }
            a->alive[lt] += sa;
            for (int m = 0; m < MT_N; m++)
                if (m != MT_SUBSIDY || parent)
                    sk_set_add_bulk_w(&a->skw, (size_t)m * LTn + lt, v->y[m] + off, wa, sa, n);
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
                /* a figure of a lab not alive at the end of the year: 0 */
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
    /* a lab's figure of a year exists where the lab is alive at its end
     * (as the summaries' quantiles count it): a lab that failed or was
     * bought during the year reports no annual figures */
    return y->alive ? md_year_metric(y, probe_metric[pr->kind]) : NAN;
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
        size_t off = ((size_t)pr->lab * T + t) * KN_LANES;
        src = v->y[probe_metric[pr->kind]] + off;
        for (size_t j = 0; j < n; j++) /* as probe_ref: alive at the year's end */
            dst[j * stride] = v->alive[off + j] ? src[j] : NAN;
        return;
    }
    for (size_t j = 0; j < n; j++)
        dst[j * stride] = src[j];
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
    if (o->on_progress)
        o->on_progress(o->progress_ctx, SIM_PROGRESS_START, 0, N);

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
                    /* the sample's inputs, a column each, straight from the
                     * block's (the kernel draws input by input) */
                    const uint64_t p0 = first + j0;
                    if (I && p0 < NS) {
                        size_t m = NS - p0 < n ? (size_t)(NS - p0) : n;
                        for (size_t i = 0; i < I; i++)
                            memcpy(st->col_in + i * NS + p0, kv.drawn + i * KN_LANES,
                                   m * sizeof *st->col_in);
                    }
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
                            for (size_t i = 0; o->on_paths && i < I; i++) /* the sink's */
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
                    st->col_fy[path * L + l] = a.fail_year[j * L + l];
                    st->col_cash[path * L + l] = a.final_cash[j * L + l];
                }
                for (size_t i = 0; o->reference && i < I; i++) /* the kernel's: above */
                    st->col_in[i * NS + path] = a.inputs[j * I + i];
            }
            if (o->on_paths) {
                /* no lock here: the sink takes what it needs (the file
                 * writer compresses on every thread at once) */
                sim_paths_block blk = { a.fail_year, a.outcome, a.profit_year,
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
            if (o->on_progress && omp_get_thread_num() == 0)
                o->on_progress(o->progress_ctx, SIM_PROGRESS_BLOCK, d, N);
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
    if (o->on_progress)
        o->on_progress(o->progress_ctx, SIM_PROGRESS_END, done, N);
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

/* tn_ranks_fn: input i's sensitivity bins from its ranks, through the
 * code table of every rank (the first 2 N + 1 bytes), into codes [I][N]
 * (after the table). */
static void put_codes(void *table, size_t i, const double *centred, size_t N)
{
    const uint8_t *t = table;
    sn_codes_from_ranks(N, t, centred, (uint8_t *)table + 2 * N + 1 + i * N);
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
    int *grp = malloc((r->I ? r->I : 1) * sizeof *grp);
    if (grp)
        sn_groups(s, grp, &r->G);
    if (!grp || result_alloc(r) != 0) {
        free(grp);
        sim_result_free(r);
        snprintf(err, errlen, "out of memory for the summaries");
        return -1;
    }
    memcpy(r->input_group, grp, r->I * sizeof *grp);
    free(grp);
    for (size_t g = 0; g < r->G; g++)
        if (!(r->group_names[g] = sn_group_name(s, r->input_group, (int)g))) {
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
            for (int q = 0; q < SIM_NQUANT; q++) {
                size_t l = lt / T;
                int no_subsidy = m == MT_SUBSIDY && s->labs[l].backstop != SC_BACKSTOP_PARENT;
                r->q[m][lt * SIM_NQUANT + (size_t)q] =
                    no_subsidy ? NAN : sk_quantile(&st->sk, (size_t)m * LT + lt, sim_quantiles[q]);
            }
    /* a conditioned run counts weights: the clamped values' weight, in paths */
    r->overflow = st->weighted ? st->sk.overflow >> SIM_WBITS : st->sk.overflow;
    /* Unweighted, each input is ranked once: the rank correlations hand
     * its ranks to the sensitivity indices' bins (codes), which would
     * otherwise bin it again. Without memory for the codes, the indices
     * bin the inputs themselves: the same results, later. */
    uint8_t *table = st->weighted || !r->I ? NULL : malloc(2 * st->NS + 1 + st->NS * r->I);
    uint8_t *codes = table ? table + 2 * st->NS + 1 : NULL;
    if (table)
        sn_code_table(st->NS, table);
    double *surv = sim_state_survived(st); /* [NS][L], from the fail years */
    if ((r->I && !surv)
        || (st->weighted ? tn_spearman_w(st->NS, r->I, L, st->col_in, surv, st->col_cash,
                                         st->col_w, threads, r->sensitivity_survival,
                                         r->sensitivity_cash)
                         : tn_spearman(st->NS, r->I, L, st->col_in, surv, st->col_cash,
                                       threads, r->sensitivity_survival, r->sensitivity_cash,
                                       table ? put_codes : NULL, table)) != 0) {
        free(surv);
        free(table);
        sim_result_free(r);
        snprintf(err, errlen, "out of memory for the rank correlations");
        return -1;
    }
    free(surv);
    sn_data sd = { st->NS, r->I, L, T, st->col_in, st->col_fy, st->weighted ? st->col_w : NULL,
                   r->input_group, r->G, codes, 0, 1 };
    int rc = sn_survival(&sd, threads, r->sensitivity_index, r->sensitivity_swing,
                         r->sensitivity_group_index);
    free(table);
    if (rc != 0) {
        sim_result_free(r);
        snprintf(err, errlen, rc == -2 ? "the sensitivity sample holds a fail year outside "
                                         "0..horizon (a damaged state)"
                                       : "out of memory for the sensitivity indices");
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
