#!/usr/bin/python3
"""Which worlds lead to a subset of paths: a reverse stress test and
scenario discovery over a runway result's per-path data.

Usage:
    explain.py RESULT.h5 --where EXPR [--top K] [--min-coverage C]
               [--density D] [--mass-min M] [--json] [-o OUT.csv]

  --where EXPR   the subset of paths to explain: comparisons joined by
                 `and` / `or` (`and` binds tighter; parentheses group):
                   LAB.FIELD OP VALUE   FIELD one of
                       fail_year, exit_year   the CALENDAR year the lab left
                           (failed or bought); a lab that never left has no
                           such year: it never satisfies <, <=, ==, and
                           always satisfies >, >=, != (VALUE `never` picks
                           exactly those paths: == never)
                       profit_year   the calendar year of the first positive
                           operating cash flow (0 in the file: never; as above)
                       outcome       == or != one of survived, acquired,
                           wound_down, acquired_solvent, failed (acquired or
                           wound_down), exited (any of the three)
                       final_cash, raised_total   US$ billions
                   INPUT OP VALUE       a drawn input, e.g. market.price_decline > 5,
                                        OpenAI.cash0 < 35
                 OP is one of < <= > >= == !=. A lab name may contain spaces
                 ("Google DeepMind.fail_year <= 2030": the longest lab name
                 before the dot is taken); a name may be quoted, '...' or "...".
  --top K        inputs shown (default 10; 0: all). The CSV holds all.
  --min-coverage C   PRIM's box: the densest box on the peeling trajectory
                 whose coverage is at least C (default 0.5)
  --density D    instead: the first box whose density reaches D (falls back
                 to the rule above, with a note, when no box reaches it)
  --mass-min M   PRIM stops peeling before a box holds less than M of the
                 paths (default 0.05, EMA Workbench's, or a quarter of the
                 subset's share when that is smaller, so that a rare subset
                 can still be boxed)
  --json         print one JSON document with everything instead of tables
  -o OUT.csv     also write the per-input table (every input) as CSV

What it reports (docs/evidence.md, "Which worlds lead to failure"):

  * the subset's share of the paths;
  * for each drawn input (per-year inputs: their first year's draw, as the
    file keeps them), its distribution inside vs outside the subset: the
    two medians, the quantile shift (the inside median's percentile in the
    outside distribution: 0.5 = no shift), and the two-sample
    Kolmogorov-Smirnov statistic D (the largest gap between the two
    cumulative distributions) with its asymptotic p-value, from the
    Kolmogorov distribution at sqrt(n m / (n + m)) D (n, m the effective
    sample sizes); inputs ranked by D;
  * PRIM (Friedman and Fisher 1999, as the EMA Workbench implements it:
    ema_workbench/analysis/prim.py, Prim with its defaults): from the box
    holding every path, peel alpha = 0.05 of the box off one side of one
    input at a time, choosing the peel whose gain in density per unit of
    mass removed is largest (the "lenient1" objective; ties go to the peel
    that restricts fewer inputs), until no peel raises density or the box
    would hold less than mass_min of the paths; then paste (widen a bound
    by paste_alpha = 0.05 of the data beyond it) while that raises
    density. Every box on the way is a point of the peeling trajectory:
    coverage = share of the subset inside the box, density = share of the
    box in the subset, mass = share of all paths in the box. A restricted
    input is one whose box bounds differ from the data's range. PRIM peels
    on at most 200000 paths (the first ones: paths are independent draws,
    so they are a random sample); the chosen box's coverage and density
    are then recounted on every path.

When the file has paths/weight (a run conditioned on observations), every
share, median, D, effective sample size and PRIM statistic uses the
weights, and the output says so.

Exit status: 0 success; 1 the file is missing, not a finished runway
result, or lacks the per-path inputs (written with --per-path outcomes or
none: the query needs --per-path all), or the CSV cannot be written; 2 bad
command line or a bad --where expression (one line naming the expression
and what is wrong).

As a module:
    explain(source, where, ...)            -> dict (what --json prints)
    explain_lab_failure(source, lab, by_year, top=5)
                                           -> the top inputs in the worlds
                                              where LAB has left by BY_YEAR
    load_paths(path)                       -> PathData, to pass as source to
                                              several calls without reading
                                              the file again
"""
import argparse
import csv
import difflib
import json
import math
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runway_result import (AtomicOutputs, ResultError, die, die_unexpected,  # noqa: E402
                           _memory_limit, _show, _text, read_checked, read_result)

try:
    import h5py
except ImportError:  # pragma: no cover - reported as a one-line error
    h5py = None

PROG = "runway explain"
EXIT_USAGE = 2

# PRIM's parameters: the EMA Workbench's defaults (Prim.__init__).
PEEL_ALPHA = 0.05
PASTE_ALPHA = 0.05
MASS_MIN = 0.05
# PRIM peels on at most this many paths.
PRIM_MAX_PATHS = 200000
# Rows of the trajectory summary printed in the table.
TRAJECTORY_POINTS = 8

FIELDS = ("fail_year", "exit_year", "outcome", "profit_year", "final_cash", "raised_total")
YEAR_FIELDS = ("fail_year", "exit_year", "profit_year")
OPS = ("<=", ">=", "==", "!=", "<", ">")
# Outcome names (paths/outcome codes; docs/evidence.md "Status values").
OUTCOMES = {"survived": (0,), "acquired": (1,), "wound_down": (2,),
            "acquired_solvent": (3,), "failed": (1, 2), "exited": (1, 2, 3)}


class ExprError(ValueError):
    """A bad --where expression; str() is one line naming what is wrong."""


# ---------------------------------------------------------------------------
# The expression: parsed in two steps. parse() checks the syntax alone and
# gives a tree of raw comparisons; resolve() then names each side against a
# result's labs and inputs. Nothing is ever evaluated as Python.


class Cmp:
    """One comparison: lhs OP value (raw text until resolved)."""

    def __init__(self, lhs, op, value, text):
        self.lhs, self.op, self.value, self.text = lhs, op, value, text
        self.kind = None      # "input" or "field" once resolved
        self.lab = None       # lab index (field)
        self.field = None     # field name (field)
        self.input = None     # input index (input)
        self.number = None    # numeric value (or math.inf for `never`)
        self.codes = None     # outcome codes (outcome)
        self.pre = ""         # how an error names this comparison


class Bool:
    def __init__(self, op, left, right):
        self.op, self.left, self.right = op, left, right


