"""The tornado datasets (sensitivity_survival, sensitivity_cash) are the
Spearman rank correlations, ties given their average rank, of each drawn
input with each lab's survival to the horizon and final cash, over the
paths in the file: recomputed here independently with numpy from
paths/inputs, paths/fail_year and paths/final_cash. Runs cover 64 inputs
(eight groups of eight in engine/sim.c), a scenario whose input count is
not a multiple of eight, path counts that are not multiples of the
eight-lane partial sums, and one and two threads."""
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


problems, checked = [], 0
cases = [("baseline.yaml", os.path.join(src, "scenarios", "baseline.yaml"), 20011, 2),
         ("kernel_edges.yaml", os.path.join(src, "tests", "kernel_edges.yaml"), 2077, 1)]
for name, path, n, threads in cases:
    out = os.path.join(d, name + ".h5")
    run(runway, "run", path, "--paths", str(n), "--threads", str(threads), "-o", out, "-q")
    with h5py.File(out) as f:
        x = f["paths/inputs"][()]
        surv = (f["paths/fail_year"][()] == 0).astype(float)
        cash = f["paths/final_cash"][()]
        got_s, got_c = f["sensitivity_survival"][()], f["sensitivity_cash"][()]
    I, L = x.shape[1], surv.shape[1]
    if name == "kernel_edges.yaml" and I % 8 == 0:
        problems.append(f"{name}: {I} inputs, a multiple of eight: the test needs another")
    for l in range(L):
        for k in range(I):
            for what, y, got in (("survival", surv, got_s), ("cash", cash, got_c)):
                want = spearman(x[:, k], y[:, l])
                checked += 1
                same = (np.isnan(want) and np.isnan(got[l, k])) or abs(got[l, k] - want) <= 1e-12
                if not same:
                    problems.append(f"{name}: sensitivity_{what}[lab {l}, input {k}] = "
                                    f"{got[l, k]!r}, numpy gives {want!r}")
print(f"{checked} rank correlations compared")
for p in problems[:20]:
    print(p)
sys.exit(1 if problems or checked == 0 else 0)
