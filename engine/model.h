/* model: one path of MODEL.md section 3, all labs jointly (prefix md_).
 *
 * Contract. md_plan_create precomputes, from a checked scenario and a seed,
 * everything that does not depend on the path (Philox keys of every
 * stream, which inputs are drawn). md_draw_inputs draws a path's inputs
 * (MODEL.md section 4, with the Gaussian copula); md_simulate runs the
 * path's T years and fills one record per lab and year. Both are pure
 * functions of (plan, path): no global state, no allocation, safe to call
 * from many threads on one shared plan.
 *
 * Random numbers (rng_stream.h), all keyed by name so that common random
 * numbers hold when inputs or labs are added, removed or reordered:
 *   input NAME        stream ("input", NAME),  year 0 (per path) or t (per year)
 *   sentiment eps_t   stream ("sentiment", "market"), year t
 *   execution z_i,t   stream ("lab", LAB), year t, words 0-1 of the block
 *   funding u_i,t     stream ("lab", LAB), year t, words 2-3 of the block
 *   exit v_i,t        stream ("lab", LAB), year t, index 1, words 0-1
 *                     (MODEL.md step 7; drawn only for a lab whose exit
 *                     hazards are not both the constant 0)
 * Because the streams are counter-based, a number that a path does not
 * need (a funding draw in a year without a round) is simply not computed:
 * the others are unaffected, which is what MODEL.md asks of "draw u every
 * lab-year, needed or not".
 */
#ifndef RUNWAY_MODEL_H
#define RUNWAY_MODEL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/metrics.h"
#include "engine/scenario.h"
#include "engine/step.h"
#include "rng/rng_stream.h"

/* Outcome codes (MD_SURVIVED, MD_ACQUIRED, MD_WOUND_DOWN,
 * MD_ACQUIRED_SOLVENT) are step.h's. */

/* The drawn values of one path. Constant inputs hold their constant. For
 * a per-year market input, market[] holds the first year's draw (what the
 * result file records); the year loop draws the others. */
typedef struct {
    double market[SC_MARKET_NKEYS];
    double *lab; /* [nlabs][SC_LAB_NKEYS], owned by the caller */
} md_values;

/* The state of one lab at the end of one year: one double per metric of
 * metrics.h (cash, revenue, op, raised, ownership, share, subsidy, in
 * that order), then alive. For a year after the lab failed, alive = 0
 * and the other fields are NaN. In the year it fails, alive = 0 and the
 * fields hold that year's values (cash < 0). */
#define MD_YEAR_FIELD_(K, f, n, u, tr, ql, tl) double f;
typedef struct {
    MT_METRICS(MD_YEAR_FIELD_)
    int alive;
} md_year;
#undef MD_YEAR_FIELD_

/* The record of a year after the lab failed: every metric NaN. */
static inline md_year md_year_dead(void)
{
#define MD_YEAR_NAN_(K, f, n, u, tr, ql, tl) .f = NAN,
    return (md_year){ MT_METRICS(MD_YEAR_NAN_) .alive = 0 };
#undef MD_YEAR_NAN_
}

/* Metric m (MT_*) of a year record. */
static inline double md_year_metric(const md_year *y, int m)
{
    switch (m) {
#define MD_YEAR_CASE_(K, f, n, u, tr, ql, tl) case MT_##K: return y->f;
    MT_METRICS(MD_YEAR_CASE_)
#undef MD_YEAR_CASE_
    default: return NAN;
    }
}

/* The outcome of one lab over the whole path. */
typedef struct {
    int32_t fail_year;   /* 1..T, the year it failed or was bought while
                            solvent; 0 = independent at the horizon */
    int32_t profit_year; /* first year with op > 0, 0 = none */
    int8_t outcome;      /* MD_* */
    double final_cash;   /* at the horizon or at failure */
    double raised_total;
} md_outcome;

typedef struct md_plan md_plan; /* opaque */

/* Returns NULL only when memory runs out (err says so). */
md_plan *md_plan_create(const sc_scenario *s, uint64_t seed,
                        char *err, size_t errlen);
void md_plan_free(md_plan *p);

/* Draws the path's inputs into v (v->lab must have room for
 * nlabs * SC_LAB_NKEYS doubles). If drawn is not NULL, it receives the
 * values of the scenario's drawn inputs, in the order of s->inputs. */
void md_draw_inputs(const md_plan *p, uint64_t path, md_values *v,
                    double *drawn);

/* Simulates the path. years: [nlabs][T] records (may be NULL when only
 * outcomes are wanted); out: [nlabs] outcomes. */
void md_simulate(const md_plan *p, uint64_t path, const md_values *v,
                 md_year *years, md_outcome *out);

/* The same, also writing each year's segment sizes M_sub, M_api, M_ent
 * (after the year's market step) to market[T][3] when it is not NULL. */
void md_simulate_ex(const md_plan *p, uint64_t path, const md_values *v,
                    md_year *years, md_outcome *out, double *market);

#endif
