/* scenario: reads a YAML scenario, applies command-line overrides, checks
 * every rule of MODEL.md sections 1, 4 and 7 (see scenario.h).
 *
 * How it works. libyaml's document API loads the whole file into a node
 * tree. Overrides (--set, --paths, --seed) are applied to that tree first:
 * each override's value is parsed as a YAML snippet, copied into the
 * document and hung in place of the node it replaces, so the checks below
 * see one tree and cannot tell a file's value from an override's, except
 * when they report an error: every node an override added is remembered
 * (a range of node indices per override), and an error at such a node is
 * reported as "--set NAME: ..." instead of "FILE:LINE: ...". Only when every
 * rule holds is the tree re-emitted (when there were overrides) as the
 * scenario text that the result file records.
 *
 * Nothing here exits or aborts; every failure frees what was built and
 * returns -1 with one line in err. GSL's error handler is switched off for
 * the duration of sc_load (and restored), so that no distribution function
 * can abort the program on a parameter we failed to foresee.
 */
#include "engine/scenario.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <yaml.h>

#include "rng/rng_stream.h"

#define SC_KEY_NAME(e, name, dom, req, per_year, dflt, lim) [e] = name,
const char *const sc_market_keys[SC_MARKET_NKEYS] = { SC_MARKET_KEYS(SC_KEY_NAME) };
const char *const sc_lab_keys[SC_LAB_NKEYS] = { SC_LAB_KEYS(SC_KEY_NAME) };
#undef SC_KEY_NAME

/* ------------------------------------------------------------------ */
/* Rules: the domain of every input, which are required, their defaults
 * (the tables of scenario.h). */

typedef enum {
    DOM_ANY = 0,  /* any real number */
    DOM_POS,      /* > 0 (a continuous distribution may touch 0) */
    DOM_NONNEG,   /* >= 0 */
    DOM_FRAC,     /* [0, 1] */
    DOM_FRAC_POS, /* (0, 1] (a continuous distribution may touch 0) */
    DOM_FRAC_LT1, /* [0, 1): raised = Val d / (1 - d); a persistence */
    DOM_GT_M1     /* > -1 (a continuous distribution may touch -1) */
} domain;

typedef enum { LIM_OTHER = 0, LIM_MONEY, LIM_FACTOR } limit_kind;

typedef struct {
    domain dom;
    int required;
    int per_year; /* may be `per: year` */
    double dflt;  /* when not required */
    limit_kind lim;
} key_rule;

#define SC_KEY_RULE(e, name, d, req, py, df, l) [e] = {DOM_##d, req, py, df, LIM_##l},
static const key_rule market_rule[SC_MARKET_NKEYS] = { SC_MARKET_KEYS(SC_KEY_RULE) };
static const key_rule lab_rule[SC_LAB_NKEYS] = { SC_LAB_KEYS(SC_KEY_RULE) };
#undef SC_KEY_RULE

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
/* Paths: at most 2^40 (about 1.1e12). Beyond it the run could not finish
 * (at a microsecond per path, 2^40 paths take twelve CPU-days) and its
 * per-path data would not fit on any disk. */
#define SC_MAX_PATHS (UINT64_C(1) << 40)
/* base_year: a four-digit year, so that base_year + horizon and every
 * year label stay far from int overflow. */
#define SC_MIN_BASE_YEAR 1000
#define SC_MAX_BASE_YEAR 9999

/* The default revenue multiple, "15 to 40" (MODEL.md section 1). */
#define SC_DEFAULT_MULTIPLE_P5 15.0
#define SC_DEFAULT_MULTIPLE_P95 40.0

static const char *const root_keys[] = {
    "name", "description", "base_year", "horizon", "paths", "seed",
    "market", "correlations", "defaults", "labs",
};
#define NROOT (sizeof root_keys / sizeof root_keys[0])

/* Limits that only a pathological file reaches (deep nesting, an alias
 * bomb); they keep every walk over the tree bounded. */
#define MAX_DEPTH 64
#define MAX_VISITS 1000000L

/* ------------------------------------------------------------------ */
/* Small helpers. */

static char *sdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* "a.b" in a new string (NULL when memory runs out). */
static char *join2(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 2);
    if (!p) return NULL;
    memcpy(p, a, na);
    p[na] = '.';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}

/* Levenshtein distance, capped: anything above 3 is reported as 3. */
static int edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 40 || nb > 40) return 3;
    int row[41];
    for (size_t j = 0; j <= nb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb] > 3 ? 3 : row[nb];
}

/* The closest candidate within edit distance 2, or NULL. */
static const char *suggest(const char *word, const char *const *cand,
                           size_t n)
{
    const char *best = NULL;
    int bestd = 3;
    if (strlen(word) < 3) return NULL;
    for (size_t i = 0; i < n; i++) {
        int d = edit_distance(word, cand[i]);
        if (d < bestd) {
            bestd = d;
            best = cand[i];
        }
    }
    return best;
}

/* Parses a whole string as a number.
 * Returns 0 (finite, *out set), 1 (not a number), 2 (a number that is not
 * finite: .nan, .inf, nan, inf, or one that overflows a double). */
static int parse_num(const char *s, double *out)
{
    while (isspace((unsigned char)*s)) s++;
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!strcmp(p, ".nan") || !strcmp(p, ".NaN") || !strcmp(p, ".NAN") ||
        !strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF"))
        return 2;
    if (!*s) return 1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s) return 1;
    while (isspace((unsigned char)*end)) end++;
    if (*end) return 1;
    if (!isfinite(v)) return 2;
    *out = v;
    return 0;
}

/* Parses a whole string as an unsigned 64-bit integer: decimal, 0x hex,
 * or a number written with an exponent that is an exact integer below
 * 2^53 (1e6). Returns 0, 1 (not an integer) or 2 (out of range). */
static int parse_u64(const char *s, uint64_t *out)
{
    while (isspace((unsigned char)*s)) s++;
    if (*s == '-') {
        double v;
        int r = parse_num(s, &v);
        return r == 0 && v == floor(v) ? 2 : 1;
    }
    const char *p = s;
    if (*p == '+') p++;
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (isxdigit((unsigned char)*p)) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, base);
        const char *e = end;
        while (isspace((unsigned char)*e)) e++;
        if (!*e) {
            if (errno == ERANGE) return 2;
            *out = (uint64_t)v;
            return 0;
        }
    }
    double v;
    if (parse_num(s, &v) != 0 || v != floor(v)) return 1;
    if (v < 0 || v > 9007199254740992.0) return 2;
    *out = (uint64_t)v;
    return 0;
}

/* The same for a signed int. */
static int parse_int(const char *s, int *out)
{
    while (isspace((unsigned char)*s)) s++;
    int neg = *s == '-';
    uint64_t u;
    int r = parse_u64(neg ? s + 1 : s, &u);
    if (r) return r;
    if (neg ? u > 2147483648u : u > 2147483647u) return 2;
    *out = neg ? (int)(-(long long)u) : (int)u;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The loading context and error reporting. */

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
} ctx;

static yaml_node_t *N(ctx *c, int i)
{
    return i > 0 ? yaml_document_get_node(&c->doc, i) : NULL;
}

static int node_count(ctx *c)
{
    return (int)(c->doc.nodes.top - c->doc.nodes.start);
}

static const ovr_range *find_ovr(ctx *c, int node)
{
    for (size_t i = 0; i < c->novr; i++)
        if (node >= c->ovr[i].first && node <= c->ovr[i].last)
            return &c->ovr[i];
    return NULL;
}

static int line_of(ctx *c, int node)
{
    yaml_node_t *n = N(c, node);
    return n ? (int)n->start_mark.line + 1 : 1;
}

/* Keeps a message on one line: a value quoted in it may hold a newline
 * (a block scalar) or another control character. */
static void one_line(char *msg)
{
    for (; *msg; msg++)
        if ((unsigned char)*msg < 0x20 || *msg == 0x7f) *msg = ' ';
}

/* Writes the one-line message and returns -1. node locates the error
 * (0: line 1); key is the full input name or NULL. */
