#!/usr/bin/python3
"""Compare two runway results: the change in each lab's survival probability.

Usage:
    compare.py A.h5 B.h5 [-o OUT.csv] [--json] [--years LIST]

For every lab both runs have (matched by name) and every year prints
P_B(alive) - P_A(alive) with a 95% interval. A is the reference ("before"),
B the variant ("after"): a negative difference means the lab is less likely
to be alive in B. The labs only one run has are listed with their own
survival, and the inputs the two scenarios (attribute scenario_yaml)
specify differently are named with both specifications.

Intervals: Newcombe's hybrid score interval (report_format.newcombe):
paired, with the correlation phi of the two runs' alive indicators;
unpaired, with phi = 0. Unlike the Wald intervals below, it keeps its
width and coverage at p = 0 and 1. The formulas below give the paired
difference itself and, for conditioned runs, the interval (delta method;
Newcombe's with n_eff where its variance is 0).

  paired (common random numbers): when A and B have the same seed and the
      same number of paths, both hold paths/fail_year and the inputs both
      specify alike have the same draws (paths/inputs), path i of A and
      path i of B share every random number not touched by the change
      (MODEL.md section 6). Then d_i = alive_B,i - alive_A,i (alive at the
      end of year t <=> fail_year == 0 or fail_year > t; fail_year is the
      year the lab left, whether it failed or was bought while solvent, so
      alive means independent and solvent, as `survival`) and the interval is
      mean(d) +- 1.96 sd(d) / sqrt(N). The table also shows the unpaired
      half-width for contrast.
  unpaired: otherwise, the two proportions are independent estimates:
      (pB - pA) +- 1.96 sqrt(pA (1 - pA) / nA + pB (1 - pB) / nB).

Conditioned runs (`runway run --condition`, MODEL.md section 8): a run
with paths/weight w (w = 1 on every path of a plain run) estimates
survival as the ratio P = sum_i w_i alive_i / sum_i w_i, exactly the
file's own `survival` (the weights are multiples of 2^-32 and are summed
exactly here too). The interval is the delta method for a ratio
estimator: path i contributes the influence
      z_i = w_i (alive_i - P) / mean(w)
  (for a plain run z_i = alive_i - P), and
  paired:    var(P_B - P_A) = sum_i (zB_i - zA_i)^2 / (N (N - 1))
             (with w = 1 on both sides this is sd(d)^2 / N above);
  unpaired:  var(P_B - P_A) = sum_i zA_i^2 / NA^2 + sum_i zB_i^2 / NB^2
             (= sum w^2 (alive - P)^2 / (sum w)^2 for each run; for a
             conditioned run without per-path data, P (1 - P) / n_eff).
Each survival is then the weighted share of the weight; pairing needs
paths/weight in every conditioned file.

Bayes factor: when both runs are conditioned, the ratio of their
evidence (the attribute `evidence`, each run's mean weight) is a Bayes
factor K = evidence_B / evidence_A: K > 1, the observations favour B.
Its Monte Carlo 95% interval is K exp(+-1.96 s), s the delta-method
standard deviation of log K: unpaired, s^2 = var(wA) / (NA mean(wA)^2) +
var(wB) / (NB mean(wB)^2) (a file without per-path weights contributes
1/n_eff - 1/N, the same quantity); paired by path, s^2 =
var(wB / mean(wB) - wA / mean(wA)) / N, which takes the covariance the
common random numbers give into account. The output says which runs are
conditioned and on what (observations file, n_eff, evidence), and warns
when the two runs were conditioned on different observations (their
ratio then compares nothing).

Options:
  -o, --output OUT.csv  also write every lab and year as CSV (columns lab,
                        year, year_index, p_a, p_b, diff, lo, hi, halfwidth,
                        unpaired_halfwidth, method)
  --json                print every lab and year as JSON instead of the table
  --years LIST          years shown in the table, comma separated: calendar
                        years (2030), simulated years (1..horizon) or H
                        (default 1,3,5,H)

Exit status: 0 success; 1 a file is missing, not a finished runway result,
or the two files have different horizons or no lab in common (one line on
stderr, no output file written); 2 bad command line; 141 the reader of
stdout went away; 128 + N stopped by signal N (SIGTERM, SIGINT, SIGHUP:
one line, nothing left). Strings from the files are cleaned before they
are printed (report_format.clean); CSV formula cells are neutralised.

As a module: compare(a, b) with two runway_result.Result objects returns a
Comparison (used by report.py --baseline).
"""
import argparse
import csv
import json
import math
import os
import sys
import textwrap

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runway_result  # noqa: E402
from runway_result import (AtomicOutputs, ResultError, _show, alive_share,  # noqa: E402
                           die, die_unexpected, load, parse_years, weight_units)
