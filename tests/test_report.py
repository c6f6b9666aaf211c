"""scripts/report.py on a small real run: the HTML page is well formed,
self-contained (one embedded PNG per figure), names every lab and carries
the scenario text; the PDF has the pages report.py says it wrote (counted
here from the file itself), and poppler renders one of them. A file with
per-path inputs has the figure of the worlds where labs fail
(failure_worlds; test_report_evidence.py checks its content). Also: the
default output name, --baseline (the comparison section and figure), a
file without per-path data (a note replaces the failure-year figure), the
three ways of leaving in the headline (failed and bought, wound down,
bought while solvent: MODEL.md v2 step 7, exercised with Mistral's
acquisition_hazard), and a file written before step 7 (no acquired_solvent
dataset, a three-member outcome enum: read as no exits while solvent).

Usage: test_report.py RUNWAY SOURCE_DIR
Exit 0 pass, 1 fail, 77 skip (only when everything else passed and
pdftoppm, from Debian's poppler-utils, is not installed).
"""
import base64
import html
import html.parser
import io
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

runway, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PY = "/usr/bin/python3"
REPORT = os.path.join(src, "scripts", "report.py")
SCEN = os.path.join(src, "scenarios", "baseline.yaml")
FIGURES = ["survival", "failure_years", "cash_fan", "revenue_fan", "profitable",
           "independent_alive", "tornado", "failure_worlds"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}
problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL:", msg)


def sh(*cmd, cwd=None):
    p = subprocess.run(list(cmd), capture_output=True, text=True, cwd=cwd)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


