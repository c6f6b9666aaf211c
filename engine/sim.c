/* sim: the sampler loop. See sim.h for the contract. */
#include "engine/sim.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/kernel.h"
#include "engine/model.h"
#include "engine/sketch.h"
#include "engine/stats.h"

/* What one thread accumulates. Counts are integers so that merging the
 * threads is exact in any order. */
typedef struct {
    uint64_t *alive, *acq, *wd, *prof; /* [L][T] */
    uint64_t *indep;                   /* [T][L+1] */
    sk_local sk;                       /* [SIM_NQ][L][T] */
    uint64_t sk_paths;                 /* paths since the last sketch flush */
    /* block buffers */
    int32_t *fail_year, *profit_year;  /* [B][L] */
    int8_t *outcome;
    double *final_cash, *raised_total;
    double *inputs;                    /* [B][I] */
    double *labv;                      /* [L][SC_LAB_NKEYS] */
    md_year *years;                    /* [L][T] */
    md_outcome *out;                   /* [L] */
    kn_work *kw;                       /* the block kernel's work area */
} acc;

static void acc_free(acc *a)
{
    free(a->alive); free(a->acq); free(a->wd); free(a->prof); free(a->indep);
    sk_local_free(&a->sk);
    free(a->fail_year); free(a->profit_year); free(a->outcome);
    free(a->final_cash); free(a->raised_total); free(a->inputs);
    free(a->labv); free(a->years); free(a->out);
    kn_work_free(a->kw);
    memset(a, 0, sizeof *a);
}

static int acc_init(acc *a, const md_plan *plan, size_t L, size_t T, size_t I)
{
    memset(a, 0, sizeof *a);
    size_t LT = L * T, B = SIM_BLOCK;
    a->alive = calloc(LT, sizeof *a->alive);
    a->acq = calloc(LT, sizeof *a->acq);
    a->wd = calloc(LT, sizeof *a->wd);
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
    a->out = calloc(L, sizeof *a->out);
    a->kw = kn_work_create(plan);
    int bad = sk_local_init(&a->sk, SIM_NQ * LT);
    if (bad || !a->kw || !a->alive || !a->acq || !a->wd || !a->prof || !a->indep || !a->fail_year
        || !a->profit_year || !a->outcome || !a->final_cash || !a->raised_total
        || !a->inputs || !a->labv || !a->years || !a->out) {
        acc_free(a);
        return -1;
    }
    return 0;
}

void sim_result_free(sim_result *r)
{
    free(r->survival); free(r->survival_lo); free(r->survival_hi);
    free(r->failed_acquired); free(r->failed_wound_down); free(r->profitable_by);
    for (int m = 0; m < SIM_NQ; m++)
        free(r->q[m]);
    free(r->independent_alive);
    free(r->sensitivity_survival); free(r->sensitivity_cash);
    free(r->kept_paths);
    free(r->traj_cash); free(r->traj_revenue); free(r->traj_op);
    free(r->traj_raised); free(r->traj_share); free(r->traj_alive);
    memset(r, 0, sizeof *r);
}

