#!/usr/bin/python3
"""Make an analyst's report of one runway result: NAME.html and NAME.pdf.

Usage:
    report.py RESULT.h5 [-o NAME] [--baseline A.h5]

  RESULT.h5        a finished runway result file (../shared/OUTPUT.md)
  -o, --output NAME
                   write NAME.html and NAME.pdf (a trailing .html or .pdf is
                   dropped). Default: the result's file name without .h5
                   plus "_report", in the current folder (as `runway run`
                   writes its result in the current folder).
  --baseline A.h5  add a comparison with A (this result minus A; paired when
                   both runs share seed and paths: see compare.py)
  --years Y1,Y2    calendar years of the sensitivity section (default: the
                   headline years)

The HTML page is self-contained (figures are PNGs embedded as data URIs;
it opens offline). The PDF holds the same content: a summary page (the
question answered: survival per lab at the headline years, what drives it,
what changed against the baseline, the survival curves), the headline
table and provenance, one page per figure (the comparison adds a table
page and a figure page), then the scenario text. With --baseline, labs are
matched by name (compare.py).

Contents, in order: headline table; for a run conditioned on
observations (`runway run --condition`), "Conditioned on" (each
observation, n_eff, the evidence) and, when --baseline is the
unconditioned run, prior versus posterior survival; for a backtest
(`runway backtest`, group `backtest`), its table, coverages and mean log
score, the forecast band of each observed figure against it, and the PIT
histogram with the coverage plot; survival curves with 95% bands;
exit-year histograms by outcome: failed and bought, wound down, bought
while solvent (needs the per-path group `paths`);
cash and revenue fan charts; P(profitable by year); number of independent
labs alive; what drives survival (first-order sensitivity indices and
swings by year, correlated inputs grouped; rank correlations as a table); what the
worlds where each lab fails by year 5 look like (scripts/explain.py, needs
the per-path inputs); the comparison (with --baseline; the Bayes factor
when both runs are conditioned); provenance and the full scenario text.
docs/reports.md explains how to read each one. A conditioned run's
figures are all weighted (shares of the weight, not of the paths).

Speed (bench/bench_report.sh): the evidence sections cost only when the
file has them. The failure-worlds comparison runs in a forked child on the
first 25000 paths; each figure is drawn once, by Agg, and the image serves
the HTML and the PDF; the figures that need nothing computed here are made
and drawn in another child while this process writes the PDF's text pages
(class Background, render). Figures use fixed margins (tight_layout cost
as much as drawing).

Exit status: 0 success; 1 the result (or baseline) is missing, not a runway
result, incomplete, or incompatible with the baseline, or the output cannot
be written (one line on stderr; nothing is written: outputs are written
under temporary names and renamed only at the end); 2 bad command line;
128 + N stopped by signal N (SIGTERM, SIGINT, SIGHUP: one line, the
temporaries removed). Every string from a file is cleaned before it is
printed or drawn (report_format.clean).

Runs under Debian's /usr/bin/python3 with python3-h5py, python3-numpy and
python3-matplotlib (Agg backend; no display needed).
"""
import argparse
import base64
import html
import io
import math
import os
import pickle
import re
import signal
import struct
import sys
import textwrap
import warnings
import zlib

import numpy as np

try:
    import h5py
except ImportError:  # pragma: no cover - load() reports it in one line
    h5py = None

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runway_result import (EXITS, AtomicOutputs, ResultError, die, die_unexpected,  # noqa: E402
                           fmt_interval, fmt_p, lab_colour, load, n_eff_of)
import compare as comparemod  # noqa: E402
from report_format import (NAME_MAX, TEXT_MAX, Interrupted, catch_signals, clean,  # noqa: E402
                           clean_block, decimals_for, fmt_pct, fmt_prob, fmt_signed, stopped,
                           table_decimals)

PROG = "runway report"

# matplotlib is imported only once the inputs have been checked (see
# _load_matplotlib): its first import on a fresh machine logs "building the
# font cache" to stderr, which must not turn a one-line refusal into two.
matplotlib = FigureCanvasAgg = PdfPages = Figure = Patch = None

PNG_DPI = 120               # the figures' one rendering, for the HTML page and the PDF
WIDE = (11.0, 6.2)          # single-panel figures, inches (fits A4/letter landscape)
TORNADO_TOP = 10            # inputs shown per lab
YAML_LINES_PER_PAGE = 56    # scenario text lines per PDF page
YAML_WRAP = 150             # characters per scenario text line in the PDF
FONT_FALLBACK = ["Noto Sans CJK JP", "Noto Sans CJK SC", "Source Han Sans",
                 "WenQuanYi Zen Hei", "Droid Sans Fallback", "Unifont"]


def _load_matplotlib():
    """Import matplotlib (Agg) and set the report's style; binds the module
    names used by the figure functions."""
    global matplotlib, FigureCanvasAgg, PdfPages, Figure, Patch
    import matplotlib as mpl
    mpl.use("Agg")
    import matplotlib.font_manager  # noqa: F401
    import matplotlib.lines  # noqa: F401
    import matplotlib.patches  # noqa: F401
    import matplotlib.ticker  # noqa: F401
    from matplotlib.backends.backend_agg import FigureCanvasAgg as _canvas
    from matplotlib.backends.backend_pdf import PdfPages as _pdf
    from matplotlib.figure import Figure as _figure
    from matplotlib.patches import Patch as _patch
    matplotlib, FigureCanvasAgg, PdfPages, Figure, Patch = mpl, _canvas, _pdf, _figure, _patch
    # Lab names may be in any script: DejaVu Sans first, then whichever common
    # CJK fallback font is installed (matplotlib >= 3.6 falls back per glyph).
    # A glyph no installed font has is drawn as a box, without a warning per figure.
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
    installed = {f.name for f in matplotlib.font_manager.fontManager.ttflist}
    matplotlib.rcParams["font.family"] = ["sans-serif"]
    matplotlib.rcParams["font.sans-serif"] = (
        ["DejaVu Sans"] + [f for f in FONT_FALLBACK if f in installed] +
        [f for f in matplotlib.rcParams["font.sans-serif"] if f != "DejaVu Sans"])
    matplotlib.rcParams.update({
        "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10,
        "legend.fontsize": 9, "axes.grid": True, "grid.alpha": 0.3,
        # Type 3: the PDF's fonts embedded in 0.1 s, where Type 42's subsetting
        # took 0.65 s of the report's 5 (_pdf_fonttype switches to 42 when
        # a name needs a fallback font, which only Type 42 embeds here).
        "pdf.fonttype": 3, "svg.fonttype": "none",
        # Text from a scenario ("$3.5B (late 2024) -> $8.4B") is drawn as
        # written: a pair of $ is not mathematics anywhere in the report.
        "text.parse_math": False,
    })


# ---------------------------------------------------------------- figures
class Section:
    """One part of the report: a heading, a caption (HTML-safe text) and
    either a figure or a note saying why there is none; extra_html follows
    the figure in the page, pdf (blocks for _text_page) is a text page the
    PDF gets before the figure. fig is a Figure or a function that makes
    one (made by whichever process draws it: see render)."""

    def __init__(self, key, title, caption, fig=None, note=None, extra_html="", pdf=None,
                 weight=1.0):
        self.key, self.title, self.caption = key, title, caption
        self.fig, self.note, self.extra_html = fig, note, extra_html
        self.pdf = pdf
        self.weight = weight  # its drawing time, relative: the heaviest are drawn first


def _grid(n, ncols=3, panel=(3.7, 2.9), sharey=False):
    """n panels in rows of ncols, sharing the year axis; the panels below
    the first row and right of the first column drop their axis labels
    (_outer_labels): fewer texts to lay out and draw."""
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows + 0.9))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True,
                        sharey=sharey).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    fig._runway_grid = (nrows, ncols, n)
    return fig, axes[:n]


def _outer_labels(axes, xlabel, ylabel, fig):
    """The x label under the lowest panel of each column, the y label left
    of the first column, x tick labels on every panel's lowest visible row."""
    nrows, ncols, n = fig._runway_grid
    for k, ax in enumerate(axes):
        row, col = divmod(k, ncols)
        below = k + ncols < n  # another panel under this one
        ax.tick_params(axis="x", labelbottom=not below)
        if not below:
            ax.set_xlabel(xlabel)
        if col == 0:
            ax.set_ylabel(ylabel)


def _finish_grid(fig, title, handles):
    """Title on top, a shared legend under it, panels below, with fixed
    margins in inches (tight_layout measures every text first: it cost as
    much as drawing the figure)."""
    fig.suptitle(title, y=0.995, va="top", fontsize=11)
    H, W = fig.get_figheight(), fig.get_figwidth()
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False,
               bbox_to_anchor=(0.5, 1.0 - 0.3 / H))
    nrows, ncols, _ = getattr(fig, "_runway_grid", (1, 1, 1))
    left, right, top, bottom = 0.75, 0.15, 0.95, 0.75  # inches
    gap_w, gap_h = 0.45, 0.5
    aw = (W - left - right - (ncols - 1) * gap_w) / ncols
    ah = (H - top - bottom - (nrows - 1) * gap_h) / nrows
    fig.subplots_adjust(left=left / W, right=1 - right / W, top=1 - top / H,
                        bottom=bottom / H, wspace=gap_w / aw, hspace=gap_h / ah)


def _fixed_margins(fig, left=0.9, right=0.25, top=0.5, bottom=0.65):
    """One panel's margins in inches (instead of tight_layout)."""
    H, W = fig.get_figheight(), fig.get_figwidth()
    fig.subplots_adjust(left=left / W, right=1 - right / W, top=1 - top / H, bottom=bottom / H)


# Labs drawn over one another (several at 1.0 in every year: backstopped
# labs, labs that never fail) stay visible: each lab has its own marker,
# and lines are drawn widest first, so that a line under another shows
# as a coloured edge around it.
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "*"]


def _line_style(i, n):
    return dict(marker=MARKERS[i % len(MARKERS)], lw=1.4 + 2.2 * (n - 1 - i) / max(n - 1, 1),
                ms=4.5, zorder=2 + i)


def _name(lab, limit=NAME_MAX):
    """A lab (or input) name read from a file, fit to draw: one printable
    line, at most limit characters."""
    return clean(lab, limit)


def _years_ticks(ax, years):
    ys = list(years)
    step = max(1, math.ceil(len(ys) / 10))
    ax.set_xticks(ys[::step])
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%d"))


def _empty_panel(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes,
            fontsize=9, color="0.35", wrap=True)


def _lab_title(ax, r, i):
    name = _name(r.labs[i], 28) + (" (backstopped)" if r.backstopped[i] else "")
    ax.set_title(name, color=lab_colour(i), fontweight="bold", fontsize=10)


def _survival_curves(ax, r):
    """Each lab's survival curve with its 95% band, from 1.0 at the base
    year; returns the x values (years)."""
    x = np.concatenate([[r.base_year], r.years])
    s, lo, hi = r.ds["survival"], r.ds["survival_lo"], r.ds["survival_hi"]
    L = len(r.labs)
    for i, lab in enumerate(r.labs):
        c = lab_colour(i)
        ax.fill_between(x, np.concatenate([[1.0], lo[i]]), np.concatenate([[1.0], hi[i]]),
                        color=c, alpha=0.22, linewidth=0)
        ax.plot(x, np.concatenate([[1.0], s[i]]), color=c, **_line_style(i, L),
                label=_name(lab, 28) + (" (backstopped)" if r.backstopped[i] else ""))
    return x


def _survival_lines(ax, r, legend_out=False):
    """The summary's chart: the survival curves, compact."""
    x = _survival_curves(ax, r)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("P(alive at the end of the year)", fontsize=8)
    ax.tick_params(labelsize=8)
    _years_ticks(ax, x)
    if legend_out:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)


def fig_survival(r):
    fig = Figure(figsize=WIDE)
    ax = fig.add_subplot(1, 1, 1)
    x = _survival_curves(ax, r)
    ax.set_xlabel("year (end of)")
    ax.set_ylabel("probability lab is alive (independent and solvent)")
    ax.set_ylim(-0.02, 1.02)
    _years_ticks(ax, x)
    size = (f"n_eff {r.n_eff:.0f} of {r.paths} weighted paths" if r.conditioned
            else f"{r.paths} paths")
    ax.set_title(f"Survival by year, {_name(r.attrs.get('scenario_name', r.name), 60)} "
                 f"(shaded: 95% Monte Carlo interval, {size})")
    ax.legend(loc="lower left", ncol=2, frameon=True,
              title="lines at 1.0 are drawn widest first: each shows as an edge")
    _fixed_margins(fig)
    return fig


# How each way of leaving is drawn in the exit-year figure (EXITS order,
# stacked bottom to top): failed and bought solid, wound down hatched,
# bought while solvent a light fill with dots.
EXIT_STYLE = {"failed_acquired": dict(solid=True, hatch=None),
              "failed_wound_down": dict(solid=False, hatch="////"),
              "acquired_solvent": dict(solid=False, hatch="..", alpha=0.3)}


def exit_year_bars(r, i):
    """{dataset: share of paths leaving in each year (length T)} for lab i,
    by outcome code (EXITS)."""
    N, T = r.fail_year.shape[0], len(r.years)
    fy, oc = r.fail_year[:, i], r.outcome[:, i]
    left = (fy >= 1) & (fy <= T)
    w = r.weight  # a conditioned run: shares of the weight
    total = float(N) if w is None else float(np.sum(w))
    return {name: np.bincount(fy[left & (oc == code)], minlength=T + 1,
                              weights=None if w is None else w[left & (oc == code)])[1:T + 1]
            / total for code, name, _ in EXITS}


