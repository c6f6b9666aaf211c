/* h5read: see h5read.h. */
#include "output/h5read.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "output/h5out.h"

struct hr_file {
    char *path;
    hid_t fid;
};

static int fail(const hr_file *f, char *err, size_t errlen, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", f ? f->path : "?", msg);
    return -1;
}

hr_file *hr_open(const char *path, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hr_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    htri_t is = H5Fis_hdf5(path);
    f->fid = is > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (f->fid < 0) {
        FILE *t = fopen(path, "rb");
        fail(f, err, errlen, t ? "not an HDF5 file, or damaged" : "cannot open: no such file or not readable");
        if (t)
            fclose(t);
        hr_close(f);
        return NULL;
    }
    return f;
}

const char *hr_name(const hr_file *f)
{
    return f ? f->path : "?";
}

void hr_close(hr_file *f)
{
    if (!f)
        return;
    if (f->fid >= 0)
        H5Fclose(f->fid);
    free(f->path);
    free(f);
}

int hr_exists(hr_file *f, const char *path)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    /* check each component: H5Lexists fails on a missing parent */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf; ; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (buf[0] && H5Lexists(f->fid, buf, H5P_DEFAULT) <= 0)
                return 0;
            if (!c)
                break;
            *p = c;
        }
    }
    return H5Oexists_by_name(f->fid, path, H5P_DEFAULT) > 0;
}

int hr_attr_exists(hr_file *f, const char *name)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return H5Aexists(f->fid, name) > 0;
}

int hr_attr_u64(hr_file *f, const char *name, uint64_t *v, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (H5Aexists(f->fid, name) <= 0)
        return fail(f, err, errlen, "attribute %s is missing", name);
    hid_t a = H5Aopen(f->fid, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a), sp = a < 0 ? -1 : H5Aget_space(a);
    H5T_class_t cl = t < 0 ? H5T_NO_CLASS : H5Tget_class(t);
    size_t size = t < 0 ? 0 : H5Tget_size(t);
    int ok = a >= 0 && sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1
             && ((cl == H5T_INTEGER && size <= 8) || cl == H5T_FLOAT);
    int rc = 0;
    /* Read in a type that holds every value of the stored one, then judge
     * the value: HDF5's own conversion would clamp -1 to 0. */
    if (ok && cl == H5T_INTEGER && H5Tget_sign(t) == H5T_SGN_2) {
        int64_t x = 0;
        ok = H5Aread(a, H5T_NATIVE_INT64, &x) >= 0;
        if (ok && x < 0)
            rc = fail(f, err, errlen, "attribute %s is %lld, not a count", name, (long long)x);
        *v = (uint64_t)x;
    } else if (ok && cl == H5T_INTEGER) {
        ok = H5Aread(a, H5T_NATIVE_UINT64, v) >= 0;
    } else if (ok) {
        double x = 0;
        ok = H5Aread(a, H5T_NATIVE_DOUBLE, &x) >= 0;
        if (ok && !(x >= 0 && x < 0x1p64 && x == floor(x)))
            rc = fail(f, err, errlen, "attribute %s is %g, not a whole number from 0 to 2^64",
                      name, x);
        else if (ok)
            *v = (uint64_t)x;
    }
    if (!ok)
        rc = fail(f, err, errlen, "attribute %s is not a number", name);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return rc;
}

char *hr_attr_str(hr_file *f, const char *name, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (H5Aexists(f->fid, name) <= 0) {
        fail(f, err, errlen, "attribute %s is missing", name);
        return NULL;
    }
    hid_t a = H5Aopen(f->fid, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a), sp = a < 0 ? -1 : H5Aget_space(a);
    char *out = NULL;
    if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_STRING && H5Sget_simple_extent_npoints(sp) == 1) {
        if (H5Tis_variable_str(t) > 0) {
            char *v = NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(t));
            if (H5Aread(a, mt, &v) >= 0 && v) {
                out = strdup(v);
                H5free_memory(v);
            }
            H5Tclose(mt);
        } else {
            size_t n = H5Tget_size(t);
            if (n > 0 && n < ((size_t)1 << 30) && (out = calloc(n + 1, 1))) {
                hid_t mt = H5Tcopy(t);
                if (H5Aread(a, mt, out) < 0) {
                    free(out);
                    out = NULL;
                }
                H5Tclose(mt);
            }
        }
    }
    if (!out)
        fail(f, err, errlen, "attribute %s is not a readable string", name);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return out;
}

