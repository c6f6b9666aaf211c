/* evidence: backtest scores. See evidence.h for the contract. */
#include "engine/evidence.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/stats.h"
#include "engine/step.h"

static const double ev_levels[EV_NQ] = { 0.05, 0.25, 0.5, 0.75, 0.95 };

void ev_probes(const ob_set *obs, sim_probe *probes)
{
    for (size_t k = 0; k < obs->n; k++) {
        const ob_obs *o = &obs->obs[k];
        sim_probe p = { SIM_PROBE_REVENUE, o->lab, o->segment, o->t };
        switch (o->q) {
        case OB_REVENUE: p.kind = SIM_PROBE_REVENUE; break;
        case OB_CASH: p.kind = SIM_PROBE_CASH; break;
        case OB_RAISED: p.kind = SIM_PROBE_RAISED; break;
        case OB_OP_CASH_FLOW: p.kind = SIM_PROBE_OP; break;
        case OB_SHARE: p.kind = SIM_PROBE_SHARE; break;
        case OB_SIZE: p.kind = SIM_PROBE_SIZE; break;
        case OB_STATUS: p.kind = SIM_PROBE_STATUS; break;
        }
        probes[k] = p;
    }
}

/* The path's outcome code (step.h) as an observation's status. */
static ob_status status_of(double code)
{
    switch ((int)code) {
    case MD_ACQUIRED: return OB_ACQUIRED;
    case MD_WOUND_DOWN: return OB_WOUND_DOWN;
    case MD_ACQUIRED_SOLVENT: return OB_ACQUIRED_SOLVENT;
    default: return OB_ALIVE;
    }
}

/* Type-7 quantile of sorted v[0..n-1], n >= 1. */
static double quantile7(const double *v, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t i = (size_t)h;
    if (i + 1 >= n)
        return v[n - 1];
    return v[i] + (h - (double)i) * (v[i + 1] - v[i]);
}

/* CRPS of the empirical distribution of sorted v against y:
 * E|X - y| - E|X - X'| / 2, with E|X - X'| = 2/n^2 sum_i (2i - n - 1) v_i
 * (i from 1), summed in long double. */
static double crps_sorted(const double *v, size_t n, double y)
{
    long double a = 0.0L, b = 0.0L;
    for (size_t i = 0; i < n; i++) {
        a += fabsl((long double)v[i] - (long double)y);
        b += (long double)(2.0 * (double)(i + 1) - (double)n - 1.0) * (long double)v[i];
    }
    long double nn = (long double)n;
    return (double)(a / nn - b / (nn * nn));
}

void ev_scores_free(ev_scores *sc)
{
    free(sc->rows);
    memset(sc, 0, sizeof *sc);
}

/* Observations read out of x a group at a time: one sequential pass over
 * x's rows copies a group's columns (x is [N][nobs], so reading one
 * observation's column alone touched a cache line per path, a stride of
 * nobs doubles: in a backtest of 22 observations those reads were most
 * of the scoring). EV_GROUP columns bound the copy's memory at EV_GROUP
 * doubles a path. */
enum { EV_GROUP = 8 };

/* Row k of the scores from v[0..N-1], observation k's value on every path
 * (NaN where it does not exist); tmp: N doubles. Adds to the log-score
 * sum and the counts. */
static void score_one(const ob_obs *o, double *v, uint64_t N, double *tmp, ev_row *r,
                      ev_scores *out, double *log_sum)
{
    for (int i = 0; i < EV_NQ; i++)
        r->q[i] = NAN;
    r->pit = r->crps = r->p_status = r->log_score = NAN;
    r->inside50 = r->inside90 = -1;
    if (o->q == OB_STATUS) {
        uint64_t hit = 0;
        for (uint64_t p = 0; p < N; p++)
            hit += (uint64_t)ob_status_matches(o->status, status_of(v[p]));
        r->n = N;
        r->p_exists = 1.0;
        r->p_status = N ? (double)hit / (double)N : NAN;
        double pf = hit ? r->p_status : 0.5 / (double)N;
        r->log_score = log(pf);
        *log_sum += r->log_score;
        out->nstatus++;
        return;
    }
    size_t n = 0;
    uint64_t below = 0;
    for (uint64_t p = 0; p < N; p++) { /* the paths where it exists, in place */
        double xv = v[p];
        if (xv == xv) {
            v[n++] = xv;
            below += xv <= o->median;
        }
    }
    r->n = n;
    r->p_exists = N ? (double)n / (double)N : NAN;
    if (n == 0)
        return;
    st_sort_doubles(n, v, tmp); /* qsort's order, by a radix sort */
    for (int i = 0; i < EV_NQ; i++)
        r->q[i] = quantile7(v, n, ev_levels[i]);
    r->pit = (double)below / (double)n;
    r->inside50 = r->q[1] <= o->median && o->median <= r->q[3];
    r->inside90 = r->q[0] <= o->median && o->median <= r->q[4];
    r->crps = crps_sorted(v, n, o->median);
    out->nfig++;
    out->in50 += (size_t)r->inside50;
    out->in90 += (size_t)r->inside90;
}

