"""Reading runway result files for the analyst scripts (report, compare, sweep).

Shared by scripts/report.py, scripts/compare.py, scripts/sweep_summary.py and
scripts/sweep_plot.py. Runs under Debian's /usr/bin/python3 with h5py and
numpy; nothing here imports matplotlib.

Contract:
  load(path) -> Result        reads a finished result file (../shared/OUTPUT.md)
                              or raises ResultError with a one-line message
                              that names the file and the problem.
  check_compatible(a, b)      raises ResultError unless a and b have the same
                              labs (same order) and the same years.
  AtomicOutputs               writes outputs under temporary names in their
                              final folders and renames them only when every
                              one is complete; on failure removes them all.
  die(prog, message)          prints "PROG: MESSAGE" on one line to stderr
                              and exits 1 (only the scripts' main() call it).
  LAB_COLOURS, lab_colour(i)  the fixed palette: lab i (scenario order) has
                              the same colour in every figure.
"""
import math
import os
import sys
import tempfile

import numpy as np

try:
    import h5py
except ImportError:  # pragma: no cover - reported as a one-line error
    h5py = None

# Fixed palette indexed by lab order (colour-blind-friendlier ordering of the
# Tableau 10 colours). Lab i gets LAB_COLOURS[i % 10] in every figure.
LAB_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
               "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]


def lab_colour(i):
    return LAB_COLOURS[i % len(LAB_COLOURS)]


class ResultError(Exception):
    """A problem with an input file; str() is one line naming the file."""


# Summary datasets read when present (OUTPUT.md "Summary datasets").
_SUMMARIES = ["survival", "survival_lo", "survival_hi", "failed_acquired",
              "failed_wound_down", "profitable_by", "cash_q", "revenue_q",
              "op_cash_flow_q", "raised_q", "ownership_q", "share_q",
              "parent_subsidy_q", "independent_alive", "sensitivity_survival",
              "sensitivity_cash", "acquired_solvent"]
_REQUIRED = ["survival", "survival_lo", "survival_hi", "lab", "year"]
_REQUIRED_ATTRS = ["complete", "horizon", "seed", "paths"]
# Probabilities on (lab, year): finite and in [0, 1].
_PROB_LT = ["survival", "survival_lo", "survival_hi", "failed_acquired",
            "failed_wound_down", "profitable_by", "acquired_solvent"]
# Quantiles on (lab, year, quantile): NaN where no path is alive (and
# parent_subsidy_q for labs without a backstop), never infinite.
_QUANT_LTQ = ["cash_q", "revenue_q", "op_cash_flow_q", "raised_q", "ownership_q",
              "share_q", "parent_subsidy_q"]
# Rank correlations on (lab, input): in [-1, 1] or NaN.
_SENS_LI = ["sensitivity_survival", "sensitivity_cash"]
# Outcome codes of paths/outcome (OUTPUT.md): 0 survived, 1 acquired on
# failure, 2 wound down, 3 acquired while solvent (MODEL.md v2 step 7; files
# written before it have no code 3).
_OUTCOMES = (0, 1, 2, 3)
SURVIVED, ACQUIRED, WOUND_DOWN, ACQUIRED_SOLVENT = _OUTCOMES
# The ways a lab leaves, in the order tables and figures show them:
# (outcome code, summary dataset, label for analysts).
EXITS = ((ACQUIRED, "failed_acquired", "failed and bought"),
         (WOUND_DOWN, "failed_wound_down", "wound down"),
         (ACQUIRED_SOLVENT, "acquired_solvent", "bought while solvent"))
# Tolerance for comparing probabilities computed as count / N two ways.
_PTOL = 1e-9


def _text(v):
    """An HDF5 string (bytes, str, numpy scalar or 1-element array) as str."""
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0] if v.size else ""
    if isinstance(v, (bytes, np.bytes_)):
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def _show(v, limit=60):
    """Untrusted text from a file, for a one-line message: as it is when it
    is short and printable, else quoted with escapes (newlines as \\n),
    cut to limit characters."""
    s = v if isinstance(v, str) else str(v)
    if len(s) > limit:
        s = s[:limit] + "..."
    return s if s.isprintable() else repr(s)


def _exact_int(v):
    """v as an int when it is an integer (or an integral finite float, as
    other HDF5 writers store them); None otherwise (text, NaN, 2.5...)."""
    if isinstance(v, np.ndarray):
        if v.size != 1:
            return None
        v = v.reshape(-1)[0]
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v) == math.floor(v):
        return int(v)
    return None


