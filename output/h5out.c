/* h5out: the result file (see h5out.h and ../shared/OUTPUT.md).
 *
 * Layout decisions, beyond what the header promises:
 *
 * - File format: libver bounds [1.8, latest], so that any HDF5 >= 1.8
 *   (and netCDF-4 >= 4.4) reads the file and attributes larger than 64 KiB
 *   (a long `scenario_yaml`) go to dense attribute storage. Link and
 *   attribute creation order are tracked, as netCDF-4 does, so readers list
 *   things in the order written. Object modification times are not stored,
 *   so two runs differ only in what they write (`created`, data).
 * - Strings: attributes are scalar fixed-length UTF-8 strings (size = the
 *   byte length, NUL-terminated padding), which is what netCDF-4 writes for
 *   text attributes; an empty string is stored as one NUL byte. The `lab`
 *   and `input` axes hold variable-length UTF-8 strings (netCDF NC_STRING).
 * - Summaries are float64, contiguous, fill value NaN: a summary the caller
 *   passes as NULL stays NaN.
 * - Datasets whose size scales with N or K (`path`, group `paths`, group
 *   `trajectories`) are chunked along the path axis with whole rows per
 *   chunk, about HO_CHUNK_BYTES uncompressed (a power of two of rows, at
 *   most 65536, never more than the axis length), and compressed with
 *   shuffle (elements wider than one byte) + deflate level 1. Chunks of
 *   at most 512 KiB fit the 1 MiB default chunk cache of readers.
 * - Group `paths` is the bulk of a large run (10^8 paths x 10 labs x 20
 *   inputs is ~40 GB raw), and its doubles are near-incompressible noise
 *   in their low bytes. HDF5's own deflate filter manages ~70 MB/s on them
 *   (6 us per path for 10 labs and 20 inputs, measured), for files ~30%
 *   smaller. So this module assembles those chunks itself, byte-shuffles
 *   them exactly as HDF5's shuffle filter does, deflates them with zlib at
 *   level 1 with the Z_RLE strategy (on this data the same or a better
 *   ratio than the default strategy, at 2.5x its speed; level 1 because
 *   levels 2-6 cost 1.1-2.2x the time for 0.2-2% of size), and stores them
 *   with H5Dwrite_chunk: the file holds an ordinary shuffle + deflate
 *   dataset that every reader's standard filters decode. Measured: 2.1x
 *   less time in the writer than the filter pipeline, on one thread;
 *   byte planes of pure noise are since stored rather than deflated
 *   inside that same stream (hc_encode, output/h5codec.c), 2.3x faster again on drawn
 *   inputs. Chunks that one call completes are compressed outside the
 *   file's lock, so callers on several threads compress at once; a call
 *   that is the only one compressing uses up to meta->threads POSIX
 *   threads, started and joined within the call (no OpenMP runtime: a
 *   process that forks after using libgomp hangs in the child).
 * - Rows of group `paths` may arrive in any order and need not align with
 *   chunks: a chunk stays in memory until all its rows have arrived. If
 *   the partly filled chunks exceed HO_PENDING_BYTES (64 MiB; the
 *   environment variable RUNWAY_H5OUT_PENDING_BYTES overrides it, for
 *   tests), the least recently written are stored as they are and read
 *   back when more of their rows arrive. ho_mark_progress stores every
 *   partly filled chunk, so that an interrupted file holds every row
 *   written before its last progress mark.
 * - Fill values: NaN for float64; -1 for fail_year and profit_year, so the
 *   rows an interrupted run (complete = 0) never wrote are recognisable;
 *   outcome fills with 0 (`survived`) because a fill outside the enum's
 *   members upsets netCDF, so test fail_year, not outcome, for -1.
 * - outcome's enum type is committed as the named datatype `/outcome_t`
 *   (netCDF-4 needs user-defined types to be named).
 * - Zero-length axes (I = 0 inputs, K = 0 kept paths, N = 0): a dimension of
 *   length 0 is created extendible (maximum size unlimited, chunked), which
 *   is how netCDF-4 represents a dimension of current length 0; every
 *   dataset on it exists with a 0 extent, so h5py, xarray and netCDF read
 *   the file unchanged. Writes to empty datasets are skipped.
 *
 * Concurrency: call this module from one thread at a time (any thread;
 * each call switches HDF5's error printing off for its thread), except
 * ho_write_paths, which several threads may call at once: it holds the
 * file's lock around its HDF5 calls and its changes to the pending
 * chunks, and compresses outside it (HDF5 itself may be a build that is
 * not thread-safe). */
#include "output/h5out.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "output/h5codec.h"


#define HO_CHUNK_BYTES ((size_t)512 * 1024)
#define HO_MAX_CHUNK_ROWS ((hsize_t)65536)
#define HO_PENDING_BYTES ((size_t)64 * 1024 * 1024)
#define HO_MAX_THREADS 64

/* Datasets of group `paths`, in the order they are kept open. */
enum { PD_FAIL_YEAR, PD_OUTCOME, PD_PROFIT_YEAR, PD_FINAL_CASH,
       PD_RAISED_TOTAL, PD_INPUTS, PD_WEIGHT, PD_N };

/* A chunk of a per-path dataset whose rows have not all arrived. */
typedef struct {
    uint64_t idx;       /* chunk index along the path axis */
    uint64_t filled;    /* rows written so far */
    uint64_t last_use;  /* ho_file.clock at its last write */
    unsigned char *buf; /* the chunk in file byte order; NULL: stored in the file */
} ho_pend;

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
    ho_pend *pend;
    size_t npend, cap;
} ho_pdset;

struct ho_file {
    char *final_path;
    char *tmp_path;
    hid_t fid;
    hid_t otype;         /* outcome's enum type */
    ho_pdset pd[PD_N];
    size_t pending_bytes; /* bytes of ho_pend buffers in memory */
    size_t pending_cap;
    uint64_t clock;
    int threads;          /* for compression: meta->threads */
    size_t L, T, I, K;
    uint64_t N;
    int per_path;
    int no_inputs; /* HO_PER_PATH_OUTCOMES: no paths/inputs */
    int weighted;  /* paths/weight (a conditioned run) */
    uint64_t rows_written;
    int summary_written, traj_written;
    hid_t state;          /* group /state, -1 until ho_put_state */
    /* ho_write_paths from several threads: held around every HDF5 call
     * and every change to the chunks pending, not while chunks compress */
    pthread_mutex_t mu;
    int encoding; /* ho_write_paths calls compressing now (under mu) */
};


