/* test_h5out: the result file writer (output/h5out.h).
 *
 * Usage: test_h5out [SYNTHETIC.h5 [EMPTY_AXES.h5]]
 *
 * 1. Writes a small synthetic file (L=3, T=4, I=2, N=1000 paths: one
 *    block, K=5 kept paths), commits it, and reads every value back
 *    with the HDF5 C API. Per-path values are closed forms of (path, lab)
 *    below; the summary probabilities are computed from them (fractions of
 *    paths, Wilson intervals), so the file obeys every rule and cross-check
 *    of tests/check_output.py; the file is left at
 *    SYNTHETIC.h5 (default: a temporary directory) for that checker.
 * 2. The same with zero-length axes (I=0 inputs, K=0 kept paths), left at
 *    EMPTY_AXES.h5 when given.
 * 3. ho_discard, and ho_commit of an incomplete file: neither the final
 *    nor the temporary file remains.
 *    Rows written twice, and rows that are not whole blocks, are refused.
 * 4. A directory that does not exist, and a final path that is an existing
 *    directory: ho_create returns NULL with a one-line message naming the
 *    path and the reason, and leaves no file. (Tests run as root, so
 *    permission bits cannot be used to make a directory unwritable.)
 * 5. N = 100003 paths: several chunks per dataset and several blocks per
 *    call, an edge chunk, out of order, from one and from four threads.
 *    Every value read back.
 * 6. An interrupted run (a child process that dies after a progress mark):
 *    its temporary file opens, says complete = 0 and paths_done, and holds
 *    the rows written before the mark. */
#include "output/h5out.h"
#include "tests/test_util.h"

#include <dirent.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { L = 3, T = 4, I = 2, N = 1000, K = 5, BASE = 2025 };

static const char *lab_names[L] = {"OpenAI", "Anthropic", "Zhipu \xe6\x99\xba\xe8\xb0\xb1"};
static const char *input_names[I] = {"market.train_cost_growth", "OpenAI.cash0"};
static const uint64_t kept[K] = {3, 17, 256, 511, 999};

/* ---- expected values (closed forms) ---- */

static double quant(int l, int t, int q) { return 10.0 * l + t + 0.25 * q; }
static double indep(int t, int n) /* two labs without a backstop: n = 3 never */
{
    return n == 0 ? t / 16.0 : n == 1 ? t / 8.0 : n == 2 ? 1.0 - 3.0 * t / 16.0 : 0.0;
}
static int32_t fail_year(int p, int l) { return (p + l) % 5; }
/* 1 acquired, 2 wound down, 3 acquired while solvent (MODEL.md step 7):
 * fail_year is the year the lab left, whichever way. */
static int8_t outcome(int p, int l) { return (int8_t)(fail_year(p, l) ? 1 + p % 3 : 0); }
static int32_t profit_year(int p, int l) { return (p * 7 + l) % 5; }
/* With g_noise set, the doubles of group `paths` have random signs and
 * mantissas, as drawn inputs do, and one in eight of final cash and
 * raised is 0: byte planes of noise, which the writer stores rather than
 * deflates, beside planes it deflates. */
static int g_noise;
static double noisy(int p, int k)
{
    uint64_t z = (uint64_t)p * 1000003u + (uint64_t)k + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    if (k < 200 && (z & 7) == 0)
        return 0.0;
    double m = 1.0 + (double)(z >> 12) * 0x1p-52; /* 52 random bits */
    return ldexp((z & 8) ? -m : m, (int)((z >> 4) & 15) - 4);
}
static double final_cash(int p, int l) { return g_noise ? noisy(p, l) : p + l / 10.0; }
static double raised_total(int p, int l) { return g_noise ? noisy(p, 100 + l) : p * 0.5 + l; }
static double input_val(int p, int i) { return g_noise ? noisy(p, 200 + i) : p * 10.0 + i; }
/* Alive at the end of year index t (year t+1): not failed by then. */
static int alive_at(int p, int l, int t) { return !(fail_year(p, l) != 0 && fail_year(p, l) <= t + 1); }
/* NaN after the year of failure, as the header says. */
static double traj_val(int v, int k, int l, int t)
{
    int p = (int)kept[k];
    return fail_year(p, l) != 0 && t + 1 > fail_year(p, l) ? NAN : v * 1000.0 + k * 100 + l * 10 + t;
}

/* The 95% Wilson score interval of a proportion x/n (Wilson 1927,
 * "Probable inference, the law of succession, and statistical inference",
 * JASA 22:209-212): (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n). */
static void wilson(int x, int n, double *lo, double *hi)
{
    const double z = 1.959963984540054; /* the 0.975 normal quantile */
    double p = (double)x / n, d = 1.0 + z * z / n;
    double c = p + z * z / (2.0 * n);
    double h = z * sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * (double)n));
    *lo = fmax(0.0, (c - h) / d);
    *hi = fmin(1.0, (c + h) / d);
}

typedef struct {
    double s[L * T], lo[L * T], hi[L * T], fa[L * T], fw[L * T], pb[L * T], as[L * T];
    double q[7][L * T * HO_NQUANT];
    double ia[T * (L + 1)];
    double ss[L * I], sc[L * I];
} summary_buf;

