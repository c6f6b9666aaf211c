#!/usr/bin/python3
"""Plot a sweep summary: survival at chosen years against the varied input.

Usage:
    sweep_plot.py SUMMARY.csv -o PLOT.png [--years LIST] [--labs NAMES] [--title TEXT]

  SUMMARY.csv    a sweep summary with columns
                   variant,file,<varied names...>,lab,year,survival,survival_lo,survival_hi
                 (as sweep_summary.py or `runway sweep` write it): the varied
                 names are the columns between `file` and `lab`.
  -o, --output PLOT.png   the figure; the format follows the extension
                 (.png, .pdf, .svg)
  --years LIST   years to plot, comma separated: calendar years, or 1..K and
                 H counted over the years present in the CSV (1 = its first
                 year, H = its last). Default: 1,3,5,H with one varied
                 input, H with several (years not in the CSV are skipped).
  --labs NAMES   only these labs, comma separated (default: all)
  --title TEXT   the figure title (default: names the varied inputs)

One panel per lab (in the CSV's order, each lab in its fixed colour, the
same palette as report.py). The x axis is the first varied input: its
values as written ("5 to 8", "30 to 45", ...) in the order they first appear
in the CSV, evenly spaced. Each line is one chosen year (darker = later;
its own marker); with several varied inputs, each combination of the other
inputs gets its own line style, so there is one line per combination and
year. Error bars: the 95% Wilson interval of each survival probability.
With no varied column, the x axis is the variant label.

Exit status: 0 success; 1 the CSV is missing or malformed or a year or lab
is not in it (one line on stderr, no plot written); 2 bad command line.
"""
import argparse
import math
import os
import sys
import warnings

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runway_result import AtomicOutputs, ResultError, die, lab_colour, parse_years  # noqa: E402

PROG = "runway sweep"

# matplotlib is imported after the CSV has been read and checked (see
# report.py: a fresh machine's first import logs to stderr).
matplotlib = FigureCanvasAgg = Figure = None


def _load_matplotlib():
    global matplotlib, FigureCanvasAgg, Figure
    import matplotlib as mpl
    mpl.use("Agg")
    import matplotlib.colors  # noqa: F401
    import matplotlib.lines  # noqa: F401
    from matplotlib.backends.backend_agg import FigureCanvasAgg as _canvas
    from matplotlib.figure import Figure as _figure
    matplotlib, FigureCanvasAgg, Figure = mpl, _canvas, _figure
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")


