"""runway compare (scripts/compare.py) on runs whose labs differ, at the
boundary, into a closed pipe, and with hostile lab names. One CTest per
mode (tests/report.cmake):

  labs      compare_matches_labs_by_name_and_lists_changed_inputs: the
            baseline against a scenario with two new entrants, one lab
            fewer and another market input: the shared labs are matched by
            name (not position) and paired path by path (inputs are keyed
            by name, so their draws are the same), P_B is the entrants
            run's own survival of that lab, the labs of one run are listed
            with their survival (table, JSON, CSV), and the inputs
            specified differently are named with both specifications; a
            file whose shared draws differ is compared unpaired, saying why.
  interval  compare_interval_covers_at_p_zero_and_one: Newcombe's hybrid
            score interval (report_format.newcombe) covers the true
            difference at least 93% of the time by simulation at p = 0,
            p = 1 and p near 1, paired and unpaired (the Wald interval
            used before covers 0% at p = 0 and 1: zero width); on a real
            run the backstopped lab (survival exactly 1 in both runs) gets
            an interval of positive width.
  pipe      compare_quiet_on_broken_pipe: compare into a pipe whose reader
            has gone (compare ... | head) exits quietly: no traceback, no
            "Exception ignored", status 0 or 141.
  hostile   compare_sanitises_hostile_lab_names: lab names with an escape
            sequence, a newline, a formula start and 10,000 characters:
            the table holds no control character and no line break inside
            a row, names are cut with "...", the CSV's formula cells are
            neutralised with a leading apostrophe, and a one-line refusal
            quotes a hostile name safely.

Usage: test_compare_labs.py RUNWAY SOURCE_DIR MODE
"""
import copy
import csv
import json
import os
import shutil
import subprocess

import h5py
import numpy as np

from h5util import PY, failer, run_mode, script_args, sh  # tests/, the script's own folder

runway, src, mode = script_args()
COMPARE = os.path.join(src, "scripts", "compare.py")
SCEN = os.path.join(src, "scenarios", "baseline.yaml")
N = 3000
problems = []


fail = failer(problems)


def labs_of(path):
    with h5py.File(path) as f:
        return [x.decode() if isinstance(x, bytes) else str(x) for x in f["lab"][()]]


def survival(path):
    with h5py.File(path) as f:
        return f["survival"][()]


def entrants_scenario(d):
    """The baseline as run with an entrant in front, one at the end, no
    Mistral, and a different market.api_market0."""
    import yaml
    with open(SCEN) as fh:
        doc = yaml.safe_load(fh)
    cohere = [x for x in doc["labs"] if x["name"] == "Cohere"][0]
    e1, e2 = copy.deepcopy(cohere), copy.deepcopy(cohere)
    e1["name"], e2["name"] = "Entrant One", "Entrant Two"
    e2["cash0"] = "1 to 3"
    doc["labs"] = [e1] + [x for x in doc["labs"] if x["name"] != "Mistral"] + [e2]
    doc["market"]["api_market0"] = "9 to 14"
    out = os.path.join(d, "entrants.yaml")
    with open(out, "w") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False)
    return out