class Page(html.parser.HTMLParser):
    """Checks that every non-void tag is closed in order; collects the
    figures' images, the text and the <pre> content."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.imgs, self.meta = [], [], [], {}
        self.text, self.pre, self._in_pre = [], [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        if tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content")
        if tag == "pre":
            self._in_pre = True
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        if tag not in VOID:
            self.errors.append(f"<{tag}/> self-closed at line {self.getpos()[0]}")
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append(f"</{tag}> closes a void element at line {self.getpos()[0]}")
            return
        if not self.stack or self.stack[-1][0] != tag:
            top = self.stack[-1] if self.stack else None
            self.errors.append(f"</{tag}> at line {self.getpos()[0]} does not close {top}")
            return
        self.stack.pop()
        if tag == "pre":
            self._in_pre = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_pre:
            self.pre.append(data)


def check_html(path, labs, yaml_text, figures, expect_text=()):
    with open(path, encoding="utf-8") as fh:
        doc = fh.read()
    p = Page()
    p.feed(doc)
    p.close()
    if not doc.lstrip().lower().startswith("<!doctype html>"):
        fail(f"{path}: no <!DOCTYPE html>")
    for e in p.errors:
        fail(f"{path}: {e}")
    if p.stack:
        fail(f"{path}: unclosed tags {[t for t, _ in p.stack]}")
    if re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", doc):
        fail(f"{path}: refers to an outside resource (not self-contained)")
    got = [a.get("data-figure") for a in p.imgs]
    if got != figures:
        fail(f"{path}: figures {got}, expected {figures}")
    for a in p.imgs:
        srcv = a.get("src", "")
        if not srcv.startswith("data:image/png;base64,"):
            fail(f"{path}: image {a.get('data-figure')} is not an embedded PNG")
            continue
        png = base64.b64decode(srcv.split(",", 1)[1])
        if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 5000:
            fail(f"{path}: image {a.get('data-figure')} is not a real PNG")
        if not a.get("alt"):
            fail(f"{path}: image {a.get('data-figure')} has no alt text")
    text = "".join(p.text)
    for lab in labs:
        if lab not in text:
            fail(f"{path}: lab {lab} is not named")
    for t in expect_text:
        if t not in text:
            fail(f"{path}: does not say {t!r}")
    if "".join(p.pre) != yaml_text:
        fail(f"{path}: the <pre> does not hold the scenario text exactly")
    if p.meta.get("runway-figures") != str(len(figures)):
        fail(f"{path}: meta runway-figures = {p.meta.get('runway-figures')}")
    return p, doc


def pdf_pages(path):
    """Page objects in the PDF, counted from the raw file (matplotlib writes
    page dictionaries uncompressed): '/Type /Page' not followed by 's'."""
    with open(path, "rb") as fh:
        data = fh.read()
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-64:]:
        fail(f"{path}: not a complete PDF")
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


def check_pdf(path, meta_pages, n_figures, extra_pages):
    n = pdf_pages(path)
    if str(n) != meta_pages:
        fail(f"{path}: {n} pages, but report.py recorded {meta_pages}")
    # title page + one page per figure (+ extra) + at least one scenario page
    if n < 1 + n_figures + extra_pages + 1:
        fail(f"{path}: {n} pages, expected at least {1 + n_figures + extra_pages + 1}")
    return n


def labs_and_yaml(h5):
    with h5py.File(h5) as f:
        labs = [x.decode() if isinstance(x, bytes) else str(x) for x in f["lab"][()]]
        y = f.attrs["scenario_yaml"]
        y = y.decode() if isinstance(y, bytes) else str(y)
    return labs, y


def no_temp_files(d):
    left = [n for n in os.listdir(d) if n.endswith(".tmp")]
    if left:
        fail(f"temporary files left in {d}: {left}")


with tempfile.TemporaryDirectory(prefix="runway-report-") as d:
    a = os.path.join(d, "base.h5")
    b = os.path.join(d, "less_cash.h5")
    # Mistral may be bought while solvent (MODEL.md step 7), so that the
    # report shows all three ways of leaving.
    hazard = ["--set", "Mistral.acquisition_hazard=0.1"]
    sh(runway, "run", SCEN, "-o", a, "--paths", "3000", "-q", "--keep-paths", "10", *hazard)
    sh(runway, "run", SCEN, "-o", b, "--paths", "3000", "-q", "--keep-paths", "10", *hazard,
       "--set", "Mistral.cash0=0.1 to 0.2")
    labs, yaml_text = labs_and_yaml(a)
    with h5py.File(a) as f:
        if not (f["paths/outcome"][()] == 3).any() or not f["acquired_solvent"][()].any():
            fail(f"{a}: no lab bought while solvent: the report's third exit is not exercised")

    # 1. The plain report, default name: base_report.{html,pdf} in the cwd.
    p = sh(PY, REPORT, a, cwd=d)
    h1, pdf1 = os.path.join(d, "base_report.html"), os.path.join(d, "base_report.pdf")
    if not (os.path.exists(h1) and os.path.exists(pdf1)):
        fail(f"default names not written: {os.listdir(d)}")
    else:
        page, doc = check_html(h1, labs, yaml_text, FIGURES,
                               expect_text=["Headline", "Provenance", "P(failed and bought)",
                                            "P(wound down)", "P(bought while solvent)",
                                            "20251231"])
        with h5py.File(a) as f:
            s = f["survival"][()]
            lo, hi = f["survival_lo"][()], f["survival_hi"][()]
            exits = [f[n][()] for n in ("failed_acquired", "failed_wound_down",
                                        "acquired_solvent")]
        # the headline carries the horizon survival with its interval, then
        # P(failed and bought), P(wound down), P(bought while solvent) by
        # the horizon, as in the file
        # rounded to what the Monte Carlo error supports: the last digit is
        # the first one the widest interval's full width reaches
        # (report_format.table_decimals); exact 0 and 1 as "0" and "1"
        wmax = float(np.max((hi - lo)[(hi - lo) > 0]))
        dd = max(1, math.ceil(-math.log10(wmax) - 1e-12))

        def f3(x):
            return f"{x:.0f}" if x in (0.0, 1.0) else f"{x:.{dd}f}"
        for i, lab in enumerate(labs):
            cell = f"{f3(s[i, -1])} [{f3(lo[i, -1])}, {f3(hi[i, -1])}]"
            tail = cell + "".join(f"</td><td>{f3(e[i, -1])}" for e in exits) + "</td></tr>"
            if cell not in doc:
                fail(f"headline lacks {lab}'s horizon survival {cell}")
            elif tail not in doc:
                fail(f"headline row of {lab} does not end with the exits by the horizon "
                     f"({tail!r})")
        n1 = check_pdf(pdf1, page.meta.get("runway-pdf-pages"), len(FIGURES), 0)
        print(f"plain report: {len(FIGURES)} figures, {n1} PDF pages")
    no_temp_files(d)

    # 2. With a baseline: this run (less Mistral cash) minus base, paired.
    out2 = os.path.join(d, "sub", "cmp")
    os.mkdir(os.path.join(d, "sub"))
    sh(PY, REPORT, b, "-o", out2 + ".html", "--baseline", a)
    if not os.path.exists(out2 + ".pdf"):
        fail("-o NAME.html did not give NAME.pdf")
    else:
        page2, doc2 = check_html(out2 + ".html", labs, labs_and_yaml(b)[1],
                                 FIGURES + ["comparison"],
                                 expect_text=["Comparison with the baseline",
                                              "paired (common random numbers)"])
        check_pdf(out2 + ".pdf", page2.meta.get("runway-pdf-pages"), len(FIGURES) + 1, 1)
    no_temp_files(os.path.join(d, "sub"))

    # 3. No per-path data: a note instead of the failure-year figure.
    c = os.path.join(d, "nopaths.h5")
    shutil.copy(a, c)
    with h5py.File(c, "a") as f:
        del f["paths"]
    sh(PY, REPORT, c, "-o", os.path.join(d, "nopaths"))
    check_html(os.path.join(d, "nopaths.html"), labs, yaml_text,
               [x for x in FIGURES if x not in ("failure_years", "failure_worlds")],
               expect_text=["no per-path data"])

    # 4. A file as written before exits while solvent (MODEL.md v2 step 7):
    # no acquired_solvent dataset, outcome an enum of three members. Made
    # from a v2 run by counting its exits while solvent as acquisitions
    # (outcome 3 -> 1, acquired_solvent folded into failed_acquired), so
    # that every rule between the datasets still holds. The report reads
    # it as no exits while solvent.
    old = os.path.join(d, "old.h5")
    sh(runway, "run", SCEN, "-o", old, "--paths", "300", "-q", "--keep-paths", "3")
    with h5py.File(old, "a") as f:
        f["failed_acquired"][...] = f["failed_acquired"][()] + f["acquired_solvent"][()]
        del f["acquired_solvent"]
        ds = f["paths/outcome"]
        oc = ds[()].astype("i1")
        oc[oc == 3] = 1
        attrs = {k: ds.attrs[k] for k in ("units", "long_name")}
        chunks = ds.chunks
        del f["paths/outcome"]
        dt = h5py.enum_dtype({"survived": 0, "acquired": 1, "wound_down": 2}, basetype="i1")
        ds = f["paths"].create_dataset("outcome", data=oc, dtype=dt, chunks=chunks)
        for k, v in attrs.items():
            ds.attrs[k] = v
        ds.dims[0].attach_scale(f["path"])
        ds.dims[1].attach_scale(f["lab"])
    sh(PY, REPORT, old, "-o", os.path.join(d, "old"))
    _, old_doc = check_html(os.path.join(d, "old.html"), labs, labs_and_yaml(old)[1], FIGURES,
                            expect_text=["P(bought while solvent)"])
    old_doc = old_doc[old_doc.find("<table class=\"headline\">"):]
    for lab in labs:
        row = re.search(r"<tr><td>" + re.escape(html.escape(lab)) + r"[^<]*</td>(.*?)</tr>",
                        old_doc)
        if row is None or not row.group(1).endswith("<td>0</td>"):
            fail(f"old file: {lab}'s P(bought while solvent) is not shown as 0")

    # 5. Poppler renders a figure page of the PDF.
    pdftoppm = shutil.which("pdftoppm")
    skipped = False
    if pdftoppm is None:
        skipped = True
    elif os.path.exists(pdf1):
        sh(pdftoppm, "-f", "2", "-l", "2", "-r", "40", "-png", pdf1, os.path.join(d, "page"))
        pngs = [n for n in os.listdir(d) if n.startswith("page") and n.endswith(".png")]
        if len(pngs) != 1:
            fail(f"pdftoppm wrote {pngs}")
        else:
            with open(os.path.join(d, pngs[0]), "rb") as fh:
                data = fh.read()
            if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 2000:
                fail("pdftoppm's PNG of page 2 is not a real image")

    # 6. The PDF's figure pages hold the HTML page's figures pixel for pixel
    # (report.py stores the PNG it drew once, not a second compression of
    # it: _reuse_pngs), in report order, and shown upright.
    pdfimages = shutil.which("pdfimages")
    if pdfimages is None or pdftoppm is None:
        skipped = True
    elif os.path.exists(pdf1):
        from PIL import Image
        _, doc1 = check_html(h1, labs, yaml_text, FIGURES)
        html_figs = [np.asarray(Image.open(io.BytesIO(base64.b64decode(m))).convert("RGB"))
                     for m in re.findall(r'src="data:image/png;base64,([^"]+)"', doc1)]
        imgdir = os.path.join(d, "pdfimg")
        os.mkdir(imgdir)
        sh(pdfimages, "-png", pdf1, os.path.join(imgdir, "im"))
        listing = sh(pdfimages, "-list", pdf1).stdout.splitlines()[2:]
        pdf_figs = [np.asarray(Image.open(os.path.join(imgdir, n)).convert("RGB"))
                    for n in sorted(os.listdir(imgdir))]
        same = [a.shape == b.shape and np.array_equal(a, b)
                for a, b in zip(html_figs, pdf_figs)]
        if len(pdf_figs) != len(html_figs) or not all(same):
            fail(f"the PDF's {len(pdf_figs)} images are not the HTML page's "
                 f"{len(html_figs)} figures pixel for pixel (equal: {same})")
        else:
            # the survival figure's page rendered at the figures' 120 dpi is
            # that figure, not its mirror image
            page_no = listing[0].split()[0]
            sh(pdftoppm, "-f", page_no, "-l", page_no, "-r", "120", "-png", pdf1,
               os.path.join(d, "upright"))
            shot = next(n for n in os.listdir(d) if n.startswith("upright"))
            got = np.asarray(Image.open(os.path.join(d, shot)).convert("L")).astype(float)
            want = np.asarray(Image.fromarray(html_figs[0]).convert("L")).astype(float)
            h, w = (min(got.shape[0], want.shape[0]) // 8 * 8,
                    min(got.shape[1], want.shape[1]) // 8 * 8)

            def blocks(a):  # 8x8 means: resampling by a pixel does not count
                return a[:h, :w].reshape(h // 8, 8, w // 8, 8).mean(axis=(1, 3))
            err = np.abs(blocks(got) - blocks(want)).mean()
            err_flipped = np.abs(blocks(got) - blocks(want[::-1])).mean()
            if not err < 0.2 * err_flipped:
                fail(f"the PDF's survival figure page differs from the figure by {err:.1f} "
                     f"(mean per channel), its mirror image by {err_flipped:.1f}: not upright")
            print(f"PDF figures: {len(pdf_figs)} equal to the HTML's; the page renders "
                  f"upright (mean difference {err:.2f} against {err_flipped:.1f} mirrored)")

print("ok" if not problems else f"{len(problems)} problem(s)")
if problems:
    sys.exit(1)
if skipped:
    print("SKIP: pdftoppm not found (install Debian package poppler-utils); "
          "every other check passed")
    sys.exit(77)
sys.exit(0)
