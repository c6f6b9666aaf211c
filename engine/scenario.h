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

/* Market inputs, in the order of MODEL.md section 1. */
enum sc_market_key {
    SC_SUB_MARKET0 = 0,
    SC_API_MARKET0,
    SC_ENT_MARKET0,
    SC_TRAIN_COST_GROWTH,    /* G */
    SC_SERVING_COST_DECLINE, /* D */
    SC_PRICE_DECLINE,        /* P */
    SC_TOKEN_DEMAND_GROWTH,  /* V */
    SC_USAGE_GROWTH,         /* U */
    SC_SUB_GROWTH_RATE,      /* r */
    SC_SUB_MARKET_CAP,       /* K */
    SC_ENTERPRISE_GROWTH,    /* E */
    SC_OTHERS_PULL,          /* O, default 1 */
    SC_MATURITY,             /* m, default 1 */
    SC_SHARE_ELASTICITY,     /* beta, default 1 */
    SC_MARKET_NKEYS
};

/* Lab inputs. */
enum sc_lab_key {
    SC_CASH0 = 0,
    SC_SUBS0,
    SC_API0,
    SC_ENT0,
    SC_SERVE_RATIO_SUB0,
    SC_SERVE_RATIO_API0,
    SC_TRAIN0,
    SC_STAFF0,
    SC_STAFF_GROWTH,            /* default 0 */
    SC_OTHER_RATIO,             /* default 0 */
    SC_EXEC_SIGMA,              /* default 0 */
    SC_RUNWAY_TARGET,           /* default 1.5 */
    SC_RAISE_YEARS,             /* default 2 */
    SC_REVENUE_MULTIPLE,        /* default lognormal "15 to 40" */
    SC_MAX_DILUTION,            /* default 0.25 */
    SC_FUNDING_BASE,            /* alpha, default 0 */
    SC_FUNDING_GROWTH_WEIGHT,   /* beta_g, default 0 */
    SC_FUNDING_SENTIMENT_WEIGHT,/* beta_s, default 0 */
    SC_MIN_TRAIN_FRACTION,      /* default 0.25 */
    SC_ACQUISITION_REVENUE_MIN, /* default 1 */
    SC_LAB_NKEYS
};

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

/* Index of a lab by name, or -1. */
int sc_lab_index(const sc_scenario *s, const char *name);

#endif
