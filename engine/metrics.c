/* metrics: the table of metrics.h as data, for loops over the metrics. */
#include "engine/metrics.h"

#include <stddef.h>

#define MT_DEF_(K, f, n, u, tr, ql, tl) [MT_##K] = { #f, #n "_q", tr ? #n : NULL, u, ql, tr ? tl : NULL },
const mt_def mt_defs[MT_N] = { MT_METRICS(MT_DEF_) };
#undef MT_DEF_
