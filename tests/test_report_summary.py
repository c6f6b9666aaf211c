"""scripts/report.py: the first page, the figures, hostile names, signals.
One CTest per mode (tests/report.cmake):

  summary   report_first_page_summarises_and_prints_dollars_literally: a run
            whose scenario text holds "$3.5B (late 2024) -> $8.4B", reported
            against a baseline with other labs (--baseline: labs matched by
            name): page 1 of the PDF (pdftotext) answers the question
            (every lab, survival at the headline years as percentages with
            intervals, "backstopped" for the backstopped lab, what moves
            it), says what changed (the lab only the baseline has, the
            entrant, the input specified differently); the HTML has the
            same summary; the scenario pages print the dollars literally
            (with mathtext the pair of $ was typeset as italics and the $
            vanished); the headline's digits follow the Monte Carlo error.
  figures   report_figures_show_only_what_can_happen: the cash and revenue
            panels start at 0 (nothing negative can happen to a live lab),
            the backstopped lab's exit panel says "backstopped", and every
            lab's survival line has its own marker (lines at 1.0 stay
            visible).
  hostile   report_sanitises_hostile_lab_names: lab and input names of
            10,000 characters, with escape sequences, newlines and bidi
            overrides, and such a scenario name: the report is written in
            reasonable time, its stdout and the HTML's visible names hold
            no control character, names are cut with "...".
  signals   report_leaves_no_temporaries_on_signals: SIGTERM, SIGINT and
            SIGHUP while the report writes: exit 128 + the signal, one line
            saying what was not written, and no file left in the folder
            (the temporaries are removed); and a SIGTERM that comes while
            report.py forks a helper (from inside fork's own handlers,
            where it used to be lost and the report went on to finish)
            stops the report, and the helper with it.

Usage: test_report_summary.py RUNWAY SOURCE_DIR MODE
"""
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

from h5util import PY, failer, run_mode, script_args, sh  # tests/, the script's own folder

runway, src, mode = script_args()
REPORT = os.path.join(src, "scripts", "report.py")
SCEN = os.path.join(src, "scenarios", "baseline.yaml")
DOLLARS = "$3.5B (late 2024) -> $8.4B"
problems = []


fail = failer(problems)


def scenario(d, entrant):
    """The baseline with DOLLARS in its description; entrant: a new lab in
    place of Mistral and another api_market0."""
    import yaml
    with open(SCEN) as fh:
        doc = yaml.safe_load(fh)
    doc["description"] = f"API spend {DOLLARS} run rate (Menlo Ventures)."
    if entrant:
        e = dict([x for x in doc["labs"] if x["name"] == "Cohere"][0])
        e["name"] = "Entrant"
        doc["labs"] = [x for x in doc["labs"] if x["name"] != "Mistral"] + [e]
        doc["market"]["api_market0"] = "9 to 14"
    out = os.path.join(d, "entrant.yaml" if entrant else "dollars.yaml")
    with open(out, "w") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False)
    return out


def pdftext(pdf, first, last=None):
    p = sh("pdftotext", "-layout", "-f", str(first), "-l", str(last or first), pdf, "-")
    return p.stdout


