"""runway compare with runs conditioned on observations (MODEL.md section 8;
scripts/compare.py's docstring has the formulas):

  * conditioned (B) against unconditioned (A), same seed and paths: paired;
    P_B equals the weighted share sum(w alive) / sum(w) computed here from
    paths/weight and paths/fail_year (and the file's own survival), P_A
    the plain share, the difference is P_B - P_A and its half-width the
    delta method's 1.96 sqrt(sum (zB - zA)^2 / (N (N - 1))) with
    z = w (alive - P) / mean(w), all recomputed here; the table says which
    run is conditioned, on what file and with which n_eff;
  * two scenarios that differ in one input (Anthropic's momentum0), both
    conditioned on the same observation: the printed Bayes factor equals
    evidence_B / evidence_A of the files' attributes, its paired interval
    (delta method on the log ratio) is recomputed here and contains it,
    and the sentence names the favoured run;
  * different seeds: unpaired, the Bayes factor's interval from each run's
    own weights; a conditioned file without per-path data: unpaired with
    n_eff in place of N;
  * a reader that has gone away (compare | head): no traceback.

Usage: test_compare_conditioned.py RUNWAY SOURCE_DIR
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

runway, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PY = "/usr/bin/python3"
COMPARE = os.path.join(src, "scripts", "compare.py")
SCEN = os.path.join(src, "scenarios", "baseline.yaml")
OBS = os.path.join(src, "tests", "condition", "anthropic_revenue_2026.yaml")
Z = 1.959963984540054
N = 4000
problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL:", msg)


def sh(*cmd, ok=True):
    p = subprocess.run(list(cmd), capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def grid(j, key):
    L, T = len(j["labs"]), len(j["years"])
    out = np.full((L, T), np.nan)
    for r in j["rows"]:
        out[j["labs"].index(r["lab"]), r["year_index"] - 1] = np.nan if r[key] is None else r[key]
    return out


def read(path):
    with h5py.File(path) as f:
        out = {"survival": f["survival"][()], "fy": f["paths/fail_year"][()]
               if "paths/fail_year" in f else None,
               "w": f["paths/weight"][()] if "paths/weight" in f else None,
               "evidence": float(f.attrs["evidence"]) if "evidence" in f.attrs else None,
               "n_eff": float(f.attrs["n_eff"]) if "n_eff" in f.attrs else None}
    return out


def alive(fy, T):
    return (fy[:, None] == 0) | (fy[:, None] > np.arange(1, T + 1)[None, :])


def close_hw(x, y, rel, what):
    """Half-widths: the delta method's where it is positive; where it is 0
    (both shares 0 or 1, e.g. a backstopped lab) compare.py gives
    Newcombe's interval instead, which must have a positive width."""
    x, y = np.asarray(x), np.asarray(y)
    inner = y > 0
    close(x[inner], y[inner], rel, what)
    if not np.all(x[~inner] > 0):
        fail(f"{what}: a zero-width interval where both shares are 0 or 1")


def close(x, y, rel, what):
    if not np.all(np.abs(np.asarray(x) - np.asarray(y)) <= rel * np.maximum(1.0, np.abs(y))):
        fail(f"{what}: {x} != {y}")