/* ------------------------------------------------------------------ */
/* Temporary files in flight, for ho_remove_temporaries: if a library
 * ends the process (HDF5 calls exit() when some of its own allocations
 * fail), the program's exit guard can still remove them. */
#define HO_MAX_OPEN 64
static char *g_open_tmp[HO_MAX_OPEN];
static pthread_mutex_t g_open_lock = PTHREAD_MUTEX_INITIALIZER;

static void register_tmp(const char *path, int add)
{
    pthread_mutex_lock(&g_open_lock);
    for (int i = 0; i < HO_MAX_OPEN; i++) {
        if (add && !g_open_tmp[i]) {
            g_open_tmp[i] = strdup(path);
            break;
        }
        if (!add && g_open_tmp[i] && !strcmp(g_open_tmp[i], path)) {
            free(g_open_tmp[i]);
            g_open_tmp[i] = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&g_open_lock);
}

void ho_remove_temporaries(void)
{
    for (int i = 0; i < HO_MAX_OPEN; i++)
        if (g_open_tmp[i])
            unlink(g_open_tmp[i]);
}

/* ------------------------------------------------------------------ */
/* Errors: the first failure wins; later ones are consequences. */

typedef struct {
    const char *path; /* the final path, named in every message */
    char *err;
    size_t errlen;
    int failed;
} ho_ctx;

static herr_t innermost_desc(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc)
        snprintf((char *)data, 256, "%s", e->desc);
    return 0;
}

static void ho_fail(ho_ctx *c, int from_hdf5, const char *fmt, ...)
{
    char what[512], detail[256] = "";
    va_list ap;
    if (from_hdf5) {
        if (!c->failed)
            H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_desc, detail);
        H5Eclear2(H5E_DEFAULT);
    }
    if (c->failed)
        return;
    c->failed = 1;
    if (!c->err || c->errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (detail[0])
        snprintf(c->err, c->errlen, "%s: %s (HDF5: %s)", c->path, what, detail);
    else
        snprintf(c->err, c->errlen, "%s: %s", c->path, what);
    for (char *p = c->err; *p; p++) /* one line */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

static void close_hid(hid_t *h, herr_t (*closer)(hid_t))
{
    if (*h >= 0)
        closer(*h);
    *h = -1;
}

/* ------------------------------------------------------------------ */
/* Attributes */

static void attr_write(ho_ctx *c, hid_t loc, const char *name, hid_t ftype,
                       hid_t mtype, const void *val)
{
    if (c->failed)
        return;
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = sp < 0 ? -1 : H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, val) < 0)
        ho_fail(c, 1, "cannot write attribute %s", name);
    close_hid(&a, H5Aclose);
    close_hid(&sp, H5Sclose);
}

/* Overwrites an existing scalar attribute. */
static void attr_update(ho_ctx *c, hid_t loc, const char *name, hid_t mtype,
                        const void *val)
{
    if (c->failed)
        return;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, val) < 0)
        ho_fail(c, 1, "cannot write attribute %s", name);
    close_hid(&a, H5Aclose);
}

/* A scalar fixed-length UTF-8 string attribute; NULL is written as "". */
static void attr_str(ho_ctx *c, hid_t loc, const char *name, const char *s)
{
    if (c->failed)
        return;
    if (!s)
        s = "";
    size_t n = strlen(s);
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0 || H5Tset_size(t, n ? n : 1) < 0 ||
        H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0)
        ho_fail(c, 1, "cannot make the string type of attribute %s", name);
    else
        attr_write(c, loc, name, t, t, s); /* n == 0: writes the NUL byte */
    close_hid(&t, H5Tclose);
}

/* ------------------------------------------------------------------ */
/* Datasets */

/* Rows per chunk for rows of rowbytes bytes: the largest power of two with
 * rows * rowbytes <= HO_CHUNK_BYTES, in [1, HO_MAX_CHUNK_ROWS], at most n
 * (make_ds turns a 0 axis into an extendible one with chunk 1). */
static hsize_t chunk_rows(size_t rowbytes, uint64_t n)
{
    hsize_t r = 1;
    while (r < HO_MAX_CHUNK_ROWS && (r * 2) * rowbytes <= HO_CHUNK_BYTES)
        r *= 2;
    if (n > 0 && r > n)
        r = (hsize_t)n;
    return r;
}

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
    close_hid(&dcpl, H5Pclose);
    close_hid(&sp, H5Sclose);
    attr_str(c, ds, "units", units);
    attr_str(c, ds, "long_name", long_name);
    if (c->failed)
        close_hid(&ds, H5Dclose);
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
        close_hid(&ds, H5Dclose);
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
    close_hid(&ds, H5Dclose);
}

/* ------------------------------------------------------------------ */
/* Chunks written directly (group `paths`, axis `path`), encoded by
 * h5codec.c */

/* Every compressed dataset is shuffled and deflated (make_ds), and the
 * chunks of group `paths` and of the path axis are encoded outside HDF5
 * as those filters would (h5codec.h). So both filters must be in this
 * HDF5 and able to encode (a library built without zlib has no deflate)
 * and decode (the writer reads spilled chunks back); checked once per
 * file, before anything is created. */
static int check_filters(ho_ctx *c)
{
    static const struct {
        H5Z_filter_t id;
        const char *name;
    } f[] = {{H5Z_FILTER_SHUFFLE, "shuffle"}, {H5Z_FILTER_DEFLATE, "deflate"}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        unsigned info = 0;
        if (H5Zfilter_avail(f[i].id) <= 0 || H5Zget_filter_info(f[i].id, &info) < 0 ||
            !(info & H5Z_FILTER_CONFIG_ENCODE_ENABLED) ||
            !(info & H5Z_FILTER_CONFIG_DECODE_ENABLED)) {
            ho_fail(c, 0, "cannot create file: this HDF5 library cannot encode and decode with "
                          "its %s filter (built without zlib?), which every result file's "
                          "compressed datasets use", f[i].name);
            return -1;
        }
    }
    return 0;
}

