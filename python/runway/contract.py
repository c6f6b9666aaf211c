"""runway.validate: check a result file against the whole file contract
(docs/output-format.md, which is ../shared/OUTPUT.md, and the additions of
docs/outputs.md), using h5py only. The one validator of result files:

- the reader every script uses (runway.result.load: report, compare,
  explain, the sweep and batch-index scripts, runway.load) refuses a file
  with the first rule it breaks, in one line, having read it in a forked
  child with a memory limit;
- check() here adds what a reader can tolerate but the writer must keep
  (units and long_name, dimension scales attached, exact dtypes, the enum
  of outcomes, axis values, tolerances of 1e-12, trajectories), reports
  every problem rather than the first, and then asks the reader: a file
  check() passes is one the scripts accept. Shared rules (outcome codes,
  weight quantisation, Wilson intervals, backtest vocabularies) come from
  runway.result.

Command line (tests/check_output.py is the same):
    /usr/bin/python3 tests/check_output.py FILE.h5 [--expect-paths N]
        [--expect-labs L] [--expect-horizon T] [--expect-inputs I]
        [--expect-kept K] [--per-path | --no-per-path]
        [--allow-incomplete] [--no-cross-check]
prints one line per failed check and exits 1, or prints "ok" and exits 0.

As a module:
    import runway
    problems = runway.validate("out.h5", expect_paths=1000)   # check() in a
                                                              # forked child first
    assert not problems, problems

What is checked (tolerances stated where a comparison is not exact):
- every root attribute of OUTPUT.md, plus `paths_done`, with its type;
  `complete` == 1 (unless allow_incomplete); `created` is ISO 8601 UTC;
- every axis exists, is a dimension scale named after itself, has the right
  length and values: year = base_year+1..base_year+horizon, quantile = 0.05
  0.25 0.5 0.75 0.95, n_alive = 0..L, path = 0..N-1, kept_path distinct
  and in [0, N); lab and input are UTF-8 strings;
- every summary, per-path and trajectory dataset exists with its shape,
  dtype family, `units` and `long_name`, and each dimension attached to
  exactly the right scale; every other dataset in the file also has units
  and long_name;
- probabilities (survival, its interval, failed_*, acquired_solvent,
  profitable_by, independent_alive) are in [0, 1] and not NaN; survival is
  non-increasing in year, failed_*, acquired_solvent and profitable_by
  non-decreasing;
  survival_lo <= survival <= survival_hi (1e-12);
  failed_acquired + failed_wound_down + acquired_solvent + survival == 1
  (1e-12): every lab is alive, or has left one of the three ways;
  each year of independent_alive sums to 1 (1e-12);
  quantiles are non-decreasing along the quantile axis where not NaN;
  sensitivities are in [-1, 1] or NaN;
- outcome is an HDF5 enum over int8 with exactly survived=0, acquired=1,
  wound_down=2, acquired_solvent=3 (MODEL.md step 7); per path, fail_year
  (the year the lab left: failed, or bought while solvent) and profit_year
  are in 0..T, outcome is 0 exactly where fail_year is 0;
- cross-checks (complete files, unless cross_check=False): survival,
  failed_acquired, failed_wound_down, acquired_solvent and profitable_by
  equal the fractions of paths computed from group `paths` (1e-12), and
  trajectories/alive agrees with fail_year of the kept paths;
- the reader's verdict (runway.result.load), unless allow_incomplete lets
  an unfinished file through: "the reader refuses it: ..." otherwise.
"""
import argparse
import re
import sys

import h5py
import numpy as np

from runway.result import (BT_QUANTITIES, BT_STATUSES, ResultError, _probe,
                           load as _reader_load, weight_problem, weight_units, weighted_bincount, wilson)

QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]
TOL = 1e-12
ROWS = 1 << 20  # per-path rows read at a time

ROOT_STR = ["title", "scenario_name", "scenario_yaml", "runway_version",
            "created", "command_line"]
ROOT_INT = {"seed": "u8", "paths": "u8", "horizon": "i4", "base_year": "i4",
            "threads": "i4", "processes": "i4", "complete": "i4",
            "paths_done": "u8"}

LY = ("lab", "year")
LYQ = ("lab", "year", "quantile")
SUMMARY = {
    "survival": LY, "survival_lo": LY, "survival_hi": LY,
    "failed_acquired": LY, "failed_wound_down": LY, "acquired_solvent": LY,
    "profitable_by": LY,
    "cash_q": LYQ, "revenue_q": LYQ, "op_cash_flow_q": LYQ, "raised_q": LYQ,
    "ownership_q": LYQ, "share_q": LYQ, "parent_subsidy_q": LYQ,
    "independent_alive": ("year", "n_alive"),
    "sensitivity_survival": ("lab", "input"),
    "sensitivity_cash": ("lab", "input"),
}
PROBS = ["survival", "survival_lo", "survival_hi", "failed_acquired",
         "failed_wound_down", "acquired_solvent", "profitable_by",
         "independent_alive"]
