#!/usr/bin/python3
"""numpy_peer: MODEL.md (version 2) as an analyst would write it in NumPy.

The benchmarks' peer (docs/performance.md): the same model as runway, on
the same scenario file and the same number of paths, vectorised over
paths with NumPy and SciPy (Debian's python3-numpy, python3-scipy,
python3-yaml), one core. It computes the summaries that runway computes
with --per-path none: survival, failures by outcome, profitability, and
quantiles of each lab-year's cash, revenue, operating cash flow, raised,
ownership, market share and parent subsidy (from log-bucketed histograms,
so that chunks of paths merge: 0.4% relative error, as runway's), and the
rank correlations of every drawn input with each lab's survival to the
horizon and its final cash, over the first min(paths, 2^18) paths, as
runway's sensitivity_survival and sensitivity_cash.

Its random numbers are NumPy's own (PCG64), not runway's Philox streams,
so its results agree with runway's within Monte Carlo error, not to the
bit: tests/bench.cmake's numpy_peer_agrees_with_runway_within_mc_error
checks the survival curves that way.

    numpy_peer.py SCENARIO [--paths N] [--seed S] [--chunk C] [--json OUT]

prints one line: paths, seconds, ns per lab-year; --json writes the
survival curves [lab][year] and the timing.
"""
import argparse
import json
import os
import sys
import time

# one core, as runway's per-core figures: BLAS threads off (the copula's
# matrix product would otherwise take every core)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import yaml
from scipy import stats

Z95 = 1.6448536269514722  # the standard normal's 95th percentile

MARKET_KEYS = ["sub_market0", "api_market0", "ent_market0", "train_cost_growth",
               "serving_cost_decline", "price_decline", "token_demand_growth",
               "usage_growth", "sub_growth_rate", "sub_market_cap", "enterprise_growth",
               "others_pull", "maturity", "share_elasticity"]
MARKET_DEFAULTS = {"others_pull": 1.0, "maturity": 1.0, "share_elasticity": 1.0}
LAB_DEFAULTS = {"train_revenue_share": 0.0, "staff_growth": 0.0, "other_ratio": 0.0,
                "exec_sigma": 0.0, "momentum0": 1.0, "momentum_persistence": 0.0,
                "runway_target": 1.5, "raise_years": 2.0, "revenue_multiple": "15 to 40",
                "max_dilution": 0.25, "funding_base": 0.0, "funding_growth_weight": 0.0,
                "funding_sentiment_weight": 0.0, "min_train_fraction": 0.25,
                "acquisition_revenue_min": 1.0, "acquisition_hazard": 0.0,
                "distress_acquisition": 0.0}
LAB_REQUIRED = ["cash0", "subs0", "api0", "ent0", "serve_ratio_sub0", "serve_ratio_api0",
                "train0", "staff0"]
METRICS = ["cash", "revenue", "op_cash_flow", "raised", "ownership", "share",
           "parent_subsidy"]
QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]
# histogram buckets as runway's sketches: 2^7 slices per octave, |x| in
# [2^-24, 2^40), one zero bucket, both signs
SUB, EMIN, EMAX = 7, -24, 40
NPOS = (EMAX - EMIN) << SUB
NB = 2 * NPOS + 1


