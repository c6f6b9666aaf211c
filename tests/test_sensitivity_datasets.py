"""The sensitivity datasets of a real run (docs/outputs.md): sensitivity_index
and sensitivity_swing [lab, year, input], sensitivity_group_index [lab,
year, group], input_group [input] and the group axis.

  - they exist, with their dimension scales, units and long_name;
  - input_group and the group names are the connected components of the
    scenario's correlations (read from the file's scenario_yaml);
  - every value equals an independent numpy implementation of the
    estimator (docs/outputs.md: bins of equal probability on the ranks,
    Kelley's epsilon^2 correction, the 5-15% and 85-95% bands, joint bins
    for a set) over paths/inputs and paths/fail_year, for an unweighted
    and a conditioned (weighted) run;
  - the same bits on 1 and 2 threads, and from two shards merged, for the
    plain and the conditioned run (the sample's fail years travel in the
    shards' state);
  - a shard without state/col_fail_year (an older runway's), or whose
    col_survived disagrees with it, is refused by merge in one line that
    says so, and nothing is written."""
import math
import os
import shutil
import sys

import re

import h5py
import numpy as np

from h5util import run, tmpdir

runway, src = sys.argv[1], sys.argv[2]
d = tmpdir()
base = os.path.join(src, "scenarios", "baseline.yaml")
obs = os.path.join(src, "tests", "condition", "anthropic_revenue_2026.yaml")
NEW = ["sensitivity_index", "sensitivity_swing", "sensitivity_group_index", "input_group",
       "group"]
problems = []


def bad(msg):
    problems.append(msg)
    print("FAIL:", msg)


def bins(n):
    return int(min(64, max(2, round(n ** (1 / 3)))))


def set_bins(n, k):
    m = int(math.floor((n / 512) ** (1 / k) + 1e-9))
    m = min(max(m, 2), bins(n))
    while m ** k > 4096:
        if m <= 2:
            return 0
        m -= 1
    return m


def positions(x, w):
    """Each path's place in x's distribution, in [0, 1): mid-rank (weighted:
    the weight below plus half the ties') over the total."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    starts = np.concatenate(([True], xs[1:] != xs[:-1]))
    run_id = np.cumsum(starts) - 1
    ww = np.ones(len(x)) if w is None else w[order]
    tie_w = np.bincount(run_id, weights=ww)
    below = np.concatenate(([0.0], np.cumsum(tie_w)[:-1]))
    q = np.empty(len(x))
    if w is None:
        first = np.nonzero(starts)[0]
        last = np.concatenate((first[1:], [len(x)])) - 1
        q[order] = ((0.5 * (first + last) + 1.0)[run_id] - 0.5) / len(x)
    else:
        q[order] = (below + 0.5 * tie_w)[run_id] / w.sum()
    return q


def binned(q, m):
    return np.minimum((q * m).astype(np.int64), m - 1)


def index(cell, C, y, w):
    """Kelley's epsilon^2 on the cells (weighted as docs/outputs.md says)."""
    ww = np.ones(len(y)) if w is None else w
    W = np.bincount(cell, weights=ww, minlength=C)
    S = np.bincount(cell, weights=ww * y, minlength=C)
    R = np.bincount(cell, weights=ww * ww, minlength=C)
    k = W > 0
    Wt, St, Rt = W[k].sum(), S[k].sum(), R[k].sum()
    sst = St - St * St / Wt  # y is 0 or 1: sum w y^2 = sum w y
    ssb = (S[k] ** 2 / W[k]).sum() - St * St / Wt
    rw = (R[k] / W[k]).sum()
    dfw, dfb = Wt - rw, rw - Rt / Wt
    if not sst > 1e-12 * Wt or not dfw > 0:
        return np.nan
    return (ssb - dfb * (sst - ssb) / dfw) / sst


