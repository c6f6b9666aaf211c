#!/usr/bin/python3
"""Compare two runway results: the change in each lab's survival probability.

Usage:
    compare.py A.h5 B.h5 [-o OUT.csv] [--json] [--years LIST]

For every lab and year prints P_B(alive) - P_A(alive) with a 95% interval.
A is the reference ("before"), B the variant ("after"): a negative
difference means the lab is less likely to be alive in B.

  paired (common random numbers): when A and B have the same seed and the
      same number of paths and both hold paths/fail_year, path i of A and
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
or the two files have different labs or horizons (one line on stderr, no
output file written); 2 bad command line.

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
from runway_result import (AtomicOutputs, ResultError, _show, alive_share,  # noqa: E402
                           check_compatible, die, die_unexpected, load, parse_years,
                           weight_units)

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


def compare(a, b):
    """Difference in survival B - A (see the module docstring).

    Raises ResultError when the files have different labs or years."""
    check_compatible(a, b)
    L, T = len(a.labs), len(a.years)
    c = Comparison()
    c.a, c.b, c.labs, c.years = a, b, list(a.labs), a.years.copy()
    na, nb = float(a.paths), float(b.paths)
    c.weighted = a.conditioned or b.conditioned

    why_not = []
    if a.seed != b.seed:
        why_not.append(f"different seeds ({a.seed} vs {b.seed})")
    if a.paths != b.paths:
        why_not.append(f"different path counts ({a.paths} vs {b.paths})")
    for r in (a, b):
        if not r.has_paths:
            why_not.append(f"{r.name} has no per-path data")
        elif r.fail_year.shape[0] != r.paths:
            why_not.append(f"{r.name} holds {r.fail_year.shape[0]} per-path rows, not {r.paths}")
        elif r.conditioned and r.weight is None:
            why_not.append(f"{r.name} is conditioned but holds no paths/weight")
    c.paired = not why_not
    c.method = PAIRED if c.paired else UNPAIRED

    with np.errstate(invalid="ignore", divide="ignore"):
        if c.paired and not c.weighted:
            N = a.fail_year.shape[0]
            c.p_a = np.empty((L, T))
            c.p_b = np.empty((L, T))
            c.diff = np.empty((L, T))
            sd = np.empty((L, T))
            for i in range(L):
                al_a = _alive(a.fail_year[:, i], T)
                al_b = _alive(b.fail_year[:, i], T)
                # d_i is in {-1, 0, 1}: count the +1s and -1s (exact, no
                # floating-point accumulation of N terms).
                n_up = np.count_nonzero(al_b & ~al_a, axis=0).astype(np.float64)
                n_dn = np.count_nonzero(al_a & ~al_b, axis=0).astype(np.float64)
                c.p_a[i] = np.count_nonzero(al_a, axis=0) / N
                c.p_b[i] = np.count_nonzero(al_b, axis=0) / N
                mean = (n_up - n_dn) / N
                # sample variance of d: (sum d^2 - N mean^2) / (N - 1)
                var = ((n_up + n_dn) - N * mean * mean) / max(N - 1, 1)
                c.diff[i] = mean
                sd[i] = np.sqrt(np.maximum(var, 0.0))
            c.halfwidth = Z95 * sd / math.sqrt(N)
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
            c.halfwidth = np.empty((L, T))
            c.unpaired_halfwidth = np.empty((L, T))
            ua, ub = weight_units(a.weight), weight_units(b.weight)
            for i in range(L):
                pa = alive_share(a.fail_year[:, i], T, a.weight, ua)
                pb = alive_share(b.fail_year[:, i], T, b.weight, ub)
                za = _influence(_alive(a.fail_year[:, i], T), pa, a.weight)
                zb = _influence(_alive(b.fail_year[:, i], T), pb, b.weight)
                z = zb - za
                var = np.einsum("nt,nt->t", z, z) / (N * max(N - 1, 1))
                c.p_a[i], c.p_b[i], c.diff[i] = pa, pb, pb - pa
                c.halfwidth[i] = Z95 * np.sqrt(np.maximum(var, 0.0))
                vu = (np.einsum("nt,nt->t", za, za) + np.einsum("nt,nt->t", zb, zb)) / N ** 2
                c.unpaired_halfwidth[i] = Z95 * np.sqrt(np.maximum(vu, 0.0))
            which = " and ".join(x for x, r in (("A", a), ("B", b)) if r.conditioned)
            c.reason = (f"same seed ({a.seed}) and number of paths ({a.paths}), and both files "
                        "hold per-path outcomes: path i of A and path i of B share their "
                        f"random numbers; {which} {'is' if ' and ' not in which else 'are'} "
                        "conditioned, so each survival is the weighted share of its paths and "
                        "the interval is the delta method over the paired paths")
        else:
            c.p_a = a.ds["survival"].copy()
            c.p_b = b.ds["survival"].copy()
            c.diff = c.p_b - c.p_a
            c.reason = "; ".join(why_not) + ": the two estimates are treated as independent"
        if not (c.paired and c.weighted):
            if c.weighted:
                va = np.array([_unpaired_var(a, i, c.p_a[i]) for i in range(L)])
                vb = np.array([_unpaired_var(b, i, c.p_b[i]) for i in range(L)])
                c.unpaired_halfwidth = Z95 * np.sqrt(np.maximum(va + vb, 0.0))
            else:
                c.unpaired_halfwidth = Z95 * np.sqrt(c.p_a * (1 - c.p_a) / na +
                                                     c.p_b * (1 - c.p_b) / nb)
        if not c.paired:
            c.halfwidth = c.unpaired_halfwidth.copy()
        c.lo = c.diff - c.halfwidth
        c.hi = c.diff + c.halfwidth
    c.bayes = bayes_factor(a, b, c.paired) if a.conditioned and b.conditioned else None
    return c


def format_table(c, cols):
    """The comparison as fixed-width text, for the years at column indices cols."""
    out = [f"Survival difference B - A   (A: {c.a.path}, B: {c.b.path})"]
    if c.weighted:
        out += ["  " + conditioning_note(c.a, "A"), "  " + conditioning_note(c.b, "B")]
    if c.bayes is not None:
        out.append(textwrap.fill(c.bayes.text, 100))
    out += [f"Method: {c.method}: {c.reason}.",
            "Interval: 95%, " + (("delta method over paired paths: P = sum(w alive) / sum(w), "
                                  "+- 1.96 sqrt(sum (zB - zA)^2 / (N (N - 1))), "
                                  "z = w (alive - P) / mean(w)") if c.paired and c.weighted
                                 else "mean(d) +- 1.96 sd(d)/sqrt(N) over paired paths"
                                 if c.paired else
                                 "from two independent proportions" + (
                                     " (a conditioned run's by the delta method over its "
                                     "weights, or with n_eff)" if c.weighted else "")), ""]
    w = max([len("lab")] + [len(x) for x in c.labs])
    head = f"{'lab':<{w}}  {'year':>4}  {'P_A':>6}  {'P_B':>6}  {'B - A':>8}  {'95% interval':<20}"
    head += "  unpaired +-" if c.paired else "  +-"
    out.append(head)
    for i, lab in enumerate(c.labs):
        for j in cols:
            d, lo, hi = c.diff[i, j], c.lo[i, j], c.hi[i, j]
            iv = f"[{_s(lo)}, {_s(hi)}]"
            line = (f"{lab:<{w}}  {int(c.years[j]):>4}  {_p(c.p_a[i, j]):>6}  "
                    f"{_p(c.p_b[i, j]):>6}  {_s(d):>8}  {iv:<20}")
            hw = c.unpaired_halfwidth[i, j] if c.paired else c.halfwidth[i, j]
            line += f"  {_p(hw, 4):>11}" if c.paired else f"  {_p(hw, 4)}"
            out.append(line)
    return "\n".join(out) + "\n"


def _p(x, d=3):
    return f"{x:.{d}f}" if math.isfinite(x) else "n/a"


def _s(x):
    return f"{x:+.4f}" if math.isfinite(x) else "n/a"


CSV_COLUMNS = ["lab", "year", "year_index", "p_a", "p_b", "diff", "lo", "hi",
               "halfwidth", "unpaired_halfwidth", "method"]


def write_csv(c, path):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for r in c.rows():
            w.writerow({k: ("nan" if r[k] is None else r[k]) for k in CSV_COLUMNS})


def _conditioning_json(r):
    if not r.conditioned:
        return {"conditioned": False}
    return {"conditioned": True, "observations_file": r.observations_file,
            "observations": count_observations(r.observations_yaml),
            "n_eff": r.n_eff, "evidence": r.evidence,
            "per_path_weights": r.weight is not None}


def to_json(c):
    out = {"a": c.a.path, "b": c.b.path, "method": c.method, "paired": c.paired,
           "reason": c.reason, "seed_a": c.a.seed, "seed_b": c.b.seed,
           "paths_a": c.a.paths, "paths_b": c.b.paths, "labs": c.labs,
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
        die(PROG, e)
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
        # shell tool killed by SIGPIPE would; nothing more to say.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 141
    return 0


if __name__ == "__main__":
    sys.exit(main())
