/* test_observe: observations files (MODEL.md section 8) are read and
 * checked like scenarios, and ob_loglik is the log of a density divided
 * by its maximum.
 *
 * The scenario checked against is tests/observe/scenario.yaml (base year
 * 2025, horizon 10, labs OpenAI, Anthropic, xAI). Every expected message
 * below was written by hand from the fixture file it names (its line, its
 * key, the rule of observe.h), not copied from the loader's output.
 * Expected likelihoods come from GSL's own densities (gsl_ran_*_pdf), an
 * implementation independent of observe.c's closed forms.
 *
 * Run from tests/ (CTest sets the working directory). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>

#include "engine/observe.h"
#include "test_util.h"

#define DIR "observe/"

static sc_scenario *scen;

#define ASSERT_STREQ(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_)) \
        TU_FAIL_("%s == %s:\n  got      '%s'\n  expected '%s'", #a, #b, \
                 a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)

/* Loads path; expects failure with exactly the message want, one line,
 * and *out left NULL. */
static void expect_error(const char *path, const char *want)
{
    ob_set *set = (ob_set *)1;
    char err[1024] = "";
    int rc = ob_load(&set, path, scen, err, sizeof err);
    ASSERT_EQ_INT(rc, -1);
    ASSERT_TRUE(set == NULL);
    ASSERT_TRUE(strchr(err, '\n') == NULL);
    ASSERT_STREQ(err, want);
    if (rc == 0) ob_free(set);
}

/* The same for text in memory, named "obs.yaml". */
static void expect_text_error(const char *text, const char *want)
{
    ob_set *set = (ob_set *)1;
    char err[1024] = "";
    int rc = ob_load_text(&set, text, strlen(text), "obs.yaml", scen, err,
                          sizeof err);
    ASSERT_EQ_INT(rc, -1);
    ASSERT_TRUE(set == NULL);
    ASSERT_TRUE(strchr(err, '\n') == NULL);
    ASSERT_STREQ(err, want);
    if (rc == 0) ob_free(set);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 16);
    *len = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (buf) buf[*len] = 0;
    return buf;
}

/* ------------------------------------------------------------------ */