class Dist:
    """One input's marginal: a frozen scipy distribution (None: a
    constant), its truncation and whether it is redrawn every year."""

    def __init__(self, spec, name):
        self.const = None
        self.per_year = False
        self.lo, self.hi = 0.0, 1.0  # the CDF's range after truncation
        if isinstance(spec, (int, float)):
            self.const = float(spec)
            return
        if isinstance(spec, str):
            a, b = (float(x) for x in spec.split(" to "))
            self.rv = stats.lognorm(s=(np.log(b) - np.log(a)) / (2 * Z95),
                                    scale=np.exp((np.log(a) + np.log(b)) / 2))
            return
        if not isinstance(spec, dict) or "dist" not in spec:
            raise ValueError(f"{name}: not a distribution this peer reads: {spec!r}")
        d = spec["dist"]
        self.per_year = spec.get("per") == "year"
        if d == "normal":
            if "p5" in spec:
                m, s = (spec["p5"] + spec["p95"]) / 2, (spec["p95"] - spec["p5"]) / (2 * Z95)
            else:
                m, s = spec["mean"], spec["sd"]
            self.rv = stats.norm(loc=m, scale=s)
        elif d == "lognormal":
            if "p5" in spec:
                la, lb = np.log(spec["p5"]), np.log(spec["p95"])
                mu, sg = (la + lb) / 2, (lb - la) / (2 * Z95)
            else:
                mu, sg = spec["mu"], spec["sigma"]
            self.rv = stats.lognorm(s=sg, scale=np.exp(mu))
        elif d == "uniform":
            self.rv = stats.uniform(loc=spec["min"], scale=spec["max"] - spec["min"])
        elif d == "triangular":
            a, c, b = spec["min"], spec["mode"], spec["max"]
            self.rv = stats.triang(c=(c - a) / (b - a), loc=a, scale=b - a)
        elif d == "pert":
            a, c, b = spec["min"], spec["mode"], spec["max"]
            self.rv = stats.beta(1 + 4 * (c - a) / (b - a), 1 + 4 * (b - c) / (b - a),
                                 loc=a, scale=b - a)
        elif d == "beta":
            lo, hi = spec.get("min", 0.0), spec.get("max", 1.0)
            self.rv = stats.beta(spec["a"], spec["b"], loc=lo, scale=hi - lo)
        elif d == "gamma":
            self.rv = stats.gamma(spec["shape"], scale=spec["scale"])
        else:
            raise ValueError(f"{name}: unknown distribution {d!r}")
        if d not in ("uniform", "triangular", "pert", "beta"):
            if "min" in spec:
                self.lo = float(self.rv.cdf(spec["min"]))
            if "max" in spec:
                self.hi = float(self.rv.cdf(spec["max"]))

    def ppf(self, u):
        return self.rv.ppf(self.lo + u * (self.hi - self.lo))


class Scenario:
    def __init__(self, path):
        with open(path) as f:
            y = yaml.safe_load(f)
        self.horizon = int(y["horizon"])
        mk = y["market"]
        sent = mk.get("sentiment", {})
        self.rho, self.sigma = float(sent.get("rho", 0.0)), float(sent.get("sigma", 0.0))
        self.market = {k: Dist(mk[k] if k in mk else MARKET_DEFAULTS[k], "market." + k)
                       for k in MARKET_KEYS}
        defaults = y.get("defaults", {}) or {}
        self.labs = []
        for lab in y["labs"]:
            keys = {}
            for k in LAB_REQUIRED + list(LAB_DEFAULTS):
                spec = lab.get(k, defaults.get(k, LAB_DEFAULTS.get(k)))
                keys[k] = Dist(spec, f"{lab['name']}.{k}")
            self.labs.append({"name": lab["name"], "parent": lab.get("backstop") == "parent",
                              "in": keys})
        self.corr = y.get("correlations", []) or []


def input_names(sc):
    """The drawn inputs, market first, then each lab's."""
    names = ["market." + k for k, d in sc.market.items() if d.const is None]
    for lab in sc.labs:
        names += [f"{lab['name']}.{k}" for k, d in lab["in"].items() if d.const is None]
    return names


