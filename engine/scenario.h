/* scenario: a YAML scenario file, read, checked and made ready to run
 * (prefix sc_).
 *
 * Contract. sc_load reads a scenario file (MODEL.md section 7) with
 * libyaml, applies command-line overrides (--set NAME=VALUE, --paths,
 * --seed), checks every rule of MODEL.md sections 1, 4 and 7, and returns a
 * scenario in which every input is an rd_dist ready for rd_quantile. Nothing
 * is run before every rule has been checked.
 *
 * Errors: one line, "FILE:LINE: KEY: rule", e.g.
 *   scenarios/x.yaml:14: market.price_decline: p5 must be < p95
 *   scenarios/x.yaml:3: market.sub_market0: required key is missing
 *   --set OpenAI.cash0: value "abc" is not a number or a distribution
 * The line is 1-based; for an override the location is "--set NAME".
 */
#ifndef RUNWAY_SCENARIO_H
#define RUNWAY_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "rng/rng_copula.h"
#include "rng/rng_dist.h"

/* The longest horizon a scenario may ask for, in years. */
#define SC_HORIZON_MAX 100
/* The largest scenario file (or text) runway reads, in bytes. */
#define SC_MAX_FILE (4 << 20)
/* The longest lab name and scenario name, in characters (docs/scenarios.md,
 * "Names"): printable UTF-8, no control characters. */
#define SC_LAB_NAME_MAX 64
#define SC_SCENARIO_NAME_MAX 200

/* The inputs: one table each, one line per input (an X-macro): adding an
 * input is adding a line here, then using its enum in the model (step.h).
 * Columns: enum, YAML key, domain, required, may be `per: year` (market
 * only), default, magnitude limit.
 *   domain: ANY (any real), POS (> 0; a continuous distribution may touch
 *   0), NONNEG (>= 0), FRAC ([0, 1]), FRAC_POS ((0, 1]), FRAC_LT1 ([0, 1)),
 *   GT_M1 (> -1)
 *   limit: MONEY (US$ billions, |x| <= 1e12), FACTOR (yearly factors,
 *   [1e-3, 1e3]), OTHER (|x| <= 1e6); docs/scenarios.md, "Limits".
 * The default of revenue_multiple is the distribution "15 to 40"
 * (scenario.c); the others are constants. Market inputs follow MODEL.md
 * section 1's order. */
#define SC_MARKET_KEYS(X)                                                        \
    X(SC_SUB_MARKET0,          "sub_market0",          POS,      1, 0, 0.0, MONEY)  \
    X(SC_API_MARKET0,          "api_market0",          POS,      1, 0, 0.0, MONEY)  \
    X(SC_ENT_MARKET0,          "ent_market0",          POS,      1, 0, 0.0, MONEY)  \
    X(SC_TRAIN_COST_GROWTH,    "train_cost_growth",    POS,      1, 1, 0.0, FACTOR) \
    X(SC_SERVING_COST_DECLINE, "serving_cost_decline", POS,      1, 1, 0.0, FACTOR) \
    X(SC_PRICE_DECLINE,        "price_decline",        POS,      1, 1, 0.0, FACTOR) \
    X(SC_TOKEN_DEMAND_GROWTH,  "token_demand_growth",  POS,      1, 1, 0.0, FACTOR) \
    X(SC_USAGE_GROWTH,         "usage_growth",         POS,      1, 1, 0.0, FACTOR) \
    X(SC_SUB_GROWTH_RATE,      "sub_growth_rate",      NONNEG,   1, 1, 0.0, OTHER)  \
    X(SC_SUB_MARKET_CAP,       "sub_market_cap",       POS,      1, 0, 0.0, MONEY)  \
    X(SC_ENTERPRISE_GROWTH,    "enterprise_growth",    POS,      1, 1, 0.0, FACTOR) \
    X(SC_OTHERS_PULL,          "others_pull",          POS,      0, 1, 1.0, FACTOR) \
    X(SC_MATURITY,             "maturity",             FRAC_POS, 0, 0, 1.0, OTHER)  \
    X(SC_SHARE_ELASTICITY,     "share_elasticity",     NONNEG,   0, 0, 1.0, OTHER)

/* Lab inputs (the per-year column is always 0: only market inputs may be
 * redrawn each year). */