static void fill_summary(summary_buf *b, ho_summary *s, int ninputs, int npaths)
{
    /* The probabilities are the fractions of the synthetic paths, so that
     * check_output.py's cross-check against group `paths` holds. */
    for (int l = 0; l < L; l++)
        for (int t = 0; t < T; t++) {
            int j = l * T + t, alive = 0, acq = 0, wd = 0, sol = 0, prof = 0;
            for (int p = 0; p < npaths; p++) {
                alive += alive_at(p, l, t);
                acq += !alive_at(p, l, t) && outcome(p, l) == 1;
                wd += !alive_at(p, l, t) && outcome(p, l) == 2;
                sol += !alive_at(p, l, t) && outcome(p, l) == 3;
                prof += profit_year(p, l) != 0 && profit_year(p, l) <= t + 1;
            }
            b->s[j] = (double)alive / npaths;
            wilson(alive, npaths, &b->lo[j], &b->hi[j]);
            b->fa[j] = (double)acq / npaths;
            b->fw[j] = (double)wd / npaths;
            b->as[j] = (double)sol / npaths;
            b->pb[j] = (double)prof / npaths;
            for (int v = 0; v < 7; v++)
                for (int q = 0; q < HO_NQUANT; q++)
                    b->q[v][j * HO_NQUANT + q] =
                        (v == 6 && l != 2) ? NAN : quant(l, t, q) + v;
        }
    for (int t = 0; t < T; t++)
        for (int n = 0; n <= L; n++)
            b->ia[t * (L + 1) + n] = indep(t, n);
    for (int l = 0; l < L; l++)
        for (int i = 0; i < I; i++) {
            b->ss[l * I + i] = l * 0.1 - i * 0.2;
            b->sc[l * I + i] = -l * 0.1 + i * 0.2;
        }
    *s = (ho_summary){b->s, b->lo, b->hi, b->fa, b->fw, b->pb,
                      b->q[0], b->q[1], b->q[2], b->q[3], b->q[4], b->q[5], b->q[6],
                      b->ia, ninputs ? b->ss : NULL, ninputs ? b->sc : NULL, b->as,
                      NULL, NULL, NULL}; /* sensitivity indices: left at NaN */
}

/* Writes rows [first, first+count). */
static int write_block(ho_file *f, int first, int count, int ninputs, char *err, size_t errlen)
{
    size_t n = (size_t)count;
    int32_t *fy = malloc(sizeof *fy * n * L), *py = malloc(sizeof *py * n * L);
    int8_t *oc = malloc(n * L);
    double *fc = malloc(sizeof *fc * n * L), *rt = malloc(sizeof *rt * n * L);
    double *in = malloc(sizeof *in * n * I);
    for (int r = 0; r < count; r++) {
        int p = first + r;
        for (int l = 0; l < L; l++) {
            fy[r * L + l] = fail_year(p, l);
            oc[r * L + l] = outcome(p, l);
            py[r * L + l] = profit_year(p, l);
            fc[r * L + l] = final_cash(p, l);
            rt[r * L + l] = raised_total(p, l);
        }
        for (int i = 0; i < I; i++)
            in[r * I + i] = input_val(p, i);
    }
    ho_paths blk = {fy, oc, py, fc, rt, ninputs ? in : NULL, NULL}; /* unweighted */
    int rc = ho_write_paths(f, (uint64_t)first, (uint64_t)count, &blk, err, errlen);
    free(fy); free(py); free(oc); free(fc); free(rt); free(in);
    return rc;
}

static char *long_yaml(void)
{
    /* > 64 KiB: needs dense attribute storage. */
    size_t n = 100000;
    char *y = malloc(n + 1);
    const char *line = "# scenario text, UTF-8: \xc3\xa9\xe2\x82\xac\n";
    size_t ll = strlen(line), k = 0;
    while (k + ll <= n) {
        memcpy(y + k, line, ll);
        k += ll;
    }
    y[k] = '\0';
    return y;
}

static ho_meta make_meta(int ninputs, int nkept, const char *yaml)
{
    ho_meta m = {0};
    m.title = "runway result: test";
    m.scenario_name = "synthetic";
    m.scenario_yaml = yaml;
    m.version = "0.1.0";
    m.created = "2026-11-23T05:30:00Z";
    m.command_line = "runway --paths 1000 synthetic.yaml";
    m.seed = 0xfedcba9876543210ull;
    m.paths = N;
    m.horizon = T;
    m.base_year = BASE;
    m.threads = 8;
    m.processes = 1;
    m.nlabs = L;
    m.lab_names = lab_names;
    m.ninputs = (size_t)ninputs;
    m.input_names = input_names;
    /* no correlated sets given (input_group NULL): a set each */
    m.nkept = (size_t)nkept;
    m.kept_paths = kept;
    m.per_path = 1;
    return m;
}

/* ---- readers ---- */

/* Reads dataset `name` whole into buf (memory type mtype) after checking
 * its rank and extents. */
