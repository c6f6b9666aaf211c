/* scenario_internal: what the four files of the scenario module share
 * (not a public contract; included only by these four files and a fifth
 * user, observe.c).
 *
 *   yamltree.c     the YAML tree (libyaml's document API) and the helpers
 *                  every rule uses: lookups, numbers, one-line errors,
 *                  duplicate keys, copying and re-emission (prefix yt_)
 *   distgrammar.c  one value of MODEL.md section 4 into an rd_dist, and
 *                  the domain and limit checks of an input (prefix dg_)
 *   overrides.c    --set, --paths and --seed applied to the tree (ov_)
 *   scenario.c     the sections' rules and the entry points (sc_)
 *
 *   observe.c      the observations file (prefix ob_), not part of the
 *                  module: it loads and checks its own YAML tree with the
 *                  yt_ helpers (a yt_ctx without overrides, plain_paths
 *                  set), so its messages read as a scenario's
 *
 * How a load works. libyaml loads the whole file into a node tree.
 * Overrides are applied to that tree first, so the checks see one tree
 * and cannot tell a file's value from an override's, except when they
 * report an error: every node an override added is remembered (a range
 * of node indices per override), and an error at such a node is reported
 * as "--set NAME: ..." instead of "FILE:LINE: ...". Only when every rule
 * holds is the tree re-emitted (when there were overrides) as the
 * scenario text that the result file records.
 *
 * Every function that can fail writes one line into c->err (through
 * yt_fail, yt_fail_raw or yt_fail_oom) and returns -1 (yt_copy_node: 0);
 * nothing exits. */
#ifndef RUNWAY_SCENARIO_INTERNAL_H
#define RUNWAY_SCENARIO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "engine/scenario.h"

/* Limits that only a pathological file reaches (deep nesting, an alias
 * bomb); they keep every walk over the tree bounded. */
#define YT_MAX_DEPTH 64
#define YT_MAX_VISITS 1000000L
/* The most values (scalars, lists, mappings; aliases not counted) one
 * document may hold; the parse stops at the next. */
#define YT_MAX_NODES 200000L

/* ---- the loading context (yamltree.c) ---- */

typedef struct {
    int first, last; /* node indices [first, last] this override added */
    char *label;     /* "--set OpenAI.cash0", "--paths", "--seed" */
    char *samekey;   /* the KEY this override names; not repeated */
} ovr_range;

typedef struct {
    const char *file;
    char *err;
    size_t errlen;
    yaml_document_t doc;
    int have_doc;
    ovr_range *ovr;
    size_t novr;
    long visits;
    int plain_paths; /* set: yt_walk_dups names list items PATH[i] even
                        under labs: (observe.c: no scenario there) */
    int collect;     /* set: every error is kept, one line each (below) */
    int nerr, nmore; /* errors reported; those beyond the lines kept */
} yt_ctx;

/* A load with c->collect set goes on after a rule fails, to the next key
 * or lab that does not depend on it, so that one pass reports every
 * error of a file: the first YT_MAX_ERRORS lines are kept in c->err, one
 * per line, and yt_errors_end adds "FILE: ... and N more errors" for the
 * rest. Without collect (observe.c, sc_parse_dist_node) the first error
 * ends the load, as every caller's -1 does. */
#define YT_MAX_ERRORS 20
void yt_errors_end(yt_ctx *c);

/* Deletes the document (if loaded) and the override ranges. */
void yt_ctx_free(yt_ctx *c);

/* Node i (NULL for 0), the number of nodes, a scalar's text. */
yaml_node_t *yt_node(yt_ctx *c, int i);
int yt_node_count(yt_ctx *c);
const char *yt_str(yt_ctx *c, int i);
int yt_is_type(yt_ctx *c, int i, yaml_node_type_t t);
#define YT_IS_SCALAR(c, i) yt_is_type(c, i, YAML_SCALAR_NODE)
#define YT_IS_MAP(c, i) yt_is_type(c, i, YAML_MAPPING_NODE)
#define YT_IS_SEQ(c, i) yt_is_type(c, i, YAML_SEQUENCE_NODE)
/* YAML's null: an empty value, ~ or null. */
int yt_is_null(yt_ctx *c, int i);

/* The override that added node (NULL: the file's own), the node's line. */
const ovr_range *yt_find_ovr(yt_ctx *c, int node);
int yt_line_of(yt_ctx *c, int node);

/* The one-line message "FILE:LINE: KEY: rule" (or "--set NAME: ..."),
 * at node (0: line 1); key is the full input name or NULL. Return -1.
 * With c->collect, a later message is added on its own line. */
