#!/usr/bin/env bash
# Submit a sharded runway run: a job array of SHARDS shards
# (runway_shards.sbatch), then a merge job (runway_merge.sbatch) that starts
# only when every shard has succeeded (--dependency=afterok:ARRAYJOBID).
#
#   SCENARIO=scenarios/baseline.yaml PATHS=100000000 SHARDS=20 OUT=big.h5 \
#     scripts/slurm/submit_sharded.sh [runway run options]
#
# Prints the two job ids on stdout as shell assignments,
#   ARRAY_JOB_ID=1234
#   MERGE_JOB_ID=1235
# (so `eval "$(scripts/slurm/submit_sharded.sh)"` sets them), and what it
# submitted on stderr. Arguments are passed to every shard's `runway run`.
#
# Environment (defaults in brackets); relative paths are taken from the
# current directory, which is also the jobs' working directory:
#   SCENARIO      scenario file [scenarios/baseline.yaml]
#   SHARDS        number of shards [10]
#   PATHS, SEED   total paths and seed [the scenario's]
#   OUT           merged result [SCENARIO's name with .h5]
#   OUTDIR        directory for the shard files [OUT without .h5, plus .shards]
#   RUNWAY        runway binary [build/runway if it exists, else `runway` on PATH]
#   THREADS       threads per shard [the shard job's --cpus-per-task]
#   KEEP_SHARDS   0: the merge job deletes the shard files once merged [1]
#   MAX_PARALLEL  run at most this many shards at once [no limit]
#   SBATCH_ARGS        extra sbatch options for both jobs, word-split, e.g.
#                      "--partition=short --account=proj42"
#   SHARD_SBATCH_ARGS  extra sbatch options for the array only, e.g.
#                      "--cpus-per-task=8 --time=04:00:00"
#   MERGE_SBATCH_ARGS  extra sbatch options for the merge only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

SCENARIO=$(abs "${SCENARIO:-scenarios/baseline.yaml}")
SHARDS=${SHARDS:-10}
name=$(basename "$SCENARIO"); name=${name%.*}
OUT=$(abs "${OUT:-$name.h5}")
OUTDIR=$(abs "${OUTDIR:-${OUT%.h5}.shards}")
if [ -z "${RUNWAY:-}" ]; then
  if [ -x build/runway ]; then RUNWAY=$PWD/build/runway
  else RUNWAY=$(command -v runway || echo runway); fi
fi
RUNWAY=$(case "$RUNWAY" in */*) abs "$RUNWAY" ;; *) echo "$RUNWAY" ;; esac)

[ -f "$SCENARIO" ] || { echo "submit_sharded: no scenario file $SCENARIO" >&2; exit 1; }
[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || { echo "submit_sharded: SHARDS must be a positive integer, not '$SHARDS'" >&2; exit 2; }
mkdir -p "$OUTDIR" "$(dirname "$OUT")"

read -r -a common <<< "${SBATCH_ARGS:-}"
read -r -a shard_args <<< "${SHARD_SBATCH_ARGS:-}"
read -r -a merge_args <<< "${MERGE_SBATCH_ARGS:-}"
array="0-$((SHARDS - 1))${MAX_PARALLEL:+%$MAX_PARALLEL}"

export SCENARIO SHARDS OUTDIR OUT RUNWAY
[ -n "${PATHS:-}" ] && export PATHS
[ -n "${SEED:-}" ] && export SEED

# --parsable prints "jobid" or "jobid;cluster".
array_id=$(sbatch --parsable --export=ALL --array="$array" "${common[@]}" "${shard_args[@]}" \
             "$here/runway_shards.sbatch" "$@")
array_id=${array_id%%;*}
if ! merge_id=$(sbatch --parsable --export=ALL --dependency="afterok:$array_id" \
             "${common[@]}" "${merge_args[@]}" "$here/runway_merge.sbatch"); then
  echo "submit_sharded: the merge job was refused; cancelling the shards (job $array_id)" >&2
  scancel "$array_id" || true
  exit 1
fi
merge_id=${merge_id%%;*}

echo "submit_sharded: shards: job $array_id, array $array -> $OUTDIR/shard_I.h5" >&2
echo "submit_sharded: merge:  job $merge_id, after every shard succeeds -> $OUT" >&2
echo "ARRAY_JOB_ID=$array_id"
echo "MERGE_JOB_ID=$merge_id"
