"""The documentation's command examples run (issue 17: "the README's
examples and the docs' examples run in the tests").

  readme  every `build/runway ...` line in a fenced code block of README.md,
          exactly as written (paths and options included), in order
  docs    every `runway ...` command in a code block of docs/scenarios.md
          and docs/reports.md (continuation lines joined), in order, with
          `-n 4000` added to the commands that simulate (run, sweep,
          backtest): their point here is that they run as written, not
          their figures, and full-size runs would cost minutes

Each runs with bash in a fresh directory that holds links to the
source's scenarios/ and data/ and to the binary as build/runway (and, for
the docs, `runway` on PATH and my.yaml, a copy of the baseline, for
"runway validate my.yaml"); each must exit 0. A command that needs a
tool that is missing here (pdftoppm for a report's PDF) is not skipped:
the report fails and so does the test."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

mode, runway, src = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])


def fenced_lines(text):
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        if inside:
            out.append(line)
    return out


def indented_commands(text):
    """Commands of 4-space indented blocks, continuation lines joined."""
    cmds, cur = [], None
    for line in text.splitlines():
        if cur is not None:
            cur += " " + line.strip()
            if not cur.endswith("\\"):
                cmds.append(cur.replace("\\ ", ""))
                cur = None
            continue
        m = re.match(r"^    (?:\$ )?((?:mkdir -p \S+ && )?runway .*)$", line)
        if m:
            cur = m.group(1)
            if not cur.endswith("\\"):
                cmds.append(cur)
                cur = None
    return cmds


d = tempfile.mkdtemp(prefix="runway-doc-")
for x in ("scenarios", "data"):
    os.symlink(os.path.join(src, x), os.path.join(d, x))
os.mkdir(os.path.join(d, "build"))
os.symlink(runway, os.path.join(d, "build", "runway"))
env = dict(os.environ, PATH=os.path.join(d, "build") + os.pathsep + os.environ["PATH"])

if mode == "readme":
    cmds = []
    for line in fenced_lines(open(os.path.join(src, "README.md")).read()):
        m = re.match(r"^(?:\$ )?(build/runway .*)$", line)
        if m:
            cmds.append(m.group(1))
    need = ("run", "report", "compare", "backtest", "explain")
    if len(cmds) < 6 or not all(any(c.split()[1] == n for c in cmds) for n in need):
        print(f"FAIL: expected the README's run, report, compare, backtest and explain examples, "
              f"found {cmds}")
        sys.exit(1)
elif mode == "docs":
    shutil.copy(os.path.join(src, "scenarios", "baseline.yaml"), os.path.join(d, "my.yaml"))
    cmds = []
    for page in ("scenarios.md", "reports.md"):
        for c in indented_commands(open(os.path.join(src, "docs", page)).read()):
            if c.split("runway ", 1)[1].split()[0] in ("run", "sweep", "backtest"):
                c = re.sub(r"\s+#.*$", "", c) + " -n 4000"
            cmds.append(c)
    if len(cmds) < 10:
        print(f"FAIL: only {len(cmds)} examples found: {cmds}")
        sys.exit(1)
else:
    sys.exit(f"unknown mode {mode}")

bad = 0
for c in cmds:
    p = subprocess.run(["bash", "-c", c], cwd=d, env=env, capture_output=True, text=True)
    print(f"[{p.returncode}] {c}")
    if p.returncode != 0:
        bad += 1
        print(f"FAIL: exit {p.returncode}: {p.stderr.strip()[-800:]}")
print("ok" if not bad else f"{bad} example(s) failed")
shutil.rmtree(d, ignore_errors=True)
sys.exit(1 if bad else 0)
