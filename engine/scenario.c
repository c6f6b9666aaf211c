/* scenario: reads a YAML scenario, applies command-line overrides, checks
 * every rule of MODEL.md sections 1, 4 and 7 (see scenario.h). This file
 * holds the sections' rules and the entry points; the YAML tree, the
 * value grammar and the overrides are the module's other files
 * (scenario_internal.h says how a load works).
 *
 * Nothing here exits or aborts; every failure frees what was built and
 * returns -1 with one line in err. GSL's error handler is switched off for
 * the duration of sc_load (and restored), so that no distribution function
 * can abort the program on a parameter we failed to foresee.
 */
#include "engine/scenario.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "engine/scenario_internal.h"
#include "rng/rng_stream.h"

#define SC_KEY_NAME(e, name, dom, req, per_year, dflt, lim) [e] = name,
const char *const sc_market_keys[SC_MARKET_NKEYS] = { SC_MARKET_KEYS(SC_KEY_NAME) };
const char *const sc_lab_keys[SC_LAB_NKEYS] = { SC_LAB_KEYS(SC_KEY_NAME) };
#undef SC_KEY_NAME

/* ------------------------------------------------------------------ */
/* Rules: the domain of every input, which are required, their defaults
 * (the tables of scenario.h). */

typedef struct {
    dg_domain dom;
    int required;
    int per_year; /* may be `per: year` */
    double dflt;  /* when not required */
    dg_limit lim;
} key_rule;

#define SC_KEY_RULE(e, name, d, req, py, df, l) [e] = {DOM_##d, req, py, df, LIM_##l},
static const key_rule market_rule[SC_MARKET_NKEYS] = { SC_MARKET_KEYS(SC_KEY_RULE) };
static const key_rule lab_rule[SC_LAB_NKEYS] = { SC_LAB_KEYS(SC_KEY_RULE) };
#undef SC_KEY_RULE

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

/* ------------------------------------------------------------------ */
/* The checks, section by section. */

/* Whether mapping map holds an unknown key that yt_check_keys took for a
 * misspelling of key (its suggestion): "key: required key is missing"
 * would then only repeat that error. */
static int misspelt(yt_ctx *c, int map, const char *key, const char *const *keys,
                    size_t nkeys)
{
    yaml_node_t *m = yt_node(c, map);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        if (!YT_IS_SCALAR(c, p->key)) continue;
        const char *k = yt_str(c, p->key), *best;
        int known = 0;
        for (size_t i = 0; !known && i < nkeys; i++) known = !strcmp(k, keys[i]);
        if (!known && (best = yt_suggest(k, keys, nkeys)) && !strcmp(best, key)) return 1;
    }
    return 0;
}

/* The required keys a mapping lacks, reported as one line: an empty or
 * truncated mapping is one error, not one per key. */
typedef struct {
    int n;
    char first[600];  /* the full name of the first, e.g. market.sub_market0 */
    char keys[700];   /* "sub_market0, api_market0, ..." */
} missing_keys;

static void missing_add(missing_keys *m, const char *full, const char *key)
{
    if (m->n++ == 0) snprintf(m->first, sizeof m->first, "%s", full);
    size_t used = strlen(m->keys);
    if (used + strlen(key) + 3 < sizeof m->keys)
        snprintf(m->keys + used, sizeof m->keys - used, "%s%s", used ? ", " : "", key);
}

/* 0 when none is missing, else -1 with one line at node at. */
static int missing_report(yt_ctx *c, int at, const char *prefix, const missing_keys *m)
{
    if (m->n == 0) return 0;
    if (m->n == 1) return yt_fail(c, at, m->first, "required key is missing");
    return yt_fail(c, at, prefix, "required keys are missing: %s", m->keys);
}

/* A required or optional root key's value (0 when absent). */
static int root_get(yt_ctx *c, int root, const char *key, int required)
{
    int v = yt_map_find(c, root, key, NULL);
    if (!v && required) {
        if (!misspelt(c, root, key, root_keys, NROOT)) /* else reported as unknown */
            yt_fail(c, root, key, "required key is missing");
        return -1;
    }
    return v;
}

static int text_value(yt_ctx *c, int v, const char *key, int allow_empty,
                      char **out)
{
    if (!YT_IS_SCALAR(c, v)) return yt_fail(c, v, key, "must be text");
    if (!allow_empty && yt_is_null(c, v))
        return yt_fail(c, v, key, "must not be empty");
    *out = yt_strdup(yt_is_null(c, v) ? "" : yt_str(c, v));
    return *out ? 0 : yt_fail_oom(c);
}

