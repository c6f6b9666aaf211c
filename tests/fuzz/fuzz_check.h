/* fuzz_check: the properties every fuzz target checks on each input
 * (prefix fz_). Shared by fuzz_scenario.c, fuzz_set.c and fuzz_results.c
 * (which adds its own, for result files), compiled either
 * into a libFuzzer binary (clang, -fsanitize=fuzzer) or into the plain
 * replay driver (replay.c, any compiler).
 *
 * A property that fails prints what failed on stderr and calls abort():
 * libFuzzer then saves the input as a crash, and the replay test fails.
 * (abort() is right here and nowhere else: this is a test harness.)
 *
 * The properties, for sc_load_text's contract (engine/scenario.h):
 *   - it returns 0 or -1 and nothing else;
 *   - on -1: *out is NULL and the message is non-empty, one line, and
 *     fits the buffer;
 *   - on 0: the scenario obeys the documented ranges (horizon 1..100,
 *     paths >= 1, at least one lab, every input name set), every drawn
 *     input gives a finite value at both ends of the range of uniforms the
 *     engine can produce, and the text it records (yaml_text) loads again
 *     into a scenario with the same labs, inputs and horizon.
 * ASan/UBSan (when built with them) add: no invalid access, no leak, no
 * undefined behaviour. */
#ifndef RUNWAY_FUZZ_CHECK_H
#define RUNWAY_FUZZ_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scenario.h"

#define FZ_ASSERT(cond, ...)                                               \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz property failed: %s: ", #cond);          \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
            abort();                                                       \
        }                                                                  \
    } while (0)

/* The uniforms the engine can hand rd_quantile: rs_u01 gives
 * [2^-53, 1 - 2^-53]; the copula clamps to [2^-60, 1 - 2^-53]. */
#define FZ_U_LO 0x1p-60
#define FZ_U_HI (1.0 - 0x1p-53)

/* Any library call's failure: -1 and a message, one line. */
static inline void fz_check_message(int rc, const char *err, size_t errlen)
{
    FZ_ASSERT(rc == -1, "rc %d", rc);
    size_t n = strnlen(err, errlen);
    FZ_ASSERT(n < errlen, "message not terminated");
    FZ_ASSERT(n > 0, "empty message");
    FZ_ASSERT(strchr(err, '\n') == NULL, "message is not one line: %s", err);
}

static inline void fz_check_failure(int rc, const sc_scenario *s, const char *err,
                             size_t errlen)
{
    FZ_ASSERT(rc == -1, "rc %d", rc);
    FZ_ASSERT(s == NULL, "failure left a scenario");
    size_t n = strnlen(err, errlen);
    FZ_ASSERT(n < errlen, "message not terminated");
    FZ_ASSERT(n > 0, "empty message");
    /* A scenario's load reports every error, one per line: at most 20
     * lines and a last "... and N more errors", none of them empty. */
    int lines = 1;
    for (const char *p = err; *p; p++) {
        if (*p == '\n') {
            lines++;
            FZ_ASSERT(p[1] && p[1] != '\n', "an empty line in: %s", err);
        }
    }
    FZ_ASSERT(lines <= 21, "%d lines: %s", lines, err);
}

static inline void fz_check_scenario(const sc_scenario *s)
{
    FZ_ASSERT(s != NULL, "success without a scenario");
    FZ_ASSERT(s->horizon >= 1 && s->horizon <= 100, "horizon %d",
              s->horizon);
    FZ_ASSERT(s->paths >= 1, "paths 0");
    FZ_ASSERT(s->nlabs >= 1 && s->labs, "no labs");
    FZ_ASSERT(s->name && s->description && s->yaml_text && s->file,
              "a string is NULL");
    for (size_t i = 0; i < s->nlabs; i++)
        FZ_ASSERT(s->labs[i].name && s->labs[i].name[0], "lab %zu", i);
    for (size_t j = 0; j < s->ninputs; j++) {
        const sc_input *in = &s->inputs[j];
        FZ_ASSERT(in->name && in->dist, "input %zu", j);
        double lo = rd_quantile(in->dist, FZ_U_LO);
        double mid = rd_quantile(in->dist, 0.5);
        double hi = rd_quantile(in->dist, FZ_U_HI);
        FZ_ASSERT(isfinite(lo) && isfinite(mid) && isfinite(hi),
                  "%s: quantiles %g %g %g", in->name, lo, mid, hi);
        FZ_ASSERT(lo <= mid && mid <= hi, "%s: quantiles not ordered: %g %g "
                  "%g", in->name, lo, mid, hi);
        /* docs/scenarios.md, "Limits": no input draws beyond 1e12. */
        FZ_ASSERT(fabs(lo) <= 1e12 && fabs(hi) <= 1e12,
                  "%s: draws beyond the limits: %g %g", in->name, lo, hi);
    }
    for (int k = 0; k < SC_MARKET_NKEYS; k++)
        FZ_ASSERT(isfinite(rd_quantile(&s->market[k], 0.5)), "market %d", k);
    for (size_t i = 0; i < s->nlabs; i++)
        for (int k = 0; k < SC_LAB_NKEYS; k++)
            FZ_ASSERT(isfinite(rd_quantile(&s->labs[i].in[k], 0.5)),
                      "%s key %d", s->labs[i].name, k);
}

/* The recorded text reproduces the scenario (README: "re-running the
 * stored text gives the same datasets"). */
static inline void fz_check_roundtrip(const sc_scenario *s)
{
    sc_scenario *t = NULL;
    char err[1024] = "";
    int rc = sc_load_text(&t, s->yaml_text, strlen(s->yaml_text),
                          "<yaml_text>", NULL, err, sizeof err);
    FZ_ASSERT(rc == 0, "the recorded yaml_text does not load again: %s",
              err);
    FZ_ASSERT(t->nlabs == s->nlabs && t->ninputs == s->ninputs &&
                  t->horizon == s->horizon && t->paths == s->paths &&
                  t->seed == s->seed && t->ncop == s->ncop,
              "reloaded scenario differs");
    for (size_t j = 0; j < s->ninputs; j++) {
        const rd_dist *a = s->inputs[j].dist, *b = t->inputs[j].dist;
        FZ_ASSERT(!strcmp(s->inputs[j].name, t->inputs[j].name),
                  "input %zu: %s vs %s", j, s->inputs[j].name,
                  t->inputs[j].name);
        FZ_ASSERT(a->family == b->family && a->per_year == b->per_year &&
                      a->a == b->a && a->b == b->b && a->c == b->c &&
                      a->tmin == b->tmin && a->tmax == b->tmax,
                  "input %s differs after reload", s->inputs[j].name);
    }
    sc_free(t);
}

#endif