PATHS = {  # name: (axes, dtype kind)
    "fail_year": (("path", "lab"), "i"),
    "outcome": (("path", "lab"), "enum"),
    "profit_year": (("path", "lab"), "i"),
    "final_cash": (("path", "lab"), "f"),
    "raised_total": (("path", "lab"), "f"),
    "inputs": (("path", "input"), "f"),
}
TRAJ = {"cash": "f", "revenue": "f", "op_cash_flow": "f", "raised": "f",
        "share": "f", "alive": "u"}
# Group backtest (OUTPUT.md "Evidence"): its columns on the observation
# axis (predicted_q also on quantile), and its attributes.
BACKTEST = {"subject": "str", "year": "i4", "quantity": "str", "units": "str",
            "source": "str", "status": "str", "verdict": "str", "observed": "f8",
            "observed_p5": "f8", "observed_p95": "f8", "pit": "f8", "crps": "f8",
            "p_exists": "f8", "status_probability": "f8", "log_score": "f8",
            "inside50": "u1", "inside90": "u1", "predicted_q": "f8"}
BACKTEST_ATTRS = ("coverage50", "coverage50_lo", "coverage50_hi", "coverage90",
                  "coverage90_lo", "coverage90_hi", "figures", "statuses", "mean_log_score")
OUTCOME_MEMBERS = {"survived": 0, "acquired": 1, "wound_down": 2,
                   "acquired_solvent": 3}
# The summary each exit outcome is counted in (outcome code: dataset).
EXITS = {1: "failed_acquired", 2: "failed_wound_down", 3: "acquired_solvent"}


def _text(v):
    """A string attribute as str (h5py gives bytes for fixed-length ones)."""
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray) and v.shape == () and v.dtype.kind in "SU":
        return _text(v[()])
    return v if isinstance(v, str) else None


