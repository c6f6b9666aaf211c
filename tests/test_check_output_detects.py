#!/usr/bin/python3
"""check_output.py must catch a broken result file, not only pass good ones.

Usage: /usr/bin/python3 tests/test_check_output_detects.py GOOD.h5
       /usr/bin/python3 tests/test_check_output_detects.py --evidence RUNWAY SOURCE_DIR

GOOD.h5 is a file that passes (test_h5out's synthetic file). Each case
below copies it, breaks one thing subtly with h5py, and asserts that
check() reports it with the expected message; the untouched copy must
pass. Prints "ok" or one line per case that went undetected, exit 1.

--evidence: the same for the files of MODEL.md section 8, made here with
RUNWAY: a run conditioned on an observed figure (weights strictly between
0 and 1) and a backtest of scenarios/backtest_2024.yaml against
data/observed_2025.yaml must pass check() and scripts/runway_result.load;
then a weight above 1, an evidence or n_eff that is not what the weights
say, weights moved between paths (n_eff and evidence unchanged, the
weighted cross-check fails), a backtest coverage attribute, inside flag
or PIT that disagrees, and a detached backtest scale must each be
reported by check(), and the weight and evidence cases also refused by
runway_result.load with one line."""
import os
import contextlib
import io
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_output  # noqa: E402


def survival_increases(f):
    # A small rise in one year; the other rules are kept: the exit
    # probabilities absorb it so that the four still sum to 1.
    s = f["survival"][()]
    d = s[0, 1] + 0.001 - s[0, 2]
    s[0, 2] += d
    f["survival"][...] = s
    for name in ("failed_acquired", "failed_wound_down", "acquired_solvent"):
        v = f[name][()]
        v[0, 2] -= d / 3
        f[name][...] = v


def survival_off_by_1e9(f):
    # Monotone, summing to 1, inside its interval, but not what the paths say.
    s = f["survival"][()]
    fa = f["failed_acquired"][()]
    s[1, -1] -= 1e-9
    fa[1, -1] += 1e-9
    f["survival"][...] = s
    f["failed_acquired"][...] = fa


def sums_not_one(f):
    fw = f["failed_wound_down"][()]
    fw[2, 0] += 1e-9
    f["failed_wound_down"][...] = fw


def solvent_sums_not_one(f):
    # Bought while solvent, counted once too often: survival and the
    # failures are untouched, so only the sum rule (and the paths) see it.
    a = f["acquired_solvent"][()]
    a[1, 2] += 1e-9
    f["acquired_solvent"][...] = a


def solvent_missing(f):
    # A file written before MODEL.md v2 step 7: OUTPUT.md requires it now.
    del f["acquired_solvent"]


def solvent_decreases(f):
    # Moved from the last year's bought-while-solvent to survival and back
    # one year earlier: sums hold, monotonicity does not.
    a = f["acquired_solvent"][()]
    s = f["survival"][()]
    d = a[0, -1] - a[0, -2] + 0.01
    a[0, -1] -= d
    s[0, -1] += d
    f["acquired_solvent"][...] = a
    f["survival"][...] = s


def solvent_counted_as_wound_down(f):
    # Per path, one exit while solvent written as a wind-down: every
    # summary rule still holds, the cross-check against the paths does not.
    oc = f["paths/outcome"][()]
    p, l = np.argwhere(oc == 3)[0]
    oc[p, l] = 2
    f["paths/outcome"][...] = oc


def outcome_code_4(f):
    oc = f["paths/outcome"][()]
    p, l = np.argwhere(oc == 3)[0]
    oc[p, l] = 4
    ds = f["paths/outcome"]
    # h5py refuses a value the enum does not name; write the raw int8.
    ds.id.write(h5py.h5s.ALL, h5py.h5s.ALL, oc.astype(np.int8),
                mtype=h5py.h5t.NATIVE_INT8)


def outcome_enum_of_three(f):
    # The enum as written before step 7 (no acquired_solvent member).
    old = f["paths/outcome"]
    oc = old[()].astype(np.int8)
    oc[oc == 3] = 1
    attrs = {k: old.attrs[k] for k in ("units", "long_name")}
    chunks = old.chunks
    del f["paths/outcome"]
    dt = h5py.enum_dtype({"survived": 0, "acquired": 1, "wound_down": 2}, basetype="i1")
    ds = f["paths"].create_dataset("outcome", data=oc, dtype=dt, chunks=chunks)
    for k, v in attrs.items():
        ds.attrs[k] = v
    ds.dims[0].attach_scale(f["path"])
    ds.dims[1].attach_scale(f["lab"])


def incomplete(f):
    f.attrs.modify("complete", np.int32(0))


def seed_missing(f):
    del f.attrs["seed"]


def units_missing(f):
    del f["cash_q"].attrs["units"]


def scale_detached(f):
    f["revenue_q"].dims[1].detach_scale(f["year"])


def wrong_scale(f):
    ds = f["paths/final_cash"]
    ds.dims[1].detach_scale(f["lab"])
    ds.dims[1].attach_scale(f["input"])


