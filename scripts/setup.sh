#!/usr/bin/env bash
# Set up, build, and then run the baseline or the test suite.
#
#   scripts/setup.sh run    install what is missing, build, run scenarios/baseline.yaml
#   scripts/setup.sh test   install what is missing, build, run every test (CTest)
#   scripts/setup.sh build  install what is missing, build
#
# Works on a fresh Debian 12 machine as root (or with sudo). Environment:
#   BUILD_DIR (default build), JOBS (default: all cores), CMAKE_ARGS (extra).
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-build}
case "$what" in run|test|build) ;; *)
  echo "usage: scripts/setup.sh run|test|build" >&2; exit 2;;
esac

# Debian packages the build, the tests and the report scripts need.
pkgs=(gcc make cmake pkg-config libc6-dev
      libgsl-dev libhdf5-dev libyaml-dev zlib1g-dev librandom123-dev librandom123-doc
      hdf5-tools python3 python3-h5py python3-numpy python3-matplotlib poppler-utils
      libopenmpi-dev openmpi-bin slurm-wlm munge)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

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
    cd "$BUILD_DIR"
    ctest --output-on-failure -j "$JOBS"
    ;;
esac