/* The rule for names runway prints and stores (lab and scenario names;
 * input names are LAB.KEY): at most max characters of printable UTF-8,
 * with no control characters (C0, DEL, C1: a terminal would obey an
 * escape sequence in them, and a newline breaks every table) and no
 * bidirectional overrides (U+202A..U+202E, U+2066..U+2069: they make a
 * printed name read as another). The text is valid UTF-8 already
 * (libyaml checks its input). */
static int check_name(yt_ctx *c, int v, const char *key, const char *what, size_t max)
{
    const unsigned char *p = (const unsigned char *)yt_str(c, v);
    size_t nchar = 0;
    for (size_t i = 0; p[i];) {
        unsigned cp = p[i];
        size_t n = cp < 0x80 ? 1 : cp < 0xe0 ? 2 : cp < 0xf0 ? 3 : 4;
        if (n == 2) cp = (cp & 0x1fu) << 6 | (p[i + 1] & 0x3fu);
        else if (n == 3) cp = (cp & 0x0fu) << 12 | (p[i + 1] & 0x3fu) << 6 | (p[i + 2] & 0x3fu);
        else if (n == 4) cp = 0x10000; /* beyond the BMP: nothing to refuse */
        nchar++;
        if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) ||
            (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029)
            return yt_fail(c, v, key, "%s must be printable text: character %zu is the control "
                           "character U+%04X", what, nchar, cp);
        i += n;
    }
    if (nchar > max)
        return yt_fail(c, v, key, "%s must be at most %zu characters (got %zu)", what, max, nchar);
    return 0;
}

static int parse_root(yt_ctx *c, int root, sc_scenario *s)
{
    /* Each key is checked whatever became of the others (bad: -1 once
     * one failed), so that every error of the file is reported. */
    int bad = yt_check_keys(c, root, NULL, root_keys, NROOT, NULL, NULL);
    int v;
    if ((v = root_get(c, root, "name", 1)) < 0) bad = -1;
    else if (text_value(c, v, "name", 0, &s->name) ||
             check_name(c, v, "name", "a scenario name", SC_SCENARIO_NAME_MAX)) bad = -1;
    if ((v = root_get(c, root, "description", 0)) < 0) return -1;
    if (v) {
        if (text_value(c, v, "description", 1, &s->description)) bad = -1;
    } else if (!(s->description = yt_strdup(""))) {
        return yt_fail_oom(c);
    }

    if ((v = root_get(c, root, "base_year", 1)) < 0) bad = -1;
    else if (!YT_IS_SCALAR(c, v) || yt_parse_int(yt_str(c, v), &s->base_year) != 0 ||
        s->base_year < SC_MIN_BASE_YEAR || s->base_year > SC_MAX_BASE_YEAR)
        bad = yt_fail(c, v, "base_year", "must be an integer year from %d to "
                    "%d%s%s%s", SC_MIN_BASE_YEAR, SC_MAX_BASE_YEAR,
                    YT_IS_SCALAR(c, v) ? " (got " : "",
                    YT_IS_SCALAR(c, v) ? yt_str(c, v) : "",
                    YT_IS_SCALAR(c, v) ? ")" : "");

    if ((v = root_get(c, root, "horizon", 1)) < 0) bad = -1;
    else if (!YT_IS_SCALAR(c, v) || yt_parse_int(yt_str(c, v), &s->horizon) != 0 ||
        s->horizon < 1 || s->horizon > SC_HORIZON_MAX)
        bad = yt_fail(c, v, "horizon", "must be an integer from 1 to 100 "
                    "(years)%s%s%s", YT_IS_SCALAR(c, v) ? " (got " : "",
                    YT_IS_SCALAR(c, v) ? yt_str(c, v) : "",
                    YT_IS_SCALAR(c, v) ? ")" : "");

    s->paths = 100000;
    if ((v = root_get(c, root, "paths", 0)) < 0) return -1;
    if (v && (!YT_IS_SCALAR(c, v) || yt_parse_u64(yt_str(c, v), &s->paths) != 0 ||
              s->paths < 1 || s->paths > SC_MAX_PATHS))
        bad = yt_fail(c, v, "paths", "must be an integer from 1 to 2^40 "
                    "(1099511627776)%s%s%s",
                    YT_IS_SCALAR(c, v) ? " (got " : "",
                    YT_IS_SCALAR(c, v) ? yt_str(c, v) : "",
                    YT_IS_SCALAR(c, v) ? ")" : "");

    s->seed = 1;
    if ((v = root_get(c, root, "seed", 0)) < 0) return -1;
    if (v && (!YT_IS_SCALAR(c, v) || yt_parse_u64(yt_str(c, v), &s->seed) != 0))
        bad = yt_fail(c, v, "seed", "must be an integer from 0 to 2^64-1%s%s%s",
                    YT_IS_SCALAR(c, v) ? " (got " : "",
                    YT_IS_SCALAR(c, v) ? yt_str(c, v) : "",
                    YT_IS_SCALAR(c, v) ? ")" : "");
    return bad;
}

