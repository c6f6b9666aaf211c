/* bench_ranks: the ranking that the rank correlations and the
 * sensitivity indices share (st_ranks), on the columns of a real run's
 * rank-correlation sample.
 *
 *   bench_ranks [SCENARIO] [PATHS]
 *   (default scenarios/baseline.yaml, 100000; the sample holds
 *   min(PATHS, 2^18) paths)
 *
 * Runs the sampler (1 thread), copies out each drawn input's column and
 * each lab's final cash, then times st_ranks on every column, the best
 * of bench_repeat() rounds; prints ns per value for the inputs and for
 * the final cash (which holds crowds of zeros and both signs). The
 * ranking is the largest of sim_finalize's fixed costs (bench_stages).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>

#include "engine/scenario.h"
#include "engine/sim.h"
#include "engine/state.h"
#include "engine/stats.h"

#include "bench_common.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best seconds over bench_repeat() rounds to rank the nc columns of col
 * (n values each) into r. */
static double time_ranks(size_t n, size_t nc, const double *col, double *r, size_t *scratch)
{
    double best = 1e300;
    for (int rep = 0; rep < bench_repeat(); rep++) {
        double t0 = now();
        for (size_t c = 0; c < nc; c++)
            if (st_ranks(n, col + c * n, 1, r, scratch) != 0)
                return -1.0;
        double t = now() - t0;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "scenarios/baseline.yaml";
    uint64_t N = argc > 2 ? strtoull(argv[2], NULL, 10) : 100000;
    char err[512];
    gsl_set_error_handler_off();
    sc_scenario *s = NULL;
    if (sc_load(&s, path, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "bench_ranks: %s\n", err);
        return 1;
    }
    sim_state st;
    sim_options o = {0};
    o.paths = N;
    o.seed = s->seed;
    o.threads = 1;
    if (sim_state_init(&st, s, N, 0) != 0
        || sim_accumulate(&st, s, &o, 0, st.nblocks, err, sizeof err) != 0) {
        fprintf(stderr, "bench_ranks: %s\n", st.NS ? err : "out of memory");
        sc_free(s);
        return 1;
    }
    const size_t n = st.NS, I = st.I, L = st.L;
    double *in = malloc(n * (I ? I : 1) * sizeof *in), *cash = malloc(n * L * sizeof *cash);
    double *r = malloc(n * sizeof *r);
    size_t *scratch = malloc(2 * n * sizeof *scratch);
    int rc = 1;
    if (in && cash && r && scratch && I) {
        memcpy(in, st.col_in, n * I * sizeof *in); /* [I][NS] */
        for (size_t p = 0; p < n; p++)
            for (size_t l = 0; l < L; l++)
                cash[l * n + p] = st.col_cash[p * L + l];
        double ti = time_ranks(n, I, in, r, scratch), tc = time_ranks(n, L, cash, r, scratch);
        if (ti >= 0 && tc >= 0) {
            printf("%s: st_ranks on the sample of %zu paths, best of %d, 1 thread\n", s->name, n,
                   bench_repeat());
            printf("  %3zu drawn inputs     %8.3f s  %6.2f ns a value\n", I, ti,
                   1e9 * ti / (double)(n * I));
            printf("  %3zu labs' final cash %8.3f s  %6.2f ns a value\n", L, tc,
                   1e9 * tc / (double)(n * L));
            rc = 0;
        }
    }
    if (rc)
        fprintf(stderr, "bench_ranks: out of memory, or no inputs to rank\n");
    free(in); free(cash); free(r); free(scratch);
    sim_state_free(&st);
    sc_free(s);
    return rc;
}