static int fail(ctx *c, int node, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(ctx *c, int node, const char *key, const char *fmt, ...)
{
    char rule[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rule, sizeof rule, fmt, ap);
    va_end(ap);
    if (!c->err || c->errlen == 0) return -1;
    const ovr_range *o = find_ovr(c, node);
    if (o) {
        if (key && strcmp(key, o->samekey) != 0)
            snprintf(c->err, c->errlen, "%s: %s: %s", o->label, key, rule);
        else
            snprintf(c->err, c->errlen, "%s: %s", o->label, rule);
    } else if (key) {
        snprintf(c->err, c->errlen, "%s:%d: %s: %s", c->file,
                 line_of(c, node), key, rule);
    } else {
        snprintf(c->err, c->errlen, "%s:%d: %s", c->file, line_of(c, node),
                 rule);
    }
    one_line(c->err);
    return -1;
}

/* A message that is not about a node (I/O, overrides before they land). */
static int fail_raw(ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail_raw(ctx *c, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    one_line(c->err);
    return -1;
}

static int fail_oom(ctx *c)
{
    return fail_raw(c, "%s: out of memory", c->file);
}

/* ------------------------------------------------------------------ */
/* Tree access. */

static int is_type(ctx *c, int i, yaml_node_type_t t)
{
    yaml_node_t *n = N(c, i);
    return n && n->type == t;
}
#define IS_SCALAR(c, i) is_type(c, i, YAML_SCALAR_NODE)
#define IS_MAP(c, i) is_type(c, i, YAML_MAPPING_NODE)
#define IS_SEQ(c, i) is_type(c, i, YAML_SEQUENCE_NODE)

static const char *S(ctx *c, int i)
{
    return (const char *)N(c, i)->data.scalar.value;
}

/* YAML's null: an empty value, ~ or null. */
static int is_null(ctx *c, int i)
{
    yaml_node_t *n = N(c, i);
    if (n->type != YAML_SCALAR_NODE) return 0;
    const char *s = (const char *)n->data.scalar.value;
    if (!*s) return 1;
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
            !strcmp(s, "NULL"));
}

/* The value of KEY in mapping map (0 when absent); *keynode gets the key's
 * node. Duplicate keys have been rejected before any lookup. */
static int map_find(ctx *c, int map, const char *key, int *keynode)
{
    yaml_node_t *m = N(c, map);
    if (keynode) *keynode = 0;
    if (!m || m->type != YAML_MAPPING_NODE) return 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         p < m->data.mapping.pairs.top; p++) {
        if (IS_SCALAR(c, p->key) && !strcmp(S(c, p->key), key)) {
            if (keynode) *keynode = p->key;
            return p->value;
        }
    }
    return 0;
}

/* Every key of map must be one of keys[] or of extra[] (NULL-terminated;
 * may be NULL). prefix names the mapping in messages ("market",
 * "OpenAI"); what, when not NULL, follows "unknown key". */
static int check_keys(ctx *c, int map, const char *prefix,
                      const char *const *keys, size_t nkeys,
                      const char *const *extra, const char *what)
{
    yaml_node_t *m = N(c, map);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         p < m->data.mapping.pairs.top; p++) {
        if (!IS_SCALAR(c, p->key))
            return fail(c, p->key, prefix, "keys must be names, not lists "
                        "or mappings");
        const char *k = S(c, p->key);
        int ok = 0;
        for (size_t i = 0; !ok && i < nkeys; i++) ok = !strcmp(k, keys[i]);
        for (size_t i = 0; !ok && extra && extra[i]; i++)
            ok = !strcmp(k, extra[i]);
        if (ok) continue;
        const char *best = suggest(k, keys, nkeys);
        size_t nextra = 0;
        while (extra && extra[nextra]) nextra++;
        if (!best && nextra) best = suggest(k, extra, nextra);
        char full[512];
        if (prefix)
            snprintf(full, sizeof full, "%s.%s", prefix, k);
        else
            snprintf(full, sizeof full, "%s", k);
        return fail(c, p->key, full, "unknown key%s%s%s%s%s",
                    what ? " " : "", what ? what : "",
                    best ? "; did you mean " : "", best ? best : "",
                    best ? "?" : "");
    }
    return 0;
}

/* A numeric scalar at node i; what names it in the rule ("sd", "rho"). */
static int num_node(ctx *c, int i, const char *key, const char *what,
                    double *out)
{
    if (!IS_SCALAR(c, i))
        return fail(c, i, key, "%s must be a number", what);
    if (is_null(c, i)) return fail(c, i, key, "%s is missing", what);
    int r = parse_num(S(c, i), out);
    if (r == 1)
        return fail(c, i, key, "%s must be a number (got \"%s\")", what,
                    S(c, i));
    if (r == 2)
        return fail(c, i, key, "%s must be finite (got %s)", what, S(c, i));
    return 0;
}

/* Where an error about a whole value is reported: at the value when an
 * override supplied it, else at its key (the line an analyst looks for). */
static int value_loc(ctx *c, int keynode, int value)
{
    if (find_ovr(c, value) || !keynode) return value;
    return keynode;
}

/* ------------------------------------------------------------------ */
/* Values: MODEL.md section 4. */

static const char *const family_names[] = {
    "normal", "lognormal", "uniform", "triangular", "pert", "beta", "gamma",
};
static const rd_family family_ids[] = {
    RD_NORMAL, RD_LOGNORMAL, RD_UNIFORM, RD_TRIANGULAR, RD_PERT, RD_BETA,
    RD_GAMMA,
};
#define NFAMILIES (sizeof family_names / sizeof family_names[0])

/* The keys each family accepts (besides dist and per). For uniform,
 * triangular and pert, min and max are the parameters; for beta they
 * scale the support; for the others they truncate. */
static const char *const keys_normal[] = {"dist", "per", "mean", "sd", "p5",
                                          "p95", "min", "max"};
static const char *const keys_lognormal[] = {"dist", "per", "p5", "p95",
                                             "mu", "sigma", "min", "max"};
static const char *const keys_uniform[] = {"dist", "per", "min", "max"};
static const char *const keys_tri[] = {"dist", "per", "min", "mode", "max"};
static const char *const keys_beta[] = {"dist", "per", "a", "b", "min",
                                        "max"};
static const char *const keys_gamma[] = {"dist", "per", "shape", "scale",
                                         "min", "max"};

#define PER_YEAR_LIST                                                     \
    "market.train_cost_growth, serving_cost_decline, price_decline, "     \
    "token_demand_growth, usage_growth, enterprise_growth, others_pull "  \
    "and sub_growth_rate"

/* One optional numeric parameter of a distribution mapping. */
static int param(ctx *c, int map, const char *pk, const char *name,
                 double *v, int *has)
{
    int kn;
    int vn = map_find(c, map, pk, &kn);
    *has = vn != 0;
    if (!vn) return 0;
    return num_node(c, vn, name, pk, v);
}

/* A required one. at locates "missing parameter". */
static int need(ctx *c, int at, int map, const char *pk, const char *name,
                double *v)
{
    int has;
    if (param(c, map, pk, name, v, &has)) return -1;
    if (!has)
        return fail(c, at, name, "missing parameter %s", pk);
    return 0;
}

/* The node of parameter pk (for locating an error on it). */
static int param_node(ctx *c, int map, const char *pk)
{
    return map_find(c, map, pk, NULL);
}

/* A mapping with dist: into *out (not yet prepared). at locates errors
 * about the whole value. */