static int result_alloc(sim_result *r)
{
    size_t LT = r->L * r->T, KLT = r->K * LT;
    int bad = 0;
#define ALLOC(p, n) do { size_t n_ = (n); (p) = calloc(n_ > 0 ? n_ : 1, sizeof *(p)); bad |= !(p); } while (0)
    ALLOC(r->survival, LT); ALLOC(r->survival_lo, LT); ALLOC(r->survival_hi, LT);
    ALLOC(r->failed_acquired, LT); ALLOC(r->failed_wound_down, LT); ALLOC(r->profitable_by, LT);
    for (int m = 0; m < SIM_NQ; m++)
        ALLOC(r->q[m], LT * HO_NQUANT);
    ALLOC(r->independent_alive, r->T * (r->L + 1));
    ALLOC(r->sensitivity_survival, r->L * r->I); ALLOC(r->sensitivity_cash, r->L * r->I);
    ALLOC(r->kept_paths, r->K);
    ALLOC(r->traj_cash, KLT); ALLOC(r->traj_revenue, KLT); ALLOC(r->traj_op, KLT);
    ALLOC(r->traj_raised, KLT); ALLOC(r->traj_share, KLT); ALLOC(r->traj_alive, KLT);
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
                else
                    a->wd[lt]++;
            }
            if (o->profit_year > 0 && (size_t)o->profit_year <= t + 1)
                a->prof[lt]++;
            if (!y[t].alive)
                continue;
            a->alive[lt]++;
            size_t LTn = L * T;
            sk_add(&a->sk, SIM_Q_CASH * LTn + lt, y[t].cash);
            sk_add(&a->sk, SIM_Q_REVENUE * LTn + lt, y[t].revenue);
            sk_add(&a->sk, SIM_Q_OP * LTn + lt, y[t].op);
            sk_add(&a->sk, SIM_Q_RAISED * LTn + lt, y[t].raised);
            sk_add(&a->sk, SIM_Q_OWNERSHIP * LTn + lt, y[t].ownership);
            sk_add(&a->sk, SIM_Q_SHARE * LTn + lt, y[t].share);
            if (s->labs[l].backstop == SC_BACKSTOP_PARENT)
                sk_add(&a->sk, SIM_Q_SUBSIDY * LTn + lt, y[t].subsidy);
        }
    }
    for (size_t t = 0; t < T; t++) {
        size_t n = 0;
        for (size_t l = 0; l < L; l++)
            n += s->labs[l].backstop == SC_BACKSTOP_NONE && a->years[l * T + t].alive;
        a->indep[t * (L + 1) + n]++;
    }
}

/* The same as accumulate(), for n paths of a kernel block: lane by lane,
 * in path order, so the integer counts are the same as the reference's. */