def quantiles_reversed(f):
    q = f["share_q"][()]
    q[1, 1, :] = q[1, 1, ::-1] + np.arange(5)[::-1]  # strictly decreasing
    f["share_q"][...] = q


def year_axis_shifted(f):
    f["year"][...] = f["year"][()] - 1


def outcome_without_failure(f):
    fy = f["paths/fail_year"][()]
    p, l = np.argwhere(fy == 0)[0]
    oc = f["paths/outcome"][()]
    oc[p, l] = 2
    f["paths/outcome"][...] = oc


def independent_alive_not_one(f):
    ia = f["independent_alive"][()]
    ia[1, 0] += 0.01
    f["independent_alive"][...] = ia


def inputs_missing(f):
    del f["paths/inputs"]


def nan_survival(f):
    s = f["survival"][()]
    s[0, 0] = np.nan
    f["survival"][...] = s


def alive_disagrees(f):
    a = f["trajectories/alive"][()]
    a[0, 0, 0] = 1 - a[0, 0, 0]
    f["trajectories/alive"][...] = a


CASES = [
    (survival_increases, "survival increases from 2027 to 2028 for lab 0 (OpenAI)"),
    (survival_off_by_1e9, "survival disagrees with group paths"),
    (sums_not_one, "failed_acquired + failed_wound_down + acquired_solvent + survival != 1"),
    (solvent_sums_not_one,
     "failed_acquired + failed_wound_down + acquired_solvent + survival != 1"),
    (solvent_missing, "dataset acquired_solvent missing"),
    (solvent_decreases, "acquired_solvent decreases from 2028 to 2029 for lab 0 (OpenAI)"),
    (solvent_counted_as_wound_down, "acquired_solvent disagrees with group paths"),
    (solvent_counted_as_wound_down, "failed_wound_down disagrees with group paths"),
    (outcome_code_4, "outcome outside 0..3"),
    (outcome_enum_of_three, "paths/outcome enum members are"),
    (incomplete, "complete is 0"),
    (seed_missing, "root attribute seed missing"),
    (units_missing, "cash_q: attribute units missing"),
    (scale_detached, "revenue_q: dimension 1 is attached to [], want /year"),
    (wrong_scale, "paths/final_cash: dimension 1 is attached to ['/input'], want /lab"),
    (quantiles_reversed, "share_q decreases along the quantile axis"),
    (year_axis_shifted, "axis year has values"),
    (outcome_without_failure, "outcome != 0 exactly where fail_year != 0"),
    (independent_alive_not_one, "independent_alive does not sum to 1"),
    (inputs_missing, "dataset paths/inputs missing"),
    (nan_survival, "survival has NaN"),
    (alive_disagrees, "trajectories/alive disagrees with paths/fail_year"),
]


# ---- MODEL.md section 8: conditioned runs and backtests (--evidence) ----
def weight_above_one(f):
    w = f["paths/weight"][()]
    w[int(np.argmax(w))] = 1.5
    f["paths/weight"][...] = w


def evidence_off(f):
    f.attrs.modify("evidence", np.float64(f.attrs["evidence"] * (1 + 1e-6)))


def n_eff_off(f):
    f.attrs.modify("n_eff", np.float64(f.attrs["n_eff"] * (1 - 1e-6)))


def weights_swapped(f):
    # Two paths' weights exchanged where Mistral's fate differs: every
    # summary of the weights (evidence, n_eff) is unchanged, the weighted
    # shares of the paths are not.
    w = f["paths/weight"][()]
    fy = f["paths/fail_year"][()]
    labs = [x.decode() if isinstance(x, bytes) else x for x in f["lab"][()]]
    col = fy[:, labs.index("Mistral")]
    gone, stay = np.nonzero(col != 0)[0], np.nonzero(col == 0)[0]
    i = gone[np.argmax(w[gone])]
    j = stay[np.argmin(np.where(w[stay] > 0, w[stay], 2))]
    w[i], w[j] = w[j], w[i]
    f["paths/weight"][...] = w


def weight_not_quantised(f):
    w = f["paths/weight"][()]
    k = int(np.argmax((w > 0) & (w < 1)))
    w[k] = w[k] * (1 - 1e-13)
    f["paths/weight"][...] = w


def observations_missing(f):
    del f.attrs["observations_yaml"]


def coverage_off(f):
    g = f["backtest"]
    g.attrs.modify("coverage50", np.array([g.attrs["coverage50"][0] + 1 / 16]))


def coverage_interval_off(f):
    g = f["backtest"]
    g.attrs.modify("coverage90_lo", np.array([g.attrs["coverage90_lo"][0] - 0.01]))


def inside_flag_flipped(f):
    # One figure's inside90 flag (and, to keep the file's own story, its
    # verdict and the coverage attribute) changed.
    g = f["backtest"]
    in90 = g["inside90"][()]
    k = int(np.argmax(in90 == 1))
    in90[k] = 0
    g["inside90"][...] = in90
    figs = np.isfinite(g["pit"][()])
    g.attrs.modify("coverage90", np.array([in90[figs].mean()]))


def pit_above_one(f):
    p = f["backtest/pit"][()]
    p[0] = 1.25
    f["backtest/pit"][...] = p