from report_format import (TEXT_MAX, Interrupted, catch_signals, clean, csv_cell,  # noqa: E402
                           decimals_for, newcombe, paired_phi, stopped,
                           table_decimals, wilson)

try:
    import h5py
except ImportError:  # pragma: no cover - load() reports it in one line
    h5py = None

PROG = "runway compare"
Z95 = 1.959963984540054  # standard normal 97.5% quantile

PAIRED = "paired (common random numbers)"
UNPAIRED = "unpaired"


class Comparison:
    """B - A per lab and year. Arrays are (lab, year):

    p_a, p_b      survival probabilities used (per-path means when paired)
    diff          p_b - p_a
    lo, hi        its 95% interval
    halfwidth     (hi - lo) / 2
    unpaired_halfwidth   the half-width the unpaired formula gives
    method        PAIRED or UNPAIRED; paired: bool
    reason        one sentence saying why that case applies
    labs, years, a, b   the inputs
    """

    def rows(self):
        """Every (lab, year) as a dict, lab-major."""
        out = []
        for i, lab in enumerate(self.labs):
            for j, y in enumerate(self.years):
                out.append({
                    "lab": lab, "year": int(y), "year_index": j + 1,
                    "p_a": _num(self.p_a[i, j]), "p_b": _num(self.p_b[i, j]),
                    "diff": _num(self.diff[i, j]), "lo": _num(self.lo[i, j]),
                    "hi": _num(self.hi[i, j]), "halfwidth": _num(self.halfwidth[i, j]),
                    "unpaired_halfwidth": _num(self.unpaired_halfwidth[i, j]),
                    "method": "paired" if self.paired else "unpaired"})
        return out


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _alive(fail_year, T):
    """(N, T) bool: alive at the end of simulated year t = 1..T."""
    t = np.arange(1, T + 1)
    fy = fail_year[:, None]
    return (fy == 0) | (fy > t[None, :])


def _influence(al, p, w):
    """Per-path influence of a (weighted) share on the share itself: for
    P = sum(w y) / sum(w) it is w_i (y_i - P) / mean(w) (delta method for a
    ratio estimator; w = 1: y_i - P). al (N, T) bool, p (T,), w (N,) or None."""
    z = al - p[None, :]
    if w is not None:
        z = z * (w / w.mean())[:, None]
    return z


def _unpaired_var(r, i, p):
    """Variance of one run's survival estimates p (T,) of lab i, as if the
    run were independent of the other: p (1 - p) / N for a plain run; for a
    conditioned one sum w^2 (y - p)^2 / (sum w)^2 over its paths (delta
    method), or p (1 - p) / n_eff when it kept no per-path data."""
    if not r.conditioned:
        return p * (1 - p) / float(r.paths)
    if r.weight is not None and r.has_paths:
        z = _influence(_alive(r.fail_year[:, i], len(r.years)), p, r.weight)
        return np.einsum("nt,nt->t", z, z) / float(len(r.weight)) ** 2
    return p * (1 - p) / float(r.n_eff)


def conditioning_note(r, tag=None):
    """One line saying whether r is conditioned, and on what."""
    head = f"{tag}: {r.name}" if tag else r.name
    if not r.conditioned:
        return f"{head}: not conditioned ({r.paths} paths)"
    obs = os.path.basename(r.observations_file) if r.observations_file else "observations"
    n = count_observations(r.observations_yaml)
    what = f"{obs} ({n} observation{'s' if n != 1 else ''})" if n else obs
    return (f"{head}: conditioned on {what}: n_eff {r.n_eff:.0f} of {r.paths} paths, "
            f"evidence (mean weight) {r.evidence:.4g}")


def count_observations(text):
    """Number of entries in an observations file's text (0 if unknown)."""
    if not text:
        return 0
    try:
        import yaml
        doc = yaml.safe_load(text)
        obs = doc.get("observations") if isinstance(doc, dict) else None
        return len(obs) if isinstance(obs, list) else 0
    except Exception:  # noqa: BLE001 - a count for a message; the engine validated the file
        return 0


