/* observe: reads an observations file (MODEL.md section 8) and checks it
 * against a scenario (see observe.h).
 *
 * How it works. libyaml's document API loads the whole file into a node
 * tree; the tree is walked once for duplicate keys (libyaml accepts them)
 * and then entry by entry, each rule in a fixed order, so a file with
 * several mistakes always reports the same first one. A figure's value is
 * handed to scenario.c (sc_parse_dist_node), so that "a to b", p5/p95,
 * min/max and every message about them are exactly a scenario's; the
 * rules that only an observation has (no plain number, no per:, a family
 * whose density has a finite maximum, a sign or a range per quantity) are
 * checked here around that call.
 *
 * Nothing here exits or aborts; every failure frees what was built and
 * returns -1 with one line in err. GSL's error handler is off while a
 * file is checked (and restored), as in sc_load.
 */
#include "engine/observe.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <yaml.h>

/* Limits that only a pathological file reaches (deep nesting, an alias
 * bomb); they keep the walk over the tree bounded. */
#define OB_MAX_DEPTH 64
#define OB_MAX_VISITS 1000000L
/* Money figures: within +-1e12 US$ billion, as scenario inputs are. */
#define OB_LIMIT_MONEY 1e12

static const char *const quantity_names[OB_NQUANTITIES] = {
    [OB_REVENUE] = "revenue", [OB_CASH] = "cash",
    [OB_RAISED] = "raised",   [OB_OP_CASH_FLOW] = "op_cash_flow",
    [OB_SHARE] = "share",     [OB_SIZE] = "size",
    [OB_STATUS] = "status",
};

static const char *const status_names[OB_NSTATUSES] = {
    [OB_ALIVE] = "alive",
    [OB_FAILED] = "failed",
    [OB_ACQUIRED] = "acquired",
    [OB_WOUND_DOWN] = "wound_down",
    [OB_ACQUIRED_SOLVENT] = "acquired_solvent",
    [OB_EXITED] = "exited",
};

static const char *const segment_names[] = {"sub", "api", "ent"};
#define NSEGMENTS 3

/* Every key an entry may have. */
static const char *const entry_keys[] = {
    "lab",   "market", "year",         "source", "revenue", "cash",
    "raised", "op_cash_flow", "share", "size",   "status",
};
#define NENTRY_KEYS (sizeof entry_keys / sizeof entry_keys[0])

#define LAB_QUANTITIES "revenue, cash, raised, op_cash_flow, share or status"
#define STATUS_LIST \
    "alive, failed, acquired, wound_down, acquired_solvent or exited"

const char *ob_quantity_name(ob_quantity q)
{
    return (unsigned)q < OB_NQUANTITIES ? quantity_names[q] : "?";
}

const char *ob_status_name(ob_status st)
{
    return (unsigned)st < OB_NSTATUSES ? status_names[st] : "?";
}

int ob_status_matches(ob_status observed, ob_status outcome)
{
    switch (observed) {
    case OB_FAILED:
        return outcome == OB_ACQUIRED || outcome == OB_WOUND_DOWN;
    case OB_EXITED:
        return outcome == OB_ACQUIRED || outcome == OB_WOUND_DOWN ||
               outcome == OB_ACQUIRED_SOLVENT;
    default:
        return observed == outcome;
    }
}

/* ------------------------------------------------------------------ */
/* The likelihood (MODEL.md section 8's l). */

/* k * ln(y), with 0 * ln(0) = 0 (a PERT whose mode is at an end). */
static double klog(double k, double y)
{
    return k == 0.0 ? 0.0 : k * log(y);
}

/* ln of the density at x, up to a constant that does not depend on x;
 * only called inside the support. */
