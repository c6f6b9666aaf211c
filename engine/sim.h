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
 * simulating threads, several at once (a sink locks what it must). The
 * sampler prints nothing: progress goes to opts->on_progress.
 */
#ifndef RUNWAY_SIM_H
#define RUNWAY_SIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/metrics.h"
#include "engine/observe.h"
#include "engine/scenario.h"
#include "engine/state.h"

/* The quantile levels of every quantile summary: 0.05 0.25 0.5 0.75 0.95. */
#define SIM_NQUANT 5
extern const double sim_quantiles[SIM_NQUANT];

/* The per-path outcomes of `count` consecutive paths, row by row (a row
 * is one path); the result file's group `paths` (output/h5out.h writes
 * it as is). */
typedef struct {
    const int32_t *fail_year;   /* [count][L], 0 = survived the horizon */
    const int8_t *outcome;      /* [count][L], 0 survived 1 acquired 2 wound down
                                   3 acquired while solvent */
    const int32_t *profit_year; /* [count][L], 0 = never profitable */
    const double *final_cash;   /* [count][L] */
    const double *raised_total; /* [count][L] */
    const double *inputs;       /* [count][I] */
    const double *weight;       /* [count] a conditioned run's weights, else NULL */
} sim_paths_block;

/* A sink for per-path rows: paths first .. first+count-1. The block's
 * pointers are valid during the call only. 0, or -1 with a one-line
 * message (the run then stops). */
typedef int (*sim_paths_fn)(void *ctx, uint64_t first, uint64_t count,
                            const sim_paths_block *block, char *err, size_t errlen);

/* Progress of sim_accumulate, for a display: SIM_PROGRESS_START before
 * the first block, SIM_PROGRESS_BLOCK after each block one thread
 * (OpenMP's thread 0) finishes, with the paths this call has simulated
 * so far and the run's N, and SIM_PROGRESS_END when the loop is over.
 * Called from the simulating thread: it must be quick. */
typedef enum { SIM_PROGRESS_START, SIM_PROGRESS_BLOCK, SIM_PROGRESS_END } sim_progress_event;
typedef void (*sim_progress_fn)(void *ctx, sim_progress_event ev, uint64_t done, uint64_t N);

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
    int reference;       /* 1: the scalar reference model (tests) */
    volatile sig_atomic_t *stop; /* when *stop turns non-zero, no new block starts */
    sim_paths_fn on_paths; /* may be NULL */
    void *ctx;
    sim_progress_fn on_progress; /* may be NULL */
    void *progress_ctx;
    /* Probes (may be 0): probe_x[path * nprobes + k] receives probe k's
     * value on that path, NaN where it does not exist (a lab's figures
     * in a year at whose end it is not alive). The caller owns probe_x. */
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

typedef struct {
    size_t L, T, I, K;
    uint64_t N;
    double *survival, *survival_lo, *survival_hi;     /* [L][T] */
    double *failed_acquired, *failed_wound_down, *profitable_by;
    double *acquired_solvent;                         /* [L][T] */
    double *q[MT_N];                                  /* [L][T][SIM_NQUANT], by metric */
    double *independent_alive;                        /* [T][L+1] */
    double *sensitivity_survival, *sensitivity_cash;  /* [L][I] */
    /* engine/sensitivity.h over the same sample: first-order indices and
     * swings of survival to each year, and the index of each correlated
     * set; input_group[i] is input i's set, group_names[g] set g's name */
    size_t G;
    double *sensitivity_index, *sensitivity_swing;    /* [L][T][I] */
    double *sensitivity_group_index;                  /* [L][T][G] */
    int *input_group;                                 /* [I] */
    char **group_names;                               /* [G] */
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

/* Simulates the blocks in [b_lo, b_hi) not yet done (block b holds paths
 * b SIM_BLOCK ..), until all are or *opts->stop turns non-zero. */
int sim_accumulate(sim_state *st, const sc_scenario *s, const sim_options *opts,
                   uint64_t b_lo, uint64_t b_hi, char *err, size_t errlen);
/* The summaries; every block must be done. */
int sim_finalize(const sim_state *st, const sc_scenario *s, int threads, sim_result *res,
                 char *err, size_t errlen);

/* Returns 0 and fills res (free with sim_result_free), or -1 with err. */
int sim_run(const sc_scenario *s, const sim_options *opts, sim_result *res,
            char *err, size_t errlen);
void sim_result_free(sim_result *res);

#endif
