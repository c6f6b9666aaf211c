#!/usr/bin/python3
"""bench_ratios: issue 19's ratios between whole programs, each taken
within one run (scripts/bench.sh calls it).

    bench_ratios.py peer RUNWAY PATHS       runway against bench/numpy_peer.py
    bench_ratios.py overheads RUNWAY PATHS  a conditioned run and a backtest
                                            against the same run plain; and a
                                            conditioning that keeps most
                                            paths' weight against its plain run

Every command runs at one thread with --per-path none, the commands in
turn, BENCH_REPEAT rounds (default 3); each figure is the best round, in
wall-clock seconds and in CPU seconds (user + system, of the child): on a
shared machine the CPU time is the steadier of the two, since a program
waiting for a core is not charged for the wait.
"""
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def timed(cmd):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def best(cmds, repeat):
    """{name: (best wall, best cpu)} over repeat rounds of every command."""
    out = {k: (float("inf"), float("inf")) for k in cmds}
    for _ in range(repeat):
        for k, c in cmds.items():
            w, u = timed(c)
            out[k] = (min(out[k][0], w), min(out[k][1], u))
    return out


def main(argv):
    mode, runway, paths = argv[0], argv[1], argv[2]
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bench_ratios_{os.getpid()}.h5")
    run = [runway, "run", "--paths", paths, "--threads", "1", "--per-path", "none", "-q", "-o", out]
    try:
        if mode == "peer":
            scen = os.path.join(ROOT, "scenarios", "baseline.yaml")
            ly = int(paths) * 6 * 10
            r = best({"runway": run[:2] + [scen] + run[2:],
                      "numpy": ["/usr/bin/python3", os.path.join(HERE, "numpy_peer.py"), scen,
                                "--paths", paths]}, repeat)
            for k, (w, u) in r.items():
                print(f"{k:8s} {int(paths):>10,d} paths: {w:8.2f} s wall ({1e9 * w / ly:7.1f} ns per "
                      f"lab-year), {u:8.2f} s CPU ({1e9 * u / ly:7.1f} ns)")
            print(f"numpy / runway, per core: {r['numpy'][0] / r['runway'][0]:.1f}x wall, "
                  f"{r['numpy'][1] / r['runway'][1]:.1f}x CPU (target: at least 12)")
        elif mode == "overheads":
            scen = os.path.join(ROOT, "scenarios", "backtest_2024.yaml")
            obs = os.path.join(ROOT, "data", "observed_2025.yaml")
            # The 2024 backtest's observations leave weight on few paths
            # (an effective sample of 3 in 10^5), which makes the weighted
            # summaries cheap; Anthropic's 2026 revenue (a range) leaves
            # weight on almost every path of the baseline, the dearer case.
            base = os.path.join(ROOT, "scenarios", "baseline.yaml")
            wide = os.path.join(ROOT, "tests", "condition", "anthropic_revenue_2026.yaml")
            r = best({"plain": run[:2] + [scen] + run[2:],
                      "conditioned": run[:2] + [scen] + run[2:] + ["--condition", obs],
                      "backtest": [runway, "backtest", scen, obs] + run[2:],
                      "baseline": run[:2] + [base] + run[2:],
                      "cond. wide": run[:2] + [base] + run[2:] + ["--condition", wide]}, repeat)
            for k, (w, u) in r.items():
                print(f"{k:12s} {int(paths):>10,d} paths: {w:8.2f} s wall, {u:8.2f} s CPU")
            for k, ref, lim in (("conditioned", "plain", 1.15), ("backtest", "plain", 1.1),
                                ("cond. wide", "baseline", 1.15)):
                print(f"{k} / {ref}: {r[k][0] / r[ref][0]:.3f} wall, "
                      f"{r[k][1] / r[ref][1]:.3f} CPU (target: at most {lim})")
        else:
            print(__doc__)
            return 2
    finally:
        if os.path.exists(out):
            os.remove(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