class Result:
    """One finished result file, loaded into memory.

    path        the file as given; name: its base name
    labs        lab names in scenario order (list of str)
    years       calendar years (numpy int array, length T)
    horizon, base_year, seed, paths (int)
    attrs       every root attribute, as str or int
    ds          summary datasets present in the file, by name (numpy arrays)
    inputs      names on the `input` axis (list of str; may be empty)
    quantiles   the quantile axis values (numpy array; default 5 levels)
    fail_year, outcome   paths/fail_year and paths/outcome (N x L int arrays)
                or None where the file has no per-path data; fail_year is
                the year the lab left (failed, or bought while solvent),
                outcome says how (EXITS)
    backstopped list of bool per lab: parent_subsidy_q has a finite value
    has_inputs  True when paths/inputs holds each path's drawn inputs (what
                scripts/explain.py needs; not read here)
    conditioned True for a run conditioned on observations (`runway run
                --condition`, MODEL.md section 8): every summary is weighted
    weight      paths/weight ((N,) float64 in [0, 1]) of a conditioned run
                with per-path data, else None
    n_eff, evidence   the conditioned run's effective sample size and mean
                weight (None when not conditioned)
    observations_yaml, observations_file   the observations file's text and
                name (a conditioned run or a backtest; else None)
    backtest    a Backtest (group `backtest`, written by `runway backtest`)
                or None
    """

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.ds = {}
        self.fail_year = None
        self.outcome = None
        self.weight = None
        self.has_inputs = False
        self.conditioned = False
        self.n_eff = self.evidence = None
        self.observations_yaml = self.observations_file = None
        self.backtest = None

    @property
    def has_paths(self):
        return self.fail_year is not None and self.outcome is not None

    @property
    def stem(self):
        base = self.name
        for ext in (".h5", ".hdf5", ".nc", ".he5"):
            if base.lower().endswith(ext):
                return base[: -len(ext)]
        return os.path.splitext(base)[0]

    def get(self, name):
        """A summary dataset or None when the file lacks it."""
        return self.ds.get(name)

    def exit_probs(self):
        """{dataset: (lab, year) array or None} of P(left by the end of the
        year) for each way of leaving in EXITS (None: the file lacks it).
        A file written before MODEL.md v2 step 7 has failed_acquired and
        failed_wound_down but no acquired_solvent: nothing could be bought
        while solvent then, so it reads as zeros."""
        out = {name: self.get(name) for _, name, _ in EXITS}
        if out["acquired_solvent"] is None and (
                out["failed_acquired"] is not None or out["failed_wound_down"] is not None):
            out["acquired_solvent"] = np.zeros((len(self.labs), len(self.years)))
        return out

    def year_index(self, spec):
        """Column index for a year given as a calendar year (2030) or as a
        simulated-year number 1..horizon; None when it is neither."""
        spec = int(spec)
        hit = np.nonzero(self.years == spec)[0]
        if hit.size:
            return int(hit[0])
        if 1 <= spec <= len(self.years):
            return spec - 1
        return None

    def headline_years(self):
        """Column indices of simulated years 1, 3, 5 and the horizon (unique)."""
        T = len(self.years)
        out = []
        for t in (1, 3, 5, T):
            if 1 <= t <= T and (t - 1) not in out:
                out.append(t - 1)
        return out


def load(path, need_paths=False):
    """Load a finished runway result; ResultError (one line) if it is not one.

    Nothing in the file is trusted: every dataset read is checked against
    OUTPUT.md (kind, shape, axes that agree with each other) and against
    what a run can produce (probabilities in [0, 1], survival inside its
    interval and never rising, per-path outcomes that agree with the
    survival table), so that a truncated, corrupted or hand-made file is
    refused with the first rule it breaks instead of giving a wrong
    report. A file too large to hold in memory is refused before it is
    read. The file is read first in a forked child (_probe), so that damage
    that crashes the HDF5 library itself is a refusal too, not the end of
    the script; text from the file is quoted in messages (_show), which
    therefore stay on one line. Both are fuzzed by
    tests/fuzz/fuzz_py_readers.py."""
    return read_checked(path, lambda f, p: _read(f, p, need_paths))


def read_checked(path, read, probe=None):
    """read(f, path) on the result file at path opened with h5py, the one
    way every reader of result files opens one (load here, explain.py's
    per-path reader, runway.load): a missing file, a folder, a file that
    is not HDF5 or that crashes the HDF5 library (read first in a forked
    child: _probe; probe None follows PROBE), and any error inside read
    become a one-line ResultError naming the file. Returns what read
    returns."""
    if h5py is None:
        raise ResultError(f"{path}: cannot read HDF5: python3-h5py is not installed "
                          "(run with /usr/bin/python3; apt-get install python3-h5py)")
    if not os.path.exists(path):
        raise ResultError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ResultError(f"{path}: is a directory, not a result file")
    if (PROBE if probe is None else probe) and hasattr(os, "fork"):
        _probe(path, lambda p: _open_read(p, read))
    return _open_read(path, read)


# Read every file first in a forked child (see _probe). The fuzzer turns it
# off for inputs that cannot damage HDF5's own structures.
PROBE = True


def _probe(path, loader):
    """Runs loader(path) in a forked child first (other readers, such as
    explain.py, pass their own loader): HDF5 1.10 can die from SIGSEGV on
    damaged metadata it has no checksum for (a global heap of text whose
    lengths were overwritten: a flipped byte in a lab name's heap made
    h5py crash the whole script). A child killed by a signal becomes a
    one-line ResultError; a child's refusal is raised as it is; only a
    file the child read to the end is read again here."""
    rfd, wfd = os.pipe()
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except (OSError, ValueError):
            pass
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(rfd)
            try:
                loader(path)
                msg = b""
            except ResultError as e:
                msg = str(e).encode("utf-8", "replace")
            except BaseException:  # noqa: BLE001 - the parent reads it again and reports
                msg = b""
            with os.fdopen(wfd, "wb") as out:  # writes all of it, or raises
                out.write(msg)
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)
    os.close(wfd)
    chunks = []
    with os.fdopen(rfd, "rb") as fh:
        while True:
            b = fh.read(65536)
            if not b:
                break
            chunks.append(b)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        raise ResultError(f"{path}: damaged HDF5 file: the HDF5 library crashed reading it "
                          f"(signal {sig}); its metadata is corrupted")
    if chunks:
        raise ResultError(b"".join(chunks).decode("utf-8", "replace"))


