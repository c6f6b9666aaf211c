#!/usr/bin/env bash
# valgrind's memcheck on short runs of runway: no invalid read or write, no
# use of uninitialised memory, no leak (definite, indirect or possible),
# on the success paths and on two failure paths.
#
#   test_valgrind.sh RUNWAY SOURCE_DIR SUPPRESSIONS
#
# Exit 77 (skipped) only when valgrind is not installed. memcheck's own
# failure status is 97, so that it cannot be confused with runway's exit
# status 1 for an invalid scenario. The only suppressions are for libgomp's
# worker threads (tests/valgrind.supp says why).
set -u
runway=$1 src=$2 supp=$3
if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind is not installed; skipped (Debian: apt-get install valgrind)"
  exit 77
fi
base="$src/scenarios/baseline.yaml"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/runway-valgrind.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0

# check WHAT EXPECTED_STATUS RUNWAY_ARGS...
check() {
  local what=$1 want=$2
  shift 2
  local log="$tmp/vg.log"
  valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes \
    --error-exitcode=97 --suppressions="$supp" --log-file="$log" \
    "$runway" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local rc=$?
  if [ "$rc" -eq 97 ]; then
    echo "FAIL: $what: memcheck found errors:"
    grep -v '^==[0-9]*== *$' "$log" | head -n 60
    fails=$((fails + 1))
  elif [ "$rc" -ne "$want" ]; then
    echo "FAIL: $what: exit $rc, expected $want; stderr: $(head -c 500 "$tmp/stderr")"
    fails=$((fails + 1))
  else
    echo "ok   $what ($(grep -o 'ERROR SUMMARY: [0-9]* errors' "$log"))"
  fi
}

check "validate baseline" 0 validate "$base"
check "validate with --set (re-emitted text)" 0 validate "$base" \
  --set OpenAI.cash0=60 --set 'market.price_decline={dist: lognormal, p5: 3, p95: 12}'
check "validate an invalid scenario" 1 validate "$src/tests/invalid/correlation_not_pd.yaml"
check "run 300 paths, 1 thread" 0 run "$base" --paths 300 -t 1 -q -o "$tmp/one.h5"
[ -s "$tmp/one.h5" ] || { echo "FAIL: run wrote no result file"; fails=$((fails + 1)); }
check "run 300 paths, 2 threads" 0 run "$base" --paths 300 -t 2 -q -o "$tmp/two.h5"
check "run into a missing folder" 1 run "$base" --paths 300 -t 1 -q -o "$tmp/no/such/x.h5"

if [ "$fails" -ne 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "valgrind: no errors, no leaks"