with tempfile.TemporaryDirectory(prefix="runway-compare-cond-") as d:
    u, c, v, c7, cn = (os.path.join(d, x + ".h5") for x in ("u", "c", "v", "c7", "cn"))
    common = ["--paths", str(N), "-q", "--keep-paths", "0"]
    sh(runway, "run", SCEN, "-o", u, *common)
    sh(runway, "run", SCEN, "-o", c, *common, "--condition", OBS)
    sh(runway, "run", SCEN, "-o", v, *common, "--condition", OBS,
       "--set", "Anthropic.momentum0=2 to 3")
    sh(runway, "run", SCEN, "-o", c7, *common, "--condition", OBS, "--seed", "7",
       "--set", "Anthropic.momentum0=2 to 3")
    sh(runway, "run", SCEN, "-o", cn, *common, "--condition", OBS, "--per-path", "none")
    U, C, V, C7, CN = (read(x) for x in (u, c, v, c7, cn))
    w = C["w"]
    if w is None or not (0 < w.min() or (w > 0).any()) or np.all((w == 0) | (w == 1)):
        fail("the conditioned run's weights are not strictly between 0 and 1 anywhere: the "
             "test needs a figure observation")
    L, T = U["survival"].shape

    # 1. Conditioned B against unconditioned A: paired, weighted, exact.
    j = json.loads(sh(PY, COMPARE, u, c, "--json").stdout)
    if not j["paired"] or not j["weighted"]:
        fail(f"u vs c: paired {j['paired']}, weighted {j['weighted']}; want both")
    if j["conditioning_a"]["conditioned"] or not j["conditioning_b"]["conditioned"]:
        fail(f"conditioning flags wrong: {j['conditioning_a']}, {j['conditioning_b']}")
    if j["bayes_factor"] is not None:
        fail("a Bayes factor between a conditioned and an unconditioned run")
    pa_w, pb_w, hw_w = (np.empty((L, T)) for _ in range(3))
    for i in range(L):
        aa, ab = alive(U["fy"][:, i], T), alive(C["fy"][:, i], T)
        pa_w[i] = aa.mean(axis=0)
        pb_w[i] = (w[:, None] * ab).sum(axis=0) / w.sum()
        za = aa - pa_w[i]
        zb = (w / w.mean())[:, None] * (ab - pb_w[i])
        hw_w[i] = Z * np.sqrt(((zb - za) ** 2).sum(axis=0) / (N * (N - 1)))
    close(grid(j, "p_a"), pa_w, 1e-12, "P_A != the plain share of paths alive")
    close(grid(j, "p_b"), pb_w, 1e-12, "P_B != sum(w alive) / sum(w) from the file")
    close(grid(j, "p_b"), C["survival"], 1e-12, "P_B != the conditioned file's survival")
    close(grid(j, "diff"), pb_w - pa_w, 1e-12, "difference != P_B - P_A")
    close_hw(grid(j, "halfwidth"), hw_w, 1e-9, "paired half-width != the delta method's")
    a_ = j["labs"].index("Anthropic")
    print(f"Anthropic 2026: prior {pa_w[a_, 0]:.4f}, posterior {pb_w[a_, 0]:.4f}, "
          f"+-{hw_w[a_, 0]:.4f}")
    t = sh(PY, COMPARE, u, c).stdout
    for want in ("A: u.h5: not conditioned", "B: c.h5: conditioned on anthropic_revenue_2026.yaml",
                 f"n_eff {C['n_eff']:.0f} of {N} paths", "paired (common random numbers)",
                 "delta method"):
        if want not in t:
            fail(f"u vs c table does not say {want!r}")

    # 2. Two scenarios, one observation: the Bayes factor.
    j = json.loads(sh(PY, COMPARE, c, v, "--json").stdout)
    k = j["bayes_factor"]
    if k is None:
        fail("no Bayes factor between two conditioned runs")
    else:
        want = V["evidence"] / C["evidence"]
        if abs(k["factor"] - want) > 1e-15 * want:
            fail(f"Bayes factor {k['factor']!r} != evidence_B / evidence_A = {want!r}")
        if not k["lo"] < want < k["hi"]:
            fail(f"the interval [{k['lo']}, {k['hi']}] does not contain {want}")
        dd = V["w"] / V["w"].mean() - C["w"] / C["w"].mean()
        sd = math.sqrt(np.var(dd, ddof=1) / N)
        close([k["lo"], k["hi"]], [want * math.exp(-Z * sd), want * math.exp(Z * sd)], 1e-9,
              "paired Bayes factor interval")
        if not k["paired"] or not k["same_observations"]:
            fail(f"Bayes factor paired {k['paired']}, same observations "
                 f"{k['same_observations']}")
        t = sh(PY, COMPARE, c, v).stdout
        side = "B" if want > 1 else "A"
        if f"Bayes factor B : A = evidence_B / evidence_A = {want:.4g}" not in t:
            fail(f"the table does not print the factor {want:.4g}: {t[:600]!r}")
        if f"observations favour {side} (" not in " ".join(t.split()):
            fail(f"the table does not say the observations favour {side}")
        print(f"Bayes factor v : c = {want:.4g} [{k['lo']:.4g}, {k['hi']:.4g}] (paired)")

    # 3. Different seeds: unpaired interval from each run's weights.
    j = json.loads(sh(PY, COMPARE, c, c7, "--json").stdout)
    k = j["bayes_factor"]
    want = C7["evidence"] / C["evidence"]
    var = sum(np.var(x["w"], ddof=1) / (N * x["w"].mean() ** 2) for x in (C, C7))
    if j["paired"] or k is None or k["paired"]:
        fail("different seeds: paired")
    else:
        close([k["factor"], k["lo"], k["hi"]],
              [want, want * math.exp(-Z * math.sqrt(var)), want * math.exp(Z * math.sqrt(var))],
              1e-9, "unpaired Bayes factor and interval")
    # ... and the survival difference's unpaired interval: delta method per run
    pa, pb = C["survival"], C7["survival"]
    va, vb = np.empty((L, T)), np.empty((L, T))
    for x, p, out in ((C, pa, va), (C7, pb, vb)):
        for i in range(L):
            z = x["w"][:, None] * (alive(x["fy"][:, i], T) - p[i])
            out[i] = (z ** 2).sum(axis=0) / x["w"].sum() ** 2
    close_hw(grid(j, "halfwidth"), Z * np.sqrt(va + vb), 1e-9, "unpaired weighted half-width")
    # A conditioned file without per-path data: unpaired, with n_eff.
    j = json.loads(sh(PY, COMPARE, u, cn, "--json").stdout)
    s_u, s_c = U["survival"], CN["survival"]
    want = Z * np.sqrt(s_u * (1 - s_u) / N + s_c * (1 - s_c) / CN["n_eff"])
    if j["paired"]:
        fail("a conditioned file without per-path data compared as paired")
    close_hw(grid(j, "halfwidth"), want, 1e-12, "unpaired half-width with n_eff")

    # 4. compare | head: the reader is gone before anything is written.
    r, wfd = os.pipe()
    os.close(r)
    p = subprocess.run([PY, COMPARE, c, v], stdout=wfd, stderr=subprocess.PIPE, text=True)
    os.close(wfd)
    if "Traceback" in p.stderr or "BrokenPipe" in p.stderr or p.returncode not in (0, 141):
        fail(f"compare into a closed pipe: exit {p.returncode}, stderr {p.stderr!r}")

print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