def fig_failure_years(r):
    fig, axes = _grid(len(r.labs))
    for i, ax in enumerate(axes):
        c = lab_colour(i)
        bars = exit_year_bars(r, i)
        if not (sum(v.sum() for v in bars.values()) > 0):
            _empty_panel(ax, "backstopped: the parent covers its losses,\nit never leaves"
                         if r.backstopped[i] else "no exits in any path")
            ax.set_ylim(0, 1)
            ax.set_xlim(r.years[0] - 0.6, r.years[-1] + 0.6)
        else:
            bottom = np.zeros(len(r.years))
            for _, name, _ in EXITS:
                st = EXIT_STYLE[name]
                x0, x1, top = r.years - 0.4, r.years + 0.4, bottom + bars[name]
                if st.get("alpha"):  # a light fill of the lab's colour under the hatch
                    _rects(ax, x0, x1, bottom, top, facecolors=c, alpha=st["alpha"],
                           edgecolors="none")
                _rects(ax, x0, x1, bottom, top, facecolors=c if st["solid"] else "none",
                       edgecolors=c, hatch=st["hatch"])
                bottom = bottom + bars[name]
        _lab_title(ax, r, i)
        _years_ticks(ax, r.years)
        ax.tick_params(axis="x", labelrotation=45)
    _outer_labels(axes, "year the lab left", "probability (share of paths)", fig)
    handles = []
    for _, name, label in EXITS:
        st = EXIT_STYLE[name]
        handles.append(Patch(facecolor="0.45" if st["solid"] else
                             ("0.85" if st.get("alpha") else "white"),
                             edgecolor="0.45", hatch=st["hatch"], label=label))
    _finish_grid(fig, "Year of exit by outcome (the bars stack to P(leaving in that year): "
                 "failed, or bought while solvent)", handles)
    return fig


def fig_fan(r, name, what, unit):
    q = r.ds[name]
    qs = list(np.round(r.quantiles, 2))
    try:
        k05, k25, k50, k75, k95 = (qs.index(v) for v in (0.05, 0.25, 0.5, 0.75, 0.95))
    except ValueError:
        k05, k25, k50, k75, k95 = 0, 1, 2, 3, 4
    fig, axes = _grid(len(r.labs))
    for i, ax in enumerate(axes):
        c = lab_colour(i)
        qi = q[i]
        if not np.isfinite(qi).any():
            _empty_panel(ax, "alive in no path")
        elif r.backstopped[i] and name == "cash_q" and np.nanmax(qi) == np.nanmin(qi):
            _empty_panel(ax, "backstopped: the parent covers its losses\n"
                         f"(cash {np.nanmax(qi):g} in every path)")
        elif len(r.years) == 1:  # one year: bands as thick vertical bars
            ax.vlines(r.years, qi[:, k05], qi[:, k95], color=c, alpha=0.18, lw=14)
            ax.vlines(r.years, qi[:, k25], qi[:, k75], color=c, alpha=0.40, lw=14)
            ax.plot(r.years, qi[:, k50], color=c, marker="_", ms=16, mew=2, ls="none")
        else:
            ax.fill_between(r.years, qi[:, k05], qi[:, k95], color=c, alpha=0.18, lw=0,
                            label="5-95%")
            ax.fill_between(r.years, qi[:, k25], qi[:, k75], color=c, alpha=0.40, lw=0,
                            label="25-75%")
            ax.plot(r.years, qi[:, k50], color=c, lw=2, label="median")
        ax.set_xlim(r.years[0] - 0.6, r.years[-1] + 0.6)
        _lab_title(ax, r, i)
        # Quantiles span orders of magnitude and reach 0: a symmetric log
        # axis (linear below 0.1) keeps the median readable under the 95%
        # band. Revenue is never negative, nor is the cash of a lab alive
        # at the year's end (it would have failed), so the axis starts at
        # 0 instead of spending half its height on what cannot happen.
        ax.set_yscale("symlog", linthresh=0.1, linscale=0.5)
        fin = qi[np.isfinite(qi)]
        if fin.size and fin.min() >= 0:
            ax.set_ylim(0, max(float(fin.max()) * 1.6, 0.2))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_plain_number))
        _years_ticks(ax, r.years)
        ax.tick_params(axis="x", labelrotation=45)
    _outer_labels(axes, "year", f"{what}, {unit}", fig)
    _finish_grid(fig, f"{what[0].upper() + what[1:]} among paths where the lab is alive "
                 "(symmetric log scale: linear below 0.1)",
                 [Patch(facecolor="0.3", alpha=0.18, label="5-95% of alive paths"),
                  Patch(facecolor="0.3", alpha=0.40, label="25-75%"),
                  matplotlib.lines.Line2D([], [], color="0.3", lw=2, label="median")])
    return fig


def _plain_number(v, pos=None):
    """A tick label as a plain number (0.1, 1, 10, 100, -10), not as
    10^k: US$ billions read better so, and drawing them needs no
    mathtext (the fan charts draw faster)."""
    if v == 0:
        return "0"
    return f"{v:g}" if 1e-4 <= abs(v) < 1e6 else f"{v:.0e}"


def fig_profitable(r):
    fig = Figure(figsize=WIDE)
    ax = fig.add_subplot(1, 1, 1)
    p = r.ds["profitable_by"]
    L = len(r.labs)
    for i, lab in enumerate(r.labs):
        ax.plot(r.years, p[i], color=lab_colour(i), **_line_style(i, L), label=_name(lab, 28))
    ax.set_xlabel("year (end of)")
    ax.set_ylabel("probability of a year with positive\noperating cash flow so far")
    ax.set_ylim(-0.02, 1.02)
    _years_ticks(ax, r.years)
    ax.set_title("Turned profitable (operating cash flow > 0) by each year, alive or not")
    ax.legend(loc="upper left", ncol=2)
    _fixed_margins(fig)
    return fig


def fig_independent_alive(r):
    p = r.ds["independent_alive"]
    T, K = p.shape
    n_indep = sum(1 for b in r.backstopped if not b)
    nz = [n for n in range(K) if np.nan_to_num(p[:, n]).max() > 0]
    nmax = max([n_indep] + nz) if nz else n_indep
    nmax = min(nmax, K - 1)
    cmap = matplotlib.colormaps["viridis"]
    fig = Figure(figsize=WIDE)
    ax = fig.add_subplot(1, 1, 1)
    bottom = np.zeros(T)
    for n in range(nmax + 1):
        v = np.nan_to_num(p[:, n])
        ax.bar(r.years, v, bottom=bottom, width=0.8, color=cmap(n / max(nmax, 1)),
               edgecolor="white", linewidth=0.5, label=f"{n} alive")
        bottom += v
    mean = (np.nan_to_num(p) * np.arange(K)[None, :]).sum(axis=1)
    ax2 = ax.twinx()
    ax2.plot(r.years, mean, color="black", lw=2, marker="o", ms=3, label="expected number")
    ax2.set_ylim(0, max(nmax, 1) * 1.02)
    ax2.set_ylabel("expected number of independent labs alive")
    ax2.grid(False)
    ax.set_xlabel("year (end of)")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1.0)
    _years_ticks(ax, r.years)
    ax.set_title(f"Number of independent (not backstopped) labs alive, of {n_indep}")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1[::-1] + h2, l1[::-1] + l2, loc="center left", bbox_to_anchor=(1.08, 0.5))
    _fixed_margins(fig, right=2.3)
    return fig


def tornado_data(r):
    """[(lab index, [(input, rho), ...] largest |rho| first)], [notes]."""
    sens = r.ds.get("sensitivity_survival")
    have, notes = [], []
    if sens is None or sens.size == 0 or not r.inputs:
        return have, ["The file has no drawn inputs (every input is a constant), so there "
                      "is no sensitivity to show."]
    for i, lab in enumerate(r.labs):
        row = sens[i] if i < sens.shape[0] else np.array([])
        ok = [(r.inputs[k], float(row[k])) for k in range(min(len(row), len(r.inputs)))
              if math.isfinite(row[k])]
        if not ok:
            why = ("it has a parent backstop and is alive in every path"
                   if r.backstopped[i] else "its survival is the same in every path")
            notes.append(f"{lab}: no tornado: {why}, so a rank correlation with survival is "
                         "undefined (NaN).")
            continue
        ok.sort(key=lambda t: -abs(t[1]))
        have.append((i, ok[:TORNADO_TOP]))
    return have, notes


def fig_tornado(r, have):
    n = len(have)
    ncols = 2 if n > 1 else 1
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(11.0 if ncols == 2 else 8.0, 3.1 * nrows + 0.8))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    lim = max(abs(v) for _, rows in have for _, v in rows)
    lim = min(1.0, max(0.05, lim * 1.15))
    short = f"{r.years[-1]}"
    for ax, (i, rows) in zip(axes, have):
        c = lab_colour(i)
        names = [nm for nm, _ in rows][::-1]
        vals = [v for _, v in rows][::-1]
        y = np.arange(len(rows))
        ax.barh(y, vals, color=[c if v >= 0 else "white" for v in vals], edgecolor=c,
                hatch=None, height=0.7)
        for yy, v in zip(y, vals):
            if v < 0:
                ax.barh([yy], [v], color="white", edgecolor=c, hatch="///", height=0.7)
            ax.text(v + (0.01 * lim if v >= 0 else -0.01 * lim), yy, f"{v:+.2f}",
                    va="center", ha="left" if v >= 0 else "right", fontsize=7.5)
        ax.set_yticks(y)
        ax.set_yticklabels(names, fontsize=8)
        ax.axvline(0, color="0.2", lw=0.8)
        ax.set_xlim(-lim * 1.25, lim * 1.25)
        ax.set_xlabel(f"Spearman rank correlation with alive in {short}")
        _lab_title(ax, r, i)
    fig.suptitle(f"What drives survival to {short}: top {TORNADO_TOP} inputs by |rank "
                 "correlation| (solid: higher value helps; hatched: hurts)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def _colour_in(r, lab):
    """A lab's colour is its index in this run (the variant of a comparison)."""
    return lab_colour(r.labs.index(lab)) if lab in r.labs else "0.4"
SENS_TOP = 8                # factors (inputs or correlated sets) shown per lab
_SENS_NEW = ("sensitivity_index", "sensitivity_swing", "sensitivity_group_index",
             "input_group", "group")


class SensitivityData:
    """The file's first-order indices and swings (docs/outputs.md), checked:
    index and swing [lab, year, input], gindex [lab, year, group],
    input_group [input], groups (names), cols (year indices to show)."""


def _short_market(name):
    """An input's name to show (read from a file: cleaned and cut), without
    the "market." prefix."""
    return _name(name[len("market."):] if name.startswith("market.") else name)


def sensitivity_data(r):
    """SensitivityData, or None when the file predates the datasets (then
    the section falls back to the rank-correlation tornado). ResultError
    when they are there but malformed, or --years names a year the result
    does not have."""
    with h5py.File(r.path, "r") as f:
        if not all(n in f for n in _SENS_NEW):
            return None
        sd = SensitivityData()
        try:
            sd.index = np.asarray(f["sensitivity_index"][()], dtype=np.float64)
            sd.swing = np.asarray(f["sensitivity_swing"][()], dtype=np.float64)
            sd.gindex = np.asarray(f["sensitivity_group_index"][()], dtype=np.float64)
            sd.input_group = np.asarray(f["input_group"][()], dtype=np.int64)
            sd.groups = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                         for v in f["group"][()]]
        except (TypeError, ValueError, OSError) as e:
            raise ResultError(f"{r.path}: the sensitivity datasets cannot be read ({e})") from None
    L, T, I, G = len(r.labs), len(r.years), len(r.inputs), len(sd.groups)
    if (sd.index.shape != (L, T, I) or sd.swing.shape != (L, T, I)
            or sd.gindex.shape != (L, T, G) or sd.input_group.shape != (I,)
            or (I and (sd.input_group.min() < 0 or sd.input_group.max() >= G))):
        raise ResultError(f"{r.path}: the sensitivity datasets do not match the lab, year, "
                          "input and group axes")
    if np.any(np.abs(sd.swing[np.isfinite(sd.swing)]) > 1 + 1e-12) or np.any(
            np.isinf(sd.index)) or np.any(np.isinf(sd.gindex)):
        raise ResultError(f"{r.path}: sensitivity_swing or an index holds impossible values")
    want = getattr(r, "sensitivity_years", None)
    if want:
        bad = [y for y in want if y not in set(int(v) for v in r.years)]
        if bad:
            raise ResultError(f"--years {bad[0]}: not a year of {r.path} "
                              f"({int(r.years[0])}..{int(r.years[-1])})")
        sd.cols = [int(np.nonzero(r.years == y)[0][0]) for y in want]
    else:
        sd.cols = r.headline_years()
    sd.members = [[k for k in range(I) if sd.input_group[k] == g] for g in range(G)]
    sd.correlated = [g for g in range(G) if len(sd.members[g]) > 1]
    return sd


def _set_label(sd, r, g):
    names = [_short_market(r.inputs[k]) for k in sd.members[g]]
    if len(names) == 1:
        return names[0]
    return "correlated set: " + " + ".join(names)


def sensitivity_rows(r, sd, i):
    """Lab i's factors, largest first: (label, [index per shown year],
    is a set). A correlated set is one factor (its joint index), never
    its members one by one."""
    rows = []
    for g in range(len(sd.groups)):
        v = [float(sd.gindex[i, t, g]) for t in sd.cols]
        if any(math.isfinite(x) for x in v):
            rows.append((_set_label(sd, r, g), v, len(sd.members[g]) > 1))
    rows.sort(key=lambda row: -max((x for x in row[1] if math.isfinite(x)), default=0.0))
    return rows[:SENS_TOP]


