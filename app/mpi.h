/* mpi: `mpirun -np N runway-mpi run SCENARIO` (prefix mpi_; built only
 * with RUNWAY_MPI).
 *
 * Contract. Rank r runs shard r of N (run_one, or run_resume of its own
 * part with --resume) into a part file beside the output,
 * OUT.part<r>of<N>.h5; when every rank succeeded, rank 0 joins the parts
 * in shard order with mg_merge, exactly as `runway merge` would (integer
 * counts and sketches, rows at their path index), and every rank removes
 * its part. The result is the single-process file, bit for bit, for any
 * N. When a signal stopped a rank, every rank keeps its part (a
 * checkpoint: the same command with --resume OUT.h5 finishes it) and rank
 * 0 says how to resume through spec->hooks.note. Each rank's own run and
 * rank 0's merge go to spec->hooks.finished (the CLI prints them); the
 * rank runs are quiet. Returns the worst exit status of all ranks (the
 * same on every rank); MPI must be initialised.
 */
#ifndef RUNWAY_MPI_H
#define RUNWAY_MPI_H

#include "app/run.h"

/* scen: the scenario file (NULL with --resume); out: the result file. */
int mpi_run(const char *scen, const char *out, int resume, const run_spec *spec);

#endif
