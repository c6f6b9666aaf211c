"""Faults end in a clear error or a correct file, never a crash, a hang, or
a file at the final path that claims to be complete:
 - allocation failure at each of runway's own allocations in a short run
   (every site the run reaches), once and for good; allocations inside
   HDF5 are out of scope: HDF5 1.10 itself crashes on some of its own
   (docs/faults.md);
 - a full disk (a file-size limit, as `ulimit -f`), so HDF5 writes fail;
 - the output directory removed while the run writes into it;
 - SIGKILL at random moments."""
import glob
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import h5py

runway, failmalloc, src = sys.argv[1], sys.argv[2], sys.argv[3]
S = os.path.join(src, "scenarios", "baseline.yaml")
d = os.path.realpath(subprocess.check_output(["mktemp", "-d"], text=True).strip())
out = os.path.join(d, "out.h5")
problems = []
ARGS = [runway, "run", S, "--paths", "300", "-t", "1", "-q", "--keep-paths", "10", "-o", out]


def complete(path):
    try:
        with h5py.File(path) as h:
            return int(h.attrs["complete"]) == 1 and h["survival"].shape[0] > 0
    except Exception:
        return False


def check_outcome(label, p, must_fail=False):
    if p.returncode < 0:
        problems.append(f"{label}: killed by signal {-p.returncode} (a crash)")
    elif p.returncode == 0:
        if must_fail:
            problems.append(f"{label}: exit 0")
        elif not complete(out):
            problems.append(f"{label}: exit 0 but the file is not a complete result")
    else:
        lines = p.stderr.strip().splitlines()
        if not lines:
            problems.append(f"{label}: exit {p.returncode} with no message")
        if os.path.exists(out):
            problems.append(f"{label}: failed run left a file at the final path")
    for t in glob.glob(out + ".tmp-*"):
        problems.append(f"{label}: left {os.path.basename(t)}")
        os.remove(t)
    if os.path.exists(out):
        os.remove(out)


# 1. allocation failure
env = dict(os.environ, LD_PRELOAD=failmalloc, FAILMALLOC_OWN="1", FAILMALLOC_COUNT=os.path.join(d, "count"))
subprocess.run(ARGS, env=env, check=True, capture_output=True)
total = int(open(os.path.join(d, "count")).read())
os.remove(out)
# every one of them (a short run makes a few hundred)
points = list(range(1, total + 1))
crashes = 0
for n in points:
    for after in (False, True) if n % 3 == 0 else (False,):
        e = dict(env, FAILMALLOC_AT=str(n))
        if after:
            e["FAILMALLOC_AFTER"] = "1"
        try:
            p = subprocess.run(ARGS, env=e, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            problems.append(f"allocation {n} failing: hung")
            continue
        check_outcome(f"allocation {n}{'+' if after else ''} of {total} failing", p)
print(f"allocation failure injected at each of runway's {total} allocations")
if total < 50:
    problems.append(f"only {total} allocations counted: is the injector working?")

# 2. a full disk: writes beyond 2 MB fail (EFBIG, not SIGXFSZ)
big = [runway, "run", S, "--paths", "40000", "-q", "-o", out]
p = subprocess.run(["bash", "-c", 'ulimit -f 2048; exec "$@"', "bash"] + big,
                   capture_output=True, text=True, timeout=300)
check_outcome("file-size limit (disk full)", p, must_fail=True)
if p.returncode > 0 and "out.h5" not in p.stderr:
    problems.append(f"disk full: message does not name the file: {p.stderr.strip()}")

# 3. the output directory disappears mid-run
gone = os.path.join(d, "gone")
os.mkdir(gone)
target = os.path.join(gone, "x.h5")
proc = subprocess.Popen([runway, "run", S, "--paths", "400000", "-q", "-o", target],
                        stderr=subprocess.PIPE, text=True)
# remove the folder once the run is writing into it (its temporary file
# exists), not after a fixed sleep that a fast build could outrun
deadline = time.time() + 120
while not glob.glob(target + ".tmp-*") and proc.poll() is None and time.time() < deadline:
    time.sleep(0.01)
shutil.rmtree(gone)
_, err = proc.communicate(timeout=300)
if proc.returncode <= 0 or not err.strip():
    problems.append(f"vanished directory: exit {proc.returncode}, message {err.strip()!r}")
if os.path.exists(target):
    problems.append("vanished directory: a file appeared at the final path")

# 4. SIGKILL at random moments: nothing at the final path, or a complete file
rng = random.Random(20251231)
for k in range(8):
    proc = subprocess.Popen([runway, "run", S, "--paths", "60000", "-q", "-o", out])
    time.sleep(rng.uniform(0.02, 1.2))
    proc.kill()
    proc.wait()
    if os.path.exists(out) and not complete(out):
        problems.append(f"SIGKILL {k}: the final path holds an incomplete file")
    for t in glob.glob(out + ".tmp-*"):
        try:
            with h5py.File(t) as h:
                if int(h.attrs["complete"]) != 0:
                    problems.append(f"SIGKILL {k}: a temporary file claims complete = 1")
        except Exception:
            pass
        os.remove(t)
    if os.path.exists(out):
        os.remove(out)

shutil.rmtree(d, ignore_errors=True)
for q in problems[:30]:
    print("FAIL:", q)
print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