def _open_read(path, read):
    try:
        ok = h5py.is_hdf5(path)
    except (OSError, ValueError, RuntimeError) as e:
        raise ResultError(f"{path}: cannot read: {getattr(e, 'strerror', None) or _oneline(e)}") \
            from None
    if not ok:
        raise ResultError(f"{path}: not an HDF5 file (expected a runway result .h5)")
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError, RuntimeError) as e:
        raise ResultError(f"{path}: cannot open as HDF5: {_oneline(e)}") from None
    try:
        with f:
            return read(f, path)
    except ResultError:
        raise
    except MemoryError:
        raise ResultError(f"{path}: too large to load into memory") from None
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError,
            AttributeError, OverflowError, UnicodeError) as e:
        raise ResultError(f"{path}: unreadable runway result: {_oneline(e)}") from None


def _dataset(f, name, path, what="dataset"):
    """f[name] as an h5py Dataset, or ResultError naming what it is instead."""
    obj = f.get(name)
    if obj is None:
        raise ResultError(f"{path}: not a runway result ({what} '{name}' is missing or a "
                          "broken link)")
    if not isinstance(obj, h5py.Dataset):
        raise ResultError(f"{path}: not a runway result ('{name}' is a {type(obj).__name__}, "
                          "not a dataset)")
    return obj


def _numeric(ds, name, path):
    """A numeric dataset as a float64 array; ResultError for text, compound,
    complex or enum-less opaque data."""
    if ds.dtype.kind not in "fiub":
        raise ResultError(f"{path}: dataset '{name}' holds {ds.dtype} values, not numbers")
    return np.asarray(ds[()], dtype=np.float64)


def _strings(ds, name, path):
    if ds.dtype.kind not in "SUO" or ds.ndim != 1:
        raise ResultError(f"{path}: dataset '{name}' must be a list of names "
                          f"(got {ds.ndim}-d {ds.dtype})")
    return [_text(x) for x in ds[()]]


def _shape_is(a, shape, name, path, axes):
    if a.shape != shape:
        raise ResultError(f"{path}: dataset '{name}' has shape {a.shape}, expected {shape} "
                          f"= ({axes})")