static void test_valid_file_loads_with_lab_indices_years_medians_sources(void)
{
    ob_set *set = NULL;
    char err[1024] = "";
    int rc = ob_load(&set, DIR "valid.yaml", scen, err, sizeof err);
    ASSERT_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    ASSERT_STREQ(set->file, DIR "valid.yaml");
    ASSERT_EQ_INT(set->n, 8);
    const ob_obs *o = set->obs;
    int openai = sc_lab_index(scen, "OpenAI");
    int anthropic = sc_lab_index(scen, "Anthropic");
    int xai = sc_lab_index(scen, "xAI");
    ASSERT_TRUE(openai >= 0 && anthropic >= 0 && xai >= 0);

    /* revenue: 25 to 36, a lognormal whose median is sqrt(25 * 36) = 30. */
    ASSERT_EQ_INT(o[0].lab, openai);
    ASSERT_EQ_INT(o[0].segment, -1);
    ASSERT_EQ_INT(o[0].year, 2026);
    ASSERT_EQ_INT(o[0].t, 1);
    ASSERT_EQ_INT(o[0].q, OB_REVENUE);
    ASSERT_EQ_INT(o[0].dist.family, RD_LOGNORMAL);
    ASSERT_NEAR(o[0].median, 30.0, 1e-12 * 30);
    ASSERT_NEAR(o[0].p5, 25.0, 1e-9 * 25);
    ASSERT_NEAR(o[0].p95, 36.0, 1e-9 * 36);
    ASSERT_STREQ(o[0].source, "audited, as reported");
    ASSERT_STREQ(o[0].label, "OpenAI revenue 2026");
    ASSERT_EQ_INT(o[0].line, 5);

    /* raised: 15 to 17.5, median sqrt(262.5). */
    ASSERT_EQ_INT(o[1].lab, anthropic);
    ASSERT_EQ_INT(o[1].q, OB_RAISED);
    ASSERT_NEAR(o[1].median, sqrt(15.0 * 17.5), 1e-12 * 16);
    ASSERT_STREQ(o[1].source, "press reports of two rounds");

    /* status: no figure. */
    ASSERT_EQ_INT(o[2].lab, xai);
    ASSERT_EQ_INT(o[2].year, 2027);
    ASSERT_EQ_INT(o[2].t, 2);
    ASSERT_EQ_INT(o[2].q, OB_STATUS);
    ASSERT_EQ_INT(o[2].status, OB_ACQUIRED_SOLVENT);
    ASSERT_TRUE(isnan(o[2].median));
    ASSERT_STREQ(o[2].label, "xAI status 2027");

    /* market: api is segment 1; no lab. */
    ASSERT_EQ_INT(o[3].lab, -1);
    ASSERT_EQ_INT(o[3].segment, 1);
    ASSERT_EQ_INT(o[3].q, OB_SIZE);
    ASSERT_NEAR(o[3].median, 20.0, 1e-12 * 20);
    ASSERT_STREQ(o[3].label, "api market size 2026");

    /* Block style; normal p5 -25, p95 -17: median the midpoint -21; the
     * folded (>-) source is one line. */
    ASSERT_EQ_INT(o[4].lab, openai);
    ASSERT_EQ_INT(o[4].q, OB_OP_CASH_FLOW);
    ASSERT_EQ_INT(o[4].dist.family, RD_NORMAL);
    ASSERT_NEAR(o[4].median, -21.0, 1e-12 * 21);
    ASSERT_NEAR(o[4].p5, -25.0, 1e-9 * 25);
    ASSERT_NEAR(o[4].p95, -17.0, 1e-9 * 25);
    ASSERT_STREQ(o[4].source, "leaked financials, two outlets");
    ASSERT_EQ_INT(o[4].line, 9);

    /* The run's last year: t = T = 10. normal mean 40, sd 10: p5 is
     * 40 - 1.6448536269514722 * 10 (z_0.95, Abramowitz & Stegun 26.2). */
    ASSERT_EQ_INT(o[5].year, 2035);
    ASSERT_EQ_INT(o[5].t, 10);
    ASSERT_EQ_INT(o[5].q, OB_CASH);
    ASSERT_NEAR(o[5].median, 40.0, 1e-12 * 40);
    ASSERT_NEAR(o[5].p5, 40.0 - 16.448536269514722, 1e-9);

    ASSERT_EQ_INT(o[6].q, OB_SHARE);
    ASSERT_NEAR(o[6].median, sqrt(0.1 * 0.2), 1e-12);
    ASSERT_EQ_INT(o[7].q, OB_STATUS);
    ASSERT_EQ_INT(o[7].status, OB_ALIVE);

    /* The file's text is kept as it is, for provenance. */
    size_t len;
    char *text = read_all(DIR "valid.yaml", &len);
    ASSERT_TRUE(text != NULL);
    if (text) ASSERT_STREQ(set->yaml_text, text);
    free(text);
    ob_free(set);
}

/* ------------------------------------------------------------------ */
/* Each fixture breaks one rule; the message names file, line, key, rule. */

static void test_unknown_lab_is_refused_with_closest_name(void)
{
    expect_error(DIR "unknown_lab.yaml",
                 "observe/unknown_lab.yaml:3: observations[1].lab: unknown "
                 "lab \"OpenAl\"; did you mean OpenAI?");
    expect_error(DIR "unknown_lab_no_match.yaml",
                 "observe/unknown_lab_no_match.yaml:2: observations[0].lab: "
                 "unknown lab \"Meta\" (labs: OpenAI, Anthropic, xAI)");
}

static void test_year_outside_run_is_refused(void)
{
    expect_error(DIR "year_outside_run.yaml",
                 "observe/year_outside_run.yaml:3: observations[0].year: "
                 "year 2024 is outside the run 2026..2035 (base_year 2025 "
                 "is the last year with actual figures)");
}

static void test_unknown_quantity_is_refused_with_suggestion(void)
{
    expect_error(DIR "unknown_quantity.yaml",
                 "observe/unknown_quantity.yaml:5: observations[1].revenu: "
                 "unknown key; did you mean revenue? (an observation has lab "
                 "or market, year, one quantity and source)");
}