#define SC_LAB_KEYS(X)                                                                    \
    X(SC_CASH0,                    "cash0",                    NONNEG,   1, 0, 0.0,  MONEY) \
    X(SC_SUBS0,                    "subs0",                    NONNEG,   1, 0, 0.0,  MONEY) \
    X(SC_API0,                     "api0",                     NONNEG,   1, 0, 0.0,  MONEY) \
    X(SC_ENT0,                     "ent0",                     NONNEG,   1, 0, 0.0,  MONEY) \
    X(SC_SERVE_RATIO_SUB0,         "serve_ratio_sub0",         NONNEG,   1, 0, 0.0,  OTHER) \
    X(SC_SERVE_RATIO_API0,         "serve_ratio_api0",         NONNEG,   1, 0, 0.0,  OTHER) \
    X(SC_TRAIN0,                   "train0",                   NONNEG,   1, 0, 0.0,  MONEY) \
    X(SC_TRAIN_REVENUE_SHARE,      "train_revenue_share",      NONNEG,   0, 0, 0.0,  OTHER) \
    X(SC_STAFF0,                   "staff0",                   NONNEG,   1, 0, 0.0,  MONEY) \
    X(SC_STAFF_GROWTH,             "staff_growth",             GT_M1,    0, 0, 0.0,  OTHER) \
    X(SC_OTHER_RATIO,              "other_ratio",              FRAC,     0, 0, 0.0,  OTHER) \
    X(SC_EXEC_SIGMA,               "exec_sigma",               NONNEG,   0, 0, 0.0,  OTHER) \
    X(SC_MOMENTUM0,                "momentum0",                POS,      0, 0, 1.0,  OTHER) \
    X(SC_MOMENTUM_PERSISTENCE,     "momentum_persistence",     FRAC_LT1, 0, 0, 0.0,  OTHER) \
    X(SC_RUNWAY_TARGET,            "runway_target",            NONNEG,   0, 0, 1.5,  OTHER) \
    X(SC_RAISE_YEARS,              "raise_years",              POS,      0, 0, 2.0,  OTHER) \
    X(SC_REVENUE_MULTIPLE,         "revenue_multiple",         POS,      0, 0, 0.0,  OTHER) \
    X(SC_MAX_DILUTION,             "max_dilution",             FRAC_LT1, 0, 0, 0.25, OTHER) \
    X(SC_FUNDING_BASE,             "funding_base",             ANY,      0, 0, 0.0,  OTHER) \
    X(SC_FUNDING_GROWTH_WEIGHT,    "funding_growth_weight",    ANY,      0, 0, 0.0,  OTHER) \
    X(SC_FUNDING_SENTIMENT_WEIGHT, "funding_sentiment_weight", ANY,      0, 0, 0.0,  OTHER) \
    X(SC_MIN_TRAIN_FRACTION,       "min_train_fraction",       FRAC,     0, 0, 0.25, OTHER) \
    X(SC_ACQUISITION_REVENUE_MIN,  "acquisition_revenue_min",  NONNEG,   0, 0, 1.0,  MONEY) \
    X(SC_ACQUISITION_HAZARD,       "acquisition_hazard",       FRAC,     0, 0, 0.0,  OTHER) \
    X(SC_DISTRESS_ACQUISITION,     "distress_acquisition",     FRAC,     0, 0, 0.0,  OTHER)

#define SC_KEY_ENUM(e, name, dom, req, per_year, dflt, lim) e,
enum sc_market_key { SC_MARKET_KEYS(SC_KEY_ENUM) SC_MARKET_NKEYS };
enum sc_lab_key { SC_LAB_KEYS(SC_KEY_ENUM) SC_LAB_NKEYS };
#undef SC_KEY_ENUM

/* YAML key names, indexed by the enums above. */
extern const char *const sc_market_keys[SC_MARKET_NKEYS];
extern const char *const sc_lab_keys[SC_LAB_NKEYS];

typedef enum { SC_BACKSTOP_NONE = 0, SC_BACKSTOP_PARENT = 1 } sc_backstop;

typedef struct {
    char *name;
    rd_dist in[SC_LAB_NKEYS];
    sc_backstop backstop;
} sc_lab;

/* One drawn (non-constant) input. The list of these is the `input` axis
 * of the result file, in this order: market inputs in enum order, then
 * each lab in scenario order with its inputs in enum order. */