def _memory_limit():
    """Bytes of memory a loader may use: half the machine's RAM."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def read_result(f, path, need_paths=False):
    """The Result of an open h5py File, every rule checked (see load)."""
    return _read(f, path, need_paths)


def _read(f, path, need_paths):
    missing = [n for n in _REQUIRED if n not in f]
    missing += [f"attribute {a}" for a in _REQUIRED_ATTRS if a not in f.attrs]
    if "survival" in missing or "lab" in missing:
        raise ResultError(f"{path}: not a runway result (no 'survival' dataset or 'lab' "
                          "axis; expected a file written by runway run)")
    if missing:
        raise ResultError(f"{path}: not a runway result (missing {', '.join(missing)})")
    r = Result(path)
    attrs = {}
    for k in f.attrs.keys():
        v = f.attrs[k]
        if isinstance(v, (bytes, str, np.bytes_)) or (
                isinstance(v, np.ndarray) and v.dtype.kind in "SUO"):
            attrs[k] = _text(v)
        else:
            i = _exact_int(v)
            attrs[k] = i if i is not None else _text(v)
    r.attrs = attrs
    complete = _exact_int(f.attrs["complete"])
    if complete != 1:
        held = attrs.get("paths_done")
        extra = (f", holds {_show(held)} of {_show(attrs.get('paths'))} paths"
                 if held is not None else "")
        raise ResultError(f"{path}: incomplete result (complete = {_show(attrs['complete'])}"
                          f"{extra}: "
                          "the run that wrote it did not finish)")
    ints = {}
    for a in ("horizon", "seed", "paths") + (("base_year",) if "base_year" in f.attrs else ()):
        ints[a] = _exact_int(f.attrs[a])
        if ints[a] is None:
            raise ResultError(f"{path}: attribute {a} is not an integer (got {attrs[a]!r})")
    r.horizon, r.seed, r.paths = ints["horizon"], ints["seed"], ints["paths"]
    if r.paths < 1:
        raise ResultError(f"{path}: attribute paths is {r.paths}; a result holds at least 1 path")
    if r.seed < 0:
        raise ResultError(f"{path}: attribute seed is {r.seed}; seeds are 0..2^64-1")

    # Axes.
    r.labs = _strings(_dataset(f, "lab", path, "axis"), "lab", path)
    L = len(r.labs)
    if L == 0:
        raise ResultError(f"{path}: not a runway result (empty lab axis)")
    if len(set(r.labs)) != L or not all(r.labs):
        raise ResultError(f"{path}: the lab axis has empty or repeated names")
    yds = _dataset(f, "year", path, "axis")
    years = _numeric(yds, "year", path).reshape(-1) if yds.ndim == 1 else None
    if years is None or years.size == 0:
        raise ResultError(f"{path}: the year axis must be a non-empty list of years")
    if (not np.all(np.isfinite(years)) or np.any(years != np.floor(years))
            or np.any(np.abs(years) > 1e6)):
        raise ResultError(f"{path}: the year axis holds values that are not years")
    r.years = years.astype(np.int64)
    T = len(r.years)
    if np.any(np.diff(r.years) != 1):
        raise ResultError(f"{path}: the year axis is not consecutive years "
                          f"({r.years[0]}, {r.years[1] if T > 1 else ''}, ...)")
    if r.horizon != T:
        raise ResultError(f"{path}: attribute horizon is {r.horizon} but the year axis has "
                          f"{T} years")
    r.base_year = ints.get("base_year", int(r.years[0]) - 1)
    if r.base_year != r.years[0] - 1:
        raise ResultError(f"{path}: attribute base_year is {r.base_year} but the first year "
                          f"is {r.years[0]}")
    r.inputs = _strings(_dataset(f, "input", path, "axis"), "input", path) if "input" in f \
        else []
    if "quantile" in f:
        q = _numeric(_dataset(f, "quantile", path, "axis"), "quantile", path)
        if (q.ndim != 1 or q.size == 0 or not np.all(np.isfinite(q)) or np.any(q <= 0)
                or np.any(q >= 1) or np.any(np.diff(q) <= 0)):
            raise ResultError(f"{path}: the quantile axis must be increasing levels in (0, 1)")
        r.quantiles = q
    else:
        r.quantiles = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    Q = len(r.quantiles)

    # Summary datasets: kind, shape and range.
    for n in _SUMMARIES:
        if n not in f:
            continue
        a = _numeric(_dataset(f, n, path), n, path)
        if n in _PROB_LT:
            _shape_is(a, (L, T), n, path, "lab, year")
            if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a > 1):
                raise ResultError(f"{path}: dataset '{n}' holds values that are not "
                                  "probabilities (NaN, infinite, or outside [0, 1])")
        elif n in _QUANT_LTQ:
            _shape_is(a, (L, T, Q), n, path, "lab, year, quantile")
            if np.any(np.isinf(a)):
                raise ResultError(f"{path}: dataset '{n}' holds infinite values")
        elif n == "independent_alive":
            _shape_is(a, (T, L + 1), n, path, "year, n_alive")
            if (not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a > 1)
                    or np.any(np.abs(a.sum(axis=1) - 1) > 1e-6)):
                raise ResultError(f"{path}: dataset '{n}' is not a probability distribution "
                                  "over the number of labs alive in each year")
        else:  # sensitivities
            _shape_is(a, (L, len(r.inputs)), n, path, "lab, input")
            if np.any(np.abs(a[np.isfinite(a)]) > 1 + 1e-12) or np.any(np.isinf(a)):
                raise ResultError(f"{path}: dataset '{n}' holds values outside [-1, 1]")
        r.ds[n] = a
    s, lo, hi = r.ds["survival"], r.ds["survival_lo"], r.ds["survival_hi"]
    if np.any(lo > s + _PTOL) or np.any(hi < s - _PTOL):
        raise ResultError(f"{path}: survival lies outside its interval "
                          "[survival_lo, survival_hi]")
    if np.any(np.diff(s, axis=1) > _PTOL):
        raise ResultError(f"{path}: survival rises from one year to the next (a failed lab "
                          "cannot come back)")

    # A run conditioned on observations (MODEL.md section 8): its attributes.
    _read_conditioning(f, r, path, attrs)

    # Per-path outcomes: both or neither, (path, lab), consistent.
    if "paths" in f:
        g = f["paths"]
        if not isinstance(g, h5py.Group):
            raise ResultError(f"{path}: 'paths' must be the group of per-path data, not a "
                              f"{type(g).__name__}")
        have = [n for n in ("fail_year", "outcome") if n in g]
        if len(have) == 1:
            other = "outcome" if have[0] == "fail_year" else "fail_year"
            raise ResultError(f"{path}: paths/{have[0]} without paths/{other}")
        ins = g.get("inputs")
        r.has_inputs = bool(isinstance(ins, h5py.Dataset) and r.inputs
                            and ins.shape == (r.paths, len(r.inputs)))
        if "weight" in g:
            _read_weight(g, r, path)
        elif r.conditioned and have:
            raise ResultError(f"{path}: a conditioned run (attribute conditioned = 1) with "
                              "per-path outcomes but no paths/weight")
        if have:
            fy_ds = _dataset(g, "fail_year", path)
            oc_ds = _dataset(g, "outcome", path)
            for n, d in (("paths/fail_year", fy_ds), ("paths/outcome", oc_ds)):
                if d.dtype.kind not in "iu" or d.shape != (r.paths, L):
                    raise ResultError(f"{path}: dataset '{n}' must be integers of shape "
                                      f"(paths, lab) = ({r.paths}, {L}), got {d.shape} "
                                      f"{d.dtype}")
            need = r.paths * L * 16 + fy_ds.nbytes + oc_ds.nbytes
            if need > _memory_limit():
                raise ResultError(f"{path}: per-path data of {r.paths} paths x {L} labs is "
                                  f"too large to load here ({need / 2**30:.1f} GiB)")
            r.fail_year = np.asarray(fy_ds[()], dtype=np.int64)
            r.outcome = np.asarray(oc_ds[()], dtype=np.int64)
            if np.any(r.fail_year < 0) or np.any(r.fail_year > T):
                raise ResultError(f"{path}: paths/fail_year holds years outside 0..{T}")
            if np.any(~np.isin(r.outcome, _OUTCOMES)):
                raise ResultError(f"{path}: paths/outcome holds codes other than 0 "
                                  "(survived), 1 (acquired), 2 (wound down) and 3 "
                                  "(acquired while solvent)")
            if np.any((r.fail_year == 0) != (r.outcome == 0)):
                raise ResultError(f"{path}: paths/outcome and paths/fail_year disagree "
                                  "(a path that survived has a failure year, or the reverse)")
            # survival = the share of paths (of the weight, when conditioned)
            # alive at the end of each year
            for i in range(L):
                alive = alive_share(r.fail_year[:, i], T, r.weight)
                off = np.abs(alive - s[i]) > _PTOL
                if off.any():
                    t = int(np.argmax(off))
                    what = "per-path outcomes weighted by paths/weight" if r.weight is not None \
                        else "per-path outcomes"
                    raise ResultError(f"{path}: {what} disagree with survival in year "
                                      f"{r.years[t]}")
    if need_paths and not r.has_paths:
        raise ResultError(f"{path}: has no per-path data (group paths)")
    psq = r.ds.get("parent_subsidy_q")
    r.backstopped = [bool(psq is not None and np.isfinite(psq[i]).any()) for i in range(L)]
    if "backtest" in f:
        r.backtest = _read_backtest(f, r, path)
    return r


# ---------------------------------------------------------------- evidence
# A conditioned run's weights are multiples of 2^-32 (the engine sums the
# integers round(w 2^32) exactly, so that threads, ranks and shards agree to
# the bit); sums of them here are exact too, so a weighted share computed
# from the per-path data equals the file's summary (both are one division
# of two exact integers).
WEIGHT_UNIT = 2.0 ** -32
_REL = 1e-9  # n_eff and evidence against the weights, relative


def weight_units(w):
    """The weights as int64 multiples of 2^-32, or None when some weight is
    not such a multiple (a file from another writer: sums are then float)."""
    if w is None:
        return None
    k = w * 2.0 ** 32
    if not np.all(k == np.floor(k)) or np.any(k > 2.0 ** 53):
        return None
    return k.astype(np.int64)


def weighted_bincount(index, w, n, units=None):
    """Sum of the weights w over paths by index (0..n-1), exactly.

    With units (weight_units(w)) the sums are int64 multiples of 2^-32, each
    summed exactly (the 2^16 halves of each integer are summed as floats,
    which is exact below 2^53); otherwise float sums of w. Either way
    divide two of them for a share (astype(float) first). Unweighted
    (w None): counts."""
    index = np.asarray(index, dtype=np.int64)
    if w is None:
        return np.bincount(index, minlength=n)[:n]
    if units is None:
        units = weight_units(w)
    if units is None:
        return np.bincount(index, weights=w, minlength=n)[:n]
    hi = np.bincount(index, weights=(units >> 16).astype(np.float64), minlength=n)[:n]
    lo = np.bincount(index, weights=(units & 0xFFFF).astype(np.float64), minlength=n)[:n]
    return (hi.astype(np.int64) << 16) + lo.astype(np.int64)


def weighted_total(w, units=None):
    """Sum of w in the units of weighted_bincount (N when w is None)."""
    if w is None:
        return 0
    return weighted_bincount(np.zeros(len(w), np.int64), w, 1, units)[0]


def alive_share(fail_year, T, w=None, units=None):
    """(T,) share of the paths (of the weight w, when given) in which a lab
    whose paths/fail_year column is fail_year is alive at the end of
    simulated years 1..T (fail_year 0: never left; t: left in year t)."""
    by = weighted_bincount(fail_year, w, T + 1, units)
    total = len(fail_year) if w is None else (
        weighted_total(w, units) if (units is not None or weight_units(w) is not None)
        else float(np.sum(w)))
    left = np.cumsum(by[1:T + 1])
    return (total - left).astype(np.float64) / float(total)


def n_eff_of(w):
    """(sum w)^2 / sum w^2: how many equally weighted paths w is worth."""
    w = np.asarray(w, dtype=np.float64)
    sq = float(np.dot(w, w))
    return float(np.sum(w)) ** 2 / sq if sq > 0 else 0.0


def _float_attr(f, name, path):
    v = f.attrs[name]
    if isinstance(v, np.ndarray):
        if v.size != 1:
            raise ResultError(f"{path}: attribute {name} is not a single number")
        v = v.reshape(-1)[0]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                             np.floating)):
        raise ResultError(f"{path}: attribute {name} is not a number (got {_show(_text(v))})")
    v = float(v)
    if not math.isfinite(v):
        raise ResultError(f"{path}: attribute {name} is not finite")
    return v


def _str_attr(obj, name, path, where="attribute"):
    v = obj.attrs[name]
    if not (isinstance(v, (bytes, str, np.bytes_)) or (
            isinstance(v, np.ndarray) and v.dtype.kind in "SUO" and v.size == 1)):
        raise ResultError(f"{path}: {where} {name} is not text")
    return _text(v)


def _read_conditioning(f, r, path, attrs):
    """Root attributes of a run conditioned on observations (OUTPUT.md
    "Evidence"): conditioned, n_eff, evidence, observations_yaml."""
    if "conditioned" in f.attrs:
        c = _exact_int(f.attrs["conditioned"])
        if c not in (0, 1):
            raise ResultError(f"{path}: attribute conditioned is "
                              f"{_show(attrs.get('conditioned'))}, not 0 or 1")
        r.conditioned = c == 1
    if "observations_yaml" in f.attrs:
        r.observations_yaml = _str_attr(f, "observations_yaml", path)
    if "observations_file" in f.attrs:
        r.observations_file = _str_attr(f, "observations_file", path)
    if not r.conditioned:
        return
    missing = [a for a in ("n_eff", "evidence", "observations_yaml") if a not in f.attrs]
    if missing:
        raise ResultError(f"{path}: a conditioned run (attribute conditioned = 1) without "
                          f"attribute {', '.join(missing)}")
    r.n_eff = _float_attr(f, "n_eff", path)
    r.evidence = _float_attr(f, "evidence", path)
    if not 0 < r.evidence <= 1:
        raise ResultError(f"{path}: attribute evidence (the mean weight) is {r.evidence:.6g}, "
                          "not in (0, 1]")
    if not 1 - _REL <= r.n_eff <= r.paths * (1 + _REL):
        raise ResultError(f"{path}: attribute n_eff is {r.n_eff:.6g}, not between 1 and the "
                          f"{r.paths} paths")


def _read_weight(g, r, path):
    """paths/weight: one weight in [0, 1] per path, not all 0, agreeing with
    the attributes evidence (their mean) and n_eff."""
    if not r.conditioned:
        raise ResultError(f"{path}: paths/weight in a run that is not conditioned (attribute "
                          "conditioned is not 1)")
    wd = _dataset(g, "weight", path)
    if wd.dtype.kind not in "fiu" or wd.shape != (r.paths,):
        raise ResultError(f"{path}: dataset 'paths/weight' must be {r.paths} numbers, got "
                          f"{wd.shape} {wd.dtype}")
    w = np.asarray(wd[()], dtype=np.float64)
    problem = weight_problem(w, r.evidence, r.n_eff)
    if problem:
        raise ResultError(f"{path}: {problem}")
    r.weight = w


def weight_problem(w, evidence, n_eff):
    """What is wrong with the weights w of a conditioned run against its
    attributes evidence (their mean) and n_eff ((sum w)^2 / sum w^2), as
    one line without the file's name; None when nothing is. The rule both
    the reader (load) and runway.validate apply: each weight in [0, 1], not
    all 0, and both attributes within 1e-9 (relative) of the weights'."""
    if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w > 1):
        p = int(np.argmax(~np.isfinite(w) | (w < 0) | (w > 1)))
        return (f"paths/weight holds weights outside [0, 1] (each is a product of "
                f"likelihoods scaled to at most 1; first at path {p}: {w[p]:.17g})")
    total = float(np.sum(w))
    if not total > 0:
        return ("every path has weight 0 (the observations the run was conditioned on ruled "
                "out every path)")
    units = weight_units(w)
    mean = (float(weighted_total(w, units)) * WEIGHT_UNIT if units is not None else total) / len(w)
    if evidence is not None and not abs(mean - evidence) <= _REL * evidence:
        return (f"attribute evidence {evidence:.10g} is not the mean of paths/weight "
                f"({mean:.10g})")
    ne = n_eff_of(w)
    if n_eff is not None and not abs(ne - n_eff) <= _REL * ne:
        return (f"attribute n_eff {n_eff:.10g} is not (sum w)^2 / sum w^2 of paths/weight "
                f"({ne:.10g})")
    return None


