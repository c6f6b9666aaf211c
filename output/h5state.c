/* h5state: the sampler's state in group /state (see h5state.h). */
#include "output/h5state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* dst[c][r] = src[r][c], for a table of R rows and C columns, a block of
 * rows at a time so that both sides stay in cache. The sample's inputs
 * are columns in memory ([I][NS], as the rank correlations read them)
 * and rows on file (state/col_inputs [NS][I], the layout older runways
 * wrote and read). */
static void transpose(double *dst, const double *src, size_t R, size_t C)
{
    enum { ROWS = 64 };
    for (size_t r0 = 0; r0 < R; r0 += ROWS) {
        size_t r1 = r0 + ROWS < R ? r0 + ROWS : R;
        for (size_t c = 0; c < C; c++)
            for (size_t r = r0; r < r1; r++)
                dst[c * R + r] = src[r * C + c];
    }
}

int hs_save(const sim_state *st, ho_file *f, char *err, size_t errlen)
{
    size_t LT = st->L * st->T;
    /* the sketches, sparse: (sketch * SK_NBUCKETS + bucket, count) */
    size_t nnz = 0, nb = st->sk.n * SK_NBUCKETS;
    for (size_t i = 0; i < nb; i++)
        nnz += st->sk.count[i] != 0;
    uint64_t *sp = malloc((nnz ? nnz : 1) * 2 * sizeof *sp);
    if (!sp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0, k = 0; i < nb; i++)
        if (st->sk.count[i]) {
            sp[2 * k] = i;
            sp[2 * k + 1] = st->sk.count[i];
            k++;
        }
    uint64_t hdr[4] = { st->N, st->nblocks, st->sk.overflow, st->K };
    int rc = ho_put_state(f, "header", HO_U64, hdr, 1, 4, err, errlen)
          || ho_put_state(f, "alive", HO_U64, st->alive, st->L, st->T, err, errlen)
          || ho_put_state(f, "acquired", HO_U64, st->acq, st->L, st->T, err, errlen)
          || ho_put_state(f, "wound_down", HO_U64, st->wd, st->L, st->T, err, errlen)
          || ho_put_state(f, "acquired_solvent", HO_U64, st->sol, st->L, st->T, err, errlen)
          || ho_put_state(f, "profitable", HO_U64, st->prof, st->L, st->T, err, errlen)
          || ho_put_state(f, "independent", HO_U64, st->indep, st->T, st->L + 1, err, errlen)
          || ho_put_state(f, "sketch", HO_U64, sp, nnz, 2, err, errlen)
          || ho_put_state(f, "sketch_min", HO_F64, st->sk.mn, st->sk.n, 1, err, errlen)
          || ho_put_state(f, "sketch_max", HO_F64, st->sk.mx, st->sk.n, 1, err, errlen)
          || ho_put_state(f, "done", HO_U8, st->done, st->nblocks, 1, err, errlen);
    /* state/traj_FIELD of each metric with trajectories (metrics.h) */
    for (int m = 0; m < MT_N && !rc; m++)
        if (st->traj[m]) {
            char name[64];
            snprintf(name, sizeof name, "traj_%s", mt_defs[m].field);
            rc = ho_put_state(f, name, HO_F64, st->traj[m], st->K, LT, err, errlen);
        }
    rc = rc || ho_put_state(f, "traj_alive", HO_U8, st->traj_alive, st->K, LT, err, errlen);
    /* col_survived, derived from the fail years (the state holds only
     * those), keeps the file's layout */
    double *surv = !rc && st->I ? sim_state_survived(st) : NULL;
    double *rows = !rc && st->I ? malloc((st->NS ? st->NS : 1) * st->I * sizeof *rows) : NULL;
    if (!rc && st->I && (!surv || !rows)) {
        snprintf(err, errlen, "out of memory");
        rc = 1;
    }
    if (!rc && st->I)
        transpose(rows, st->col_in, st->I, st->NS); /* [I][NS] -> [NS][I] */
    if (!rc && st->I)
        rc = ho_put_state(f, "col_inputs", HO_F64, rows, st->NS, st->I, err, errlen)
          || ho_put_state(f, "col_survived", HO_F64, surv, st->NS, st->L, err, errlen)
          || ho_put_state(f, "col_final_cash", HO_F64, st->col_cash, st->NS, st->L, err, errlen)
          || ho_put_state(f, "col_fail_year", HO_I32, st->col_fy, st->NS, st->L, err, errlen);
    free(surv);
    free(rows);
    if (!rc && st->weighted) {
        uint64_t w[3] = { st->wsum, st->wsq_hi, st->wsq_lo };
        rc = ho_put_state(f, "weights", HO_U64, w, 1, 3, err, errlen)
          || ho_put_state(f, "likelihood_sums", HO_U64, st->lsum, st->nobs, 1, err, errlen)
          || ho_put_state(f, "col_weight", HO_F64, st->col_w, st->NS, 1, err, errlen);
    }
    free(sp);
    return rc ? -1 : 0;
}

