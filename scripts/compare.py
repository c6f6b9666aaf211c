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

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runway_result import (AtomicOutputs, ResultError, check_compatible, die, die_unexpected,  # noqa: E402
                           load, parse_years)

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


def compare(a, b):
    """Difference in survival B - A (see the module docstring).

    Raises ResultError when the files have different labs or years."""
    check_compatible(a, b)
    L, T = len(a.labs), len(a.years)
    c = Comparison()
    c.a, c.b, c.labs, c.years = a, b, list(a.labs), a.years.copy()
    na, nb = float(a.paths), float(b.paths)

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
    c.paired = not why_not
    c.method = PAIRED if c.paired else UNPAIRED

    with np.errstate(invalid="ignore", divide="ignore"):
        if c.paired:
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
        else:
            c.p_a = a.ds["survival"].copy()
            c.p_b = b.ds["survival"].copy()
            c.diff = c.p_b - c.p_a
            c.reason = "; ".join(why_not) + ": the two estimates are treated as independent"
        c.unpaired_halfwidth = Z95 * np.sqrt(c.p_a * (1 - c.p_a) / na + c.p_b * (1 - c.p_b) / nb)
        if not c.paired:
            c.halfwidth = c.unpaired_halfwidth.copy()
        c.lo = c.diff - c.halfwidth
        c.hi = c.diff + c.halfwidth
    return c


def format_table(c, cols):
    """The comparison as fixed-width text, for the years at column indices cols."""
    out = [f"Survival difference B - A   (A: {c.a.path}, B: {c.b.path})",
           f"Method: {c.method}: {c.reason}.",
           "Interval: 95%, " + ("mean(d) +- 1.96 sd(d)/sqrt(N) over paired paths"
                                if c.paired else "from two independent proportions"), ""]
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


def to_json(c):
    return {"a": c.a.path, "b": c.b.path, "method": c.method, "paired": c.paired,
            "reason": c.reason, "seed_a": c.a.seed, "seed_b": c.b.seed,
            "paths_a": c.a.paths, "paths_b": c.b.paths, "labs": c.labs,
            "years": [int(y) for y in c.years], "rows": c.rows()}


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
    if args.json:
        json.dump(to_json(c), sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_table(c, cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
