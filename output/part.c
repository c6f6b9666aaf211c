/* part: see part.h for the contract. */
#include "output/part.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/step.h"
#include "output/h5out.h"
#include "output/h5state.h"

#define PT_MAX_SHARDS 1000000

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

void pt_shard_blocks(uint64_t nblocks, uint64_t i, uint64_t n, uint64_t *lo, uint64_t *hi)
{
    *lo = nblocks * i / n;
    *hi = nblocks * (i + 1) / n;
}

/* What group `paths` holds, from its datasets. */
static int per_path_of(hr_file *hf)
{
    if (!hr_exists(hf, "paths/fail_year"))
        return HO_PER_PATH_NONE;
    return hr_exists(hf, "paths/inputs") ? HO_PER_PATH_ALL : HO_PER_PATH_OUTCOMES;
}

int pt_open(pt_part *p, const char *path, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->path = path;
    p->hf = hr_open(path, err, errlen);
    if (!p->hf)
        return -1;
    p->yaml = hr_attr_str(p->hf, "scenario_yaml", err, errlen);
    if (!p->yaml)
        return -1;
    if (!hr_exists(p->hf, "state/header"))
        return fail(err, errlen, "%s: holds no saved state (not a checkpoint or a shard)", path);
    int conditioned = hr_attr_exists(p->hf, "observations_yaml") && hr_exists(p->hf, "state/weights");
    uint64_t hdr[4];
    if (hr_read(p->hf, "state/header", HO_U64, 0, 1, 4, hdr, err, errlen) != 0)
        return -1;
    uint64_t c;
    if (hr_shape(p->hf, "path", &p->axis_rows, &c, err, errlen) != 0)
        return -1;
    if (p->axis_rows > 0
        && hr_read(p->hf, "path", HO_U64, 0, 1, 1, &p->axis_first, err, errlen) != 0)
        return -1;
    char name[4200];
    snprintf(name, sizeof name, "%s (scenario_yaml)", path);
    if (sc_load_text(&p->s, p->yaml, strlen(p->yaml), name, NULL, err, errlen) != 0) {
        /* A damaged file, not a scenario to edit: its first error says
         * so, in one line (the loader lists every error, one per line). */
        char *nl = strchr(err, '\n');
        if (nl)
            *nl = 0;
        return -1;
    }
    /* The text as written and the overrides travel on to the resumed or
     * merged file (a file written before they were recorded has none:
     * the scenario as run stands for both). */
    if (hr_attr_exists(p->hf, "scenario_source") && hr_attr_exists(p->hf, "overrides")) {
        char *src = hr_attr_str(p->hf, "scenario_source", err, errlen), *ov = NULL;
        if (!src || !(ov = hr_attr_str(p->hf, "overrides", err, errlen))) {
            free(src);
            return -1;
        }
        free(p->s->source_text);
        free(p->s->overrides);
        p->s->source_text = src;
        p->s->overrides = ov;
    }
    if (p->s->paths != hdr[0])
        return fail(err, errlen, "%s: the state is for %llu paths, the scenario for %llu", path,
                    (unsigned long long)hdr[0], (unsigned long long)p->s->paths);
    /* K comes from the file: bounded before it sizes anything */
    if (hdr[3] > SIM_MAX_KEEP || hdr[3] > hdr[0])
        return fail(err, errlen, "%s: the state keeps %llu trajectories, more than the paths "
                    "or the limit of %d", path, (unsigned long long)hdr[3], SIM_MAX_KEEP);
    if (sim_state_init(&p->st, p->s, p->s->paths, (size_t)hdr[3]) != 0)
        return fail(err, errlen, "%s: out of memory for the state of %llu paths", path,
                    (unsigned long long)p->s->paths);
    if (hs_load(&p->st, p->hf, err, errlen) != 0)
        return -1;
    p->per_path = per_path_of(p->hf);
    /* A conditioned run: its observations come back with it, and its
     * state must be weighted on as many of them. */
    if (conditioned != p->st.weighted)
        return fail(err, errlen, "%s: observations_yaml and state/weights must come together", path);
    if (conditioned) {
        char *oy = hr_attr_str(p->hf, "observations_yaml", err, errlen), oname[600];
        if (!oy)
            return -1;
        snprintf(oname, sizeof oname, "%s (observations_yaml)", path);
        int bad = ob_load_text(&p->cond, oy, strlen(oy), oname, p->s, err, errlen);
        free(oy);
        if (bad)
            return -1;
        if (p->cond->n != p->st.nobs)
            return fail(err, errlen, "%s: the state is weighted on %zu observations, "
                        "observations_yaml holds %zu", path, p->st.nobs, p->cond->n);
    }
    const sim_state *st = &p->st;
    size_t LT = st->L * st->T, NI = st->T * (st->L + 1);
    if (!(p->own = malloc((4 * LT + NI) * sizeof *p->own)))
        return fail(err, errlen, "out of memory");
    memcpy(p->own, st->acq, LT * sizeof *p->own);
    memcpy(p->own + LT, st->wd, LT * sizeof *p->own);
    memcpy(p->own + 2 * LT, st->prof, LT * sizeof *p->own);
    memcpy(p->own + 3 * LT, st->indep, NI * sizeof *p->own);
    memcpy(p->own + 3 * LT + NI, st->sol, LT * sizeof *p->own);
    return 0;
}