def swing_rows(r, sd, i):
    """Lab i's inputs by the largest |swing| over the shown years: (label,
    [swing in points per year], in a correlated set)."""
    rows = []
    for k, name in enumerate(r.inputs):
        v = [100.0 * float(sd.swing[i, t, k]) for t in sd.cols]
        if any(math.isfinite(x) for x in v):
            rows.append((_short_market(name) + (" *" if len(sd.members[sd.input_group[k]]) > 1
                                               else ""), v, False))
    rows.sort(key=lambda row: -max((abs(x) for x in row[1] if math.isfinite(x)), default=0.0))
    return rows[:SENS_TOP]


SENS_WRAP = 42              # characters per line of a sensitivity factor's label
SENS_LABEL_PT = 7           # its font size


def _rects(ax, x0, x1, y0, y1, sticky="y", **style):
    """Bars as one PolyCollection (rectangles from x0..x1 by y0..y1, arrays
    or scalars), not a patch per bar as ax.bar makes: a patch each was the
    slowest part of the bar figures. The axis sticks at 0 on the bars'
    base (sticky "y": vertical bars; "x": horizontal), as with ax.bar."""
    from matplotlib.collections import PolyCollection
    x0, x1, y0, y1 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x0, x1, y0, y1)))
    verts = np.stack([np.stack([x0, y0], -1), np.stack([x1, y0], -1),
                      np.stack([x1, y1], -1), np.stack([x0, y1], -1)], axis=-2)
    coll = PolyCollection(verts.reshape(-1, 4, 2), **style)
    getattr(coll.sticky_edges, sticky).append(0.0)
    ax.add_collection(coll)
    ax.autoscale_view()
    return coll


def _grouped_barh(ax, rows, years, colour, fmt):
    """One group of bars per row (top row first), one bar per year; returns
    the legend's handles (one per year). The bars of a year are one or two
    PolyCollections (plain, and hatched for correlated sets), not a patch
    per bar: a patch each made this figure the report's slowest."""
    nyr = len(years)
    h = 0.8 / max(1, nyr)
    shades = np.linspace(1.0, 0.35, nyr) if nyr > 1 else [1.0]
    handles = []
    for j, (yr, a) in enumerate(zip(years, shades)):
        y = len(rows) - 1 - np.arange(len(rows)) + (nyr - 1 - 2 * j) * h / 2
        v = np.array([row[1][j] if math.isfinite(row[1][j]) else 0.0 for row in rows])
        hatched = np.array([bool(row[2]) for row in rows])
        for hatch in (False, True):
            sel = hatched == hatch
            if sel.any():
                _rects(ax, 0.0, v[sel], y[sel] - h * 0.475, y[sel] + h * 0.475, sticky="x",
                       facecolors=colour, edgecolors="0.25", linewidths=0.4,
                       alpha=float(a), hatch="///" if hatch else None)
        handles.append(Patch(facecolor=colour, edgecolor="0.25", lw=0.4, alpha=float(a),
                             label=str(yr)))
    for k, row in enumerate(rows):
        best = max((x for x in row[1] if math.isfinite(x)), key=abs, default=float("nan"))
        if math.isfinite(best):
            ax.text(best, len(rows) - 1 - k, " " + fmt(best), va="center",
                    ha="left" if best >= 0 else "right", fontsize=7)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([textwrap.fill(row[0], SENS_WRAP) for row in rows][::-1],
                       fontsize=SENS_LABEL_PT)
    ax.axvline(0, color="0.2", lw=0.8)
    return handles


def _label_inches(labels, pt=SENS_LABEL_PT):
    """A generous width of the widest tick label, from its longest line
    (DejaVu Sans averages under 0.62 em a character): the layout is set
    from this instead of measuring every text (tight_layout), which took
    half the figure's time."""
    chars = max((len(line) for lab in labels for line in lab.split("\n")), default=0)
    return chars * 0.62 * pt / 72.0


def fig_sensitivity(r, sd, labs):
    """Per lab: first-order indices (a correlated set is one hatched bar)
    and swings in probability points, one bar per year shown."""
    years = [int(r.years[t]) for t in sd.cols]
    n = len(labs)
    rows_i = [sensitivity_rows(r, sd, i) for i in labs]
    rows_s = [swing_rows(r, sd, i) for i in labs]
    width, row_h = 12.0, 3.1
    note = ""
    if sd.correlated:
        note = ("\nInputs are correlated in this scenario: a correlated set is one hatched bar "
                "(its joint index); * marks an input whose swing includes its set's")
    top_in = (0.75 if note else 0.45) + 0.35   # the title, then the first lab's name
    fig = Figure(figsize=(width, row_h * n + 1.0))
    height = fig.get_figheight()
    wrap = [[textwrap.fill(row[0], SENS_WRAP) for row in rr] for rr in rows_i]
    left_in = _label_inches([x for w in wrap for x in w]) + 0.2
    gap_in = _label_inches([row[0] for rr in rows_s for row in rr]) + 0.45
    panel_w = (width - left_in - gap_in - 0.25) / 2
    fig.subplots_adjust(left=left_in / width, right=1 - 0.25 / width,
                        top=1 - top_in / height, bottom=0.55 / height,
                        wspace=gap_in / panel_w,
                        hspace=0.95 / ((height - top_in - 0.55 - 0.95 * (n - 1)) / n))
    axes = fig.subplots(n, 2, squeeze=False)
    for (ax_i, ax_s), i, rows, srows in zip(axes, labs, rows_i, rows_s):
        c = lab_colour(i)
        if rows:
            _grouped_barh(ax_i, rows, years, c, lambda v: f"{v:.3f}")
            top = max(max((x for x in row[1] if math.isfinite(x)), default=0) for row in rows)
            ax_i.set_xlim(min(0.0, min(min(x for x in row[1] if math.isfinite(x))
                                       for row in rows)) - 0.01, max(0.05, top * 1.3))
        else:
            _empty_panel(ax_i, "survival is the same in every path")
        ax_i.set_xlabel("first-order index (share of the variance of survival)", fontsize=8)
        _lab_title(ax_i, r, i)
        if srows:
            handles = _grouped_barh(ax_s, srows, years, c, lambda v: f"{v:+.1f}")
            lim = max(abs(x) for row in srows for x in row[1] if math.isfinite(x))
            lim = max(1.0, lim * 1.35)
            ax_s.set_xlim(-lim, lim)
            ax_s.legend(handles=handles, title="year", fontsize=7, title_fontsize=7,
                        loc="lower right")
        else:
            _empty_panel(ax_s, "no swing to show")
        ax_s.set_xlabel("swing: P(alive | input high) - P(alive | input low), points",
                        fontsize=8)
    fig.suptitle(f"What drives survival in {', '.join(map(str, years))}: first-order "
                 f"indices (left) and swings (right), top {SENS_TOP} per lab" + note,
                 fontsize=10, y=1 - 0.12 / height, va="top")
    return fig


def sensitivity_section(r):
    """The sensitivity section: indices and swings by year when the file has
    them (the rank correlations then follow as a table), else the
    horizon-only rank-correlation tornado of older files."""
    have, notes = tornado_data(r)
    notes_html = "".join(f"<p class=\"note\">{html.escape(n)}</p>" for n in notes)
    sd = sensitivity_data(r) if r.inputs else None
    title = "What drives survival (sensitivity)"
    if sd is None:
        cap = ("Spearman rank correlation, over paths, between each drawn input and whether "
               f"the lab is alive in {r.years[-1]}; the {TORNADO_TOP} inputs with the largest "
               "magnitude are shown, largest on top. A bar to the right (solid) means higher "
               "values of that input go with survival; to the left (hatched), with failure. "
               "Correlation is not causation, and two inputs that are correlated in the "
               "scenario share credit. (This file has no sensitivity indices: it was written "
               "before them.)")
        if have:
            return Section("tornado", title, cap, lambda: fig_tornado(r, have),
                           extra_html=notes_html)
        return Section("tornado", title, cap, note=" ".join(notes))
    years = ", ".join(str(int(r.years[t])) for t in sd.cols)
    labs = [i for i in range(len(r.labs)) if np.any(np.isfinite(sd.index[i][sd.cols]))]
    cap = (f"For each lab and each of the years {html.escape(years)} (choose them with "
           "<code>--years</code>): left, the <b>first-order sensitivity index</b> of each "
           "input, the share of the variance of &quot;alive at the end of the year&quot; that "
           "knowing that input alone removes (0: none, 1: all), estimated from the paths "
           "already run; right, the <b>swing</b>: how many percentage points survival changes "
           "between paths with the input around its 90th percentile (85-95%) and around its "
           "10th (5-15%); positive means a higher value helps. Lighter bars are later years. "
           f"The {SENS_TOP} largest are shown. docs/reports.md explains the estimator.")
    if sd.correlated:
        sets = "; ".join(html.escape(_set_label(sd, r, g)) for g in sd.correlated)
        cap += (" <b>Inputs are correlated in this scenario</b> (" + sets + "): an input of "
                "a correlated set also carries what its partners do, so the set is shown as "
                "one hatched bar with its joint index, and its members' indices are not "
                "credited one by one; in the swings, * marks a member of a set.")
    extra = [notes_html]
    if have:
        head = ["lab"] + [f"rank correlation #{k + 1}" for k in range(3)]
        rows = [[_name(r.labs[i])] + [f"{_short_market(nm)} {v:+.2f}" for nm, v in rr[:3]]
                + [""] * (3 - len(rr[:3])) for i, rr in have]
        extra.append(f"<p>Rank correlations with survival to {int(r.years[-1])} "
                     "(Spearman; the older tornado), largest magnitude first:</p>")
        extra.append(_html_table(head, rows))
    if not labs:
        return Section("tornado", title, cap, note="Survival is the same in every path for "
                       "every lab in these years: no input changes it.")
    return Section("tornado", title, cap, lambda: fig_sensitivity(r, sd, labs),
                   extra_html="\n".join(extra), weight=0.6 * len(labs))


def fig_comparison(c):
    fig, axes = _grid(len(c.labs), sharey=True)
    bounds = [c.lo.ravel(), c.hi.ravel(), [0.01]]
    if c.paired:
        bounds += [c.unpaired_lo.ravel(), c.unpaired_hi.ravel()]
    lim = np.nanmax(np.abs(np.concatenate(bounds)))
    lim = float(lim) * 1.1 if math.isfinite(lim) else 1.0
    for i, ax in enumerate(axes):
        col = _colour_in(c.b, c.labs[i])
        ax.axhline(0, color="0.2", lw=0.8)
        if c.paired:
            ax.plot(c.years, c.unpaired_lo[i], color=col, lw=0.9, ls="--")
            ax.plot(c.years, c.unpaired_hi[i], color=col, lw=0.9, ls="--")
        ax.fill_between(c.years, c.lo[i], c.hi[i], color=col, alpha=0.3, lw=0)
        ax.plot(c.years, c.diff[i], color=col, lw=2, marker="o", ms=3)
        ax.set_ylim(-lim, lim)
        ax.set_title(_name(c.labs[i], 28), color=col, fontweight="bold", fontsize=10)
        _years_ticks(ax, c.years)
        ax.tick_params(axis="x", labelrotation=45)
    _outer_labels(axes, "year (end of)", "change in P(alive)", fig)
    handles = [matplotlib.lines.Line2D([], [], color="0.3", lw=2, label="difference"),
               Patch(facecolor="0.3", alpha=0.3, label=f"95% interval ({c.method})")]
    if c.paired:
        handles.append(matplotlib.lines.Line2D([], [], color="0.3", lw=0.9, ls="--",
                                               label="unpaired 95% interval, for contrast"))
    _finish_grid(fig, f"Change in survival probability: {_name(c.b.name, 60)} minus baseline "
                 f"{_name(c.a.name, 60)}", handles)
    return fig


# ---------------------------------------------------------------- evidence
# MODEL.md section 8: what a conditioned run was conditioned on, a
# backtest's scores, and what the worlds where a lab fails look like.
FAIL_BY_YEAR = 5        # "the worlds where it fails by year 5"
EXPLAIN_TOP = 5         # inputs shown per lab
EXPLAIN_MIN_PATHS = 20  # fewer failing (or surviving) paths: no comparison
EXPLAIN_MAX_PATHS = 25000  # the comparison uses the first paths (a random sample)
N_EFF_WARN = 100        # the engine warns below this effective sample size


def _send_frame(fd, obj):
    """One pickled object on a pipe, after its 8-byte length."""
    data = pickle.dumps(obj)
    view = memoryview(len(data).to_bytes(8, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fh, n):
    out = bytearray()
    while len(out) < n:
        b = fh.read(n - len(out))
        if not b:
            return None
        out += b
    return bytes(out)


_STOP_SIGNALS = {getattr(signal, n) for n in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, n)}


def _hold_signals():
    """Blocks the stopping signals (they stay pending); returns the mask
    to restore, or None where signals cannot be blocked."""
    try:
        return signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    except (AttributeError, OSError, ValueError):
        return None


def _release_signals(held):
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


