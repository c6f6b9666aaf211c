"""The analyst scripts refuse what is not a finished runway result: a
missing file, a file that is not HDF5, an HDF5 file that is not a runway
result, and a result with complete = 0 (an interrupted run). Each refusal
is exactly one line on stderr naming the file, exit status 1, nothing on
stdout, and no file left behind (not even a temporary one). Also refused
the same way: an output folder that does not exist, and for sweep_plot.py
a missing or malformed summary CSV.

Usage: test_report_bad_input.py RUNWAY SOURCE_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

runway, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PY = "/usr/bin/python3"
SCRIPTS = os.path.join(src, "scripts")
SCEN = os.path.join(src, "scenarios", "baseline.yaml")
problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL:", msg)


def refused(d, name, cmd, names_file, why):
    before = sorted(os.listdir(d))
    p = subprocess.run([PY] + cmd, capture_output=True, text=True)
    after = sorted(os.listdir(d))
    lines = p.stderr.splitlines()
    what = f"{name}: {os.path.basename(cmd[0])} {' '.join(os.path.basename(c) for c in cmd[1:])}"
    if p.returncode != 1:
        fail(f"{what}: exit {p.returncode}, expected 1 (stderr {p.stderr!r})")
    if len(lines) != 1:
        fail(f"{what}: stderr is {len(lines)} lines, expected 1: {p.stderr!r}")
    elif names_file not in lines[0] or why not in lines[0]:
        fail(f"{what}: message {lines[0]!r} does not name {names_file!r} and say {why!r}")
    if p.stdout:
        fail(f"{what}: wrote to stdout: {p.stdout!r}")
    if after != before:
        fail(f"{what}: left files {sorted(set(after) - set(before))}")
    else:
        print(f"ok  {what}: {lines[0] if lines else ''}")


with tempfile.TemporaryDirectory(prefix="runway-badinput-") as d:
    good = os.path.join(d, "good.h5")
    p = subprocess.run([runway, "run", SCEN, "-o", good, "--paths", "1000", "-q",
                        "--keep-paths", "0"], capture_output=True, text=True)
    if p.returncode != 0:
        print("FAIL: runway run:", p.stderr)
        sys.exit(1)
    missing = os.path.join(d, "missing.h5")
    text = os.path.join(d, "notes.h5")
    with open(text, "w") as fh:
        fh.write("this is not an HDF5 file\n")
    empty = os.path.join(d, "empty.h5")
    open(empty, "w").close()
    other = os.path.join(d, "other.h5")
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    partial = os.path.join(d, "partial.h5")
    shutil.copy(good, partial)
    with h5py.File(partial, "a") as f:
        f.attrs["complete"] = np.int32(0)

    bad = [("missing", missing, "no such file"), ("text", text, "not an HDF5 file"),
           ("empty", empty, "not an HDF5 file"), ("other HDF5", other, "not a runway result"),
           ("incomplete", partial, "incomplete")]
    report = os.path.join(SCRIPTS, "report.py")
    compare = os.path.join(SCRIPTS, "compare.py")
    summary = os.path.join(SCRIPTS, "sweep_summary.py")
    plot = os.path.join(SCRIPTS, "sweep_plot.py")
    out = os.path.join(d, "out")
    for name, path, why in bad:
        refused(d, name, [report, path, "-o", out], path, why)
        refused(d, name + " (baseline)", [report, good, "-o", out, "--baseline", path],
                path, why)
        refused(d, name, [compare, good, path, "-o", out + ".csv"], path, why)
        refused(d, name, [compare, path, good], path, why)
        refused(d, name, [summary, f"x={good}", f"y={path}", "-o", out + ".csv"], path, why)
    # the default report name goes to the current folder: nothing there either
    before = sorted(os.listdir(d))
    p = subprocess.run([PY, report, text], capture_output=True, text=True, cwd=d)
    if p.returncode != 1 or sorted(os.listdir(d)) != before:
        fail(f"default-name report of a bad file: exit {p.returncode}, files changed")

    nodir = os.path.join(d, "no", "such", "folder", "rep")
    refused(d, "no output folder", [report, good, "-o", nodir], "does not exist",
            "does not exist")
    refused(d, "missing CSV", [plot, os.path.join(d, "none.csv"), "-o", out + ".png"],
            "none.csv", "no such file")
    refused(d, "not a summary", [plot, text, "-o", out + ".png"], text, "not a sweep summary")

print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