def _label(r):
    """The file's name and its scenario's, for a sentence."""
    sc = r.attrs.get("scenario_name")
    return f"{r.name}: scenario {sc}" if sc else r.name


# Kass and Raftery (1995), on the factor's own scale.
def _strength(k):
    k = max(k, 1.0 / k)
    return ("barely worth mentioning" if k < 3 else "positive" if k < 20
            else "strong" if k < 150 else "very strong")


class BayesFactor:
    """evidence_B / evidence_A of two conditioned runs, with a Monte Carlo
    interval: factor, lo, hi, log_sd, paired, same_observations, favours
    ("A" or "B"), strength, text (one paragraph)."""


def bayes_factor(a, b, paired):
    """The Bayes factor B : A = evidence_B / evidence_A (the files'
    attributes: each the mean weight over its paths). Monte Carlo interval
    from the delta method on log(mean w_B) - log(mean w_A): for one run
    var(log mean w) ~ var(w) / (N mean(w)^2) (= 1/n_eff - 1/N, which is
    what a file without per-path weights is given); when the two runs share
    their paths (paired) the variance is var(w_B/mean w_B - w_A/mean w_A)/N,
    the paired covariance included. Interval: factor x exp(+-1.96 sd)."""
    k = BayesFactor()
    k.factor = b.evidence / a.evidence
    k.paired = bool(paired and a.weight is not None and b.weight is not None)
    if k.paired:
        d = b.weight / b.weight.mean() - a.weight / a.weight.mean()
        N = len(d)
        var = float(np.var(d, ddof=1)) / N if N > 1 else 0.0
    else:
        var = 0.0
        for r in (a, b):
            if r.weight is not None:
                w = r.weight
                var += float(np.var(w, ddof=1)) / (len(w) * w.mean() ** 2) if len(w) > 1 else 0.0
            else:
                var += max(1.0 / r.n_eff - 1.0 / r.paths, 0.0)
    k.log_sd = math.sqrt(max(var, 0.0))
    k.lo = k.factor * math.exp(-Z95 * k.log_sd)
    k.hi = k.factor * math.exp(Z95 * k.log_sd)
    k.same_observations = (a.observations_yaml or "") == (b.observations_yaml or "")
    k.favours = "B" if k.factor > 1 else "A"
    k.strength = _strength(k.factor)
    win, lose = (b, a) if k.favours == "B" else (a, b)
    f = k.factor if k.favours == "B" else 1.0 / k.factor
    name = _label(win)
    other = _label(lose)
    if k.lo <= 1.0 <= k.hi:
        verdict = (f"the observations favour {k.favours} ({_show(name, 80)}) over "
                   f"{'A' if k.favours == 'B' else 'B'} ({_show(other, 80)}) by a factor of "
                   f"{f:.3g}, but the Monte Carlo interval contains 1: at this number of "
                   "paths the two scenarios cannot be told apart")
    else:
        verdict = (f"the observations favour {k.favours} ({_show(name, 80)}) over "
                   f"{'A' if k.favours == 'B' else 'B'} ({_show(other, 80)}) by a factor of "
                   f"{f:.3g} ({k.strength} on Kass and Raftery's scale)")
    k.text = (f"Bayes factor B : A = evidence_B / evidence_A = {k.factor:.4g} "
              f"[95% Monte Carlo interval {k.lo:.4g}, {k.hi:.4g}"
              f"{', paired by path' if k.paired else ''}]: {verdict}.")
    if not k.same_observations:
        k.text += (" Warning: the two runs were conditioned on different observations, so "
                   "this ratio is not a Bayes factor between the scenarios.")
    return k


def check_years(a, b):
    """ResultError unless a and b cover the same years (labs may differ)."""
    runway_result.check_years(a, b, show=lambda p: clean(p, TEXT_MAX))


YAML_MAX = 4 << 20  # a scenario text longer than this is not parsed here


def _scenario(r):
    """The run's scenario as run (attribute scenario_yaml) parsed, or None."""
    text = r.attrs.get("scenario_yaml")
    if not isinstance(text, str) or not text or len(text) > YAML_MAX:
        return None
    try:
        import yaml
        doc = yaml.safe_load(text)
    except Exception:  # noqa: BLE001 - the engine validated it; without PyYAML: no list
        return None
    return doc if isinstance(doc, dict) else None


