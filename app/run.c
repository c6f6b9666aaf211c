/* run: one scenario run to one result file (see run.h). */
#include "app/run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omp.h>

#include "engine/stats.h"
#include "engine/sensitivity.h"
#include "output/h5evidence.h"
#include "output/h5read.h"
#include "output/h5state.h"
#include "output/part.h"

/* A line to hooks->note, printf-style. */
static void note(const run_hooks *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const run_hooks *h, const char *fmt, ...)
{
    if (!h || !h->note)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    h->note(h->ctx, line);
}

static int failed(run_result *r, int status)
{
    r->status = status;
    r->end = RUN_FAILED;
    return status;
}

void run_result_free(run_result *r)
{
    sc_free(r->s);
    sim_result_free(&r->res);
    ob_free(r->cond);
    ob_free(r->obs);
    if (r->scored)
        ev_scores_free(&r->sc);
    memset(r, 0, sizeof *r);
}

int run_load(sc_scenario **s, const char *path, const sc_options *so, const sc_override *extra,
             size_t nextra, char *err, size_t errlen)
{
    sc_options o = *so;
    sc_override *all = NULL;
    if (nextra) {
        all = calloc(o.nset + nextra, sizeof *all);
        if (!all) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (o.nset)
            memcpy(all, o.set, o.nset * sizeof *all);
        memcpy(all + o.nset, extra, nextra * sizeof *all);
        o.set = all;
        o.nset += nextra;
    }
    int rc = sc_load(s, path, &o, err, errlen);
    free(all);
    return rc;
}

/* The scenario of a run: the file `scenario`, or spec->scenario_text
 * (rerun) named `scenario` in messages. */
static int load_for(sc_scenario **s, const char *scenario, const run_spec *spec,
                    const sc_options *so, const sc_override *extra, size_t nextra, char *err,
                    size_t errlen)
{
    if (!spec->scenario_text)
        return run_load(s, scenario, so, extra, nextra, err, errlen);
    return sc_load_text(s, spec->scenario_text, strlen(spec->scenario_text), scenario, so, err,
                        errlen);
}

/* ---- --target-halfwidth: the fewest paths that meet the target ----
 *
 * Why this is exact. Path i's random numbers depend only on (seed, i), so
 * a run of N paths simulates paths 0..N-1, the same paths whatever N, and
 * its survival estimate for (lab, year) is k/N, k the number of those
 * paths on which the lab is alive at the year's end, with the Wilson
 * interval st_wilson(k, N). The search therefore simulates the paths in
 * order, chunk by chunk, keeps k for every (lab, year) as a running count
 * and, after each path, computes the half-widths the run of N = i + 1
 * paths would report, bit for bit: the first N at which every one is at
 * most the target is the answer, with no model of how the half-width
 * falls and no bisection (a rule such as N = z^2 p(1-p)/H^2 from a pilot
 * estimate of p is only approximate: the half-width of a finite sample
 * wanders around that curve). It costs the simulation of N paths (and at
 * most one chunk more) plus the run itself; the check is O(1) a path in
 * practice, since the (lab, year) that failed last is tried first. */

/* Each path's years alive, per lab, from the per-path rows: T when the
 * lab survives the horizon, else fail_year - 1 (the sampler counts a lab
 * alive at the end of year t when fail_year is 0 or later than t). Rows
 * arrive from several threads, each to its own place. */
typedef struct {
    uint8_t *life; /* [chunk paths][L] */
    uint64_t first;
    size_t L;
    int T;
} tw_sink;

static int tw_rows(void *ctx, uint64_t first, uint64_t count, const sim_paths_block *blk,
                   char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    tw_sink *k = ctx;
    for (uint64_t j = 0; j < count; j++)
        for (size_t l = 0; l < k->L; l++) {
            int32_t fy = blk->fail_year[j * k->L + l];
            k->life[(first - k->first + j) * k->L + l] = (uint8_t)(fy == 0 ? k->T : fy - 1);
        }
    return 0;
}

