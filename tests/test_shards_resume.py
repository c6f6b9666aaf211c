"""Shards 0/3, 1/3, 2/3 merged (in any order) equal the whole run in every
result dataset; merges of shards that do not belong together are refused
with one line and no file; a run sent SIGTERM part-way writes a checkpoint
(complete = 0, exit 75) that --resume turns into the uninterrupted file,
bit for bit (with --per-path none too); a SIGKILLed run leaves nothing that
claims to be complete."""
import glob
import os
import signal
import subprocess
import sys
import time

import h5py

from h5util import run, same_bits, tmpdir


def signal_mid_run(cmd, out, sig):
    """Starts cmd and sends sig once it is simulating: its temporary output
    file exists (created once the handlers are in place and before the
    first path), then 0.3 s more and, for a run that keeps per-path data,
    until the file has grown by 1 MB (some blocks' rows are in it). A fixed
    sleep would race the run's speed: too early on a slow (sanitised) build
    on a busy machine, after the end on a fast one."""
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    tmp = []
    while not tmp and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
        tmp = glob.glob(out + ".tmp-*")
    def size():
        try:
            return os.path.getsize(tmp[0]) if tmp else 0
        except OSError:
            return 0
    size0 = size()
    time.sleep(0.3)
    if "none" not in cmd:
        while size() < size0 + 2**20 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
    if proc.poll() is None:
        proc.send_signal(sig)
    _, err = proc.communicate()
    return proc, err

runway, src = sys.argv[1], sys.argv[2]
S = os.path.join(src, "scenarios", "baseline.yaml")
d = tmpdir()
problems = []
P = "30000"

shards = []
for i in range(3):
    f = os.path.join(d, f"s{i}.h5")
    run(runway, "run", S, "--shard", f"{i}/3", "--paths", P, "-o", f, "-q", "-t", "2" if i else "1")
    shards.append(f)
with h5py.File(shards[1]) as h:
    if int(h.attrs["complete"]) != 0:
        problems.append("a shard file must not claim complete = 1")
whole = os.path.join(d, "whole.h5")
run(runway, "run", S, "--paths", P, "-o", whole, "-q")
merged = os.path.join(d, "merged.h5")
run(runway, "merge", shards[2], shards[0], shards[1], "-o", merged, "-q")
diff = same_bits(merged, whole)
if diff:
    problems.append(f"merged shards differ from the whole run in {diff}")

# merges that must be refused
other = os.path.join(d, "other_seed.h5")
run(runway, "run", S, "--shard", "2/3", "--paths", P, "--seed", "5", "-o", other, "-q")
bad = os.path.join(d, "bad.h5")
for args, why in ((shards[:2], "missing"), (shards + [shards[1]], "given twice"),
                  ([shards[0], shards[1], other], "not a shard of the same run"),
                  ([whole], "no saved state")):
    p = run(runway, "merge", *args, "-o", bad, check=False)
    lines = p.stderr.strip().splitlines()
    if p.returncode != 1 or len(lines) != 1 or why not in lines[0] or os.path.exists(bad):
        problems.append(f"merge ({why}) gave rc {p.returncode}, {lines}")

# SIGTERM, checkpoint, resume
ck = os.path.join(d, "ck.h5")
N = "600000"
ref = os.path.join(d, "ref.h5")
run(runway, "run", S, "--paths", N, "-o", ref, "-q")
proc, err = signal_mid_run([runway, "run", S, "--paths", N, "-o", ck, "-q", "-t", "2"], ck,
                           signal.SIGTERM)
if proc.returncode != 75:
    problems.append(f"SIGTERM should exit 75 with a checkpoint, got {proc.returncode}: {err}")
else:
    with h5py.File(ck) as h:
        done = int(h.attrs["paths_done"])
        if int(h.attrs["complete"]) != 0 or not 0 < done < int(N):
            problems.append(f"checkpoint: complete={h.attrs['complete']} paths_done={done}")
    p = run(runway, "compare", ck, ck, check=False)
    if p.returncode == 0:
        problems.append("compare must refuse an incomplete checkpoint")
    run(runway, "run", "--resume", ck, "-q", "-t", "1")
    diff = same_bits(ck, ref)
    if diff:
        problems.append(f"resumed run differs from the uninterrupted one in {diff}")

# a shard stopped by SIGUSR1 resumes as a shard and still merges exactly
a, b = os.path.join(d, "ka.h5"), os.path.join(d, "kb.h5")
proc, _ = signal_mid_run([runway, "run", S, "--shard", "0/2", "--paths", N, "-o", a, "-q", "-t", "1"],
                         a, signal.SIGUSR1)
if proc.returncode != 75:
    problems.append(f"shard SIGUSR1 should exit 75, got {proc.returncode}")
run(runway, "run", "--resume", a, "-q")
run(runway, "run", S, "--shard", "1/2", "--paths", N, "-o", b, "-q")
km = os.path.join(d, "km.h5")
run(runway, "merge", a, b, "-o", km, "-q")
if proc.returncode == 75:
    diff = same_bits(km, ref)
    if diff:
        problems.append(f"resumed shard merged differs from the whole run in {diff}")

# --per-path none: the checkpoint has no path axis; it resumes all the same
# (it was refused as "not a checkpoint" before the fuzz target's untouched
# inputs caught it: tests/fuzz/regressions/results/resume_per_path_none_checkpoint)
cn = os.path.join(d, "ck_none.h5")
proc, _ = signal_mid_run([runway, "run", S, "--paths", N, "--per-path", "none", "-o", cn, "-q",
                          "-t", "1"], cn, signal.SIGTERM)
if proc.returncode != 75:
    problems.append(f"--per-path none: SIGTERM should exit 75, got {proc.returncode}")
else:
    p = run(runway, "run", "--resume", cn, "-q", check=False)
    refn = os.path.join(d, "ref_none.h5")
    run(runway, "run", S, "--paths", N, "--per-path", "none", "-o", refn, "-q")
    diff = same_bits(cn, refn) if p.returncode == 0 else f"exit {p.returncode}: {p.stderr.strip()}"
    if diff:
        problems.append(f"--per-path none checkpoint resumed differs from the uninterrupted run: {diff}")

# SIGKILL: no file at the final path; the temporary one says complete = 0
kk = os.path.join(d, "killed.h5")
signal_mid_run([runway, "run", S, "--paths", N, "-o", kk, "-q"], kk, signal.SIGKILL)
if os.path.exists(kk):
    problems.append("a SIGKILLed run left a file at the final path")
for t in glob.glob(kk + ".tmp-*"):
    try:
        with h5py.File(t) as h:
            if int(h.attrs["complete"]) != 0:
                problems.append("a killed run's temporary file claims complete = 1")
    except OSError:
        pass  # unreadable is fine: it can never pass for a result

for q in problems:
    print("FAIL:", q)
print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