static int parse_market(yt_ctx *c, int root, sc_scenario *s)
{
    int mk;
    int mv = yt_map_find(c, root, "market", &mk);
    if (!mv) return yt_fail(c, root, "market", "required key is missing");
    if (!YT_IS_MAP(c, mv))
        return yt_fail(c, yt_value_loc(c, mk, mv), "market", "must be a mapping "
                    "of market inputs");
    static const char *const extra[] = {"sentiment", NULL};
    /* every key is checked, whatever became of the others */
    int bad = yt_check_keys(c, mv, "market", sc_market_keys, SC_MARKET_NKEYS, extra,
                            NULL);
    missing_keys miss = {0};
    char name[64], rule[256];
    for (int k = 0; k < SC_MARKET_NKEYS; k++) {
        snprintf(name, sizeof name, "market.%s", sc_market_keys[k]);
        int kn;
        int vn = yt_map_find(c, mv, sc_market_keys[k], &kn);
        rd_dist *d = &s->market[k];
        if (!vn) {
            if (market_rule[k].required) {
                if (misspelt(c, mv, sc_market_keys[k], sc_market_keys, SC_MARKET_NKEYS))
                    bad = -1; /* reported as the unknown key */
                else
                    missing_add(&miss, name, sc_market_keys[k]);
                continue;
            }
            *d = rd_const(market_rule[k].dflt);
            if (rd_prepare(d, rule, sizeof rule) != 0)
                return yt_fail(c, mk, name, "internal error: %s", rule);
            continue;
        }
        if (dg_parse_value(c, kn, vn, name, market_rule[k].per_year, d) ||
            dg_check_domain(c, yt_value_loc(c, kn, vn), name, d,
                         market_rule[k].dom) ||
            dg_check_limit(c, yt_value_loc(c, kn, vn), name, d, market_rule[k].lim,
                        market_rule[k].dom))
            bad = -1;
    }
    if (missing_report(c, yt_value_loc(c, mk, mv), "market", &miss)) bad = -1;

    s->sentiment_rho = 0;
    s->sentiment_sigma = 0;
    int sk;
    int sv = yt_map_find(c, mv, "sentiment", &sk);
    if (sv) {
        if (!YT_IS_MAP(c, sv))
            return yt_fail(c, yt_value_loc(c, sk, sv), "market.sentiment",
                        "must be a mapping {rho: R, sigma: S}");
        static const char *const skeys[] = {"rho", "sigma"};
        if (yt_check_keys(c, sv, "market.sentiment", skeys, 2, NULL, NULL))
            bad = -1;
        for (int j = 0; j < 2; j++) {
            const char *nm = j ? "market.sentiment.sigma"
                               : "market.sentiment.rho";
            int vn = yt_map_find(c, sv, skeys[j], NULL);
            if (!vn) continue;
            double x;
            if (!YT_IS_SCALAR(c, vn)) {
                bad = yt_fail(c, vn, nm, "must be a constant number "
                            "(sentiment parameters are not drawn)");
                continue;
            }
            if (yt_num_node(c, vn, nm, "value", &x)) {
                bad = -1;
                continue;
            }
            if (j == 0 && !(x > -1 && x < 1))
                bad = yt_fail(c, vn, nm, "must be in (-1, 1) (got %.10g)", x);
            if (j == 1 && !(x >= 0))
                bad = yt_fail(c, vn, nm, "must be >= 0 (got %g)", x);
            else if (j == 1 && !(x <= SC_LIMIT_OTHER))
                bad = yt_fail(c, vn, nm, "must be at most 1e6 (got %.10g)", x);
            if (j)
                s->sentiment_sigma = x;
            else
                s->sentiment_rho = x;
        }
    }
    return bad;
}

static int parse_backstop(yt_ctx *c, int vn, const char *name, sc_backstop *b)
{
    if (YT_IS_SCALAR(c, vn) && !strcmp(yt_str(c, vn), "none"))
        *b = SC_BACKSTOP_NONE;
    else if (YT_IS_SCALAR(c, vn) && !strcmp(yt_str(c, vn), "parent"))
        *b = SC_BACKSTOP_PARENT;
    else
        return yt_fail(c, vn, name, "must be none or parent%s%s%s",
                    YT_IS_SCALAR(c, vn) ? " (got \"" : "",
                    YT_IS_SCALAR(c, vn) ? yt_str(c, vn) : "",
                    YT_IS_SCALAR(c, vn) ? "\")" : "");
    return 0;
}

/* The `defaults` block: parsed once, under the names defaults.KEY, so that
 * an error in it is reported once, at its own line. */