static void test_status_not_in_list_is_refused(void)
{
    expect_error(DIR "status_not_in_list.yaml",
                 "observe/status_not_in_list.yaml:2: observations[0].status: "
                 "unknown status \"acquired_solvant\" (did you mean "
                 "acquired_solvent?); expected alive, failed, acquired, "
                 "wound_down, acquired_solvent or exited");
}

static void test_p5_not_below_p95_is_refused_at_its_line(void)
{
    expect_error(DIR "p5_not_below_p95.yaml",
                 "observe/p5_not_below_p95.yaml:6: "
                 "observations[0].op_cash_flow: p5 must be < p95 (got -17 "
                 "and -25)");
}

static void test_two_quantities_are_refused(void)
{
    expect_error(DIR "two_quantities.yaml",
                 "observe/two_quantities.yaml:2: observations[0].cash: one "
                 "quantity per observation (this one already has revenue); "
                 "write another observation");
}

static void test_missing_source_is_refused_at_the_entry(void)
{
    expect_error(DIR "missing_source.yaml",
                 "observe/missing_source.yaml:4: observations[1].source: "
                 "required key is missing: say where the figure comes from "
                 "(free text, kept with the results)");
}

static void test_plain_number_figure_is_refused_with_a_to_b(void)
{
    expect_error(DIR "plain_number.yaml",
                 "observe/plain_number.yaml:2: observations[0].revenue: a "
                 "figure is uncertain: give it as a distribution, e.g. \"27 "
                 "to 33\" (a lognormal 90% interval), not the plain number "
                 "30");
}

static void test_market_with_revenue_is_refused(void)
{
    expect_error(DIR "market_revenue.yaml",
                 "observe/market_revenue.yaml:2: observations[0].revenue: a "
                 "market's only quantity is size (the segment's revenue, all "
                 "providers); revenue is a lab's");
}

