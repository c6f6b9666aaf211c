/* state: the sampler's mergeable state (see state.h). */
#include "engine/state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_state_free(sim_state *st)
{
    free(st->alive); free(st->acq); free(st->wd); free(st->sol); free(st->prof);
    free(st->indep);
    if (st->sk.count)
        sk_set_free(&st->sk);
    free(st->col_in); free(st->col_cash); free(st->col_fy);
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
        A(st->col_in, NS * st->I); A(st->col_cash, NS * st->L);
        A(st->col_fy, NS * st->L);
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

double *sim_state_survived(const sim_state *st)
{
    size_t n = st->NS * st->L;
    double *surv = st->I ? malloc((n ? n : 1) * sizeof *surv) : NULL;
    for (size_t k = 0; surv && k < n; k++)
        surv[k] = st->col_fy[k] == 0;
    return surv;
}

/* Copies the rows of paths [p0, p1) that live in the sensitivity sample
 * and in the kept trajectories. */
static void copy_rows(sim_state *d, const sim_state *s, uint64_t p0, uint64_t p1)
{
    size_t LT = d->L * d->T;
    uint64_t e = p1 < d->NS ? p1 : d->NS;
    if (d->I && p0 < e) {
        for (size_t i = 0; i < d->I; i++)
            memcpy(d->col_in + i * d->NS + p0, s->col_in + i * d->NS + p0, (size_t)(e - p0) * 8);
        memcpy(d->col_cash + p0 * d->L, s->col_cash + p0 * d->L, (size_t)(e - p0) * d->L * 8);
        memcpy(d->col_fy + p0 * d->L, s->col_fy + p0 * d->L, (size_t)(e - p0) * d->L * 4);
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
                    || (I && p < st->NS
                        && a != (st->col_fy[p * L + l] == 0 || st->col_fy[p * L + l] > (int32_t)t + 1))) {
                    snprintf(err, errlen, "state/traj_alive of path %llu, lab %zu is not a "
                             "lab's life (or disagrees with state/col_fail_year)",
                             (unsigned long long)p, l + 1);
                    return -1;
                }
            }
    }
    /* The values of the kept trajectories: where a lab is alive they went
     * into the sketches too, so they are finite and lie within the
     * sketch's extremes (a checkpoint with NaN or 1e300 of cash for a
     * living lab is not one runway wrote), and revenue, funding raised
     * and share are what the model makes them: not negative, a share at
     * most 1. */
    for (uint64_t p = 0; p < st->K; p++) {
        if (!st->done[p / SIM_BLOCK])
            continue;
        for (int m = 0; m < MT_N; m++) {
            if (!st->traj[m])
                continue;
            for (size_t i = 0; i < LT; i++) {
                if (!st->traj_alive[p * LT + i])
                    continue;
                double x = st->traj[m][p * LT + i], mn = st->sk.mn[(size_t)m * LT + i],
                       mx = st->sk.mx[(size_t)m * LT + i];
                int nonneg = m == MT_REVENUE || m == MT_RAISED || m == MT_SHARE;
                if (!isfinite(x) || x < mn || x > mx || (nonneg && x < 0.0)
                    || (m == MT_SHARE && x > 1.0)) {
                    snprintf(err, errlen, "state/traj_%s of path %llu, lab %zu, year %zu is %g, "
                             "not a value the model gives a living lab (%s)", mt_defs[m].field,
                             (unsigned long long)p, i / T + 1, i % T + 1, x,
                             !isfinite(x) ? "not finite"
                             : (nonneg && x < 0.0) || (m == MT_SHARE && x > 1.0)
                             ? "out of its domain" : "outside the extremes its sketch saw");
                    return -1;
                }
            }
        }
    }
    if (I && !st->weighted) {
        uint64_t in_sample = 0;
        uint64_t *surv = calloc(L * T, sizeof *surv); /* the sample's alive, [L][T] */
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
                int32_t fy = st->col_fy[p * L + l];
                bad |= fy < 0 || (size_t)fy > T;
                for (size_t t = 0; t < T; t++)
                    surv[l * T + t] += fy == 0 || fy > (int32_t)t + 1;
            }
            for (size_t i = 0; i < I; i++)
                bad |= !isfinite(st->col_in[i * st->NS + p]);
        }
        /* the sample's survivors are survivors: all of them when every
         * path done is in the sample */
        for (size_t lt = 0; lt < L * T && !bad; lt++) {
            uint64_t alive = st->alive[lt];
            bad = surv[lt] > alive || alive - surv[lt] > P - in_sample;
        }
        free(surv);
        if (bad) {
            snprintf(err, errlen, "state/col_fail_year or col_inputs are not "
                     "fail years and finite inputs matching state/alive");
            return -1;
        }
    }
    return 0;
}

