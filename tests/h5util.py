"""Helpers shared by the Python tests: run runway, compare result files."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np


PY = "/usr/bin/python3"  # Debian's, which has h5py, numpy and matplotlib


def script_args(names=("RUNWAY", "SOURCE_DIR", "MODE")):
    """A test script's arguments (RUNWAY SOURCE_DIR [MODE]): the paths made
    absolute, any further argument as given; puts SOURCE_DIR/scripts on
    sys.path, so that the script can import report, compare and the rest."""
    if len(sys.argv) != len(names) + 1:
        sys.exit(f"usage: {os.path.basename(sys.argv[0])} {' '.join(names)}")
    args = [os.path.abspath(a) if k < 2 else a for k, a in enumerate(sys.argv[1:])]
    sys.path.insert(0, os.path.join(args[1], "scripts"))
    return args


def run_mode(modes, mode, prefix, problems):
    """Runs modes[mode](d) in a fresh temporary folder d, then exits: 0 when
    problems (the script's list of failures) is empty, else 1."""
    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        modes[mode](d)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


def run(runway, *args, check=True):
    p = subprocess.run([runway, *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"runway {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


def datasets(path):
    """Every dataset in the file, by name, as numpy arrays."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f.visititems(visit)
    return out


def same_bits(a, b):
    """Names of datasets that differ in any bit (NaN == NaN when bits match)."""
    da, db = datasets(a), datasets(b)
    diff = sorted(set(da) ^ set(db))
    for k in sorted(set(da) & set(db)):
        x, y = da[k], db[k]
        if x.dtype != y.dtype or x.shape != y.shape:
            diff.append(k)
        elif x.dtype.kind in "fiub":
            if x.tobytes() != y.tobytes():
                diff.append(k)
        elif not np.array_equal(x, y):
            diff.append(k)
    return diff


def tmpdir():
    return tempfile.mkdtemp(prefix="runway-test-")


def verdict(problems):
    """Print each problem as FAIL and a last line; the exit status."""
    for m in problems:
        print("FAIL:", m)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def sh(*cmd, ok=True, **kw):
    """Runs cmd, capturing text output; a failure raises unless ok=False."""
    p = subprocess.run(list(cmd), capture_output=True, text=True, **kw)
    if ok and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def failer(problems):
    """fail(msg): records msg in problems and prints it."""
    def fail(msg):
        problems.append(msg)
        print("FAIL:", msg)
    return fail
