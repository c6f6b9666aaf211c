/* model_internal: the plan shared by the reference model (model.c) and
 * the block kernel (kernel.c). Not part of any public contract. */
#ifndef RUNWAY_MODEL_INTERNAL_H
#define RUNWAY_MODEL_INTERNAL_H

#include "engine/scenario.h"
#include "rng/rng_stream.h"

/* Shares are normalised as a_j * (1 / sum) where sum >= MD_SUM_MIN, so
 * that 1/sum cannot overflow; below it (only in absurd scenarios) as
 * a_j / sum. model.c and kernel.c both follow this rule. */
#define MD_SUM_MIN 0x1p-1000

struct md_plan {
    const sc_scenario *s;
    uint64_t seed;
    size_t nlabs;
    int horizon;
    rs_key *input_key;                 /* [ninputs] */
    int market_input[SC_MARKET_NKEYS]; /* index in s->inputs, or -1 */
    rs_key sentiment_key;
    rs_key *lab_key;                   /* [nlabs] */
    int *lab_exits;                    /* [nlabs] 1 where step 7 can buy the lab */
};

#endif
