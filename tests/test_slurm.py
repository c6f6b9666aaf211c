"""The Slurm job scripts, run for real on a one-node Slurm cluster on
localhost (scripts/slurm_local.sh: Debian's slurm-wlm and munge).

1. scripts/slurm/submit_sharded.sh submits a job array of 3 shards and a
   merge job that waits for them (--dependency=afterok); the merged file
   equals the unsharded run of the same scenario, seed and path count in
   every result dataset, bit for bit.
2. If runway-mpi is given: runway_mpi.sbatch on 2 ranks (mpirun inside the
   allocation) gives the same file.
3. runway_sweep.sbatch runs one scenario of a list per array task; each
   file equals the direct run.
4. Preemption: a shard sent the warning signal (SIGUSR1 to the batch shell,
   as --signal=B:USR1@T does) stops with a checkpoint, requeues itself, runs
   again and finishes; the merge then equals the unsharded run.

The cluster is started here and its daemons stopped at the end, even on
failure. If Slurm cannot be installed or started, the test fails: it never
skips. Needs root (slurmd runs jobs as the submitting user, and the daemons
are started here).

usage: test_slurm.py RUNWAY SOURCE_DIR [RUNWAY_MPI]"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import h5py

from h5util import run, same_bits, tmpdir

runway, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
runway_mpi = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None
S = os.path.join(src, "scenarios", "baseline.yaml")
slurm_dir = os.path.join(src, "scripts", "slurm")
local = os.path.join(src, "scripts", "slurm_local.sh")
SEED = "7"
DEADLINE = time.monotonic() + 300    # every wait below shares this bound
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
            "BOOT_FAIL", "DEADLINE", "PREEMPTED"}

d = tmpdir()
os.chmod(d, 0o755)   # munged wants every folder above its socket searchable
problems = []
t_start = time.monotonic()

# Slurm commands see only this cluster: no variables from an outer Slurm job.
env = {k: v for k, v in os.environ.items()
       if not k.startswith(("SLURM_", "SBATCH_", "SALLOC_", "SRUN_"))}
env["RUNWAY_SLURM_DIR"] = os.path.join(d, "slurm")
env["RUNWAY"] = runway
if os.geteuid() == 0:   # Open MPI refuses root otherwise (jobs run as root here)
    env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"


def sh(*args, check=True, timeout=60, **kw):
    p = subprocess.run(list(args), capture_output=True, text=True, env=kw.pop("env", env),
                       cwd=d, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


def job_states(job):
    """{job id: (state, restarts)} for a job or every task of an array."""
    out = sh("scontrol", "-o", "show", "job", str(job)).stdout
    states = {}
    for line in out.splitlines():
        f = dict(x.split("=", 1) for x in line.split() if "=" in x)
        key = f.get("JobId", "?")
        if "ArrayTaskId" in f:
            key = f"{f['ArrayJobId']}_{f['ArrayTaskId']}"
        states[key] = (f.get("JobState", "?"), int(f.get("Restarts", "0")))
    return states


def wait_done(*jobs, what):
    """Waits until every job (and array task) has ended; True if all COMPLETED."""
    while True:
        st = {}
        for j in jobs:
            st.update(job_states(j))
        if st and all(s in TERMINAL for s, _ in st.values()):
            bad = {k: s for k, (s, _) in st.items() if s != "COMPLETED"}
            if bad:
                problems.append(f"{what}: jobs did not complete: {bad}")
            return not bad
        if time.monotonic() > DEADLINE:
            problems.append(f"{what}: still not done after the time bound: {st}")
            return False
        time.sleep(0.5)


def wait_for(cond, what):
    while not cond():
        if time.monotonic() > DEADLINE:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def show_logs():
    for name in sorted(os.listdir(d)):
        if name.endswith(".out"):
            with open(os.path.join(d, name)) as f:
                print(f"--- {name}\n{f.read()}", end="")
    for name in ("slurmctld.log", "slurmd.log"):
        p = os.path.join(env["RUNWAY_SLURM_DIR"], name)
        if os.path.exists(p):
            with open(p) as f:
                print(f"--- {name} (last 30 lines)\n" + "".join(f.readlines()[-30:]), end="")


def check_same(result, reference, what):
    if not os.path.exists(result):
        problems.append(f"{what}: no result file {result}")
        return
    diff = same_bits(result, reference)
    if diff:
        problems.append(f"{what}: differs from the unsharded run in {diff}")
    with h5py.File(result) as h:
        if int(h.attrs["complete"]) != 1:
            problems.append(f"{what}: complete = {h.attrs['complete']}, not 1")
        if "survival" not in h:
            problems.append(f"{what}: no survival dataset")


def submit_sharded(out, shards, paths, *runway_args):
    e = dict(env, SCENARIO=S, SHARDS=str(shards), PATHS=paths, SEED=SEED, OUT=out)
    p = sh(os.path.join(slurm_dir, "submit_sharded.sh"), *runway_args, env=e)
    ids = dict(re.findall(r"^(ARRAY_JOB_ID|MERGE_JOB_ID)=(\d+)$", p.stdout, re.M))
    if set(ids) != {"ARRAY_JOB_ID", "MERGE_JOB_ID"}:
        raise AssertionError(f"submit_sharded.sh printed no job ids:\n{p.stdout}{p.stderr}")
    return ids["ARRAY_JOB_ID"], ids["MERGE_JOB_ID"]


def sharded_run_merges_exactly():
    ref = os.path.join(d, "ref.h5")
    run(runway, "run", S, "--paths", "3000", "--seed", SEED, "-o", ref, "-q")
    out = os.path.join(d, "merged.h5")
    array, merge = submit_sharded(out, 3, "3000")
    if wait_done(array, merge, what="array + merge"):
        check_same(out, ref, "3 shards merged by the Slurm merge job")
    return ref


def mpi_job_equals(ref):
    out = os.path.join(d, "mpi.h5")
    e = dict(env, SCENARIO=S, PATHS="3000", SEED=SEED, OUT=out, RUNWAY=runway_mpi)
    job = sh("sbatch", "--parsable", "--ntasks=2",
             os.path.join(slurm_dir, "runway_mpi.sbatch"), env=e).stdout.strip().split(";")[0]
    if wait_done(job, what="MPI job"):
        check_same(out, ref, "runway_mpi.sbatch on 2 ranks")


def sweep_array_runs_each_scenario():
    names = ["baseline", "price_war"]
    lst = os.path.join(d, "sweep.txt")
    with open(lst, "w") as f:
        f.write("# the sweep\n\n")
        f.writelines(os.path.join(src, "scenarios", f"{n}.yaml") + "\n" for n in names)
    outdir = os.path.join(d, "sweep")
    e = dict(env, SCENARIO_LIST=lst, OUTDIR=outdir, PATHS="2000", SEED=SEED)
    job = sh("sbatch", "--parsable", f"--array=0-{len(names) - 1}",
             os.path.join(slurm_dir, "runway_sweep.sbatch"), "--per-path", "outcomes",
             env=e).stdout.strip().split(";")[0]
    if wait_done(job, what="sweep array"):
        for n in names:
            ref = os.path.join(d, f"ref_{n}.h5")
            run(runway, "run", os.path.join(src, "scenarios", f"{n}.yaml"), "--paths", "2000",
                "--seed", SEED, "--per-path", "outcomes", "-o", ref, "-q")
            check_same(os.path.join(outdir, f"{n}.h5"), ref, f"sweep task for {n}")


def preempted_shard_requeues_and_finishes():
    paths = "2000000"    # about 4 s per shard on one core: time to signal it
    ref = os.path.join(d, "ref_big.h5")
    run(runway, "run", S, "--paths", paths, "--seed", SEED, "--per-path", "none",
        "-o", ref, "-q")
    out = os.path.join(d, "preempted.h5")
    array, merge = submit_sharded(out, 2, paths, "--per-path", "none")
    task = f"{array}_0"
    log = os.path.join(d, f"runway-shard-{task}.out")

    def started():
        return os.path.exists(log) and " run " in open(log).read()
    wait_for(started, "shard 0 to start")
    time.sleep(0.5)   # runway has installed its signal handlers by now
    # What --signal=B:USR1@T does at T seconds before the time limit.
    sh("scancel", "--batch", "--signal=USR1", task)
    # Requeued jobs are held for a while (BeginTime); let it start at once.
    def requeued():
        state, restarts = job_states(task).get(task, ("?", 0))
        if state in TERMINAL and restarts == 0:
            raise AssertionError(f"shard 0 ended ({state}) without being requeued")
        return state == "PENDING" and restarts >= 1
    wait_for(requeued, "shard 0 to be requeued")
    # Let slurmd finish tearing down the old step first: starting the job
    # at once can race it ("Job credential revoked"), seen under ASan.
    time.sleep(3)
    sh("scontrol", "update", f"JobId={task}", "StartTime=now")
    if wait_done(array, merge, what="preempted array + merge"):
        check_same(out, ref, "merge after a preempted, requeued shard")
    text = open(log).read()
    for want in ("checkpoint written", "requeued", "done:"):
        if want not in text:
            problems.append(f"preempted shard's log lacks '{want}'")
    if job_states(task)[task][1] != 1:
        problems.append(f"shard 0 restarted {job_states(task)[task][1]} times, not once")


def on_term(signum, frame):   # CTest's timeout: still stop the daemons
    raise SystemExit(f"killed by signal {signum}")


signal.signal(signal.SIGTERM, on_term)
try:
    p = subprocess.run(["bash", local, "up"], capture_output=True, text=True, env=env,
                       timeout=240)
    m = re.search(r"^export SLURM_CONF=(\S+)$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise AssertionError(f"scripts/slurm_local.sh up failed ({p.returncode}):\n"
                             f"{p.stdout}{p.stderr}")
    env["SLURM_CONF"] = m.group(1)
    t_up = time.monotonic()
    print(f"cluster up in {t_up - t_start:.1f} s")
    ref = sharded_run_merges_exactly()
    print(f"sharded run + merge: {time.monotonic() - t_up:.1f} s")
    if runway_mpi:
        t = time.monotonic()
        mpi_job_equals(ref)
        print(f"MPI job: {time.monotonic() - t:.1f} s")
    else:
        print("runway-mpi not built: the MPI job script is not run")
    t = time.monotonic()
    sweep_array_runs_each_scenario()
    print(f"sweep array: {time.monotonic() - t:.1f} s")
    t = time.monotonic()
    preempted_shard_requeues_and_finishes()
    print(f"preempted shard, requeue, merge: {time.monotonic() - t:.1f} s")
except (AssertionError, subprocess.TimeoutExpired, SystemExit) as e:
    problems.append(str(e))
finally:
    if problems:
        show_logs()
    down = subprocess.run(["bash", local, "down"], capture_output=True, text=True, env=env,
                          timeout=60)
    if down.returncode != 0:
        problems.append(f"scripts/slurm_local.sh down failed: {down.stderr}")

for p in problems:
    print("FAIL:", p)
if problems:
    print(f"files and job logs kept in {d}")
else:
    shutil.rmtree(d, ignore_errors=True)
print(f"{'ok' if not problems else f'{len(problems)} problem(s)'} "
      f"in {time.monotonic() - t_start:.1f} s")
sys.exit(1 if problems else 0)