_OP_CHARS = "<>=!~"
_WORD_END = re.compile(r"(?=[\s()]|$)")


class _Parser:
    def __init__(self, text):
        self.s = text
        self.i = 0

    def err(self, msg):
        raise ExprError(msg)

    def ws(self):
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def word(self, w):
        """True (and consumed) when the next token is the word w."""
        self.ws()
        j = self.i + len(w)
        if self.s[self.i:j].lower() == w and _WORD_END.match(self.s, j):
            self.i = j
            return True
        return False

    def parse(self):
        self.ws()
        if self.i >= len(self.s):
            self.err("the expression is empty (write e.g. \"OpenAI.fail_year <= 2029\")")
        node = self.or_()
        self.ws()
        if self.i < len(self.s):
            c = self.s[self.i]
            if c == ")":
                self.err(f"unbalanced ')' at character {self.i + 1}")
            self.err(f"expected 'and', 'or' or the end at character {self.i + 1} "
                     f"(before {_show(self.s[self.i:], 30)!r})")
        return node

    def or_(self):
        node = self.and_()
        while self.word("or"):
            node = Bool("or", node, self.and_())
        return node

    def and_(self):
        node = self.primary()
        while self.word("and"):
            node = Bool("and", node, self.primary())
        return node

    def primary(self):
        self.ws()
        if self.i >= len(self.s):
            self.err("the expression ends where a comparison was expected")
        if self.s[self.i] == "(":
            self.i += 1
            node = self.or_()
            self.ws()
            if self.i >= len(self.s) or self.s[self.i] != ")":
                self.err("a '(' is not closed")
            self.i += 1
            return node
        return self.comparison()

    def quoted(self):
        q = self.s[self.i]
        j = self.s.find(q, self.i + 1)
        if j < 0:
            self.err(f"a {q} quote at character {self.i + 1} is not closed")
        out = self.s[self.i + 1:j]
        self.i = j + 1
        return out

    def comparison(self):
        start = self.i
        lhs = []
        while True:
            if self.i >= len(self.s):
                break
            c = self.s[self.i]
            if c in "\"'":
                lhs.append(self.quoted())
                continue
            if c in _OP_CHARS or c in "()":
                break
            lhs.append(c)
            self.i += 1
        name = "".join(lhs).strip()
        head = self.s[start:self.i].strip()
        if not name:
            self.err(f"a comparison has no name before its operator at character {start + 1} "
                     "(write LAB.FIELD OP VALUE or INPUT OP VALUE)")
        if self.i >= len(self.s) or self.s[self.i] in "()":
            self.err(f"'{_show(head)}' has no operator: write it as LAB.FIELD OP VALUE, "
                     "OP one of <, <=, >, >=, ==, !=")
        j = self.i
        while j < len(self.s) and self.s[j] in _OP_CHARS:
            j += 1
        op = self.s[self.i:j]
        if op not in OPS:
            hint = " (did you mean ==?)" if op == "=" else ""
            self.err(f"unknown operator '{op}' in '{_show(head)} {op} ...'{hint}: use one of "
                     "<, <=, >, >=, ==, !=")
        self.i = j
        self.ws()
        if self.i >= len(self.s) or self.s[self.i] in "()":
            self.err(f"'{_show(head)} {op}' has no value")
        if self.s[self.i] in "\"'":
            value = self.quoted()
        else:
            j = self.i
            while j < len(self.s) and not self.s[j].isspace() and self.s[j] not in "()":
                j += 1
            value = self.s[self.i:j]
            self.i = j
        return Cmp(name, op, value, f"{name} {op} {value}")


def parse(text):
    """The syntax tree of EXPR (Cmp and Bool nodes); ExprError if malformed."""
    if not isinstance(text, str):
        raise ExprError("the expression must be text")
    if len(text) > 10000:
        raise ExprError("the expression is longer than 10000 characters")
    return _Parser(text).parse()


def _leaves(node):
    if isinstance(node, Cmp):
        return [node]
    return _leaves(node.left) + _leaves(node.right)


def _close(word, choices):
    m = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return m[0] if m else None


def _number(c):
    t = c.value.strip()
    try:
        v = float(t)
    except ValueError:
        v = None
    if v is None or not math.isfinite(v):
        raise ExprError(f"{c.pre}the value '{_show(t)}' is not a finite number")
    return v


def resolve(tree, d):
    """Names each comparison of tree against PathData d; ExprError if a
    lab, field, input, operator or value does not fit. Returns tree."""
    labs, inputs = d.labs, d.inputs
    input_index = {n: i for i, n in enumerate(inputs)}
    by_len = sorted(range(len(labs)), key=lambda i: -len(labs[i]))
    leaves = _leaves(tree)
    for c in leaves:
        # Errors name the comparison when the expression has several.
        c.pre = f"in '{_show(c.text)}': " if len(leaves) > 1 else ""
        if c.lhs in input_index:
            c.kind, c.input = "input", input_index[c.lhs]
            c.number = _number(c)
            continue
        lab = next((i for i in by_len if c.lhs.startswith(labs[i] + ".")), None)
        if lab is None:
            _unknown_name(c, d)
        field = c.lhs[len(labs[lab]) + 1:].strip()
        if field not in FIELDS:
            own = [n[len(labs[lab]) + 1:] for n in inputs if n.startswith(labs[lab] + ".")]
            s = _close(field, list(FIELDS) + own)
            hint = f"; did you mean '{labs[lab]}.{s}'?" if s else ""
            raise ExprError(f"{c.pre}'{_show(field)}' is not a field of lab "
                            f"'{_show(labs[lab])}' (fields: {', '.join(FIELDS)}; or a drawn input "
                            f"of the lab: {', '.join(own) or 'none'}){hint}")
        c.kind, c.lab, c.field = "field", lab, field
        if field == "outcome":
            if c.op not in ("==", "!="):
                raise ExprError(f"{c.pre}outcome takes == or !=, not {c.op}")
            v = c.value.strip()
            codes = OUTCOMES.get(v.lower())
            if codes is None and v in ("0", "1", "2", "3"):
                codes = (int(v),)
            if codes is None:
                s = _close(v.lower(), OUTCOMES)
                hint = f"; did you mean '{s}'?" if s else ""
                raise ExprError(f"{c.pre}unknown outcome '{_show(v)}' (one of "
                                f"{', '.join(OUTCOMES)}){hint}")
            c.codes = codes
        elif field in YEAR_FIELDS:
            if c.value.strip().lower() == "never":
                if c.op not in ("==", "!="):
                    raise ExprError(f"{c.pre}'never' takes == or !=, not {c.op}")
                c.number = math.inf
                continue
            v = _number(c)
            if v < d.base_year:
                first, last = d.base_year + 1, d.base_year + d.horizon
                sim = int(v) if v == int(v) and 1 <= v <= d.horizon else None
                hint = (f"; for simulated year {sim} write {d.base_year + sim}"
                        if sim is not None else "")
                raise ExprError(f"{c.pre}{field} is a calendar year and {v:g} is "
                                f"before the run ({first}-{last}){hint}")
            c.number = v
        else:
            c.number = _number(c)
    return tree