static void read_ds(hid_t fid, const char *name, hid_t mtype, int rank,
                    const hsize_t *dims, void *buf)
{
    hid_t ds = H5Dopen2(fid, name, H5P_DEFAULT);
    ASSERT_TRUE(ds >= 0);
    if (ds < 0) {
        fprintf(stderr, "  (dataset %s)\n", name);
        return;
    }
    hid_t sp = H5Dget_space(ds);
    hsize_t got[3] = {0, 0, 0};
    ASSERT_EQ_INT(H5Sget_simple_extent_ndims(sp), rank);
    H5Sget_simple_extent_dims(sp, got, NULL);
    int same = 1;
    for (int i = 0; i < rank; i++)
        same &= got[i] == dims[i];
    if (!same)
        fprintf(stderr, "  shape of %s wrong\n", name);
    ASSERT_TRUE(same);
    hssize_t npts = H5Sget_simple_extent_npoints(sp);
    if (same && buf && npts > 0)
        ASSERT_TRUE(H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    /* Every dimension of a data set has a scale attached (an axis is its
     * own), and units/long_name exist. */
    for (int i = 0; i < rank && H5DSis_scale(ds) <= 0; i++) {
        int n = H5DSget_num_scales(ds, (unsigned)i);
        if (n != 1)
            fprintf(stderr, "  %s dim %d has %d scales\n", name, i, n);
        ASSERT_EQ_INT(n, 1);
    }
    ASSERT_TRUE(H5Aexists(ds, "units") > 0);
    ASSERT_TRUE(H5Aexists(ds, "long_name") > 0);
    H5Sclose(sp);
    H5Dclose(ds);
}

static long long attr_int(hid_t loc, const char *name)
{
    long long v = -12345;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    ASSERT_TRUE(a >= 0);
    if (a >= 0) {
        ASSERT_TRUE(H5Aread(a, H5T_NATIVE_LLONG, &v) >= 0);
        H5Aclose(a);
    }
    return v;
}

static unsigned long long attr_u64(hid_t loc, const char *name)
{
    unsigned long long v = 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    ASSERT_TRUE(a >= 0);
    if (a >= 0) {
        ASSERT_TRUE(H5Aread(a, H5T_NATIVE_ULLONG, &v) >= 0);
        H5Aclose(a);
    }
    return v;
}

/* A fixed-length UTF-8 string attribute; returns a malloc'ed copy. */
static char *attr_string(hid_t loc, const char *name)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    ASSERT_TRUE(a >= 0);
    if (a < 0)
        return NULL;
    hid_t t = H5Aget_type(a);
    ASSERT_EQ_INT(H5Tget_class(t), H5T_STRING);
    ASSERT_TRUE(!H5Tis_variable_str(t));
    ASSERT_EQ_INT(H5Tget_cset(t), H5T_CSET_UTF8);
    size_t n = H5Tget_size(t);
    char *s = calloc(n + 1, 1);
    ASSERT_TRUE(H5Aread(a, t, s) >= 0);
    H5Tclose(t);
    H5Aclose(a);
    return s;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The temporary file of final (FINAL.tmp- and six random characters) into
 * buf: 1 when there is one. */
static int find_tmp(const char *final, char *buf, size_t n)
{
    const char *slash = strrchr(final, '/');
    char dir[4096], stem[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - final) : 1, slash ? final : ".");
    snprintf(stem, sizeof stem, "%s.tmp-", slash ? slash + 1 : final);
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d)))
        if (!strncmp(e->d_name, stem, strlen(stem)) && strlen(e->d_name) == strlen(stem) + 6) {
            snprintf(buf, n, "%s/%s", dir, e->d_name);
            found = 1;
        }
    if (d)
        closedir(d);
    return found;
}

static int tmp_exists(const char *final)
{
    char buf[4200];
    return find_tmp(final, buf, sizeof buf);
}

/* ---- case 1 and 2 ---- */

