/* bench_runway: throughput of the sampler on a scenario.
 *
 *   bench_runway [SCENARIO] [PATHS]   (default scenarios/baseline.yaml, 1000000)
 *
 * Prints, from one run, on this machine:
 *  - simulate + summarise (summaries, rank correlations, per-path outcomes
 *    handed to a sink that reads them): ns per lab-year per core and paths
 *    per second at 1 thread and at each doubling up to all cores, and the
 *    speed-up over 1 thread;
 *  - the floor: the same random numbers drawn alone by the same vectorised
 *    code (kn_draw_only), and the same per-path data written alone to an
 *    HDF5 file (MB/s);
 *  - the whole run (simulate + write the file) against that floor;
 *  - the ceiling for the speed-up: as many copies of the one-thread run
 *    as cores, at once, in separate processes. They share nothing but
 *    the machine, so copies x (one run's time) / (their time) is the
 *    speed-up the hardware gives (a virtual machine's cores can share a
 *    physical core, its caches or its clock); the threads' speed-up is
 *    read against it.
 * ns/lab-year per core = seconds x threads / (paths x labs x years).
 * Each time is the best of BENCH_REPEAT runs (default 3): on a shared or
 * virtual machine a single run can be 10% off, and the fastest run is the
 * one least disturbed. Column "spread" is how much slower the slowest of
 * them was: a large one says the machine was busy, and figures from that
 * run deserve less trust.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>

#include "engine/kernel.h"
#include "engine/model.h"
#include "engine/scenario.h"
#include "engine/sim.h"
#include "output/h5out.h"

#include "bench_common.h"

static int sink_write(void *ctx, uint64_t first, uint64_t count, const ho_paths *b,
                      char *err, size_t errlen)
{
    return ho_write_paths(ctx, first, count, b, err, errlen);
}

static double draw_only(const sc_scenario *s, uint64_t N, int threads)
{
    char err[256];
    md_plan *p = md_plan_create(s, s->seed, err, sizeof err);
    double t0 = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        kn_work *w = kn_work_create(p);
#pragma omp for schedule(dynamic, 8)
        for (uint64_t b = 0; b < (N + KN_LANES - 1) / KN_LANES; b++) {
            uint64_t first = b * KN_LANES;
            size_t n = N - first < KN_LANES ? (size_t)(N - first) : KN_LANES;
            kn_draw_only(p, w, first, n);
        }
        kn_work_free(w);
    }
    double secs = omp_get_wtime() - t0;
    md_plan_free(p);
    return secs;
}

static ho_meta meta_for(const sc_scenario *s, uint64_t N, const char **labn, const char **inn)
{
    for (size_t l = 0; l < s->nlabs; l++)
        labn[l] = s->labs[l].name;
    for (size_t i = 0; i < s->ninputs; i++)
        inn[i] = s->inputs[i].name;
    return (ho_meta){ .title = "bench", .scenario_name = s->name, .scenario_yaml = s->yaml_text,
                      .version = RUNWAY_VERSION, .created = "", .command_line = "bench",
                      .seed = s->seed, .paths = N, .horizon = s->horizon,
                      .base_year = s->base_year, .threads = 1, .processes = 1,
                      .nlabs = s->nlabs, .lab_names = labn, .ninputs = s->ninputs,
                      .input_names = inn, .per_path = HO_PER_PATH_ALL };
}

/* Writes N paths of synthetic per-path data: the writer's cost alone. */
static double write_only(const sc_scenario *s, uint64_t N, const char *path, double *mb)
{
    char err[512];
    const char *labn[s->nlabs], *inn[s->ninputs ? s->ninputs : 1];
    ho_meta m = meta_for(s, N, labn, inn);
    size_t L = s->nlabs, I = s->ninputs, B = SIM_BLOCK;
    int32_t *fy = calloc(B * L, 4), *py = calloc(B * L, 4);
    int8_t *oc = calloc(B * L, 1);
    double *fc = malloc(B * L * 8), *rt = malloc(B * L * 8), *in = malloc(B * (I ? I : 1) * 8);
    for (size_t i = 0; i < B * L; i++) {
        fc[i] = sin((double)i) * 40;
        rt[i] = cos((double)i) * 20;
        fy[i] = (int32_t)(i % 11);
        oc[i] = (int8_t)(i % 3);
    }
    for (size_t i = 0; i < B * I; i++)
        in[i] = exp(sin((double)i * 1.7));
    double t0 = omp_get_wtime();
    ho_file *f = ho_create(path, &m, err, sizeof err);
    ho_paths blk = { fy, oc, py, fc, rt, in, NULL };
    for (uint64_t first = 0; f && first < N; first += B) {
        uint64_t c = N - first < B ? N - first : B;
        if (ho_write_paths(f, first, c, &blk, err, sizeof err) != 0) {
            fprintf(stderr, "bench: %s\n", err);
            break;
        }
    }
    ho_discard(f);
    double secs = omp_get_wtime() - t0;
    *mb = (double)N * (double)(L * (4 + 1 + 4 + 8 + 8) + I * 8) / 1e6;
    free(fy); free(py); free(oc); free(fc); free(rt); free(in);
    return secs;
}

