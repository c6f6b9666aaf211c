/* h5state: the sampler's mergeable state (engine/state.h) in group /state
 * of a result file, for checkpoints, shards and merges (prefix hs_).
 *
 * Contract. hs_save writes every array of the state as a 2-D dataset of
 * /state (header [N, nblocks, overflow, K], counts, the sketches as
 * sparse (bucket, count) rows, the blocks done, the kept trajectories
 * traj_FIELD of each metric that has them, the rank-correlation sample,
 * and a conditioned run's weights); hs_load reads them back into a state
 * made by sim_state_init for the run the file is for, refusing datasets
 * of other shapes and other kinds and values no type holds exactly, so
 * that sim_state_check can then judge what was read. Both return 0, or
 * -1 with a one-line message naming the file.
 */
#ifndef RUNWAY_H5STATE_H
#define RUNWAY_H5STATE_H

#include <stddef.h>

#include "engine/state.h"
#include "output/h5out.h"
#include "output/h5read.h"

int hs_save(const sim_state *st, ho_file *f, char *err, size_t errlen);
int hs_load(sim_state *st, hr_file *f, char *err, size_t errlen);

#endif
