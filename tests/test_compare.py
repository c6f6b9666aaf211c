"""scripts/compare.py: survival differences B - A with paired (common random
numbers) or unpaired 95% intervals.

  * a run compared with itself (same seed): paired, every difference exactly
    0 and every paired interval contains 0 and is far narrower than the
    unpaired one (Newcombe's paired interval: the two Wilson intervals are
    perfectly correlated);
  * less starting cash for Mistral (same seed, 5000 paths): Mistral's
    survival at the horizon falls, the paired interval excludes 0, and it is
    narrower than the unpaired one (common random numbers remove the noise
    the two runs share);
  * the paired per-path survival equals the file's own `survival` dataset
    (both count alive paths; MODEL.md section 5);
  * different seeds: "unpaired", with Newcombe's hybrid score interval of
    two independent proportions, recomputed here from the files;
  * the CSV output has one row per lab and year;
  * files with different horizons, or incomplete, are refused with one line
    and exit 1 (different labs are matched by name: test_compare_labs.py).

Usage: test_compare.py RUNWAY SOURCE_DIR
"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

runway, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PY = "/usr/bin/python3"
COMPARE = os.path.join(src, "scripts", "compare.py")
SCEN = os.path.join(src, "scenarios", "baseline.yaml")
N = 5000
problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL:", msg)


def sh(*cmd, ok=True):
    p = subprocess.run(list(cmd), capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def compare_json(a, b):
    p = sh(PY, COMPARE, a, b, "--json")
    return json.loads(p.stdout)


def grid(j, key):
    """rows -> (lab, year) array of key (None -> NaN)."""
    L, T = len(j["labs"]), len(j["years"])
    out = np.full((L, T), np.nan)
    for r in j["rows"]:
        i, t = j["labs"].index(r["lab"]), r["year_index"] - 1
        out[i, t] = np.nan if r[key] is None else r[key]
    return out


def survival(path):
    with h5py.File(path) as f:
        return f["survival"][()]


with tempfile.TemporaryDirectory(prefix="runway-compare-") as d:
    base = os.path.join(d, "base.h5")
    poor = os.path.join(d, "poor_mistral.h5")
    other = os.path.join(d, "other_seed.h5")
    sh(runway, "run", SCEN, "-o", base, "--paths", str(N), "-q", "--keep-paths", "0")
    sh(runway, "run", SCEN, "-o", poor, "--paths", str(N), "-q", "--keep-paths", "0",
       "--set", "Mistral.cash0=0.1 to 0.2")
    sh(runway, "run", SCEN, "-o", other, "--paths", str(N), "-q", "--keep-paths", "0",
       "--seed", "7", "--set", "Mistral.cash0=0.1 to 0.2")

    # 1. A run with itself: exactly zero, zero-width paired intervals.
    j = compare_json(base, base)
    if j["method"] != "paired (common random numbers)" or not j["paired"]:
        fail(f"self-comparison is {j['method']!r}, expected paired")
    if not np.all(grid(j, "diff") == 0.0):
        fail("self-comparison: diff not exactly 0")
    lo, hi = grid(j, "lo"), grid(j, "hi")
    if not (np.all(lo <= 0) and np.all(hi >= 0)):
        fail("self-comparison: an interval does not contain 0")
    # with phi = 1 what is left is the Wilson intervals' asymmetry, at most
    # z^2 / N; at 0 or 1 (a backstopped lab) phi is undefined and the
    # interval is the unpaired one, which keeps its width (item 12)
    inner = (grid(j, "p_a") > 0) & (grid(j, "p_a") < 1)
    hw, uhw = grid(j, "halfwidth"), grid(j, "unpaired_halfwidth")
    if not (np.all(hw[inner] < uhw[inner]) and np.all(hw <= 1.96 ** 2 / N + 1e-12)):
        fail("self-comparison: paired intervals not narrower than unpaired ones, or wider "
             "than the Wilson asymmetry z^2/N")
    if not np.all(hw[~inner] > 0):
        fail("self-comparison: a zero-width interval at 0 or 1")
    # paired per-path survival == the file's survival dataset (same count / N)
    s_base = survival(base)
    if not np.allclose(grid(j, "p_a"), s_base, rtol=0, atol=1e-12):
        fail("per-path survival from paths/fail_year differs from the survival dataset")

    # 2. Less Mistral cash, same seed: paired, negative, excludes 0, tighter.
    j = compare_json(base, poor)
    if not j["paired"]:
        fail(f"same seed and paths but method {j['method']!r}")
    m = j["labs"].index("Mistral")
    diff, lo, hi = grid(j, "diff")[m, -1], grid(j, "lo")[m, -1], grid(j, "hi")[m, -1]
    hw, uhw = grid(j, "halfwidth")[m, -1], grid(j, "unpaired_halfwidth")[m, -1]
    print(f"Mistral at the horizon: diff {diff:+.4f} [{lo:+.4f}, {hi:+.4f}], paired +-{hw:.4f}, "
          f"unpaired +-{uhw:.4f}")
    if not (diff < 0 and hi < 0):
        fail(f"less cash should lower Mistral's survival with an interval below 0: "
             f"{diff:+.4f} [{lo:+.4f}, {hi:+.4f}]")
    if not hw < uhw:
        fail(f"paired half-width {hw:.4f} not narrower than unpaired {uhw:.4f}")
    # the paired estimate is the difference of the two files' survival
    s_poor = survival(poor)
    if abs(diff - (s_poor[m, -1] - s_base[m, -1])) > 1e-12:
        fail("paired difference != difference of the two survival datasets")
    # unpaired half-width recomputed from Newcombe's hybrid score formula
    def wilson(p, n, z=1.959963984540054):
        c = p + z * z / (2 * n)
        r = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return (c - r) / (1 + z * z / n), (c + r) / (1 + z * z / n)
    pa, pb = s_base[m, -1], s_poor[m, -1]
    (la, ua), (lb, ub) = wilson(pa, N), wilson(pb, N)
    want = (math.hypot(ub - pb, pa - la) + math.hypot(pb - lb, ua - pa)) / 2
    if abs(uhw - want) > 1e-12:
        fail(f"unpaired half-width {uhw} != {want}")
    # the table says which case applies and shows the unpaired half-width
    t = sh(PY, COMPARE, base, poor).stdout
    if "paired (common random numbers)" not in t or "unpaired" not in t:
        fail("table does not name the paired case and the unpaired contrast")

    # 3. Different seeds: unpaired.
    j = compare_json(base, other)
    if j["paired"] or j["method"] != "unpaired":
        fail(f"different seeds but method {j['method']!r}")
    if not np.array_equal(grid(j, "halfwidth"), grid(j, "unpaired_halfwidth"), equal_nan=True):
        fail("unpaired: halfwidth != unpaired_halfwidth")
    if "Method: unpaired" not in sh(PY, COMPARE, base, other).stdout:
        fail("table does not say unpaired")

    # 4. CSV output.
    out = os.path.join(d, "cmp.csv")
    sh(PY, COMPARE, base, poor, "-o", out, "--years", "2030,H")
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    with h5py.File(base) as f:
        L, T = f["survival"].shape
    if len(rows) != L * T or rows[0]["method"] != "paired":
        fail(f"CSV has {len(rows)} rows (expected {L * T}) or wrong method")

    # 5. Refusals: different labs, different horizon, incomplete.
    def refused(path, what):
        p = sh(PY, COMPARE, base, path, ok=False)
        lines = p.stderr.strip().splitlines()
        if p.returncode != 1 or len(lines) != 1 or what not in lines[0]:
            fail(f"{what}: exit {p.returncode}, stderr {p.stderr!r}")

    # A real run over 12 years (editing only the horizon attribute would
    # make a file that contradicts its own year axis, which the loader
    # refuses as malformed before any comparison).
    long_scen = os.path.join(d, "horizon12.yaml")
    with open(SCEN) as fh, open(long_scen, "w") as out_fh:
        out_fh.write(fh.read().replace("\nhorizon: 10", "\nhorizon: 12", 1))
    bad = os.path.join(d, "horizon.h5")
    sh(runway, "run", long_scen, "-o", bad, "--paths", "200", "-q")
    refused(bad, "different horizons")
    bad = os.path.join(d, "partial.h5")
    shutil.copy(base, bad)
    with h5py.File(bad, "a") as f:
        f.attrs["complete"] = np.int32(0)
    refused(bad, "incomplete")

print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
