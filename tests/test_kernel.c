/* The vectorised block kernel gives the reference model's results bit for
 * bit: every summary dataset, every per-path outcome and input, every kept
 * trajectory, on each shipped scenario and on one that exercises per-year
 * draws, truncation, triangular/PERT/beta/gamma inputs and a backstop. */
#include <stdlib.h>
#include <string.h>

#include "engine/scenario.h"
#include "engine/sim.h"
#include "test_util.h"

typedef struct {
    size_t L, I;
    uint64_t N;
    int32_t *fy, *py;
    int8_t *oc;
    double *fc, *rt, *in;
} capture;

static int grab(void *ctx, uint64_t first, uint64_t count, const ho_paths *b, char *e, size_t el)
{
    capture *c = ctx;
    size_t L = c->L, I = c->I;
    memcpy(c->fy + first * L, b->fail_year, count * L * sizeof *c->fy);
    memcpy(c->py + first * L, b->profit_year, count * L * sizeof *c->py);
    memcpy(c->oc + first * L, b->outcome, count * L * sizeof *c->oc);
    memcpy(c->fc + first * L, b->final_cash, count * L * sizeof *c->fc);
    memcpy(c->rt + first * L, b->raised_total, count * L * sizeof *c->rt);
    if (I)
        memcpy(c->in + first * I, b->inputs, count * I * sizeof *c->in);
    return 0;
}

static void cap_init(capture *c, size_t L, size_t I, uint64_t N)
{
    c->L = L; c->I = I; c->N = N;
    c->fy = calloc(N * L, 4); c->py = calloc(N * L, 4); c->oc = calloc(N * L, 1);
    c->fc = calloc(N * L, 8); c->rt = calloc(N * L, 8); c->in = calloc(N * (I ? I : 1), 8);
}

static void cap_free(capture *c)
{
    free(c->fy); free(c->py); free(c->oc); free(c->fc); free(c->rt); free(c->in);
}

static int same(const void *a, const void *b, size_t bytes, const char *what, const char *scn)
{
    if (memcmp(a, b, bytes) != 0) {
        fprintf(stderr, "%s: %s differs between kernel and reference\n", scn, what);
        tu_failures++;
        return 0;
    }
    return 1;
}

static void compare(const char *path, const sc_options *so, uint64_t N, int threads)
{
    char err[1024];
    sc_scenario *s = NULL;
    if (sc_load(&s, path, so, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        tu_failures++;
        return;
    }
    sim_result r[2];
    capture c[2];
    for (int ref = 0; ref < 2; ref++) {
        cap_init(&c[ref], s->nlabs, s->ninputs, N);
        sim_options o = { .paths = N, .seed = s->seed, .threads = threads, .keep = 300,
                          .reference = ref, .on_paths = grab, .ctx = &c[ref] };
        ASSERT_EQ_INT(sim_run(s, &o, &r[ref], err, sizeof err), 0);
    }
    size_t LT = r[0].L * r[0].T, LI = r[0].L * r[0].I, KLT = r[0].K * LT;
    size_t NL = (size_t)N * s->nlabs;
    same(r[0].survival, r[1].survival, LT * 8, "survival", path);
    same(r[0].failed_acquired, r[1].failed_acquired, LT * 8, "failed_acquired", path);
    same(r[0].failed_wound_down, r[1].failed_wound_down, LT * 8, "failed_wound_down", path);
    same(r[0].profitable_by, r[1].profitable_by, LT * 8, "profitable_by", path);
    for (int m = 0; m < SIM_NQ; m++)
        same(r[0].q[m], r[1].q[m], LT * 5 * 8, "a quantile dataset", path);
    same(r[0].independent_alive, r[1].independent_alive, r[0].T * (r[0].L + 1) * 8, "independent_alive", path);
    same(r[0].sensitivity_survival, r[1].sensitivity_survival, LI * 8, "sensitivity_survival", path);
    same(r[0].sensitivity_cash, r[1].sensitivity_cash, LI * 8, "sensitivity_cash", path);
    same(r[0].traj_cash, r[1].traj_cash, KLT * 8, "trajectories/cash", path);
    same(r[0].traj_share, r[1].traj_share, KLT * 8, "trajectories/share", path);
    same(r[0].traj_alive, r[1].traj_alive, KLT, "trajectories/alive", path);
    same(c[0].fy, c[1].fy, NL * 4, "fail_year", path);
    same(c[0].py, c[1].py, NL * 4, "profit_year", path);
    same(c[0].oc, c[1].oc, NL, "outcome", path);
    same(c[0].fc, c[1].fc, NL * 8, "final_cash", path);
    same(c[0].rt, c[1].rt, NL * 8, "raised_total", path);
    same(c[0].in, c[1].in, (size_t)N * s->ninputs * 8, "inputs", path);
    printf("%s: kernel == reference on %llu paths\n", path, (unsigned long long)N);
    for (int k = 0; k < 2; k++) {
        sim_result_free(&r[k]);
        cap_free(&c[k]);
    }
    sc_free(s);
}

int main(void)
{
    const char *shipped[] = { "../scenarios/baseline.yaml", "../scenarios/price_war.yaml",
                              "../scenarios/scaling_slowdown.yaml", "../scenarios/efficiency_shock.yaml" };
    for (int i = 0; i < 4; i++)
        compare(shipped[i], NULL, 3000, 2);
    /* odd path count: a partial kernel block and a partial sim block */
    compare("kernel_edges.yaml", NULL, 2077, 1);
    TU_DONE();
}