def _flat_inputs(doc):
    """{input name: its specification} of a parsed scenario: market.KEY,
    LAB.KEY (a lab's own value, else the scenario's defaults) and the
    correlations, as MODEL.md names them."""
    out = {}
    market = doc.get("market") if isinstance(doc.get("market"), dict) else {}
    for k, v in market.items():
        out[f"market.{k}"] = v
    defaults = doc.get("defaults") if isinstance(doc.get("defaults"), dict) else {}
    labs = doc.get("labs") if isinstance(doc.get("labs"), list) else []
    for lab in labs:
        if not isinstance(lab, dict) or "name" not in lab:
            continue
        name = str(lab["name"])
        for k in set(defaults) | set(lab):
            if k != "name":
                out[f"{name}.{k}"] = lab.get(k, defaults.get(k))
    for row in doc.get("correlations") or []:
        if isinstance(row, list) and len(row) == 3:
            out[f"correlation({row[0]}, {row[1]})"] = row[2]
    return out


def _spec_text(v):
    """An input's specification on one line, as the scenario writes it."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_spec_text(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_spec_text(x) for x in v) + "]"
    return "(unset)" if v is None else str(v)


def changed_inputs(a, b, shared):
    """[(input, spec in A, spec in B)] for every input of the market, of
    the labs both runs have, or of the correlations whose specification
    (distribution and parameters, or constant) differs between the two
    scenarios as run; None when a scenario text cannot be read (no
    PyYAML, or a file without it)."""
    da, db = _scenario(a), _scenario(b)
    if da is None or db is None:
        return None
    fa, fb = _flat_inputs(da), _flat_inputs(db)
    keep = set(shared)
    out = []
    for k in sorted(set(fa) | set(fb)):
        lab = k.rsplit(".", 1)[0] if not k.startswith(("market.", "correlation(")) else None
        if lab is not None and lab not in keep:
            continue  # an input of a lab only one run has: listed with that lab
        if fa.get(k) != fb.get(k):
            out.append((k, _spec_text(fa.get(k)), _spec_text(fb.get(k))))
    return out


DRAW_CHECK_PATHS = 4096  # paths whose shared draws are compared for pairing


def _input_draws(r, M):
    """{input name: its first M drawn values} from paths/inputs, or None."""
    if h5py is None or not (r.has_paths and r.has_inputs):
        return None

    def read(path):
        with h5py.File(path, "r") as f:
            ds = f["paths/inputs"]
            if ds.dtype.kind not in "fiu" or ds.shape != (r.paths, len(r.inputs)):
                return None
            return np.asarray(ds[:M], dtype=np.float64)
    try:
        # load() did not read paths/inputs: read it in a forked child first,
        # as load() does, so that damage that crashes HDF5 only skips the check
        if runway_result.PROBE and hasattr(os, "fork"):
            runway_result._probe(r.path, read)
        X = read(r.path)
    except (OSError, KeyError, ValueError, ResultError):
        return None
    if X is None:
        return None
    return {name: X[:, k] for k, name in enumerate(r.inputs)}


def _draws_differ(a, b, changed):
    """The first shared input that the two scenarios specify alike but whose
    draws differ on the first paths (the runs then do not share their
    random numbers: another engine version, or a file from elsewhere), or
    None. Inputs are keyed by name (MODEL.md section 4), so labs added or
    removed leave the others' draws alone."""
    M = min(a.paths, b.paths, DRAW_CHECK_PATHS)
    xa, xb = _input_draws(a, M), _input_draws(b, M)
    if xa is None or xb is None:
        return None
    skip = {k for k, _, _ in changed or []}
    for name in a.inputs:
        if name in xb and name not in skip and not np.array_equal(xa[name], xb[name]):
            return name
    return None