int ev_score(const ob_set *obs, const double *x, uint64_t N, ev_scores *out,
             char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->nobs = obs->n;
    out->rows = calloc(obs->n, sizeof *out->rows);
    const size_t G = obs->n < EV_GROUP ? obs->n : EV_GROUP, nn = N ? N : 1;
    double *v = malloc((G ? G : 1) * nn * sizeof *v), *tmp = malloc(nn * sizeof *tmp);
    if (!out->rows || !v || !tmp) {
        free(v);
        free(tmp);
        ev_scores_free(out);
        snprintf(err, errlen, "out of memory for the backtest of %llu paths",
                 (unsigned long long)N);
        return -1;
    }
    double log_sum = 0.0;
    for (size_t k0 = 0; k0 < obs->n; k0 += G) {
        const size_t g = obs->n - k0 < G ? obs->n - k0 : G;
        for (uint64_t p = 0; p < N; p++) {
            const double *row = x + p * obs->n + k0;
            for (size_t j = 0; j < g; j++)
                v[j * N + p] = row[j];
        }
        for (size_t j = 0; j < g; j++)
            score_one(&obs->obs[k0 + j], v + j * N, N, tmp, &out->rows[k0 + j], out, &log_sum);
    }
    free(v);
    free(tmp);
    out->cov50 = out->cov90 = out->cov50_lo = out->cov50_hi = NAN;
    out->cov90_lo = out->cov90_hi = NAN;
    if (out->nfig) {
        out->cov50 = (double)out->in50 / (double)out->nfig;
        out->cov90 = (double)out->in90 / (double)out->nfig;
        st_wilson(out->in50, out->nfig, &out->cov50_lo, &out->cov50_hi);
        st_wilson(out->in90, out->nfig, &out->cov90_lo, &out->cov90_hi);
    }
    out->mean_log_score = out->nstatus ? log_sum / (double)out->nstatus : NAN;
    return 0;
}

const char *ev_verdict(const ob_obs *o, const ev_row *r, char *buf, size_t n)
{
    if (o->q == OB_STATUS) {
        snprintf(buf, n, "%s", r->p_status >= 0.5 ? "likely" : r->p_status >= 0.05 ? "plausible"
                               : r->p_status > 0.0 ? "surprising" : "ruled out");
    } else if (r->n == 0) {
        snprintf(buf, n, "no path has it");
    } else if (r->inside50) {
        snprintf(buf, n, "inside 50%%");
    } else if (r->inside90) {
        snprintf(buf, n, "inside 90%%");
    } else {
        snprintf(buf, n, "%s", o->median < r->q[0] ? "below 5%" : "above 95%");
    }
    return buf;
}

/* A figure with three significant digits, or "-". */
static const char *fmt3(double v, char *buf, size_t n)
{
    if (v != v)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.3g", v);
    return buf;
}

void ev_print(FILE *f, const ob_set *obs, const ev_scores *sc)
{
    fprintf(f, "%-30s %-26s %-22s %9s %6s  %s\n", "observation", "source",
            "predicted 5% / 50% / 95%", "observed", "PIT", "verdict");
    for (size_t k = 0; k < obs->n; k++) {
        const ob_obs *o = &obs->obs[k];
        const ev_row *r = &sc->rows[k];
        char band[64], a[16], b[16], c[16], ob[32], pit[16], verd[32], src[27];
        snprintf(src, sizeof src, "%s", o->source);
        for (char *p = src; *p; p++) /* one line per observation */
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        if (o->q == OB_STATUS) {
            snprintf(band, sizeof band, "p = %.3g", r->p_status);
            snprintf(ob, sizeof ob, "%s", ob_status_name(o->status));
            snprintf(pit, sizeof pit, "-");
        } else {
            snprintf(band, sizeof band, "%s / %s / %s", fmt3(r->q[0], a, sizeof a),
                     fmt3(r->q[2], b, sizeof b), fmt3(r->q[4], c, sizeof c));
            fmt3(o->median, ob, sizeof ob);
            if (r->n)
                snprintf(pit, sizeof pit, "%.3f", r->pit);
            else
                snprintf(pit, sizeof pit, "-");
        }
        fprintf(f, "%-30.30s %-26s %-22s %9s %6s  %s\n", o->label, src, band, ob, pit,
                ev_verdict(o, r, verd, sizeof verd));
    }
    if (sc->nfig)
        fprintf(f, "coverage of %zu figures: 50%% interval %zu (%.2f, 95%% CI %.2f-%.2f), "
                   "90%% interval %zu (%.2f, 95%% CI %.2f-%.2f)\n",
                sc->nfig, sc->in50, sc->cov50, sc->cov50_lo, sc->cov50_hi, sc->in90, sc->cov90,
                sc->cov90_lo, sc->cov90_hi);
    if (sc->nstatus)
        fprintf(f, "mean log score of %zu statuses: %.3f\n", sc->nstatus, sc->mean_log_score);
}
