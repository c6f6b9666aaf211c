/* kernel: see kernel.h. Every formula is step.h's, the one md_simulate
 * (model.c) calls too, evaluated lane by lane; what is here is only the
 * arrangement: state as arrays over lanes, passes around the
 * transcendental functions, selects where the reference branches.
 * test_kernel.c fails on the first differing bit. */
#include "engine/kernel.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model_internal.h"
#include "rng/rng_math.h"
#include "rng/rng_philox.h"

#define KN KN_LANES

/* "No lane of this loop reads another's", for GCC, which builds runway;
 * clang (the fuzzing and ThreadSanitizer builds) has no such pragma, and
 * its vectorize(assume_safety) warns wherever a sanitizer build cannot
 * vectorise. */
#if defined(__GNUC__) && !defined(__clang__)
#define KN_IVDEP _Pragma("GCC ivdep")
#else
#define KN_IVDEP
#endif

/* c ? a : b through the bits, bit for bit the select (each lane's bits
 * are a's or b's). Written as ?:, a state array's "new value where the
 * lane was alive, the old one elsewhere" (x[j] = c ? a : x[j]) became a
 * conditional store, and a select whose one side reads an array a
 * conditional load, which GCC vectorises as masked moves (vmaskmovpd),
 * slow on AMD's cores; through the bits they are plain loads, a blend and
 * a plain store (docs/performance.md, round four). */
static inline double keep_d(int64_t c, double a, double b)
{
    uint64_t ua, ub, m = (uint64_t)0 - (uint64_t)(c != 0);
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ua = (ua & m) | (ub & ~m);
    memcpy(&a, &ua, sizeof a);
    return a;
}

static inline int64_t keep_i(int64_t c, int64_t a, int64_t b)
{
    uint64_t m = (uint64_t)0 - (uint64_t)(c != 0);
    return (int64_t)(((uint64_t)a & m) | ((uint64_t)b & ~m));
}

/* Lane j's lab leaves the market in year t where gone (failed in step 6
 * or bought in step 7): no longer alive, its fail year and outcome set,
 * its shares freed for the others. */
static inline void lane_leaves(int64_t gone, int64_t t, int64_t outcome, size_t j, int64_t *al,
                               int64_t *fy, int64_t *oc, double *sh0, double *sh1, double *sh2)
{
    al[j] = keep_i(gone, 0, al[j]);
    fy[j] = keep_i(gone, t, fy[j]);
    oc[j] = keep_i(gone, outcome, oc[j]);
    sh0[j] = keep_d(gone, 0.0, sh0[j]);
    sh1[j] = keep_d(gone, 0.0, sh1[j]);
    sh2[j] = keep_d(gone, 0.0, sh2[j]);
}

struct kn_work {
    size_t L, T, I;
    double *u;      /* [I][KN] uniforms of the inputs */
    double *drawn;  /* [I][KN] their values */
    double *mk;     /* [SC_MARKET_NKEYS][KN] */
    double *lnmk;   /* [SC_MARKET_NKEYS][KN] ln of the path's growth factors */
    double *lb;     /* [L][SC_LAB_NKEYS][KN] */
    double *share;  /* [L][3][KN] */
    double *others; /* [3][KN] */
    double *cash, *rev_prev, *kfund, *own, *staff, *raised_tot; /* [L][KN] */
    double *ln_rev_prev;                                         /* [L][KN] */
    /* 64-bit integers beside the doubles: same lane width, so the
     * compiler can vectorise the selects that mix them */
    int64_t *alive;                                              /* [L][KN] */
    int64_t *fail_year, *profit_year;                            /* [L][KN] */
    int64_t *outcome;                                            /* [L][KN] */
    double *y;      /* [MT_N][L][T][KN] */
    int64_t *yalive;/* [L][T][KN] */
    double *pull, *uf, *ue; /* [L][KN] */
    double *lnmu;   /* [L][KN] ln of each lab's momentum */
    double *uv;     /* [L][KN] this year's exit draws (step 7) */
    double *ym;     /* [3][T][KN] segment sizes after each year's market step */
    double *yrX;    /* [SC_MARKET_NKEYS][KN] this year's factors */
    double *capf;   /* [L][KN] d / (1 - d): a round's cap per unit of valuation */
    double M[3][KN], S[KN], F[KN], qa[KN], qs[KN], mpow[KN], Mtot[KN], tmp[KN];
    double ftrain[KN]; /* one lab's year: training done (planned: ptp) */
    double inv[KN];             /* 1 / a segment's sum of attractiveness */
    double invMtot[KN];         /* 1 / the whole market, or 0 (md_simulate) */
    int64_t fcut[KN];           /* lanes where training was cut */
    /* one lab's year, between the passes of its loop (see kn_run) */
    double pR[KN], pserve[KN], ptp[KN], pstaff[KN], pother[KN], pburn[KN], plnR[KN],
        podds[KN];
    int64_t pneed[KN], pa0[KN]; /* needed a round; alive at the start (step 7) */
    double praised[KN];         /* raised this year (step 7) */
};

