/* part: checkpoints and shards read back, for `runway run --resume` and
 * `runway merge` (prefix pt_).
 *
 * Contract. These files come from other runs, other machines, or a hand
 * that edited them, so nothing in them is trusted: every function either
 * succeeds with a part that the engine could have written (the state of
 * its scenario, for its own paths only, consistent with itself and with
 * its per-path rows; sim_state_check in engine/state.h lists the rules), or returns
 * -1 with a one-line message naming the file. No function prints, exits
 * or writes a file. A part owns its open file, scenario and state;
 * pt_close frees them (safe on a zeroed part, after a failure too).
 *
 * The steps, in the order `runway` takes them:
 *   resume:  pt_open, pt_check_resume, pt_copy_paths (if it has rows);
 *   merge:   pt_open and pt_merge_add for each part, pt_merge_finish,
 *            pt_copy_paths of each (if the first part has rows), and
 *            sim_finalize of the first part's state, which holds them all.
 */
#ifndef RUNWAY_PART_H
#define RUNWAY_PART_H

#include <stddef.h>
#include <stdint.h>

#include "engine/scenario.h"
#include "engine/sim.h"
#include "output/h5out.h"
#include "output/h5read.h"

typedef struct {
    const char *path;        /* as given to pt_open (not owned) */
    hr_file *hf;
    sc_scenario *s;          /* loaded from the file's scenario_yaml */
    char *yaml;              /* scenario_yaml as stored */
    ob_set *cond;            /* a conditioned run's observations (its
                                observations_yaml, read against s), or NULL */
    sim_state st;            /* the saved state (a merge adds other parts into
                                the first part's) */
    int per_path;            /* HO_PER_PATH_*, from the datasets in `paths` */
    uint64_t axis_first, axis_rows; /* the file's `path` axis: first value, length */
    int is_shard;            /* shard_index and shard_count are both there */
    uint64_t shard_index, shard_count;
    /* Set by pt_check_resume or pt_merge_add: the blocks and the paths
     * this file is for (a shard's share, or the whole run). */
    uint64_t blo, bhi, first_path, rows;
    /* The counts as loaded, before any merge: what the per-path rows
     * must add up to. */
    uint64_t *own;           /* acquired, wound down, profitable [L][T] each,
                                then independent [T][L+1] */
} pt_part;

/* The blocks of shard i of n: a contiguous share, whole blocks only, so
 * that a shard's paths are the same whatever the thread count (`runway
 * run --shard I/N` runs these; a part must hold exactly them). */
void pt_shard_blocks(uint64_t nblocks, uint64_t i, uint64_t n, uint64_t *lo, uint64_t *hi);

/* Opens a checkpoint or shard file and loads its scenario and saved
 * state. Refuses a file that is not HDF5, has no saved state, whose state
 * is not for its own scenario_yaml, or that keeps more trajectories than
 * a run can (SIM_MAX_KEEP); does not judge yet whether the file suits a
 * resume or a merge. On failure p still holds what it opened: pt_close. */
int pt_open(pt_part *p, const char *path, char *err, size_t errlen);

/* Frees the part. pt_close_file closes only the file (a resume rewrites
 * it). */
void pt_close(pt_part *p);
void pt_close_file(pt_part *p);

/* A file `runway run --resume` can finish: complete = 0, a valid shard
 * index if it names one, a path axis of exactly its paths (or none, with
 * --per-path none), per_path as its datasets say, and a state that passes
 * sim_state_check for its blocks. Sets blo, bhi, first_path, rows. */
int pt_check_resume(pt_part *p, char *err, size_t errlen);

/* A merge in progress: the first part added receives the others. */
typedef struct {
    pt_part *first;
    char *version;           /* the first part's runway_version */
    uint64_t count;          /* shard_count of the run */
    uint8_t *seen;           /* [count]: shard indices added */
} pt_merge;

/* Adds part p (opened with pt_open) to m: p must be a shard (shard_index,
 * shard_count, seed and runway_version present), of the same run as the
 * first part (shard count, scenario_yaml, version), a shard index not
 * seen before, hold what a shard of that index holds (path axis, blocks
 * done, pt_check_resume's rules otherwise), and its blocks must not
 * overlap those already added. p must stay valid until the merge ends.
 * Messages start with p's file name. */
int pt_merge_add(pt_merge *m, pt_part *p, char *err, size_t errlen);
/* Every shard of the run was added. */
int pt_merge_finish(const pt_merge *m, char *err, size_t errlen);
void pt_merge_free(pt_merge *m);

/* Reads the per-path rows of the blocks p has done (of its own paths,
 * after pt_check_resume or pt_merge_add), checks them, and hands them to
 * sink block by block (first = the run's path index of the first row; the
 * block's pointers are valid during the call only). Inputs are read only
 * if with_inputs (and the scenario has inputs; else blk->inputs points to
 * zeros). The rows must be ones the engine writes: fail and profit years
 * within the horizon, an outcome code 0, 1 or 2 that is 0 exactly when
 * the lab survived; and they must agree with p's state as loaded (counts
 * of failures and profitability per lab and year, independent labs
 * alive, and the rank-correlation and trajectory rows of the same paths).
 * A disagreement is found only after the last row: a caller that writes
 * what sink gets must discard it on failure. */
int pt_copy_paths(const pt_part *p, int with_inputs, sim_paths_fn sink, void *ctx,
                  char *err, size_t errlen);

#endif