def compare(a, b):
    """Difference in survival B - A of the labs both runs have, matched by
    name (see the module docstring); the labs only one run has are listed
    with their own survival (c.only_a, c.only_b: [(lab, index)]) and the
    inputs whose specification differs in c.changed.

    Raises ResultError when the files cover different years or share no lab."""
    check_years(a, b)
    shared = [lab for lab in a.labs if lab in b.labs]
    if not shared:
        raise ResultError(f"{clean(a.path, TEXT_MAX)} and {clean(b.path, TEXT_MAX)}: no lab in "
                          f"common ({', '.join(clean(x) for x in a.labs[:8])} vs "
                          f"{', '.join(clean(x) for x in b.labs[:8])})")
    ia = np.array([a.labs.index(x) for x in shared])
    ib = np.array([b.labs.index(x) for x in shared])
    L, T = len(shared), len(a.years)
    c = Comparison()
    c.a, c.b, c.labs, c.years = a, b, shared, a.years.copy()
    c.only_a = [(x, i) for i, x in enumerate(a.labs) if x not in b.labs]
    c.only_b = [(x, i) for i, x in enumerate(b.labs) if x not in a.labs]
    c.changed = changed_inputs(a, b, shared)
    na, nb = float(a.paths), float(b.paths)
    c.weighted = a.conditioned or b.conditioned

    why_not = []
    if a.seed != b.seed:
        why_not.append(f"different seeds ({a.seed} vs {b.seed})")
    if a.paths != b.paths:
        why_not.append(f"different path counts ({a.paths} vs {b.paths})")
    for r in (a, b):
        if not r.has_paths:
            why_not.append(f"{clean(r.name, TEXT_MAX)} has no per-path data")
        elif r.fail_year.shape[0] != r.paths:
            why_not.append(f"{clean(r.name, TEXT_MAX)} holds {r.fail_year.shape[0]} per-path "
                           f"rows, not {r.paths}")
        elif r.conditioned and r.weight is None:
            why_not.append(f"{clean(r.name, TEXT_MAX)} is conditioned but holds no paths/weight")
    if not why_not:
        odd = _draws_differ(a, b, c.changed)
        if odd is not None:
            why_not.append(f"the draws of {clean(odd)} differ although both scenarios specify "
                           "it alike, so the runs do not share their random numbers")
    c.paired = not why_not
    c.method = PAIRED if c.paired else UNPAIRED
    ea = float(a.n_eff) if a.conditioned else na
    eb = float(b.n_eff) if b.conditioned else nb
    c.n_a, c.n_b = ea, eb

    with np.errstate(invalid="ignore", divide="ignore"):
        c.unpaired_lo = c.unpaired_hi = None
        if c.paired and not c.weighted:
            # Newcombe's hybrid score interval for paired proportions
            # (report_format.newcombe: it keeps its coverage at 0 and 1,
            # where mean(d) +- 1.96 sd(d)/sqrt(N) has zero width).
            N = a.fail_year.shape[0]
            c.p_a, c.p_b, c.diff, c.lo, c.hi = (np.empty((L, T)) for _ in range(5))
            for k in range(L):
                al_a = _alive(a.fail_year[:, ia[k]], T)
                al_b = _alive(b.fail_year[:, ib[k]], T)
                # d_i is in {-1, 0, 1}: count the +1s and -1s (exact, no
                # floating-point accumulation of N terms).
                n_up = np.count_nonzero(al_b & ~al_a, axis=0).astype(np.float64)
                n_dn = np.count_nonzero(al_a & ~al_b, axis=0).astype(np.float64)
                n_both = np.count_nonzero(al_a & al_b, axis=0).astype(np.float64)
                n_none = N - n_up - n_dn - n_both
                c.p_a[k] = np.count_nonzero(al_a, axis=0) / N
                c.p_b[k] = np.count_nonzero(al_b, axis=0) / N
                c.diff[k] = (n_up - n_dn) / N
                phi = paired_phi(n_both, n_up, n_dn, n_none)
                c.lo[k], c.hi[k] = newcombe(c.p_b[k], N, c.p_a[k], N, phi)
            c.reason = (f"same seed ({a.seed}) and number of paths ({a.paths}), and both files "
                        "hold per-path outcomes: path i of A and path i of B share their "
                        "random numbers, so the difference is taken path by path")
        elif c.paired:
            # At least one run is conditioned: P = sum(w alive) / sum(w)
            # over the same paths (w = 1 for a plain run), the difference's
            # variance by the delta method from the per-path influences
            # z_i = w_i (alive_i - P) / mean(w), paired: var = sum (zB_i -
            # zA_i)^2 / (N (N - 1)).
            N = a.fail_year.shape[0]
            c.p_a, c.p_b, c.diff = (np.empty((L, T)) for _ in range(3))
            hw, uhw = np.empty((L, T)), np.empty((L, T))
            ua, ub = weight_units(a.weight), weight_units(b.weight)
            for k in range(L):
                pa = alive_share(a.fail_year[:, ia[k]], T, a.weight, ua)
                pb = alive_share(b.fail_year[:, ib[k]], T, b.weight, ub)
                za = _influence(_alive(a.fail_year[:, ia[k]], T), pa, a.weight)
                zb = _influence(_alive(b.fail_year[:, ib[k]], T), pb, b.weight)
                z = zb - za
                var = np.einsum("nt,nt->t", z, z) / (N * max(N - 1, 1))
                c.p_a[k], c.p_b[k], c.diff[k] = pa, pb, pb - pa
                hw[k] = Z95 * np.sqrt(np.maximum(var, 0.0))
                vu = (np.einsum("nt,nt->t", za, za) + np.einsum("nt,nt->t", zb, zb)) / N ** 2
                uhw[k] = Z95 * np.sqrt(np.maximum(vu, 0.0))
            c.lo, c.hi = c.diff - hw, c.diff + hw
            c.unpaired_lo, c.unpaired_hi = c.diff - uhw, c.diff + uhw
            which = " and ".join(x for x, r in (("A", a), ("B", b)) if r.conditioned)
            c.reason = (f"same seed ({a.seed}) and number of paths ({a.paths}), and both files "
                        "hold per-path outcomes: path i of A and path i of B share their "
                        f"random numbers; {which} {'is' if ' and ' not in which else 'are'} "
                        "conditioned, so each survival is the weighted share of its paths and "
                        "the interval is the delta method over the paired paths")
        else:
            c.p_a = a.ds["survival"][ia].copy()
            c.p_b = b.ds["survival"][ib].copy()
            c.diff = c.p_b - c.p_a
            c.reason = "; ".join(why_not) + ": the two estimates are treated as independent"
        if c.weighted and c.unpaired_lo is None:
            va = np.array([_unpaired_var(a, i, c.p_a[k]) for k, i in enumerate(ia)])
            vb = np.array([_unpaired_var(b, i, c.p_b[k]) for k, i in enumerate(ib)])
            uhw = Z95 * np.sqrt(np.maximum(va + vb, 0.0))
            c.unpaired_lo, c.unpaired_hi = c.diff - uhw, c.diff + uhw
        elif not c.weighted:
            # Newcombe's hybrid score interval for two independent proportions.
            c.unpaired_lo, c.unpaired_hi = newcombe(c.p_b, nb, c.p_a, na)
        if c.weighted:
            # The delta method says nothing where both weighted shares are 0
            # or 1 (zero variance): there the interval is Newcombe's with
            # each run's effective sample size, which keeps its width.
            lo0, hi0 = newcombe(c.p_b, eb, c.p_a, ea)
            flat = ~(c.unpaired_hi - c.unpaired_lo > 0)
            c.unpaired_lo = np.where(flat, lo0, c.unpaired_lo)
            c.unpaired_hi = np.where(flat, hi0, c.unpaired_hi)
            if c.paired:
                flat = ~(c.hi - c.lo > 0)
                c.lo, c.hi = np.where(flat, lo0, c.lo), np.where(flat, hi0, c.hi)
        if not c.paired:
            c.lo, c.hi = c.unpaired_lo.copy(), c.unpaired_hi.copy()
        c.halfwidth = (c.hi - c.lo) / 2
        c.unpaired_halfwidth = (c.unpaired_hi - c.unpaired_lo) / 2
    c.bayes = bayes_factor(a, b, c.paired) if a.conditioned and b.conditioned else None
    return c


