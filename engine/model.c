/* model: one path of MODEL.md section 3. See model.h for the contract. */
#include "engine/model.h"
#include "engine/model_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "rng/rng_math.h"


md_plan *md_plan_create(const sc_scenario *s, uint64_t seed, char *err,
                        size_t errlen)
{
    md_plan *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->s = s;
    p->seed = seed;
    p->nlabs = s->nlabs;
    p->horizon = s->horizon;
    p->input_key = calloc(s->ninputs ? s->ninputs : 1, sizeof *p->input_key);
    p->lab_key = calloc(s->nlabs ? s->nlabs : 1, sizeof *p->lab_key);
    p->lab_exits = calloc(s->nlabs ? s->nlabs : 1, sizeof *p->lab_exits);
    if (!p->input_key || !p->lab_key || !p->lab_exits) {
        md_plan_free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (int k = 0; k < SC_MARKET_NKEYS; k++)
        p->market_input[k] = -1;
    for (size_t i = 0; i < s->ninputs; i++) {
        p->input_key[i] = rs_key_make(seed, s->inputs[i].stream);
        if (s->inputs[i].lab < 0)
            p->market_input[s->inputs[i].key] = (int)i;
    }
    p->sentiment_key = rs_key_make(seed, rs_stream_id("sentiment", "market"));
    for (size_t l = 0; l < s->nlabs; l++) {
        const sc_lab *lab = &s->labs[l];
        p->lab_key[l] = rs_key_make(seed, rs_stream_id("lab", lab->name));
        /* Step 7's draw is skipped where it cannot matter (counter-based
         * streams: no other number moves). */
        const rd_dist *h = &lab->in[SC_ACQUISITION_HAZARD], *hd = &lab->in[SC_DISTRESS_ACQUISITION];
        p->lab_exits[l] = lab->backstop == SC_BACKSTOP_NONE
                          && !(rd_is_const(h) && h->a == 0.0 && rd_is_const(hd) && hd->a == 0.0);
    }
    return p;
}

void md_plan_free(md_plan *p)
{
    if (!p)
        return;
    free(p->input_key);
    free(p->lab_key);
    free(p->lab_exits);
    free(p);
}

void md_draw_inputs(const md_plan *p, uint64_t path, md_values *v,
                    double *drawn)
{
    const sc_scenario *s = p->s;
    for (int k = 0; k < SC_MARKET_NKEYS; k++)
        v->market[k] = s->market[k].a; /* constants; drawn ones below */
    for (size_t l = 0; l < s->nlabs; l++)
        for (int k = 0; k < SC_LAB_NKEYS; k++)
            v->lab[l * SC_LAB_NKEYS + k] = s->labs[l].in[k].a;
    if (s->ninputs == 0)
        return;

    /* Uniforms first, one per input from its own stream; a per-year input
     * records its first year's draw (year 1), as the result file says. */
    double u[s->ninputs];
    for (size_t i = 0; i < s->ninputs; i++)
        u[i] = rs_uniform(p->input_key[i], path, s->inputs[i].dist->per_year ? 1u : 0u, 0);

    /* Correlated inputs: each input's own uniform gives its normal score,
     * the copula mixes the scores, and the result replaces the uniform. An
     * input keeps its own stream, so an input outside the copula draws the
     * same value with or without other inputs' correlations. */
    if (s->copula) {
        double z[s->ncop];
        for (size_t j = 0; j < s->ncop; j++)
            z[j] = rm_ndtri(u[s->cop_input[j]]);
        rc_apply(s->copula, z, z);
        for (size_t j = 0; j < s->ncop; j++)
            u[s->cop_input[j]] = z[j];
    }
    for (size_t i = 0; i < s->ninputs; i++) {
        const sc_input *in = &s->inputs[i];
        double x = rd_quantile(in->dist, u[i]);
        if (in->lab < 0)
            v->market[in->key] = x;
        else
            v->lab[(size_t)in->lab * SC_LAB_NKEYS + (size_t)in->key] = x;
        if (drawn)
            drawn[i] = x;
    }
}

/* A market factor for year t: this year's draw for a per-year input, the
 * path's draw otherwise. */
static double market_factor(const md_plan *p, const md_values *v, int key,
                            uint64_t path, int t)
{
    const rd_dist *d = &p->s->market[key];
    if (!d->per_year || t == 1)
        return v->market[key];
    int i = p->market_input[key];
    return rd_quantile(d, rs_uniform(p->input_key[i], path, (uint32_t)t, 0));
}

/* X^(m^(t-1)): the maturity fade (step.h). */
static double faded(double x, double mpow)
{
    return ys_faded(x, mpow, mpow == 1.0 ? x : rm_exp(mpow * rm_log(x)));
}

enum { SEG_SUB, SEG_API, SEG_ENT, NSEG };

void md_simulate(const md_plan *p, uint64_t path, const md_values *v,
                 md_year *years, md_outcome *out)
{
    md_simulate_ex(p, path, v, years, out, NULL);
}

void md_simulate_ex(const md_plan *p, uint64_t path, const md_values *v,
                    md_year *years, md_outcome *out, double *market)
{
    const sc_scenario *s = p->s;
    const size_t L = p->nlabs;
    const int T = p->horizon;
    const double *mk = v->market;

    double M[NSEG] = { mk[SC_SUB_MARKET0], mk[SC_API_MARKET0], mk[SC_ENT_MARKET0] };
    double S = 0.0, F = 1.0, q_api = 1.0, q_sub = 1.0;
    const double K = mk[SC_SUB_MARKET_CAP];
    const double m = mk[SC_MATURITY];
    const double beta = mk[SC_SHARE_ELASTICITY];
    const double rho = s->sentiment_rho, sigma = s->sentiment_sigma;

    /* Per-lab state. */
    double share[L][NSEG], others[NSEG], cash[L], rev_prev[L], ln_rev_prev[L], kfund[L],
        own[L], staff[L], raised_tot[L], lnmu[L];
    int alive[L];
    double lab_sum[NSEG] = { 0, 0, 0 };
    for (size_t l = 0; l < L; l++) {
        const double *in = &v->lab[l * SC_LAB_NKEYS];
        double seg0[NSEG] = { in[SC_SUBS0], in[SC_API0], in[SC_ENT0] };
        for (int g = 0; g < NSEG; g++)
            lab_sum[g] += seg0[g];
        cash[l] = in[SC_CASH0];
        rev_prev[l] = seg0[0] + seg0[1] + seg0[2];
        ln_rev_prev[l] = rm_log(rev_prev[l]);
        kfund[l] = 1.0;
        own[l] = 1.0;
        staff[l] = in[SC_STAFF0];
        raised_tot[l] = 0.0;
        lnmu[l] = in[SC_MOMENTUM0] == 1.0 ? 0.0 : rm_log(in[SC_MOMENTUM0]);
        alive[l] = 1;
        out[l] = (md_outcome){ 0, 0, MD_SURVIVED, in[SC_CASH0], 0.0 };
    }
    /* A drawn market smaller than the drawn labs' base-year sum would give
     * the unlisted providers a negative share; the market is then taken to
     * be the labs' sum (others hold 0). Validation already rejects this
     * for constants and for the medians. */
    for (int g = 0; g < NSEG; g++)
        if (M[g] < lab_sum[g])
            M[g] = lab_sum[g];
    for (int g = 0; g < NSEG; g++) {
        double sum = 0.0;
        for (size_t l = 0; l < L; l++) {
            const double *in = &v->lab[l * SC_LAB_NKEYS];
            double seg0 = g == SEG_SUB ? in[SC_SUBS0] : g == SEG_API ? in[SC_API0] : in[SC_ENT0];
            share[l][g] = M[g] > 0 ? seg0 / M[g] : 0.0;
            sum += share[l][g];
        }
        others[g] = sum < 1.0 ? 1.0 - sum : 0.0;
    }

    double mpow = 1.0; /* m^(t-1) */
    for (int t = 1; t <= T; t++) {
        /* Market, once per year. */
        double G = faded(market_factor(p, v, SC_TRAIN_COST_GROWTH, path, t), mpow);
        double D = faded(market_factor(p, v, SC_SERVING_COST_DECLINE, path, t), mpow);
        double P = faded(market_factor(p, v, SC_PRICE_DECLINE, path, t), mpow);
        double V = faded(market_factor(p, v, SC_TOKEN_DEMAND_GROWTH, path, t), mpow);
        double U = faded(market_factor(p, v, SC_USAGE_GROWTH, path, t), mpow);
        double E = faded(market_factor(p, v, SC_ENTERPRISE_GROWTH, path, t), mpow);
        double O = market_factor(p, v, SC_OTHERS_PULL, path, t);
        double r = market_factor(p, v, SC_SUB_GROWTH_RATE, path, t);

        double eps = sigma > 0.0 ? rm_ndtri(rs_uniform(p->sentiment_key, path, (uint32_t)t, 0)) : 0.0;
        S = ys_sentiment(S, rho, sigma, eps);
        F = F * G;
        M[SEG_API] = ys_api_market(M[SEG_API], V, P);
        M[SEG_ENT] = ys_ent_market(M[SEG_ENT], E);
        M[SEG_SUB] = ys_sub_market(M[SEG_SUB], r, K);
        q_api = ys_cost_drift(q_api, P, D);
        q_sub = ys_cost_drift(q_sub, U, D);
        if (market)
            for (int g = 0; g < NSEG; g++)
                market[(size_t)(t - 1) * NSEG + (size_t)g] = M[g];
        const double Mtot = M[SEG_SUB] + M[SEG_API] + M[SEG_ENT];
        /* Market share R / Mtot as R times 1/Mtot, one division a year
         * (MD_SUM_MIN as for the shares). */
        const double inv_Mtot = Mtot >= MD_SUM_MIN ? 1.0 / Mtot : 0.0;

        /* Shares: one execution shock per lab-year, common to its
         * segments, carried by momentum. One Philox block per lab-year:
         * words 0-1 the execution shock, words 2-3 the funding draw. */
        double pull[L], ufund[L];
        for (size_t l = 0; l < L; l++) {
            double u2[2];
            rs_uniform2(p->lab_key[l], path, (uint32_t)t, 0, u2);
            ufund[l] = u2[1];
            const double *in = &v->lab[l * SC_LAB_NKEYS];
            double kb = ys_funded_pull(kfund[l], kfund[l] == 1.0 ? 1.0 : rm_exp(beta * rm_log(kfund[l])));
            double es = in[SC_EXEC_SIGMA];
            double lm = ys_ln_momentum(lnmu[l], in[SC_MOMENTUM_PERSISTENCE], es,
                                       es > 0.0 ? rm_ndtri(u2[0]) : 0.0);
            double mu = ys_momentum(lm, lm == 0.0 ? 1.0 : rm_exp(lm));
            if (alive[l])
                lnmu[l] = lm;
            pull[l] = ys_pull(alive[l], kb, mu);
        }
        for (int g = 0; g < NSEG; g++) {
            double a_o = ys_others_pull(others[g], O), sum = a_o;
            for (size_t l = 0; l < L; l++) {
                share[l][g] *= pull[l];
                sum += share[l][g];
            }
            /* sum = 0 only when nobody holds any of this segment: it stays
             * empty rather than dividing by zero. */
            if (sum >= MD_SUM_MIN) {
                /* one division: shares times 1/sum (within an ulp of
                 * a_j / sum, the kernel's arithmetic too) */
                double inv = 1.0 / sum;
                for (size_t l = 0; l < L; l++)
                    share[l][g] *= inv;
                others[g] = a_o * inv;
            } else if (sum > 0.0) {
                for (size_t l = 0; l < L; l++)
                    share[l][g] /= sum;
                others[g] = a_o / sum;
            }
        }

        for (size_t l = 0; l < L; l++) {
            md_year *y = years ? &years[l * (size_t)T + (size_t)(t - 1)] : NULL;
            if (!alive[l]) {
                if (y)
                    *y = md_year_dead();
                continue;
            }
            const double *in = &v->lab[l * SC_LAB_NKEYS];
            const int64_t parent = s->labs[l].backstop == SC_BACKSTOP_PARENT;
            /* 1-2. Revenue and planned costs. */
            ys_plan_t pl = ys_plan(share[l][SEG_SUB] * M[SEG_SUB], share[l][SEG_API] * M[SEG_API],
                                   share[l][SEG_ENT] * M[SEG_ENT], in[SC_SERVE_RATIO_SUB0],
                                   in[SC_SERVE_RATIO_API0], q_sub, q_api, in[SC_TRAIN0], F,
                                   in[SC_TRAIN_REVENUE_SHARE], staff[l], in[SC_STAFF_GROWTH],
                                   in[SC_OTHER_RATIO]);
            const double R = pl.R;
            staff[l] = pl.staff;
            /* 3. Funding. */
            double ln_R = rm_log(R);
            double raised = 0.0;
            int64_t need = ys_needs_round(!parent, pl.burn, cash[l], in[SC_RUNWAY_TARGET]);
            if (need) {
                double growth = ys_growth(rev_prev[l], R, ln_rev_prev[l], ln_R);
                double x = ys_logit(in[SC_FUNDING_BASE], in[SC_FUNDING_GROWTH_WEIGHT], growth,
                                    in[SC_FUNDING_SENTIMENT_WEIGHT], S);
                double val = ys_valuation(in[SC_REVENUE_MULTIPLE], R);
                if (ys_round_succeeds(ufund[l], rm_exp(-x), val)) {
                    raised = ys_round_size(val, ys_dilution_cap(in[SC_MAX_DILUTION]),
                                           in[SC_RAISE_YEARS], pl.burn);
                    own[l] = ys_ownership(own[l], val, raised);
                }
            }
            /* 4. Distress. */
            double avail = ys_avail(cash[l], raised, R, pl.serve, pl.staff, pl.other);
            double train = ys_train(avail, pl.train_plan, in[SC_MIN_TRAIN_FRACTION], parent);
            kfund[l] = ys_cut(train, pl.train_plan) ? train / pl.train_plan : 1.0;
            /* 5. Cash. */
            double C = ys_cash(avail, train);
            double op = ys_op(C, cash[l], raised);
            if (op > 0.0 && out[l].profit_year == 0)
                out[l].profit_year = t;
            raised_tot[l] += raised;
            /* 6. Failure or backstop. */
            double subsidy = 0.0;
            int64_t failed = 0;
            if (C < 0.0) {
                if (parent) {
                    subsidy = -C;
                    C = 0.0;
                } else {
                    failed = 1;
                    alive[l] = 0;
                    out[l].fail_year = t;
                    out[l].outcome = (int8_t)ys_fail_outcome(R, in[SC_ACQUISITION_REVENUE_MIN]);
                }
            }
            /* 7. Exit while solvent. */
            if (p->lab_exits[l]) {
                double vu = rs_uniform(p->lab_key[l], path, (uint32_t)t, 1);
                double h = ys_exit_hazard(need, raised, in[SC_DISTRESS_ACQUISITION],
                                          in[SC_ACQUISITION_HAZARD]);
                if (ys_bought(!parent, failed, vu, h)) {
                    alive[l] = 0;
                    out[l].fail_year = t;
                    out[l].outcome = MD_ACQUIRED_SOLVENT;
                }
            }
            /* A lab gone (failed or bought) leaves its shares to the
             * others through next year's normalisation. */
            if (!alive[l])
                for (int g = 0; g < NSEG; g++)
                    share[l][g] = 0.0;
            cash[l] = C;
            rev_prev[l] = R;
            ln_rev_prev[l] = ln_R;
            if (y)
                *y = (md_year){ .cash = C, .revenue = R, .op = op, .raised = raised,
                                .ownership = own[l],
                                .share = inv_Mtot > 0.0 ? R * inv_Mtot : Mtot > 0.0 ? R / Mtot : 0.0,
                                .subsidy = subsidy, .alive = alive[l] };
        }
        mpow *= m;
    }
    for (size_t l = 0; l < L; l++) {
        out[l].final_cash = cash[l];
        out[l].raised_total = raised_tot[l];
    }
}
