/* merge: a run's shards joined into one file (see merge.h). */
#include "app/merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "output/part.h"

int mg_merge(const char *const *names, size_t n, const char *out, const run_spec *spec,
             run_result *r)
{
    memset(r, 0, sizeof *r);
    r->out = out;
    r->quiet = spec->quiet;
    char *err = r->err;
    size_t errlen = sizeof r->err;
    pt_part *parts = calloc(n, sizeof *parts);
    pt_merge m = { 0 };
    ho_file *h5 = NULL;
    int rc = parts ? 0 : 1;
    if (!parts)
        snprintf(err, errlen, "out of memory");
    for (size_t i = 0; i < n && rc == 0; i++)
        if (pt_open(&parts[i], names[i], err, errlen) != 0
            || pt_merge_add(&m, &parts[i], err, errlen) != 0)
            rc = 1;
    if (rc == 0 && pt_merge_finish(&m, err, errlen) != 0)
        rc = 1;
    /* the shards of a conditioned run were conditioned on the same facts */
    for (size_t i = 1; i < n && rc == 0; i++)
        if ((parts[i].cond == NULL) != (parts[0].cond == NULL)
            || (parts[0].cond && strcmp(parts[i].cond->yaml_text, parts[0].cond->yaml_text))) {
            snprintf(err, errlen, "%s and %s were conditioned on different observations",
                     names[0], names[i]);
            rc = 1;
        }
    int nthreads = spec->threads ? spec->threads : omp_get_max_threads();
    if (rc == 0) {
        const sc_scenario *s = parts[0].s;
        run_file fp = { .s = s, .out = out, .cmdline = spec->cmdline, .threads = nthreads,
                        .processes = (int)m.count, .per_path = parts[0].per_path,
                        .K = parts[0].st.K, .rows = s->paths, .cond = parts[0].cond,
                        .stop = spec->stop, .interrupt = spec->interrupt };
        h5 = run_open_file(&fp, err, errlen);
        rc = h5 ? 0 : 1;
        run_sink sink = { h5, 0, spec->interrupt };
        for (size_t i = 0; i < n && rc == 0 && fp.per_path != HO_PER_PATH_NONE; i++)
            if (pt_copy_paths(&parts[i], fp.per_path == HO_PER_PATH_ALL, run_sink_paths, &sink,
                              err, errlen) != 0)
                rc = 1;
        if (rc == 0 && spec->interrupt && *spec->interrupt) {
            snprintf(err, errlen, "interrupted by signal %d; no result written",
                     (int)*spec->interrupt);
            rc = 1;
        }
        if (rc == 0) {
            ho_file *f = h5;
            h5 = NULL;
            parts[0].st.threads_used = nthreads;
            if (run_finish_file(f, &parts[0].st, s, nthreads, NULL, r, &spec->hooks, err,
                                errlen) != 0)
                rc = 1;
        }
    }
    if (rc == 0) {
        /* the result keeps the scenario and the observations */
        r->s = parts[0].s;
        r->cond = parts[0].cond;
        parts[0].s = NULL;
        parts[0].cond = NULL;
        r->end = RUN_COMPLETE;
        r->merged = m.count;
    } else {
        r->end = RUN_FAILED;
    }
    ho_discard(h5);
    pt_merge_free(&m);
    for (size_t i = 0; parts && i < n; i++)
        pt_close(&parts[i]);
    free(parts);
    return r->status = rc;
}