static void check_file(const char *path, int ninputs, int nkept, const char *yaml)
{
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_TRUE(fid >= 0);
    if (fid < 0)
        return;

    /* Root attributes. */
    ASSERT_EQ_INT(attr_int(fid, "complete"), 1);
    ASSERT_EQ_U64(attr_u64(fid, "paths_done"), N);
    ASSERT_EQ_U64(attr_u64(fid, "paths"), N);
    ASSERT_EQ_U64(attr_u64(fid, "seed"), 0xfedcba9876543210ull);
    ASSERT_EQ_INT(attr_int(fid, "horizon"), T);
    ASSERT_EQ_INT(attr_int(fid, "base_year"), BASE);
    ASSERT_EQ_INT(attr_int(fid, "threads"), 8);
    ASSERT_EQ_INT(attr_int(fid, "processes"), 1);
    const char *strs[][2] = {{"title", "runway result: test"}, {"scenario_name", "synthetic"},
                             {"runway_version", "0.1.0"}, {"created", "2026-11-23T05:30:00Z"},
                             {"command_line", "runway --paths 1000 synthetic.yaml"},
                             {"scenario_yaml", yaml}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        char *s = attr_string(fid, strs[i][0]);
        ASSERT_TRUE(s && strcmp(s, strs[i][1]) == 0);
        free(s);
    }

    /* Axes. */
    int32_t years[T], nalive[L + 1];
    double q[HO_NQUANT];
    int64_t kp[K], pth[N];
    hsize_t d1;
    d1 = T; read_ds(fid, "year", H5T_NATIVE_INT32, 1, &d1, years);
    for (int t = 0; t < T; t++)
        ASSERT_EQ_INT(years[t], BASE + 1 + t);
    d1 = L + 1; read_ds(fid, "n_alive", H5T_NATIVE_INT32, 1, &d1, nalive);
    for (int n = 0; n <= L; n++)
        ASSERT_EQ_INT(nalive[n], n);
    d1 = HO_NQUANT; read_ds(fid, "quantile", H5T_NATIVE_DOUBLE, 1, &d1, q);
    for (int i = 0; i < HO_NQUANT; i++)
        ASSERT_SAME(q[i], ho_quantiles[i]);
    d1 = N; read_ds(fid, "path", H5T_NATIVE_INT64, 1, &d1, pth);
    for (int p = 0; p < N; p++)
        ASSERT_EQ_INT(pth[p], p);
    d1 = (hsize_t)nkept; read_ds(fid, "kept_path", H5T_NATIVE_INT64, 1, &d1, kp);
    for (int k = 0; k < nkept; k++)
        ASSERT_EQ_INT(kp[k], kept[k]);
    hid_t vstr = H5Tcopy(H5T_C_S1);
    H5Tset_size(vstr, H5T_VARIABLE);
    H5Tset_cset(vstr, H5T_CSET_UTF8);
    char *names[L] = {0};
    d1 = L; read_ds(fid, "lab", vstr, 1, &d1, names);
    for (int l = 0; l < L; l++)
        ASSERT_TRUE(names[l] && strcmp(names[l], lab_names[l]) == 0);
    hid_t sp = H5Screate_simple(1, &d1, NULL);
    H5Dvlen_reclaim(vstr, sp, H5P_DEFAULT, names);
    H5Sclose(sp);
    char *inames[I] = {0};
    d1 = (hsize_t)ninputs; read_ds(fid, "input", vstr, 1, &d1, inames);
    for (int i = 0; i < ninputs; i++)
        ASSERT_TRUE(inames[i] && strcmp(inames[i], input_names[i]) == 0);
    if (ninputs) {
        sp = H5Screate_simple(1, &d1, NULL);
        H5Dvlen_reclaim(vstr, sp, H5P_DEFAULT, inames);
        H5Sclose(sp);
    }
    H5Tclose(vstr);
    /* Each axis is a dimension scale named after itself. */
    const char *axes[] = {"year", "lab", "quantile", "input", "n_alive", "path", "kept_path"};
    for (size_t i = 0; i < sizeof axes / sizeof axes[0]; i++) {
        hid_t ds = H5Dopen2(fid, axes[i], H5P_DEFAULT);
        char nm[64] = "";
        ASSERT_TRUE(H5DSis_scale(ds) > 0);
        ASSERT_TRUE(H5DSget_scale_name(ds, nm, sizeof nm) > 0 && strcmp(nm, axes[i]) == 0);
        H5Dclose(ds);
    }

    /* Summaries. */
    summary_buf want, got;
    ho_summary ws;
    fill_summary(&want, &ws, ninputs, N);
    hsize_t lt[2] = {L, T}, ltq[3] = {L, T, HO_NQUANT}, yn[2] = {T, L + 1}, li[2] = {L, (hsize_t)ninputs};
    read_ds(fid, "survival", H5T_NATIVE_DOUBLE, 2, lt, got.s);
    read_ds(fid, "survival_lo", H5T_NATIVE_DOUBLE, 2, lt, got.lo);
    read_ds(fid, "survival_hi", H5T_NATIVE_DOUBLE, 2, lt, got.hi);
    read_ds(fid, "failed_acquired", H5T_NATIVE_DOUBLE, 2, lt, got.fa);
    read_ds(fid, "failed_wound_down", H5T_NATIVE_DOUBLE, 2, lt, got.fw);
    read_ds(fid, "acquired_solvent", H5T_NATIVE_DOUBLE, 2, lt, got.as);
    read_ds(fid, "profitable_by", H5T_NATIVE_DOUBLE, 2, lt, got.pb);
    const char *qn[7] = {"cash_q", "revenue_q", "op_cash_flow_q", "raised_q", "ownership_q",
                         "share_q", "parent_subsidy_q"};
    for (int v = 0; v < 7; v++)
        read_ds(fid, qn[v], H5T_NATIVE_DOUBLE, 3, ltq, got.q[v]);
    read_ds(fid, "independent_alive", H5T_NATIVE_DOUBLE, 2, yn, got.ia);
    read_ds(fid, "sensitivity_survival", H5T_NATIVE_DOUBLE, 2, li, got.ss);
    read_ds(fid, "sensitivity_cash", H5T_NATIVE_DOUBLE, 2, li, got.sc);
    for (int j = 0; j < L * T; j++) {
        ASSERT_SAME(got.s[j], want.s[j]);
        ASSERT_SAME(got.lo[j], want.lo[j]);
        ASSERT_SAME(got.hi[j], want.hi[j]);
        ASSERT_SAME(got.fa[j], want.fa[j]);
        ASSERT_SAME(got.fw[j], want.fw[j]);
        ASSERT_SAME(got.as[j], want.as[j]);
        ASSERT_SAME(got.pb[j], want.pb[j]);
    }
    for (int v = 0; v < 7; v++)
        for (int j = 0; j < L * T * HO_NQUANT; j++)
            ASSERT_SAME(got.q[v][j], want.q[v][j]);
    for (int j = 0; j < T * (L + 1); j++)
        ASSERT_SAME(got.ia[j], want.ia[j]);
    for (int j = 0; j < L * ninputs; j++) {
        ASSERT_SAME(got.ss[j], want.ss[j]);
        ASSERT_SAME(got.sc[j], want.sc[j]);
    }

    /* Per-path datasets. */
    static int32_t fy[N * L], py[N * L];
    static int8_t oc[N * L];
    static double fc[N * L], rt[N * L], in[N * I];
    hsize_t pl[2] = {N, L}, pi[2] = {N, (hsize_t)ninputs};
    read_ds(fid, "paths/fail_year", H5T_NATIVE_INT32, 2, pl, fy);
    read_ds(fid, "paths/profit_year", H5T_NATIVE_INT32, 2, pl, py);
    read_ds(fid, "paths/outcome", H5T_NATIVE_INT8, 2, pl, oc);
    read_ds(fid, "paths/final_cash", H5T_NATIVE_DOUBLE, 2, pl, fc);
    read_ds(fid, "paths/raised_total", H5T_NATIVE_DOUBLE, 2, pl, rt);
    read_ds(fid, "paths/inputs", H5T_NATIVE_DOUBLE, 2, pi, in);
    int bad = 0;
    for (int p = 0; p < N; p++) {
        for (int l = 0; l < L; l++) {
            int j = p * L + l;
            bad += fy[j] != fail_year(p, l) || py[j] != profit_year(p, l) ||
                   oc[j] != outcome(p, l) || fc[j] != final_cash(p, l) ||
                   rt[j] != raised_total(p, l);
        }
        for (int i = 0; i < ninputs; i++)
            bad += in[p * ninputs + i] != input_val(p, i);
    }
    ASSERT_EQ_INT(bad, 0);

    /* outcome is an enum over int8 with the four members. */
    hid_t ds = H5Dopen2(fid, "paths/outcome", H5P_DEFAULT);
    hid_t et = H5Dget_type(ds);
    ASSERT_EQ_INT(H5Tget_class(et), H5T_ENUM);
    ASSERT_EQ_INT(H5Tget_nmembers(et), 4);
    ASSERT_EQ_INT(H5Tget_size(et), 1);
    const char *members[4] = {"survived", "acquired", "wound_down", "acquired_solvent"};
    for (int8_t v = 0; v < 4; v++) {
        char nm[32] = "";
        ASSERT_TRUE(H5Tenum_nameof(et, &v, nm, sizeof nm) >= 0 && strcmp(nm, members[v]) == 0);
    }
    /* Chunked and compressed. */
    hid_t dcpl = H5Dget_create_plist(ds);
    ASSERT_EQ_INT(H5Pget_layout(dcpl), H5D_CHUNKED);
    ASSERT_TRUE(H5Pget_nfilters(dcpl) >= 1);
    H5Pclose(dcpl);
    H5Tclose(et);
    H5Dclose(ds);
    ds = H5Dopen2(fid, "paths/final_cash", H5P_DEFAULT);
    dcpl = H5Dget_create_plist(ds);
    ASSERT_EQ_INT(H5Pget_nfilters(dcpl), 2); /* shuffle, deflate */
    H5Pclose(dcpl);
    H5Dclose(ds);

    /* Trajectories. */
    static double tr[5][K * L * T];
    static uint8_t alive[K * L * T];
    hsize_t klt[3] = {(hsize_t)nkept, L, T};
    const char *tn[5] = {"trajectories/cash", "trajectories/revenue", "trajectories/op_cash_flow",
                         "trajectories/raised", "trajectories/share"};
    for (int v = 0; v < 5; v++)
        read_ds(fid, tn[v], H5T_NATIVE_DOUBLE, 3, klt, tr[v]);
    read_ds(fid, "trajectories/alive", H5T_NATIVE_UINT8, 3, klt, alive);
    bad = 0;
    for (int k = 0; k < nkept; k++)
        for (int l = 0; l < L; l++)
            for (int t = 0; t < T; t++) {
                int j = (k * L + l) * T + t;
                for (int v = 0; v < 5; v++) {
                    double w = traj_val(v, k, l, t);
                    bad += !(tr[v][j] == w || (isnan(w) && isnan(tr[v][j])));
                }
                bad += alive[j] != alive_at((int)kept[k], l, t);
            }
    ASSERT_EQ_INT(bad, 0);

    ASSERT_EQ_INT(H5Fget_obj_count(fid, H5F_OBJ_ALL), 1);
    H5Fclose(fid);
}

