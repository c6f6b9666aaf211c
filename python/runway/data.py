"""runway result files as labelled xarray Datasets and tidy pandas frames.

A result file is HDF5 (netCDF-4 compatible) with dimension scales at the
root (lab, year, quantile, input, n_alive, path, kept_path) attached to
every dataset, including those in the groups `paths`, `trajectories` and
`backtest`. xarray's own netCDF readers give those groups no coordinates
(the scales live in the parent group); here each dimension takes its
values from the scale it is attached to, so `ds.sel(lab="OpenAI")` works
in every group.

Memory: summaries and the backtest are read at load (a few MB at most);
per-path and trajectory data stay in the file and are read when a value is
asked for (xarray's lazy indexing), so `load` costs the same for 1e3 or
1e9 paths. `paths()` builds one tidy row per (path, lab) and refuses, in
one line, a frame larger than PATHS_FRAME_LIMIT bytes (a quarter of the
machine's memory); `iter_paths()` yields the same rows in frames of
`rows` paths, for files of any size.
"""
import os

import h5py
import numpy as np
import pandas as pd
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from runway import result as _result
from runway.result import ResultError, _text

GROUPS = ("summary", "paths", "trajectories", "backtest")
# HDF5 dimension-scale bookkeeping, not information for an analyst.
_HIDDEN_ATTRS = {"DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME", "_Netcdf4Dimid",
                 "_Netcdf4Coordinates", "_nc3_strict"}
OUTCOME_NAMES = {0: "survived", 1: "acquired", 2: "wound_down", 3: "acquired_solvent"}
# Bytes of one tidy per-path row (8 numeric columns of 8 bytes, the
# categorical lab and outcome codes, the index): what paths() budgets for.
_ROW_BYTES = 80


def _frame_limit():
    return max(1 << 28, _result._memory_limit() // 2)


PATHS_FRAME_LIMIT = _frame_limit()


def _attr(v):
    """An HDF5 attribute as str (text, whatever its HDF5 string kind), int,
    float or a list of them; never bytes."""
    if isinstance(v, (bytes, str, np.bytes_, np.str_)):
        return _text(v)
    a = np.asarray(v)
    if a.dtype.kind in "SUO":
        return _text(v) if a.size == 1 else [_text(x) for x in a.reshape(-1)]
    if a.ndim == 0 or a.size == 1:
        x = a.reshape(-1)[0]
        return int(x) if a.dtype.kind in "iub" else float(x)
    return a.tolist()


def _attrs(obj):
    return {k: _attr(obj.attrs[k]) for k in obj.attrs.keys() if k not in _HIDDEN_ATTRS}


class _H5Array(BackendArray):
    """An HDF5 dataset that xarray indexes lazily: nothing is read until a
    value is needed, and then only the selected slab."""

    def __init__(self, ds):
        self.ds = ds
        self.shape = ds.shape
        self.dtype = ds.dtype.base if h5py.check_enum_dtype(ds.dtype) else ds.dtype

    def __getitem__(self, key):
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._get)

    def _get(self, key):
        return np.asarray(self.ds[key], dtype=self.dtype)


def _dims(ds, group):
    """The dimension names of ds: the attached scales' names, else
    GROUP_dimI."""
    out = []
    for i in range(ds.ndim):
        scales = list(ds.dims[i].values()) if len(ds.dims[i]) else []
        out.append(os.path.basename(scales[0].name) if scales else f"{group}_dim{i}")
    return out


def _values(ds):
    """A whole dataset in memory; text as str."""
    if ds.dtype.kind in "SO" and h5py.check_string_dtype(ds.dtype) is not None:
        return np.array([_text(x) for x in ds[()].reshape(-1)], dtype=object).reshape(ds.shape)
    return np.asarray(ds[()])


def _variable(ds, group, lazy):
    attrs = _attrs(ds)
    members = h5py.check_enum_dtype(ds.dtype)
    if members:  # paths/outcome: CF flags, so the codes keep their names
        codes = sorted(members.items(), key=lambda kv: kv[1])
        attrs["flag_values"] = [v for _, v in codes]
        attrs["flag_meanings"] = " ".join(k for k, _ in codes)
    data = (indexing.LazilyIndexedArray(_H5Array(ds))
            if lazy and ds.dtype.kind in "fiub" else _values(ds))
    return xr.Variable(_dims(ds, group), data, attrs)


class Run(dict):
    """One result file: {group: xarray.Dataset} for each group present,
    "summary" (the root's datasets), "paths", "trajectories", "backtest".

    attrs   the root attributes (str, int or float; never bytes)
    path    the file
    frame(*names)   the summaries named (sharing their dimensions) as a
                    pandas DataFrame indexed by those dimensions, e.g.
                    frame("survival", "survival_lo", "survival_hi").

    Per-path and trajectory values are read from the file when used, so
    the file stays open until close() (or the end of a `with` block).
    """

    def __init__(self, path, f):
        super().__init__()
        self.path = path
        self._f = f
        self.attrs = _attrs(f)

    def close(self):
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def frame(self, *names):
        """Summaries that share their dimensions as one DataFrame. Never
        call to_dataframe() on the whole summary Dataset: its index would
        be the product of every axis (lab x year x quantile x input x
        n_alive), one row per combination, most of them meaningless."""
        ds = self["summary"]
        if not names:
            raise ValueError("frame() needs the names of one or more summaries")
        dims = {tuple(ds[n].dims) for n in names}
        if len(dims) != 1:
            raise ValueError(f"frame({', '.join(names)}): these summaries have different "
                             f"dimensions ({'; '.join(', '.join(d) for d in sorted(dims))}); "
                             "make one frame per set of dimensions")
        return ds[list(names)].to_dataframe()


