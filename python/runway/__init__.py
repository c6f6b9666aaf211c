"""runway: read runway result files (HDF5 / netCDF-4) in Python.

    import runway
    run = runway.load("out.h5")          # {group: labelled xarray.Dataset}
    run["summary"].survival.sel(lab="OpenAI", year=2030)
    run.frame("survival", "survival_lo", "survival_hi")   # pandas, (lab, year)
    df = runway.paths("out.h5")          # tidy: one row per (path, lab)
    problems = runway.validate("out.h5") # [] when the file keeps the contract

docs/python.md is a worked example. Modules:
  runway.data      load, paths, iter_paths (xarray and pandas)
  runway.result    the reader the report scripts use (Result, load): every
                   rule of docs/output-format.md checked in a forked child
  runway.contract  validate: the whole file contract, as a list of
                   problems (tests/check_output.py is its command line)
"""
from runway.result import ResultError

# xarray and pandas take a second to import: only what uses them imports
# them, so the report scripts (which import runway.result) start as fast
# as before.
_LAZY = {"Run": "runway.data", "load": "runway.data", "paths": "runway.data",
         "iter_paths": "runway.data", "PATHS_FRAME_LIMIT": "runway.data",
         "validate": "runway.contract"}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'runway' has no attribute {name!r}")
    import importlib
    mod = importlib.import_module(_LAZY[name])
    value = getattr(mod, name)
    globals()[name] = value
    return value

__all__ = ["ResultError", "Run", "load", "paths", "iter_paths", "validate",
           "PATHS_FRAME_LIMIT"]