def only_rows(r, labs):
    """[(lab, survival, lo, hi) arrays over years] of the labs one run alone has."""
    return [(lab, r.ds["survival"][i], r.ds["survival_lo"][i], r.ds["survival_hi"][i])
            for lab, i in labs]


def _changed_lines(c, width=100):
    if c.changed is None:
        return ["Inputs: the scenario texts could not be compared (a file without "
                "scenario_yaml, or PyYAML missing: apt-get install python3-yaml)."]
    if not c.changed:
        return ["Inputs: every input of the labs both runs have and of the market is "
                "specified alike in the two scenarios."]
    out = [f"Inputs specified differently ({len(c.changed)}), A -> B:"]
    for k, va, vb in c.changed:
        out.append(f"  {clean(k, 60)}: {clean(va, 60)} -> {clean(vb, 60)}")
    return out


def _only_lines(c, cols):
    out = []
    for tag, r, labs in (("A", c.a, c.only_a), ("B", c.b, c.only_b)):
        if not labs:
            continue
        d = table_decimals(r.ds["survival_lo"], r.ds["survival_hi"], 2)
        out.append(f"Only in {tag} ({clean(r.name, TEXT_MAX)}), its survival with 95% "
                   "interval:")
        w = max(len(clean(x)) for x, _ in labs)
        for lab, s, lo, hi in only_rows(r, labs):
            cells = "  ".join(f"{int(c.years[j])} {s[j]:.{d}f} [{lo[j]:.{d}f}, {hi[j]:.{d}f}]"
                              for j in cols)
            out.append(f"  {clean(lab):<{w}}  {cells}")
    return out