/* The other rules, on text in memory. */
static void test_every_other_rule_gives_its_one_line_message(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        /* duplicate key, named with its first line */
        {"observations:\n"
         "  - lab: OpenAI\n"
         "    year: 2026\n"
         "    year: 2027\n",
         "obs.yaml:4: observations[0].year: duplicate key (first at line "
         "3)"},
        /* root: only observations:, a non-empty list */
        {"observation:\n  - {lab: OpenAI}\n",
         "obs.yaml:1: observation: unknown key; did you mean observations? "
         "(an observations file has one key, observations:)"},
        {"observations: []\n",
         "obs.yaml:1: observations: must be a non-empty list, one entry per "
         "observed figure: - {lab: ..., year: ..., QUANTITY: ..., source: "
         "...}"},
        {"- {lab: OpenAI}\n",
         "obs.yaml:1: an observations file must be a mapping with one key, "
         "observations:"},
        {"", "obs.yaml:1: the observations file is empty (expected "
             "observations: and a list)"},
        {"observations:\n  - [OpenAI, 2026]\n",
         "obs.yaml:2: observations[0]: must be a mapping such as {lab: "
         "OpenAI, year: 2026, revenue: 20 to 30, source: \"...\"}"},
        /* lab or market, one of them */
        {"observations:\n  - {year: 2026, revenue: 1 to 2, source: x}\n",
         "obs.yaml:2: observations[0]: needs lab: (a lab of the scenario) or "
         "market: (sub, api or ent)"},
        {"observations:\n  - {lab: xAI, market: api, year: 2026, size: 1 to "
         "2, source: x}\n",
         "obs.yaml:2: observations[0].market: give lab or market, not both"},
        {"observations:\n  - {market: apis, year: 2026, size: 1 to 2, "
         "source: x}\n",
         "obs.yaml:2: observations[0].market: unknown segment \"apis\"; "
         "expected sub (consumer subscriptions), api or ent (enterprise)"},
        {"observations:\n  - {lab: openai, year: 2026, revenue: 1 to 2, "
         "source: x}\n",
         "obs.yaml:2: observations[0].lab: unknown lab \"openai\"; did you "
         "mean OpenAI?"},
        /* year: an integer, base_year < year <= base_year + horizon */
        {"observations:\n  - {lab: xAI, year: 2025, cash: 1 to 2, source: "
         "x}\n",
         "obs.yaml:2: observations[0].year: year 2025 is outside the run "
         "2026..2035 (base_year 2025 is the last year with actual figures)"},
        {"observations:\n  - {lab: xAI, year: 2036, cash: 1 to 2, source: "
         "x}\n",
         "obs.yaml:2: observations[0].year: year 2036 is outside the run "
         "2026..2035 (base_year 2025 is the last year with actual figures)"},
        {"observations:\n  - {lab: xAI, year: 2026.5, cash: 1 to 2, source: "
         "x}\n",
         "obs.yaml:2: observations[0].year: year must be an integer calendar "
         "year (got \"2026.5\")"},
        {"observations:\n  - {lab: xAI, cash: 1 to 2, source: x}\n",
         "obs.yaml:2: observations[0].year: required key is missing"},
        /* quantities */
        {"observations:\n  - {lab: xAI, year: 2026, source: x}\n",
         "obs.yaml:2: observations[0]: needs one quantity: revenue, cash, "
         "raised, op_cash_flow, share or status for a lab, size for a "
         "market"},
        {"observations:\n  - {lab: xAI, year: 2026, size: 1 to 2, source: "
         "x}\n",
         "obs.yaml:2: observations[0].size: size is a market's quantity "
         "(give market: sub, api or ent); a lab has revenue, cash, raised, "
         "op_cash_flow, share or status"},
        {"observations:\n  - {market: sub, year: 2026, status: alive, "
         "source: x}\n",
         "obs.yaml:2: observations[0].status: a market's only quantity is "
         "size (the segment's revenue, all providers); status is a lab's"},
        /* figures */
        {"observations:\n  - {lab: xAI, year: 2026, revenue: {dist: normal, "
         "p5: 1, p95: 3}, source: x}\n",
         "obs.yaml:2: observations[0].revenue: revenue cannot be negative, "
         "but this normal distribution ranges over [-inf, inf]; use \"a to "
         "b\" (a lognormal) or truncate it with min: 0"},
        {"observations:\n  - {lab: xAI, year: 2026, share: 20 to 30, "
         "source: x}\n",
         "obs.yaml:2: observations[0].share: share is a fraction of the "
         "market in (0, 1), but this figure's 95th percentile is 30; write "
         "fractions (0.2 to 0.3, not 20 to 30)"},
        {"observations:\n  - {lab: xAI, year: 2026, cash: -3, source: x}\n",
         "obs.yaml:2: observations[0].cash: a figure is uncertain: give it "
         "as a distribution, e.g. \"a to b\" (a lognormal 90% interval) or "
         "{dist: normal, p5: a, p95: b}, not the plain number -3"},
        {"observations:\n  - {lab: xAI, year: 2026, cash: {dist: gamma, "
         "shape: 0.5, scale: 2}, source: x}\n",
         "obs.yaml:2: observations[0].cash: a figure may be \"a to b\" or a "
         "normal, lognormal, uniform, triangular or pert distribution, not "
         "gamma (its density can have no finite maximum to weigh paths "
         "by)"},
        {"observations:\n  - lab: xAI\n    year: 2026\n    cash: {dist: "
         "lognormal, p5: 1, p95: 2,\n           per: year}\n    source: x\n",
         "obs.yaml:5: observations[0].cash: per has no meaning for an "
         "observed figure (it is one number, observed once)"},
        {"observations:\n  - {lab: xAI, year: 2026, cash: 3 to 2, source: "
         "x}\n",
         "obs.yaml:2: observations[0].cash: in \"a to b\" a must be < b "
         "(got \"3 to 2\")"},
        {"observations:\n  - {lab: xAI, year: 2026, cash: 1e11 to 1e13, "
         "source: x}\n",
         "obs.yaml:2: observations[0].cash: must be at most 1e12 (US$ "
         "billion), but this figure's 90% interval is [1e+11, 1e+13]"},
        /* source */
        {"observations:\n  - {lab: xAI, year: 2026, cash: 1 to 2, source: "
         "\"  \"}\n",
         "obs.yaml:2: observations[0].source: must not be empty: say where "
         "the figure comes from"},
        {"observations:\n  - {lab: xAI, year: 2026, cash: 1 to 2, source: "
         "[a, b]}\n",
         "obs.yaml:2: observations[0].source: must be text, not a list or a "
         "mapping"},
        /* YAML itself */
        {"observations:\n  - {lab: xAI, year: 2026\n",
         "obs.yaml:3: syntax error: did not find expected ',' or '}' (while "
         "parsing a flow mapping at line 2)"},
        {"observations:\n  - {lab: xAI, year: 2026, cash: 1 to 2, source: "
         "x}\n---\nobservations: []\n",
         "obs.yaml:3: only one YAML document is allowed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_text_error(cases[i].text, cases[i].want);
}

static void test_file_over_1_mib_is_refused_before_parsing(void)
{
    size_t n = (size_t)OB_MAX_FILE + 1;
    char *big = malloc(n);
    ASSERT_TRUE(big != NULL);
    if (!big) return;
    memset(big, '#', n);
    big[n - 1] = '\n';
    ob_set *set = (ob_set *)1;
    char err[512] = "";
    ASSERT_EQ_INT(ob_load_text(&set, big, n, "big.yaml", scen, err,
                               sizeof err), -1);
    ASSERT_TRUE(set == NULL);
    ASSERT_STREQ(err, "big.yaml: the file is larger than 1 MiB (1048576 "
                      "bytes), the most an observations file may hold (a few "
                      "lines per observed figure)");

    /* The same from disk, where ob_load stops reading past the cap. */
    char path[] = "/tmp/runway-observe-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    if (fd >= 0) {
        ASSERT_EQ_INT(write(fd, big, n), (long long)n);
        close(fd);
        char want[600];
        snprintf(want, sizeof want, "%s: the file is larger than 1 MiB "
                 "(1048576 bytes), the most an observations file may hold (a "
                 "few lines per observed figure)", path);
        expect_error(path, want);
        unlink(path);
    }
    /* Exactly the cap is allowed: one observation, then a comment. */
    const char *head = "observations:\n  - {lab: xAI, year: 2026, cash: 1 "
                       "to 2, source: x}\n";
    memcpy(big, head, strlen(head));
    n = OB_MAX_FILE;
    big[n - 1] = '\n';
    ASSERT_EQ_INT(ob_load_text(&set, big, n, "cap.yaml", scen, err,
                               sizeof err), 0);
    if (set) {
        ASSERT_EQ_INT(set->n, 1);
        ob_free(set);
    }
    free(big);
}

