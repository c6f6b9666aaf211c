/* The vectorised block kernel gives the reference model's results bit for
 * bit: every summary dataset, every per-path outcome and input, every kept
 * trajectory and backtest probe, on each shipped scenario, on one that
 * exercises per-year
 * draws, truncation, triangular/PERT/beta/gamma inputs, momentum, exits and
 * a backstop, and on 40 random valid scenarios (a property test: branches
 * no shipped scenario reaches). */
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "engine/model.h"
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

static int grab(void *ctx, uint64_t first, uint64_t count, const sim_paths_block *b, char *e,
                size_t el)
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

static void compare_scenario(sc_scenario *s, const char *path, uint64_t N, int threads);

/* The scenario at path, or NULL (a failure counted, its error printed). */
static sc_scenario *load(const char *path, const sc_options *so)
{
    char err[1024];
    sc_scenario *s = NULL;
    if (sc_load(&s, path, so, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        tu_failures++;
        return NULL;
    }
    return s;
}

static void compare(const char *path, const sc_options *so, uint64_t N, int threads)
{
    sc_scenario *s = load(path, so);
    if (s)
        compare_scenario(s, path, N, threads);
}

/* The floor bench/ divides by (kn_draw_only) draws the random numbers the
 * model draws: on fresh work areas, the two leave the same drawn inputs
 * and the same last-year execution, funding and exit draws of every lab
 * (the floor once left out step 7's exit draws). */
static void draw_only_draws_what_the_kernel_draws(const char *path, uint64_t first, size_t n)
{
    char err[1024];
    sc_scenario *s = load(path, NULL);
    if (!s)
        return;
    md_plan *p = md_plan_create(s, s->seed, err, sizeof err);
    kn_work *wr = p ? kn_work_create(p) : NULL, *wd = p ? kn_work_create(p) : NULL;
    ASSERT_TRUE(p && wr && wd);
    if (p && wr && wd) {
        kn_run(p, wr, first, n);
        kn_draw_only(p, wd, first, n);
        kn_view vr, vd;
        kn_view_get(wr, &vr);
        kn_view_get(wd, &vd);
        size_t L = s->nlabs, exits = 0;
        for (size_t i = 0; i < s->ninputs; i++)
            same(vr.drawn + i * KN_LANES, vd.drawn + i * KN_LANES, n * sizeof(double),
                 "drawn inputs (draw only)", path);
        for (size_t l = 0; l < L; l++) {
            same(vr.exec_z + l * KN_LANES, vd.exec_z + l * KN_LANES, n * sizeof(double),
                 "execution draws (draw only)", path);
            same(vr.fund_u + l * KN_LANES, vd.fund_u + l * KN_LANES, n * sizeof(double),
                 "funding draws (draw only)", path);
            if (s->labs[l].backstop == SC_BACKSTOP_PARENT)
                continue; /* step 7 never buys it: no draw */
            exits++;
            same(vr.exit_u + l * KN_LANES, vd.exit_u + l * KN_LANES, n * sizeof(double),
                 "exit draws (draw only)", path);
        }
        ASSERT_TRUE(exits > 0); /* the scenario exercises step 7 */
    }
    kn_work_free(wr);
    kn_work_free(wd);
    md_plan_free(p);
    sc_free(s);
}

/* A small deterministic generator for the property test (not the
 * engine's streams: the scenarios only need to differ). */
static uint64_t g_state = 0x9E3779B97F4A7C15u;
static double rnd(void)
{
    g_state ^= g_state << 13;
    g_state ^= g_state >> 7;
    g_state ^= g_state << 17;
    return (double)(g_state >> 11) * 0x1p-53;
}
static double between(double a, double b) { return a + (b - a) * rnd(); }

/* A random valid scenario: random market trends (some per year), two to
 * five labs with random base figures, funding, momentum, exit hazards and
 * backstops, so that branches no shipped scenario reaches are reached. */
static int random_scenario(char *buf, size_t n, int seed)
{
    int L = 2 + (int)(rnd() * 4), T = 3 + (int)(rnd() * 10);
    int o = snprintf(buf, n,
        "name: prop-%d\nbase_year: 2025\nhorizon: %d\npaths: 300\nseed: %d\nmarket:\n"
        "  sub_market0: %.3f\n  api_market0: %.3f\n  ent_market0: %.3f\n"
        "  train_cost_growth: {dist: lognormal, p5: %.3f, p95: %.3f%s}\n"
        "  serving_cost_decline: %.3f to %.3f\n  price_decline: %.3f to %.3f\n"
        "  token_demand_growth: %.3f to %.3f\n  usage_growth: %.3f\n"
        "  sub_growth_rate: {dist: uniform, min: 0, max: %.3f%s}\n  sub_market_cap: %.3f\n"
        "  enterprise_growth: %.3f to %.3f\n  others_pull: %.3f\n  maturity: %.3f\n"
        "  share_elasticity: %.3f\n  sentiment: {rho: %.3f, sigma: %.3f}\nlabs:\n",
        seed, T, seed, between(10, 40), between(5, 30), between(10, 60), between(1.2, 2),
        between(2.5, 4), rnd() < 0.3 ? ", per: year" : "", between(1.5, 3), between(4, 12),
        between(1.5, 3), between(4, 12), between(1.5, 3), between(4, 10), between(0.8, 2.5),
        between(0.1, 1.2), rnd() < 0.3 ? ", per: year" : "", between(50, 400), between(1, 1.5),
        between(1.6, 3), between(0.8, 1.3), rnd() < 0.5 ? 1.0 : between(0.6, 1),
        between(0, 2.5), between(-0.5, 0.9), between(0, 1.5));
    for (int l = 0; l < L && o < (int)n; l++) {
        int parent = rnd() < 0.2;
        o += snprintf(buf + o, n - (size_t)o,
            "  - {name: L%d, cash0: %.3f, subs0: %.3f, api0: %.3f, ent0: %.3f,\n"
            "     serve_ratio_sub0: %.3f, serve_ratio_api0: %.3f, train0: %.3f, staff0: %.3f,\n"
            "     staff_growth: %.3f, other_ratio: %.3f, exec_sigma: %.3f, momentum0: %.3f,\n"
            "     train_revenue_share: %.3f,\n"
            "     momentum_persistence: %.3f, acquisition_hazard: %.3f, distress_acquisition: %.3f,\n"
            "     runway_target: %.3f, raise_years: %.3f, funding_base: %.3f,\n"
            "     funding_growth_weight: %.3f, funding_sentiment_weight: %.3f,\n"
            "     min_train_fraction: %.3f, acquisition_revenue_min: %.3f%s}\n",
            l, rnd() < 0.1 ? 0.0 : between(0, 20), between(0, 1), rnd() < 0.1 ? 0.0 : between(0, 1),
            between(0, 2), between(0, 2), between(0, 2), rnd() < 0.1 ? 0.0 : between(0.1, 5),
            between(0, 2), between(-0.2, 0.4), between(0, 0.3), rnd() < 0.3 ? 0.0 : between(0, 0.8),
            rnd() < 0.4 ? 1.0 : between(0.3, 5), rnd() < 0.5 ? 0.0 : between(0, 2), rnd() < 0.4 ? 0.0 : between(0, 0.95),
            rnd() < 0.4 ? 0.0 : between(0, 0.3), rnd() < 0.4 ? 0.0 : between(0, 1),
            between(0, 3), between(0.5, 3), between(-3, 3), between(-2, 3), between(-1, 2),
            between(0, 1), between(0, 2), parent ? ", backstop: parent" : "");
    }
    return o < (int)n ? 0 : -1;
}

static void compare_scenario(sc_scenario *s, const char *path, uint64_t N, int threads)
{
    char err[1024];
    sim_result r[2];
    capture c[2];
    /* probes: every quantity a backtest can observe, for every lab and
     * segment in years 1, 2 and T */
    size_t np = 0, T = (size_t)s->horizon;
    sim_probe pr[(SIM_PROBE_STATUS + 1) * 8 * 3];
    int years[3] = { 1, 2, (int)T };
    for (int yi = 0; yi < 3; yi++)
        for (int k = 0; k <= SIM_PROBE_STATUS; k++)
            for (int l = 0; l < (k == SIM_PROBE_SIZE ? 3 : (int)s->nlabs) && l < 8; l++)
                pr[np++] = (sim_probe){ (sim_probe_kind)k, k == SIM_PROBE_SIZE ? -1 : l,
                                        k == SIM_PROBE_SIZE ? l : -1, years[yi] };
    double *px[2];
    for (int ref = 0; ref < 2; ref++) {
        cap_init(&c[ref], s->nlabs, s->ninputs, N);
        px[ref] = calloc(N * np, sizeof(double));
        sim_options o = { .paths = N, .seed = s->seed, .threads = threads, .keep = 300,
                          .reference = ref, .on_paths = grab, .ctx = &c[ref],
                          .probes = pr, .nprobes = np, .probe_x = px[ref] };
        ASSERT_EQ_INT(sim_run(s, &o, &r[ref], err, sizeof err), 0);
    }
    same(px[0], px[1], N * np * sizeof(double), "the backtest probes", path);
    free(px[0]);
    free(px[1]);
    size_t LT = r[0].L * r[0].T, LI = r[0].L * r[0].I, KLT = r[0].K * LT;
    size_t NL = (size_t)N * s->nlabs;
    same(r[0].survival, r[1].survival, LT * 8, "survival", path);
    same(r[0].failed_acquired, r[1].failed_acquired, LT * 8, "failed_acquired", path);
    same(r[0].failed_wound_down, r[1].failed_wound_down, LT * 8, "failed_wound_down", path);
    same(r[0].acquired_solvent, r[1].acquired_solvent, LT * 8, "acquired_solvent", path);
    same(r[0].profitable_by, r[1].profitable_by, LT * 8, "profitable_by", path);
    for (int m = 0; m < MT_N; m++)
        same(r[0].q[m], r[1].q[m], LT * 5 * 8, mt_defs[m].summary, path);
    same(r[0].independent_alive, r[1].independent_alive, r[0].T * (r[0].L + 1) * 8, "independent_alive", path);
    same(r[0].sensitivity_survival, r[1].sensitivity_survival, LI * 8, "sensitivity_survival", path);
    same(r[0].sensitivity_cash, r[1].sensitivity_cash, LI * 8, "sensitivity_cash", path);
    for (int m = 0; m < MT_N; m++)
        if (mt_defs[m].traj)
            same(r[0].traj[m], r[1].traj[m], KLT * 8, mt_defs[m].traj, path);
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
    draw_only_draws_what_the_kernel_draws("../scenarios/baseline.yaml", 1000, KN_LANES);
    draw_only_draws_what_the_kernel_draws("kernel_edges.yaml", 77, KN_LANES - 3);
    /* odd path count: a partial kernel block and a partial sim block */
    compare("kernel_edges.yaml", NULL, 2077, 1);
    /* property: random valid scenarios, every output the same bits */
    static char text[16384];
    int ran = 0;
    for (int i = 0; i < 40; i++) {
        if (random_scenario(text, sizeof text, i + 1) != 0)
            continue;
        char err[1024], name[32];
        sc_scenario *s = NULL;
        snprintf(name, sizeof name, "random scenario %d", i + 1);
        if (sc_load_text(&s, text, strlen(text), name, NULL, err, sizeof err) != 0)
            continue; /* a draw the rules refuse (labs above their market): skip */
        compare_scenario(s, name, 300 + (uint64_t)i, 1 + i % 2);
        ran++;
    }
    printf("%d random scenarios compared\n", ran);
    ASSERT_TRUE(ran >= 30);
    TU_DONE();
}
