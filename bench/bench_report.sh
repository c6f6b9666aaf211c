#!/usr/bin/env bash
# The report's time at 10^5 paths (issue 17 item 3: under 5 s):
#   bench/bench_report.sh [PATHS] [RUNS]     default 100000 paths, 3 runs
# Runs scenarios/baseline.yaml once (per-path data kept, as by default),
# then `runway report` on it RUNS times, and prints each run's wall time
# and CPU time (this process and its forked children: the two figure workers and
# the failure-worlds comparison), the median wall time and whether it is
# under the 5 s target. Set REPORT_PROFILE=1 for a cProfile of one run
# (the 25 most expensive functions). Run on an otherwise idle machine:
# matplotlib's drawing is CPU-bound, and a loaded machine shows its load.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
RUNS=${2:-3}
BUILD_DIR=${BUILD_DIR:-build}
[ -x "$BUILD_DIR/runway" ] || bash scripts/setup.sh build
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD_DIR/runway" run scenarios/baseline.yaml --paths "$N" -q -o "$tmp/baseline.h5"
export MPLBACKEND=Agg MPLCONFIGDIR="$tmp/mpl"
# a first run fills matplotlib's font cache, as on an analyst's machine
/usr/bin/python3 scripts/report.py "$tmp/baseline.h5" -o "$tmp/warm" >/dev/null
/usr/bin/python3 - "$tmp" "$N" "$RUNS" <<'PY'
import os, resource, statistics, subprocess, sys, time
tmp, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
walls = []
for k in range(runs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(["/usr/bin/python3", "scripts/report.py", f"{tmp}/baseline.h5", "-o",
                    f"{tmp}/r{k}"], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    walls.append(wall)
    print(f"report of the baseline at {n:,} paths, run {k + 1}: wall {wall:6.2f} s, "
          f"CPU {cpu:6.2f} s")
med = statistics.median(walls)
print(f"median wall {med:.2f} s: {'under' if med < 5 else 'OVER'} the 5 s target "
      f"(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
PY
if [ "${REPORT_PROFILE:-0}" = 1 ]; then
  /usr/bin/python3 -c "
import cProfile, pstats, sys
sys.argv = ['report.py', '$tmp/baseline.h5', '-o', '$tmp/prof']
sys.path.insert(0, 'scripts')
import report
cProfile.run('report.main(sys.argv[1:])', '$tmp/prof.out')
pstats.Stats('$tmp/prof.out').sort_stats('cumulative').print_stats(25)"
fi
