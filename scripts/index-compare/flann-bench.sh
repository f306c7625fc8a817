#!/usr/bin/env bash
# Builds flann_bench.c against the system FLANN (libflann-dev) and runs it on each
# dataset directory given, printing one JSON line per (dataset, trees, checks) on stdout.
#
# Usage: scripts/index-compare/flann-bench.sh DATASET_DIR...
# The binary goes to $BUILD_DIR (default /tmp/flann-bench).
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 DATASET_DIR..." >&2
  exit 2
fi

here="$(cd "$(dirname "$0")" && pwd)"
build_dir="${BUILD_DIR:-/tmp/flann-bench}"
mkdir -p "$build_dir"
bin="$build_dir/flann_bench"

# Debian's flann.pc declares hdf5 and liblz4 as requirements, which drags in MPI include
# and library paths that may be missing or broken; only the C API in libflann is needed,
# so plain -lflann is the fallback when pkg-config fails or its flags do not link.
compile() {
  cc -O2 -std=c11 -D_POSIX_C_SOURCE=199309L -Wall -Wextra \
    -o "$bin" "$here/flann_bench.c" "$@" -lm
}
if flann_flags="$(pkg-config --cflags --libs flann 2>/dev/null)" &&
  compile $flann_flags 2>"$build_dir/pkg-config-build.log"; then
  :
else
  echo "flann-bench: pkg-config flags for flann unusable (see $build_dir/pkg-config-build.log); using -lflann" >&2
  compile -lflann
fi

for dir in "$@"; do
  "$bin" "$dir"
done
