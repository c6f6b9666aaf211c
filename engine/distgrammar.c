/* distgrammar: one value of MODEL.md section 4 (a number, "a to b", or a
 * mapping with dist:), read from the YAML tree into a prepared rd_dist,
 * and the checks of its support against an input's domain and magnitude
 * limit (see scenario_internal.h). */
#include "engine/scenario_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

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
static int param(yt_ctx *c, int map, const char *pk, const char *name,
                 double *v, int *has)
{
    int kn;
    int vn = yt_map_find(c, map, pk, &kn);
    *has = vn != 0;
    if (!vn) return 0;
    return yt_num_node(c, vn, name, pk, v);
}

/* A required one. at locates "missing parameter". */
static int need(yt_ctx *c, int at, int map, const char *pk, const char *name,
                double *v)
{
    int has;
    if (param(c, map, pk, name, v, &has)) return -1;
    if (!has)
        return yt_fail(c, at, name, "missing parameter %s", pk);
    return 0;
}

/* The node of parameter pk (for locating an error on it). */
static int param_node(yt_ctx *c, int map, const char *pk)
{
    return yt_map_find(c, map, pk, NULL);
}

/* A mapping with dist: into *out (not yet prepared). at locates errors
 * about the whole value. */
static int parse_dist_map(yt_ctx *c, int at, int map, const char *name,
                          int allow_year, rd_dist *out)
{
    int dv = yt_map_find(c, map, "dist", NULL);
    if (!dv)
        return yt_fail(c, at, name, "a distribution needs dist: (normal, "
                    "lognormal, uniform, triangular, pert, beta or gamma)");
    if (!YT_IS_SCALAR(c, dv) || yt_is_null(c, dv))
        return yt_fail(c, dv, name, "dist must name a family (normal, "
                    "lognormal, uniform, triangular, pert, beta or gamma)");
    const char *fam = yt_str(c, dv);
    size_t f = 0;
    while (f < NFAMILIES && strcmp(fam, family_names[f])) f++;
    if (f == NFAMILIES) {
        const char *best = yt_suggest(fam, family_names, NFAMILIES);
        return yt_fail(c, dv, name, "unknown distribution \"%s\"%s%s%s; "
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
    if (yt_check_keys(c, map, name, keys, nkeys, NULL, what)) return -1;

    int per_year = 0;
    int pv = yt_map_find(c, map, "per", NULL);
    if (pv) {
        if (YT_IS_SCALAR(c, pv) && !strcmp(yt_str(c, pv), "year"))
            per_year = 1;
        else if (!(YT_IS_SCALAR(c, pv) && !strcmp(yt_str(c, pv), "path")))
            return yt_fail(c, pv, name, "per must be year or path");
        if (per_year && !allow_year)
            return yt_fail(c, pv, name, "per: year is not allowed here; only "
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
            return yt_fail(c, param_node(c, map, "min"), name,
                        "min must be < max (got %g and %g)", a, b);
        if (id == RD_UNIFORM)
            d = rd_uniform(a, b);
        else {
            if (!(m >= a && m <= b))
                return yt_fail(c, param_node(c, map, "mode"), name,
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
        return yt_fail(c, param_node(c, map, "min"), name,
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
            return yt_fail(c, at, name, "give either %s and %s, or p5 and p95, "
                        "not both", k1, k2);
        if (h5 || h95) {
            if (!h5) return yt_fail(c, at, name, "missing parameter p5");
            if (!h95) return yt_fail(c, at, name, "missing parameter p95");
            if (id == RD_LOGNORMAL && !(p5 > 0))
                return yt_fail(c, param_node(c, map, "p5"), name,
                            "p5 must be > 0 for a lognormal (got %g)", p5);
            if (!(p5 < p95))
                return yt_fail(c, param_node(c, map, "p5"), name,
                            "p5 must be < p95 (got %g and %g)", p5, p95);
            d = id == RD_NORMAL ? rd_normal_p5p95(p5, p95)
                                : rd_lognormal_p5p95(p5, p95);
        } else {
            if (!h1 && !h2)
                return yt_fail(c, at, name, "missing parameters: %s and %s, or "
                            "p5 and p95", k1, k2);
            if (!h1) return yt_fail(c, at, name, "missing parameter %s", k1);
            if (!h2) return yt_fail(c, at, name, "missing parameter %s", k2);
            if (!(v2 > 0))
                return yt_fail(c, param_node(c, map, k2), name,
                            "%s must be > 0 (got %g)", k2, v2);
            d = id == RD_NORMAL ? rd_normal(v1, v2) : rd_lognormal(v1, v2);
        }
    } else if (id == RD_BETA) {
        if (need(c, at, map, "a", name, &a) || need(c, at, map, "b", name, &b))
            return -1;
        if (!(a > 0))
            return yt_fail(c, param_node(c, map, "a"), name,
                        "a must be > 0 (got %g)", a);
        if (!(b > 0))
            return yt_fail(c, param_node(c, map, "b"), name,
                        "b must be > 0 (got %g)", b);
        /* min/max scale the support; they do not truncate. */
        d = rd_beta(a, b, has_lo ? lo : 0.0, has_hi ? hi : 1.0);
        if (!(d.lo < d.hi))
            return yt_fail(c, at, name, "min must be < max (got %g and %g)",
                        d.lo, d.hi);
        d.per_year = per_year;
        *out = d;
        return 0;
    } else { /* gamma */
        if (need(c, at, map, "shape", name, &a) ||
            need(c, at, map, "scale", name, &b))
            return -1;
        if (!(a > 0))
            return yt_fail(c, param_node(c, map, "shape"), name,
                        "shape must be > 0 (got %g)", a);
        if (!(b > 0))
            return yt_fail(c, param_node(c, map, "scale"), name,
                        "scale must be > 0 (got %g)", b);
        d = rd_gamma(a, b);
    }
    d.tmin = lo;
    d.tmax = hi;
    d.per_year = per_year;
    *out = d;
    return 0;
}

/* Whether s reads "A - B" (or "A-B", or with an en dash): two numbers
 * joined by a dash, the way a range is often written. It is never
 * accepted as one: a minus sign is also a number's sign ("-1 - 2",
 * "1 - -2", "1e-3"), so reading a dash as "to" would quietly turn a typo
 * or a subtraction into a distribution. It is only recognised, to
 * suggest "A to B". On a match a and b (at most n bytes each) get the
 * two numbers' text. */
static int dash_range(const char *s, char *a, char *b, size_t n)
{
    char *end;
    while (*s == ' ') s++;
    strtod(s, &end);
    if (end == s || (size_t)(end - s) >= n) return 0;
    memcpy(a, s, (size_t)(end - s));
    a[end - s] = 0;
    const char *p = end;
    while (*p == ' ') p++;
    if (*p == '-') p++;
    else if (!strncmp(p, "\xe2\x80\x93", 3)) p += 3; /* an en dash */
    else return 0;
    while (*p == ' ') p++;
    double y;
    if (*p == '-' || *p == '+' || yt_parse_num(p, &y) != 0 || strlen(p) >= n) return 0;
    snprintf(b, n, "%s", p);
    return 1;
}

/* Any value (number, "a to b", mapping) into a prepared *out.
 * keynode/value: the pair's nodes; name: the full input name. */
int dg_parse_value(yt_ctx *c, int keynode, int value, const char *name,
                       int allow_year, rd_dist *out)
{
    int at = yt_value_loc(c, keynode, value);
    yaml_node_t *n = yt_node(c, value);
    rd_dist d;
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = yt_str(c, value);
        double x, y;
        if (yt_is_null(c, value)) return yt_fail(c, at, name, "value is missing");
        int r = yt_parse_num(s, &x);
        if (r == 2) return yt_fail(c, at, name, "value %s is not finite", s);
        if (r == 0) {
            d = rd_const(x);
        } else {
            /* "a to b": a lognormal with 5th percentile a, 95th b. */
            const char *to = strstr(s, " to ");
            char left[128];
            size_t nl = to ? (size_t)(to - s) : 0;
            char ra_[64], rb_[64];
            if (!to && dash_range(s, ra_, rb_, sizeof ra_))
                return yt_fail(c, at, name, "value \"%s\" is not a number or a "
                            "distribution; for a range write \"%s to %s\" (a "
                            "lognormal with 5th percentile %s and 95th %s)", s, ra_,
                            rb_, ra_, rb_);
            if (!to || nl >= sizeof left)
                return yt_fail(c, at, name, "value \"%s\" is not a number or a "
                            "distribution", s);
            memcpy(left, s, nl);
            left[nl] = 0;
            int ra = yt_parse_num(left, &x), rb = yt_parse_num(to + 4, &y);
            if (ra == 2 || rb == 2)
                return yt_fail(c, at, name, "value \"%s\" is not finite", s);
            if (ra || rb)
                return yt_fail(c, at, name, "value \"%s\" is not a number or a "
                            "distribution", s);
            if (!(x > 0 && y > 0))
                return yt_fail(c, at, name, "in \"a to b\" (a lognormal 90%% "
                            "interval) a and b must be > 0 (got \"%s\")", s);
            if (!(x < y))
                return yt_fail(c, at, name, "in \"a to b\" a must be < b "
                            "(got \"%s\")", s);
            d = rd_lognormal_p5p95(x, y);
        }
    } else if (n->type == YAML_MAPPING_NODE) {
        if (parse_dist_map(c, at, value, name, allow_year, &d)) return -1;
    } else {
        return yt_fail(c, at, name, "must be a number, \"a to b\" or a mapping "
                    "with dist:, not a list");
    }
    char rule[256];
    rule[0] = 0;
    if (rd_prepare(&d, rule, sizeof rule) != 0)
        return yt_fail(c, at, name, "%s", rule[0] ? rule : "not a proper "
                    "distribution");
    *out = d;
    return 0;
}

/* The input's support must lie in its domain (MODEL.md section 1). For a
 * continuous distribution a bound that only touches the open end (a
 * lower bound of exactly 0 for "> 0") is accepted: it is reached with
 * probability 0. max_dilution's upper end is the exception: 1 is refused
 * even as a bound, because the inverse CDF can round to exactly 1. */
int dg_check_domain(yt_ctx *c, int at, const char *name, const rd_dist *d,
                        dg_domain dom)
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
        if (isc) return yt_fail(c, at, name, "%s (got %.10g)", rule, lo);
        return yt_fail(c, at, name, "%s, but this %s distribution ranges over "
                    "[%.10g, %.10g]%s", rule, rd_family_name(d->family), lo,
                    hi, can_truncate ? "; truncate it with min:/max:" : "");
    }
    return 0;
}

/* Every value the input can draw must lie within its limits (see
 * SC_LIMIT_MONEY). Run after check_domain, so the sign is already right
 * except for inputs whose domain is any real number. */
int dg_check_limit(yt_ctx *c, int at, const char *name, const rd_dist *d,
                       dg_limit kind, dg_domain dom)
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
        return yt_fail(c, at, name, "%s (got %.10g)", rule, d->a);
    }
    double lo = rd_quantile(d, SC_U_LOWEST), hi = rd_quantile(d, SC_U_HIGHEST);
    int high = !(hi <= lim_hi);
    if (!high && lo >= lim_lo) return 0;
    int can_truncate = d->family == RD_NORMAL || d->family == RD_LOGNORMAL ||
                       d->family == RD_GAMMA;
    return yt_fail(c, at, name, "%s, but this %s distribution can draw %.4g%s",
                rule, rd_family_name(d->family), high ? hi : lo,
                can_truncate ? (high ? "; truncate it with max:"
                                     : "; truncate it with min:")
                             : "");
}

/* ------------------------------------------------------------------ */
/* The value grammar for other modules (see scenario.h). */

int sc_parse_dist_node(struct yaml_document_s *doc, int keynode, int value,
                       const char *file, const char *name, rd_dist *out,
                       char *err, size_t errlen)
{
    yt_ctx c;
    memset(&c, 0, sizeof c);
    c.file = file ? file : "<input>";
    c.err = err;
    c.errlen = errlen;
    if (!doc || !out)
        return yt_fail_raw(&c, "%s: %s: no value given", c.file,
                        name ? name : "value");
    /* A shallow copy: the nodes stay the caller's, and nothing here adds
     * or frees one (have_doc stays 0). */
    c.doc = *doc;
    if (!yt_node(&c, value))
        return yt_fail_raw(&c, "%s: %s: no value given", c.file,
                        name ? name : "value");
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = dg_parse_value(&c, keynode, value, name ? name : "value", 0, out);
    gsl_set_error_handler(old);
    return rc;
}