static int write_file(const char *path, int ninputs, int nkept, const char *yaml)
{
    char err[512] = "";
    ho_meta m = make_meta(ninputs, nkept, yaml);
    unlink(path);
    ho_file *f = ho_create(path, &m, err, sizeof err);
    ASSERT_TRUE(f != NULL);
    if (!f) {
        fprintf(stderr, "  %s\n", err);
        return -1;
    }
    ASSERT_TRUE(tmp_exists(path));
    ASSERT_TRUE(!file_exists(path));
    /* Rows that are not whole blocks are refused, in one line naming
     * them; N = 1000 is one block, cut by the axis end. */
    ASSERT_EQ_INT(write_block(f, 600, 400, ninputs, err, sizeof err), -1);
    ASSERT_TRUE(strstr(err, "600..999 are not whole blocks of 1024 paths") != NULL);
    ASSERT_EQ_INT(write_block(f, 0, 250, ninputs, err, sizeof err), -1);
    ASSERT_EQ_INT(write_block(f, 0, 1000, ninputs, err, sizeof err), 0);
    ASSERT_EQ_INT(ho_mark_progress(f, 1000, err, sizeof err), 0);
    /* A block past the end is refused. */
    ASSERT_EQ_INT(write_block(f, 990, 20, ninputs, err, sizeof err), -1);
    ASSERT_TRUE(strstr(err, path) != NULL);

    summary_buf b;
    ho_summary s;
    fill_summary(&b, &s, ninputs, N);
    ASSERT_EQ_INT(ho_write_summary(f, &s, err, sizeof err), 0);

    static double tr[5][K * L * T];
    static uint8_t alive[K * L * T];
    for (int k = 0; k < nkept; k++)
        for (int l = 0; l < L; l++)
            for (int t = 0; t < T; t++) {
                int j = (k * L + l) * T + t;
                for (int v = 0; v < 5; v++)
                    tr[v][j] = traj_val(v, k, l, t);
                alive[j] = (uint8_t)alive_at((int)kept[k], l, t);
            }
    ho_traj tj = {tr[0], tr[1], tr[2], tr[3], tr[4], alive};
    ASSERT_EQ_INT(ho_write_traj(f, &tj, err, sizeof err), 0);

    int rc = ho_commit(f, err, sizeof err);
    ASSERT_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "  %s\n", err);
    ASSERT_TRUE(file_exists(path));
    ASSERT_TRUE(!tmp_exists(path));
    return rc;
}

