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
              "sensitivity_cash"]
_REQUIRED = ["survival", "survival_lo", "survival_hi", "lab", "year"]
_REQUIRED_ATTRS = ["complete", "horizon", "seed", "paths"]


def _text(v):
    """An HDF5 string (bytes, str, numpy scalar or 1-element array) as str."""
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0] if v.size else ""
    if isinstance(v, (bytes, np.bytes_)):
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def _int(v):
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0]
    return int(v)


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
                or None where the file has no per-path data
    backstopped list of bool per lab: parent_subsidy_q has a finite value
    """

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.ds = {}
        self.fail_year = None
        self.outcome = None

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
    """Load a finished runway result; ResultError (one line) if it is not one."""
    if h5py is None:
        raise ResultError(f"{path}: cannot read HDF5: python3-h5py is not installed "
                          "(run with /usr/bin/python3; apt-get install python3-h5py)")
    if not os.path.exists(path):
        raise ResultError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ResultError(f"{path}: is a directory, not a result file")
    try:
        ok = h5py.is_hdf5(path)
    except OSError as e:
        raise ResultError(f"{path}: cannot read: {e.strerror or e}") from None
    if not ok:
        raise ResultError(f"{path}: not an HDF5 file (expected a runway result .h5)")
    r = Result(path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ResultError(f"{path}: cannot open as HDF5: {_oneline(e)}") from None
    with f:
        missing = [n for n in _REQUIRED if n not in f]
        missing += [f"attribute {a}" for a in _REQUIRED_ATTRS if a not in f.attrs]
        if "survival" in missing or "lab" in missing:
            raise ResultError(f"{path}: not a runway result (no 'survival' dataset or 'lab' "
                              "axis; expected a file written by runway run)")
        if missing:
            raise ResultError(f"{path}: not a runway result (missing {', '.join(missing)})")
        attrs = {}
        for k, v in f.attrs.items():
            if isinstance(v, (bytes, str, np.bytes_)) or (
                    isinstance(v, np.ndarray) and v.dtype.kind in "SUO"):
                attrs[k] = _text(v)
            else:
                try:
                    attrs[k] = _int(v)
                except (TypeError, ValueError, IndexError):
                    attrs[k] = _text(v)
        r.attrs = attrs
        try:
            complete = int(attrs["complete"])
        except (TypeError, ValueError):
            complete = 0
        if complete != 1:
            held = attrs.get("paths_done")
            extra = f", holds {held} of {attrs.get('paths')} paths" if held is not None else ""
            raise ResultError(f"{path}: incomplete result (complete = {attrs['complete']}{extra}: "
                              "the run that wrote it did not finish)")
        try:
            r.labs = [_text(x) for x in f["lab"][()]]
            r.years = np.asarray(f["year"][()], dtype=np.int64).reshape(-1)
            r.horizon = int(attrs["horizon"])
            r.seed = int(attrs["seed"])
            r.paths = int(attrs["paths"])
            r.base_year = int(attrs.get("base_year", int(r.years[0]) - 1 if r.years.size else 0))
            for n in _SUMMARIES:
                if n in f and isinstance(f[n], h5py.Dataset):
                    r.ds[n] = np.asarray(f[n][()], dtype=np.float64)
            r.inputs = [_text(x) for x in f["input"][()]] if "input" in f else []
            r.quantiles = (np.asarray(f["quantile"][()], dtype=np.float64)
                           if "quantile" in f else np.array([0.05, 0.25, 0.5, 0.75, 0.95]))
            if "paths" in f and isinstance(f["paths"], h5py.Group):
                g = f["paths"]
                if "fail_year" in g and "outcome" in g:
                    r.fail_year = np.asarray(g["fail_year"][()], dtype=np.int64)
                    r.outcome = np.asarray(g["outcome"][()], dtype=np.int64)
        except (OSError, KeyError, ValueError, TypeError) as e:
            raise ResultError(f"{path}: unreadable runway result: {_oneline(e)}") from None
    L, T = len(r.labs), len(r.years)
    if T == 0 or L == 0:
        raise ResultError(f"{path}: not a runway result (empty lab or year axis)")
    if r.ds["survival"].shape != (L, T):
        raise ResultError(f"{path}: not a runway result (survival has shape "
                          f"{r.ds['survival'].shape}, expected ({L}, {T}) = (lab, year))")
    for n in list(r.ds):
        if n in ("independent_alive", "sensitivity_survival", "sensitivity_cash"):
            continue
        if r.ds[n].shape[:2] != (L, T):  # a malformed optional dataset: ignore it
            del r.ds[n]
    if r.fail_year is not None and (r.fail_year.shape != (r.fail_year.shape[0], L)
                                    or r.outcome.shape != r.fail_year.shape):
        r.fail_year = r.outcome = None
    if need_paths and not r.has_paths:
        raise ResultError(f"{path}: has no per-path data (group paths)")
    psq = r.ds.get("parent_subsidy_q")
    r.backstopped = [bool(psq is not None and np.isfinite(psq[i]).any()) for i in range(L)]
    return r


def check_compatible(a, b):
    """ResultError unless a and b describe the same labs over the same years."""
    if a.labs != b.labs:
        raise ResultError(f"{a.path} and {b.path}: different labs "
                          f"({', '.join(a.labs)} vs {', '.join(b.labs)})")
    if a.horizon != b.horizon or len(a.years) != len(b.years):
        raise ResultError(f"{a.path} and {b.path}: different horizons "
                          f"({a.horizon} vs {b.horizon} years)")
    if not np.array_equal(a.years, b.years):
        raise ResultError(f"{a.path} and {b.path}: different years "
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
