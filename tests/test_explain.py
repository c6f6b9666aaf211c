"""runway explain (scripts/explain.py): the inputs that lead to a subset of
paths, and PRIM's box around them, on a scenario whose answer is known.

tests/explain/driven.yaml has one lab, "Frontier Labs", with a constant
burn of 0.75 a year and no way to raise (its header comment derives it
from MODEL.md section 3), so it has left by the end of 2029 (year 4)
exactly when its cash0 (uniform 0.5-5) is below 4 x 0.75 = 3.0; every
other drawn input is irrelevant to it. Checked:

  * the model does what the scenario's comment says (every path: exit by
    2029 <=> cash0 < 3.0), so that what follows tests explain, not luck;
  * `runway explain out.h5 --where "Frontier Labs.fail_year <= 2029" --json`:
    the share is the exact fraction of paths; Frontier Labs.cash0 ranks
    first with D = 1 (the two samples do not overlap) and p ~ 0, the
    irrelevant inputs have D within 5 of its standard errors; the medians
    are those of the two uniform pieces; PRIM's chosen box restricts
    cash0 alone, from above, with its upper bound below 3.0 by at most
    one peel (alpha x the box's width) and coverage and density > 0.9;
  * other expressions (and, or, parentheses, == never, >, an input, the
    longest lab name "Frontier Labs" before "Frontier") select exactly
    the paths numpy selects from the file;
  * refusals, each one line with its exit status: an unknown lab (2, the
    closest name suggested), a bad operator (2), a file run with
    --per-path none or outcomes (1, naming --per-path all), a missing file
    (1); and a bad --top (2, argparse's usage and error);
  * a conditioned run (tests/explain/observed.yaml): the share is the sum
    of the weights in the subset over the total weight, read with h5py;
    the output says it is weighted; PRIM peels the paths of positive
    weight and still cuts cash0 near 3.0;
  * the CSV holds every input, text cells that a spreadsheet would run as
    a formula are quoted;
  * the library: explain_lab_failure(); the Kolmogorov survival function
    at known points (tables of the Kolmogorov distribution: Q(0.5) =
    0.9639452437, Q(1) = 0.2699996717, Q(2) = 0.0006709253); KS D
    against a brute-force computation; PRIM against a direct,
    loop-by-loop transcription of the EMA Workbench's peeling and pasting
    (ema_workbench/analysis/prim.py: get_quantile, _real_peel, _peel,
    _real_paste, _paste, _lenient1_obj_func) on data with ties: the same
    trajectory, box by box.

Usage: test_explain.py RUNWAY
"""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

runway = os.path.abspath(sys.argv[1])
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.path.insert(0, os.path.join(root, "scripts"))
import explain as E  # noqa: E402

SCEN = os.path.join(here, "explain", "driven.yaml")
OBS = os.path.join(here, "explain", "observed.yaml")
LAB = "Frontier Labs"
BASE_YEAR = 2025
BY = 2029                       # the subset: LAB left by the end of BY
# The burn from the scenario's constants, in MODEL.md section 3's terms.
R = 0.5 + 0.3 + 0.2
SERVE = 0.5 * 0.4 * 1 + (0.3 + 0.2) * 0.4 * 1
BURN = SERVE + 1.0 + 0.25 + 0.1 * R - R
THRESHOLD = (BY - BASE_YEAR) * BURN     # 3.0: left by BY <=> cash0 < THRESHOLD
CASH_LO, CASH_HI = 0.5, 5.0
problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL:", msg)


def ok(msg):
    print("ok  ", msg)


def sh(*args):
    """Runs runway ARGS; retries for a while when the binary is missing (it
    may be being rebuilt)."""
    for _ in range(60):
        if os.path.exists(runway):
            try:
                return subprocess.run([runway, *args], capture_output=True, text=True)
            except OSError:
                pass
        time.sleep(2)
    raise SystemExit(f"FAIL: {runway} is missing")


