#!/usr/bin/env bash
# One command from a fresh Debian 12 machine with Swift: install what is missing, build in
# release mode, and run a short real training run on generated data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release -Xswiftc -Ounchecked
.build/release/dnc-dist --version
# A short real run on generated data: a DNC learning to copy sequences of up to 4 vectors.
# Any arguments replace these (see `dnc-dist train copy --help`).
if [ $# -eq 0 ]; then
  set -- --iterations 1000 --batch_size 16 --lr 1e-3 --summarize_freq 100 --sequence_max_length 4
fi
.build/release/dnc-dist train copy "$@"