def _unknown_name(c, d):
    lhs = c.lhs
    if "." in lhs and not lhs.startswith("market."):
        lab, field = lhs.rsplit(".", 1)
        if lab not in d.labs:
            s = _close(lab, d.labs)
            hint = f"; did you mean '{_show(s)}'?" if s else ""
            raise ExprError(f"{c.pre}unknown lab '{_show(lab)}' (labs: "
                            f"{', '.join(_show(x) for x in d.labs)}){hint}")
    s = _close(lhs, list(d.inputs) + [f"{lab}.{f}" for lab in d.labs for f in FIELDS])
    hint = f"; did you mean '{_show(s)}'?" if s else ""
    raise ExprError(f"{c.pre}'{_show(lhs)}' is neither LAB.FIELD nor a drawn "
                    f"input of this run (market.KEY or LAB.KEY; constants are not drawn){hint}")


def evaluate(tree, d):
    """Boolean mask over the paths of PathData d (tree resolved)."""
    if isinstance(tree, Bool):
        a, b = evaluate(tree.left, d), evaluate(tree.right, d)
        return (a & b) if tree.op == "and" else (a | b)
    c = tree
    if c.kind == "input":
        return _compare(d.X[:, c.input], c.op, c.number)
    if c.field == "outcome":
        m = np.isin(d.outcome[:, c.lab], c.codes)
        return m if c.op == "==" else ~m
    col = d.column(c.field, c.lab)
    if c.field in YEAR_FIELDS:
        # 0 in the file: never (no such year), compared as +infinity.
        col = np.where(col > 0, d.base_year + col.astype(np.float64), np.inf)
    return _compare(col, c.op, c.number)


def _compare(x, op, v):
    with np.errstate(invalid="ignore"):
        if op == "<":
            return x < v
        if op == "<=":
            return x <= v
        if op == ">":
            return x > v
        if op == ">=":
            return x >= v
        if op == "==":
            return x == v
        return x != v


def describe(tree):
    """The expression written back canonically (names as resolved)."""
    if isinstance(tree, Bool):
        parts = []
        for side in (tree.left, tree.right):
            s = describe(side)
            if isinstance(side, Bool) and side.op == "or" and tree.op == "and":
                s = f"({s})"
            parts.append(s)
        return f" {tree.op} ".join(parts)
    return f"{tree.lhs} {tree.op} {tree.value.strip()}"


# ---------------------------------------------------------------------------
# Reading the per-path data. runway_result.load() reads the summaries; this
# reads group `paths` (and the axes it needs) with the same distrust: every
# dataset's kind, shape and range is checked, and the file is read first in
# a forked child so that damage that crashes HDF5 itself is a refusal.


class PathData:
    """The per-path data of one finished result.

    path, name     the file as given
    labs, inputs   names (lists of str); base_year, horizon, paths (ints)
    scenario_name  str; per_path the root attribute ("all", ... or "")
    fail_year, outcome   (N, L) int arrays (simulation years 1..T, 0: never)
    X              (N, I) float64: the drawn inputs
    weight         (N,) float64 or None (unconditioned run)
    per_year       set of input names drawn every year (the file keeps the
                   first year's draw)
    column(field, lab)   profit_year, final_cash, raised_total, fail_year
    """

    def __init__(self):
        self.extra = {}
        self._XT = None
        self._sorted = None

    @property
    def XT(self):
        """The inputs by row, (I, N), contiguous."""
        if self._XT is None:
            self._XT = np.ascontiguousarray(self.X.T)
        return self._XT

    def sorted(self):
        """(order, values): each input's argsort over the paths (I, N int32)
        and its sorted values (I, N); computed once, shared by every query."""
        if self._sorted is None:
            order = np.argsort(self.XT, axis=1).astype(np.int32)
            self._sorted = (order, np.take_along_axis(self.XT, order, axis=1))
        return self._sorted

    def column(self, field, lab):
        if field in ("fail_year", "exit_year"):
            return self.fail_year[:, lab]
        a = self.extra.get(field)
        if a is None:
            raise ResultError(f"{self.path}: has no paths/{field}, which the expression uses")
        return a[:, lab]


NEED_ALL = "--per-path all"


def load_paths(path):
    """PathData of a finished result with per-path inputs; ResultError (one
    line naming the file) otherwise. The file is opened and checked by the
    scripts' one reader (runway_result.read_checked and read_result: every
    rule of the file contract, in a forked child); only what explain needs
    beyond it (the drawn inputs) is checked here."""
    return read_checked(path, _read, probe=True)