def draw_inputs(sc, rng, n):
    """Every input's path draw: market[key] -> (n,) or scalar; labs[key] ->
    (n, L) or (L,). Correlated inputs through a Gaussian copula (MODEL.md
    section 4)."""
    u = {}
    names = input_names(sc)
    for nm in names:
        u[nm] = rng.random(n)
    if sc.corr:
        cop = sorted({c[0] for c in sc.corr} | {c[1] for c in sc.corr})
        idx = {nm: i for i, nm in enumerate(cop)}
        C = np.eye(len(cop))
        for a, b, r in sc.corr:
            C[idx[a], idx[b]] = C[idx[b], idx[a]] = 2 * np.sin(np.pi * r / 6)
        Lc = np.linalg.cholesky(C)
        z = rng.standard_normal((n, len(cop))) @ Lc.T
        uz = stats.norm.cdf(z)
        for nm, i in idx.items():
            u[nm] = uz[:, i]
    market = {}
    for k, d in sc.market.items():
        market[k] = d.const if d.const is not None else d.ppf(u["market." + k])
    drawn = [market[k[7:]] if k.startswith("market.") else None for k in names]
    labs = {}
    for k in sc.labs[0]["in"]:
        cols = []
        for lab in sc.labs:
            d = lab["in"][k]
            cols.append(np.full(n, d.const) if d.const is not None
                        else d.ppf(u[f"{lab['name']}.{k}"]))
        labs[k] = np.stack(cols, axis=1)
    li = {lab["name"]: i for i, lab in enumerate(sc.labs)}
    for j, nm in enumerate(names):
        if drawn[j] is None:
            lab, key = nm.rsplit(".", 1)
            drawn[j] = labs[key][:, li[lab]]
    return market, labs, np.stack(drawn, axis=1) if drawn else np.zeros((n, 0))


def buckets(x):
    """runway's sketch bucket of each value (engine/sketch.h), read off the
    IEEE bits: the same bucket edges, so the quantiles compare."""
    bits = np.ascontiguousarray(x, dtype=np.float64).view(np.int64)
    idx = ((bits >> (52 - SUB)) & ((1 << (11 + SUB)) - 1)) - ((EMIN + 1023) << SUB)
    top = np.minimum(idx, NPOS - 1)
    b = np.where(bits < 0, NPOS - 1 - top, NPOS + 1 + top)
    return np.where(idx < 0, NPOS, b)