def must(*args):
    p = sh(*args)
    if p.returncode != 0:
        raise SystemExit(f"FAIL: runway {' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return p


def explain_json(path, where, *extra):
    p = sh("explain", path, "--where", where, "--json", *extra)
    if p.returncode != 0:
        fail(f"explain --where {where!r}: exit {p.returncode}: {p.stderr.strip()}")
        return None
    return json.loads(p.stdout)


def refused(path, where, code, *needles, extra=()):
    p = sh("explain", path, "--where", where, *extra)
    lines = p.stderr.splitlines()
    what = f"explain {os.path.basename(path)} --where {where!r} {' '.join(extra)}".strip()
    if p.returncode != code:
        fail(f"{what}: exit {p.returncode}, expected {code} ({p.stderr.strip()!r})")
    elif len(lines) != 1:
        fail(f"{what}: stderr is {len(lines)} lines, expected 1: {p.stderr!r}")
    elif not all(n in lines[0] for n in needles):
        fail(f"{what}: message {lines[0]!r} lacks {needles}")
    elif p.stdout:
        fail(f"{what}: wrote to stdout: {p.stdout[:200]!r}")
    else:
        ok(f"{what}: exit {code}: {lines[0]}")


def read(path):
    with h5py.File(path, "r") as f:
        g = f["paths"]
        names = [x.decode() if isinstance(x, bytes) else x for x in f["input"][()]]
        labs = [x.decode() if isinstance(x, bytes) else x for x in f["lab"][()]]
        return {"names": names, "labs": labs, "X": g["inputs"][()],
                "fy": g["fail_year"][()], "oc": g["outcome"][()],
                "w": g["weight"][()] if "weight" in g else None}


# ---------------------------------------------------------------------------
# A direct transcription of the EMA Workbench's PRIM (Prim, real-valued
# inputs, lenient1, default parameters), loop by loop, without pandas.


def ema_get_quantile(data, quantile):
    data = np.sort(data)
    i = (len(data) - 1) * quantile
    lo, hi = math.floor(i), math.ceil(i)
    if quantile > 0.5:
        while data[lo] == data[hi] and lo > 0:
            lo -= 1
    else:
        while data[lo] == data[hi] and hi < len(data) - 1:
            hi += 1
    return (data[lo] + data[hi]) / 2


def ema_prim(x, y, peel_alpha=0.05, paste_alpha=0.05, mass_min=0.05):
    n, k = x.shape
    init = np.array([x.min(axis=0), x.max(axis=0)])

    def n_res(b):
        return int(np.sum(np.any(b != init, axis=0)))

    def obj(y_old, y_new):
        mean_old = np.mean(y_old)
        mean_new = np.mean(y_new) if y_new.shape[0] > 0 else 0
        if mean_old == mean_new:
            return 0
        return (mean_new - mean_old) / abs(y_old.shape[0] - y_new.shape[0])

    def in_box(b, dims):
        return np.all((x[:, dims] >= b[0, dims]) & (x[:, dims] <= b[1, dims]), axis=1)

    box, yi = init.copy(), np.arange(n)
    traj = []

    def record():
        traj.append((y[yi].sum() / y.sum(), y[yi].sum() / len(yi), len(yi) / n, box.copy()))

    record()
    while True:
        xb = x[yi]
        peels = []
        for j in range(k):
            for direction in ("upper", "lower"):
                if direction == "upper":
                    cut = ema_get_quantile(xb[:, j], 1 - peel_alpha)
                    idx = yi[xb[:, j] <= cut]
                else:
                    cut = ema_get_quantile(xb[:, j], peel_alpha)
                    idx = yi[xb[:, j] >= cut]
                b = box.copy()
                b[1 if direction == "upper" else 0, j] = cut
                peels.append((obj(y[yi], y[idx]), k - n_res(b), b, idx))
        peels.sort(key=lambda e: (e[0], e[1]), reverse=True)
        o, _, b, idx = peels[0]
        if len(idx) / n >= mass_min and len(idx) < len(yi) and o > 0:
            box, yi = b, idx
            record()
        else:
            break
    while True:
        res = [j for j in range(k) if np.any(box[:, j] != init[:, j])]
        pastes = []
        for u in res:
            for i, direction in enumerate(("lower", "upper")):
                pb = box.copy()
                if direction == "lower":
                    pb[0, u], pb[1, u] = init[0, u], box[0, u]
                else:
                    pb[0, u], pb[1, u] = box[1, u], init[1, u]
                data = x[in_box(pb, res), u]
                if direction == "lower":
                    v = ema_get_quantile(data, 1 - paste_alpha) if data.size else init[0, u]
                else:
                    v = ema_get_quantile(data, paste_alpha) if data.size else init[1, u]
                b = box.copy()
                b[i, u] = v
                idx = np.nonzero(in_box(b, res))[0]
                pastes.append((obj(y[yi], y[idx]), k - n_res(b), b, idx))
        if not pastes:
            break
        pastes.sort(key=lambda e: (e[0], e[1]), reverse=True)
        o, _, b, idx = pastes[0]
        if (len(idx) / n >= mass_min and len(idx) > len(yi) and o > 0
                and np.mean(y[idx]) > np.mean(y[yi])):
            box, yi = b, idx
            record()
        else:
            break
    return traj


def check_prim_against_ema():
    rng = np.random.default_rng(11)
    for case in range(3):
        n = 1500
        x = np.column_stack([rng.uniform(0, 1, n), rng.normal(0, 1, n),
                             rng.integers(0, 6, n).astype(float),   # ties
                             np.round(rng.uniform(0, 10, n), 1)])   # ties
        if case == 0:
            y = (x[:, 0] < 0.4) & (x[:, 2] >= 2)
        elif case == 1:
            y = (x[:, 1] > 0.3) | (rng.uniform(size=n) < 0.1)
        else:
            y = rng.uniform(size=n) < 0.3 + 0.4 * (x[:, 3] > 6)
        want = ema_prim(x, y)
        got, _ = E.prim(np.ascontiguousarray(x.T), y, np.ones(n))
        if len(got) != len(want):
            fail(f"PRIM case {case}: {len(got)} boxes on the trajectory, EMA's gives {len(want)}")
            continue
        for i, (g, (cov, den, mass, box)) in enumerate(zip(got, want)):
            if (g["coverage"] != cov or g["density"] != den or g["mass"] != mass
                    or not np.array_equal(g["lo"], box[0]) or not np.array_equal(g["hi"], box[1])):
                fail(f"PRIM case {case} box {i}: coverage/density/mass/bounds "
                     f"{g['coverage'], g['density'], g['mass'], g['lo'], g['hi']} != EMA's "
                     f"{cov, den, mass, box}")
                break
        else:
            ok(f"PRIM case {case}: the same {len(got)} boxes as the EMA Workbench's algorithm")


def check_library_math():
    for lam, want in ((0.5, 0.9639452436648751), (1.0, 0.26999967167735456),
                      (2.0, 0.0006709252557796953)):
        got = E.kolmogorov_sf(lam)
        if abs(got - want) > 1e-9:
            fail(f"kolmogorov_sf({lam}) = {got}, expected {want}")
    ok("Kolmogorov survival function at 0.5, 1, 2")
    rng = np.random.default_rng(5)
    d = E.PathData()
    n = 400
    d.X = np.column_stack([rng.normal(size=n), rng.integers(0, 5, n).astype(float)])
    d.inputs = ["a", "b"]
    inside = rng.uniform(size=n) < 0.35 + 0.3 * (d.X[:, 0] > 0)
    w = rng.uniform(0.1, 2, n)
    for weights in (np.ones(n), w):
        rows, _, _ = E.input_table(d, inside, weights)
        for j in range(2):
            xs = np.unique(d.X[:, j])
            fa = np.array([weights[inside & (d.X[:, j] <= v)].sum() for v in xs]) / \
                weights[inside].sum()
            fb = np.array([weights[~inside & (d.X[:, j] <= v)].sum() for v in xs]) / \
                weights[~inside].sum()
            D = np.max(np.abs(fa - fb))
            if abs(rows[j]["ks_d"] - D) > 1e-12:
                fail(f"KS D of input {j}: {rows[j]['ks_d']} != brute force {D}")
        if np.all(weights == 1):
            for j in range(2):
                for key, m in (("median_inside", inside), ("median_outside", ~inside)):
                    if rows[j][key] != np.median(d.X[m, j]):
                        fail(f"{key} of input {j}: {rows[j][key]} != numpy's "
                             f"{np.median(d.X[m, j])}")
    ok("KS D against brute force, unweighted and weighted; medians against numpy")
    cells = [E._cell(v) for v in ("=1+1", "+A1", "-2", "@x", "plain", -1.5, 3)]
    if cells != ["'=1+1", "'+A1", "'-2", "'@x", "plain", "-1.5", "3"]:
        fail(f"CSV cells not neutralised as expected: {cells}")


def main():
    check_library_math()
    check_prim_against_ema()
    with tempfile.TemporaryDirectory(prefix="runway-explain-") as d:
        out = os.path.join(d, "out.h5")
        must("run", SCEN, "-o", out, "-q", "-k", "0")
        data = read(out)
        j = data["names"].index(f"{LAB}.cash0")
        lab = data["labs"].index(LAB)
        cash0, fy = data["X"][:, j], data["fy"][:, lab]
        subset = (fy > 0) & (fy <= BY - BASE_YEAR)
        if not np.array_equal(subset, cash0 < THRESHOLD):
            fail(f"the scenario does not do what its comment says: exit by {BY} is not "
                 f"cash0 < {THRESHOLD} on {np.count_nonzero(subset != (cash0 < THRESHOLD))} "
                 "paths (MODEL.md section 3 changed?)")
        N = len(cash0)

        where = f"{LAB}.fail_year <= {BY}"
        r = explain_json(out, where)
        if r:
            if r["subset"]["share"] != np.count_nonzero(subset) / N or r["weighted"]:
                fail(f"share {r['subset']['share']} != {np.count_nonzero(subset) / N} "
                     "(unweighted)")
            top = r["inputs"][0]
            if top["input"] != f"{LAB}.cash0" or top["ks_d"] < 0.999 or top["ks_p"] > 1e-10:
                fail(f"first input {top}, expected {LAB}.cash0 with D = 1 and p ~ 0")
            else:
                ok(f"{top['input']} ranks first: D {top['ks_d']}, p {top['ks_p']}")
            # The others are irrelevant: D within 5 standard errors of 0
            # (the KS statistic's scale is 1 / sqrt(n m / (n + m))).
            en = np.count_nonzero(subset) * (N - np.count_nonzero(subset)) / N
            for x in r["inputs"][1:]:
                if x["ks_d"] > 5 / math.sqrt(en):
                    fail(f"irrelevant input {x['input']} has D {x['ks_d']}")
            mid_in, mid_out = (CASH_LO + THRESHOLD) / 2, (THRESHOLD + CASH_HI) / 2
            se = (CASH_HI - CASH_LO) / math.sqrt(N) * 3
            if abs(top["median_inside"] - mid_in) > se or abs(top["median_outside"] - mid_out) > se:
                fail(f"medians {top['median_inside']}, {top['median_outside']}, expected "
                     f"about {mid_in}, {mid_out}")
            if top["quantile_shift"] != 0.0:
                fail(f"quantile shift {top['quantile_shift']}, expected 0 (the inside median "
                     "lies below every outside value)")
            box = r["prim"]["box"]
            res = box["restricted"]
            if [x["input"] for x in res] != [f"{LAB}.cash0"]:
                fail(f"PRIM box restricts {[x['input'] for x in res]}, expected {LAB}.cash0 alone")
            else:
                b = res[0]
                # The last peel removes alpha of the box's mass: the bound lands
                # at most alpha x (the box's width) below the threshold.
                tol = E.PEEL_ALPHA * (THRESHOLD - CASH_LO) * 1.1
                if b["lo_restricted"] or not b["hi_restricted"] or \
                        not (THRESHOLD - tol <= b["hi"] <= THRESHOLD + 1e-3):
                    fail(f"PRIM box on cash0 is [{b['lo']}, {b['hi']}] (restricted "
                         f"{b['lo_restricted']}, {b['hi_restricted']}), expected an upper "
                         f"bound in [{THRESHOLD - tol}, {THRESHOLD}]")
                else:
                    ok(f"PRIM: cash0 <= {b['hi']:.4f} (threshold {THRESHOLD}, tolerance {tol:.3f})")
            if not (box["coverage_all_paths"] > 0.9 and box["density_all_paths"] > 0.9):
                fail(f"PRIM box coverage {box['coverage_all_paths']}, density "
                     f"{box['density_all_paths']}: both should exceed 0.9")
            t = r["prim"]["trajectory"]
            if t[0]["coverage"] != 1 or t[0]["mass"] != 1 or \
                    abs(t[0]["density"] - np.count_nonzero(subset) / N) > 1e-12:
                fail(f"trajectory's first box {t[0]} is not the box of every path")

        # Text output, through the runway binary.
        p = sh("explain", out, "--where", where, "--top", "3")
        if p.returncode != 0 or f"{LAB}.cash0" not in p.stdout or "PRIM" not in p.stdout:
            fail(f"text output: exit {p.returncode}: {p.stdout[:300]!r} {p.stderr!r}")

        # Expressions: the paths they select.
        X, fyall, oc = data["X"], data["fy"], data["oc"]
        other = data["labs"].index("Frontier")
        cap = X[:, data["names"].index("market.sub_market_cap")]
        cal = np.where(fyall[:, lab] > 0, BASE_YEAR + fyall[:, lab], np.inf)
        exprs = {
            f"{LAB}.fail_year > {BY}": cal > BY,
            f"{LAB}.exit_year == never": fyall[:, lab] == 0,
            f"{LAB}.outcome == survived or {LAB}.fail_year == 2027": (oc[:, lab] == 0) | (cal == 2027),
            f"({LAB}.fail_year <= {BY} or Frontier.outcome == exited) and market.sub_market_cap > 100":
                ((cal <= BY) | (oc[:, other] != 0)) & (cap > 100),
            f"{LAB}.fail_year <= {BY} or Frontier.outcome == exited and market.sub_market_cap > 100":
                (cal <= BY) | ((oc[:, other] != 0) & (cap > 100)),
            f"'{LAB}.cash0' < 2 and {LAB}.outcome != wound_down": (cash0 < 2) & (oc[:, lab] != 2),
            f"{LAB}.outcome == failed": np.isin(oc[:, lab], (1, 2)),
        }
        for e, mask in exprs.items():
            got = explain_json(out, e, "--top", "1")
            if got and got["subset"]["share"] != np.count_nonzero(mask) / N:
                fail(f"--where {e!r}: share {got['subset']['share']} != "
                     f"{np.count_nonzero(mask) / N}")
        ok(f"{len(exprs)} expressions select the paths numpy selects")

        # CSV.
        csv_path = os.path.join(d, "table.csv")
        p = sh("explain", out, "--where", where, "-o", csv_path, "--top", "2")
        if p.returncode != 0 or not os.path.exists(csv_path):
            fail(f"-o table.csv: exit {p.returncode}: {p.stderr.strip()}")
        else:
            with open(csv_path, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
            if len(rows) != len(data["names"]) or rows[0]["input"] != f"{LAB}.cash0" or \
                    set(rows[0]) != set(E.CSV_COLUMNS):
                fail(f"CSV: {len(rows)} rows (expected {len(data['names'])}), first {rows[0]}")
            else:
                ok(f"CSV holds all {len(rows)} inputs")

        # Refusals.
        refused(out, f"Frontier Lab.fail_year <= {BY}", 2, "unknown lab", "Frontier Labs")
        refused(out, f"{LAB}.fail_year => {BY}", 2, "=>", "operator")
        refused(out, f"{LAB}.outcome <= failed", 2, "outcome")
        p = sh("explain", out, "--where", where, "--top", "-1")   # argparse: usage + error
        if p.returncode != 2 or "--top" not in p.stderr.splitlines()[-1] or p.stdout:
            fail(f"--top -1: exit {p.returncode}, {p.stderr!r}")
        refused(os.path.join(d, "missing.h5"), where, 1, "missing.h5", "no such file")
        for how in ("none", "outcomes"):
            f = os.path.join(d, f"{how}.h5")
            must("run", SCEN, "-o", f, "-q", "-k", "0", "-n", "500", "--per-path", how)
            refused(f, where, 1, f"{how}.h5", "--per-path all")

        # Weighted.
        wpath = os.path.join(d, "weighted.h5")
        must("run", SCEN, "-o", wpath, "-q", "-k", "0", "--condition", OBS)
        wd = read(wpath)
        w = wd["w"]
        sub_w = (wd["fy"][:, lab] > 0) & (wd["fy"][:, lab] <= BY - BASE_YEAR)
        want = w[sub_w].sum() / w.sum()
        r = explain_json(wpath, where)
        if r:
            if not r["weighted"] or abs(r["subset"]["share"] - want) > 1e-12:
                fail(f"weighted share {r['subset']['share']} (weighted {r['weighted']}), "
                     f"expected {want} = sum of weights in the subset / total")
            elif abs(want - np.count_nonzero(sub_w) / len(w)) < 0.01:
                fail("the weights hardly move the share: the weighted case tests nothing")
            else:
                ok(f"weighted share {r['subset']['share']:.6f} = {want:.6f} "
                   f"(unweighted {np.count_nonzero(sub_w) / len(w):.4f})")
            if r["prim"]["paths_used"] != np.count_nonzero(w > 0):
                fail(f"PRIM used {r['prim']['paths_used']} paths, expected the "
                     f"{np.count_nonzero(w > 0)} of positive weight")
            if r["inputs"][0]["input"] != f"{LAB}.cash0":
                fail(f"weighted: first input {r['inputs'][0]['input']}")
            res = r["prim"]["box"]["restricted"]
            hi = [x["hi"] for x in res if x["input"] == f"{LAB}.cash0"]
            if not hi or abs(hi[0] - THRESHOLD) > E.PEEL_ALPHA * (THRESHOLD - CASH_LO) * 1.1:
                fail(f"weighted PRIM box: {res}")
        p = sh("explain", wpath, "--where", where)
        if p.returncode != 0 or "Weighted" not in p.stdout:
            fail(f"weighted text output does not say it is weighted: {p.stdout[:300]!r}")

        # The library's convenience wrapper (simulated year 4 = 2029).
        lf = E.explain_lab_failure(out, LAB, 4, top=2)
        if lf["year"] != BY or lf["inputs"][0]["input"] != f"{LAB}.cash0" or \
                not lf["inputs"][0]["median_inside"] < lf["inputs"][0]["median_outside"] or \
                len(lf["inputs"]) != 2:
            fail(f"explain_lab_failure: {lf}")
        else:
            ok("explain_lab_failure(out, 'Frontier Labs', 4)")

    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print("explain: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