def wilson(k, n, z=1.959963984540054):
    """95% Wilson interval (lo, hi) of k successes in n (n may be an
    effective sample size), as the engine computes it (engine/stats.c)."""
    if not n > 0:
        return float("nan"), float("nan")
    p = k / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / den
    half = z * math.sqrt(max(p * (1.0 - p) / n + z * z / (4.0 * n * n), 0.0)) / den
    lo, hi = centre - half, centre + half
    return max(0.0, min(lo, p)), min(1.0, max(hi, p))


# The backtest group (OUTPUT.md "Evidence"): one row per observation.
BT_STRINGS = ("subject", "quantity", "units", "source", "status", "verdict")
BT_FLOATS = ("observed", "observed_p5", "observed_p95", "pit", "crps", "p_exists",
             "status_probability", "log_score")
BT_FLAGS = ("inside50", "inside90")
BT_ATTRS = ("coverage50", "coverage50_lo", "coverage50_hi", "coverage90", "coverage90_lo",
            "coverage90_hi", "figures", "statuses", "mean_log_score")
BT_QUANTITIES = ("revenue", "cash", "raised", "op_cash_flow", "share", "size", "status")
BT_STATUSES = ("alive", "acquired", "wound_down", "failed", "acquired_solvent", "exited")


class Backtest:
    """The group `backtest` of a result file (`runway backtest`).

    labels       the observation axis ("OpenAI revenue 2025", ...)
    subject, quantity, units, source, status, verdict   lists of str
    year         int array; observed, observed_p5, observed_p95, pit, crps,
                 p_exists, status_probability, log_score: float arrays
                 (NaN where they do not apply)
    inside50, inside90   bool arrays
    predicted_q  (n, Q) predictive quantiles (levels: the file's quantile axis)
    is_status    bool array: a status observation (else a figure)
    scored       bool array: a figure that some path has (PIT and flags apply)
    attrs        coverage50, coverage50_lo, ..., figures, statuses,
                 mean_log_score (floats); observations_file (str or None)
    """

    def __len__(self):
        return len(self.labels)

    def q(self, level):
        """Column of predicted_q for a quantile level (0.05, 0.25, ...)."""
        k = int(np.argmin(np.abs(self.levels - level)))
        return self.predicted_q[:, k]


