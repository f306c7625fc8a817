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

# pytorch-dnc (PyPI `dnc` 1.1.0) on the CPU build of torch, for the PyTorch bridge's tests
# (TorchBridgeTests). Downloads torch 2.13.0+cpu (~183 MB, with filelock, fsspec, jinja2, networkx,
# sympy: ~10 MB), numpy, h5py and dnc. The +cpu pin cannot match PyPI's CUDA builds: pip takes it
# from its find-links or an index such as PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu.
# dnc goes in without its dependencies: it requires flann, which the dense DNC never imports.
# Where torch cannot be installed the bridge's tests skip.
torch_venv=.build/torch-venv
if ! "$torch_venv/bin/python" -c "import torch, h5py, dnc" 2>/dev/null; then
  rm -rf "$torch_venv"
  python3 -m venv "$torch_venv"
  if ! { "$torch_venv/bin/pip" install -q "torch==2.13.0+cpu" numpy h5py && "$torch_venv/bin/pip" install -q --no-deps dnc==1.1.0; }; then
    echo "note: torch 2.13.0+cpu or dnc could not be installed: TorchBridgeTests will skip" >&2
    rm -rf "$torch_venv"
  fi
fi
if [ -x "$torch_venv/bin/python" ]; then export DNC_TORCH_PYTHON="$PWD/$torch_venv/bin/python"; fi

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
