"""scripts/sweep_summary.py and scripts/sweep_plot.py on a three-point sweep
of OpenAI's starting cash (same seed: common random numbers).

  * the summary CSV has the documented columns, one row per variant, lab
    and year, the varied value parsed from each label, and survival values
    equal (exactly) to each file's datasets;
  * OpenAI's survival moves in the expected direction: non-decreasing in
    starting cash at year 5 and at the horizon, and the paired comparison
    (compare.py) of the lowest and highest cash puts the horizon difference
    above 0. Values are spread widely ("0.5 to 1", "30 to 45", "300 to 400")
    because the model lets a lab short of cash raise money, so survival
    responds only weakly to cash0; nearby values (e.g. 30-45 vs 80-100) can
    swap order by a few paths at the horizon for some seeds;
  * the plot is a real PNG, also with two varied inputs and --years/--labs;
  * a label without the --var value is refused (exit 1, one line, no CSV).

Usage: test_report_sweep.py RUNWAY SOURCE_DIR
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import h5py

runway, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PY = "/usr/bin/python3"
SCRIPTS = os.path.join(src, "scripts")
SCEN = os.path.join(src, "scenarios", "baseline.yaml")
VALUES = ["0.5 to 1", "30 to 45", "300 to 400"]
VAR = "OpenAI.cash0"
problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL:", msg)


def sh(*cmd, ok=True):
    p = subprocess.run(list(cmd), capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def is_png(path, min_bytes=10000):
    if not os.path.exists(path):
        return False
    with open(path, "rb") as fh:
        data = fh.read()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= min_bytes


with tempfile.TemporaryDirectory(prefix="runway-sweep-") as d:
    files = []
    for k, v in enumerate(VALUES):
        out = os.path.join(d, f"v{k}.h5")
        sh(runway, "run", SCEN, "-o", out, "--paths", "3000", "-q", "--keep-paths", "0",
           "--set", f"{VAR}={v}")
        files.append(out)

    # 1. The summary CSV.
    summary = os.path.join(d, "summary.csv")
    sh(PY, os.path.join(SCRIPTS, "sweep_summary.py"),
       *[f"{VAR}={v}={f}" for v, f in zip(VALUES, files)], "--var", VAR, "-o", summary)
    with open(summary, newline="") as fh:
        rows = list(csv.DictReader(fh))
        fh.seek(0)
        header = next(csv.reader(fh))
    want = ["variant", "file", VAR, "lab", "year", "survival", "survival_lo", "survival_hi"]
    if header != want:
        fail(f"header {header}, expected {want}")
    with h5py.File(files[0]) as f:
        labs = [x.decode() if isinstance(x, bytes) else str(x) for x in f["lab"][()]]
        years = [int(y) for y in f["year"][()]]
    if len(rows) != len(VALUES) * len(labs) * len(years):
        fail(f"{len(rows)} rows, expected {len(VALUES) * len(labs) * len(years)}")
    for v, path in zip(VALUES, files):
        with h5py.File(path) as f:
            s, lo, hi = f["survival"][()], f["survival_lo"][()], f["survival_hi"][()]
        mine = [r for r in rows if r[VAR] == v]
        if len(mine) != len(labs) * len(years) or mine[0]["file"] != path:
            fail(f"variant {v}: {len(mine)} rows or wrong file")
            continue
        for r in mine:
            i, t = labs.index(r["lab"]), years.index(int(r["year"]))
            got = (float(r["survival"]), float(r["survival_lo"]), float(r["survival_hi"]))
            if got != (s[i, t], lo[i, t], hi[i, t]):
                fail(f"{v} {r['lab']} {r['year']}: CSV {got} != file")
                break

    # 2. Direction: more cash, no lower survival for OpenAI.
    def openai(year):
        return [float(r["survival"]) for v in VALUES for r in rows
                if r[VAR] == v and r["lab"] == "OpenAI" and int(r["year"]) == year]
    for year in (years[4], years[-1]):
        p = openai(year)
        print(f"OpenAI survival in {year} for cash0 {VALUES}: {p}")
        if not all(b >= a for a, b in zip(p, p[1:])) or not p[-1] > p[0]:
            fail(f"OpenAI survival in {year} not increasing in cash0: {p}")
    j = json.loads(sh(PY, os.path.join(SCRIPTS, "compare.py"), files[0], files[-1],
                      "--json").stdout)
    row = [r for r in j["rows"] if r["lab"] == "OpenAI" and r["year"] == years[-1]][0]
    if not (j["paired"] and row["lo"] > 0):
        fail(f"paired difference (most - least cash) at the horizon not above 0: {row}")

    # 3. The plot, one varied input and two.
    plot = os.path.join(d, "sweep.png")
    sh(PY, os.path.join(SCRIPTS, "sweep_plot.py"), summary, "-o", plot)
    if not is_png(plot):
        fail("sweep_plot.py did not write a PNG")
    summary2 = os.path.join(d, "summary2.csv")
    sh(PY, os.path.join(SCRIPTS, "sweep_summary.py"),
       f"{VAR}={VALUES[0]};defaults.max_dilution=0.25={files[0]}",
       f"{VAR}={VALUES[1]};defaults.max_dilution=0.25={files[1]}",
       f"{VAR}={VALUES[0]};defaults.max_dilution=0.1={files[1]}",
       f"{VAR}={VALUES[1]};defaults.max_dilution=0.1={files[2]}",
       "--var", VAR, "--var", "defaults.max_dilution", "--years", "5,H", "-o", summary2)
    with open(summary2, newline="") as fh:
        r2 = list(csv.DictReader(fh))
    if len(r2) != 4 * len(labs) * 2 or r2[0]["defaults.max_dilution"] != "0.25":
        fail(f"two-variable summary: {len(r2)} rows, first {r2[0] if r2 else None}")
    plot2 = os.path.join(d, "sweep2.png")
    sh(PY, os.path.join(SCRIPTS, "sweep_plot.py"), summary2, "-o", plot2,
       "--labs", "OpenAI,Mistral")
    if not is_png(plot2):
        fail("sweep_plot.py with two varied inputs did not write a PNG")

    # 4. A label without the value of a --var: refused, nothing written.
    bad = os.path.join(d, "bad.csv")
    p = sh(PY, os.path.join(SCRIPTS, "sweep_summary.py"), f"x={files[0]}", f"y={files[1]}",
           "--var", VAR, "--var", "market.maturity", "-o", bad, ok=False)
    if p.returncode != 1 or len(p.stderr.strip().splitlines()) != 1 or os.path.exists(bad):
        fail(f"label without --var value: exit {p.returncode}, stderr {p.stderr!r}")

print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