def _read(f, path):
    g = f.get("paths")
    pp = f.attrs.get("per_path")
    per_path = _text(pp) if pp is not None else ""
    how = f" (it was written with --per-path {_show(per_path)})" if per_path else ""
    if "survival" in f and (not isinstance(g, h5py.Group) or "fail_year" not in g
                            or "outcome" not in g):
        raise ResultError(f"{path}: has no per-path data{how}: explain needs each path's "
                          f"outcomes and drawn inputs; run with {NEED_ALL} (the default)")
    if "survival" in f and "inputs" not in g:
        raise ResultError(f"{path}: has per-path outcomes but not the drawn inputs{how}: "
                          f"explain needs them; run with {NEED_ALL} (the default)")
    r = read_result(f, path, need_paths=True)
    d = PathData()
    d.path, d.name = path, r.name
    d.horizon, d.paths, d.base_year = r.horizon, r.paths, r.base_year
    d.labs, d.inputs, d.per_path = r.labs, r.inputs, per_path
    d.scenario_name = r.attrs.get("scenario_name", "")
    if not isinstance(d.scenario_name, str):
        d.scenario_name = str(d.scenario_name)
    N, L, I, T = r.paths, len(r.labs), len(r.inputs), r.horizon
    if I == 0:
        raise ResultError(f"{path}: the run drew no inputs (every input is a constant): there "
                          "is nothing to explain the paths by")
    need = N * I * 56 + N * L * 48  # inputs, by row, sorted, argsort; PRIM's copies
    if need > _memory_limit():
        raise ResultError(f"{path}: per-path data of {N} paths x {I} inputs is too large to "
                          f"analyse here ({need / 2**30:.1f} GiB)")
    xs = g["inputs"]
    if not isinstance(xs, h5py.Dataset) or xs.shape != (N, I) or xs.dtype.kind not in "fiu":
        raise ResultError(f"{path}: dataset 'paths/inputs' must be numbers of shape {(N, I)}, "
                          f"got {getattr(xs, 'shape', None)} {getattr(xs, 'dtype', type(xs).__name__)}")
    d.fail_year, d.outcome, d.weight = r.fail_year, r.outcome, r.weight
    d.X = np.asarray(xs[()], dtype=np.float64)
    if not np.all(np.isfinite(d.X)):
        raise ResultError(f"{path}: paths/inputs holds values that are not finite numbers")
    for n, kinds in (("profit_year", "iu"), ("final_cash", "fiu"), ("raised_total", "fiu")):
        ds = g.get(n)
        if not isinstance(ds, h5py.Dataset):
            continue
        if ds.shape != (N, L) or ds.dtype.kind not in kinds:
            raise ResultError(f"{path}: dataset 'paths/{n}' must have shape ({N}, {L}), got "
                              f"{ds.shape} {ds.dtype}")
        a = np.asarray(ds[()], dtype=np.int64 if n == "profit_year" else np.float64)
        if n == "profit_year" and (np.any(a < 0) or np.any(a > T)):
            raise ResultError(f"{path}: paths/profit_year holds years outside 0..{T}")
        d.extra[n] = a
    d.per_year = _per_year_inputs(f, d.inputs)
    return d


def _per_year_inputs(f, inputs):
    """Names of the inputs drawn `per: year`, from the scenario text kept in
    the file (only market inputs may be; MODEL.md section 1)."""
    if "scenario_yaml" not in f.attrs:
        return set()
    text = _text(f.attrs["scenario_yaml"])
    if len(text) > (1 << 20):
        return set()
    out = set()
    try:
        import yaml
        doc = yaml.safe_load(text)
        market = doc.get("market") if isinstance(doc, dict) else None
        if isinstance(market, dict):
            for k, v in market.items():
                if isinstance(v, dict) and str(v.get("per", "")).strip() == "year":
                    out.add(f"market.{k}")
        return out & set(inputs)
    except Exception:  # noqa: BLE001 - no PyYAML, or text it cannot parse: a plain scan
        pass
    for n in inputs:
        if n.startswith("market."):
            key = re.escape(n[len("market."):])
            if re.search(rf"^\s*{key}\s*:.*\bper\s*:\s*year\b", text, re.M):
                out.add(n)
    return out


# ---------------------------------------------------------------------------
# Statistics.


def kolmogorov_sf(lam):
    """P(K > lam) for the Kolmogorov distribution (the limit of
    sqrt(n) D_n): 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lam^2), or, where that
    series converges slowly (lam < 1.18), 1 - sqrt(2 pi) / lam
    sum_{k>=1} exp(-(2k-1)^2 pi^2 / (8 lam^2)) (the same function)."""
    lam = float(lam)
    if not lam > 0:
        return 1.0
    if lam < 1.18:
        k = np.arange(1, 21)
        s = np.exp(-((2 * k - 1) ** 2) * math.pi ** 2 / (8 * lam * lam)).sum()
        p = 1.0 - math.sqrt(2 * math.pi) / lam * s
    else:
        k = np.arange(1, 101)
        p = 2.0 * np.sum((-1.0) ** (k - 1) * np.exp(-2.0 * k * k * lam * lam))
    return float(min(1.0, max(0.0, p)))


def _weighted_median(xs, cum):
    """Median of sorted xs whose normalised cumulative weights are cum:
    the mean of the first value whose cumulative weight reaches 1/2 and of
    the first that passes it (equal weights: numpy's median)."""
    eps = 1e-12
    a = min(int(np.searchsorted(cum, 0.5 - eps, "left")), len(xs) - 1)
    b = min(int(np.searchsorted(cum, 0.5 + eps, "right")), len(xs) - 1)
    return 0.5 * (xs[a] + xs[b])


def input_table(d, inside, w):
    """Per input: medians inside and outside, the quantile shift, KS D and
    its p-value; and the effective sizes inside and outside. d: PathData,
    inside bool (N,), w (N,)."""
    win, wout = w * inside, w * ~inside
    Win, Wout = win.sum(), wout.sum()
    n_in = Win * Win / np.sum(win * win)
    n_out = Wout * Wout / np.sum(wout * wout)
    en = n_in * n_out / (n_in + n_out)
    order, Xs = d.sorted()
    rows = []
    for j in range(Xs.shape[0]):
        o, xs = order[j], Xs[j]
        ca = np.cumsum(win[o]) / Win
        cb = np.cumsum(wout[o]) / Wout
        last = np.empty(len(xs), dtype=bool)
        last[:-1] = xs[1:] != xs[:-1]
        last[-1] = True
        D = float(np.max(np.abs(ca - cb)[last]))
        m_in = float(_weighted_median(xs, ca))
        m_out = float(_weighted_median(xs, cb))
        lo = int(np.searchsorted(xs, m_in, "left")) - 1
        hi = int(np.searchsorted(xs, m_in, "right")) - 1
        f_lo = cb[lo] if lo >= 0 else 0.0
        f_hi = cb[hi] if hi >= 0 else 0.0
        rows.append({"median_inside": m_in, "median_outside": m_out,
                     "quantile_shift": float(0.5 * (f_lo + f_hi)),
                     "ks_d": D, "ks_p": kolmogorov_sf(math.sqrt(en) * D)})
    return rows, float(n_in), float(n_out)


# ---------------------------------------------------------------------------
# PRIM, after ema_workbench/analysis/prim.py (Prim with the lenient1
# objective, real-valued inputs): the same peels, cut points, objective,
# tie-breaking, stopping rule and pasting, with every count replaced by a
# sum of weights (equal weights give the EMA Workbench's numbers).


