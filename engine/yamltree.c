/* yamltree: the YAML tree of a scenario and the helpers every rule uses
 * (see scenario_internal.h): node access, lookups, number parsing,
 * one-line errors at a node's line (or at the --set that supplied it),
 * duplicate keys, copying and re-emission. */
#include "engine/scenario_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Small helpers. */

char *yt_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* "a.b" in a new string (NULL when memory runs out). */
char *yt_join2(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 2);
    if (!p) return NULL;
    memcpy(p, a, na);
    p[na] = '.';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}

/* Levenshtein distance, capped: anything above 3 is reported as 3;
 * fold: letters compare ignoring case. */
static int edit_distance(const char *a, const char *b, int fold)
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
            unsigned char x = (unsigned char)a[i - 1], y = (unsigned char)b[j - 1];
            int best = diag + (fold ? tolower(x) != tolower(y) : x != y);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb] > 3 ? 3 : row[nb];
}

/* The closest candidate within edit distance 2, or NULL. */
static const char *suggest(const char *word, const char *const *cand, size_t n, int fold)
{
    const char *best = NULL;
    int bestd = 3;
    if (strlen(word) < 3) return NULL;
    for (size_t i = 0; i < n; i++) {
        int d = edit_distance(word, cand[i], fold);
        if (d < bestd) {
            bestd = d;
            best = cand[i];
        }
    }
    return best;
}

const char *yt_suggest(const char *word, const char *const *cand, size_t n)
{
    return suggest(word, cand, n, 0);
}

const char *yt_suggest_nocase(const char *word, const char *const *cand, size_t n)
{
    return suggest(word, cand, n, 1);
}

/* Parses a whole string as a number.
 * Returns 0 (finite, *out set), 1 (not a number), 2 (a number that is not
 * finite: .nan, .inf, nan, inf, or one that overflows a double). */