static double log_density(const rd_dist *d, double x)
{
    switch (d->family) {
    case RD_NORMAL: {
        double z = (x - d->a) / d->b;
        return -0.5 * z * z;
    }
    case RD_LOGNORMAL: {
        /* The measurement error of a positive figure is multiplicative:
         * the observed y is the true x times a lognormal error, so the
         * likelihood of x is the density of ln y given ln x, a normal
         * kernel in ln x, largest at the median. (The density in x itself
         * would add a factor 1/x, which favours small x for no reason and
         * breaks the conjugate posterior of MODEL.md section 8's closed
         * form; docs/model-notes.md.) */
        double z = (log(x) - d->a) / d->b;
        return -0.5 * z * z;
    }
    case RD_UNIFORM: return 0.0;
    case RD_TRIANGULAR: /* a = min, b = mode, c = max; 1 at the mode */
        if (x < d->b) return log((x - d->a) / (d->b - d->a));
        if (x > d->b) return log((d->c - x) / (d->c - d->b));
        return 0.0;
    case RD_PERT: { /* beta on [min, max]; see rng_dist.h */
        double w = d->c - d->a;
        double al = 4.0 * (d->b - d->a) / w, be = 4.0 * (d->c - d->b) / w;
        double y = (x - d->a) / w;
        return klog(al, y) + klog(be, 1.0 - y);
    }
    default: return NAN;
    }
}

/* Where the (truncated) density is largest. */
static double mode_of(const rd_dist *d)
{
    double m;
    switch (d->family) {
    case RD_NORMAL: m = d->a; break;
    case RD_LOGNORMAL: m = exp(d->a); break; /* the kernel in ln x peaks at the median */
    case RD_TRIANGULAR:
    case RD_PERT: m = d->b; break;
    default: m = 0.5 * (d->a + d->b); break; /* uniform: any point */
    }
    /* Both families that may be truncated are unimodal: the truncated
     * density peaks at the mode clamped into [tmin, tmax]. */
    if (m < d->tmin) m = d->tmin;
    if (m > d->tmax) m = d->tmax;
    return m;
}

double ob_loglik(const ob_obs *o, double x)
{
    if (!o || o->q == OB_STATUS || isnan(x)) return NAN;
    const rd_dist *d = &o->dist;
    double lo, hi;
    rd_support(d, &lo, &hi);
    if (x < lo || x > hi) return -INFINITY;
    if (d->family == RD_LOGNORMAL && !(x > 0)) return -INFINITY;
    double r = log_density(d, x) - log_density(d, mode_of(d));
    return r > 0 ? 0.0 : r; /* rounding at the mode itself */
}

/* ------------------------------------------------------------------ */
/* The loading context and error reporting (as in scenario.c). */

typedef struct {
    const char *file;
    char *err;
    size_t errlen;
    yaml_document_t doc;
    int have_doc;
    long visits;
} ctx;

static yaml_node_t *N(ctx *c, int i)
{
    return i > 0 ? yaml_document_get_node(&c->doc, i) : NULL;
}

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

static int line_of(ctx *c, int node)
{
    yaml_node_t *n = N(c, node);
    return n ? (int)n->start_mark.line + 1 : 1;
}

/* Keeps a message on one line (a quoted value may hold a newline). */
static void one_line(char *msg)
{
    for (; *msg; msg++)
        if ((unsigned char)*msg < 0x20 || *msg == 0x7f) *msg = ' ';
}

/* "FILE:LINE: KEY: rule" (or "FILE:LINE: rule" when key is NULL) at the
 * line of node; returns -1. */
static int fail(ctx *c, int node, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(ctx *c, int node, const char *key, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0) return -1;
    char rule[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rule, sizeof rule, fmt, ap);
    va_end(ap);
    if (key)
        snprintf(c->err, c->errlen, "%s:%d: %s: %s", c->file,
                 line_of(c, node), key, rule);
    else
        snprintf(c->err, c->errlen, "%s:%d: %s", c->file, line_of(c, node),
                 rule);
    one_line(c->err);
    return -1;
}

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

/* YAML's null: an empty value, ~ or null. */
static int is_null(ctx *c, int i)
{
    yaml_node_t *n = N(c, i);
    if (!n || n->type != YAML_SCALAR_NODE) return 0;
    const char *s = (const char *)n->data.scalar.value;
    if (!*s) return 1;
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
            !strcmp(s, "NULL"));
}

