"""The analyst's desk through the runway binary (issue 17): one check per
CTest name, chosen by the first argument (tests/cli.cmake).

  provenance   the result file keeps the scenario as written (comments and
               all) and the overrides apart; `runway rerun` re-runs them
               into identical datasets (plain, sweep variant, shards merged)
  output_dir   -O DIR is created (mkdir -p, mode 0777 less the umask) for
               a batch and a sweep; no printed path reads DIR//file
  target       --target-halfwidth runs the fewest paths that meet the
               target in every year (N meets it, N - 1 does not), or in
               the --years given; --max-paths caps it; -q still prints N
  errors       every error of a scenario is reported, one per line with
               file:line, key and rule; past 20, "... and N more errors"
  options      an unknown option or command gets the nearest one
  minus_range  "0.01 - 0.1" is refused with the suggestion "0.01 to 0.1"
  revenue      revenue over the market names each lab's figure, 3 digits
  long_names   the survival table prints a long lab name whole
"""
import os
import re
import stat
import sys

import h5py
import numpy as np

from h5util import run, same_bits, tmpdir

mode, runway, src = sys.argv[1], sys.argv[2], sys.argv[3]
baseline = os.path.join(src, "scenarios", "baseline.yaml")
base_text = open(baseline).read()
d = tmpdir()
problems = []


def fail(msg):
    problems.append(msg)


def attr(path, name):
    """A root attribute as text; None when the file lacks it."""
    with h5py.File(path) as f:
        if name not in f.attrs:
            return None
        v = f.attrs[name]
    return v.decode() if isinstance(v, bytes) else str(v)


def halfwidths(path):
    """Every (lab, year) half-width, as the run's own intervals give it."""
    with h5py.File(path) as f:
        s, lo, hi = f["survival"][()], f["survival_lo"][()], f["survival_hi"][()]
        years = f["year"][()]
    return np.maximum(s - lo, hi - s), years


def write(name, text):
    p = os.path.join(d, name)
    with open(p, "w") as fh:
        fh.write(text)
    return p


if mode == "provenance":
    a, b = os.path.join(d, "a.h5"), os.path.join(d, "b.h5")
    sets = ["OpenAI.cash0=20 to 40", "market.price_decline={dist: lognormal, p5: 1.2, p95: 2.5}"]
    args = ["run", baseline, "-o", a, "-q", "-n", "3000", "-s", "7", "-k", "20",
            "--per-path", "outcomes"]
    for x in sets:
        args += ["--set", x]
    run(runway, *args)
    if attr(a, "scenario_source") != base_text:
        fail("scenario_source is not the scenario file's text as written")
    if "# " not in (attr(a, "scenario_source") or ""):
        fail("scenario_source lost the source comments")
    want = "\n".join(sets + ["paths=3000", "seed=7"]) + "\n"
    if attr(a, "overrides") != want:
        fail(f"overrides {attr(a, 'overrides')!r}, expected {want!r}")
    if "20 to 40" not in (attr(a, "scenario_yaml") or ""):
        fail("scenario_yaml is no longer the scenario as run")
    p = run(runway, "rerun", a, "-o", b, "-q")
    diff = same_bits(a, b)
    if diff:
        fail(f"rerun differs in {diff}")
    if attr(b, "overrides") != want or attr(b, "scenario_source") != base_text:
        fail("the rerun's file does not carry the same provenance")
    # a sweep's variant: its --vary value is an override too
    sd = os.path.join(d, "sw")
    run(runway, "sweep", baseline, "--vary", "OpenAI.cash0=10,30", "-O", sd, "-n", "2000", "-q")
    v2 = os.path.join(sd, "baseline_v002.h5")
    if attr(v2, "overrides") != "paths=2000\nOpenAI.cash0=30\n" and \
       attr(v2, "overrides") != "OpenAI.cash0=30\npaths=2000\n":
        fail(f"sweep variant overrides {attr(v2, 'overrides')!r}")
    c = os.path.join(d, "c.h5")
    run(runway, "rerun", v2, "-o", c, "-q")
    diff = same_bits(v2, c)
    if diff:
        fail(f"rerun of a sweep variant differs in {diff}")
    # shards merged keep it
    parts = []
    for i in range(2):
        parts.append(os.path.join(d, f"p{i}.h5"))
        run(runway, "run", baseline, "--shard", f"{i}/2", "-o", parts[-1], "-n", "3000",
            "-q", "--set", sets[0])
    m = os.path.join(d, "m.h5")
    run(runway, "merge", *parts, "-o", m, "-q")
    if attr(m, "scenario_source") != base_text or attr(m, "overrides") != sets[0] + "\npaths=3000\n":
        fail("a merged file lost scenario_source or overrides")
    # what rerun refuses, in one line
    p = run(runway, "rerun", parts[0], "-o", os.path.join(d, "x.h5"), check=False)
    if p.returncode != 1 or "shard" not in p.stderr or os.path.exists(os.path.join(d, "x.h5")):
        fail(f"rerun of a shard: {p.returncode} {p.stderr!r}")
    p = run(runway, "rerun", a, "--set", "OpenAI.cash0=3", check=False)
    if p.returncode != 2:
        fail("rerun with --set should be a usage error")