typedef struct {
    char *name;          /* "market.train_cost_growth", "OpenAI.cash0" */
    int lab;             /* -1 for a market input, else the lab's index */
    int key;             /* enum sc_market_key or sc_lab_key */
    const rd_dist *dist; /* points into the scenario */
    uint64_t stream;     /* rs_stream_id("input", name) */
    int copula;          /* index in the copula, or -1 if uncorrelated */
} sc_input;

typedef struct {
    char *file;        /* path as given */
    char *yaml_text;   /* the scenario as run: the file's text when there
                          are no overrides, else the document re-emitted
                          with every override applied */
    char *source_text; /* the text as given, comments and all */
    char *overrides;   /* the overrides applied, one "NAME=VALUE" line each
                          in the order applied (--set's, then paths=N and
                          seed=S); "" when none. In a VALUE a backslash is
                          written \\ and a newline \n (sc_parse_overrides
                          reads them back) */
    char *name;
    char *description; /* "" when absent */
    int base_year;
    int horizon;       /* T, 1..SC_HORIZON_MAX */
    uint64_t paths;    /* >= 1 */
    uint64_t seed;

    rd_dist market[SC_MARKET_NKEYS];
    double sentiment_rho;   /* in (-1, 1), default 0 */
    double sentiment_sigma; /* >= 0, default 0 */

    size_t nlabs;
    sc_lab *labs;

    size_t ninputs;
    sc_input *inputs;

    /* Correlations, as the copula sees them: dimension ncop, and for each
     * copula dimension the index of its input in `inputs`. NULL/0 when the
     * scenario has no correlations. */
    rc_copula *copula;
    size_t ncop;
    size_t *cop_input;
} sc_scenario;

/* A command-line override. For --set NAME=VALUE: name is "market.KEY",
 * "LAB.KEY" or "defaults.KEY"; value is YAML (a number, "a to b", or a
 * flow mapping such as {dist: normal, mean: 1, sd: 0.1}). */
typedef struct {
    const char *name;
    const char *value;
} sc_override;

typedef struct {
    const sc_override *set;
    size_t nset;
    int has_paths;
    uint64_t paths;
    int has_seed;
    uint64_t seed;
} sc_options;

/* Reads, overrides and checks a scenario. opts may be NULL.
 * Returns 0 and *out (free with sc_free), or -1 with one line in err and
 * *out NULL. */
int sc_load(sc_scenario **out, const char *path, const sc_options *opts,
            char *err, size_t errlen);

/* The same from text in memory; file names the text in messages. */
int sc_load_text(sc_scenario **out, const char *text, size_t len,
                 const char *file, const sc_options *opts,
                 char *err, size_t errlen);

void sc_free(sc_scenario *s);

/* Reads the `overrides` text back (sc_scenario.overrides): into *o its
 * --set pairs (*set, malloc'd, with *strings: every name and value,
 * malloc'd, to free with sc_overrides_free) and paths/seed. 0, or -1
 * with one line in err naming the bad line. */
int sc_parse_overrides(const char *text, sc_options *o, sc_override **set, char ***strings,
                       size_t *nstrings, char *err, size_t errlen);
void sc_overrides_free(sc_override *set, char **strings, size_t nstrings);

/* The candidate closest to word within edit distance 2 (the suggestion
 * of "unknown key; did you mean ...?"), or NULL; for other modules'
 * names, such as the command line's options. */
const char *sc_suggest(const char *word, const char *const *cand, size_t n);

/* Index of a lab by name, or -1. */
int sc_lab_index(const sc_scenario *s, const char *name);

/* One value in MODEL.md section 4's grammar, for another module that reads
 * its own YAML (engine/observe.c reads observed figures with it).
 * doc is a libyaml document (yaml_document_t) the caller loaded and still
 * owns; value is the node of the value, keynode (0 if none) the node of
 * its key: errors about the whole value are reported at the key's line,
 * errors about one parameter at that parameter's line. name is the KEY of
 * "FILE:LINE: KEY: rule" (file names the text). Accepts what a scenario
 * accepts (a number, "a to b", a mapping with dist:, min:/max:), except
 * per: year. Does not look for duplicate keys: the caller walks its tree
 * for them first. GSL's error handler is off during the call (and
 * restored). Returns 0 with *out prepared for rd_quantile, or -1 with one
 * line in err; allocates nothing. */
struct yaml_document_s;
int sc_parse_dist_node(struct yaml_document_s *doc, int keynode, int value,
                       const char *file, const char *name, rd_dist *out,
                       char *err, size_t errlen);

#endif