typedef struct {
    rd_dist d[SC_LAB_NKEYS];
    int has[SC_LAB_NKEYS];
    int bad[SC_LAB_NKEYS]; /* given but refused: the labs say nothing more */
    int broken;            /* the block is not a mapping: likewise */
    int has_backstop;
    sc_backstop backstop;
} lab_defaults;

static int parse_defaults(yt_ctx *c, int root, lab_defaults *df)
{
    memset(df, 0, sizeof *df);
    int dk;
    int dv = yt_map_find(c, root, "defaults", &dk);
    if (!dv || yt_is_null(c, dv)) return 0;
    if (!YT_IS_MAP(c, dv)) {
        df->broken = 1;
        return yt_fail(c, yt_value_loc(c, dk, dv), "defaults", "must be a mapping "
                    "of lab inputs");
    }
    static const char *const extra[] = {"backstop", NULL};
    int bad = yt_check_keys(c, dv, "defaults", sc_lab_keys, SC_LAB_NKEYS, extra,
                            NULL);
    char name[64];
    for (int k = 0; k < SC_LAB_NKEYS; k++) {
        int kn;
        int vn = yt_map_find(c, dv, sc_lab_keys[k], &kn);
        if (!vn) continue;
        snprintf(name, sizeof name, "defaults.%s", sc_lab_keys[k]);
        if (dg_parse_value(c, kn, vn, name, 0, &df->d[k]) ||
            dg_check_domain(c, yt_value_loc(c, kn, vn), name, &df->d[k],
                         lab_rule[k].dom) ||
            dg_check_limit(c, yt_value_loc(c, kn, vn), name, &df->d[k],
                        lab_rule[k].lim, lab_rule[k].dom)) {
            bad = df->bad[k] = -1;
            continue;
        }
        df->has[k] = 1;
    }
    int bv = yt_map_find(c, dv, "backstop", NULL);
    if (bv) {
        if (parse_backstop(c, bv, "defaults.backstop", &df->backstop))
            return -1;
        df->has_backstop = 1;
    }
    return bad;
}

