/* step: the formulas of one year of MODEL.md section 3, written once
 * (prefix ys_).
 *
 * Contract. Every equation of the year step lives here, as a small pure
 * inline function of scalars, in MODEL.md's order: the market, the shares
 * (with momentum), and each lab's steps 1-7. Both forms of the model call
 * them: the scalar reference (model.c), one path at a time, and the lane
 * kernel (kernel.c), once per lane inside its loops, which GCC inlines and
 * vectorises. Because both evaluate the same expressions in the same
 * order (and the build forbids contraction into FMA), they agree bit for
 * bit; tests/test_kernel.c and tests/test_step_property.c check it.
 *
 * What is not here: the transcendental functions (rm_exp, rm_log,
 * rm_ndtri). Their results are arguments (e_negx = e^-x, lnR = ln R, ...),
 * because the kernel computes them in passes of their own over all lanes,
 * where the reference computes them inline (kernel.c says why). The
 * selects are written as ?: on values both sides of which are safe to
 * compute, so that a lane loop can turn them into blends.
 *
 * To change the model: change the formula here, then MODEL.md (docs/
 * model.md) and, where a new state variable or input is needed, the two
 * callers' state (model.c's md_simulate, kernel.c's kn_work).
 */
#ifndef RUNWAY_STEP_H
#define RUNWAY_STEP_H

#include <stdint.h>

/* Outcome codes, as in the result file's enum (paths/outcome). */
enum { MD_SURVIVED = 0, MD_ACQUIRED = 1, MD_WOUND_DOWN = 2, MD_ACQUIRED_SOLVENT = 3 };

/* ---- Market, once per year --------------------------------------- */

/* S_t = rho S_t-1 + sigma eps_t */
static inline double ys_sentiment(double S, double rho, double sigma, double eps)
{
    return rho * S + sigma * eps;
}

/* X_t = X^(m^(t-1)), given e = e^(m^(t-1) ln X) from the caller: with
 * m^(t-1) = 1 the factor acts in full (and no rounding of exp/log enters). */
static inline double ys_faded(double x, double mpow, double e)
{
    return mpow == 1.0 ? x : e;
}

/* M_api,t = M_api,t-1 V_t / P_t */
static inline double ys_api_market(double M, double V, double P)
{
    return M * V / P;
}

/* M_ent,t = M_ent,t-1 E_t */
static inline double ys_ent_market(double M, double E)
{
    return M * E;
}

/* M_sub,t = M + r M (1 - M / K). The logistic step overshoots below zero
 * only when the market starts above 1 + 1/r times its cap; a market
 * cannot be negative. */
static inline double ys_sub_market(double M, double r, double K)
{
    double m = M + r * M * (1.0 - M / K);
    return m < 0.0 ? 0.0 : m;
}

/* q_t = q_t-1 X_t / D_t: serving-cost drift (X = P for the API and
 * enterprise, U for subscriptions). */
static inline double ys_cost_drift(double q, double X, double D)
{
    return q * X / D;
}

/* ---- Shares ------------------------------------------------------- */

/* ln mu_t = phi ln mu_t-1 + sigma z - sigma^2 / 2 (section 3's
 * momentum). With phi = 0 the past does not enter at all (not even as
 * 0 * ln mu, which an infinite ln mu would turn into NaN), so that
 * version 1's exp(sigma z - sigma^2/2) comes out bit for bit. */
static inline double ys_ln_momentum(double lnmu, double phi, double sigma, double z)
{
    double shock = sigma > 0.0 ? sigma * z - 0.5 * sigma * sigma : 0.0;
    return phi == 0.0 ? shock : phi * lnmu + shock;
}

/* mu = e^(ln mu), given e = e^(ln mu): exactly 1 where ln mu is 0. */
static inline double ys_momentum(double lnmu, double e)
{
    return lnmu == 0.0 ? 1.0 : e;
}

/* The funded-training factor k^beta, given e = e^(beta ln k): exactly 1
 * for a lab that trained as planned. */
static inline double ys_funded_pull(double k, double e)
{
    return k == 1.0 ? 1.0 : e;
}

/* A lab's attractiveness multiplier this year: k^beta mu, 0 once gone
 * (its share then goes to the others through the normalisation). */
static inline double ys_pull(int64_t alive, double kbeta, double mu)
{
    return alive ? kbeta * mu : 0.0;
}

/* a_others = s_others O */
static inline double ys_others_pull(double s_others, double O)
{
    return s_others * O;
}

/* ---- Each lab: steps 1-2, revenue and planned costs ---------------- */

typedef struct {
    double R, serve, train_plan, staff, other, burn;
} ys_plan_t;

/* R_seg = s_seg M_seg is the caller's (Rs, Ra, Re); staff is last year's
 * staff cost, grown once. The training plan follows the frontier,
 * train0 F_t, or, for a lab with train_revenue_share > 0, at least that
 * share of its revenue (docs/model-notes.md, P1: a lab that earns more
 * spends more on compute; 0, the default, is MODEL.md's plan exactly). */