static int parse_dist_map(ctx *c, int at, int map, const char *name,
                          int allow_year, rd_dist *out)
{
    int dv = map_find(c, map, "dist", NULL);
    if (!dv)
        return fail(c, at, name, "a distribution needs dist: (normal, "
                    "lognormal, uniform, triangular, pert, beta or gamma)");
    if (!IS_SCALAR(c, dv) || is_null(c, dv))
        return fail(c, dv, name, "dist must name a family (normal, "
                    "lognormal, uniform, triangular, pert, beta or gamma)");
    const char *fam = S(c, dv);
    size_t f = 0;
    while (f < NFAMILIES && strcmp(fam, family_names[f])) f++;
    if (f == NFAMILIES) {
        const char *best = suggest(fam, family_names, NFAMILIES);
        return fail(c, dv, name, "unknown distribution \"%s\"%s%s%s; "
                    "expected normal, lognormal, uniform, triangular, pert, "
                    "beta or gamma", fam, best ? " (did you mean " : "",
                    best ? best : "", best ? "?)" : "");
    }
    rd_family id = family_ids[f];

    const char *const *keys;
    size_t nkeys;
    switch (id) {
    case RD_NORMAL: keys = keys_normal; nkeys = 8; break;
    case RD_LOGNORMAL: keys = keys_lognormal; nkeys = 8; break;
    case RD_UNIFORM: keys = keys_uniform; nkeys = 4; break;
    case RD_TRIANGULAR:
    case RD_PERT: keys = keys_tri; nkeys = 5; break;
    case RD_BETA: keys = keys_beta; nkeys = 6; break;
    default: keys = keys_gamma; nkeys = 6; break;
    }
    char what[64];
    snprintf(what, sizeof what, "for a %s distribution", fam);
    if (check_keys(c, map, name, keys, nkeys, NULL, what)) return -1;

    int per_year = 0;
    int pv = map_find(c, map, "per", NULL);
    if (pv) {
        if (IS_SCALAR(c, pv) && !strcmp(S(c, pv), "year"))
            per_year = 1;
        else if (!(IS_SCALAR(c, pv) && !strcmp(S(c, pv), "path")))
            return fail(c, pv, name, "per must be year or path");
        if (per_year && !allow_year)
            return fail(c, pv, name, "per: year is not allowed here; only "
                        PER_YEAR_LIST " may be redrawn every year");
    }

    double a = 0, b = 0, m = 0, lo = -INFINITY, hi = INFINITY;
    int has_lo, has_hi;
    rd_dist d;
    if (id == RD_UNIFORM || id == RD_TRIANGULAR || id == RD_PERT) {
        if (need(c, at, map, "min", name, &a)) return -1;
        if (id != RD_UNIFORM && need(c, at, map, "mode", name, &m))
            return -1;
        if (need(c, at, map, "max", name, &b)) return -1;
        if (!(a < b))
            return fail(c, param_node(c, map, "min"), name,
                        "min must be < max (got %g and %g)", a, b);
        if (id == RD_UNIFORM)
            d = rd_uniform(a, b);
        else {
            if (!(m >= a && m <= b))
                return fail(c, param_node(c, map, "mode"), name,
                            "mode must lie in [min, max] (got %g, not in "
                            "[%g, %g])", m, a, b);
            d = id == RD_PERT ? rd_pert(a, m, b) : rd_triangular(a, m, b);
        }
        d.per_year = per_year;
        *out = d;
        return 0;
    }

    if (param(c, map, "min", name, &lo, &has_lo)) return -1;
    if (param(c, map, "max", name, &hi, &has_hi)) return -1;
    if (has_lo && has_hi && !(lo < hi))
        return fail(c, param_node(c, map, "min"), name,
                    "min must be < max (got %g and %g)", lo, hi);

    if (id == RD_NORMAL || id == RD_LOGNORMAL) {
        /* Two ways to give each: (mean, sd) / (mu, sigma), or (p5, p95). */
        const char *k1 = id == RD_NORMAL ? "mean" : "mu";
        const char *k2 = id == RD_NORMAL ? "sd" : "sigma";
        int h1, h2, h5, h95;
        double v1, v2, p5, p95;
        if (param(c, map, k1, name, &v1, &h1) ||
            param(c, map, k2, name, &v2, &h2) ||
            param(c, map, "p5", name, &p5, &h5) ||
            param(c, map, "p95", name, &p95, &h95))
            return -1;
        if ((h1 || h2) && (h5 || h95))
            return fail(c, at, name, "give either %s and %s, or p5 and p95, "
                        "not both", k1, k2);
        if (h5 || h95) {
            if (!h5) return fail(c, at, name, "missing parameter p5");
            if (!h95) return fail(c, at, name, "missing parameter p95");
            if (id == RD_LOGNORMAL && !(p5 > 0))
                return fail(c, param_node(c, map, "p5"), name,
                            "p5 must be > 0 for a lognormal (got %g)", p5);
            if (!(p5 < p95))
                return fail(c, param_node(c, map, "p5"), name,
                            "p5 must be < p95 (got %g and %g)", p5, p95);
            d = id == RD_NORMAL ? rd_normal_p5p95(p5, p95)
                                : rd_lognormal_p5p95(p5, p95);
        } else {
            if (!h1 && !h2)
                return fail(c, at, name, "missing parameters: %s and %s, or "
                            "p5 and p95", k1, k2);
            if (!h1) return fail(c, at, name, "missing parameter %s", k1);
            if (!h2) return fail(c, at, name, "missing parameter %s", k2);
            if (!(v2 > 0))
                return fail(c, param_node(c, map, k2), name,
                            "%s must be > 0 (got %g)", k2, v2);
            d = id == RD_NORMAL ? rd_normal(v1, v2) : rd_lognormal(v1, v2);
        }
    } else if (id == RD_BETA) {
        if (need(c, at, map, "a", name, &a) || need(c, at, map, "b", name, &b))
            return -1;
        if (!(a > 0))
            return fail(c, param_node(c, map, "a"), name,
                        "a must be > 0 (got %g)", a);
        if (!(b > 0))
            return fail(c, param_node(c, map, "b"), name,
                        "b must be > 0 (got %g)", b);
        /* min/max scale the support; they do not truncate. */
        d = rd_beta(a, b, has_lo ? lo : 0.0, has_hi ? hi : 1.0);
        if (!(d.lo < d.hi))
            return fail(c, at, name, "min must be < max (got %g and %g)",
                        d.lo, d.hi);
        d.per_year = per_year;
        *out = d;
        return 0;
    } else { /* gamma */
        if (need(c, at, map, "shape", name, &a) ||
            need(c, at, map, "scale", name, &b))
            return -1;
        if (!(a > 0))
            return fail(c, param_node(c, map, "shape"), name,
                        "shape must be > 0 (got %g)", a);
        if (!(b > 0))
            return fail(c, param_node(c, map, "scale"), name,
                        "scale must be > 0 (got %g)", b);
        d = rd_gamma(a, b);
    }
    d.tmin = lo;
    d.tmax = hi;
    d.per_year = per_year;
    *out = d;
    return 0;
}

/* Any value (number, "a to b", mapping) into a prepared *out.
 * keynode/value: the pair's nodes; name: the full input name. */
static int parse_value(ctx *c, int keynode, int value, const char *name,
                       int allow_year, rd_dist *out)
{
    int at = value_loc(c, keynode, value);
    yaml_node_t *n = N(c, value);
    rd_dist d;
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = S(c, value);
        double x, y;
        if (is_null(c, value)) return fail(c, at, name, "value is missing");
        int r = parse_num(s, &x);
        if (r == 2) return fail(c, at, name, "value %s is not finite", s);
        if (r == 0) {
            d = rd_const(x);
        } else {
            /* "a to b": a lognormal with 5th percentile a, 95th b. */
            const char *to = strstr(s, " to ");
            char left[128];
            size_t nl = to ? (size_t)(to - s) : 0;
            if (!to || nl >= sizeof left)
                return fail(c, at, name, "value \"%s\" is not a number or a "
                            "distribution", s);
            memcpy(left, s, nl);
            left[nl] = 0;
            int ra = parse_num(left, &x), rb = parse_num(to + 4, &y);
            if (ra == 2 || rb == 2)
                return fail(c, at, name, "value \"%s\" is not finite", s);
            if (ra || rb)
                return fail(c, at, name, "value \"%s\" is not a number or a "
                            "distribution", s);
            if (!(x > 0 && y > 0))
                return fail(c, at, name, "in \"a to b\" (a lognormal 90%% "
                            "interval) a and b must be > 0 (got \"%s\")", s);
            if (!(x < y))
                return fail(c, at, name, "in \"a to b\" a must be < b "
                            "(got \"%s\")", s);
            d = rd_lognormal_p5p95(x, y);
        }
    } else if (n->type == YAML_MAPPING_NODE) {
        if (parse_dist_map(c, at, value, name, allow_year, &d)) return -1;
    } else {
        return fail(c, at, name, "must be a number, \"a to b\" or a mapping "
                    "with dist:, not a list");
    }
    char rule[256];
    rule[0] = 0;
    if (rd_prepare(&d, rule, sizeof rule) != 0)
        return fail(c, at, name, "%s", rule[0] ? rule : "not a proper "
                    "distribution");
    *out = d;
    return 0;
}

/* The input's support must lie in its domain (MODEL.md section 1). For a
 * continuous distribution a bound that only touches the open end (a
 * lower bound of exactly 0 for "> 0") is accepted: it is reached with
 * probability 0. max_dilution's upper end is the exception: 1 is refused
 * even as a bound, because the inverse CDF can round to exactly 1. */
static int check_domain(ctx *c, int at, const char *name, const rd_dist *d,
                        domain dom)
{
    if (dom == DOM_ANY) return 0;
    int isc = rd_is_const(d);
    double lo, hi;
    if (isc)
        lo = hi = d->a;
    else
        rd_support(d, &lo, &hi);
    int ok = 0;
    const char *rule = "";
    switch (dom) {
    case DOM_POS:
        ok = isc ? lo > 0 : lo >= 0;
        rule = "must be > 0";
        break;
    case DOM_NONNEG:
        ok = lo >= 0;
        rule = "must be >= 0";
        break;
    case DOM_FRAC:
        ok = lo >= 0 && hi <= 1;
        rule = "must be a fraction in [0, 1]";
        break;
    case DOM_FRAC_POS:
        ok = (isc ? lo > 0 : lo >= 0) && hi <= 1;
        rule = "must be a fraction in (0, 1]";
        break;
    case DOM_FRAC_LT1:
        ok = lo >= 0 && hi < 1;
        rule = "must be a fraction in [0, 1)";
        break;
    case DOM_GT_M1:
        ok = isc ? lo > -1 : lo >= -1;
        rule = "must be > -1";
        break;
    default:
        ok = 1;
    }
    int can_truncate = d->family == RD_NORMAL || d->family == RD_LOGNORMAL ||
                       d->family == RD_GAMMA;
    if (!ok) {
        if (isc) return fail(c, at, name, "%s (got %.10g)", rule, lo);
        return fail(c, at, name, "%s, but this %s distribution ranges over "
                    "[%.10g, %.10g]%s", rule, rd_family_name(d->family), lo,
                    hi, can_truncate ? "; truncate it with min:/max:" : "");
    }
    return 0;
}

/* Every value the input can draw must lie within its limits (see
 * SC_LIMIT_MONEY). Run after check_domain, so the sign is already right
 * except for inputs whose domain is any real number. */
