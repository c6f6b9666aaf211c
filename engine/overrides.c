/* overrides: --set NAME=VALUE, --paths and --seed applied to the YAML tree
 * before any rule is checked (see scenario_internal.h). Each override's
 * value is parsed as a YAML snippet, copied into the document and hung in
 * place of the node it replaces; the nodes it added are remembered as a
 * range, so that an error at one of them is reported as "--set NAME: ..."
 * instead of "FILE:LINE: ...". */
#include "engine/scenario_internal.h"

/* The longest --set value, in bytes (a distribution is a line). */
#define OV_MAX_VALUE 65536

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Starts an override's node range; label/samekey are copied. */
static ovr_range *ovr_begin(yt_ctx *c, const char *label, const char *samekey)
{
    ovr_range *r = realloc(c->ovr, (c->novr + 1) * sizeof *r);
    if (!r) return NULL;
    c->ovr = r;
    r = &c->ovr[c->novr];
    r->first = yt_node_count(c) + 1;
    r->last = yt_node_count(c); /* empty until ovr_end */
    r->label = yt_strdup(label);
    r->samekey = yt_strdup(samekey);
    if (!r->label || !r->samekey) {
        free(r->label);
        free(r->samekey);
        return NULL;
    }
    c->novr++;
    return r;
}

static void ovr_end(yt_ctx *c)
{
    c->ovr[c->novr - 1].last = yt_node_count(c);
}

/* Sets map[key] = value (both node indices; value already in the doc).
 * Replaces an existing pair's value, or appends a new pair. */