/* The half-width of (lab, year index t) at N paths, k alive: the larger
 * distance from the estimate to an end of its interval, as the file's
 * survival, survival_lo and survival_hi give it. */
static double tw_halfwidth(uint64_t k, uint64_t N)
{
    double p = (double)k / (double)N, lo, hi;
    st_wilson(k, N, &lo, &hi);
    return p - lo > hi - p ? p - lo : hi - p;
}

static int find_paths(const sc_scenario *s, const run_spec *spec, int threads, run_result *r,
                      char *err, size_t errlen)
{
    const size_t L = s->nlabs, T = (size_t)s->horizon;
    const double target = spec->target_hw;
    uint64_t cap = spec->max_paths ? spec->max_paths : RUN_TARGET_MAX_PATHS;
    /* the (lab, year) pairs judged: every year, or those of --years */
    size_t ny = spec->ntarget_years ? spec->ntarget_years : T, npair = L * ny;
    size_t *pair = malloc(npair * sizeof *pair);
    uint64_t *alive = calloc(L * T, sizeof *alive);
    tw_sink sink = { .L = L, .T = (int)T };
    sim_state st;
    memset(&st, 0, sizeof st);
    int rc = -1;
    if (!pair || !alive) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < ny; j++) {
        int t = (int)j + 1;
        if (spec->ntarget_years) {
            t = spec->target_years[j] - s->base_year;
            if (t < 1 || t > (int)T) {
                snprintf(err, errlen, "--years: %d is not a year of %s (%d to %d)",
                         spec->target_years[j], s->name, s->base_year + 1,
                         s->base_year + (int)T);
                goto done;
            }
        }
        for (size_t l = 0; l < L; l++)
            pair[j * L + l] = l * T + (size_t)(t - 1);
    }
    if (sim_state_init(&st, s, cap, 0) != 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    size_t last = 0; /* the pair that failed last: tried first */
    uint64_t n = 0, chunk = 4;
    double hw = 0.0;
    while (n < cap) {
        uint64_t b0 = n / SIM_BLOCK, b1 = b0 + chunk < st.nblocks ? b0 + chunk : st.nblocks;
        uint64_t p1 = b1 * SIM_BLOCK < cap ? b1 * SIM_BLOCK : cap;
        free(sink.life);
        sink.first = n;
        if (!(sink.life = malloc((size_t)(p1 - n) * L))) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        sim_options o = { .paths = cap, .seed = s->seed, .threads = threads,
                          .stop = spec->interrupt, .on_paths = tw_rows, .ctx = &sink };
        if (sim_accumulate(&st, s, &o, b0, b1, err, errlen) != 0)
            goto done;
        if (spec->interrupt && *spec->interrupt) {
            snprintf(err, errlen, "interrupted; no result written");
            goto done;
        }
        for (; n < p1; n++) {
            const uint8_t *life = sink.life + (size_t)(n - sink.first) * L;
            for (size_t l = 0; l < L; l++)
                for (size_t t = 0; t < life[l]; t++)
                    alive[l * T + t]++;
            uint64_t N = n + 1;
            if (tw_halfwidth(alive[pair[last]], N) > target)
                continue;
            size_t q = 0;
            while (q < npair && tw_halfwidth(alive[pair[q]], N) <= target)
                q++;
            if (q < npair) {
                last = q;
                continue;
            }
            r->target_paths = N; /* every pair meets the target */
            break;
        }
        if (r->target_paths)
            break;
        hw = tw_halfwidth(alive[pair[last]], n);
        if (!spec->quiet)
            note(&spec->hooks, "--target-halfwidth %g: %llu paths, half-width still %.5f (%s %d)",
                 target, (unsigned long long)n, hw, s->labs[pair[last] / T].name,
                 s->base_year + (int)(pair[last] % T) + 1);
        chunk = chunk < 64 ? chunk * 2 : 64;
    }
    if (!r->target_paths) {
        snprintf(err, errlen, "--target-halfwidth %g: not met with --max-paths %llu paths (the "
                 "half-width of %s %d is still %.5f); raise --max-paths or the target", target,
                 (unsigned long long)cap, s->labs[pair[last] / T].name,
                 s->base_year + (int)(pair[last] % T) + 1, hw);
        goto done;
    }
    /* the widest of the pairs at the count found, for the line printed */
    size_t w = 0;
    for (size_t q = 1; q < npair; q++)
        if (tw_halfwidth(alive[pair[q]], r->target_paths) > tw_halfwidth(alive[pair[w]], r->target_paths))
            w = q;
    r->target_widest = tw_halfwidth(alive[pair[w]], r->target_paths);
    r->target_lab = (int)(pair[w] / T);
    r->target_year = s->base_year + (int)(pair[w] % T) + 1;
    rc = 0;
done:
    free(sink.life);
    free(pair);
    free(alive);
    sim_state_free(&st);
    return rc;
}

