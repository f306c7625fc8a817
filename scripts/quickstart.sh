#!/usr/bin/env bash
# One command from a fresh Debian 12 machine with Swift: install what is missing, build in
# release mode, and run a short real training run on generated data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release -Xswiftc -Ounchecked
.build/release/dnc-dist --version
.build/release/dnc-dist train copy "$@"