static int set_pair(yt_ctx *c, int map, const char *key, int value)
{
    yaml_node_t *m = yt_node(c, map);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         p < m->data.mapping.pairs.top; p++) {
        if (YT_IS_SCALAR(c, p->key) && !strcmp(yt_str(c, p->key), key)) {
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
static int child_map(yt_ctx *c, int map, const char *key)
{
    int v = yt_map_find(c, map, key, NULL);
    if (v) return YT_IS_MAP(c, v) ? v : 0;
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
static int find_lab(yt_ctx *c, int root, const char *name, size_t len)
{
    int labs = yt_map_find(c, root, "labs", NULL);
    if (!YT_IS_SEQ(c, labs)) return 0;
    yaml_node_t *l = yt_node(c, labs);
    for (yaml_node_item_t *it = l->data.sequence.items.start;
         it < l->data.sequence.items.top; it++) {
        int nm = yt_map_find(c, *it, "name", NULL);
        if (nm && YT_IS_SCALAR(c, nm) && strlen(yt_str(c, nm)) == len &&
            !strncmp(yt_str(c, nm), name, len))
            return *it;
    }
    return 0;
}

/* The names of the labs, for "unknown lab" messages. */
static void lab_list(yt_ctx *c, int root, char *buf, size_t n)
{
    int labs = yt_map_find(c, root, "labs", NULL);
    buf[0] = 0;
    if (!YT_IS_SEQ(c, labs)) return;
    yaml_node_t *l = yt_node(c, labs);
    size_t used = 0;
    for (yaml_node_item_t *it = l->data.sequence.items.start;
         it < l->data.sequence.items.top && used + 1 < n; it++) {
        int nm = yt_map_find(c, *it, "name", NULL);
        if (!nm || !YT_IS_SCALAR(c, nm)) continue;
        int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "",
                         yt_str(c, nm));
        if (w < 0) break;
        used += (size_t)w;
    }
}

/* One --set NAME=VALUE. */
static int apply_set(yt_ctx *c, int root, const sc_override *o)
{
    const char *name = o->name ? o->name : "";
    const char *value = o->value ? o->value : "";
    if (!*name)
        return yt_fail_raw(c, "--set: the name is empty (expected market.KEY, "
                        "LAB.KEY or defaults.KEY)");
    const char *dot = strchr(name, '.');
    if (!dot || dot == name || !dot[1])
        return yt_fail_raw(c, "--set %s: the name must be market.KEY, LAB.KEY "
                        "or defaults.KEY", name);
    size_t plen = (size_t)(dot - name);
    const char *key = dot + 1;
    int is_market = plen == 6 && !strncmp(name, "market", 6);
    int is_dflt = plen == 8 && !strncmp(name, "defaults", 8);
    int lab = 0;

    if (is_market) {
        if (!is_market_key(key)) {
            const char *best = yt_suggest(key, sc_market_keys, SC_MARKET_NKEYS);
            return yt_fail_raw(c, "--set %s: unknown key \"%s\" of the market%s"
                            "%s%s", name, key, best ? "; did you mean " : "",
                            best ? best : "", best ? "?" : "");
        }
    } else {
        if (!strcmp(key, "name"))
            return yt_fail_raw(c, "--set %s: a lab's name cannot be set",
                            name);
        if (!is_lab_key(key)) {
            const char *best = yt_suggest(key, sc_lab_keys, SC_LAB_NKEYS);
            return yt_fail_raw(c, "--set %s: unknown key \"%s\" of a lab%s%s%s",
                            name, key, best ? "; did you mean " : "",
                            best ? best : "", best ? "?" : "");
        }
        if (!is_dflt) {
            lab = find_lab(c, root, name, plen);
            if (!lab) {
                char labs[400];
                lab_list(c, root, labs, sizeof labs);
                return yt_fail_raw(c, "--set %s: unknown lab \"%.*s\" (labs: "
                                "%s)", name, (int)plen, name,
                                labs[0] ? labs : "none");
            }
        }
    }

    /* The value, as a YAML snippet. */
    yaml_document_t snip;
    size_t vlen = strlen(value);
    if (vlen > OV_MAX_VALUE)
        return yt_fail_raw(c, "--set %s: value longer than %d bytes", name, OV_MAX_VALUE);
    yt_load_err le;
    if (yt_load(&snip, value, vlen, &le) != 0) {
        if (le.oom) return yt_fail_raw(c, "--set %s: %s", name, le.msg);
        return yt_fail_raw(c, "--set %s: value \"%.200s\" is not valid YAML: %s", name, value,
                           le.msg);
    }
    if (!yaml_document_get_root_node(&snip)) {
        yaml_document_delete(&snip);
        return yt_fail_raw(c, "--set %s: value is empty", name);
    }

    char label[600];
    snprintf(label, sizeof label, "--set %s", name);
    if (!ovr_begin(c, label, name)) {
        yaml_document_delete(&snip);
        return yt_fail_oom(c);
    }
    long budget = YT_MAX_VISITS;
    int why = 0;
    int v = yt_copy_node(&c->doc, &snip, 1, 0, &budget, &why);
    yaml_document_delete(&snip);
    if (!v) {
        if (why == 2)
            return yt_fail_raw(c, "--set %s: value is nested too deeply or too "
                            "large", name);
        return yt_fail_oom(c);
    }

    int target;
    const char *leaf = key;
    if (is_market || is_dflt) {
        target = child_map(c, root, is_market ? "market" : "defaults");
        if (target == 0)
            return yt_fail_raw(c, "--set %s: %s in the scenario is not a "
                            "mapping", name, is_market ? "market"
                                                       : "defaults");
        if (target < 0) return yt_fail_oom(c);
        if (is_market && !strncmp(key, "sentiment.", 10)) {
            target = child_map(c, target, "sentiment");
            if (target == 0)
                return yt_fail_raw(c, "--set %s: market.sentiment in the "
                                "scenario is not a mapping", name);
            if (target < 0) return yt_fail_oom(c);
            leaf = key + 10;
        }
    } else {
        target = lab;
    }
    if (set_pair(c, target, leaf, v)) return yt_fail_oom(c);
    ovr_end(c);
    return 0;
}

/* --paths / --seed: root[key] = the number, as a plain scalar. */
static int apply_root_number(yt_ctx *c, int root, const char *key,
                             const char *label, uint64_t val)
{
    char num[32];
    snprintf(num, sizeof num, "%llu", (unsigned long long)val);
    if (!ovr_begin(c, label, key)) return yt_fail_oom(c);
    int v = yaml_document_add_scalar(&c->doc, NULL, (const yaml_char_t *)num,
                                     -1, YAML_PLAIN_SCALAR_STYLE);
    if (!v || set_pair(c, root, key, v)) return yt_fail_oom(c);
    ovr_end(c);
    return 0;
}

int ov_apply(yt_ctx *c, int root, const sc_options *opts)
{
    if (!opts)
        return 0;
    for (size_t i = 0; i < opts->nset; i++)
        if (apply_set(c, root, &opts->set[i])) return -1;
    if (opts->has_paths &&
        apply_root_number(c, root, "paths", "--paths", opts->paths))
        return -1;
    if (opts->has_seed &&
        apply_root_number(c, root, "seed", "--seed", opts->seed))
        return -1;
    return 0;
}
