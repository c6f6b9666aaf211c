/* run: one scenario run to one result file, whole, as a shard, resumed
 * from a checkpoint, as a backtest or conditioned on observations
 * (prefix run_).
 *
 * Contract. run_one and run_resume do everything `runway run` does for
 * one file (load and check the scenario, create the file before any path
 * runs, simulate, write the summaries or the shard's state or a
 * checkpoint, commit) and return an exit status: 0, 1 (failed: no file is
 * left at the output path) or RUN_EXIT_CHECKPOINT (stopped by *stop: the
 * file is a checkpoint). They print nothing and never exit: what went
 * wrong is r->err (one line), what the command line prints after a run
 * is in r (its table's data, a shard's or a checkpoint's line, a
 * conditioned run's effective sample size, a backtest's scores), and the
 * few lines a run has to say while it runs (the --target-halfwidth
 * search, a resume, a warning) go to spec->hooks.note, progress to
 * spec->hooks.progress. The caller frees r with run_result_free, whatever
 * the status.
 *
 * Threads: a run uses spec->threads OpenMP threads (0: all cores); its
 * file is the same bits whatever that number.
 */
#ifndef RUNWAY_RUN_H
#define RUNWAY_RUN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/evidence.h"
#include "engine/observe.h"
#include "engine/scenario.h"
#include "engine/sim.h"
#include "output/h5out.h"

/* --target-halfwidth's default cap: 2^22 paths. A half-width of 0.0005
 * (the finest the table's three decimals can show) needs at most
 * z^2 / (4 0.0005^2) = 3.84 million paths, at p = 1/2, the worst case;
 * beyond the cap the search stops with an error rather than run for
 * hours (about two minutes at 30,000 paths a second on 2 cores). */
#define RUN_TARGET_MAX_PATHS ((uint64_t)1 << 22)

/* EX_TEMPFAIL: stopped by a signal, resumable. */
#define RUN_EXIT_CHECKPOINT 75

typedef struct run_result run_result;

/* Room for a scenario's errors: up to 20 lines of one each (scenario.h). */
#define RUN_ERR_LEN 8192

/* What a run tells its caller while it runs. Every member may be NULL. */
typedef struct {
    void *ctx;
    /* a line for the user's terminal (stderr); the CLI prefixes "runway: " */
    void (*note)(void *ctx, const char *line);
    /* a line of the run's own output (stdout), e.g. a sweep's variant */
    void (*say)(void *ctx, const char *line);
    /* a run of a batch, a sweep or an MPI rank has ended (any status) */
    void (*finished)(void *ctx, const run_result *r);
    /* paths simulated so far (sim.h) */
    sim_progress_fn progress;
} run_hooks;

/* How to run: the options of `runway run`. */
typedef struct {
    sc_options so;            /* --set, --paths, --seed */
    const char *cmdline;      /* recorded in the file (command_line) */
    int threads;              /* 0: all cores */
    size_t keep;              /* kept trajectories */
    int per_path;             /* HO_PER_PATH_* */
    double target_hw;         /* --target-halfwidth; 0: off */
    uint64_t max_paths;       /* --max-paths: its cap; 0: RUN_TARGET_MAX_PATHS */
    const int *target_years;  /* --years: the calendar years it judges; */
    size_t ntarget_years;     /* 0: every year of the horizon */
    uint64_t shard_i, shard_n; /* --shard I/N; shard_n = 0: the whole run */
    const char *observations; /* a backtest's observations file, or NULL */
    const char *condition;    /* --condition FILE, or NULL */
    const char *scenario_text; /* rerun: the scenario's text (run_one's
                                  `scenario` then only names it), or NULL */
    int quiet;                /* no notes, no progress (errors still come back) */
    volatile sig_atomic_t *stop;      /* non-zero: checkpoint between blocks */
    volatile sig_atomic_t *interrupt; /* non-zero: abandon, no file */
    run_hooks hooks;
} run_spec;

typedef enum {
    RUN_FAILED,     /* status 1, err */
    RUN_COMPLETE,   /* a complete result file: res holds its summaries */
    RUN_SHARD,      /* a shard's file */
    RUN_CHECKPOINT  /* status RUN_EXIT_CHECKPOINT: a checkpoint at out */
} run_end;

