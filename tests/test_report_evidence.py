"""scripts/report.py on the files of MODEL.md section 8, and the figure of
the worlds where labs fail (issue 15):

  * a run conditioned on an observed figure, reported with the
    unconditioned run of the same seed and paths as --baseline: a
    "Conditioned on" section naming each observation (label, figure,
    source), n_eff and the evidence as in the file's attributes; prior
    versus posterior survival (a figure, and a table whose numbers are the
    two files' survival); the exit-year bars are shares of the weight
    (they add up to 1 - survival);
  * a conditioned run without --baseline, whose n_eff is below 100: a note
    saying how to get prior versus posterior, and the warning;
  * two conditioned runs (--baseline conditioned too): the Bayes factor
    evidence_B / evidence_A in the comparison;
  * a backtest file: a "Backtest" section with every observation's label
    and verdict, the coverages and mean log score equal to the group's
    attributes, the figure of forecast bands and the PIT / coverage figure;
  * a plain run with per-path inputs: "what the worlds where it fails by
    year 5 look like" (one figure; the backstopped lab left out with a
    note); a run without the inputs (--per-path outcomes): a note.

Usage: test_report_evidence.py RUNWAY SOURCE_DIR
"""
import base64
import html
import html.parser
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

runway, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PY = "/usr/bin/python3"
REPORT = os.path.join(src, "scripts", "report.py")
SCEN = os.path.join(src, "scenarios", "baseline.yaml")
OBS = os.path.join(src, "tests", "condition", "anthropic_revenue_2026.yaml")
BT_SCEN = os.path.join(src, "scenarios", "backtest_2024.yaml")
BT_OBS = os.path.join(src, "data", "observed_2025.yaml")
PLAIN = ["survival", "failure_years", "cash_fan", "revenue_fan", "profitable",
         "independent_alive", "tornado", "failure_worlds"]
N = "3000"
problems = []
sys.path.insert(0, os.path.join(src, "scripts"))


def fail(msg):
    problems.append(msg)
    print("FAIL:", msg)


