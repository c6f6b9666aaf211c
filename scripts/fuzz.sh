#!/usr/bin/env bash
# Runs one libFuzzer target for a given time (tests/fuzz/README.md).
#
#   scripts/fuzz.sh TARGET SECONDS [LIBFUZZER_OPTION...]
#
# TARGET is scenario (the scenario parser and validator), yaml_events (the
# event-level YAML loader, against libyaml's own), set (the --set
# parser), results (the readers of checkpoints and shards behind
# `runway run --resume` and `runway merge`, on edited result files) or
# py_readers (the Python readers of result files in scripts/: load,
# compare, sweep summary, report's checks; see py_readers below).
#
# py_readers needs no clang: it runs tests/fuzz/fuzz_py_readers.py with
# /usr/bin/python3 (python3-h5py, python3-numpy) against the normal build's
# runway ($RUNWAY_BUILD_DIR, default build; built with cmake if missing),
# with the same folders under $FUZZ_BUILD_DIR and the same exit status;
# extra arguments go to the fuzzer (--seed N).
#
# The libFuzzer targets: builds them with Debian's clang-14 under
# ASan+UBSan into $FUZZ_BUILD_DIR (default build-fuzz), installing clang-14
# and libclang-rt-14-dev when missing (as root, or with sudo), then fuzzes
# for SECONDS, starting from the seed corpora and the regression inputs.
# New interesting inputs go to $FUZZ_BUILD_DIR/corpus-TARGET (kept between
# runs), a crashing input to $FUZZ_BUILD_DIR/crashes-TARGET/. Prints the
# number of executions. Exit status: 0 no crash, 1 a crash (its file is
# named; after fixing it, copy it to tests/fuzz/regressions/TARGET/),
# 2 bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/fuzz.sh scenario|yaml_events|set|results|py_readers SECONDS [libFuzzer options | --seed N]" >&2; exit 2; }
[ $# -ge 2 ] || usage
target=$1 secs=$2
shift 2
case "$target" in scenario|yaml_events|set|results|py_readers) ;; *) usage;; esac
[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -ge 1 ] || usage

if [ "$target" = py_readers ]; then
  B=${FUZZ_BUILD_DIR:-build-fuzz}
  R=${RUNWAY_BUILD_DIR:-build}
  if [ ! -x "$R/runway" ]; then
    [ -f "$R/CMakeCache.txt" ] || cmake -S . -B "$R" >/dev/null
    cmake --build "$R" -j "${JOBS:-1}" --target runway >/dev/null
  fi
  work="$B/corpus-py_readers" crashes="$B/crashes-py_readers"
  mkdir -p "$work" "$crashes"
  log="$B/fuzz-py_readers.log"
  set +e
  /usr/bin/python3 tests/fuzz/fuzz_py_readers.py "$R/runway" "$secs" "$work" \
    tests/fuzz/corpus/py_readers tests/fuzz/regressions/py_readers --crashes "$crashes" "$@" \
    >"$log" 2>&1
  rc=$?
  set -e
  tail -n 1 "$log"
  echo "fuzz py_readers: corpus in $work, crash inputs in $crashes (log: $log)"
  if [ $rc -ne 0 ]; then
    grep -E "^(CRASH|property:)" "$log" | head -n 6 >&2 || true
    exit 1
  fi
  exit 0
fi

if ! grep -q RUNWAY_FUZZ CMakeLists.txt; then
  echo "fuzz: CMakeLists.txt has no RUNWAY_FUZZ option (see tests/fuzz/README.md)" >&2
  exit 2
fi

pkgs=(clang-14 libclang-rt-14-dev cmake pkg-config libgsl-dev libhdf5-dev libyaml-dev
      zlib1g-dev librandom123-dev)
# shellcheck source=scripts/apt_need.sh
. scripts/apt_need.sh
apt_need fuzz "${pkgs[@]}"

B=${FUZZ_BUILD_DIR:-build-fuzz}
cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRUNWAY_FUZZ=ON -DRUNWAY_ASAN=ON -DRUNWAY_UBSAN=ON -DRUNWAY_BENCH=OFF \
  -DBUILD_TESTING=OFF >/dev/null
cmake --build "$B" -j "${JOBS:-$(nproc)}" --target "fuzz_$target" >/dev/null
bin=$(find "$B" -name "fuzz_$target" -type f -perm -u+x | head -n 1)
[ -n "$bin" ] || { echo "fuzz: fuzz_$target was not built" >&2; exit 1; }

work="$B/corpus-$target"
crashes="$B/crashes-$target"
mkdir -p "$work" "$crashes"
seeds=("tests/fuzz/corpus/$target" "tests/fuzz/regressions/$target")
[ "$target" = scenario ] || [ "$target" = yaml_events ] && seeds+=(scenarios tests/invalid)

log="$B/fuzz-$target.log"
# The first folder receives new inputs; the others are only read.
# -max_len: the baseline is 14 kB; room to grow, not so much that
# mutations get lost in the middle of huge inputs. A results input is a
# program of edits, a few bytes each: 4 kB is 64 edits with room to spare.
maxlen=32768 lenctl=() dict="tests/fuzz/$target.dict"
[ "$target" = yaml_events ] && dict=tests/fuzz/scenario.dict
[ "$target" = results ] && maxlen=4096 lenctl=(-len_control=20)
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
"$bin" "$work" "${seeds[@]}" -max_total_time="$secs" -print_final_stats=1 \
  -dict="$dict" -max_len=$maxlen "${lenctl[@]}" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$crashes/" "$@" >"$log" 2>&1
rc=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
found=$(ls "$crashes" | wc -l)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
echo "fuzz $target: ${execs:-?} executions in ${secs} s; coverage ${cov:-?} edges; corpus $(ls "$work" | wc -l) inputs; $found crash file(s) in $crashes (log: $log)"
if [ $rc -ne 0 ]; then
  grep -E "^(==[0-9]+==ERROR|SUMMARY|fuzz property failed|.*runtime error)" "$log" | head -n 5 >&2 || true
  ls -t "$crashes" | head -n 3 | sed "s|^|fuzz: crash input: $crashes/|" >&2
  exit 1
fi
