/* h5read: reading runway's own result files back (prefix hr_), for merge
 * and resume.
 *
 * Contract. Every call checks what it reads (the object exists, its type
 * class and its shape) before reading, so a truncated, corrupted or
 * hand-made file gives -1 and a one-line message naming the file and the
 * object, never a crash or an out-of-bounds read. Nothing is written.
 * Numbers are converted by HDF5 into the caller's type (HO_U64, HO_F64,
 * HO_I32, HO_U8 of h5out.h), strictly: a value the type cannot hold
 * exactly (negative or too large for an unsigned type, fractional, NaN or
 * infinite for an integer type) fails the read instead of being clamped
 * or rounded. Strings come back malloc'd (caller frees). Every message
 * starts with the file's name.
 */
#ifndef RUNWAY_H5READ_H
#define RUNWAY_H5READ_H

#include <stddef.h>
#include <stdint.h>

typedef struct hr_file hr_file;

hr_file *hr_open(const char *path, char *err, size_t errlen);
void hr_close(hr_file *f);

/* The path f was opened with (owned by f), for messages. */
const char *hr_name(const hr_file *f);

/* 1 if an object (dataset, group) exists at path, else 0. */
int hr_exists(hr_file *f, const char *path);

/* 1 if the root attribute exists, else 0. */
int hr_attr_exists(hr_file *f, const char *name);

/* A root attribute: a number or a string. A number may be stored with
 * any integer or float type, but must be a non-negative integer below
 * 2^64 (1.0 reads as 1; -1, 0.5, NaN are refused). */
int hr_attr_u64(hr_file *f, const char *name, uint64_t *v, char *err, size_t errlen);
char *hr_attr_str(hr_file *f, const char *name, char *err, size_t errlen);

/* Shape of a 1-D or 2-D dataset (cols = 1 for 1-D). */
int hr_shape(hr_file *f, const char *path, uint64_t *rows, uint64_t *cols,
             char *err, size_t errlen);

/* Rows [row0, row0+nrows) of a 1-D or 2-D numeric dataset into buf
 * (nrows x cols values of `type`). The dataset must have exactly `cols`
 * columns (a 1-D dataset has 1), so that buf, sized by the caller, can
 * never overflow; a dataset of any other width is refused. */
int hr_read(hr_file *f, const char *path, int type, uint64_t row0, uint64_t nrows,
            uint64_t cols, void *buf, char *err, size_t errlen);

/* A 1-D dataset of strings (an axis such as `lab`), n values, each
 * malloc'd; free with hr_free_strings. */
char **hr_strings(hr_file *f, const char *path, size_t *n, char *err, size_t errlen);
void hr_free_strings(char **s, size_t n);

#endif
