"""run --condition weighs every path by the observations' likelihood and
agrees with MODEL.md section 8's closed forms:
  - conditioned on a status "alive at the end of year s", survival to a
    later year is exactly S(t) / S(s) of the unconditioned run over the
    same paths (every lab's: P(B alive and A alive) / P(A alive)), and
    n_eff = N S(s);
  - with only V uncertain, an observed API market size with a lognormal
    error gives ln V the conjugate normal posterior: its weighted mean
    within 4 standard errors, its variance within 10%;
and the same bits at 1 and 2 threads, across a 3-shard merge, after a
resume, and at 1 and 3 MPI ranks (when runway-mpi is built); paths/weight
sums to N x evidence."""
import os
import sys

import h5py
import numpy as np

from h5util import run, same_bits, tmpdir

runway = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
d = tmpdir()
problems = []

# 1. Status: alive at the end of 2027 (year s = 3 of a 2024 scenario).
scen = os.path.join(root, "scenarios", "backtest_2024.yaml")
cond = os.path.join(here, "condition", "alive_2028.yaml")
N = 20000
u, c1, c2 = (os.path.join(d, x) for x in ("u.h5", "c1.h5", "c2.h5"))
run(runway, "run", scen, "-n", str(N), "-q", "-o", u, "--per-path", "outcomes")
run(runway, "run", scen, "-n", str(N), "-q", "-o", c1, "--condition", cond, "-t", "1")
run(runway, "run", scen, "-n", str(N), "-q", "-o", c2, "--condition", cond, "-t", "2")
diff = same_bits(c1, c2)
if diff:
    problems.append(f"conditioned run differs between 1 and 2 threads: {diff}")
with h5py.File(u, "r") as fu, h5py.File(c1, "r") as fc:
    labs = [x.decode() if isinstance(x, bytes) else x for x in fu["lab"][()]]
    a = labs.index("Anthropic")
    s = 3
    fy = fu["paths/fail_year"][()]
    alive = lambda l, t: (fy[:, l] == 0) | (fy[:, l] > t)   # alive at the end of year t
    ks = np.count_nonzero(alive(a, s))
    if not 0 < ks < N:
        problems.append(f"the test needs 0 < S(s) < 1, got {ks}/{N}")
    surv = fc["survival"][()]
    for l in range(len(labs)):
        for t in range(s, fc["survival"].shape[1] + 1):
            want = np.count_nonzero(alive(l, t) & alive(a, s)) / ks
            if surv[l, t - 1] != want:
                problems.append(f"{labs[l]} year {t}: conditioned survival {surv[l, t - 1]!r} "
                                f"!= exact {want!r}")
    if fc.attrs["n_eff"] != ks:
        problems.append(f"n_eff {fc.attrs['n_eff']} != N S(s) = {ks}")
    if fc.attrs["evidence"] != ks / N:
        problems.append(f"evidence {fc.attrs['evidence']} != S(s) = {ks / N}")
    w = fc["paths/weight"][()]
    if w.shape != (N,) or set(np.unique(w)) - {0.0, 1.0}:
        problems.append("a status observation must weigh every path 0 or 1")
    if "observations_yaml" not in fc.attrs or fc.attrs.get("conditioned") != 1:
        problems.append("the conditioned file does not record its observations")

# 2. The conjugate closed form.
cj = os.path.join(d, "cj.h5")
run(runway, "run", os.path.join(here, "condition", "conjugate.yaml"), "-q", "-o", cj,
    "--condition", os.path.join(here, "condition", "conjugate_obs.yaml"))