/* Whether the pipeline of ds is what hc_encode makes of its chunks:
 * shuffle (if shuffle), then deflate at HC_DEFLATE_LEVEL. */
static int pipeline_is(hid_t ds, int shuffle)
{
    hid_t p = H5Dget_create_plist(ds);
    if (p < 0)
        return 0;
    int n = H5Pget_nfilters(p), ok = n == (shuffle ? 2 : 1);
    for (int i = 0; ok && i < n; i++) {
        unsigned flags = 0, cd[8] = {0};
        size_t ncd = sizeof cd / sizeof cd[0];
        H5Z_filter_t id = H5Pget_filter2(p, (unsigned)i, &flags, &ncd, cd, 0, NULL, NULL);
        ok = shuffle && i == 0 ? id == H5Z_FILTER_SHUFFLE
                               : id == H5Z_FILTER_DEFLATE && ncd >= 1 && cd[0] == HC_DEFLATE_LEVEL;
    }
    H5Pclose(p);
    return ok;
}

typedef struct {
    hid_t ds;
    const char *name;
    hsize_t offset;      /* first row of the chunk */
    unsigned char *raw;  /* the chunk, file byte order */
    size_t nbytes, esize;
    int shuffle, rle;     /* hc_encode's */
    int free_raw;        /* the job owns raw */
    unsigned char *enc;
    size_t enclen;
} ho_job;

typedef struct {
    ho_job *jobs;
    size_t n, next;
    pthread_mutex_t mu;
} ho_queue;

static void *encode_worker(void *arg)
{
    ho_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        size_t j = q->next++;
        pthread_mutex_unlock(&q->mu);
        if (j >= q->n)
            return NULL;
        ho_job *b = &q->jobs[j];
        b->enc = hc_encode(b->raw, b->nbytes, b->esize, b->shuffle, b->rle, &b->enclen);
    }
}

/* Encodes the jobs on up to `threads` threads (started here and joined
 * before returning, so no thread outlives the call: fork-safe, and no
 * OpenMP runtime involved). No HDF5 call: needs no lock. */
static void encode_jobs(ho_job *jobs, size_t n, int threads)
{
    ho_queue q = {jobs, n, 0, PTHREAD_MUTEX_INITIALIZER};
    pthread_t th[HO_MAX_THREADS];
    size_t nt = threads > 1 ? (size_t)threads : 1, started = 0;
    if (nt > n)
        nt = n;
    if (nt > HO_MAX_THREADS)
        nt = HO_MAX_THREADS;
    for (size_t t = 1; t < nt; t++) /* a thread that cannot start is not needed */
        if (pthread_create(&th[started], NULL, encode_worker, &q) == 0)
            started++;
    encode_worker(&q);
    for (size_t t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&q.mu);
}

/* Stores encoded jobs in order and frees every job's buffers, whatever
 * happens. */
static void store_jobs(ho_ctx *c, ho_job *jobs, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        ho_job *b = &jobs[j];
        if (!c->failed) {
            hsize_t off[2] = {b->offset, 0};
            if (!b->enc)
                ho_fail(c, 0, "cannot compress a chunk of %s: out of memory", b->name);
            else if (H5Dwrite_chunk(b->ds, H5P_DEFAULT, 0, off, b->enclen, b->enc) < 0)
                ho_fail(c, 1, "cannot write %s (paths %llu..)", b->name,
                        (unsigned long long)b->offset);
        }
        free(b->enc);
        if (b->free_raw)
            free(b->raw);
    }
}

static void run_jobs(ho_ctx *c, ho_job *jobs, size_t n, int threads)
{
    encode_jobs(jobs, n, threads);
    store_jobs(c, jobs, n);
}

static ho_job pd_job(ho_pdset *d, uint64_t idx, unsigned char *raw, int free_raw)
{
    ho_job b = {d->ds, d->name, idx * d->rows, raw, d->chunk_bytes, d->esize,
                d->shuffle, 1, free_raw, NULL, 0};
    return b;
}

/* Rows that chunk idx holds (the last one may be cut by the axis end). */
static uint64_t rows_in_chunk(const ho_pdset *d, uint64_t idx, uint64_t n)
{
    uint64_t c0 = idx * d->rows;
    return n - c0 < d->rows ? n - c0 : d->rows;
}

/* The pending chunk idx of d, created (fill values) or read back from the
 * file if needed. Returns its index in d->pend, or -1. */
static long pend_get(ho_ctx *c, ho_file *f, ho_pdset *d, uint64_t idx)
{
    size_t j;
    for (j = 0; j < d->npend; j++)
        if (d->pend[j].idx == idx)
            break;
    if (j == d->npend) {
        if (d->npend == d->cap) {
            size_t cap = d->cap ? 2 * d->cap : 16;
            ho_pend *p = realloc(d->pend, cap * sizeof *p);
            if (!p) {
                ho_fail(c, 0, "out of memory");
                return -1;
            }
            d->pend = p;
            d->cap = cap;
        }
        unsigned char *buf = malloc(d->chunk_bytes);
        if (!buf) {
            ho_fail(c, 0, "out of memory");
            return -1;
        }
        memcpy(buf, d->fill_chunk, d->chunk_bytes);
        d->pend[j] = (ho_pend){idx, 0, 0, buf};
        d->npend++;
        f->pending_bytes += d->chunk_bytes;
        return (long)j;
    }
    if (d->pend[j].buf)
        return (long)j;
    /* Stored earlier (spilled or progress mark): read it back. */
    hsize_t off[2] = {idx * d->rows, 0}, size = 0;
    uint32_t mask = 0;
    unsigned char *buf = malloc(d->chunk_bytes), *enc = NULL;
    int ok = buf && H5Dget_chunk_storage_size(d->ds, off, &size) >= 0 && size > 0 &&
             (enc = malloc((size_t)size)) != NULL &&
             H5Dread_chunk(d->ds, H5P_DEFAULT, off, &mask, enc) >= 0 && mask == 0 &&
             hc_decode(buf, d->chunk_bytes, enc, (size_t)size, d->esize, d->shuffle) == 0;
    free(enc);
    if (!ok) {
        free(buf);
        ho_fail(c, 1, "cannot read back %s (paths %llu..)", d->name,
                (unsigned long long)off[0]);
        return -1;
    }
    d->pend[j].buf = buf;
    f->pending_bytes += d->chunk_bytes;
    return (long)j;
}

