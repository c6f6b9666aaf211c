#!/usr/bin/python3
"""Coverage-guided fuzzer for the Python readers of result files
(runway_result, i.e. python/runway/result.py: load and check_compatible, compare.py compare,
sweep_summary.py summarise, report.py's loading and table building).

Atheris is not packaged in Debian, so this is a small fuzzer of its own:
line coverage of scripts/*.py through sys.settrace, a corpus of inputs
that reached new lines, and mutation of those inputs.

  fuzz_py_readers.py RUNWAY_BIN SECONDS CORPUS_DIR [SEED_DIRS...] [--crashes DIR]
      fuzzes for SECONDS, starting from CORPUS_DIR and SEED_DIRS; inputs
      reaching new lines are written into CORPUS_DIR, inputs breaking the
      property into DIR (default CORPUS_DIR-crashes). Prints one line:
      executions, covered lines, corpus size, crashes. Exit 1 on a crash.
  fuzz_py_readers.py --replay RUNWAY_BIN DIR...
      runs every input file in the DIRs once; exit 1 if any breaks the
      property (for CI).
  fuzz_py_readers.py --minimise RUNWAY_BIN OUT_DIR DIR...
      copies into OUT_DIR a small set of the inputs in DIR... that together
      cover every line they cover (greedy, smallest first).

Base files: at start RUNWAY_BIN simulates scenarios/baseline.yaml with 300
paths into a private temporary folder: base 0 `--per-path all`, base 1
`--per-path none`, base 2 `--per-path all --seed 5`, base 3
`--per-path outcomes`.

An input is a small JSON object (replayable text):
  {"target": "load" | "load_paths" | "compare" | "sweep" | "report",
   "base": 0-3,            the file that is edited (M)
   "other": 0-3,           the untouched (or edits_b-edited) second file (O)
   "swap": false,          compare/sweep/report: M first (A) or second (B)
   "edits": [EDIT...],     applied to a copy of base with h5py, in order
   "edits_b": [EDIT...]}   optional, applied to the copy of other
Each EDIT is an object {"op": ..., "t": target, ...}; a target is a
dataset or group path ("survival", "paths/fail_year") or an attribute
("@complete" on the root, "quantile@units" on a dataset). Operations:
  set   (i, v)   element i (flat, modulo the size) set to a value v
  fill  (v)      every element set to v
  shape (k, ax)  shrink, grow, double, empty, flat, T (transpose),
                 scalar, add_dim, null (an empty dataspace)
  dtype (to)     stored as float32, float64, int8, int32, int64, uint8,
                 uint64, bool, >f8, complex, string, bytes, compound
  del | group | dangling | link (u) | swap (u) | copy (b: another base)
  aset (v) | adel | atype (to)   on an attribute
  flip (at, x, n)  n bytes from fraction `at` of the file XORed with x
                 (applied after every h5py edit)
A value v is a number or one of "nan", "inf", "-inf", "2**63", "2**64-1",
"huge" (2**40), "old+1", "old-1", or {"s": TEXT} for a string.
An edit that h5py cannot make is skipped (deterministically).

Property: the target returns normally, or raises ResultError whose str()
is one non-empty line naming one of its files. Anything else is a crash.
What is accepted is also checked for what load's docstring and OUTPUT.md
promise (probabilities finite in [0, 1], survival inside its interval and
never rising, shapes, per-path data agreeing with survival; compare's
differences finite with the difference inside its interval; JSON output
without NaN; report's and sweep's tables built without error).
"""
import copy
import hashlib
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
SCRIPTS = os.path.join(SRC, "scripts")
sys.path.insert(0, SCRIPTS)
import runway_result  # noqa: E402
import compare as comparemod  # noqa: E402
import sweep_summary  # noqa: E402
import report  # noqa: E402
from runway_result import ResultError  # noqa: E402

warnings.simplefilter("ignore")
np.seterr(all="ignore")

TARGETS = ["load", "load_paths", "compare", "sweep", "report"]
BASES = [("a_all.h5", ["--per-path", "all"]),
         ("a_none.h5", ["--per-path", "none"]),
         ("b_all_seed5.h5", ["--per-path", "all", "--seed", "5"]),
         ("a_outcomes.h5", ["--per-path", "outcomes"])]