void pt_close_file(pt_part *p)
{
    hr_close(p->hf);
    p->hf = NULL;
}

void pt_close(pt_part *p)
{
    pt_close_file(p);
    sc_free(p->s);
    free(p->yaml);
    ob_free(p->cond);
    sim_state_free(&p->st);
    free(p->own);
    memset(p, 0, sizeof *p);
}

/* The shard attributes, if the file has either: both must be there, with
 * 1 <= count <= PT_MAX_SHARDS and index < count. */
static int read_shard(pt_part *p, int required, char *err, size_t errlen)
{
    p->is_shard = hr_attr_exists(p->hf, "shard_index") || hr_attr_exists(p->hf, "shard_count");
    if (!p->is_shard && !required)
        return 0;
    if (hr_attr_u64(p->hf, "shard_index", &p->shard_index, err, errlen) != 0
        || hr_attr_u64(p->hf, "shard_count", &p->shard_count, err, errlen) != 0)
        return -1;
    p->is_shard = 1;
    if (p->shard_count < 1 || p->shard_count > PT_MAX_SHARDS)
        return fail(err, errlen, "%s: shard count %llu is not 1 to %d", p->path,
                    (unsigned long long)p->shard_count, PT_MAX_SHARDS);
    if (p->shard_index >= p->shard_count)
        return fail(err, errlen, "%s: shard %llu/%llu is out of range", p->path,
                    (unsigned long long)p->shard_index, (unsigned long long)p->shard_count);
    return 0;
}

/* The file holds what a run writes for its share of the paths: a shard's
 * blocks (pt_shard_blocks), or all of them for a whole run. */
static int check_own(pt_part *p, char *err, size_t errlen)
{
    const sim_state *st = &p->st;
    p->blo = 0;
    p->bhi = st->nblocks;
    if (p->is_shard)
        pt_shard_blocks(st->nblocks, p->shard_index, p->shard_count, &p->blo, &p->bhi);
    p->first_path = p->blo * SIM_BLOCK;
    uint64_t end = p->bhi * SIM_BLOCK < st->N ? p->bhi * SIM_BLOCK : st->N;
    p->rows = end > p->first_path ? end - p->first_path : 0;
    /* --per-path none leaves the path axis empty */
    int none = p->per_path == HO_PER_PATH_NONE;
    if (none ? p->axis_rows != 0 : p->axis_first != p->first_path || p->axis_rows != p->rows)
        return fail(err, errlen, "%s: its path axis holds %llu paths from %llu, not its own "
                    "%llu from %llu", p->path, (unsigned long long)p->axis_rows,
                    (unsigned long long)p->axis_first,
                    (unsigned long long)(none ? 0 : p->rows), (unsigned long long)p->first_path);
    if (hr_attr_exists(p->hf, "per_path")) {
        static const char *names[] = { "none", "all", "outcomes" };
        char *v = hr_attr_str(p->hf, "per_path", err, errlen);
        if (!v)
            return -1;
        int same = !strcmp(v, names[p->per_path]);
        free(v);
        if (!same)
            return fail(err, errlen, "%s: attribute per_path says otherwise than group paths "
                        "(which holds %s)", p->path, names[p->per_path]);
    }
    /* Attributes the run wrote from the same figures, when present. */
    struct { const char *name; uint64_t want; } attrs[] = {
        { "seed", p->s->seed }, { "run_paths", p->s->paths }, { "paths", p->rows },
    };
    for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++) {
        uint64_t v;
        if (!hr_attr_exists(p->hf, attrs[i].name))
            continue;
        if (hr_attr_u64(p->hf, attrs[i].name, &v, err, errlen) != 0)
            return -1;
        if (v != attrs[i].want)
            return fail(err, errlen, "%s: attribute %s is %llu, its scenario and shard say %llu",
                        p->path, attrs[i].name, (unsigned long long)v,
                        (unsigned long long)attrs[i].want);
    }
    char e[900];
    if (sim_state_check(st, p->s, p->blo, p->bhi, e, sizeof e) != 0)
        return fail(err, errlen, "%s: %s", p->path, e);
    return 0;
}