def _cut(xs, excl, denom, q, lower):
    """EMA's get_quantile(data, q) for sorted xs with exclusive cumulative
    weights excl (equal weights: excl = 0, 1, 2, ... and denom = n - 1):
    the index (n - 1) q is the weighted position excl / denom = q; the cut
    is the midpoint between the values on either side of it, moved past
    ties so that it separates distinct values."""
    n = len(xs)
    t = q * denom
    if lower:
        lo = max(int(np.searchsorted(excl, t, "right")) - 1, 0)
        hi = min(int(np.searchsorted(xs, xs[lo], "right")), n - 1)
    else:
        hi = min(int(np.searchsorted(excl, t, "left")), n - 1)
        lo = max(int(np.searchsorted(xs, xs[hi], "left")) - 1, 0)
    return 0.5 * (xs[lo] + xs[hi])


def _stats(Wb, Yb, Wtot, Ytot):
    return {"coverage": Yb / Ytot, "density": Yb / Wb if Wb > 0 else 0.0, "mass": Wb / Wtot}


def _lenient1(W_old, Y_old, W_new, Y_new):
    """(mean_new - mean_old) / |mass change| (EMA's _lenient1_obj_func, with
    weights for counts)."""
    m_old = Y_old / W_old
    m_new = Y_new / W_new if W_new > 0 else 0.0
    if m_new == m_old or W_new == W_old:
        return 0.0
    return (m_new - m_old) / abs(W_old - W_new)


def prim(XT, y, w, alpha=PEEL_ALPHA, paste_alpha=PASTE_ALPHA, mass_min=MASS_MIN,
         order=None, Xs=None):
    """Peeling and pasting trajectory of one PRIM box.

    XT (I, n) float (inputs by row), y (n,) bool, w (n,) positive weights;
    order, Xs: each row's argsort and sorted values, when already known.
    Returns (boxes, (init_lo, init_hi)): boxes is the trajectory, each
    {"coverage", "density", "mass", "lo", "hi", "restricted"} (lo, hi:
    arrays of the bounds; restricted: bool array), the first the box
    holding every point."""
    I, n = XT.shape
    wy = w * y
    Wtot, Ytot = float(w.sum()), float(wy.sum())
    equal = bool(np.all(w == w[0]))
    init_lo, init_hi = XT.min(axis=1), XT.max(axis=1)
    lo, hi = init_lo.copy(), init_hi.copy()
    traj = []

    def record(Wb, Yb):
        s = _stats(Wb, Yb, Wtot, Ytot)
        s["lo"], s["hi"] = lo.copy(), hi.copy()
        s["restricted"] = (lo != init_lo) | (hi != init_hi)
        traj.append(s)

    W, Y = Wtot, Ytot
    record(W, Y)
    if order is None:
        order = np.argsort(XT, axis=1).astype(np.int32)
        Xs = np.take_along_axis(XT, order, axis=1)
    # Rows in each input's sorted order, compacted to the box's points after
    # every peel: the box's points sorted by input j are order[j].
    if equal:
        Ys, Ws, w0 = y[order], None, float(w[0])
    else:
        Ys, Ws, w0 = wy[order], w[order], None
    # Peeling.
    while order.shape[1] >= 2:
        nb = order.shape[1]
        restricted = (lo != init_lo) | (hi != init_hi)
        n_res = int(restricted.sum())
        if equal:
            denom = np.full(I, (nb - 1) * w0)
            excl_row = np.arange(nb, dtype=np.float64) * w0
            cw = None
        else:
            cw = np.cumsum(Ws, axis=1)
            denom = W - Ws[:, -1]
        best = None
        for j in range(I):
            xs = Xs[j]
            excl = excl_row if equal else cw[j] - Ws[j]
            for lower in (False, True):  # EMA tries "upper" first, then "lower"
                cut = _cut(xs, excl, denom[j], alpha if lower else 1 - alpha, lower)
                if lower:
                    r = int(np.searchsorted(xs, cut, "left"))     # keep x >= cut
                    part = Ys[j, :r]
                    rem_w = r * w0 if equal else (float(cw[j, r - 1]) if r > 0 else 0.0)
                    new_res = cut != init_lo[j] or hi[j] != init_hi[j]
                else:
                    r = int(np.searchsorted(xs, cut, "right"))    # keep x <= cut
                    part = Ys[j, r:]
                    rem_w = (nb - r) * w0 if equal else W - (float(cw[j, r - 1]) if r > 0 else 0.0)
                    new_res = lo[j] != init_lo[j] or cut != init_hi[j]
                rem_y = np.count_nonzero(part) * w0 if equal else float(part.sum())
                W_new, Y_new = W - rem_w, Y - rem_y
                obj = _lenient1(W, Y, W_new, Y_new)
                key = (obj, I - (n_res - int(restricted[j]) + int(new_res)))
                if best is None or key > best[0]:
                    best = (key, j, lower, cut, r, W_new, Y_new)
        (obj, _), j, lower, cut, r, W_new, Y_new = best
        if not (W_new / Wtot >= mass_min and W_new < W and obj > 0):
            break
        keep = np.zeros(n, dtype=bool)
        keep[order[j, r:] if lower else order[j, :r]] = True
        if lower:
            lo[j] = cut
        else:
            hi[j] = cut
        m = keep[order]
        nk = int(np.count_nonzero(keep))
        order = order[m].reshape(I, nk)
        Xs = Xs[m].reshape(I, nk)
        Ys = Ys[m].reshape(I, nk)
        if not equal:
            Ws = Ws[m].reshape(I, nk)
        W, Y = W_new, Y_new
        record(W, Y)
    # Pasting (EMA's _paste and _real_paste), over every point.
    while True:
        restricted = np.nonzero((lo != init_lo) | (hi != init_hi))[0]
        if restricted.size == 0:
            break
        inside_each = np.array([(XT[k] >= lo[k]) & (XT[k] <= hi[k]) for k in restricted])
        best = None
        for k, u in enumerate(restricted):
            others = np.delete(inside_each, k, axis=0).all(axis=0)
            xu = XT[u]
            for lower in (True, False):   # EMA pastes "lower" first, then "upper"
                if lower:
                    slab = others & (xu <= lo[u])
                else:
                    slab = others & (xu >= hi[u])
                if slab.any():
                    o = np.argsort(xu[slab], kind="stable")
                    xs, ws = xu[slab][o], w[slab][o]
                    excl = np.cumsum(ws) - ws
                    denom = ws.sum() - ws[-1]
                    q = 1 - paste_alpha if lower else paste_alpha
                    value = _cut(xs, excl, denom, q, lower=not lower)
                else:
                    value = init_lo[u] if lower else init_hi[u]
                nlo, nhi = (value, hi[u]) if lower else (lo[u], value)
                box = others & (xu >= nlo) & (xu <= nhi)
                W_new, Y_new = float(w[box].sum()), float(wy[box].sum())
                obj = _lenient1(W, Y, W_new, Y_new)
                res_new = (lo != init_lo) | (hi != init_hi)
                res_new[u] = (nlo != init_lo[u]) or (nhi != init_hi[u])
                key = (obj, I - int(res_new.sum()))
                if best is None or key > best[0]:
                    best = (key, u, nlo, nhi, W_new, Y_new)
        (obj, _), u, nlo, nhi, W_new, Y_new = best
        m_old, m_new = Y / W, (Y_new / W_new if W_new > 0 else 0.0)
        if not (W_new / Wtot >= mass_min and W_new > W and obj > 0 and m_new > m_old):
            break
        lo[u], hi[u] = nlo, nhi
        W, Y = W_new, Y_new
        record(W, Y)
    return traj, (init_lo, init_hi)