def backtest_scale_detached(f):
    f["backtest/crps"].dims[0].detach_scale(f["backtest/observation"])


def status_probability_off(f):
    sp = f["backtest/status_probability"][()]
    k = int(np.argmax(np.isfinite(sp)))
    sp[k] = sp[k] * 0.99
    f["backtest/status_probability"][...] = sp
    ls = f["backtest/log_score"][()]
    ls[k] = np.log(sp[k])
    f["backtest/log_score"][...] = ls
    st = np.isfinite(sp)
    f["backtest"].attrs.modify("mean_log_score", np.array([ls[st].mean()]))


COND_CASES = [
    (weight_above_one, "paths/weight holds weights outside [0, 1]",
     "paths/weight holds weights outside"),
    (evidence_off, "attribute evidence", "is not the mean of paths/weight"),
    (n_eff_off, "attribute n_eff", "is not (sum w)^2 / sum w^2"),
    (weights_swapped, "disagrees with group paths weighted by paths/weight",
     "weighted by paths/weight disagree with survival"),
    (weight_not_quantised, "paths/weight is not quantised to multiples of 2^-32", None),
    (observations_missing, "conditioned run without root attribute observations_yaml",
     "without attribute observations_yaml"),
]
BT_CASES = [
    (coverage_off, "backtest attribute coverage50 is", "backtest attribute coverage50"),
    (coverage_interval_off, "backtest attribute coverage90_lo is", "backtest attribute coverage90"),
    (inside_flag_flipped, "backtest/inside90 disagrees with predicted_q and observed",
     "disagrees with the predicted quantiles"),
    (pit_above_one, "backtest/pit has values outside [0, 1]", "backtest/pit holds values"),
    (backtest_scale_detached, "backtest/crps: dimension 0 is attached to []", None),
    (status_probability_off, "backtest/status_probability of row", None),
]


def evidence_main(runway, src):
    sys.path.insert(0, os.path.join(src, "scripts"))
    import runway_result
    failures = []
    with tempfile.TemporaryDirectory() as d:
        cond = os.path.join(d, "cond.h5")
        bt = os.path.join(d, "bt.h5")
        for cmd in ([runway, "run", os.path.join(src, "scenarios", "baseline.yaml"), "-n", "3000",
                     "-k", "5", "-q", "-o", cond, "--condition",
                     os.path.join(src, "tests", "condition", "anthropic_revenue_2026.yaml")],
                    [runway, "backtest", os.path.join(src, "scenarios", "backtest_2024.yaml"),
                     os.path.join(src, "data", "observed_2025.yaml"), "-n", "3000", "-k", "5",
                     "-q", "-o", bt]):
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                print("cannot make the evidence files: %s" % p.stderr.strip())
                return 1
        copy = os.path.join(d, "copy.h5")
        for good, cases in ((cond, COND_CASES), (bt, BT_CASES)):
            clean = check_output.check(good)
            if clean:
                failures.append("%s does not pass: %s" % (os.path.basename(good), clean))
            try:
                runway_result.load(good)
            except runway_result.ResultError as e:
                failures.append("runway_result.load refuses %s: %s" % (good, e))
            for breaker, want, want_load in cases:
                shutil.copyfile(good, copy)
                with h5py.File(copy, "r+") as f:
                    breaker(f)
                problems = check_output.check(copy)
                if not any(want in p for p in problems):
                    failures.append("%s: no problem containing %r; got %s"
                                    % (breaker.__name__, want, problems))
                if want_load is None:
                    continue
                try:
                    runway_result.load(copy)
                    failures.append("%s: runway_result.load accepted it" % breaker.__name__)
                except runway_result.ResultError as e:
                    msg = str(e)
                    if want_load not in msg or "\n" in msg or "copy.h5" not in msg:
                        failures.append("%s: runway_result.load said %r, want one line with %r"
                                        % (breaker.__name__, msg, want_load))
        n = len(COND_CASES) + len(BT_CASES)
    for msg in failures:
        print(msg)
    if failures:
        return 1
    print("ok: a conditioned run and a backtest pass; %d broken copies detected" % n)
    return 0


def main():
    if sys.argv[1] == "--evidence":
        return evidence_main(os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3]))
    good = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as d:
        copy = os.path.join(d, "copy.h5")
        shutil.copyfile(good, copy)
        clean = check_output.check(copy)
        if clean:
            failures.append("the unbroken copy fails: %s" % clean)
        for breaker, want in CASES:
            shutil.copyfile(good, copy)
            with h5py.File(copy, "r+") as f:
                breaker(f)
            problems = check_output.check(copy)
            if not any(want in p for p in problems):
                failures.append("%s: no problem containing %r; got %s"
                                % (breaker.__name__, want, problems))
        # The command line reports and exits 1.
        shutil.copyfile(good, copy)
        with h5py.File(copy, "r+") as f:
            survival_increases(f)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = check_output.main([copy])
        if rc != 1 or "survival increases" not in out.getvalue():
            failures.append("the command line did not exit 1 on a broken file")
    for msg in failures:
        print(msg)
    if failures:
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