def format_table(c, cols):
    """The comparison as fixed-width text, for the years at column indices
    cols. Every string from the files is cleaned (report_format.clean):
    one printable line, lab names cut at 40 characters."""
    out = [f"Survival difference B - A   (A: {clean(c.a.path, TEXT_MAX)}, "
           f"B: {clean(c.b.path, TEXT_MAX)})"]
    if c.weighted:
        out += ["  " + clean(conditioning_note(c.a, "A"), 1000),
                "  " + clean(conditioning_note(c.b, "B"), 1000)]
    if c.bayes is not None:
        out.append(textwrap.fill(clean(c.bayes.text, 2000), 100))
    interval = ("Newcombe's hybrid score interval for paired proportions (the Wilson "
                "intervals of P_A and P_B combined with their correlation over the paths)"
                if c.paired and not c.weighted else
                "delta method over paired paths: P = sum(w alive) / sum(w), "
                "+- 1.96 sqrt(sum (zB - zA)^2 / (N (N - 1))), z = w (alive - P) / mean(w)"
                if c.paired else
                "Newcombe's hybrid score interval for two independent proportions"
                if not c.weighted else
                "from two independent proportions (a conditioned run's by the delta method "
                "over its weights, or with n_eff)")
    out += [f"Method: {c.method}: {c.reason}.", "Interval: 95%, " + interval + "."]
    out += _changed_lines(c)
    out.append("")
    # P_A and P_B to the digits their own (Wilson) intervals support
    wa, wb = wilson(c.p_a, c.n_a), wilson(c.p_b, c.n_b)
    d = table_decimals(np.concatenate([wa[0], wb[0]]), np.concatenate([wa[1], wb[1]]), 2)
    names = [clean(x) for x in c.labs]
    w = max([len("lab")] + [len(x) for x in names])
    head = (f"{'lab':<{w}}  {'year':>4}  {'P_A':>{d + 2}}  {'P_B':>{d + 2}}  {'B - A':>8}  "
            f"{'95% interval':<20}")
    head += "  unpaired +-" if c.paired else "  +-"
    out.append(head)
    for i, lab in enumerate(names):
        for j in cols:
            dd = decimals_for(c.halfwidth[i, j], 2, 5)
            iv = f"[{_s(c.lo[i, j], dd)}, {_s(c.hi[i, j], dd)}]"
            line = (f"{lab:<{w}}  {int(c.years[j]):>4}  {_p(c.p_a[i, j], d):>{d + 2}}  "
                    f"{_p(c.p_b[i, j], d):>{d + 2}}  {_s(c.diff[i, j], dd):>8}  {iv:<20}")
            hw = c.unpaired_halfwidth[i, j] if c.paired else c.halfwidth[i, j]
            line += f"  {_p(hw, dd):>11}" if c.paired else f"  {_p(hw, dd)}"
            out.append(line)
    only = _only_lines(c, cols)
    if only:
        out += [""] + only
    return "\n".join(out) + "\n"


def _p(x, d=3):
    return f"{x:.{d}f}" if math.isfinite(x) else "n/a"


def _s(x, d=4):
    return f"{x:+.{d}f}" if math.isfinite(x) else "n/a"


CSV_COLUMNS = ["lab", "year", "year_index", "p_a", "p_b", "diff", "lo", "hi",
               "halfwidth", "unpaired_halfwidth", "method"]


