"""The tornado datasets (sensitivity_survival, sensitivity_cash) are the
Spearman rank correlations, ties given their average rank, of each drawn
input with each lab's survival to the horizon and final cash, over the
paths in the file: recomputed here independently with numpy from
paths/inputs, paths/fail_year and paths/final_cash. Runs cover 64 inputs
(eight groups of eight in engine/sim.c), a scenario whose input count is
not a multiple of eight, path counts that are not multiples of the
eight-lane partial sums, and one and two threads. A conditioned run's are
the weighted ones (docs/outputs.md): the weighted Pearson correlation of
weighted mid-ranks (the weight below a value plus half its ties'), each
path weighted by paths/weight; checked on the baseline, on kernel_edges
(4 labs: 8 outcome columns, fewer than the 12 the products take at once)
and on a 7-lab variant of it (14), with one and two threads; and on the
baseline conditioned on 2026's figures, where xAI's sale leaves it gone
in every path with weight (paths of weight 0 count for nothing: its
survival correlates with nothing)."""
import os
import sys

import h5py
import numpy as np

from h5util import run, tmpdir

runway, src = sys.argv[1], sys.argv[2]
d = tmpdir()


def avg_ranks(x):
    """1-based ranks, ties averaged (scipy.stats.rankdata's 'average')."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    # start of each run of equal values, in sorted order
    starts = np.concatenate(([True], xs[1:] != xs[:-1]))
    run_id = np.cumsum(starts) - 1
    first = np.nonzero(starts)[0]
    last = np.concatenate((first[1:], [len(x)])) - 1
    avg = 0.5 * (first + last) + 1.0
    r = np.empty(len(x))
    r[order] = avg[run_id]
    return r


def spearman(x, y):
    rx, ry = avg_ranks(x), avg_ranks(y)
    rx -= rx.mean()
    ry -= ry.mean()
    sxx, syy = (rx * rx).sum(), (ry * ry).sum()
    return np.nan if sxx == 0 or syy == 0 else (rx * ry).sum() / np.sqrt(sxx * syy)


def weighted_ranks(x, w):
    """The weight of the values below each value plus half its ties'."""
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    starts = np.concatenate(([True], xs[1:] != xs[:-1]))
    run_id = np.cumsum(starts) - 1
    tie_w = np.bincount(run_id, weights=ws)
    below = np.concatenate(([0.0], np.cumsum(tie_w)[:-1]))
    r = np.empty(len(x))
    r[order] = (below + 0.5 * tie_w)[run_id]
    return r


def spearman_w(x, y, w):
    keep = w > 0  # a path without weight counts for nothing
    x, y, w = x[keep], y[keep], w[keep]
    if len(w) == 0 or (x == x[0]).all() or (y == y[0]).all():
        return np.nan  # undefined (a lab that never fails), not rounding's 1e-16
    rx, ry = weighted_ranks(x, w), weighted_ranks(y, w)
    rx -= (w * rx).sum() / w.sum()
    ry -= (w * ry).sum() / w.sum()
    sxx, syy = (w * rx * rx).sum(), (w * ry * ry).sum()
    return np.nan if sxx == 0 or syy == 0 else (w * rx * ry).sum() / np.sqrt(sxx * syy)


# kernel_edges with three more labs (copies of Alpha, Beta and Gamma under
# new names): 7 labs, 14 outcome columns
edges = os.path.join(src, "tests", "kernel_edges.yaml")
with open(edges) as f:
    text = f.read()
labs_at = text.index("labs:\n") + len("labs:\n")
entries = text[labs_at:].split("  - {")[1:]
extra = "".join("  - {" + e.replace("name: " + old, "name: " + new, 1)
                for e, (old, new) in zip(entries, [("Alpha", "Epsilon"), ("Beta", "Zeta"),
                                                   ("Gamma", "Eta")]))
seven = os.path.join(d, "seven_labs.yaml")
with open(seven, "w") as f:
    f.write(text.rstrip("\n") + "\n" + extra)
alpha = os.path.join(d, "alpha_2026.yaml")
with open(alpha, "w") as f:
    f.write("observations:\n  - {lab: Alpha, year: 2026, revenue: 12 to 20, source: test}\n")
anthropic = os.path.join(src, "tests", "condition", "anthropic_revenue_2026.yaml")

problems, checked = [], 0
cases = [("baseline.yaml", os.path.join(src, "scenarios", "baseline.yaml"), 20011, 2, None),
         ("kernel_edges.yaml", edges, 2077, 1, None),
         ("baseline.yaml conditioned", os.path.join(src, "scenarios", "baseline.yaml"), 20011, 2,
          anthropic),
         # xAI's 2026 sale: gone in every path with weight, alive in some
         # without: its survival correlates with nothing (NaN)
         ("baseline.yaml conditioned on 2026", os.path.join(src, "scenarios", "baseline.yaml"),
          20011, 2, os.path.join(src, "data", "observed_2026.yaml")),
         ("kernel_edges.yaml conditioned", edges, 2077, 1, alpha),
         ("kernel_edges.yaml conditioned, 2 threads", edges, 2077, 2, alpha),
         ("seven labs conditioned", seven, 3001, 2, alpha)]
for name, path, n, threads, obs in cases:
    out = os.path.join(d, name.replace(" ", "_").replace(",", "") + ".h5")
    cond = ["--condition", obs] if obs else []
    p = run(runway, "run", path, "--paths", str(n), "--threads", str(threads), "-o", out, "-q",
            *cond)
    if p.returncode != 0:
        problems.append(f"{name}: runway exited {p.returncode}: {p.stderr.strip()}")
        continue
    with h5py.File(out) as f:
        x = f["paths/inputs"][()]
        surv = (f["paths/fail_year"][()] == 0).astype(float)
        cash = f["paths/final_cash"][()]
        got_s, got_c = f["sensitivity_survival"][()], f["sensitivity_cash"][()]
        w = f["paths/weight"][()] if obs else None
    I, L = x.shape[1], surv.shape[1]
    if name == "kernel_edges.yaml" and I % 8 == 0:
        problems.append(f"{name}: {I} inputs, a multiple of eight: the test needs another")
    if obs and (w.min() == w.max()):
        problems.append(f"{name}: every path has the same weight: nothing is weighted")
    if name.startswith("seven") and L != 7:
        problems.append(f"{name}: {L} labs, not 7")
    for l in range(L):
        for k in range(I):
            for what, y, got in (("survival", surv, got_s), ("cash", cash, got_c)):
                want = spearman_w(x[:, k], y[:, l], w) if obs else spearman(x[:, k], y[:, l])
                checked += 1
                same = (np.isnan(want) and np.isnan(got[l, k])) or abs(got[l, k] - want) <= (1e-9 if obs else 1e-12)
                if not same:
                    problems.append(f"{name}: sensitivity_{what}[lab {l}, input {k}] = "
                                    f"{got[l, k]!r}, numpy gives {want!r}")
print(f"{checked} rank correlations compared")
for p in problems[:20]:
    print(p)
sys.exit(1 if problems or checked == 0 else 0)