class Background:
    """fn() computed in a forked child, on another core, while the parent
    goes on drawing; result() waits for it and returns its value. With
    stream=True, fn() is a generator whose items the parent takes one at a
    time as the child makes them (next_item()), so it need not wait for
    the last. Without fork (or when fork fails) fn() runs in the parent,
    when asked. A child that raises or dies gives BackgroundError (the
    parent never runs fn itself then: what crashed a child must not crash
    the report)."""

    live = set()  # children not yet reaped: cancel_all stops them

    def __init__(self, fn, stream=False):
        self.fn, self.stream, self.pid, self.fh, self.local = fn, stream, None, None, None
        if not hasattr(os, "fork"):
            return
        for st in (sys.stdout, sys.stderr):
            try:
                st.flush()
            except (OSError, ValueError):
                pass
        # The stopping signals wait while the child is made and recorded:
        # one that came inside fork's own handlers (logging's, after the
        # fork) was printed as "Exception ignored" and lost, and the report
        # went on to finish; one that came before the child was recorded
        # left it running. They are delivered below, once it is in `live`.
        held = _hold_signals()
        try:
            try:
                rfd, wfd = os.pipe()
                pid = os.fork()
            except OSError:
                return
            if pid == 0:  # pragma: no cover - the child
                _release_signals(held)
                self._child(fn, stream, rfd, wfd)
            os.close(wfd)
            self.pid, self.fh = pid, os.fdopen(rfd, "rb", buffering=0)  # select sees all
            Background.live.add(self)
        finally:
            _release_signals(held)

    @classmethod
    def cancel_all(cls):
        """Stops every child still running (the report was stopped)."""
        for job in list(cls.live):
            job.cancel()

    def _reaped(self):
        self.pid = None
        Background.live.discard(self)

    @staticmethod
    def _child(fn, stream, rfd, wfd):  # pragma: no cover - runs in the child
        code = 0
        try:
            os.close(rfd)
            try:
                if stream:
                    for item in fn():
                        _send_frame(wfd, ("item", item))
                    _send_frame(wfd, ("end", None))
                else:
                    _send_frame(wfd, ("ok", fn()))
            except BaseException as e:  # noqa: BLE001 - reported by the parent
                _send_frame(wfd, ("error", f"{type(e).__name__}: {e}"))
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)

    def fileno(self):
        """The pipe to wait on with select (None: no child)."""
        return self.fh.fileno() if self.fh is not None else None

    def cancel(self):
        """Stops the child (its result is not wanted)."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
            self.fh.close()
        except OSError:
            pass
        self._reaped()

    def _frame(self):
        """The child's next (kind, value); at its end, reaps it and raises
        BackgroundError if it died without a word."""
        head = _read_exact(self.fh, 8)
        body = _read_exact(self.fh, int.from_bytes(head, "little")) if head else None
        if body is not None:
            return pickle.loads(body)
        self.fh.close()
        _, status = os.waitpid(self.pid, 0)
        self._reaped()
        raise BackgroundError("the computation died"
                              + (f" (signal {os.WTERMSIG(status)})"
                                 if os.WIFSIGNALED(status) else ""))

    def result(self):
        if self.pid is None:
            return self.fn()
        kind, value = self._frame()
        self.fh.close()
        os.waitpid(self.pid, 0)
        self._reaped()
        if kind != "ok":
            raise BackgroundError(value)
        return value

    def next_item(self):
        """A stream's next item; StopIteration at its end."""
        if self.pid is None:
            if self.fh is not None:
                raise StopIteration
            if self.local is None:
                self.local = iter(self.fn())
            return next(self.local)
        kind, value = self._frame()
        if kind == "item":
            return value
        self.fh.close()
        os.waitpid(self.pid, 0)
        self._reaped()
        if kind == "error":
            raise BackgroundError(value)
        raise StopIteration


class BackgroundError(Exception):
    pass


def _observation_label(o):
    """The engine's label of an observation (engine/observe.c)."""
    q = next((k for k in OBS_QUANTITIES if k in o), None)
    if "market" in o:
        return f"{o['market']} market size {o.get('year', '?')}"
    return f"{o.get('lab', '?')} {q or '?'} {o.get('year', '?')}"


OBS_QUANTITIES = ("revenue", "cash", "raised", "op_cash_flow", "share", "status", "size")


def _figure_text(v):
    """An observed value as written: "12.5 to 13.6", a status name, or a
    distribution's keys in flow style."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_figure_text(x)}" for k, x in v.items()) + "}"
    if isinstance(v, float) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def observation_rows(text):
    """[(label, figure, source)] of an observations file's text, or None
    when it cannot be read here (no PyYAML, or not the expected shape: the
    engine validated it; the report then shows the text as it is)."""
    if not text or len(text) > (1 << 20):
        return None
    try:
        import yaml
        doc = yaml.safe_load(text)
    except Exception:  # noqa: BLE001 - shown as text instead
        return None
    obs = doc.get("observations") if isinstance(doc, dict) else None
    if not isinstance(obs, list):
        return None
    rows = []
    for o in obs:
        if not isinstance(o, dict):
            return None
        q = next((k for k in OBS_QUANTITIES if k in o), None)
        rows.append((_observation_label(o), _figure_text(o.get(q, "")) if q else "",
                     " ".join(str(o.get("source", "")).split())))
    return rows


def _obs_file(r):
    f = r.observations_file or (r.backtest.observations_file if r.backtest else None)
    return os.path.basename(f) if f else "the observations file"


def conditioned_sections(r, c):
    """The "Conditioned on" section (what, n_eff, evidence, how to read),
    and prior versus posterior survival when the baseline is the
    unconditioned run."""
    esc = html.escape
    rows = observation_rows(r.observations_yaml)
    n_obs = len(rows) if rows is not None else None
    what = f"{n_obs} observation{'s' if n_obs != 1 else ''}" if n_obs else "observations"
    intro = (f"This run is conditioned on {what} from <code>{esc(_obs_file(r))}</code> "
             "(<code>runway run --condition</code>; model.md section 8): each path is weighted "
             "by the likelihood of what was observed, and every figure and table in this "
             "report is the weighted one: the scenario's forecast updated on those facts.")
    parts = [f"<p>{intro}</p>"]
    pdf = [("p", _plain(intro))]
    if rows is not None:
        parts.append(_html_table(["observation", "figure (90% interval or status)", "source"],
                                 rows, "observations"))
        pdf.append(("table", (["observation", "figure", "source"],
                              [(a, b, textwrap.shorten(src, 90, placeholder=" ..."))
                               for a, b, src in rows])))
    else:
        parts.append(f"<pre id=\"observations_yaml\">{esc(r.observations_yaml or '')}</pre>")
        pdf.append(("mono", _wrap_lines(r.observations_yaml or "", YAML_WRAP)[:30]))
    neff = (f"Effective sample size n_eff = {r.n_eff:.0f} of {r.paths} paths: the weighted "
            f"paths are worth {r.n_eff:.0f} equally weighted ones, and the survival intervals "
            f"are Wilson intervals with n_eff in place of the number of paths. Evidence (the "
            f"mean weight) = {r.evidence:.4g}: the chance, on the likelihoods' scale, that the "
            "scenario gave to what was observed; its ratio between two scenarios conditioned "
            "on the same file is a Bayes factor (<code>runway compare A.h5 B.h5</code>).")
    parts.append(f"<p class=\"neff\">{neff}</p>")
    pdf.append(("p", _plain(neff)))
    if r.n_eff < N_EFF_WARN:
        warn = (f"n_eff is below {N_EFF_WARN}: the scenario can hardly produce what was "
                "observed, and the weighted results rest on a handful of paths. Widen the "
                "scenario's uncertain inputs, or question the observation.")
        parts.append(f"<p class=\"note\">{warn}</p>")
        pdf.append(("p", warn))
    out = [Section("conditioned", "Conditioned on", "", extra_html="\n".join(parts), pdf=pdf)]
    prior = c is not None and not c.a.conditioned
    if prior:
        h, rr = prior_posterior_rows(c, c.a.headline_years())
        same = c.a.attrs.get("scenario_yaml") == r.attrs.get("scenario_yaml")
        note = "" if same else (
            "<p class=\"note\">The baseline is not the same scenario text as this run, so "
            "the 'prior' is another scenario's forecast.</p>")
        cap = (f"Survival before the observations (the prior: the baseline "
               f"<code>{esc(c.a.name)}</code>, not conditioned) and after them (the posterior: "
               f"this run), each with its 95% band. The change and its 95% interval "
               f"({esc(c.method)}) are in the table; the comparison section below has every "
               "year.")
        out.append(Section("prior_posterior", "Prior versus posterior survival", cap,
                           lambda: fig_prior_posterior(c), extra_html=_html_table(h, rr, "prior")
                           + note, pdf=[("p", _plain(cap)), ("table", (h, rr))]))
    else:
        how = ("To see prior versus posterior survival, run the same scenario without "
               f"<code>--condition</code>, with the same seed ({r.seed}) and paths ({r.paths}), "
               "and give it to the report as the baseline: "
               f"<code>runway run SCENARIO -s {r.seed} -n {r.paths} -o prior.h5</code>, then "
               f"<code>runway report {esc(r.name)} --baseline prior.h5</code>: the two runs "
               "share their paths, so the change is measured path by path.")
        if c is not None:
            how = ("The baseline is conditioned too, so the comparison below is posterior "
                   "against posterior (with the Bayes factor of the two runs). " + how)
        out[0].extra_html += f"\n<p class=\"note\">{how}</p>"
        out[0].pdf.append(("p", _plain(how)))
    return out


def prior_posterior_rows(c, cols):
    head = ["lab", "year", "prior P(alive)", "posterior P(alive)", "change", "95% interval"]
    d = _diff_decimals(c)
    rows = []
    for i, lab in enumerate(c.labs):
        for j in cols:
            rows.append([_name(lab), str(int(c.years[j])), fmt_prob(c.p_a[i, j], d),
                         fmt_prob(c.p_b[i, j], d), fmt_signed(c.diff[i, j], d),
                         f"[{fmt_signed(c.lo[i, j], d)}, {fmt_signed(c.hi[i, j], d)}]"])
    return head, rows


def _diff_decimals(c):
    """Decimals of a comparison's table: from its widest interval (report_format)."""
    return max(2, table_decimals(c.lo, c.hi))


def fig_prior_posterior(c):
    a, b = c.a, c.b
    fig, axes = _grid(len(c.labs), sharey=True)
    x = np.concatenate([[b.base_year], b.years])
    for k, ax in enumerate(axes):
        lab = c.labs[k]
        col = _colour_in(b, lab)
        for r, ls, alpha, tag in ((a, "--", 0.12, "prior"), (b, "-", 0.28, "posterior")):
            i = r.labs.index(lab)
            s, lo, hi = (np.concatenate([[1.0], r.ds[key][i]])
                         for key in ("survival", "survival_lo", "survival_hi"))
            ax.fill_between(x, lo, hi, color=col, alpha=alpha, lw=0)
            ax.plot(x, s, color=col, ls=ls, lw=2 if ls == "-" else 1.4, label=tag)
        ax.set_ylim(-0.02, 1.02)
        _lab_title(ax, b, b.labs.index(lab))
        _years_ticks(ax, x)
        ax.tick_params(axis="x", labelrotation=45)
    _outer_labels(axes, "year (end of)", "P(alive)", fig)
    handles = [matplotlib.lines.Line2D([], [], color="0.3", ls="--", lw=1.4,
                                       label=f"prior: {_name(a.name, 60)} (not conditioned)"),
               matplotlib.lines.Line2D([], [], color="0.3", lw=2,
                                       label=f"posterior: {_name(b.name, 60)} "
                                             f"(n_eff {b.n_eff:.0f})")]
    _finish_grid(fig, f"Survival before and after conditioning on {_name(_obs_file(b), 60)} "
                 "(bands: 95% Monte Carlo intervals)", handles)
    return fig


def _sig(v):
    return "-" if v is None or not math.isfinite(v) else f"{v:.3g}"


def backtest_rows(bt):
    """The backtest table: observation, source, predicted 5/50/95, observed,
    PIT, CRPS, verdict (a status: its predicted probability)."""
    head = ["observation", "source", "predicted 5%", "50%", "95%", "observed", "PIT", "CRPS",
            "verdict"]
    q05, q50, q95 = bt.q(0.05), bt.q(0.5), bt.q(0.95)
    rows = []
    for k in range(len(bt)):
        if bt.is_status[k]:
            rows.append([bt.labels[k], bt.source[k], f"p = {bt.status_probability[k]:.3g}", "",
                         "", bt.status[k], "-", "-", bt.verdict[k]])
        else:
            obs = f"{_sig(bt.observed[k])} ({_sig(bt.observed_p5[k])} to {_sig(bt.observed_p95[k])})"
            rows.append([bt.labels[k], bt.source[k], _sig(q05[k]), _sig(q50[k]), _sig(q95[k]),
                         obs, fmt_p(bt.pit[k]), _sig(bt.crps[k]), bt.verdict[k]])
    return head, rows


def coverage_text(bt):
    at = bt.attrs
    nfig = int(at["figures"])
    parts = []
    for lev in (50, 90):
        k = int(getattr(bt, f"inside{lev}")[bt.scored].sum())
        parts.append(f"{lev}% intervals: {k} of {nfig} = "
                     f"{fmt_interval(at[f'coverage{lev}'], at[f'coverage{lev}_lo'], at[f'coverage{lev}_hi'])}")
    out = ("Coverage (share of the observed figures inside the forecast's central interval, "
           "with its 95% binomial (Wilson) interval): " + "; ".join(parts) + ". A well "
           "calibrated scenario covers about 0.5 and 0.9." if nfig else
           "No observed figure could be scored (no path has them).")
    if int(at["statuses"]):
        out += (f" Mean log score of the {int(at['statuses'])} observed statuses: "
                f"{at['mean_log_score']:.3f} (0 when the scenario was certain and right).")
    return out