static int parse_labs(yt_ctx *c, int root, const lab_defaults *df,
                      sc_scenario *s)
{
    int lk;
    int lv = yt_map_find(c, root, "labs", &lk);
    if (!lv) return yt_fail(c, root, "labs", "required key is missing");
    if (!YT_IS_SEQ(c, lv) || yt_node(c, lv)->data.sequence.items.top ==
                              yt_node(c, lv)->data.sequence.items.start)
        return yt_fail(c, yt_value_loc(c, lk, lv), "labs", "must be a non-empty "
                    "list of labs");
    yaml_node_t *l = yt_node(c, lv);
    size_t n = (size_t)(l->data.sequence.items.top -
                        l->data.sequence.items.start);
    s->labs = calloc(n, sizeof *s->labs);
    if (!s->labs) return yt_fail_oom(c);
    s->nlabs = n;

    /* A lab's error skips to its next key, or to the next lab when the
     * name is wrong (every other message of the lab needs it). */
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        int item = yt_node(c, lv)->data.sequence.items.start[i];
        sc_lab *lab = &s->labs[i];
        char where[64];
        snprintf(where, sizeof where, "labs[%zu]", i);
        if (!YT_IS_MAP(c, item)) {
            bad = yt_fail(c, item, where, "must be a mapping with name: and "
                        "the lab's inputs");
            continue;
        }

        /* The name first: every other message uses it. */
        char nkey[80];
        snprintf(nkey, sizeof nkey, "labs[%zu].name", i);
        int nv = yt_map_find(c, item, "name", NULL);
        if (!nv) {
            bad = yt_fail(c, item, nkey, "required key is missing");
            continue;
        }
        if (!YT_IS_SCALAR(c, nv) || yt_is_null(c, nv)) {
            bad = yt_fail(c, nv, nkey, "must be a non-empty name");
            continue;
        }
        const char *nm = yt_str(c, nv);
        int named = check_name(c, nv, nkey, "a lab name", SC_LAB_NAME_MAX);
        if (named == 0 && strchr(nm, '.'))
            named = yt_fail(c, nv, nkey, "must not contain '.' (inputs are "
                        "named LAB.KEY): \"%s\"", nm);
        else if (named == 0 && strchr(nm, '='))
            named = yt_fail(c, nv, nkey, "must not contain '=' (overrides are "
                        "written --set LAB.KEY=VALUE): \"%s\"", nm);
        else if (named == 0 && (!strcmp(nm, "market") || !strcmp(nm, "defaults")))
            named = yt_fail(c, nv, nkey, "\"%s\" is reserved (market.KEY and "
                        "defaults.KEY name other inputs)", nm);
        for (size_t j = 0; j < i && named == 0; j++)
            if (s->labs[j].name && !strcmp(s->labs[j].name, nm))
                named = yt_fail(c, nv, nkey, "duplicate lab name \"%s\" (also "
                            "labs[%zu])", nm, j);
        if (named < 0) {
            bad = -1;
            continue;
        }
        if (!(lab->name = yt_strdup(nm))) return yt_fail_oom(c);

        static const char *const extra[] = {"name", "backstop", NULL};
        if (yt_check_keys(c, item, lab->name, sc_lab_keys, SC_LAB_NKEYS, extra,
                       NULL))
            bad = -1;

        char name[600], rule[256];
        missing_keys miss = {0};
        for (int k = 0; k < SC_LAB_NKEYS; k++) {
            snprintf(name, sizeof name, "%s.%s", lab->name, sc_lab_keys[k]);
            int kn;
            int vn = yt_map_find(c, item, sc_lab_keys[k], &kn);
            rd_dist *d = &lab->in[k];
            if (vn) {
                if (dg_parse_value(c, kn, vn, name, 0, d) ||
                    dg_check_domain(c, yt_value_loc(c, kn, vn), name, d,
                                 lab_rule[k].dom) ||
                    dg_check_limit(c, yt_value_loc(c, kn, vn), name, d,
                                lab_rule[k].lim, lab_rule[k].dom))
                    bad = -1;
            } else if (df->has[k]) {
                *d = df->d[k]; /* this lab's own copy, drawn as LAB.KEY */
            } else if (df->bad[k] || df->broken) {
                bad = -1; /* reported once, at defaults */
            } else if (lab_rule[k].required) {
                if (misspelt(c, item, sc_lab_keys[k], sc_lab_keys, SC_LAB_NKEYS))
                    bad = -1; /* reported as the unknown key */
                else
                    missing_add(&miss, name, sc_lab_keys[k]);
            } else {
                *d = k == SC_REVENUE_MULTIPLE
                         ? rd_lognormal_p5p95(SC_DEFAULT_MULTIPLE_P5,
                                              SC_DEFAULT_MULTIPLE_P95)
                         : rd_const(lab_rule[k].dflt);
                if (rd_prepare(d, rule, sizeof rule) != 0)
                    return yt_fail(c, item, name, "internal error: %s", rule);
            }
        }
        if (missing_report(c, item, lab->name, &miss)) bad = -1;
        lab->backstop = df->has_backstop ? df->backstop : SC_BACKSTOP_NONE;
        int bv = yt_map_find(c, item, "backstop", NULL);
        snprintf(name, sizeof name, "%s.backstop", lab->name);
        if (bv && parse_backstop(c, bv, name, &lab->backstop)) bad = -1;
    }
    return bad;
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
static int check_shares(yt_ctx *c, int root, const sc_scenario *s)
{
    static const int lab_key[3] = {SC_SUBS0, SC_API0, SC_ENT0};
    static const int mkt_key[3] = {SC_SUB_MARKET0, SC_API_MARKET0,
                                   SC_ENT_MARKET0};
    int lk;
    int lv = yt_map_find(c, root, "labs", &lk);
    int at = yt_value_loc(c, lk, lv), bad = 0;
    for (int g = 0; g < 3; g++) {
        const rd_dist *m = &s->market[mkt_key[g]];
        int all_const = rd_is_const(m);
        for (size_t i = 0; i < s->nlabs; i++)
            all_const = all_const && rd_is_const(&s->labs[i].in[lab_key[g]]);
        double sum = 0, mv = rd_quantile(m, 0.5);
        for (size_t i = 0; i < s->nlabs; i++)
            sum += rd_quantile(&s->labs[i].in[lab_key[g]], 0.5);
        if (sum <= mv * (1 + 1e-12)) continue;
        /* Which lab brings how much: three significant digits, what an
         * analyst compares with the sources (the sum keeps enough digits
         * to show that it exceeds the market). */
        char labs[600] = "";
        for (size_t i = 0, used = 0; i < s->nlabs && used + 1 < sizeof labs; i++) {
            int w = snprintf(labs + used, sizeof labs - used, "%s%s %.3g", i ? ", " : "",
                             s->labs[i].name,
                             rd_quantile(&s->labs[i].in[lab_key[g]], 0.5));
            if (w < 0) break;
            used += (size_t)w;
        }
        /* the sum with the fewest digits (3 or more) that tell it from
         * the market's */
        char ssum[32], smkt[32];
        int prec = 3;
        snprintf(smkt, sizeof smkt, "%.3g", mv);
        do
            snprintf(ssum, sizeof ssum, "%.*g", prec, sum);
        while (!strcmp(ssum, smkt) && ++prec <= 17);
        bad = yt_fail(c, at, "labs", "sum of %s (%s%s) exceeds market.%s (%s%s): %s",
                      sc_lab_keys[lab_key[g]], ssum, all_const ? "" : ", adding medians",
                      sc_market_keys[mkt_key[g]], smkt, all_const ? "" : ", median", labs);
    }
    return bad;
}

