/* bench_runway: throughput of the sampler on a scenario.
 *
 *   bench_runway [SCENARIO] [PATHS]   (default scenarios/baseline.yaml, 200000)
 *
 * Prints, from one run: ns per lab-year and paths per second at 1 thread
 * and at every doubling up to all cores, the speed-up over 1 thread, and
 * the time to draw the same random numbers alone (the floor the engine is
 * compared against). Summaries and per-path outcomes are computed in full;
 * no file is written here (HDF5 write throughput is measured separately).
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>

#include "engine/model.h"
#include "engine/scenario.h"
#include "engine/sim.h"
#include "rng/rng_stream.h"

/* Sink that only touches the block, as a writer would read it. */
static int sink(void *ctx, uint64_t first, uint64_t count, const ho_paths *b,
                char *err, size_t errlen)
{
    (void)first; (void)err; (void)errlen;
    volatile double *sum = ctx;
    *sum += b->final_cash[0] + (double)count;
    return 0;
}

/* The random numbers a path of the model needs, drawn alone: its inputs
 * (with the copula), then per year the sentiment normal, and per lab-year
 * an execution normal and a funding uniform. */
static double draw_only(const sc_scenario *s, uint64_t N, int threads)
{
    char err[256];
    md_plan *p = md_plan_create(s, s->seed, err, sizeof err);
    rs_key ks = rs_key_make(s->seed, rs_stream_id("sentiment", "market"));
    rs_key ke = rs_key_make(s->seed, rs_stream_id("exec", s->labs[0].name));
    rs_key kf = rs_key_make(s->seed, rs_stream_id("funding", s->labs[0].name));
    double t0 = omp_get_wtime(), sink_sum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink_sum)
    {
        double labv[s->nlabs * SC_LAB_NKEYS];
        md_values v = { .lab = labv };
#pragma omp for schedule(dynamic, 1024)
        for (uint64_t path = 0; path < N; path++) {
            md_draw_inputs(p, path, &v, NULL);
            for (int t = 1; t <= s->horizon; t++) {
                sink_sum += rs_normal(ks, path, (uint32_t)t, 0);
                for (size_t l = 0; l < s->nlabs; l++) {
                    sink_sum += rs_normal(ke, path, (uint32_t)t, (uint32_t)l);
                    sink_sum += rs_uniform(kf, path, (uint32_t)t, (uint32_t)l);
                }
            }
        }
    }
    double secs = omp_get_wtime() - t0;
    md_plan_free(p);
    if (sink_sum == 42.0)
        puts("");
    return secs;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    const char *path = argc > 1 ? argv[1] : "scenarios/baseline.yaml";
    uint64_t N = argc > 2 ? strtoull(argv[2], NULL, 10) : 200000;
    char err[1024];
    sc_scenario *s;
    if (sc_load(&s, path, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "bench_runway: %s\n", err);
        return 1;
    }
    int maxt = omp_get_num_procs();
    double ly = (double)N * (double)s->nlabs * s->horizon;
    printf("runway %s bench: %s, %zu labs x %d years x %llu paths = %.3g lab-years, %d cores\n",
           RUNWAY_VERSION, s->name, s->nlabs, s->horizon, (unsigned long long)N, ly, maxt);
    printf("%-24s %8s %10s %14s %12s %9s\n", "work", "threads", "seconds", "ns/lab-year",
           "paths/s", "speed-up");
    double t1 = 0;
    for (int th = 1; th <= maxt; th = th * 2 <= maxt || th == maxt ? th * 2 : maxt) {
        volatile double acc = 0;
        sim_options o = { .paths = N, .seed = s->seed, .threads = th, .keep = 0,
                          .on_paths = sink, .ctx = (void *)&acc };
        sim_result r;
        double t0 = omp_get_wtime();
        if (sim_run(s, &o, &r, err, sizeof err) != 0) {
            fprintf(stderr, "bench_runway: %s\n", err);
            return 1;
        }
        double secs = omp_get_wtime() - t0;
        if (th == 1)
            t1 = secs;
        printf("%-24s %8d %10.3f %14.2f %12.0f %9.2f\n", "simulate + summarise", th, secs,
               1e9 * secs * th / ly, (double)N / secs, t1 / secs);
        sim_result_free(&r);
        if (th == maxt)
            break;
    }
    double rs1 = draw_only(s, N, 1);
    printf("%-24s %8d %10.3f %14.2f %12.0f\n", "random numbers alone", 1, rs1, 1e9 * rs1 / ly,
           (double)N / rs1);
    printf("ratio simulate/random-numbers-alone at 1 thread: %.2f\n", t1 / rs1);
    printf("(ns/lab-year is per core: seconds x threads / lab-years)\n");
    sc_free(s);
    return 0;
}
