/* sim: the sampler loop (prefix sim_).
 *
 * Contract. sim_run simulates paths 0..N-1 of a checked scenario in blocks
 * of SIM_BLOCK paths, spread over OpenMP threads, and reduces them into the
 * summaries of MODEL.md section 5. Every reduction is exact and
 * independent of order (integer counts, integer-count quantile sketches,
 * rank correlations computed after the loop from per-path values stored at
 * their path index), so every result is identical, bit for bit, whatever
 * the number of threads and however blocks are scheduled.
 *
 * Per-path outcomes are handed, block by block, to opts->on_paths so a
 * caller can stream them to disk: blocks in any order, from the
 * simulating threads, several at once (a sink locks what it must).
 */
#ifndef RUNWAY_SIM_H
#define RUNWAY_SIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/metrics.h"
#include "engine/observe.h"
#include "engine/scenario.h"
#include "engine/sketch.h"
#include "output/h5out.h"
#include "output/h5read.h"

#define SIM_BLOCK 1024

/* Rank correlations (the tornado) are computed over the first
 * SIM_SENS_PATHS paths (all of them when N is smaller): exact Spearman on
 * that sample, with a sampling error of about 1/sqrt(2^18) = 0.002, and
 * memory that does not grow with N. */
#define SIM_SENS_PATHS ((size_t)1 << 18)

/* Kept trajectories: at most this many paths (--keep-paths). */
#define SIM_MAX_KEEP 1000000

typedef int (*sim_paths_fn)(void *ctx, uint64_t first, uint64_t count,
                            const ho_paths *block, char *err, size_t errlen);

/* A probe: one simulated quantity of every path, recorded at its path
 * index (a backtest scores them; MODEL.md section 8). */
typedef enum {
    SIM_PROBE_CASH, SIM_PROBE_REVENUE, SIM_PROBE_OP, SIM_PROBE_RAISED, SIM_PROBE_SHARE,
    SIM_PROBE_SIZE,   /* a segment's size: lab = -1, segment 0 sub, 1 api, 2 ent */
    SIM_PROBE_STATUS  /* MD_SURVIVED (alive) or the lab's outcome, at the end of year t */
} sim_probe_kind;

typedef struct {
    sim_probe_kind kind;
    int lab;     /* index in the scenario, -1 for a segment */
    int segment; /* SIM_PROBE_SIZE only */
    int t;       /* 1..T */
} sim_probe;

typedef struct {
    uint64_t paths;      /* N; 0 means the scenario's */
    uint64_t seed;       /* used as given */
    int threads;         /* 0: OpenMP's default */
    size_t keep;         /* trajectories kept for paths 0..keep-1 */
    int progress;        /* 1: progress on stderr */
    int reference;       /* 1: the scalar reference model (tests) */
    volatile sig_atomic_t *stop; /* when *stop turns non-zero, no new block starts */
    sim_paths_fn on_paths; /* may be NULL */
    void *ctx;
    /* Probes (may be 0): probe_x[path * nprobes + k] receives probe k's
     * value on that path, NaN where it does not exist (a lab's figures
     * in a year it did not start alive). The caller owns probe_x. */
    const sim_probe *probes;
    size_t nprobes;
    double *probe_x; /* [N][nprobes] */
    /* Conditioning (MODEL.md section 8; NULL: none). Each path's weight
     * is the product of the observations' likelihoods l, quantised to an
     * integer W = round(w 2^SIM_WBITS) so that every sum is exact and
     * independent of order; every count and sketch then adds W instead of
     * 1. The state must have been made weighted (sim_state_weigh). */
    const ob_set *cond;
} sim_options;

/* A path's weight w in (0, 1] is stored as the integer round(w 2^32):
 * weights below 2^-33 count as 0, and sums over up to 2^31 paths fit 64
 * bits (a conditioned run refuses more). */
#define SIM_WBITS 32
#define SIM_WMAX_PATHS ((uint64_t)1 << 31)