/* The drawn inputs, in the documented order. */
static int build_inputs(yt_ctx *c, sc_scenario *s)
{
    size_t n = 0;
    for (int k = 0; k < SC_MARKET_NKEYS; k++) n += !rd_is_const(&s->market[k]);
    for (size_t i = 0; i < s->nlabs; i++)
        for (int k = 0; k < SC_LAB_NKEYS; k++)
            n += !rd_is_const(&s->labs[i].in[k]);
    if (n == 0) return 0;
    s->inputs = calloc(n, sizeof *s->inputs);
    if (!s->inputs) return yt_fail_oom(c);
    size_t j = 0;
    for (int k = 0; k < SC_MARKET_NKEYS; k++) {
        if (rd_is_const(&s->market[k])) continue;
        sc_input *in = &s->inputs[j++];
        s->ninputs = j;
        if (!(in->name = yt_join2("market", sc_market_keys[k])))
            return yt_fail_oom(c);
        in->lab = -1;
        in->key = k;
        in->dist = &s->market[k];
    }
    for (size_t i = 0; i < s->nlabs; i++) {
        for (int k = 0; k < SC_LAB_NKEYS; k++) {
            if (rd_is_const(&s->labs[i].in[k])) continue;
            sc_input *in = &s->inputs[j++];
            s->ninputs = j;
            if (!(in->name = yt_join2(s->labs[i].name, sc_lab_keys[k])))
                return yt_fail_oom(c);
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

static int parse_correlations(yt_ctx *c, int root, sc_scenario *s)
{
    int ck;
    int cv = yt_map_find(c, root, "correlations", &ck);
    if (!cv || yt_is_null(c, cv)) return 0;
    int cat = yt_value_loc(c, ck, cv);
    if (!YT_IS_SEQ(c, cv))
        return yt_fail(c, cat, "correlations", "must be a list of [name_a, "
                    "name_b, rho]");
    yaml_node_t *l = yt_node(c, cv);
    size_t n = (size_t)(l->data.sequence.items.top -
                        l->data.sequence.items.start);
    if (n == 0) return 0;

    long *ia = malloc(n * sizeof *ia), *ib = malloc(n * sizeof *ib);
    double *rho = malloc(n * sizeof *rho);
    double *mat = NULL;
    int rc = -1;
    if (!ia || !ib || !rho) {
        yt_fail_oom(c);
        goto done;
    }
    for (size_t e = 0; e < n; e++) {
        int it = yt_node(c, cv)->data.sequence.items.start[e];
        char where[64];
        snprintf(where, sizeof where, "correlations[%zu]", e);
        yaml_node_t *en = yt_node(c, it);
        if (en->type != YAML_SEQUENCE_NODE ||
            en->data.sequence.items.top - en->data.sequence.items.start != 3) {
            yt_fail(c, it, where, "must be a list of three: [name_a, name_b, "
                 "rho]");
            goto done;
        }
        int na = en->data.sequence.items.start[0];
        int nb = en->data.sequence.items.start[1];
        int nr = en->data.sequence.items.start[2];
        long idx[2];
        int nodes[2] = {na, nb};
        for (int q = 0; q < 2; q++) {
            if (!YT_IS_SCALAR(c, nodes[q])) {
                yt_fail(c, nodes[q], where, "an input name (market.KEY or "
                     "LAB.KEY) is expected");
                goto done;
            }
            const char *nm = yt_str(c, nodes[q]);
            int known;
            idx[q] = find_input(s, nm, &known);
            if (idx[q] < 0 && known) {
                yt_fail(c, nodes[q], where, "%s is a constant; only drawn "
                     "inputs can be correlated", nm);
                goto done;
            }
            if (idx[q] < 0) {
                yt_fail(c, nodes[q], where, "unknown input \"%s\" (write "
                     "market.KEY or LAB.KEY)", nm);
                goto done;
            }
            if (s->inputs[idx[q]].dist->per_year) {
                yt_fail(c, nodes[q], where, "%s is drawn per year; per-year "
                     "inputs cannot be correlated", nm);
                goto done;
            }
        }
        if (idx[0] == idx[1]) {
            yt_fail(c, na, where, "correlates %s with itself", yt_str(c, na));
            goto done;
        }
        double r;
        if (yt_num_node(c, nr, where, "rho", &r)) goto done;
        if (!(r >= -1 && r <= 1)) {
            yt_fail(c, nr, where, "rho must be in [-1, 1] (got %.10g)", r);
            goto done;
        }
        for (size_t f = 0; f < e; f++) {
            if ((ia[f] == idx[0] && ib[f] == idx[1]) ||
                (ia[f] == idx[1] && ib[f] == idx[0])) {
                yt_fail(c, na, where, "the pair %s, %s is already correlated "
                     "in correlations[%zu]", yt_str(c, na), yt_str(c, nb), f);
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
        yt_fail_oom(c);
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
        yt_fail(c, cat, "correlations", "%s", rule[0] ? rule : "correlation "
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
/* Entry points. */

void sc_free(sc_scenario *s)
{
    if (!s) return;
    free(s->file);
    free(s->yaml_text);
    free(s->source_text);
    free(s->overrides);
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

const char *sc_suggest(const char *word, const char *const *cand, size_t n)
{
    return yt_suggest(word, cand, n);
}

int sc_lab_index(const sc_scenario *s, const char *name)
{
    for (size_t i = 0; s && name && i < s->nlabs; i++)
        if (!strcmp(s->labs[i].name, name)) return (int)i;
    return -1;
}


/* One override's line "NAME=VALUE\n" appended to *buf (escaping the
 * value's backslashes and newlines). */
static int ov_line(char **buf, size_t *len, const char *name, const char *value)
{
    size_t need = strlen(name) + 2 * strlen(value) + 3;
    char *b = realloc(*buf, *len + need);
    if (!b) return -1;
    *buf = b;
    char *p = b + *len;
    p += sprintf(p, "%s=", name);
    for (const char *v = value; *v; v++) {
        if (*v == '\\' || *v == '\n') {
            *p++ = '\\';
            *p++ = *v == '\n' ? 'n' : '\\';
        } else {
            *p++ = *v;
        }
    }
    *p++ = '\n';
    *p = 0;
    *len = (size_t)(p - b);
    return 0;
}

/* The overrides of opts as sc_scenario.overrides says. */
static int overrides_text(const sc_options *o, char **out)
{
    char *buf = calloc(1, 1), num[32];
    size_t len = 0;
    int bad = !buf;
    for (size_t i = 0; o && !bad && i < o->nset; i++)
        bad = ov_line(&buf, &len, o->set[i].name ? o->set[i].name : "",
                      o->set[i].value ? o->set[i].value : "");
    if (o && !bad && o->has_paths) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)o->paths);
        bad = ov_line(&buf, &len, "paths", num);
    }
    if (o && !bad && o->has_seed) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)o->seed);
        bad = ov_line(&buf, &len, "seed", num);
    }
    if (bad) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

void sc_overrides_free(sc_override *set, char **strings, size_t nstrings)
{
    for (size_t i = 0; strings && i < nstrings; i++) free(strings[i]);
    free(strings);
    free(set);
}

int sc_parse_overrides(const char *text, sc_options *o, sc_override **set, char ***strings,
                       size_t *nstrings, char *err, size_t errlen)
{
    size_t nl = 0;
    for (const char *p = text; *p; p++) nl += *p == '\n';
    memset(o, 0, sizeof *o);
    *set = calloc(nl + 1, sizeof **set);
    *strings = calloc(2 * nl + 2, sizeof **strings);
    *nstrings = 0;
    if (!*set || !*strings) {
        snprintf(err, errlen, "overrides: out of memory");
        return -1;
    }
    int lineno = 0;
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        if (!end) end = p + strlen(p);
        lineno++;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq || eq == p) {
            snprintf(err, errlen, "overrides, line %d: expected NAME=VALUE", lineno);
            return -1;
        }
        char *name = malloc((size_t)(eq - p) + 1), *value = malloc((size_t)(end - eq));
        if (!name || !value) {
            free(name);
            free(value);
            snprintf(err, errlen, "overrides: out of memory");
            return -1;
        }
        memcpy(name, p, (size_t)(eq - p));
        name[eq - p] = 0;
        char *v = value;
        for (const char *q = eq + 1; q < end; q++) {
            if (*q == '\\' && q + 1 < end) {
                q++;
                *v++ = *q == 'n' ? '\n' : *q;
            } else {
                *v++ = *q;
            }
        }
        *v = 0;
        (*strings)[(*nstrings)++] = name;
        (*strings)[(*nstrings)++] = value;
        if (!strcmp(name, "paths") || !strcmp(name, "seed")) {
            uint64_t x;
            if (yt_parse_u64(value, &x) != 0) {
                snprintf(err, errlen, "overrides, line %d: %s must be an integer", lineno, name);
                return -1;
            }
            if (name[0] == 'p') {
                o->has_paths = 1;
                o->paths = x;
            } else {
                o->has_seed = 1;
                o->seed = x;
            }
        } else {
            (*set)[o->nset].name = name;
            (*set)[o->nset].value = value;
            o->nset++;
        }
        p = *end ? end + 1 : end;
    }
    o->set = *set;
    return 0;
}

/* A scenario is a few hundred lines; reading stops past SC_MAX_FILE, so
 * /dev/zero or a wrong file name is refused at once, not read until
 * memory runs out. */
static int too_large(yt_ctx *c, size_t len)
{
    (void)len;
    return yt_fail_raw(c, "%s: the file is larger than %d MiB, the most a scenario may hold "
                       "(a scenario is a few hundred lines: is it the right file?)", c->file,
                       SC_MAX_FILE >> 20);
}

static int load(yt_ctx *c, sc_scenario *s, const char *text, size_t len,
                const sc_options *opts)
{
    if (len > SC_MAX_FILE) return too_large(c, len);
    yt_load_err le;
    if (yt_load(&c->doc, text, len, &le) != 0) {
        if (!le.line) return yt_fail_raw(c, "%s: %s", c->file, le.msg);
        return yt_fail_raw(c, "%s:%d: %s", c->file, le.line, le.msg);
    }
    c->have_doc = 1;
    if (!yaml_document_get_root_node(&c->doc))
        return yt_fail_raw(c, "%s:1: the scenario is empty", c->file);

    int root = 1; /* the first node of a loaded document is its root */
    if (!YT_IS_MAP(c, root))
        return yt_fail(c, root, NULL, "the scenario must be a mapping of keys "
                    "(name, base_year, horizon, market, labs, ...)");

    if (ov_apply(c, root, opts)) return -1;
    c->visits = 0;
    if (yt_walk_dups(c, root, NULL, 0)) return -1;

    /* The sections are checked one after the other, each whatever became
     * of the others, so that one pass reports every error (collect); the
     * rules across sections (shares, correlations) need every value, so
     * they run only when the sections hold. */
    lab_defaults df;
    int bad = parse_root(c, root, s);
    bad |= parse_market(c, root, s);
    bad |= parse_defaults(c, root, &df);
    bad |= parse_labs(c, root, &df, s);
    if (bad || check_shares(c, root, s) || build_inputs(c, s) ||
        parse_correlations(c, root, s))
        return -1;

    /* the text as written and the overrides, kept apart: with them the
     * run can be reproduced from the file it wrote, comments and all */
    s->source_text = malloc(len + 1);
    if (!s->source_text || overrides_text(opts, &s->overrides)) return yt_fail_oom(c);
    memcpy(s->source_text, text, len);
    s->source_text[len] = 0;
    if (c->novr > 0) return yt_emit(c, root, &s->yaml_text);
    s->yaml_text = malloc(len + 1);
    if (!s->yaml_text) return yt_fail_oom(c);
    memcpy(s->yaml_text, text, len);
    s->yaml_text[len] = 0;
    return 0;
}

int sc_load_text(sc_scenario **out, const char *text, size_t len,
                 const char *file, const sc_options *opts, char *err,
                 size_t errlen)
{
    yt_ctx c;
    memset(&c, 0, sizeof c);
    c.file = file ? file : "<scenario>";
    c.err = err;
    c.errlen = errlen;
    c.collect = 1;
    if (err && errlen) err[0] = 0;
    if (out) *out = NULL;
    if (!out || !text) {
        yt_fail_raw(&c, "%s: no scenario given", c.file);
        return -1;
    }

    sc_scenario *s = calloc(1, sizeof *s);
    if (!s || !(s->file = yt_strdup(c.file))) {
        free(s);
        return yt_fail_oom(&c);
    }
    /* No GSL function may abort on us; the caller's handler comes back. */
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = load(&c, s, text, len, opts);
    gsl_set_error_handler(old);
    yt_errors_end(&c);

    yt_ctx_free(&c);
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
    yt_ctx c;
    memset(&c, 0, sizeof c);
    c.file = path ? path : "<scenario>";
    c.err = err;
    c.errlen = errlen;
    if (out) *out = NULL;
    if (!path) return yt_fail_raw(&c, "no scenario file given");
    FILE *f = fopen(path, "rb");
    if (!f) return yt_fail_raw(&c, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len > SC_MAX_FILE) break; /* refused below, by its size */
        if (len + 4096 > cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > (size_t)SC_MAX_FILE + 1 + 4096) ncap = (size_t)SC_MAX_FILE + 1 + 4096;
            char *p = realloc(buf, ncap);
            if (!p) {
                free(buf);
                fclose(f);
                return yt_fail_oom(&c);
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
        return yt_fail_raw(&c, "%s: cannot read", path);
    }
    int rc = sc_load_text(out, buf, len, path, opts, err, errlen);
    free(buf);
    return rc;
}
