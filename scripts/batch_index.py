#!/usr/bin/python3
"""Write the index page of a batch of runs: DIR/index.html.

Usage:
    batch_index.py DIR RESULT.h5...

`runway run SCEN1 SCEN2 ... -O DIR` runs this after the last run. The page
holds ONE table: a row per scenario (in the order given), a column per lab
(every lab of any scenario, in order of first appearance), and in each
cell the probability that the lab is alive at the end of the headline
years (simulated years 1, 3, 5 and the horizon) with its 95% Wilson
interval; "-" where a scenario has no such lab. Each scenario links to its
result file and, where it exists, to its report (RESULT's stem +
"_report.html" beside it, what `runway report RESULT -o DIR/STEM_report`
writes). Links are relative, so the folder can be moved or served as is.

Every file is read through the scripts' reader (runway_result.load: the
whole file contract, in a forked child), so a damaged or foreign file is
refused with one line naming it. The page is written to a temporary file
made by mkstemp in DIR and renamed over index.html: a reader never sees a
half-written page, and no predictable name is ever opened.

Exit status: 0 written; 1 a file is refused or DIR cannot be written (one
line on stderr, no index.html change); 2 bad command line.
"""
import argparse
import html
import os
import sys
import urllib.parse

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runway_result import AtomicOutputs, ResultError, die, die_unexpected, load  # noqa: E402

PROG = "runway batch"


def headline_table(results):
    """[Result] -> a long DataFrame: scenario (row number), lab, year,
    survival, survival_lo, survival_hi, at each file's headline years."""
    rows = []
    for k, r in enumerate(results):
        s, lo, hi = r.ds["survival"], r.ds["survival_lo"], r.ds["survival_hi"]
        for i, lab in enumerate(r.labs):
            for j in r.headline_years():
                rows.append((k, lab, int(r.years[j]), float(s[i, j]), float(lo[i, j]),
                             float(hi[i, j])))
    return pd.DataFrame(rows, columns=["scenario", "lab", "year", "survival", "survival_lo",
                                       "survival_hi"])


def cell(group):
    """One cell: a line per headline year, 'YEAR: p [lo, hi]'."""
    return "<br>".join(f"{y}: {p:.3f} [{lo:.3f}, {hi:.3f}]" for y, p, lo, hi in zip(
        group["year"], group["survival"], group["survival_lo"], group["survival_hi"]))


def link(dirpath, target, text):
    rel = os.path.relpath(os.path.abspath(target), os.path.abspath(dirpath))
    return f'<a href="{html.escape(urllib.parse.quote(rel))}">{html.escape(text)}</a>'


def report_of(path):
    stem = os.path.splitext(path)[0]
    rep = stem + "_report.html"
    return rep if os.path.isfile(rep) else None


def page(dirpath, files, results):
    """The index page (str)."""
    long = headline_table(results)
    labs = list(dict.fromkeys(long["lab"]))
    cells = long.groupby(["scenario", "lab"], sort=False).apply(cell).unstack("lab")
    cells = cells.reindex(index=range(len(results)), columns=labs).fillna("-")
    heads = []
    for path, r in zip(files, results):
        name = r.attrs.get("scenario_name") or r.stem
        links = [link(dirpath, path, os.path.basename(path))]
        rep = report_of(path)
        if rep:
            links.append(link(dirpath, rep, "report"))
        heads.append(f"<b>{html.escape(str(name))}</b><br>{' &middot; '.join(links)}"
                     f"<br><small>{r.paths} paths, seed {r.seed}</small>")
    cells.index = pd.Index(heads, name=None)
    cells.columns = pd.Index([html.escape(str(c)) for c in cells.columns], name="scenario")
    table = cells.to_html(escape=False, border=0, classes="index")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>runway batch</title>\n"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:top;"
            "white-space:nowrap}th:first-child{text-align:left}</style></head><body>\n"
            "<h1>runway batch: survival at a glance</h1>\n"
            f"<p>{len(results)} scenarios (rows) by lab (columns). Each cell: P(lab alive at the "
            "end of the year) and its 95% Wilson interval, at simulated years 1, 3, 5 and the "
            "horizon; &ldquo;-&rdquo;: the scenario has no such lab. <code>runway report "
            "FILE</code> gives the full report of one file.</p>\n"
            f"{table}\n</body></html>\n")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="batch_index.py",
                                 description="Write DIR/index.html for a batch of result files.")
    ap.add_argument("dir", metavar="DIR")
    ap.add_argument("files", nargs="+", metavar="RESULT.h5")
    args = ap.parse_args(argv)
    out = os.path.join(args.dir, "index.html")
    try:
        results = [load(p) for p in args.files]
        text = page(args.dir, args.files, results)
        with AtomicOutputs() as outs:
            tmp = outs.add(out)
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
    except ResultError as e:
        die(PROG, f"{out} not written: {e}")
    except OSError as e:
        die(PROG, f"{out}: cannot write: {e.strerror or e}")
    except Exception as e:  # noqa: BLE001 - never a traceback: one line, nothing left
        die_unexpected(PROG, f"{out}: cannot write the index", e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
