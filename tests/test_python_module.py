"""The `runway` Python package (python/runway) on real runs: runway.load
gives a labelled xarray Dataset for every group (summary, paths,
trajectories, backtest) whose coordinates are the file's dimension scales,
so .sel(lab="OpenAI") works in each and selects the same numbers h5py
reads from that lab's column; string attributes (scenario_yaml...) are
str; per-path data stays in the file until used; run.frame() gives one
summary table and refuses summaries of different dimensions;
runway.paths() is the tidy table (one row per path and lab, weight column
when conditioned, from which the file's survival is recomputed);
iter_paths() gives the same rows in pieces and paths() refuses, in one
line, a table over its memory limit; a damaged file is refused in one line
naming it; runway.validate() is the tests' contract check.

Usage: test_python_module.py RUNWAY SOURCE_DIR
"""
import os
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd

from h5util import tmpdir, verdict

runway_bin, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.join(src, "python"))
import runway  # noqa: E402
import runway.data  # noqa: E402

problems = []


def need(ok, msg):
    if not ok:
        problems.append(msg)


def run(*args):
    p = subprocess.run([runway_bin, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"FAIL: runway {' '.join(args)}: {p.stderr}")


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def check_plain(path):
    with h5py.File(path, "r") as f:
        labs = [text(x) for x in f["lab"][()]]
        years = f["year"][()]
        inputs = [text(x) for x in f["input"][()]]
        kept = f["kept_path"][()]
        N = int(f.attrs["paths"])
        fy = f["paths/fail_year"][()]
        cash = f["trajectories/cash"][()]
        surv = f["survival"][()]
        yaml_text = text(f.attrs["scenario_yaml"])
    run_ = runway.load(path)
    with run_:
        need(sorted(run_) == ["paths", "summary", "trajectories"],
             f"groups {sorted(run_)}, want paths, summary, trajectories")
        for g, ds in run_.items():
            need(list(ds["lab"].values) == labs, f"{g}: lab coordinate {list(ds['lab'].values)}")
        s = run_["summary"]
        need(list(s["year"].values) == list(years), "summary: year coordinate")
        need(list(s["input"].values) == inputs, "summary: input coordinate")
        need(np.allclose(s["quantile"].values, [0.05, 0.25, 0.5, 0.75, 0.95]),
             "summary: quantile coordinate")
        need(list(run_["paths"]["path"].values) == list(range(N)), "paths: path coordinate")
        need(list(run_["trajectories"]["kept_path"].values) == list(kept),
             "trajectories: kept_path coordinate")
        for i, lab in enumerate(labs):
            need(np.array_equal(s["survival"].sel(lab=lab).values, surv[i]),
                 f"summary.survival.sel(lab={lab!r}) is not the file's row {i}")
        p = run_["paths"]["fail_year"]
        need(not p.variable._in_memory, "paths/fail_year was read at load (want lazy)")
        need(np.array_equal(p.sel(lab=labs[1]).values, fy[:, 1]),
             f"paths.fail_year.sel(lab={labs[1]!r}) is not the file's column 1")
        tr = run_["trajectories"]["cash"].sel(lab=labs[0], year=int(years[2]))
        need(np.array_equal(tr.values, cash[:, 0, 2]), "trajectories.cash.sel(lab, year)")
        need(run_["paths"]["outcome"].attrs.get("flag_meanings")
             == "survived acquired wound_down acquired_solvent", "outcome flag_meanings")
        for k, v in run_.attrs.items():
            need(not isinstance(v, (bytes, np.bytes_)), f"root attribute {k} is bytes")
        need(run_.attrs["scenario_yaml"] == yaml_text and isinstance(
            s.attrs["scenario_yaml"], str), "scenario_yaml is not the file's text as str")
        for g, ds in run_.items():
            for name, var in ds.variables.items():
                for k, v in var.attrs.items():
                    need(not isinstance(v, (bytes, np.bytes_)), f"{g}/{name}.{k} is bytes")
        fr = run_.frame("survival", "survival_lo", "survival_hi")
        need(list(fr.index.names) == ["lab", "year"] and len(fr) == len(labs) * len(years),
             f"frame(survival...): index {fr.index.names}, {len(fr)} rows")
        need(fr.loc[(labs[0], int(years[-1])), "survival"] == surv[0, -1], "frame value")
        try:
            run_.frame("survival", "cash_q")
            problems.append("frame(survival, cash_q) did not refuse mixed dimensions")
        except ValueError:
            pass

    df = runway.paths(path)
    need(len(df) == N * len(labs), f"paths(): {len(df)} rows, want {N * len(labs)}")
    need(list(df.columns[:4]) == ["path", "lab", "fail_year", "outcome"], f"columns {df.columns}")
    need(list(df["lab"].cat.categories) == labs, "paths(): lab categories")
    need(np.array_equal(df[df["lab"] == labs[2]]["fail_year"].values, fy[:, 2]),
         "paths(): fail_year of a lab")
    need((df["outcome"] == "survived").equals(df["fail_year"] == 0),
         "paths(): outcome survived exactly where fail_year is 0")
    pieces = pd.concat(list(runway.iter_paths(path, rows=333)), ignore_index=True)
    need(pieces.equals(df), "iter_paths(rows=333) does not give paths()'s rows")
    old = runway.data.PATHS_FRAME_LIMIT
    runway.data.PATHS_FRAME_LIMIT = 1000
    try:
        runway.paths(path)
        problems.append("paths() ignored PATHS_FRAME_LIMIT")
    except runway.ResultError as e:
        need("\n" not in str(e) and "iter_paths" in str(e) and path in str(e),
             f"over the limit: {e}")
    finally:
        runway.data.PATHS_FRAME_LIMIT = old
    need(runway.validate(path) == [], f"validate() on a good file: {runway.validate(path)}")


def check_conditioned(path):
    df = runway.paths(path)
    need("weight" in df.columns, "conditioned paths(): no weight column")
    with h5py.File(path, "r") as f:
        surv = f["survival"][()]
        labs = [text(x) for x in f["lab"][()]]
        T = len(f["year"][()])
    for i, lab in enumerate(labs):
        d = df[df["lab"] == lab]
        alive = (d["fail_year"] == 0) | (d["fail_year"] > T)
        got = float((d["weight"] * alive).sum() / d["weight"].sum())
        need(abs(got - surv[i, -1]) < 1e-12,
             f"weighted survival of {lab} from paths() {got} != file {surv[i, -1]}")


def check_backtest(path):
    with runway.load(path) as r:
        need("backtest" in r, "backtest group missing from load()")
        if "backtest" not in r:
            return
        bt = r["backtest"]
        with h5py.File(path, "r") as f:
            obs = [text(x) for x in f["backtest/observation"][()]]
            pit = f["backtest/pit"][()]
        need(list(bt["observation"].values) == obs, "backtest: observation coordinate")
        k = len(obs) // 2
        got = bt["pit"].sel(observation=obs[k]).item()
        need((np.isnan(got) and np.isnan(pit[k])) or got == pit[k],
             "backtest.pit.sel(observation=...)")
        need(all(isinstance(x, str) for x in bt["subject"].values), "backtest/subject not str")
        need(list(bt["predicted_q"].dims) == ["observation", "quantile"],
             f"backtest/predicted_q dims {bt['predicted_q'].dims}")


def check_refusal(good, d):
    bad = os.path.join(d, "cut.h5")
    with open(good, "rb") as a, open(bad, "wb") as b:
        b.write(a.read()[:20000])
    try:
        runway.load(bad)
        problems.append("load() accepted a truncated file")
    except runway.ResultError as e:
        need("\n" not in str(e) and "cut.h5" in str(e), f"refusal {e!r} is not one line naming it")
    found = runway.validate(bad)
    need(len(found) == 1 and "cut.h5" in found[0], f"validate() on a truncated file: {found}")


def main():
    d = tmpdir()
    plain, cond, bt = (os.path.join(d, n) for n in ("plain.h5", "cond.h5", "bt.h5"))
    run("run", os.path.join(src, "scenarios", "baseline.yaml"), "-n", "2000", "-k", "4", "-q",
        "-o", plain)
    run("run", os.path.join(src, "scenarios", "baseline.yaml"), "-n", "2000", "-q", "-o", cond,
        "--condition", os.path.join(src, "tests", "condition", "anthropic_revenue_2026.yaml"))
    run("backtest", os.path.join(src, "scenarios", "backtest_2024.yaml"),
        os.path.join(src, "data", "observed_2025.yaml"), "-n", "1000", "-q", "-o", bt)
    check_plain(plain)
    check_conditioned(cond)
    check_backtest(bt)
    check_refusal(plain, d)
    return verdict(problems)


if __name__ == "__main__":
    sys.exit(main())