int yt_parse_num(const char *s, double *out)
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
int yt_parse_u64(const char *s, uint64_t *out)
{
    while (isspace((unsigned char)*s)) s++;
    if (*s == '-') {
        double v;
        int r = yt_parse_num(s, &v);
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
    if (yt_parse_num(s, &v) != 0 || v != floor(v)) return 1;
    if (v < 0 || v > 9007199254740992.0) return 2;
    *out = (uint64_t)v;
    return 0;
}

/* The same for a signed int. */
int yt_parse_int(const char *s, int *out)
{
    while (isspace((unsigned char)*s)) s++;
    int neg = *s == '-';
    uint64_t u;
    int r = yt_parse_u64(neg ? s + 1 : s, &u);
    if (r) return r;
    if (neg ? u > 2147483648u : u > 2147483647u) return 2;
    *out = neg ? (int)(-(long long)u) : (int)u;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The loading context and error reporting. */

yaml_node_t *yt_node(yt_ctx *c, int i)
{
    return i > 0 ? yaml_document_get_node(&c->doc, i) : NULL;
}

int yt_node_count(yt_ctx *c)
{
    return (int)(c->doc.nodes.top - c->doc.nodes.start);
}

const ovr_range *yt_find_ovr(yt_ctx *c, int node)
{
    for (size_t i = 0; i < c->novr; i++)
        if (node >= c->ovr[i].first && node <= c->ovr[i].last)
            return &c->ovr[i];
    return NULL;
}

int yt_line_of(yt_ctx *c, int node)
{
    yaml_node_t *n = yt_node(c, node);
    return n ? (int)n->start_mark.line + 1 : 1;
}

/* Keeps a message on one line: a value quoted in it may hold a newline
 * (a block scalar) or another control character. */
static void yt_one_line(char *msg)
{
    for (; *msg; msg++)
        if ((unsigned char)*msg < 0x20 || *msg == 0x7f) *msg = ' ';
}

/* Puts one message line into c->err: the first replaces what is there;
 * without c->collect a later one is dropped; with it, each is appended
 * on its own line
 * while fewer than YT_MAX_ERRORS are kept and the buffer has room (with
 * some left for yt_errors_end's "... and N more" line), and is counted
 * otherwise. */
static void put_line(yt_ctx *c, const char *line)
{
    if (c->nerr == 0) {
        snprintf(c->err, c->errlen, "%s", line);
        yt_one_line(c->err);
    } else if (!c->collect) {
        /* the first error stands (yt_check_keys goes on past it) */
    } else {
        size_t used = strlen(c->err), need = strlen(line) + 2;
        if (c->nerr < YT_MAX_ERRORS && used + need + 64 <= c->errlen) {
            c->err[used] = '\n';
            snprintf(c->err + used + 1, c->errlen - used - 1, "%s", line);
            yt_one_line(c->err + used + 1);
        } else {
            c->nmore++;
        }
    }
    c->nerr++;
}

void yt_errors_end(yt_ctx *c)
{
    if (!c->nmore || !c->err || c->errlen == 0) return;
    size_t used = strlen(c->err);
    snprintf(c->err + used, c->errlen - used, "\n%s: ... and %d more error%s", c->file,
             c->nmore, c->nmore == 1 ? "" : "s");
}

/* Writes the one-line message and returns -1. node locates the error
 * (0: line 1); key is the full input name or NULL. */
int yt_fail(yt_ctx *c, int node, const char *key, const char *fmt, ...)
{
    char rule[1024], line[1800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rule, sizeof rule, fmt, ap);
    va_end(ap);
    if (!c->err || c->errlen == 0) return -1;
    const ovr_range *o = yt_find_ovr(c, node);
    if (o) {
        if (key && strcmp(key, o->samekey) != 0)
            snprintf(line, sizeof line, "%s: %s: %s", o->label, key, rule);
        else
            snprintf(line, sizeof line, "%s: %s", o->label, rule);
    } else if (key) {
        snprintf(line, sizeof line, "%s:%d: %s: %s", c->file,
                 yt_line_of(c, node), key, rule);
    } else {
        snprintf(line, sizeof line, "%s:%d: %s", c->file, yt_line_of(c, node),
                 rule);
    }
    put_line(c, line);
    return -1;
}

/* A message that is not about a node (I/O, overrides before they land). */
int yt_fail_raw(yt_ctx *c, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0) return -1;
    char line[1800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    put_line(c, line);
    return -1;
}

int yt_fail_oom(yt_ctx *c)
{
    return yt_fail_raw(c, "%s: out of memory", c->file);
}

void yt_ctx_free(yt_ctx *c)
{
    if (c->have_doc) yaml_document_delete(&c->doc);
    for (size_t i = 0; i < c->novr; i++) {
        free(c->ovr[i].label);
        free(c->ovr[i].samekey);
    }
    free(c->ovr);
    c->have_doc = 0;
    c->ovr = NULL;
    c->novr = 0;
}

/* ------------------------------------------------------------------ */
/* Tree access. */

int yt_is_type(yt_ctx *c, int i, yaml_node_type_t t)
{
    yaml_node_t *n = yt_node(c, i);
    return n && n->type == t;
}

const char *yt_str(yt_ctx *c, int i)
{
    return (const char *)yt_node(c, i)->data.scalar.value;
}

/* YAML's null: an empty value, ~ or null. */
int yt_is_null(yt_ctx *c, int i)
{
    yaml_node_t *n = yt_node(c, i);
    if (n->type != YAML_SCALAR_NODE) return 0;
    const char *s = (const char *)n->data.scalar.value;
    if (!*s) return 1;
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
            !strcmp(s, "NULL"));
}

/* The value of KEY in mapping map (0 when absent); *keynode gets the key's
 * node. Duplicate keys have been rejected before any lookup. */
int yt_map_find(yt_ctx *c, int map, const char *key, int *keynode)
{
    yaml_node_t *m = yt_node(c, map);
    if (keynode) *keynode = 0;
    if (!m || m->type != YAML_MAPPING_NODE) return 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         p < m->data.mapping.pairs.top; p++) {
        if (YT_IS_SCALAR(c, p->key) && !strcmp(yt_str(c, p->key), key)) {
            if (keynode) *keynode = p->key;
            return p->value;
        }
    }
    return 0;
}

/* Every key of map must be one of keys[] or of extra[] (NULL-terminated;
 * may be NULL). prefix names the mapping in messages ("market",
 * "OpenAI"); what, when not NULL, follows "unknown key". */