def sh(*cmd):
    p = subprocess.run(list(cmd), capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.imgs, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def report(result, out, *extra):
    sh(PY, REPORT, result, "-o", out, *extra)
    with open(out + ".html", encoding="utf-8") as fh:
        doc = fh.read()
    p = Page()
    p.feed(doc)
    figs = [a.get("data-figure") for a in p.imgs]
    for a in p.imgs:
        png = base64.b64decode(a["src"].split(",", 1)[1])
        if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 5000:
            fail(f"{out}: figure {a.get('data-figure')} is not a real PNG")
    if not os.path.getsize(out + ".pdf") > 10000:
        fail(f"{out}.pdf is too small")
    return " ".join("".join(p.text).split()), figs, doc


def says(name, text, *wants):
    for w in wants:
        if " ".join(str(w).split()) not in text:
            fail(f"{name}: does not say {w!r}")


def attrs(path):
    with h5py.File(path) as f:
        out = {k: f.attrs[k] for k in ("n_eff", "evidence") if k in f.attrs}
        out["survival"] = f["survival"][()]
        out["years"] = f["year"][()]
        out["labs"] = [x.decode() if isinstance(x, bytes) else x for x in f["lab"][()]]
        if "backtest" in f:
            g = f["backtest"]
            out["bt"] = {k: float(np.asarray(g.attrs[k]).reshape(-1)[0])
                         for k in ("coverage50", "coverage50_lo", "coverage50_hi", "coverage90",
                                   "coverage90_lo", "coverage90_hi", "mean_log_score")}
            out["labels"] = [x.decode() for x in g["observation"][()]]
            out["verdicts"] = [x.decode() for x in g["verdict"][()]]
    return out


with tempfile.TemporaryDirectory(prefix="runway-report-ev-") as d:
    u, c, v, far, bt, oc = (os.path.join(d, x + ".h5")
                            for x in ("u", "c", "v", "far", "bt", "oc"))
    run = [runway, "run", SCEN, "-n", N, "-q", "-k", "10"]
    sh(*run, "-o", u)
    sh(*run, "-o", c, "--condition", OBS)
    sh(*run, "-o", v, "--condition", OBS, "--set", "Anthropic.momentum0=2 to 3")
    sh(*run, "-o", oc, "--per-path", "outcomes")
    farobs = os.path.join(d, "far.yaml")
    with open(farobs, "w") as fh:
        fh.write("observations:\n  - {lab: Anthropic, year: 2026, revenue: 60 to 70, "
                 "source: \"synthetic: far above the forecast\"}\n")
    sh(*run, "-o", far, "--condition", farobs)
    sh(runway, "backtest", BT_SCEN, BT_OBS, "-n", N, "-q", "-k", "10", "-o", bt)
    U, C, V, FAR, BT = (attrs(x) for x in (u, c, v, far, bt))

    # 1. Conditioned, with the unconditioned run as baseline.
    text, figs, doc = report(c, os.path.join(d, "c_rep"), "--baseline", u)
    want = ["prior_posterior"] + PLAIN + ["comparison"]
    if figs != want:
        fail(f"conditioned report: figures {figs}, expected {want}")
    says("conditioned report", text, "Conditioned on", "Anthropic revenue 2026", "25 to 35",
         "illustration: Anthropic's 2026 revenue about 30", "anthropic_revenue_2026.yaml",
         f"n_eff = {C['n_eff']:.0f} of {N} paths", f"Evidence (the mean weight) = "
         f"{C['evidence']:.4g}", "Prior versus posterior survival")
    a_ = C["labs"].index("Anthropic")
    # probabilities rounded to what the Monte Carlo error supports (at
    # least 2 decimals; report_format.table_decimals), exact 1 as "1"
    for j in (0, 2, len(C["years"]) - 1):
        m = re.search(rf"<td>Anthropic</td><td>{C['years'][j]}</td><td>([0-9.]+)</td>"
                      r"<td>([0-9.]+)</td>", doc)
        ok = m is not None
        for k, want in ((1, U["survival"][a_, j]), (2, C["survival"][a_, j])):
            if not ok:
                break
            got = m.group(k)
            dec = len(got.split(".")[1]) if "." in got else None
            ok = (got == "1" and want == 1.0) or (dec is not None and dec >= 2 and
                                                 got == f"{want:.{dec}f}")
        if not ok:
            fail(f"prior/posterior table: Anthropic {C['years'][j]}: "
                 f"{m.group(0) if m else 'no row'} (prior {U['survival'][a_, j]}, "
                 f"posterior {C['survival'][a_, j]})")
    if "To see prior versus posterior" in text:
        fail("the note on how to get prior versus posterior is shown although it is")
    import report as reportmod  # noqa: E402
    import runway_result  # noqa: E402
    rc = runway_result.load(c)
    for i, lab in enumerate(rc.labs):
        total = sum(b.sum() for b in reportmod.exit_year_bars(rc, i).values())
        if abs(total - (1 - rc.ds["survival"][i, -1])) > 1e-9:
            fail(f"{lab}: weighted exit-year bars add up to {total}, not 1 - survival")

    # 2. Without a baseline: how to get it; a tiny n_eff: the warning.
    text, figs, _ = report(far, os.path.join(d, "far_rep"))
    if "prior_posterior" in figs:
        fail("prior_posterior figure without a baseline")
    says("conditioned report without baseline", text, "To see prior versus posterior survival",
         f"-s 20251231 -n {N} -o prior.h5", "--baseline prior.h5", "n_eff is below 100",
         f"n_eff = {FAR['n_eff']:.0f} of")

    # 3. Two conditioned runs: the Bayes factor in the comparison.
    text, figs, _ = report(v, os.path.join(d, "v_rep"), "--baseline", c)
    k = V["evidence"] / C["evidence"]
    says("Bayes factor report", text, f"Bayes factor B : A = evidence_B / evidence_A = {k:.4g}",
         "The baseline is conditioned too")
    if "prior_posterior" in figs:
        fail("prior/posterior drawn against a conditioned baseline")

    # 4. A backtest file.
    text, figs, doc = report(bt, os.path.join(d, "bt_rep"))
    want = ["backtest_bands", "backtest_pit"] + PLAIN
    if figs != want:
        fail(f"backtest report: figures {figs}, expected {want}")
    b = BT["bt"]
    says("backtest report", text, "Backtest",
         f"{b['coverage50']:.3f} [{b['coverage50_lo']:.3f}, {b['coverage50_hi']:.3f}]",
         f"{b['coverage90']:.3f} [{b['coverage90_lo']:.3f}, {b['coverage90_hi']:.3f}]",
         f"{b['mean_log_score']:.3f}", "observed_2025.yaml")
    for lab_, verdict in zip(BT["labels"], BT["verdicts"]):
        if not re.search(r"<tr><td>" + re.escape(html.escape(lab_)) + r"</td>.*?<td>"
                         + re.escape(html.escape(verdict)) + r"</td></tr>", doc):
            fail(f"backtest table: no row {lab_!r} ending in {verdict!r}")
    print(f"backtest report: coverage 50% {b['coverage50']:.3f}, 90% {b['coverage90']:.3f}, "
          f"{len(BT['labels'])} rows")

    # 5. The worlds where labs fail: plain run; without per-path inputs.
    text, figs, _ = report(u, os.path.join(d, "u_rep"))
    if figs != PLAIN:
        fail(f"plain report: figures {figs}, expected {PLAIN}")
    says("plain report", text, "What the worlds where a lab fails by year 5 look like",
         "Google DeepMind: left out: it has a parent backstop")
    text, figs, _ = report(oc, os.path.join(d, "oc_rep"))
    if "failure_worlds" in figs:
        fail("failure worlds drawn without per-path inputs")
    says("outcomes-only report", text, "no per-path drawn inputs", "--per-path all")

print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
