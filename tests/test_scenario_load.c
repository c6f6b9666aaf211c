/* test_scenario_load: the shipped scenarios load, and every value lands
 * where MODEL.md sections 1, 4 and 7 say it should.
 *
 * Expected values come from the scenario files themselves (quoted beside
 * each check) and from the definitions in MODEL.md: "a to b" is a
 * lognormal whose 5th and 95th percentiles are a and b, so rd_quantile at
 * 0.05 and 0.95 must return a and b (to 1e-9 relative: the inverse normal
 * CDF is accurate to about 1e-15); the drawn inputs are the non-constant
 * ones, market first in enum order, then each lab in file order with its
 * keys in enum order; the copula's dimensions are the correlated inputs in
 * that same order.
 *
 * Then the overrides: --set with a constant, "a to b", a flow mapping, a
 * defaults.KEY, a key the lab did not have, a sentiment parameter, and
 * --paths / --seed; the re-emitted yaml_text must load back into the same
 * scenario.
 *
 * Run from tests/ (CTest sets the working directory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scenario.h"
#include "rng/rng_stream.h"
#include "test_util.h"

#define SCEN "../scenarios/"
/* The checks of known values and of overrides read the version 1
 * baseline kept in tests/v1/ (its values are pinned; the shipped baseline
 * is recalibrated as evidence arrives); every shipped scenario is still
 * loaded and checked generically below. */
#define V1 "v1/scenarios/"

static const char *const shipped[] = {
    SCEN "baseline.yaml", SCEN "price_war.yaml", SCEN "scaling_slowdown.yaml",
    SCEN "efficiency_shock.yaml", SCEN "profitable_by_2028.yaml",
};

static sc_scenario *load(const char *path, const sc_options *o)
{
    sc_scenario *s = NULL;
    char err[1024] = "";
    if (sc_load(&s, path, o, err, sizeof err) != 0) {
        TU_FAIL_("%s does not load: %s", path, err);
        return NULL;
    }
    return s;
}

static long input_index(const sc_scenario *s, const char *name)
{
    for (size_t i = 0; i < s->ninputs; i++)
        if (!strcmp(s->inputs[i].name, name)) return (long)i;
    return -1;
}

static const rd_dist *lab_in(const sc_scenario *s, const char *lab, int key)
{
    int i = sc_lab_index(s, lab);
    if (i < 0) {
        TU_FAIL_("no lab %s", lab);
        static rd_dist none;
        return &none;
    }
    return &s->labs[i].in[key];
}

/* "a to b": p5 = a and p95 = b (MODEL.md section 4). */
static void check_a_to_b(const rd_dist *d, double a, double b)
{
    ASSERT_EQ_INT(d->family, RD_LOGNORMAL);
    ASSERT_NEAR(rd_quantile(d, 0.05), a, 1e-9 * a);
    ASSERT_NEAR(rd_quantile(d, 0.95), b, 1e-9 * b);
}

static void check_const(const rd_dist *d, double v)
{
    ASSERT_TRUE(rd_is_const(d));
    ASSERT_SAME(d->a, v);
}

static void check_same_dist(const rd_dist *x, const rd_dist *y)
{
    ASSERT_EQ_INT(x->family, y->family);
    ASSERT_SAME(x->a, y->a);
    ASSERT_SAME(x->b, y->b);
    ASSERT_SAME(x->c, y->c);
    ASSERT_SAME(x->lo, y->lo);
    ASSERT_SAME(x->hi, y->hi);
    ASSERT_SAME(x->tmin, y->tmin);
    ASSERT_SAME(x->tmax, y->tmax);
    ASSERT_SAME(x->Fmin, y->Fmin);
    ASSERT_SAME(x->Fmax, y->Fmax);
    ASSERT_EQ_INT(x->per_year, y->per_year);
}