def _read_backtest(f, r, path):
    g = f["backtest"]
    if not isinstance(g, h5py.Group):
        raise ResultError(f"{path}: 'backtest' must be a group, not a {type(g).__name__}")
    b = Backtest()
    ax = _dataset(g, "observation", path, "backtest axis")
    b.labels = _strings(ax, "backtest/observation", path)
    n = len(b.labels)
    if n == 0:
        raise ResultError(f"{path}: the backtest holds no observation")
    for name in BT_STRINGS:
        d = _dataset(g, name, path)
        v = _strings(d, "backtest/" + name, path)
        if len(v) != n:
            raise ResultError(f"{path}: dataset 'backtest/{name}' has {len(v)} rows, not the "
                              f"{n} observations")
        setattr(b, name, v)
    for name in BT_FLOATS + BT_FLAGS + ("year",):
        a = _numeric(_dataset(g, name, path), "backtest/" + name, path)
        _shape_is(a, (n,), "backtest/" + name, path, "observation")
        setattr(b, name, a)
    pq = _numeric(_dataset(g, "predicted_q", path), "backtest/predicted_q", path)
    _shape_is(pq, (n, len(r.quantiles)), "backtest/predicted_q", path, "observation, quantile")
    if np.any(np.isinf(pq)):
        raise ResultError(f"{path}: backtest/predicted_q holds infinite values")
    b.predicted_q, b.levels = pq, np.asarray(r.quantiles)
    b.attrs = {}
    for a in BT_ATTRS:
        if a not in g.attrs:
            raise ResultError(f"{path}: the backtest group has no attribute {a}")
        v = g.attrs[a]
        v = np.asarray(v).reshape(-1)
        if v.size != 1 or v.dtype.kind not in "fiu":
            raise ResultError(f"{path}: backtest attribute {a} is not a number")
        b.attrs[a] = float(v[0])
    b.observations_file = (_str_attr(g, "observations_file", path, "backtest attribute")
                           if "observations_file" in g.attrs else None)
    bad = [q for q in b.quantity if q not in BT_QUANTITIES]
    if bad:
        raise ResultError(f"{path}: backtest/quantity holds {_show(bad[0])}, not one of "
                          f"{', '.join(BT_QUANTITIES)}")
    b.is_status = np.array([q == "status" for q in b.quantity])
    if any(st not in BT_STATUSES for st, s_ in zip(b.status, b.is_status) if s_):
        raise ResultError(f"{path}: backtest/status names a status that is not one of "
                          f"{', '.join(BT_STATUSES)}")
    y = b.year
    if (not np.all(np.isfinite(y)) or np.any(y != np.floor(y)) or np.any(y < r.years[0])
            or np.any(y > r.years[-1])):
        raise ResultError(f"{path}: backtest/year holds years outside the run "
                          f"{r.years[0]}-{r.years[-1]}")
    b.year = y.astype(np.int64)
    for name in BT_FLAGS:
        a = getattr(b, name)
        if np.any((a != 0) & (a != 1)):
            raise ResultError(f"{path}: backtest/{name} holds values other than 0 and 1")
        setattr(b, name, a == 1)
    for name in ("pit", "p_exists", "status_probability"):
        a = getattr(b, name)
        fin = a[np.isfinite(a)]
        if np.any(np.isinf(a)) or np.any(fin < 0) or np.any(fin > 1):
            raise ResultError(f"{path}: backtest/{name} holds values that are not "
                              "probabilities")
    fig = ~b.is_status
    b.scored = fig & np.isfinite(b.pit) & np.all(np.isfinite(pq), axis=1)
    if np.any(b.is_status & ~np.isfinite(b.status_probability)):
        raise ResultError(f"{path}: a status observation without its predicted probability")
    if np.any(b.scored & ~np.isfinite(b.observed)):
        raise ResultError(f"{path}: a scored figure without its observed value")
    # the flags say where the observed median fell among the predicted quantiles
    q05, q25, q75, q95 = (b.q(v) for v in (0.05, 0.25, 0.75, 0.95))
    with np.errstate(invalid="ignore"):
        want50 = b.scored & (q25 <= b.observed) & (b.observed <= q75)
        want90 = b.scored & (q05 <= b.observed) & (b.observed <= q95)
    if np.any(want50 != b.inside50) or np.any(want90 != b.inside90):
        k = int(np.argmax((want50 != b.inside50) | (want90 != b.inside90)))
        raise ResultError(f"{path}: backtest/inside50 or inside90 of {_show(b.labels[k])} "
                          "disagrees with the predicted quantiles and the observed value")
    nfig, nst = int(b.scored.sum()), int(b.is_status.sum())
    at = b.attrs
    if at["figures"] != nfig or at["statuses"] != nst:
        raise ResultError(f"{path}: backtest attributes figures/statuses ({at['figures']:g}, "
                          f"{at['statuses']:g}) do not count its rows ({nfig}, {nst})")
    for lev, flags in ((50, b.inside50), (90, b.inside90)):
        k = int(flags[b.scored].sum())
        cov = k / nfig if nfig else float("nan")
        lo, hi = wilson(k, nfig)
        got = (at[f"coverage{lev}"], at[f"coverage{lev}_lo"], at[f"coverage{lev}_hi"])
        want = (cov, lo, hi)
        if any(not (math.isnan(g_) and math.isnan(w_)) and not abs(g_ - w_) <= 1e-9
               for g_, w_ in zip(got, want)):
            raise ResultError(f"{path}: backtest attribute coverage{lev} "
                              f"({got[0]:.6g} [{got[1]:.6g}, {got[2]:.6g}]) is not the share of "
                              f"figures inside their {lev}% interval ({k} of {nfig})")
    ls = b.log_score[b.is_status]
    want = float(np.mean(ls)) if nst else float("nan")
    got = at["mean_log_score"]
    if not (math.isnan(got) and math.isnan(want)) and not abs(got - want) <= 1e-9 * max(1, abs(want)):
        raise ResultError(f"{path}: backtest attribute mean_log_score {got:.6g} is not the mean "
                          f"of the statuses' log scores ({want:.6g})")
    return b