int yt_fail(yt_ctx *c, int node, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A message that is not about a node (I/O, overrides before they land). */
int yt_fail_raw(yt_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int yt_fail_oom(yt_ctx *c);

/* The value of KEY in mapping map (0 when absent); *keynode (may be NULL)
 * gets the key's node. */
int yt_map_find(yt_ctx *c, int map, const char *key, int *keynode);
/* Every key of map must be one of keys[] or of extra[] (NULL-terminated;
 * may be NULL); each unknown one is refused with a suggestion. prefix names
 * the mapping ("market", "OpenAI"); what, when not NULL, follows
 * "unknown key". */
int yt_check_keys(yt_ctx *c, int map, const char *prefix, const char *const *keys,
                  size_t nkeys, const char *const *extra, const char *what);
/* A numeric scalar at node i; what names it in the rule ("sd", "rho"). */
int yt_num_node(yt_ctx *c, int i, const char *key, const char *what, double *out);
/* Where an error about a whole value is reported: at the value when an
 * override supplied it, else at its key (the line an analyst looks for). */
int yt_value_loc(yt_ctx *c, int keynode, int value);

/* Duplicate keys (and NUL characters, depth and size limits) over the
 * whole tree from node i; libyaml accepts duplicates. A key is named by
 * its path (market.size0, a[2].b), a scenario lab's by the lab's name
 * (OpenAI.cash0, for labs: at depth 1) unless c->plain_paths. */
int yt_walk_dups(yt_ctx *c, int i, const char *path, int depth);
/* Copies node i of src, with its subtree, into dst. Returns the new
 * node's index, 0 on failure (*why: 1 out of memory, 2 too deep or too
 * large; *budget counts nodes down). */
int yt_copy_node(yaml_document_t *dst, yaml_document_t *src, int i, int depth, long *budget,
                 int *why);
/* The tree from root as YAML text (malloc'd into *out). */
int yt_emit(yt_ctx *c, int root, char **out);
/* The one YAML document of text (len bytes) into *doc, through libyaml's
 * event API, refusing as the events arrive: nesting deeper than
 * YT_MAX_DEPTH, more than YT_MAX_NODES values, a second document with
 * anything in it, an undefined or duplicate anchor, and syntax errors.
 * Returns 0 (*doc holds the document, without a root node if it was
 * empty; the caller deletes it) or -1 (*doc deleted; *e says why: line
 * 0 when no line applies, oom set when memory ran out). */
typedef struct {
    int line;
    int oom;
    char msg[512];
} yt_load_err;
int yt_load(yaml_document_t *doc, const char *text, size_t len, yt_load_err *e);
/* The message of a libyaml parser error, at its line. */
int yt_syntax_error(yt_ctx *c, yaml_parser_t *p, const char *text, size_t len);

/* Strings and numbers. yt_strdup and yt_join2 ("a.b") return NULL when
 * memory runs out. yt_suggest: the closest candidate within edit distance
 * 2, or NULL; yt_suggest_nocase: the same, letters compared ignoring case
 * ("openai" is OpenAI). yt_parse_num: a whole string as a number; 0
 * (finite), 1 (not a number), 2 (not finite). yt_parse_u64 (decimal, 0x
 * hex, or an exact integer below 2^53 written with an exponent) and
 * yt_parse_int: 0, 1 (not an integer) or 2 (out of range). */
char *yt_strdup(const char *s);
char *yt_join2(const char *a, const char *b);
const char *yt_suggest(const char *word, const char *const *cand, size_t n);
const char *yt_suggest_nocase(const char *word, const char *const *cand, size_t n);
int yt_parse_num(const char *s, double *out);
int yt_parse_u64(const char *s, uint64_t *out);
int yt_parse_int(const char *s, int *out);

/* ---- values and their checks (distgrammar.c) ---- */

/* The domain of an input (MODEL.md section 1), scenario.h's column. */
typedef enum {
    DOM_ANY = 0,  /* any real number */
    DOM_POS,      /* > 0 (a continuous distribution may touch 0) */
    DOM_NONNEG,   /* >= 0 */
    DOM_FRAC,     /* [0, 1] */
    DOM_FRAC_POS, /* (0, 1] (a continuous distribution may touch 0) */
    DOM_FRAC_LT1, /* [0, 1): raised = Val d / (1 - d); a persistence */
    DOM_GT_M1     /* > -1 (a continuous distribution may touch -1) */
} dg_domain;

/* Its magnitude limit, scenario.h's last column. */
typedef enum { LIM_OTHER = 0, LIM_MONEY, LIM_FACTOR } dg_limit;

/* Magnitude limits (docs/scenarios.md, "Limits"). Every value an input
 * can draw must lie within them: money in US$ billions up to 1e12 (ten
 * million times today's whole AI market); the yearly growth and decline
 * factors (G, D, P, V, U, E, O) in [1e-3, 1e3], because the model
 * multiplies and divides by them (the API market grows V/P a year); every
 * other input (ratios, rates, years, multiples, sigmas, logit weights)
 * within +-1e6. They refuse inputs that mean nothing (1e308 of cash, a
 * price that rises 1e300-fold in a year) and keep one year of the model
 * far from overflow; they cannot stop factors from overflowing when they
 * compound over many years, which the engine must detect itself.
 * "Every value an input can draw" is exact: the engine hands rd_quantile
 * uniforms in [2^-60, 1 - 2^-53] (rs_u01, and the copula's clamp), so the
 * quantiles at those two ends bound every draw. */
#define SC_LIMIT_MONEY 1e12
#define SC_LIMIT_FACTOR_LO 1e-3
#define SC_LIMIT_FACTOR 1e3
#define SC_LIMIT_OTHER 1e6
#define SC_U_LOWEST 0x1p-60
#define SC_U_HIGHEST (1.0 - 0x1p-53)

/* Any value (number, "a to b", mapping with dist:) into a prepared *out.
 * keynode/value: the pair's nodes; name: the full input name; allow_year:
 * `per: year` is allowed. */
int dg_parse_value(yt_ctx *c, int keynode, int value, const char *name, int allow_year,
                   rd_dist *out);
/* The input's support must lie in its domain; at locates the error. */
int dg_check_domain(yt_ctx *c, int at, const char *name, const rd_dist *d, dg_domain dom);
/* Every value the input can draw must lie within its limit (after
 * dg_check_domain). */
int dg_check_limit(yt_ctx *c, int at, const char *name, const rd_dist *d, dg_limit kind,
                   dg_domain dom);

/* ---- overrides (overrides.c) ---- */

/* Applies opts (--set in order, then --paths and --seed) to the tree
 * whose root mapping is root. opts may be NULL. */
int ov_apply(yt_ctx *c, int root, const sc_options *opts);

#endif
