/* fuzz_yaml_events: the event-level YAML loader (yt_load, engine/yamltree.c)
 * on arbitrary bytes, against libyaml's own loader.
 *
 * Properties, on every input:
 * - yt_load returns 0 or -1; on -1 a non-empty one-line message (at most
 *   the text's last line + 1), and the document is already freed (ASan's
 *   leak check sees any that is not);
 * - on 0: at most YT_MAX_NODES nodes, no path from the root deeper than
 *   YT_MAX_DEPTH collections (counted without following aliases, which
 *   yt_walk_dups bounds), every node's line within the text, and, because
 *   the limits only refuse, the same document as libyaml's
 *   yaml_parser_load builds: the same nodes in the same order, with the
 *   same types, scalar values and styles, items, pairs and lines; and
 *   libyaml finds no second document with content.
 * Seeds: tests/fuzz/corpus/yaml_events/ (scenarios, flow and block
 * styles, anchors and aliases, tags, several documents, deep nesting). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scenario_internal.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Depth of collections under node i, not following a node twice on one
 * path (aliases may make cycles). */
static int depth_of(yaml_document_t *d, int i, int depth, int *max, unsigned char *onpath)
{
    yaml_node_t *n = yaml_document_get_node(d, i);
    FZ_ASSERT(n != NULL, "node %d does not exist", i);
    if (onpath[i])
        return 0;
    if (n->type == YAML_SCALAR_NODE)
        return 0;
    depth++;
    if (depth > *max)
        *max = depth;
    if (depth > YT_MAX_DEPTH + 1)
        return 0;
    onpath[i] = 1;
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
            if (*it > i) /* an alias to an earlier node is not nesting */
                depth_of(d, *it, depth, max, onpath);
    } else {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            if (p->key > i)
                depth_of(d, p->key, depth, max, onpath);
            if (p->value > i)
                depth_of(d, p->value, depth, max, onpath);
        }
    }
    onpath[i] = 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    int lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    yaml_document_t doc;
    yt_load_err e;
    int rc = yt_load(&doc, text, size, &e);
    if (rc != 0) {
        FZ_ASSERT(rc == -1, "rc %d", rc);
        FZ_ASSERT(e.msg[0] != 0, "empty message");
        FZ_ASSERT(strchr(e.msg, '\n') == NULL, "message is not one line: %s", e.msg);
        FZ_ASSERT(e.line >= 0 && e.line <= lines + 1, "line %d of %d lines", e.line, lines);
        return 0;
    }
    int nnodes = (int)(doc.nodes.top - doc.nodes.start);
    FZ_ASSERT(nnodes <= YT_MAX_NODES, "%d nodes", nnodes);
    for (int i = 1; i <= nnodes; i++) {
        yaml_node_t *n = yaml_document_get_node(&doc, i);
        FZ_ASSERT((int)n->start_mark.line + 1 <= lines + 1, "node %d at line %d of %d", i,
                  (int)n->start_mark.line + 1, lines);
    }
    if (nnodes) {
        unsigned char *onpath = calloc((size_t)nnodes + 1, 1);
        int max = 0;
        if (onpath)
            depth_of(&doc, 1, 0, &max, onpath);
        free(onpath);
        FZ_ASSERT(max <= YT_MAX_DEPTH, "nested %d deep", max);
    }

    /* libyaml's own loader builds the same document. */
    yaml_parser_t p;
    yaml_document_t ref;
    FZ_ASSERT(yaml_parser_initialize(&p), "libyaml parser");
    yaml_parser_set_input_string(&p, data, size);
    int ok = yaml_parser_load(&p, &ref);
    FZ_ASSERT(ok, "yt_load accepted what libyaml refuses: %s", p.problem ? p.problem : "?");
    int rn = (int)(ref.nodes.top - ref.nodes.start);
    FZ_ASSERT(rn == nnodes, "%d nodes, libyaml %d", nnodes, rn);
    for (int i = 1; i <= nnodes; i++) {
        yaml_node_t *a = yaml_document_get_node(&doc, i), *b = yaml_document_get_node(&ref, i);
        FZ_ASSERT(a->type == b->type, "node %d: type %d, libyaml %d", i, a->type, b->type);
        FZ_ASSERT(a->start_mark.line == b->start_mark.line, "node %d: line %d, libyaml %d", i,
                  (int)a->start_mark.line, (int)b->start_mark.line);
        FZ_ASSERT(!strcmp((const char *)a->tag, (const char *)b->tag), "node %d: tag", i);
        if (a->type == YAML_SCALAR_NODE) {
            FZ_ASSERT(a->data.scalar.length == b->data.scalar.length &&
                      !memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length) &&
                      a->data.scalar.style == b->data.scalar.style, "node %d: scalar", i);
        } else if (a->type == YAML_SEQUENCE_NODE) {
            size_t na = (size_t)(a->data.sequence.items.top - a->data.sequence.items.start);
            size_t nb = (size_t)(b->data.sequence.items.top - b->data.sequence.items.start);
            FZ_ASSERT(na == nb && !memcmp(a->data.sequence.items.start, b->data.sequence.items.start,
                                          na * sizeof(yaml_node_item_t)), "node %d: items", i);
        } else {
            size_t na = (size_t)(a->data.mapping.pairs.top - a->data.mapping.pairs.start);
            size_t nb = (size_t)(b->data.mapping.pairs.top - b->data.mapping.pairs.start);
            FZ_ASSERT(na == nb && !memcmp(a->data.mapping.pairs.start, b->data.mapping.pairs.start,
                                          na * sizeof(yaml_node_pair_t)), "node %d: pairs", i);
        }
    }
    yaml_document_delete(&ref);
    /* no second document with content */
    ok = yaml_parser_load(&p, &ref);
    if (ok) {
        FZ_ASSERT(yaml_document_get_root_node(&ref) == NULL, "a second document was accepted");
        yaml_document_delete(&ref);
    }
    yaml_parser_delete(&p);
    yaml_document_delete(&doc);
    return 0;
}
