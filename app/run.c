/* run: one scenario run to one result file (see run.h). */
#include "app/run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omp.h>

#include "output/h5evidence.h"
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

/* Largest distance from a survival estimate to either end of its interval
 * at the horizon, over labs. */
static double horizon_halfwidth(const sim_result *r)
{
    double hw = 0.0;
    for (size_t l = 0; l < r->L; l++) {
        size_t i = l * r->T + r->T - 1;
        double a = r->survival[i] - r->survival_lo[i], b = r->survival_hi[i] - r->survival[i];
        hw = a > hw ? a : hw;
        hw = b > hw ? b : hw;
    }
    return hw;
}

/* --target-halfwidth: the path count at which the widest survival interval
 * at the horizon is narrow enough. Every trial depends only on (scenario,
 * seed, N), so the count found, and the file, depend on them alone. An
 * interrupted search fails with no message. */
static int find_paths(const sc_scenario *s, const run_spec *spec, int threads, uint64_t *N,
                      char *err, size_t errlen)
{
    uint64_t n = s->paths;
    double target = spec->target_hw;
    for (;;) {
        sim_options topt = { .paths = n, .seed = s->seed, .threads = threads };
        sim_result tr;
        if (sim_run(s, &topt, &tr, err, errlen) != 0)
            return -1;
        double hw = horizon_halfwidth(&tr);
        sim_result_free(&tr);
        if (!spec->quiet)
            note(&spec->hooks, "%llu paths: widest half-interval at the horizon %.5f (target %.5f)",
                 (unsigned long long)n, hw, target);
        int stopped = spec->interrupt && *spec->interrupt;
        if (hw <= target || stopped) {
            *N = n;
            err[0] = 0;
            return stopped ? -1 : 0;
        }
        /* The half-width falls as 1/sqrt(N): aim 10% past the target,
         * at least doubling, in whole blocks. */
        double f = (hw / target) * (hw / target) * 1.1;
        uint64_t next = (uint64_t)((double)n * (f > 2.0 ? f : 2.0));
        next = (next + SIM_BLOCK - 1) / SIM_BLOCK * SIM_BLOCK;
        if (next > ((uint64_t)1 << 40)) {
            snprintf(err, errlen, "--target-halfwidth %g would need more than 2^40 paths", target);
            return -1;
        }
        n = next;
    }
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
    ho_file *h5 = NULL;
    if (!labn || !inn || !kept) {
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
    if (run_load(&r->s, scenario, &spec->so, extra, nextra, err, errlen) != 0)
        return failed(r, 1);
    int nthreads = spec->threads ? spec->threads : omp_get_max_threads();
    double t0 = omp_get_wtime();
    if (spec->target_hw > 0.0) {
        uint64_t N;
        if (find_paths(r->s, spec, nthreads, &N, err, errlen) != 0)
            return failed(r, 1);
        /* Reload with the count found, so scenario_yaml records it. */
        sc_options so = spec->so;
        so.has_paths = 1;
        so.paths = N;
        sc_free(r->s);
        r->s = NULL;
        if (run_load(&r->s, scenario, &so, extra, nextra, err, errlen) != 0)
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