def simulate(sc, rng, n, acc):
    """n paths of MODEL.md section 3, added to the accumulators acc."""
    T, L = sc.horizon, len(sc.labs)
    mk, lb, drawn = draw_inputs(sc, rng, n)
    parent = np.array([lab["parent"] for lab in sc.labs])
    seg0 = [lb["subs0"], lb["api0"], lb["ent0"]]
    M = [np.maximum(np.broadcast_to(mk[k], (n,)), s0.sum(axis=1)).astype(float)
         for k, s0 in zip(["sub_market0", "api_market0", "ent_market0"], seg0)]
    share = [np.where(M[g][:, None] > 0, seg0[g] / M[g][:, None], 0.0) for g in range(3)]
    others = [np.maximum(1.0 - s.sum(axis=1), 0.0) for s in share]
    cash = lb["cash0"].copy()
    rev_prev = seg0[0] + seg0[1] + seg0[2]
    kfund = np.ones((n, L))
    own = np.ones((n, L))
    staff = lb["staff0"].copy()
    lnmu = np.log(lb["momentum0"])
    alive = np.ones((n, L), dtype=bool)
    fail_year = np.zeros((n, L), dtype=np.int64)
    outcome = np.zeros((n, L), dtype=np.int64)
    profit_year = np.zeros((n, L), dtype=np.int64)
    S = np.zeros(n)
    F = np.ones(n)
    q_api = np.ones(n)
    q_sub = np.ones(n)
    K = mk["sub_market_cap"]
    m = mk["maturity"]
    beta = mk["share_elasticity"]
    mpow = np.ones(n) if np.ndim(m) else 1.0
    lab_of = np.arange(L)[None, :] * NB
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for t in range(1, T + 1):
            def factor(key, fade=True):
                d = sc.market[key]
                x = mk[key]
                if d.per_year and t > 1:
                    x = d.ppf(rng.random(n))
                return x ** mpow if fade else x
            G, D, P = factor("train_cost_growth"), factor("serving_cost_decline"), factor("price_decline")
            V, U, E = factor("token_demand_growth"), factor("usage_growth"), factor("enterprise_growth")
            O, r = factor("others_pull", False), factor("sub_growth_rate", False)
            if sc.sigma > 0:
                S = sc.rho * S + sc.sigma * rng.standard_normal(n)
            else:
                S = sc.rho * S
            F = F * G
            M[1] = M[1] * V / P
            M[2] = M[2] * E
            M[0] = np.maximum(M[0] + r * M[0] * (1.0 - M[0] / K), 0.0)
            q_api = q_api * P / D
            q_sub = q_sub * U / D
            Mtot = M[0] + M[1] + M[2]
            # shares: momentum and funded training move each lab's pull
            es = lb["exec_sigma"]
            lm = lb["momentum_persistence"] * lnmu + es * rng.standard_normal((n, L)) - 0.5 * es * es
            ufund = rng.random((n, L))
            lnmu = np.where(alive, lm, lnmu)
            pull = np.where(alive, kfund ** beta * np.exp(lm), 0.0)
            for g in range(3):
                a = share[g] * pull
                a_o = others[g] * O
                tot = a.sum(axis=1) + a_o
                ok = tot > 0
                share[g] = np.where(ok[:, None], a / tot[:, None], a)
                others[g] = np.where(ok, a_o / tot, a_o)
            # 1-2. revenue and planned costs
            Rs, Ra, Re = (share[g] * M[g][:, None] for g in range(3))
            R = Rs + Ra + Re
            serve = Rs * lb["serve_ratio_sub0"] * q_sub[:, None] \
                + (Ra + Re) * lb["serve_ratio_api0"] * q_api[:, None]
            frontier = lb["train0"] * F[:, None]
            means = lb["train_revenue_share"] * R
            train_plan = np.where((lb["train_revenue_share"] > 0) & (means > frontier), means, frontier)
            staff = staff * (1.0 + lb["staff_growth"])
            other = lb["other_ratio"] * R
            burn = serve + train_plan + staff + other - R
            # 3. funding
            need = alive & ~parent & (burn > 0) & (cash < lb["runway_target"] * burn)
            growth = np.where((rev_prev > 0) & (R > 0), np.log(R / rev_prev), 0.0)
            x = lb["funding_base"] + lb["funding_growth_weight"] * growth \
                + lb["funding_sentiment_weight"] * S[:, None]
            val = lb["revenue_multiple"] * R
            ok = need & (ufund < 1.0 / (1.0 + np.exp(-x))) & (val > 0)
            d = lb["max_dilution"]
            raised = np.where(ok, np.minimum(val * d / (1 - d), lb["raise_years"] * burn), 0.0)
            own = np.where(ok, own * val / (val + raised), own)
            # 4. distress
            avail = cash + raised + R - serve - staff - other
            train = np.where((avail >= train_plan) | parent, train_plan,
                             np.maximum(lb["min_train_fraction"] * train_plan, np.maximum(avail, 0.0)))
            kfund = np.where((train_plan > 0) & (train != train_plan), train / train_plan, 1.0)
            # 5. cash
            C = avail - train
            op = (C - cash) - raised
            profit_year = np.where(alive & (op > 0) & (profit_year == 0), t, profit_year)
            # 6. failure or backstop
            short = C < 0
            subsidy = np.where(parent & short, -C, 0.0)
            C = np.where(parent & short, 0.0, C)
            failed = alive & ~parent & short
            fail_year = np.where(failed, t, fail_year)
            outcome = np.where(failed, np.where(R >= lb["acquisition_revenue_min"], 1, 2), outcome)
            # 7. exit while solvent
            v = rng.random((n, L))
            h = np.where(need & (raised == 0), lb["distress_acquisition"], lb["acquisition_hazard"])
            bought = alive & ~parent & ~failed & (v < h)
            fail_year = np.where(bought, t, fail_year)
            outcome = np.where(bought, 3, outcome)
            was = alive
            alive = alive & ~failed & ~bought
            for g in range(3):
                share[g] = np.where(alive, share[g], 0.0)
            cash = np.where(was, C, cash)
            rev_prev = np.where(was, R, rev_prev)
            # summaries of year t: labs alive at its end
            acc["alive"][:, t - 1] += alive.sum(axis=0)
            sh = np.where(Mtot[:, None] > 0, R / Mtot[:, None], 0.0)
            for k, y in enumerate([C, R, op, raised, own, sh, subsidy]):
                sel = alive & parent[None, :] if k == 6 else alive
                if not sel.any():
                    continue
                acc["hist"][k][t - 1] += np.bincount((buckets(y) + lab_of)[sel], minlength=L * NB)
            mpow = mpow * m
    room = acc["ns"] - acc["kept"]
    if room > 0:
        k = min(room, n)
        acc["cols"].append((drawn[:k], alive[:k], cash[:k]))
        acc["kept"] += k
    for t in range(T):
        gone = (fail_year > 0) & (fail_year <= t + 1)
        acc["acq"][:, t] += (gone & (outcome == 1)).sum(axis=0)
        acc["wd"][:, t] += (gone & (outcome == 2)).sum(axis=0)
        acc["sol"][:, t] += (gone & (outcome == 3)).sum(axis=0)
        acc["prof"][:, t] += ((profit_year > 0) & (profit_year <= t + 1)).sum(axis=0)


