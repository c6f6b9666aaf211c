"""The report's sensitivity section (scripts/report.py, section "tornado"):

  - on baseline.yaml (whose four market inputs are correlated) with
    --years 2027,2035: the section draws one figure, its caption names the
    first-order index and the swing and both years, says the inputs are
    correlated and names the set as one bar; the rank correlations follow
    as a table;
  - the same scenario with its correlations removed: no note on correlated
    inputs, no set;
  - --years with a year the result does not have: exit 1, one line, no
    output;
  - a file written before the sensitivity datasets: the rank-correlation
    tornado of the horizon, said to be the older form.

Usage: test_report_sensitivity.py RUNWAY SOURCE_DIR"""
import os
import re
import shutil
import subprocess
import sys

import h5py

from h5util import run, tmpdir

runway, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
REPORT = os.path.join(src, "scripts", "report.py")
SCEN = os.path.join(src, "scenarios", "baseline.yaml")
d = tmpdir()
problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL:", msg)


def report(h5, name, *extra):
    out = os.path.join(d, name)
    p = subprocess.run(["/usr/bin/python3", REPORT, h5, "-o", out, *extra],
                       capture_output=True, text=True)
    return p, out + ".html"


def section(html_path):
    text = open(html_path, encoding="utf-8").read()
    m = re.search(r'<h2 id="tornado">(.*?)(?=<h2 id=)', text, re.S)
    return m.group(1) if m else ""


SET = "serving_cost_decline + price_decline + token_demand_growth + usage_growth"

res = os.path.join(d, "base.h5")
run(runway, "run", SCEN, "-n", "3000", "-k", "0", "-q", "-o", res)
p, page = report(res, "base", "--years", "2027,2035")
if p.returncode != 0:
    fail(f"report failed: {p.stderr.strip()}")
else:
    s = section(page)
    for want in ("first-order sensitivity index", "swing", "2027, 2035",
                 "Inputs are correlated in this scenario", "correlated set: " + SET,
                 "Rank correlations with survival"):
        if want not in s:
            fail(f"the sensitivity section lacks {want!r}")
    if s.count("data:image/png;base64,") != 1:
        fail(f"the sensitivity section has {s.count('data:image/png;base64,')} figures, not 1")
    if "2030" in s.split("Rank correlations")[0]:
        fail("--years 2027,2035 but the section shows 2030 (a headline year)")

# the same scenario without correlations
# (the text edited, not parsed: python3-yaml is not among the packages
# scripts/setup.sh installs)
lines, out, skip = open(SCEN, encoding="utf-8").read().splitlines(), [], False
for line in lines:
    if line.startswith("correlations:"):
        out.append("correlations: []")
        skip = True
    elif skip and (line.startswith(" ") or not line.strip()):
        continue
    else:
        skip = False
        out.append(line)
plain = os.path.join(d, "uncorrelated.yaml")
with open(plain, "w", encoding="utf-8") as f:
    f.write("\n".join(out) + "\n")
res2 = os.path.join(d, "plain.h5")
run(runway, "run", plain, "-n", "3000", "-k", "0", "-q", "-o", res2)
p, page = report(res2, "plain")
if p.returncode != 0:
    fail(f"report of the uncorrelated run failed: {p.stderr.strip()}")
else:
    s = section(page)
    if "correlated set" in s or "Inputs are correlated" in s:
        fail("a scenario without correlations is said to have correlated inputs")
    if "first-order sensitivity index" not in s or s.count("data:image/png;base64,") != 1:
        fail("the uncorrelated run's section has no index figure")

# a year the result does not have
p, page = report(res, "bad", "--years", "1999")
if p.returncode != 1 or len(p.stderr.strip().splitlines()) != 1 or "--years 1999" not in p.stderr \
        or os.path.exists(page):
    fail(f"--years 1999: exit {p.returncode}, stderr {p.stderr.strip()!r}")

# a file from before the sensitivity datasets
old = os.path.join(d, "old.h5")
shutil.copy(res, old)
with h5py.File(old, "a") as f:
    for n in ("sensitivity_index", "sensitivity_swing", "sensitivity_group_index",
              "input_group"):
        del f[n]
p, page = report(old, "old")
if p.returncode != 0:
    fail(f"report of an older file failed: {p.stderr.strip()}")
else:
    s = section(page)
    if "written before them" not in s or s.count("data:image/png;base64,") != 1:
        fail("an older file does not get the rank-correlation tornado")

print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
