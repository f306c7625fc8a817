#!/usr/bin/env bash
# The GPU checks of issue #14, on a machine with an NVIDIA GPU and driver: what dnc-dist sees
# (diagnostics), the kernels compiled by NVRTC for the device, loaded by the driver, run and
# compared with their CPU emulation (GPUTests.GPUKernelTests), and what -cuda 0 does today.
# Fails when the GPU kernel tests fail or skip (a skip names the missing piece: driver, NVRTC,
# or NVRTC newer than the driver). Needs Swift and NVRTC: DNC_NVRTC_LIBRARY, a CUDA toolkit in
# /usr/local/cuda*, or .build/nvrtc-venv (scripts/test.sh makes it where pip can download).
# Usage: scripts/gpu-check.sh   (about a minute after the build)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DNC_NVRTC_LIBRARY:-}" ]; then
  found=$(find .build/nvrtc-venv -name 'libnvrtc.so.13' -path '*nvidia*' 2>/dev/null | head -1 || true)
  if [ -n "$found" ]; then DNC_NVRTC_LIBRARY="$PWD/$found"; export DNC_NVRTC_LIBRARY; fi
fi

echo "== nvidia-smi"
nvidia-smi -L 2>&1 || echo "(nvidia-smi not available)"

echo "== build"
swift build --build-tests 2>&1 | tail -3

echo "== dnc-dist diagnostics"
.build/debug/dnc-dist diagnostics

echo "== GPU tests"
log=$(mktemp)
status=0
swift test --skip-build --disable-swift-testing \
  --filter 'GPUTests.GPUKernelTests|GPUTests.KernelCompilerTests|GPUTests.DeviceSelectionTests|CommandLineTests.GPUCommandTests' \
  >"$log" 2>&1 || status=$?
grep -E "error|skipped|passed|failed" "$log" | grep -v "^Test Suite" || true
if grep -q "GPUKernelTests.*skipped" "$log"; then
  echo "gpu-check: the GPU kernel tests skipped (reason above): nothing ran on the GPU" >&2
  status=1
fi

echo "== -cuda 0 today"
run=$(mktemp -d)
.build/debug/dnc-dist train copy -cuda 0 -iterations 2 -nhid 8 -mem_slot 8 -mem_size 4 -batch_size 2 -eval_lengths 2 \
  -eval_batches 1 --run-dir "$run/a" 2>&1 | grep -E "^warning|^error" || true
.build/debug/dnc-dist train copy -cuda 0 --require-gpu -iterations 2 --run-dir "$run/b" 2>&1 || echo "(exit $?)"
rm -rf "$run" "$log"
exit "$status"
