#!/usr/bin/env bash
# One command from a fresh Debian 12 machine with Swift: install what is missing, build in
# release mode, and run a short real training run on generated data: a DNC learning to copy
# sequences of up to 4 vectors, with checkpoints, a memory debug dump and a generalisation
# evaluation, all under runs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
# DNC_TARGET_CPU=native (or znver4, skylake-avx512, haswell, ...) builds for that CPU: wider
# vectors in the Swift code, the same results bit for bit, but a binary only CPUs with those
# features run (README, "Performance"). Unset: a build for any x86-64.
build=(-c release -Xswiftc -Ounchecked)
if [ -n "${DNC_TARGET_CPU:-}" ]; then
  probe=$(mktemp -d)
  echo 'let probe = 1' > "$probe/probe.swift"
  if ! swiftc -target-cpu "$DNC_TARGET_CPU" -parse-as-library -emit-object "$probe/probe.swift" -o "$probe/probe.o" 2>/dev/null; then
    rm -rf "$probe"
    echo "quickstart: DNC_TARGET_CPU '$DNC_TARGET_CPU' is not a CPU swiftc knows (e.g. native, znver4, skylake-avx512, haswell)" >&2
    exit 2
  fi
  rm -rf "$probe"
  build+=(-Xswiftc -target-cpu -Xswiftc "$DNC_TARGET_CPU")
fi
scripts/setup.sh
swift build "${build[@]}"
.build/release/dnc-dist --version
# Any arguments replace these (see `dnc-dist train copy --help`).
if [ $# -eq 0 ]; then
  rm -rf runs/quickstart
  set -- -iterations 6000 -batch_size 32 -lr 0.001 -nhid 64 -nhlayer 1 -mem_slot 16 -mem_size 16 -read_heads 2 \
         -sequence_max_length 4 -summarize_freq 250 -check_freq 1000 -debug -eval_lengths 4,8,16,40 \
         --run-dir runs/quickstart
fi
.build/release/dnc-dist train copy "$@"