void kn_work_free(kn_work *w)
{
    if (!w)
        return;
    free(w->u); free(w->drawn); free(w->mk); free(w->lnmk); free(w->lb);
    free(w->share); free(w->others); free(w->cash); free(w->rev_prev);
    free(w->kfund); free(w->own); free(w->staff); free(w->raised_tot);
    free(w->alive); free(w->fail_year); free(w->profit_year); free(w->outcome);
    free(w->y); free(w->yalive); free(w->pull); free(w->uf); free(w->ue);
    free(w->yrX); free(w->capf); free(w->ln_rev_prev); free(w->lnmu); free(w->uv); free(w->ym);
    free(w);
}

kn_work *kn_work_create(const md_plan *p)
{
    kn_work *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    size_t L = p->nlabs, T = (size_t)p->horizon, I = p->s->ninputs;
    w->L = L; w->T = T; w->I = I;
    int bad = 0;
#define A(f, n) do { size_t n_ = (n); w->f = calloc(n_ ? n_ : 1, sizeof *w->f); bad |= !w->f; } while (0)
    A(u, I * KN); A(drawn, I * KN); A(mk, SC_MARKET_NKEYS * KN); A(lnmk, SC_MARKET_NKEYS * KN);
    A(lb, L * SC_LAB_NKEYS * KN); A(share, L * 3 * KN); A(others, 3 * KN);
    A(cash, L * KN); A(rev_prev, L * KN); A(kfund, L * KN); A(own, L * KN);
    A(staff, L * KN); A(raised_tot, L * KN); A(alive, L * KN); A(fail_year, L * KN);
    A(profit_year, L * KN); A(outcome, L * KN); A(y, MT_N * L * T * KN);
    A(yalive, L * T * KN); A(pull, L * KN); A(uf, L * KN); A(ue, L * KN);
    A(yrX, SC_MARKET_NKEYS * KN); A(capf, L * KN); A(ln_rev_prev, L * KN);
    A(lnmu, L * KN); A(uv, L * KN); A(ym, 3 * T * KN);
#undef A
    if (bad) {
        kn_work_free(w);
        return NULL;
    }
    return w;
}

void kn_view_get(const kn_work *w, kn_view *v)
{
    size_t LTK = w->L * w->T * KN;
    for (int m = 0; m < MT_N; m++)
        v->y[m] = w->y + (size_t)m * LTK;
    v->alive = w->yalive;
    v->fail_year = w->fail_year;
    v->profit_year = w->profit_year;
    v->outcome = w->outcome;
    v->final_cash = w->cash;
    v->raised_total = w->raised_tot;
    v->drawn = w->drawn;
    v->market = w->ym;
    v->exec_z = w->ue;
    v->fund_u = w->uf;
    v->exit_u = w->uv;
}

/* rd_quantile for n lanes. Untruncated normal and lognormal, the families
 * nearly every input uses, are inlined: for them rd_quantile computes
 * a + b ndtri(u) (for u > 1/2 as a - b ndtri(1-u), which is the same
 * number: 1-u and u-1/2 are exact, and ndtri is odd bit for bit). */
static void quantiles(const rd_dist *d, const double *restrict u, double *restrict x, size_t n)
{
    int plain = isinf(d->tmin) && isinf(d->tmax) && d->Fmin == 0.0 && d->Fmax == 1.0;
    if (plain && d->family == RD_NORMAL) {
        const double a = d->a, b = d->b;
        rm_ndtri_n(u, x, n);
        for (size_t j = 0; j < n; j++)
            x[j] = a + b * x[j];
    } else if (plain && d->family == RD_LOGNORMAL) {
        const double a = d->a, b = d->b;
        rm_ndtri_n(u, x, n);
        for (size_t j = 0; j < n; j++) {
            double v = rm_exp(a + b * x[j]);
            x[j] = v > DBL_MAX ? DBL_MAX : v;
        }
    } else {
        for (size_t j = 0; j < n; j++)
            x[j] = rd_quantile(d, u[j]);
    }
}

