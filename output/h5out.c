/* h5out: the result file (see h5out.h and ../shared/OUTPUT.md). This
 * file holds the file's life (created under a temporary name, progress
 * marks, commit, discard, attributes, group /state); h5layout.c creates
 * its datasets and writes the summaries, h5chunks.c assembles and stores
 * the chunks of group `paths` (h5out_internal.h).
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
 * - Rows of group `paths` arrive in whole sampler blocks (HO_BLOCK_ROWS
 *   paths; shards and resumes are whole blocks too), in any order, and
 *   the chunks of group `paths` are at most a block long (a power of two
 *   of rows, so they divide it): every call completes its chunks, and
 *   nothing is held in memory between calls, spilled, or read back. The
 *   narrowest datasets lose a little compression to the smaller chunks
 *   (fail_year of 6 labs: 24 KiB chunks instead of 512 KiB). A bitmap of
 *   the blocks written refuses a block written twice; a progress mark is
 *   a flush.
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
 * file's lock around its HDF5 calls and its bitmap of blocks written,
 * and compresses outside it (HDF5 itself may be a build that is
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
#include <sys/statvfs.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "output/h5codec.h"
#include "output/h5out_internal.h"

/* ------------------------------------------------------------------ */
/* Temporary files in flight, for ho_remove_temporaries: if a library
 * ends the process (HDF5 calls exit() when some of its own allocations
 * fail), the program's exit guard can still remove them. */
#define HO_MAX_OPEN 64
/* The longest file name (one path component) of Linux file systems. */
#define HO_NAME_MAX 255
#ifndef S_ISVTX /* POSIX XSI; the sticky bit of a directory */
#define S_ISVTX 01000
#endif
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

static herr_t innermost_desc(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc)
        snprintf((char *)data, 256, "%s", e->desc);
    return 0;
}

void ho_fail(ho_ctx *c, int from_hdf5, const char *fmt, ...)
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

void ho_close_hid(hid_t *h, herr_t (*closer)(hid_t))
{
    if (*h >= 0)
        closer(*h);
    *h = -1;
}

/* ------------------------------------------------------------------ */
/* Attributes */

void ho_attr_write(ho_ctx *c, hid_t loc, const char *name, hid_t ftype,
                       hid_t mtype, const void *val)
{
    if (c->failed)
        return;
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = sp < 0 ? -1 : H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, val) < 0)
        ho_fail(c, 1, "cannot write attribute %s", name);
    ho_close_hid(&a, H5Aclose);
    ho_close_hid(&sp, H5Sclose);
}

/* Overwrites an existing scalar attribute. */
void ho_attr_update(ho_ctx *c, hid_t loc, const char *name, hid_t mtype,
                        const void *val)
{
    if (c->failed)
        return;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, val) < 0)
        ho_fail(c, 1, "cannot write attribute %s", name);
    ho_close_hid(&a, H5Aclose);
}

/* A scalar fixed-length UTF-8 string attribute; NULL is written as "". */
void ho_attr_str(ho_ctx *c, hid_t loc, const char *name, const char *s)
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
        ho_attr_write(c, loc, name, t, t, s); /* n == 0: writes the NUL byte */
    ho_close_hid(&t, H5Tclose);
}

/* ------------------------------------------------------------------ */
/* The file */

/* Closes every handle. */
static void close_file(ho_file *f)
{
    for (int i = 0; i < PD_N; i++)
        ho_close_hid(&f->pd[i].ds, H5Dclose);
    ho_close_hid(&f->otype, H5Tclose);
    ho_close_hid(&f->fid, H5Fclose); /* fclose degree STRONG: closes the rest */
}