/* The value of key in mapping map (0 when absent); *keynode gets the key's
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

/* Levenshtein distance ignoring case, capped at 3 ("openai" is OpenAI). */
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
            int same = tolower((unsigned char)a[i - 1]) ==
                       tolower((unsigned char)b[j - 1]);
            int best = diag + !same;
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

static char *sdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* ------------------------------------------------------------------ */
/* Duplicate keys and other malformed nodes, over the whole tree. */

static int walk(ctx *c, int i, const char *path, int depth)
{
    yaml_node_t *n = N(c, i);
    if (depth > OB_MAX_DEPTH)
        return fail(c, i, NULL, "nested more than %d levels deep (a "
                    "recursive alias?)", OB_MAX_DEPTH);
    if (++c->visits > OB_MAX_VISITS)
        return fail(c, i, NULL, "document too large (more than %ld nodes, "
                    "counting aliases)", OB_MAX_VISITS);
    char sub[512];
    if (n->type == YAML_SCALAR_NODE &&
        strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
        return fail(c, i, path, "value contains a NUL character");
    if (n->type == YAML_MAPPING_NODE) {
        yaml_node_pair_t *p0 = n->data.mapping.pairs.start;
        size_t np = (size_t)(n->data.mapping.pairs.top - p0);
        for (size_t j = 0; j < np; j++) {
            yaml_node_pair_t *p = p0 + j;
            if (!IS_SCALAR(c, p->key))
                return fail(c, p->key, path, "keys must be names, not lists "
                            "or mappings");
            const char *k = S(c, p->key);
            if (path)
                snprintf(sub, sizeof sub, "%s.%s", path, k);
            else
                snprintf(sub, sizeof sub, "%s", k);
            for (size_t q = 0; q < j; q++) {
                yaml_node_pair_t *pq = p0 + q;
                if (IS_SCALAR(c, pq->key) && !strcmp(S(c, pq->key), k))
                    return fail(c, p->key, sub, "duplicate key (first at "
                                "line %d)", line_of(c, pq->key));
            }
            if (walk(c, p->value, sub, depth + 1)) return -1;
        }
    } else if (n->type == YAML_SEQUENCE_NODE) {
        size_t ni = (size_t)(n->data.sequence.items.top -
                             n->data.sequence.items.start);
        for (size_t j = 0; j < ni; j++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path ? path : "", j);
            if (walk(c, n->data.sequence.items.start[j], sub, depth + 1))
                return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* One entry. */

/* A whole string that strtod reads as a finite or infinite number. */
static int is_plain_number(const char *s, double *out)
{
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s) return 0;
    while (isspace((unsigned char)*end)) end++;
    if (*end) return 0;
    *out = v;
    return 1;
}

/* The lab's index by name; else -1 with a suggestion (or the list of
 * labs) written into hint. */
static int find_lab(const sc_scenario *s, const char *name, char *hint,
                    size_t nhint)
{
    int i = sc_lab_index(s, name);
    hint[0] = 0;
    if (i >= 0) return i;
    const char **names = s->nlabs ? malloc(s->nlabs * sizeof *names) : NULL;
    const char *best = NULL;
    if (names) {
        for (size_t j = 0; j < s->nlabs; j++) names[j] = s->labs[j].name;
        best = suggest(name, names, s->nlabs);
    }
    free(names);
    if (best) {
        snprintf(hint, nhint, "; did you mean %s?", best);
        return -1;
    }
    size_t used = (size_t)snprintf(hint, nhint, " (labs: ");
    for (size_t j = 0; j < s->nlabs && used < nhint; j++)
        used += (size_t)snprintf(hint + used, nhint - used, "%s%s",
                                 j ? ", " : "", s->labs[j].name);
    if (used < nhint) snprintf(hint + used, nhint - used, ")");
    return -1;
}

/* A figure: the value at node v (key node kn) of quantity q into o. */
static int parse_figure(ctx *c, int kn, int v, const char *key,
                        ob_quantity q, ob_obs *o)
{
    double x;
    if (IS_SCALAR(c, v) && is_plain_number(S(c, v), &x)) {
        if (x > 0)
            return fail(c, kn, key, "a figure is uncertain: give it as a "
                        "distribution, e.g. \"%.4g to %.4g\" (a lognormal 90%% "
                        "interval), not the plain number %s", 0.9 * x,
                        1.1 * x, S(c, v));
        return fail(c, kn, key, "a figure is uncertain: give it as a "
                    "distribution, e.g. \"a to b\" (a lognormal 90%% "
                    "interval) or {dist: normal, p5: a, p95: b}, not the "
                    "plain number %s", S(c, v));
    }
    int per_key;
    if (IS_MAP(c, v) && map_find(c, v, "per", &per_key))
        return fail(c, per_key, key, "per has no meaning for an observed "
                    "figure (it is one number, observed once)");
    rd_dist d;
    if (sc_parse_dist_node(&c->doc, kn, v, c->file, key, &d, c->err,
                           c->errlen))
        return -1;
    if (d.family == RD_CONST) /* a number the check above did not read */
        return fail(c, kn, key, "a figure is uncertain: give it as a "
                    "distribution such as \"a to b\", not a plain number");
    if (d.family != RD_NORMAL && d.family != RD_LOGNORMAL &&
        d.family != RD_UNIFORM && d.family != RD_TRIANGULAR &&
        d.family != RD_PERT)
        return fail(c, kn, key, "a figure may be \"a to b\" or a normal, "
                    "lognormal, uniform, triangular or pert distribution, "
                    "not %s (its density can have no finite maximum to "
                    "weigh paths by)", rd_family_name(d.family));

    double lo, hi;
    rd_support(&d, &lo, &hi);
    double p5 = rd_quantile(&d, 0.05), p95 = rd_quantile(&d, 0.95);
    if ((q == OB_REVENUE || q == OB_RAISED || q == OB_SIZE ||
         q == OB_SHARE) && !(lo >= 0))
        return fail(c, kn, key, "%s cannot be negative, but this %s "
                    "distribution ranges over [%.10g, %.10g]; use \"a to b\" "
                    "(a lognormal) or truncate it with min: 0",
                    quantity_names[q], rd_family_name(d.family), lo, hi);
    if (q == OB_SHARE && !(p95 <= 1))
        return fail(c, kn, key, "share is a fraction of the market in (0, "
                    "1), but this figure's 95th percentile is %.4g; write "
                    "fractions (0.2 to 0.3, not 20 to 30)", p95);
    if (q != OB_SHARE &&
        !(fabs(p5) <= OB_LIMIT_MONEY && fabs(p95) <= OB_LIMIT_MONEY))
        return fail(c, kn, key, "must be at most 1e12 (US$ billion), but "
                    "this figure's 90%% interval is [%.4g, %.4g]", p5, p95);
    o->dist = d;
    o->median = rd_quantile(&d, 0.5);
    o->p5 = p5;
    o->p95 = p95;
    return 0;
}

/* Entry idx (node e) into o. */
static int parse_entry(ctx *c, const sc_scenario *s, size_t idx, int e,
                       ob_obs *o)
{
    char pre[64], key[128];
    snprintf(pre, sizeof pre, "observations[%zu]", idx);
    o->line = line_of(c, e);
    o->lab = -1;
    o->segment = -1;
    o->status = OB_ALIVE;
    o->dist = rd_const(NAN);
    o->median = o->p5 = o->p95 = NAN;
    if (!IS_MAP(c, e))
        return fail(c, e, pre, "must be a mapping such as {lab: OpenAI, "
                    "year: %d, revenue: 20 to 30, source: \"...\"}",
                    s->base_year + 1);

    /* Known keys only; then exactly one quantity. */
    yaml_node_t *m = N(c, e);
    int qkey = 0, qval = 0;
    ob_quantity q = OB_REVENUE;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         p < m->data.mapping.pairs.top; p++) {
        const char *k = S(c, p->key); /* walk() made every key a scalar */
        size_t j = 0;
        while (j < NENTRY_KEYS && strcmp(k, entry_keys[j])) j++;
        snprintf(key, sizeof key, "%s.%s", pre, k);
        if (j == NENTRY_KEYS) {
            const char *best = suggest(k, entry_keys, NENTRY_KEYS);
            return fail(c, p->key, key, "unknown key%s%s%s (an observation "
                        "has lab or market, year, one quantity and source)",
                        best ? "; did you mean " : "", best ? best : "",
                        best ? "?" : "");
        }
    }

    int labk, mktk, yeark;
    int labv = map_find(c, e, "lab", &labk);
    int mktv = map_find(c, e, "market", &mktk);
    if (!labv && !mktv)
        return fail(c, e, pre, "needs lab: (a lab of the scenario) or "
                    "market: (sub, api or ent)");
    if (labv && mktv) {
        snprintf(key, sizeof key, "%s.market", pre);
        return fail(c, mktk, key, "give lab or market, not both");
    }
    char hint[512];
    if (labv) {
        snprintf(key, sizeof key, "%s.lab", pre);
        if (!IS_SCALAR(c, labv) || is_null(c, labv))
            return fail(c, labk, key, "must name a lab of the scenario");
        o->lab = find_lab(s, S(c, labv), hint, sizeof hint);
        if (o->lab < 0)
            return fail(c, labk, key, "unknown lab \"%s\"%s", S(c, labv),
                        hint);
    } else {
        snprintf(key, sizeof key, "%s.market", pre);
        if (IS_SCALAR(c, mktv))
            for (int j = 0; j < NSEGMENTS; j++)
                if (!strcmp(S(c, mktv), segment_names[j])) o->segment = j;
        if (o->segment < 0)
            return fail(c, mktk, key, "unknown segment%s%s%s; expected sub "
                        "(consumer subscriptions), api or ent (enterprise)",
                        IS_SCALAR(c, mktv) ? " \"" : "",
                        IS_SCALAR(c, mktv) ? S(c, mktv) : "",
                        IS_SCALAR(c, mktv) ? "\"" : "");
    }

    int yearv = map_find(c, e, "year", &yeark);
    snprintf(key, sizeof key, "%s.year", pre);
    if (!yearv) return fail(c, e, key, "required key is missing");
    {
        const char *ys = IS_SCALAR(c, yearv) ? S(c, yearv) : "";
        char *end;
        errno = 0;
        long y = strtol(ys, &end, 10);
        while (isspace((unsigned char)*end)) end++;
        if (!IS_SCALAR(c, yearv) || end == ys || *end || errno == ERANGE)
            return fail(c, yeark, key, "year must be an integer calendar "
                        "year (got \"%s\")", ys);
        long first = (long)s->base_year + 1;
        long last = (long)s->base_year + s->horizon;
        if (y < first || y > last)
            return fail(c, yeark, key, "year %ld is outside the run "
                        "%ld..%ld (base_year %d is the last year with "
                        "actual figures)", y, first, last, s->base_year);
        o->year = (int)y;
        o->t = (int)(y - s->base_year);
    }

    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         p < m->data.mapping.pairs.top; p++) {
        const char *k = S(c, p->key);
        int j = 0;
        while (j < OB_NQUANTITIES && strcmp(k, quantity_names[j])) j++;
        if (j == OB_NQUANTITIES) continue;
        snprintf(key, sizeof key, "%s.%s", pre, k);
        if (qkey)
            return fail(c, p->key, key, "one quantity per observation (this "
                        "one already has %s); write another observation",
                        quantity_names[q]);
        qkey = p->key;
        qval = p->value;
        q = (ob_quantity)j;
    }
    if (!qkey)
        return fail(c, e, pre, "needs one quantity: %s for a lab, size for "
                    "a market", LAB_QUANTITIES);
    o->q = q;
    snprintf(key, sizeof key, "%s.%s", pre, quantity_names[q]);
    if (o->lab < 0 && q != OB_SIZE)
        return fail(c, qkey, key, "a market's only quantity is size (the "
                    "segment's revenue, all providers); %s is a lab's",
                    quantity_names[q]);
    if (o->lab >= 0 && q == OB_SIZE)
        return fail(c, qkey, key, "size is a market's quantity (give market: "
                    "sub, api or ent); a lab has %s", LAB_QUANTITIES);

    if (q == OB_STATUS) {
        const char *st = IS_SCALAR(c, qval) ? S(c, qval) : "";
        int j = 0;
        while (j < OB_NSTATUSES && strcmp(st, status_names[j])) j++;
        if (j == OB_NSTATUSES) {
            const char *best = suggest(st, status_names, OB_NSTATUSES);
            return fail(c, qkey, key, "unknown status \"%s\"%s%s%s; expected "
                        STATUS_LIST, st, best ? " (did you mean " : "",
                        best ? best : "", best ? "?)" : "");
        }
        o->status = (ob_status)j;
    } else if (parse_figure(c, qkey, qval, key, q, o)) {
        return -1;
    }

    int srck;
    int srcv = map_find(c, e, "source", &srck);
    snprintf(key, sizeof key, "%s.source", pre);
    if (!srcv)
        return fail(c, e, key, "required key is missing: say where the "
                    "figure comes from (free text, kept with the results)");
    if (!IS_SCALAR(c, srcv))
        return fail(c, srck, key, "must be text, not a list or a mapping");
    const char *src = S(c, srcv);
    const char *t = src;
    while (isspace((unsigned char)*t)) t++;
    if (is_null(c, srcv) || !*t)
        return fail(c, srck, key, "must not be empty: say where the figure "
                    "comes from");

    char label[512];
    if (o->lab >= 0)
        snprintf(label, sizeof label, "%s %s %d", s->labs[o->lab].name,
                 quantity_names[q], o->year);
    else
        snprintf(label, sizeof label, "%s market size %d",
                 segment_names[o->segment], o->year);
    o->source = sdup(src);
    o->label = sdup(label);
    if (!o->source || !o->label) return fail_oom(c);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Entry points. */

void ob_free(ob_set *set)
{
    if (!set) return;
    for (size_t i = 0; set->obs && i < set->n; i++) {
        free(set->obs[i].source);
        free(set->obs[i].label);
    }
    free(set->obs);
    free(set->file);
    free(set->yaml_text);
    free(set);
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

static int too_large(ctx *c)
{
    return fail_raw(c, "%s: the file is larger than 1 MiB (%u bytes), the "
                    "most an observations file may hold (a few lines per "
                    "observed figure)", c->file, OB_MAX_FILE);
}

static int load(ctx *c, const sc_scenario *s, ob_set *set, const char *text,
                size_t len)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return fail_oom(c);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &c->doc)) {
        syntax_error(c, &parser, text, len); /* libyaml freed the doc */
        yaml_parser_delete(&parser);
        return -1;
    }
    c->have_doc = 1;
    if (!yaml_document_get_root_node(&c->doc)) {
        yaml_parser_delete(&parser);
        return fail_raw(c, "%s:1: the observations file is empty (expected "
                        "observations: and a list)", c->file);
    }
    yaml_document_t extra;
    if (!yaml_parser_load(&parser, &extra)) {
        syntax_error(c, &parser, text, len);
        yaml_parser_delete(&parser);
        return -1;
    }
    yaml_parser_delete(&parser);
    int xline = yaml_document_get_root_node(&extra)
                    ? (int)extra.start_mark.line + 1
                    : 0;
    yaml_document_delete(&extra);
    if (xline)
        return fail_raw(c, "%s:%d: only one YAML document is allowed",
                        c->file, xline);

    int root = 1; /* the first node of a loaded document is its root */
    if (!IS_MAP(c, root))
        return fail(c, root, NULL, "an observations file must be a mapping "
                    "with one key, observations:");
    if (walk(c, root, NULL, 0)) return -1;
    static const char *const root_keys[] = {"observations"};
    yaml_node_t *r = N(c, root);
    for (yaml_node_pair_t *p = r->data.mapping.pairs.start;
         p < r->data.mapping.pairs.top; p++) {
        const char *k = S(c, p->key);
        if (!strcmp(k, "observations")) continue;
        const char *best = suggest(k, root_keys, 1);
        return fail(c, p->key, k, "unknown key%s%s%s (an observations file "
                    "has one key, observations:)",
                    best ? "; did you mean " : "", best ? best : "",
                    best ? "?" : "");
    }
    int lk;
    int list = map_find(c, root, "observations", &lk);
    if (!list)
        return fail(c, root, "observations", "required key is missing");
    size_t n = IS_SEQ(c, list)
                   ? (size_t)(N(c, list)->data.sequence.items.top -
                              N(c, list)->data.sequence.items.start)
                   : 0;
    if (n == 0)
        return fail(c, lk, "observations", "must be a non-empty list, one "
                    "entry per observed figure: - {lab: ..., year: ..., "
                    "QUANTITY: ..., source: ...}");

    set->obs = calloc(n, sizeof *set->obs);
    if (!set->obs) return fail_oom(c);
    set->n = n;
    for (size_t i = 0; i < n; i++) {
        int e = N(c, list)->data.sequence.items.start[i];
        if (parse_entry(c, s, i, e, &set->obs[i])) return -1;
    }
    set->yaml_text = malloc(len + 1);
    if (!set->yaml_text) return fail_oom(c);
    memcpy(set->yaml_text, text, len);
    set->yaml_text[len] = 0;
    return 0;
}

