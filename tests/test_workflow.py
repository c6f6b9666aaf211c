"""The analyst's workflow through the runway binary: a batch writes one
file per scenario and an index naming them; a sweep writes one file per
value, a summary and a plot, and survival moves the expected way; the
precision target is met and the same command gives the same datasets;
--per-path outcomes|none drop what they say and change no summary; report
and compare run through the binary."""
import csv
import os
import sys

import h5py
import numpy as np

from h5util import run, same_bits, tmpdir

runway, src = sys.argv[1], sys.argv[2]
scen = lambda n: os.path.join(src, "scenarios", n + ".yaml")
d = tmpdir()
problems = []

# batch
bdir = os.path.join(d, "batch")
os.mkdir(bdir)
run(runway, "run", scen("baseline"), scen("price_war"), "-O", bdir, "--paths", "2000", "-q")
for f in ("baseline.h5", "price_war.h5", "index.html"):
    if not os.path.exists(os.path.join(bdir, f)):
        problems.append(f"batch: {f} missing")
idx = open(os.path.join(bdir, "index.html")).read()
for word in ("baseline-2025", "OpenAI", "Cohere", "price_war.h5"):
    if word not in idx:
        problems.append(f"batch index does not name {word}")
p = run(runway, "run", scen("baseline"), scen("price_war"), "-o", "x.h5", check=False)
if p.returncode != 2:
    problems.append("-o with several scenarios should be a usage error")

# sweep
sdir = os.path.join(d, "sweep")
os.mkdir(sdir)
run(runway, "sweep", scen("baseline"), "--vary", "OpenAI.cash0=0.5 to 1,30 to 45,300 to 400",
    "-O", sdir, "--paths", "4000", "-q")
files = sorted(f for f in os.listdir(sdir) if f.endswith(".h5"))
if len(files) != 3:
    problems.append(f"sweep wrote {files}")
rows = list(csv.DictReader(open(os.path.join(sdir, "sweep_summary.csv"))))
if not os.path.getsize(os.path.join(sdir, "sweep_summary.png")) > 1000:
    problems.append("sweep plot missing")
horizon = max(int(r["year"]) for r in rows)
s = [float(r["survival"]) for r in rows if r["lab"] == "OpenAI" and int(r["year"]) == horizon]
if len(s) != 3 or not (s[0] <= s[1] <= s[2]) or not s[0] < s[2]:
    problems.append(f"OpenAI survival should rise with cash0: {s}")

# precision target: met, and deterministic
t1, t2 = os.path.join(d, "t1.h5"), os.path.join(d, "t2.h5")
for t in (t1, t2):
    run(runway, "run", scen("baseline"), "--paths", "1024", "--target-halfwidth", "0.012",
        "-o", t, "-q", "--per-path", "none")
with h5py.File(t1) as f:
    sv, lo, hi = f["survival"][:, -1], f["survival_lo"][:, -1], f["survival_hi"][:, -1]
    hw = max(np.max(sv - lo), np.max(hi - sv))
    if hw > 0.012:
        problems.append(f"target half-width 0.012 not met: {hw}")
    if int(f.attrs["paths"]) <= 1024:
        problems.append("the target should have needed more than 1024 paths")
diff = same_bits(t1, t2)
if diff:
    problems.append(f"--target-halfwidth twice differs in {diff}")

# --per-path
a, o, n = (os.path.join(d, x) for x in ("all.h5", "out.h5", "none.h5"))
for path, mode in ((a, "all"), (o, "outcomes"), (n, "none")):
    run(runway, "run", scen("baseline"), "--paths", "3000", "-q", "-o", path, "--per-path", mode)
with h5py.File(a) as fa, h5py.File(o) as fo, h5py.File(n) as fn:
    if "paths/inputs" not in fa or "paths/inputs" in fo or "paths/fail_year" not in fo:
        problems.append("--per-path outcomes should keep outcomes and drop inputs")
    if "paths" in fn:
        problems.append("--per-path none should write no paths group")
    if int(fn.attrs["values_clamped"]) != 0:
        problems.append("the baseline should clamp no value")
    for k in ("survival", "cash_q", "sensitivity_survival", "independent_alive"):
        if fa[k][()].tobytes() != fn[k][()].tobytes():
            problems.append(f"--per-path none changed {k}")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_output import check  # noqa: E402
for path in (o, n):
    for q in check(path):
        problems.append(f"{os.path.basename(path)}: {q}")

# report and compare through the binary
run(runway, "report", a, "-o", os.path.join(d, "rep"))
if not (os.path.exists(os.path.join(d, "rep.html")) and os.path.exists(os.path.join(d, "rep.pdf"))):
    problems.append("runway report wrote no html/pdf")
p = run(runway, "compare", a, o)
if "paired" not in p.stdout:
    problems.append("runway compare of two same-seed runs should be paired")

for q in problems:
    print("FAIL:", q)
print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
