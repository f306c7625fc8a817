#!/usr/bin/env bash
# The whole test suite from a fresh machine: install what is missing, make a Python virtual
# environment with h5py (the external reader the file-format tests use), then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

venv=.build/h5py-venv
if ! "$venv/bin/python" -c "import h5py" 2>/dev/null; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q h5py
fi
export DNC_TEST_PYTHON="$PWD/$venv/bin/python"

swift build --build-tests
swift test --skip-build --disable-swift-testing
