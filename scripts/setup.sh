#!/usr/bin/env bash
# Set up, build, and then run the baseline or the test suite.
#
#   scripts/setup.sh run    install what is missing, build, run scenarios/baseline.yaml
#   scripts/setup.sh test   install what is missing, build, run every test (CTest),
#                           then build again with ASan+UBSan and run every C test there
#   scripts/setup.sh build  install what is missing, build
#
# Works on a fresh Debian 12 machine as root (or with sudo). Environment:
#   BUILD_DIR (default build), ASAN_BUILD_DIR (default build-asan),
#   JOBS (default: all cores), CMAKE_ARGS (extra, given to both builds).
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-build}
case "$what" in run|test|build) ;; *)
  echo "usage: scripts/setup.sh run|test|build" >&2; exit 2;;
esac

# Debian packages the build, the tests and the report scripts need
# (python3-pil: report.py writes its PNGs with PIL, and tests/test_report.py
# reads the PDF's images back with it; named although matplotlib pulls it in).
pkgs=(gcc make cmake pkg-config libc6-dev
      libgsl-dev libhdf5-dev libyaml-dev zlib1g-dev librandom123-dev librandom123-doc
      hdf5-tools python3 python3-h5py python3-numpy python3-matplotlib python3-pil python3-xarray python3-pandas poppler-utils
      libopenmpi-dev openmpi-bin slurm-wlm munge
      util-linux passwd)   # unshare, setpriv and useradd: the hostile-input tests
# python3-yaml: compare and report read the scenario text of two runs to say
# which inputs differ, and bench/numpy_peer.py (the benchmarks' NumPy peer)
# reads the scenario; python3-scipy: the peer draws through SciPy's
# distributions (its test is in the suite).
pkgs+=(python3-yaml python3-scipy)

# The test suite also runs valgrind's memcheck (tests/valgrind.cmake).
if [ "$what" = test ]; then
  pkgs+=(valgrind)
fi

# shellcheck source=scripts/apt_need.sh
. scripts/apt_need.sh
apt_need setup "${pkgs[@]}"

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"

case "$what" in
  run)
    "$BUILD_DIR"/runway run scenarios/baseline.yaml -o baseline.h5
    echo "setup: result in baseline.h5 (inspect with: h5dump -H baseline.h5)"
    ;;
  test)
    # 1. The whole suite in the normal build.
    rc=0
    echo "setup: ctest in $BUILD_DIR (normal build)"
    (cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS") || rc=1
    # 2. The whole suite again, built with AddressSanitizer and
    #    UndefinedBehaviorSanitizer (any report fails its test: UBSan does
    #    not recover, LeakSanitizer runs at exit). Leaks inside third-party
    #    libraries only are suppressed by tests/lsan.supp, which needs full
    #    stacks (fast_unwind_on_malloc=0). allocator_may_return_null makes
    #    an impossible allocation return NULL, as malloc does, instead of
    #    aborting. Both builds run even when the first fails.
    ASAN_DIR=${ASAN_BUILD_DIR:-build-asan}
    supp="$(pwd)/tests/lsan.supp"
    echo "setup: ctest in $ASAN_DIR (-DRUNWAY_ASAN=ON -DRUNWAY_UBSAN=ON)"
    # shellcheck disable=SC2086
    cmake -S . -B "$ASAN_DIR" -DCMAKE_BUILD_TYPE=Release -DRUNWAY_ASAN=ON -DRUNWAY_UBSAN=ON \
      -DRUNWAY_BENCH=OFF ${CMAKE_ARGS:-} >/dev/null
    cmake --build "$ASAN_DIR" -j "$JOBS"
    # The tests whose subject is Python (report, compare, explain, the
    # readers and the docs' examples) run only in the normal build: under
    # the sanitizers they would run the same C paths that the C tests
    # already cover, at several times the cost (CI keeps under 15 minutes).
    py_only='^(report_|compare_|explain_|docs_|readme_examples_run|python_|batch_index_|numpy_peer_|math_tables_|sweep_summary_|check_output_|fuzz_py_readers_|result_readers_refuse_|workflow_|mpi_1_2_3_|slurm_)'
    (cd "$ASAN_DIR" &&
      ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:allocator_may_return_null=1:strict_string_checks=1:check_initialization_order=1 \
      LSAN_OPTIONS="suppressions=$supp:print_suppressions=0" \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --output-on-failure -j "$JOBS" -E "$py_only") || rc=1
    if [ "$rc" -ne 0 ]; then
      echo "setup: some tests failed (see above: $BUILD_DIR and/or $ASAN_DIR)" >&2
      exit 1
    fi
    ;;
esac