elif mode == "output_dir":
    os.umask(0o022)
    bdir = os.path.join(d, "new", "batch") + "/"
    p = run(runway, "run", baseline, os.path.join(src, "scenarios", "price_war.yaml"),
            "-O", bdir, "-n", "1500")
    for f in ("baseline.h5", "price_war.h5", "index.html"):
        if not os.path.exists(os.path.join(bdir, f)):
            fail(f"batch into a new DIR: {f} missing")
    if "//" in p.stdout + p.stderr:
        fail(f"a printed path has //: {p.stdout}")
    if not p.stdout.rstrip().endswith(os.path.join(d, "new", "batch", "index.html")):
        fail(f"index line: {p.stdout.splitlines()[-1]!r}")
    m = stat.S_IMODE(os.stat(os.path.join(d, "new")).st_mode)
    if m != 0o755:
        fail(f"created directory mode {oct(m)}, expected 0755 (0777 less umask 022)")
    sdir = os.path.join(d, "a", "b", "sweep")
    p = run(runway, "sweep", baseline, "--vary", "OpenAI.cash0=10,30", "-O", sdir + "//", "-n", "1500")
    for f in ("baseline_v001.h5", "baseline_v002.h5", "sweep_summary.csv", "sweep_summary.png"):
        if not os.path.exists(os.path.join(sdir, f)):
            fail(f"sweep into a new DIR: {f} missing")
    if "//" in p.stdout + p.stderr:
        fail(f"a sweep's printed path has //: {p.stdout}")
    # a DIR that cannot be one: one line, exit 1
    blocker = write("plainfile", "x")
    p = run(runway, "run", baseline, os.path.join(src, "scenarios", "price_war.yaml"),
            "-O", os.path.join(blocker, "sub"), "-n", "100", check=False)
    if p.returncode != 1 or len(p.stderr.strip().splitlines()) != 1 or "-O" not in p.stderr:
        fail(f"-O under a file: exit {p.returncode}, {p.stderr!r}")

