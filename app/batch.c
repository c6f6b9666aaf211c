/* batch: batches of scenarios and sweeps of variants (see batch.h). */
#include "app/batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

char *batch_join(const char *dir, const char *name)
{
    /* "out/" and "out" name the same folder: drop the trailing slashes
     * so that no printed path reads "out//file" (but "/" stays "/"). */
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    int slash = !(dl == 1 && dir[0] == '/');
    size_t n = dl + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%.*s%s%s", (int)dl, dir, slash ? "/" : "", name);
    return p;
}

char *batch_output_in(const char *dir, const char *scenario, const char *suffix)
{
    char *base = batch_default_output(scenario);
    if (!base)
        return NULL;
    base[strlen(base) - 3] = 0; /* drop .h5 */
    size_t n = strlen(base) + (suffix ? strlen(suffix) : 0) + 4;
    char *name = malloc(n), *p = NULL;
    if (name) {
        snprintf(name, n, "%s%s.h5", base, suffix ? suffix : "");
        p = batch_join(dir, name);
    }
    free(name);
    free(base);
    return p;
}

int batch_make_dir(const char *dir, char *err, size_t errlen)
{
    size_t n = strlen(dir);
    char *p = malloc(n + 1);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(p, dir, n + 1);
    /* mkdir -p: each prefix in turn (mode 0777, less the umask); one
     * that exists must be a directory. */
    int rc = 0;
    for (size_t i = 1; i <= n && rc == 0; i++) {
        if (i < n && p[i] != '/')
            continue;
        char keep = p[i];
        p[i] = 0;
        struct stat sb;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "-O %s: cannot create directory %s: %s", dir, p, strerror(errno));
            rc = -1;
        } else if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            snprintf(err, errlen, "-O %s: %s exists and is not a directory", dir, p);
            rc = -1;
        }
        p[i] = keep;
    }
    free(p);
    return rc;
}

/* ---- the batch ---- */

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

int batch_run(const char *const *scen, size_t n, const char *dir, const run_spec *spec,
              char ***files_out)
{
    char err[RUN_ERR_LEN];
    *files_out = NULL;
    for (size_t i = 0; i < n; i++) {
        sc_scenario *s = NULL;
        if (run_load(&s, scen[i], &spec->so, NULL, 0, err, sizeof err) != 0) {
            note(spec, err);
            return 1;
        }
        sc_free(s);
    }
    char **files = calloc(n, sizeof *files);
    int rc = files ? 0 : 1;
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
    if (rc == 0 && batch_make_dir(dir, err, sizeof err) != 0) {
        note(spec, err);
        rc = 1;
    }
    size_t ndone = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        run_result r;
        rc = run_one(scen[i], NULL, 0, files[i], spec, &r);
        finished(spec, &r);
        run_result_free(&r);
        ndone += rc == 0;
    }
    if (rc != 0 && spec->interrupt && *spec->interrupt)
        say_complete(spec, "batch", (int)*spec->interrupt, (const char *const *)files, ndone, n);
    if (rc != 0) {
        if (files)
            batch_free_labels(files, n);
        return rc;
    }
    *files_out = files;
    return 0;
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
    char err[RUN_ERR_LEN], line[4200];
    size_t ncomb = batch_variants(v, nv);
    *labels_out = NULL;
    *nlabels = 0;
    if (ncomb == SIZE_MAX)
        return 1;
    sc_override *ov = calloc(nv ? nv : 1, sizeof *ov);
    char **labels = calloc(ncomb, sizeof *labels), **files = calloc(ncomb, sizeof *files);
    int rc = ov && labels && files ? 0 : 1;
    /* Pass 0 checks every variant; pass 1 runs them, all with the same
     * seed, into dir (made after every variant holds). */
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        if (pass == 1 && batch_make_dir(dir, err, sizeof err) != 0) {
            note(spec, err);
            rc = 1;
            break;
        }
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