static void draw_inputs(const md_plan *p, kn_work *w, uint64_t first, size_t n)
{
    const sc_scenario *s = p->s;
    const size_t I = s->ninputs, L = w->L;
    for (size_t i = 0; i < I; i++)
        rs_philox_uniforms(p->input_key[i], first, n, s->inputs[i].dist->per_year ? 1u : 0u, 0,
                           w->u + i * KN, NULL);
    if (s->copula) {
        /* As md_draw_inputs and rc_apply, lane-wise: each input's normal
         * score, mixed by the Cholesky factor (row k summed from its first
         * term, as rc_apply), back to a uniform; last row first, so each
         * input's scores are overwritten only once no row needs them. */
        const size_t nc = s->ncop;
        const double *Lf = rc_factor(s->copula);
        for (size_t c = 0; c < nc; c++) {
            double *uc = w->u + s->cop_input[c] * KN;
            rm_ndtri_n(uc, uc, n);
        }
        for (size_t k = nc; k-- > 0;) {
            double *y = w->tmp;
            for (size_t j = 0; j < n; j++)
                y[j] = 0.0;
            for (size_t c = 0; c <= k; c++) {
                const double *zc = w->u + s->cop_input[c] * KN, lkc = Lf[k * nc + c];
                for (size_t j = 0; j < n; j++)
                    y[j] += lkc * zc[j];
            }
            double *uk = w->u + s->cop_input[k] * KN;
            for (size_t j = 0; j < n; j++)
                uk[j] = rc_uniform(y[j]);
        }
    }
    for (size_t i = 0; i < I; i++)
        quantiles(s->inputs[i].dist, w->u + i * KN, w->drawn + i * KN, n);
    for (int k = 0; k < SC_MARKET_NKEYS; k++)
        for (size_t j = 0; j < n; j++)
            w->mk[k * KN + j] = s->market[k].a;
    for (size_t l = 0; l < L; l++)
        for (int k = 0; k < SC_LAB_NKEYS; k++)
            for (size_t j = 0; j < n; j++)
                w->lb[(l * SC_LAB_NKEYS + (size_t)k) * KN + j] = s->labs[l].in[k].a;
    for (size_t i = 0; i < I; i++) {
        const sc_input *in = &s->inputs[i];
        double *dst = in->lab < 0 ? w->mk + (size_t)in->key * KN
                                  : w->lb + ((size_t)in->lab * SC_LAB_NKEYS + (size_t)in->key) * KN;
        memcpy(dst, w->drawn + i * KN, n * sizeof *dst);
    }
}

/* This year's value of market factor key: md_simulate's market_factor
 * followed, for the faded factors, by faded(). */
static void year_factor(const md_plan *p, kn_work *w, uint64_t first, size_t n, int key,
                        int t, int fade)
{
    const rd_dist *d = &p->s->market[key];
    double *x = w->yrX + (size_t)key * KN;
    const double *mp = w->mpow;
    if (d->per_year && t > 1) {
        int i = p->market_input[key];
        rs_philox_uniforms(p->input_key[i], first, n, (uint32_t)t, 0, w->tmp, NULL);
        quantiles(d, w->tmp, x, n);
        if (fade)
            for (size_t j = 0; j < n; j++) {
                double f = rm_exp(mp[j] * rm_log(x[j]));
                x[j] = ys_faded(x[j], mp[j], f);
            }
        return;
    }
    const double *v = w->mk + (size_t)key * KN, *lnv = w->lnmk + (size_t)key * KN;
    if (fade)
        for (size_t j = 0; j < n; j++) {
            double f = rm_exp(mp[j] * lnv[j]);
            x[j] = ys_faded(v[j], mp[j], f);
        }
    else
        memcpy(x, v, n * sizeof *x);
}

