"""Hostile inputs and an unlucky world (issue 18): one CTest per case,
named for the behaviour it proves. Usage: test_hostile.py RUNWAY SRC CASE.
Exit 77 (CTest's SKIP_RETURN_CODE) where a case needs root and does not
have it; CI runs as root."""
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

runway, src, case = sys.argv[1], sys.argv[2], sys.argv[3]
S = os.path.join(src, "scenarios", "baseline.yaml")
d = os.path.realpath(tempfile.mkdtemp(prefix="runway-hostile-"))
os.chmod(d, 0o755)
problems = []
SKIP = 77
# Time limits are for the normal build; sanitised builds (ASan's
# allocator) run several times slower: tests/fault.cmake sets the factor.
SLOW = float(os.environ.get("RUNWAY_TIME_FACTOR", "1"))


def run(*args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run([runway, *args], **kw)


def check(cond, what):
    if not cond:
        problems.append(what)


def complete(path):
    with h5py.File(path, "r") as h:
        return int(h.attrs["complete"])


def one_line(p):
    lines = p.stderr.strip().splitlines()
    return len(lines) == 1, lines


def leftovers(where=None):
    return glob.glob(os.path.join(where or d, "*.tmp-*"))


def checkpoint(out, n="2000000", sig=signal.SIGTERM):
    """A run stopped by sig after its first blocks: a checkpoint at out."""
    # --per-path outcomes: light on disk (raised_total and final_cash kept)
    p = subprocess.Popen([runway, "run", S, "-n", n, "-t", "1", "-q", "-k", "20",
                          "--per-path", "outcomes", "-o", out],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # signal once it simulates (its temporary file exists: the handlers
    # are in place), not after a fixed time a sanitised build may need
    deadline = time.time() + 120
    while not glob.glob(out + ".tmp-*") and p.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(1.0)
    p.send_signal(sig)
    _, err = p.communicate(timeout=600)
    return p.returncode, err


def pids_ahead(n):
    """The next n PIDs the kernel will hand out (roughly)."""
    last = int(open("/proc/sys/kernel/ns_last_pid").read())
    top = int(open("/proc/sys/kernel/pid_max").read())
    return [(last + k) % top for k in range(1, n + 1)]


# ---------------------------------------------------------------- 1, 2
def temporaries_resist_planted_symlinks():
    victim = os.path.join(d, "victim.txt")
    with open(victim, "w") as f:
        f.write("precious\n")
    out = os.path.join(d, "out.h5")
    # The old name was OUT.h5.tmp-PID: plant it for the next PIDs.
    for pid in pids_ahead(5000):
        os.symlink(victim, f"{out}.tmp-{pid}")
    p = run("run", S, "-n", "2000", "-q", "-o", out)
    check(p.returncode == 0, f"run failed: {p.stderr}")
    check(open(victim, "rb").read() == b"precious\n", "the victim's file was overwritten through a planted link")
    check(os.path.isfile(out) and not os.path.islink(out), "out.h5 is not a regular file of ours")
    if os.path.isfile(out) and not os.path.islink(out):
        check(complete(out) == 1, "out.h5 is not complete")
    # a checkpoint and a merge write their temporaries the same way
    rc, err = checkpoint(out)
    check(rc == 75, f"checkpoint: exit {rc}: {err}")
    check(open(victim, "rb").read() == b"precious\n", "a checkpoint overwrote the victim's file")
    for f in glob.glob(out + ".tmp-*"):
        os.remove(f)


def runs_sharing_a_pid_never_share_a_temporary():
    # Two runs in different PID namespaces both run as PID 1: the old
    # temporary name OUT.h5.tmp-1 was shared. Another run's file there
    # must survive this run untouched.
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("skipped: needs root and unshare(1) for a PID namespace")
        sys.exit(SKIP)
    out = os.path.join(d, "out.h5")
    other = out + ".tmp-1"
    with open(other, "w") as f:
        f.write("another run's unfinished file\n")
    p = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", runway, "run", S, "-n", "2000",
                        "-q", "-o", out], capture_output=True, text=True, timeout=300)
    if p.returncode != 0 and "unshare" in p.stderr:
        print(f"skipped: cannot make a PID namespace here: {p.stderr.strip()}")
        sys.exit(SKIP)
    check(p.returncode == 0, f"run as PID 1 failed: {p.stderr}")
    check(os.path.exists(other) and open(other).read() == "another run's unfinished file\n",
          "the other run's temporary file was truncated or renamed")
    check(os.path.isfile(out) and complete(out) == 1, "out.h5 is not this run's complete file")


