#!/usr/bin/env bash
# A one-node Slurm cluster on localhost, for testing the job scripts in
# scripts/slurm/. Debian's slurm-wlm (slurmctld, slurmd) and munge, run as
# root, with no systemd, no cgroups and no accounting.
#
#   scripts/slurm_local.sh up      install what is missing, write a private
#                                  configuration, start munged, slurmctld and
#                                  slurmd, wait until the node is idle
#   scripts/slurm_local.sh down    stop exactly the daemons `up` started (by
#                                  their pid files) and delete the directory
#   scripts/slurm_local.sh env     print the line that points Slurm's commands
#                                  at this cluster
#
# After `up`, point sbatch, squeue, sinfo, scontrol at the cluster with
#   export SLURM_CONF=$RUNWAY_SLURM_DIR/slurm.conf
# (`up` prints that line last; `eval "$(scripts/slurm_local.sh env)"` works too).
#
# Environment (defaults in brackets):
#   RUNWAY_SLURM_DIR    private directory for configuration, key, sockets,
#                       state, spool, logs and pid files [/tmp/runway-slurm]
#   RUNWAY_SLURM_PORT   slurmctld's port; slurmd uses the next one [16817]
#   RUNWAY_SLURM_WAIT   seconds to wait for the node to become idle [60]
#
# Nothing outside RUNWAY_SLURM_DIR is written or read except the installed
# programs: the system's /etc/slurm and /etc/munge are left untouched (munged
# gets its own key and socket, every daemon gets -f slurm.conf). Must run as
# root: slurmd runs jobs as the submitting user, and munged, slurmctld and
# slurmd are all started by this script.
set -euo pipefail

what=${1:-}
dir=${RUNWAY_SLURM_DIR:-/tmp/runway-slurm}
port=${RUNWAY_SLURM_PORT:-16817}
wait_s=${RUNWAY_SLURM_WAIT:-60}
# pid_of matches the daemons' command lines against the real path.
[ -d "$dir" ] && dir=$(cd "$dir" && pwd -P)
conf=$dir/slurm.conf

die() { echo "slurm_local: $*" >&2; exit 1; }

# Processes started by `up`, in the order `down` stops them.
daemons=(slurmd slurmctld munged)