static void test_short_error_buffer_is_cut_not_overrun(void)
{
    char err[16];
    memset(err, 'x', sizeof err);
    ob_set *set = NULL;
    ASSERT_EQ_INT(ob_load(&set, DIR "unknown_lab.yaml", scen, err, 12), -1);
    ASSERT_EQ_INT(strlen(err), 11);
    ASSERT_TRUE(err[12] == 'x');
    ASSERT_EQ_INT(ob_load(&set, DIR "unknown_lab.yaml", scen, NULL, 0), -1);
    ASSERT_EQ_INT(ob_load(&set, "observe/no_such_file.yaml", scen, err,
                          sizeof err), -1);
}

/* ------------------------------------------------------------------ */
/* ob_loglik against GSL's densities: ln f(x) - ln f(mode). */

/* One observation with figure text fig (a flow value). */
static ob_set *one(const char *q, const char *fig)
{
    char text[512], err[512];
    snprintf(text, sizeof text, "observations:\n  - {lab: OpenAI, year: "
             "2026, %s: %s, source: test}\n", q, fig);
    ob_set *set = NULL;
    if (ob_load_text(&set, text, strlen(text), "t.yaml", scen, err,
                     sizeof err)) {
        TU_FAIL_("%s: %s", text, err);
        return NULL;
    }
    return set;
}