def components(f):
    """input_group as the scenario's correlations make it."""
    names = [v.decode() if isinstance(v, bytes) else v for v in f["input"][()]]
    text = f.attrs["scenario_yaml"]
    text = text.decode() if isinstance(text, bytes) else text
    # the correlations: entries one a line, indented or not (a run with
    # overrides stores the document re-emitted)
    # (python3-yaml is not among scripts/setup.sh's packages)
    block = re.search(r"^correlations:\n((?:[- #].*\n|\n)*)", text, re.M)
    pairs = re.findall(r"^\s*-\s*\[\s*([^,\]]+?)\s*,\s*([^,\]]+?)\s*,\s*([-+.\deE]+)\s*\]",
                       block.group(1) if block else "", re.M)
    if block is None or not pairs:
        bad("the test cannot read the scenario's correlations")
    up = list(range(len(names)))

    def root(i):
        while up[i] != i:
            i = up[i]
        return i
    for a, b, rho in pairs:
        if float(rho) != 0:
            ra, rb = root(names.index(a)), root(names.index(b))
            up[max(ra, rb)] = min(ra, rb)
    ids, out = {}, []
    for i in range(len(names)):
        out.append(ids.setdefault(root(i), len(ids)))
    return names, out


def check_axes(f, what):
    for name, axes in (("sensitivity_index", ("lab", "year", "input")),
                       ("sensitivity_swing", ("lab", "year", "input")),
                       ("sensitivity_group_index", ("lab", "year", "group")),
                       ("input_group", ("input",))):
        if name not in f:
            bad(f"{what}: no dataset {name}")
            continue
        ds = f[name]
        got = tuple(dim[0].name.lstrip("/") if len(dim) else None for dim in ds.dims)
        if got != axes:
            bad(f"{what}: {name} has axes {got}, not {axes}")
        if ds.shape != tuple(len(f[a]) for a in axes):
            bad(f"{what}: {name} is {ds.shape}, its axes say {tuple(len(f[a]) for a in axes)}")
        for attr in ("units", "long_name"):
            if attr not in ds.attrs:
                bad(f"{what}: {name} has no {attr}")
    if "group" not in f or f["group"].attrs.get("CLASS") != b"DIMENSION_SCALE":
        bad(f"{what}: the group axis is not a dimension scale")


def check_values(path, what, weighted):
    with h5py.File(path) as f:
        check_axes(f, what)
        names, want_group = components(f)
        got_group = list(f["input_group"][()])
        if got_group != want_group:
            bad(f"{what}: input_group {got_group} is not the scenario's correlated sets "
                f"{want_group}")
        gnames = [v.decode() if isinstance(v, bytes) else v for v in f["group"][()]]
        for g, gn in enumerate(gnames):
            members = [names[i] for i in range(len(names)) if got_group[i] == g]
            if gn != "+".join(members):
                bad(f"{what}: group {g} is named {gn!r}, not {'+'.join(members)!r}")
        x = f["paths/inputs"][()]
        fy = f["paths/fail_year"][()]
        w = f["paths/weight"][()] if weighted else None
        got_i, got_s = f["sensitivity_index"][()], f["sensitivity_swing"][()]
        got_g = f["sensitivity_group_index"][()]
    N, I = x.shape
    L, T = fy.shape[1], got_i.shape[1]
    M = bins(N)
    q = [positions(x[:, i], w) for i in range(I)]
    ww = np.ones(N) if w is None else w
    tol = 1e-9
    checked = 0
    for i in range(I):
        cell = binned(q[i], M)
        lo = (q[i] >= 0.05) & (q[i] < 0.15)
        hi = (q[i] >= 0.85) & (q[i] < 0.95)
        for l in range(L):
            for t in range(T):
                y = ((fy[:, l] == 0) | (fy[:, l] > t + 1)).astype(float)
                want = index(cell, M, y, w)
                sw = (ww[hi] * y[hi]).sum() / ww[hi].sum() - (ww[lo] * y[lo]).sum() / ww[lo].sum()
                for nm, a, b in (("index", got_i[l, t, i], want), ("swing", got_s[l, t, i], sw)):
                    checked += 1
                    if not ((np.isnan(a) and np.isnan(b)) or abs(a - b) <= tol):
                        bad(f"{what}: sensitivity_{nm}[{l}, {t}, {names[i]}] = {a!r}, numpy {b!r}")
    for g in range(max(got_group) + 1):
        members = [i for i in range(I) if got_group[i] == g]
        if len(members) == 1:
            same = np.array_equal(got_g[:, :, g], got_i[:, :, members[0]], equal_nan=True)
            if not same:
                bad(f"{what}: the set {g} of one input is not that input's index")
            continue
        m = set_bins(N, len(members))
        cell = np.zeros(N, dtype=np.int64)
        for i in members:
            cell = cell * m + binned(q[i], m)
        for l in range(L):
            for t in range(T):
                y = ((fy[:, l] == 0) | (fy[:, l] > t + 1)).astype(float)
                want = index(cell, m ** len(members), y, w)
                checked += 1
                a = got_g[l, t, g]
                if not ((np.isnan(a) and np.isnan(want)) or abs(a - want) <= tol):
                    bad(f"{what}: sensitivity_group_index[{l}, {t}, {g}] = {a!r}, numpy {want!r}")
    print(f"{what}: {checked} values against numpy, {len(gnames)} sets")
    return checked


