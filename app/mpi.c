/* mpi: one run split over MPI ranks (see mpi.h). */
#include "app/mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include "app/merge.h"

int mpi_run(const char *scen, const char *out, int resume, const run_spec *spec)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* Part names depend only on the output and the rank count, so that a
     * checkpointed run resumes rank by rank. */
    size_t len = strlen(out) + 64;
    char **parts = calloc((size_t)size, sizeof *parts);
    for (int r = 0; parts && r < size; r++)
        if ((parts[r] = malloc(len)))
            snprintf(parts[r], len, "%s.part%dof%d.h5", out, r, size);
    run_spec mine = *spec;
    mine.shard_i = (uint64_t)rank;
    mine.shard_n = (uint64_t)size;
    mine.quiet = 1;
    int rc = 1;
    if (parts && parts[rank]) {
        run_result r;
        rc = resume ? run_resume(parts[rank], &mine, &r) : run_one(scen, NULL, 0, parts[rank], &mine, &r);
        if (spec->hooks.finished)
            spec->hooks.finished(spec->hooks.ctx, &r);
        run_result_free(&r);
    }
    int worst = 0, any_stop = 0, stop = rc == RUN_EXIT_CHECKPOINT;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(&stop, &any_stop, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any_stop) {
        /* every rank keeps its part; any failure beats a checkpoint */
        if (rank == 0 && worst == RUN_EXIT_CHECKPOINT && spec->hooks.note) {
            char line[4200];
            snprintf(line, sizeof line, "checkpoint in %s.part*of%d.h5; resume with: mpirun -np %d "
                                        "runway-mpi run --resume %s", out, size, size, out);
            spec->hooks.note(spec->hooks.ctx, line);
        }
    } else if (rank == 0 && worst == 0) {
        for (int r = 0; r < size; r++)
            if (!parts[r])
                worst = 1;
    }
    if (!any_stop && rank == 0 && worst == 0) {
        /* the merge of `runway merge PART0 .. PARTn-1 -o OUT`: the
         * default thread count, as that command would take */
        run_spec ms = *spec;
        ms.threads = 0;
        run_result r;
        worst = mg_merge((const char *const *)parts, (size_t)size, out, &ms, &r);
        if (spec->hooks.finished)
            spec->hooks.finished(spec->hooks.ctx, &r);
        run_result_free(&r);
    }
    MPI_Bcast(&worst, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!any_stop && worst == 0 && parts && parts[rank])
        unlink(parts[rank]);
    for (int r = 0; parts && r < size; r++)
        free(parts[r]);
    free(parts);
    return worst;
}