/* ---- per_path = 0: group `paths` is omitted, ho_write_paths is a no-op ---- */
static void check_no_per_path(const char *dir)
{
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/no_paths.h5", dir);
    ho_meta m = make_meta(I, 0, "name: x\n");
    m.per_path = 0;
    ho_file *f = ho_create(path, &m, err, sizeof err);
    ASSERT_TRUE(f != NULL);
    if (!f)
        return;
    ASSERT_EQ_INT(write_block(f, 0, 10, I, err, sizeof err), 0);
    summary_buf *b = malloc(sizeof *b);
    ho_summary s;
    fill_summary(b, &s, I, N);
    ASSERT_EQ_INT(ho_write_summary(f, &s, err, sizeof err), 0);
    free(b);
    ASSERT_EQ_INT(ho_commit(f, err, sizeof err), 0);
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_TRUE(fid >= 0);
    ASSERT_EQ_INT(H5Lexists(fid, "paths", H5P_DEFAULT), 0);
    ASSERT_TRUE(H5Lexists(fid, "trajectories", H5P_DEFAULT) > 0);
    ASSERT_EQ_INT(attr_int(fid, "complete"), 1);
    H5Fclose(fid);
    unlink(path);
}

/* ---- case 3 ---- */

static void check_discard(const char *dir)
{
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/discarded.h5", dir);
    ho_meta m = make_meta(I, K, "name: x\n");
    ho_file *f = ho_create(path, &m, err, sizeof err);
    ASSERT_TRUE(f != NULL);
    ASSERT_TRUE(tmp_exists(path));
    ASSERT_EQ_INT(write_block(f, 0, 1000, I, err, sizeof err), 0);
    ho_discard(f);
    ASSERT_TRUE(!file_exists(path));
    ASSERT_TRUE(!tmp_exists(path));
    ho_discard(NULL);

    /* Committing a file with a block missing fails and leaves nothing. */
    m.paths = 2500; /* blocks 0..1023, 1024..2047, 2048..2499 */
    f = ho_create(path, &m, err, sizeof err);
    ASSERT_TRUE(f != NULL);
    summary_buf b;
    ho_summary s;
    fill_summary(&b, &s, I, N);
    ASSERT_EQ_INT(write_block(f, 2048, 452, I, err, sizeof err), 0);
    ASSERT_EQ_INT(write_block(f, 0, 1024, I, err, sizeof err), 0);
    ASSERT_EQ_INT(ho_write_summary(f, &s, err, sizeof err), 0);
    ASSERT_EQ_INT(ho_commit(f, err, sizeof err), -1);
    ASSERT_TRUE(strstr(err, path) == err && strstr(err, "1476 of 2500") != NULL);
    ASSERT_TRUE(!file_exists(path));
    ASSERT_TRUE(!tmp_exists(path));

    /* A block written twice is refused, alone or inside a longer call,
     * and the call writes nothing: one missing block is still missing. */
    f = ho_create(path, &m, err, sizeof err);
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ_INT(write_block(f, 1024, 1024, I, err, sizeof err), 0);
    ASSERT_EQ_INT(write_block(f, 1024, 1024, I, err, sizeof err), -1);
    ASSERT_TRUE(strstr(err, "paths 1024..2047 were written twice") != NULL);
    ASSERT_EQ_INT(write_block(f, 0, 2048, I, err, sizeof err), -1);
    ASSERT_TRUE(strstr(err, "written twice") != NULL);
    ASSERT_EQ_INT(write_block(f, 2048, 452, I, err, sizeof err), 0);
    ASSERT_EQ_INT(ho_write_summary(f, &s, err, sizeof err), 0);
    ASSERT_EQ_INT(ho_commit(f, err, sizeof err), -1);
    ASSERT_TRUE(strstr(err, "1476 of 2500") != NULL);
    ASSERT_TRUE(!file_exists(path));
    ASSERT_TRUE(!tmp_exists(path));
}

