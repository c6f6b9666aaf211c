"""docs/python.md's worked example runs as written: its `build/runway`
commands (the ```sh block, with --paths 3000 added for time) make the
files, then every ```python block runs in order in one namespace, from a
folder where out/ holds those files, importing runway from the source
tree. Any exception (the example's own asserts compare its pandas
results with the file's summaries) fails the test, so the page cannot rot.

Usage: test_docs_python.py RUNWAY SOURCE_DIR
"""
import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
import traceback

runway_bin, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.join(src, "python"))
doc = open(os.path.join(src, "docs", "python.md"), encoding="utf-8").read()
blocks = re.findall(r"^```(\w+)\n(.*?)^```", doc, re.S | re.M)
shell = [b for lang, b in blocks if lang == "sh"]
code = [b for lang, b in blocks if lang == "python"]
if len(shell) != 1 or len(code) < 5:
    sys.exit(f"FAIL: docs/python.md has {len(shell)} sh and {len(code)} python blocks; "
             "want one sh block and the example's python blocks")

with tempfile.TemporaryDirectory(prefix="runway-docs-python-") as d:
    os.makedirs(os.path.join(d, "out"))
    os.makedirs(os.path.join(d, "build"))
    os.symlink(runway_bin, os.path.join(d, "build", "runway"))
    for name in ("scenarios", "tests"):
        os.symlink(os.path.join(src, name), os.path.join(d, name))
    for line in shell[0].splitlines():
        if not line.strip():
            continue
        argv = shlex.split(line) + ["--paths", "3000", "-q"]
        p = subprocess.run(argv, cwd=d, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"FAIL: {line}: {p.stderr.strip()}")
    os.chdir(d)
    ns = {"__name__": "__docs__"}
    out = io.StringIO()
    for i, block in enumerate(code, 1):
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(block, f"docs/python.md block {i}", "exec"), ns)
        except Exception:  # noqa: BLE001 - the point of the test
            print(out.getvalue()[-3000:])
            traceback.print_exc()
            sys.exit(f"FAIL: docs/python.md python block {i} raised")
    print(out.getvalue()[-1500:])
    print(f"ok: {len(code)} python blocks of docs/python.md ran")
