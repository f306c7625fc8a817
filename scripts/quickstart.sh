#!/usr/bin/env bash
# One command from a fresh Debian 12 machine with Swift: install what is missing, build in
# release mode, and run a short real training run on generated data: a DNC learning to copy
# sequences of up to 4 vectors, with checkpoints, a memory debug dump and a generalisation
# evaluation, all under runs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release -Xswiftc -Ounchecked
.build/release/dnc-dist --version
# Any arguments replace these (see `dnc-dist train copy --help`).
if [ $# -eq 0 ]; then
  rm -rf runs/quickstart
  set -- -iterations 6000 -batch_size 32 -lr 0.001 -nhid 64 -nhlayer 1 -mem_slot 16 -mem_size 16 -read_heads 2 \
         -sequence_max_length 4 -summarize_freq 250 -check_freq 1000 -debug -eval_lengths 4,8,16,40 \
         --run-dir runs/quickstart
fi
.build/release/dnc-dist train copy "$@"