/* Two scenarios hold the same values (what a re-run of yaml_text needs). */
static void check_same_scenario(const sc_scenario *x, const sc_scenario *y)
{
    ASSERT_TRUE(!strcmp(x->name, y->name));
    ASSERT_TRUE(!strcmp(x->description, y->description));
    ASSERT_EQ_INT(x->base_year, y->base_year);
    ASSERT_EQ_INT(x->horizon, y->horizon);
    ASSERT_EQ_U64(x->paths, y->paths);
    ASSERT_EQ_U64(x->seed, y->seed);
    ASSERT_SAME(x->sentiment_rho, y->sentiment_rho);
    ASSERT_SAME(x->sentiment_sigma, y->sentiment_sigma);
    for (int k = 0; k < SC_MARKET_NKEYS; k++)
        check_same_dist(&x->market[k], &y->market[k]);
    ASSERT_EQ_INT(x->nlabs, y->nlabs);
    for (size_t i = 0; i < x->nlabs && i < y->nlabs; i++) {
        ASSERT_TRUE(!strcmp(x->labs[i].name, y->labs[i].name));
        ASSERT_EQ_INT(x->labs[i].backstop, y->labs[i].backstop);
        for (int k = 0; k < SC_LAB_NKEYS; k++)
            check_same_dist(&x->labs[i].in[k], &y->labs[i].in[k]);
    }
    ASSERT_EQ_INT(x->ninputs, y->ninputs);
    for (size_t i = 0; i < x->ninputs && i < y->ninputs; i++) {
        ASSERT_TRUE(!strcmp(x->inputs[i].name, y->inputs[i].name));
        ASSERT_EQ_U64(x->inputs[i].stream, y->inputs[i].stream);
        ASSERT_EQ_INT(x->inputs[i].copula, y->inputs[i].copula);
    }
    ASSERT_EQ_INT(x->ncop, y->ncop);
}

/* The input list obeys its contract (scenario.h): exactly the drawn
 * inputs, in order, named and keyed by name. */
static void check_inputs(const sc_scenario *s)
{
    size_t drawn = 0;
    for (int k = 0; k < SC_MARKET_NKEYS; k++)
        drawn += !rd_is_const(&s->market[k]);
    for (size_t i = 0; i < s->nlabs; i++)
        for (int k = 0; k < SC_LAB_NKEYS; k++)
            drawn += !rd_is_const(&s->labs[i].in[k]);
    ASSERT_EQ_INT(s->ninputs, drawn);
    long prev = -1;
    for (size_t j = 0; j < s->ninputs; j++) {
        const sc_input *in = &s->inputs[j];
        char want[256];
        const rd_dist *d;
        if (in->lab < 0) {
            snprintf(want, sizeof want, "market.%s", sc_market_keys[in->key]);
            d = &s->market[in->key];
        } else {
            snprintf(want, sizeof want, "%s.%s", s->labs[in->lab].name,
                     sc_lab_keys[in->key]);
            d = &s->labs[in->lab].in[in->key];
        }
        ASSERT_TRUE(!strcmp(in->name, want));
        ASSERT_TRUE(in->dist == d);
        ASSERT_TRUE(!rd_is_const(in->dist));
        ASSERT_EQ_U64(in->stream, rs_stream_id("input", in->name));
        long order = (long)(in->lab + 1) * 100 + in->key;
        if (!(order > prev)) TU_FAIL_("input %s out of order", in->name);
        prev = order;
        if (in->copula >= 0) {
            ASSERT_TRUE((size_t)in->copula < s->ncop);
            ASSERT_EQ_INT(s->cop_input[in->copula], j);
        }
    }
    /* Copula dimensions follow input order. */
    for (size_t c = 1; c < s->ncop; c++)
        ASSERT_TRUE(s->cop_input[c] > s->cop_input[c - 1]);
    if (s->ncop) ASSERT_EQ_INT(rc_dim(s->copula), s->ncop);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b) b[n] = 0;
    fclose(f);
    return b;
}

