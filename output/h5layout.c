/* h5layout: the result file's layout (see h5out.h and OUTPUT.md): every
 * axis, dataset and group created with its units, long name and
 * dimension scales, from the tables below; the summaries and the kept
 * trajectories written into them. Part of the writer (h5out_internal.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "output/h5codec.h"
#include "output/h5out_internal.h"

/* ------------------------------------------------------------------ */
/* Datasets */

/* Rows per chunk for rows of rowbytes bytes: the largest power of two with
 * rows * rowbytes <= HO_CHUNK_BYTES, in [1, max], at most n
 * (make_ds turns a 0 axis into an extendible one with chunk 1). */
static hsize_t chunk_rows_max(size_t rowbytes, uint64_t n, hsize_t max)
{
    hsize_t r = 1;
    while (r < max && (r * 2) * rowbytes <= HO_CHUNK_BYTES)
        r *= 2;
    if (n > 0 && r > n)
        r = (hsize_t)n;
    return r;
}

static hsize_t chunk_rows(size_t rowbytes, uint64_t n)
{
    return chunk_rows_max(rowbytes, n, HO_MAX_CHUNK_ROWS);
}

/* Group `paths` comes in whole blocks (ho_write_paths): its chunks are at
 * most a block, a power of two of rows, so they divide it. */
_Static_assert((HO_BLOCK_ROWS & (HO_BLOCK_ROWS - 1)) == 0, "a block is a power of two of rows");

static hid_t new_dcpl(void)
{
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    if (p >= 0 &&
        (H5Pset_attr_creation_order(p, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
         H5Pset_obj_track_times(p, 0) < 0)) {
        H5Pclose(p);
        p = -1;
    }
    return p;
}

/* Creates dataset `name` in loc with `units` and `long_name`. chunk: the
 * chunk shape (NULL: contiguous), capped at dims; deflate: add shuffle +
 * deflate (chunked only). A 0 extent makes that dimension extendible and
 * the dataset chunked. fill: fill value in memory type fill_mtype, or NULL
 * for HDF5's default (0). Returns the open dataset or -1. */
static hid_t make_ds(ho_ctx *c, hid_t loc, const char *name, hid_t ftype,
                     int rank, const hsize_t *dims, const hsize_t *chunk,
                     int deflate, hid_t fill_mtype, const void *fill,
                     hid_t dapl, const char *units, const char *long_name)
{
    if (c->failed)
        return -1;
    hsize_t maxd[3], ch[3];
    int anyzero = 0;
    for (int i = 0; i < rank; i++) {
        maxd[i] = dims[i];
        if (dims[i] == 0) {
            anyzero = 1;
            maxd[i] = H5S_UNLIMITED;
        }
    }
    hid_t sp = H5Screate_simple(rank, dims, maxd);
    hid_t dcpl = new_dcpl();
    int ok = sp >= 0 && dcpl >= 0;
    if (ok && (chunk || anyzero)) {
        for (int i = 0; i < rank; i++) {
            ch[i] = dims[i];
            if (chunk && chunk[i] < ch[i])
                ch[i] = chunk[i];
            if (ch[i] == 0)
                ch[i] = 1;
        }
        ok = H5Pset_chunk(dcpl, rank, ch) >= 0;
        if (ok && deflate && chunk && !anyzero) {
            if (H5Tget_size(ftype) > 1)
                ok = H5Pset_shuffle(dcpl) >= 0;
            ok = ok && H5Pset_deflate(dcpl, HC_DEFLATE_LEVEL) >= 0;
        }
    }
    if (ok && fill)
        ok = H5Pset_fill_value(dcpl, fill_mtype, fill) >= 0;
    hid_t ds = ok ? H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, dapl) : -1;
    if (ds < 0)
        ho_fail(c, 1, "cannot create dataset %s", name);
    ho_close_hid(&dcpl, H5Pclose);
    ho_close_hid(&sp, H5Sclose);
    ho_attr_str(c, ds, "units", units);
    ho_attr_str(c, ds, "long_name", long_name);
    if (c->failed)
        ho_close_hid(&ds, H5Dclose);
    return ds;
}

/* Attaches scales[i] to dimension i of ds. */
static void attach(ho_ctx *c, hid_t ds, const char *name, int rank,
                   const hid_t *scales)
{
    for (int i = 0; i < rank && !c->failed; i++)
        if (H5DSattach_scale(ds, scales[i], (unsigned)i) < 0)
            ho_fail(c, 1, "cannot attach dimension %d of %s to its axis", i, name);
}