ho_file *run_open_file(const run_file *fp, char *err, size_t errlen)
{
    const sc_scenario *s = fp->s;
    char created[32], title[512];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    snprintf(title, sizeof title, "runway survival simulation: %s%s", s->name,
             fp->shard ? " (one shard)" : "");
    const char **labn = calloc(s->nlabs, sizeof *labn);
    const char **inn = calloc(s->ninputs ? s->ninputs : 1, sizeof *inn);
    uint64_t *kept = calloc(fp->K ? fp->K : 1, sizeof *kept);
    int *grp = calloc(s->ninputs ? s->ninputs : 1, sizeof *grp);
    size_t G = 0;
    if (grp)
        sn_groups(s, grp, &G);
    char **grpn = calloc(G ? G : 1, sizeof *grpn);
    int named = grpn != NULL;
    for (size_t g = 0; named && g < G; g++)
        named = (grpn[g] = sn_group_name(s, grp, (int)g)) != NULL;
    ho_file *h5 = NULL;
    if (!labn || !inn || !kept || !grp || !named) {
        snprintf(err, errlen, "out of memory");
    } else {
        for (size_t l = 0; l < s->nlabs; l++)
            labn[l] = s->labs[l].name;
        for (size_t i = 0; i < s->ninputs; i++)
            inn[i] = s->inputs[i].name;
        for (size_t k = 0; k < fp->K; k++)
            kept[k] = k;
        ho_meta meta = {
            .title = title, .scenario_name = s->name, .scenario_yaml = s->yaml_text,
            .version = RUNWAY_VERSION, .created = created, .command_line = fp->cmdline,
            .seed = s->seed, .paths = fp->rows, .horizon = s->horizon,
            .base_year = s->base_year, .threads = fp->threads, .processes = fp->processes,
            .nlabs = s->nlabs, .lab_names = labn, .ninputs = s->ninputs,
            .input_names = inn, .nkept = fp->K, .kept_paths = kept, .per_path = fp->per_path,
            .ngroups = G, .group_names = (const char *const *)grpn, .input_group = grp,
            .first_path = fp->first_path, .weighted = fp->cond != NULL,
            .stop = fp->stop, .interrupt = fp->interrupt,
        };
        h5 = ho_create(fp->out, &meta, err, errlen);
        if (h5 && fp->cond
            && (ho_put_attr_str(h5, "observations_yaml", fp->cond->yaml_text, err, errlen)
                || ho_put_attr_str(h5, "observations_file", fp->cond->file, err, errlen)
                || ho_put_attr_u64(h5, "conditioned", 1, err, errlen))) {
            ho_discard(h5);
            h5 = NULL;
        }
        /* the scenario as written and the overrides apart (scenario_yaml
         * is the scenario as run): `runway rerun` reads them back */
        if (h5 && (ho_put_attr_str(h5, "scenario_source", s->source_text, err, errlen)
                   || ho_put_attr_str(h5, "overrides", s->overrides, err, errlen))) {
            ho_discard(h5);
            h5 = NULL;
        }
        if (h5 && (ho_put_attr_u64(h5, "run_paths", s->paths, err, errlen)
                   || (fp->shard && (ho_put_attr_u64(h5, "shard_index", fp->shard_index, err, errlen)
                                     || ho_put_attr_u64(h5, "shard_count", fp->shard_count, err, errlen))))) {
            ho_discard(h5);
            h5 = NULL;
        }
    }
    free(labn);
    free(inn);
    free(kept);
    for (size_t g = 0; grpn && g < G; g++)
        free(grpn[g]);
    free(grpn);
    free(grp);
    return h5;
}