/* A checkpoint or a shard continues only in the runway that wrote it: its
 * state's format and its results are promised within one version. */
static int same_version(pt_part *p, char *err, size_t errlen)
{
    char *ver = hr_attr_str(p->hf, "runway_version", err, errlen);
    if (!ver)
        return -1;
    int same = !strcmp(ver, RUNWAY_VERSION);
    if (!same) {
        char shown[40];
        size_t k = 0;
        for (const char *c = ver; *c && k + 1 < sizeof shown; c++)
            shown[k++] = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
        shown[k] = 0;
        fail(err, errlen, "%s: written by runway %s%s; this is runway %s, which continues only "
             "its own checkpoints and shards (use runway %s)", p->path, shown,
             strlen(ver) >= sizeof shown ? "..." : "", RUNWAY_VERSION, shown);
    }
    free(ver);
    return same ? 0 : -1;
}

int pt_check_resume(pt_part *p, char *err, size_t errlen)
{
    if (same_version(p, err, errlen) != 0)
        return -1;
    uint64_t complete;
    if (hr_attr_u64(p->hf, "complete", &complete, err, errlen) != 0)
        return -1;
    if (complete != 0)
        return fail(err, errlen, "%s: not a checkpoint of an unfinished run (complete = %llu)",
                    p->path, (unsigned long long)complete);
    if (read_shard(p, 0, err, errlen) != 0)
        return -1;
    return check_own(p, err, errlen);
}

int pt_merge_add(pt_merge *m, pt_part *p, char *err, size_t errlen)
{
    uint64_t seed;
    char *ver = NULL;
    if (read_shard(p, 1, err, errlen) != 0
        || hr_attr_u64(p->hf, "seed", &seed, err, errlen) != 0
        || !(ver = hr_attr_str(p->hf, "runway_version", err, errlen)))
        return -1;
    if (!m->first) {
        if (same_version(p, err, errlen) != 0) {
            free(ver);
            return -1;
        }
        m->seen = calloc(p->shard_count, 1);
        if (!m->seen) {
            free(ver);
            return fail(err, errlen, "out of memory");
        }
        m->first = p;
        m->version = ver;
        m->count = p->shard_count;
    } else {
        const char *what = p->shard_count != m->count ? "shard count"
                         : strcmp(p->yaml, m->first->yaml) ? "scenario, seed or path count"
                         : strcmp(ver, m->version) ? "runway version" : NULL;
        free(ver);
        if (what)
            return fail(err, errlen, "%s: not a shard of the same run as %s (%s differs)",
                        p->path, m->first->path, what);
    }
    if (m->seen[p->shard_index])
        return fail(err, errlen, "%s: shard %llu/%llu is given twice", p->path,
                    (unsigned long long)p->shard_index, (unsigned long long)m->count);
    if (check_own(p, err, errlen) != 0)
        return -1;
    if (p != m->first) {
        char e[900];
        if (sim_state_merge(&m->first->st, &p->st, e, sizeof e) != 0)
            return fail(err, errlen, "%s: %s", p->path, e);
    }
    m->seen[p->shard_index] = 1;
    return 0;
}

int pt_merge_finish(const pt_merge *m, char *err, size_t errlen)
{
    if (!m->first)
        return fail(err, errlen, "no shard to merge");
    for (uint64_t k = 0; k < m->count; k++)
        if (!m->seen[k])
            return fail(err, errlen, "shard %llu of %llu is missing", (unsigned long long)k,
                        (unsigned long long)m->count);
    return 0;
}

void pt_merge_free(pt_merge *m)
{
    free(m->seen);
    free(m->version);
    memset(m, 0, sizeof *m);
}

/* Tallies of the per-path rows, to compare with the state as loaded. */
typedef struct {
    uint64_t *acq, *wd, *sol, *prof; /* [L][T+1]: paths by year of the event (0: never) */
    uint64_t *indep;           /* [T][L+1] */
    int32_t *down;             /* [T+1]: independent labs failing in year t+1 */
} tally;

