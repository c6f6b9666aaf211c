#!/usr/bin/python3
"""check_output.py must catch a broken result file, not only pass good ones.

Usage: /usr/bin/python3 tests/test_check_output_detects.py GOOD.h5

GOOD.h5 is a file that passes (test_h5out's synthetic file). Each case
below copies it, breaks one thing subtly with h5py, and asserts that
check() reports it with the expected message; the untouched copy must
pass. Prints "ok" or one line per case that went undetected, exit 1."""
import os
import contextlib
import io
import shutil
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


def main():
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