static int check_limit(ctx *c, int at, const char *name, const rd_dist *d,
                       limit_kind kind, domain dom)
{
    double lim_lo, lim_hi;
    const char *rule;
    switch (kind) {
    case LIM_MONEY:
        lim_lo = -SC_LIMIT_MONEY;
        lim_hi = SC_LIMIT_MONEY;
        rule = "must be at most 1e12 (US$ billion)";
        break;
    case LIM_FACTOR:
        lim_lo = SC_LIMIT_FACTOR_LO;
        lim_hi = SC_LIMIT_FACTOR;
        rule = "must lie in [1e-3, 1e3] (a factor per year)";
        break;
    default:
        lim_lo = -SC_LIMIT_OTHER;
        lim_hi = SC_LIMIT_OTHER;
        rule = dom == DOM_ANY ? "must lie within +-1e6" : "must be at most 1e6";
    }
    if (rd_is_const(d)) {
        if (d->a >= lim_lo && d->a <= lim_hi) return 0;
        return fail(c, at, name, "%s (got %.10g)", rule, d->a);
    }
    double lo = rd_quantile(d, SC_U_LOWEST), hi = rd_quantile(d, SC_U_HIGHEST);
    int high = !(hi <= lim_hi);
    if (!high && lo >= lim_lo) return 0;
    int can_truncate = d->family == RD_NORMAL || d->family == RD_LOGNORMAL ||
                       d->family == RD_GAMMA;
    return fail(c, at, name, "%s, but this %s distribution can draw %.4g%s",
                rule, rd_family_name(d->family), high ? hi : lo,
                can_truncate ? (high ? "; truncate it with max:"
                                     : "; truncate it with min:")
                             : "");
}

/* ------------------------------------------------------------------ */
/* Duplicate keys, checked over the whole tree (libyaml accepts them). */

static int walk_dups(ctx *c, int i, const char *path, int depth)
{
    yaml_node_t *n = N(c, i);
    if (depth > MAX_DEPTH)
        return fail(c, i, NULL, "nested more than %d levels deep (a "
                    "recursive alias?)", MAX_DEPTH);
    if (++c->visits > MAX_VISITS)
        return fail(c, i, NULL, "document too large (more than %ld nodes, "
                    "counting aliases)", MAX_VISITS);
    char sub[512];
    /* A "\0" escape would cut the value short where C reads it. */
    if (n->type == YAML_SCALAR_NODE &&
        strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
        return fail(c, i, path, "value contains a NUL character");
    if (n->type == YAML_MAPPING_NODE) {
        yaml_node_pair_t *p0 = n->data.mapping.pairs.start;
        size_t np = (size_t)(n->data.mapping.pairs.top - p0);
        for (size_t j = 0; j < np; j++) {
            /* Re-read: recursion does not add nodes, but stay safe. */
            yaml_node_pair_t *p = N(c, i)->data.mapping.pairs.start + j;
            if (!IS_SCALAR(c, p->key))
                return fail(c, p->key, path, "keys must be names, not lists "
                            "or mappings");
            const char *k = S(c, p->key);
            if (path)
                snprintf(sub, sizeof sub, "%s.%s", path, k);
            else
                snprintf(sub, sizeof sub, "%s", k);
            for (size_t q = 0; q < j; q++) {
                yaml_node_pair_t *pq = N(c, i)->data.mapping.pairs.start + q;
                if (IS_SCALAR(c, pq->key) && !strcmp(S(c, pq->key), k)) {
                    if (find_ovr(c, pq->key))
                        return fail(c, p->key, sub, "duplicate key");
                    return fail(c, p->key, sub, "duplicate key (first at "
                                "line %d)", line_of(c, pq->key));
                }
            }
            if (walk_dups(c, p->value, sub, depth + 1)) return -1;
        }
    } else if (n->type == YAML_SEQUENCE_NODE) {
        size_t ni = (size_t)(n->data.sequence.items.top -
                             n->data.sequence.items.start);
        int labs = path && !strcmp(path, "labs") && depth == 1;
        for (size_t j = 0; j < ni; j++) {
            int it = N(c, i)->data.sequence.items.start[j];
            int nm = labs ? map_find(c, it, "name", NULL) : 0;
            /* Name a lab's keys as the analyst does: OpenAI.cash0. */
            if (nm && IS_SCALAR(c, nm) && *S(c, nm))
                snprintf(sub, sizeof sub, "%s", S(c, nm));
            else
                snprintf(sub, sizeof sub, "%s[%zu]", path ? path : "", j);
            if (walk_dups(c, it, sub, depth + 1)) return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Copying a subtree between documents (override snippets in, the tree out
 * for re-emission). Returns the new node's index, 0 on failure (*why says
 * which: 1 out of memory, 2 too deep or too large). */

static int copy_node(yaml_document_t *dst, yaml_document_t *src, int i,
                     int depth, long *budget, int *why)
{
    yaml_node_t *n = yaml_document_get_node(src, i);
    if (depth > MAX_DEPTH || --*budget < 0) {
        *why = 2;
        return 0;
    }
    *why = 1;
    int k;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return yaml_document_add_scalar(dst, n->tag, n->data.scalar.value,
                                        (int)n->data.scalar.length,
                                        n->data.scalar.style);
    case YAML_SEQUENCE_NODE: {
        int s = yaml_document_add_sequence(dst, n->tag,
                                           n->data.sequence.style);
        if (!s) return 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top; it++) {
            k = copy_node(dst, src, *it, depth + 1, budget, why);
            if (!k || !yaml_document_append_sequence_item(dst, s, k)) {
                if (k) *why = 1;
                return 0;
            }
        }
        return s;
    }
    case YAML_MAPPING_NODE: {
        int m = yaml_document_add_mapping(dst, n->tag,
                                          n->data.mapping.style);
        if (!m) return 0;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             p < n->data.mapping.pairs.top; p++) {
            int kk = copy_node(dst, src, p->key, depth + 1, budget, why);
            if (!kk) return 0;
            int vv = copy_node(dst, src, p->value, depth + 1, budget, why);
            if (!vv) return 0;
            if (!yaml_document_append_mapping_pair(dst, m, kk, vv)) {
                *why = 1;
                return 0;
            }
        }
        return m;
    }
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------ */
/* Overrides. */

/* Starts an override's node range; label/samekey are copied. */
static ovr_range *ovr_begin(ctx *c, const char *label, const char *samekey)
{
    ovr_range *r = realloc(c->ovr, (c->novr + 1) * sizeof *r);
    if (!r) return NULL;
    c->ovr = r;
    r = &c->ovr[c->novr];
    r->first = node_count(c) + 1;
    r->last = node_count(c); /* empty until ovr_end */
    r->label = sdup(label);
    r->samekey = sdup(samekey);
    if (!r->label || !r->samekey) {
        free(r->label);
        free(r->samekey);
        return NULL;
    }
    c->novr++;
    return r;
}

static void ovr_end(ctx *c)
{
    c->ovr[c->novr - 1].last = node_count(c);
}

/* Sets map[key] = value (both node indices; value already in the doc).
 * Replaces an existing pair's value, or appends a new pair. */
static int set_pair(ctx *c, int map, const char *key, int value)
{
    yaml_node_t *m = N(c, map);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         p < m->data.mapping.pairs.top; p++) {
        if (IS_SCALAR(c, p->key) && !strcmp(S(c, p->key), key)) {
            p->value = value;
            return 0;
        }
    }
    int k = yaml_document_add_scalar(&c->doc, NULL,
                                     (const yaml_char_t *)key, -1,
                                     YAML_PLAIN_SCALAR_STYLE);
    if (!k || !yaml_document_append_mapping_pair(&c->doc, map, k, value))
        return -1;
    return 0;
}

/* map[key] as a mapping, created (block style) when absent. Returns its
 * index, 0 when present but not a mapping, -1 out of memory. */
static int child_map(ctx *c, int map, const char *key)
{
    int v = map_find(c, map, key, NULL);
    if (v) return IS_MAP(c, v) ? v : 0;
    v = yaml_document_add_mapping(&c->doc, NULL, YAML_BLOCK_MAPPING_STYLE);
    if (!v || set_pair(c, map, key, v)) return -1;
    return v;
}

static int is_lab_key(const char *k)
{
    for (int i = 0; i < SC_LAB_NKEYS; i++)
        if (!strcmp(k, sc_lab_keys[i])) return 1;
    return !strcmp(k, "backstop");
}

static int is_market_key(const char *k)
{
    for (int i = 0; i < SC_MARKET_NKEYS; i++)
        if (!strcmp(k, sc_market_keys[i])) return 1;
    return !strcmp(k, "sentiment") || !strcmp(k, "sentiment.rho") ||
           !strcmp(k, "sentiment.sigma");
}

/* The lab mapping whose name is `name` (0 when none). */
static int find_lab(ctx *c, int root, const char *name, size_t len)
{
    int labs = map_find(c, root, "labs", NULL);
    if (!IS_SEQ(c, labs)) return 0;
    yaml_node_t *l = N(c, labs);
    for (yaml_node_item_t *it = l->data.sequence.items.start;
         it < l->data.sequence.items.top; it++) {
        int nm = map_find(c, *it, "name", NULL);
        if (nm && IS_SCALAR(c, nm) && strlen(S(c, nm)) == len &&
            !strncmp(S(c, nm), name, len))
            return *it;
    }
    return 0;
}

/* The names of the labs, for "unknown lab" messages. */
static void lab_list(ctx *c, int root, char *buf, size_t n)
{
    int labs = map_find(c, root, "labs", NULL);
    buf[0] = 0;
    if (!IS_SEQ(c, labs)) return;
    yaml_node_t *l = N(c, labs);
    size_t used = 0;
    for (yaml_node_item_t *it = l->data.sequence.items.start;
         it < l->data.sequence.items.top && used + 1 < n; it++) {
        int nm = map_find(c, *it, "name", NULL);
        if (!nm || !IS_SCALAR(c, nm)) continue;
        int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "",
                         S(c, nm));
        if (w < 0) break;
        used += (size_t)w;
    }
}