static void test_baseline(void)
{
    sc_scenario *s = load(V1 "baseline.yaml", NULL);
    if (!s) return;
    /* name: baseline-2025, base_year: 2025, horizon: 10, paths: 100000,
     * seed: 20251231 */
    ASSERT_TRUE(!strcmp(s->name, "baseline-2025"));
    ASSERT_EQ_INT(s->base_year, 2025);
    ASSERT_EQ_INT(s->horizon, 10);
    ASSERT_EQ_U64(s->paths, 100000);
    ASSERT_EQ_U64(s->seed, 20251231);
    ASSERT_TRUE(strlen(s->description) > 0);
    ASSERT_TRUE(!strcmp(s->file, V1 "baseline.yaml"));

    static const char *const labs[] = {"OpenAI", "Anthropic", "xAI",
                                       "Mistral", "Cohere", "Google DeepMind"};
    ASSERT_EQ_INT(s->nlabs, 6);
    for (int i = 0; i < 6 && (size_t)i < s->nlabs; i++) {
        ASSERT_TRUE(!strcmp(s->labs[i].name, labs[i]));
        ASSERT_EQ_INT(sc_lab_index(s, labs[i]), i);
        ASSERT_EQ_INT(s->labs[i].backstop,
                      i == 5 ? SC_BACKSTOP_PARENT : SC_BACKSTOP_NONE);
    }
    ASSERT_EQ_INT(sc_lab_index(s, "Meta"), -1);

    /* train_cost_growth: 2.0 to 2.9 (Cottier et al.) */
    check_a_to_b(&s->market[SC_TRAIN_COST_GROWTH], 2.0, 2.9);
    check_a_to_b(&s->market[SC_PRICE_DECLINE], 2.0, 7.0);
    /* maturity: {dist: uniform, min: 0.75, max: 0.95} */
    ASSERT_EQ_INT(s->market[SC_MATURITY].family, RD_UNIFORM);
    ASSERT_NEAR(rd_quantile(&s->market[SC_MATURITY], 0.5), 0.85, 1e-12);
    /* share_elasticity: 1.0; sentiment: {rho: 0.6, sigma: 1.0} */
    check_const(&s->market[SC_SHARE_ELASTICITY], 1.0);
    ASSERT_SAME(s->sentiment_rho, 0.6);
    ASSERT_SAME(s->sentiment_sigma, 1.0);

    /* defaults: exec_sigma 0.15 reaches every lab. */
    for (size_t i = 0; i < s->nlabs; i++)
        check_const(&s->labs[i].in[SC_EXEC_SIGMA], 0.15);
    /* A lab's own value beats the default: OpenAI other_ratio 0.3 vs the
     * defaults' 0.15. */
    check_const(lab_in(s, "OpenAI", SC_OTHER_RATIO), 0.3);
    check_const(lab_in(s, "Anthropic", SC_OTHER_RATIO), 0.15);
    check_const(lab_in(s, "Anthropic", SC_MIN_TRAIN_FRACTION), 0.25);
    /* revenue_multiple: defaults "15 to 40", OpenAI "20 to 40". */
    check_a_to_b(lab_in(s, "OpenAI", SC_REVENUE_MULTIPLE), 20, 40);
    check_a_to_b(lab_in(s, "Google DeepMind", SC_REVENUE_MULTIPLE), 15, 40);
    /* Built-in defaults (MODEL.md section 1) where neither sets a key:
     * acquisition_revenue_min 1; Mistral sets its own 0.3. */
    check_const(lab_in(s, "OpenAI", SC_ACQUISITION_REVENUE_MIN), 1.0);
    check_const(lab_in(s, "Mistral", SC_ACQUISITION_REVENUE_MIN), 0.3);
    /* OpenAI cash0: 30 to 45 */
    check_a_to_b(lab_in(s, "OpenAI", SC_CASH0), 30, 45);

    /* Inputs: order and names. */
    check_inputs(s);
    ASSERT_TRUE(s->ninputs > 0 && !strcmp(s->inputs[0].name,
                                          "market.sub_market0"));
    ASSERT_EQ_INT(input_index(s, "market.share_elasticity"), -1);
    ASSERT_EQ_INT(input_index(s, "OpenAI.funding_base"), -1);
    ASSERT_TRUE(input_index(s, "market.maturity") <
                input_index(s, "OpenAI.cash0"));
    ASSERT_TRUE(input_index(s, "OpenAI.staff0") <
                input_index(s, "Anthropic.cash0"));
    /* The defaults' distribution is each lab's own input. */
    ASSERT_TRUE(input_index(s, "Google DeepMind.revenue_multiple") >= 0);
    ASSERT_TRUE(input_index(s, "Cohere.revenue_multiple") >= 0);

    /* Copula: [market.price_decline, market.serving_cost_decline, 0.8];
     * its dimensions follow input order, serving_cost_decline first. */
    ASSERT_TRUE(s->copula != NULL);
    ASSERT_EQ_INT(s->ncop, 2);
    long sd = input_index(s, "market.serving_cost_decline");
    long pd = input_index(s, "market.price_decline");
    if (s->ncop == 2 && sd >= 0 && pd >= 0) {
        ASSERT_EQ_INT(s->cop_input[0], sd);
        ASSERT_EQ_INT(s->cop_input[1], pd);
        ASSERT_EQ_INT(s->inputs[sd].copula, 0);
        ASSERT_EQ_INT(s->inputs[pd].copula, 1);
    }
    ASSERT_EQ_INT(s->inputs[input_index(s, "OpenAI.cash0")].copula, -1);

    /* Without overrides the text is the file, verbatim. */
    char *text = read_all(V1 "baseline.yaml");
    ASSERT_TRUE(text && !strcmp(text, s->yaml_text));
    free(text);
    sc_free(s);
}