/* Reads state/NAME, which must be rows x cols. */
static int get(hr_file *f, const char *name, int type, void *buf, uint64_t rows, uint64_t cols,
               char *err, size_t errlen)
{
    char path[64];
    uint64_t r, c;
    snprintf(path, sizeof path, "state/%s", name);
    if (hr_shape(f, path, &r, &c, err, errlen) != 0)
        return -1;
    if (r != rows || (rows && c != cols)) {
        snprintf(err, errlen, "%s: %s is %llux%llu, expected %llux%llu (not this run's state)",
                 hr_name(f), path, (unsigned long long)r, (unsigned long long)c,
                 (unsigned long long)rows, (unsigned long long)cols);
        return -1;
    }
    return hr_read(f, path, type, 0, rows, c, buf, err, errlen);
}

int hs_load(sim_state *st, hr_file *f, char *err, size_t errlen)
{
    size_t LT = st->L * st->T;
    uint64_t hdr[4];
    const char *fn = hr_name(f);
    if (get(f, "header", HO_U64, hdr, 1, 4, err, errlen) != 0)
        return -1;
    if (hdr[0] != st->N || hdr[1] != st->nblocks || hdr[3] != st->K) {
        snprintf(err, errlen, "%s: the saved state is for %llu paths in %llu blocks and %llu "
                 "kept, not %llu in %llu and %zu", fn, (unsigned long long)hdr[0],
                 (unsigned long long)hdr[1], (unsigned long long)hdr[3],
                 (unsigned long long)st->N, (unsigned long long)st->nblocks, st->K);
        return -1;
    }
    st->sk.overflow = hdr[2];
    uint64_t r, c;
    /* A conditioned run's state: its counts are sums of weights (up to
     * 2^SIM_WBITS a path), and it says on how many observations. */
    if (hr_exists(f, "state/weights")) {
        uint64_t w[3];
        err[0] = 0;
        if (hr_shape(f, "state/likelihood_sums", &r, &c, err, errlen) != 0
            || r == 0 || r > 1000000 || sim_state_weigh(st, (size_t)r) != 0
            || get(f, "weights", HO_U64, w, 1, 3, err, errlen)
            || get(f, "likelihood_sums", HO_U64, st->lsum, st->nobs, 1, err, errlen)
            || get(f, "col_weight", HO_F64, st->col_w, st->NS, 1, err, errlen)) {
            if (!*err)
                snprintf(err, errlen, "%s: state/likelihood_sums is not a conditioned run's", fn);
            return -1;
        }
        st->wsum = w[0];
        st->wsq_hi = w[1];
        st->wsq_lo = w[2];
        for (size_t p = 0; p < st->NS; p++)
            if (!(st->col_w[p] >= 0.0 && st->col_w[p] <= 1.0)) {
                snprintf(err, errlen, "%s: state/col_weight holds %g, not a weight in [0, 1]", fn,
                         st->col_w[p]);
                return -1;
            }
    }
    const uint64_t max_count = st->weighted ? st->N << SIM_WBITS : st->N;
    if (hr_shape(f, "state/sketch", &r, &c, err, errlen) != 0)
        return -1;
    /* hs_save writes one row per non-empty bucket, in increasing
     * bucket order: at most every bucket once */
    size_t nb = st->sk.n * SK_NBUCKETS;
    if (r > 0 && c != 2) {
        snprintf(err, errlen, "%s: state/sketch has %llu columns, not 2", fn,
                 (unsigned long long)c);
        return -1;
    }
    if (r > nb) {
        snprintf(err, errlen, "%s: state/sketch has %llu rows, more than the %zu buckets", fn,
                 (unsigned long long)r, nb);
        return -1;
    }
    uint64_t *sp = malloc((r ? r : 1) * 2 * sizeof *sp);
    if (!sp || (r && hr_read(f, "state/sketch", HO_U64, 0, r, 2, sp, err, errlen) != 0)) {
        if (!sp)
            snprintf(err, errlen, "out of memory");
        free(sp);
        return -1;
    }
    for (uint64_t k = 0; k < r; k++) {
        uint64_t b = sp[2 * k], n = sp[2 * k + 1];
        const char *why = b >= nb ? "out of range"
                        : k > 0 && b <= sp[2 * k - 2] ? "not in increasing order"
                        : n == 0 || n > max_count ? "with a count of 0 or above the paths" : NULL;
        if (why) {
            snprintf(err, errlen, "%s: state/sketch: bucket %llu %s", fn,
                     (unsigned long long)b, why);
            free(sp);
            return -1;
        }
        /* no overflow: each count <= N <= 2^40, fewer than 2^15 per sketch */
        st->sk.count[b] = n;
        st->sk.total[b / SK_NBUCKETS] += n;
    }
    free(sp);
    int rc = get(f, "sketch_min", HO_F64, st->sk.mn, st->sk.n, 1, err, errlen)
          || get(f, "sketch_max", HO_F64, st->sk.mx, st->sk.n, 1, err, errlen)
          || get(f, "alive", HO_U64, st->alive, st->L, st->T, err, errlen)
          || get(f, "acquired", HO_U64, st->acq, st->L, st->T, err, errlen)
          || get(f, "wound_down", HO_U64, st->wd, st->L, st->T, err, errlen)
          || get(f, "acquired_solvent", HO_U64, st->sol, st->L, st->T, err, errlen)
          || get(f, "profitable", HO_U64, st->prof, st->L, st->T, err, errlen)
          || get(f, "independent", HO_U64, st->indep, st->T, st->L + 1, err, errlen)
          || get(f, "done", HO_U8, st->done, st->nblocks, 1, err, errlen);
    for (int m = 0; m < MT_N && !rc; m++)
        if (st->traj[m]) {
            char name[64];
            snprintf(name, sizeof name, "traj_%s", mt_defs[m].field);
            rc = get(f, name, HO_F64, st->traj[m], st->K, LT, err, errlen);
        }
    rc = rc || get(f, "traj_alive", HO_U8, st->traj_alive, st->K, LT, err, errlen);
    /* the sample's fail years came with the sensitivity indices: a part
     * written before them cannot give them */
    if (!rc && st->I && !hr_exists(f, "state/col_fail_year")) {
        snprintf(err, errlen, "%s: state/col_fail_year is missing: the checkpoint or shard was "
                 "written by an older runway; run it again with this one", fn);
        rc = 1;
    }
    /* col_survived must be what the fail years say (the state keeps only
     * those): read, compared on the paths done (the rows of the others
     * are zeros, as an older runway wrote them, or what their zero fail
     * years say), and dropped */
    double *surv = NULL;
    double *rows = NULL; /* state/col_inputs, [NS][I] */
    if (!rc && st->I) {
        size_t n = st->NS * st->L;
        surv = malloc((n ? n : 1) * sizeof *surv);
        rows = malloc((st->NS ? st->NS : 1) * st->I * sizeof *rows);
        if (!surv || !rows) {
            snprintf(err, errlen, "out of memory");
            rc = 1;
        }
    }
    if (!rc && st->I)
        rc = get(f, "col_inputs", HO_F64, rows, st->NS, st->I, err, errlen)
          || get(f, "col_survived", HO_F64, surv, st->NS, st->L, err, errlen)
          || get(f, "col_final_cash", HO_F64, st->col_cash, st->NS, st->L, err, errlen)
          || get(f, "col_fail_year", HO_I32, st->col_fy, st->NS, st->L, err, errlen);
    if (!rc && st->I)
        transpose(st->col_in, rows, st->NS, st->I); /* [NS][I] -> [I][NS] */
    free(rows);
    for (size_t k = 0; !rc && st->I && k < st->NS * st->L; k++)
        if (st->done[k / st->L / SIM_BLOCK] && surv[k] != (st->col_fy[k] == 0 ? 1.0 : 0.0)) {
            snprintf(err, errlen, "%s: state/col_survived disagrees with state/col_fail_year "
                     "(path %zu, lab %zu)", fn, k / st->L, k % st->L + 1);
            rc = 1;
        }
    free(surv);
    for (uint64_t b = 0; !rc && b < st->nblocks; b++)
        if (st->done[b] > 1) {
            snprintf(err, errlen, "%s: state/done holds %d, not 0 or 1", fn, st->done[b]);
            rc = 1;
        }
    return rc ? -1 : 0;
}