int run_sink_paths(void *ctx, uint64_t first, uint64_t count, const sim_paths_block *blk,
                   char *err, size_t errlen)
{
    run_sink *c = ctx;
    if (c->interrupt && *c->interrupt) {
        snprintf(err, errlen, "interrupted by signal %d; no result written", (int)*c->interrupt);
        return -1;
    }
    return c->h5 ? ho_write_paths(c->h5, first - c->first_path, count, blk, err, errlen) : 0;
}

/* A backtest's probes and every path's value of each observation. */
typedef struct {
    sim_probe *probes;
    double *x; /* [N][obs->n] */
} backtest;

/* Reads the observations against s into r->obs and makes room for every
 * path's value of each. 0, or -1 with err. */
static int backtest_open(backtest *b, run_result *r, const char *path, const sc_scenario *s,
                         char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    if (ob_load(&r->obs, path, s, err, errlen) != 0)
        return -1;
    size_t n = r->obs->n;
    b->probes = calloc(n, sizeof *b->probes);
    /* every path's value of every observation: PIT is counted exactly */
    b->x = s->paths <= SIZE_MAX / sizeof(double) / n ? malloc((size_t)s->paths * n * sizeof(double)) : NULL;
    if (!b->probes || !b->x) {
        snprintf(err, errlen, "out of memory for the backtest: %llu paths x %zu observations "
                              "need %.3g GB; run fewer paths (-n)",
                 (unsigned long long)s->paths, n, (double)s->paths * (double)n * 8e-9);
        return -1;
    }
    ev_probes(r->obs, b->probes);
    return 0;
}

static void backtest_free(backtest *b)
{
    free(b->probes);
    free(b->x);
    memset(b, 0, sizeof *b);
}

int run_finish_file(ho_file *h5, const sim_state *st, const sc_scenario *s, int threads,
                    const double *x, run_result *r, const run_hooks *hooks, char *err,
                    size_t errlen)
{
    sim_result *res = &r->res;
    if (sim_finalize(st, s, threads, res, err, errlen) != 0) {
        ho_discard(h5);
        return -1;
    }
    ho_summary sum;
    ho_traj tr;
    ho_summary_view(res, &sum);
    ho_traj_view(res, &tr);
    /* A value beyond the sketches' range (|x| >= 2^40: a path whose
     * numbers blew up) is clamped there; the file says how many were. */
    if (ho_write_summary(h5, &sum, err, errlen) != 0 || ho_write_traj(h5, &tr, err, errlen) != 0
        || ho_put_attr_u64(h5, "values_clamped", res->overflow, err, errlen) != 0) {
        ho_discard(h5);
        return -1;
    }
    if (res->weighted && (ho_put_attr_f64(h5, "n_eff", res->n_eff, err, errlen)
                          || ho_put_attr_f64(h5, "evidence", res->evidence, err, errlen))) {
        ho_discard(h5);
        return -1;
    }
    if (r->obs) {
        if (ev_score(r->obs, x, s->paths, &r->sc, err, errlen) != 0) {
            ho_discard(h5);
            return -1;
        }
        r->scored = 1;
        if (he_write_backtest(h5, s, r->obs, &r->sc, err, errlen) != 0) {
            ho_discard(h5);
            return -1;
        }
    }
    if (res->overflow)
        note(hooks, "warning: %llu values beyond +-2^40 were clamped in the quantiles "
                    "(attribute values_clamped); the scenario lets numbers explode",
             (unsigned long long)res->overflow);
    return ho_commit(h5, err, errlen);
}

