/* test_scenario_edges: numeric edges of a scenario that must be accepted,
 * and the limits that must be refused with their rule
 * (docs/scenarios.md, "Limits"; MODEL.md section 7).
 *
 * The malformed files of tests/invalid/ cover each refusal at a file line
 * (NaN, infinities, 1e400, 1e308 market sizes, factors outside
 * [1e-3, 1e3], horizon 101, empty lists and mappings...). This test covers
 * what a file in that folder cannot: values that must be *accepted*
 * (exactly at a limit, 2^40 paths, horizon 100, seed 2^64-1, 100 labs, an
 * empty correlation list, a lab with no revenue, a number that underflows
 * to 0), and the limits that --paths overrides (test_cli_errors.py runs
 * every file with --paths 10, which would hide a `paths:` line).
 *
 * Expected values come from the rules as docs/scenarios.md states them;
 * 2^40 = 1099511627776 and 2^64 - 1 = 18446744073709551615 by arithmetic.
 * Run from tests/ (CTest sets the working directory). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scenario.h"
#include "test_util.h"

/* A small valid scenario; ROOT is spliced in after horizon:, MARKET after
 * the market's keys, LAB after the first lab's keys. */
static char *scenario(const char *root, const char *market, const char *lab)
{
    static const char fmt[] =
        "name: edges\n"
        "base_year: 2025\n"
        "%s"
        "market:\n"
        "  sub_market0: 14\n"
        "  api_market0: 10\n"
        "  ent_market0: 37\n"
        "  train_cost_growth: 2.0 to 2.9\n"
        "  serving_cost_decline: 2.5 to 8\n"
        "  price_decline: 2 to 7\n"
        "  token_demand_growth: 4 to 10\n"
        "  usage_growth: 1.2 to 2.5\n"
        "  sub_growth_rate: {dist: uniform, min: 0.3, max: 1.0}\n"
        "  sub_market_cap: 100 to 400\n"
        "  enterprise_growth: 1.3 to 2.5\n"
        "%s"
        "labs:\n"
        "  - name: Alpha\n"
        "    cash0: 10\n"
        "    subs0: 5\n"
        "    api0: 2\n"
        "    ent0: 3\n"
        "    serve_ratio_sub0: 0.5\n"
        "    serve_ratio_api0: 0.5\n"
        "    train0: 4\n"
        "    staff0: 1\n"
        "%s";
    size_t n = sizeof fmt + strlen(root) + strlen(market) + strlen(lab);
    char *s = malloc(n);
    if (s) snprintf(s, n, fmt, root, market, lab);
    return s;
}

/* Loads text (with optional opts); returns the scenario or NULL, and the
 * message in err. */
static sc_scenario *load_text(const char *text, const sc_options *o,
                              char *err, size_t errlen)
{
    sc_scenario *s = NULL;
    err[0] = 0;
    if (sc_load_text(&s, text, strlen(text), "edges.yaml", o, err, errlen))
        return NULL;
    return s;
}

static sc_scenario *accept(const char *what, const char *root,
                           const char *market, const char *lab,
                           const sc_options *o)
{
    char *text = scenario(root, market, lab);
    char err[1024];
    sc_scenario *s = text ? load_text(text, o, err, sizeof err) : NULL;
    if (!s) TU_FAIL_("%s: refused: %s", what, err);
    free(text);
    return s;
}

/* Must be refused, with every phrase (NULL-terminated) in the message. */
static void refuse(const char *what, const char *root, const char *market,
                   const char *lab, const sc_options *o, ...)
{
    char *text = scenario(root, market, lab);
    char err[1024];
    sc_scenario *s = text ? load_text(text, o, err, sizeof err) : NULL;
    free(text);
    if (s) {
        TU_FAIL_("%s: accepted", what);
        sc_free(s);
        return;
    }
    va_list ap;
    va_start(ap, o);
    for (const char *p; (p = va_arg(ap, const char *));)
        if (!strstr(err, p)) TU_FAIL_("%s: message lacks '%s': %s", what, p,
                                      err);
    va_end(ap);
    if (strchr(err, '\n')) TU_FAIL_("%s: message is not one line", what);
    if (getenv("RUNWAY_TEST_VERBOSE")) printf("%s\n", err);
}

