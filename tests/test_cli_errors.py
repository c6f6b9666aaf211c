"""Every malformed scenario and bad command line exits non-zero with one
line that names the file (or flag), and leaves no output file behind."""
import glob
import os
import re
import sys

from h5util import run, tmpdir

runway, here = sys.argv[1], os.path.dirname(os.path.abspath(__file__))
baseline = os.path.join(here, "..", "scenarios", "baseline.yaml")
d = tmpdir()
out = os.path.join(d, "out.h5")
problems = []


def expect_fail(args, must_contain, code=None, label=None):
    p = run(runway, *args, check=False)
    label = label or " ".join(args)
    err = p.stderr.strip()
    if p.returncode == 0:
        problems.append(f"{label}: exit 0, expected failure")
    if code is not None and p.returncode != code:
        problems.append(f"{label}: exit {p.returncode}, expected {code}")
    if p.returncode < 0:
        problems.append(f"{label}: crashed with signal {-p.returncode}")
    first = err.splitlines()[0] if err else ""
    for m in must_contain:
        if not re.search(m, first):
            problems.append(f"{label}: message {first!r} lacks {m!r}")
    left = [x for x in os.listdir(d)]
    if left:
        problems.append(f"{label}: left files {left}")
        for x in left:
            os.remove(os.path.join(d, x))


invalid = sorted(glob.glob(os.path.join(here, "invalid", "*.yaml")))
if len(invalid) < 15:
    problems.append(f"only {len(invalid)} invalid scenarios, want at least 15")
for f in invalid:
    first = open(f).readline()
    m = re.match(r"#\s*expect:\s*(\d+)", first)
    line = m.group(1) if m else r"\d+"
    expect_fail(["run", f, "-o", out, "--paths", "10", "-q"],
                [re.escape(os.path.basename(f)) + ":" + line + ":"], code=1,
                label=os.path.basename(f))

# bad command lines
expect_fail(["run", baseline, "-o", out, "--paths", "abc"], ["--paths"], code=2)
expect_fail(["run", baseline, "-o", out, "--paths", "0"], ["--paths"], code=2)
expect_fail(["run", baseline, "-o", out, "--threads", "0"], ["--threads"], code=2)
expect_fail(["run", baseline, "-o", out, "--seed", "-3"], ["--seed"], code=2)
expect_fail(["run", baseline, "-o", out, "--bogus"], ["unrecognized|invalid"], code=2)
expect_fail(["run", "-o", out], ["SCENARIO"], code=2)
expect_fail(["frobnicate"], ["unknown command"], code=2)
expect_fail(["run", baseline, "-o", out, "--set", "OpenAI.cash0"], ["--set", "NAME=VALUE"], code=2)
expect_fail(["run", baseline, "-o", out, "--set", "OpenAI.cahs0=3"], ["--set OpenAI.cahs0"], code=1)
expect_fail(["run", baseline, "-o", out, "--set", "Nobody.cash0=3"], ["--set Nobody.cash0"], code=1)
expect_fail(["run", baseline, "-o", out, "--set", "OpenAI.cash0=abc"], ["--set OpenAI.cash0"], code=1)
expect_fail(["run", baseline, "-o", out, "--set", "market.price_decline=10 to 2"], ["--set market.price_decline"], code=1)
expect_fail(["run", os.path.join(d, "missing.yaml"), "-o", out], ["missing.yaml"], code=1)
# unwritable outputs
expect_fail(["run", baseline, "-o", os.path.join(d, "no", "such", "dir", "x.h5"), "--paths", "10", "-q"],
            ["x.h5"], code=1)
expect_fail(["run", baseline, "-o", d, "--paths", "10", "-q"], [re.escape(os.path.basename(d))], code=1)

# the good cases still work
p = run(runway, "validate", baseline, check=False)
if p.returncode != 0:
    problems.append(f"validate baseline failed: {p.stderr}")
for args in (["--help"], ["--version"], ["run", "--help"]):
    p = run(runway, *args, check=False)
    if p.returncode != 0 or not p.stdout:
        problems.append(f"{args}: exit {p.returncode}")

for p in problems:
    print("FAIL:", p)
print(f"{len(invalid)} invalid scenarios checked;", "ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