typedef struct {
    int d;          /* index in f->pd */
    size_t j;       /* index in f->pd[d].pend */
    uint64_t last_use;
} ho_pref;

static int cmp_use(const void *a, const void *b)
{
    uint64_t x = ((const ho_pref *)a)->last_use, y = ((const ho_pref *)b)->last_use;
    return x < y ? -1 : x > y;
}

/* Stores the partly filled chunks in the file: all of them, keeping them
 * in memory (keep = 1, a progress mark), or the least recently written
 * until at most half the cap stays in memory (keep = 0). */
static void store_partials(ho_ctx *c, ho_file *f, int keep)
{
    size_t n = 0;
    for (int i = 0; i < PD_N; i++)
        for (size_t j = 0; j < f->pd[i].npend; j++)
            n += f->pd[i].pend[j].buf != NULL;
    if (n == 0 || c->failed)
        return;
    ho_pref *ord = malloc(n * sizeof *ord);
    ho_job *jobs = malloc(n * sizeof *jobs);
    if (!ord || !jobs) {
        ho_fail(c, 0, "out of memory");
        free(ord);
        free(jobs);
        return;
    }
    n = 0;
    for (int i = 0; i < PD_N; i++)
        for (size_t j = 0; j < f->pd[i].npend; j++)
            if (f->pd[i].pend[j].buf)
                ord[n++] = (ho_pref){i, j, f->pd[i].pend[j].last_use};
    if (!keep)
        qsort(ord, n, sizeof *ord, cmp_use);
    size_t nj = 0;
    for (size_t k = 0; k < n; k++) {
        if (!keep && f->pending_bytes <= f->pending_cap / 2)
            break;
        ho_pdset *d = &f->pd[ord[k].d];
        ho_pend *e = &d->pend[ord[k].j];
        jobs[nj++] = pd_job(d, e->idx, e->buf, !keep);
        if (!keep) {
            e->buf = NULL;
            f->pending_bytes -= d->chunk_bytes;
        }
    }
    run_jobs(c, jobs, nj, f->threads);
    free(ord);
    free(jobs);
}

/* Copies rows [first, first+count) of d from the caller's array src into
 * their chunks; chunks that become complete are appended to jobs. */
static void pd_rows(ho_ctx *c, ho_file *f, ho_pdset *d, uint64_t first,
                    uint64_t count, const void *src, ho_job *jobs, size_t *nj)
{
    size_t rowbytes = d->cols * d->esize;
    uint64_t end = first + count;
    for (uint64_t r = first; r < end && !c->failed;) {
        uint64_t idx = r / d->rows, off = r - idx * d->rows;
        uint64_t n = d->rows - off < end - r ? d->rows - off : end - r;
        uint64_t want = rows_in_chunk(d, idx, f->N);
        long j = pend_get(c, f, d, idx);
        if (j < 0)
            return;
        ho_pend *e = &d->pend[j];
        if (e->filled + n > want) {
            ho_fail(c, 0, "%s: some of paths %llu..%llu were written twice", d->name,
                    (unsigned long long)first, (unsigned long long)(end - 1));
            return;
        }
        unsigned char *dst = e->buf + off * rowbytes;
        memcpy(dst, (const unsigned char *)src + (r - first) * rowbytes, n * rowbytes);
        if (d->convert &&
            H5Tconvert(d->mtype, d->ftype, n * d->cols, dst, NULL, H5P_DEFAULT) < 0) {
            ho_fail(c, 1, "cannot convert %s", d->name);
            return;
        }
        e->filled += n;
        e->last_use = ++f->clock;
        if (e->filled == want) { /* complete: hand the buffer to a job */
            jobs[(*nj)++] = pd_job(d, idx, e->buf, 1);
            f->pending_bytes -= d->chunk_bytes;
            d->pend[j] = d->pend[--d->npend];
        }
        r += n;
    }
}

/* ------------------------------------------------------------------ */
/* Layout tables */

enum { AX_YEAR, AX_LAB, AX_QUANT, AX_INPUT, AX_NALIVE, AX_PATH, AX_KEPT, AX_N };

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

/* Closes every handle. */
static void close_file(ho_file *f)
{
    for (int i = 0; i < PD_N; i++)
        close_hid(&f->pd[i].ds, H5Dclose);
    close_hid(&f->otype, H5Tclose);
    close_hid(&f->fid, H5Fclose); /* fclose degree STRONG: closes the rest */
}

