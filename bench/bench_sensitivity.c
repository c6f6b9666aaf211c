/* bench_sensitivity: the fixed cost of the sensitivity indices and swings
 * (engine/sensitivity.h) against the run they come from.
 *
 *   bench_sensitivity [SCENARIO] [PATHS] [THREADS]
 *   (default scenarios/baseline.yaml, 100000, OpenMP's default)
 *
 * CPU times (all threads), each the best of bench_repeat() rounds: the
 * sampler over PATHS
 * paths (sim_accumulate), its summaries (sim_finalize, which includes the
 * rank correlations and the sensitivity figures), and sn_survival alone on
 * the same sample; prints the last as a share of sampler + summaries. The
 * issue's bound: fixed costs under 10% of a 10^5-path run.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <gsl/gsl_errno.h>

#include "engine/scenario.h"
#include "engine/sensitivity.h"
#include "engine/sim.h"
#include "engine/state.h"

#include "bench_common.h"

/* CPU seconds of the whole process (all threads): on a shared machine
 * less disturbed by other jobs than the wall clock, and what the run
 * costs in core time. */
static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "scenarios/baseline.yaml";
    uint64_t N = argc > 2 ? strtoull(argv[2], NULL, 10) : 100000;
    int threads = argc > 3 ? atoi(argv[3]) : omp_get_max_threads();
    char err[512];
    gsl_set_error_handler_off();
    sc_scenario *s = NULL;
    if (sc_load(&s, path, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "bench_sensitivity: %s\n", err);
        return 1;
    }
    double best_run = 1e300, best_fin = 1e300, best_sn = 1e300;
    int rc = 0;
    for (int r = 0; r < bench_repeat() && rc == 0; r++) {
        sim_state st;
        sim_result res;
        sim_options o = {0};
        o.paths = N;
        o.seed = s->seed;
        o.threads = threads;
        if (sim_state_init(&st, s, N, 0) != 0) {
            fprintf(stderr, "bench_sensitivity: out of memory\n");
            return 1;
        }
        double t0 = cpu();
        rc = sim_accumulate(&st, s, &o, 0, st.nblocks, err, sizeof err);
        double t1 = cpu();
        rc = rc || sim_finalize(&st, s, threads, &res, err, sizeof err);
        double t2 = cpu();
        if (rc == 0) {
            double *a = malloc(res.L * res.T * res.I * sizeof *a);
            double *b = malloc(res.L * res.T * res.I * sizeof *b);
            double *g = malloc(res.L * res.T * (res.G ? res.G : 1) * sizeof *g);
            sn_data d = {st.NS, st.I, st.L, st.T, st.col_in, st.col_fy, NULL, res.input_group,
                         res.G, NULL, 0, 1};
            double t3 = cpu();
            rc = !a || !b || !g || sn_survival(&d, threads, a, b, g) != 0;
            double t4 = cpu();
            best_sn = t4 - t3 < best_sn ? t4 - t3 : best_sn;
            free(a); free(b); free(g);
            sim_result_free(&res);
        }
        best_run = t1 - t0 < best_run ? t1 - t0 : best_run;
        best_fin = t2 - t1 < best_fin ? t2 - t1 : best_fin;
        sim_state_free(&st);
    }
    if (rc) {
        fprintf(stderr, "bench_sensitivity: %s\n", err);
        sc_free(s);
        return 1;
    }
    printf("%s: %llu paths, %zu labs x %d years x %zu inputs, %d threads\n", s->name,
           (unsigned long long)N, s->nlabs, s->horizon, s->ninputs, threads);
    printf("CPU: sampler %.3f s, summaries %.3f s (of which sensitivity indices and swings %.3f s): "
           "%.1f%% of the run\n", best_run, best_fin, best_sn,
           100.0 * best_sn / (best_run + best_fin));
    sc_free(s);
    return 0;
}
