"""A result does not depend on the CPU's vector instructions: runway built
for the build machine (-march=native: AVX2 or AVX-512 code paths, hand-
written and compiler-vectorised) and the same sources built for baseline
x86-64 (SSE2 only, the scalar fallbacks) write identical bytes in every
dataset, on every shipped scenario and on the kernel's edge scenario (the
native build on 2 threads, the baseline one on 1, so the thread count
differs too). This is what lets one cluster job mix node types, and a
result be checked on a laptop."""
import os
import sys

from h5util import run, same_bits, tmpdir

native, baseline, *scenarios = sys.argv[1:]
d = tmpdir()
common = ["--paths", "12000", "-q", "--keep-paths", "20"]
problems = []
for scen in scenarios:
    name = os.path.splitext(os.path.basename(scen))[0]
    a, b = os.path.join(d, name + "_native.h5"), os.path.join(d, name + "_baseline.h5")
    run(native, "run", scen, "-o", a, "--threads", "2", *common)
    run(baseline, "run", scen, "-o", b, "--threads", "1", *common)
    diff = same_bits(a, b)
    if diff:
        problems.append(f"{name}: native and baseline-x86-64 builds differ in {diff}")
    else:
        print(f"{name}: identical")
for p in problems:
    print("FAIL:", p)
sys.exit(1 if problems else 0)