def backtest_sections(r):
    bt = r.backtest
    esc = html.escape
    intro = (f"<code>runway backtest</code> scored this run against {len(bt)} observations "
             f"from <code>{esc(_obs_file(r))}</code> (model.md section 8): for each observed "
             "figure, the forecast's 5th, 50th and 95th percentiles over the paths where it "
             "exists, the observed median, its PIT (the forecast's probability of a value at "
             "or below it: near 0 the scenario expected more, near 1 less) and CRPS (in the "
             "figure's units; smaller is better); for a status, the probability the scenario "
             "gave it. Money in US$ billion, shares as fractions.")
    cov = coverage_text(bt)
    head, rows = backtest_rows(bt)
    extra = (f"<p class=\"coverage\">{esc(cov)}</p>" + _html_table(head, rows, "backtest"))
    pdf_rows = [[a, textwrap.shorten(b_, 28, placeholder="..."), *rest]
                for a, b_, *rest in rows]
    out = [Section("backtest", "Backtest", intro, extra_html=extra,
                   pdf=[("p", _plain(intro)), ("p", cov), ("table", (head, pdf_rows))])]
    figs = np.nonzero(~bt.is_status)[0]
    if len(figs):
        out.append(Section(
            "backtest_bands", "Backtest: each observed figure against its forecast",
            "For each observed figure, the forecast over the paths where it exists: the box "
            "holds its middle 50% (25th to 75th percentile), the whiskers 90% (5th to 95th), "
            "the bar in the box is the median; the diamond is the observed median with the "
            "observation's own 90% interval. A diamond outside the whiskers is a figure the "
            "scenario put outside its 90% band.", lambda: fig_backtest_bands(r, bt, figs)))
    if int(bt.attrs["figures"]):
        out.append(Section(
            "backtest_pit", "Backtest: calibration",
            "Left: the PIT values of the observed figures; a calibrated scenario spreads them "
            "evenly over 0 to 1 (dashed: the count each bin expects), an overconfident one "
            "piles them at the ends, a vague one in the middle. Right: the share of figures "
            "inside the 50% and 90% central intervals against those nominal levels, with "
            "95% binomial (Wilson) intervals; the diagonal is perfect calibration. With few "
            "observations the intervals are wide.", lambda: fig_backtest_calibration(bt)))
    return out


def _verdict_colour(v):
    return {"inside 50%": "#2ca02c", "inside 90%": "#ff7f0e"}.get(v, "#d62728")


def fig_backtest_bands(r, bt, rows):
    fig, axes = _grid(len(rows), ncols=4, panel=(2.9, 2.6))
    q05, q25, q50, q75, q95 = (bt.q(v) for v in (0.05, 0.25, 0.5, 0.75, 0.95))
    for ax, k in zip(axes, rows):
        subj = bt.subject[k]
        col = lab_colour(r.labs.index(subj)) if subj in r.labs else "0.45"
        if not bt.scored[k]:
            _empty_panel(ax, "no path has this figure")
        else:
            ax.vlines(0, q05[k], q95[k], color=col, lw=1.5)
            ax.hlines([q05[k], q95[k]], -0.08, 0.08, color=col, lw=1.5)
            ax.add_patch(matplotlib.patches.Rectangle((-0.18, q25[k]), 0.36, q75[k] - q25[k],
                                                      facecolor=col, alpha=0.35, edgecolor=col))
            ax.hlines(q50[k], -0.18, 0.18, color=col, lw=2.2)
        y, lo, hi = bt.observed[k], bt.observed_p5[k], bt.observed_p95[k]
        if math.isfinite(y):
            ax.errorbar([0.55], [y], yerr=[[max(y - lo, 0)], [max(hi - y, 0)]], fmt="D",
                        color=_verdict_colour(bt.verdict[k]), ms=6, capsize=4, lw=1.4)
        ax.set_xlim(-0.5, 0.9)
        ax.set_xticks([0, 0.55])
        ax.set_xticklabels(["forecast", "observed"], fontsize=8)
        unit = bt.units[k] or ""
        ax.set_ylabel("US$ billion" if unit == "US$ billion" else "fraction" if unit == "1"
                      else unit, fontsize=8)
        pit = f", PIT {bt.pit[k]:.2f}" if math.isfinite(bt.pit[k]) else ""
        ax.set_title(textwrap.fill(bt.labels[k], 28) + f"\n{bt.verdict[k]}{pit}", fontsize=9,
                     color=col if subj in r.labs else "0.2")
        ax.grid(axis="x", visible=False)
    handles = [Patch(facecolor="0.45", alpha=0.35, edgecolor="0.45",
                     label="forecast 25-75% (box), 5-95% (whiskers), median"),
               matplotlib.lines.Line2D([], [], marker="D", color="#2ca02c", ls="none",
                                       label="observed, inside 50%"),
               matplotlib.lines.Line2D([], [], marker="D", color="#ff7f0e", ls="none",
                                       label="inside 90%"),
               matplotlib.lines.Line2D([], [], marker="D", color="#d62728", ls="none",
                                       label="outside 90%")]
    _finish_grid(fig, f"Forecast bands against what was observed ({_obs_file(r)}; error bars: "
                 "the observation's own 90% interval)", handles)
    return fig


def fig_backtest_calibration(bt):
    fig = Figure(figsize=WIDE)
    ax1, ax2 = fig.subplots(1, 2)
    pit = bt.pit[bt.scored]
    ax1.hist(pit, bins=10, range=(0, 1), color="#1f77b4", alpha=0.75, edgecolor="white")
    ax1.axhline(len(pit) / 10, color="0.3", ls="--", lw=1, label="uniform (calibrated)")
    ax1.set_xlim(0, 1)
    ax1.set_xlabel("PIT: forecast probability of a value at or below the observed")
    ax1.set_ylabel("number of observed figures")
    ax1.set_title(f"PIT histogram ({len(pit)} figures)")
    ax1.legend(loc="upper center")
    at = bt.attrs
    ax2.plot([0, 1], [0, 1], color="0.5", ls="--", lw=1, label="perfect calibration")
    for lev, colr in ((50, "#2ca02c"), (90, "#ff7f0e")):
        cov, lo, hi = at[f"coverage{lev}"], at[f"coverage{lev}_lo"], at[f"coverage{lev}_hi"]
        ax2.errorbar([lev / 100], [cov], yerr=[[cov - lo], [hi - cov]], fmt="o", ms=8,
                     capsize=6, color=colr, label=f"{lev}% interval: {cov:.2f} [{lo:.2f}, {hi:.2f}]")
    ax2.set_xlim(0, 1)
    ax2.set_ylim(0, 1.02)
    ax2.set_xlabel("nominal coverage of the central interval")
    ax2.set_ylabel("share of observed figures inside it")
    ax2.set_title(f"Coverage ({int(at['figures'])} figures, 95% Wilson intervals)")
    ax2.legend(loc="upper left")
    fig.tight_layout()
    return fig


def failure_plan(r):
    """(calendar year, [lab index], [notes], paths used) for the "worlds
    where it fails" figure: the labs that left by simulated year
    FAIL_BY_YEAR (the horizon if shorter) in enough of the first
    EXPLAIN_MAX_PATHS paths, and a note for each lab left out."""
    T = len(r.years)
    t = min(FAIL_BY_YEAR, T)
    year = int(r.years[t - 1])
    M = min(r.paths, EXPLAIN_MAX_PATHS)
    w = None if r.weight is None else r.weight[:M]
    labs, notes = [], []
    for i, lab in enumerate(r.labs):
        lab = _name(lab)  # for the notes; the lab is found by index
        if r.backstopped[i]:
            notes.append(f"{lab}: left out: it has a parent backstop and never leaves.")
            continue
        fy = r.fail_year[:M, i]
        gone = (fy >= 1) & (fy <= t)
        stay = ~gone
        if w is not None:
            gone, stay = gone & (w > 0), stay & (w > 0)
        n_in, n_out = int(np.count_nonzero(gone)), int(np.count_nonzero(stay))
        if n_in == 0:
            notes.append(f"{lab}: left out: it leaves by {year} in no path"
                         + (f" of the first {M}" if M < r.paths else "") + ".")
        elif n_out == 0:
            notes.append(f"{lab}: left out: it leaves by {year} in every path, so there is "
                         "nothing to compare.")
        elif min(n_in, n_out) < EXPLAIN_MIN_PATHS:
            notes.append(f"{lab}: left out: it leaves by {year} in {n_in} of "
                         f"{n_in + n_out} paths, too few to compare.")
        else:
            labs.append(i)
    return year, labs, notes, M


def ks_noise(r, i, year_index, M):
    """The Kolmogorov-Smirnov D that two samples of these sizes exceed by
    chance 5% of the time, 1.358 sqrt((n + m) / (n m)), with n and m the
    (effective, when weighted) numbers of paths where lab i has and has not
    left by the year, among the first M."""
    fy = r.fail_year[:M, i]
    gone = (fy >= 1) & (fy <= year_index + 1)
    if r.weight is None:
        n, m = np.count_nonzero(gone), np.count_nonzero(~gone)
    else:
        w = r.weight[:M]
        n, m = n_eff_of(w[gone]), n_eff_of(w[~gone])
    return 1.358 * math.sqrt((n + m) / (n * m)) if n > 0 and m > 0 else float("nan")


def explain_failures(r, labs, year, max_paths):
    """{lab: explain_lab_failure(...) or an error message}, on the first
    max_paths paths: runs in the Background child. The per-path outcomes
    and weights are the ones load() read and checked; only those paths'
    drawn inputs are read here (scripts/explain.py's PathData)."""
    import explain as explainmod
    M = min(max_paths, r.paths)
    d = explainmod.PathData()
    d.path, d.name = r.path, r.name
    d.labs, d.inputs = list(r.labs), list(getattr(r, "inputs_raw", r.inputs))
    d.base_year, d.horizon, d.paths = r.base_year, r.horizon, M
    d.per_path = str(r.attrs.get("per_path", ""))
    d.scenario_name = str(r.attrs.get("scenario_name", ""))
    d.fail_year, d.outcome = r.fail_year[:M], r.outcome[:M]
    d.weight = None if r.weight is None else r.weight[:M]
    with h5py.File(r.path, "r") as f:
        ds = f["paths/inputs"]
        if ds.dtype.kind not in "fiu" or ds.shape != (r.paths, len(r.inputs)):
            raise ResultError(f"{r.path}: paths/inputs must be numbers of shape "
                              f"({r.paths}, {len(r.inputs)})")
        d.X = np.asarray(ds[:M], dtype=np.float64)
        d.per_year = explainmod._per_year_inputs(f, d.inputs)
    if not np.all(np.isfinite(d.X)):
        raise ResultError(f"{r.path}: paths/inputs holds values that are not finite numbers")
    if d.weight is not None and not d.weight.sum() > 0:
        raise ResultError(f"{r.path}: the first {M} paths all have weight 0")
    out = {}
    for lab in labs:
        try:
            out[lab] = explainmod.explain_lab_failure(d, lab, year, top=EXPLAIN_TOP)
        except (ResultError, explainmod.ExprError) as e:
            out[lab] = str(e)
    return out


def start_failure_worlds(r):
    """Starts the "worlds where it fails" computation in the background
    when the file has the per-path inputs; returns (year, labs, notes,
    paths used, job) or None."""
    if not (r.has_paths and r.has_inputs):
        return None
    year, labs, notes, M = failure_plan(r)
    names = [r.labs[i] for i in labs]
    job = Background(lambda: explain_failures(r, names, year, M)) if labs else None
    return year, labs, notes, M, job


def failure_worlds_section(r, plan):
    title = f"What the worlds where a lab fails by year {FAIL_BY_YEAR} look like"
    if plan is None:
        return Section("failure_worlds", title, "", note=(
            "The file has no per-path drawn inputs (it was written with <code>--per-path "
            "outcomes</code> or <code>none</code>), so the worlds where a lab fails cannot be "
            "described; run with <code>--per-path all</code>, the default."))
    year, labs, notes, M, job = plan
    got = {}
    if job is not None:
        try:
            got = job.result()
        except BackgroundError as e:
            notes = notes + [f"the comparison could not be computed: {e}"]
    have = []
    for i in labs:
        v = got.get(r.labs[i])
        if isinstance(v, dict) and any(x.get("ks_d") is not None for x in v["inputs"]):
            have.append((i, v))
        elif isinstance(v, str):
            notes.append(f"{_name(r.labs[i])}: {clean(v, 500)}")
    notes_html = "".join(f"<p class=\"note\">{html.escape(n)}</p>" for n in notes)
    sample = (f"the first {M} of the {r.paths} paths (paths are independent draws, so they "
              "are a random sample)" if M < r.paths else f"all {r.paths} paths")
    cap = (f"For each lab, the worlds (paths) where it has left by {year} (simulated year "
           f"{min(FAIL_BY_YEAR, len(r.years))}: failed, or bought while solvent) against the "
           f"others: the {EXPLAIN_TOP} drawn inputs whose distributions differ most "
           "(Kolmogorov-Smirnov D, from 0: the same, to 1: no overlap), with their medians "
           "where it leaves and elsewhere. A bar to the right: the input is higher in the "
           "worlds where the lab leaves; to the left (hatched): lower. Bars inside the grey "
           "band are within noise (the D two samples of these sizes exceed by chance 5% of "
           f"the time). Computed on {sample} by <code>scripts/explain.py</code>; "
           "<code>runway explain RESULT.h5 --where \"LAB.fail_year &lt;= "
           f"{year}\"</code> gives the full table on every path and PRIM boxes "
           "(docs/evidence.md)."
           + (" Weighted by paths/weight (a conditioned run)." if r.weight is not None else ""))
    if not have:
        return Section("failure_worlds", title, cap,
                       note=" ".join(html.escape(n) for n in notes) or "No lab to describe.")
    return Section("failure_worlds", title, cap, fig_failure_worlds(r, have, year, M),
                   extra_html=notes_html)