def _in_box(X, lo, hi, dims):
    if len(dims) == 0:
        return np.ones(X.shape[0], dtype=bool)
    return np.all((X[:, dims] >= lo[dims]) & (X[:, dims] <= hi[dims]), axis=1)


def _weighted_cdf(x, w, v, strict):
    """Share of the weight with x < v (strict) or x <= v."""
    m = (x < v) if strict else (x <= v)
    return float(w[m].sum() / w.sum())


def choose_box(traj, min_coverage=0.5, density=None):
    """Index of the chosen box on the trajectory and a sentence saying why."""
    tol = 1e-12
    if density is not None:
        for i, b in enumerate(traj):
            if b["density"] >= density - tol:
                return i, f"the first box whose density reaches {density:g}", None
        note = (f"no box on the trajectory reaches density {density:g} (the highest is "
                f"{max(b['density'] for b in traj):.3f}); shown instead: ")
    else:
        note = None
    ok = [i for i, b in enumerate(traj) if b["coverage"] >= min_coverage - tol]
    if not ok:
        ok = [0]
    best = max(ok, key=lambda i: (traj[i]["density"], -i))
    why = f"the densest box with coverage >= {min_coverage:g}"
    return best, why, (note + why if note else None)


# ---------------------------------------------------------------------------
# The library entry points.


def explain(source, where, top=None, min_coverage=0.5, density=None, mass_min=None,
            prim_max_paths=PRIM_MAX_PATHS, run_prim=True):
    """Explain the subset of paths where `where` holds.

    source   a result file name or a PathData from load_paths()
    where    the expression (see the module docstring), or a tree from parse()
    top      how many inputs to return, ranked by KS D (None or 0: all)
    min_coverage, density, mass_min   PRIM's box choice and stopping rule
    run_prim False skips PRIM (the "prim" entry is then None)

    Returns a dict (what `runway explain --json` prints); raises ExprError
    for a bad expression and ResultError for a file that cannot serve."""
    tree = parse(where) if isinstance(where, str) else where
    d = source if isinstance(source, PathData) else load_paths(source)
    resolve(tree, d)
    inside = evaluate(tree, d)
    N = len(inside)
    weighted = d.weight is not None
    w = d.weight if weighted else np.ones(N)
    W = float(w.sum())
    share = float(w[inside].sum() / W)
    out = {
        "file": d.path, "scenario_name": d.scenario_name, "where": describe(tree),
        "expression": where if isinstance(where, str) else describe(tree),
        "base_year": d.base_year, "horizon": d.horizon, "paths": N,
        "weighted": weighted,
        "weights": ("paths/weight: the run is conditioned on observations; every share, median, "
                    "D and PRIM statistic uses the weights") if weighted else None,
        "n_eff": float(W * W / np.sum(w * w)) if weighted else float(N),
        "subset": {"share": share, "paths": int(np.count_nonzero(inside)),
                   "weight": float(w[inside].sum())},
        "inputs": [], "notes": [], "prim": None,
    }
    n_in = int(np.count_nonzero(inside & (w > 0)))
    n_out = int(np.count_nonzero(~inside & (w > 0)))
    if n_in == 0 or n_out == 0:
        what = "no path" if n_in == 0 else "every path"
        out["notes"].append(f"{what} with positive weight satisfies the expression: there is "
                            "nothing to compare" if weighted else
                            f"{what} satisfies the expression: there is nothing to compare")
        for name in d.inputs:
            out["inputs"].append({"rank": None, "input": name,
                                  "first_year_draw": name in d.per_year,
                                  "median_inside": None, "median_outside": None,
                                  "quantile_shift": None, "ks_d": None, "ks_p": None})
        out["inputs_total"] = len(d.inputs)
        return out
    rows, ne_in, ne_out = input_table(d, inside, w)
    out["subset"]["n_eff_inside"], out["subset"]["n_eff_outside"] = ne_in, ne_out
    for name, r in zip(d.inputs, rows):
        r.update({"input": name, "first_year_draw": name in d.per_year})
    ranked = sorted(range(len(rows)), key=lambda i: (-rows[i]["ks_d"], i))
    for rank, i in enumerate(ranked, 1):
        rows[i]["rank"] = rank
    keep = ranked if not top else ranked[:top]
    out["inputs"] = [{k: rows[i][k] for k in ("rank", "input", "first_year_draw",
                                              "median_inside", "median_outside",
                                              "quantile_shift", "ks_d", "ks_p")}
                     for i in keep]
    out["inputs_total"] = len(rows)
    if d.per_year:
        out["notes"].append("inputs drawn per year (" + ", ".join(sorted(d.per_year)) +
                            "): the file keeps their first year's draw, which is what is "
                            "compared")
    if run_prim:
        out["prim"] = _prim_report(d, inside, w, share, min_coverage, density, mass_min,
                                   prim_max_paths)
    return out