class _Checker:
    def __init__(self, f):
        self.f = f
        self.problems = []
        self.years = None  # calendar years, for messages
        self.labs = None   # lab names, for messages

    def year_name(self, t):
        if self.years is not None and 0 <= t < len(self.years):
            return "%d" % self.years[t]
        return "year index %d" % t

    def lab_name(self, l):
        if self.labs is not None and 0 <= l < len(self.labs):
            return "%d (%s)" % (l, self.labs[l])
        return "%d" % l

    def bad(self, msg):
        self.problems.append(msg)

    # ---- attributes ----
    def root_attrs(self, allow_incomplete):
        a = self.f.attrs
        for name in ROOT_STR:
            if name not in a:
                self.bad("root attribute %s missing" % name)
            elif _text(a[name]) is None:
                self.bad("root attribute %s is not a string" % name)
        for name, dt in ROOT_INT.items():
            if name not in a:
                self.bad("root attribute %s missing" % name)
                continue
            v = np.asarray(a[name])
            if v.shape != () or v.dtype != np.dtype(dt):
                self.bad("root attribute %s: want a scalar %s, got %s %s"
                         % (name, np.dtype(dt), v.dtype, v.shape))
        created = _text(a.get("created", b""))
        if created is not None and "created" in a and not re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", created):
            self.bad("root attribute created is not ISO 8601 UTC: %r" % created)
        if "complete" in a and not allow_incomplete and int(a["complete"]) != 1:
            self.bad("complete is %d, not 1" % int(a["complete"]))
        if "paths_done" in a and "paths" in a and int(a["complete"]) == 1 \
                and int(a["paths_done"]) != int(a["paths"]):
            self.bad("complete file with paths_done %d != paths %d"
                     % (int(a["paths_done"]), int(a["paths"])))

    def units(self, ds):
        for att in ("units", "long_name"):
            if att not in ds.attrs:
                self.bad("%s: attribute %s missing" % (ds.name.lstrip("/"), att))
            elif not _text(ds.attrs[att]):
                self.bad("%s: attribute %s is not a non-empty string"
                         % (ds.name.lstrip("/"), att))

    # ---- axes ----
    def axis(self, name, length=None, values=None, kind=None):
        if name not in self.f or not isinstance(self.f[name], h5py.Dataset):
            self.bad("axis %s missing" % name)
            return None
        ds = self.f[name]
        if not h5py.h5ds.is_scale(ds.id):
            self.bad("axis %s is not a dimension scale" % name)
        elif _text(ds.attrs.get("NAME", b"")) != name:
            self.bad("axis %s: scale name is %r" % (name, ds.attrs.get("NAME")))
        if ds.ndim != 1:
            self.bad("axis %s has rank %d" % (name, ds.ndim))
            return None
        if length is not None and ds.shape[0] != length:
            self.bad("axis %s has length %d, want %d" % (name, ds.shape[0], length))
            return None
        if kind == "str":
            info = h5py.check_string_dtype(ds.dtype)
            if info is None or info.encoding != "utf-8":
                self.bad("axis %s is not UTF-8 strings" % name)
        elif kind is not None and ds.dtype.kind != kind:
            self.bad("axis %s has dtype %s" % (name, ds.dtype))
        if values is not None:
            v = ds[()]
            if not np.array_equal(v, np.asarray(values)):
                self.bad("axis %s has values %s, want %s"
                         % (name, _short(v), _short(values)))
        return ds

    def path_axis(self, n):
        ds = self.axis("path", n, None, "i")
        if ds is None or n is None:
            return
        for lo in range(0, n, ROWS):
            hi = min(n, lo + ROWS)
            if not np.array_equal(ds[lo:hi], np.arange(lo, hi)):
                self.bad("axis path is not 0..N-1 (rows %d..%d)" % (lo, hi - 1))
                return

    # ---- datasets ----
    def dataset(self, path, axes, shape, kind):
        """Presence, shape, dtype family, units, and the attached scales."""
        if path not in self.f or not isinstance(self.f[path], h5py.Dataset):
            self.bad("dataset %s missing" % path)
            return None
        ds = self.f[path]
        if ds.shape != shape:
            self.bad("%s has shape %s, want %s" % (path, ds.shape, shape))
        if kind == "enum":
            pass  # checked by the caller
        elif kind == "f8":
            if ds.dtype != np.float64:
                self.bad("%s has dtype %s, want float64" % (path, ds.dtype))
        elif ds.dtype.kind != kind or h5py.check_enum_dtype(ds.dtype) is not None:
            self.bad("%s has dtype %s, want kind %r" % (path, ds.dtype, kind))
        self.units(ds)
        for i, ax in enumerate(axes[:ds.ndim]):
            scales = list(ds.dims[i].values()) if len(ds.dims[i]) else []
            if len(scales) != 1 or scales[0].name != "/" + ax:
                self.bad("%s: dimension %d is attached to %s, want /%s"
                         % (path, i, [s.name for s in scales], ax))
        return ds

    def summaries(self, length):
        got = {}
        for name, axes in SUMMARY.items():
            shape = tuple(length[a] for a in axes)
            if None in shape:
                continue
            ds = self.dataset(name, axes, shape, "f8")
            if ds is not None and ds.shape == shape:
                got[name] = ds[()]
        for name in PROBS:
            v = got.get(name)
            if v is None:
                continue
            if np.isnan(v).any():
                self.bad("%s has NaN" % name)
            if (v[~np.isnan(v)] < 0).any() or (v[~np.isnan(v)] > 1).any():
                self.bad("%s has values outside [0, 1]" % name)
        s = got.get("survival")
        if s is not None:
            for name, sign in (("survival", -1), ("failed_acquired", 1),
                               ("failed_wound_down", 1), ("acquired_solvent", 1),
                               ("profitable_by", 1)):
                v = got.get(name)
                if v is None or v.shape[1] < 2:
                    continue
                step = sign * np.diff(v, axis=1)
                for l, t in zip(*np.nonzero(step < 0)):
                    self.bad("%s %s from %s to %s for lab %s (%.17g -> %.17g)"
                             % (name, "increases" if sign < 0 else "decreases",
                                self.year_name(t), self.year_name(t + 1),
                                self.lab_name(l), v[l, t], v[l, t + 1]))
            lo, hi = got.get("survival_lo"), got.get("survival_hi")
            if lo is not None and (lo > s + TOL).any():
                self.bad("survival_lo > survival at (lab, year index) %s"
                         % _where(lo > s + TOL))
            if hi is not None and (hi < s - TOL).any():
                self.bad("survival_hi < survival at (lab, year index) %s"
                         % _where(hi < s - TOL))
            fa, fw = got.get("failed_acquired"), got.get("failed_wound_down")
            sol = got.get("acquired_solvent")
            if fa is not None and fw is not None and sol is not None:
                off = np.abs(fa + fw + sol + s - 1.0) > TOL
                if off.any():
                    self.bad("failed_acquired + failed_wound_down + acquired_solvent"
                             " + survival != 1 (tolerance %g) at (lab, year index) %s"
                             % (TOL, _where(off)))
        ia = got.get("independent_alive")
        if ia is not None:
            off = np.abs(ia.sum(axis=1) - 1.0) > TOL
            if off.any():
                self.bad("independent_alive does not sum to 1 in years (index) %s"
                         % list(np.nonzero(off)[0]))
        for name, axes in SUMMARY.items():
            v = got.get(name)
            if v is None or axes != LYQ:
                continue
            d = np.diff(v, axis=2)
            if (d < 0).any():  # NaN compares false: skipped
                self.bad("%s decreases along the quantile axis at (lab, year index) %s"
                         % (name, _where((d < 0).any(axis=2))))
        for name in ("sensitivity_survival", "sensitivity_cash"):
            v = got.get(name)
            if v is not None and (np.abs(v[~np.isnan(v)]) > 1).any():
                self.bad("%s has values outside [-1, 1]" % name)
        return got

    def outcome_type(self, ds):
        members = h5py.check_enum_dtype(ds.dtype)
        if members is None:
            self.bad("paths/outcome is not an HDF5 enum")
        elif dict(members) != OUTCOME_MEMBERS:
            self.bad("paths/outcome enum members are %s" % dict(members))
        if ds.dtype.base != np.int8:
            self.bad("paths/outcome is not over int8 (%s)" % ds.dtype.base)

    def paths(self, length, summ, cross, weight=None):
        """Group `paths`; weight is paths/weight of a conditioned run (then
        every cross-check is a share of the weight, not of the paths)."""
        N, L, T, I = (length[a] for a in ("path", "lab", "year", "input"))
        dss = {}
        for name, (axes, kind) in PATHS.items():
            # --per-path outcomes keeps everything but the drawn inputs
            mode = self.f.attrs.get("per_path", b"all")
            mode = mode.decode() if isinstance(mode, bytes) else str(mode)
            if name == "inputs" and mode == "outcomes":
                if "paths/inputs" in self.f:
                    self.bad("per_path is 'outcomes' but paths/inputs exists")
                continue
            ds = self.dataset("paths/" + name, axes,
                              tuple(length[a] for a in axes), kind)
            if ds is None:
                return
            dss[name] = ds
        self.outcome_type(dss["outcome"])
        if any(ds.shape != tuple(length[a] for a in PATHS[n][0])
               for n, ds in dss.items()):
            return
        # Sums for the cross-check, by lab: of the weight (in units of
        # 2^-32, exact integers; 1 per path when not conditioned) of the
        # paths that left in year t by each outcome, and that turned
        # profitable first in year t (t = 0: never).
        units = weight_units(weight)
        exact = weight is None or units is not None
        nb = (T + 1) * 4
        left = np.zeros((L, nb), np.int64 if exact else np.float64)
        prof = np.zeros((L, T + 1), left.dtype)
        total = 0
        reported = set()
        for lo in range(0, N, ROWS):
            hi = min(N, lo + ROWS)
            fy = dss["fail_year"][lo:hi].astype(np.int64)
            oc = dss["outcome"][lo:hi].astype(np.int64)
            py = dss["profit_year"][lo:hi].astype(np.int64)
            bad_rows = np.zeros(hi - lo, bool)
            for what, cond in (
                    ("fail_year outside 0..T", (fy < 0) | (fy > T)),
                    ("profit_year outside 0..T", (py < 0) | (py > T)),
                    ("outcome outside 0..%d" % max(EXITS),
                     (oc < 0) | (oc > max(EXITS))),
                    ("outcome != 0 exactly where fail_year != 0", (oc != 0) != (fy != 0))):
                if cond.any():
                    bad_rows |= cond.any(axis=1)
                    if what not in reported:
                        reported.add(what)
                        p, l = np.argwhere(cond)[0]
                        self.bad("paths: %s (first at path %d, lab %d)" % (what, lo + p, l))
            if not cross or bad_rows.any():
                cross = False
                continue
            k = None if weight is None else (
                units[lo:hi] if units is not None else weight[lo:hi])
            k_units = k if units is not None else None
            total += (hi - lo) if k is None else k.sum()
            for l in range(L):
                left[l] += weighted_bincount(fy[:, l] * 4 + oc[:, l], k, nb, k_units)
                prof[l] += weighted_bincount(py[:, l], k, T + 1, k_units)
        if cross and N > 0 and total > 0:
            by = left.reshape(L, T + 1, 4)[:, 1:, :]          # (L, T, outcome)
            gone = np.cumsum(by, axis=1)                       # left by the end of year t
            alive = total - gone.sum(axis=2)
            counts = [("survival", alive)] + [(EXITS[c], gone[:, :, c]) for c in sorted(EXITS)] \
                + [("profitable_by", np.cumsum(prof[:, 1:], axis=1))]
            tol = TOL if exact else 1e-9
            for name, count in counts:
                v = summ.get(name)
                if v is None:
                    continue
                share = count.astype(np.float64) / float(total)
                off = np.abs(v - share) > tol
                if off.any():
                    l, t = np.argwhere(off)[0]
                    if weight is None:
                        say = "paths say %d/%d" % (count[l, t], N)
                    else:
                        say = "the weighted paths say %.17g" % share[l, t]
                    self.bad("%s disagrees with group paths%s at (lab, year index) %s"
                             " (lab %s, %s: %.17g, %s)"
                             % (name, " weighted by paths/weight" if weight is not None else "",
                                _where(off), self.lab_name(l), self.year_name(t),
                                v[l, t], say))

    def conditioning(self, length, has_paths):
        """The attributes of a run conditioned on observations (OUTPUT.md
        "Evidence") and paths/weight; returns the weights (or None)."""
        a = self.f.attrs
        cond = "conditioned" in a and np.asarray(a["conditioned"]).size == 1 \
            and int(np.asarray(a["conditioned"]).reshape(-1)[0]) == 1
        w_in_file = has_paths and "paths/weight" in self.f
        if not cond:
            if "conditioned" in a and int(np.asarray(a["conditioned"]).reshape(-1)[0]) != 0:
                self.bad("root attribute conditioned is %r, not 0 or 1" % (a["conditioned"],))
            if w_in_file:
                self.bad("paths/weight exists but the run is not conditioned "
                         "(root attribute conditioned is not 1)")
            for name in ("n_eff", "evidence"):
                if name in a:
                    self.bad("root attribute %s in a run that is not conditioned" % name)
            return None
        v = np.asarray(a["conditioned"])
        if v.shape != () or v.dtype.kind not in "iu":
            self.bad("root attribute conditioned: want a scalar integer, got %s %s"
                     % (v.dtype, v.shape))
        if "observations_yaml" not in a:
            self.bad("conditioned run without root attribute observations_yaml")
        elif not _text(a["observations_yaml"]):
            self.bad("root attribute observations_yaml is not a non-empty string")
        vals = {}
        for name in ("n_eff", "evidence"):
            if name not in a:
                self.bad("conditioned run without root attribute %s" % name)
                continue
            v = np.asarray(a[name])
            if v.shape != () or v.dtype != np.float64:
                self.bad("root attribute %s: want a scalar float64, got %s %s"
                         % (name, v.dtype, v.shape))
            vals[name] = float(v.reshape(-1)[0]) if v.size else float("nan")
        N = length["path"]
        if "evidence" in vals and not 0 < vals["evidence"] <= 1:
            self.bad("evidence %r is not in (0, 1]" % vals["evidence"])
        if "n_eff" in vals and N and not 1 - 1e-9 <= vals["n_eff"] <= N * (1 + 1e-9):
            self.bad("n_eff %r is not between 1 and the %d paths" % (vals["n_eff"], N))
        if not has_paths:
            return None  # --per-path none: no weights to check them against
        ds = self.dataset("paths/weight", ("path",), (N,), "f8")
        if ds is None or ds.shape != (N,):
            return None
        w = ds[()].astype(np.float64)
        problem = weight_problem(w, vals.get("evidence"), vals.get("n_eff"))
        if problem:
            self.bad(problem)
            if not np.all(np.isfinite(w)) or not (w >= 0).all() or not (w <= 1).all() \
                    or not w.sum() > 0:
                return None  # no weighted cross-check on weights like these
        if weight_units(w) is None:
            self.bad("paths/weight is not quantised to multiples of 2^-32")
        return w

    def backtest(self, length, summ):
        """Group `backtest` (OUTPUT.md "Evidence"; `runway backtest`)."""
        g = self.f["backtest"]
        if not isinstance(g, h5py.Group):
            self.bad("backtest is not a group")
            return
        if "observations_yaml" not in self.f.attrs:
            self.bad("a backtest without root attribute observations_yaml")
        if "observation" not in g or not isinstance(g["observation"], h5py.Dataset):
            self.bad("axis backtest/observation missing")
            return
        ax = g["observation"]
        if not h5py.h5ds.is_scale(ax.id):
            self.bad("axis backtest/observation is not a dimension scale")
        elif _text(ax.attrs.get("NAME", b"")) != "observation":
            self.bad("axis backtest/observation: scale name is %r" % ax.attrs.get("NAME"))
        info = h5py.check_string_dtype(ax.dtype)
        if ax.ndim != 1 or info is None or info.encoding != "utf-8":
            self.bad("axis backtest/observation is not a list of UTF-8 strings")
            return
        self.units(ax)
        n = ax.shape[0]
        if n == 0:
            self.bad("backtest has no observation")
            return
        Q = length["quantile"]
        col = {}
        for name, kind in BACKTEST.items():
            path = "backtest/" + name
            shape = (n, Q) if name == "predicted_q" else (n,)
            if name not in g or not isinstance(g[name], h5py.Dataset):
                self.bad("dataset %s missing" % path)
                continue
            ds = g[name]
            if ds.shape != shape:
                self.bad("%s has shape %s, want %s" % (path, ds.shape, shape))
                continue
            if kind == "str":
                si = h5py.check_string_dtype(ds.dtype)
                if si is None or si.encoding != "utf-8":
                    self.bad("%s is not UTF-8 strings" % path)
                    continue
                col[name] = [x.decode("utf-8") if isinstance(x, bytes) else str(x)
                             for x in ds[()]]
            else:
                want = {"f8": np.float64, "i4": np.int32, "u1": np.uint8}[kind]
                if ds.dtype != want:
                    self.bad("%s has dtype %s, want %s" % (path, ds.dtype, np.dtype(want)))
                    continue
                col[name] = ds[()]
            self.units(ds)
            axes = ["/backtest/observation"] + (["/quantile"] if name == "predicted_q" else [])
            for i, want_ax in enumerate(axes):
                scales = list(ds.dims[i].values()) if len(ds.dims[i]) else []
                if len(scales) != 1 or scales[0].name != want_ax:
                    self.bad("%s: dimension %d is attached to %s, want %s"
                             % (path, i, [s.name for s in scales], want_ax))
        attrs = {}
        for name in BACKTEST_ATTRS:
            if name not in g.attrs:
                self.bad("backtest attribute %s missing" % name)
                continue
            v = np.asarray(g.attrs[name]).reshape(-1)
            if v.size != 1 or v.dtype.kind != "f":
                self.bad("backtest attribute %s is not a number" % name)
                continue
            attrs[name] = float(v[0])
        if len(col) != len(BACKTEST):
            return
        labels = [x.decode("utf-8") if isinstance(x, bytes) else str(x) for x in ax[()]]
        qty, status, units = col["quantity"], col["status"], col["units"]
        is_status = np.array([q == "status" for q in qty])
        for k in range(n):
            what = "backtest row %d (%s)" % (k, labels[k])
            if qty[k] not in BT_QUANTITIES:
                self.bad("%s: quantity %r is not one of %s" % (what, qty[k], BT_QUANTITIES))
            if is_status[k] and status[k] not in BT_STATUSES:
                self.bad("%s: status %r is not one of %s" % (what, status[k], BT_STATUSES))
            if not is_status[k] and status[k] != "":
                self.bad("%s: a figure with a status %r" % (what, status[k]))
            want_u = "" if is_status[k] else "1" if qty[k] == "share" else "US$ billion"
            if units[k] != want_u:
                self.bad("%s: units %r, want %r" % (what, units[k], want_u))
            if qty[k] in BT_QUANTITIES and qty[k] != "size" and col["subject"][k] not in (self.labs or []):
                self.bad("%s: subject %r is not a lab" % (what, col["subject"][k]))
            if qty[k] == "size" and col["subject"][k] not in ("sub", "api", "ent"):
                self.bad("%s: subject %r is not a market segment" % (what, col["subject"][k]))
        years = col["year"].astype(np.int64)
        if self.years is not None and ((years < self.years[0]) | (years > self.years[-1])).any():
            self.bad("backtest/year outside the run %d..%d" % (self.years[0], self.years[-1]))
        fl = {}
        for name in ("inside50", "inside90"):
            v = col[name]
            if ((v != 0) & (v != 1)).any():
                self.bad("backtest/%s has values other than 0 and 1" % name)
            fl[name] = v == 1
        pit, obs, pq = col["pit"], col["observed"], col["predicted_q"]
        sp, ls = col["status_probability"], col["log_score"]
        fig = ~is_status
        scored = fig & np.isfinite(pit)
        for name, rows, v, lo_, hi_ in (("pit", scored, pit, 0, 1),
                                        ("status_probability", is_status, sp, 0, 1),
                                        ("p_exists", np.ones(n, bool), col["p_exists"], 0, 1)):
            x = v[rows]
            if np.isnan(x).any() or (x < lo_).any() or (x > hi_).any():
                self.bad("backtest/%s has values outside [0, 1] or NaN where it applies" % name)
        for name, rows in (("pit", is_status), ("crps", is_status), ("status_probability", fig),
                           ("log_score", fig), ("observed", is_status)):
            if not np.isnan(col[name][rows]).all():
                self.bad("backtest/%s is not NaN where it does not apply" % name)
        if not np.isfinite(pq[scored]).all():
            self.bad("backtest/predicted_q is NaN for a scored figure")
        if (np.diff(pq[scored], axis=1) < 0).any():
            self.bad("backtest/predicted_q decreases along the quantile axis")
        if (~np.isfinite(col["crps"][scored])).any() or (col["crps"][scored] < 0).any():
            self.bad("backtest/crps is negative or NaN for a scored figure")
        p5, p95 = col["observed_p5"], col["observed_p95"]
        with np.errstate(invalid="ignore"):
            wrong = fig & ~((p5 < obs) & (obs < p95))
        if wrong.any():
            self.bad("backtest: the observed median is not inside its own 5-95%% interval "
                     "(row %d)" % int(np.argmax(wrong)))
        with np.errstate(divide="ignore", invalid="ignore"):
            want_ls = np.where(sp > 0, np.log(sp), np.nan)
        off = is_status & (sp > 0) & ~(np.abs(ls - want_ls) <= 1e-12)
        off |= is_status & ~(ls <= 0)
        if off.any():
            self.bad("backtest/log_score is not ln(status_probability) (row %d)"
                     % int(np.argmax(off)))
        # The flags and verdicts follow from predicted_q and observed.
        lev = list(np.round(QUANTILES, 2))
        q05, q25, q75, q95 = (pq[:, lev.index(x)] for x in (0.05, 0.25, 0.75, 0.95))
        with np.errstate(invalid="ignore"):
            want50 = scored & (q25 <= obs) & (obs <= q75)
            want90 = scored & (q05 <= obs) & (obs <= q95)
        for name, want in (("inside50", want50), ("inside90", want90)):
            off = fl[name] != want
            if off.any():
                k = int(np.argmax(off))
                self.bad("backtest/%s disagrees with predicted_q and observed at row %d (%s: "
                         "flag %d, observed %.6g, band %.6g..%.6g)"
                         % (name, k, labels[k], fl[name][k], obs[k],
                            q25[k] if name == "inside50" else q05[k],
                            q75[k] if name == "inside50" else q95[k]))
        for k in range(n):
            if is_status[k]:
                p = sp[k]
                want = ("likely" if p >= 0.5 else "plausible" if p >= 0.05
                        else "surprising" if p > 0 else "ruled out")
            elif not scored[k]:
                want = "no path has it"
            elif want50[k]:
                want = "inside 50%"
            elif want90[k]:
                want = "inside 90%"
            else:
                want = "below 5%" if obs[k] < q05[k] else "above 95%"
            if col["verdict"][k] != want:
                self.bad("backtest/verdict of row %d (%s) is %r, want %r"
                         % (k, labels[k], col["verdict"][k], want))
        # The group's attributes summarise the rows.
        nfig, nst = int(scored.sum()), int(is_status.sum())
        for name, want in (("figures", nfig), ("statuses", nst)):
            if name in attrs and attrs[name] != want:
                self.bad("backtest attribute %s is %g, the rows say %d" % (name, attrs[name], want))
        for lev_, flags in ((50, fl["inside50"]), (90, fl["inside90"])):
            k = int(flags[scored].sum())
            want = (k / nfig,) + wilson(k, nfig) if nfig else (np.nan,) * 3
            for suffix, w_ in zip(("", "_lo", "_hi"), want):
                name = "coverage%d%s" % (lev_, suffix)
                got = attrs.get(name)
                if got is None:
                    continue
                if not ((np.isnan(got) and np.isnan(w_)) or abs(got - w_) <= 1e-12):
                    self.bad("backtest attribute %s is %.17g, but the inside%d flags say %.17g "
                             "(%d of %d figures)" % (name, got, lev_, w_, k, nfig))
        got = attrs.get("mean_log_score")
        want = float(np.mean(ls[is_status])) if nst else float("nan")
        if got is not None and not ((np.isnan(got) and np.isnan(want))
                                    or abs(got - want) <= 1e-12 * max(1.0, abs(want))):
            self.bad("backtest attribute mean_log_score is %.17g, the rows say %.17g"
                     % (got, want))
        # Against the run's own summaries (an unconditioned run: the
        # backtest counts paths): a lab's figure exists where it is alive,
        # and a status's probability is the matching share of paths.
        s = summ.get("survival")
        if s is None or self.labs is None or "conditioned" in self.f.attrs \
                or self.years is None:
            return
        ex = {n_: summ.get(n_) for n_ in ("failed_acquired", "failed_wound_down",
                                          "acquired_solvent")}
        for k in range(n):
            subj, t = col["subject"][k], int(years[k]) - int(self.years[0])
            if subj not in self.labs or not 0 <= t < s.shape[1]:
                continue
            l = self.labs.index(subj)
            if not is_status[k]:
                if abs(col["p_exists"][k] - s[l, t]) > 1e-12:
                    self.bad("backtest/p_exists of row %d (%s) is %.17g, survival says %.17g"
                             % (k, labels[k], col["p_exists"][k], s[l, t]))
                continue
            if any(v is None for v in ex.values()):
                continue
            fa, fw, so = (ex[n_][l, t] for n_ in ("failed_acquired", "failed_wound_down",
                                                  "acquired_solvent"))
            want = {"alive": s[l, t], "acquired": fa, "wound_down": fw, "acquired_solvent": so,
                    "failed": fa + fw, "exited": fa + fw + so}.get(status[k])
            if want is not None and abs(sp[k] - want) > 1e-12:
                self.bad("backtest/status_probability of row %d (%s) is %.17g, the summaries "
                         "say %.17g" % (k, labels[k], sp[k], want))

    def trajectories(self, length, kept, cross):
        K, L, T = length["kept_path"], length["lab"], length["year"]
        got = {}
        for name, kind in TRAJ.items():
            ds = self.dataset("trajectories/" + name, ("kept_path", "lab", "year"),
                              (K, L, T), kind)
            if ds is not None and ds.shape == (K, L, T):
                got[name] = ds[()]
        a = got.get("alive")
        if a is None:
            return
        if a.dtype != np.uint8:
            self.bad("trajectories/alive is %s, not uint8" % a.dtype)
        if ((a != 0) & (a != 1)).any():
            self.bad("trajectories/alive has values other than 0 and 1")
        for name in ("cash", "revenue", "op_cash_flow", "raised", "share"):
            v = got.get(name)
            if v is not None and np.isnan(v[a == 1]).any():
                self.bad("trajectories/%s is NaN where the lab is alive" % name)
        if cross and kept is not None and K > 0 and "paths/fail_year" in self.f \
                and len(np.unique(kept)) == K and kept.min() >= 0 \
                and kept.max() < self.f["paths/fail_year"].shape[0]:
            fy_ds = self.f["paths/fail_year"]
            if fy_ds.shape[1:] != (L,):
                return
            order = np.argsort(kept)
            fy = np.empty((K, L), fy_ds.dtype)
            fy[order] = fy_ds[np.asarray(kept)[order], :]
            years = np.arange(1, T + 1)
            want = ~((fy[:, :, None] != 0) & (fy[:, :, None] <= years))
            off = (a == 1) != want
            if off.any():
                k, l, t = np.argwhere(off)[0]
                self.bad("trajectories/alive disagrees with paths/fail_year "
                         "(kept path %d, lab %d, year index %d)" % (kept[k], l, t))