/* Frees f and its chunk buffers (the handles must be closed). */
static void free_file(ho_file *f)
{
    if (f->tmp_fd >= 0)
        close(f->tmp_fd);
    if (f->tmp_path)
        register_tmp(f->tmp_path, 0); /* renamed or removed by now */
    for (int i = 0; i < PD_N; i++)
        free(f->pd[i].fill_chunk);
    free(f->written);
    free(f->final_path);
    free(f->tmp_path);
    pthread_mutex_destroy(&f->mu);
    free(f);
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
    for (size_t g = 0; g < m->ngroups; g++)
        if (!m->group_names || !m->group_names[g]) {
            ho_fail(c, 0, "set %zu of correlated inputs has no name", g);
            return -1;
        }
    for (size_t i = 0; m->input_group && i < m->ninputs; i++)
        if (m->input_group[i] < 0 || (size_t)m->input_group[i] >= m->ngroups) {
            ho_fail(c, 0, "input %zu is in no set of the group axis", i);
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

/* The template of the temporary file's name beside the final path: DIR/
 * STEM.tmp- and the six-X pattern that mkstemp(3) replaces with random
 * characters, where STEM is the final name cut short enough that the
 * whole name fits NAME_MAX (a valid 250-byte output name must not fail
 * because of the suffix). NULL when memory runs out. */
static char *tmp_template(const char *final_path)
{
    static const char suffix[] = ".tmp-XXXXXX";
    const char *slash = strrchr(final_path, '/');
    size_t dirlen = slash ? (size_t)(slash - final_path) + 1 : 0;
    size_t stem = strlen(final_path) - dirlen;
    if (stem > HO_NAME_MAX - (sizeof suffix - 1))
        stem = HO_NAME_MAX - (sizeof suffix - 1);
    char *t = malloc(dirlen + stem + sizeof suffix);
    if (!t)
        return NULL;
    memcpy(t, final_path, dirlen + stem);
    memcpy(t + dirlen + stem, suffix, sizeof suffix);
    return t;
}

/* What a rename onto final_path will meet, checked before any work: the
 * final path must be absent or a regular file (a device node such as
 * /dev/null would be replaced by a regular file when run as root), and in
 * a sticky directory (/tmp) a file of another user cannot be replaced, so
 * a run that would compute everything and then fail on the rename is
 * refused up front. */
static int check_final(ho_ctx *c, const char *final_path)
{
    struct stat st, lst, dst;
    if (stat(final_path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            ho_fail(c, 0, "cannot create file: %s", strerror(EISDIR));
            return -1;
        }
        if (!S_ISREG(st.st_mode)) {
            ho_fail(c, 0, "exists and is not a regular file (a device, pipe or socket); "
                          "runway replaces only regular files: choose another output name");
            return -1;
        }
    }
    if (lstat(final_path, &lst) != 0)
        return 0;
    const char *slash = strrchr(final_path, '/');
    char *dir = slash ? strndup(final_path, slash == final_path ? 1 : (size_t)(slash - final_path))
                      : strdup(".");
    int sticky = dir && stat(dir, &dst) == 0 && (dst.st_mode & S_ISVTX);
    uid_t me = geteuid();
    if (sticky && me != 0 && lst.st_uid != me && dst.st_uid != me) {
        ho_fail(c, 0, "belongs to another user (uid %ld) in the sticky directory %s, so it "
                      "cannot be replaced: remove it or choose another output name",
                (long)lst.st_uid, dir);
        free(dir);
        return -1;
    }
    free(dir);
    return 0;
}

/* Creates the temporary file itself, at an unpredictable name with
 * O_EXCL (mkstemp), so that no planted file or symbolic link can stand
 * in for it (a predictable OUT.h5.tmp-PID could be planted as a link to
 * another file, which the create would then have overwritten), and two
 * runs in different PID namespaces never share one. It also reports a
 * missing or unwritable directory with the system's reason (HDF5's is
 * poor). The mode is what open(0666) would give under the umask. */
static int create_tmp(ho_ctx *c, ho_file *f)
{
    if (check_final(c, f->final_path) < 0)
        return -1;
    int fd = mkstemp(f->tmp_path);
    if (fd >= 0)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (fd < 0) {
        ho_fail(c, 0, "cannot create file: %s", strerror(errno));
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    struct stat st;
    if (fchmod(fd, 0666 & ~mask) != 0 || fstat(fd, &st) != 0) {
        ho_fail(c, 0, "cannot create file: %s", strerror(errno));
        close(fd);
        unlink(f->tmp_path);
        return -1;
    }
    f->tmp_fd = fd;
    f->tmp_dev = st.st_dev;
    f->tmp_ino = st.st_ino;
    return 0;
}

/* Is the temporary name still the file we created (not removed, renamed
 * or replaced by a link in between)? */
static int tmp_is_ours(const ho_file *f)
{
    struct stat st;
    return lstat(f->tmp_path, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == f->tmp_dev &&
           st.st_ino == f->tmp_ino;
}

/* HDF5 opens files by name. It is given /proc/self/fd/N, the file we
 * created itself, wherever a name might now point; without /proc, the
 * name, checked against the file before and after. */
static hid_t open_hdf5(ho_ctx *c, ho_file *f)
{
    char byfd[64];
    snprintf(byfd, sizeof byfd, "/proc/self/fd/%d", f->tmp_fd);
    struct stat st;
    const char *name = stat(byfd, &st) == 0 && st.st_dev == f->tmp_dev && st.st_ino == f->tmp_ino
                           ? byfd : f->tmp_path;
    if (name == f->tmp_path && !tmp_is_ours(f)) {
        ho_fail(c, 0, "the temporary file %s was replaced while being created", f->tmp_path);
        return -1;
    }
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t fid = -1;
    if (fcpl >= 0 && fapl >= 0 &&
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0 &&
        H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0 &&
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) >= 0 &&
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
        fid = H5Fcreate(name, H5F_ACC_TRUNC, fcpl, fapl);
    if (fid < 0)
        ho_fail(c, 1, "cannot create HDF5 file");
    ho_close_hid(&fcpl, H5Pclose);
    ho_close_hid(&fapl, H5Pclose);
    if (fid >= 0 && !tmp_is_ours(f)) {
        ho_fail(c, 0, "the temporary file %s was replaced while being created", f->tmp_path);
        H5Fclose(fid);
        return -1;
    }
    return fid;
}

/* Per-path data that cannot fit the file system is refused before any
 * work (a 2^40-path run would otherwise write its path axis for minutes
 * and fail hours later). The bound is one compression cannot beat: 4 of
 * the 8 bytes of each lab's final cash and of each drawn input are
 * noise (measured: files take 1.9 to 3.4 times this). */
static int check_room(ho_ctx *c, const ho_file *f)
{
    if (!f->per_path)
        return 0;
    double need = (double)f->N * 4.0 * (double)(f->L + (f->no_inputs ? 0 : f->I));
    struct statvfs sv;
    if (fstatvfs(f->tmp_fd, &sv) != 0)
        return 0;
    double room = (double)sv.f_bavail * (double)sv.f_frsize;
    if (need <= room)
        return 0;
    ho_fail(c, 0, "the per-path data of %llu paths needs at least %.3g GB (4 bytes a path for "
                  "each of %zu labs and %zu inputs, which compression cannot go below), and the "
                  "file system has %.3g GB free: use --per-path outcomes or none, or fewer paths",
            (unsigned long long)f->N, need * 1e-9, f->L, f->no_inputs ? (size_t)0 : f->I,
            room * 1e-9);
    return -1;
}

static void write_root_attrs(ho_ctx *c, hid_t fid, const ho_meta *m)
{
    int32_t horizon = m->horizon, base_year = m->base_year;
    int32_t threads = m->threads, processes = m->processes, zero32 = 0;
    uint64_t zero64 = 0;
    ho_attr_str(c, fid, "title", m->title);
    ho_attr_str(c, fid, "scenario_name", m->scenario_name);
    ho_attr_str(c, fid, "scenario_yaml", m->scenario_yaml);
    ho_attr_write(c, fid, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &m->seed);
    ho_attr_write(c, fid, "paths", H5T_STD_U64LE, H5T_NATIVE_UINT64, &m->paths);
    ho_attr_write(c, fid, "horizon", H5T_STD_I32LE, H5T_NATIVE_INT32, &horizon);
    ho_attr_write(c, fid, "base_year", H5T_STD_I32LE, H5T_NATIVE_INT32, &base_year);
    ho_attr_str(c, fid, "runway_version", m->version);
    ho_attr_str(c, fid, "created", m->created);
    ho_attr_str(c, fid, "command_line", m->command_line);
    ho_attr_write(c, fid, "threads", H5T_STD_I32LE, H5T_NATIVE_INT32, &threads);
    ho_attr_write(c, fid, "processes", H5T_STD_I32LE, H5T_NATIVE_INT32, &processes);
    ho_attr_write(c, fid, "complete", H5T_STD_I32LE, H5T_NATIVE_INT32, &zero32);
    ho_attr_write(c, fid, "paths_done", H5T_STD_U64LE, H5T_NATIVE_UINT64, &zero64);
}

ho_file *ho_create(const char *final_path, const ho_meta *meta,
                   char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    ho_ctx c = {final_path ? final_path : "(no file name)", err, errlen, 0};
    if (err && errlen)
        err[0] = '\0';
    if (check_meta(&c, final_path, meta) < 0 || ho_check_filters(&c) < 0)
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
    f->threads = meta->threads;
    f->L = meta->nlabs;
    f->T = (size_t)meta->horizon;
    f->I = meta->ninputs;
    f->G = meta->input_group ? meta->ngroups : meta->ninputs;
    f->K = meta->nkept;
    f->N = meta->paths;
    f->per_path = meta->per_path != HO_PER_PATH_NONE;
    f->no_inputs = meta->per_path == HO_PER_PATH_OUTCOMES;
    f->weighted = meta->weighted;
    f->state = -1;
    if (f->per_path) {
        size_t nbits = (size_t)((f->N + HO_BLOCK_ROWS - 1) / HO_BLOCK_ROWS);
        if (!(f->written = calloc(nbits / 8 + 1, 1))) {
            ho_fail(&c, 0, "out of memory (%zu bytes for the map of blocks written)",
                    nbits / 8 + 1);
            free_file(f);
            return NULL;
        }
    }
    size_t n = strlen(final_path);
    f->final_path = malloc(n + 1);
    f->tmp_fd = -1;
    f->tmp_path = tmp_template(final_path);
    if (!f->final_path || !f->tmp_path) {
        ho_fail(&c, 0, "out of memory");
        free_file(f);
        return NULL;
    }
    memcpy(f->final_path, final_path, n + 1);
    c.path = f->final_path;
    if (create_tmp(&c, f) < 0) {
        free_file(f);
        return NULL;
    }

    register_tmp(f->tmp_path, 1);
    if (check_room(&c, f) < 0) {
        unlink(f->tmp_path);
        free_file(f);
        return NULL;
    }
    f->fid = open_hdf5(&c, f);
    if (!c.failed)
        write_root_attrs(&c, f->fid, meta);
    if (!c.failed)
        ho_attr_str(&c, f->fid, "per_path", meta->per_path == HO_PER_PATH_NONE ? "none"
                 : meta->per_path == HO_PER_PATH_OUTCOMES ? "outcomes" : "all");
    ho_layout_create(&c, f, meta);
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

int ho_mark_progress(ho_file *f, uint64_t paths_done, char *err, size_t errlen)
{
    ho_ctx c = {f ? f->final_path : "(no file)", err, errlen, 0};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* per thread in a thread-safe HDF5 */
    if (!f) {
        ho_fail(&c, 0, "no file");
        return -1;
    }
    ho_attr_update(&c, f->fid, "paths_done", H5T_NATIVE_UINT64, &paths_done);
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
    /* A checkpoint or a shard (!complete) holds the blocks it has;
     * readers see complete = 0 and paths_done. A complete file has every
     * block once (ho_write_paths refuses a block twice). */
    if (complete && f->per_path && f->rows_written < f->N)
        ho_fail(&c, 0, "not complete: %llu of %llu paths written",
                (unsigned long long)f->rows_written, (unsigned long long)f->N);
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
    ho_attr_update(&c, f->fid, "complete", H5T_NATIVE_INT32, &flag);
    ho_attr_update(&c, f->fid, "paths_done", H5T_NATIVE_UINT64, &paths_done);
    if (f->state >= 0)
        ho_close_hid(&f->state, H5Gclose);
    for (int i = 0; i < PD_N; i++) {
        if (f->pd[i].ds >= 0 && H5Dclose(f->pd[i].ds) < 0)
            ho_fail(&c, 1, "cannot write %s", f->pd[i].name);
        f->pd[i].ds = -1;
    }
    ho_close_hid(&f->otype, H5Tclose);
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
    if (!c.failed && !tmp_is_ours(f))
        ho_fail(&c, 0, "the temporary file %s was removed or replaced by someone else; "
                       "nothing renamed", f->tmp_path);
    else if (!c.failed && rename(f->tmp_path, f->final_path) < 0) {
        /* Everything is written: keep it, and say where, rather than lose
         * a whole run (or a checkpoint) to a late rename failure. */
        ho_fail(&c, 0, "cannot rename the temporary file onto it: %s; the %s is kept at %s",
                strerror(errno), complete ? "complete result" : "checkpoint", f->tmp_path);
        register_tmp(f->tmp_path, 0);
        free(f->tmp_path);
        f->tmp_path = NULL;
        free_file(f);
        return -1;
    }
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
        f->state = ho_make_group(&c, f->fid, "state");
    hid_t ft = type == HO_U64 ? H5T_STD_U64LE : type == HO_F64 ? H5T_IEEE_F64LE
             : type == HO_I32 ? H5T_STD_I32LE : H5T_STD_U8LE;
    hid_t mt = type == HO_U64 ? H5T_NATIVE_UINT64 : type == HO_F64 ? H5T_NATIVE_DOUBLE
             : type == HO_I32 ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT8;
    hsize_t dims[2] = {rows, cols};
    hid_t space = c.failed ? -1 : H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (!c.failed && rows > 0 && cols > 0) {
        hsize_t chunk[2] = {rows < 65536 ? rows : 65536, cols};
        if (H5Pset_chunk(dcpl, 2, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, HC_DEFLATE_LEVEL) < 0)
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
    ho_attr_write(&c, f->fid, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
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
    ho_attr_str(&c, f->fid, name, v);
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
    ho_attr_write(&c, f->fid, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
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
        r->sensitivity_index, r->sensitivity_swing, r->sensitivity_group_index,
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