VALUES = [0, -1, 1, 0.5, 2, -0.0, 1e300, -1e300, 1e-300, 0.9999999999, 1.0000000001,
          "nan", "inf", "-inf", "2**63", "2**64-1", "huge", "old+1", "old-1",
          2025, 2026, 3, 10, 11, 300, 301,
          {"s": ""}, {"s": "x"}, {"s": "1"}, {"s": "a\nb"}, {"s": "OpenAI"},
          {"s": "Anthropic"}, {"s": "1.0"}, {"s": "\u00e9\u00e8"}, {"s": " 1"}]
SHAPES = ["shrink", "grow", "double", "empty", "flat", "T", "scalar", "add_dim", "null"]
DTYPES = ["float32", "float64", "int8", "int32", "int64", "uint8", "uint64", "bool", ">f8",
          "complex", "string", "bytes", "compound"]
ATYPES = ["string", "bytes", "float", "int8", "uint64", "array", "bool", "empty", "nan"]
DS_OPS = ["set"] * 6 + ["fill"] * 2 + ["shape"] * 3 + ["dtype"] * 2 + \
    ["del", "group", "dangling", "link", "swap", "copy", "copy"]
AT_OPS = ["aset"] * 3 + ["adel", "atype"]
MAX_EDITS = 12
MAX_ELEMENTS = 200000  # a reshaped or filled dataset larger than this: edit skipped


# ----------------------------------------------------------------- base files

def make_bases(runway, d):
    scen = os.path.join(SRC, "scenarios", "baseline.yaml")
    paths = []
    for name, extra in BASES:
        p = os.path.join(d, name)
        r = subprocess.run([runway, "run", scen, "--paths", "300", "-o", p, "-q",
                            "-t", "1", "-k", "3"] + extra, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"fuzz_py_readers: runway run failed: {r.stderr.strip()}")
        paths.append(p)
    return paths


def discover(path):
    """Names of datasets, groups and attributes in a base file."""
    ds, groups, attrs = [], [], []
    with h5py.File(path, "r") as f:
        attrs += ["@" + k for k in f.attrs]

        def visit(name, obj):
            (ds if isinstance(obj, h5py.Dataset) else groups).append(name)
            attrs.extend(f"{name}@{k}" for k in obj.attrs)
        f.visititems(visit)
    # Attributes the readers look at that the writer may not store.
    for a in ("@base_year", "@paths_done", "@complete", "@horizon", "@seed", "@paths"):
        if a not in attrs:
            attrs.append(a)
    return sorted(ds), sorted(groups), sorted(attrs)


# ---------------------------------------------------------------- applying edits

def value_of(v, old=None):
    if isinstance(v, dict):
        return str(v.get("s", ""))
    if isinstance(v, str):
        return {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"),
                "2**63": 2 ** 63, "2**64-1": 2 ** 64 - 1, "huge": 2 ** 40,
                "old+1": (old + 1) if old is not None else 1,
                "old-1": (old - 1) if old is not None else -1}.get(v, 0)
    return v


def _recreate(f, name, data, dtype=None):
    del f[name]
    if dtype is None:
        f.create_dataset(name, data=data)
    else:
        f.create_dataset(name, data=data, dtype=dtype)


def _as_dtype(arr, to):
    if to == "string":
        return np.array([str(x) for x in arr.reshape(-1)], dtype=object).reshape(arr.shape), \
            h5py.string_dtype()
    if to == "bytes":
        return np.array([str(x).encode()[:8] for x in arr.reshape(-1)], dtype="S8").reshape(
            arr.shape), None
    if to == "compound":
        out = np.zeros(arr.shape, dtype=[("a", "f8"), ("b", "i4")])
        return out, None
    if to == "complex":
        return arr.astype(np.complex128), None
    if arr.dtype.kind in "OSU":
        num = np.zeros(arr.shape)
        for i, x in enumerate(arr.reshape(-1)):
            try:
                num.reshape(-1)[i] = float(x)
            except (ValueError, TypeError):
                num.reshape(-1)[i] = float(i)
        arr = num
    with np.errstate(all="ignore"):
        return arr.astype(np.dtype(to)), None