struct run_result {
    int status;             /* the exit status */
    run_end end;
    char err[RUN_ERR_LEN];  /* RUN_FAILED: one line, without "runway: " (a
                               scenario's load: one line per error) */
    const char *out;        /* the file (the caller's string) */
    int quiet;              /* spec->quiet of the run */
    sc_scenario *s;         /* the scenario as run (owned; NULL if it did not load) */
    sim_result res;         /* RUN_COMPLETE: the summaries */
    double secs;            /* RUN_COMPLETE: wall time */
    uint64_t merged;        /* a merge's RUN_COMPLETE: the shards it joined */
    uint64_t paths_done;    /* RUN_CHECKPOINT: paths in the checkpoint */
    int signal;             /* RUN_CHECKPOINT: the signal (*spec->stop) */
    uint64_t shard_index, shard_count, first_path, rows; /* RUN_SHARD */
    ob_set *cond;           /* a conditioned run's observations (owned), or NULL */
    ob_set *obs;            /* a backtest's observations (owned), or NULL */
    ev_scores sc;           /* its scores, when scored */
    int scored;
    /* --target-halfwidth: the fewest paths that meet it, the widest
     * half-width there and its lab (index) and calendar year; 0: off */
    uint64_t target_paths;
    double target_widest;
    int target_lab, target_year;
};

void run_result_free(run_result *r);

/* Runs the scenario file `scenario`, with spec's overrides and then
 * extra[0..nextra-1] (a sweep's), to the file out. */
int run_one(const char *scenario, const sc_override *extra, size_t nextra, const char *out,
            const run_spec *spec, run_result *r);

/* Continues the checkpoint at path (of a whole run or of a shard) into
 * the same path. spec's scenario options are not used: the file holds
 * its scenario. */
int run_resume(const char *path, const run_spec *spec, run_result *r);

/* `runway rerun`: runs again the run stored in the complete result file
 * `stored`, into out: its scenario as written (attribute scenario_source)
 * with its overrides applied (attribute overrides: --set, --paths,
 * --seed, a sweep's values, --target-halfwidth's count), its kept
 * trajectories and per-path data; so every result dataset is the
 * stored one's, bit for bit. spec gives threads, quiet and the hooks;
 * its scenario options are not used. Refuses conditioned runs, backtests,
 * shards and checkpoints (they have their own commands). A file written
 * before scenario_source was recorded is re-run from scenario_yaml. */
int run_rerun(const char *stored, const char *out, const run_spec *spec, run_result *r);

/* Loads and checks a scenario with so's overrides and then extra's.
 * 0, or -1 with one line in err. */
int run_load(sc_scenario **s, const char *path, const sc_options *so, const sc_override *extra,
             size_t nextra, char *err, size_t errlen);

/* ---- for the other writers of result files (merge.c) ---- */

/* What a file is for, whatever its kind (whole, shard, resumed, merged). */
typedef struct {
    const sc_scenario *s;
    const char *out;
    const char *cmdline;
    int threads, processes, per_path;
    size_t K;
    uint64_t rows, first_path;   /* the file's path rows */
    int shard;                   /* 1: a shard file */
    uint64_t shard_index, shard_count;
    const ob_set *cond;          /* a conditioned run's observations, or NULL */
    const volatile sig_atomic_t *stop, *interrupt; /* the run_spec's */
} run_file;

/* Creates the file with every attribute of fp (ho_create and the
 * attributes of shards and conditioned runs). NULL with err. */
ho_file *run_open_file(const run_file *fp, char *err, size_t errlen);

/* A sink that writes per-path rows to h5 (NULL: none), at row
 * first - first_path; it fails once *interrupt is non-zero. */
typedef struct {
    ho_file *h5;
    uint64_t first_path;
    volatile sig_atomic_t *interrupt;
} run_sink;
int run_sink_paths(void *ctx, uint64_t first, uint64_t count, const sim_paths_block *blk,
                   char *err, size_t errlen);

/* Finalises st into r->res, writes the summaries, the trajectories and
 * what the run learnt (clamped values, n_eff, a backtest's scores when
 * r->obs is set, from x: [N][obs->n]), and commits h5. Owns h5 (discarded
 * on failure). 0, or -1 with err. */
int run_finish_file(ho_file *h5, const sim_state *st, const sc_scenario *s, int threads,
                    const double *x, run_result *r, const run_hooks *hooks, char *err,
                    size_t errlen);

#endif
