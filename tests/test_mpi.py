"""mpirun --oversubscribe -np 1, 2 and 3 give the single-process run's
datasets bit for bit, record the process count, and leave no part files."""
import glob
import os
import subprocess
import sys

from h5util import run, same_bits, tmpdir

runway, runway_mpi, src = sys.argv[1], sys.argv[2], sys.argv[3]
S = os.path.join(src, "scenarios", "baseline.yaml")
d = tmpdir()
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
problems = []
ref = os.path.join(d, "ref.h5")
run(runway, "run", S, "--paths", "15000", "-o", ref, "-q")
for np_ in (1, 2, 3):
    out = os.path.join(d, f"mpi{np_}.h5")
    p = subprocess.run(["mpirun", "--oversubscribe", "-np", str(np_), runway_mpi, "run", S,
                        "--paths", "15000", "-o", out, "-q", "-t", "1"],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        problems.append(f"-np {np_}: exit {p.returncode}: {p.stderr[-500:]}")
        continue
    diff = same_bits(out, ref)
    if diff:
        problems.append(f"-np {np_} differs from the single-process run in {diff}")
    import h5py
    with h5py.File(out) as h:
        if int(h.attrs["processes"]) != np_ or int(h.attrs["complete"]) != 1:
            problems.append(f"-np {np_}: processes={h.attrs['processes']} complete={h.attrs['complete']}")
# SIGUSR1 to mpirun: every rank checkpoints its part (exit 75), and
# mpirun --resume finishes them into the uninterrupted file
big = os.path.join(d, "big.h5")
run(runway, "run", S, "--paths", "500000", "-o", big, "-q")
ck = os.path.join(d, "ck.h5")
import signal, time
proc = subprocess.Popen(["mpirun", "--oversubscribe", "-np", "2", runway_mpi, "run", S, "--paths", "500000",
                         "-o", ck, "-q", "-t", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
# signal once both ranks are simulating (each has its temporary part file),
# not after a fixed sleep that a fast build could outrun
deadline = time.time() + 120
while len(glob.glob(ck + ".part*.tmp-*")) < 2 and proc.poll() is None and time.time() < deadline:
    time.sleep(0.02)
time.sleep(0.3)
proc.send_signal(signal.SIGUSR1)
proc.communicate()
parts = glob.glob(ck + ".part*of2.h5")
if proc.returncode != 75 or len(parts) != 2:
    problems.append(f"mpirun SIGUSR1: exit {proc.returncode}, parts {parts}")
else:
    p = subprocess.run(["mpirun", "--oversubscribe", "-np", "2", runway_mpi, "run", "--resume", ck, "-q",
                        "-t", "1"], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        problems.append(f"mpirun --resume: exit {p.returncode}: {p.stderr[-400:]}")
    elif same_bits(ck, big):
        problems.append(f"MPI resume differs from the uninterrupted run in {same_bits(ck, big)}")
    if glob.glob(ck + ".part*"):
        problems.append("MPI resume left its part files")

left = glob.glob(os.path.join(d, "*rank*"))
if left:
    problems.append(f"part files left behind: {left}")
for q in problems:
    print("FAIL:", q)
print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