def fig_failure_worlds(r, have, year, M):
    n = len(have)
    ncols = 2 if n > 1 else 1
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(11.0 if ncols == 2 else 8.0, 2.7 * nrows + 0.9))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax, (i, v) in zip(axes, have):
        col = lab_colour(i)
        rows = [x for x in v["inputs"] if x.get("ks_d") is not None][::-1]
        sign = [1 if (x["quantile_shift"] or 0.5) >= 0.5 else -1 for x in rows]
        vals = [sg * x["ks_d"] for sg, x in zip(sign, rows)]
        y = np.arange(len(rows))
        ax.barh(y, vals, color=[col if vv >= 0 else "white" for vv in vals], edgecolor=col,
                height=0.65, hatch=None)
        for yy, vv in zip(y, vals):
            if vv < 0:
                ax.barh([yy], [vv], color="white", edgecolor=col, hatch="///", height=0.65)
        noise = ks_noise(r, i, int(np.nonzero(r.years == year)[0][0]), M)
        lim = max(0.05, max(abs(x) for x in vals) * 1.15,
                  noise * 1.1 if math.isfinite(noise) else 0)
        if math.isfinite(noise):
            ax.axvspan(-noise, noise, color="0.85", alpha=0.6, lw=0, zorder=0)
        for yy, vv, x in zip(y, vals, rows):
            ax.text(0.02 * lim if vv < 0 else -0.02 * lim, yy,
                    f"{_sig(x['median_inside'])} vs {_sig(x['median_outside'])}",
                    va="center", ha="left" if vv < 0 else "right", fontsize=7.5, color="0.25")
        ax.set_yticks(y)
        ax.set_yticklabels([_name(x["input"], 36) for x in rows], fontsize=8)
        ax.axvline(0, color="0.2", lw=0.8)
        ax.set_xlim(-lim * 1.6, lim * 1.6)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5, symmetric=True))
        ax.tick_params(axis="x", labelsize=8)
        ax.set_xlabel("KS D (right: higher where it leaves; left: lower)", fontsize=8)
        t = int(np.nonzero(r.years == year)[0][0])
        ax.set_title(f"{_name(r.labs[i], 28)}: leaves by {year} in {1 - r.ds['survival'][i, t]:.1%} of "
                     f"{'the weight' if r.weight is not None else 'paths'}", color=col,
                     fontweight="bold", fontsize=10)
    fig.suptitle(f"The worlds where each lab has left by {year}: inputs that differ most "
                 "(text: median where it leaves vs elsewhere)", fontsize=11)
    # Fixed margins (room for input names of about 32 characters at 8 pt)
    # instead of tight_layout, which costs as much as drawing the figure.
    H, W = fig.get_figheight(), fig.get_figwidth()
    name, right, top, bottom = 2.1, 0.45, 0.75, 0.55  # inches
    gap_w, gap_h = name + 0.35, 0.85
    aw = (W - name - right - (ncols - 1) * gap_w) / ncols
    ah = (H - top - bottom - (nrows - 1) * gap_h) / nrows
    fig.subplots_adjust(left=name / W, right=1 - right / W, top=1 - top / H, bottom=bottom / H,
                        wspace=gap_w / aw, hspace=gap_h / ah)
    return fig


# ---------------------------------------------------------------- content
def headline_rows(r):
    """Survival at the headline years, then P(left by the horizon) by each
    way of leaving (EXITS), rounded to what the Monte Carlo error supports
    (report_format.table_decimals: the last digit is the first one the
    widest interval reaches). A file without acquired_solvent (written
    before exits while solvent existed) shows 0 there; a file without a
    failure split at all shows n/a."""
    cols = r.headline_years()
    head = ["lab"] + [f"{r.years[j]} (year {j + 1})" for j in cols] + \
        [f"P({label}) by {r.years[-1]}" for _, _, label in EXITS]
    rows = []
    s, lo, hi = r.ds["survival"], r.ds["survival_lo"], r.ds["survival_hi"]
    d = survival_decimals(r)
    exits = r.exit_probs()
    for i, lab in enumerate(r.labs):
        row = [_name(lab) + (" (backstopped)" if r.backstopped[i] else "")]
        row += [_interval(s[i, j], lo[i, j], hi[i, j], d) for j in cols]
        for _, name, _ in EXITS:
            v = exits.get(name)
            row.append(fmt_prob(v[i, -1], d) if v is not None else "n/a")
        rows.append(row)
    return head, rows


def survival_decimals(r):
    return table_decimals(r.ds["survival_lo"], r.ds["survival_hi"])


def _interval(p, lo, hi, d):
    return f"{fmt_prob(p, d)} [{fmt_prob(lo, d)}, {fmt_prob(hi, d)}]"


def comparison_rows(c, cols):
    head = ["lab", "year", "P(alive) baseline", "P(alive) this run", "change",
            "95% interval"] + (["unpaired +/-", "paired +/-"] if c.paired else ["+/-"])
    d = _diff_decimals(c)
    rows = []
    for i, lab in enumerate(c.labs):
        for j in cols:
            row = [_name(lab), str(int(c.years[j])), fmt_prob(c.p_a[i, j], d),
                   fmt_prob(c.p_b[i, j], d), fmt_signed(c.diff[i, j], d),
                   f"[{fmt_signed(c.lo[i, j], d)}, {fmt_signed(c.hi[i, j], d)}]"]
            if c.paired:
                row += [fmt_prob(c.unpaired_halfwidth[i, j], d + 1),
                        fmt_prob(c.halfwidth[i, j], d + 1)]
            else:
                row += [fmt_prob(c.halfwidth[i, j], d + 1)]
            rows.append(row)
    for tag, r, labs in (("this run only", c.b, c.only_b), ("baseline only", c.a, c.only_a)):
        ds = survival_decimals(r)
        for lab, i in labs:
            for j in cols:
                p = fmt_prob(r.ds["survival"][i, j], ds)
                row = [_name(lab) + f" ({tag})", str(int(c.years[j])),
                       p if tag == "baseline only" else "-",
                       p if tag == "this run only" else "-", "-", "-"]
                rows.append(row + ["-"] * (2 if c.paired else 1))
    return head, rows


def _signed(x):
    return f"{x:+.4f}" if math.isfinite(x) else "n/a"


# ---------------------------------------------------------------- summary
# The first page: the question answered (survival at the headline years),
# what drives it, and what changed against the baseline.
DRIVERS_TOP = 3


def _read_swing(r):
    """sensitivity_swing at the horizon ((lab, input) array: P(alive | input
    high) - P(alive | input low)) when the file has it, else None. Read
    here (the loader predates it) and checked: numbers in [-1, 1] or NaN
    on (lab, year, input)."""
    if h5py is None:
        return None
    try:
        with h5py.File(r.path, "r") as f:
            if "sensitivity_swing" not in f:
                return None
            ds = f["sensitivity_swing"]
            if ds.dtype.kind != "f" or ds.shape != (len(r.labs), len(r.years), len(r.inputs)):
                return None
            v = np.asarray(ds[:, -1, :], dtype=np.float64)
    except (OSError, KeyError):
        return None
    if np.any(np.abs(v[np.isfinite(v)]) > 1):
        return None
    return v


def _short_input(name, lab):
    """An input's name without the lab's own prefix ("cash0" for OpenAI's)."""
    if name.startswith(lab + "."):
        return name[len(lab) + 1:]
    return name


def drivers(r):
    """({lab index: [(input, value)] largest |value| first}, kind): kind is
    "swing" (percentage points of survival to the horizon between the
    input's top and bottom deciles) or "rank" (Spearman rank correlation),
    or (None, None) when the file has no drawn inputs."""
    sw = _read_swing(r)
    kind = "swing"
    if sw is None:
        sw = r.ds.get("sensitivity_survival")
        kind = "rank"
        if sw is None or sw.ndim != 2:
            return None, None
    if not r.inputs or sw.shape[1] != len(r.inputs):
        return None, None
    out = {}
    for i, lab in enumerate(r.labs):
        row = sw[i]
        ok = [(r.inputs[k], float(row[k])) for k in range(len(row)) if math.isfinite(row[k])]
        ok.sort(key=lambda t: -abs(t[1]))
        out[i] = [(_short_input(n, lab), v) for n, v in ok[:DRIVERS_TOP] if v != 0]
    return out, kind


def _driver_text(rows, kind):
    if kind == "swing":
        return ", ".join(f"{_name(n, 30)} {100 * v:+.0f} pts" for n, v in rows)
    return ", ".join(f"{_name(n, 30)} ({v:+.2f})" for n, v in rows)


def summary_rows(r):
    """The first page's table: per lab, P(alive) at the headline years as
    percentages with their 95% intervals, and its top drivers."""
    cols = r.headline_years()
    d = survival_decimals(r)
    s, lo, hi = r.ds["survival"], r.ds["survival_lo"], r.ds["survival_hi"]
    drv, kind = drivers(r)
    head = (["lab"] + [f"alive end {r.years[j]}" for j in cols] +
            ["what moves it most" + (" (survival to the horizon, top vs bottom tenth)"
                                     if kind == "swing" else
                                     " (rank correlation with survival)" if kind else "")])
    rows = []
    for i, lab in enumerate(r.labs):
        if r.backstopped[i] and np.all(s[i] == 1.0):
            rows.append([_name(lab, 30)] + ["backstopped"] * len(cols) +
                        ["its parent covers its losses: alive in every path"])
            continue
        cells = [f"{fmt_pct(s[i, j], d)} ({fmt_pct(lo[i, j], d)}-{fmt_pct(hi[i, j], d)})"
                 for j in cols]
        text = _driver_text(drv.get(i, []), kind) if drv else "no drawn inputs"
        rows.append([_name(lab, 30)] + cells + [text or "-"])
    return head, rows, d


def change_rows(c):
    """The first page's comparison: each shared lab's survival to the
    horizon in the baseline and in this run, the change and its 95% interval."""
    d = _diff_decimals(c)
    T = len(c.years) - 1
    head = ["lab", f"baseline {c.years[T]}", f"this run {c.years[T]}", "change (95% interval)"]
    rows = []
    for i, lab in enumerate(c.labs):
        sig = c.lo[i, T] > 0 or c.hi[i, T] < 0
        # points to the digit this row's own interval supports
        k = max(decimals_for(c.halfwidth[i, T], 2, 5) - 2, 0)
        rows.append([_name(lab, 30), fmt_pct(c.p_a[i, T], d), fmt_pct(c.p_b[i, T], d),
                     f"{fmt_signed(100 * c.diff[i, T], k)} pts "
                     f"({fmt_signed(100 * c.lo[i, T], k)} to {fmt_signed(100 * c.hi[i, T], k)})"
                     + ("" if sig else ", not significant")])
    return head, rows


def change_notes(c):
    """Sentences: labs only one run has, the inputs specified differently."""
    out = []
    T = len(c.years) - 1
    for tag, r, labs in (("New in this run", c.b, c.only_b), ("Only in the baseline", c.a,
                                                              c.only_a)):
        if labs:
            d = survival_decimals(r)
            out.append(f"{tag}: " + "; ".join(
                f"{_name(lab, 30)} (alive end {c.years[T]}: "
                f"{fmt_pct(r.ds['survival'][i, T], d)})" for lab, i in labs) + ".")
    if c.changed is None:
        out.append("The two scenario texts could not be compared (python3-yaml missing).")
    elif c.changed:
        shown = [f"{_name(k, 40)}: {_name(va, 40)} -> {_name(vb, 40)}"
                 for k, va, vb in c.changed[:8]]
        more = len(c.changed) - len(shown)
        out.append("Inputs specified differently (baseline -> this run): " + "; ".join(shown)
                   + (f"; and {more} more (runway compare lists them all)" if more else "") + ".")
    else:
        out.append("The two scenarios specify every shared input alike"
                   + (" (the difference is the labs above)." if c.only_a or c.only_b else "."))
    out.append(f"Method: {c.method}" + (" (the two runs share their random numbers, so the "
                                        "change is measured path by path)." if c.paired else
                                        f": {c.reason}."))
    return out


def summary_text(r):
    name = _name(r.attrs.get("scenario_name", r.stem), 80)
    size = (f"{r.paths:,} paths conditioned on {_name(_obs_file(r), 60)} (n_eff {r.n_eff:.0f})"
            if r.conditioned else f"{r.paths:,} paths")
    return (f"How likely is each lab to be alive (independent and solvent) at the end of each "
            f"year, in scenario {name}? {size}, seed {r.seed}, base year {r.base_year}. "
            "Percentages with their 95% Monte Carlo intervals, rounded to what that error "
            "supports; the figures, the tables by year and the scenario text follow.")


PROVENANCE_KEYS = [("scenario_name", "scenario"), ("seed", "seed"), ("paths", "paths"),
                   ("horizon", "horizon (years)"), ("base_year", "base year"),
                   ("runway_version", "runway version"), ("created", "created (UTC)"),
                   ("command_line", "command line"), ("threads", "threads"),
                   ("processes", "processes")]


def provenance_rows(r):
    rows = [("result file", clean(os.path.abspath(r.path), 1000))]
    for k, label in PROVENANCE_KEYS:
        rows.append((label, clean(str(r.attrs.get(k, "n/a")), 1000)))
    return rows