elif mode == "target":
    H = 0.012
    t1, t2, t3 = (os.path.join(d, x) for x in ("t1.h5", "t2.h5", "t3.h5"))
    p = run(runway, "run", baseline, "--target-halfwidth", str(H), "-o", t1, "-q",
            "--per-path", "none")
    m = re.search(r"target half-width met with (\d+) paths", p.stdout)
    with h5py.File(t1) as f:
        N = int(f.attrs["paths"])
    if not m:
        fail(f"-q hid the count found: {p.stdout!r}")
    elif int(m.group(1)) != N:
        fail(f"printed {m.group(1)} paths, the file has {N}")
    hw, years = halfwidths(t1)
    if hw.max() > H:
        fail(f"target {H} not met in every year: {hw.max()}")
    if attr(t1, "overrides") != f"paths={N}\n":
        fail(f"the count found is not recorded as an override: {attr(t1, 'overrides')!r}")
    # the fewest: N - 1 paths miss the target in some year
    run(runway, "run", baseline, "-n", str(N - 1), "-o", t2, "-q", "--per-path", "none")
    hw2, _ = halfwidths(t2)
    if not hw2.max() > H:
        fail(f"{N - 1} paths already meet {H}: {N} is not the fewest")
    # not added to the scenario's count, and deterministic
    p = run(runway, "run", baseline, "-n", "50000", "--target-halfwidth", str(H), "-o", t3, "-q",
            "--per-path", "none")
    if f"met with {N} paths" not in p.stdout:
        fail(f"-n 50000 changed the count found: {p.stdout!r}")
    diff = same_bits(t1, t3)
    if diff:
        fail(f"the same target twice differs in {diff}")
    # --years: only those years are judged; the first year alone needs fewer
    y1 = int(years[0])
    p = run(runway, "run", baseline, "--target-halfwidth", str(H), "--years", str(y1), "-o", t2,
            "-q", "--per-path", "none")
    hw1, _ = halfwidths(t2)
    with h5py.File(t2) as f:
        N1 = int(f.attrs["paths"])
    if not (N1 < N and hw1[:, 0].max() <= H and hw1.max() > H):
        fail(f"--years {y1}: {N1} paths, widest there {hw1[:, 0].max()}, elsewhere {hw1.max()}")
    # the cap: an error, no file
    t4 = os.path.join(d, "t4.h5")
    p = run(runway, "run", baseline, "--target-halfwidth", "0.001", "--max-paths", "5000", "-o", t4,
            check=False)
    if p.returncode != 1 or "--max-paths" not in p.stderr or os.path.exists(t4):
        fail(f"--max-paths: exit {p.returncode}, {p.stderr!r}")
    p = run(runway, "run", baseline, "--target-halfwidth", "0.01", "--years", "1999", "-o", t4,
            check=False)
    if p.returncode != 1 or "--years" not in p.stderr:
        fail(f"--years outside the horizon: {p.returncode} {p.stderr!r}")

elif mode == "errors":
    t = base_text
    t = t.replace("horizon:", "horizn:", 1)
    t = re.sub(r"(\n  price_decline: )[^\n#]*", r"\g<1>0.5 - 2.0", t, count=1)
    t = re.sub(r"(\n    cash0: )[^\n#]*", r"\g<1>-3", t, count=1)
    t = re.sub(r"(\n    staff0: )", r"\n    staf0: ", t, count=1)
    bad = write("many.yaml", t)
    p = run(runway, "validate", bad, check=False)
    lines = p.stderr.strip().splitlines()
    if p.returncode != 1:
        fail(f"exit {p.returncode}")
    want = [r"many\.yaml:\d+: horizn: unknown key; did you mean horizon\?",
            r"many\.yaml:\d+: market\.price_decline: .*\"0\.5 to 2\.0\"",
            r"many\.yaml:\d+: OpenAI\.cash0: must be >= 0",
            r"many\.yaml:\d+: OpenAI\.staf0: unknown key; did you mean staff0\?"]
    for w in want:
        if not any(re.search(w, x) for x in lines):
            fail(f"no line matches {w!r} in {lines}")
    for x in lines:
        if not re.match(r"runway: \S*many\.yaml:\d+: \S+: ", x):
            fail(f"a line without file:line: key: {x!r}")
    if len(lines) != 4:
        fail(f"{len(lines)} lines, expected exactly the 4 errors (no echo): {lines}")
    # past 20 errors: 20 lines, then "... and N more errors"
    t = base_text
    for k in ("subs0", "api0", "ent0", "train0", "staff0"):
        t = re.sub(r"(\n    %s: )[^\n#]*" % k, r"\g<1>-1", t)
    bad = write("lots.yaml", t)
    p = run(runway, "run", bad, "-o", os.path.join(d, "x.h5"), check=False)
    lines = p.stderr.strip().splitlines()
    if len(lines) != 21 or not re.search(r"\.\.\. and \d+ more errors", lines[-1]):
        fail(f"{len(lines)} lines, the last {lines[-1] if lines else ''!r}")
    if os.path.exists(os.path.join(d, "x.h5")):
        fail("a refused scenario left a file")

