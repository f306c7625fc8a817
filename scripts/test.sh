#!/usr/bin/env bash
# The whole test suite from a fresh machine: install what is missing, then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test --skip-build --disable-swift-testing