/* Simulates blocks [blo, bhi) not yet done into h5 and ends the file:
 * a checkpoint if a signal stopped the run, a shard's state if fp is a
 * shard, else the summaries. Owns h5 from here on. x: a backtest's
 * values (NULL: none). Returns the exit status. */
static int drive(const sc_scenario *s, sim_state *st, ho_file *h5, const run_file *fp,
                 uint64_t blo, uint64_t bhi, const run_spec *spec, double t0,
                 const sim_probe *probes, double *x, run_result *r)
{
    char *err = r->err;
    size_t errlen = sizeof r->err;
    run_sink sink = { h5, fp->first_path, spec->interrupt };
    sim_options opt = {
        .paths = s->paths, .seed = s->seed, .threads = fp->threads, .keep = st->K,
        .stop = spec->stop,
        .on_paths = fp->per_path != HO_PER_PATH_NONE ? run_sink_paths : NULL, .ctx = &sink,
        .on_progress = spec->quiet ? NULL : spec->hooks.progress,
        .progress_ctx = spec->hooks.ctx,
        .probes = probes, .nprobes = r->obs ? r->obs->n : 0, .probe_x = x, .cond = fp->cond,
    };
    int stopped = sim_accumulate(st, s, &opt, blo, bhi, err, errlen) != 0;
    if (stopped || (spec->interrupt && *spec->interrupt)) {
        if (spec->interrupt && *spec->interrupt)
            snprintf(err, errlen, "interrupted; no result written");
        ho_discard(h5);
        return failed(r, 1);
    }
    int all = 1;
    for (uint64_t b = blo; b < bhi; b++)
        all &= st->done[b];
    if (!all) {
        /* A checkpoint: the state and the rows so far, complete = 0, at
         * the output path. */
        char why[900];
        r->paths_done = sim_state_paths_done(st);
        if (hs_save(st, h5, why, sizeof why) != 0
            || ho_commit_partial(h5, r->paths_done, why, sizeof why) != 0) {
            snprintf(err, errlen, "cannot write the checkpoint: %s", why);
            return failed(r, 1);
        }
        r->signal = spec->stop ? (int)*spec->stop : 0;
        r->end = RUN_CHECKPOINT;
        return r->status = RUN_EXIT_CHECKPOINT;
    }
    if (fp->shard) {
        /* A shard holds its rows and its exact state; complete stays 0
         * until `runway merge` joins every shard. */
        if (hs_save(st, h5, err, errlen) != 0
            || ho_commit_partial(h5, fp->rows, err, errlen) != 0)
            return failed(r, 1);
        r->end = RUN_SHARD;
        r->shard_index = fp->shard_index;
        r->shard_count = fp->shard_count;
        r->first_path = fp->first_path;
        r->rows = fp->rows;
        return r->status = 0;
    }
    if (run_finish_file(h5, st, s, fp->threads, x, r, &spec->hooks, err, errlen) != 0)
        return failed(r, 1);
    r->secs = omp_get_wtime() - t0;
    r->end = RUN_COMPLETE;
    return r->status = 0;
}

