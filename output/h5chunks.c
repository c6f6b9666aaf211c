/* h5chunks: the rows of group `paths`, whole sampler blocks at a time, in
 * any order, from several threads at once: each block's rows are whole
 * chunks, encoded by h5codec outside the file's lock and stored with
 * H5Dwrite_chunk (see h5out.c's notes). Also the path axis, written the
 * same way. Part of the writer (h5out_internal.h). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "output/h5codec.h"
#include "output/h5out_internal.h"

/* ------------------------------------------------------------------ */
/* Chunks written directly (group `paths`, axis `path`), encoded by
 * h5codec.c */

/* Every compressed dataset is shuffled and deflated (make_ds), and the
 * chunks of group `paths` and of the path axis are encoded outside HDF5
 * as those filters would (h5codec.h). So both filters must be in this
 * HDF5 and able to encode (a library built without zlib has no deflate)
 * and decode (or this HDF5 could not read back what it wrote); checked
 * once per file, before anything is created. */
int ho_check_filters(ho_ctx *c)
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

/* Chunk k of d holding rows [first, first + n) of the caller's array
 * src (n <= d->rows: fewer only for the axis's last chunk), in file byte
 * order. A whole chunk needing no conversion is encoded straight from
 * src; otherwise it is copied (padded with fill values) and converted.
 * Called under the file's lock (H5Tconvert is an HDF5 call). */
static int pd_job(ho_ctx *c, ho_pdset *d, uint64_t first, uint64_t n, const void *src,
                  ho_job *job)
{
    size_t rowbytes = d->cols * d->esize;
    unsigned char *raw = (unsigned char *)src, *own = NULL;
    if (n < d->rows || d->convert) {
        if (!(own = malloc(d->chunk_bytes))) {
            ho_fail(c, 0, "out of memory (a chunk of %s: %zu bytes)", d->name, d->chunk_bytes);
            return -1;
        }
        memcpy(own, d->fill_chunk, d->chunk_bytes);
        memcpy(own, src, (size_t)n * rowbytes);
        if (d->convert &&
            H5Tconvert(d->mtype, d->ftype, (size_t)n * d->cols, own, NULL, H5P_DEFAULT) < 0) {
            free(own);
            ho_fail(c, 1, "cannot convert %s", d->name);
            return -1;
        }
        raw = own;
    }
    *job = (ho_job){d->ds, d->name, first, raw, d->chunk_bytes, d->esize,
                    d->shuffle, 1, own != NULL, NULL, 0};
    return 0;
}

/* Sets up d for direct chunk writes of rows of `cols` elements. */
void ho_pd_setup(ho_ctx *c, ho_pdset *d, const char *name, hid_t ds, hid_t mtype,
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

/* The path axis, 0..n-1, written directly in batches of chunks (n may be
 * 10^8; memory stays at HO_PATH_BATCH chunks). */
#define HO_PATH_BATCH 16
void ho_write_path_axis(ho_ctx *c, const ho_meta *m, hid_t ds, uint64_t n, uint64_t first_path,
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
        /* a large axis takes minutes: a signal must not wait for it */
        int sig = m->interrupt && *m->interrupt ? (int)*m->interrupt
                : m->stop && *m->stop ? (int)*m->stop : 0;
        if (sig) {
            ho_fail(c, 0, "stopped by signal %d while creating the file; "
                          "no result written", sig);
            return;
        }
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

/* Marks blocks [b0, b1) of f written; -1 (and nothing marked) when one
 * already was. Under the file's lock. */
static int mark_blocks(ho_ctx *c, ho_file *f, uint64_t b0, uint64_t b1)
{
    for (uint64_t b = b0; b < b1; b++)
        if (f->written[b / 8] & (1u << (b % 8))) {
            ho_fail(c, 0, "paths %llu..%llu were written twice",
                    (unsigned long long)(b * HO_BLOCK_ROWS),
                    (unsigned long long)((b + 1) * HO_BLOCK_ROWS < f->N
                                             ? (b + 1) * HO_BLOCK_ROWS - 1 : f->N - 1));
            return -1;
        }
    for (uint64_t b = b0; b < b1; b++)
        f->written[b / 8] |= (unsigned char)(1u << (b % 8));
    return 0;
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
    /* Whole sampler blocks only: then every chunk (HO_BLOCK_ROWS is a
     * multiple of each dataset's rows per chunk) is complete in one call
     * and goes straight to the file. */
    if (first % HO_BLOCK_ROWS != 0 || (count % HO_BLOCK_ROWS != 0 && first + count != f->N)) {
        ho_fail(&c, 0, "paths %llu..%llu are not whole blocks of %d paths",
                (unsigned long long)first, (unsigned long long)(first + count - 1),
                HO_BLOCK_ROWS);
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
    size_t maxjobs = 0;
    for (int i = 0; i < PD_N; i++)
        if (f->pd[i].cols)
            maxjobs += (size_t)((count + f->pd[i].rows - 1) / f->pd[i].rows);
    ho_job *jobs = malloc((maxjobs ? maxjobs : 1) * sizeof *jobs);
    size_t nj = 0;
    if (!jobs) {
        ho_fail(&c, 0, "out of memory");
        return -1;
    }
    /* Under the file's lock: the blocks are claimed and the chunks that
     * need it converted; then the chunks are compressed outside it, so
     * callers on several threads (the sampler's sink) compress at the
     * same time, and stored under it again. */
    pthread_mutex_lock(&f->mu);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    uint64_t b0 = first / HO_BLOCK_ROWS, b1 = (first + count + HO_BLOCK_ROWS - 1) / HO_BLOCK_ROWS;
    mark_blocks(&c, f, b0, b1);
    for (int i = 0; i < PD_N && !c.failed; i++) {
        ho_pdset *d = &f->pd[i];
        size_t rowbytes = d->cols * d->esize;
        for (uint64_t r = 0; d->cols && r < count && !c.failed; r += d->rows) {
            uint64_t n = count - r < d->rows ? count - r : d->rows;
            if (pd_job(&c, d, first + r, n, (const unsigned char *)src[i] + r * rowbytes,
                       &jobs[nj]) == 0)
                nj++;
        }
    }
    /* a call that finds others compressing is one of several threads
     * that already keep the cores busy: it compresses on its own */
    int alone = f->encoding++ == 0;
    pthread_mutex_unlock(&f->mu);
    if (!c.failed)
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