static int rows_ok(const pt_part *p, tally *ty, uint64_t first, uint64_t count,
                   const sim_paths_block *b, int with_inputs, char *err, size_t errlen)
{
    const sim_state *st = &p->st;
    const size_t L = st->L, T = st->T, I = st->I, LT = L * T;
    for (uint64_t j = 0; j < count; j++) {
        uint64_t path = first + j;
        memset(ty->down, 0, (T + 1) * sizeof *ty->down);
        int32_t nind = 0;
        /* a conditioned run's counts are sums of weights: each row counts
         * its weight, which must be a multiple of 2^-32 in [0, 1] */
        uint64_t ww = 1;
        if (st->weighted) {
            double w = b->weight[j], W = w * (double)((uint64_t)1 << SIM_WBITS);
            if (!(w >= 0.0 && w <= 1.0) || W != nearbyint(W))
                return fail(err, errlen, "%s: paths/weight of path %llu is %g, not a run's weight",
                            p->path, (unsigned long long)path, w);
            ww = (uint64_t)W;
            if (path < st->NS && st->col_w[path] != w)
                return fail(err, errlen, "%s: paths/weight of path %llu disagrees with the saved "
                            "state's", p->path, (unsigned long long)path);
        }
        for (size_t l = 0; l < L; l++) {
            size_t jl = (size_t)j * L + l;
            int32_t fy = b->fail_year[jl], py = b->profit_year[jl];
            int8_t oc = b->outcome[jl];
            if (fy < 0 || (size_t)fy > T || py < 0 || (size_t)py > T || oc < 0 || oc > MD_ACQUIRED_SOLVENT
                || (oc == 0) != (fy == 0))
                return fail(err, errlen, "%s: per-path row of path %llu, lab %zu (fail year "
                            "%d, outcome %d, profit year %d) is not a lab's fate", p->path,
                            (unsigned long long)path, l + 1, (int)fy, (int)oc, (int)py);
            (oc == MD_ACQUIRED ? ty->acq : oc == MD_WOUND_DOWN ? ty->wd : ty->sol)
                [l * (T + 1) + (size_t)fy] += fy > 0 ? ww : 0;
            ty->prof[l * (T + 1) + (size_t)py] += ww;
            if (p->s->labs[l].backstop == SC_BACKSTOP_NONE) {
                nind++;
                if (fy > 0)
                    ty->down[fy - 1]++;
            }
            /* final cash is finite, funding raised finite and not
             * negative; on a kept path both are what its trajectory
             * adds up to (the engine sums funding year by year) */
            double fc = b->final_cash[jl], rt = b->raised_total[jl];
            if (!isfinite(fc) || !isfinite(rt) || rt < 0.0)
                return fail(err, errlen, "%s: paths/%s of path %llu, lab %zu is %g, not a value "
                            "the model gives", p->path, !isfinite(fc) ? "final_cash" : "raised_total",
                            (unsigned long long)path, l + 1, !isfinite(fc) ? fc : rt);
            if (path < st->K && st->traj[MT_RAISED] && st->traj[MT_CASH]) {
                const double *tr = st->traj[MT_RAISED] + (size_t)path * LT + l * T;
                const double *tc = st->traj[MT_CASH] + (size_t)path * LT + l * T;
                double sum = 0.0;
                for (size_t t = 0; t < T; t++)
                    if (!isnan(tr[t]))
                        sum += tr[t];
                double c = fy == 0 ? tc[T - 1] : tc[fy - 1];
                if (memcmp(&sum, &rt, sizeof sum) != 0 || memcmp(&c, &fc, sizeof c) != 0)
                    return fail(err, errlen, "%s: paths/%s of path %llu, lab %zu disagrees with "
                                "its kept trajectory", p->path, memcmp(&sum, &rt, sizeof sum)
                                ? "raised_total" : "final_cash", (unsigned long long)path, l + 1);
            }
            /* rows the state keeps of the same path */
            int bad = 0;
            if (I && path < st->NS) {
                size_t pl = (size_t)path * L + l;
                bad |= st->col_fy[pl] != fy;
                bad |= memcmp(&st->col_cash[pl], &b->final_cash[jl], sizeof(double)) != 0;
            }
            for (size_t t = 0; path < st->K && t < T; t++)
                bad |= st->traj_alive[(size_t)path * LT + l * T + t] != (fy == 0 || (size_t)fy > t + 1);
            if (bad)
                return fail(err, errlen, "%s: per-path row of path %llu, lab %zu disagrees with "
                            "the saved state's rows of that path", p->path,
                            (unsigned long long)path, l + 1);
        }
        for (size_t t = 0; t < T; t++) {
            nind -= ty->down[t];
            ty->indep[t * (L + 1) + (size_t)nind] += ww;
        }
        int differ = 0; /* the state's inputs are columns: [I][NS] */
        for (size_t i = 0; with_inputs && I && path < st->NS && i < I; i++)
            differ |= memcmp(&st->col_in[i * st->NS + (size_t)path], &b->inputs[(size_t)j * I + i],
                             sizeof(double)) != 0;
        if (differ)
            return fail(err, errlen, "%s: paths/inputs of path %llu disagree with the saved "
                        "state's", p->path, (unsigned long long)path);
    }
    return 0;
}