/* Frees f and its chunk buffers (the handles must be closed). */
static void free_file(ho_file *f)
{
    if (f->tmp_path)
        register_tmp(f->tmp_path, 0); /* renamed or removed by now */
    for (int i = 0; i < PD_N; i++) {
        ho_pdset *d = &f->pd[i];
        for (size_t j = 0; j < d->npend; j++)
            free(d->pend[j].buf);
        free(d->pend);
        free(d->fill_chunk);
    }
    free(f->final_path);
    free(f->tmp_path);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

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

static hid_t make_group(ho_ctx *c, hid_t loc, const char *name)
{
    if (c->failed)
        return -1;
    hid_t gcpl = new_gcpl();
    hid_t g = gcpl < 0 ? -1 : H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (g < 0)
        ho_fail(c, 1, "cannot create group %s", name);
    close_hid(&gcpl, H5Pclose);
    return g;
}

static int check_meta(ho_ctx *c, const char *final_path, const ho_meta *m)
{
    if (!final_path || !final_path[0]) {
        ho_fail(c, 0, "no file name given");
        return -1;
    }
    if (!m) {
        ho_fail(c, 0, "no metadata given");
        return -1;
    }
    if (m->horizon < 0) {
        ho_fail(c, 0, "horizon %d is negative", m->horizon);
        return -1;
    }
    for (size_t l = 0; l < m->nlabs; l++)
        if (!m->lab_names || !m->lab_names[l]) {
            ho_fail(c, 0, "lab %zu has no name", l);
            return -1;
        }
    for (size_t i = 0; i < m->ninputs; i++)
        if (!m->input_names || !m->input_names[i]) {
            ho_fail(c, 0, "input %zu has no name", i);
            return -1;
        }
    for (size_t k = 0; k < m->nkept; k++)
        if (!m->kept_paths || m->kept_paths[k] >= m->paths) {
            ho_fail(c, 0, "kept path %zu is not below the path count %llu", k,
                    (unsigned long long)m->paths);
            return -1;
        }
    return 0;
}

/* Creates the temporary file itself, so that a missing or unwritable
 * directory is reported with the system's reason (HDF5's is poor). */
static int create_tmp(ho_ctx *c, ho_file *f)
{
    struct stat st;
    if (stat(f->final_path, &st) == 0 && S_ISDIR(st.st_mode)) {
        ho_fail(c, 0, "cannot create file: %s", strerror(EISDIR));
        return -1;
    }
    int fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        ho_fail(c, 0, "cannot create file: %s", strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

static hid_t open_hdf5(ho_ctx *c, const char *tmp)
{
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t fid = -1;
    if (fcpl >= 0 && fapl >= 0 &&
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0 &&
        H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0 &&
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) >= 0 &&
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
        fid = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (fid < 0)
        ho_fail(c, 1, "cannot create HDF5 file");
    close_hid(&fcpl, H5Pclose);
    close_hid(&fapl, H5Pclose);
    return fid;
}

static void write_root_attrs(ho_ctx *c, hid_t fid, const ho_meta *m)
{
    int32_t horizon = m->horizon, base_year = m->base_year;
    int32_t threads = m->threads, processes = m->processes, zero32 = 0;
    uint64_t zero64 = 0;
    attr_str(c, fid, "title", m->title);
    attr_str(c, fid, "scenario_name", m->scenario_name);
    attr_str(c, fid, "scenario_yaml", m->scenario_yaml);
    attr_write(c, fid, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &m->seed);
    attr_write(c, fid, "paths", H5T_STD_U64LE, H5T_NATIVE_UINT64, &m->paths);
    attr_write(c, fid, "horizon", H5T_STD_I32LE, H5T_NATIVE_INT32, &horizon);
    attr_write(c, fid, "base_year", H5T_STD_I32LE, H5T_NATIVE_INT32, &base_year);
    attr_str(c, fid, "runway_version", m->version);
    attr_str(c, fid, "created", m->created);
    attr_str(c, fid, "command_line", m->command_line);
    attr_write(c, fid, "threads", H5T_STD_I32LE, H5T_NATIVE_INT32, &threads);
    attr_write(c, fid, "processes", H5T_STD_I32LE, H5T_NATIVE_INT32, &processes);
    attr_write(c, fid, "complete", H5T_STD_I32LE, H5T_NATIVE_INT32, &zero32);
    attr_write(c, fid, "paths_done", H5T_STD_U64LE, H5T_NATIVE_UINT64, &zero64);
}

/* The path axis, 0..n-1, written directly in batches of chunks (n may be
 * 10^8; memory stays at HO_PATH_BATCH chunks). */
#define HO_PATH_BATCH 16
static void write_path_axis(ho_ctx *c, hid_t ds, uint64_t n, uint64_t first_path,
                            hsize_t rows, int threads)
{
    if (c->failed || n == 0)
        return;
    if (!pipeline_is(ds, 1)) {
        ho_fail(c, 1, "path: its filter pipeline is not the shuffle + deflate its chunks are "
                      "encoded for");
        return;
    }
    htri_t native_le = H5Tequal(H5T_NATIVE_INT64, H5T_STD_I64LE);
    uint64_t nchunks = (n + rows - 1) / rows;
    size_t nbytes = (size_t)rows * sizeof(int64_t);
    ho_job jobs[HO_PATH_BATCH];
    for (uint64_t c0 = 0; c0 < nchunks && !c->failed; c0 += HO_PATH_BATCH) {
        size_t nj = 0;
        for (uint64_t k = c0; k < nchunks && k < c0 + HO_PATH_BATCH; k++) {
            int64_t *v = calloc((size_t)rows, sizeof *v); /* edge chunk: padded with 0 */
            if (!v) {
                ho_fail(c, 0, "out of memory");
                break;
            }
            uint64_t first = k * rows, cnt = n - first < rows ? n - first : rows;
            for (uint64_t j = 0; j < cnt; j++)
                v[j] = (int64_t)(first_path + first + j);
            if (native_le <= 0 &&
                H5Tconvert(H5T_NATIVE_INT64, H5T_STD_I64LE, (size_t)rows, v, NULL, H5P_DEFAULT) < 0)
                ho_fail(c, 1, "cannot convert the path axis");
            jobs[nj++] = (ho_job){ds, "path", first, (unsigned char *)v, nbytes, sizeof(int64_t),
                                  1, 0, 1, NULL, 0};
        }
        run_jobs(c, jobs, nj, threads);
    }
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
    write_path_axis(c, ax[AX_PATH], npath, m->first_path, prow, m->threads);
    ax[AX_KEPT] = make_axis(c, fid, "kept_path", H5T_STD_I64LE, H5T_NATIVE_UINT64, m->nkept,
                            m->kept_paths, NULL, "1", "index of a path whose whole trajectory is kept");
    close_hid(&vstr, H5Tclose);
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
        close_hid(&ds, H5Dclose);
    }
    (void)m;
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
        close_hid(&t, H5Tclose);
    }
    return t;
}

/* Sets up d for direct chunk writes of rows of `cols` elements. */
static void pd_setup(ho_ctx *c, ho_pdset *d, const char *name, hid_t ds, hid_t mtype,
                     hid_t ftype, size_t cols, hsize_t rows, const void *fill)
{
    d->name = name;
    d->ds = ds;
    d->mtype = mtype;
    d->ftype = ftype;
    d->esize = H5Tget_size(ftype);
    d->cols = cols;
    d->rows = rows;
    d->chunk_bytes = (size_t)rows * cols * d->esize;
    d->shuffle = d->esize > 1; /* as make_ds builds the pipeline, checked below */
    htri_t same = H5Tequal(mtype, ftype);
    if (same < 0 || H5Tget_size(mtype) != d->esize) {
        ho_fail(c, 1, "cannot compare the types of %s", name);
        return;
    }
    d->convert = !same;
    if (d->chunk_bytes == 0)
        return; /* an empty dataset: nothing will be written */
    if (!pipeline_is(ds, d->shuffle)) {
        ho_fail(c, 1, "%s: its filter pipeline is not the %sdeflate its chunks are encoded for",
                name, d->shuffle ? "shuffle + " : "");
        return;
    }
    d->fill_chunk = malloc(d->chunk_bytes);
    if (!d->fill_chunk) {
        ho_fail(c, 0, "out of memory");
        return;
    }
    size_t nel = (size_t)rows * cols;
    for (size_t k = 0; k < nel; k++)
        memcpy(d->fill_chunk + k * d->esize, fill, d->esize);
    if (d->convert && H5Tconvert(mtype, ftype, nel, d->fill_chunk, NULL, H5P_DEFAULT) < 0)
        ho_fail(c, 1, "cannot convert the fill value of %s", name);
}

static void make_paths(ho_ctx *c, ho_file *f, const hid_t *ax, const hsize_t *len)
{
    static const char *full[PD_N] = {"paths/fail_year", "paths/outcome", "paths/profit_year",
                                     "paths/final_cash", "paths/raised_total", "paths/inputs",
                                     "paths/weight"};
    hid_t g = make_group(c, f->fid, "paths");
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
        hsize_t chunk[2] = {chunk_rows(rowbytes, dims[0]), dims[1]};
        hid_t ds = make_ds(c, g, d->name, ftype, d->rank, dims, chunk, 1, mtype, fill, dapl,
                           d->units, d->long_name);
        attach(c, ds, d->name, d->rank, sc);
        /* A 0 extent (no paths, no inputs) leaves nothing to write. */
        int empty = dims[0] == 0 || dims[1] == 0;
        if (!c->failed)
            pd_setup(c, &f->pd[i], full[i], ds, mtype, ftype, empty ? 0 : (size_t)dims[1],
                     chunk[0], fill);
        else
            close_hid(&ds, H5Dclose);
    }
    close_hid(&dapl, H5Pclose);
    close_hid(&g, H5Gclose);
}