static void accumulate_kernel(acc *a, const sc_scenario *s, const kn_view *v, size_t n,
                              size_t L, size_t T)
{
    size_t LTn = L * T;
    for (size_t l = 0; l < L; l++) {
        const int64_t *fy = v->fail_year + l * KN_LANES, *py = v->profit_year + l * KN_LANES;
        const int64_t *oc = v->outcome + l * KN_LANES;
        for (size_t j = 0; j < n; j++) {
            if (fy[j] > 0) {
                uint64_t *c = oc[j] == MD_ACQUIRED ? a->acq : a->wd;
                for (size_t t = (size_t)fy[j] - 1; t < T; t++)
                    c[l * T + t]++;
            }
            if (py[j] > 0)
                for (size_t t = (size_t)py[j] - 1; t < T; t++)
                    a->prof[l * T + t]++;
        }
        int parent = s->labs[l].backstop == SC_BACKSTOP_PARENT;
        for (size_t t = 0; t < T; t++) {
            size_t lt = l * T + t, off = lt * KN_LANES;
            const int64_t *ya = v->alive + off;
            uint64_t cnt = 0;
            for (size_t j = 0; j < n; j++)
                cnt += ya[j];
            a->alive[lt] += cnt;
            for (int m = 0; m < KN_NMETRIC; m++) {
                if (m == KN_SUBSIDY && !parent)
                    continue;
                const double *y = v->y[m] + off;
                size_t si = (size_t)m * LTn + lt;
                for (size_t j = 0; j < n; j++)
                    if (ya[j])
                        sk_add(&a->sk, si, y[j]);
            }
        }
    }
    for (size_t t = 0; t < T; t++)
        for (size_t j = 0; j < n; j++) {
            size_t cnt = 0;
            for (size_t l = 0; l < L; l++)
                cnt += s->labs[l].backstop == SC_BACKSTOP_NONE && v->alive[(l * T + t) * KN_LANES + j];
            a->indep[t * (L + 1) + cnt]++;
        }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Rank correlations of every drawn input with survival to the horizon and
 * with final cash, lab by lab (MODEL.md section 5, the tornado). Ranks are
 * computed once per column and reused. */
static int sensitivity(sim_result *r, size_t N, const double *inputs,
                       const double *surv, const double *fcash, int threads)
{
    size_t I = r->I, L = r->L;
    if (I == 0 || N == 0)
        return 0;
    /* Centred ranks, column-major: I input columns, then L survival and
     * L final-cash columns. */
    size_t ncol = I + 2 * L;
    double *rk = malloc(N * ncol * sizeof *rk);
    double *ss = malloc(ncol * sizeof *ss);
    if (!rk || !ss) {
        free(rk); free(ss);
        return -1;
    }
    int bad = 0;
    const double mean = 0.5 * (double)(N + 1);
#pragma omp parallel num_threads(threads) reduction(| : bad)
    {
        size_t *idx = malloc(2 * N * sizeof *idx);
        bad |= !idx;
#pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < ncol; c++) {
            if (!idx)
                continue;
            const double *col = c < I ? inputs + c : c < I + L ? surv + (c - I) : fcash + (c - I - L);
            size_t stride = c < I ? I : L;
            double *x = rk + c * N, sxx = 0;
            bad |= st_ranks(N, col, stride, x, idx) != 0;
            for (size_t i = 0; i < N; i++) {
                x[i] -= mean;
                sxx += x[i] * x[i];
            }
            ss[c] = sxx;
        }
        free(idx);
    }
    if (bad) {
        free(rk); free(ss);
        return -1;
    }
    /* All 2 L I cross products, paths taken in cache-sized chunks so each
     * rank column is read from memory once. Each product is summed in path
     * order: the same bits at any thread count. */
    size_t npair = 2 * L * I;
    double *sxy = calloc(npair, sizeof *sxy);
    if (!sxy) {
        free(rk); free(ss);
        return -1;
    }
    enum { CHUNK = 512 };
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t k = 0; k < I; k++) {
        const double *x = rk + k * N;
        for (size_t i0 = 0; i0 < N; i0 += CHUNK) {
            size_t i1 = i0 + CHUNK < N ? i0 + CHUNK : N;
            for (size_t c = 0; c < 2 * L; c++) {
                const double *y = rk + (I + c) * N;
                double dot = sxy[c * I + k];
                for (size_t i = i0; i < i1; i++)
                    dot += x[i] * y[i];
                sxy[c * I + k] = dot;
            }
        }
    }
    for (size_t c = 0; c < 2 * L; c++)
        for (size_t k = 0; k < I; k++) {
            double sx = ss[k], sy = ss[I + c];
            /* A constant column (everyone survives) has no rank
             * correlation with anything: NaN, not 0. */
            double rho = (sx > 0 && sy > 0) ? sxy[c * I + k] / sqrt(sx * sy) : NAN;
            (c < L ? r->sensitivity_survival : r->sensitivity_cash)[(c % L) * I + k] = rho;
        }
    free(sxy); free(rk); free(ss);
    return 0;
}

