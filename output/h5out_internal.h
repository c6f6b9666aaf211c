/* h5out_internal: what the three files of the writer share (not a
 * public contract; included only by output/h5out.c, h5layout.c and
 * h5chunks.c).
 *
 *   h5out.c     the file: created under a temporary name, attributes,
 *               progress marks, commit, discard, group /state
 *   h5layout.c  the layout: axes, datasets and groups of OUTPUT.md
 *               created; the summaries and trajectories written
 *   h5chunks.c  group `paths` and the path axis: rows assembled into
 *               chunks, encoded outside the lock (h5codec), stored directly
 *
 * Errors: every helper takes an ho_ctx and does nothing once it has
 * failed; the first failure's message (naming the file) wins.
 */
#ifndef RUNWAY_H5OUT_INTERNAL_H
#define RUNWAY_H5OUT_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#include "output/h5out.h"

#define HO_CHUNK_BYTES ((size_t)512 * 1024)
#define HO_MAX_CHUNK_ROWS ((hsize_t)65536)
#define HO_MAX_THREADS 64

/* Datasets of group `paths`, in the order they are kept open. */
enum { PD_FAIL_YEAR, PD_OUTCOME, PD_PROFIT_YEAR, PD_FINAL_CASH,
       PD_RAISED_TOTAL, PD_INPUTS, PD_WEIGHT, PD_N };

/* A dataset of group `paths`, written chunk by chunk. */
typedef struct {
    const char *name;
    hid_t ds;          /* open while the file is */
    hid_t mtype;       /* memory type of the caller's array */
    hid_t ftype;       /* file type */
    int convert;       /* memory and file byte layouts differ */
    size_t esize;      /* bytes per element */
    size_t cols;       /* elements per row (L or I); 0: nothing to write */
    hsize_t rows;      /* rows per chunk */
    size_t chunk_bytes;
    int shuffle;       /* the shuffle filter is in the pipeline */
    unsigned char *fill_chunk; /* a chunk of fill values, file byte order */
} ho_pdset;

struct ho_file {
    char *final_path;
    char *tmp_path;
    int tmp_fd;           /* the temporary file as created (-1 once closed) */
    dev_t tmp_dev;        /* its identity, checked before the rename */
    ino_t tmp_ino;
    hid_t fid;
    hid_t otype;         /* outcome's enum type */
    ho_pdset pd[PD_N];
    unsigned char *written; /* bit b: block b of group `paths` written */
    int threads;          /* for compression: meta->threads */
    size_t L, T, I, K;
    size_t G; /* correlated sets of inputs (the group axis) */
    uint64_t N;
    int per_path;
    int no_inputs; /* HO_PER_PATH_OUTCOMES: no paths/inputs */
    int weighted;  /* paths/weight (a conditioned run) */
    uint64_t rows_written;
    int summary_written, traj_written;
    hid_t state;          /* group /state, -1 until ho_put_state */
    /* ho_write_paths from several threads: held around every HDF5 call
     * and every change to `written`, not while chunks compress */
    pthread_mutex_t mu;
    int encoding; /* ho_write_paths calls compressing now (under mu) */
};

typedef struct {
    const char *path; /* the final path, named in every message */
    char *err;
    size_t errlen;
    int failed;
} ho_ctx;

/* ---- h5out.c ---- */

/* The first failure's message, "PATH: what (HDF5: innermost reason)"
 * when from_hdf5; later calls only clear HDF5's error stack. */
void ho_fail(ho_ctx *c, int from_hdf5, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Closes *h with closer if it is open; *h = -1. */
void ho_close_hid(hid_t *h, herr_t (*closer)(hid_t));
/* A scalar attribute written, overwritten, or a UTF-8 string one. */
void ho_attr_write(ho_ctx *c, hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                   const void *v);
void ho_attr_update(ho_ctx *c, hid_t loc, const char *name, hid_t mtype, const void *v);
void ho_attr_str(ho_ctx *c, hid_t loc, const char *name, const char *s);

/* ---- h5layout.c ---- */

/* Every axis and dataset of the file, in OUTPUT.md's order; group
 * `paths` set up for h5chunks.c. */
void ho_layout_create(ho_ctx *c, ho_file *f, const ho_meta *meta);
/* A group that tracks creation order, as netCDF-4 does; -1 on failure. */
hid_t ho_make_group(ho_ctx *c, hid_t loc, const char *name);

/* ---- h5chunks.c ---- */

/* This HDF5 can encode and decode with shuffle and deflate; else -1. */
int ho_check_filters(ho_ctx *c);
/* Sets up d for direct chunk writes of rows of `cols` elements (0: an
 * empty dataset), rows per chunk `rows`, with fill value fill (memory
 * type mtype); checks that ds's pipeline is the one hc_encode makes. */
void ho_pd_setup(ho_ctx *c, ho_pdset *d, const char *name, hid_t ds, hid_t mtype, hid_t ftype,
                 size_t cols, hsize_t rows, const void *fill);
/* The path axis first_path .. first_path + n - 1, chunks of `rows`. */
void ho_write_path_axis(ho_ctx *c, const ho_meta *m, hid_t ds, uint64_t n, uint64_t first_path, hsize_t rows,
                        int threads);
#endif