int run_one(const char *scenario, const sc_override *extra, size_t nextra, const char *out,
            const run_spec *spec, run_result *r)
{
    memset(r, 0, sizeof *r);
    r->out = out;
    r->quiet = spec->quiet;
    char *err = r->err;
    size_t errlen = sizeof r->err;
    if (load_for(&r->s, scenario, spec, &spec->so, extra, nextra, err, errlen) != 0)
        return failed(r, 1);
    int nthreads = spec->threads ? spec->threads : omp_get_max_threads();
    double t0 = omp_get_wtime();
    if (spec->target_hw > 0.0) {
        if (find_paths(r->s, spec, nthreads, r, err, errlen) != 0)
            return failed(r, 1);
        /* Reload with the count found, so scenario_yaml records it (and
         * the overrides, as paths=N). */
        sc_options so = spec->so;
        so.has_paths = 1;
        so.paths = r->target_paths;
        sc_free(r->s);
        r->s = NULL;
        if (load_for(&r->s, scenario, spec, &so, extra, nextra, err, errlen) != 0)
            return failed(r, 1);
    }
    const sc_scenario *s = r->s;
    sim_state st;
    if (sim_state_init(&st, s, s->paths, spec->keep) != 0) {
        snprintf(err, errlen, "out of memory");
        return failed(r, 1);
    }
    uint64_t blo = 0, bhi = st.nblocks;
    if (spec->shard_n)
        pt_shard_blocks(st.nblocks, spec->shard_i, spec->shard_n, &blo, &bhi);
    uint64_t first_path = blo * SIM_BLOCK;
    uint64_t end_path = bhi * SIM_BLOCK < s->paths ? bhi * SIM_BLOCK : s->paths;
    run_file fp = { .s = s, .out = out, .cmdline = spec->cmdline, .threads = nthreads,
                    .processes = 1, .per_path = spec->per_path, .K = st.K,
                    .rows = end_path - first_path, .first_path = first_path,
                    .shard = spec->shard_n > 0, .shard_index = spec->shard_i,
                    .shard_count = spec->shard_n, .stop = spec->stop,
                    .interrupt = spec->interrupt };
    backtest bt = { 0 };
    int rc = 1;
    if (spec->observations && backtest_open(&bt, r, spec->observations, s, err, errlen) != 0)
        goto done;
    if (spec->condition) {
        if (ob_load(&r->cond, spec->condition, s, err, errlen) != 0)
            goto done;
        if (sim_state_weigh(&st, r->cond->n) != 0) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        if (s->paths > SIM_WMAX_PATHS) {
            snprintf(err, errlen, "--condition: a conditioned run takes at most 2^31 paths "
                                  "(its weights are summed exactly in 64 bits); got %llu",
                     (unsigned long long)s->paths);
            goto done;
        }
        fp.cond = r->cond;
    }
    /* The file is created before any path runs, so an unwritable output
     * fails in a second, not after an hour. */
    ho_file *h5 = run_open_file(&fp, err, errlen);
    if (h5)
        rc = drive(s, &st, h5, &fp, blo, bhi, spec, t0, bt.probes, bt.x, r);
done:
    backtest_free(&bt);
    sim_state_free(&st);
    return rc == 1 ? failed(r, 1) : rc;
}