static void test_loglik_normal_is_zero_at_mode_and_matches_gsl(void)
{
    ob_set *set = one("op_cash_flow", "{dist: normal, p5: -25, p95: -17}");
    if (!set) return;
    const ob_obs *o = &set->obs[0];
    double m = -21.0, sd = 4.0 / 1.6448536269514722;
    ASSERT_SAME(ob_loglik(o, m), 0.0);
    const double xs[] = {-30, -25, -21.5, -17, -10, 3};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double want = log(gsl_ran_gaussian_pdf(xs[i] - m, sd)) -
                      log(gsl_ran_gaussian_pdf(0.0, sd));
        ASSERT_NEAR(ob_loglik(o, xs[i]), want, 1e-9 * (1 + fabs(want)));
        ASSERT_TRUE(ob_loglik(o, xs[i]) <= 0);
    }
    /* At p5 and p95: -z95^2 / 2. */
    ASSERT_NEAR(ob_loglik(o, -25.0), -0.5 * 1.6448536269514722 *
                1.6448536269514722, 1e-9);
    ASSERT_TRUE(isnan(ob_loglik(o, NAN)));
    ob_free(set);

    /* Truncated at min: 6 above the mean 5: the largest density is at 6. */
    set = one("cash", "{dist: normal, mean: 5, sd: 2, min: 6}");
    if (!set) return;
    o = &set->obs[0];
    ASSERT_SAME(ob_loglik(o, 6.0), 0.0);
    ASSERT_TRUE(ob_loglik(o, 5.9) == -INFINITY);
    ASSERT_NEAR(ob_loglik(o, 8.0), log(gsl_ran_gaussian_pdf(3.0, 2.0)) -
                log(gsl_ran_gaussian_pdf(1.0, 2.0)), 1e-12);
    ob_free(set);
}

/* A positive figure's error is multiplicative: the likelihood of x is
 * the normal density of ln y about ln x (GSL's gaussian pdf of ln x - mu),
 * 0 at the median, not the lognormal density in x (whose 1/x would pull
 * the posterior down). */
static void test_loglik_lognormal_is_the_kernel_in_ln_x_zero_at_the_median(void)
{
    ob_set *set = one("revenue", "25 to 36");
    if (!set) return;
    const ob_obs *o = &set->obs[0];
    double mu = 0.5 * (log(25.0) + log(36.0));
    double sigma = (log(36.0) - log(25.0)) / (2 * 1.6448536269514722);
    ASSERT_NEAR(o->dist.a, mu, 1e-14);
    ASSERT_NEAR(o->dist.b, sigma, 1e-14);
    ASSERT_NEAR(ob_loglik(o, 30.0), 0.0, 1e-12); /* the median sqrt(25 36) */
    ASSERT_TRUE(ob_loglik(o, 30.0 * 1.001) < 0);
    ASSERT_TRUE(ob_loglik(o, 30.0 * 0.999) < 0);
    const double xs[] = {10, 25, 29, 30, 36, 50, 100};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double want = log(gsl_ran_gaussian_pdf(log(xs[i]) - mu, sigma)) -
                      log(gsl_ran_gaussian_pdf(0.0, sigma));
        ASSERT_NEAR(ob_loglik(o, xs[i]), want, 1e-9 * (1 + fabs(want)));
    }
    /* symmetric in ln x: 25 and 36 are equally likely */
    ASSERT_NEAR(ob_loglik(o, 25.0), ob_loglik(o, 36.0), 1e-12);
    ASSERT_TRUE(ob_loglik(o, 0.0) == -INFINITY);
    ASSERT_TRUE(ob_loglik(o, -1.0) == -INFINITY);
    ob_free(set);
}