void kn_run(const md_plan *p, kn_work *w, uint64_t first, size_t n)
{
    const sc_scenario *s = p->s;
    const size_t L = w->L, T = w->T;
    draw_inputs(p, w, first, n);

#define LB(l, k) (w->lb + ((size_t)(l) * SC_LAB_NKEYS + (size_t)(k)) * KN)
#define MK(k) (w->mk + (size_t)(k) * KN)
    static const int faded_keys[] = { SC_TRAIN_COST_GROWTH, SC_SERVING_COST_DECLINE,
                                      SC_PRICE_DECLINE, SC_TOKEN_DEMAND_GROWTH,
                                      SC_USAGE_GROWTH, SC_ENTERPRISE_GROWTH };
    for (int f = 0; f < 6; f++) {
        int k = faded_keys[f];
        for (size_t j = 0; j < n; j++)
            w->lnmk[(size_t)k * KN + j] = rm_log(MK(k)[j]);
    }

    /* Initial state (md_simulate's preamble). */
    const double *m0[3] = { MK(SC_SUB_MARKET0), MK(SC_API_MARKET0), MK(SC_ENT_MARKET0) };
    const int segkey[3] = { SC_SUBS0, SC_API0, SC_ENT0 };
    for (int g = 0; g < 3; g++) {
        for (size_t j = 0; j < n; j++)
            w->tmp[j] = 0.0;
        for (size_t l = 0; l < L; l++) {
            const double *seg0 = LB(l, segkey[g]);
            for (size_t j = 0; j < n; j++)
                w->tmp[j] += seg0[j];
        }
        for (size_t j = 0; j < n; j++)
            w->M[g][j] = m0[g][j] < w->tmp[j] ? w->tmp[j] : m0[g][j];
    }
    for (size_t l = 0; l < L; l++) {
        const double *c0 = LB(l, SC_CASH0), *s0 = LB(l, SC_SUBS0), *a0 = LB(l, SC_API0),
                     *e0 = LB(l, SC_ENT0), *st0 = LB(l, SC_STAFF0),
                     *dl = LB(l, SC_MAX_DILUTION), *mo0 = LB(l, SC_MOMENTUM0);
        double *cash = w->cash + l * KN, *rp = w->rev_prev + l * KN, *kf = w->kfund + l * KN,
               *own = w->own + l * KN, *stf = w->staff + l * KN, *rt = w->raised_tot + l * KN;
        for (size_t j = 0; j < n; j++) {
            cash[j] = c0[j];
            rp[j] = s0[j] + a0[j] + e0[j];
            w->ln_rev_prev[l * KN + j] = rm_log(rp[j]);
            kf[j] = 1.0;
            own[j] = 1.0;
            stf[j] = st0[j];
            rt[j] = 0.0;
            w->capf[l * KN + j] = ys_dilution_cap(dl[j]);
            w->lnmu[l * KN + j] = mo0[j] == 1.0 ? 0.0 : rm_log(mo0[j]);
            w->alive[l * KN + j] = 1;
            w->fail_year[l * KN + j] = 0;
            w->profit_year[l * KN + j] = 0;
            w->outcome[l * KN + j] = MD_SURVIVED;
        }
    }
    for (int g = 0; g < 3; g++) {
        for (size_t j = 0; j < n; j++)
            w->tmp[j] = 0.0;
        for (size_t l = 0; l < L; l++) {
            const double *seg0 = LB(l, segkey[g]);
            double *sh = w->share + (l * 3 + (size_t)g) * KN;
            for (size_t j = 0; j < n; j++) {
                sh[j] = w->M[g][j] > 0 ? seg0[j] / w->M[g][j] : 0.0;
                w->tmp[j] += sh[j];
            }
        }
        for (size_t j = 0; j < n; j++)
            w->others[(size_t)g * KN + j] = w->tmp[j] < 1.0 ? 1.0 - w->tmp[j] : 0.0;
    }
    for (size_t j = 0; j < n; j++) {
        w->S[j] = 0.0; w->F[j] = 1.0; w->qa[j] = 1.0; w->qs[j] = 1.0; w->mpow[j] = 1.0;
    }
    const double rho = s->sentiment_rho, sigma = s->sentiment_sigma;
    const double *K = MK(SC_SUB_MARKET_CAP), *mm = MK(SC_MATURITY), *beta = MK(SC_SHARE_ELASTICITY);
    const double *G = w->yrX + SC_TRAIN_COST_GROWTH * KN, *D = w->yrX + SC_SERVING_COST_DECLINE * KN,
                 *P = w->yrX + SC_PRICE_DECLINE * KN, *V = w->yrX + SC_TOKEN_DEMAND_GROWTH * KN,
                 *U = w->yrX + SC_USAGE_GROWTH * KN, *E = w->yrX + SC_ENTERPRISE_GROWTH * KN,
                 *O = w->yrX + SC_OTHERS_PULL * KN, *r = w->yrX + SC_SUB_GROWTH_RATE * KN;

    for (int t = 1; t <= (int)T; t++) {
        for (int f = 0; f < 6; f++)
            year_factor(p, w, first, n, faded_keys[f], t, 1);
        year_factor(p, w, first, n, SC_OTHERS_PULL, t, 0);
        year_factor(p, w, first, n, SC_SUB_GROWTH_RATE, t, 0);

        if (sigma > 0.0) {
            rs_philox_uniforms(p->sentiment_key, first, n, (uint32_t)t, 0, w->tmp, NULL);
            rm_ndtri_n(w->tmp, w->tmp, n);
            for (size_t j = 0; j < n; j++)
                w->S[j] = ys_sentiment(w->S[j], rho, sigma, w->tmp[j]);
        } else {
            for (size_t j = 0; j < n; j++)
                w->S[j] = ys_sentiment(w->S[j], rho, sigma, 0.0);
        }
        for (size_t j = 0; j < n; j++) {
            w->F[j] = w->F[j] * G[j];
            w->M[1][j] = ys_api_market(w->M[1][j], V[j], P[j]);
            w->M[2][j] = ys_ent_market(w->M[2][j], E[j]);
            w->M[0][j] = ys_sub_market(w->M[0][j], r[j], K[j]);
            w->qa[j] = ys_cost_drift(w->qa[j], P[j], D[j]);
            w->qs[j] = ys_cost_drift(w->qs[j], U[j], D[j]);
            w->Mtot[j] = w->M[0][j] + w->M[1][j] + w->M[2][j];
            w->invMtot[j] = w->Mtot[j] >= MD_SUM_MIN ? 1.0 / w->Mtot[j] : 0.0;
        }
        for (int g = 0; g < 3; g++)
            memcpy(w->ym + ((size_t)g * T + (size_t)(t - 1)) * KN, w->M[g], n * sizeof(double));

        /* Shares. */
        for (size_t l = 0; l < L; l++) {
            double *ue = w->ue + l * KN, *uf = w->uf + l * KN, *pull = w->pull + l * KN;
            rs_philox_uniforms(p->lab_key[l], first, n, (uint32_t)t, 0, ue, uf);
            rm_ndtri_n(ue, ue, n); /* ue now holds the lab-year's z */
            const double *es = LB(l, SC_EXEC_SIGMA), *phi = LB(l, SC_MOMENTUM_PERSISTENCE),
                         *kf = w->kfund + l * KN;
            const int64_t *al = w->alive + l * KN;
            double *lnmu = w->lnmu + l * KN;
            /* momentum: ln mu, then mu = e^(ln mu) in every lane (the
             * select keeps lanes where ln mu is 0 at exactly 1) */
            for (size_t j = 0; j < n; j++) {
                double lm = ys_ln_momentum(lnmu[j], phi[j], es[j], ue[j]);
                lnmu[j] = keep_d(al[j], lm, lnmu[j]);
                pull[j] = lm;
            }
            for (size_t j = 0; j < n; j++)
                pull[j] = ys_momentum(pull[j], rm_exp(pull[j]));
            /* k^beta is exactly 1 unless the lab cut its training, which
             * is rare: skip its log and exp when no lane did (the select
             * gives 1 for those lanes anyway). */
            int64_t cut = 0;
            for (size_t j = 0; j < n; j++)
                cut |= (int64_t)(kf[j] != 1.0) & al[j];
            if (cut) {
                for (size_t j = 0; j < n; j++) {
                    double kb = ys_funded_pull(kf[j], rm_exp(beta[j] * rm_log(kf[j])));
                    pull[j] = ys_pull(al[j], kb, pull[j]);
                }
            } else {
                for (size_t j = 0; j < n; j++)
                    pull[j] = ys_pull(al[j], 1.0, pull[j]);
            }
            if (p->lab_exits[l])
                rs_philox_uniforms(p->lab_key[l], first, n, (uint32_t)t, 1, w->uv + l * KN, NULL);
        }
        for (int g = 0; g < 3; g++) {
            double *oth = w->others + (size_t)g * KN, *sum = w->tmp;
            for (size_t j = 0; j < n; j++)
                sum[j] = ys_others_pull(oth[j], O[j]);
            for (size_t l = 0; l < L; l++) {
                double *sh = w->share + (l * 3 + (size_t)g) * KN;
                const double *pull = w->pull + l * KN;
                for (size_t j = 0; j < n; j++) {
                    sh[j] *= pull[j];
                    sum[j] += sh[j];
                }
            }
            /* As md_simulate: times 1/sum (one division, not L + 1),
             * except for a sum so small that 1/sum could overflow, a case
             * no lane of a sane scenario meets: then the plain quotient. */
            int64_t tiny = 0;
            double *inv = w->inv;
            for (size_t j = 0; j < n; j++) {
                tiny |= (int64_t)(sum[j] > 0.0) & (int64_t)(sum[j] < MD_SUM_MIN);
                inv[j] = 1.0 / sum[j];
            }
            if (!tiny) {
                for (size_t l = 0; l < L; l++) {
                    double *sh = w->share + (l * 3 + (size_t)g) * KN;
                    /* as selects of bits: GCC read inv only where sum > 0,
                     * through masked loads */
                    for (size_t j = 0; j < n; j++)
                        sh[j] = keep_d(sum[j] > 0.0, sh[j] * inv[j], sh[j]);
                }
                for (size_t j = 0; j < n; j++) {
                    double ao = ys_others_pull(oth[j], O[j]);
                    oth[j] = keep_d(sum[j] > 0.0, ao * inv[j], oth[j]);
                }
            } else {
                for (size_t l = 0; l < L; l++) {
                    double *sh = w->share + (l * 3 + (size_t)g) * KN;
                    for (size_t j = 0; j < n; j++)
                        sh[j] = sum[j] >= MD_SUM_MIN ? sh[j] * inv[j]
                              : sum[j] > 0.0 ? sh[j] / sum[j] : sh[j];
                }
                for (size_t j = 0; j < n; j++) {
                    double ao = ys_others_pull(oth[j], O[j]);
                    oth[j] = sum[j] >= MD_SUM_MIN ? ao * inv[j]
                           : sum[j] > 0.0 ? ao / sum[j] : oth[j];
                }
            }
        }

        /* Each lab: steps 1-6. */
        for (size_t l = 0; l < L; l++) {
            const int parent = s->labs[l].backstop == SC_BACKSTOP_PARENT;
            const double *srs = LB(l, SC_SERVE_RATIO_SUB0), *sra = LB(l, SC_SERVE_RATIO_API0),
                         *tr0 = LB(l, SC_TRAIN0), *trs = LB(l, SC_TRAIN_REVENUE_SHARE),
                         *sg = LB(l, SC_STAFF_GROWTH),
                         *orat = LB(l, SC_OTHER_RATIO), *target = LB(l, SC_RUNWAY_TARGET),
                         *ry = LB(l, SC_RAISE_YEARS), *mult = LB(l, SC_REVENUE_MULTIPLE),
                         *base = LB(l, SC_FUNDING_BASE),
                         *gw = LB(l, SC_FUNDING_GROWTH_WEIGHT), *sw = LB(l, SC_FUNDING_SENTIMENT_WEIGHT),
                         *mtf = LB(l, SC_MIN_TRAIN_FRACTION), *acq = LB(l, SC_ACQUISITION_REVENUE_MIN);
            double *sh0 = w->share + (l * 3 + 0) * KN, *sh1 = w->share + (l * 3 + 1) * KN,
                   *sh2 = w->share + (l * 3 + 2) * KN;
            double *cash = w->cash + l * KN, *rp = w->rev_prev + l * KN, *kf = w->kfund + l * KN,
                   *own = w->own + l * KN, *stf = w->staff + l * KN, *rt = w->raised_tot + l * KN;
            const double *uf = w->uf + l * KN;
            int64_t *al = w->alive + l * KN;
            int64_t *fy = w->fail_year + l * KN, *py = w->profit_year + l * KN;
            int64_t *oc = w->outcome + l * KN;
            size_t yo = (l * T + (size_t)(t - 1)) * KN, LTK = L * T * KN;
            double *yc = w->y + MT_CASH * LTK + yo, *yr = w->y + MT_REVENUE * LTK + yo,
                   *yop = w->y + MT_OP * LTK + yo, *yra = w->y + MT_RAISED * LTK + yo,
                   *yow = w->y + MT_OWNERSHIP * LTK + yo, *ysh = w->y + MT_SHARE * LTK + yo,
                   *ysu = w->y + MT_SUBSIDY * LTK + yo;
            int64_t *ya = w->yalive + (l * T + (size_t)(t - 1)) * KN;
            const double *capf = w->capf + l * KN;
            double *lnrp = w->ln_rev_prev + l * KN;
            int64_t anycut = 0;
            /* Steps 1-6 in passes, cut at ln R and e^-x: one loop over
             * the lanes holding the whole year is a single chain of
             * dependent operations some 300 cycles long (rm_log and
             * rm_exp each add dozens), so few iterations overlap and
             * the vector units wait; a short loop around each call keeps
             * many in flight. Every lane computes exactly what the single
             * loop did, in the same order: the same bits. */
            double *pR = w->pR, *pserve = w->pserve, *ptp = w->ptp, *pstaff = w->pstaff,
                   *pother = w->pother, *pburn = w->pburn, *plnR = w->plnR, *podds = w->podds;
            KN_IVDEP
            for (size_t j = 0; j < n; j++) {
                /* 1-2. Revenue and planned costs. */
                ys_plan_t pl = ys_plan(sh0[j] * w->M[0][j], sh1[j] * w->M[1][j],
                                       sh2[j] * w->M[2][j], srs[j], sra[j], w->qs[j], w->qa[j],
                                       tr0[j], w->F[j], trs[j], stf[j], sg[j], orat[j]);
                pR[j] = pl.R;
                pserve[j] = pl.serve;
                ptp[j] = pl.train_plan;
                pstaff[j] = pl.staff;
                pother[j] = pl.other;
                pburn[j] = pl.burn;
            }
            for (size_t j = 0; j < n; j++)
                plnR[j] = rm_log(pR[j]);
            KN_IVDEP
            for (size_t j = 0; j < n; j++) {
                double growth = ys_growth(rp[j], pR[j], lnrp[j], plnR[j]);
                podds[j] = -ys_logit(base[j], gw[j], growth, sw[j], w->S[j]);
            }
            for (size_t j = 0; j < n; j++)
                podds[j] = rm_exp(podds[j]); /* e^-x */
            KN_IVDEP
            for (size_t j = 0; j < n; j++) {
                const int64_t a0 = al[j];
                double R = pR[j], serve = pserve[j], tp = ptp[j], staff = pstaff[j],
                       other = pother[j], burn = pburn[j];
                double lnR = plnR[j];
                /* 3. Funding, computed in every lane, kept where it applies. */
                int64_t need = ys_needs_round((int64_t)!parent, burn, cash[j], target[j]);
                double val = ys_valuation(mult[j], R);
                int64_t ok = need & ys_round_succeeds(uf[j], podds[j], val);
                double rtry = ys_round_size(val, capf[j], ry[j], burn);
                double raised = ok ? rtry : 0.0;
                double ownn = ok ? ys_ownership(own[j], val, rtry) : own[j];
                /* 4. Distress. */
                double avail = ys_avail(cash[j], raised, R, serve, staff, other);
                double train = ys_train(avail, tp, mtf[j], parent);
                /* k = train / plan only where training was cut (rare):
                 * the division is done after the loop, for those lanes */
                int64_t cutj = a0 & ys_cut(train, tp);
                double kfn = 1.0;
                w->fcut[j] = cutj;
                w->ftrain[j] = train;
                w->pneed[j] = need;
                w->pa0[j] = a0;
                w->praised[j] = raised;
                anycut |= cutj;
                /* 5. Cash. */
                double C = ys_cash(avail, train);
                double op = ys_op(C, cash[j], raised);
                int64_t pyn = ((int64_t)(op > 0.0) & (int64_t)(py[j] == 0)) ? (int64_t)t : py[j];
                /* 6. Failure or backstop. */
                int64_t neg = C < 0.0;
                double sub = (neg & parent) ? -C : 0.0;
                double Cn = (neg & parent) ? 0.0 : C;
                int64_t dies = a0 & neg & (int64_t)!parent;
                int64_t ocn = ys_fail_outcome(R, acq[j]);
                /* Commit where the lab was alive at the start of the year. */
                stf[j] = keep_d(a0, staff, stf[j]);
                own[j] = keep_d(a0, ownn, own[j]);
                kf[j] = keep_d(a0, kfn, kf[j]);
                py[j] = keep_i(a0, pyn, py[j]);
                rt[j] = keep_d(a0, rt[j] + raised, rt[j]);
                cash[j] = keep_d(a0, Cn, cash[j]);
                rp[j] = keep_d(a0, R, rp[j]);
                lnrp[j] = keep_d(a0, lnR, lnrp[j]);
                lane_leaves(dies, (int64_t)t, ocn, j, al, fy, oc, sh0, sh1, sh2);
                yc[j] = a0 ? Cn : NAN;
                yr[j] = a0 ? R : NAN;
                yop[j] = a0 ? op : NAN;
                yra[j] = a0 ? raised : NAN;
                yow[j] = a0 ? ownn : NAN;
                /* selects of bits: as ?: GCC read invMtot through masked loads */
                ysh[j] = keep_d(a0, keep_d(w->invMtot[j] > 0.0, R * w->invMtot[j], 0.0), NAN);
                ysu[j] = a0 ? sub : NAN;
                ya[j] = al[j];
            }
            /* 7. Exit while solvent, where the lab can be bought at all. */
            if (p->lab_exits[l]) {
                const double *hz = LB(l, SC_ACQUISITION_HAZARD), *hd = LB(l, SC_DISTRESS_ACQUISITION);
                const double *uv = w->uv + l * KN;
                KN_IVDEP
                for (size_t j = 0; j < n; j++) {
                    /* alive at the start of the year and still alive
                     * after step 6 */
                    double h = ys_exit_hazard(w->pneed[j], w->praised[j], hd[j], hz[j]);
                    int64_t bought = w->pa0[j] & ys_bought((int64_t)!parent, (int64_t)!al[j], uv[j], h);
                    lane_leaves(bought, (int64_t)t, MD_ACQUIRED_SOLVENT, j, al, fy, oc, sh0, sh1,
                                sh2);
                    ya[j] = al[j];
                }
            }
            if (anycut)
                for (size_t j = 0; j < n; j++)
                    kf[j] = w->fcut[j] ? w->ftrain[j] / ptp[j] : kf[j]; /* k = train / plan */
        }
        /* A whole market below MD_SUM_MIN (absurd scenarios only): share
         * as the quotient, as md_simulate. */
        int64_t tiny_market = 0;
        for (size_t j = 0; j < n; j++)
            tiny_market |= (int64_t)(w->Mtot[j] > 0.0) & (int64_t)(w->Mtot[j] < MD_SUM_MIN);
        if (tiny_market)
            for (size_t l = 0; l < L; l++) {
                size_t yo = (l * T + (size_t)(t - 1)) * KN, LTK = L * T * KN;
                const double *yr = w->y + MT_REVENUE * LTK + yo;
                double *ysh = w->y + MT_SHARE * LTK + yo;
                for (size_t j = 0; j < n; j++)
                    if (w->Mtot[j] > 0.0 && w->Mtot[j] < MD_SUM_MIN && !isnan(yr[j]))
                        ysh[j] = yr[j] / w->Mtot[j];
            }
        for (size_t j = 0; j < n; j++)
            w->mpow[j] *= mm[j];
    }
#undef LB
#undef MK
}