/* One --set NAME=VALUE. */
static int apply_set(ctx *c, int root, const sc_override *o)
{
    const char *name = o->name ? o->name : "";
    const char *value = o->value ? o->value : "";
    if (!*name)
        return fail_raw(c, "--set: the name is empty (expected market.KEY, "
                        "LAB.KEY or defaults.KEY)");
    const char *dot = strchr(name, '.');
    if (!dot || dot == name || !dot[1])
        return fail_raw(c, "--set %s: the name must be market.KEY, LAB.KEY "
                        "or defaults.KEY", name);
    size_t plen = (size_t)(dot - name);
    const char *key = dot + 1;
    int is_market = plen == 6 && !strncmp(name, "market", 6);
    int is_dflt = plen == 8 && !strncmp(name, "defaults", 8);
    int lab = 0;

    if (is_market) {
        if (!is_market_key(key)) {
            const char *best = suggest(key, sc_market_keys, SC_MARKET_NKEYS);
            return fail_raw(c, "--set %s: unknown key \"%s\" of the market%s"
                            "%s%s", name, key, best ? "; did you mean " : "",
                            best ? best : "", best ? "?" : "");
        }
    } else {
        if (!strcmp(key, "name"))
            return fail_raw(c, "--set %s: a lab's name cannot be set",
                            name);
        if (!is_lab_key(key)) {
            const char *best = suggest(key, sc_lab_keys, SC_LAB_NKEYS);
            return fail_raw(c, "--set %s: unknown key \"%s\" of a lab%s%s%s",
                            name, key, best ? "; did you mean " : "",
                            best ? best : "", best ? "?" : "");
        }
        if (!is_dflt) {
            lab = find_lab(c, root, name, plen);
            if (!lab) {
                char labs[400];
                lab_list(c, root, labs, sizeof labs);
                return fail_raw(c, "--set %s: unknown lab \"%.*s\" (labs: "
                                "%s)", name, (int)plen, name,
                                labs[0] ? labs : "none");
            }
        }
    }

    /* The value, as a YAML snippet. */
    yaml_parser_t parser;
    yaml_document_t snip;
    if (!yaml_parser_initialize(&parser)) return fail_oom(c);
    yaml_parser_set_input_string(&parser, (const unsigned char *)value,
                                 strlen(value));
    if (!yaml_parser_load(&parser, &snip)) {
        fail_raw(c, "--set %s: value \"%s\" is not valid YAML: %s", name,
                 value, parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        return -1;
    }
    yaml_parser_delete(&parser);
    if (!yaml_document_get_root_node(&snip)) {
        yaml_document_delete(&snip);
        return fail_raw(c, "--set %s: value is empty", name);
    }

    char label[600];
    snprintf(label, sizeof label, "--set %s", name);
    if (!ovr_begin(c, label, name)) {
        yaml_document_delete(&snip);
        return fail_oom(c);
    }
    long budget = MAX_VISITS;
    int why = 0;
    int v = copy_node(&c->doc, &snip, 1, 0, &budget, &why);
    yaml_document_delete(&snip);
    if (!v) {
        if (why == 2)
            return fail_raw(c, "--set %s: value is nested too deeply or too "
                            "large", name);
        return fail_oom(c);
    }

    int target;
    const char *leaf = key;
    if (is_market || is_dflt) {
        target = child_map(c, root, is_market ? "market" : "defaults");
        if (target == 0)
            return fail_raw(c, "--set %s: %s in the scenario is not a "
                            "mapping", name, is_market ? "market"
                                                       : "defaults");
        if (target < 0) return fail_oom(c);
        if (is_market && !strncmp(key, "sentiment.", 10)) {
            target = child_map(c, target, "sentiment");
            if (target == 0)
                return fail_raw(c, "--set %s: market.sentiment in the "
                                "scenario is not a mapping", name);
            if (target < 0) return fail_oom(c);
            leaf = key + 10;
        }
    } else {
        target = lab;
    }
    if (set_pair(c, target, leaf, v)) return fail_oom(c);
    ovr_end(c);
    return 0;
}

/* --paths / --seed: root[key] = the number, as a plain scalar. */
static int apply_root_number(ctx *c, int root, const char *key,
                             const char *label, uint64_t val)
{
    char num[32];
    snprintf(num, sizeof num, "%llu", (unsigned long long)val);
    if (!ovr_begin(c, label, key)) return fail_oom(c);
    int v = yaml_document_add_scalar(&c->doc, NULL, (const yaml_char_t *)num,
                                     -1, YAML_PLAIN_SCALAR_STYLE);
    if (!v || set_pair(c, root, key, v)) return fail_oom(c);
    ovr_end(c);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The checks, section by section. */

/* A required or optional root key's value (0 when absent). */
static int root_get(ctx *c, int root, const char *key, int required)
{
    int v = map_find(c, root, key, NULL);
    if (!v && required) {
        fail(c, root, key, "required key is missing");
        return -1;
    }
    return v;
}

static int text_value(ctx *c, int v, const char *key, int allow_empty,
                      char **out)
{
    if (!IS_SCALAR(c, v)) return fail(c, v, key, "must be text");
    if (!allow_empty && is_null(c, v))
        return fail(c, v, key, "must not be empty");
    *out = sdup(is_null(c, v) ? "" : S(c, v));
    return *out ? 0 : fail_oom(c);
}

static int parse_root(ctx *c, int root, sc_scenario *s)
{
    if (check_keys(c, root, NULL, root_keys, NROOT, NULL, NULL)) return -1;
    int v;
    if ((v = root_get(c, root, "name", 1)) < 0) return -1;
    if (text_value(c, v, "name", 0, &s->name)) return -1;
    if ((v = root_get(c, root, "description", 0)) < 0) return -1;
    if (v) {
        if (text_value(c, v, "description", 1, &s->description)) return -1;
    } else if (!(s->description = sdup(""))) {
        return fail_oom(c);
    }

    if ((v = root_get(c, root, "base_year", 1)) < 0) return -1;
    if (!IS_SCALAR(c, v) || parse_int(S(c, v), &s->base_year) != 0 ||
        s->base_year < SC_MIN_BASE_YEAR || s->base_year > SC_MAX_BASE_YEAR)
        return fail(c, v, "base_year", "must be an integer year from %d to "
                    "%d%s%s%s", SC_MIN_BASE_YEAR, SC_MAX_BASE_YEAR,
                    IS_SCALAR(c, v) ? " (got " : "",
                    IS_SCALAR(c, v) ? S(c, v) : "",
                    IS_SCALAR(c, v) ? ")" : "");

    if ((v = root_get(c, root, "horizon", 1)) < 0) return -1;
    if (!IS_SCALAR(c, v) || parse_int(S(c, v), &s->horizon) != 0 ||
        s->horizon < 1 || s->horizon > SC_HORIZON_MAX)
        return fail(c, v, "horizon", "must be an integer from 1 to 100 "
                    "(years)%s%s%s", IS_SCALAR(c, v) ? " (got " : "",
                    IS_SCALAR(c, v) ? S(c, v) : "",
                    IS_SCALAR(c, v) ? ")" : "");

    s->paths = 100000;
    if ((v = root_get(c, root, "paths", 0)) < 0) return -1;
    if (v && (!IS_SCALAR(c, v) || parse_u64(S(c, v), &s->paths) != 0 ||
              s->paths < 1 || s->paths > SC_MAX_PATHS))
        return fail(c, v, "paths", "must be an integer from 1 to 2^40 "
                    "(1099511627776)%s%s%s",
                    IS_SCALAR(c, v) ? " (got " : "",
                    IS_SCALAR(c, v) ? S(c, v) : "",
                    IS_SCALAR(c, v) ? ")" : "");

    s->seed = 1;
    if ((v = root_get(c, root, "seed", 0)) < 0) return -1;
    if (v && (!IS_SCALAR(c, v) || parse_u64(S(c, v), &s->seed) != 0))
        return fail(c, v, "seed", "must be an integer from 0 to 2^64-1%s%s%s",
                    IS_SCALAR(c, v) ? " (got " : "",
                    IS_SCALAR(c, v) ? S(c, v) : "",
                    IS_SCALAR(c, v) ? ")" : "");
    return 0;
}

static int parse_market(ctx *c, int root, sc_scenario *s)
{
    int mk;
    int mv = map_find(c, root, "market", &mk);
    if (!mv) return fail(c, root, "market", "required key is missing");
    if (!IS_MAP(c, mv))
        return fail(c, value_loc(c, mk, mv), "market", "must be a mapping "
                    "of market inputs");
    static const char *const extra[] = {"sentiment", NULL};
    if (check_keys(c, mv, "market", sc_market_keys, SC_MARKET_NKEYS, extra,
                   NULL))
        return -1;
    char name[64], rule[256];
    for (int k = 0; k < SC_MARKET_NKEYS; k++) {
        snprintf(name, sizeof name, "market.%s", sc_market_keys[k]);
        int kn;
        int vn = map_find(c, mv, sc_market_keys[k], &kn);
        rd_dist *d = &s->market[k];
        if (!vn) {
            if (market_rule[k].required)
                return fail(c, value_loc(c, mk, mv), name,
                            "required key is missing");
            *d = rd_const(market_rule[k].dflt);
            if (rd_prepare(d, rule, sizeof rule) != 0)
                return fail(c, mk, name, "internal error: %s", rule);
            continue;
        }
        if (parse_value(c, kn, vn, name, market_rule[k].per_year, d) ||
            check_domain(c, value_loc(c, kn, vn), name, d,
                         market_rule[k].dom) ||
            check_limit(c, value_loc(c, kn, vn), name, d, market_rule[k].lim,
                        market_rule[k].dom))
            return -1;
    }

    s->sentiment_rho = 0;
    s->sentiment_sigma = 0;
    int sk;
    int sv = map_find(c, mv, "sentiment", &sk);
    if (sv) {
        if (!IS_MAP(c, sv))
            return fail(c, value_loc(c, sk, sv), "market.sentiment",
                        "must be a mapping {rho: R, sigma: S}");
        static const char *const skeys[] = {"rho", "sigma"};
        if (check_keys(c, sv, "market.sentiment", skeys, 2, NULL, NULL))
            return -1;
        for (int j = 0; j < 2; j++) {
            const char *nm = j ? "market.sentiment.sigma"
                               : "market.sentiment.rho";
            int vn = map_find(c, sv, skeys[j], NULL);
            if (!vn) continue;
            double x;
            if (!IS_SCALAR(c, vn))
                return fail(c, vn, nm, "must be a constant number "
                            "(sentiment parameters are not drawn)");
            if (num_node(c, vn, nm, "value", &x)) return -1;
            if (j == 0 && !(x > -1 && x < 1))
                return fail(c, vn, nm, "must be in (-1, 1) (got %g)", x);
            if (j == 1 && !(x >= 0))
                return fail(c, vn, nm, "must be >= 0 (got %g)", x);
            if (j == 1 && !(x <= SC_LIMIT_OTHER))
                return fail(c, vn, nm, "must be at most 1e6 (got %.10g)", x);
            if (j)
                s->sentiment_sigma = x;
            else
                s->sentiment_rho = x;
        }
    }
    return 0;
}

static int parse_backstop(ctx *c, int vn, const char *name, sc_backstop *b)
{
    if (IS_SCALAR(c, vn) && !strcmp(S(c, vn), "none"))
        *b = SC_BACKSTOP_NONE;
    else if (IS_SCALAR(c, vn) && !strcmp(S(c, vn), "parent"))
        *b = SC_BACKSTOP_PARENT;
    else
        return fail(c, vn, name, "must be none or parent%s%s%s",
                    IS_SCALAR(c, vn) ? " (got \"" : "",
                    IS_SCALAR(c, vn) ? S(c, vn) : "",
                    IS_SCALAR(c, vn) ? "\")" : "");
    return 0;
}

/* The `defaults` block: parsed once, under the names defaults.KEY, so that
 * an error in it is reported once, at its own line. */
typedef struct {
    rd_dist d[SC_LAB_NKEYS];
    int has[SC_LAB_NKEYS];
    int has_backstop;
    sc_backstop backstop;
} lab_defaults;

static int parse_defaults(ctx *c, int root, lab_defaults *df)
{
    memset(df, 0, sizeof *df);
    int dk;
    int dv = map_find(c, root, "defaults", &dk);
    if (!dv || is_null(c, dv)) return 0;
    if (!IS_MAP(c, dv))
        return fail(c, value_loc(c, dk, dv), "defaults", "must be a mapping "
                    "of lab inputs");
    static const char *const extra[] = {"backstop", NULL};
    if (check_keys(c, dv, "defaults", sc_lab_keys, SC_LAB_NKEYS, extra,
                   NULL))
        return -1;
    char name[64];
    for (int k = 0; k < SC_LAB_NKEYS; k++) {
        int kn;
        int vn = map_find(c, dv, sc_lab_keys[k], &kn);
        if (!vn) continue;
        snprintf(name, sizeof name, "defaults.%s", sc_lab_keys[k]);
        if (parse_value(c, kn, vn, name, 0, &df->d[k]) ||
            check_domain(c, value_loc(c, kn, vn), name, &df->d[k],
                         lab_rule[k].dom) ||
            check_limit(c, value_loc(c, kn, vn), name, &df->d[k],
                        lab_rule[k].lim, lab_rule[k].dom))
            return -1;
        df->has[k] = 1;
    }
    int bv = map_find(c, dv, "backstop", NULL);
    if (bv) {
        if (parse_backstop(c, bv, "defaults.backstop", &df->backstop))
            return -1;
        df->has_backstop = 1;
    }
    return 0;
}

static int parse_labs(ctx *c, int root, const lab_defaults *df,
                      sc_scenario *s)
{
    int lk;
    int lv = map_find(c, root, "labs", &lk);
    if (!lv) return fail(c, root, "labs", "required key is missing");
    if (!IS_SEQ(c, lv) || N(c, lv)->data.sequence.items.top ==
                              N(c, lv)->data.sequence.items.start)
        return fail(c, value_loc(c, lk, lv), "labs", "must be a non-empty "
                    "list of labs");
    yaml_node_t *l = N(c, lv);
    size_t n = (size_t)(l->data.sequence.items.top -
                        l->data.sequence.items.start);
    s->labs = calloc(n, sizeof *s->labs);
    if (!s->labs) return fail_oom(c);
    s->nlabs = n;

    for (size_t i = 0; i < n; i++) {
        int item = N(c, lv)->data.sequence.items.start[i];
        sc_lab *lab = &s->labs[i];
        char where[64];
        snprintf(where, sizeof where, "labs[%zu]", i);
        if (!IS_MAP(c, item))
            return fail(c, item, where, "must be a mapping with name: and "
                        "the lab's inputs");

        /* The name first: every other message uses it. */
        char nkey[80];
        snprintf(nkey, sizeof nkey, "labs[%zu].name", i);
        int nv = map_find(c, item, "name", NULL);
        if (!nv) return fail(c, item, nkey, "required key is missing");
        if (!IS_SCALAR(c, nv) || is_null(c, nv))
            return fail(c, nv, nkey, "must be a non-empty name");
        const char *nm = S(c, nv);
        if (strchr(nm, '.'))
            return fail(c, nv, nkey, "must not contain '.' (inputs are "
                        "named LAB.KEY): \"%s\"", nm);
        if (strchr(nm, '='))
            return fail(c, nv, nkey, "must not contain '=' (overrides are "
                        "written --set LAB.KEY=VALUE): \"%s\"", nm);
        if (!strcmp(nm, "market") || !strcmp(nm, "defaults"))
            return fail(c, nv, nkey, "\"%s\" is reserved (market.KEY and "
                        "defaults.KEY name other inputs)", nm);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(s->labs[j].name, nm))
                return fail(c, nv, nkey, "duplicate lab name \"%s\" (also "
                            "labs[%zu])", nm, j);
        if (!(lab->name = sdup(nm))) return fail_oom(c);

        static const char *const extra[] = {"name", "backstop", NULL};
        if (check_keys(c, item, lab->name, sc_lab_keys, SC_LAB_NKEYS, extra,
                       NULL))
            return -1;

        char name[600], rule[256];
        for (int k = 0; k < SC_LAB_NKEYS; k++) {
            snprintf(name, sizeof name, "%s.%s", lab->name, sc_lab_keys[k]);
            int kn;
            int vn = map_find(c, item, sc_lab_keys[k], &kn);
            rd_dist *d = &lab->in[k];
            if (vn) {
                if (parse_value(c, kn, vn, name, 0, d) ||
                    check_domain(c, value_loc(c, kn, vn), name, d,
                                 lab_rule[k].dom) ||
                    check_limit(c, value_loc(c, kn, vn), name, d,
                                lab_rule[k].lim, lab_rule[k].dom))
                    return -1;
            } else if (df->has[k]) {
                *d = df->d[k]; /* this lab's own copy, drawn as LAB.KEY */
            } else if (lab_rule[k].required) {
                return fail(c, item, name, "required key is missing");
            } else {
                *d = k == SC_REVENUE_MULTIPLE
                         ? rd_lognormal_p5p95(SC_DEFAULT_MULTIPLE_P5,
                                              SC_DEFAULT_MULTIPLE_P95)
                         : rd_const(lab_rule[k].dflt);
                if (rd_prepare(d, rule, sizeof rule) != 0)
                    return fail(c, item, name, "internal error: %s", rule);
            }
        }
        lab->backstop = df->has_backstop ? df->backstop : SC_BACKSTOP_NONE;
        int bv = map_find(c, item, "backstop", NULL);
        snprintf(name, sizeof name, "%s.backstop", lab->name);
        if (bv && parse_backstop(c, bv, name, &lab->backstop)) return -1;
    }
    return 0;
}

/* Base-year shares: for each segment, the labs' revenue must fit in the
 * market (MODEL.md section 1).
 *
 * With distributions the sum can exceed the market on some paths whatever
 * the parameters (two lognormals are unbounded), so comparing supports
 * would reject every uncertain scenario. The rule used: when every term
 * is a constant the comparison is exact (up to a relative 1e-12, so that
 * 0.1 + 0.2 fits in 0.3); when any term is a distribution, the labs'
 * medians are summed and compared with the market's median. The model
 * must therefore cope with a path on which the drawn labs' revenue
 * exceeds the drawn market (the unlisted providers' share would be
 * negative). */
static int check_shares(ctx *c, int root, const sc_scenario *s)
{
    static const int lab_key[3] = {SC_SUBS0, SC_API0, SC_ENT0};
    static const int mkt_key[3] = {SC_SUB_MARKET0, SC_API_MARKET0,
                                   SC_ENT_MARKET0};
    int lk;
    int lv = map_find(c, root, "labs", &lk);
    int at = value_loc(c, lk, lv);
    for (int g = 0; g < 3; g++) {
        const rd_dist *m = &s->market[mkt_key[g]];
        int all_const = rd_is_const(m);
        for (size_t i = 0; i < s->nlabs; i++)
            all_const = all_const && rd_is_const(&s->labs[i].in[lab_key[g]]);
        double sum = 0, mv = rd_quantile(m, 0.5);
        for (size_t i = 0; i < s->nlabs; i++)
            sum += rd_quantile(&s->labs[i].in[lab_key[g]], 0.5);
        if (sum <= mv * (1 + 1e-12)) continue;
        if (all_const)
            return fail(c, at, "labs", "sum of %s (%.10g) exceeds market.%s "
                        "(%.10g)", sc_lab_keys[lab_key[g]], sum,
                        sc_market_keys[mkt_key[g]], mv);
        return fail(c, at, "labs", "sum of %s (%.10g, adding medians) "
                    "exceeds market.%s (%.10g, median)",
                    sc_lab_keys[lab_key[g]], sum,
                    sc_market_keys[mkt_key[g]], mv);
    }
    return 0;
}

/* The drawn inputs, in the documented order. */
static int build_inputs(ctx *c, sc_scenario *s)
{
    size_t n = 0;
    for (int k = 0; k < SC_MARKET_NKEYS; k++) n += !rd_is_const(&s->market[k]);
    for (size_t i = 0; i < s->nlabs; i++)
        for (int k = 0; k < SC_LAB_NKEYS; k++)
            n += !rd_is_const(&s->labs[i].in[k]);
    if (n == 0) return 0;
    s->inputs = calloc(n, sizeof *s->inputs);
    if (!s->inputs) return fail_oom(c);
    size_t j = 0;
    for (int k = 0; k < SC_MARKET_NKEYS; k++) {
        if (rd_is_const(&s->market[k])) continue;
        sc_input *in = &s->inputs[j++];
        s->ninputs = j;
        if (!(in->name = join2("market", sc_market_keys[k])))
            return fail_oom(c);
        in->lab = -1;
        in->key = k;
        in->dist = &s->market[k];
    }
    for (size_t i = 0; i < s->nlabs; i++) {
        for (int k = 0; k < SC_LAB_NKEYS; k++) {
            if (rd_is_const(&s->labs[i].in[k])) continue;
            sc_input *in = &s->inputs[j++];
            s->ninputs = j;
            if (!(in->name = join2(s->labs[i].name, sc_lab_keys[k])))
                return fail_oom(c);
            in->lab = (int)i;
            in->key = k;
            in->dist = &s->labs[i].in[k];
        }
    }
    for (j = 0; j < n; j++) {
        s->inputs[j].stream = rs_stream_id("input", s->inputs[j].name);
        s->inputs[j].copula = -1;
    }
    return 0;
}

/* Resolves an input name for correlations: its index in s->inputs, or -1
 * when it names no drawn input; *known is 1 when it names an input that
 * exists but is a constant. */
static long find_input(const sc_scenario *s, const char *name, int *known)
{
    *known = 0;
    for (size_t j = 0; j < s->ninputs; j++)
        if (!strcmp(s->inputs[j].name, name)) return (long)j;
    const char *dot = strchr(name, '.');
    if (!dot) return -1;
    size_t plen = (size_t)(dot - name);
    const char *key = dot + 1;
    if (plen == 6 && !strncmp(name, "market", 6)) {
        for (int k = 0; k < SC_MARKET_NKEYS; k++)
            if (!strcmp(key, sc_market_keys[k])) *known = 1;
        if (!strcmp(key, "sentiment.rho") || !strcmp(key, "sentiment.sigma"))
            *known = 1;
        return -1;
    }
    for (size_t i = 0; i < s->nlabs; i++) {
        if (strlen(s->labs[i].name) != plen ||
            strncmp(s->labs[i].name, name, plen))
            continue;
        for (int k = 0; k < SC_LAB_NKEYS; k++)
            if (!strcmp(key, sc_lab_keys[k])) *known = 1;
    }
    return -1;
}

static int parse_correlations(ctx *c, int root, sc_scenario *s)
{
    int ck;
    int cv = map_find(c, root, "correlations", &ck);
    if (!cv || is_null(c, cv)) return 0;
    int cat = value_loc(c, ck, cv);
    if (!IS_SEQ(c, cv))
        return fail(c, cat, "correlations", "must be a list of [name_a, "
                    "name_b, rho]");
    yaml_node_t *l = N(c, cv);
    size_t n = (size_t)(l->data.sequence.items.top -
                        l->data.sequence.items.start);
    if (n == 0) return 0;

    long *ia = malloc(n * sizeof *ia), *ib = malloc(n * sizeof *ib);
    double *rho = malloc(n * sizeof *rho);
    double *mat = NULL;
    int rc = -1;
    if (!ia || !ib || !rho) {
        fail_oom(c);
        goto done;
    }
    for (size_t e = 0; e < n; e++) {
        int it = N(c, cv)->data.sequence.items.start[e];
        char where[64];
        snprintf(where, sizeof where, "correlations[%zu]", e);
        yaml_node_t *en = N(c, it);
        if (en->type != YAML_SEQUENCE_NODE ||
            en->data.sequence.items.top - en->data.sequence.items.start != 3) {
            fail(c, it, where, "must be a list of three: [name_a, name_b, "
                 "rho]");
            goto done;
        }
        int na = en->data.sequence.items.start[0];
        int nb = en->data.sequence.items.start[1];
        int nr = en->data.sequence.items.start[2];
        long idx[2];
        int nodes[2] = {na, nb};
        for (int q = 0; q < 2; q++) {
            if (!IS_SCALAR(c, nodes[q])) {
                fail(c, nodes[q], where, "an input name (market.KEY or "
                     "LAB.KEY) is expected");
                goto done;
            }
            const char *nm = S(c, nodes[q]);
            int known;
            idx[q] = find_input(s, nm, &known);
            if (idx[q] < 0 && known) {
                fail(c, nodes[q], where, "%s is a constant; only drawn "
                     "inputs can be correlated", nm);
                goto done;
            }
            if (idx[q] < 0) {
                fail(c, nodes[q], where, "unknown input \"%s\" (write "
                     "market.KEY or LAB.KEY)", nm);
                goto done;
            }
            if (s->inputs[idx[q]].dist->per_year) {
                fail(c, nodes[q], where, "%s is drawn per year; per-year "
                     "inputs cannot be correlated", nm);
                goto done;
            }
        }
        if (idx[0] == idx[1]) {
            fail(c, na, where, "correlates %s with itself", S(c, na));
            goto done;
        }
        double r;
        if (num_node(c, nr, where, "rho", &r)) goto done;
        if (!(r >= -1 && r <= 1)) {
            fail(c, nr, where, "rho must be in [-1, 1] (got %g)", r);
            goto done;
        }
        for (size_t f = 0; f < e; f++) {
            if ((ia[f] == idx[0] && ib[f] == idx[1]) ||
                (ia[f] == idx[1] && ib[f] == idx[0])) {
                fail(c, na, where, "the pair %s, %s is already correlated "
                     "in correlations[%zu]", S(c, na), S(c, nb), f);
                goto done;
            }
        }
        ia[e] = idx[0];
        ib[e] = idx[1];
        rho[e] = r;
    }

    /* The copula's dimensions: the inputs that appear, in input order. */
    for (size_t e = 0; e < n; e++) {
        s->inputs[ia[e]].copula = 0;
        s->inputs[ib[e]].copula = 0;
    }
    size_t ncop = 0;
    for (size_t j = 0; j < s->ninputs; j++)
        if (s->inputs[j].copula == 0) ncop++;
    s->cop_input = malloc(ncop * sizeof *s->cop_input);
    mat = calloc(ncop * ncop, sizeof *mat);
    if (!s->cop_input || !mat) {
        fail_oom(c);
        goto done;
    }
    s->ncop = ncop;
    size_t d = 0;
    for (size_t j = 0; j < s->ninputs; j++) {
        if (s->inputs[j].copula != 0) continue;
        s->inputs[j].copula = (int)d;
        s->cop_input[d++] = j;
    }
    for (d = 0; d < ncop; d++) mat[d * ncop + d] = 1.0;
    for (size_t e = 0; e < n; e++) {
        size_t a = (size_t)s->inputs[ia[e]].copula;
        size_t b = (size_t)s->inputs[ib[e]].copula;
        mat[a * ncop + b] = mat[b * ncop + a] = rho[e];
    }
    char rule[256];
    rule[0] = 0;
    if (rc_create(&s->copula, ncop, mat, rule, sizeof rule) != 0) {
        s->copula = NULL;
        fail(c, cat, "correlations", "%s", rule[0] ? rule : "correlation "
             "matrix is not positive definite");
        goto done;
    }
    rc = 0;
done:
    free(ia);
    free(ib);
    free(rho);
    free(mat);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Re-emission of the tree (only when there were overrides). */

typedef struct {
    char *buf;
    size_t len, cap;
} outbuf;

static int write_out(void *data, unsigned char *bytes, size_t size)
{
    outbuf *o = data;
    if (o->len + size + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + size + 1) cap *= 2;
        char *p = realloc(o->buf, cap);
        if (!p) return 0;
        o->buf = p;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, bytes, size);
    o->len += size;
    o->buf[o->len] = 0;
    return 1;
}

/* The tree from root as YAML text. It emits a copy, because
 * yaml_emitter_dump destroys what it emits, and a copy drops the nodes
 * that overrides replaced (and any %TAG directives, which the dumper
 * would leak). Comments are not kept: libyaml's tree has none. */
static int emit_text(ctx *c, int root, char **out)
{
    yaml_document_t copy;
    yaml_emitter_t em;
    outbuf o = {NULL, 0, 0};
    if (!yaml_document_initialize(&copy, NULL, NULL, NULL, 1, 1))
        return fail_oom(c);
    long budget = MAX_VISITS;
    int why = 0;
    if (!copy_node(&copy, &c->doc, root, 0, &budget, &why)) {
        yaml_document_delete(&copy);
        if (why == 2)
            return fail(c, root, NULL, "document too large to re-emit");
        return fail_oom(c);
    }
    if (!yaml_emitter_initialize(&em)) {
        yaml_document_delete(&copy);
        return fail_oom(c);
    }
    yaml_emitter_set_output(&em, write_out, &o);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    yaml_emitter_set_indent(&em, 2);
    /* dump takes the copy and frees it, whatever happens. */
    int ok = yaml_emitter_dump(&em, &copy) && yaml_emitter_close(&em) &&
             yaml_emitter_flush(&em);
    yaml_emitter_delete(&em);
    if (!ok || !o.buf) {
        free(o.buf);
        return fail_raw(c, "%s: cannot re-emit the scenario with its "
                        "overrides", c->file);
    }
    *out = o.buf;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Entry points. */

void sc_free(sc_scenario *s)
{
    if (!s) return;
    free(s->file);
    free(s->yaml_text);
    free(s->name);
    free(s->description);
    for (size_t i = 0; s->labs && i < s->nlabs; i++) free(s->labs[i].name);
    free(s->labs);
    for (size_t j = 0; s->inputs && j < s->ninputs; j++)
        free(s->inputs[j].name);
    free(s->inputs);
    rc_free(s->copula);
    free(s->cop_input);
    free(s);
}

int sc_lab_index(const sc_scenario *s, const char *name)
{
    for (size_t i = 0; s && name && i < s->nlabs; i++)
        if (!strcmp(s->labs[i].name, name)) return (int)i;
    return -1;
}

/* The line of a byte offset (for reader errors, which carry no mark). */
static int line_at(const char *text, size_t len, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && i < len; i++) line += text[i] == '\n';
    return line;
}

static int syntax_error(ctx *c, yaml_parser_t *p, const char *text,
                        size_t len)
{
    int line = p->error == YAML_READER_ERROR
                   ? line_at(text, len, p->problem_offset)
                   : (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "cannot parse";
    if (p->context && p->error != YAML_READER_ERROR)
        return fail_raw(c, "%s:%d: syntax error: %s (%s at line %d)",
                        c->file, line, problem, p->context,
                        (int)p->context_mark.line + 1);
    return fail_raw(c, "%s:%d: syntax error: %s", c->file, line, problem);
}

static int load(ctx *c, sc_scenario *s, const char *text, size_t len,
                const sc_options *opts)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return fail_oom(c);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &c->doc)) {
        /* libyaml has freed the partial document. */
        syntax_error(c, &parser, text, len);
        yaml_parser_delete(&parser);
        return -1;
    }
    c->have_doc = 1;
    yaml_node_t *rootn = yaml_document_get_root_node(&c->doc);
    if (!rootn) {
        yaml_parser_delete(&parser);
        return fail_raw(c, "%s:1: the scenario is empty", c->file);
    }
    /* One document only: a second one would be silently ignored. */
    yaml_document_t extra;
    if (!yaml_parser_load(&parser, &extra)) {
        syntax_error(c, &parser, text, len);
        yaml_parser_delete(&parser);
        return -1;
    }
    yaml_parser_delete(&parser);
    /* The document's start mark is its "---" line. */
    int xline = yaml_document_get_root_node(&extra)
                    ? (int)extra.start_mark.line + 1
                    : 0;
    yaml_document_delete(&extra);
    if (xline)
        return fail_raw(c, "%s:%d: only one YAML document is allowed",
                        c->file, xline);

    int root = 1; /* the first node of a loaded document is its root */
    if (!IS_MAP(c, root))
        return fail(c, root, NULL, "the scenario must be a mapping of keys "
                    "(name, base_year, horizon, market, labs, ...)");

    if (opts) {
        for (size_t i = 0; i < opts->nset; i++)
            if (apply_set(c, root, &opts->set[i])) return -1;
        if (opts->has_paths &&
            apply_root_number(c, root, "paths", "--paths", opts->paths))
            return -1;
        if (opts->has_seed &&
            apply_root_number(c, root, "seed", "--seed", opts->seed))
            return -1;
    }
    c->visits = 0;
    if (walk_dups(c, root, NULL, 0)) return -1;

    lab_defaults df;
    if (parse_root(c, root, s) || parse_market(c, root, s) ||
        parse_defaults(c, root, &df) || parse_labs(c, root, &df, s) ||
        check_shares(c, root, s) || build_inputs(c, s) ||
        parse_correlations(c, root, s))
        return -1;

    if (c->novr > 0) return emit_text(c, root, &s->yaml_text);
    s->yaml_text = malloc(len + 1);
    if (!s->yaml_text) return fail_oom(c);
    memcpy(s->yaml_text, text, len);
    s->yaml_text[len] = 0;
    return 0;
}