int yt_check_keys(yt_ctx *c, int map, const char *prefix,
                      const char *const *keys, size_t nkeys,
                      const char *const *extra, const char *what)
{
    int bad = 0; /* every unknown key is reported, not only the first */
    yaml_node_t *m = yt_node(c, map);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         p < m->data.mapping.pairs.top; p++) {
        if (!YT_IS_SCALAR(c, p->key)) {
            bad = yt_fail(c, p->key, prefix, "keys must be names, not lists "
                        "or mappings");
            continue;
        }
        const char *k = yt_str(c, p->key);
        int ok = 0;
        for (size_t i = 0; !ok && i < nkeys; i++) ok = !strcmp(k, keys[i]);
        for (size_t i = 0; !ok && extra && extra[i]; i++)
            ok = !strcmp(k, extra[i]);
        if (ok) continue;
        const char *best = yt_suggest(k, keys, nkeys);
        size_t nextra = 0;
        while (extra && extra[nextra]) nextra++;
        if (!best && nextra) best = yt_suggest(k, extra, nextra);
        char full[512];
        if (prefix)
            snprintf(full, sizeof full, "%s.%s", prefix, k);
        else
            snprintf(full, sizeof full, "%s", k);
        bad = yt_fail(c, p->key, full, "unknown key%s%s%s%s%s",
                    what ? " " : "", what ? what : "",
                    best ? "; did you mean " : "", best ? best : "",
                    best ? "?" : "");
    }
    return bad;
}

/* A numeric scalar at node i; what names it in the rule ("sd", "rho"). */
int yt_num_node(yt_ctx *c, int i, const char *key, const char *what,
                    double *out)
{
    if (!YT_IS_SCALAR(c, i))
        return yt_fail(c, i, key, "%s must be a number", what);
    if (yt_is_null(c, i)) return yt_fail(c, i, key, "%s is missing", what);
    int r = yt_parse_num(yt_str(c, i), out);
    if (r == 1)
        return yt_fail(c, i, key, "%s must be a number (got \"%s\")", what,
                    yt_str(c, i));
    if (r == 2)
        return yt_fail(c, i, key, "%s must be finite (got %s)", what, yt_str(c, i));
    return 0;
}

/* Where an error about a whole value is reported: at the value when an
 * override supplied it, else at its key (the line an analyst looks for). */
int yt_value_loc(yt_ctx *c, int keynode, int value)
{
    if (yt_find_ovr(c, value) || !keynode) return value;
    return keynode;
}

/* ------------------------------------------------------------------ */
/* Duplicate keys, checked over the whole tree (libyaml accepts them). */

typedef struct {
    const char *key;
    size_t j;
} key_at;

static int key_at_cmp(const void *a, const void *b)
{
    const key_at *x = a, *y = b;
    int d = strcmp(x->key, y->key);
    return d ? d : x->j < y->j ? -1 : x->j > y->j;
}

/* For each pair j of mapping i: the index of the first earlier pair with
 * the same (scalar) key, or -1. Sorting makes this n log n: comparing
 * each key with every earlier one took minutes on a mapping of 300,000
 * keys. NULL when memory runs out (or np is 0). */
static long *first_occurrences(yt_ctx *c, int i, size_t np)
{
    if (!np) return NULL;
    long *first = malloc(np * sizeof *first);
    key_at *ka = malloc(np * sizeof *ka);
    if (!first || !ka) {
        free(first);
        free(ka);
        return NULL;
    }
    size_t nk = 0;
    yaml_node_pair_t *p0 = yt_node(c, i)->data.mapping.pairs.start;
    for (size_t j = 0; j < np; j++) {
        first[j] = -1;
        if (YT_IS_SCALAR(c, p0[j].key)) ka[nk++] = (key_at){yt_str(c, p0[j].key), j};
    }
    qsort(ka, nk, sizeof *ka, key_at_cmp);
    for (size_t a = 1; a < nk; a++) {
        size_t g = a - 1;
        if (!strcmp(ka[a].key, ka[g].key))
            first[ka[a].j] = first[ka[g].j] >= 0 ? first[ka[g].j] : (long)ka[g].j;
    }
    free(ka);
    return first;
}

