/* metrics: the yearly metrics of a lab, one table (prefix mt_).
 *
 * Contract. Each line of MT_METRICS is one metric that the model records
 * for every lab and year it is alive (MODEL.md section 5). From it come:
 * the index MT_KEY (the model's per-year record md_year, the kernel's
 * work area kn_view.y, the sampler's sketches and sim_result.q all use
 * it), the field of md_year, the result file's quantile summary NAME_q
 * and, for a metric whose kept trajectories are written, the dataset
 * trajectories/NAME (sim_state.traj and the checkpoint's state/traj_FIELD).
 * Adding a metric is adding a line here, then computing it: in
 * md_simulate (model.c, into md_year) and kn_run (kernel.c, into
 * w->y + MT_KEY * ...). Everything else follows; the lines' order is the
 * order of the datasets in the file.
 *
 * Columns: KEY, md_year's field, the dataset name NAME (an identifier:
 * NAME_q is the summary, NAME the trajectory), units, whether kept
 * trajectories are written (1 or 0), the summary's long_name, the
 * trajectory's long_name ("" when none).
 */
#ifndef RUNWAY_METRICS_H
#define RUNWAY_METRICS_H

#define MT_METRICS(X)                                                                            \
    X(CASH, cash, cash, "US$ billion", 1,                                                        \
      "quantiles of cash at the end of the year, among paths where the lab is alive",             \
      "cash at the end of the year (NaN after failure)")                                         \
    X(REVENUE, revenue, revenue, "US$ billion", 1,                                               \
      "quantiles of revenue in the year, among paths where the lab is alive",                     \
      "revenue in the year (NaN after failure)")                                                 \
    X(OP, op, op_cash_flow, "US$ billion", 1,                                                    \
      "quantiles of operating cash flow in the year, among paths where the lab is alive",         \
      "operating cash flow in the year (NaN after failure)")                                     \
    X(RAISED, raised, raised, "US$ billion", 1,                                                  \
      "quantiles of funding raised in the year, among paths where the lab is alive",              \
      "funding raised in the year (NaN after failure)")                                          \
    X(OWNERSHIP, ownership, ownership, "1", 0,                                                   \
      "quantiles of the fraction of the lab still held by its base-year owners, among paths "    \
      "where the lab is alive", "")                                                              \
    X(SHARE, share, share, "1", 1,                                                               \
      "quantiles of the lab's share of total market revenue, among paths where the lab is alive", \
      "share of total market revenue in the year (NaN after failure)")                           \
    X(SUBSIDY, subsidy, parent_subsidy, "US$ billion", 0,                                        \
      "quantiles of the parent's subsidy in the year, among paths where the lab is alive (NaN "  \
      "for labs without a backstop)", "")

/* MT_CASH, MT_REVENUE, ..., and MT_N, their number. */
#define MT_ENUM_(K, f, n, u, tr, ql, tl) MT_##K,
enum { MT_METRICS(MT_ENUM_) MT_N };
#undef MT_ENUM_

/* MT_IF(flag, tokens): the tokens when flag is 1, nothing when it is 0;
 * for declarations that exist only for metrics with trajectories. */
#define MT_IF_1(...) __VA_ARGS__
#define MT_IF_0(...)
#define MT_CAT_(a, b) a##b
#define MT_IF(flag, ...) MT_CAT_(MT_IF_, flag)(__VA_ARGS__)

typedef struct {
    const char *field;        /* md_year's field: "cash" */
    const char *summary;      /* dataset of the quantile summary: "cash_q" */
    const char *traj;         /* dataset in group trajectories, NULL if none */
    const char *units;        /* "US$ billion", "1" */
    const char *summary_long; /* long_name of the summary */
    const char *traj_long;    /* long_name of the trajectory, NULL if none */
} mt_def;

extern const mt_def mt_defs[MT_N];

#endif
