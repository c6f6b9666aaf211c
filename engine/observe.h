/* observe: an observations file (MODEL.md section 8), read and checked
 * against the scenario it will score or condition (prefix ob_).
 *
 * Contract. ob_load reads a YAML file
 *
 *     observations:
 *       - {lab: OpenAI, year: 2026, revenue: 25 to 32, source: "..."}
 *       - {market: api, year: 2026, size: 12 to 20, source: "..."}
 *       - {lab: xAI, year: 2027, status: acquired_solvent, source: "..."}
 *
 * with libyaml, checks every rule below against the scenario s (its labs,
 * base_year and horizon) and returns the observations in file order, each
 * figure an rd_dist ready for rd_quantile (parsed by scenario.c's own
 * grammar, sc_parse_dist_node, so a figure is written exactly as a
 * scenario input is). Nothing is returned unless every rule holds.
 *
 * Rules (docs/evidence.md explains them for analysts):
 *   - the root is a mapping whose only key is `observations`, a non-empty
 *     list of mappings; the file is at most OB_MAX_FILE bytes, one YAML
 *     document; no mapping repeats a key;
 *   - each entry has exactly one of `lab` (a lab of the scenario) and
 *     `market` (sub, api or ent); `year`, an integer calendar year with
 *     base_year < year <= base_year + horizon; exactly one quantity; and
 *     `source`, non-empty free text; no other key;
 *   - a lab's quantities: revenue, cash, raised, op_cash_flow, share,
 *     status; a market's: size;
 *   - status is one of alive, failed, acquired, wound_down,
 *     acquired_solvent, exited;
 *   - every other quantity is a figure: a distribution in MODEL.md
 *     section 4's grammar ("a to b", {dist: normal, p5: a, p95: b}, ...),
 *     never a plain number (an observation is uncertain), without `per`;
 *     its family is normal, lognormal, uniform, triangular or pert (their
 *     densities have a finite maximum, which ob_loglik divides by);
 *     revenue, raised and size cannot be negative (so a normal needs
 *     min: 0), share's figure lies in [0, 1] below its 95th percentile
 *     (and never below 0); a money figure's p5 and p95 lie within +-1e12.
 *
 * Errors: one line, "FILE:LINE: observations[i].KEY: rule" (i counts from
 * 0 in file order; LINE is 1-based), e.g.
 *   obs.yaml:4: observations[1].lab: unknown lab "OpenAl"; did you mean OpenAI?
 *   obs.yaml:7: observations[2].year: year 2024 is outside the run 2026..2035
 * On an error nothing stays allocated and *out is NULL.
 */
#ifndef RUNWAY_OBSERVE_H
#define RUNWAY_OBSERVE_H

#include <stddef.h>

#include "engine/scenario.h"
#include "rng/rng_dist.h"

/* The largest observations file ob_load reads, in bytes (1 MiB: some
 * thousands of observations; a larger file is a mistake, not evidence). */
#define OB_MAX_FILE (1u << 20)

/* What an observation is about (MODEL.md section 8). Money in US$
 * billions, for the calendar year `year` (cash: at its end). */
typedef enum {
    OB_REVENUE = 0,  /* a lab's revenue R_i,t */
    OB_CASH,         /* a lab's cash C_i,t at the end of the year */
    OB_RAISED,       /* funding a lab raised in the year */
    OB_OP_CASH_FLOW, /* a lab's operating cash flow op_i,t (may be < 0) */
    OB_SHARE,        /* a lab's share of its segments' combined market,
                        R_i,t / (M_sub,t + M_api,t + M_ent,t), in [0, 1] */
    OB_SIZE,         /* a segment's whole market M_seg,t */
    OB_STATUS        /* a lab's status at the end of the year */
} ob_quantity;
#define OB_NQUANTITIES 7

/* A status. A path's own outcome in a year is one of OB_ALIVE,
 * OB_ACQUIRED (acquired on failure), OB_WOUND_DOWN, OB_ACQUIRED_SOLVENT;
 * an observation may also say OB_FAILED (acquired or wound down) or
 * OB_EXITED (any of the three exits). */
typedef enum {
    OB_ALIVE = 0,
    OB_FAILED,
    OB_ACQUIRED,
    OB_WOUND_DOWN,
    OB_ACQUIRED_SOLVENT,
    OB_EXITED
} ob_status;
#define OB_NSTATUSES 6

typedef struct {
    int lab;         /* index in the scenario's labs, -1 for a market */
    int segment;     /* 0 sub, 1 api, 2 ent; -1 for a lab */
    int year;        /* calendar year */
    int t;           /* year - base_year, 1..T */
    ob_quantity q;
    ob_status status; /* the observed status for OB_STATUS; OB_ALIVE for a
                         figure (a lab's figure exists only where it is
                         alive that year) */
    rd_dist dist;    /* the figure's distribution, prepared; for OB_STATUS
                        rd_const(NAN) */
    double median;   /* rd_quantile(dist, 0.5); NAN for OB_STATUS */
    double p5, p95;  /* rd_quantile(dist, 0.05 / 0.95); NAN for OB_STATUS */
    char *source;    /* the `source` text, as written */
    char *label;     /* "OpenAI revenue 2026", "api market size 2026",
                        "xAI status 2027" */
    int line;        /* 1-based line of the entry in the file */
} ob_obs;

typedef struct {
    char *file;      /* path (or name) as given */
    char *yaml_text; /* the file's text, for provenance */
    size_t n;        /* >= 1 */
    ob_obs *obs;     /* n observations, in file order */
} ob_set;

/* Reads and checks an observations file against scenario s (which must
 * stay loaded only for this call). Returns 0 and *out (free with ob_free),
 * or -1 with one line in err and *out NULL. */
int ob_load(ob_set **out, const char *path, const sc_scenario *s,
            char *err, size_t errlen);

/* The same from text in memory (len bytes; need not end in NUL); file
 * names the text in messages. */
int ob_load_text(ob_set **out, const char *text, size_t len,
                 const char *file, const sc_scenario *s, char *err,
                 size_t errlen);

/* Frees a set and everything it owns; NULL is fine. */
void ob_free(ob_set *set);

/* ln l(x), where l = the figure's density at x divided by the density's
 * largest value (MODEL.md section 8's conditioning weight), so <= 0, 0 at
 * the mode. For a lognormal (a multiplicative measurement error) it is
 * the density of ln x, a normal kernel in ln x whose largest value is at
 * the median exp(mu); for a truncated normal or lognormal the largest
 * value is at the mode clamped into [min, max]. Uniform: 0 on its
 * support; triangular and pert: 0 at `mode`. -INFINITY outside the
 * support (x <= 0 for a lognormal); NAN for x NaN or a status
 * observation (use ob_status_matches). */
double ob_loglik(const ob_obs *o, double x);

/* 1 when a path whose outcome at the end of the observed year is `outcome`
 * (OB_ALIVE, OB_ACQUIRED, OB_WOUND_DOWN or OB_ACQUIRED_SOLVENT) matches
 * the observed status, else 0: failed matches acquired and wound_down,
 * exited matches all three exits. */
int ob_status_matches(ob_status observed, ob_status outcome);

/* Names as written in a file: "revenue", ..., "status"; "alive", ... */
const char *ob_quantity_name(ob_quantity q);
const char *ob_status_name(ob_status st);

#endif