int sim_run(const sc_scenario *s, const sim_options *o, sim_result *r,
            char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    const size_t L = s->nlabs, T = (size_t)s->horizon, I = s->ninputs, LT = L * T;
    const uint64_t N = o->paths ? o->paths : s->paths;
    r->L = L; r->T = T; r->I = I; r->N = N;
    r->K = o->keep < N ? o->keep : (size_t)N;
    const size_t K = r->K;
    if (result_alloc(r) != 0) {
        sim_result_free(r);
        snprintf(err, errlen, "out of memory for the summaries");
        return -1;
    }
    for (size_t k = 0; k < K; k++)
        r->kept_paths[k] = k;

    /* Columns kept per path for the rank correlations: the first
     * SIM_SENS_PATHS paths only, so memory does not grow with N. */
    const size_t NS = N < SIM_SENS_PATHS ? (size_t)N : SIM_SENS_PATHS;
    r->sens_paths = NS;
    double *col_in = NULL, *col_surv = NULL, *col_cash = NULL;
    if (I > 0) {
        col_in = malloc(NS * I * sizeof *col_in);
        col_surv = malloc(NS * L * sizeof *col_surv);
        col_cash = malloc(NS * L * sizeof *col_cash);
        if (!col_in || !col_surv || !col_cash) {
            free(col_in); free(col_surv); free(col_cash);
            sim_result_free(r);
            snprintf(err, errlen, "out of memory for %llu paths' inputs (try fewer paths)",
                     (unsigned long long)N);
            return -1;
        }
    }

    md_plan *plan = md_plan_create(s, o->seed, err, errlen);
    sk_set sks;
    uint64_t *alive = calloc(LT, 8), *acq = calloc(LT, 8), *wd = calloc(LT, 8),
             *prof = calloc(LT, 8), *indep = calloc(T * (L + 1), 8);
    int sk_bad = sk_set_init(&sks, SIM_NQ * LT);
    if (!plan || sk_bad || !alive || !acq || !wd || !prof || !indep) {
        md_plan_free(plan);
        if (!sk_bad)
            sk_set_free(&sks);
        free(alive); free(acq); free(wd); free(prof); free(indep);
        free(col_in); free(col_surv); free(col_cash);
        sim_result_free(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    const uint64_t nblocks = (N + SIM_BLOCK - 1) / SIM_BLOCK;
    int failed = 0, nthreads = 1;
    char cb_err[512] = "";
    uint64_t done = 0;
    double t0 = now_s(), last = t0;
    int threads = o->threads > 0 ? o->threads : omp_get_max_threads();

#pragma omp parallel num_threads(threads)
    {
        acc a;
        int mine_bad = acc_init(&a, plan, L, T, I);
#pragma omp single
        nthreads = omp_get_num_threads();
        if (mine_bad) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (uint64_t b = 0; b < nblocks; b++) {
            int stop;
#pragma omp atomic read
            stop = failed;
            if (stop)
                continue;
            uint64_t first = b * SIM_BLOCK;
            uint64_t count = N - first < SIM_BLOCK ? N - first : SIM_BLOCK;
            /* 32-bit sketch counts: flush before any could wrap. */
            if (a.sk_paths + count > UINT32_MAX) {
#pragma omp critical(sim_merge)
                sk_merge(&sks, &a.sk);
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
                    md_simulate(plan, path, &v, a.years, a.out);
                    accumulate(&a, s, L, T);
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
                            r->traj_cash[at] = y->cash;
                            r->traj_revenue[at] = y->revenue;
                            r->traj_op[at] = y->op;
                            r->traj_raised[at] = y->raised;
                            r->traj_share[at] = y->share;
                            r->traj_alive[at] = (uint8_t)y->alive;
                        }
                }
            } else {
                for (uint64_t j0 = 0; j0 < count; j0 += KN_LANES) {
                    size_t n = count - j0 < KN_LANES ? (size_t)(count - j0) : KN_LANES;
                    kn_run(plan, a.kw, first + j0, n);
                    kn_view kv;
                    kn_view_get(a.kw, &kv);
                    accumulate_kernel(&a, s, &kv, n, L, T);
                    for (size_t jj = 0; jj < n; jj++) {
                        size_t j = (size_t)j0 + jj;
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
                        uint64_t path = first + j;
                        if (path < K)
                            for (size_t lt = 0; lt < LT; lt++) {
                                size_t at = (size_t)path * LT + lt, ko = lt * KN_LANES + jj;
                                r->traj_cash[at] = kv.y[KN_CASH][ko];
                                r->traj_revenue[at] = kv.y[KN_REVENUE][ko];
                                r->traj_op[at] = kv.y[KN_OP][ko];
                                r->traj_raised[at] = kv.y[KN_RAISED][ko];
                                r->traj_share[at] = kv.y[KN_SHARE][ko];
                                r->traj_alive[at] = (uint8_t)kv.alive[ko];
                            }
                    }
                }
            }
            for (uint64_t j = 0; j < count; j++) {
                uint64_t path = first + j;
                if (!I || path >= NS)
                    continue;
                for (size_t l = 0; l < L; l++) {
                    col_surv[path * L + l] = a.fail_year[j * L + l] == 0;
                    col_cash[path * L + l] = a.final_cash[j * L + l];
                }
                memcpy(col_in + path * I, a.inputs + j * I, I * sizeof *col_in);
            }
            if (o->on_paths) {
                ho_paths blk = { a.fail_year, a.outcome, a.profit_year,
                                 a.final_cash, a.raised_total, a.inputs };
#pragma omp critical(sim_sink)
                {
                    if (!failed && o->on_paths(o->ctx, first, count, &blk, cb_err, sizeof cb_err) != 0) {
#pragma omp atomic write
                        failed = 2;
                    }
                }
            }
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
                    alive[i] += a.alive[i]; acq[i] += a.acq[i];
                    wd[i] += a.wd[i]; prof[i] += a.prof[i];
                }
                for (size_t i = 0; i < T * (L + 1); i++)
                    indep[i] += a.indep[i];
                sk_merge(&sks, &a.sk);
            }
            acc_free(&a);
        }
    }
    if (o->progress && isatty(2))
        fprintf(stderr, "\r%60s\r", "");
    r->threads_used = nthreads;

    int rc = 0;
    if (failed) {
        if (failed == 2)
            snprintf(err, errlen, "%s", cb_err);
        else
            snprintf(err, errlen, "out of memory for a thread's accumulators");
        rc = -1;
    }
    if (rc == 0) {
        double n = (double)N;
        for (size_t i = 0; i < LT; i++) {
            r->survival[i] = (double)alive[i] / n;
            st_wilson(alive[i], N, &r->survival_lo[i], &r->survival_hi[i]);
            r->failed_acquired[i] = (double)acq[i] / n;
            r->failed_wound_down[i] = (double)wd[i] / n;
            r->profitable_by[i] = (double)prof[i] / n;
        }
        for (size_t i = 0; i < T * (L + 1); i++)
            r->independent_alive[i] = (double)indep[i] / n;
        for (int m = 0; m < SIM_NQ; m++)
            for (size_t lt = 0; lt < LT; lt++)
                for (int q = 0; q < HO_NQUANT; q++) {
                    size_t l = lt / T;
                    int no_subsidy = m == SIM_Q_SUBSIDY && s->labs[l].backstop != SC_BACKSTOP_PARENT;
                    r->q[m][lt * HO_NQUANT + (size_t)q] =
                        no_subsidy ? NAN : sk_quantile(&sks, (size_t)m * LT + lt, ho_quantiles[q]);
                }
        r->overflow = sks.overflow;
        if (sensitivity(r, NS, col_in, col_surv, col_cash, threads) != 0) {
            snprintf(err, errlen, "out of memory for the rank correlations");
            rc = -1;
        }
    }
    md_plan_free(plan);
    sk_set_free(&sks);
    free(alive); free(acq); free(wd); free(prof); free(indep);
    free(col_in); free(col_surv); free(col_cash);
    if (rc != 0)
        sim_result_free(r);
    (void)t0;
    return rc;
}

void sim_summary_view(const sim_result *r, ho_summary *o)
{
    *o = (ho_summary){
        r->survival, r->survival_lo, r->survival_hi,
        r->failed_acquired, r->failed_wound_down, r->profitable_by,
        r->q[SIM_Q_CASH], r->q[SIM_Q_REVENUE], r->q[SIM_Q_OP],
        r->q[SIM_Q_RAISED], r->q[SIM_Q_OWNERSHIP], r->q[SIM_Q_SHARE],
        r->q[SIM_Q_SUBSIDY],
        r->independent_alive,
        r->sensitivity_survival, r->sensitivity_cash,
    };
}

void sim_traj_view(const sim_result *r, ho_traj *o)
{
    *o = (ho_traj){ r->traj_cash, r->traj_revenue, r->traj_op, r->traj_raised,
                    r->traj_share, r->traj_alive };
}
