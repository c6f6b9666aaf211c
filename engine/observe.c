/* observe: reads an observations file (MODEL.md section 8) and checks it
 * against a scenario (see observe.h).
 *
 * How it works. libyaml's document API loads the whole file into a node
 * tree, read with the scenario loader's helpers (yamltree.c, prefix yt_:
 * lookups, one-line errors, syntax errors, suggestions); the tree is
 * walked once for duplicate keys (libyaml accepts them) and then entry by
 * entry, each rule in a fixed order, so a file with several mistakes
 * always reports the same first one. A figure's value is
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <yaml.h>

#include "engine/scenario_internal.h"

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
/* Unknown keys. */

/* Every key of map must be one of keys[] (yt_walk_dups made them all
 * scalars); an unknown one is named pre.KEY (KEY when pre is NULL), with
 * the closest known key, ignoring case, and what such a mapping has.
 * (yt_check_keys puts its note before the suggestion and compares case.) */
static int check_keys(yt_ctx *c, int map, const char *pre,
                      const char *const *keys, size_t n, const char *has)
{
    yaml_node_t *m = yt_node(c, map);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         p < m->data.mapping.pairs.top; p++) {
        const char *k = yt_str(c, p->key);
        size_t j = 0;
        while (j < n && strcmp(k, keys[j])) j++;
        if (j < n) continue;
        char key[128];
        if (pre) snprintf(key, sizeof key, "%s.%s", pre, k);
        const char *best = yt_suggest_nocase(k, keys, n);
        return yt_fail(c, p->key, pre ? key : k, "unknown key%s%s%s (%s)",
                       best ? "; did you mean " : "", best ? best : "",
                       best ? "?" : "", has);
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
        best = yt_suggest_nocase(name, names, s->nlabs);
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
static int parse_figure(yt_ctx *c, int kn, int v, const char *key,
                        ob_quantity q, ob_obs *o)
{
    double x;
    if (YT_IS_SCALAR(c, v) && is_plain_number(yt_str(c, v), &x)) {
        if (x > 0)
            return yt_fail(c, kn, key, "a figure is uncertain: give it as "
                           "a distribution, e.g. \"%.4g to %.4g\" (a "
                           "lognormal 90%% interval), not the plain number "
                           "%s", 0.9 * x, 1.1 * x, yt_str(c, v));
        return yt_fail(c, kn, key, "a figure is uncertain: give it as a "
                       "distribution, e.g. \"a to b\" (a lognormal 90%% "
                       "interval) or {dist: normal, p5: a, p95: b}, not the "
                       "plain number %s", yt_str(c, v));
    }
    int per_key;
    if (YT_IS_MAP(c, v) && yt_map_find(c, v, "per", &per_key))
        return yt_fail(c, per_key, key, "per has no meaning for an observed "
                       "figure (it is one number, observed once)");
    rd_dist d;
    if (sc_parse_dist_node(&c->doc, kn, v, c->file, key, &d, c->err,
                           c->errlen))
        return -1;
    if (d.family == RD_CONST) /* a number the check above did not read */
        return yt_fail(c, kn, key, "a figure is uncertain: give it as a "
                       "distribution such as \"a to b\", not a plain number");
    if (d.family != RD_NORMAL && d.family != RD_LOGNORMAL &&
        d.family != RD_UNIFORM && d.family != RD_TRIANGULAR &&
        d.family != RD_PERT)
        return yt_fail(c, kn, key, "a figure may be \"a to b\" or a normal, "
                       "lognormal, uniform, triangular or pert distribution, "
                       "not %s (its density can have no finite maximum to "
                       "weigh paths by)", rd_family_name(d.family));

    double lo, hi;
    rd_support(&d, &lo, &hi);
    double p5 = rd_quantile(&d, 0.05), p95 = rd_quantile(&d, 0.95);
    if ((q == OB_REVENUE || q == OB_RAISED || q == OB_SIZE ||
         q == OB_SHARE) && !(lo >= 0))
        return yt_fail(c, kn, key, "%s cannot be negative, but this %s "
                       "distribution ranges over [%.10g, %.10g]; use \"a to "
                       "b\" (a lognormal) or truncate it with min: 0",
                       quantity_names[q], rd_family_name(d.family), lo, hi);
    if (q == OB_SHARE && !(p95 <= 1))
        return yt_fail(c, kn, key, "share is a fraction of the market in (0, "
                       "1), but this figure's 95th percentile is %.4g; write "
                       "fractions (0.2 to 0.3, not 20 to 30)", p95);
    if (q != OB_SHARE &&
        !(fabs(p5) <= OB_LIMIT_MONEY && fabs(p95) <= OB_LIMIT_MONEY))
        return yt_fail(c, kn, key, "must be at most 1e12 (US$ billion), but "
                       "this figure's 90%% interval is [%.4g, %.4g]", p5, p95);
    o->dist = d;
    o->median = rd_quantile(&d, 0.5);
    o->p5 = p5;
    o->p95 = p95;
    return 0;
}

/* Entry idx (node e) into o. */
static int parse_entry(yt_ctx *c, const sc_scenario *s, size_t idx, int e,
                       ob_obs *o)
{
    char pre[64], key[128];
    snprintf(pre, sizeof pre, "observations[%zu]", idx);
    o->line = yt_line_of(c, e);
    o->lab = -1;
    o->segment = -1;
    o->status = OB_ALIVE;
    o->dist = rd_const(NAN);
    o->median = o->p5 = o->p95 = NAN;
    if (!YT_IS_MAP(c, e))
        return yt_fail(c, e, pre, "must be a mapping such as {lab: OpenAI, "
                       "year: %d, revenue: 20 to 30, source: \"...\"}",
                       s->base_year + 1);

    /* Known keys only; then exactly one quantity. */
    if (check_keys(c, e, pre, entry_keys, NENTRY_KEYS, "an observation has "
                   "lab or market, year, one quantity and source"))
        return -1;
    yaml_node_t *m = yt_node(c, e);
    int qkey = 0, qval = 0;
    ob_quantity q = OB_REVENUE;

    int labk, mktk, yeark;
    int labv = yt_map_find(c, e, "lab", &labk);
    int mktv = yt_map_find(c, e, "market", &mktk);
    if (!labv && !mktv)
        return yt_fail(c, e, pre, "needs lab: (a lab of the scenario) or "
                       "market: (sub, api or ent)");
    if (labv && mktv) {
        snprintf(key, sizeof key, "%s.market", pre);
        return yt_fail(c, mktk, key, "give lab or market, not both");
    }
    char hint[512];
    if (labv) {
        snprintf(key, sizeof key, "%s.lab", pre);
        if (!YT_IS_SCALAR(c, labv) || yt_is_null(c, labv))
            return yt_fail(c, labk, key, "must name a lab of the scenario");
        o->lab = find_lab(s, yt_str(c, labv), hint, sizeof hint);
        if (o->lab < 0)
            return yt_fail(c, labk, key, "unknown lab \"%s\"%s",
                           yt_str(c, labv), hint);
    } else {
        snprintf(key, sizeof key, "%s.market", pre);
        if (YT_IS_SCALAR(c, mktv))
            for (int j = 0; j < NSEGMENTS; j++)
                if (!strcmp(yt_str(c, mktv), segment_names[j])) o->segment = j;
        if (o->segment < 0)
            return yt_fail(c, mktk, key, "unknown segment%s%s%s; expected sub "
                           "(consumer subscriptions), api or ent (enterprise)",
                           YT_IS_SCALAR(c, mktv) ? " \"" : "",
                           YT_IS_SCALAR(c, mktv) ? yt_str(c, mktv) : "",
                           YT_IS_SCALAR(c, mktv) ? "\"" : "");
    }

    int yearv = yt_map_find(c, e, "year", &yeark);
    snprintf(key, sizeof key, "%s.year", pre);
    if (!yearv) return yt_fail(c, e, key, "required key is missing");
    {
        const char *ys = YT_IS_SCALAR(c, yearv) ? yt_str(c, yearv) : "";
        char *end;
        errno = 0;
        long y = strtol(ys, &end, 10);
        while (isspace((unsigned char)*end)) end++;
        if (!YT_IS_SCALAR(c, yearv) || end == ys || *end || errno == ERANGE)
            return yt_fail(c, yeark, key, "year must be an integer calendar "
                           "year (got \"%s\")", ys);
        long first = (long)s->base_year + 1;
        long last = (long)s->base_year + s->horizon;
        if (y < first || y > last)
            return yt_fail(c, yeark, key, "year %ld is outside the run "
                           "%ld..%ld (base_year %d is the last year with "
                           "actual figures)", y, first, last, s->base_year);
        o->year = (int)y;
        o->t = (int)(y - s->base_year);
    }

    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         p < m->data.mapping.pairs.top; p++) {
        const char *k = yt_str(c, p->key);
        int j = 0;
        while (j < OB_NQUANTITIES && strcmp(k, quantity_names[j])) j++;
        if (j == OB_NQUANTITIES) continue;
        snprintf(key, sizeof key, "%s.%s", pre, k);
        if (qkey)
            return yt_fail(c, p->key, key, "one quantity per observation (this "
                           "one already has %s); write another observation",
                           quantity_names[q]);
        qkey = p->key;
        qval = p->value;
        q = (ob_quantity)j;
    }
    if (!qkey)
        return yt_fail(c, e, pre, "needs one quantity: %s for a lab, size for "
                       "a market", LAB_QUANTITIES);
    o->q = q;
    snprintf(key, sizeof key, "%s.%s", pre, quantity_names[q]);
    if (o->lab < 0 && q != OB_SIZE)
        return yt_fail(c, qkey, key, "a market's only quantity is size (the "
                       "segment's revenue, all providers); %s is a lab's",
                       quantity_names[q]);
    if (o->lab >= 0 && q == OB_SIZE)
        return yt_fail(c, qkey, key, "size is a market's quantity (give "
                       "market: sub, api or ent); a lab has %s",
                       LAB_QUANTITIES);

    if (q == OB_STATUS) {
        const char *st = YT_IS_SCALAR(c, qval) ? yt_str(c, qval) : "";
        int j = 0;
        while (j < OB_NSTATUSES && strcmp(st, status_names[j])) j++;
        if (j == OB_NSTATUSES) {
            const char *best =
                yt_suggest_nocase(st, status_names, OB_NSTATUSES);
            return yt_fail(c, qkey, key, "unknown status \"%s\"%s%s%s; "
                           "expected " STATUS_LIST, st,
                           best ? " (did you mean " : "",
                           best ? best : "", best ? "?)" : "");
        }
        o->status = (ob_status)j;
    } else if (parse_figure(c, qkey, qval, key, q, o)) {
        return -1;
    }

    int srck;
    int srcv = yt_map_find(c, e, "source", &srck);
    snprintf(key, sizeof key, "%s.source", pre);
    if (!srcv)
        return yt_fail(c, e, key, "required key is missing: say where the "
                       "figure comes from (free text, kept with the results)");
    if (!YT_IS_SCALAR(c, srcv))
        return yt_fail(c, srck, key, "must be text, not a list or a mapping");
    const char *src = yt_str(c, srcv);
    const char *t = src;
    while (isspace((unsigned char)*t)) t++;
    if (yt_is_null(c, srcv) || !*t)
        return yt_fail(c, srck, key, "must not be empty: say where the figure "
                       "comes from");

    char label[512];
    if (o->lab >= 0)
        snprintf(label, sizeof label, "%s %s %d", s->labs[o->lab].name,
                 quantity_names[q], o->year);
    else
        snprintf(label, sizeof label, "%s market size %d",
                 segment_names[o->segment], o->year);
    o->source = yt_strdup(src);
    o->label = yt_strdup(label);
    if (!o->source || !o->label) return yt_fail_oom(c);
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

static int too_large(yt_ctx *c)
{
    return yt_fail_raw(c, "%s: the file is larger than 1 MiB (%u bytes), the "
                       "most an observations file may hold (a few lines per "
                       "observed figure)", c->file, OB_MAX_FILE);
}

static int load(yt_ctx *c, const sc_scenario *s, ob_set *set, const char *text,
                size_t len)
{
    yt_load_err le;
    if (yt_load(&c->doc, text, len, &le) != 0) {
        if (!le.line) return yt_fail_raw(c, "%s: %s", c->file, le.msg);
        return yt_fail_raw(c, "%s:%d: %s", c->file, le.line, le.msg);
    }
    c->have_doc = 1;
    if (!yaml_document_get_root_node(&c->doc))
        return yt_fail_raw(c, "%s:1: the observations file is empty (expected "
                           "observations: and a list)", c->file);

    int root = 1; /* the first node of a loaded document is its root */
    if (!YT_IS_MAP(c, root))
        return yt_fail(c, root, NULL, "an observations file must be a mapping "
                       "with one key, observations:");
    if (yt_walk_dups(c, root, NULL, 0)) return -1;
    static const char *const root_keys[] = {"observations"};
    if (check_keys(c, root, NULL, root_keys, 1,
                   "an observations file has one key, observations:"))
        return -1;
    int lk;
    int list = yt_map_find(c, root, "observations", &lk);
    if (!list)
        return yt_fail(c, root, "observations", "required key is missing");
    size_t n = YT_IS_SEQ(c, list)
                   ? (size_t)(yt_node(c, list)->data.sequence.items.top -
                              yt_node(c, list)->data.sequence.items.start)
                   : 0;
    if (n == 0)
        return yt_fail(c, lk, "observations", "must be a non-empty list, one "
                       "entry per observed figure: - {lab: ..., year: ..., "
                       "QUANTITY: ..., source: ...}");

    set->obs = calloc(n, sizeof *set->obs);
    if (!set->obs) return yt_fail_oom(c);
    set->n = n;
    for (size_t i = 0; i < n; i++) {
        int e = yt_node(c, list)->data.sequence.items.start[i];
        if (parse_entry(c, s, i, e, &set->obs[i])) return -1;
    }
    set->yaml_text = malloc(len + 1);
    if (!set->yaml_text) return yt_fail_oom(c);
    memcpy(set->yaml_text, text, len);
    set->yaml_text[len] = 0;
    return 0;
}

int ob_load_text(ob_set **out, const char *text, size_t len,
                 const char *file, const sc_scenario *s, char *err,
                 size_t errlen)
{
    yt_ctx c;
    memset(&c, 0, sizeof c);
    c.file = file ? file : "<observations>";
    c.err = err;
    c.errlen = errlen;
    c.plain_paths = 1; /* a key labs: here is no scenario section */
    if (err && errlen) err[0] = 0;
    if (out) *out = NULL;
    if (!out || !text) return yt_fail_raw(&c, "%s: no observations given",
                                          c.file);
    if (!s) return yt_fail_raw(&c, "%s: no scenario to check against", c.file);
    if (len > OB_MAX_FILE) return too_large(&c);

    ob_set *set = calloc(1, sizeof *set);
    if (!set || !(set->file = yt_strdup(c.file))) {
        free(set);
        return yt_fail_oom(&c);
    }
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = load(&c, s, set, text, len);
    gsl_set_error_handler(old);
    yt_ctx_free(&c);
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
    yt_ctx c;
    memset(&c, 0, sizeof c);
    c.file = path ? path : "<observations>";
    c.err = err;
    c.errlen = errlen;
    if (out) *out = NULL;
    if (!path) return yt_fail_raw(&c, "no observations file given");
    FILE *f = fopen(path, "rb");
    if (!f)
        return yt_fail_raw(&c, "%s: cannot open: %s", path, strerror(errno));
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
    if (len > OB_MAX_FILE) {
        free(buf);
        return too_large(&c);
    }
    int rc = ob_load_text(out, buf ? buf : "", len, path, s, err, errlen);
    free(buf);
    return rc;
}