def build_sections(r, c=None, failure="start"):
    """The report's sections. failure: start_failure_worlds(r)'s plan
    (started early, so that it runs while the other figures are drawn),
    or "start" to start it here."""
    if isinstance(failure, str):
        failure = start_failure_worlds(r)
    s = []
    if r.conditioned:
        s += conditioned_sections(r, c)
    if r.backtest is not None:
        s += backtest_sections(r)
    s.append(Section(
        "survival", "Survival curves",
        "Probability that each lab is still alive (independent and solvent) at the end of "
        "each year; the curve starts at 1 in the base year. The shaded band is the 95% "
        "Wilson interval: Monte Carlo error only (it shrinks as 1/&radic;paths), not model "
        "uncertainty.", lambda: fig_survival(r)))
    if r.has_paths:
        s.append(Section(
            "failure_years", "When and how labs leave",
            "For each lab, the share of paths in which it stops being independent and "
            "solvent in each year, split by how: <b>failed and bought</b> (solid: it ran out "
            "of cash but still had revenue a buyer would want), <b>wound down</b> (hatched: "
            "it ran out of cash with too little revenue to sell) and <b>bought while "
            "solvent</b> (dotted, light: acquired before it ran out of cash). The bars of a "
            "lab sum to its probability of having left by the horizon, 1 minus its "
            "survival.", lambda: fig_failure_years(r), weight=2.0))
    else:
        s.append(Section(
            "failure_years", "When and how labs leave", "",
            note="This result file has no per-path data (no <code>paths</code> group), so "
                 "the exit-year histograms cannot be drawn. The headline table still "
                 "gives P(failed and bought), P(wound down) and P(bought while solvent) by "
                 "the horizon."))
    for key, name, what in (("cash_fan", "cash_q", "end-of-year cash"),
                            ("revenue_fan", "revenue_q", "revenue")):
        title = "Cash" if key == "cash_fan" else "Revenue"
        if r.get(name) is not None:
            s.append(Section(
                key, f"{title} fan chart",
                f"Quantiles of {what} (US$ billion) among the paths where the lab is still "
                "alive that year: the line is the median, the dark band holds the middle 50% "
                "of those paths, the light band 90%. Labs that fail drop out, so late years "
                "describe survivors only. The vertical axis is a symmetric log scale (linear "
                "below 0.1) because the paths spread over orders of magnitude.",
                lambda name=name, what=what: fig_fan(r, name, what, "US$ billion"),
                weight=1.5))
        else:
            s.append(Section(key, f"{title} fan chart", "",
                             note=f"The file has no <code>{name}</code> dataset."))
    if r.get("profitable_by") is not None:
        s.append(Section(
            "profitable", "Turning profitable",
            "Probability that the lab has had at least one year of positive operating cash "
            "flow (revenue minus serving, training, staff and other costs, before funding) "
            "by the end of each year, counted over all paths whether or not it survived.",
            lambda: fig_profitable(r)))
    else:
        s.append(Section("profitable", "Turning profitable", "",
                         note="The file has no <code>profitable_by</code> dataset."))
    if r.get("independent_alive") is not None:
        s.append(Section(
            "independent_alive", "How many independent labs survive",
            "Each bar splits the paths of one year by how many labs without a parent "
            "backstop are alive at its end (bars sum to 1); the black line (right axis) is "
            "the expected number.", lambda: fig_independent_alive(r)))
    else:
        s.append(Section("independent_alive", "How many independent labs survive", "",
                         note="The file has no <code>independent_alive</code> dataset."))
    s.append(sensitivity_section(r))
    if r.has_paths or failure is not None:
        s.append(failure_worlds_section(r, failure))
    if c is not None:
        bf = ""
        if c.bayes is not None:
            bf = f" <b>{html.escape(c.bayes.text)}</b>"
        elif c.weighted:
            bf = " " + html.escape(" ".join(comparemod.conditioning_note(x, t) + "."
                                            for x, t in ((c.a, "Baseline"), (c.b, "This run"))))
        s.append(Section(
            "comparison", "Comparison with the baseline",
            f"This run ({html.escape(c.b.name)}) minus the baseline ({html.escape(c.a.name)}): "
            f"<b>{html.escape(c.method)}</b>. {html.escape(c.reason)}. The line is the change "
            "in survival probability, the band its 95% interval"
            + ("; dashed lines: the interval an unpaired comparison of the same two runs "
               "would give, for contrast." if c.paired else ".") + bf, lambda: fig_comparison(c)))
    return s


# ---------------------------------------------------------------- writers
def _draw(fig):
    """(PNG bytes, RGB pixels) of a figure (or of what a function makes),
    drawn once by Agg at PNG_DPI: the PNG for the HTML page, the pixels for
    the PDF page (no PNG to decode again)."""
    if callable(fig):
        fig = fig()
    from PIL import Image
    fig.set_dpi(PNG_DPI)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])
    buf = io.BytesIO()
    # level 1: a third faster than 6 on these flat-coloured charts, for
    # files 6% larger (the baseline's HTML page 1.56 MB against 1.47)
    Image.fromarray(rgb).save(buf, format="png", compress_level=1)
    return buf.getvalue(), rgb


def _png_bytes(fig):
    return _draw(fig)[0]


def _png_b64(fig):
    return base64.b64encode(_png_bytes(fig)).decode("ascii")


def _image_page(drawn):
    """A PDF page holding a figure's PNG at the figure's size: each figure
    is drawn once, by Agg, for the HTML page and the PDF alike (drawing it
    a second time as vectors doubled the report's time). drawn: _draw's
    (PNG bytes, RGB pixels); the PNG's compressed data is kept for the PDF
    (_reuse_pngs), which then need not compress the pixels again."""
    png, arr = drawn
    idat = _png_idat(png)
    if idat is not None:
        _PDF_PNGS[_pixels_key(arr)] = idat
    page = Figure(figsize=(arr.shape[1] / PNG_DPI, arr.shape[0] / PNG_DPI))
    ax = page.add_axes((0, 0, 1, 1))
    # drawn from the bottom row up (origin "lower"): the PDF backend then
    # gets the rows in the PNG's order, top first, and the PNG's data fits
    ax.imshow(arr[::-1], origin="lower", interpolation="none", aspect="auto")
    ax.set_axis_off()
    return page


_PDF_PNGS = {}  # _pixels_key(RGB pixels) -> their PNG's IDAT data (zlib, PNG-filtered rows)


def _pixels_key(arr):
    """A figure's pixels told apart from the report's other figures: the
    shape and two checksums (64 bits; blake2b took 0.18 s of the report's
    main process for its 16 calls)."""
    b = np.ascontiguousarray(arr).data
    return arr.shape, zlib.crc32(b), zlib.adler32(b)


def _png_idat(png):
    """The concatenated IDAT data of an 8-bit RGB, non-interlaced PNG (what
    PIL writes from _draw), or None for any other PNG. That data is what a
    PDF image stream holds with /FlateDecode and PNG predictors."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos, idat = 8, []
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR" and (data[8], data[9], data[12]) != (8, 2, 0):
            return None  # not 8 bits, RGB, non-interlaced
        if kind == b"IDAT":
            idat.append(data)
        if kind == b"IEND":
            return b"".join(idat) or None
        pos += 12 + length
    return None


def _reuse_pngs(pdf):
    """Lets pdf (a PdfPages) store a figure's pixels as the PNG data _draw
    already compressed (_PDF_PNGS) instead of compressing them again when
    it closes: that took 0.7 s of the report's 5. It overrides one method
    of matplotlib's PdfFile (3.6) on this object only; where the internals
    differ, or the pixels are not a figure's, matplotlib writes the image
    as it always does. tests/test_report.py checks that the PDF's images
    are the HTML page's figures, pixel for pixel."""
    from matplotlib.backends.backend_pdf import Name
    f = getattr(pdf, "_file", None)
    needed = ("_writeImg", "beginStream", "reserveObject", "endStream")
    if f is None or not all(hasattr(f, a) for a in needed):
        return
    default = f._writeImg

    def write_img(data, id, smask=None):
        idat = None
        if smask is None and data.ndim == 3 and data.shape[2] == 3 and data.dtype == np.uint8:
            idat = _PDF_PNGS.get(_pixels_key(data))
        if idat is None:
            return default(data, id, smask)
        height, width = data.shape[:2]
        obj = {"Type": Name("XObject"), "Subtype": Name("Image"), "Width": width,
               "Height": height, "ColorSpace": Name("DeviceRGB"), "BitsPerComponent": 8}
        f.beginStream(id, f.reserveObject("length of image stream"), obj,
                      png={"Predictor": 10, "Colors": 3, "Columns": width})
        f.currentstream.write(idat)
        f.endStream()
    f._writeImg = write_img