def mode_labs(d):
    a, b = os.path.join(d, "base.h5"), os.path.join(d, "entrants.h5")
    sh(runway, "run", SCEN, "-o", a, "-n", str(N), "-q")
    sh(runway, "run", entrants_scenario(d), "-o", b, "-n", str(N), "-q")
    la, lb = labs_of(a), labs_of(b)
    j = json.loads(sh(PY, COMPARE, a, b, "--json").stdout)
    shared = [x for x in la if x in lb]
    if j["labs"] != shared:
        fail(f"shared labs {j['labs']}, expected {shared}")
    if [x["lab"] for x in j["labs_only_a"]] != ["Mistral"]:
        fail(f"labs only in A: {j['labs_only_a']}")
    if [x["lab"] for x in j["labs_only_b"]] != ["Entrant One", "Entrant Two"]:
        fail(f"labs only in B: {[x['lab'] for x in j['labs_only_b']]}")
    sb = survival(b)
    got = {x["lab"]: x["survival"] for x in j["labs_only_b"]}
    if not np.allclose(got.get("Entrant Two", []), sb[lb.index("Entrant Two")], atol=0):
        fail("Entrant Two's survival is not its file's")
    if not j["paired"]:
        fail(f"same seed and paths, draws keyed by name, but unpaired: {j['reason']}")
    # P_B of OpenAI is OpenAI's row in B (index 1 there, 0 in A)
    pb = np.array([r["p_b"] for r in j["rows"] if r["lab"] == "OpenAI"])
    if not np.allclose(pb, sb[lb.index("OpenAI")], rtol=0, atol=1e-12):
        fail("OpenAI's P_B is not the entrants run's OpenAI survival (matched by position?)")
    ch = {x["input"]: (x["a"], x["b"]) for x in j["changed_inputs"] or []}
    if ch.get("market.api_market0") != ("8 to 12", "9 to 14"):
        fail(f"changed inputs {ch}: market.api_market0 8 to 12 -> 9 to 14 missing")
    if any(k.startswith(("Entrant", "Mistral")) for k in ch):
        fail(f"inputs of labs only one run has are listed as changed: {sorted(ch)}")
    t = sh(PY, COMPARE, a, b).stdout
    for want in ("Only in A", "Mistral", "Only in B", "Entrant One", "Entrant Two",
                 "market.api_market0: 8 to 12 -> 9 to 14"):
        if want not in t:
            fail(f"the table does not say {want!r}")
    out = os.path.join(d, "cmp.csv")
    sh(PY, COMPARE, a, b, "-o", out)
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    T = sb.shape[1]
    methods = [r["method"] for r in rows]
    if (methods.count("paired") != len(shared) * T or methods.count("only in A") != T
            or methods.count("only in B") != 2 * T):
        fail(f"CSV rows by method: {sorted(set(methods))}, {len(rows)} rows")
    # A copy whose shared draws differ (one input's column shuffled): not
    # the same random numbers, so unpaired, and the reason names the input.
    c = os.path.join(d, "shuffled.h5")
    shutil.copy(b, c)
    with h5py.File(c, "a") as f:
        names = [x.decode() for x in f["input"][()]]
        k = names.index("market.sub_market0")
        X = f["paths/inputs"][()]
        X[:, k] = X[::-1, k]
        f["paths/inputs"][...] = X
    j = json.loads(sh(PY, COMPARE, a, c, "--json").stdout)
    if j["paired"] or "market.sub_market0" not in j["reason"]:
        fail(f"different shared draws: paired {j['paired']}, reason {j['reason']!r}")
    print(f"labs: {len(shared)} shared, paired; only A {['Mistral']}, only B 2; "
          f"{len(ch)} changed inputs")


def mode_interval(d):
    from report_format import newcombe, paired_phi
    rng = np.random.default_rng(12345)
    reps = 4000

    def coverage(pa, pb, n, paired):
        hit = 0
        for _ in range(reps):
            if paired:
                # a common uniform: alive_A = u < pa, alive_B = u < pb
                # (the strongest positive dependence, as common random numbers give)
                u = rng.random(n)
                ya, yb = u < pa, u < pb
                n11 = np.count_nonzero(ya & yb)
                n10 = np.count_nonzero(yb & ~ya)
                n01 = np.count_nonzero(ya & ~yb)
                phi = paired_phi(n11, n10, n01, n - n11 - n10 - n01)
                lo, hi = newcombe(yb.mean(), n, ya.mean(), n, phi)
            else:
                qa, qb = rng.binomial(n, pa) / n, rng.binomial(n, pb) / n
                lo, hi = newcombe(qb, n, qa, n)
            hit += lo <= pb - pa <= hi
        return hit / reps

    cases = [(0.0, 0.0, 200, False), (1.0, 1.0, 200, False), (0.999, 0.997, 500, False),
             (0.0, 0.0, 200, True), (1.0, 1.0, 200, True), (0.999, 0.995, 1000, True),
             (0.5, 0.45, 400, False)]
    for pa, pb, n, paired in cases:
        cov = coverage(pa, pb, n, paired)
        print(f"coverage pA={pa} pB={pb} n={n} {'paired' if paired else 'unpaired'}: {cov:.3f}")
        if cov < 0.93:
            fail(f"coverage {cov:.3f} < 0.93 at pA={pa}, pB={pb}, n={n}, paired={paired}")
    # A real run: the backstopped lab is alive in every path of both runs.
    a, b = os.path.join(d, "a.h5"), os.path.join(d, "b.h5")
    sh(runway, "run", SCEN, "-o", a, "-n", "2000", "-q", "--per-path", "outcomes")
    sh(runway, "run", SCEN, "-o", b, "-n", "2000", "-q", "--per-path", "outcomes",
       "--set", "Mistral.cash0=0.1 to 0.2")
    for extra in ((), ("--seed", "5")):
        if extra:
            sh(runway, "run", SCEN, "-o", b, "-n", "2000", "-q", *extra)
        j = json.loads(sh(PY, COMPARE, a, b, "--json").stdout)
        g = [r for r in j["rows"] if r["lab"] == "Google DeepMind"]
        if not g or not all(r["p_a"] == 1 and r["p_b"] == 1 for r in g):
            fail("Google DeepMind is not alive in every path (backstop)")
        elif not all(r["lo"] < 0 < r["hi"] for r in g):
            fail(f"{j['method']}: zero-width interval at p = 1: {g[0]}")