# ---------------------------------------------------------------- 3
def output_to_device_node_is_refused():
    targets = []
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    targets.append(fifo)
    if os.geteuid() == 0:
        dev = os.path.join(d, "null")
        os.mknod(dev, 0o666 | 0o020000, os.makedev(1, 3))
        targets.append(dev)
    for t in targets:
        mode = os.lstat(t).st_mode
        p = run("run", S, "-n", "100", "-q", "-o", t)
        ok, lines = one_line(p)
        check(p.returncode != 0 and ok and "not a regular file" in p.stderr,
              f"-o {t}: exit {p.returncode}: {lines}")
        check(os.lstat(t).st_mode == mode, f"-o {t}: the node was replaced")
    check(not leftovers(), f"left {leftovers()}")


# ---------------------------------------------------------------- 4
def rename_failure_keeps_the_result_and_says_where():
    if os.geteuid() != 0:
        print("skipped: needs root, to run as another user in a sticky directory")
        sys.exit(SKIP)
    user = "runwaytest"
    if subprocess.run(["id", user], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                       check=True)
    sticky = os.path.join(d, "shared")
    os.mkdir(sticky)
    os.chmod(sticky, 0o1777)
    exe = os.path.join(d, "runway")
    shutil.copy(runway, exe)
    scen = os.path.join(d, "s.yaml")
    shutil.copy(S, scen)
    os.chmod(exe, 0o755)
    os.chmod(scen, 0o644)
    as_user = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", exe]
    out = os.path.join(sticky, "out.h5")
    # (a) a file of another user at the output path: refused before any work
    with open(out, "w") as f:
        f.write("root's\n")
    t0 = time.time()
    p = subprocess.run(as_user + ["run", scen, "-n", "3000000", "--per-path", "none", "-q", "-o", out],
                       capture_output=True, text=True, timeout=300)
    dt = time.time() - t0
    check(p.returncode != 0 and "another user" in p.stderr and dt < 5,
          f"(a) exit {p.returncode} after {dt:.1f} s: {p.stderr.strip()}")
    check(not leftovers(sticky), f"(a) left {leftovers(sticky)}")
    os.remove(out)
    # (b) the file appears during the run: the complete result is kept
    proc = subprocess.Popen(as_user + ["run", scen, "-n", "400000", "-t", "1", "--per-path", "none",
                                       "-q", "-o", out], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if leftovers(sticky):
            break
        time.sleep(0.05)
    with open(out, "w") as f:
        f.write("root's\n")
    _, err = proc.communicate(timeout=300)
    kept = leftovers(sticky)
    check(proc.returncode != 0, f"(b) exit 0: {err}")
    check(len(kept) == 1 and kept[0] in err and "kept at" in err,
          f"(b) the message does not name the kept file: {err.strip()} (left {kept})")
    if len(kept) == 1:
        check(complete(kept[0]) == 1, "(b) the kept file is not the complete result")
    # (c) the same for a checkpoint written on SIGTERM
    for f in kept:
        os.remove(f)
    os.remove(out)
    proc = subprocess.Popen(as_user + ["run", scen, "-n", "3000000", "-t", "1", "--per-path", "none",
                                       "-q", "-o", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    with open(out, "w") as f:
        f.write("root's\n")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    kept = leftovers(sticky)
    check(len(kept) == 1 and kept[0] in err and "checkpoint is kept at" in err,
          f"(c) the checkpoint was not kept and named: {err.strip()} (left {kept})")


# ---------------------------------------------------------------- 5
def batch_refuses_two_scenarios_with_one_output_name():
    for sub in ("a", "b"):
        os.mkdir(os.path.join(d, sub))
        shutil.copy(S, os.path.join(d, sub, "s.yaml"))
    outdir = os.path.join(d, "out")
    os.mkdir(outdir)
    p = run("run", os.path.join(d, "a", "s.yaml"), os.path.join(d, "b", "s.yaml"), "-n", "1000",
            "-q", "-O", outdir)
    check(p.returncode != 0 and "would both be written to" in p.stderr,
          f"exit {p.returncode}: {p.stderr.strip()}")
    check(os.listdir(outdir) == [], f"wrote {os.listdir(outdir)}")


# ---------------------------------------------------------------- 6
def timed_env():
    """The environment for a timed case. Under the sanitizers CI asks ASan
    for full stacks on every malloc (fast_unwind_on_malloc=0, for the leak
    suppressions), which makes each of 200,000 allocations cost a stack
    walk: 28 s for a linear parse. The timed cases measure the parser's
    order, not the unwinder, so they unwind fast and leave leak checking of
    the refusals to the fuzz replays (deep and oversized documents)."""
    env = dict(os.environ)
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] += ":fast_unwind_on_malloc=1:detect_leaks=0"
    return env


def deep_nesting_is_refused_in_under_a_second():
    cases = {
        "100k [": "[" * 100000 + "]" * 100000 + "\n",
        "100k {a: ": "{a: " * 100000 + "}" * 100000 + "\n",
        "300k keys": "{" + ",".join(f"k{i}: 1" for i in range(300000)) + "}\n",
        "1.5M items": "[" + ",".join("1" for _ in range(1500000)) + "]\n",
    }
    for label, text in cases.items():
        f = os.path.join(d, "deep.yaml")
        with open(f, "w") as fh:
            fh.write(text)
        t0 = time.time()
        p = run("validate", f, env=timed_env())
        dt = time.time() - t0
        ok, lines = one_line(p)
        check(p.returncode == 1 and ok and dt < 1.0 * SLOW, f"{label}: exit {p.returncode} in {dt:.2f} s: {lines}")
    t0 = time.time()
    p = run("validate", S, "--set", "OpenAI.cash0=" + "[" * 60000, env=timed_env())
    dt = time.time() - t0
    check(p.returncode == 1 and "nested more than 64" in p.stderr and dt < 1.0 * SLOW,
          f"--set 60k deep: exit {p.returncode} in {dt:.2f} s: {p.stderr.strip()[:200]}")
    t0 = time.time()
    p = run("validate", "/dev/zero", env=timed_env())
    dt = time.time() - t0
    check(p.returncode == 1 and "larger than 4 MiB" in p.stderr and dt < 1.0 * SLOW,
          f"/dev/zero: exit {p.returncode} in {dt:.2f} s: {p.stderr.strip()}")


# ---------------------------------------------------------------- 7
def signals_leave_a_checkpoint_or_nothing_and_say_so():
    out = os.path.join(d, "out.h5")
    for sig in (signal.SIGHUP, signal.SIGQUIT):
        rc, err = checkpoint(out, sig=sig)
        check(rc == 75 and "checkpoint" in err, f"run, {sig.name}: exit {rc}: {err.strip()}")
        check(os.path.exists(out) and complete(out) == 0, f"run, {sig.name}: no checkpoint")
        check(not leftovers(), f"run, {sig.name}: left {leftovers()}")
        if os.path.exists(out):
            os.remove(out)
    # merge: shards of a run big enough that the merge takes seconds
    shards = []
    for i in range(2):
        sh = os.path.join(d, f"part{i}.h5")
        p = run("run", S, "-n", "250000", "--shard", f"{i}/2", "--per-path", "outcomes", "-q", "-o", sh)
        check(p.returncode == 0, f"shard {i}: {p.stderr}")
        shards.append(sh)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        proc = subprocess.Popen([runway, "merge", *shards, "-t", "1", "-q", "-o", out],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.7)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=300)
        check(proc.returncode != 0 and "no result written" in err,
              f"merge, {sig.name}: exit {proc.returncode}: {err.strip()}")
        check(not leftovers() and not os.path.exists(out),
              f"merge, {sig.name}: left {leftovers()} {os.path.exists(out)}")
    # sweep: the variants complete before the signal are named
    sd = os.path.join(d, "sweep")
    os.mkdir(sd)
    proc = subprocess.Popen([runway, "sweep", S, "--vary", "OpenAI.cash0=20,40,60", "-n", "60000",
                             "-t", "1", "-q", "-O", sd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if len(glob.glob(os.path.join(sd, "*_v00[12].h5"))) == 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    done = sorted(glob.glob(os.path.join(sd, "*.h5")))
    check(proc.returncode != 0 and f"{len(done)} of 3 complete" in err
          and all(f in err for f in done), f"sweep, SIGTERM: {err.strip()} (files {done})")
    check(not leftovers(sd), f"sweep: left {leftovers(sd)}")


# ---------------------------------------------------------------- 8
def huge_per_path_runs_are_refused_up_front_with_the_figure():
    out = os.path.join(d, "out.h5")
    t0 = time.time()
    p = run("run", S, "-n", str(2 ** 40), "-q", "-o", out)
    dt = time.time() - t0
    ok, lines = one_line(p)
    check(p.returncode == 1 and ok and "GB free" in p.stderr and dt < 5,
          f"exit {p.returncode} in {dt:.1f} s: {lines}")
    check(not leftovers() and not os.path.exists(out), "left a file")


# ---------------------------------------------------------------- 9
def resume_and_merge_refuse_states_the_engine_cannot_produce():
    base = os.path.join(d, "ck.h5")
    rc, err = checkpoint(base)
    check(rc == 75, f"checkpoint: {err}")

    def edit(label, fn, want):
        f = os.path.join(d, "edited.h5")
        shutil.copy(base, f)
        with h5py.File(f, "r+") as h:
            fn(h)
        p = run("run", "--resume", f, "-q")
        ok, lines = one_line(p)
        check(p.returncode == 1 and ok and want in p.stderr,
              f"resume, {label}: exit {p.returncode}: {lines}")
        check(complete(f) == 0 if os.path.exists(f) else True, f"resume, {label}: made it complete")

    def setv(name, idx, v):
        def fn(h):
            a = h[name][...]
            a[idx] = v
            h[name][...] = a
        return fn

    def alive_index(h):
        a = h["state/traj_alive"][...]
        return np.argwhere(a.reshape(a.shape[0], -1) == 1)[0]

    def cash(v):
        def fn(h):
            i = alive_index(h)
            a = h["state/traj_cash"][...]
            a.reshape(a.shape[0], -1)[i[0], i[1]] = v
            h["state/traj_cash"][...] = a
        return fn

    def revenue(h):
        i = alive_index(h)
        a = h["state/traj_revenue"][...]
        a.reshape(a.shape[0], -1)[i[0], i[1]] = -1.0
        h["state/traj_revenue"][...] = a

    def version(h):
        h.attrs.modify("runway_version", np.bytes_(b"0.0.1"))

    edit("NaN cash of a living lab", cash(float("nan")), "not finite")
    edit("1e300 cash of a living lab", cash(1e300), "extremes")
    edit("negative revenue", revenue, "out of its domain")
    edit("raised_total 99999 of a kept path", setv("paths/raised_total", (0, 0), 99999.0),
         "disagrees with its kept trajectory")
    edit("NaN raised_total", setv("paths/raised_total", (0, 1), float("nan")), "raised_total")
    edit("an older runway_version", version, "written by runway 0.0")
    # merge: the same checks on shards
    shards = []
    for i in range(2):
        sh = os.path.join(d, f"s{i}.h5")
        run("run", S, "-n", "4000", "--shard", f"{i}/2", "-q", "-o", sh)
        shards.append(sh)
    with h5py.File(shards[1], "r+") as h:
        a = h["paths/raised_total"][...]
        a[5, 0] = float("nan")
        h["paths/raised_total"][...] = a
    out = os.path.join(d, "merged.h5")
    p = run("merge", *shards, "-q", "-o", out)
    check(p.returncode == 1 and "raised_total" in p.stderr and not os.path.exists(out),
          f"merge, NaN raised_total: exit {p.returncode}: {p.stderr.strip()}")
    with h5py.File(shards[0], "r+") as h:
        h.attrs.modify("runway_version", np.bytes_(b"0.0.1"))
    p = run("merge", *shards, "-q", "-o", out)
    check(p.returncode == 1 and "written by runway 0.0" in p.stderr,
          f"merge, older version: exit {p.returncode}: {p.stderr.strip()}")


# ---------------------------------------------------------------- 10
def resume_refuses_options_it_would_ignore():
    ck = os.path.join(d, "ck.h5")
    rc, err = checkpoint(ck, n="1000000")
    check(rc == 75, f"checkpoint: {err}")
    other = os.path.join(d, "other.h5")
    for opts in (["-n", "10"], ["-s", "3"], ["--set", "OpenAI.cash0=5"], ["--per-path", "none"],
                 ["-k", "3"], ["--shard", "0/2"], ["--target-halfwidth", "0.01"], ["-o", other]):
        p = run("run", "--resume", ck, *opts)
        ok, lines = one_line(p)
        check(p.returncode == 2 and ok and opts[0] in p.stderr, f"--resume {opts}: exit {p.returncode}: {lines}")
    check(not os.path.exists(other), "-o other.h5 was written")
    check(complete(ck) == 0, "the checkpoint was changed")
    p = run("run", "--resume", ck, "-q", "-t", "1")
    check(p.returncode == 0 and complete(ck) == 1, f"--resume -q -t 1 refused: {p.stderr}")


# ---------------------------------------------------------------- 11
def names_are_limited_and_printed_names_are_sanitised():
    text = open(S).read()
    for label, name, want in (("10,000 characters", "O" * 10000, "at most 64 characters"),
                              ("an escape sequence", '"Open\\e[31mAI"', "control character U+001B"),
                              ("a newline", '"Open\\nAI"', "control character U+000A"),
                              ("a C1 control", '"Open\\u009bAI"', "control character U+009B")):
        f = os.path.join(d, "n.yaml")
        with open(f, "w") as fh:
            fh.write(text.replace("name: OpenAI", "name: " + name, 1))
        p = run("validate", f)
        ok, lines = one_line(p)
        check(p.returncode == 1 and ok and want in p.stderr and "\x1b" not in p.stderr,
              f"lab name with {label}: exit {p.returncode}: {lines}")
    # a checkpoint made elsewhere, with an escape sequence in its stored
    # scenario: resume refuses it and prints no escape
    ck = os.path.join(d, "ck.h5")
    checkpoint(ck)
    with h5py.File(ck, "r+") as h:
        y = h.attrs["scenario_yaml"]
        y = y.decode() if isinstance(y, bytes) else y
        h.attrs["scenario_yaml"] = y.replace("name: OpenAI", 'name: "\\e]0;pwned\\aOpenAI"', 1)
    p = run("run", "--resume", ck, "-q")
    check(p.returncode == 1 and "\x1b" not in p.stderr and "\x07" not in p.stderr,
          f"resume of a file with an escape in a name: exit {p.returncode}: {p.stderr!r}")


# ---------------------------------------------------------------- 13
def messages_name_the_rule_and_the_value():
    p = run("validate", S, "--set", "OpenAI.cash0=5\n---\nx")
    check(p.returncode == 1 and "only one YAML document" in p.stderr, f"--set 2 documents: {p.stderr.strip()}")
    p = run("validate", S, "--set", "market.sentiment.rho=1.0000001")
    check(p.returncode == 1 and "1.0000001" in p.stderr, f"rho 1.0000001: {p.stderr.strip()}")
    p = run("run", S, "-n", str(2 ** 63), "-q", "-o", os.path.join(d, "x.h5"))
    check(p.returncode == 2, f"-n 2^63: exit {p.returncode}: {p.stderr.strip()}")
    # a thread that cannot start is OpenMP's failure, not HDF5's
    p = subprocess.run(["bash", "-c", f"ulimit -v 600000; exec {runway} run {S} -n 5000 -t 4096 -q "
                        f"-o {os.path.join(d, 't.h5')}"], capture_output=True, text=True, timeout=300)
    if "Thread creation failed" in p.stderr:
        check("OpenMP could not start threads" in p.stderr and "-t" in p.stderr,
              f"failed thread creation: {p.stderr.strip()}")
    long = os.path.join(d, "a" * 247 + ".h5")  # 250 bytes, a valid name
    p = run("run", S, "-n", "100", "-q", "-o", long)
    check(p.returncode == 0 and os.path.exists(long), f"a 250-byte output name: {p.stderr.strip()}")
    check(not leftovers(), f"left {leftovers()}")


CASES = {f.__name__: f for f in (
    temporaries_resist_planted_symlinks, runs_sharing_a_pid_never_share_a_temporary,
    output_to_device_node_is_refused, rename_failure_keeps_the_result_and_says_where,
    batch_refuses_two_scenarios_with_one_output_name, deep_nesting_is_refused_in_under_a_second,
    signals_leave_a_checkpoint_or_nothing_and_say_so,
    huge_per_path_runs_are_refused_up_front_with_the_figure,
    resume_and_merge_refuse_states_the_engine_cannot_produce,
    resume_refuses_options_it_would_ignore, names_are_limited_and_printed_names_are_sanitised,
    messages_name_the_rule_and_the_value)}

try:
    CASES[case]()
finally:
    shutil.rmtree(d, ignore_errors=True)
for pr in problems:
    print("FAIL:", pr)
sys.exit(1 if problems else 0)