def _short(v, n=8):
    v = list(np.asarray(v).ravel())
    return str(v) if len(v) <= n else str(v[:n])[:-1] + ", ...]"


def _where(mask):
    idx = np.argwhere(mask)
    s = ", ".join(str(tuple(int(i) for i in r)) for r in idx[:5])
    return s + (" and %d more" % (len(idx) - 5) if len(idx) > 5 else "")


def validate(path, **options):
    """check(path, **options) for files from anywhere (runway.validate):
    the file is checked first in a forked child (runway.result._probe), so
    that a file whose damaged metadata crashes the HDF5 library is one
    problem ("damaged HDF5 file ...") instead of the end of the caller."""
    try:
        _probe(path, lambda p: check(p, **options))
    except ResultError as e:
        return [str(e)]
    return check(path, **options)


def check(path, expect_paths=None, expect_labs=None, expect_horizon=None,
          expect_inputs=None, expect_kept=None, per_path=None,
          allow_incomplete=False, cross_check=True):
    """Returns the list of problems found in the result file at path
    (empty: the file follows OUTPUT.md). per_path: True requires group
    `paths`, False requires its absence, None accepts either. Reads the
    file in this process (the tests' files, which runway wrote); validate()
    is the same check guarded against files that crash HDF5."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        return ["%s: cannot open: %s" % (path, e)]
    with f:
        c = _Checker(f)
        c.root_attrs(allow_incomplete)
        a = f.attrs
        T = int(a["horizon"]) if "horizon" in a else None
        base = int(a["base_year"]) if "base_year" in a else None
        N = int(a["paths"]) if "paths" in a else None
        for what, want, got in (("paths", expect_paths, N), ("horizon", expect_horizon, T)):
            if want is not None and got is not None and want != got:
                c.bad("root attribute %s is %d, want %d" % (what, got, want))

        lab = c.axis("lab", expect_labs, None, "str")
        L = lab.shape[0] if lab is not None and lab.ndim == 1 else None
        if L is not None:
            c.labs = [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)
                      for x in lab[()]]
        inp = c.axis("input", expect_inputs, None, "str")
        I = inp.shape[0] if inp is not None and inp.ndim == 1 else None
        years = None if T is None or base is None else np.arange(base + 1, base + T + 1)
        c.axis("year", T, years, "i")
        c.years = years
        c.axis("quantile", len(QUANTILES), QUANTILES, "f")
        c.axis("n_alive", None if L is None else L + 1,
               None if L is None else np.arange(L + 1), "i")
        # --per-path none: no group `paths`, and the path axis is empty
        c.path_axis(N if "paths" in f else 0)
        kp = c.axis("kept_path", expect_kept, None, "i")
        kept = None
        if kp is not None and kp.ndim == 1:
            kept = kp[()]
            if len(np.unique(kept)) != len(kept):
                c.bad("axis kept_path has repeated paths")
            if N is not None and len(kept) and (kept.min() < 0 or kept.max() >= N):
                c.bad("axis kept_path has paths outside 0..N-1")
        length = {"year": T, "lab": L, "quantile": len(QUANTILES), "input": I,
                  "n_alive": None if L is None else L + 1, "path": N,
                  "kept_path": None if kept is None else len(kept)}

        summ = c.summaries(length)
        complete = "complete" in a and int(a["complete"]) == 1
        cross = cross_check and complete
        has_paths = "paths" in f
        if per_path is True and not has_paths:
            c.bad("group paths missing")
        if per_path is False and has_paths:
            c.bad("group paths present but not expected")
        weight = c.conditioning(length, has_paths) if N is not None else None
        if has_paths and None not in length.values():
            c.paths(length, summ, cross, weight)
        if "backtest" in f and None not in (L, T):
            c.backtest(length, summ)
        if "trajectories" not in f:
            c.bad("group trajectories missing")
        elif None not in (length["kept_path"], L, T):
            c.trajectories(length, kept, cross)

        # Every dataset, named in OUTPUT.md or not, has units and long_name.
        known = set(SUMMARY) | {"year", "lab", "quantile", "input", "n_alive",
                                "path", "kept_path"} \
            | {"paths/" + n for n in PATHS} | {"trajectories/" + n for n in TRAJ} \
            | {"paths/weight", "backtest/observation"} | {"backtest/" + n for n in BACKTEST}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name not in known:
                c.units(obj)
        f.visititems(visit)
        problems = c.problems
    # The same file through the scripts' reader (report, compare, explain,
    # sweep, runway.load): what it refuses is a problem too, so the tests
    # that pass a file through check() also prove the scripts accept it.
    if complete or not allow_incomplete:
        try:
            _reader_load(path)
        except ResultError as e:
            problems.append("the reader refuses it: %s" % e)
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--expect-paths", type=int)
    ap.add_argument("--expect-labs", type=int)
    ap.add_argument("--expect-horizon", type=int)
    ap.add_argument("--expect-inputs", type=int)
    ap.add_argument("--expect-kept", type=int)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--per-path", dest="per_path", action="store_true", default=None)
    g.add_argument("--no-per-path", dest="per_path", action="store_false")
    ap.add_argument("--allow-incomplete", action="store_true")
    ap.add_argument("--no-cross-check", dest="cross_check", action="store_false")
    o = ap.parse_args(argv)
    problems = check(o.file, o.expect_paths, o.expect_labs, o.expect_horizon,
                     o.expect_inputs, o.expect_kept, o.per_path,
                     o.allow_incomplete, o.cross_check)
    print("\n".join("%s: %s" % (o.file, p) for p in problems) if problems else "ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