def _prim_report(d, inside, w, share, min_coverage, density, mass_min, prim_max_paths):
    N = len(inside)
    if mass_min is None:
        mass_min = min(MASS_MIN, share / 4)
    n_s = min(N, prim_max_paths)
    sel = w > 0
    sel[n_s:] = False
    order, Xs = d.sorted()
    if sel.all():
        XTs, yp, wp = d.XT, inside, w
    else:
        # The sample's rows, still in each input's sorted order.
        cnt = int(np.count_nonzero(sel))
        remap = (np.cumsum(sel) - 1).astype(np.int32)
        m = sel[order]
        order = remap[order[m]].reshape(len(d.inputs), cnt)
        Xs = Xs[m].reshape(len(d.inputs), cnt)
        XTs, yp, wp = d.XT[:, sel], inside[sel], w[sel]
    sub = "every path" if N <= prim_max_paths else f"the first {prim_max_paths} paths"
    if not (w[:n_s] > 0).all():
        sub = ("the paths" if N <= prim_max_paths else sub) + " with positive weight"
    rep = {"method": "PRIM (Friedman and Fisher 1999) as in the EMA Workbench: lenient1 "
                     "objective, peeling then pasting",
           "peel_alpha": PEEL_ALPHA, "paste_alpha": PASTE_ALPHA, "mass_min": mass_min,
           "paths_used": int(len(yp)), "sample": sub, "min_coverage": min_coverage,
           "density_target": density}
    if yp.sum() == 0 or yp.all():
        rep["note"] = "the PRIM sample holds no path of the subset, or only such paths"
        rep["trajectory"], rep["box"] = [], None
        return rep
    traj, (init_lo, init_hi) = prim(XTs, yp, wp, mass_min=mass_min, order=order, Xs=Xs)
    rep["trajectory"] = [{"box": i, "coverage": b["coverage"], "density": b["density"],
                          "mass": b["mass"], "restricted_dims": int(b["restricted"].sum())}
                         for i, b in enumerate(traj)]
    i, why, note = choose_box(traj, min_coverage, density)
    b = traj[i]
    dims = np.nonzero(b["restricted"])[0]
    X = d.X
    box_all = _in_box(X, b["lo"], b["hi"], dims)
    Wt, Yt = float(w.sum()), float(w[inside].sum())
    Wb, Yb = float(w[box_all].sum()), float(w[box_all & inside].sum())
    restr = []
    for j in dims:
        lo_r, hi_r = bool(b["lo"][j] != init_lo[j]), bool(b["hi"][j] != init_hi[j])
        others = [k for k in dims if k != j]
        wo = _in_box(X, b["lo"], b["hi"], np.array(others, dtype=int))
        Wo, Yo = float(w[wo].sum()), float(w[wo & inside].sum())
        restr.append({
            "input": d.inputs[j], "first_year_draw": d.inputs[j] in d.per_year,
            "lo": float(b["lo"][j]), "hi": float(b["hi"][j]),
            "lo_restricted": lo_r, "hi_restricted": hi_r,
            "lo_quantile": _weighted_cdf(X[:, j], w, b["lo"][j], strict=True),
            "hi_quantile": _weighted_cdf(X[:, j], w, b["hi"][j], strict=False),
            "density_without": Yo / Wo if Wo > 0 else None,
            "coverage_without": Yo / Yt})
    rep["box"] = {"box": i, "why": why, "note": note,
                  "coverage": b["coverage"], "density": b["density"], "mass": b["mass"],
                  "coverage_all_paths": Yb / Yt, "density_all_paths": Yb / Wb if Wb > 0 else None,
                  "mass_all_paths": Wb / Wt, "base_rate": share,
                  "lift": (Yb / Wb) / share if Wb > 0 and share > 0 else None,
                  "restricted": restr}
    return rep


def explain_lab_failure(source, lab, by_year, top=5, run_prim=False):
    """The worlds where LAB has left (failed or been bought) by the end of
    BY_YEAR: a calendar year, or a simulated year 1..horizon. Returns
    {"lab", "year" (calendar), "share", "weighted", "where", "inputs": the
    top inputs by KS D, each with median_inside, median_outside,
    quantile_shift, ks_d, ks_p, "prim" (None unless run_prim)}."""
    d = source if isinstance(source, PathData) else load_paths(source)
    if lab not in d.labs:
        s = _close(lab, d.labs)
        hint = f"; did you mean '{_show(s)}'?" if s else ""
        raise ExprError(f"unknown lab '{_show(lab)}'{hint}")
    y = int(by_year)
    if 1 <= y <= d.horizon:
        y = d.base_year + y
    c = Cmp(f"{lab}.fail_year", "<=", str(y), f"{lab}.fail_year <= {y}")
    r = explain(d, c, top=top, run_prim=run_prim)
    return {"lab": lab, "year": y, "share": r["subset"]["share"], "weighted": r["weighted"],
            "where": r["where"], "inputs": r["inputs"], "prim": r["prim"], "notes": r["notes"]}


# ---------------------------------------------------------------------------
# Output.