int hr_shape(hr_file *f, const char *path, uint64_t *rows, uint64_t *cols, char *err,
             size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!hr_exists(f, path))
        return fail(f, err, errlen, "%s is missing", path);
    hid_t d = H5Dopen2(f->fid, path, H5P_DEFAULT);
    hid_t sp = d < 0 ? -1 : H5Dget_space(d);
    int rank = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    hsize_t dims[2] = {0, 1};
    int rc = 0;
    if (rank < 1 || rank > 2 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
        rc = fail(f, err, errlen, "%s is not a 1-D or 2-D dataset", path);
    *rows = dims[0];
    *cols = rank == 2 ? dims[1] : 1;
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return rc;
}

/* A conversion exception (a value the memory type cannot hold exactly)
 * aborts the read, and says so. */
static H5T_conv_ret_t strict_conv(H5T_conv_except_t except_type, hid_t src, hid_t dst,
                                  void *src_buf, void *dst_buf, void *data)
{
    (void)except_type; (void)src; (void)dst; (void)src_buf; (void)dst_buf;
    *(int *)data = 1;
    return H5T_CONV_ABORT;
}

int hr_read(hr_file *f, const char *path, int type, uint64_t row0, uint64_t nrows,
            uint64_t want_cols, void *buf, char *err, size_t errlen)
{
    uint64_t rows, cols;
    if (hr_shape(f, path, &rows, &cols, err, errlen) != 0)
        return -1;
    if (cols != want_cols)
        return fail(f, err, errlen, "%s has %llu columns, not %llu", path,
                    (unsigned long long)cols, (unsigned long long)want_cols);
    if (row0 > rows || nrows > rows - row0)
        return fail(f, err, errlen, "%s has %llu rows, not %llu..%llu", path,
                    (unsigned long long)rows, (unsigned long long)row0,
                    (unsigned long long)(row0 + nrows));
    if (nrows == 0 || cols == 0)
        return 0;
    hid_t mt = type == HO_U64 ? H5T_NATIVE_UINT64 : type == HO_F64 ? H5T_NATIVE_DOUBLE
             : type == HO_I32 ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT8;
    hid_t d = H5Dopen2(f->fid, path, H5P_DEFAULT);
    hid_t ft = d < 0 ? -1 : H5Dget_type(d);
    H5T_class_t cl = ft < 0 ? H5T_NO_CLASS : H5Tget_class(ft);
    int rc = 0, inexact = 0;
    if (cl != H5T_INTEGER && cl != H5T_FLOAT && cl != H5T_ENUM)
        rc = fail(f, err, errlen, "%s is not numeric", path);
    hid_t fs = -1, ms = -1, xp = -1;
    if (rc == 0) {
        /* an enum (outcome) is read through its base integer type */
        fs = H5Dget_space(d);
        int rank = H5Sget_simple_extent_ndims(fs);
        hsize_t start[2] = {row0, 0}, count[2] = {nrows, cols};
        ms = H5Screate_simple(rank, count, NULL);
        xp = H5Pcreate(H5P_DATASET_XFER);
        if (xp < 0 || H5Pset_type_conv_cb(xp, strict_conv, &inexact) < 0
            || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0
            || H5Dread(d, cl == H5T_ENUM && type == HO_U8 ? H5T_NATIVE_INT8 : mt, ms, fs,
                       xp, buf) < 0)
            rc = fail(f, err, errlen, inexact ? "%s holds a value its reader's type cannot "
                                                "hold (negative, fractional, NaN or too large)"
                                              : "cannot read %s (damaged file?)", path);
    }
    if (xp >= 0) H5Pclose(xp);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (ft >= 0) H5Tclose(ft);
    if (d >= 0) H5Dclose(d);
    return rc;
}

char **hr_strings(hr_file *f, const char *path, size_t *n, char *err, size_t errlen)
{
    uint64_t rows, cols;
    *n = 0;
    if (hr_shape(f, path, &rows, &cols, err, errlen) != 0)
        return NULL;
    hid_t d = H5Dopen2(f->fid, path, H5P_DEFAULT);
    hid_t ft = d < 0 ? -1 : H5Dget_type(d);
    char **out = NULL;
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0 && cols == 1
        && rows < ((uint64_t)1 << 24)) {
        char **raw = calloc(rows ? rows : 1, sizeof *raw);
        out = calloc(rows ? rows : 1, sizeof *out);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        if (!raw || !out || (rows && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0)) {
            free(out);
            out = NULL;
        } else {
            for (uint64_t i = 0; i < rows; i++)
                out[i] = strdup(raw[i] ? raw[i] : "");
            hid_t sp = H5Dget_space(d);
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
            H5Sclose(sp);
            *n = (size_t)rows;
        }
        free(raw);
        H5Tclose(mt);
    }
    if (!out)
        fail(f, err, errlen, "%s is not a list of strings", path);
    if (ft >= 0) H5Tclose(ft);
    if (d >= 0) H5Dclose(d);
    return out;
}

void hr_free_strings(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}
