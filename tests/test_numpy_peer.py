"""bench/numpy_peer.py, the benchmarks' NumPy peer, is the same model as
runway: on the shipped baseline and on the 2024 backtest scenario (other
base-year figures, the same trends), its survival curves, failures by
outcome, profitability and rank correlations of the inputs agree with runway's within Monte Carlo error. The two draw
different random numbers (NumPy's PCG64, runway's Philox), so they agree
as two samples of one distribution: every lab-year's difference within
4.5 standard errors of a difference of two proportions, plus 0.002 for
the few lab-years whose probability is near 0 or 1. A peer that had a
step of MODEL.md wrong (a sign, a missing momentum, exits while solvent
left out) misses by dozens of standard errors on the baseline."""
import json
import os
import subprocess
import sys

import h5py
import numpy as np

from h5util import run, tmpdir

runway, src = sys.argv[1], sys.argv[2]
d = tmpdir()
N = int(os.environ.get("PEER_PATHS", "20000"))
bad = []
for scen in ("baseline.yaml", "backtest_2024.yaml"):
    path = os.path.join(src, "scenarios", scen)
    out = os.path.join(d, scen + ".h5")
    js = os.path.join(d, scen + ".json")
    run(runway, "run", path, "--paths", str(N), "--per-path", "none", "-o", out, "-q")
    subprocess.run(["/usr/bin/python3", os.path.join(src, "bench", "numpy_peer.py"), path,
                    "--paths", str(N), "--seed", "7", "--json", js], check=True)
    peer = json.load(open(js))
    with h5py.File(out) as f:
        for ds in ("survival", "failed_acquired", "failed_wound_down", "acquired_solvent",
                   "profitable_by"):
            a = f[ds][()]
            b = np.array(peer[ds])
            assert a.shape == b.shape, (ds, a.shape, b.shape)
            p = (a + b) / 2
            se = np.sqrt(p * (1 - p) * 2 / N)
            z = np.abs(a - b) / np.maximum(se, 1e-12)
            worst = np.unravel_index(np.argmax(np.abs(a - b) - 4.5 * se), a.shape)
            print(f"{scen} {ds}: largest |z| {z.max():.2f}, largest difference "
                  f"{np.abs(a - b).max():.4f}")
            if not np.all(np.abs(a - b) <= 4.5 * se + 0.002):
                bad.append(f"{scen} {ds}{list(worst)}: runway {a[worst]:.4f}, "
                           f"numpy peer {b[worst]:.4f}")
        # rank correlations, input by input (by name: the two list them
        # in different orders): a correlation's standard error is about
        # 1/sqrt(N), so two samples' differ by 4.5 sqrt(2/N) at most
        names = [x.decode() for x in f["input"][()]]
        col = [peer["inputs"].index(nm) for nm in names]
        for ds in ("sensitivity_survival", "sensitivity_cash"):
            a = f[ds][()]
            b = np.array(peer[ds], dtype=float)[:, col]
            both = np.isfinite(a) & np.isfinite(b)
            if not np.array_equal(np.isfinite(a), np.isfinite(b)):
                bad.append(f"{scen} {ds}: NaN in one and not the other")
            dif = np.where(both, np.abs(a - b), 0.0)
            print(f"{scen} {ds}: largest difference {dif.max():.4f}")
            if dif.max() > 4.5 * np.sqrt(2.0 / N):
                w = np.unravel_index(np.argmax(dif), dif.shape)
                bad.append(f"{scen} {ds}[{w[0]}, {names[w[1]]}]: runway {a[w]:.4f}, "
                           f"numpy peer {b[w]:.4f}")
if bad:
    print("the NumPy peer disagrees with runway beyond Monte Carlo error:\n  " + "\n  ".join(bad))
    sys.exit(1)
print("numpy peer agrees with runway within Monte Carlo error")