int yt_walk_dups(yt_ctx *c, int i, const char *path, int depth)
{
    yaml_node_t *n = yt_node(c, i);
    if (depth > YT_MAX_DEPTH)
        return yt_fail(c, i, NULL, "nested more than %d levels deep (a "
                    "recursive alias?)", YT_MAX_DEPTH);
    if (++c->visits > YT_MAX_VISITS)
        return yt_fail(c, i, NULL, "document too large (more than %ld nodes, "
                    "counting aliases)", YT_MAX_VISITS);
    char sub[512];
    /* A "\0" escape would cut the value short where C reads it. */
    if (n->type == YAML_SCALAR_NODE &&
        strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
        return yt_fail(c, i, path, "value contains a NUL character");
    if (n->type == YAML_MAPPING_NODE) {
        yaml_node_pair_t *p0 = n->data.mapping.pairs.start;
        size_t np = (size_t)(n->data.mapping.pairs.top - p0);
        long *first = first_occurrences(c, i, np);
        if (!first && np) return yt_fail_oom(c);
        for (size_t j = 0; j < np; j++) {
            /* Re-read: recursion does not add nodes, but stay safe. */
            yaml_node_pair_t *p = yt_node(c, i)->data.mapping.pairs.start + j;
            if (!YT_IS_SCALAR(c, p->key)) {
                free(first);
                return yt_fail(c, p->key, path, "keys must be names, not lists "
                            "or mappings");
            }
            const char *k = yt_str(c, p->key);
            if (path)
                snprintf(sub, sizeof sub, "%s.%s", path, k);
            else
                snprintf(sub, sizeof sub, "%s", k);
            if (first[j] >= 0) {
                yaml_node_pair_t *pq = yt_node(c, i)->data.mapping.pairs.start + first[j];
                int from_ovr = yt_find_ovr(c, pq->key) != NULL, line = yt_line_of(c, pq->key);
                free(first);
                if (from_ovr)
                    return yt_fail(c, p->key, sub, "duplicate key");
                return yt_fail(c, p->key, sub, "duplicate key (first at "
                            "line %d)", line);
            }
            if (yt_walk_dups(c, p->value, sub, depth + 1)) {
                free(first);
                return -1;
            }
        }
        free(first);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        size_t ni = (size_t)(n->data.sequence.items.top -
                             n->data.sequence.items.start);
        int labs = !c->plain_paths && path && !strcmp(path, "labs") && depth == 1;
        for (size_t j = 0; j < ni; j++) {
            int it = yt_node(c, i)->data.sequence.items.start[j];
            int nm = labs ? yt_map_find(c, it, "name", NULL) : 0;
            /* Name a lab's keys as the analyst does: OpenAI.cash0. */
            if (nm && YT_IS_SCALAR(c, nm) && *yt_str(c, nm))
                snprintf(sub, sizeof sub, "%s", yt_str(c, nm));
            else
                snprintf(sub, sizeof sub, "%s[%zu]", path ? path : "", j);
            if (yt_walk_dups(c, it, sub, depth + 1)) return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Copying a subtree between documents (override snippets in, the tree out
 * for re-emission). Returns the new node's index, 0 on failure (*why says
 * which: 1 out of memory, 2 too deep or too large). */

int yt_copy_node(yaml_document_t *dst, yaml_document_t *src, int i,
                     int depth, long *budget, int *why)
{
    yaml_node_t *n = yaml_document_get_node(src, i);
    if (depth > YT_MAX_DEPTH || --*budget < 0) {
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
            k = yt_copy_node(dst, src, *it, depth + 1, budget, why);
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
            int kk = yt_copy_node(dst, src, p->key, depth + 1, budget, why);
            if (!kk) return 0;
            int vv = yt_copy_node(dst, src, p->value, depth + 1, budget, why);
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
int yt_emit(yt_ctx *c, int root, char **out)
{
    yaml_document_t copy;
    yaml_emitter_t em;
    outbuf o = {NULL, 0, 0};
    if (!yaml_document_initialize(&copy, NULL, NULL, NULL, 1, 1))
        return yt_fail_oom(c);
    long budget = YT_MAX_VISITS;
    int why = 0;
    if (!yt_copy_node(&copy, &c->doc, root, 0, &budget, &why)) {
        yaml_document_delete(&copy);
        if (why == 2)
            return yt_fail(c, root, NULL, "document too large to re-emit");
        return yt_fail_oom(c);
    }
    if (!yaml_emitter_initialize(&em)) {
        yaml_document_delete(&copy);
        return yt_fail_oom(c);
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
        return yt_fail_raw(c, "%s: cannot re-emit the scenario with its "
                        "overrides", c->file);
    }
    *out = o.buf;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Syntax errors. */

static int line_at(const char *text, size_t len, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && i < len; i++) line += text[i] == '\n';
    return line;
}

int yt_syntax_error(yt_ctx *c, yaml_parser_t *p, const char *text,
                        size_t len)
{
    int line = p->error == YAML_READER_ERROR
                   ? line_at(text, len, p->problem_offset)
                   : (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "cannot parse";
    if (p->context && p->error != YAML_READER_ERROR)
        return yt_fail_raw(c, "%s:%d: syntax error: %s (%s at line %d)",
                        c->file, line, problem, p->context,
                        (int)p->context_mark.line + 1);
    return yt_fail_raw(c, "%s:%d: syntax error: %s", c->file, line, problem);
}

/* ------------------------------------------------------------------ */
/* Loading: libyaml's event API, with the limits enforced as events
 * arrive. libyaml's own loader (yaml_parser_load) builds the whole
 * document before anything can look at it, and its scanner spends time
 * that grows with the square of the nesting depth: a 200 KB line of
 * 100,000 '[' took 46 s before a depth check could refuse it. Here the
 * 65th level, the node past YT_MAX_NODES or a second document stops the
 * parse at once. The tree is the same libyaml document the rest of the
 * loader reads, with each node's marks (its line) set from its events. */

typedef struct {
    char *name;
    int node;
    int line;
} yt_anchor;

static void load_fail(yt_load_err *e, int line, int oom, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void load_fail(yt_load_err *e, int line, int oom, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    yt_one_line(e->msg);
    e->line = line;
    e->oom = oom;
}

static int line_at(const char *text, size_t len, size_t off);

/* The tag a node keeps: none for the non-specific "!" (a quoted scalar's
 * plain string), as libyaml's own loader does. */
static const yaml_char_t *node_tag(const yaml_char_t *tag)
{
    return tag && strcmp((const char *)tag, "!") ? tag : NULL;
}

/* A libyaml parser error into e. */
static void parser_fail(yt_load_err *e, yaml_parser_t *p, const char *text, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR) {
        load_fail(e, 0, 1, "out of memory while parsing a %zu-byte document", len);
        return;
    }
    int line = p->error == YAML_READER_ERROR ? line_at(text, len, p->problem_offset)
                                              : (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "cannot parse";
    if (p->context && p->error != YAML_READER_ERROR)
        load_fail(e, line, 0, "syntax error: %s (%s at line %d)", problem, p->context,
                  (int)p->context_mark.line + 1);
    else
        load_fail(e, line, 0, "syntax error: %s", problem);
}

int yt_load(yaml_document_t *doc, const char *text, size_t len, yt_load_err *e)
{
    memset(e, 0, sizeof *e);
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        load_fail(e, 0, 1, "out of memory while parsing a %zu-byte document", len);
        return -1;
    }
    if (!yaml_document_initialize(doc, NULL, NULL, NULL, 1, 1)) {
        yaml_parser_delete(&p);
        load_fail(e, 0, 1, "out of memory while parsing a %zu-byte document", len);
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    struct {
        int node, key;
    } open[YT_MAX_DEPTH + 1];
    int depth = 0, ndocs = 0, second_line = 0, done = 0, rc = -1;
    long nodes = 0;
    yt_anchor *anchors = NULL;
    size_t nanchors = 0, capanchors = 0;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            parser_fail(e, &p, text, len);
            break;
        }
        int line = (int)ev.start_mark.line + 1, node = 0, ok = 1;
        const yaml_char_t *anchor = NULL, *tag = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            rc = 0;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++ndocs == 1)
                doc->start_mark = ev.start_mark;
            else if (!second_line)
                second_line = line;
            break;
        case YAML_DOCUMENT_END_EVENT:
            if (ndocs == 1)
                doc->end_mark = ev.end_mark;
            break;
        case YAML_ALIAS_EVENT: {
            const char *a = (const char *)ev.data.alias.anchor;
            for (size_t i = nanchors; i-- > 0 && !node;)
                if (!strcmp(anchors[i].name, a))
                    node = anchors[i].node;
            if (!node) {
                load_fail(e, line, 0, "syntax error: found undefined alias *%.100s", a);
                ok = 0;
            }
            break;
        }
        case YAML_SCALAR_EVENT:
            tag = ev.data.scalar.tag;
            anchor = ev.data.scalar.anchor;
            if (ev.data.scalar.length > (size_t)INT32_MAX)
                ok = 0, load_fail(e, line, 0, "a value longer than 2 GiB");
            else
                node = yaml_document_add_scalar(doc, node_tag(tag),
                                                ev.data.scalar.value, (int)ev.data.scalar.length,
                                                ev.data.scalar.style);
            break;
        case YAML_SEQUENCE_START_EVENT:
            tag = ev.data.sequence_start.tag;
            anchor = ev.data.sequence_start.anchor;
            node = yaml_document_add_sequence(doc, node_tag(tag),
                                              ev.data.sequence_start.style);
            break;
        case YAML_MAPPING_START_EVENT:
            tag = ev.data.mapping_start.tag;
            anchor = ev.data.mapping_start.anchor;
            node = yaml_document_add_mapping(doc, node_tag(tag),
                                             ev.data.mapping_start.style);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) {
                yaml_node_t *n = yaml_document_get_node(doc, open[depth - 1].node);
                if (n)
                    n->end_mark = ev.end_mark;
                depth--;
            }
            break;
        default:
            break;
        }
        int is_node = ev.type == YAML_ALIAS_EVENT || ev.type == YAML_SCALAR_EVENT ||
                      ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT;
        if (ok && is_node && ndocs > 1) {
            load_fail(e, second_line, 0, "only one YAML document is allowed");
            ok = 0;
        } else if (ok && is_node && !node) {
            load_fail(e, line, 1, "out of memory while parsing a %zu-byte document", len);
            ok = 0;
        }
        if (ok && is_node && ev.type != YAML_ALIAS_EVENT) {
            yaml_node_t *n = yaml_document_get_node(doc, node);
            n->start_mark = ev.start_mark;
            n->end_mark = ev.end_mark;
            if (++nodes > YT_MAX_NODES) {
                load_fail(e, line, 0, "document too large (more than %ld values)", YT_MAX_NODES);
                ok = 0;
            }
        }
        if (ok && anchor) {
            for (size_t i = 0; i < nanchors && ok; i++)
                if (!strcmp(anchors[i].name, (const char *)anchor)) {
                    load_fail(e, line, 0, "syntax error: found duplicate anchor &%.100s (first "
                              "at line %d)", (const char *)anchor, anchors[i].line);
                    ok = 0;
                }
            if (ok && nanchors == capanchors) {
                size_t nc = capanchors ? 2 * capanchors : 16;
                yt_anchor *na = realloc(anchors, nc * sizeof *na);
                if (na) {
                    anchors = na;
                    capanchors = nc;
                }
            }
            char *name = ok && nanchors < capanchors ? yt_strdup((const char *)anchor) : NULL;
            if (ok && !name) {
                load_fail(e, line, 1, "out of memory while parsing a %zu-byte document", len);
                ok = 0;
            } else if (ok) {
                anchors[nanchors++] = (yt_anchor){ name, node, line };
            }
        }
        /* Attach the node to its parent: an item, a key, or a key's value. */
        if (ok && is_node && depth > 0) {
            yaml_node_t *parent = yaml_document_get_node(doc, open[depth - 1].node);
            if (parent->type == YAML_SEQUENCE_NODE)
                ok = yaml_document_append_sequence_item(doc, open[depth - 1].node, node);
            else if (!open[depth - 1].key)
                open[depth - 1].key = node;
            else {
                ok = yaml_document_append_mapping_pair(doc, open[depth - 1].node,
                                                       open[depth - 1].key, node);
                open[depth - 1].key = 0;
            }
            if (!ok)
                load_fail(e, line, 1, "out of memory while parsing a %zu-byte document", len);
        }
        if (ok && (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)) {
            if (depth >= YT_MAX_DEPTH) {
                load_fail(e, line, 0, "nested more than %d levels deep", YT_MAX_DEPTH);
                ok = 0;
            } else {
                open[depth].node = node;
                open[depth].key = 0;
                depth++;
            }
        }
        yaml_event_delete(&ev);
        if (!ok) {
            rc = -1;
            break;
        }
    }
    for (size_t i = 0; i < nanchors; i++)
        free(anchors[i].name);
    free(anchors);
    yaml_parser_delete(&p);
    if (rc != 0)
        yaml_document_delete(doc);
    return rc;
}