static void make_traj(ho_ctx *c, hid_t fid, const hid_t *ax, const hsize_t *len)
{
    hid_t g = make_group(c, fid, "trajectories");
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
        close_hid(&ds, H5Dclose);
    }
    close_hid(&g, H5Gclose);
}

ho_file *ho_create(const char *final_path, const ho_meta *meta,
                   char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    ho_ctx c = {final_path ? final_path : "(no file name)", err, errlen, 0};
    if (err && errlen)
        err[0] = '\0';
    if (check_meta(&c, final_path, meta) < 0 || check_filters(&c) < 0)
        return NULL;

    ho_file *f = calloc(1, sizeof *f);
    if (!f) {
        ho_fail(&c, 0, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&f->mu, NULL);
    f->fid = -1;
    f->otype = -1;
    for (int i = 0; i < PD_N; i++)
        f->pd[i].ds = -1;
    f->pending_cap = HO_PENDING_BYTES;
    f->threads = meta->threads;
    const char *cap = getenv("RUNWAY_H5OUT_PENDING_BYTES");
    if (cap && *cap) {
        char *end;
        unsigned long long v = strtoull(cap, &end, 10);
        if (*end == '\0')
            f->pending_cap = (size_t)v;
    }
    f->L = meta->nlabs;
    f->T = (size_t)meta->horizon;
    f->I = meta->ninputs;
    f->K = meta->nkept;
    f->N = meta->paths;
    f->per_path = meta->per_path != HO_PER_PATH_NONE;
    f->no_inputs = meta->per_path == HO_PER_PATH_OUTCOMES;
    f->weighted = meta->weighted;
    f->state = -1;
    size_t n = strlen(final_path);
    f->final_path = malloc(n + 1);
    f->tmp_path = malloc(n + 32);
    if (!f->final_path || !f->tmp_path) {
        ho_fail(&c, 0, "out of memory");
        free_file(f);
        return NULL;
    }
    memcpy(f->final_path, final_path, n + 1);
    snprintf(f->tmp_path, n + 32, "%s.tmp-%ld", final_path, (long)getpid());
    c.path = f->final_path;
    if (create_tmp(&c, f) < 0) {
        free_file(f);
        return NULL;
    }

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

    register_tmp(f->tmp_path, 1);
    f->fid = open_hdf5(&c, f->tmp_path);
    if (!c.failed)
        write_root_attrs(&c, f->fid, meta);
    if (!c.failed)
        attr_str(&c, f->fid, "per_path", meta->per_path == HO_PER_PATH_NONE ? "none"
                 : meta->per_path == HO_PER_PATH_OUTCOMES ? "outcomes" : "all");
    make_axes(&c, f->fid, meta, ax);
    make_summaries(&c, f->fid, meta, ax, len);
    if (f->per_path)
        make_paths(&c, f, ax, len);
    make_traj(&c, f->fid, ax, len);
    for (int i = 0; i < AX_N; i++)
        close_hid(&ax[i], H5Dclose);
    if (!c.failed && H5Fflush(f->fid, H5F_SCOPE_GLOBAL) < 0)
        ho_fail(&c, 1, "cannot write the file");
    if (c.failed) {
        close_file(f);
        unlink(f->tmp_path);
        free_file(f);
        return NULL;
    }
    return f;
}

int ho_write_paths(ho_file *f, uint64_t first, uint64_t count,
                   const ho_paths *p, char *err, size_t errlen)
{
    ho_ctx c = {f ? f->final_path : "(no file)", err, errlen, 0};
    if (!f) {
        ho_fail(&c, 0, "no file");
        return -1;
    }
    if (!f->per_path || count == 0)
        return 0;
    if (first > f->N || count > f->N - first) {
        ho_fail(&c, 0, "paths %llu..%llu are beyond the path count %llu",
                (unsigned long long)first, (unsigned long long)(first + count - 1),
                (unsigned long long)f->N);
        return -1;
    }
    if (!p || !p->fail_year || !p->outcome || !p->profit_year || !p->final_cash ||
        !p->raised_total || (f->I > 0 && !f->no_inputs && !p->inputs) ||
        (f->weighted && !p->weight)) {
        ho_fail(&c, 0, "paths %llu..%llu: an array of the block is missing",
                (unsigned long long)first, (unsigned long long)(first + count - 1));
        return -1;
    }
    const void *src[PD_N] = {p->fail_year, p->outcome, p->profit_year, p->final_cash,
                             p->raised_total, p->inputs, p->weight};
    /* At most (count / rows + 2) chunks of each dataset complete here. */
    size_t maxjobs = 0;
    for (int i = 0; i < PD_N; i++)
        if (f->pd[i].cols)
            maxjobs += (size_t)(count / f->pd[i].rows) + 2;
    ho_job *jobs = malloc((maxjobs ? maxjobs : 1) * sizeof *jobs);
    size_t nj = 0;
    if (!jobs) {
        ho_fail(&c, 0, "out of memory");
        return -1;
    }
    /* The rows go to their chunks under the file's lock; the chunks they
     * complete leave the pending set, so no other call touches them, and
     * are compressed outside it: callers on several threads (the sampler's
     * sink) compress at the same time and wait only for each other's
     * copies and stores. */
    pthread_mutex_lock(&f->mu);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    for (int i = 0; i < PD_N && !c.failed; i++)
        if (f->pd[i].cols)
            pd_rows(&c, f, &f->pd[i], first, count, src[i], jobs, &nj);
    if (!c.failed && f->pending_bytes > f->pending_cap)
        store_partials(&c, f, 0);
    /* a call that finds others compressing is one of several threads
     * that already keep the cores busy: it compresses on its own */
    int alone = f->encoding++ == 0;
    pthread_mutex_unlock(&f->mu);
    encode_jobs(jobs, nj, alone ? f->threads : 1);
    pthread_mutex_lock(&f->mu);
    f->encoding--;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    store_jobs(&c, jobs, nj); /* also frees the buffers after a failure */
    if (!c.failed)
        f->rows_written += count;
    pthread_mutex_unlock(&f->mu);
    free(jobs);
    return c.failed ? -1 : 0;
}

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
    close_hid(&g, H5Gclose);
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
        s->sensitivity_cash, s->acquired_solvent};
    size_t len[AX_N];
    len[AX_YEAR] = f->T;
    len[AX_LAB] = f->L;
    len[AX_QUANT] = HO_NQUANT;
    len[AX_INPUT] = f->I;
    len[AX_NALIVE] = f->L + 1;
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