void kn_draw_only(const md_plan *p, kn_work *w, uint64_t first, size_t n)
{
    const sc_scenario *s = p->s;
    draw_inputs(p, w, first, n);
    for (int t = 1; t <= (int)w->T; t++) {
        for (int k = 0; k < SC_MARKET_NKEYS; k++)
            if (s->market[k].per_year && t > 1) {
                rs_philox_uniforms(p->input_key[p->market_input[k]], first, n, (uint32_t)t, 0,
                                   w->tmp, NULL);
                quantiles(&s->market[k], w->tmp, w->yrX + (size_t)k * KN, n);
            }
        if (s->sentiment_sigma > 0.0) {
            rs_philox_uniforms(p->sentiment_key, first, n, (uint32_t)t, 0, w->tmp, NULL);
            rm_ndtri_n(w->tmp, w->S, n);
        }
        for (size_t l = 0; l < w->L; l++) {
            double *ue = w->ue + l * KN, *uf = w->uf + l * KN;
            rs_philox_uniforms(p->lab_key[l], first, n, (uint32_t)t, 0, ue, uf);
            rm_ndtri_n(ue, ue, n);
            if (p->lab_exits[l]) /* step 7's draw, as kn_run */
                rs_philox_uniforms(p->lab_key[l], first, n, (uint32_t)t, 1, w->uv + l * KN, NULL);
        }
    }
}