static void check_create_fails(const char *dir)
{
    char path[4096], err[512];
    ho_meta m = make_meta(I, K, "name: x\n");

    /* A directory that does not exist. */
    snprintf(path, sizeof path, "%s/no-such-dir/out.h5", dir);
    err[0] = '\0';
    ho_file *f = ho_create(path, &m, err, sizeof err);
    ASSERT_TRUE(f == NULL);
    ASSERT_TRUE(strncmp(err, path, strlen(path)) == 0);
    ASSERT_TRUE(strstr(err, "No such file or directory") != NULL);
    ASSERT_TRUE(strchr(err, '\n') == NULL);
    ASSERT_TRUE(!file_exists(path) && !tmp_exists(path));
    printf("missing directory: %s\n", err);

    /* The final path is an existing directory. */
    snprintf(path, sizeof path, "%s/adir", dir);
    ASSERT_EQ_INT(mkdir(path, 0755), 0);
    err[0] = '\0';
    f = ho_create(path, &m, err, sizeof err);
    ASSERT_TRUE(f == NULL);
    ASSERT_TRUE(strncmp(err, path, strlen(path)) == 0);
    ASSERT_TRUE(strstr(err, "Is a directory") != NULL);
    ASSERT_TRUE(!tmp_exists(path));
    printf("directory as file: %s\n", err);
    rmdir(path);

    /* A kept path beyond the path count is refused before anything is made. */
    static const uint64_t bad[1] = {N};
    snprintf(path, sizeof path, "%s/bad.h5", dir);
    m.nkept = 1;
    m.kept_paths = bad;
    f = ho_create(path, &m, err, sizeof err);
    ASSERT_TRUE(f == NULL);
    ASSERT_TRUE(strstr(err, "kept path") != NULL);
    ASSERT_TRUE(!file_exists(path) && !tmp_exists(path));
}

/* ---- case 5: many chunks, an edge chunk, out of order ----
 * N = 100003 paths in calls of 7 blocks (7168 rows) in a scrambled order:
 * every call is many chunks of every dataset of group `paths`, and the
 * last chunk is cut by the axis end. */
enum { NBIG = 100003, BLK = 7 * HO_BLOCK_ROWS };

/* Writers on several threads: thread w writes blocks k = w, w + nw, ...
 * of the shuffled order, all at once on one file. */
typedef struct {
    ho_file *f;
    int w, nw, nblocks, bad;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *a = p;
    char err[512] = "";
    for (int k = a->w; k < a->nblocks; k += a->nw) {
        int b = (k * 5) % a->nblocks, first = b * BLK;
        int count = NBIG - first < BLK ? NBIG - first : BLK;
        if (write_block(a->f, first, count, I, err, sizeof err) != 0) {
            fprintf(stderr, "  writer %d: %s\n", a->w, err);
            a->bad++;
        }
    }
    return NULL;
}

static void check_many_chunks(const char *dir, int writers)
{
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/many%d%d.h5", dir, g_noise, writers);
    ho_meta m = make_meta(I, K, "name: many\n");
    m.paths = NBIG;
    ho_file *f = ho_create(path, &m, err, sizeof err);
    ASSERT_TRUE(f != NULL);
    if (!f) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    int nblocks = (NBIG + BLK - 1) / BLK; /* 14; 5 is coprime to it */
    if (writers > 1) {
        pthread_t th[8];
        writer_arg wa[8];
        for (int w = 0; w < writers && w < 8; w++) {
            wa[w] = (writer_arg){f, w, writers, nblocks, 0};
            ASSERT_EQ_INT(pthread_create(&th[w], NULL, writer, &wa[w]), 0);
        }
        for (int w = 0; w < writers && w < 8; w++) {
            pthread_join(th[w], NULL);
            ASSERT_EQ_INT(wa[w].bad, 0);
        }
    }
    for (int k = 0; k < nblocks && writers <= 1; k++) {
        int b = (k * 5) % nblocks, first = b * BLK;
        int count = NBIG - first < BLK ? NBIG - first : BLK;
        ASSERT_EQ_INT(write_block(f, first, count, I, err, sizeof err), 0);
        if (k == nblocks / 2)
            ASSERT_EQ_INT(ho_mark_progress(f, (uint64_t)(k + 1) * BLK, err, sizeof err), 0);
    }
    summary_buf *sb = malloc(sizeof *sb);
    ho_summary s;
    fill_summary(sb, &s, I, 1000); /* values only; not checked here */
    ASSERT_EQ_INT(ho_write_summary(f, &s, err, sizeof err), 0);
    free(sb);
    static double tr[5][K * L * T];
    static uint8_t alive[K * L * T];
    ho_traj tj = {tr[0], tr[1], tr[2], tr[3], tr[4], alive};
    ASSERT_EQ_INT(ho_write_traj(f, &tj, err, sizeof err), 0);
    int rc = ho_commit(f, err, sizeof err);
    ASSERT_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    ASSERT_TRUE(!tmp_exists(path));

    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_TRUE(fid >= 0);
    size_t n = NBIG;
    int32_t *fy = malloc(n * L * 4), *py = malloc(n * L * 4);
    int8_t *oc = malloc(n * L);
    double *fc = malloc(n * L * 8), *rt = malloc(n * L * 8), *in = malloc(n * I * 8);
    int64_t *pth = malloc(n * 8);
    hsize_t pl[2] = {NBIG, L}, pi[2] = {NBIG, I}, d1 = NBIG;
    read_ds(fid, "path", H5T_NATIVE_INT64, 1, &d1, pth);
    read_ds(fid, "paths/fail_year", H5T_NATIVE_INT32, 2, pl, fy);
    read_ds(fid, "paths/profit_year", H5T_NATIVE_INT32, 2, pl, py);
    read_ds(fid, "paths/outcome", H5T_NATIVE_INT8, 2, pl, oc);
    read_ds(fid, "paths/final_cash", H5T_NATIVE_DOUBLE, 2, pl, fc);
    read_ds(fid, "paths/raised_total", H5T_NATIVE_DOUBLE, 2, pl, rt);
    read_ds(fid, "paths/inputs", H5T_NATIVE_DOUBLE, 2, pi, in);
    long bad = 0;
    for (int p = 0; p < NBIG; p++) {
        bad += pth[p] != p;
        for (int l = 0; l < L; l++) {
            size_t j = (size_t)p * L + (size_t)l;
            bad += fy[j] != fail_year(p, l) || py[j] != profit_year(p, l) ||
                   oc[j] != outcome(p, l) || fc[j] != final_cash(p, l) ||
                   rt[j] != raised_total(p, l);
        }
        for (int i = 0; i < I; i++)
            bad += in[(size_t)p * I + (size_t)i] != input_val(p, i);
    }
    ASSERT_EQ_INT(bad, 0);
    /* Several chunks per dataset. */
    hid_t ds = H5Dopen2(fid, "paths/final_cash", H5P_DEFAULT);
    hid_t sp = H5Dget_space(ds);
    hsize_t nchunks = 0;
    H5Dget_num_chunks(ds, sp, &nchunks);
    ASSERT_TRUE(nchunks >= 4);
    H5Sclose(sp);
    H5Dclose(ds);
    if (g_noise) {
        /* planes of noise stored, not inflated by coding: the whole is at
         * most its raw size plus 0.1% (block headers), and smaller than it
         * (the sign-and-exponent planes deflate) */
        ds = H5Dopen2(fid, "paths/inputs", H5P_DEFAULT);
        hsize_t stored = H5Dget_storage_size(ds), raw = (hsize_t)NBIG * I * 8;
        ASSERT_TRUE(stored < raw);
        ASSERT_TRUE(stored > raw / 2);
        H5Dclose(ds);
        ds = H5Dopen2(fid, "paths/final_cash", H5P_DEFAULT);
        stored = H5Dget_storage_size(ds);
        ASSERT_TRUE(stored <= (hsize_t)NBIG * L * 8 + (hsize_t)NBIG * L * 8 / 1000);
        H5Dclose(ds);
    }
    H5Fclose(fid);
    free(fy); free(py); free(oc); free(fc); free(rt); free(in); free(pth);
    unlink(path);
}