/* A 1-D axis, written from data (NULL: written later) and made a
 * dimension scale named after itself. */
static hid_t make_axis(ho_ctx *c, hid_t loc, const char *name, hid_t ftype,
                       hid_t mtype, hsize_t n, const void *data,
                       const hsize_t *chunk, const char *units,
                       const char *long_name)
{
    hid_t ds = make_ds(c, loc, name, ftype, 1, &n, chunk, chunk != NULL,
                       -1, NULL, H5P_DEFAULT, units, long_name);
    if (ds < 0)
        return -1;
    if (data && n > 0 && H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        ho_fail(c, 1, "cannot write axis %s", name);
    if (!c->failed && H5DSset_scale(ds, name) < 0)
        ho_fail(c, 1, "cannot make %s a dimension scale", name);
    if (c->failed)
        ho_close_hid(&ds, H5Dclose);
    return ds;
}

/* Opens loc/name, writes it whole, closes it. An empty dataset is skipped. */
static void write_whole(ho_ctx *c, hid_t loc, const char *name, hid_t mtype,
                        size_t nelem, const void *buf)
{
    if (c->failed || nelem == 0)
        return;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        ho_fail(c, 1, "cannot write %s", name);
    ho_close_hid(&ds, H5Dclose);
}

/* ------------------------------------------------------------------ */
/* Layout tables */

enum { AX_YEAR, AX_LAB, AX_QUANT, AX_INPUT, AX_NALIVE, AX_PATH, AX_KEPT, AX_GROUP, AX_N };

typedef struct {
    const char *name;
    int rank;
    int axes[3];
    const char *units;
    const char *long_name;
} ho_dsdef;

#define LY {AX_LAB, AX_YEAR, 0}
#define LYQ {AX_LAB, AX_YEAR, AX_QUANT}
static const ho_dsdef summary_defs[] = {
    {"survival", 2, LY, "1", "probability that the lab is alive at the end of the year"},
    {"survival_lo", 2, LY, "1", "lower bound of the 95% Wilson interval of survival"},
    {"survival_hi", 2, LY, "1", "upper bound of the 95% Wilson interval of survival"},
    {"failed_acquired", 2, LY, "1", "probability that the lab has failed and been acquired by the end of the year"},
    {"failed_wound_down", 2, LY, "1", "probability that the lab has failed and been wound down by the end of the year"},
    {"profitable_by", 2, LY, "1", "probability that the lab's operating cash flow has been positive in some year so far"},
    /* the quantiles of each metric (engine/metrics.h) */
#define SUMMARY_Q_(K, f, n, u, tr, ql, tl) {#n "_q", 3, LYQ, u, ql},
    MT_METRICS(SUMMARY_Q_)
#undef SUMMARY_Q_
    {"independent_alive", 2, {AX_YEAR, AX_NALIVE, 0}, "1", "probability that exactly n_alive labs without a backstop are alive at the end of the year"},
    {"sensitivity_survival", 2, {AX_LAB, AX_INPUT, 0}, "1", "Spearman rank correlation of each drawn input with the lab's survival to the horizon"},
    {"sensitivity_cash", 2, {AX_LAB, AX_INPUT, 0}, "1", "Spearman rank correlation of each drawn input with the lab's final cash"},
    {"acquired_solvent", 2, LY, "1", "probability that the lab has been bought while solvent by the end of the year (MODEL.md step 7)"},
    /* engine/sensitivity.h: additions to OUTPUT.md (docs/outputs.md) */
    {"sensitivity_index", 3, {AX_LAB, AX_YEAR, AX_INPUT}, "1", "first-order sensitivity index Var(E[alive at the end of the year | input]) / Var(alive), given-data estimate (binned ranks, bias-corrected) over the sensitivity sample"},
    {"sensitivity_swing", 3, {AX_LAB, AX_YEAR, AX_INPUT}, "1", "P(alive at the end of the year | input in its 85-95% rank band) minus P(alive | input in its 5-15% band), in probability (x100: percentage points)"},
    {"sensitivity_group_index", 3, {AX_LAB, AX_YEAR, AX_GROUP}, "1", "first-order sensitivity index of survival to the end of the year with respect to each set of correlated inputs jointly (a set of one: that input's sensitivity_index)"},
};
#define N_SUMMARY (sizeof summary_defs / sizeof summary_defs[0])

/* Group `paths`, indexed by PD_*. */
static const ho_dsdef path_defs[PD_N] = {
    {"fail_year", 2, {AX_PATH, AX_LAB, 0}, "1", "simulation year (1..horizon; calendar year = base_year + value) in which the lab failed; 0: survived the horizon"},
    {"outcome", 2, {AX_PATH, AX_LAB, 0}, "1", "outcome at the horizon: 0 survived, 1 acquired, 2 wound down"},
    {"profit_year", 2, {AX_PATH, AX_LAB, 0}, "1", "first simulation year (1..horizon) with positive operating cash flow; 0: none"},
    {"final_cash", 2, {AX_PATH, AX_LAB, 0}, "US$ billion", "cash at the horizon, or at the end of the year of failure"},
    {"raised_total", 2, {AX_PATH, AX_LAB, 0}, "US$ billion", "total funding raised over the path"},
    {"inputs", 2, {AX_PATH, AX_INPUT, 0}, "various", "value drawn for each input on the path (per-year inputs: the first year's draw); units as in the scenario"},
    {"weight", 1, {AX_PATH, 0, 0}, "1", "the path's weight: the likelihood of the observations the run is conditioned on (MODEL.md section 8), quantised to multiples of 2^-32"},
};

/* Group `trajectories`: the metrics that have trajectories
 * (engine/metrics.h), then alive. */
#define KLY {AX_KEPT, AX_LAB, AX_YEAR}
#define TRAJ_DEF_(K, f, n, u, tr, ql, tl) MT_IF(tr, {#n, 3, KLY, u, tl},)
static const ho_dsdef traj_defs[] = {
    MT_METRICS(TRAJ_DEF_)
    {"alive", 3, KLY, "1", "1 if the lab is alive at the end of the year, else 0"},
};
#undef TRAJ_DEF_
#define TRAJ_COUNT_(K, f, n, u, tr, ql, tl) +tr
enum { TD_N = 1 MT_METRICS(TRAJ_COUNT_), TD_ALIVE = TD_N - 1 };
#undef TRAJ_COUNT_
_Static_assert(sizeof traj_defs / sizeof traj_defs[0] == TD_N, "one trajectory per flagged metric");

/* ------------------------------------------------------------------ */
/* ------------------------------------------------------------------ */
/* Groups and the layout */

static hid_t new_gcpl(void)
{
    hid_t p = H5Pcreate(H5P_GROUP_CREATE);
    if (p >= 0 &&
        (H5Pset_link_creation_order(p, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
         H5Pset_attr_creation_order(p, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
         H5Pset_obj_track_times(p, 0) < 0)) {
        H5Pclose(p);
        p = -1;
    }
    return p;
}

hid_t ho_make_group(ho_ctx *c, hid_t loc, const char *name)
{
    if (c->failed)
        return -1;
    hid_t gcpl = new_gcpl();
    hid_t g = gcpl < 0 ? -1 : H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (g < 0)
        ho_fail(c, 1, "cannot create group %s", name);
    ho_close_hid(&gcpl, H5Pclose);
    return g;
}

static void make_axes(ho_ctx *c, hid_t fid, const ho_meta *m, hid_t *ax)
{
    size_t T = (size_t)m->horizon, L = m->nlabs;
    int32_t *years = malloc((T ? T : 1) * sizeof *years);
    int32_t *nalive = malloc((L + 1) * sizeof *nalive);
    hid_t vstr = H5Tcopy(H5T_C_S1);
    if (!years || !nalive)
        ho_fail(c, 0, "out of memory");
    else if (vstr < 0 || H5Tset_size(vstr, H5T_VARIABLE) < 0 ||
             H5Tset_cset(vstr, H5T_CSET_UTF8) < 0)
        ho_fail(c, 1, "cannot make the string type");
    if (!c->failed) {
        for (size_t t = 0; t < T; t++)
            years[t] = (int32_t)(m->base_year + 1 + (int)t);
        for (size_t n = 0; n <= L; n++)
            nalive[n] = (int32_t)n;
    }
    ax[AX_YEAR] = make_axis(c, fid, "year", H5T_STD_I32LE, H5T_NATIVE_INT32, T, years,
                            NULL, "year", "calendar year (values are for the end of the year)");
    ax[AX_LAB] = make_axis(c, fid, "lab", vstr, vstr, L, m->lab_names, NULL, "1",
                           "lab name, in scenario order");
    ax[AX_QUANT] = make_axis(c, fid, "quantile", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                             HO_NQUANT, ho_quantiles, NULL, "1", "probability level of the quantile");
    ax[AX_INPUT] = make_axis(c, fid, "input", vstr, vstr, m->ninputs, m->input_names,
                             NULL, "1", "name of the drawn input (market.KEY or LAB.KEY)");
    ax[AX_NALIVE] = make_axis(c, fid, "n_alive", H5T_STD_I32LE, H5T_NATIVE_INT32, L + 1,
                              nalive, NULL, "count", "number of labs without a backstop alive");
    /* With no per-path data nothing uses the path axis: it is left empty
     * rather than filled with N indices (2^40 of them would take days). */
    uint64_t npath = m->per_path == HO_PER_PATH_NONE ? 0 : m->paths;
    hsize_t prow = chunk_rows(sizeof(int64_t), npath);
    ax[AX_PATH] = make_axis(c, fid, "path", H5T_STD_I64LE, H5T_NATIVE_INT64, npath,
                            NULL, &prow, "1", "path index (the random streams are keyed by it)");
    ho_write_path_axis(c, m, ax[AX_PATH], npath, m->first_path, prow, m->threads);
    ax[AX_KEPT] = make_axis(c, fid, "kept_path", H5T_STD_I64LE, H5T_NATIVE_UINT64, m->nkept,
                            m->kept_paths, NULL, "1", "index of a path whose whole trajectory is kept");
    /* no sets given: each input its own, named after it */
    int own = m->input_group == NULL;
    ax[AX_GROUP] = make_axis(c, fid, "group", vstr, vstr, own ? m->ninputs : m->ngroups,
                             own ? m->input_names : m->group_names, NULL, "1",
                             "set of inputs the scenario correlates with each other (a chain of "
                             "nonzero correlations), named by its inputs joined with '+'; an "
                             "input correlated with nothing is a set of its own");
    ho_close_hid(&vstr, H5Tclose);
    free(years);
    free(nalive);
}

static void make_summaries(ho_ctx *c, hid_t fid, const ho_meta *m, const hid_t *ax,
                           const hsize_t *len)
{
    const double nan = NAN;
    for (size_t i = 0; i < N_SUMMARY && !c->failed; i++) {
        const ho_dsdef *d = &summary_defs[i];
        hsize_t dims[3];
        hid_t sc[3];
        for (int k = 0; k < d->rank; k++) {
            dims[k] = len[d->axes[k]];
            sc[k] = ax[d->axes[k]];
        }
        hid_t ds = make_ds(c, fid, d->name, H5T_IEEE_F64LE, d->rank, dims, NULL, 0,
                           H5T_NATIVE_DOUBLE, &nan, H5P_DEFAULT, d->units, d->long_name);
        attach(c, ds, d->name, d->rank, sc);
        ho_close_hid(&ds, H5Dclose);
    }
    /* input_group: the scenario's, known now (merged and resumed files
     * get it from the same scenario) */
    hsize_t ni = len[AX_INPUT];
    const int32_t nogroup = -1;
    hid_t ds = make_ds(c, fid, "input_group", H5T_STD_I32LE, 1, &ni, NULL, 0, H5T_NATIVE_INT32,
                       &nogroup, H5P_DEFAULT, "1",
                       "index on the group axis of the set of correlated inputs each input "
                       "belongs to");
    int *own = m->input_group ? NULL : malloc((ni ? ni : 1) * sizeof *own);
    for (size_t i = 0; own && i < ni; i++)
        own[i] = (int)i;
    if (!m->input_group && !own)
        ho_fail(c, 0, "out of memory");
    if (ds >= 0 && ni > 0 && !c->failed
        && H5Dwrite(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                    m->input_group ? m->input_group : own) < 0)
        ho_fail(c, 1, "cannot write input_group");
    free(own);
    attach(c, ds, "input_group", 1, &ax[AX_INPUT]);
    ho_close_hid(&ds, H5Dclose);
}

static hid_t make_outcome_type(ho_ctx *c, hid_t fid)
{
    if (c->failed)
        return -1;
    static const char *names[4] = {"survived", "acquired", "wound_down", "acquired_solvent"};
    hid_t t = H5Tenum_create(H5T_STD_I8LE);
    int ok = t >= 0;
    for (int8_t v = 0; v < 4 && ok; v++)
        ok = H5Tenum_insert(t, names[v], &v) >= 0;
    if (ok)
        ok = H5Tcommit2(fid, "outcome_t", t, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) >= 0;
    if (!ok) {
        ho_fail(c, 1, "cannot create the outcome enum type");
        ho_close_hid(&t, H5Tclose);
    }
    return t;
}

static void make_paths(ho_ctx *c, ho_file *f, const hid_t *ax, const hsize_t *len)
{
    static const char *full[PD_N] = {"paths/fail_year", "paths/outcome", "paths/profit_year",
                                     "paths/final_cash", "paths/raised_total", "paths/inputs",
                                     "paths/weight"};
    hid_t g = ho_make_group(c, f->fid, "paths");
    f->otype = make_outcome_type(c, f->fid);
    /* No chunk cache: every chunk is written whole, directly. */
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (!c->failed && (dapl < 0 || H5Pset_chunk_cache(dapl, H5D_CHUNK_CACHE_NSLOTS_DEFAULT, 0,
                                                      H5D_CHUNK_CACHE_W0_DEFAULT) < 0))
        ho_fail(c, 1, "cannot make the access properties of group paths");
    const double nan = NAN;
    const int32_t minus1 = -1;
    const int8_t zero8 = 0;
    for (int i = 0; i < PD_N && !c->failed; i++) {
        const ho_dsdef *d = &path_defs[i];
        if ((i == PD_INPUTS && f->no_inputs) || (i == PD_WEIGHT && !f->weighted))
            continue; /* cols stays 0: never written */
        hid_t ftype = H5T_IEEE_F64LE, mtype = H5T_NATIVE_DOUBLE;
        const void *fill = &nan;
        if (i == PD_FAIL_YEAR || i == PD_PROFIT_YEAR) {
            ftype = H5T_STD_I32LE;
            mtype = H5T_NATIVE_INT32;
            fill = &minus1;
        } else if (i == PD_OUTCOME) {
            ftype = f->otype;
            mtype = f->otype;
            fill = &zero8;
        }
        /* paths/weight is 1-D: one column, the same chunks and bytes */
        hsize_t dims[2] = {len[d->axes[0]], d->rank == 2 ? len[d->axes[1]] : 1};
        hid_t sc[2] = {ax[d->axes[0]], d->rank == 2 ? ax[d->axes[1]] : -1};
        size_t rowbytes = (size_t)dims[1] * H5Tget_size(ftype);
        hsize_t chunk[2] = {chunk_rows_max(rowbytes, dims[0], HO_BLOCK_ROWS), dims[1]};
        hid_t ds = make_ds(c, g, d->name, ftype, d->rank, dims, chunk, 1, mtype, fill, dapl,
                           d->units, d->long_name);
        attach(c, ds, d->name, d->rank, sc);
        /* A 0 extent (no paths, no inputs) leaves nothing to write. */
        int empty = dims[0] == 0 || dims[1] == 0;
        if (!c->failed)
            ho_pd_setup(c, &f->pd[i], full[i], ds, mtype, ftype, empty ? 0 : (size_t)dims[1],
                     chunk[0], fill);
        else
            ho_close_hid(&ds, H5Dclose);
    }
    ho_close_hid(&dapl, H5Pclose);
    ho_close_hid(&g, H5Gclose);
}

static void make_traj(ho_ctx *c, hid_t fid, const hid_t *ax, const hsize_t *len)
{
    hid_t g = ho_make_group(c, fid, "trajectories");
    const double nan = NAN;
    const uint8_t zero = 0;
    for (int i = 0; i < TD_N && !c->failed; i++) {
        const ho_dsdef *d = &traj_defs[i];
        int alive = i == TD_ALIVE;
        hid_t ftype = alive ? H5T_STD_U8LE : H5T_IEEE_F64LE;
        hsize_t dims[3] = {len[AX_KEPT], len[AX_LAB], len[AX_YEAR]};
        hid_t sc[3] = {ax[AX_KEPT], ax[AX_LAB], ax[AX_YEAR]};
        size_t rowbytes = (size_t)(dims[1] * dims[2]) * H5Tget_size(ftype);
        hsize_t chunk[3] = {chunk_rows(rowbytes, dims[0]), dims[1], dims[2]};
        hid_t ds = make_ds(c, g, d->name, ftype, 3, dims, chunk, 1,
                           alive ? H5T_NATIVE_UINT8 : H5T_NATIVE_DOUBLE,
                           alive ? (const void *)&zero : (const void *)&nan,
                           H5P_DEFAULT, d->units, d->long_name);
        attach(c, ds, d->name, 3, sc);
        ho_close_hid(&ds, H5Dclose);
    }
    ho_close_hid(&g, H5Gclose);
}

/* Every axis, summary, group `paths` (when the file keeps per-path
 * rows) and group `trajectories`, in the order of OUTPUT.md. */
void ho_layout_create(ho_ctx *c, ho_file *f, const ho_meta *meta)
{
    hid_t ax[AX_N];
    for (int i = 0; i < AX_N; i++)
        ax[i] = -1;
    hsize_t len[AX_N];
    len[AX_YEAR] = f->T;
    len[AX_LAB] = f->L;
    len[AX_QUANT] = HO_NQUANT;
    len[AX_INPUT] = f->I;
    len[AX_NALIVE] = f->L + 1;
    len[AX_PATH] = f->per_path ? f->N : 0;
    len[AX_KEPT] = f->K;
    len[AX_GROUP] = f->G;
    make_axes(c, f->fid, meta, ax);
    make_summaries(c, f->fid, meta, ax, len);
    if (f->per_path)
        make_paths(c, f, ax, len);
    make_traj(c, f->fid, ax, len);
    for (int i = 0; i < AX_N; i++)
        ho_close_hid(&ax[i], H5Dclose);
}

/* ------------------------------------------------------------------ */
/* Summaries and trajectories */

int ho_write_traj(ho_file *f, const ho_traj *t, char *err, size_t errlen)
{
    ho_ctx c = {f ? f->final_path : "(no file)", err, errlen, 0};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* per thread in a thread-safe HDF5 */
    if (!f || !t) {
        ho_fail(&c, 0, "no file or no trajectories");
        return -1;
    }
    const void *src[TD_N] = {
#define TRAJ_SRC_(K, f, n, u, tr, ql, tl) MT_IF(tr, t->n,)
        MT_METRICS(TRAJ_SRC_)
#undef TRAJ_SRC_
        t->alive};
    size_t nelem = f->K * f->L * f->T;
    for (int i = 0; i < TD_N; i++)
        if (nelem > 0 && !src[i]) {
            ho_fail(&c, 0, "trajectories/%s: array missing", traj_defs[i].name);
            return -1;
        }
    hid_t g = H5Gopen2(f->fid, "trajectories", H5P_DEFAULT);
    if (g < 0)
        ho_fail(&c, 1, "cannot open group trajectories");
    for (int i = 0; i < TD_N && !c.failed; i++)
        write_whole(&c, g, traj_defs[i].name,
                    i == TD_ALIVE ? H5T_NATIVE_UINT8 : H5T_NATIVE_DOUBLE, nelem, src[i]);
    ho_close_hid(&g, H5Gclose);
    if (c.failed)
        return -1;
    f->traj_written = 1;
    return 0;
}

int ho_write_summary(ho_file *f, const ho_summary *s, char *err, size_t errlen)
{
    ho_ctx c = {f ? f->final_path : "(no file)", err, errlen, 0};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* per thread in a thread-safe HDF5 */
    if (!f || !s) {
        ho_fail(&c, 0, "no file or no summary");
        return -1;
    }
    /* In the order of summary_defs. */
    const double *src[N_SUMMARY] = {
        s->survival, s->survival_lo, s->survival_hi, s->failed_acquired,
        s->failed_wound_down, s->profitable_by,
#define SUMMARY_SRC_(K, f, n, u, tr, ql, tl) s->n##_q,
        MT_METRICS(SUMMARY_SRC_)
#undef SUMMARY_SRC_
        s->independent_alive, s->sensitivity_survival,
        s->sensitivity_cash, s->acquired_solvent,
        s->sensitivity_index, s->sensitivity_swing, s->sensitivity_group_index};
    size_t len[AX_N];
    len[AX_YEAR] = f->T;
    len[AX_LAB] = f->L;
    len[AX_QUANT] = HO_NQUANT;
    len[AX_INPUT] = f->I;
    len[AX_NALIVE] = f->L + 1;
    len[AX_GROUP] = f->G;
    for (size_t i = 0; i < N_SUMMARY && !c.failed; i++) {
        const ho_dsdef *d = &summary_defs[i];
        size_t nelem = 1;
        for (int k = 0; k < d->rank; k++)
            nelem *= len[d->axes[k]];
        if (src[i]) /* NULL: the dataset stays at its fill value, NaN */
            write_whole(&c, f->fid, d->name, H5T_NATIVE_DOUBLE, nelem, src[i]);
    }
    if (c.failed)
        return -1;
    f->summary_written = 1;
    return 0;
}