int sc_load_text(sc_scenario **out, const char *text, size_t len,
                 const char *file, const sc_options *opts, char *err,
                 size_t errlen)
{
    ctx c;
    memset(&c, 0, sizeof c);
    c.file = file ? file : "<scenario>";
    c.err = err;
    c.errlen = errlen;
    if (err && errlen) err[0] = 0;
    if (out) *out = NULL;
    if (!out || !text) {
        fail_raw(&c, "%s: no scenario given", c.file);
        return -1;
    }

    sc_scenario *s = calloc(1, sizeof *s);
    if (!s || !(s->file = sdup(c.file))) {
        free(s);
        return fail_oom(&c);
    }
    /* No GSL function may abort on us; the caller's handler comes back. */
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = load(&c, s, text, len, opts);
    gsl_set_error_handler(old);

    if (c.have_doc) yaml_document_delete(&c.doc);
    for (size_t i = 0; i < c.novr; i++) {
        free(c.ovr[i].label);
        free(c.ovr[i].samekey);
    }
    free(c.ovr);
    if (rc) {
        sc_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int sc_load(sc_scenario **out, const char *path, const sc_options *opts,
            char *err, size_t errlen)
{
    ctx c;
    memset(&c, 0, sizeof c);
    c.file = path ? path : "<scenario>";
    c.err = err;
    c.errlen = errlen;
    if (out) *out = NULL;
    if (!path) return fail_raw(&c, "no scenario file given");
    FILE *f = fopen(path, "rb");
    if (!f) return fail_raw(&c, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *p = realloc(buf, ncap);
            if (!p) {
                free(buf);
                fclose(f);
                return fail_oom(&c);
            }
            buf = p;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return fail_raw(&c, "%s: cannot read", path);
    }
    int rc = sc_load_text(out, buf, len, path, opts, err, errlen);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The value grammar for other modules (see scenario.h). */

int sc_parse_dist_node(struct yaml_document_s *doc, int keynode, int value,
                       const char *file, const char *name, rd_dist *out,
                       char *err, size_t errlen)
{
    ctx c;
    memset(&c, 0, sizeof c);
    c.file = file ? file : "<input>";
    c.err = err;
    c.errlen = errlen;
    if (!doc || !out)
        return fail_raw(&c, "%s: %s: no value given", c.file,
                        name ? name : "value");
    /* A shallow copy: the nodes stay the caller's, and nothing here adds
     * or frees one (have_doc stays 0). */
    c.doc = *doc;
    if (!N(&c, value))
        return fail_raw(&c, "%s: %s: no value given", c.file,
                        name ? name : "value");
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = parse_value(&c, keynode, value, name ? name : "value", 0, out);
    gsl_set_error_handler(old);
    return rc;
}
