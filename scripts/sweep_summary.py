#!/usr/bin/python3
"""Build a sweep summary CSV from the result files of a sweep's variants.

Usage:
    sweep_summary.py VARIANT... -o SUMMARY.csv [--var NAME]... [--years LIST]

  VARIANT   LABEL=PATH   a result file and the label of its variant, where
                         LABEL is NAME=VALUE, or several NAME=VALUE joined
                         by ';' (the --vary settings of that variant), e.g.
                           "OpenAI.cash0=5 to 8=runs/v1.h5"
                           "market.train_cost_growth=2 to 3;OpenAI.cash0=60=runs/v4.h5"
                         PATH is what follows the last '='. With exactly one
                         --var, LABEL may also be the bare VALUE ("5 to 8=runs/v1.h5").
            PATH         a result file; its label is the file name without .h5
            DIR          every *.h5 in DIR, in name order, labelled as above
  -o, --output SUMMARY.csv   the CSV to write (required)
  --var NAME   a varied input (repeatable, in the order of the columns);
               each variant's value is read from its LABEL
  --years LIST only these years (calendar years, 1..horizon or H), comma
               separated; default every year

The CSV has one row per variant, lab and year, variants in the order given:

    variant,file,<NAME...>,lab,year,survival,survival_lo,survival_hi

variant is the label, file the path as given, one column per --var with the
variant's value (as written, e.g. "5 to 8"), year the calendar year, and the
survival probability with its 95% Wilson interval copied exactly from the
file (Python's shortest round-trip repr; NaN as "nan"). sweep_plot.py plots it.

All files must be finished runway results with the same labs and years. A
note goes to stderr when they do not share seed and path count (then the
variants do not use common random numbers and differences between them
include Monte Carlo noise).

Exit status: 0 success; 1 a file is missing or not a finished runway result,
the files disagree in labs or years, or a label lacks a --var value (one
line on stderr, no CSV written); 2 bad command line.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runway_result import (AtomicOutputs, ResultError, check_compatible, die, die_unexpected,  # noqa: E402
                           load, parse_years)

PROG = "runway sweep"
FIXED_BEFORE = ["variant", "file"]
FIXED_AFTER = ["lab", "year", "survival", "survival_lo", "survival_hi"]


def split_variant(arg):
    """'LABEL=PATH' -> (label, path); a bare path or folder -> (None, path)."""
    if "=" in arg:
        label, path = arg.rsplit("=", 1)
        if path and (os.path.exists(path) or not os.path.exists(arg)):
            return label, path
    return None, arg


def default_label(path):
    base = os.path.basename(path.rstrip("/"))
    for ext in (".h5", ".hdf5"):
        if base.lower().endswith(ext):
            return base[: -len(ext)]
    return base


def expand(args):
    """Variant arguments -> [(label, path)] in order."""
    out = []
    for a in args:
        label, path = split_variant(a)
        if label is None and os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.lower().endswith((".h5", ".hdf5")))
            if not names:
                raise ResultError(f"{path}: folder holds no .h5 result files")
            out += [(default_label(n), os.path.join(path, n)) for n in names]
        else:
            out.append((label if label is not None else default_label(path), path))
    return out


def values_from_label(label, names):
    """The value of each varied NAME in LABEL ('N1=V1;N2=V2' or a bare value
    when there is exactly one NAME). Raises ResultError if one is missing."""
    pairs = {}
    for part in label.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            pairs[k.strip()] = v.strip()
    out = []
    for n in names:
        if n in pairs:
            out.append(pairs[n])
        elif len(names) == 1 and not pairs:
            out.append(label.strip())
        else:
            raise ResultError(f"variant '{label}': no value for --var {n} "
                              f"(write the label as {n}=VALUE)")
    return out


def summarise(variants, names, years=None):
    """[(label, path)] -> (header, rows, note): rows of str, int and float
    (a pandas DataFrame with that header writes the CSV). Loads and checks
    every file."""
    results = []
    for label, path in variants:
        r = load(path)
        if results:
            check_compatible(results[0][1], r)
        results.append((label, r, path, values_from_label(label, names)))
    first = results[0][1]
    cols = parse_years(years, result=first) if years else list(range(len(first.years)))
    header = FIXED_BEFORE + list(names) + FIXED_AFTER
    rows = []
    for label, r, path, vals in results:
        s, lo, hi = r.ds["survival"], r.ds["survival_lo"], r.ds["survival_hi"]
        for i, lab in enumerate(r.labs):
            for j in cols:
                rows.append([label, path] + vals +
                            [lab, int(r.years[j]), float(s[i, j]), float(lo[i, j]),
                             float(hi[i, j])])
    seeds = {(r.seed, r.paths) for _, r, _, _ in results}
    note = None
    if len(seeds) > 1:
        note = ("note: the variants differ in seed or path count, so they do not share "
                "random numbers; differences between them include Monte Carlo noise")
    return header, rows, note


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="sweep_summary.py", description="Build a sweep summary CSV (survival per variant, lab and "
        "year) from result files.")
    ap.add_argument("variants", nargs="+", metavar="VARIANT",
                    help="LABEL=PATH, PATH, or a folder of .h5 files")
    ap.add_argument("-o", "--output", required=True, metavar="SUMMARY.csv")
    ap.add_argument("--var", action="append", default=[], metavar="NAME",
                    help="a varied input, e.g. market.train_cost_growth (repeatable)")
    ap.add_argument("--years", help="comma list of years (calendar, 1..horizon or H); "
                    "default all")
    args = ap.parse_args(argv)
    reserved = set(FIXED_BEFORE + FIXED_AFTER)
    for n in args.var:
        if n in reserved or not n:
            ap.error(f"--var {n!r}: that name is a fixed column of the summary")
    if len(set(args.var)) != len(args.var):
        ap.error("--var: a name is given twice")
    try:
        try:
            header, rows, note = summarise(expand(args.variants), args.var, args.years)
        except ValueError as e:
            raise ResultError(f"--years: {e}") from None
        import pandas as pd  # here: a refused file costs no pandas import (a second)
        table = pd.DataFrame(rows, columns=header)
        with AtomicOutputs() as out:
            tmp = out.add(args.output)
            # floats as Python's shortest round-trip repr (pandas' default)
            table.to_csv(tmp, index=False, na_rep="nan", encoding="utf-8")
    except ResultError as e:
        die(PROG, e)
    except OSError as e:
        die(PROG, f"{args.output}: cannot write: {e.strerror or e}")
    except Exception as e:  # noqa: BLE001 - never a traceback: one line, nothing left
        die_unexpected(PROG, f"{' '.join(args.variants)}: cannot summarise", e)
    if note:
        sys.stderr.write(f"{PROG}: {note}\n")
    n_var = len({r[0] for r in rows})
    print(f"{PROG}: wrote {args.output} ({n_var} variants, {len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