NEEDED = ["variant", "file", "lab", "year", "survival", "survival_lo", "survival_hi"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
STYLES = ["-", "--", ":", "-."]


class Summary:
    """A parsed summary: varied names, variants, labs and years in order, and
    values[(variant, lab, year)] = (survival, lo, hi)."""


def read_summary(path):
    """The CSV at path (pandas, every cell as text) checked and parsed into
    a Summary; ResultError (one line naming the file) when it is not a
    sweep summary."""
    if not os.path.exists(path):
        raise ResultError(f"{path}: no such file")
    try:
        t = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False,
                        skip_blank_lines=True, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise ResultError(f"{path}: empty file (expected a sweep summary CSV)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ResultError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    except (pd.errors.ParserError, ValueError) as e:
        raise ResultError(f"{path}: not a CSV file: {' '.join(str(e).split())}") from None
    head = [str(h).strip() for h in t.columns]
    if len(set(head)) != len(head):
        raise ResultError(f"{path}: the header names a column twice")
    t.columns = head
    missing = [c for c in NEEDED if c not in head]
    if missing:
        raise ResultError(f"{path}: not a sweep summary (missing column {', '.join(missing)})")
    short = t.isna().any(axis=1)
    if short.any():
        n = int(np.argmax(short.values)) + 2
        raise ResultError(f"{path}: line {n} has fewer fields than the header's {len(head)}")
    t = t[~(t.apply(lambda c: c.str.strip()) == "").all(axis=1)]
    if t.empty:
        raise ResultError(f"{path}: no data rows")
    year_ok = t["year"].str.fullmatch(r"\s*[+-]?\d{1,9}\s*")
    nums = {}
    for k in ("survival", "survival_lo", "survival_hi"):
        nums[k] = pd.to_numeric(t[k].str.strip(), errors="coerce")
        said_nan = t[k].str.strip().str.lower().isin(("nan", "+nan", "-nan"))
        year_ok &= nums[k].notna() | said_nan
    if not year_ok.all():
        n = int(np.argmax(~year_ok.values))
        raise ResultError(f"{path}: line {int(t.index[n]) + 2}: year or survival is not a number")
    ifile, ilab = head.index("file"), head.index("lab")
    s = Summary()
    s.names = head[ifile + 1:ilab] if ilab > ifile else []
    first = t.drop_duplicates("variant")
    s.variants = list(first["variant"])
    s.setting = {v: tuple(row) for v, row in zip(first["variant"],
                                                   first[s.names].itertuples(index=False))}
    s.labs = list(pd.unique(t["lab"]))
    years = t["year"].astype(np.int64)
    s.years = sorted(set(int(y) for y in years))
    s.values = {(v, lab, int(y)): (float(a), float(b), float(c)) for v, lab, y, a, b, c in zip(
        t["variant"], t["lab"], years, nums["survival"], nums["survival_lo"],
        nums["survival_hi"])}
    return s


def choose_years(s, text):
    if text:
        try:
            return parse_years(text, available=s.years)
        except ValueError as e:
            raise ResultError(f"--years: {e}") from None
    want = ["H"] if len(s.names) > 1 else ["1", "3", "5", "H"]
    out = []
    for w in want:
        try:
            for y in parse_years(w, available=s.years):
                if y not in out:
                    out.append(y)
        except ValueError:
            pass
    return out


def _shade(colour, k, n):
    """The lab colour mixed with white: the latest year full strength."""
    rgb = np.array(matplotlib.colors.to_rgb(colour))
    f = 1.0 if n <= 1 else 0.35 + 0.65 * k / (n - 1)
    return tuple(1 - f * (1 - rgb))


def plot(s, years, labs, title):
    xname = s.names[0] if s.names else "variant"
    xkey = (lambda v: s.setting[v][0]) if s.names else (lambda v: v)
    xcats = []
    for v in s.variants:
        if xkey(v) not in xcats:
            xcats.append(xkey(v))
    combos = []
    for v in s.variants:
        c = s.setting[v][1:]
        if c not in combos:
            combos.append(c)
    lines = [(c, y) for c in combos for y in years]
    n = len(labs)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    width = max(3.8, 1.0 * len(xcats) + 1.6)
    fig = Figure(figsize=(width * ncols, 3.3 * nrows + 1.3))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    order = {lab: k for k, lab in enumerate(s.labs)}
    for ax, lab in zip(axes, labs):
        colour = lab_colour(order[lab])
        for li, (combo, y) in enumerate(lines):
            ky = years.index(y)
            kc = combos.index(combo)
            dx = (li - (len(lines) - 1) / 2) * min(0.08, 0.5 / max(len(lines), 1))
            xs, ps, los, his = [], [], [], []
            for xi, xc in enumerate(xcats):
                hit = [v for v in s.variants if xkey(v) == xc and s.setting[v][1:] == combo]
                if not hit or (hit[0], lab, y) not in s.values:
                    continue
                p, lo, hi = s.values[(hit[0], lab, y)]
                xs.append(xi + dx)
                ps.append(p)
                los.append(p - lo if math.isfinite(lo) else 0.0)
                his.append(hi - p if math.isfinite(hi) else 0.0)
            if not xs:
                continue
            c = _shade(colour, ky, len(years))
            ax.errorbar(xs, ps, yerr=[np.maximum(los, 0), np.maximum(his, 0)], color=c,
                        marker=MARKERS[ky % len(MARKERS)], ms=5, lw=1.8, capsize=3,
                        ls=STYLES[kc % len(STYLES)])
        ax.set_title(lab, color=colour, fontweight="bold")
        ax.set_xticks(range(len(xcats)))
        long = max(len(x) for x in xcats) * len(xcats) > 8 * width
        ax.set_xticklabels(xcats, rotation=25 if long else 0, ha="right" if long else "center",
                           rotation_mode="anchor", fontsize=8)
        ax.set_xlim(-0.5, len(xcats) - 0.5)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(xname)
        ax.set_ylabel("probability lab is alive")
        ax.grid(True, alpha=0.3)
    handles = [matplotlib.lines.Line2D([], [], color=_shade("#333333", k, len(years)),
                                       marker=MARKERS[k % len(MARKERS)], lw=1.8,
                                       label=f"alive at end of {y}")
               for k, y in enumerate(years)]
    if len(combos) > 1:
        for kc, combo in enumerate(combos):
            lbl = ", ".join(f"{nm}={val}" for nm, val in zip(s.names[1:], combo))
            handles.append(matplotlib.lines.Line2D([], [], color="0.3", lw=1.5,
                                                   ls=STYLES[kc % len(STYLES)], label=lbl))
    if title is None:
        title = ("Survival against " + (" and ".join(s.names) if s.names else "variant") +
                 " (error bars: 95% Monte Carlo interval)")
    fig.suptitle(title, y=0.995, va="top", fontsize=11)
    ncol_leg = min(len(handles), 4)
    leg_rows = math.ceil(len(handles) / ncol_leg)
    h = fig.get_figheight()
    fig.legend(handles=handles, loc="upper center", ncol=ncol_leg, frameon=False,
               bbox_to_anchor=(0.5, 1.0 - 0.3 / h), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1.0 - (0.3 + 0.2 * leg_rows) / h))
    return fig


def main(argv=None):
    ap = argparse.ArgumentParser(prog="sweep_plot.py", description="Plot a sweep summary CSV.")
    ap.add_argument("summary", metavar="SUMMARY.csv")
    ap.add_argument("-o", "--output", required=True, metavar="PLOT.png")
    ap.add_argument("--years", help="comma list: calendar years, 1..K or H (see --help text)")
    ap.add_argument("--labs", help="comma list of labs to plot (default: all)")
    ap.add_argument("--title")
    args = ap.parse_args(argv)
    fmt = os.path.splitext(args.output)[1].lstrip(".").lower() or "png"
    try:
        s = read_summary(args.summary)
        years = choose_years(s, args.years)
        if not years:
            raise ResultError(f"{args.summary}: none of the default years is in the CSV")
        labs = s.labs
        if args.labs:
            labs = [x.strip() for x in args.labs.split(",") if x.strip()]
            bad = [x for x in labs if x not in s.labs]
            if bad:
                raise ResultError(f"--labs: {', '.join(bad)} not in {args.summary} "
                                  f"(labs: {', '.join(s.labs)})")
        try:
            _load_matplotlib()
        except ImportError as e:
            raise ResultError(f"cannot import {e.name}: run with /usr/bin/python3 and install "
                              "python3-matplotlib") from None
        if fmt not in FigureCanvasAgg(Figure()).get_supported_filetypes():
            raise ResultError(f"{args.output}: unknown image format .{fmt} (use .png, .pdf "
                              "or .svg)")
        with AtomicOutputs() as out:
            tmp = out.add(args.output)
            fig = plot(s, years, labs, args.title)
            FigureCanvasAgg(fig)
            fig.savefig(tmp, format=fmt, dpi=110)
    except ResultError as e:
        die(PROG, e)
    except OSError as e:
        die(PROG, f"{args.output}: cannot write: {e.strerror or e}")
    print(f"{PROG}: wrote {args.output} ({len(labs)} labs, {len(s.variants)} variants, "
          f"years {', '.join(str(y) for y in years)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