def bucket_value(b):
    """The midpoint of bucket b (runway's sk_value), 0 for the zero bucket."""
    if b == NPOS:
        return 0.0
    k = b - NPOS - 1 if b > NPOS else NPOS - 1 - b
    e, s = EMIN + (k >> SUB), k & ((1 << SUB) - 1)
    mid = 2.0 ** e * (1 + (s + 0.5) / (1 << SUB))
    return mid if b > NPOS else -mid


def quantiles(counts):
    tot = counts.sum()
    if tot == 0:
        return [float("nan")] * len(QUANTILES)
    cum = np.cumsum(counts)
    return [bucket_value(int(np.searchsorted(cum, int(q * (tot - 1)) + 1))) for q in QUANTILES]


def run(sc, paths, seed, chunk):
    T, L = sc.horizon, len(sc.labs)
    acc = {k: np.zeros((L, T), dtype=np.int64) for k in ("alive", "acq", "wd", "sol", "prof")}
    acc["hist"] = np.zeros((len(METRICS), T, L * NB), dtype=np.int64)
    acc["ns"], acc["kept"], acc["cols"] = min(paths, 1 << 18), 0, []
    rng = np.random.default_rng(seed)
    done = 0
    while done < paths:
        n = min(chunk, paths - done)
        simulate(sc, rng, n, acc)
        done += n
    sens = spearman(acc["cols"])
    q = {METRICS[k]: [[quantiles(acc["hist"][k, t, l * NB:(l + 1) * NB]) for t in range(T)]
                      for l in range(L)] for k in range(len(METRICS))}
    return {"labs": [lab["name"] for lab in sc.labs], "paths": paths,
            "survival": (acc["alive"] / paths).tolist(),
            "failed_acquired": (acc["acq"] / paths).tolist(),
            "failed_wound_down": (acc["wd"] / paths).tolist(),
            "acquired_solvent": (acc["sol"] / paths).tolist(),
            "profitable_by": (acc["prof"] / paths).tolist(), "quantiles": q,
            "inputs": input_names(sc),
            "sensitivity_survival": sens[0], "sensitivity_cash": sens[1]}


def spearman(cols):
    """Rank correlations [lab][input] of the inputs with survival to the
    horizon and with final cash (ties averaged; NaN for a constant side)."""
    rx = stats.rankdata(np.concatenate([c[0] for c in cols]), axis=0)
    rx -= rx.mean(axis=0)
    out = []
    for y in (np.concatenate([c[1] for c in cols]).astype(float),
              np.concatenate([c[2] for c in cols])):
        ry = stats.rankdata(y, axis=0)
        ry -= ry.mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = (ry.T @ rx) / np.sqrt(np.outer((ry * ry).sum(axis=0), (rx * rx).sum(axis=0)))
        out.append(c.tolist())
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--paths", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=1 << 15,
                    help="paths simulated at once (memory, not results)")
    ap.add_argument("--json", help="write the summaries and the timing here")
    a = ap.parse_args(argv)
    sc = Scenario(a.scenario)
    t0 = time.perf_counter()
    res = run(sc, a.paths, a.seed, a.chunk)
    sec = time.perf_counter() - t0
    ns = sec * 1e9 / (a.paths * len(sc.labs) * sc.horizon)
    res["seconds"] = sec
    res["ns_per_lab_year"] = ns
    print(f"numpy_peer: {a.paths} paths, {sec:.3f} s, {ns:.1f} ns per lab-year (1 core)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