/* ---- case 6: an interrupted run ----
 * A child process writes blocks, marks progress, writes one more block and
 * dies without committing. The temporary file it leaves must open, say
 * complete = 0 and paths_done = the mark, and hold every row written
 * before the mark; rows never written read as the fill value -1. */
static void check_interrupted(const char *dir)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/killed.h5", dir);
    pid_t pid = fork();
    if (pid == 0) {
        char err[512];
        ho_meta m = make_meta(I, K, "name: killed\n");
        m.paths = NBIG;
        ho_file *f = ho_create(path, &m, err, sizeof err);
        if (!f)
            _exit(2);
        int ok = write_block(f, 20480, 30720, I, err, sizeof err) == 0 &&
                 write_block(f, 0, 10240, I, err, sizeof err) == 0 &&
                 ho_mark_progress(f, 40960, err, sizeof err) == 0 &&
                 write_block(f, 61440, 1024, I, err, sizeof err) == 0;
        _exit(ok ? 0 : 3); /* no commit, no discard, no HDF5 shutdown */
    }
    int status = -1;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_TRUE(find_tmp(path, tmp, sizeof tmp));
    ASSERT_TRUE(!file_exists(path));
    hid_t fid = H5Fopen(tmp, H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_TRUE(fid >= 0);
    if (fid >= 0) {
        ASSERT_EQ_INT(attr_int(fid, "complete"), 0);
        ASSERT_EQ_U64(attr_u64(fid, "paths_done"), 40960);
        int32_t *fy = malloc((size_t)NBIG * L * 4);
        hsize_t pl[2] = {NBIG, L};
        read_ds(fid, "paths/fail_year", H5T_NATIVE_INT32, 2, pl, fy);
        long bad = 0;
        for (int p = 0; p < 51200; p++)
            for (int l = 0; l < L; l++) {
                int w = (p < 10240 || p >= 20480) ? fail_year(p, l) : -1;
                bad += fy[(size_t)p * L + (size_t)l] != w;
            }
        for (int p = 70000; p < NBIG; p++) /* never written */
            bad += fy[(size_t)p * L] != -1;
        ASSERT_EQ_INT(bad, 0);
        free(fy);
        H5Fclose(fid);
    }
    unlink(tmp);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/test_h5out.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char syn[4096], empty[4096];
    snprintf(syn, sizeof syn, "%s", argc > 1 ? argv[1] : "");
    snprintf(empty, sizeof empty, "%s", argc > 2 ? argv[2] : "");
    if (!syn[0])
        snprintf(syn, sizeof syn, "%s/synthetic.h5", dir);
    if (!empty[0])
        snprintf(empty, sizeof empty, "%s/empty_axes.h5", dir);

    char *yaml = long_yaml();
    if (write_file(syn, I, K, yaml) == 0)
        check_file(syn, I, K, yaml);
    if (write_file(empty, 0, 0, "name: empty\n") == 0)
        check_file(empty, 0, 0, "name: empty\n");
    free(yaml);

    check_discard(dir);
    check_no_per_path(dir);
    check_create_fails(dir);
    check_many_chunks(dir, 1);
    g_noise = 1; /* the same, with planes of noise */
    check_many_chunks(dir, 1);
    /* and from four threads at once, as the sampler's sink calls it */
    check_many_chunks(dir, 4);
    g_noise = 0;
    check_interrupted(dir);

    if (argc <= 1)
        unlink(syn);
    if (argc <= 2)
        unlink(empty);
    if (rmdir(dir) != 0) {
        perror(dir); /* something was left behind */
        tu_failures++;
    }
    H5close();
    TU_DONE();
}
