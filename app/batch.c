/* batch: batches of scenarios and sweeps of variants (see batch.h). */
#include "app/batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void note(const run_spec *spec, const char *line)
{
    if (spec->hooks.note)
        spec->hooks.note(spec->hooks.ctx, line);
}

static void finished(const run_spec *spec, const run_result *r)
{
    if (spec->hooks.finished)
        spec->hooks.finished(spec->hooks.ctx, r);
}

char *batch_default_output(const char *scenario)
{
    const char *base = strrchr(scenario, '/');
    base = base ? base + 1 : scenario;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        n = (size_t)(dot - base);
    char *out = malloc(n + 4);
    if (out)
        snprintf(out, n + 4, "%.*s.h5", (int)n, base);
    return out;
}

char *batch_output_in(const char *dir, const char *scenario, const char *suffix)
{
    char *base = batch_default_output(scenario);
    if (!base)
        return NULL;
    base[strlen(base) - 3] = 0; /* drop .h5 */
    size_t n = strlen(dir) + strlen(base) + (suffix ? strlen(suffix) : 0) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s.h5", dir, base, suffix ? suffix : "");
    free(base);
    return p;
}

/* ---- the batch and its index ---- */

/* The headline of one finished run, for the index. */
typedef struct {
    char *name;
    size_t L;
    int T, base_year;
    char **labs;
    double *surv, *lo, *hi; /* [L][T] */
    uint64_t paths;
} headline;

static void headline_free(headline *h)
{
    for (size_t l = 0; l < h->L && h->labs; l++)
        free(h->labs[l]);
    free(h->labs);
    free(h->name);
    free(h->surv); free(h->lo); free(h->hi);
    memset(h, 0, sizeof *h);
}

static int headline_take(headline *h, const sc_scenario *s, const sim_result *r)
{
    size_t LT = r->L * r->T;
    h->L = r->L; h->T = (int)r->T; h->base_year = s->base_year; h->paths = r->N;
    h->name = strdup(s->name);
    h->labs = calloc(r->L, sizeof *h->labs);
    h->surv = malloc(LT * 8); h->lo = malloc(LT * 8); h->hi = malloc(LT * 8);
    if (!h->name || !h->labs || !h->surv || !h->lo || !h->hi)
        return -1;
    for (size_t l = 0; l < r->L; l++)
        if (!(h->labs[l] = strdup(s->labs[l].name)))
            return -1;
    memcpy(h->surv, r->survival, LT * 8);
    memcpy(h->lo, r->survival_lo, LT * 8);
    memcpy(h->hi, r->survival_hi, LT * 8);
    return 0;
}

static void html_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* DIR/index.html: every scenario's headline numbers on one page, written
 * under a temporary name and renamed. */
static int write_index(const char *dir, char **files, headline *h, size_t n, const run_spec *spec)
{
    size_t len = strlen(dir) + 64;
    char *path = malloc(len), *tmp = malloc(len), msg[1200];
    if (!path || !tmp) {
        free(path); free(tmp);
        return -1;
    }
    snprintf(path, len, "%s/index.html", dir);
    snprintf(tmp, len, "%s/index.html.tmp-%ld", dir, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(msg, sizeof msg, "%s: cannot write: %s", path, strerror(errno));
        note(spec, msg);
        free(path); free(tmp);
        return -1;
    }
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>runway batch</title>\n"
          "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
          "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
          "th:first-child,td:first-child{text-align:left}</style></head><body>\n"
          "<h1>runway batch: survival at a glance</h1>\n"
          "<p>P(lab alive at the end of the year) and its 95% Wilson interval. "
          "<code>runway report FILE</code> gives the full report of one file.</p>\n", f);
    for (size_t k = 0; k < n; k++) {
        const headline *x = &h[k];
        int want[4], ny = 0;
        const int cand[3] = { 1, 3, 5 };
        for (int j = 0; j < 3; j++)
            if (cand[j] < x->T)
                want[ny++] = cand[j];
        want[ny++] = x->T;
        fputs("<h2>", f);
        html_escape(f, x->name);
        fputs("</h2>\n<p>file <code>", f);
        html_escape(f, files[k]);
        fprintf(f, "</code>, %llu paths</p>\n<table><tr><th>lab</th>", (unsigned long long)x->paths);
        for (int j = 0; j < ny; j++)
            fprintf(f, "<th>%d</th>", x->base_year + want[j]);
        fputs("</tr>\n", f);
        for (size_t l = 0; l < x->L; l++) {
            fputs("<tr><td>", f);
            html_escape(f, x->labs[l]);
            fputs("</td>", f);
            for (int j = 0; j < ny; j++) {
                size_t i = l * (size_t)x->T + (size_t)(want[j] - 1);
                fprintf(f, "<td>%.3f [%.3f, %.3f]</td>", x->surv[i], x->lo[i], x->hi[i]);
            }
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    fputs("</body></html>\n", f);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        snprintf(msg, sizeof msg, "%s: cannot write: %s", path, strerror(errno));
        note(spec, msg);
        unlink(tmp);
        free(path); free(tmp);
        return -1;
    }
    free(path); free(tmp);
    return 0;
}

/* After a signal: which of the files are complete, in one line. */
static void say_complete(const run_spec *spec, const char *what, int sig,
                         const char *const *files, size_t ndone, size_t n)
{
    char line[2048];
    int at = snprintf(line, sizeof line, "%s stopped by signal %d: %zu of %zu complete%s", what,
                      sig, ndone, n, ndone ? " (" : "");
    for (size_t i = 0; i < ndone && at > 0 && (size_t)at < sizeof line; i++)
        at += snprintf(line + at, sizeof line - (size_t)at, "%s%s", i ? ", " : "", files[i]);
    if (at > 0 && (size_t)at < sizeof line)
        snprintf(line + at, sizeof line - (size_t)at, "%s; the one running was abandoned and "
                 "left no file", ndone ? ")" : "");
    note(spec, line);
}

