#!/usr/bin/python3
"""Digests of every result dataset of a runway file, and the check that a
build still gives the stored ones (issue 7: refactors change no result).

  result_digests.py write RUNWAY OUTDIR [SCENDIR]     runs every shipped scenario, stores digests
  result_digests.py check RUNWAY STOREDDIR [SCENDIR]  runs them again, compares every stored digest

SCENDIR (default scenarios/) holds the scenario files. tests/v1/ keeps
the shipped scenarios as they were under model version 1, with the
digests the version 1 engine gave them: version 2 must give the same bits
(MODEL.md: every new input defaults to version 1's behaviour).

A digest is the SHA-256 of a dataset's shape and raw bytes (NaN bits
included), so a single flipped bit anywhere fails. Datasets a newer build
adds are allowed (OUTPUT.md: names may be added, none renamed); a stored
one that is missing or different fails. Group /state (checkpoint
bookkeeping) and provenance attributes are not results and are skipped.
"""
import hashlib
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCENARIOS = ["baseline", "price_war", "scaling_slowdown", "efficiency_shock"]
# Small runs: every branch the shipped scenarios reach in their first
# 20,000 paths, with trajectories of 50 paths, in seconds.
ARGS = ["-n", "20000", "-k", "50", "-q", "-t", "2"]


def digests(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and not name.startswith("state"):
                a = obj[()]
                h = hashlib.sha256(repr(a.shape).encode())
                if a.dtype.kind in "fiub":
                    h.update(np.ascontiguousarray(a).tobytes())
                else:
                    h.update(repr(a.tolist()).encode())
                out[name] = h.hexdigest()
        f.visititems(visit)
    return out


def run(runway, scen, d, scendir):
    out = os.path.join(d, scen + ".h5")
    subprocess.run([runway, "run", os.path.join(scendir, scen + ".yaml"),
                    *ARGS, "-o", out], check=True)
    return digests(out)


def main():
    mode, runway, store = sys.argv[1:4]
    scendir = sys.argv[4] if len(sys.argv) > 4 else os.path.join(ROOT, "scenarios")
    bad = []
    with tempfile.TemporaryDirectory(prefix="runway-digests-") as d:
        for scen in SCENARIOS:
            got = run(runway, scen, d, scendir)
            fn = os.path.join(store, scen + ".txt")
            if mode == "write":
                with open(fn, "w") as f:
                    for k in sorted(got):
                        f.write(f"{got[k]}  {k}\n")
                continue
            with open(fn) as f:
                want = dict(reversed(line.split()) for line in f if line.strip())
            for k, h in sorted(want.items()):
                if k not in got:
                    bad.append(f"{scen}: dataset {k} missing")
                elif got[k] != h:
                    bad.append(f"{scen}: dataset {k} differs from the stored digest")
            print(f"{scen}: {len(want)} stored datasets compared")
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