int ho_mark_progress(ho_file *f, uint64_t paths_done, char *err, size_t errlen)
{
    ho_ctx c = {f ? f->final_path : "(no file)", err, errlen, 0};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* per thread in a thread-safe HDF5 */
    if (!f) {
        ho_fail(&c, 0, "no file");
        return -1;
    }
    store_partials(&c, f, 1);
    attr_update(&c, f->fid, "paths_done", H5T_NATIVE_UINT64, &paths_done);
    if (!c.failed && H5Fflush(f->fid, H5F_SCOPE_GLOBAL) < 0)
        ho_fail(&c, 1, "cannot flush the file");
    return c.failed ? -1 : 0;
}

/* fsync(2) the file at path; file systems that cannot sync are not errors. */
static int sync_path(const char *path, int dir)
{
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0)
        return dir ? 0 : -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc < 0 && (e == EINVAL || e == EROFS || e == ENOTSUP))
        rc = 0;
    errno = e;
    return rc;
}

static int commit_impl(ho_file *f, int complete, uint64_t paths_done, char *err,
                       size_t errlen);

int ho_commit(ho_file *f, char *err, size_t errlen)
{
    return commit_impl(f, 1, f ? f->N : 0, err, errlen);
}

int ho_commit_partial(ho_file *f, uint64_t paths_done, char *err, size_t errlen)
{
    return commit_impl(f, 0, paths_done, err, errlen);
}

