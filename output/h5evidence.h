/* h5evidence: the backtest group of a result file (OUTPUT.md, "Evidence";
 * prefix he_).
 *
 * Contract. he_write_backtest adds group `backtest` to a file being
 * written (before ho_commit): an `observation` axis (the observations'
 * labels), one dataset per column of ev_scores with `units` and
 * `long_name`, predicted quantiles on (observation, quantile), and the
 * coverages and mean log score as the group's attributes; the
 * observations file's text goes to the root attribute
 * `observations_yaml`. Returns 0, or -1 with one line in err (the caller
 * then discards the file).
 */
#ifndef RUNWAY_H5EVIDENCE_H
#define RUNWAY_H5EVIDENCE_H

#include <stddef.h>

#include "engine/evidence.h"
#include "engine/observe.h"
#include "engine/scenario.h"
#include "output/h5out.h"

int he_write_backtest(ho_file *f, const sc_scenario *s, const ob_set *obs,
                      const ev_scores *sc, char *err, size_t errlen);

#endif
