/* batch: several runs of one command, a batch of scenario files (whose
 * index page scripts/batch_index.py writes), or a sweep of one scenario's
 * variants (prefix batch_).
 *
 * Contract. Every scenario (or variant) is loaded and checked before any
 * runs, so a typo in the last costs nothing; then each runs with run_one
 * into DIR, and spec->hooks.finished receives each result (the CLI
 * prints its table). The first run that does not succeed ends the batch
 * with its status (1, or RUN_EXIT_CHECKPOINT). Nothing is printed here:
 * a failure is reported through spec->hooks.note (the failed run's own
 * error through hooks.finished), a sweep's "variant i/n" lines through
 * hooks.say. Return values are exit statuses.
 */
#ifndef RUNWAY_BATCH_H
#define RUNWAY_BATCH_H

#include <stddef.h>

#include "app/run.h"

/* "scenarios/baseline.yaml" -> "baseline.h5" (malloc'd; NULL when memory
 * runs out). */
char *batch_default_output(const char *scenario);
/* DIR/NAME (malloc'd), DIR's trailing slashes dropped: never "DIR//NAME". */
char *batch_join(const char *dir, const char *name);
/* DIR/STEM[SUFFIX].h5 for a scenario file (malloc'd, suffix may be NULL). */
char *batch_output_in(const char *dir, const char *scenario, const char *suffix);

/* Creates dir and its missing parents (mkdir -p; mode 0777 less the
 * umask). 0, or -1 with one line in err. batch_run and batch_sweep call
 * it once every scenario or variant has been checked. */
int batch_make_dir(const char *dir, char *err, size_t errlen);

/* Runs scen[0..n-1] into dir, one file each named by batch_output_in.
 * On success *files (malloc'd, batch_free_labels(files, n)) holds the n
 * result paths, for the index page that scripts/batch_index.py writes
 * (the CLI runs it: pandas builds the table, as for a sweep's summary). */
int batch_run(const char *const *scen, size_t n, const char *dir, const run_spec *spec,
              char ***files);

/* One --vary NAME=V1,V2,...: the values of one input. */
typedef struct {
    char *name;
    char **values;
    size_t nvalues;
} batch_vary;

/* The number of variants (every combination), or SIZE_MAX beyond
 * BATCH_MAX_VARIANTS. */
#define BATCH_MAX_VARIANTS 10000
size_t batch_variants(const batch_vary *v, size_t nv);

/* Runs every variant of scen (every combination of the values of v, the
 * last --vary changing fastest) into dir/STEM_vNNN.h5, all with the same
 * seed (common random numbers make their differences signal, not noise).
 * On success *labels (malloc'd, batch_free_labels) holds for each variant
 * "NAME=V;NAME=V=FILE", what scripts/sweep_summary.py reads. */
int batch_sweep(const char *scen, const batch_vary *v, size_t nv, const char *dir,
                const run_spec *spec, char ***labels, size_t *nlabels);
void batch_free_labels(char **labels, size_t n);

#endif
