"""On a real run whose every trajectory is kept, each quantile in the file
(cash, revenue, operating cash flow, raised, share) is within the sketch's
stated bound of the exact order statistic of rank floor(q (n-1)) among the
paths where the lab is alive: relative error 2^-8, or 2^-24 absolute near
zero (engine/sketch.h)."""
import math
import os
import sys

import h5py
import numpy as np

from h5util import run, tmpdir

runway, src = sys.argv[1], sys.argv[2]
d = tmpdir()
out = os.path.join(d, "q.h5")
N = 3000
run(runway, "run", os.path.join(src, "scenarios", "baseline.yaml"), "--paths", str(N),
    "--keep-paths", str(N), "-o", out, "-q")
REL, ABS = 2.0 ** -8, 2.0 ** -24
problems, checked = [], 0
with h5py.File(out) as f:
    qs = f["quantile"][()]
    alive = f["trajectories/alive"][()]  # kept_path, lab, year
    for ds, tr in (("cash_q", "cash"), ("revenue_q", "revenue"), ("op_cash_flow_q", "op_cash_flow"),
                   ("raised_q", "raised"), ("share_q", "share")):
        est, vals = f[ds][()], f["trajectories/" + tr][()]
        L, T = est.shape[0], est.shape[1]
        for l in range(L):
            for t in range(T):
                x = np.sort(vals[alive[:, l, t] == 1, l, t])
                for k, q in enumerate(qs):
                    if len(x) == 0:
                        if not math.isnan(est[l, t, k]):
                            problems.append(f"{ds}[{l},{t},{k}] should be NaN")
                        continue
                    exact = x[int(math.floor(q * (len(x) - 1)))]
                    checked += 1
                    if not abs(est[l, t, k] - exact) <= REL * abs(exact) + ABS:
                        problems.append(f"{ds}[{l},{t},{q}]: {est[l, t, k]} vs exact {exact}")
for p in problems[:20]:
    print("FAIL:", p)
print(f"{checked} quantiles checked against exact order statistics;",
      "ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