with h5py.File(cj, "r") as f:
    names = [x.decode() for x in f["input"][()]]
    V = f["paths/inputs"][:, names.index("market.token_demand_growth")]
    w = f["paths/weight"][()]
    z = 1.6448536269514722   # the 95th percentile of N(0, 1): "a to b" is a 90% interval
    mu0, s0 = (np.log(2) + np.log(12)) / 2, (np.log(12) - np.log(2)) / (2 * z)
    muy, sy = (np.log(15) + np.log(22)) / 2, (np.log(22) - np.log(15)) / (2 * z)
    x_obs = muy - np.log(8 / 4)          # ln V that makes api_market0 V / P the median
    prec = 1 / s0 ** 2 + 1 / sy ** 2
    mean = (mu0 / s0 ** 2 + x_obs / sy ** 2) / prec
    est = (w * np.log(V)).sum() / w.sum()
    neff = f.attrs["n_eff"]
    se = np.sqrt(1 / prec / neff)
    if abs(est - mean) > 4 * se:
        problems.append(f"posterior mean of ln V {est:.5f}, closed form {mean:.5f} "
                        f"({(est - mean) / se:.1f} standard errors)")
    var = (w * (np.log(V) - est) ** 2).sum() / w.sum()
    if abs(var * prec - 1) > 0.1:
        problems.append(f"posterior variance of ln V {var:.5f}, closed form {1 / prec:.5f}")
    if abs(w.sum() / len(w) - f.attrs["evidence"]) > 1e-15:
        problems.append("evidence is not the mean of paths/weight")
    print(f"conjugate: posterior mean {est:.5f} vs {mean:.5f} ({(est - mean) / se:+.2f} SE), "
          f"variance {var:.5f} vs {1 / prec:.5f}, n_eff {neff:.0f}")

# 3. A surprising observation: a one-line warning naming it, still a file.
far = os.path.join(d, "far.yaml")
with open(far, "w") as fh:
    fh.write("observations:\n  - {lab: Anthropic, year: 2025, revenue: 400 to 500, "
             "source: synthetic}\n")
p = run(runway, "run", scen, "-n", "2000", "-q", "-o", os.path.join(d, "far.h5"),
        "--condition", far, check=False)
if "Anthropic revenue 2025" not in p.stderr and "cannot produce" not in p.stderr:
    problems.append(f"no warning naming the unlikely observation: {p.stderr!r}")

# 4. Shards, resume and MPI: the same bits as the single run (c1).
parts = [os.path.join(d, f"part{i}.h5") for i in range(3)]
for i, pth in enumerate(parts):
    run(runway, "run", scen, "-n", str(N), "-q", "--condition", cond, "--shard", f"{i}/3", "-o", pth)
merged = os.path.join(d, "merged.h5")
run(runway, "merge", *parts, "-o", merged, "-q")
diff = same_bits(c1, merged)
if diff:
    problems.append(f"a 3-shard merge of a conditioned run differs in {diff}")
mixed = os.path.join(d, "mixed.h5")
unc_part = os.path.join(d, "upart.h5")
run(runway, "run", scen, "-n", str(N), "-q", "--shard", "1/3", "-o", unc_part)
p = run(runway, "merge", parts[0], unc_part, parts[2], "-o", mixed, "-q", check=False)
if p.returncode == 0 or os.path.exists(mixed):
    problems.append("merge joined a conditioned shard with an unconditioned one")
runway_mpi = sys.argv[2] if len(sys.argv) > 2 else ""
if runway_mpi and os.path.exists(runway_mpi):
    import subprocess
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    for np_ in (1, 3):
        out = os.path.join(d, f"mpi{np_}.h5")
        r = subprocess.run(["mpirun", "--oversubscribe", "-np", str(np_), runway_mpi, "run", scen,
                            "-n", str(N), "-q", "-t", "1", "--condition", cond, "-o", out],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            problems.append(f"mpirun -np {np_} --condition: exit {r.returncode}: {r.stderr[-300:]}")
        elif same_bits(c1, out):
            problems.append(f"mpirun -np {np_} --condition differs in {same_bits(c1, out)}")

for m in problems:
    print("FAIL:", m)
sys.exit(1 if problems else 0)