/* The whole run at `threads`: simulate and write the file, as runway run. */
static double full_run(const sc_scenario *s, uint64_t N, int threads, const char *path)
{
    char err[512];
    const char *labn[s->nlabs], *inn[s->ninputs ? s->ninputs : 1];
    ho_meta m = meta_for(s, N, labn, inn);
    m.threads = threads;
    double t0 = omp_get_wtime();
    ho_file *f = ho_create(path, &m, err, sizeof err);
    sim_options o = { .paths = N, .seed = s->seed, .threads = threads, .on_paths = sink_write, .ctx = f };
    sim_result r;
    if (!f || sim_run(s, &o, &r, err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        ho_discard(f);
        return NAN;
    }
    ho_summary sum;
    ho_summary_view(&r, &sum);
    ho_write_summary(f, &sum, err, sizeof err);
    ho_traj tr = { 0 };
    ho_write_traj(f, &tr, err, sizeof err);
    ho_discard(f); /* the cost is in; the file is not needed */
    sim_result_free(&r);
    return omp_get_wtime() - t0;
}

static int g_repeat; /* bench_repeat(), set in main before any timing */
static double g_spread; /* of the last BEST: slowest / fastest - 1 */
/* The smallest of g_repeat evaluations of expression e (a time in s; a
 * negative or NaN time, a failure, is kept), and their spread. */
#define BEST(var, e) do { \
        var = (e); \
        double w_ = var; \
        for (int r_ = 1; r_ < g_repeat && var >= 0; r_++) { \
            double t_ = (e); \
            w_ = t_ > w_ ? t_ : w_; \
            var = t_ < var || !(t_ >= 0) ? t_ : var; \
        } \
        g_spread = var > 0 ? w_ / var - 1.0 : 0.0; \
    } while (0)

/* Seconds of one simulate + summarise run at `threads` (-1 on failure). */
static double sim_time(const sc_scenario *s, uint64_t N, int threads)
{
    char err[1024];
    volatile double acc = 0;
    sim_options o = { .paths = N, .seed = s->seed, .threads = threads, .on_paths = bench_sink_touch,
                      .ctx = (void *)&acc };
    sim_result r;
    double t0 = omp_get_wtime();
    if (sim_run(s, &o, &r, err, sizeof err) != 0) {
        fprintf(stderr, "bench_runway: %s\n", err);
        return -1.0;
    }
    double secs = omp_get_wtime() - t0;
    sim_result_free(&r);
    return secs;
}

/* Wall time of k one-thread simulate + summarise runs of N paths each,
 * at once, in k child processes. Forked before the parent has started
 * any OpenMP thread (libgomp's thread pool does not survive a fork). */