def _num(x, sig=4):
    """A value shown with sig significant digits."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.{sig}g}"


def _pv(p):
    if p is None:
        return "n/a"
    return "<1e-16" if p < 1e-16 else f"{p:.2g}"


def format_text(r):
    out = []
    out.append(f"Subset: {r['where']}   ({r['file']})")
    s = r["subset"]
    if r["weighted"]:
        out.append(f"  {s['share']:.2%} of the weight ({s['paths']} of {r['paths']} paths; "
                   f"n_eff {r['n_eff']:.0f})")
        out.append("  Weighted: paths/weight (a run conditioned on observations): every share, "
                   "median, D and PRIM statistic below uses the weights.")
    else:
        out.append(f"  {s['share']:.2%} of {r['paths']} paths ({s['paths']})")
    for n in r["notes"]:
        out.append(f"  Note: {n}")
    if r["inputs"] and r["inputs"][0].get("ks_d") is not None:
        out.append("")
        shown = len(r["inputs"])
        total = r.get("inputs_total", shown)
        out.append(f"Inputs inside vs outside the subset, ranked by Kolmogorov-Smirnov D "
                   f"({shown} of {total}):")
        w = max([len("input")] + [len(x["input"]) + 2 for x in r["inputs"]])
        out.append(f"  {'rank':>4}  {'input':<{w}}  {'median in':>10}  {'median out':>10}  "
                   f"{'q shift':>7}  {'D':>5}  {'p':>7}")
        star = False
        for x in r["inputs"]:
            name = x["input"] + (" *" if x["first_year_draw"] else "")
            star |= x["first_year_draw"]
            out.append(f"  {x['rank']:>4}  {name:<{w}}  {_num(x['median_inside']):>10}  "
                       f"{_num(x['median_outside']):>10}  {x['quantile_shift']:>7.2f}  "
                       f"{x['ks_d']:>5.3f}  {_pv(x['ks_p']):>7}")
        if star:
            out.append("  * drawn per year: its first year's draw")
        out.append("  q shift: the inside median's percentile in the outside distribution "
                   "(0.5: no shift).")
    p = r.get("prim")
    if p:
        out.append("")
        out.append(f"PRIM boxes (peel alpha {p['peel_alpha']:g}, paste alpha "
                   f"{p['paste_alpha']:g}, mass_min {p['mass_min']:.3g}; on {p['sample']}, "
                   f"{p['paths_used']} paths):")
        if p.get("note"):
            out.append(f"  Note: {p['note']}")
        t = p["trajectory"]
        if t:
            out.append(f"  {'box':>4}  {'coverage':>8}  {'density':>7}  {'mass':>6}  "
                       f"{'dims':>4}")
            for i in _summary_points(t, p["box"]["box"] if p["box"] else None):
                b = t[i]
                mark = "  <- chosen" if p["box"] and i == p["box"]["box"] else ""
                out.append(f"  {b['box']:>4}  {b['coverage']:>8.3f}  {b['density']:>7.3f}  "
                           f"{b['mass']:>6.3f}  {b['restricted_dims']:>4}{mark}")
        bx = p["box"]
        if bx:
            out.append("")
            if bx["note"]:
                out.append(f"  Note: {bx['note']}")
            out.append(f"Box {bx['box']} ({bx['why']}): coverage {bx['coverage_all_paths']:.3f}, "
                       f"density {bx['density_all_paths']:.3f} (base rate {bx['base_rate']:.3f}, "
                       f"lift {bx['lift']:.2f}), mass {bx['mass_all_paths']:.3f}, on every path")
            if bx["restricted"]:
                w = max([len("input")] + [len(x["input"]) for x in bx["restricted"]])
                out.append(f"  {'input':<{w}}  {'lo (quantile)':>21}  {'hi (quantile)':>21}  "
                           f"{'density without':>15}")
                for x in bx["restricted"]:
                    lo = f"{_num(x['lo'])} ({x['lo_quantile']:.2f})" if x["lo_restricted"] \
                        else "-"
                    hi = f"{_num(x['hi'])} ({x['hi_quantile']:.2f})" if x["hi_restricted"] \
                        else "-"
                    out.append(f"  {x['input']:<{w}}  {lo:>21}  {hi:>21}  "
                               f"{_num(x['density_without'], 3):>15}")
                out.append("  lo, hi: the box's bounds (-: not restricted on that side); "
                           "(quantile): where the bound falls in the input's whole distribution.")
            else:
                out.append("  (no input is restricted)")
    return "\n".join(out) + "\n"


def _summary_points(t, chosen):
    """A handful of trajectory indices: evenly spread, plus the first, the
    last and the chosen box."""
    n = len(t)
    idx = set(np.linspace(0, n - 1, min(n, TRAJECTORY_POINTS)).round().astype(int).tolist())
    idx |= {0, n - 1}
    if chosen is not None:
        idx.add(chosen)
    return sorted(idx)


CSV_COLUMNS = ["rank", "input", "first_year_draw", "median_inside", "median_outside",
               "quantile_shift", "ks_d", "ks_p"]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(v):
    """A CSV cell: numbers as they are; text that a spreadsheet would read
    as a formula (= + - @, tab, CR first) prefixed with a quote."""
    if v is None:
        return "nan"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(float(v)) if isinstance(v, float) else str(v)
    s = str(v)
    return "'" + s if s.startswith(_FORMULA) else s


def write_csv(rows, path):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow([_cell(r.get(k)) for k in CSV_COLUMNS])


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog=PROG, description="Which drawn inputs lead to the paths where EXPR holds: "
        "inside vs outside medians and Kolmogorov-Smirnov D per input, and PRIM boxes.")
    ap.add_argument("result", metavar="RESULT.h5")
    ap.add_argument("--where", required=True, metavar="EXPR",
                    help='the subset, e.g. "OpenAI.fail_year <= 2029 and market.price_decline > 5"')
    ap.add_argument("--top", type=int, default=10, metavar="K",
                    help="inputs shown (default 10; 0: all; the CSV holds all)")
    ap.add_argument("--min-coverage", type=float, default=0.5, metavar="C",
                    help="PRIM: the densest box with at least this coverage (default 0.5)")
    ap.add_argument("--density", type=float, default=None, metavar="D",
                    help="PRIM: instead, the first box whose density reaches D")
    ap.add_argument("--mass-min", type=float, default=None, metavar="M",
                    help="PRIM: smallest box, as a share of paths (default 0.05, or a quarter "
                         "of the subset's share when smaller)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the tables")
    ap.add_argument("-o", "--output", metavar="OUT.csv", help="also write the per-input table")
    args = ap.parse_args(argv)
    if args.top < 0:
        ap.error("--top must be 0 (all) or a positive number")
    for name, v in (("--min-coverage", args.min_coverage), ("--density", args.density)):
        if v is not None and not (0 <= v <= 1):
            ap.error(f"{name} must be between 0 and 1")
    if args.mass_min is not None and not (0 < args.mass_min < 1):
        ap.error("--mass-min must be between 0 and 1")
    expr = args.where
    try:
        tree = parse(expr)
        r = explain(args.result, tree, top=0, min_coverage=args.min_coverage,
                    density=args.density, mass_min=args.mass_min)
        r["expression"] = expr
        if args.output:
            with AtomicOutputs() as out:
                write_csv(r["inputs"], out.add(args.output))
    except ExprError as e:
        sys.stderr.write(f"{PROG}: --where {_show(expr, 200)!r}: {' '.join(str(e).split())}\n")
        return EXIT_USAGE
    except ResultError as e:
        die(PROG, e)
    except OSError as e:
        die(PROG, f"{args.output}: cannot write: {e.strerror or e}")
    except Exception as e:  # noqa: BLE001 - never a traceback: one line
        die_unexpected(PROG, f"{args.result}: cannot explain", e)
    if args.top:
        r["inputs"] = r["inputs"][:args.top]
    text = (json.dumps(_jsonable(r), indent=1, allow_nan=False) + "\n" if args.json
            else format_text(r))
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
