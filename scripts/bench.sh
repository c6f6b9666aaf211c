#!/usr/bin/env bash
# All of runway's benchmarks, in one run (issue 3's figures):
#   scripts/bench.sh [PATHS]        default 1000000
# 1. bench_runway: ns per lab-year at 1 thread and each doubling, speed-up,
#    the random-numbers floor, HDF5 write throughput, whole run vs floor;
#    bench_stages: the same work split into draws, model and summaries;
#    bench_math: ns per call of rm_exp and rm_log (and the forms they replaced).
# 2. runway run --per-path none at 10^6 and 10^7 paths (and 10^8 with
#    BENCH_BIG=1): wall time and peak resident memory, to show that memory
#    does not grow with the path count.
# 3. runway run --per-path all at 10^6 paths: the file written end to end.
# 4. issue 19's ratios, each within this run (bench/bench_ratios.py):
#    runway against bench/numpy_peer.py (MODEL.md in NumPy) on the same
#    scenario and paths (BENCH_PEER_PATHS, default PATHS); a conditioned
#    run and a backtest against the same run plain, and a conditioning
#    that keeps most paths' weight against its plain run (BENCH_COND_PATHS,
#    default 300000); the fixed costs' share of a 10^5-path run, and the
#    largest of them, the ranking of the sample's columns (bench_ranks).
# Run on an otherwise idle machine; it builds first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
BUILD_DIR=${BUILD_DIR:-build}
[ -x "$BUILD_DIR/bench/bench_runway" ] && [ -x "$BUILD_DIR/bench/bench_stages" ] \
  && [ -x "$BUILD_DIR/bench/bench_math" ] && [ -x "$BUILD_DIR/bench/bench_ranks" ] \
  || bash scripts/setup.sh build
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$BUILD_DIR/bench/bench_runway" scenarios/baseline.yaml "$N"
echo "== where one thread's time goes"
"$BUILD_DIR/bench/bench_stages" scenarios/baseline.yaml "$N"
echo "== exp and log alone (rng_math), ns per call"
"$BUILD_DIR/bench/bench_math"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sizes="1000000 10000000"
[ "${BENCH_BIG:-0}" = 1 ] && sizes="$sizes 100000000"
echo "== summaries only (--per-path none): time and peak memory"
for n in $sizes; do
  /usr/bin/python3 - "$BUILD_DIR/runway" "$n" "$tmp/x.h5" <<'PY'
import resource, subprocess, sys, time
runway, n, out = sys.argv[1:]
t = time.time()
subprocess.run([runway, "run", "scenarios/baseline.yaml", "--paths", n, "--per-path", "none",
                "-q", "-o", out], check=True)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{int(n):>12,d} paths: {time.time() - t:7.2f} s, peak RSS {rss:7.1f} MiB")
PY
done
echo "== whole file (--per-path all) at 10^6 paths"
/usr/bin/python3 - "$BUILD_DIR/runway" "$tmp/all.h5" <<'PY'
import os, resource, subprocess, sys, time
runway, out = sys.argv[1:]
t = time.time()
subprocess.run([runway, "run", "scenarios/baseline.yaml", "--paths", "1000000", "-q", "-o", out], check=True)
dt = time.time() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
mb = os.path.getsize(out) / 1e6
print(f"   1,000,000 paths: {dt:7.2f} s, peak RSS {rss:7.1f} MiB, file {mb:.0f} MB")
PY
echo "== runway against the NumPy peer (bench/numpy_peer.py), 1 core, --per-path none"
/usr/bin/python3 bench/bench_ratios.py peer "$BUILD_DIR/runway" "${BENCH_PEER_PATHS:-$N}"
echo "== a conditioned run and a backtest against the same run plain, 1 thread"
/usr/bin/python3 bench/bench_ratios.py overheads "$BUILD_DIR/runway" "${BENCH_COND_PATHS:-300000}"
echo "== fixed costs at 10^5 paths (bench_stages), and a run of 1024 paths end to end"
"$BUILD_DIR/bench/bench_stages" scenarios/baseline.yaml 100000 | grep -E "its |fixed"
"$BUILD_DIR/bench/bench_ranks" scenarios/baseline.yaml 100000
/usr/bin/python3 - "$BUILD_DIR/runway" "$tmp/s.h5" <<'PY'
import subprocess, sys, time
runway, out = sys.argv[1:]
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    subprocess.run([runway, "run", "scenarios/baseline.yaml", "--paths", "1024", "-t", "1",
                    "--per-path", "none", "-q", "-o", out], check=True)
    best = min(best, time.perf_counter() - t)
print(f"runway run, 1024 paths (load, file creation, one block): {best:.3f} s")
PY