pid_of() {   # pid from DAEMON's pid file if that process is alive and is
             # the DAEMON started with this directory, else nothing
  local f=$dir/$1.pid p
  [ -s "$f" ] || return 0
  p=$(cat "$f")
  [[ "$p" =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null || return 0
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] || return 0
  tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$dir/" || return 0
  echo "$p"
}

down() {   # stop our daemons; delete the directory unless $1 is "keep"
  local d p _ jobs=()
  # First the jobs still in this cluster (all ours), so that no job step
  # outlives slurmd.
  if [ -n "$(pid_of slurmctld)" ] && [ -f "$conf" ]; then
    mapfile -t jobs < <(SLURM_CONF=$conf squeue -h -o %A 2>/dev/null | sort -u)
    if [ ${#jobs[@]} -gt 0 ]; then
      SLURM_CONF=$conf scancel --full --quiet "${jobs[@]}" 2>/dev/null || true
      for _ in $(seq 1 100); do    # up to 10 s
        [ -z "$(SLURM_CONF=$conf squeue -h -o %A 2>/dev/null)" ] && break
        sleep 0.1
      done
    fi
  fi
  for d in "${daemons[@]}"; do
    p=$(pid_of "$d")
    [ -n "$p" ] || continue
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 100); do      # up to 10 s, then SIGKILL
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
      echo "slurm_local: $d ($p) ignored SIGTERM, killing it" >&2
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
  # Only our own directory, recognised by the marker `up` wrote.
  if [ "${1:-}" != keep ] && [ -f "$dir/.runway-slurm" ]; then
    rm -rf "$dir"
  fi
}

install_missing() {
  local pkgs=(slurmctld slurmd slurm-client munge) missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "slurm_local: installing ${missing[*]}" >&2
  # The package scripts try to start the daemons; without systemd they
  # cannot, which is what we want.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${missing[@]}" >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; } \
    || die "cannot install ${missing[*]}"
}

port_busy() {   # is TCP port $1 already listened on?
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_conf() {
  local cpus mem_kb mem_mb
  cpus=$(nproc)
  # RealMemory a little below what is available, so slurmd never finds less
  # memory than configured (that would drain the node).
  mem_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
  mem_mb=$(( mem_kb * 9 / 10 / 1024 ))
  [ "$mem_mb" -ge 100 ] || mem_mb=100
  cat > "$conf" <<EOF
# Written by scripts/slurm_local.sh: a one-node test cluster on localhost.
ClusterName=runwaytest
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Test every few seconds, not every minute, whether pending jobs can start
# (a requeued job waits for its BeginTime, then for the next pass).
SchedulerParameters=sched_interval=2,bf_interval=2
SlurmdParameters=config_overrides
ReturnToService=2
DependencyParameters=kill_invalid_depend
# Finished jobs stay visible to scontrol for 10 minutes (no accounting).
MinJobAge=600
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  # slurmd reads cgroup.conf only for cgroup plugins; keep it absent.
}

up() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it starts munged, slurmctld and slurmd)"
  install_missing
  local d
  for d in "${daemons[@]}"; do
    [ -z "$(pid_of "$d")" ] || die "$d from a previous 'up' is still running in $dir; run '$0 down' first"
  done
  port_busy "$port" && die "port $port is in use (another slurmctld?); set RUNWAY_SLURM_PORT"
  port_busy $((port + 1)) && die "port $((port + 1)) is in use (another slurmd?); set RUNWAY_SLURM_PORT"

  # Reuse the directory only if it is ours (marker) or empty.
  if [ -e "$dir" ]; then
    if [ -f "$dir/.runway-slurm" ]; then
      rm -rf "$dir"
    elif [ -n "$(ls -A "$dir")" ]; then
      die "$dir exists and is not a runway-slurm directory; set RUNWAY_SLURM_DIR"
    fi
  fi
  mkdir -p "$dir"
  chmod 0755 "$dir"
  dir=$(cd "$dir" && pwd -P)
  conf=$dir/slurm.conf
  # munged insists that every folder above its socket is executable by all.
  local a=$dir
  while [ "$a" != / ]; do
    a=$(dirname "$a")
    [ -n "$(find "$a" -maxdepth 0 -perm -o+x)" ] \
      || die "$a is not executable by all (munged refuses that); chmod o+x it or set RUNWAY_SLURM_DIR elsewhere"
  done
  touch "$dir/.runway-slurm"
  mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
  chmod 0700 "$dir/state" "$dir/spool" "$dir/munge"
  write_conf

  # munged: its own key, socket, pid, log and seed, all in $dir.
  mungekey --create --keyfile="$dir/munge/munge.key" 2>/dev/null \
    || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=1024 status=none
  chmod 0400 "$dir/munge/munge.key"
  munged --key-file="$dir/munge/munge.key" --socket="$dir/munge.socket" \
         --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
         --seed-file="$dir/munge/munged.seed" \
    || die "munged did not start (see $dir/munged.log)"
  wait_for_file "$dir/munged.pid" munged

  slurmctld -f "$conf" || die "slurmctld did not start (see $dir/slurmctld.log)"
  wait_for_file "$dir/slurmctld.pid" slurmctld
  slurmd -f "$conf" -N localhost || die "slurmd did not start (see $dir/slurmd.log)"
  wait_for_file "$dir/slurmd.pid" slurmd

  local t0=$SECONDS state=""
  while :; do
    state=$(SLURM_CONF=$conf sinfo -h -n localhost -o %T 2>/dev/null || true)
    [ "$state" = idle ] && break
    if [ $((SECONDS - t0)) -ge "$wait_s" ]; then
      echo "slurm_local: node not idle after ${wait_s}s (state: '${state:-no answer}')" >&2
      tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "slurm_local: one-node cluster up in $dir ($(nproc) CPUs, partition debug)" >&2
  echo "export SLURM_CONF=$conf"
}

wait_for_file() {   # the daemons write their pid file once they have forked
  local _
  for _ in $(seq 1 100); do
    [ -n "$(pid_of "$2")" ] && return 0
    sleep 0.1
  done
  die "$2 did not stay up (see $dir/$2.log)"
}

case "$what" in
  up)
    # Leave nothing half-started behind when `up` fails; keep the logs.
    # shellcheck disable=SC2154  # rc is assigned inside the trap
    trap 'rc=$?; [ $rc -eq 0 ] || { down keep; echo "slurm_local: logs in $dir" >&2; }; exit $rc' EXIT
    up
    ;;
  down) down "" ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: scripts/slurm_local.sh up|down|env" >&2; exit 2 ;;
esac
