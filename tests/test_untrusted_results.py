"""The analyst scripts on result files nobody should trust: truncated,
corrupted (bytes flipped in the middle) and hand-crafted HDF5 files (made
with h5py from a real result: missing datasets, wrong shapes and dtypes,
NaN-filled, out-of-range and inconsistent values, lab counts that
disagree, links to nowhere, an impossible size).

For each file, report.py, compare.py (the file as A and as B against a
good result) and sweep_summary.py must either
  - refuse it: exit 1, exactly one line on stderr naming the file, nothing
    on stdout, no file left behind; or
  - (corrupted files only, when the flipped bytes fall in data that no
    check can tell from a valid value, e.g. inside a text attribute) accept
    it: exit 0, as for a good file;
and never show a Python traceback, die from a signal or exit otherwise.
Hand-crafted and truncated files must be refused. runway_result.load
itself is also called in-process on every file: it must raise
ResultError (a one-line message naming the file) or, for corrupted files
only, return.

Usage: test_untrusted_results.py RUNWAY SOURCE_DIR
"""
import concurrent.futures
import os
import random
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

runway, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PY = "/usr/bin/python3"
SCRIPTS = os.path.join(src, "scripts")
sys.path.insert(0, SCRIPTS)
import runway_result  # noqa: E402

problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL:", msg)


def copy_with(good, d, name, edit):
    """A copy of good named name, changed by edit(h5py.File)."""
    p = os.path.join(d, name + ".h5")
    shutil.copy(good, p)
    with h5py.File(p, "r+") as f:
        edit(f)
    return p


def replace(f, name, data, **kw):
    del f[name]
    f.create_dataset(name, data=data, **kw)