/* The tallies against the counts as loaded. */
static int tally_ok(const pt_part *p, const tally *ty, char *err, size_t errlen)
{
    const sim_state *st = &p->st;
    const size_t L = st->L, T = st->T, LT = L * T;
    for (size_t l = 0; l < L; l++) {
        uint64_t a = 0, w = 0, so = 0, pr = 0;
        for (size_t t = 0; t < T; t++) {
            size_t h = l * (T + 1) + t + 1, i = l * T + t;
            a += ty->acq[h];
            w += ty->wd[h];
            so += ty->sol[h];
            pr += ty->prof[h];
            if (a != p->own[i] || w != p->own[LT + i] || pr != p->own[2 * LT + i]
                || so != p->own[3 * LT + T * (L + 1) + i])
                return fail(err, errlen, "%s: the per-path rows disagree with the saved state "
                            "(failures or profitability of lab %zu in year %zu)", p->path,
                            l + 1, t + 1);
        }
    }
    for (size_t i = 0; i < T * (L + 1); i++)
        if (ty->indep[i] != p->own[3 * LT + i])
            return fail(err, errlen, "%s: the per-path rows disagree with the saved state "
                        "(independent labs alive in year %zu)", p->path, i / (L + 1) + 1);
    return 0;
}

int pt_copy_paths(const pt_part *p, int with_inputs, sim_paths_fn sink, void *ctx,
                  char *err, size_t errlen)
{
    const sim_state *st = &p->st;
    const size_t B = SIM_BLOCK, L = st->L, T = st->T, I = st->I;
    int32_t *fy = malloc(B * L * 4), *py = malloc(B * L * 4);
    int8_t *oc = malloc(B * L);
    double *fc = malloc(B * L * 8), *rt = malloc(B * L * 8), *in = calloc(B * (I ? I : 1), 8);
    double *wt = calloc(B, 8);
    tally ty = {
        calloc(L * (T + 1), 8), calloc(L * (T + 1), 8), calloc(L * (T + 1), 8),
        calloc(L * (T + 1), 8), calloc(T * (L + 1), 8), calloc(T + 1, 4),
    };
    int rc = fy && py && oc && fc && rt && in && wt && ty.acq && ty.wd && ty.sol && ty.prof && ty.indep && ty.down
           ? 0 : fail(err, errlen, "out of memory");
    int inputs = with_inputs && I;
    for (uint64_t b = p->blo; b < p->bhi && rc == 0; b++) {
        if (!st->done[b])
            continue;
        uint64_t p0 = b * B, c = st->N - p0 < B ? st->N - p0 : B, r = p0 - p->axis_first;
        rc = hr_read(p->hf, "paths/fail_year", HO_I32, r, c, L, fy, err, errlen)
          || hr_read(p->hf, "paths/outcome", HO_U8, r, c, L, oc, err, errlen)
          || hr_read(p->hf, "paths/profit_year", HO_I32, r, c, L, py, err, errlen)
          || hr_read(p->hf, "paths/final_cash", HO_F64, r, c, L, fc, err, errlen)
          || hr_read(p->hf, "paths/raised_total", HO_F64, r, c, L, rt, err, errlen)
          || (inputs && hr_read(p->hf, "paths/inputs", HO_F64, r, c, I, in, err, errlen))
          || (st->weighted && hr_read(p->hf, "paths/weight", HO_F64, r, c, 1, wt, err, errlen));
        if (rc == 0) {
            sim_paths_block blk = { fy, oc, py, fc, rt, in, st->weighted ? wt : NULL };
            rc = rows_ok(p, &ty, p0, c, &blk, inputs, err, errlen) != 0
              || sink(ctx, p0, c, &blk, err, errlen) != 0;
        }
    }
    if (rc == 0)
        rc = tally_ok(p, &ty, err, errlen) != 0;
    free(fy); free(py); free(oc); free(fc); free(rt); free(in); free(wt);
    free(ty.acq); free(ty.wd); free(ty.sol); free(ty.prof); free(ty.indep); free(ty.down);
    return rc ? -1 : 0;
}