static void test_all_shipped(void)
{
    for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
        sc_scenario *s = load(shipped[i], NULL);
        if (!s) continue;
        ASSERT_EQ_INT(s->nlabs, 6);
        ASSERT_EQ_INT(s->horizon, 10);
        ASSERT_EQ_INT(s->base_year, 2025);
        ASSERT_TRUE(strlen(s->description) > 0);
        ASSERT_TRUE(s->copula != NULL);
        check_inputs(s);
        /* Same labs and seed as the baseline, for common random numbers. */
        ASSERT_EQ_U64(s->seed, 20251231);
        ASSERT_EQ_INT(sc_lab_index(s, "Google DeepMind"), 5);
        sc_free(s);
    }
}

static void test_overrides(void)
{
    const sc_override set[] = {
        {"OpenAI.cash0", "60"},
        {"market.train_cost_growth", "1.5 to 2.5"},
        {"market.price_decline", "{dist: normal, mean: 5, sd: 1, min: 1}"},
        {"defaults.max_dilution", "0.1"},
        {"defaults.exec_sigma", "{dist: uniform, min: 0.1, max: 0.2}"},
        {"Cohere.staff_growth", "0.05"},
        {"market.sentiment.rho", "0.3"},
        {"market.usage_growth",
         "{dist: lognormal, p5: 1.2, p95: 2.5, per: year}"},
        {"Google DeepMind.train0", "9"},
        {"defaults.revenue_multiple", "10"},
    };
    sc_options o = {set, sizeof set / sizeof set[0], 1, 1000, 1, 7};
    sc_scenario *base = load(V1 "baseline.yaml", NULL);
    sc_scenario *s = load(V1 "baseline.yaml", &o);
    if (!s || !base) {
        sc_free(base);
        sc_free(s);
        return;
    }
    check_const(lab_in(s, "OpenAI", SC_CASH0), 60);
    check_a_to_b(&s->market[SC_TRAIN_COST_GROWTH], 1.5, 2.5);
    const rd_dist *p = &s->market[SC_PRICE_DECLINE];
    ASSERT_EQ_INT(p->family, RD_NORMAL);
    ASSERT_SAME(p->a, 5.0);
    ASSERT_SAME(p->b, 1.0);
    ASSERT_SAME(p->tmin, 1.0);
    ASSERT_TRUE(rd_quantile(p, 1e-9) >= 1.0);
    for (size_t i = 0; i < s->nlabs; i++) {
        check_const(&s->labs[i].in[SC_MAX_DILUTION], 0.1);
        ASSERT_EQ_INT(s->labs[i].in[SC_EXEC_SIGMA].family, RD_UNIFORM);
        char name[128];
        snprintf(name, sizeof name, "%s.exec_sigma", s->labs[i].name);
        ASSERT_TRUE(input_index(s, name) >= 0);
    }
    check_const(lab_in(s, "Cohere", SC_STAFF_GROWTH), 0.05);
    check_const(lab_in(s, "OpenAI", SC_STAFF_GROWTH), 0.2);
    ASSERT_SAME(s->sentiment_rho, 0.3);
    ASSERT_SAME(s->sentiment_sigma, 1.0);
    ASSERT_EQ_INT(s->market[SC_USAGE_GROWTH].per_year, 1);
    check_const(lab_in(s, "Google DeepMind", SC_TRAIN0), 9);
    /* defaults.revenue_multiple 10 reaches only labs without their own. */
    check_const(lab_in(s, "Google DeepMind", SC_REVENUE_MULTIPLE), 10);
    check_a_to_b(lab_in(s, "OpenAI", SC_REVENUE_MULTIPLE), 20, 40);
    ASSERT_EQ_INT(input_index(s, "Google DeepMind.revenue_multiple"), -1);
    ASSERT_EQ_U64(s->paths, 1000);
    ASSERT_EQ_U64(s->seed, 7);
    check_inputs(s);
    ASSERT_EQ_INT(s->ncop, 2);

    /* Everything not overridden is unchanged, down to the input streams. */
    check_same_dist(lab_in(s, "Anthropic", SC_CASH0),
                    lab_in(base, "Anthropic", SC_CASH0));
    check_same_dist(&s->market[SC_SUB_MARKET_CAP],
                    &base->market[SC_SUB_MARKET_CAP]);
    long a = input_index(s, "Anthropic.cash0");
    long b = input_index(base, "Anthropic.cash0");
    ASSERT_TRUE(a >= 0 && b >= 0);
    if (a >= 0 && b >= 0)
        ASSERT_EQ_U64(s->inputs[a].stream, base->inputs[b].stream);

    /* yaml_text is the scenario as run: load it back, with no overrides,
     * and get the same scenario. */
    ASSERT_TRUE(strcmp(s->yaml_text, base->yaml_text) != 0);
    sc_scenario *r = NULL;
    char err[1024] = "";
    int rc = sc_load_text(&r, s->yaml_text, strlen(s->yaml_text), "re-run",
                          NULL, err, sizeof err);
    if (rc != 0) {
        TU_FAIL_("yaml_text does not load back: %s\n%s", err, s->yaml_text);
    } else {
        check_same_scenario(s, r);
        ASSERT_TRUE(!strcmp(r->yaml_text, s->yaml_text));
        ASSERT_TRUE(!strcmp(r->file, "re-run"));
        sc_free(r);
    }

    /* --paths and --seed alone also count as overrides. */
    sc_options po = {NULL, 0, 1, 123, 1, 0xFFFFFFFFFFFFFFFFull};
    sc_scenario *q = load(V1 "baseline.yaml", &po);
    if (q) {
        ASSERT_EQ_U64(q->paths, 123);
        ASSERT_EQ_U64(q->seed, 0xFFFFFFFFFFFFFFFFull);
        r = NULL;
        rc = sc_load_text(&r, q->yaml_text, strlen(q->yaml_text), "re-run",
                          NULL, err, sizeof err);
        ASSERT_EQ_INT(rc, 0);
        if (r) {
            check_same_scenario(q, r);
            sc_free(r);
        }
        sc_free(q);
    }
    sc_free(s);
    sc_free(base);
}

