#!/usr/bin/env bash
# Installs the Debian packages dnc-swift needs, only those that are missing; safe to run again.
# Needs root (or sudo) the first time. Swift itself is expected on PATH (swift.org toolchain).
set -euo pipefail

packages=(
  pkg-config
  libopenblas-dev          # BLAS (pkg-config: openblas)
  libxsmm-dev              # JIT small-matrix products (pkg-config: libxsmm)
  libopenmpi-dev openmpi-bin  # MPI (pkg-config: ompi-c) and mpirun
  libhdf5-dev hdf5-tools   # HDF5 (pkg-config: hdf5-serial) and h5dump
  zlib1g-dev               # zlib, for the reports' PNGs (pkg-config: zlib)
)
# What the test suite needs besides: a one-node Slurm (scripts/slurm-up.sh), Python's venv (h5py),
# a headless browser for the reports, and `file` to identify the PNGs.
if [ "${1:-}" = "--for-tests" ]; then
  packages+=(slurmctld slurmd slurm-client munge python3-venv chromium fonts-liberation file)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all system packages present"
fi

command -v swift >/dev/null || { echo "setup: error: 'swift' is not on PATH; install Swift 6 from swift.org" >&2; exit 1; }
for pc in openblas libxsmm ompi-c hdf5-serial zlib; do
  pkg-config --exists "$pc" || { echo "setup: error: pkg-config cannot find '$pc' after installing" >&2; exit 1; }
done