def apply_edit(f, e, bases):
    op, t = e.get("op"), e.get("t", "")
    if op in ("aset", "adel", "atype"):
        obj_name, _, key = t.partition("@")
        obj = f[obj_name] if obj_name else f
        if op == "adel":
            del obj.attrs[key]
        elif op == "aset":
            old = obj.attrs.get(key)
            old = runway_result._exact_int(old) if old is not None else None
            v = value_of(e.get("v"), old)
            if isinstance(v, int) and not isinstance(v, bool):
                v = np.uint64(v) if v >= 2 ** 63 else np.int64(v)
            obj.attrs[key] = v
        else:
            old = obj.attrs[key]
            to = e.get("to")
            if to == "string":
                obj.attrs[key] = str(runway_result._text(old))
            elif to == "bytes":
                obj.attrs[key] = np.bytes_(runway_result._text(old).encode())
            elif to == "float":
                obj.attrs[key] = np.float64(float(old))
            elif to == "int8":
                obj.attrs[key] = np.int8(int(float(old)) % 128)
            elif to == "uint64":
                obj.attrs[key] = np.uint64(int(float(old)))
            elif to == "array":
                obj.attrs[key] = np.array([old, old])
            elif to == "bool":
                obj.attrs[key] = np.bool_(bool(old))
            elif to == "empty":
                obj.attrs[key] = h5py.Empty("f8")
            elif to == "nan":
                obj.attrs[key] = np.float64("nan")
        return
    if op == "flip":
        return  # after the file is closed
    if op == "del":
        del f[t]
    elif op == "group":
        del f[t]
        f.create_group(t)
    elif op == "dangling":
        del f[t]
        f[t] = h5py.SoftLink("/nowhere/" + t)
    elif op == "link":
        u = e.get("u", "")
        del f[t]
        f[t] = h5py.SoftLink("/" + u)
    elif op == "swap":
        u = e.get("u", "")
        if u == t:
            return
        f.move(t, "__swap_tmp")
        f.move(u, t)
        f.move("__swap_tmp", u)
    elif op == "copy":
        b = int(e.get("b", 0)) % len(bases)
        with h5py.File(bases[b], "r") as g:
            if t not in g:
                return
            if t in f:
                del f[t]
            g.copy(g[t], f, name=t)
    elif op in ("set", "fill"):
        ds = f[t]
        arr = ds[()]
        if not isinstance(arr, np.ndarray):
            arr = np.array(arr)
        arr = arr.copy()
        flat = arr.reshape(-1)
        if flat.size == 0:
            return
        if op == "set":
            i = int(e.get("i", 0)) % flat.size
            idx = [i]
        elif flat.size > MAX_ELEMENTS:
            return
        else:
            idx = range(flat.size)
        for i in idx:
            old = flat[i]
            try:
                oldn = float(old)
                oldn = int(oldn) if oldn.is_integer() else oldn
            except (TypeError, ValueError):
                oldn = None
            v = value_of(e.get("v"), oldn)
            if arr.dtype.kind in "OSU":
                flat[i] = str(v) if arr.dtype.kind != "S" else str(v).encode()
            elif isinstance(v, str):
                return  # text into numbers: not an edit h5py can make here
            elif arr.dtype.kind in "iub":
                if isinstance(v, float) and not math.isfinite(v):
                    return
                info = np.iinfo(arr.dtype) if arr.dtype.kind != "b" else None
                v = int(v)
                if info is not None and not (info.min <= v <= info.max):
                    return
                flat[i] = v
            else:
                flat[i] = v
        ds[...] = arr
    elif op == "shape":
        ds = f[t]
        arr = ds[()]
        if not isinstance(arr, np.ndarray):
            arr = np.array(arr)
        k = e.get("k")
        ax = int(e.get("ax", 0)) % max(arr.ndim, 1)
        if k == "null":
            del f[t]
            f.create_dataset(t, data=h5py.Empty(arr.dtype if arr.dtype.kind != "O" else "f8"))
            return
        if k == "scalar":
            new = arr.reshape(-1)[0] if arr.size else np.zeros((), arr.dtype)
        elif k == "flat":
            new = arr.reshape(-1)
        elif k == "T":
            new = arr.T.copy()
        elif k == "add_dim":
            new = arr[None]
        elif arr.ndim == 0:
            new = arr.reshape(1)
        elif k == "shrink":
            new = np.delete(arr, -1, axis=ax) if arr.shape[ax] else arr
        elif k == "grow":
            last = np.take(arr, [-1], axis=ax) if arr.shape[ax] else np.zeros_like(
                np.take(np.zeros((1,) + arr.shape[1:], arr.dtype), [0], axis=0))
            new = np.concatenate([arr, last], axis=ax)
        elif k == "double":
            new = np.concatenate([arr, arr], axis=ax)
        elif k == "empty":
            new = np.take(arr, [], axis=ax)
        else:
            return
        if np.size(new) > MAX_ELEMENTS:
            return
        _recreate(f, t, new, h5py.string_dtype() if arr.dtype.kind == "O" else None)
    elif op == "dtype":
        ds = f[t]
        arr = ds[()]
        if not isinstance(arr, np.ndarray):
            arr = np.array(arr)
        new, dt = _as_dtype(arr, e.get("to", "float64"))
        _recreate(f, t, new, dt)


