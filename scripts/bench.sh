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
# Run on an otherwise idle machine; it builds first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
BUILD_DIR=${BUILD_DIR:-build}
[ -x "$BUILD_DIR/bench/bench_runway" ] && [ -x "$BUILD_DIR/bench/bench_stages" ] \
  && [ -x "$BUILD_DIR/bench/bench_math" ] || bash scripts/setup.sh build
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