elif mode == "options":
    for args, want in ((["run", baseline, "--seeed", "3"], "did you mean --seed?"),
                       (["run", baseline, "--keep-path", "3", "--thraeds", "2"], "did you mean --threads?"),
                       (["sweep", baseline, "--vray", "x=1"], "did you mean --vary?"),
                       (["rnu", baseline], "did you mean run?"),
                       (["run", baseline, "--quiet=1"], "takes no value"),
                       (["run", baseline, "--output"], "needs a value")):
        p = run(runway, *args, check=False)
        first = p.stderr.splitlines()[0] if p.stderr else ""
        if p.returncode != 2 or want not in first:
            fail(f"{' '.join(args[2:] or args)}: exit {p.returncode}, {first!r} lacks {want!r}")

elif mode == "minus_range":
    for v in ("0.01 - 0.1", "0.01-0.1", "0.01 \u2013 0.1"):
        p = run(runway, "validate", baseline, "--set", f"market.price_decline={v}", check=False)
        if p.returncode != 1 or 'write "0.01 to 0.1"' not in p.stderr:
            fail(f"{v!r}: exit {p.returncode}, {p.stderr!r}")
    bad = write("minus.yaml", re.sub(r"(\n  price_decline: )[^\n#]*", r"\g<1>1.2 - 2.5", base_text, count=1))
    p = run(runway, "validate", bad, check=False)
    if not re.search(r"minus\.yaml:\d+: market\.price_decline: .*write \"1\.2 to 2\.5\"", p.stderr):
        fail(f"in a file: {p.stderr!r}")
    # what stays a number is still one; what is not a range gets no suggestion
    p = run(runway, "validate", baseline, "--set", "OpenAI.cash0=1e-3", check=False)
    if p.returncode != 0:
        fail(f"1e-3 refused: {p.stderr!r}")
    p = run(runway, "validate", baseline, "--set", "OpenAI.cash0=1 - -2", check=False)
    if p.returncode != 1 or " to " in p.stderr:
        fail(f"'1 - -2' should be refused without a range suggestion: {p.stderr!r}")

elif mode == "revenue":
    p = run(runway, "validate", baseline, "--set", "OpenAI.subs0=100", check=False)
    err = p.stderr.strip()
    if p.returncode != 1 or len(err.splitlines()) != 1:
        fail(f"exit {p.returncode}: {err!r}")
    if not re.search(r"sum of subs0 \(10\d, adding medians\) exceeds market\.sub_market0 "
                     r"\(\S+, median\): OpenAI 100, Anthropic \S+, xAI \S+, Mistral \S+, "
                     r"Cohere \S+, Google DeepMind \S+$", err):
        fail(f"no per-lab breakdown: {err!r}")
    for num in re.findall(r"\d+\.\d+", err):
        if len(num.replace(".", "").lstrip("0")) > 3:
            fail(f"{num} has more than 3 significant digits: {err!r}")

elif mode == "long_names":
    long = "Google DeepMind Research Lab"
    scen = write("long.yaml", base_text.replace("name: Google DeepMind", "name: " + long))
    p = run(runway, "run", scen, "-n", "500", "-o", os.path.join(d, "l.h5"))
    rows = [x for x in p.stdout.splitlines() if x.startswith(long)]
    if len(rows) != 1:
        fail(f"the table cuts {long!r}: {p.stdout}")
    head = [x for x in p.stdout.splitlines() if x.startswith("lab ")]
    if head and rows and head[0].index("20") != rows[0].index("1.000"):
        fail(f"columns do not line up:\n{head[0]}\n{rows[0]}")

else:
    fail(f"unknown mode {mode}")

for q in problems:
    print("FAIL:", q)
print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