def build_file(base, edits, out, bases):
    shutil.copyfile(base, out)
    with h5py.File(out, "r+") as f:
        for e in edits:
            if not isinstance(e, dict):
                continue
            try:
                apply_edit(f, e, bases)
            except Exception:  # noqa: BLE001 - an edit h5py cannot make: skipped
                pass
    flips = [e for e in edits if isinstance(e, dict) and e.get("op") == "flip"]
    if flips:
        b = bytearray(open(out, "rb").read())
        for e in flips:
            at = int(float(e.get("at", 0.5)) * len(b)) % max(len(b), 1)
            x = int(e.get("x", 1)) & 0xFF or 1
            for j in range(at, min(at + max(1, min(int(e.get("n", 1)), 64)), len(b))):
                b[j] ^= x
        with open(out, "wb") as fh:
            fh.write(bytes(b))


# ---------------------------------------------------------------- properties

class Violation(Exception):
    """The property failed (a crash of the fuzzer's input)."""


def need(cond, what):
    if not cond:
        raise Violation(what)


def check_result(r, need_paths=False):
    """What load() promises about a Result it returns."""
    L = len(r.labs)
    need(L >= 1 and all(isinstance(x, str) and x for x in r.labs) and len(set(r.labs)) == L,
         f"labs {r.labs!r}")
    T = len(r.years)
    need(T >= 1 and r.horizon == T, f"horizon {r.horizon} vs {T} years")
    need(np.all(np.diff(r.years) == 1), "years not consecutive")
    need(isinstance(r.paths, int) and r.paths >= 1, f"paths {r.paths!r}")
    need(isinstance(r.seed, int) and r.seed >= 0, f"seed {r.seed!r}")
    for n in runway_result._PROB_LT:
        a = r.ds.get(n)
        if a is None:
            need(n not in ("survival", "survival_lo", "survival_hi"), f"{n} missing")
            continue
        need(a.shape == (L, T), f"{n} shape {a.shape}")
        need(np.all(np.isfinite(a)) and np.all((a >= 0) & (a <= 1)), f"{n} not probabilities")
    s, lo, hi = r.ds["survival"], r.ds["survival_lo"], r.ds["survival_hi"]
    need(np.all(lo <= s + 1e-9) and np.all(s <= hi + 1e-9), "survival outside interval")
    need(np.all(np.diff(s, axis=1) <= 1e-9), "survival rises")
    Q = len(r.quantiles)
    for n in runway_result._QUANT_LTQ:
        a = r.ds.get(n)
        if a is not None:
            need(a.shape == (L, T, Q) and not np.any(np.isinf(a)), f"{n} shape/inf")
    for n in runway_result._SENS_LI:
        a = r.ds.get(n)
        if a is not None:
            need(a.shape == (L, len(r.inputs)), f"{n} shape")
            fin = a[np.isfinite(a)]
            need(not np.any(np.isinf(a)) and np.all(np.abs(fin) <= 1 + 1e-12), f"{n} range")
    ia = r.ds.get("independent_alive")
    if ia is not None:
        need(ia.shape == (T, L + 1) and np.all(np.isfinite(ia)), "independent_alive")
    need(len(r.backstopped) == L, "backstopped length")
    if need_paths:
        need(r.has_paths, "need_paths but no per-path data")
    if r.has_paths:
        need(r.fail_year.shape == (r.paths, L) and r.outcome.shape == (r.paths, L),
             "per-path shape")
        need(np.all((r.fail_year >= 0) & (r.fail_year <= T)), "fail_year range")
        need(np.all(np.isin(r.outcome, runway_result._OUTCOMES)), "outcome codes")
        for t in range(1, T + 1):
            alive = np.count_nonzero((r.fail_year == 0) | (r.fail_year > t), axis=0)
            need(np.all(np.abs(alive / r.paths - s[:, t - 1]) <= 1e-9),
                 "per-path disagrees with survival")