def check_compatible(a, b):
    """ResultError unless a and b describe the same labs over the same years."""
    if a.labs != b.labs:
        raise ResultError(f"{a.path} and {b.path}: different labs "
                          f"({', '.join(map(_show, a.labs))} vs "
                          f"{', '.join(map(_show, b.labs))})")
    check_years(a, b)


def check_years(a, b, show=str):
    """ResultError unless a and b cover the same years (labs may differ);
    show(path) is how a file is named in the message."""
    if a.horizon != b.horizon or len(a.years) != len(b.years):
        raise ResultError(f"{show(a.path)} and {show(b.path)}: different horizons "
                          f"({a.horizon} vs {b.horizon} years)")
    if not np.array_equal(a.years, b.years):
        raise ResultError(f"{show(a.path)} and {show(b.path)}: different years "
                          f"({a.years[0]}-{a.years[-1]} vs {b.years[0]}-{b.years[-1]})")


def parse_years(text, result=None, available=None):
    """A comma list of years -> list of column indices (with result) or of
    calendar years (with available, a sorted list of calendar years).
    Each entry is a calendar year, a simulated-year number 1..T, or 'H'
    (the horizon). Raises ValueError with a message."""
    out = []
    for tok in str(text).split(","):
        tok = tok.strip()
        if not tok:
            continue
        if result is not None:
            if tok.lower() in ("h", "horizon"):
                j = len(result.years) - 1
            else:
                j = result.year_index(_parse_int(tok))
            if j is None:
                raise ValueError(f"year {tok} is outside {result.years[0]}-{result.years[-1]} "
                                 f"(or 1-{len(result.years)})")
        else:
            if tok.lower() in ("h", "horizon"):
                j = available[-1]
            else:
                v = _parse_int(tok)
                if v in available:
                    j = v
                elif 1 <= v <= len(available):
                    j = available[v - 1]
                else:
                    raise ValueError(f"year {tok} is not in the data "
                                     f"({available[0]}-{available[-1]} or 1-{len(available)})")
        if j not in out:
            out.append(j)
    if not out:
        raise ValueError("no years given")
    return out