def mode_summary(d):
    if shutil.which("pdftotext") is None:
        print("SKIP: pdftotext (poppler-utils) not installed")
        sys.exit(77)
    base, new = os.path.join(d, "base.h5"), os.path.join(d, "new.h5")
    sh(runway, "run", scenario(d, False), "-o", base, "-n", "3000", "-q")
    sh(runway, "run", scenario(d, True), "-o", new, "-n", "3000", "-q")
    out = os.path.join(d, "rep")
    sh(PY, REPORT, new, "-o", out, "--baseline", base)
    page1 = " ".join(pdftext(out + ".pdf", 1).split())
    with h5py.File(new) as f:
        labs = [x.decode() for x in f["lab"][()]]
        s = f["survival"][()]
        years = f["year"][()]
    for want in ["runway report", "How likely is each lab to be alive", "what moves it most",
                 "backstopped", "What changed against the baseline", "New in this run: Entrant",
                 "Only in the baseline: Mistral", "market.api_market0: 8 to 12 -> 9 to 14",
                 f"alive end {years[-1]}"] + labs:
        if want not in page1:
            fail(f"page 1 does not say {want!r}: {page1[:400]!r}")
    # the horizon survival of OpenAI as a percentage with the digits its
    # interval supports (3000 paths: whole percents)
    i = labs.index("OpenAI")
    pct = f"{100 * s[i, -1]:.0f}%"
    if pct not in page1:
        fail(f"page 1 lacks OpenAI's horizon survival {pct}")
    if re.search(r"\b0\.\d{3}\b", page1):
        fail("page 1 shows three decimals at 3000 paths (noise)")
    with open(out + ".html", encoding="utf-8") as fh:
        doc = fh.read()
    if doc.find("id=\"summary\"") < 0 or doc.find("id=\"summary\"") > doc.find("id=\"headline\""):
        fail("the HTML page does not open with the summary")
    # the scenario text pages: the dollars as written
    n = int(re.search(r"runway-pdf-pages\" content=\"(\d+)", doc).group(1))
    tail = pdftext(out + ".pdf", max(1, n - 3), n)
    if DOLLARS not in tail:
        fail(f"the scenario pages do not print {DOLLARS!r} literally")
    sh("pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-png", out + ".pdf",
       os.path.join(d, "first"))
    if not any(x.startswith("first") and x.endswith(".png") for x in os.listdir(d)):
        fail("pdftoppm did not render page 1")


def mode_figures(d):
    os.environ.setdefault("MPLBACKEND", "Agg")
    a = os.path.join(d, "a.h5")
    sh(runway, "run", SCEN, "-o", a, "-n", "2000", "-q")
    import report
    import runway_result
    r = runway_result.load(a)
    report._load_matplotlib()
    for name in ("cash_q", "revenue_q"):
        fig = report.fig_fan(r, name, name, "US$ billion")
        for ax in fig.axes:
            if ax.get_visible() and ax.get_ylim()[0] < 0:
                fail(f"{name}: a panel's axis starts at {ax.get_ylim()[0]:.3g} < 0 "
                     "(negative values cannot happen)")
    g = r.labs.index("Google DeepMind")
    if not r.backstopped[g]:
        fail("Google DeepMind is not backstopped in the baseline")
    fig = report.fig_failure_years(r)
    texts = [t.get_text() for t in fig.axes[g].texts]
    if not any("backstopped" in t for t in texts) or "backstopped" not in fig.axes[g].get_title():
        fail(f"the backstopped lab's exit panel does not say so: {texts}")
    fig = report.fig_survival(r)
    lines = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) > 2]
    markers = {ln.get_marker() for ln in lines}
    widths = [ln.get_linewidth() for ln in lines]
    if len(markers) != len(r.labs) or len(set(widths)) != len(r.labs):
        fail(f"survival lines: markers {markers}, widths {widths}: lines at 1.0 hide each other")


HOSTILE = ["Evil\x1b[2J\x1b]0;pwned\x07\nLab", "N" * 10000, "bidi\u202eLab\u2028x"]