def check_comparison(c, a, b):
    # labs are matched by name: the rows are the labs both runs have
    L, T = len(c.labs), len(a.years)
    need(c.labs == [x for x in a.labs if x in b.labs], "compare shared labs")
    for n in ("p_a", "p_b", "diff", "lo", "hi", "halfwidth", "unpaired_halfwidth"):
        x = getattr(c, n)
        need(x.shape == (L, T), f"compare {n} shape {x.shape}")
        need(np.all(np.isfinite(x)), f"compare {n} not finite")
    need(np.all((c.p_a >= 0) & (c.p_a <= 1) & (c.p_b >= 0) & (c.p_b <= 1)),
         "compare p outside [0, 1]")
    need(np.all(np.abs(c.diff - (c.p_b - c.p_a)) <= 1e-9), "compare diff != p_b - p_a")
    need(np.all(c.lo <= c.diff + 1e-12) and np.all(c.diff <= c.hi + 1e-12) and
         np.all(c.halfwidth >= 0), "compare interval")
    same = (a.seed == b.seed and a.paths == b.paths and a.has_paths and b.has_paths)
    # paired also needs the shared inputs' draws to agree (compare checks paths/inputs)
    need(not c.paired or bool(same), "compare paired flag")
    if c.paired:
        ia = [a.labs.index(x) for x in c.labs]
        ib = [b.labs.index(x) for x in c.labs]
        need(np.allclose(c.p_a, a.ds["survival"][ia], atol=1e-9)
             and np.allclose(c.p_b, b.ds["survival"][ib], atol=1e-9),
             "paired probabilities differ from the files' survival")
    json.dumps(comparemod.to_json(c), allow_nan=False)
    comparemod.format_table(c, a.headline_years())


def check_error(e, files):
    msg = str(e)
    need(msg.strip() != "", "ResultError with an empty message")
    need("\n" not in msg and "\r" not in msg, f"ResultError message on several lines: {msg!r}")
    need(any(os.path.basename(p) in msg for p in files),
         f"ResultError message names none of the files: {msg!r}")


def run_target(inp, m, o):
    """Runs one input's target on M (edited) and O (other). Returns a verdict
    string; raises Violation or any exception the readers let out."""
    target = inp.get("target", "load")
    files = [m, o]
    a, b = (o, m) if inp.get("swap") else (m, o)
    try:
        if target == "load":
            check_result(runway_result.load(m))
        elif target == "load_paths":
            check_result(runway_result.load(m, need_paths=True), need_paths=True)
        elif target == "compare":
            ra, rb = runway_result.load(a), runway_result.load(b)
            runway_result.check_compatible(ra, rb)
            c = comparemod.compare(ra, rb)
            check_result(ra)
            check_result(rb)
            check_comparison(c, ra, rb)
        elif target == "sweep":
            header, rows, _ = sweep_summary.summarise([("v=1", a), ("v=2", b)], ["v"])
            for row in rows:
                for x in row[-3:]:
                    v = float(x)
                    need(0 <= v <= 1, f"sweep row survival {x}")
        elif target == "report":
            r = runway_result.load(m)
            check_result(r)
            c = None
            if inp.get("swap"):
                base = runway_result.load(o)
                c = comparemod.compare(base, r)
                check_comparison(c, base, r)
                report.comparison_rows(c, r.headline_years())
            report.headline_rows(r)
            report.provenance_rows(r)
            report.tornado_data(r)
        else:
            return "unknown target"
    except ResultError as e:
        check_error(e, files)
        return "refused: " + str(e).replace(os.path.dirname(m) + os.sep, "")
    return "accepted"


# ---------------------------------------------------------------- coverage

class Coverage:
    def __init__(self):
        # the scripts and the package whose reader they share (runway.result)
        self.prefix = (SCRIPTS + os.sep, os.path.join(SRC, "python", "runway") + os.sep)
        self.lines = set()
        self.cur = None

    def _local(self, frame, event, arg):
        if event == "line":
            self.cur.add((frame.f_code.co_filename, frame.f_lineno))
        return self._local

    def _global(self, frame, event, arg):
        if frame.f_code.co_filename.startswith(self.prefix):
            self.cur.add((frame.f_code.co_filename, frame.f_lineno))
            return self._local
        return None

    def start(self):
        self.cur = set()
        sys.settrace(self._global)

    def stop(self):
        sys.settrace(None)
        return self.cur


def executable_lines():
    """(file, line) pairs with code in the scripts the fuzzer imports."""
    out = set()
    for mod in (runway_result, comparemod, sweep_summary, report):
        fn = mod.__file__
        code = compile(open(fn).read(), fn, "exec")
        stack = [code]
        while stack:
            co = stack.pop()
            for _, _, ln in co.co_lines():
                if ln is not None and co is not code:
                    out.add((os.path.abspath(fn), ln))
            stack.extend(c for c in co.co_consts if hasattr(c, "co_lines"))
    return out