static inline ys_plan_t ys_plan(double Rs, double Ra, double Re, double serve_ratio_sub,
                                double serve_ratio_api, double q_sub, double q_api,
                                double train0, double F, double train_revenue_share,
                                double staff_prev, double staff_growth, double other_ratio)
{
    ys_plan_t p;
    p.R = Rs + Ra + Re;
    p.serve = Rs * serve_ratio_sub * q_sub + (Ra + Re) * serve_ratio_api * q_api;
    double frontier = train0 * F, means = train_revenue_share * p.R;
    p.train_plan = (train_revenue_share > 0.0) & (means > frontier) ? means : frontier;
    p.staff = staff_prev * (1.0 + staff_growth);
    p.other = other_ratio * p.R;
    p.burn = p.serve + p.train_plan + p.staff + p.other - p.R;
    return p;
}

/* ---- Step 3, funding ---------------------------------------------- */

/* A round is sought where there is no backstop, the plan burns cash and
 * cash covers less than runway_target years of it. */
static inline int64_t ys_needs_round(int64_t no_backstop, double burn, double cash,
                                     double runway_target)
{
    return no_backstop & (int64_t)(burn > 0.0) & (int64_t)(cash < runway_target * burn);
}

/* ln(R_t / R_t-1) as a difference of logs (ln R is carried from year to
 * year: one log and no division a lab-year); 0 when either is 0. */
static inline double ys_growth(double R_prev, double R, double lnR_prev, double lnR)
{
    return ((int64_t)(R_prev > 0.0) & (int64_t)(R > 0.0)) ? lnR - lnR_prev : 0.0;
}

/* x = alpha + beta_g growth + beta_s S: pi = 1 / (1 + e^-x) */
static inline double ys_logit(double base, double growth_weight, double growth,
                              double sentiment_weight, double S)
{
    return base + growth_weight * growth + sentiment_weight * S;
}

/* u < pi, tested as u (1 + e^-x) < 1 (the same event, no division); a
 * lab with no revenue has no valuation to sell against and raises
 * nothing. */
static inline int64_t ys_round_succeeds(double u, double e_negx, double val)
{
    double odds_inv = 1.0 + e_negx;
    return (int64_t)(u * odds_inv < 1.0) & (int64_t)(val > 0.0);
}

/* Val = revenue_multiple R */
static inline double ys_valuation(double multiple, double R)
{
    return multiple * R;
}

/* d / (1 - d): fixed for a path, so the kernel computes it once. */
static inline double ys_dilution_cap(double max_dilution)
{
    return max_dilution / (1.0 - max_dilution);
}

/* raised = min(raise_years burn, Val d / (1 - d)) */
static inline double ys_round_size(double val, double cap_factor, double raise_years,
                                   double burn)
{
    double cap = val * cap_factor;
    double want = raise_years * burn;
    return cap < want ? cap : want;
}

/* ownership *= Val / (Val + raised) */
static inline double ys_ownership(double own, double val, double raised)
{
    return own * (val / (val + raised));
}

/* ---- Step 4, distress --------------------------------------------- */

/* avail = C_t-1 + raised + R - serve - staff - other */
static inline double ys_avail(double cash, double raised, double R, double serve,
                              double staff, double other)
{
    return cash + raised + R - serve - staff - other;
}

/* Training done: the plan where it is affordable, else cut to what is
 * available, never below min_train_fraction of the plan. A parent that
 * covers every shortfall covers the training plan too: a backstopped lab
 * never cuts training (read literally, step 4 would cut it before step
 * 6's parent pays; docs/model-notes.md). */
static inline double ys_train(double avail, double train_plan, double min_fraction,
                              int64_t parent)
{
    double floor_ = min_fraction * train_plan;
    double have = avail > 0.0 ? avail : 0.0;
    return ((int64_t)(avail >= train_plan) | parent) ? train_plan
                                                     : (floor_ > have ? floor_ : have);
}

/* Whether training was cut (then k = train / plan; otherwise k is
 * exactly 1, also where the plan overflowed to inf). */
static inline int64_t ys_cut(double train, double train_plan)
{
    return (int64_t)(train_plan > 0.0) & (int64_t)(train != train_plan);
}

/* ---- Step 5, cash ------------------------------------------------- */

/* C_t = avail - train: a lab that spends exactly what it has ends at 0
 * and survives. */
static inline double ys_cash(double avail, double train)
{
    return avail - train;
}

/* op = R - serve - train - staff - other, computed as the change in cash
 * less the funding raised (the same number, as step 5 defines C): a lab
 * that spends all it has on training has op exactly 0, where the literal
 * sum leaves a rounding error of either sign (docs/model-notes.md,
 * note 14). */
static inline double ys_op(double C, double cash_prev, double raised)
{
    return (C - cash_prev) - raised;
}

/* ---- Step 6, failure ---------------------------------------------- */

/* A failing lab with at least acquisition_revenue_min of revenue is
 * acquired, else wound down. */
static inline int64_t ys_fail_outcome(double R, double acquisition_revenue_min)
{
    return R >= acquisition_revenue_min ? MD_ACQUIRED : MD_WOUND_DOWN;
}

/* ---- Step 7, exit while solvent ----------------------------------- */

/* The year's probability of being bought: distress_acquisition for a
 * lab that needed a round and raised nothing, else acquisition_hazard. */
static inline double ys_exit_hazard(int64_t needed, double raised, double distress,
                                    double hazard)
{
    return (needed & (int64_t)(raised == 0.0)) ? distress : hazard;
}

/* Bought while solvent: only a lab without a backstop that did not fail
 * in step 6, on v < h. */
static inline int64_t ys_bought(int64_t no_backstop, int64_t failed, double v, double h)
{
    return no_backstop & (int64_t)!failed & (int64_t)(v < h);
}

#endif
