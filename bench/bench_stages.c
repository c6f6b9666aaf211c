/* bench_stages: where one thread's time goes, stage by stage.
 *
 *   bench_stages [SCENARIO] [PATHS]   (default scenarios/baseline.yaml, 1000000)
 *
 * Times, at one thread, on the same paths:
 *  1. the random numbers alone (kn_draw_only: Philox, inverse CDFs);
 *  2. the vectorised model (kn_run: the draws plus every lab-year);
 *  3. the whole sampler (sim_run: kn_run, the sketches and counts, the
 *     rank correlations, per-path outcomes handed to a sink);
 *  4. the whole sampler with summaries only (no sink, as `runway run
 *     --per-path none`), and its ratio to stage 1 (issue 19's target:
 *     at most 2.5);
 *  5. of that run, the fixed costs: sim_finalize (the quantiles read off
 *     the sketches, the rank correlations of the sample) against the
 *     paths' simulation and summaries (issue 19: at most 10% of a
 *     10^5-path run);
 * and prints each in ns per lab-year, with the difference between
 * successive stages, so an optimisation can be aimed at the stage that
 * dominates. bench_runway gives the headline figures.
 *
 * Each stage's time is the best of BENCH_REPEAT rounds (default 3), the
 * three stages timed in turn within a round, so that a busy spell of a
 * shared machine costs one round, not one stage's figure: a difference
 * of two stages is only worth reading when both are undisturbed.
 *
 * BENCH_CLOCK=cpu times the process's CPU seconds instead of the wall
 * clock: on a machine shared with other work, a stage waiting for a core
 * is then not charged for the wait (everything here runs on one thread).
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>

#include "engine/kernel.h"
#include "engine/model.h"
#include "engine/scenario.h"
#include "engine/sim.h"
#include "engine/state.h"

#include "bench_common.h"

static int use_cpu_clock;

static double now(void)
{
    if (!use_cpu_clock)
        return omp_get_wtime();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef void (*kernel_fn)(const md_plan *, kn_work *, uint64_t, size_t);

static double time_kernel(const md_plan *p, kernel_fn fn, uint64_t N)
{
    kn_work *w = kn_work_create(p);
    if (!w)
        return -1.0;
    double t0 = now();
    for (uint64_t first = 0; first < N; first += KN_LANES)
        fn(p, w, first, N - first < KN_LANES ? (size_t)(N - first) : KN_LANES);
    double dt = now() - t0;
    kn_work_free(w);
    return dt;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    const char *clk = getenv("BENCH_CLOCK");
    use_cpu_clock = clk && !strcmp(clk, "cpu");
    const char *path = argc > 1 ? argv[1] : "scenarios/baseline.yaml";
    uint64_t N = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
    char err[1024];
    sc_scenario *s;
    if (sc_load(&s, path, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "bench_stages: %s\n", err);
        return 1;
    }
    md_plan *p = md_plan_create(s, s->seed, err, sizeof err);
    if (!p) {
        fprintf(stderr, "bench_stages: %s\n", err);
        return 1;
    }
    double ly = (double)N * (double)s->nlabs * s->horizon;
    const int repeat = bench_repeat();
    double draw = 0, kern = 0, full = 0, none = 0, part = 0, fin = 0;
    for (int k = 0; k < repeat; k++) {
        double d = time_kernel(p, kn_draw_only, N);
        double kr = time_kernel(p, kn_run, N);
        volatile double acc = 0;
        sim_options o = { .paths = N, .seed = s->seed, .threads = 1, .on_paths = bench_sink_touch,
                          .ctx = (void *)&acc };
        sim_result r;
        double t0 = now();
        if (d < 0 || kr < 0 || sim_run(s, &o, &r, err, sizeof err) != 0) {
            fprintf(stderr, "bench_stages: %s\n", d < 0 || kr < 0 ? "out of memory" : err);
            return 1;
        }
        double f = now() - t0;
        sim_result_free(&r);
        sim_options on = { .paths = N, .seed = s->seed, .threads = 1 };
        t0 = now();
        if (sim_run(s, &on, &r, err, sizeof err) != 0) {
            fprintf(stderr, "bench_stages: %s\n", err);
            return 1;
        }
        double fn = now() - t0;
        sim_result_free(&r);
        none = k == 0 || fn < none ? fn : none;
        /* the same run in its two parts */
        sim_state st;
        t0 = now();
        if (sim_state_init(&st, s, N, 0) != 0
            || sim_accumulate(&st, s, &on, 0, st.nblocks, err, sizeof err) != 0) {
            fprintf(stderr, "bench_stages: %s\n", err);
            return 1;
        }
        double t1 = now();
        if (sim_finalize(&st, s, 1, &r, err, sizeof err) != 0) {
            fprintf(stderr, "bench_stages: %s\n", err);
            return 1;
        }
        double t2 = now();
        sim_result_free(&r);
        sim_state_free(&st);
        part = k == 0 || t1 - t0 < part ? t1 - t0 : part;
        fin = k == 0 || t2 - t1 < fin ? t2 - t1 : fin;
        draw = k == 0 || d < draw ? d : draw;
        kern = k == 0 || kr < kern ? kr : kern;
        full = k == 0 || f < full ? f : full;
    }
    printf("runway bench_stages: %s, %llu paths x %zu labs x %d years, 1 thread, best of %d, "
           "%s seconds\n", s->name, (unsigned long long)N, s->nlabs, s->horizon, repeat,
           use_cpu_clock ? "CPU" : "wall-clock");
    printf("%-44s %9s %12s\n", "stage", "seconds", "ns/lab-year");
    printf("%-44s %9.3f %12.2f\n", "random numbers alone (kn_draw_only)", draw, 1e9 * draw / ly);
    printf("%-44s %9.3f %12.2f\n", "  model arithmetic on top (kn_run - draws)", kern - draw,
           1e9 * (kern - draw) / ly);
    printf("%-44s %9.3f %12.2f\n", "vectorised model (kn_run)", kern, 1e9 * kern / ly);
    printf("%-44s %9.3f %12.2f\n", "  summaries on top (sim_run - kn_run)", full - kern,
           1e9 * (full - kern) / ly);
    printf("%-44s %9.3f %12.2f\n", "whole sampler (sim_run)", full, 1e9 * full / ly);
    printf("%-44s %9.3f %12.2f\n", "summaries only, no sink (--per-path none)", none,
           1e9 * none / ly);
    printf("%-44s %9.2f\n", "  that / random numbers alone (target <= 2.5)", none / draw);
    printf("%-44s %9.3f %12.2f\n", "  its paths (sim_accumulate)", part, 1e9 * part / ly);
    printf("%-44s %9.3f %12.2f\n", "  its fixed costs (sim_finalize)", fin, 1e9 * fin / ly);
    printf("%-44s %8.1f%%\n", "  fixed costs' share (target <= 10% at 10^5)", 100.0 * fin / (part + fin));
    md_plan_free(p);
    sc_free(s);
    return 0;
}