# ---------------------------------------------------------------- execution

class Runner:
    def __init__(self, runway):
        self.tmp = tempfile.mkdtemp(prefix="runway-fuzz-py-", dir="/dev/shm"
                                    if os.path.isdir("/dev/shm") else None)
        self.bases = make_bases(runway, self.tmp)
        self.ds, self.groups, self.attrs = discover(self.bases[0])
        self.m = os.path.join(self.tmp, "edited.h5")
        self.o = os.path.join(self.tmp, "other.h5")
        self.cov = Coverage()
        self.probe_all = False

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def execute(self, inp):
        """-> (verdict, lines covered, failure text or None). An input that
        flips bytes runs in a forked child: HDF5 itself may crash on a
        damaged file, and that must not end the campaign (it is reported
        as a failure: the reader died from a signal)."""
        flips = any(isinstance(e, dict) and e.get("op") == "flip"
                    for k in ("edits", "edits_b") for e in (inp.get(k) or [])
                    if isinstance(inp.get(k), list))
        if not flips:
            # Files h5py wrote cannot crash HDF5: no need for load's forked
            # probe, whose child's lines the coverage would not see.
            runway_result.PROBE = self.probe_all
            return self._execute(inp)
        runway_result.PROBE = True
        rfd, wfd = os.pipe()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            try:
                verdict, lines, fail = self._execute(inp)
                data = json.dumps([verdict, sorted(lines), fail]).encode()
            except BaseException:  # noqa: BLE001
                data = json.dumps(["crash", [], traceback.format_exc()]).encode()
            with os.fdopen(wfd, "wb") as fh:
                fh.write(data)
            os._exit(0)
        os.close(wfd)
        with os.fdopen(rfd, "rb") as fh:
            data = fh.read()
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status) or not data:
            sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            return "crash", set(), f"the reader died from signal {sig} (exit status {status})"
        verdict, lines, fail = json.loads(data)
        return verdict, {tuple(x) for x in lines}, fail

    def _execute(self, inp):
        nb = len(self.bases)
        base = self.bases[int(inp.get("base", 0)) % nb]
        other = self.bases[int(inp.get("other", 0)) % nb]
        edits = inp.get("edits") or []
        build_file(base, edits if isinstance(edits, list) else [], self.m, self.bases)
        eb = inp.get("edits_b") or []
        if eb:
            build_file(other, eb if isinstance(eb, list) else [], self.o, self.bases)
        else:
            shutil.copyfile(other, self.o)
        fail = None
        verdict = "crash"
        self.cov.start()
        try:
            verdict = run_target(inp, self.m, self.o)
        except Violation as e:
            fail = f"property: {e}"
        except Exception:  # noqa: BLE001 - the point of the fuzzer
            fail = traceback.format_exc()
        finally:
            lines = self.cov.stop()
        return verdict, lines, fail


# ---------------------------------------------------------------- mutation