def mode_hostile(d):
    a = os.path.join(d, "a.h5")
    sh(runway, "run", SCEN, "-o", a, "-n", "2000", "-q")
    with h5py.File(a, "a") as f:
        names = [x.decode() for x in f["lab"][()]]
        old = names[:3]
        names[:3] = HOSTILE
        f["lab"][...] = np.array([x.encode() for x in names], dtype=object)
        inputs = [x.decode() for x in f["input"][()]]
        for k, x in enumerate(inputs):
            for o, h in zip(old, HOSTILE):
                if x.startswith(o + "."):
                    inputs[k] = h + x[len(o):]
        f["input"][...] = np.array([x.encode() for x in inputs], dtype=object)
        f.attrs["scenario_name"] = "name\x1b[31m" + "S" * 5000
    t0 = time.time()
    p = sh(PY, REPORT, a, "-o", os.path.join(d, "h"), timeout=400,
           env=dict(os.environ, MPLBACKEND="Agg"))
    dt = time.time() - t0
    print(f"hostile report: {dt:.1f} s")
    if any(ord(c) < 32 and c != "\n" for c in p.stdout + p.stderr):
        fail(f"stdout/stderr hold control characters: {(p.stdout + p.stderr)[:200]!r}")
    with open(os.path.join(d, "h.html"), encoding="utf-8") as fh:
        doc = fh.read()
    # outside the <pre> of the scenario text, no raw escape or 10,000 N
    body = re.sub(r"<pre id=\"scenario_yaml\">.*?</pre>", "", doc, flags=re.S)
    if "\x1b" in body or "\u202e" in body or "N" * 200 in body:
        fail("the HTML shows a raw escape sequence, bidi override or a whole 10,000-character "
             "name")
    if "NNNN..." not in html.unescape(body):
        fail("the long name is not cut with ...")


def signal_during_fork():
    """A stopping signal that comes while report.py forks a helper (here
    sent from inside fork's own after-fork handlers, where Python only
    prints "Exception ignored" for an exception) is not lost: it stops the
    report once the child is recorded, and the child is stopped too."""
    import report
    import report_format
    report_format.catch_signals()
    os.register_at_fork(after_in_parent=lambda: os.kill(os.getpid(), signal.SIGTERM)
                        if getattr(signal_during_fork, "armed", False) else None)
    signal_during_fork.armed = True
    stopped = None
    try:
        report.Background(lambda: time.sleep(30))
    except report_format.Interrupted as e:
        stopped = e
    finally:
        signal_during_fork.armed = False
    live = list(report.Background.live)
    if stopped is None or stopped.signum != signal.SIGTERM:
        fail(f"a SIGTERM during fork was lost (got {stopped!r})")
    if len(live) != 1:
        fail(f"the child forked when the signal came is not recorded: {live}")
    report.Background.cancel_all()
    if report.Background.live or any(j.pid is not None for j in live):
        fail("cancel_all left a child running")
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)
    print("a signal during fork: stopped the report, the child recorded and stopped")


def mode_signals(d):
    signal_during_fork()
    a = os.path.join(d, "a.h5")
    sh(runway, "run", SCEN, "-o", a, "-n", "20000", "-q")
    outdir = os.path.join(d, "out")
    os.mkdir(outdir)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        p = subprocess.Popen([PY, REPORT, a, "-o", os.path.join(outdir, "rep")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, MPLBACKEND="Agg"))
        t0 = time.time()
        while time.time() - t0 < 120 and not os.listdir(outdir) and p.poll() is None:
            time.sleep(0.02)
        if p.poll() is not None:
            fail(f"{sig.name}: the report ended before its temporaries appeared")
            continue
        time.sleep(0.3)
        p.send_signal(sig)
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            fail(f"{sig.name}: the report did not stop")
        left = os.listdir(outdir)
        if left:
            fail(f"{sig.name}: left {left}")
            for x in left:
                os.unlink(os.path.join(outdir, x))
        lines = err.strip().splitlines()
        if p.returncode != 128 + sig or len(lines) != 1 or sig.name not in lines[0] \
                or "not written" not in lines[0]:
            fail(f"{sig.name}: exit {p.returncode}, stderr {err!r}")
        print(f"{sig.name}: exit {p.returncode}: {err.strip()}")


run_mode({"summary": mode_summary, "figures": mode_figures, "hostile": mode_hostile,
     "signals": mode_signals}, mode, "runway-report-summary-", problems)
