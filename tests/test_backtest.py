"""runway backtest scores a scenario against observations exactly over
the paths (MODEL.md section 8): every figure's PIT, quantiles and CRPS are
recomputed here from the kept trajectories of every path, a status's
probability from the per-path outcomes; the run exits 0 whatever the
scores; bad observations files fail in one line and leave no file."""
import os
import sys

import h5py
import numpy as np

from h5util import run, tmpdir

runway = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
scen = os.path.join(root, "scenarios", "backtest_2024.yaml")
obs = os.path.join(root, "data", "observed_2025.yaml")
d = tmpdir()
out = os.path.join(d, "bt.h5")
N = 3000
problems = []

p = run(runway, "backtest", scen, obs, "-n", str(N), "-k", str(N), "-q", "-o", out)
if p.returncode != 0:
    problems.append(f"backtest exited {p.returncode}: it measures, it does not judge")
if "coverage of" not in p.stdout or "PIT" not in p.stdout:
    problems.append("the backtest table was not printed (even with -q)")

TRAJ = {"revenue": "revenue", "cash": "cash", "raised": "raised", "op_cash_flow": "op_cash_flow",
        "share": "share"}
with h5py.File(out, "r") as f:
    bt = f["backtest"]
    labs = [x.decode() if isinstance(x, bytes) else x for x in f["lab"][()]]
    base = int(f.attrs["base_year"])
    subj = [x.decode() for x in bt["subject"][()]]
    qty = [x.decode() for x in bt["quantity"][()]]
    status = [x.decode() for x in bt["status"][()]]
    year = bt["year"][()]
    observed = bt["observed"][()]
    pit, crps, pq = bt["pit"][()], bt["crps"][()], bt["predicted_q"][()]
    in50, in90 = bt["inside50"][()], bt["inside90"][()]
    sprob = bt["status_probability"][()]
    alive = f["trajectories/alive"][()]
    outcome = f["paths/outcome"][()]
    fail_year = f["paths/fail_year"][()]
    if "observations_yaml" not in f.attrs:
        problems.append("root attribute observations_yaml missing")
    if list(bt["observation"].dims[0].keys()) != ["observation"] and bt["pit"].dims[0].keys() != ["observation"]:
        pass
    nfig = checked = 0
    for k in range(len(qty)):
        t = int(year[k]) - base - 1
        if qty[k] == "status":
            l = labs.index(subj[k])
            now = np.where(alive[:, l, t] == 1, 0, outcome[:, l])
            want = {"alive": [0], "acquired": [1], "wound_down": [2], "acquired_solvent": [3],
                    "failed": [1, 2], "exited": [1, 2, 3]}[status[k]]
            p_ = np.isin(now, want).mean()
            if sprob[k] != p_:
                problems.append(f"row {k}: status probability {sprob[k]} != {p_}")
            checked += 1
            continue
        if qty[k] == "size":
            continue
        l = labs.index(subj[k])
        # a figure exists where the lab is alive at the end of the year
        x = f["trajectories/" + TRAJ[qty[k]]][:, l, t][alive[:, l, t] == 1]
        y = observed[k]
        nfig += 1
        want_pit = np.count_nonzero(x <= y) / len(x)
        if pit[k] != want_pit:
            problems.append(f"row {k} ({subj[k]} {qty[k]}): PIT {pit[k]} != exact {want_pit}")
        q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
        if not np.allclose(pq[k], q, rtol=1e-12, atol=0):
            problems.append(f"row {k}: quantiles {pq[k]} != numpy's {q}")
        xs = np.sort(x)
        n = len(xs)
        c = np.abs(xs - y).mean() - (2 * np.arange(1, n + 1) - n - 1).dot(xs) / n ** 2
        if not abs(crps[k] - c) <= 1e-9 * max(1.0, abs(c)):
            problems.append(f"row {k}: CRPS {crps[k]} != {c}")
        if in50[k] != (q[1] <= y <= q[3]) or in90[k] != (q[0] <= y <= q[4]):
            problems.append(f"row {k}: inside flags wrong")
        checked += 1
    cov90 = bt.attrs["coverage90"]
    figs = [k for k in range(len(qty)) if qty[k] != "status"]
    if abs(cov90 - np.mean([in90[k] for k in figs])) > 1e-15:
        problems.append(f"coverage90 {cov90} is not the share of figures inside their 90% band")
if checked < 15:
    problems.append(f"only {checked} observations checked independently")

# Bad observations files: one line, exit 1, no file.
bad = {"unknown_lab.yaml": "unknown lab", "year_outside_run.yaml": "outside the run",
       "unknown_quantity.yaml": "", "status_not_in_list.yaml": "status",
       "p5_not_below_p95.yaml": "p5 must be < p95"}
oscen = os.path.join(here, "observe", "scenario.yaml")
for name, frag in bad.items():
    o2 = os.path.join(d, "bad.h5")
    r = run(runway, "backtest", oscen, os.path.join(here, "observe", name), "-n", "100", "-o", o2,
            check=False)
    lines = r.stderr.strip().splitlines()
    if r.returncode != 1 or len(lines) != 1 or frag not in lines[0] or name not in lines[0]:
        problems.append(f"{name}: exit {r.returncode}, stderr {r.stderr!r}")
    if os.path.exists(o2):
        problems.append(f"{name}: left an output file")

# A backtest scores the scenario's own forecast: --condition is refused.
o3 = os.path.join(d, "bc.h5")
r = run(runway, "backtest", scen, obs, "-n", "100", "-o", o3, "--condition", obs, check=False)
if r.returncode != 2 or "--condition" not in r.stderr or os.path.exists(o3):
    problems.append(f"backtest --condition: exit {r.returncode}, stderr {r.stderr!r}")

for m in problems:
    print("FAIL:", m)
print(f"{checked} observations recomputed from every path")
sys.exit(1 if problems else 0)
