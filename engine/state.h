/* state: the sampler's mergeable state (prefix sim_state_).
 *
 * Contract. A sim_state holds everything the summaries are made from,
 * exactly mergeable: integer counts, integer-count sketches, the
 * rank-correlation sample's rows and the kept trajectories, stored at
 * their path index, and which blocks of SIM_BLOCK paths are done. Two
 * states of one run that hold disjoint blocks merge into the state of
 * both, bit for bit: that is how shards, MPI ranks and a resumed
 * checkpoint give the same file as one run. sim_accumulate (sim.h) fills
 * one; output/h5state.h saves and loads one to and from a file's group
 * /state. A state owns its arrays (sim_state_free); no function here
 * prints, exits or touches a file.
 */
#ifndef RUNWAY_STATE_H
#define RUNWAY_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/metrics.h"
#include "engine/scenario.h"
#include "engine/sketch.h"

/* Paths a block holds: the unit of work of the sampler, of shards and of
 * checkpoints. */
#define SIM_BLOCK 1024

/* Rank correlations (the tornado) and the sensitivity indices and swings
 * (engine/sensitivity.h) are computed over the first SIM_SENS_PATHS paths
 * (all of them when N is smaller): exact Spearman on that sample, with a
 * sampling error of about 1/sqrt(2^18) = 0.002, and memory that does not
 * grow with N. */
#define SIM_SENS_PATHS ((size_t)1 << 18)

/* Kept trajectories: at most this many paths (--keep-paths). */
#define SIM_MAX_KEEP 1000000

/* A path's weight w in (0, 1] is stored as the integer round(w 2^32):
 * weights below 2^-33 count as 0, and sums over up to 2^31 paths fit 64
 * bits (a conditioned run refuses more). */
#define SIM_WBITS 32
#define SIM_WMAX_PATHS ((uint64_t)1 << 31)

typedef struct {
    size_t L, T, I, K, NS;
    uint64_t N, nblocks;
    uint64_t *alive, *acq, *wd, *sol, *prof;          /* [L][T]; sol: bought while solvent */
    uint64_t *indep;                                  /* [T][L+1] */
    sk_set sk;                                        /* [MT_N][L][T] */
    double *col_in;   /* [I][NS]: input i's column at col_in + i NS, as the
                         rank correlations read it (and as the kernel draws
                         a block: no transposing either way) */
    double *col_cash;                                 /* [NS][L] */
    int32_t *col_fy;  /* [NS][L] the sample's fail years (0: alive at the horizon):
                         survival to every year, for the sensitivity indices,
                         and to the horizon (sim_state_survived) */
    double *traj[MT_N];   /* [K][L][T] for metrics with trajectories, else NULL */
    uint8_t *traj_alive;                              /* [K][L][T] */
    uint8_t *done;                                    /* [nblocks] */
    int threads_used;
    /* Conditioned runs (sim_state_weigh): every count above is a sum of
     * integer weights. wsum: the weights of the paths done; wsq: the sum
     * of their squares, 128 bits as (hi, lo); lsum[k]: the sum of
     * round(l_k 2^32), observation k's likelihood, over the paths done;
     * col_w: the weights of the rank-correlation sample's paths. */
    int weighted;
    size_t nobs;
    uint64_t wsum, wsq_hi, wsq_lo;
    uint64_t *lsum;                                   /* [nobs] */
    double *col_w;                                    /* [NS] */
} sim_state;

/* An empty state for N paths of s, keeping the trajectories of paths
 * 0..keep-1 (at most N). 0, or -1 when memory runs out (st is then
 * freed). */
int sim_state_init(sim_state *st, const sc_scenario *s, uint64_t N, size_t keep);
/* Makes an initialised state a conditioned run's, on nobs observations.
 * 0, or -1 when memory runs out. */
int sim_state_weigh(sim_state *st, size_t nobs);
/* Frees the arrays; safe on a zeroed state. */
void sim_state_free(sim_state *st);
uint64_t sim_state_paths_done(const sim_state *st);
/* The sample's survival to the horizon as the rank correlations and the
 * state file's col_survived hold it: [NS][L], 1.0 where the fail year is
 * 0, else 0.0 (derived from col_fy, which the sampler alone stores).
 * Malloc'd; NULL out of memory or when the run draws no inputs. */
double *sim_state_survived(const sim_state *st);
/* Adds src's blocks into dst; refuses parts of different runs or overlaps
 * (-1 with a one-line message). */
int sim_state_merge(sim_state *dst, const sim_state *src, char *err, size_t errlen);
/* Checks that a loaded state is one the engine could have written for
 * scenario s, simulating only the blocks [b_lo, b_hi) (a shard's), so
 * that a damaged or hand-made state is refused instead of merged into a
 * wrong result. With P the paths of the blocks done (only inside
 * [b_lo, b_hi)), for every lab and year: alive + acquired + wound down =
 * P, failures and profitability never decrease, profitable <= P; each row
 * of `independent` counts P paths and as many labs as the independent
 * labs alive; each sketch counts one value per lab alive (subsidies: for
 * parent-backstopped labs only), its minimum and maximum lie in its first
 * and last non-empty buckets (the two edge buckets, which also count
 * NaNs, aside), and the header's overflow count is the count of the edge
 * buckets; kept trajectories of paths done are lives
 * (alive 0 or 1, never alive again once dead); the rank-correlation rows
 *  * of paths done hold finite inputs and fail years (0..T) that agree
 * with the trajectories and with `alive` in every year. Returns 0, or -1 with a
 * one-line message. */
int sim_state_check(const sim_state *st, const sc_scenario *s, uint64_t b_lo, uint64_t b_hi,
                    char *err, size_t errlen);

#endif