def crafted_files(good, d):
    """(path, why) of hand-crafted results every reader must refuse."""
    with h5py.File(good, "r") as f:
        L, T = f["survival"].shape
        N = int(f.attrs["paths"])
        labs = [x.decode() if isinstance(x, bytes) else x for x in f["lab"][()]]
    out = []

    def add(name, edit):
        out.append((copy_with(good, d, name, edit), name))

    s = lambda f: f["survival"][()]  # noqa: E731
    for n in ("survival", "survival_lo", "survival_hi", "lab", "year"):
        add(f"missing_{n}", lambda f, n=n: f.__delitem__(n))
    for a in ("complete", "paths", "horizon", "seed"):
        add(f"missing_attr_{a}", lambda f, a=a: f.attrs.__delitem__(a))
    add("survival_extra_year", lambda f: replace(f, "survival", np.zeros((L, T + 1))))
    add("survival_transposed", lambda f: replace(f, "survival", s(f).T.copy()))
    add("survival_1d", lambda f: replace(f, "survival", s(f).reshape(-1)))
    add("survival_scalar", lambda f: replace(f, "survival", 0.5))
    add("survival_empty", lambda f: replace(f, "survival", np.zeros((L, 0))))
    add("survival_strings", lambda f: replace(
        f, "survival", np.array([["x"] * T] * L, dtype=h5py.string_dtype())))
    add("survival_compound", lambda f: replace(
        f, "survival", np.zeros((L, T), dtype=[("a", "f8"), ("b", "i4")])))
    add("survival_complex", lambda f: replace(f, "survival", s(f).astype(np.complex128)))
    add("survival_nan", lambda f: replace(f, "survival", np.full((L, T), np.nan)))
    add("survival_one_nan", lambda f: f["survival"].__setitem__((0, 0), np.nan))
    add("survival_inf", lambda f: f["survival"].__setitem__((0, 0), np.inf))
    add("survival_above_1", lambda f: f["survival"].__setitem__((0, 0), 1.5))
    add("survival_negative", lambda f: f["survival"].__setitem__((0, T - 1), -0.25))
    add("survival_rising", lambda f: replace(f, "survival", np.tile(np.linspace(0.1, 0.9, T), (L, 1))))
    add("survival_outside_interval", lambda f: replace(f, "survival_lo", np.clip(s(f) + 0.1, 0, 1)))
    add("survival_lo_nan", lambda f: replace(f, "survival_lo", np.full((L, T), np.nan)))
    add("survival_hi_wrong_shape", lambda f: replace(f, "survival_hi", np.ones((L + 1, T))))
    add("survival_is_group", lambda f: (f.__delitem__("survival"), f.create_group("survival")))
    add("survival_dangling_link", lambda f: (f.__delitem__("survival"),
                                             f.__setitem__("survival", h5py.SoftLink("/nowhere"))))
    add("survival_external_link", lambda f: (f.__delitem__("survival"), f.__setitem__(
        "survival", h5py.ExternalLink(os.path.join(d, "no_such_file.h5"), "/survival"))))
    add("lab_fewer_names", lambda f: replace(f, "lab", np.array(labs[:-1], dtype=h5py.string_dtype())))
    add("lab_more_names", lambda f: replace(f, "lab", np.array(labs + ["Extra"], dtype=h5py.string_dtype())))
    add("lab_duplicate_names", lambda f: replace(
        f, "lab", np.array([labs[0]] * L, dtype=h5py.string_dtype())))
    add("lab_numbers", lambda f: replace(f, "lab", np.arange(L, dtype=np.float64)))
    add("lab_2d", lambda f: replace(f, "lab", np.array([labs], dtype=h5py.string_dtype())))
    add("lab_scalar_string", lambda f: replace(f, "lab", "OpenAI"))
    add("year_nan", lambda f: replace(f, "year", np.full(T, np.nan)))
    add("year_float_fraction", lambda f: replace(f, "year", f["year"][()] + 0.5))
    add("year_not_consecutive", lambda f: replace(f, "year", f["year"][()] * 2))
    add("year_huge", lambda f: replace(f, "year", np.full(T, 2 ** 62, dtype=np.int64)))
    add("year_shorter_than_horizon", lambda f: replace(f, "year", f["year"][()][:-1]))
    add("horizon_disagrees", lambda f: f.attrs.__setitem__("horizon", T + 3))
    add("base_year_disagrees", lambda f: f.attrs.__setitem__("base_year", 1900))
    add("paths_zero", lambda f: f.attrs.__setitem__("paths", 0))
    add("paths_negative", lambda f: f.attrs.__setitem__("paths", -5))
    add("paths_text", lambda f: f.attrs.__setitem__("paths", "many"))
    add("paths_float_nan", lambda f: f.attrs.__setitem__("paths", np.nan))
    add("seed_negative", lambda f: f.attrs.__setitem__("seed", -1))
    add("complete_zero", lambda f: f.attrs.__setitem__("complete", 0))
    add("complete_text", lambda f: f.attrs.__setitem__("complete", "yes"))
    add("quantile_nan", lambda f: replace(f, "quantile", np.full(5, np.nan)))
    add("quantile_wrong_length", lambda f: replace(f, "quantile", np.array([0.5, 0.9])))
    add("cash_q_wrong_shape", lambda f: replace(f, "cash_q", np.zeros((L, T))))
    add("cash_q_strings", lambda f: replace(
        f, "cash_q", np.array([[["x"] * 5] * T] * L, dtype=h5py.string_dtype())))
    add("failed_acquired_above_1", lambda f: replace(f, "failed_acquired", np.full((L, T), 3.0)))
    add("acquired_solvent_negative", lambda f: replace(f, "acquired_solvent", np.full((L, T), -0.5)))
    add("acquired_solvent_wrong_shape", lambda f: replace(f, "acquired_solvent", np.zeros((T, L + 1))))
    add("independent_alive_wrong_shape", lambda f: replace(f, "independent_alive", np.zeros((T, L))))
    add("sensitivity_wrong_shape", lambda f: replace(f, "sensitivity_survival", np.zeros((L + 2, 3))))
    add("fail_year_extra_lab", lambda f: replace(f, "paths/fail_year", np.zeros((N, L + 1), dtype=np.int32)))
    add("fail_year_fewer_paths", lambda f: replace(f, "paths/fail_year", f["paths/fail_year"][()][:N // 2]))
    add("fail_year_beyond_horizon", lambda f: f["paths/fail_year"].__setitem__((0, 0), T + 5))
    add("fail_year_negative", lambda f: f["paths/fail_year"].__setitem__((1, 0), -1))
    add("fail_year_float_nan", lambda f: replace(f, "paths/fail_year", np.full((N, L), np.nan)))
    add("fail_year_disagrees_with_outcome", lambda f: replace(
        f, "paths/fail_year", np.ones((N, L), dtype=np.int32)))

    def move_one_failure(f):
        # One failed path fails in another year: outcome still agrees, the
        # survival table no longer does.
        fy = f["paths/fail_year"][()]
        i, j = np.argwhere(fy > 0)[0]
        fy[i, j] = 1 if fy[i, j] != 1 else T
        replace(f, "paths/fail_year", fy)
    add("fail_year_disagrees_with_survival", move_one_failure)
    add("outcome_unknown_code", lambda f: replace(f, "paths/outcome", np.full((N, L), 7, dtype=np.int8)))
    add("outcome_code_4", lambda f: replace(f, "paths/outcome", np.where(
        f["paths/fail_year"][()] == 0, 0, 4).astype(np.int8)))
    add("outcome_solvent_exit_without_year", lambda f: replace(
        f, "paths/outcome", np.full((N, L), 3, dtype=np.int8)))
    add("outcome_missing", lambda f: f.__delitem__("paths/outcome"))
    add("outcome_disagrees_with_fail_year", lambda f: replace(
        f, "paths/outcome", np.zeros((N, L), dtype=np.int8) + (f["paths/fail_year"][()] == 0)))
    add("paths_is_dataset", lambda f: (f.__delitem__("paths"), f.create_dataset("paths", data=[1, 2])))

    def impossible_size(f):
        # 2^40 paths declared, nothing stored: reading it would need 8 TB.
        del f["paths/fail_year"]
        del f["paths/outcome"]
        f["paths"].create_dataset("fail_year", shape=(2 ** 40, L), dtype=np.int32, chunks=(4096, L))
        f["paths"].create_dataset("outcome", shape=(2 ** 40, L), dtype=np.int8, chunks=(4096, L))
        f.attrs["paths"] = 2 ** 40
    add("impossible_size", impossible_size)
    # An empty file with the HDF5 signature, and a group-only file.
    p = os.path.join(d, "empty_hdf5.h5")
    h5py.File(p, "w").close()
    out.append((p, "empty_hdf5"))
    return out


def truncated_files(good, d):
    data = open(good, "rb").read()
    out = []
    for frac in (0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
        n = int(len(data) * frac)
        p = os.path.join(d, f"truncated_{n}.h5")
        with open(p, "wb") as fh:
            fh.write(data[:n])
        out.append((p, f"truncated to {n} of {len(data)} bytes"))
    return out


def corrupted_files(good, d, count=8):
    """Copies with bytes overwritten: count at random places in the middle
    third of the file, then one inside the stored data of each dataset
    the readers use (found with h5py's low-level offsets), and one in the
    file's first metadata (superblock and root group)."""
    data = open(good, "rb").read()
    rng = random.Random(20251231)
    spots = []
    for k in range(count):
        spots.append((f"random{k}", rng.randrange(len(data) // 3, 2 * len(data) // 3),
                      rng.choice((1, 8, 64, 512))))
    with h5py.File(good, "r") as f:
        for n in ("survival", "survival_lo", "year", "lab", "quantile", "cash_q",
                  "independent_alive", "paths/fail_year", "paths/outcome"):
            ds = f[n]
            try:
                off = ds.id.get_offset()
                if off is None:  # chunked: the first chunk
                    off = ds.id.get_chunk_info(0).byte_offset
            except (AttributeError, OSError, ValueError):
                continue
            size = max(1, min(ds.id.get_storage_size(), 64))
            spots.append((n.replace("/", "_"), off + rng.randrange(size), rng.choice((1, 4))))
    spots.append(("superblock", rng.randrange(8, 96), 8))
    out = []
    for name, start, width in spots:
        b = bytearray(data)
        for i in range(start, min(start + width, len(b))):
            b[i] ^= rng.randrange(1, 256)
        p = os.path.join(d, f"corrupted_{name}.h5")
        with open(p, "wb") as fh:
            fh.write(bytes(b))
        out.append((p, f"corrupted {name}: {width} byte(s) at {start}"))
    return out


def run(cmd, cwd):
    before = sorted(os.listdir(cwd))
    p = subprocess.run([PY] + cmd, capture_output=True, text=True, cwd=cwd,
                       env=dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1"),
                       timeout=300)
    after = sorted(os.listdir(cwd))
    return p, sorted(set(after) - set(before))


def judge(label, cmd, cwd, bad, may_pass):
    p, left = run(cmd, cwd)
    err = p.stderr
    lines = err.splitlines()
    tag = f"{label}: {os.path.basename(cmd[0])}"
    if "Traceback" in err:
        fail(f"{tag}: Python traceback: {err[-600:]!r}")
    elif p.returncode < 0:
        fail(f"{tag}: killed by signal {-p.returncode}")
    elif p.returncode == 0:
        if not may_pass:
            fail(f"{tag}: exit 0, expected a refusal (stdout {p.stdout[:200]!r})")
    elif p.returncode != 1:
        fail(f"{tag}: exit {p.returncode}, expected 1 ({err[-300:]!r})")
    else:
        if len(lines) != 1:
            fail(f"{tag}: stderr has {len(lines)} lines, expected 1: {err[-600:]!r}")
        elif os.path.basename(bad) not in lines[0]:
            fail(f"{tag}: message does not name the file: {lines[0]!r}")
        if p.stdout:
            fail(f"{tag}: wrote to stdout: {p.stdout[:200]!r}")
        if left:
            fail(f"{tag}: left files {left}")
    return p.returncode, lines[0] if p.returncode == 1 and lines else ""


def main():
    with tempfile.TemporaryDirectory(prefix="runway-untrusted-") as d:
        good = os.path.join(d, "good.h5")
        p = subprocess.run([runway, "run", os.path.join(src, "scenarios", "baseline.yaml"),
                            "-o", good, "--paths", "400", "-q", "--keep-paths", "3"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print("FAIL: runway run:", p.stderr)
            return 1
        # The good file passes every reader (the baseline for "refused").
        try:
            runway_result.load(good)
        except runway_result.ResultError as e:
            fail(f"good file refused by load: {e}")
        crafted = crafted_files(good, d)
        truncated = truncated_files(good, d)
        corrupted = corrupted_files(good, d)
        cases = ([(p, w, False) for p, w in crafted + truncated]
                 + [(p, w, True) for p, w in corrupted])

        # In-process: load() raises ResultError with one line naming the file.
        loads = {}
        for path, why, may_pass in cases:
            try:
                runway_result.load(path)
                loads[path] = True
                if not may_pass:
                    fail(f"{why}: load() accepted it")
            except runway_result.ResultError as e:
                msg = str(e)
                if "\n" in msg or os.path.basename(path) not in msg:
                    fail(f"{why}: load() message {msg!r} is not one line naming the file")
            except Exception as e:  # noqa: BLE001 - the point of the test
                fail(f"{why}: load() raised {type(e).__name__}: {e}")

        # The scripts, in separate folders so that leftovers are attributable.
        jobs = []
        rendered = 0
        for i, (path, why, may_pass) in enumerate(cases):
            w = os.path.join(d, f"work{i:03d}")
            os.mkdir(w)
            s = SCRIPTS
            cmds = [[f"{s}/compare.py", good, path],
                    [f"{s}/sweep_summary.py", path, "-o", os.path.join(w, "s.csv")]]
            # The file as A too, for the first few (the same loader reads both).
            if i < 12 or why.startswith("truncated"):
                cmds.append([f"{s}/compare.py", path, good, "--json"])
            # A corrupted file that load() accepts makes a full report
            # (seconds, and no different from a good file's): render one.
            if not loads.get(path) or rendered < 1:
                rendered += bool(loads.get(path))
                cmds.append([f"{s}/report.py", path, "-o", os.path.join(w, "r")])
            for cmd in cmds:
                jobs.append((why, cmd, w, path, may_pass))
        refused = accepted = 0
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as ex:
            for (why, cmd, w, path, may_pass), (rc, line) in zip(
                    jobs, ex.map(lambda j: judge(j[0], j[1], j[2], j[3], j[4]), jobs)):
                # Reports of accepted corrupted files are real outputs: clean up.
                for x in os.listdir(w):
                    os.remove(os.path.join(w, x))
                if rc == 1:
                    refused += 1
                    if os.environ.get("RUNWAY_TEST_VERBOSE"):
                        print(f"ok  {why}: {line}")
                elif rc == 0:
                    accepted += 1
        print(f"{len(cases)} files ({len(crafted)} hand-crafted, {len(truncated)} truncated, "
              f"{len(corrupted)} corrupted, of which load() refused "
              f"{sum(1 for p, _, m in cases if m and not loads.get(p))}), {len(jobs)} script "
              f"runs: {refused} refused, {accepted} accepted (corrupted only)")
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