static void test_loglik_uniform_triangular_pert(void)
{
    ob_set *set = one("cash", "{dist: uniform, min: 1, max: 3}");
    if (!set) return;
    ASSERT_SAME(ob_loglik(&set->obs[0], 2.5), 0.0);
    ASSERT_TRUE(ob_loglik(&set->obs[0], 3.5) == -INFINITY);
    ob_free(set);

    /* Triangular 0, 1, 4: density 2/4 x on [0, 1], 2/4 (4 - x)/3 after. */
    set = one("cash", "{dist: triangular, min: 0, mode: 1, max: 4}");
    if (!set) return;
    ASSERT_SAME(ob_loglik(&set->obs[0], 1.0), 0.0);
    ASSERT_NEAR(ob_loglik(&set->obs[0], 0.5), log(0.5), 1e-15);
    ASSERT_NEAR(ob_loglik(&set->obs[0], 2.5), log(1.5 / 3.0), 1e-15);
    ASSERT_TRUE(ob_loglik(&set->obs[0], 0.0) == -INFINITY);
    ASSERT_TRUE(ob_loglik(&set->obs[0], 4.5) == -INFINITY);
    ob_free(set);

    /* PERT 2, 3, 6: a beta(1 + 4/4, 1 + 12/4) = beta(2, 4) on [2, 6]. */
    set = one("cash", "{dist: pert, min: 2, mode: 3, max: 6}");
    if (!set) return;
    ASSERT_NEAR(ob_loglik(&set->obs[0], 3.0), 0.0, 1e-15);
    double fmax = gsl_ran_beta_pdf(0.25, 2, 4);
    const double xs[] = {2.2, 2.9, 4, 5.5};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        ASSERT_NEAR(ob_loglik(&set->obs[0], xs[i]),
                    log(gsl_ran_beta_pdf((xs[i] - 2) / 4, 2, 4)) - log(fmax),
                    1e-12);
    ob_free(set);
}

static void test_status_matches_failed_and_exited_as_groups(void)
{
    ob_set *set = one("status", "exited");
    if (set) {
        ASSERT_TRUE(isnan(ob_loglik(&set->obs[0], 1.0)));
        ob_free(set);
    }
    static const ob_status outcomes[] = {OB_ALIVE, OB_ACQUIRED,
                                         OB_WOUND_DOWN, OB_ACQUIRED_SOLVENT};
    /* rows: observed alive, failed, acquired, wound_down, acquired_solvent,
     * exited; columns: the outcomes above (MODEL.md section 8). */
    static const int want[6][4] = {
        {1, 0, 0, 0}, {0, 1, 1, 0}, {0, 1, 0, 0},
        {0, 0, 1, 0}, {0, 0, 0, 1}, {0, 1, 1, 1},
    };
    for (int s = 0; s < OB_NSTATUSES; s++)
        for (int k = 0; k < 4; k++)
            ASSERT_EQ_INT(ob_status_matches((ob_status)s, outcomes[k]),
                          want[s][k]);
    ASSERT_STREQ(ob_status_name(OB_ACQUIRED_SOLVENT), "acquired_solvent");
    ASSERT_STREQ(ob_quantity_name(OB_OP_CASH_FLOW), "op_cash_flow");
}

int main(void)
{
    char err[1024];
    if (sc_load(&scen, DIR "scenario.yaml", NULL, err, sizeof err)) {
        fprintf(stderr, "cannot load the fixture scenario: %s\n", err);
        return 1;
    }
    test_valid_file_loads_with_lab_indices_years_medians_sources();
    test_unknown_lab_is_refused_with_closest_name();
    test_year_outside_run_is_refused();
    test_unknown_quantity_is_refused_with_suggestion();
    test_status_not_in_list_is_refused();
    test_p5_not_below_p95_is_refused_at_its_line();
    test_two_quantities_are_refused();
    test_missing_source_is_refused_at_the_entry();
    test_plain_number_figure_is_refused_with_a_to_b();
    test_market_with_revenue_is_refused();
    test_every_other_rule_gives_its_one_line_message();
    test_file_over_1_mib_is_refused_before_parsing();
    test_short_error_buffer_is_cut_not_overrun();
    test_loglik_normal_is_zero_at_mode_and_matches_gsl();
    test_loglik_lognormal_is_the_kernel_in_ln_x_zero_at_the_median();
    test_loglik_uniform_triangular_pert();
    test_status_matches_failed_and_exited_as_groups();
    sc_free(scen);
    TU_DONE();
}