def _parse_int(tok):
    try:
        return int(tok)
    except ValueError:
        raise ValueError(f"'{tok}' is not a year") from None


def _oneline(e):
    return " ".join(str(e).split()) or type(e).__name__


def fmt_p(x, digits=3):
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def fmt_interval(p, lo, hi, digits=3):
    if not math.isfinite(p):
        return "n/a"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return fmt_p(p, digits)
    return f"{p:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def die(prog, message):
    """Print one line 'PROG: MESSAGE' to stderr and exit 1."""
    sys.stderr.write(f"{prog}: {' '.join(str(message).split())}\n")
    sys.exit(1)


def die_unexpected(prog, what, e):
    """An error nobody foresaw: one line naming what failed, exit 1, never a
    traceback (unless RUNWAY_DEBUG is set, for a developer). Call it from
    an `except Exception` whose outputs are already cleaned up."""
    if os.environ.get("RUNWAY_DEBUG"):
        raise e
    die(prog, f"{what}: {type(e).__name__}: {e} (set RUNWAY_DEBUG=1 for a traceback)")


class AtomicOutputs:
    """Collects output files written under temporary names.

        with AtomicOutputs() as out:
            tmp = out.add("/x/report.html")   # a temporary path in /x
            ... write tmp ...
        # all renamed into place here; on an exception all removed

    Raises ResultError (before creating anything) when a final path's folder
    does not exist or is not writable.
    """

    def __init__(self):
        self._pairs = []

    def __enter__(self):
        return self

    def add(self, final):
        d = os.path.dirname(os.path.abspath(final))
        if not os.path.isdir(d):
            raise ResultError(f"{final}: output folder {d} does not exist")
        if not os.access(d, os.W_OK):
            raise ResultError(f"{final}: output folder {d} is not writable")
        if os.path.isdir(final):
            raise ResultError(f"{final}: is a directory")
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(final) + ".",
                                   suffix=".tmp", dir=d)
        os.close(fd)
        self._pairs.append((tmp, final))
        return tmp

    def __exit__(self, etype, evalue, tb):
        if etype is None:
            try:
                for tmp, final in self._pairs:
                    os.chmod(tmp, 0o666 & ~_umask())
                    os.replace(tmp, final)
                return False
            except OSError:
                self._cleanup()
                raise
        self._cleanup()
        return False

    def _cleanup(self):
        for tmp, _ in self._pairs:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m
