#!/usr/bin/env bash
# Runs the test suite under ThreadSanitizer, to prove the OpenMP code free
# of data races (docs/faults.md).
#
#   scripts/tsan.sh [CTEST_ARGS...]      e.g. scripts/tsan.sh -R reproducible
#
# GCC's OpenMP runtime is not instrumented, so TSan would report its own
# barriers as races. This builds with Debian's clang-14 and LLVM's OpenMP
# runtime instead, and loads Archer (libarcher.so, in libomp-14-dev), the
# OpenMP tool that tells TSan about OpenMP's synchronisation: what is left
# to report is a real race. Installs clang-14 and libomp-14-dev when
# missing (as root, or with sudo). Builds into $TSAN_BUILD_DIR (default
# build-tsan), then runs every CTest test except the Slurm, MPI and
# valgrind ones (a daemon, another runtime, another tool) with 2 OpenMP
# threads; a race makes the program exit 66 and its test fail.
# Exit status: ctest's.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(clang-14 libomp-14-dev cmake pkg-config libgsl-dev libhdf5-dev libyaml-dev
      zlib1g-dev librandom123-dev python3-h5py python3-numpy)
# shellcheck source=scripts/apt_need.sh
. scripts/apt_need.sh
apt_need tsan "${pkgs[@]}"

archer=/usr/lib/llvm-14/lib/libarcher.so
[ -f "$archer" ] || { echo "tsan: $archer not found (package libomp-14-dev)" >&2; exit 2; }

B=${TSAN_BUILD_DIR:-build-tsan}
CC=clang-14 cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRUNWAY_TSAN=ON \
  -DRUNWAY_MPI=OFF -DRUNWAY_BENCH=OFF -DBUILD_TESTING=ON >/dev/null
cmake --build "$B" -j "${JOBS:-$(nproc)}" >/dev/null

export OMP_TOOL_LIBRARIES=$archer OMP_NUM_THREADS=2
export TSAN_OPTIONS=${TSAN_OPTIONS:-ignore_noninstrumented_modules=1:halt_on_error=1:exitcode=66}
cd "$B"
ctest --output-on-failure -E 'slurm|mpi|valgrind' "$@"