class Mutator:
    def __init__(self, runner, rng):
        self.r = runner
        self.rng = rng

    def edit(self):
        rng = self.rng
        x = rng.random()
        if x < 0.03:
            return {"op": "flip", "at": round(rng.random(), 4), "x": rng.randrange(1, 256),
                    "n": rng.choice((1, 1, 2, 4, 8))}
        if x < 0.30:
            op = rng.choice(AT_OPS)
            e = {"op": op, "t": rng.choice(self.r.attrs)}
            if op == "aset":
                e["v"] = rng.choice(VALUES)
            elif op == "atype":
                e["to"] = rng.choice(ATYPES)
            return e
        op = rng.choice(DS_OPS)
        pool = self.r.ds if op not in ("del", "group", "swap", "dangling") or rng.random() < 0.8 \
            else self.r.groups
        e = {"op": op, "t": rng.choice(pool)}
        if op in ("set", "fill"):
            e["v"] = rng.choice(VALUES)
            if op == "set":
                e["i"] = rng.choice((0, 1, -1, rng.randrange(0, 20000)))
        elif op == "shape":
            e["k"] = rng.choice(SHAPES)
            e["ax"] = rng.randrange(3)
        elif op == "dtype":
            e["to"] = rng.choice(DTYPES)
        elif op in ("link", "swap"):
            e["u"] = rng.choice(self.r.ds + self.r.groups)
        elif op == "copy":
            e["b"] = rng.randrange(len(self.r.bases))
        return e

    def tweak(self, e):
        e = dict(e)
        rng = self.rng
        k = rng.choice(("v", "i", "t", "k", "to", "u", "b"))
        if k == "v":
            e["v"] = rng.choice(VALUES)
        elif k == "i":
            e["i"] = int(e.get("i", 0)) + rng.choice((-1, 1, 6, -6, 60))
        elif k == "t" and e.get("op") not in ("flip",):
            e["t"] = rng.choice(self.r.attrs if e.get("op", "").startswith("a") else self.r.ds)
        elif k == "k":
            e["k"] = rng.choice(SHAPES)
        elif k == "to":
            e["to"] = rng.choice(DTYPES if e.get("op") == "dtype" else ATYPES)
        elif k == "u":
            e["u"] = rng.choice(self.r.ds + self.r.groups)
        else:
            e["b"] = rng.randrange(len(self.r.bases))
        return e

    def mutate(self, inp, corpus):
        rng = self.rng
        out = copy.deepcopy(inp)
        out.setdefault("edits", [])
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            which = "edits_b" if out.get("target") in ("compare", "sweep", "report") \
                and rng.random() < 0.1 else "edits"
            ed = out.setdefault(which, [])
            x = rng.random()
            if x < 0.35 and len(ed) < MAX_EDITS:
                ed.insert(rng.randrange(len(ed) + 1), self.edit())
            elif x < 0.5 and ed:
                del ed[rng.randrange(len(ed))]
            elif x < 0.7 and ed:
                i = rng.randrange(len(ed))
                ed[i] = self.tweak(ed[i])
            elif x < 0.78:
                out["target"] = rng.choice(TARGETS)
            elif x < 0.84:
                out["base"] = rng.randrange(len(self.r.bases))
            elif x < 0.9:
                out["other"] = rng.randrange(len(self.r.bases))
            elif x < 0.93:
                out["swap"] = not out.get("swap", False)
            elif corpus:
                o = rng.choice(corpus)
                oe = o.get("edits") or []
                cut1 = rng.randrange(len(ed) + 1)
                cut2 = rng.randrange(len(oe) + 1)
                out["edits"] = (ed[:cut1] + copy.deepcopy(oe[cut2:]))[:MAX_EDITS]
        if not out.get("edits_b"):
            out.pop("edits_b", None)
        return out


# ---------------------------------------------------------------- driver

def read_inputs(dirs):
    out = []
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for n in sorted(os.listdir(d)):
            p = os.path.join(d, n)
            if not os.path.isfile(p) or n.startswith("."):
                continue
            try:
                inp = json.load(open(p, encoding="utf-8"))
            except (ValueError, UnicodeError):
                inp = None
            out.append((p, inp if isinstance(inp, dict) else None))
    return out


