/* evidence: a scenario scored against what happened (prefix ev_).
 *
 * Contract. Given an observations file (observe.h) and, for each
 * observation, the simulated quantity on every path (sim.h's probes),
 * ev_score computes MODEL.md section 8's backtest scores exactly over the
 * paths (no sketch): for a figure, the predictive quantiles among the
 * paths where the quantity exists, the PIT (the share of those paths at
 * or below the observed median), whether the median lies inside the
 * central 50% and 90% predictive intervals, and the CRPS against the
 * median; for a status, the predicted probability and its log score.
 * Over all figures, the 50% and 90% coverages with 95% Wilson intervals;
 * over all statuses, the mean log score. It judges nothing: a scenario
 * that misses everything is scored, not refused.
 *
 * Conventions (docs/evidence.md):
 *   - A lab's figure for year t exists on a path where the lab is alive
 *     at the end of year t (MODEL.md's "alive in that year", as the
 *     summaries' quantiles count it): a lab that failed or was bought
 *     during the year publishes no annual figures, and conditioning on
 *     one of its figures gives such a path weight 0.
 *   - Quantiles are the empirical ones of type 7 (linear between order
 *     statistics, as numpy's default), so they are a pure function of the
 *     paths' values.
 *   - A status predicted on no path (p = 0) is scored with p = 1/(2N):
 *     below one path in N the run cannot tell, and a log score of minus
 *     infinity would hide every other observation's.
 */
#ifndef RUNWAY_EVIDENCE_H
#define RUNWAY_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/observe.h"
#include "engine/sim.h"

#define EV_NQ 5 /* quantiles 0.05 0.25 0.5 0.75 0.95 */

typedef struct {
    double q[EV_NQ];   /* predictive quantiles (NaN for a status or no path) */
    double pit;        /* share of paths with x <= observed median */
    int inside50, inside90; /* 1/0; -1 where not defined (status, no path) */
    double crps;       /* in the quantity's units */
    double p_exists;   /* share of paths where the quantity exists */
    double p_status;   /* status: predicted probability; NaN for a figure */
    double log_score;  /* status: ln max(p, 1/(2N)); NaN for a figure */
    uint64_t n;        /* paths behind the figure's scores */
} ev_row;

typedef struct {
    size_t nobs;
    ev_row *rows;                 /* [nobs] */
    size_t nfig, in50, in90;      /* figures scored, and how many inside */
    double cov50, cov50_lo, cov50_hi, cov90, cov90_lo, cov90_hi;
    size_t nstatus;
    double mean_log_score;        /* over statuses; NaN if none */
} ev_scores;

/* The probes that record each observation's quantity (probes[nobs],
 * owned by the caller). */
void ev_probes(const ob_set *obs, sim_probe *probes);

/* Scores x[N][nobs] (probe k of path p at x[p * nobs + k]). Returns 0, or
 * -1 when memory runs out (err says so). Free with ev_scores_free. */
int ev_score(const ob_set *obs, const double *x, uint64_t N, ev_scores *out,
             char *err, size_t errlen);
void ev_scores_free(ev_scores *sc);

/* The table an analyst reads: observation, source, predicted band,
 * observed, PIT, verdict; then the coverages and mean log score. */
void ev_print(FILE *f, const ob_set *obs, const ev_scores *sc);

/* One word on where the observation fell ("inside 50%", "above 95%",
 * "p = 0.31", ...), for the table and the result file. */
const char *ev_verdict(const ob_obs *o, const ev_row *r, char *buf, size_t n);

#endif
