"""`runway run A B -O DIR` writes DIR/index.html with ONE scenario-by-lab
table (scripts/batch_index.py, pandas): a row per scenario in the order
given, a column per lab of any scenario, each cell the survival at the
scenario's headline years (simulated years 1, 3, 5, horizon) with its
95% interval as the file stores them (read here with h5py, independently
of the scripts), "-" where a scenario lacks the lab; links (relative) to
each result file and, once it exists, to its report. A failure to write
the index is one line on stderr and a non-zero exit, with no temporary
left behind; a damaged result file is refused naming it, and the previous
index stays as it was.

Usage: test_batch_index.py RUNWAY SOURCE_DIR
"""
import html.parser
import os
import shutil
import subprocess
import sys

import h5py

from h5util import tmpdir, verdict

runway, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PY = "/usr/bin/python3"
SCRIPT = os.path.join(src, "scripts", "batch_index.py")
problems = []


class Tables(html.parser.HTMLParser):
    """Every <table> as a list of rows, each a list of (tag, text, hrefs)."""

    def __init__(self):
        super().__init__()
        self.tables, self.cell, self.hrefs = [], None, []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self.cell, self.hrefs = [], []
        elif tag == "a" and self.cell is not None:
            self.hrefs.append(dict(attrs).get("href"))
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append((tag, "".join(self.cell).strip(), self.hrefs))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def parse(path):
    p = Tables()
    with open(path, encoding="utf-8") as fh:
        p.feed(fh.read())
    return p.tables


def expected_cells(path):
    """{lab: cell text} from the file, read with h5py."""
    with h5py.File(path, "r") as f:
        labs = [x.decode() if isinstance(x, bytes) else str(x) for x in f["lab"][()]]
        years = f["year"][()]
        s, lo, hi = f["survival"][()], f["survival_lo"][()], f["survival_hi"][()]
        T = len(years)
        cols = []
        for t in (1, 3, 5, T):
            if 1 <= t <= T and t - 1 not in cols:
                cols.append(t - 1)
        return {lab: "\n".join(f"{years[j]}: {s[i, j]:.3f} [{lo[i, j]:.3f}, {hi[i, j]:.3f}]"
                               for j in cols) for i, lab in enumerate(labs)}


def check_index(d, files, reports):
    tables = parse(os.path.join(d, "index.html"))
    if len(tables) != 1:
        problems.append(f"index.html has {len(tables)} tables, want one scenario-by-lab table")
        return
    rows = [r for r in tables[0] if r]
    want = [expected_cells(f) for f in files]
    labs = list(dict.fromkeys(lab for w in want for lab in w))
    head = [t for _, t, _ in rows[0]][1:]
    if head != labs:
        problems.append(f"columns {head}, want the labs {labs}")
    body = [r for r in rows[1:] if r and r[0][0] == "th" and r[0][2]]
    if len(body) != len(files):
        problems.append(f"{len(body)} scenario rows, want {len(files)}")
        return
    for row, f, w, rep in zip(body, files, want, reports):
        hrefs = row[0][2]
        targets = [os.path.normpath(os.path.join(d, h)) for h in hrefs]
        if os.path.abspath(f) not in targets:
            problems.append(f"row of {f}: no link to its result file ({hrefs})")
        has_rep = any(t.endswith("_report.html") for t in targets)
        if has_rep != rep:
            problems.append(f"row of {f}: report link {'missing' if rep else 'present'} "
                            f"({hrefs})")
        for t in targets:
            if not os.path.exists(t):
                problems.append(f"row of {f}: link {t} leads nowhere")
        cells = [t for _, t, _ in row[1:]]
        for lab, got in zip(labs, cells):
            if got != w.get(lab, "-"):
                problems.append(f"row of {os.path.basename(f)}, lab {lab}: {got!r}, "
                                f"want {w.get(lab, '-')!r}")


def main():
    d = tmpdir()
    out = os.path.join(d, "batch")
    os.mkdir(out)
    scens = [os.path.join(src, "scenarios", "baseline.yaml"),
             os.path.join(src, "tests", "condition", "conjugate.yaml")]
    p = subprocess.run([runway, "run", *scens, "-O", out, "-n", "1500", "-q"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print("FAIL: runway run -O:", p.stderr)
        return 1
    files = [os.path.join(out, "baseline.h5"), os.path.join(out, "conjugate.h5")]
    check_index(out, files, [False, False])

    # A report beside a result file gets its link (the script alone).
    with open(os.path.join(out, "conjugate_report.html"), "w") as fh:
        fh.write("<html></html>")
    p = subprocess.run([PY, SCRIPT, out, *files], capture_output=True, text=True)
    if p.returncode != 0:
        problems.append(f"batch_index.py on good files: exit {p.returncode}: {p.stderr}")
    check_index(out, files, [False, True])

    # A damaged file: one line naming it; the previous index unchanged.
    before = open(os.path.join(out, "index.html"), "rb").read()
    bad = os.path.join(out, "damaged.h5")
    with open(files[0], "rb") as src_fh, open(bad, "wb") as fh:
        fh.write(src_fh.read()[:4096])
    p = subprocess.run([PY, SCRIPT, out, files[0], bad], capture_output=True, text=True)
    lines = p.stderr.strip().splitlines()
    if p.returncode != 1 or len(lines) != 1 or "damaged.h5" not in lines[0]:
        problems.append(f"damaged file: exit {p.returncode}, stderr {p.stderr!r}, want 1 and "
                        "one line naming damaged.h5")
    if open(os.path.join(out, "index.html"), "rb").read() != before:
        problems.append("a refused batch changed index.html")
    os.remove(bad)

    # runway itself: an index it cannot write is one line and exit 1, and
    # nothing is left in the folder but the results.
    out2 = os.path.join(d, "batch2")
    os.makedirs(os.path.join(out2, "index.html"))
    p = subprocess.run([runway, "run", scens[1], os.path.join(src, "tests", "explain", "driven.yaml"),
                        "-O", out2, "-n", "200", "-q"],
                       capture_output=True, text=True)
    lines = p.stderr.strip().splitlines()
    if p.returncode == 0 or len(lines) != 1 or "index.html" not in lines[0]:
        problems.append(f"unwritable index: exit {p.returncode}, stderr {p.stderr!r}; want "
                        "non-zero and one line naming index.html")
    left = sorted(set(os.listdir(out2)) - {"index.html", "conjugate.h5", "driven.h5"})
    if left:
        problems.append(f"unwritable index left {left}")
    shutil.rmtree(d, ignore_errors=True)
    return verdict(problems)


if __name__ == "__main__":
    sys.exit(main())