/* Value syntax in memory: quoted numbers, every family, per: year on a
 * market factor, anchors and aliases surviving re-emission. */
static void test_text(void)
{
    static const char text[] =
        "name: mini\n"
        "base_year: 2024\n"
        "horizon: 3\n"
        "paths: 1e3\n"
        "seed: 0x10\n"
        "market:\n"
        "  sub_market0: \"10\"\n"
        "  api_market0: 5\n"
        "  ent_market0: 20\n"
        "  train_cost_growth: {dist: triangular, min: 1.5, mode: 2, max: 3}\n"
        "  serving_cost_decline: {dist: pert, min: 2, mode: 4, max: 9}\n"
        "  price_decline: {dist: gamma, shape: 9, scale: 0.5, min: 0.5}\n"
        "  token_demand_growth: {dist: lognormal, mu: 1.5, sigma: 0.3, "
        "per: year}\n"
        "  usage_growth: {dist: normal, p5: 1.2, p95: 2.0, min: 0.5}\n"
        "  sub_growth_rate: {dist: uniform, min: 0, max: 1, per: path}\n"
        "  sub_market_cap: &cap 100 to 300\n"
        "  enterprise_growth: {dist: beta, a: 2, b: 3, min: 1.2, max: 2.2}\n"
        "  maturity: {dist: beta, a: 8, b: 2}\n"
        "labs:\n"
        "  - name: A\n"
        "    cash0: *cap\n"
        "    subs0: 4\n"
        "    api0: 1\n"
        "    ent0: 2\n"
        "    serve_ratio_sub0: 1.2\n"
        "    serve_ratio_api0: 0.5\n"
        "    train0: 0\n"
        "    staff0: 1\n"
        "    funding_base: -1.5\n"
        "    max_dilution: {dist: uniform, min: 0.05, max: 0.3}\n";
    sc_scenario *s = NULL;
    char err[1024] = "";
    if (sc_load_text(&s, text, sizeof text - 1, "mini", NULL, err,
                     sizeof err) != 0) {
        TU_FAIL_("mini does not load: %s", err);
        return;
    }
    ASSERT_EQ_U64(s->paths, 1000);
    ASSERT_EQ_U64(s->seed, 16);
    check_const(&s->market[SC_SUB_MARKET0], 10);
    ASSERT_EQ_INT(s->market[SC_TRAIN_COST_GROWTH].family, RD_TRIANGULAR);
    ASSERT_EQ_INT(s->market[SC_SERVING_COST_DECLINE].family, RD_PERT);
    ASSERT_EQ_INT(s->market[SC_PRICE_DECLINE].family, RD_GAMMA);
    ASSERT_SAME(s->market[SC_PRICE_DECLINE].tmin, 0.5);
    ASSERT_EQ_INT(s->market[SC_TOKEN_DEMAND_GROWTH].per_year, 1);
    ASSERT_EQ_INT(s->market[SC_SUB_GROWTH_RATE].per_year, 0);
    /* normal p5/p95: mean 1.6, sd (2.0 - 1.2) / (2 z95) */
    ASSERT_NEAR(s->market[SC_USAGE_GROWTH].a, 1.6, 1e-12);
    ASSERT_NEAR(s->market[SC_USAGE_GROWTH].b, 0.8 / (2 * RD_Z95), 1e-12);
    /* beta with min/max scales the support, no truncation */
    ASSERT_SAME(s->market[SC_ENTERPRISE_GROWTH].lo, 1.2);
    ASSERT_SAME(s->market[SC_ENTERPRISE_GROWTH].hi, 2.2);
    ASSERT_TRUE(isinf(s->market[SC_ENTERPRISE_GROWTH].tmin));
    check_a_to_b(&s->labs[0].in[SC_CASH0], 100, 300);
    check_const(&s->labs[0].in[SC_FUNDING_BASE], -1.5);
    ASSERT_EQ_INT(s->ncop, 0);
    ASSERT_TRUE(s->copula == NULL && s->cop_input == NULL);
    ASSERT_TRUE(!strcmp(s->description, ""));
    check_inputs(s);

    /* An override on a file with an alias: the emitted text loads back. */
    sc_override set = {"A.subs0", "3"};
    sc_options o = {&set, 1, 0, 0, 0, 0};
    sc_scenario *t = NULL;
    if (sc_load_text(&t, text, sizeof text - 1, "mini", &o, err,
                     sizeof err) != 0) {
        TU_FAIL_("mini with --set does not load: %s", err);
    } else {
        sc_scenario *r = NULL;
        if (sc_load_text(&r, t->yaml_text, strlen(t->yaml_text), "re", NULL,
                         err, sizeof err) != 0) {
            TU_FAIL_("re-emitted mini does not load: %s\n%s", err,
                     t->yaml_text);
        } else {
            check_same_scenario(t, r);
            check_const(&r->labs[0].in[SC_SUBS0], 3);
            sc_free(r);
        }
        sc_free(t);
    }
    sc_free(s);
}

int main(void)
{
    test_baseline();
    test_all_shipped();
    test_overrides();
    test_text();
    TU_DONE();
}