int batch_run(const char *const *scen, size_t n, const char *dir, const run_spec *spec)
{
    char err[1024];
    for (size_t i = 0; i < n; i++) {
        sc_scenario *s = NULL;
        if (run_load(&s, scen[i], &spec->so, NULL, 0, err, sizeof err) != 0) {
            note(spec, err);
            return 1;
        }
        sc_free(s);
    }
    headline *h = calloc(n, sizeof *h);
    char **files = calloc(n, sizeof *files);
    int rc = h && files ? 0 : 1;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (!(files[i] = batch_output_in(dir, scen[i], NULL)))
            rc = 1;
    /* Two scenarios with one file name (a/s.yaml, b/s.yaml) would write
     * one file, the second over the first: refuse before running any. */
    for (size_t i = 0; i < n && rc == 0; i++)
        for (size_t j = 0; j < i && rc == 0; j++)
            if (!strcmp(files[i], files[j])) {
                snprintf(err, sizeof err, "%s and %s would both be written to %s: a batch "
                         "needs scenario files with different names (copy or rename one)",
                         scen[j], scen[i], files[i]);
                note(spec, err);
                rc = 1;
            }
    size_t ndone = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        run_result r;
        rc = run_one(scen[i], NULL, 0, files[i], spec, &r);
        finished(spec, &r);
        if (rc == 0 && headline_take(&h[i], r.s, &r.res) != 0) {
            note(spec, "out of memory");
            rc = 1;
        }
        run_result_free(&r);
        ndone += rc == 0;
    }
    if (rc != 0 && spec->interrupt && *spec->interrupt)
        say_complete(spec, "batch", (int)*spec->interrupt, (const char *const *)files, ndone, n);
    if (rc == 0)
        rc = write_index(dir, files, h, n, spec) ? 1 : 0;
    for (size_t i = 0; i < n && h && files; i++) {
        headline_free(&h[i]);
        free(files[i]);
    }
    free(h);
    free(files);
    return rc;
}

/* ---- sweeps ---- */

size_t batch_variants(const batch_vary *v, size_t nv)
{
    size_t ncomb = 1;
    for (size_t i = 0; i < nv && ncomb <= BATCH_MAX_VARIANTS; i++)
        ncomb *= v[i].nvalues;
    return ncomb > BATCH_MAX_VARIANTS ? SIZE_MAX : ncomb;
}

void batch_free_labels(char **labels, size_t n)
{
    for (size_t c = 0; labels && c < n; c++)
        free(labels[c]);
    free(labels);
}

int batch_sweep(const char *scen, const batch_vary *v, size_t nv, const char *dir,
                const run_spec *spec, char ***labels_out, size_t *nlabels)
{
    char err[1024], line[4200];
    size_t ncomb = batch_variants(v, nv);
    *labels_out = NULL;
    *nlabels = 0;
    if (ncomb == SIZE_MAX)
        return 1;
    sc_override *ov = calloc(nv ? nv : 1, sizeof *ov);
    char **labels = calloc(ncomb, sizeof *labels), **files = calloc(ncomb, sizeof *files);
    int rc = ov && labels && files ? 0 : 1;
    /* Pass 0 checks every variant; pass 1 runs them, all with the same
     * seed. */
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (size_t c = 0; c < ncomb && rc == 0; c++) {
            size_t idx = c;
            for (size_t i = nv; i-- > 0;) {
                size_t k = idx % v[i].nvalues;
                idx /= v[i].nvalues;
                ov[i].name = v[i].name;
                ov[i].value = v[i].values[k];
            }
            char label[4096] = "";
            for (size_t i = 0; i < nv; i++) {
                size_t at = strlen(label);
                snprintf(label + at, sizeof label - at, "%s%s=%s", i ? ";" : "", ov[i].name, ov[i].value);
            }
            if (pass == 0) {
                sc_scenario *s = NULL;
                if (run_load(&s, scen, &spec->so, ov, nv, err, sizeof err) != 0) {
                    note(spec, err);
                    snprintf(line, sizeof line, "(in sweep variant %s)", label);
                    note(spec, line);
                    rc = 1;
                }
                sc_free(s);
                continue;
            }
            char suffix[32];
            snprintf(suffix, sizeof suffix, "_v%03zu", c + 1);
            files[c] = batch_output_in(dir, scen, suffix);
            size_t ll = strlen(label) + (files[c] ? strlen(files[c]) : 0) + 2;
            labels[c] = malloc(ll);
            if (!files[c] || !labels[c]) {
                rc = 1;
                break;
            }
            snprintf(labels[c], ll, "%s=%s", label, files[c]);
            if (!spec->quiet && spec->hooks.say) {
                snprintf(line, sizeof line, "variant %zu/%zu: %s", c + 1, ncomb, label);
                spec->hooks.say(spec->hooks.ctx, line);
            }
            run_result r;
            rc = run_one(scen, ov, nv, files[c], spec, &r);
            finished(spec, &r);
            run_result_free(&r);
            if (rc != 0 && spec->interrupt && *spec->interrupt)
                say_complete(spec, "sweep", (int)*spec->interrupt, (const char *const *)files,
                             c, ncomb);
        }
    }
    for (size_t c = 0; c < ncomb && files; c++)
        free(files[c]);
    free(files);
    free(ov);
    if (rc != 0) {
        batch_free_labels(labels, ncomb);
        return rc;
    }
    *labels_out = labels;
    *nlabels = ncomb;
    return 0;
}