def _html_table(head, rows, cls=""):
    out = [f"<table class=\"{cls}\">", "<thead><tr>"]
    out += [f"<th>{html.escape(h)}</th>" for h in head]
    out.append("</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1150px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
table.prov td { text-align: left; font-family: monospace; }
th { background: #f2f2f2; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.4em 0.8em; }
.meta { color: #555; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.3em; vertical-align: middle; }
"""


def write_html(path, r, sections, pngs, c, pdf_pages, pdf_name):
    esc = html.escape
    name = r.attrs.get("scenario_name", r.stem)
    out = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
           "<meta name=\"generator\" content=\"runway report.py\">",
           f"<meta name=\"runway-figures\" content=\"{len(pngs)}\">",
           f"<meta name=\"runway-pdf-pages\" content=\"{pdf_pages}\">",
           f"<title>runway report: {esc(_name(name, 80))}</title>",
           f"<style>{CSS}</style>", "</head>", "<body>"]
    out.append(f"<h1>runway report: {esc(_name(name, 80))}</h1>")
    out.append(f"<p class=\"meta\">Result <code>{esc(_name(r.name, TEXT_MAX))}</code>: {r.paths} paths, seed "
               f"{r.seed}, {r.years[0]}&ndash;{r.years[-1]} (horizon {r.horizon} years from "
               f"base year {r.base_year}); created {esc(str(r.attrs.get('created', 'n/a')))} by "
               f"runway {esc(str(r.attrs.get('runway_version', 'n/a')))}. "
               f"The same content as PDF: <code>{esc(pdf_name)}</code>.</p>")
    if r.conditioned:
        out.append(f"<p class=\"note\">Conditioned on <code>{esc(_obs_file(r))}</code> "
                   f"(n_eff {r.n_eff:.0f} of {r.paths} paths, evidence {r.evidence:.4g}): "
                   "every probability and distribution below is weighted by the likelihood of "
                   "what was observed; see <a href=\"#conditioned\">Conditioned on</a>.</p>")
    if r.backtest is not None:
        out.append(f"<p class=\"note\">Scored against {len(r.backtest)} observations from "
                   f"<code>{esc(_obs_file(r))}</code>: see "
                   "<a href=\"#backtest\">Backtest</a>.</p>")
    out.append("<h2 id=\"summary\">Summary</h2>")
    for kind, content in summary_blocks(r, c):
        if kind == "survival":
            continue  # the HTML page has the full figure below
        if kind == "p":
            out.append(f"<p>{esc(content)}</p>")
        elif kind == "h":
            out.append(f"<h3>{esc(content)}</h3>")
        elif kind == "table":
            out.append(_html_table(content[0], content[1], "summary"))
    out.append("<p>Labs: " + ", ".join(
        f"<span class=\"swatch\" style=\"background:{lab_colour(i)}\"></span>{esc(_name(lab))}"
        for i, lab in enumerate(r.labs)) + ". Each lab keeps its colour in every figure.</p>")
    out.append("<h2 id=\"headline\">Headline</h2>")
    out.append("<p>Probability that each lab is alive (independent and solvent) at the end "
               "of the year, with its 95% Monte Carlo interval in brackets, and the "
               "probability that it has left by the horizon, split by how: failed and bought, "
               "wound down, or bought while still solvent. Survival and the three add up to "
               "1. Money is in US$ billion throughout.</p>")
    head, rows = headline_rows(r)
    out.append(_html_table(head, rows, "headline"))
    for s in sections:
        out.append(f"<h2 id=\"{s.key}\">{esc(s.title)}</h2>")
        if s.caption:
            out.append(f"<p>{s.caption}</p>")
        if s.key == "comparison" and c is not None:
            h, rr = comparison_rows(c, c.a.headline_years())
            out.append(_html_table(h, rr, "comparison"))
        if s.fig is not None:
            out.append(f"<figure><img data-figure=\"{s.key}\" alt=\"{esc(s.title)}\" "
                       f"src=\"data:image/png;base64,{pngs[s.key]}\"></figure>")
        if s.note:
            out.append(f"<p class=\"note\">{s.note}</p>")
        out.append(s.extra_html)
    out.append("<h2 id=\"provenance\">Provenance</h2>")
    out.append("<p>Everything needed to reproduce this result: save the scenario text below "
               "to a file and <code>runway run</code> it with the same seed and paths.</p>")
    out.append(_html_table(["field", "value"], provenance_rows(r), "prov"))
    if c is not None:
        out.append(f"<p>Baseline: <code>{esc(os.path.abspath(c.a.path))}</code>, scenario "
                   f"{esc(str(c.a.attrs.get('scenario_name', 'n/a')))}, seed {c.a.seed}, "
                   f"{c.a.paths} paths.</p>")
    out.append("<h3>Scenario as run</h3>")
    out.append(f"<pre id=\"scenario_yaml\">{esc(str(r.attrs.get('scenario_yaml', '')))}</pre>")
    out.append("</body>")
    out.append("</html>")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")


def summary_blocks(r, c):
    """The first page: the question answered, what drives it, what changed."""
    head, rows, _ = summary_rows(r)
    blocks = [("p", summary_text(r)), ("table", (head, rows))]
    if c is not None:
        h, rr = change_rows(c)
        blocks += [("h", f"What changed against the baseline {_name(c.a.name, 60)}"),
                   ("table", (h, rr))]
        blocks += [("p", t) for t in change_notes(c)]
    if r.conditioned:
        blocks.append(("p", f"Conditioned on {_name(_obs_file(r), 60)}: every figure is "
                            "weighted by the likelihood of what was observed (see 'Conditioned "
                            "on')."))
    blocks.append(("p", "Reading: survival is the share of simulated worlds in which the lab "
                        "is still independent and solvent; the interval is Monte Carlo error "
                        "only, not model uncertainty. Backstopped labs have a parent that "
                        "covers their losses, so they never fail in the model."))
    blocks.append(("survival", r))
    return blocks


def _text_page(title, blocks):
    """A PDF page of text: blocks are (kind, content): 'p' a paragraph,
    'table' (head, rows), 'mono' a list of lines."""
    fig = Figure(figsize=(11.69, 8.27))  # A4 landscape
    fig.text(0.04, 0.955, title, fontsize=15, fontweight="bold", va="top")
    y = 0.9
    for kind, content in blocks:
        if kind == "p":
            txt = textwrap.fill(clean(content, 3000), 150)
            fig.text(0.04, y, _lit(txt), fontsize=9, va="top")
            y -= 0.022 * (txt.count("\n") + 1) + 0.015
        elif kind == "h":
            fig.text(0.04, y, clean(content, 150), fontsize=11.5, fontweight="bold", va="top")
            y -= 0.04
        elif kind == "table":
            head = [_lit(x) for x in content[0]]
            rows = [[_lit(x) for x in row] for row in content[1]]
            h = min(0.035 * (len(rows) + 1), y - 0.03)
            ax = fig.add_axes((0.04, y - h, 0.92, h))
            ax.axis("off")
            size = 8.5
            widths, need = _column_widths(head, rows, size)
            avail = 0.92 * fig.get_figwidth() * 72
            if need > avail:  # shrink the font until the widest row fits
                size = max(5.5, size * avail / need)
                widths, need = _column_widths(head, rows, size)
            tab = ax.table(cellText=rows, colLabels=head, loc="upper left", cellLoc="left",
                           colLoc="left", bbox=(0, 0, 1, 1), colWidths=widths)
            tab.auto_set_font_size(False)
            tab.set_fontsize(size)
            for (ri, ci), cell in tab.get_celld().items():
                cell.PAD = 0.04
                cell.set_edgecolor("0.8")
                if ri == 0:
                    cell.set_facecolor("0.93")
                    cell.set_text_props(fontweight="bold")
            y -= h + 0.03
        elif kind == "survival" and y > 0.3:
            # the survival curves under the tables, in whatever height is left
            ax = fig.add_axes((0.06, 0.06, 0.6, y - 0.09))
            _survival_lines(ax, content, legend_out=True)
            y = 0.05
        elif kind == "mono":
            fig.text(0.04, y, "\n".join(clean(x, 400) for x in content), fontsize=7.2,
                     family="monospace", va="top",
                     linespacing=1.25)
            y -= 0.0145 * len(content) + 0.02
    return fig


def _lit(text):
    """Text drawn as it is (rcParams text.parse_math is off: a pair of $ is
    not mathematics), cleaned of control characters and cut to a length
    Agg can rasterise."""
    return "\n".join(clean(line, 400) for line in str(text).split("\n"))


_ADVANCE = {}  # (bold, character) -> its advance in points at a size of 1


def _text_width(text, size, bold=False):
    """A text's width in points: the sum of its characters' advances in the
    report's font (kerning left out: within a point of matplotlib's own
    measure on the tables' texts, at a fiftieth of its cost), each looked
    up in the font once."""
    total = 0.0
    for ch in str(text):
        a = _ADVANCE.get((bold, ch))
        if a is None:
            from matplotlib.font_manager import FontProperties, findfont, get_font
            from matplotlib.ft2font import LOAD_NO_HINTING
            font = get_font(findfont(FontProperties(weight="bold" if bold else "normal")))
            font.set_size(100, 72)
            a = font.load_char(ord(ch), flags=LOAD_NO_HINTING).linearHoriAdvance / 65536 / 100
            _ADVANCE[(bold, ch)] = a
        total += a
    return total * size


def _column_widths(head, rows, size):
    """Column widths (fractions summing to 1) proportional to the widest
    text in each column (headers in bold), and the total width in points
    the table needs at this font size."""
    pts = [(max([_text_width(h, size, True)] + [_text_width(row[k], size) for row in rows])
            + 1.0 * size) / 0.92 for k, h in enumerate(head)]
    return [p / sum(pts) for p in pts], sum(pts)


def _wrap_lines(text, width):
    lines = []
    for line in text.splitlines() or [""]:
        line = line.expandtabs(4)
        while len(line) > width:
            lines.append(line[:width])
            line = "  " + line[width:]
        lines.append(line)
    return lines


def write_pdf(path, r, sections, c, png_of=None):
    """Write the PDF; returns its page count. png_of(key): a figure's
    _draw() pair, (PNG bytes, RGB pixels) (render() draws them once for
    both outputs); None: draw them here."""
    if png_of is None:
        def png_of(key):
            return _draw(next(s.fig for s in sections if s.key == key))
    name = r.attrs.get("scenario_name", r.stem)
    meta = {"Title": f"runway report: {name}", "Creator": "runway report.py",
            "Subject": f"{r.paths} paths, seed {r.seed}"}
    with PdfPages(path, metadata=meta) as pdf:
        pdf.savefig(_text_page(f"runway report: {_name(name, 80)}", summary_blocks(r, c)))
        _reuse_pngs(pdf)  # after a first page: matplotlib >= 3.8 opens the file then
        head, rows = headline_rows(r)
        prov = [(k, textwrap.shorten(v, 140, placeholder=" ...")) for k, v in provenance_rows(r)]
        fig = _text_page("Headline and provenance", [
            ("p", f"Result {_name(r.name, TEXT_MAX)}: {r.paths} paths, seed {r.seed}, "
                  f"{r.years[0]}-{r.years[-1]}. Survival = P(lab alive, independent and "
                  "solvent, at the end of the year) with its 95% Monte Carlo interval; "
                  "P(failed and bought), P(wound down) and P(bought while solvent) are by the "
                  "horizon (with survival they add up to 1). Money in US$ billion."),
            ("table", (head, rows)),
            ("p", "Provenance (the full scenario text is on the last pages):"),
            ("table", (["field", "value"], prov))])
        pdf.savefig(fig)
        for s in sections:
            if s.pdf:
                pdf.savefig(_text_page(s.title, s.pdf))
            if s.key == "comparison" and c is not None:
                h, rr = comparison_rows(c, c.a.headline_years())
                pdf.savefig(_text_page("Comparison with the baseline", [
                    ("p", f"This run ({c.b.name}) minus baseline ({c.a.name}): {c.method}. "
                          f"{c.reason}."),
                    ("table", (h, rr))]))
            if s.fig is not None:
                pdf.savefig(_image_page(png_of(s.key)))
            elif s.note and not s.pdf:
                pdf.savefig(_text_page(s.title, [("p", _plain(s.note))]))
        lines = _wrap_lines(clean_block(str(r.attrs.get("scenario_yaml", ""))), YAML_WRAP)
        pages = max(1, math.ceil(len(lines) / YAML_LINES_PER_PAGE))
        for k in range(pages):
            chunk = lines[k * YAML_LINES_PER_PAGE:(k + 1) * YAML_LINES_PER_PAGE]
            pdf.savefig(_text_page(f"Scenario as run ({k + 1}/{pages})", [("mono", chunk)]))
        n = pdf.get_pagecount()
    return n


def _plain(h):
    """HTML fragment -> plain text (for the PDF)."""
    return html.unescape(re.sub(r"<[^>]+>", "", h))


FIGURE_WORKERS = 2          # forked children drawing figures beside this process


def render(sections, write_pdf_fn):
    """Draws each figure once, as a PNG, for the HTML page (base64) and the
    PDF (write_pdf_fn(png_of) returns its page count). The figures given
    as functions are made and drawn by FIGURE_WORKERS forked children,
    which take them one at a time from a shared queue (a pipe of figure
    numbers, the heaviest first: Section.weight) and send each back as
    soon as it is drawn; this process meanwhile draws the others (made
    already: they needed results computed here) and writes the PDF's text
    pages, each page as soon as its figure has come. Returns
    ({key: base64 PNG}, pages)."""
    import select
    figs = [s for s in sections if s.fig is not None]
    queued = sorted((k for k, s in enumerate(figs) if callable(s.fig)),
                    key=lambda k: -figs[k].weight)
    jobs = []
    if queued and hasattr(os, "fork"):
        task_r, task_w = os.pipe()
        # every task is in the pipe before a child starts: a read of one
        # byte is atomic, so each figure goes to exactly one child
        os.write(task_w, bytes(queued))
        os.close(task_w)

        def worker():
            while True:
                b = os.read(task_r, 1)
                if not b:
                    return
                yield figs[b[0]].key, _draw(figs[b[0]].fig)
        try:
            jobs = [Background(worker, stream=True) for _ in range(FIGURE_WORKERS)]
        finally:
            os.close(task_r)
        jobs = [j for j in jobs if j.pid is not None]
    got = {}
    theirs = {figs[k].key for k in queued}

    def drawn(key):
        while key not in got and key in theirs and jobs:
            ready, _, _ = select.select(jobs, [], [])
            for j in ready:
                try:
                    k, v = j.next_item()
                    got[k] = v
                except (StopIteration, BackgroundError):
                    jobs.remove(j)  # what it did not send is drawn here
        if key not in got:
            got[key] = _draw(next(s.fig for s in figs if s.key == key))
        return got[key]
    try:
        for s in figs:  # this process's share first, while the children draw theirs
            if not callable(s.fig):
                drawn(s.key)
        pages = write_pdf_fn(drawn)
        for s in figs:
            drawn(s.key)
    except BaseException:
        for j in jobs:
            j.cancel()
        raise
    return {key: base64.b64encode(v[0]).decode("ascii") for key, v in got.items()}, pages


def _cancel(plan):
    """Stops a failure-worlds computation nobody will read."""
    job = plan[-1] if plan else None
    if job is not None:
        job.cancel()


def output_names(result_path, name):
    if name is None:
        stem = os.path.basename(result_path)
        for ext in (".h5", ".hdf5"):
            if stem.lower().endswith(ext):
                stem = stem[: -len(ext)]
                break
        name = stem + "_report"
    for ext in (".html", ".pdf", ".htm"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    return name + ".html", name + ".pdf"


def _year_list(text):
    """--years: comma-separated calendar years."""
    try:
        years = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of years")
    if not years:
        raise argparse.ArgumentTypeError("no year given")
    return years


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog=PROG, description="Write an HTML and a PDF report of a runway result file.")
    ap.add_argument("result", metavar="RESULT.h5")
    ap.add_argument("-o", "--output", metavar="NAME",
                    help="write NAME.html and NAME.pdf (default: RESULT's stem + _report)")
    ap.add_argument("--baseline", metavar="A.h5",
                    help="include a comparison: this result minus A")
    ap.add_argument("--years", metavar="Y1,Y2,...", type=_year_list,
                    help="calendar years of the sensitivity section (default: the headline "
                         "years, simulated years 1, 3, 5 and the horizon)")
    args = ap.parse_args(argv)
    html_path, pdf_path = output_names(args.result, args.output)
    catch_signals()
    state = {"failure": None}
    try:
        return _main(args, html_path, pdf_path, state)
    except Interrupted as e:
        _cancel(state["failure"])
        Background.cancel_all()
        return stopped(PROG, e, [html_path, pdf_path])


def _pdf_fonttype(r, installed_fallback):
    """42 when the text the PDF prints has a CJK (or later) character and a
    fallback font for it is installed: matplotlib 3.6 falls back from
    DejaVu Sans per glyph in Type 42 fonts only. Else 3 (see _load_matplotlib)."""
    if not installed_fallback:
        return 3
    texts = [str(v) for v in r.attrs.values() if isinstance(v, str)]
    texts += [str(x) for x in list(r.labs) + list(r.inputs) + [r.name]]
    return 42 if any(ord(ch) >= 0x2E80 for t in texts for ch in t) else 3


def _display_inputs(r):
    """The input names as figures and tables show them (cleaned, cut); the
    names as the file has them stay in r.inputs_raw for reading it."""
    r.inputs_raw = list(r.inputs)
    r.inputs = [_name(x, 48) for x in r.inputs]


def _main(args, html_path, pdf_path, state):
    failure = None
    try:
        r = load(args.result)
        r.sensitivity_years = args.years
        c = None
        if args.baseline:
            a = load(args.baseline)
            c = comparemod.compare(a, r)
        _display_inputs(r)
        # The worlds where labs fail are computed on another core while
        # matplotlib loads and the other figures are drawn.
        failure = state["failure"] = start_failure_worlds(r)
        try:
            _load_matplotlib()
        except ImportError as e:
            raise ResultError(f"cannot import {e.name}: run with /usr/bin/python3 and install "
                              "python3-matplotlib") from None
        fallback = [f for f in matplotlib.rcParams["font.sans-serif"] if f in FONT_FALLBACK]
        matplotlib.rcParams["pdf.fonttype"] = _pdf_fonttype(r, fallback)
        with AtomicOutputs() as out:
            tmp_html = out.add(html_path)
            tmp_pdf = out.add(pdf_path)
            with np.errstate(all="ignore"):
                sections = build_sections(r, c, failure)
                pngs, pages = render(sections,
                                     lambda png_of: write_pdf(tmp_pdf, r, sections, c, png_of))
                write_html(tmp_html, r, sections, pngs, c, pages, os.path.basename(pdf_path))
    except ResultError as e:
        _cancel(failure)
        die(PROG, clean(str(e), 2000))
    except OSError as e:
        _cancel(failure)
        die(PROG, f"{e.filename or html_path}: cannot write: {e.strerror or e}")
    except Exception as e:  # noqa: BLE001 - a rendering failure: one line, nothing left
        _cancel(failure)
        die_unexpected(PROG, f"{args.result}: cannot make the report", e)
    print(f"{PROG}: wrote {html_path} ({len(pngs)} figures) and {pdf_path} ({pages} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