int run_resume(const char *path, const run_spec *spec, run_result *r)
{
    memset(r, 0, sizeof *r);
    r->out = path;
    r->quiet = spec->quiet;
    char *err = r->err;
    size_t errlen = sizeof r->err;
    pt_part p;
    int rc = 1;
    ho_file *h5 = NULL;
    if (pt_open(&p, path, err, errlen) != 0 || pt_check_resume(&p, err, errlen) != 0)
        goto done;
    int nthreads = spec->threads ? spec->threads : omp_get_max_threads();
    run_file fp = { .s = p.s, .out = path, .cmdline = spec->cmdline, .threads = nthreads,
                    .processes = 1, .per_path = p.per_path, .K = p.st.K,
                    .rows = p.rows, .first_path = p.first_path, .shard = p.is_shard,
                    .shard_index = p.shard_index, .shard_count = p.shard_count,
                    .cond = p.cond, .stop = spec->stop, .interrupt = spec->interrupt };
    h5 = run_open_file(&fp, err, errlen);
    if (!h5)
        goto done;
    /* The rows the checkpoint has, then the rest of the run. */
    run_sink sink = { h5, p.first_path, spec->interrupt };
    if (fp.per_path != HO_PER_PATH_NONE
        && pt_copy_paths(&p, fp.per_path == HO_PER_PATH_ALL, run_sink_paths, &sink, err,
                         errlen) != 0)
        goto done;
    pt_close_file(&p);
    if (!spec->quiet)
        note(&spec->hooks, "resuming %s: %llu of %llu paths done", path,
             (unsigned long long)sim_state_paths_done(&p.st), (unsigned long long)p.rows);
    /* the result keeps the scenario and the observations */
    r->s = p.s;
    r->cond = p.cond;
    p.s = NULL;
    p.cond = NULL;
    ho_file *f = h5;
    h5 = NULL;
    rc = drive(r->s, &p.st, f, &fp, p.blo, p.bhi, spec, omp_get_wtime(), NULL, NULL, r);
done:
    ho_discard(h5);
    pt_close(&p);
    return rc == 1 ? failed(r, 1) : rc;
}

int run_rerun(const char *stored, const char *out, const run_spec *spec, run_result *r)
{
    memset(r, 0, sizeof *r);
    r->out = out;
    r->quiet = spec->quiet;
    char *err = r->err, name[4200];
    size_t errlen = sizeof r->err;
    hr_file *hf = hr_open(stored, err, errlen);
    if (!hf)
        return failed(r, 1);
    uint64_t complete = 0, K = 0, one;
    char *src = NULL, *ov = NULL;
    sc_override *set = NULL;
    char **strings = NULL;
    size_t nstrings = 0;
    int rc = 1;
    const char *why = hr_attr_exists(hf, "observations_yaml")
                          ? "a conditioned run: re-run its scenario with --condition and the "
                            "observations (attribute observations_yaml)"
                    : hr_exists(hf, "backtest") ? "a backtest: run runway backtest again"
                    : hr_attr_exists(hf, "shard_count") ? "a shard: merge the shards first"
                    : NULL;
    if (why) {
        snprintf(err, errlen, "%s: cannot rerun %s", stored, why);
        goto done;
    }
    if (hr_attr_u64(hf, "complete", &complete, err, errlen) != 0)
        goto done;
    if (complete != 1) {
        snprintf(err, errlen, "%s: not a complete run (a checkpoint: runway run --resume)", stored);
        goto done;
    }
    /* A file from before scenario_source was recorded: its scenario as
     * run, with nothing to apply on top. */
    int has_source = hr_attr_exists(hf, "scenario_source") && hr_attr_exists(hf, "overrides");
    if (!(src = hr_attr_str(hf, has_source ? "scenario_source" : "scenario_yaml", err, errlen))
        || (has_source && !(ov = hr_attr_str(hf, "overrides", err, errlen))))
        goto done;
    run_spec rs = *spec;
    if (sc_parse_overrides(ov ? ov : "", &rs.so, &set, &strings, &nstrings, err, errlen) != 0)
        goto done;
    if (hr_shape(hf, "kept_path", &K, &one, err, errlen) != 0)
        goto done;
    rs.keep = (size_t)K;
    rs.per_path = !hr_exists(hf, "paths/fail_year") ? HO_PER_PATH_NONE
                : hr_exists(hf, "paths/inputs")     ? HO_PER_PATH_ALL
                                                    : HO_PER_PATH_OUTCOMES;
    rs.scenario_text = src;
    hr_close(hf);
    hf = NULL;
    snprintf(name, sizeof name, "%s (%s)", stored, has_source ? "scenario_source" : "scenario_yaml");
    rc = run_one(name, NULL, 0, out, &rs, r);
    r->out = out;
done:
    hr_close(hf);
    free(src);
    free(ov);
    sc_overrides_free(set, strings, nstrings);
    return rc == 1 ? failed(r, 1) : rc;
}
