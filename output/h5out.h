/* h5out: the result file of ../shared/OUTPUT.md (prefix ho_).
 *
 * Contract. A result file is written under a temporary name beside the
 * requested one ("OUT.h5.tmp-" and six random characters, created exclusively, so no
 * planted file or link can stand in for it) and renamed onto the
 * requested path only by ho_commit, after every dataset has been written
 * and flushed. A run that fails or is abandoned calls ho_discard, which
 * removes the temporary file, so no failed run ever leaves a file at the
 * requested path. ho_create refuses a requested path that exists and is
 * not a regular file, or that a rename could not replace (another user's
 * file in a sticky directory), and per-path data that cannot fit the file
 * system. When everything was written but the rename fails, ho_commit
 * keeps the temporary file and its message says where it is.
 *
 * The layout follows the netCDF-4 data model: every axis is an HDF5
 * dimension scale (H5DS) attached to the datasets that use it, every
 * dataset has `units` and `long_name`, strings are UTF-8, and datasets
 * whose size scales with the path count are chunked and compressed
 * (shuffle + deflate). Arrays below are row-major C arrays in the axis
 * order OUTPUT.md gives (lab before year before quantile, path before lab).
 *
 * This module owns no result memory: callers pass pointers that must stay
 * valid for the duration of the call only. All functions return 0 on
 * success, -1 with a one-line message in err on failure (the message names
 * the file and what failed, e.g. "out.h5: cannot create file: Permission
 * denied"). HDF5's automatic error printing is switched off.
 */
#ifndef RUNWAY_H5OUT_H
#define RUNWAY_H5OUT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/metrics.h"
#include "engine/sim.h"

/* The quantile axis: the engine's levels (0.05 0.25 0.5 0.75 0.95). */
#define HO_NQUANT SIM_NQUANT
#define ho_quantiles sim_quantiles

/* What the per-path group holds (--per-path). */
enum {
    HO_PER_PATH_NONE = 0,     /* no group `paths` */
    HO_PER_PATH_ALL = 1,      /* outcomes and drawn inputs */
    HO_PER_PATH_OUTCOMES = 2, /* outcomes only: no `paths/inputs` */
};

typedef struct {
    const char *title;
    const char *scenario_name;
    const char *scenario_yaml;
    const char *version;
    const char *created;      /* ISO 8601 UTC, e.g. 2026-11-23T05:30:00Z */
    const char *command_line;
    uint64_t seed;
    uint64_t paths;           /* N */
    int horizon;              /* T */
    int base_year;
    int threads;
    int processes;
    size_t nlabs;             /* L */
    const char *const *lab_names;
    size_t ninputs;           /* I (may be 0) */
    const char *const *input_names;
    /* The correlated sets of inputs (engine/sensitivity.h, sn_groups):
     * the `group` axis and dataset input_group. input_group NULL (and
     * ngroups 0): every input a set of its own, named after it. */
    size_t ngroups;           /* G */
    const char *const *group_names;
    const int *input_group;   /* [ninputs], each in 0..G-1 */
    size_t nkept;             /* K (may be 0) */
    const uint64_t *kept_paths;
    int per_path;             /* HO_PER_PATH_*: what group `paths` holds */
    int weighted;             /* a conditioned run: paths/weight too */
    /* Either turning non-zero (a signal's number) abandons the creation
     * of a large file between chunks of its path axis; NULL: never. */
    const volatile sig_atomic_t *stop, *interrupt;
    uint64_t first_path;      /* a shard's first path: the `path` axis is
                                 first_path .. first_path + paths - 1 */
} ho_meta;

/* The summaries, in the order of the file. The quantiles of the metrics
 * of engine/metrics.h come one field each, named after their dataset:
 * cash_q, revenue_q, op_cash_flow_q, raised_q, ownership_q, share_q,
 * parent_subsidy_q ([L][T][5] each). */
typedef struct {
    const double *survival, *survival_lo, *survival_hi;     /* [L][T] */
    const double *failed_acquired, *failed_wound_down;      /* [L][T] */
    const double *profitable_by;                            /* [L][T] */
#define HO_SUMMARY_Q_(K, f, n, u, tr, ql, tl) const double *n##_q;
    MT_METRICS(HO_SUMMARY_Q_)
#undef HO_SUMMARY_Q_
    const double *independent_alive;                        /* [T][L+1] */
    const double *sensitivity_survival, *sensitivity_cash;  /* [L][I] */
    const double *acquired_solvent;                         /* [L][T] */
    const double *sensitivity_index, *sensitivity_swing;    /* [L][T][I] */
    const double *sensitivity_group_index;                  /* [L][T][G] */
} ho_summary;

