/* kernel: the model of model.h for KN_LANES paths at once (prefix kn_).
 *
 * Contract. kn_run simulates paths first .. first+n-1 (n <= KN_LANES) and
 * leaves, in the work area, exactly what md_draw_inputs and md_simulate
 * give for each of those paths, bit for bit (tests/test_kernel.c proves
 * it): the drawn inputs, every lab-year record and every outcome. The data
 * are laid out structure-of-arrays, lane (path) innermost, and every step
 * is a loop over lanes with the model's branches written as selects, so
 * the compiler vectorises it; the arithmetic is the reference's, operation
 * for operation, with no contraction into FMA. A work area belongs to one
 * thread; the plan is shared read-only.
 */
#ifndef RUNWAY_KERNEL_H
#define RUNWAY_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/metrics.h"
#include "engine/model.h"

/* Paths a block. 64 keeps a block's work area (every lab-year's figures,
 * the inputs, the state) small enough to stay in cache between kn_run and
 * the summaries that read it: against 128, the model and the sampler's
 * paths each took about 5% less time (docs/performance.md, round four).
 * Results do not depend on it. */
#define KN_LANES 64

typedef struct kn_work kn_work;

/* NULL when out of memory. */
kn_work *kn_work_create(const md_plan *p);
void kn_work_free(kn_work *w);

void kn_run(const md_plan *p, kn_work *w, uint64_t first, size_t n);

/* Draws exactly the random numbers kn_run would (inputs, per-year
 * factors, sentiment and each lab-year's execution, funding and exit
 * draws, as normals where the model uses normals) and nothing else: the
 * floor that bench/ compares the simulation with. */
void kn_draw_only(const md_plan *p, kn_work *w, uint64_t first, size_t n);

/* Views into the work area after kn_run; index [.. ][lane]. */
typedef struct {
    const double *y[MT_N];       /* [L][T][KN_LANES], by metric (metrics.h) */
    const int64_t *alive;        /* [L][T][KN_LANES], alive at the end of year */
    const int64_t *fail_year;    /* [L][KN_LANES] */
    const int64_t *profit_year;  /* [L][KN_LANES] */
    const int64_t *outcome;      /* [L][KN_LANES] */
    const double *final_cash;    /* [L][KN_LANES] */
    const double *raised_total;  /* [L][KN_LANES] */
    const double *drawn;         /* [I][KN_LANES] */
    const double *market;        /* [3][T][KN_LANES] segment sizes sub, api, ent
                                    at the end of each year */
    /* the last year's draws of each lab, as kn_run and kn_draw_only both
     * leave them (the test that the floor draws what the model does) */
    const double *exec_z;        /* [L][KN_LANES] execution normals */
    const double *fund_u;        /* [L][KN_LANES] funding uniforms */
    const double *exit_u;        /* [L][KN_LANES] step 7's uniforms (labs it can buy) */
} kn_view;

void kn_view_get(const kn_work *w, kn_view *v);

#endif
