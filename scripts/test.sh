#!/usr/bin/env bash
# The whole test suite from a fresh machine: install what is missing, make a Python virtual
# environment with h5py (the external reader the file-format tests use), then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --for-tests

venv=.build/h5py-venv
if ! "$venv/bin/python" -c "import h5py, xarray, h5netcdf" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q h5py xarray h5netcdf
fi
export DNC_TEST_PYTHON="$PWD/$venv/bin/python"

# NVRTC without a GPU or toolkit (pip's nvidia-cuda-nvrtc wheel, CUDA 13.0), for the tests that
# compile the CUDA kernels (GPUTests.KernelCompilerTests). A DNC_NVRTC_LIBRARY already set wins.
if [ -z "${DNC_NVRTC_LIBRARY:-}" ]; then
  nvrtc_venv=.build/nvrtc-venv
  nvrtc_library() { find "$nvrtc_venv" -name 'libnvrtc.so.13' -path '*nvidia*' 2>/dev/null | head -1; }
  if [ -z "$(nvrtc_library)" ]; then
    rm -rf "$nvrtc_venv"
    python3 -m venv "$nvrtc_venv"
    # Not fatal: without it those tests skip, naming DNC_NVRTC_LIBRARY.
    "$nvrtc_venv/bin/pip" install -q 'nvidia-cuda-nvrtc==13.0.*' || echo "warning: nvidia-cuda-nvrtc not installed; NVRTC tests will skip" >&2
  fi
  if [ -n "$(nvrtc_library)" ]; then
    DNC_NVRTC_LIBRARY="$PWD/$(nvrtc_library)"
    export DNC_NVRTC_LIBRARY
  fi
fi

# A one-node Slurm cluster for the batch-script tests, stopped when the tests end.
slurm_state="$PWD/.build/slurm-state"
scripts/slurm-down.sh "$slurm_state" >/dev/null 2>&1 || true
SLURM_CONF=$(scripts/slurm-up.sh "$slurm_state" 8 | tail -1)
export SLURM_CONF
trap 'scripts/slurm-down.sh "$slurm_state"' EXIT

swift build --build-tests
swift test --skip-build --disable-swift-testing