int main(void)
{
    sc_scenario *s;
    const char *H5 = "horizon: 5\n";

    /* Paths: up to 2^40 in the file, in exponent form, and from --paths. */
    s = accept("paths 2^40", "horizon: 5\npaths: 1099511627776\n", "", "",
               NULL);
    if (s) ASSERT_EQ_U64(s->paths, UINT64_C(1099511627776));
    sc_free(s);
    s = accept("paths 1e12", "horizon: 5\npaths: 1e12\n", "", "", NULL);
    if (s) ASSERT_EQ_U64(s->paths, UINT64_C(1000000000000));
    sc_free(s);
    sc_options big = {NULL, 0, 1, UINT64_C(1) << 40, 0, 0};
    s = accept("--paths 2^40", H5, "", "", &big);
    if (s) ASSERT_EQ_U64(s->paths, UINT64_C(1) << 40);
    sc_free(s);
    refuse("paths 2^40 + 1", "horizon: 5\npaths: 1099511627777\n", "", "",
           NULL, "edges.yaml:4:", "paths", "2^40", NULL);
    refuse("paths 2e12", "horizon: 5\npaths: 2e12\n", "", "", NULL, "paths",
           "2^40", NULL);
    refuse("paths 2^64 - 1", "horizon: 5\npaths: 18446744073709551615\n", "",
           "", NULL, "paths", "2^40", NULL);
    refuse("paths 0", "horizon: 5\npaths: 0\n", "", "", NULL, "paths",
           "from 1", NULL);
    refuse("paths -1", "horizon: 5\npaths: -1\n", "", "", NULL, "paths",
           NULL);
    refuse("paths .nan", "horizon: 5\npaths: .nan\n", "", "", NULL, "paths",
           NULL);
    big.paths = (UINT64_C(1) << 40) + 1;
    refuse("--paths 2^40 + 1", H5, "", "", &big, "--paths", "2^40", NULL);
    big.paths = UINT64_MAX;
    refuse("--paths 2^64 - 1", H5, "", "", &big, "--paths", "2^40", NULL);

    /* Horizon 100 is the largest; seed covers all of 0..2^64-1; a
     * four-digit base year. */
    s = accept("horizon 100", "horizon: 100\n", "", "", NULL);
    if (s) ASSERT_EQ_INT(s->horizon, 100);
    sc_free(s);
    refuse("horizon 101", "horizon: 101\n", "", "", NULL, "horizon",
           "1 to 100", NULL);
    s = accept("seed 2^64-1", "horizon: 5\nseed: 18446744073709551615\n", "",
               "", NULL);
    if (s) ASSERT_EQ_U64(s->seed, UINT64_MAX);
    sc_free(s);
    s = accept("seed 0x0", "horizon: 5\nseed: 0x0\n", "", "", NULL);
    if (s) ASSERT_EQ_U64(s->seed, 0);
    sc_free(s);
    {
        char *t = scenario(H5, "", "");
        char *p = t ? strstr(t, "base_year: 2025") : NULL;
        if (p) {
            memcpy(p, "base_year: 9999", 15);
            char err[512];
            s = load_text(t, NULL, err, sizeof err);
            ASSERT_TRUE(s != NULL);
            if (s) ASSERT_EQ_INT(s->base_year, 9999);
            sc_free(s);
            memcpy(p, "base_year: 0999", 15);
            s = load_text(t, NULL, err, sizeof err);
            ASSERT_TRUE(s == NULL);
            ASSERT_TRUE(strstr(err, "1000 to 9999") != NULL);
        }
        free(t);
    }

    /* Exactly at each limit is accepted; just beyond is refused. */
    s = accept("money 1e12", H5, "", "    acquisition_revenue_min: 1e12\n",
               NULL);
    if (s) ASSERT_SAME(s->labs[0].in[SC_ACQUISITION_REVENUE_MIN].a, 1e12);
    sc_free(s);
    refuse("money 1.000001e12", H5, "",
           "    acquisition_revenue_min: 1.000001e12\n", NULL,
           "Alpha.acquisition_revenue_min", "at most 1e12", NULL);
    s = accept("factors 1e-3 and 1e3", H5, "  others_pull: 1e3\n",
               "", NULL);
    sc_free(s);
    s = accept("factor 1e-3", H5, "  others_pull: 0.001\n", "", NULL);
    sc_free(s);
    refuse("factor 1.001e3", H5, "  others_pull: 1001\n", "", NULL,
           "market.others_pull", "[1e-3, 1e3]", NULL);
    s = accept("logit weights +-1e6", H5, "",
               "    funding_base: -1e6\n    funding_growth_weight: 1e6\n",
               NULL);
    sc_free(s);
    /* A distribution truncated below the limit is accepted, although its
     * untruncated tail would cross it (the refusal's own advice). */
    s = accept("wide factor truncated with max:", H5,
               "  others_pull: {dist: lognormal, p5: 2, p95: 20, max: 1000}\n",
               "", NULL);
    sc_free(s);
    refuse("the same untruncated", H5,
           "  others_pull: {dist: lognormal, p5: 2, p95: 20}\n", "", NULL,
           "market.others_pull", "truncate it with max:", NULL);
    /* --set values obey the same limits, named by the override. */
    {
        sc_override set = {"Alpha.cash0", "1e308"};
        sc_options o = {&set, 1, 0, 0, 0, 0};
        refuse("--set Alpha.cash0=1e308", H5, "", "", &o,
               "--set Alpha.cash0", "at most 1e12", NULL);
        sc_override set2 = {"market.price_decline", "{dist: uniform, min: 0, "
                            "max: 5}"};
        sc_options o2 = {&set2, 1, 0, 0, 0, 0};
        refuse("--set a factor from 0", H5, "", "", &o2,
               "--set market.price_decline", "[1e-3, 1e3]", NULL);
        sc_override set3 = {"market.sentiment.sigma", "2e6"};
        sc_options o3 = {&set3, 1, 0, 0, 0, 0};
        refuse("--set sentiment sigma 2e6", H5, "", "", &o3,
               "--set market.sentiment.sigma", "at most 1e6", NULL);
    }

    /* Numbers that underflow a double are read as 0 (strtod's rule);
     * 0 is then judged by the input's domain like any 0. -0 is 0. */
    s = accept("cash0 1e-400", H5, "", "    exec_sigma: 1e-400\n", NULL);
    if (s) ASSERT_SAME(s->labs[0].in[SC_EXEC_SIGMA].a, 0.0);
    sc_free(s);
    refuse("raise_years 1e-400", H5, "", "    raise_years: 1e-400\n", NULL,
           "Alpha.raise_years", "must be > 0", NULL);
    s = accept("-0 staff growth", H5, "", "    staff_growth: -0\n", NULL);
    sc_free(s);

    /* A lab with no revenue and no cash is a valid lab (MODEL.md: it
     * fails in year 1 unless backstopped; nothing is raised against a
     * zero valuation). */
    {
        char *t = scenario(H5, "", "");
        const char *zero =
            "  - name: Empty\n    cash0: 0\n    subs0: 0\n    api0: 0\n"
            "    ent0: 0\n    serve_ratio_sub0: 0\n    serve_ratio_api0: 0\n"
            "    train0: 0\n    staff0: 0\n";
        size_t n = strlen(t) + strlen(zero) + 1;
        char *u = malloc(n);
        snprintf(u, n, "%s%s", t, zero);
        char err[512];
        s = load_text(u, NULL, err, sizeof err);
        if (!s) TU_FAIL_("a lab with nothing: refused: %s", err);
        else ASSERT_EQ_INT(s->nlabs, 2);
        sc_free(s);
        free(t);
        free(u);
    }

    /* Empty lists: no correlations is accepted (as is a null value), no
     * labs is refused (tests/invalid/empty_labs.yaml). */
    s = accept("correlations: []", H5, "correlations: []\n", "", NULL);
    if (s) ASSERT_TRUE(s->copula == NULL && s->ncop == 0);
    sc_free(s);
    s = accept("correlations: ~", H5, "correlations: ~\n", "", NULL);
    sc_free(s);
    s = accept("defaults: {}", H5, "defaults: {}\n", "", NULL);
    sc_free(s);
    s = accept("sentiment: {}", H5, "  sentiment: {}\n", "", NULL);
    sc_free(s);

    /* 100 labs, each with its own drawn cash, correlated in a chain (lab i
     * with lab i+1; a tridiagonal matrix with 0.3 off the diagonal is
     * positive definite): validates, in file order, with a 100-dimensional
     * copula. */
    {
        size_t cap = 1 << 17, len = 0;
        char *t = malloc(cap);
        len += (size_t)snprintf(t + len, cap - len,
                                "name: hundred\nbase_year: 2025\nhorizon: 10\n"
                                "market:\n  sub_market0: 1000\n"
                                "  api_market0: 1000\n  ent_market0: 1000\n"
                                "  train_cost_growth: 2.0 to 2.9\n"
                                "  serving_cost_decline: 2.5 to 8\n"
                                "  price_decline: 2 to 7\n"
                                "  token_demand_growth: 4 to 10\n"
                                "  usage_growth: 1.2 to 2.5\n"
                                "  sub_growth_rate: 0.5\n"
                                "  sub_market_cap: 5000\n"
                                "  enterprise_growth: 1.3 to 2.5\n"
                                "correlations:\n");
        for (int i = 1; i < 100; i++)
            len += (size_t)snprintf(t + len, cap - len,
                                    "  - [Lab%03d.cash0, Lab%03d.cash0, 0.3]\n",
                                    i - 1, i);
        len += (size_t)snprintf(t + len, cap - len, "labs:\n");
        for (int i = 0; i < 100; i++)
            len += (size_t)snprintf(
                t + len, cap - len,
                "  - {name: Lab%03d, cash0: 1 to 3, subs0: 1, api0: 1, "
                "ent0: 1, serve_ratio_sub0: 0.5, serve_ratio_api0: 0.5, "
                "train0: 1, staff0: 0.2}\n", i);
        ASSERT_TRUE(len < cap);
        char err[1024];
        s = load_text(t, NULL, err, sizeof err);
        if (!s) {
            TU_FAIL_("100 labs: refused: %s", err);
        } else {
            ASSERT_EQ_INT(s->nlabs, 100);
            /* Per lab: cash0 and the default revenue_multiple ("15 to
             * 40"). Market: the six "a to b" factors G, D, P, V, U, E. */
            ASSERT_EQ_INT(s->ninputs, 6 + 100 * 2);
            ASSERT_EQ_INT(s->ncop, 100);
            ASSERT_TRUE(!strcmp(s->labs[99].name, "Lab099"));
            ASSERT_EQ_INT(sc_lab_index(s, "Lab057"), 57);
        }
        sc_free(s);
        free(t);
    }
    TU_DONE();
}