def save(d, inp, tag):
    os.makedirs(d, exist_ok=True)
    text = json.dumps(inp, sort_keys=True)
    name = f"{tag}-{hashlib.sha1(text.encode()).hexdigest()[:16]}.json"
    with open(os.path.join(d, name), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    return os.path.join(d, name)


def replay(runway, dirs):
    r = Runner(runway)
    r.probe_all = True  # as the scripts run: every load probed in a child
    bad = n = 0
    try:
        for p, inp in read_inputs(dirs):
            n += 1
            if inp is None:
                print(f"FAIL {p}: not a JSON object")
                bad += 1
                continue
            verdict, _, fail = r.execute(inp)
            if fail:
                bad += 1
                print(f"FAIL {p}:\n{fail}")
            elif os.environ.get("RUNWAY_FUZZ_VERBOSE"):
                print(f"ok   {p}: {verdict}")
    finally:
        r.close()
    print(f"fuzz_py_readers replay: {n} inputs, {bad} failed")
    return 1 if bad or n == 0 else 0


def minimise(runway, out_dir, dirs):
    r = Runner(runway)
    try:
        cand = []
        for p, inp in read_inputs(dirs):
            if inp is None:
                continue
            _, lines, fail = r.execute(inp)
            if fail:
                continue
            cand.append((len(json.dumps(inp)), p, inp, lines))
    finally:
        r.close()
    # Greedy set cover: the input adding most new lines first (ties: smaller).
    covered, chosen = set(), []
    total = set().union(*[c[3] for c in cand]) if cand else set()
    while covered != total:
        best = max(cand, key=lambda c: (len(c[3] - covered), -c[0]))
        if not best[3] - covered:
            break
        chosen.append(best)
        covered |= best[3]
    os.makedirs(out_dir, exist_ok=True)
    for _, p, inp, _ in chosen:
        dst = os.path.join(out_dir, os.path.basename(p))
        if os.path.abspath(p) != os.path.abspath(dst):
            shutil.copy(p, dst)
    print(f"fuzz_py_readers minimise: {len(cand)} inputs cover {len(total)} lines; "
          f"{len(chosen)} kept in {out_dir}")
    exe = executable_lines()
    for fn in sorted({x[0] for x in exe}):
        print(f"  {os.path.basename(fn)}: {sum(1 for x in total if x[0] == fn and x in exe)} "
              f"of {sum(1 for x in exe if x[0] == fn)} lines")
    return 0


def fuzz(runway, seconds, corpus_dir, seed_dirs, crash_dir, seed):
    rng = random.Random(seed)
    r = Runner(runway)
    mut = Mutator(r, rng)
    os.makedirs(corpus_dir, exist_ok=True)
    covered = set()
    corpus = []
    crashes = execs = 0
    seen_fail = set()
    total = executable_lines()
    t0 = time.time()
    last = t0

    def stop(signum, frame):  # SIGTERM: finish as if the time were up
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)

    def one(inp, keep_new):
        nonlocal crashes, execs
        execs += 1
        _, lines, fail = r.execute(inp)
        if fail:
            key = fail.strip().splitlines()[-1][:200]
            if key not in seen_fail:
                seen_fail.add(key)
                p = save(crash_dir, inp, "crash")
                print(f"CRASH {p}:\n{fail}", flush=True)
            crashes += 1
            return False
        new = lines - covered
        if new:
            covered.update(lines)
            corpus.append(inp)
            if keep_new:
                save(corpus_dir, inp, "cov")
            return True
        return False

    try:
        for p, inp in read_inputs([corpus_dir] + list(seed_dirs)):
            if inp is not None:
                one(inp, keep_new=False)
                if inp not in corpus:
                    corpus.append(inp)
        if not corpus:
            for t in TARGETS:
                one({"target": t, "base": 0, "other": 2, "edits": []}, keep_new=True)
        while time.time() - t0 < seconds:
            # Favour recent (new-coverage) inputs a little.
            parent = corpus[-1 - int(rng.random() ** 2 * len(corpus))] if corpus else {}
            child = mut.mutate(parent, corpus)
            one(child, keep_new=True)
            if time.time() - last >= 60:
                last = time.time()
                print(f"  {int(last - t0)} s: {execs} execs, {len(covered)} lines, "
                      f"corpus {len(corpus)}, crashes {crashes}", flush=True)
    except KeyboardInterrupt:
        print("  stopped early", flush=True)
    finally:
        r.close()
    mine = {x for x in covered if x in total}
    print(f"fuzz py_readers: {execs} executions in {int(time.time() - t0)} s; covered {len(mine)} of "
          f"{len(total)} lines of runway_result (python/runway/result.py), compare, sweep_summary, "
          f"report; "
          f"corpus {len(corpus)} inputs; {crashes} crashing execution(s), "
          f"{len(seen_fail)} distinct, in {crash_dir}")
    return 1 if crashes else 0


def usage():
    sys.stderr.write(
        "usage: fuzz_py_readers.py RUNWAY_BIN SECONDS CORPUS_DIR [SEED_DIRS...] "
        "[--crashes DIR] [--seed N]\n"
        "       fuzz_py_readers.py --replay RUNWAY_BIN DIR...\n"
        "       fuzz_py_readers.py --minimise RUNWAY_BIN OUT_DIR DIR...\n")
    return 2


def main(argv):
    if len(argv) >= 2 and argv[0] == "--replay":
        return replay(os.path.abspath(argv[1]), argv[2:])
    if len(argv) >= 3 and argv[0] == "--minimise":
        return minimise(os.path.abspath(argv[1]), argv[2], argv[3:])
    crash_dir = seed = None
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] in ("--crashes", "--seed") and i + 1 < len(argv):
            if argv[i] == "--crashes":
                crash_dir = argv[i + 1]
            else:
                seed = int(argv[i + 1])
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    if len(rest) < 3 or not rest[1].isdigit():
        return usage()
    runway, secs, corpus_dir = os.path.abspath(rest[0]), int(rest[1]), rest[2]
    return fuzz(runway, secs, corpus_dir, rest[3:], crash_dir or corpus_dir.rstrip("/") +
                "-crashes", seed if seed is not None else int(time.time()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