static double independent_runs(const sc_scenario *s, uint64_t N, int k)
{
    double t0 = omp_get_wtime();
    int bad = 0, st;
    for (int c = 0; c < k && !bad; c++) { /* each the same work as the one-thread run */
        pid_t pid = fork();
        bad |= pid < 0; /* the children started are still waited for */
        if (pid == 0) {
            char err[256];
            volatile double acc = 0;
            sim_options o = { .paths = N, .seed = s->seed, .threads = 1, .on_paths = bench_sink_touch,
                              .ctx = (void *)&acc };
            sim_result r;
            int rc = sim_run(s, &o, &r, err, sizeof err);
            _exit(rc != 0);
        }
    }
    while (wait(&st) > 0)
        bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    return bad ? -1.0 : omp_get_wtime() - t0;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    const char *path = argc > 1 ? argv[1] : "scenarios/baseline.yaml";
    uint64_t N = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
    char err[1024], tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/runway-bench-%ld.h5", (long)getpid());
    sc_scenario *s;
    if (sc_load(&s, path, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "bench_runway: %s\n", err);
        return 1;
    }
    int maxt = omp_get_num_procs();
    g_repeat = bench_repeat();
    double ly = (double)N * (double)s->nlabs * s->horizon;
    printf("runway %s bench: %s, %zu labs x %d years x %llu paths = %.3g lab-years, %zu drawn inputs, %d cores, best of %d\n",
           RUNWAY_VERSION, s->name, s->nlabs, s->horizon, (unsigned long long)N, ly, s->ninputs, maxt,
           g_repeat);
    printf("built with %s\n", RUNWAY_BENCH_ISA);
    double tind = 0.0, sind = 0.0;
    if (maxt > 1) {
        BEST(tind, independent_runs(s, N, maxt));
        sind = g_spread;
    }
    if (tind < 0) {
        fprintf(stderr, "bench_runway: an independent run failed\n");
        return 1;
    }
    printf("%-34s %7s %9s %7s %12s %11s %8s\n", "work", "threads", "seconds", "spread", "ns/lab-year",
           "paths/s", "speed-up");
    double t1 = 0, tlast = 0;
    for (int th = 1;; th = th * 2 < maxt ? th * 2 : maxt) {
        double secs;
        BEST(secs, sim_time(s, N, th));
        if (secs < 0)
            return 1;
        if (th == 1)
            t1 = secs;
        tlast = secs;
        printf("%-34s %7d %9.3f %6.0f%% %12.2f %11.0f %8.2f\n", "simulate + summarise", th, secs,
               100 * g_spread, 1e9 * secs * th / ly, (double)N / secs, t1 / secs);
        if (th == maxt)
            break;
    }
    if (maxt > 1) {
        double ceil = maxt * t1 / tind;
        printf("%-34s %7d %9.3f %6.0f%% %12.2f %11.0f %8.2f\n", "copies of the 1-thread run at once",
               maxt, tind, 100 * sind, 1e9 * tind / ly, maxt * (double)N / tind, ceil);
        printf("(%d processes sharing nothing but the machine: the hardware's ceiling for the\n"
               " speed-up; the threads reach %.0f%% of it)\n", maxt, 100.0 * (t1 / tlast) / ceil);
    }
    double rs1;
    BEST(rs1, draw_only(s, N, 1));
    printf("%-34s %7d %9.3f %6.0f%% %12.2f %11.0f\n", "random numbers alone (floor)", 1, rs1,
           100 * g_spread, 1e9 * rs1 / ly, (double)N / rs1);
    double mb, wsec;
    BEST(wsec, write_only(s, N, tmp, &mb));
    printf("%-34s %7d %9.3f %6.0f%% %12.2f %11.0f   %.0f MB/s (%.0f MB raw)\n",
           "per-path HDF5 writes alone", 1, wsec, 100 * g_spread, 1e9 * wsec / ly, (double)N / wsec,
           mb / wsec, mb);
    double full;
    BEST(full, full_run(s, N, 1, tmp));
    printf("%-34s %7d %9.3f %6.0f%% %12.2f %11.0f\n", "whole run: simulate + write file", 1, full,
           100 * g_spread, 1e9 * full / ly, (double)N / full);
    if (maxt > 1) { /* the sampler's threads compress their own chunks */
        double fullm;
        BEST(fullm, full_run(s, N, maxt, tmp));
        printf("%-34s %7d %9.3f %6.0f%% %12.2f %11.0f %8.2f\n", "whole run: simulate + write file",
               maxt, fullm, 100 * g_spread, 1e9 * fullm * maxt / ly, (double)N / fullm,
               full / fullm);
    }
    printf("ratio simulate/random-numbers-alone (1 thread):           %.2f\n", t1 / rs1);
    printf("ratio whole run/(random numbers + writes alone) (1 thread): %.2f\n", full / (rs1 + wsec));
    unlink(tmp);
    sc_free(s);
    return 0;
}