/* Per-path outcomes of `count` consecutive paths starting at `first`:
 * the engine's block (engine/sim.h), written as it comes. */
typedef sim_paths_block ho_paths;

/* Kept trajectories, [K][L][T]; after a lab fails, the continuous values
 * are NaN and alive is 0. One field per metric of engine/metrics.h that
 * has trajectories, named after its dataset (cash, revenue, op_cash_flow,
 * raised, share), then alive. */
typedef struct {
#define HO_TRAJ_(K, f, n, u, tr, ql, tl) MT_IF(tr, const double *n;)
    MT_METRICS(HO_TRAJ_)
#undef HO_TRAJ_
    const uint8_t *alive;
} ho_traj;

/* The summaries and trajectories of a result, as the writer's structs
 * (pointers into r, valid while r is). */
void ho_summary_view(const sim_result *r, ho_summary *out);
void ho_traj_view(const sim_result *r, ho_traj *out);

typedef struct ho_file ho_file; /* opaque */

/* Creates the temporary file with every axis, attribute and dataset of
 * the layout (per-path datasets sized N, filled as blocks arrive; root
 * attribute `complete` = 0 and `paths_done` = 0). */
ho_file *ho_create(const char *final_path, const ho_meta *meta,
                   char *err, size_t errlen);

/* The rows of group `paths` come in whole sampler blocks: the writer's
 * chunks divide a block, so each block is whole chunks and nothing is
 * held back, spilled or read again. */
#define HO_BLOCK_ROWS SIM_BLOCK

/* Writes rows [first, first+count) of every dataset in group `paths`:
 * first a multiple of HO_BLOCK_ROWS, count one too unless the rows end at
 * the path count (else -1: the sampler, shards and resumes all write
 * whole blocks). Blocks may come in any order; a block written twice is
 * refused. A no-op returning 0 when meta->per_path is 0. Several threads
 * may call it at once on one file (they compress their chunks at the
 * same time); no other function of this module may run on that file
 * meanwhile. */
int ho_write_paths(ho_file *f, uint64_t first, uint64_t count,
                   const ho_paths *p, char *err, size_t errlen);

int ho_write_traj(ho_file *f, const ho_traj *t, char *err, size_t errlen);
int ho_write_summary(ho_file *f, const ho_summary *s, char *err, size_t errlen);

/* Records how many paths the file holds so far (attribute `paths_done`)
 * and flushes; `complete` stays 0. */
int ho_mark_progress(ho_file *f, uint64_t paths_done, char *err, size_t errlen);

/* Sets `complete` = 1 and `paths_done` = N, closes, and renames the
 * temporary file onto the final path. Frees f whatever happens; on
 * failure the temporary file is removed, except when only the rename
 * failed: then it is kept, and err names it. */
int ho_commit(ho_file *f, char *err, size_t errlen);

/* As ho_commit, but for a checkpoint or a shard: `complete` stays 0 and
 * `paths_done` records how many paths the file holds; rows not written
 * keep their fill values, and no summary is required. */
int ho_commit_partial(ho_file *f, uint64_t paths_done, char *err, size_t errlen);

/* A 2-D array in group /state (the exact accumulator state a merge or a
 * resume continues from), shuffled and deflated. */
enum { HO_U64, HO_F64, HO_I32, HO_U8 };
int ho_put_state(ho_file *f, const char *name, int type, const void *data,
                 uint64_t rows, uint64_t cols, char *err, size_t errlen);

/* The open HDF5 file (an hid_t) for writers of further groups
 * (h5evidence.c); valid until commit or discard. */
int64_t ho_file_id(const ho_file *f);

/* An extra unsigned root attribute (e.g. shard_index). */
int ho_put_attr_u64(ho_file *f, const char *name, uint64_t v, char *err, size_t errlen);
/* An extra root attribute, a double or a UTF-8 string (e.g. n_eff,
 * observations_yaml). */
int ho_put_attr_f64(ho_file *f, const char *name, double v, char *err, size_t errlen);
int ho_put_attr_str(ho_file *f, const char *name, const char *v, char *err, size_t errlen);

/* Removes every temporary file still being written. Only for a process
 * that is ending abnormally (an exit guard): it does not close anything. */
void ho_remove_temporaries(void);

/* Closes, removes the temporary file, frees f. Safe with NULL. */
void ho_discard(ho_file *f);

#endif