typedef struct {
    size_t L, T, I, K;
    uint64_t N;
    double *survival, *survival_lo, *survival_hi;     /* [L][T] */
    double *failed_acquired, *failed_wound_down, *profitable_by;
    double *acquired_solvent;                         /* [L][T] */
    double *q[MT_N];                                  /* [L][T][5], by metric */
    double *independent_alive;                        /* [T][L+1] */
    double *sensitivity_survival, *sensitivity_cash;  /* [L][I] */
    uint64_t *kept_paths;                             /* [K] */
    double *traj[MT_N];   /* [K][L][T] for metrics with trajectories, else NULL */
    uint8_t *traj_alive;                              /* [K][L][T] */
    uint64_t overflow; /* values outside the sketches' range (see sketch.h) */
    /* conditioned runs: n_eff = (sum w)^2 / sum w^2, evidence = mean w,
     * and each observation's mean likelihood; weighted = 0 otherwise */
    int weighted;
    double n_eff, evidence;
    size_t nobs;
    double *obs_evidence; /* [nobs] */
    int threads_used;
    size_t sens_paths; /* paths behind the rank correlations */
} sim_result;

/* Everything the summaries are made from, exactly mergeable: integer
 * counts, integer-count sketches, the rank-correlation sample's rows and
 * the kept trajectories, stored at their path index, and which blocks of
 * SIM_BLOCK paths are done. Two states of one run that hold disjoint
 * blocks merge into the state of both, bit for bit: that is how shards,
 * MPI ranks and a resumed checkpoint give the same file as one run. */
typedef struct {
    size_t L, T, I, K, NS;
    uint64_t N, nblocks;
    uint64_t *alive, *acq, *wd, *sol, *prof;          /* [L][T]; sol: bought while solvent */
    uint64_t *indep;                                  /* [T][L+1] */
    sk_set sk;                                        /* [MT_N][L][T] */
    double *col_in, *col_surv, *col_cash;             /* [NS][I], [NS][L], [NS][L] */
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

/* Makes an initialised state a conditioned run's, on nobs observations.
 * 0, or -1 when memory runs out. */
int sim_state_weigh(sim_state *st, size_t nobs);

int sim_state_init(sim_state *st, const sc_scenario *s, uint64_t N, size_t keep);
void sim_state_free(sim_state *st);
uint64_t sim_state_paths_done(const sim_state *st);
/* Simulates the blocks in [b_lo, b_hi) not yet done (block b holds paths
 * b SIM_BLOCK ..), until all are or *opts->stop turns non-zero. */
int sim_accumulate(sim_state *st, const sc_scenario *s, const sim_options *opts,
                   uint64_t b_lo, uint64_t b_hi, char *err, size_t errlen);
/* Adds src's blocks into dst; refuses parts of different runs or overlaps. */
int sim_state_merge(sim_state *dst, const sim_state *src, char *err, size_t errlen);
/* The summaries; every block must be done. */
int sim_finalize(const sim_state *st, const sc_scenario *s, int threads, sim_result *res,
                 char *err, size_t errlen);
/* To and from group /state of a result file. sim_state_load fills a state
 * made by sim_state_init for the run the file is for; it refuses datasets
 * of other shapes and other kinds, and values no type holds exactly. */
int sim_state_save(const sim_state *st, ho_file *f, char *err, size_t errlen);
int sim_state_load(sim_state *st, hr_file *f, char *err, size_t errlen);
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
 * of paths done hold finite inputs and survival flags that agree with the
 * trajectories and with `alive` at the horizon. Returns 0, or -1 with a
 * one-line message. */
int sim_state_check(const sim_state *st, const sc_scenario *s, uint64_t b_lo, uint64_t b_hi,
                    char *err, size_t errlen);

/* Returns 0 and fills res (free with sim_result_free), or -1 with err. */
int sim_run(const sc_scenario *s, const sim_options *opts, sim_result *res,
            char *err, size_t errlen);
void sim_result_free(sim_result *res);

/* Views of the result as the writer's structs (pointers into res). */
void sim_summary_view(const sim_result *res, ho_summary *out);
void sim_traj_view(const sim_result *res, ho_traj *out);

#endif