def load(path, validate=True):
    """The result file at path as a Run of labelled xarray Datasets.

    validate=True (the default) first checks the file with the reader the
    scripts use (runway.result.load: in a forked child, with every rule of
    docs/output-format.md; a file that breaks one raises ResultError with
    a one-line message). validate=False skips that (a trusted file whose
    per-path data is too large to check in memory)."""
    if validate:
        _result.load(path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ResultError(f"{path}: cannot open as HDF5: {_result._oneline(e)}") from None
    run = Run(path, f)
    try:
        root = _scales(f)
        for group in GROUPS:
            g = f if group == "summary" else f.get(group)
            if not isinstance(g, h5py.Group):
                continue
            local = _scales(g)  # the backtest's observation axis lives in its group
            scales = {**root, **local}
            data = {}
            for name, obj in g.items():
                if isinstance(obj, h5py.Dataset) and name not in local and obj.ndim >= 1:
                    data[name] = _variable(obj, group, lazy=group in ("paths", "trajectories"))
            used = {d for v in data.values() for d in v.dims}
            coords = {d: scales[d] for d in used if d in scales and scales[d].size == _size(data, d)}
            attrs = run.attrs if group == "summary" else _attrs(g)
            run[group] = xr.Dataset(data, coords=coords, attrs=attrs)
    except Exception:
        run.close()
        raise
    return run


def _scales(g):
    """{name: xarray.Variable} of the dimension scales directly in group g."""
    out = {}
    for name, obj in g.items():
        if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and h5py.h5ds.is_scale(obj.id):
            out[name] = xr.Variable((name,), _values(obj), _attrs(obj))
    return out


def _size(data, dim):
    for v in data.values():
        if dim in v.dims:
            return v.shape[v.dims.index(dim)]
    return -1


_PATH_COLUMNS = ("fail_year", "outcome", "profit_year", "final_cash", "raised_total")


def _path_source(path, validate):
    run = load(path, validate)
    if "paths" not in run:
        run.close()
        raise ResultError(f"{path}: has no per-path data (group paths; the run used "
                          "--per-path none)")
    return run


def iter_paths(path, rows=1 << 16, validate=True):
    """The tidy per-path table in frames of `rows` paths each (see
    paths()): memory stays at about rows x labs x 80 bytes whatever the
    file's size."""
    run = _path_source(path, validate)
    with run:
        yield from _frames(run, rows)


def _frames(run, rows):
    g = run["paths"]
    labs = [str(x) for x in g["lab"].values]
    L = len(labs)
    N = g.sizes["path"]
    cols = [c for c in _PATH_COLUMNS if c in g]
    w = g.get("weight")
    for lo in range(0, N, rows):
        hi = min(N, lo + rows)
        n = hi - lo
        out = {"path": np.repeat(np.arange(lo, hi, dtype=np.int64), L),
               "lab": pd.Categorical.from_codes(np.tile(np.arange(L), n), labs)}
        for c in cols:
            v = g[c][lo:hi].values.reshape(-1)
            if c == "outcome":
                v = pd.Categorical.from_codes(v.astype(np.int64),
                                              [OUTCOME_NAMES[k] for k in sorted(OUTCOME_NAMES)])
            out[c] = v
        if w is not None:
            out["weight"] = np.repeat(w[lo:hi].values, L)
        yield pd.DataFrame(out)


def paths(path, validate=True):
    """The per-path outcomes as one tidy pandas DataFrame: one row per
    (path, lab), columns path, lab (categorical, scenario order),
    fail_year (0: alive at the horizon), outcome (categorical: survived,
    acquired, wound_down, acquired_solvent), profit_year, final_cash,
    raised_total, and weight (a conditioned run only: weight the rows
    with it). A frame over PATHS_FRAME_LIMIT bytes (paths x labs x 80
    bytes) is refused in one line: use iter_paths() for such a file."""
    run = _path_source(path, validate)
    with run:
        g = run["paths"]
        need = g.sizes["path"] * max(1, g.sizes.get("lab", 1)) * _ROW_BYTES
        if need > PATHS_FRAME_LIMIT:
            raise ResultError(f"{path}: the per-path table would take {need / 2**30:.1f} GiB, "
                              f"over the limit of {PATHS_FRAME_LIMIT / 2**30:.1f} GiB; read it "
                              "in pieces with runway.iter_paths(path, rows=...)")
        frames = list(_frames(run, max(1, g.sizes["path"])))
    return frames[0] if frames else pd.DataFrame()
