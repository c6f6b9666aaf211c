/* bench_common: what the benchmark programs share (prefix bench_).
 *
 * bench_repeat: how many times each figure is timed (its best is kept),
 * from BENCH_REPEAT, default 3; one rule for every program, so that
 * scripts/bench.sh's figures are all taken alike.
 * bench_sink_touch: an on_paths sink that reads each block of per-path
 * outcomes (so the sampler cannot skip making them) and keeps nothing.
 */
#ifndef RUNWAY_BENCH_COMMON_H
#define RUNWAY_BENCH_COMMON_H

#include <stdint.h>
#include <stdlib.h>

#include "engine/sim.h"

static inline int bench_repeat(void)
{
    const char *rep = getenv("BENCH_REPEAT");
    return rep && atoi(rep) > 0 ? atoi(rep) : 3;
}

static inline int bench_sink_touch(void *ctx, uint64_t first, uint64_t count,
                                   const sim_paths_block *b, char *err, size_t errlen)
{
    (void)first; (void)err; (void)errlen;
    double *sum = ctx; /* sinks run on several threads at once */
#pragma omp atomic
    *sum += b->final_cash[0] + (double)count;
    return 0;
}

#endif