def mode_pipe(d):
    a = os.path.join(d, "a.h5")
    sh(runway, "run", SCEN, "-o", a, "-n", "500", "-q")
    for extra in ((), ("--json",)):
        r, w = os.pipe()
        os.close(r)  # the reader is gone before anything is written
        p = subprocess.run([PY, COMPARE, a, a, *extra], stdout=w, stderr=subprocess.PIPE,
                           text=True)
        os.close(w)
        if p.stderr or p.returncode not in (0, 141):
            fail(f"compare {' '.join(extra)} into a closed pipe: exit {p.returncode}, "
                 f"stderr {p.stderr!r}")
    # and through a real `head -n 2`, in a shell pipeline
    p = subprocess.run(f"'{PY}' '{COMPARE}' '{a}' '{a}' --years 1,2,3,4,5,6,7,8,9,10 --json "
                       "| head -n 2", shell=True, capture_output=True, text=True)
    if "Traceback" in p.stderr or "Exception" in p.stderr or len(p.stdout.splitlines()) != 2:
        fail(f"compare | head: stdout {p.stdout!r}, stderr {p.stderr!r}")


HOSTILE = ["=HYPERLINK(\"http://example.com\")\x1b[31mRED\x1b]0;title\x07\nsecond line",
           "L" * 10000, "-2+3\u202eevil", "@SUM(A1)\r\ttab"]


def hostile_copy(src_path, dst):
    shutil.copy(src_path, dst)
    with h5py.File(dst, "a") as f:
        names = [x.decode() for x in f["lab"][()]]
        names[:len(HOSTILE)] = HOSTILE
        f["lab"][...] = np.array([x.encode() for x in names], dtype=object)


def mode_hostile(d):
    a = os.path.join(d, "a.h5")
    sh(runway, "run", SCEN, "-o", a, "-n", "500", "-q")
    h = os.path.join(d, "h.h5")
    hostile_copy(a, h)
    out = os.path.join(d, "h.csv")
    p = sh(PY, COMPARE, h, h, "-o", out)
    t = p.stdout
    bad = [c for c in set(t) if (ord(c) < 32 and c != "\n") or 0x7f <= ord(c) < 0xa0
           or c in "\u2028\u2029\u202e"]
    if bad:
        fail(f"the table holds control characters {sorted(map(ord, bad))}")
    rows = [x for x in t.splitlines() if "2026" in x and "[" in x]
    if len(rows) != len(labs_of(h)):
        fail(f"{len(rows)} rows for 2026, expected {len(labs_of(h))} (a name broke a row)")
    if max(len(x) for x in t.splitlines()) > 400 or "L" * 41 in t:
        fail("a 10,000-character name is printed whole")
    if "LLLL..." not in t or "\\x1b" not in t:
        fail("names are not cut with ... or escape sequences not shown escaped")
    with open(out, newline="", encoding="utf-8") as fh:
        cells = [r["lab"] for r in csv.DictReader(fh)]
    for c in set(cells):
        if c[:1] in ("=", "+", "-", "@", "\t", "\r"):
            fail(f"CSV cell {c[:30]!r} starts a formula")
    if not any(c.startswith("'=HYPERLINK") for c in cells) or \
            not any(c.startswith("'-2+3") for c in cells) or \
            not any(c.startswith("'@SUM") for c in cells):
        fail(f"formula cells not neutralised with an apostrophe: {sorted(set(cells))[:4]}")
    # a refusal that quotes a hostile name stays one printable line
    hh = os.path.join(d, "other.h5")
    hostile_copy(a, hh)
    with h5py.File(hh, "a") as f:
        f.attrs["horizon"] = np.int64(3)
    p = sh(PY, COMPARE, h, hh, ok=False)
    if p.returncode != 1 or len(p.stderr.splitlines()) != 1 or "\x1b" in p.stderr:
        fail(f"refusal: exit {p.returncode}, stderr {p.stderr[:300]!r}")


run_mode({"labs": mode_labs, "interval": mode_interval, "pipe": mode_pipe,
     "hostile": mode_hostile}, mode, "runway-compare-labs-", problems)
