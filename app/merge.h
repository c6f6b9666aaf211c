/* merge: a run's shard files joined into its result file (prefix mg_),
 * for `runway merge` and for rank 0 of an MPI run.
 *
 * Contract. mg_merge opens the n shard files (output/part.h checks each:
 * one run, every shard once, blocks that do not overlap, the same
 * observations if conditioned), writes their per-path rows and the
 * summaries of their merged state to out, the bits one process would
 * have written, and commits it. It prints nothing: it returns the exit
 * status (0 or 1) with r as run_one leaves it (RUN_COMPLETE with
 * r->merged shards, or RUN_FAILED with r->err). spec supplies threads,
 * quiet and the command line recorded in the file; free r with
 * run_result_free.
 */
#ifndef RUNWAY_MERGE_H
#define RUNWAY_MERGE_H

#include <stddef.h>

#include "app/run.h"

int mg_merge(const char *const *parts, size_t n, const char *out, const run_spec *spec,
             run_result *r);

#endif