def new_bits(path):
    with h5py.File(path) as f:
        return {n: f[n][()].tobytes() if f[n].dtype.kind in "fiu" else list(f[n][()])
                for n in NEW}


n = "6151"  # not a multiple of the 1024-path blocks: the last shard is short
checked = 0
for what, extra in (("plain", []), ("conditioned", ["--condition", obs])):
    one = os.path.join(d, what + "_t1.h5")
    two = os.path.join(d, what + "_t2.h5")
    run(runway, "run", base, "-n", n, "-t", "1", "-q", "-o", one, *extra)
    run(runway, "run", base, "-n", n, "-t", "2", "-q", "-o", two, *extra)
    checked += check_values(one, what, weighted=bool(extra))
    if new_bits(one) != new_bits(two):
        bad(f"{what}: 1 and 2 threads give different sensitivity datasets")
    parts = [os.path.join(d, f"{what}_s{k}.h5") for k in range(2)]
    for k in range(2):
        run(runway, "run", base, "-n", n, "--shard", f"{k}/2", "-q", "-o", parts[k], *extra)
    merged = os.path.join(d, what + "_merged.h5")
    run(runway, "merge", parts[1], parts[0], "-o", merged, "-q")
    if new_bits(merged) != new_bits(one):
        bad(f"{what}: two shards merged give different sensitivity datasets than one run")

# a shard whose survival flags disagree with its fail years (the state
# keeps the fail years; the file's col_survived must be what they say)
odd = os.path.join(d, "odd.h5")
shutil.copy(parts[0], odd)
with h5py.File(odd, "a") as f:
    f["state/col_survived"][0, 0] = 1.0 - f["state/col_survived"][0, 0]
out = os.path.join(d, "odd_merged.h5")
p = run(runway, "merge", odd, parts[1], "-o", out, "-q", check=False)
msg = p.stderr.strip()
if p.returncode == 0 or "col_survived" not in msg or len(msg.splitlines()) != 1 or os.path.exists(out):
    bad(f"merge of a shard whose col_survived disagrees with col_fail_year: exit "
        f"{p.returncode}, {msg!r}")

# a shard as an older runway wrote it: zeros in the survival flags of the
# paths it did not run (the rows this runway derives from their zero fail
# years say 1) merges, to the same bits
older = os.path.join(d, "older.h5")
shutil.copy(parts[0], older)
with h5py.File(older, "a") as f:
    done = f["state/done"][:].ravel()
    flags = f["state/col_survived"][:]
    undone = [q for q in range(flags.shape[0]) if not done[q // 1024]]
    flags[undone, :] = 0.0
    f["state/col_survived"][...] = flags
out = os.path.join(d, "older_merged.h5")
p = run(runway, "merge", older, parts[1], "-o", out, "-q", check=False)
if not undone or p.returncode != 0 or new_bits(out) != new_bits(merged):
    bad(f"merge of a shard with an older runway's survival flags: {len(undone)} rows not run, "
        f"exit {p.returncode}, {p.stderr.strip()!r}")

# a shard from before the fail years were kept
with h5py.File(parts[0], "a") as f:
    del f["state/col_fail_year"]
out = os.path.join(d, "old.h5")
p = run(runway, "merge", parts[0], parts[1], "-o", out, "-q", check=False)
msg = p.stderr.strip()
if p.returncode == 0 or "col_fail_year" not in msg or len(msg.splitlines()) != 1 or os.path.exists(out):
    bad(f"merge of a shard without state/col_fail_year: exit {p.returncode}, {msg!r}")

print(f"{checked} values checked")
sys.exit(1 if problems or checked == 0 else 0)