int ob_load_text(ob_set **out, const char *text, size_t len,
                 const char *file, const sc_scenario *s, char *err,
                 size_t errlen)
{
    ctx c;
    memset(&c, 0, sizeof c);
    c.file = file ? file : "<observations>";
    c.err = err;
    c.errlen = errlen;
    if (err && errlen) err[0] = 0;
    if (out) *out = NULL;
    if (!out || !text) return fail_raw(&c, "%s: no observations given",
                                       c.file);
    if (!s) return fail_raw(&c, "%s: no scenario to check against", c.file);
    if (len > OB_MAX_FILE) return too_large(&c);

    ob_set *set = calloc(1, sizeof *set);
    if (!set || !(set->file = sdup(c.file))) {
        free(set);
        return fail_oom(&c);
    }
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = load(&c, s, set, text, len);
    gsl_set_error_handler(old);
    if (c.have_doc) yaml_document_delete(&c.doc);
    if (rc) {
        ob_free(set);
        return -1;
    }
    *out = set;
    return 0;
}

int ob_load(ob_set **out, const char *path, const sc_scenario *s,
            char *err, size_t errlen)
{
    ctx c;
    memset(&c, 0, sizeof c);
    c.file = path ? path : "<observations>";
    c.err = err;
    c.errlen = errlen;
    if (out) *out = NULL;
    if (!path) return fail_raw(&c, "no observations file given");
    FILE *f = fopen(path, "rb");
    if (!f) return fail_raw(&c, "%s: cannot open: %s", path, strerror(errno));
    /* Read at most one byte past the cap: enough to know it is too big. */
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap > OB_MAX_FILE) break;
            size_t ncap = cap ? 2 * cap : 65536;
            if (ncap > (size_t)OB_MAX_FILE + 1) ncap = (size_t)OB_MAX_FILE + 1;
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
    if (len > OB_MAX_FILE) {
        free(buf);
        return too_large(&c);
    }
    int rc = ob_load_text(out, buf ? buf : "", len, path, s, err, errlen);
    free(buf);
    return rc;
}