def write_csv(c, path):
    """Every shared lab and year, then the labs one run alone has (method
    "only in A" / "only in B", their survival in p_a or p_b). Text cells
    are cleaned and a cell a spreadsheet would read as a formula (=, +,
    -, @) is neutralised with a leading apostrophe (report_format.csv_cell)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for r in c.rows() + only_csv_rows(c):
            w.writerow({k: ("nan" if r[k] is None else csv_cell(r[k])) for k in CSV_COLUMNS})


def only_csv_rows(c):
    out = []
    for tag, r, labs in (("A", c.a, c.only_a), ("B", c.b, c.only_b)):
        for lab, s, _, _ in only_rows(r, labs):
            for j, y in enumerate(c.years):
                row = {k: None for k in CSV_COLUMNS}
                row.update(lab=lab, year=int(y), year_index=j + 1, method=f"only in {tag}")
                row["p_a" if tag == "A" else "p_b"] = _num(s[j])
                out.append(row)
    return out


def _conditioning_json(r):
    if not r.conditioned:
        return {"conditioned": False}
    return {"conditioned": True, "observations_file": r.observations_file,
            "observations": count_observations(r.observations_yaml),
            "n_eff": r.n_eff, "evidence": r.evidence,
            "per_path_weights": r.weight is not None}


def to_json(c):
    """Everything as JSON (strings exact: json escapes control characters)."""
    out = {"a": c.a.path, "b": c.b.path, "method": c.method, "paired": c.paired,
           "reason": c.reason, "seed_a": c.a.seed, "seed_b": c.b.seed,
           "paths_a": c.a.paths, "paths_b": c.b.paths, "labs": c.labs,
           "labs_only_a": [_only_json(r) for r in only_rows(c.a, c.only_a)],
           "labs_only_b": [_only_json(r) for r in only_rows(c.b, c.only_b)],
           "changed_inputs": (None if c.changed is None else
                              [{"input": k, "a": va, "b": vb} for k, va, vb in c.changed]),
           "years": [int(y) for y in c.years], "weighted": c.weighted,
           "conditioning_a": _conditioning_json(c.a), "conditioning_b": _conditioning_json(c.b),
           "bayes_factor": None, "rows": c.rows()}
    k = c.bayes
    if k is not None:
        out["bayes_factor"] = {
            "factor": k.factor, "lo": k.lo, "hi": k.hi, "log_sd": k.log_sd, "paired": k.paired,
            "evidence_a": c.a.evidence, "evidence_b": c.b.evidence,
            "favours": k.favours, "strength": k.strength,
            "same_observations": k.same_observations, "text": k.text}
    return out


def _only_json(row):
    lab, s, lo, hi = row
    return {"lab": lab, "survival": [_num(x) for x in s], "lo": [_num(x) for x in lo],
            "hi": [_num(x) for x in hi]}


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog=PROG, description="Difference in survival probability B - A per lab and year, "
        "with a paired interval when both runs share seed and paths (common random numbers).")
    ap.add_argument("a", metavar="A.h5", help="reference result")
    ap.add_argument("b", metavar="B.h5", help="variant result")
    ap.add_argument("-o", "--output", metavar="OUT.csv", help="also write every lab and year as CSV")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    ap.add_argument("--years", default=None,
                    help="years in the table: calendar years, 1..horizon or H (default 1,3,5,H)")
    args = ap.parse_args(argv)
    catch_signals()
    try:
        return _main(args)
    except Interrupted as e:
        return stopped(PROG, e, [args.output] if args.output else [])


def _main(args):
    try:
        a = load(args.a)
        b = load(args.b)
        c = compare(a, b)
        try:
            cols = parse_years(args.years, result=a) if args.years else a.headline_years()
        except ValueError as e:
            raise ResultError(f"--years: {e}") from None
        if args.output:
            with AtomicOutputs() as out:
                write_csv(c, out.add(args.output))
    except ResultError as e:
        die(PROG, clean(str(e), 2000))
    except OSError as e:
        die(PROG, f"{args.output}: cannot write: {e.strerror or e}")
    except Exception as e:  # noqa: BLE001 - never a traceback: one line, nothing left
        die_unexpected(PROG, f"{args.a} vs {args.b}: cannot compare", e)
    try:
        if args.json:
            json.dump(to_json(c), sys.stdout, indent=1, allow_nan=False)
            sys.stdout.write("\n")
        else:
            sys.stdout.write(format_table(c, cols))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (compare ... | head): stop quietly, as a
        # shell tool killed by SIGPIPE would; stdout goes to /dev/null so
        # that the interpreter's own flush at exit finds nothing to
        # complain about ("Exception ignored ... BrokenPipeError").
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 141
    return 0


if __name__ == "__main__":
    sys.exit(main())