static int commit_impl(ho_file *f, int complete, uint64_t paths_done, char *err,
                       size_t errlen)
{
    ho_ctx c = {f ? f->final_path : "(no file)", err, errlen, 0};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* per thread in a thread-safe HDF5 */
    if (!f) {
        ho_fail(&c, 0, "no file");
        return -1;
    }
    if (!complete) {
        /* A checkpoint or a shard: the rows it has go to disk as they
         * are; readers see complete = 0 and paths_done. */
        store_partials(&c, f, 1);
    } else if (f->per_path && f->rows_written > f->N)
        ho_fail(&c, 0, "some paths were written more than once (%llu rows for %llu paths)",
                (unsigned long long)f->rows_written, (unsigned long long)f->N);
    else if (f->per_path && f->rows_written < f->N)
        ho_fail(&c, 0, "not complete: %llu of %llu paths written",
                (unsigned long long)f->rows_written, (unsigned long long)f->N);
    for (int i = 0; i < PD_N && !c.failed && complete; i++)
        if (f->pd[i].npend > 0) {
            const ho_pdset *d = &f->pd[i];
            uint64_t c0 = d->pend[0].idx * d->rows;
            ho_fail(&c, 0, "not complete: %s misses some of paths %llu..%llu", d->name,
                    (unsigned long long)c0,
                    (unsigned long long)(c0 + rows_in_chunk(d, d->pend[0].idx, f->N) - 1));
        }
    if (!c.failed && complete && !f->summary_written)
        ho_fail(&c, 0, "not complete: the summary was not written");
    if (!c.failed && complete && f->K > 0 && !f->traj_written)
        ho_fail(&c, 0, "not complete: the trajectories were not written");

    /* Everything but the flag goes to disk first, the file still saying
     * complete = 0: the flag is then the last small write before the
     * rename, so a kill between the two (which no program can make
     * atomic) has a window of a metadata write and a close, not of the
     * whole file's flush and fsync, in which it leaves a temporary file
     * that claims to be complete. */
    if (!c.failed && complete) {
        if (H5Fflush(f->fid, H5F_SCOPE_GLOBAL) < 0)
            ho_fail(&c, 1, "cannot flush the file");
        else if (sync_path(f->tmp_path, 0) < 0)
            ho_fail(&c, 0, "cannot sync the file: %s", strerror(errno));
    }
    int32_t flag = complete ? 1 : 0;
    attr_update(&c, f->fid, "complete", H5T_NATIVE_INT32, &flag);
    attr_update(&c, f->fid, "paths_done", H5T_NATIVE_UINT64, &paths_done);
    if (f->state >= 0)
        close_hid(&f->state, H5Gclose);
    for (int i = 0; i < PD_N; i++) {
        if (f->pd[i].ds >= 0 && H5Dclose(f->pd[i].ds) < 0)
            ho_fail(&c, 1, "cannot write %s", f->pd[i].name);
        f->pd[i].ds = -1;
    }
    close_hid(&f->otype, H5Tclose);
    if (!c.failed && H5Fflush(f->fid, H5F_SCOPE_GLOBAL) < 0)
        ho_fail(&c, 1, "cannot flush the file");
    if (!c.failed) {
        ssize_t nopen = H5Fget_obj_count(f->fid, H5F_OBJ_ALL);
        if (nopen != 1)
            ho_fail(&c, 0, "%ld HDF5 object(s) left open before closing (a bug in h5out)",
                    (long)nopen - 1);
    }
    if (f->fid >= 0) {
        herr_t rc = H5Fclose(f->fid);
        f->fid = -1;
        if (rc < 0)
            ho_fail(&c, 1, "cannot close the file");
    }
    if (!c.failed && sync_path(f->tmp_path, 0) < 0)
        ho_fail(&c, 0, "cannot sync the file: %s", strerror(errno));
    if (!c.failed && rename(f->tmp_path, f->final_path) < 0)
        ho_fail(&c, 0, "cannot rename the temporary file onto it: %s", strerror(errno));
    if (c.failed) {
        close_file(f);
        unlink(f->tmp_path);
        free_file(f);
        return -1;
    }
    /* Make the rename durable; a failure here loses nothing written. */
    char *slash = strrchr(f->final_path, '/');
    if (slash) {
        *slash = '\0';
        sync_path(slash == f->final_path ? "/" : f->final_path, 1);
    } else {
        sync_path(".", 1);
    }
    free_file(f);
    return 0;
}

int64_t ho_file_id(const ho_file *f)
{
    return (int64_t)f->fid;
}

void ho_discard(ho_file *f)
{
    if (!f)
        return;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    close_file(f);
    unlink(f->tmp_path);
    H5Eclear2(H5E_DEFAULT);
    free_file(f);
}

int ho_put_state(ho_file *f, const char *name, int type, const void *data,
                 uint64_t rows, uint64_t cols, char *err, size_t errlen)
{
    ho_ctx c = {f ? f->final_path : "(no file)", err, errlen, 0};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!f) {
        ho_fail(&c, 0, "no file");
        return -1;
    }
    if (f->state < 0)
        f->state = make_group(&c, f->fid, "state");
    hid_t ft = type == HO_U64 ? H5T_STD_U64LE : type == HO_F64 ? H5T_IEEE_F64LE
             : type == HO_I32 ? H5T_STD_I32LE : H5T_STD_U8LE;
    hid_t mt = type == HO_U64 ? H5T_NATIVE_UINT64 : type == HO_F64 ? H5T_NATIVE_DOUBLE
             : type == HO_I32 ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT8;
    hsize_t dims[2] = {rows, cols};
    hid_t space = c.failed ? -1 : H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (!c.failed && rows > 0 && cols > 0) {
        hsize_t chunk[2] = {rows < 65536 ? rows : 65536, cols};
        if (H5Pset_chunk(dcpl, 2, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 1) < 0)
            ho_fail(&c, 1, "cannot set up state/%s", name);
    }
    hid_t ds = c.failed || space < 0 ? -1
             : H5Dcreate2(f->state, name, ft, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (!c.failed && ds < 0)
        ho_fail(&c, 1, "cannot create state/%s", name);
    if (!c.failed && rows > 0 && cols > 0 && H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        ho_fail(&c, 1, "cannot write state/%s", name);
    if (ds >= 0)
        H5Dclose(ds);
    if (space >= 0)
        H5Sclose(space);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return c.failed ? -1 : 0;
}

int ho_put_attr_f64(ho_file *f, const char *name, double v, char *err, size_t errlen)
{
    ho_ctx c = {f ? f->final_path : "(no file)", err, errlen, 0};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!f) {
        ho_fail(&c, 0, "no file");
        return -1;
    }
    attr_write(&c, f->fid, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
    return c.failed ? -1 : 0;
}

int ho_put_attr_str(ho_file *f, const char *name, const char *v, char *err, size_t errlen)
{
    ho_ctx c = {f ? f->final_path : "(no file)", err, errlen, 0};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!f) {
        ho_fail(&c, 0, "no file");
        return -1;
    }
    attr_str(&c, f->fid, name, v);
    return c.failed ? -1 : 0;
}

int ho_put_attr_u64(ho_file *f, const char *name, uint64_t v, char *err, size_t errlen)
{
    ho_ctx c = {f ? f->final_path : "(no file)", err, errlen, 0};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!f) {
        ho_fail(&c, 0, "no file");
        return -1;
    }
    attr_write(&c, f->fid, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
    return c.failed ? -1 : 0;
}

void ho_summary_view(const sim_result *r, ho_summary *o)
{
    *o = (ho_summary){
        r->survival, r->survival_lo, r->survival_hi,
        r->failed_acquired, r->failed_wound_down, r->profitable_by,
#define HO_Q_(K, f, n, u, tr, ql, tl) r->q[MT_##K],
        MT_METRICS(HO_Q_)
#undef HO_Q_
        r->independent_alive,
        r->sensitivity_survival, r->sensitivity_cash,
        r->acquired_solvent,
    };
}

void ho_traj_view(const sim_result *r, ho_traj *o)
{
    *o = (ho_traj){
#define HO_TRAJ_(K, f, n, u, tr, ql, tl) MT_IF(tr, r->traj[MT_##K],)
        MT_METRICS(HO_TRAJ_)
#undef HO_TRAJ_
        r->traj_alive };
}
