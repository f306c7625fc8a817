#!/usr/bin/env bash
# The GPU checks of issue #14 for a GPU machine without Swift, in two steps:
#
#   scripts/gpu-check.sh bundle [DIR]    here (Swift, Debian 12): release build of dnc-dist and
#                                        dnc-bench (-Ounchecked, static Swift runtime), packed in
#                                        DIR/dnc-bundle.tar.xz with every shared library they load
#                                        beyond glibc (OpenBLAS, HDF5 and its dependencies, Open MPI
#                                        with mpirun, its plugins and help files, PMIx), started
#                                        through wrappers in bin/ that set LD_LIBRARY_PATH,
#                                        OPAL_PREFIX, PMIX_PKGLIBDIR and HWLOC_PLUGINS_PATH. DIR
#                                        (default .build/gpu-bundle) must be a git-ignored folder of
#                                        this repository, so it can travel with the working tree, and
#                                        fit, with the tracked files, in the 64 MiB that travel.
#   scripts/gpu-check.sh run [DIR]       there: unpacks into a temporary folder, then nvidia-smi,
#                                        dnc-dist diagnostics, dnc-dist gpu-check (every kernel on
#                                        the GPU against its CPU emulation), -cuda 0 and --require-gpu
#                                        today, a CPU training run, 2 MPI ranks against 1 (same
#                                        parameters), dnc-bench dnc-small and dnc-paper; a summary
#                                        with PASS/FAIL per item (seconds, without the GPU items).
#   scripts/gpu-check.sh selftest [DIR]  here: the bundle copied outside the repository and run with
#                                        an empty environment: --version, a short training run,
#                                        mpirun -n 2, and every library it loads (ldd, and LD_DEBUG
#                                        for what is opened at run time) is in the bundle or glibc.
#
# Exit status: 0 all passed; 1 an item failed; 2 bad arguments or no bundle; 3 (run) everything
# passed except the GPU items, which could not run (no GPU, driver or NVRTC: the summary says which).
# `run` finds NVRTC through DNC_NVRTC_LIBRARY, /usr/local/cuda*, or python3's nvidia-* packages;
# it compares checkpoints with python3 and h5py (DNC_PYTHON to choose another interpreter).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

usage="usage: scripts/gpu-check.sh bundle|run|selftest [DIR] (DIR default: .build/gpu-bundle)"
mode=${1:-}
case "$mode" in
  bundle|run|selftest) ;;
  "") echo "gpu-check: no mode given; $usage" >&2; exit 2 ;;
  *) echo "gpu-check: unknown mode '$mode' (accepted: bundle, run, selftest); $usage" >&2; exit 2 ;;
esac
if [ $# -gt 2 ]; then echo "gpu-check: $mode takes at most one DIR, got $(($# - 1)) arguments; $usage" >&2; exit 2; fi
dir=${2:-$repo/.build/gpu-bundle}
case "$dir" in /*) ;; *) dir=$PWD/$dir ;; esac

# Libraries every glibc system has (the bundle relies on them, and on nothing else).
glibc_base='^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libutil\.so\.1|libresolv\.so\.2|libanl\.so\.1)$'
ompi_plugins=lib/x86_64-linux-gnu/openmpi/lib/openmpi3   # Debian's pkglibdir, relative to OPAL_PREFIX
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# ---------------------------------------------------------------------------------------------
bundle() {
  cd "$repo"
  case "$dir/" in
    "$repo"/*) ;;
    *) echo "gpu-check: bundle DIR '$dir' is outside the repository; it must be a git-ignored folder in it (e.g. .build/gpu-bundle) to be carried" >&2; exit 2 ;;
  esac
  if [ "$dir" = "$repo" ] || ! git check-ignore -q "${dir#"$repo"/}/x"; then
    echo "gpu-check: bundle DIR '$dir' is not git-ignored; use a folder under .build/ (e.g. .build/gpu-bundle)" >&2; exit 2
  fi
  # DIR is emptied: only a folder that is empty, absent, or a bundle already.
  if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/MANIFEST" ]; then
    echo "gpu-check: bundle DIR '$dir' holds files that are not a bundle; choose an empty or new folder (e.g. .build/gpu-bundle)" >&2; exit 2
  fi
  for tool in swift strip ldd objdump; do
    command -v "$tool" >/dev/null || { echo "gpu-check: bundle needs '$tool'" >&2; exit 2; }
  done
  [ -x /usr/bin/orterun ] || { echo "gpu-check: bundle needs Open MPI's mpirun (apt-get install openmpi-bin)" >&2; exit 2; }
  local start=$SECONDS
  build=(-c release -Xswiftc -Ounchecked --static-swift-stdlib)
  echo "== build (swift build ${build[*]})"
  for product in dnc-dist dnc-bench; do
    swift build "${build[@]}" --product "$product" 2>&1 | tail -2
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "gpu-check: the build of $product failed" >&2; exit 1; }
  done
  local bin; bin=$(swift build "${build[@]}" --show-bin-path)
  echo "== bundle $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  local carried=$dir
  dir=$(mktemp -d /tmp/dnc-gpu-bundle-stage.XXXXXX)
  # Everything below writes under $dir: never with an empty or odd value (it would write to /bin).
  case "$dir" in /tmp/dnc-gpu-bundle-stage.*) [ -d "$dir" ] ;; *) false ;; esac \
    || { echo "gpu-check: could not make a staging folder in /tmp" >&2; exit 1; }
  # shellcheck disable=SC2064 # the staging folder now: $dir names the carried one at the end
  trap "rm -rf '$dir'" EXIT
  mkdir -p "$dir/bin" "$dir/libexec" "$dir/lib" "$dir/ompi/bin" "$dir/ompi/$ompi_plugins" "$dir/ompi/share" "$dir/ompi/etc" "$dir/pmix/lib"
  for product in dnc-dist dnc-bench; do
    cp "$bin/$product" "$dir/libexec/$product"
    strip "$dir/libexec/$product"
  done
  cp /usr/bin/orterun "$dir/ompi/bin/orterun"
  # Open MPI's help texts and defaults; PMIx's plugins and help texts (its prefix is pmix2/).
  cp -r /usr/share/openmpi "$dir/ompi/share/openmpi"
  cp /etc/openmpi/openmpi-mca-params.conf "$dir/ompi/etc/" 2>/dev/null || true
  cp -r /usr/lib/x86_64-linux-gnu/pmix2/lib/pmix "$dir/pmix/lib/pmix"
  cp -r /usr/lib/x86_64-linux-gnu/pmix2/share "$dir/pmix/share"
  cp /usr/lib/x86_64-linux-gnu/pmix2/lib/libpmix.so.2 "$dir/lib/"

  # The libraries of the programs and of Open MPI's core, by soname, from the paths ldd resolves.
  needed() { ldd "$@" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u; }
  copy_needed() {
    while read -r soname path; do
      [[ $soname =~ $glibc_base ]] && continue
      [ -e "$dir/lib/$soname" ] || cp -L "$path" "$dir/lib/$soname"
    done < <(needed "$@")
  }
  copy_needed "$dir"/libexec/* "$dir/ompi/bin/orterun" "$dir/lib/libpmix.so.2" /usr/lib/x86_64-linux-gnu/pmix2/lib/pmix/*.so
  # Plugins whose libraries are all there already, or Open MPI's own small common ones; the
  # others need network stacks (UCX, libfabric, verbs, PSM) a single node does not use.
  local shipped=0 dropped=()
  for plugin in /usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3/*.so; do
    local ok=1
    while read -r soname path; do
      [[ $soname =~ $glibc_base ]] && continue
      [ -e "$dir/lib/$soname" ] && continue
      [[ $soname =~ ^libmca_common_(sm|monitoring|ompio)\.so ]] && continue
      ok=0
    done < <(needed "$plugin")
    if [ $ok = 1 ]; then cp "$plugin" "$dir/ompi/$ompi_plugins/"; shipped=$((shipped + 1)); else dropped+=("$(basename "$plugin" .so)"); fi
  done
  copy_needed "$dir/ompi/$ompi_plugins"/*.so
  echo "Open MPI plugins: $shipped shipped, ${#dropped[@]} left out (network stacks or OpenSHMEM): ${dropped[*]}"
  strip --strip-unneeded "$dir"/lib/*.so* "$dir/ompi/$ompi_plugins"/*.so "$dir"/pmix/lib/pmix/*.so 2>/dev/null || true

  # The environment every entry point sets: bundle libraries first, Open MPI and PMIx relocated.
  cat > "$dir/env.sh" <<'EOF'
# Sourced by the wrappers in bin/ after they set bundle_root: the bundle's libraries before any
# other; Open MPI, PMIx and hwloc looking for their plugins and help files in the bundle only
# (their configured paths are under /usr; hwloc's plugins, GL and OpenCL probes, are left out:
# its built-in Linux discovery is all mpirun needs). scripts/gpu-check.sh bundle writes this.
export LD_LIBRARY_PATH="$bundle_root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OPAL_PREFIX="$bundle_root/ompi" OPAL_SYSCONFDIR="$bundle_root/ompi/etc"
export PMIX_PREFIX="$bundle_root/pmix" PMIX_PKGLIBDIR="$bundle_root/pmix/lib/pmix"
export HWLOC_PLUGINS_PATH="$bundle_root/lib/hwloc"
EOF
  mkdir -p "$dir/lib/hwloc"
  for program in dnc-dist dnc-bench; do
    printf '#!/bin/sh\nbundle_root=$(cd "$(dirname "$0")/.." && pwd)\n. "$bundle_root/env.sh"\nexec "$bundle_root/libexec/%s" "$@"\n' "$program" > "$dir/bin/$program"
  done
  printf '#!/bin/sh\nbundle_root=$(cd "$(dirname "$0")/.." && pwd)\n. "$bundle_root/env.sh"\nexec "$bundle_root/ompi/bin/orterun" "$@"\n' > "$dir/bin/mpirun"
  chmod +x "$dir"/bin/*

  # What the target needs: the newest glibc symbol version any bundled file asks for.
  local glibc
  glibc=$(find "$dir" -type f \( -name '*.so*' -o -path '*/libexec/*' -o -name orterun \) -exec objdump -T {} + 2>/dev/null \
          | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
  {
    echo "commit $(git rev-parse HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
    echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release; echo "$PRETTY_NAME"), $(swift --version 2>&1 | head -1)"
    echo "glibc_required $glibc"
    echo "libraries:"
    for lib in "$dir"/lib/*.so*; do
      local pkg; pkg=$(dpkg -S "$(basename "$lib")" 2>/dev/null | head -1 | cut -d: -f1)
      echo "  $(basename "$lib") ${pkg:-?}"
    done
  } > "$dir/MANIFEST"

  # Both programs carry the static Swift runtime with ICU's data (about 60 MiB each, mostly the
  # same bytes): one xz stream with a 64 MiB dictionary stores the second copy as references.
  echo "compressing (xz -${DNC_BUNDLE_XZ_PRESET:-9}) …"
  # (DNC_BUNDLE_XZ_PRESET=0 for quick trials: a bundle too large to carry.) Written under another
  # name first: an interrupted run leaves no truncated bundle that `run` would take.
  tar -C "$dir" -cf - MANIFEST env.sh bin libexec/dnc-dist libexec/dnc-bench lib ompi pmix \
    | xz "-${DNC_BUNDLE_XZ_PRESET:-9}" -T1 > "$carried/dnc-bundle.tar.xz.partial" \
    && mv "$carried/dnc-bundle.tar.xz.partial" "$carried/dnc-bundle.tar.xz" \
    || { echo "gpu-check: compressing the bundle failed" >&2; exit 1; }
  cp "$dir/MANIFEST" "$carried/MANIFEST"
  local bytes unpacked budget tracked
  unpacked=$(du -sb "$dir" | cut -f1)
  bytes=$(du -sb "$carried" | cut -f1)
  tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
  budget=$((64 * 1048576 - tracked))
  echo "bundle: $(mib "$bytes") MiB ($(mib "$unpacked") MiB unpacked, $(find "$dir" -type f | wc -l) files, $(find "$dir/lib" -maxdepth 1 -name '*.so*' | wc -l) libraries); needs glibc ≥ $glibc;"
  echo "        with the $(mib "$tracked") MiB of tracked files $(mib $((bytes + tracked))) of the 64 MiB that travel; $((SECONDS - start)) s"
  dir=$carried
  if [ "$bytes" -gt "$budget" ]; then
    echo "gpu-check: the bundle ($(mib "$bytes") MiB) is over its $(mib "$budget") MiB (64 MiB less the tracked files)" >&2; exit 1
  fi
  echo "carry it to the GPU machine as '${dir#"$repo"/}' and run: scripts/gpu-check.sh run ${dir#"$repo"/}"
}

# ---------------------------------------------------------------------------------------------
# Items for `run` and `selftest`: each prints its output, its time and a verdict for the summary.
summary=()
failed=0
no_gpu=0
item() {   # item NAME VERDICT DETAIL
  summary+=("$(printf '%-8s %-34s %s' "$2" "$1" "$3")")
  case "$2" in PASS) ;; NO-GPU) no_gpu=1 ;; *) failed=1 ;; esac
}
# timed COMMAND…: runs it, leaving its wall time in $elapsed ("1.23").
timed() {
  local t0; t0=$(date +%s%N); "$@"; local s=$?
  elapsed=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'); return $s
}
need_bundle() {
  if [ ! -f "$1/dnc-bundle.tar.xz" ]; then
    echo "gpu-check: no bundle in '$1' (no dnc-bundle.tar.xz; make it with: scripts/gpu-check.sh bundle)" >&2; exit 2
  fi
}
# unpack DIR TARGET: the bundle's tree into TARGET, with xz, else Python's lzma (always there).
unpack() {
  mkdir -p "$2"
  if command -v xz >/dev/null; then tar -C "$2" -xJf "$1/dnc-bundle.tar.xz"
  else "${DNC_PYTHON:-python3}" -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$1/dnc-bundle.tar.xz" "$2"; fi
}
mpi_env=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1)
small=(-nhid 16 -mem_slot 8 -mem_size 6 -read_heads 2 -lr 0.003 -summarize_freq 5 -eval_lengths 2,4 -eval_batches 1)

# Largest |difference| between the parameters of two checkpoints, read with h5py.
compare_checkpoints() {
  "${DNC_PYTHON:-python3}" - "$1" "$2" <<'EOF'
import sys
import h5py
import numpy as np
def read(path):
    with h5py.File(path, "r") as f:
        names = [n if isinstance(n, str) else n.decode() for n in f["params"].attrs["names"]]
        return {n: np.asarray(f["params"][n][()], dtype=np.float64) for n in names}
a, b = read(sys.argv[1]), read(sys.argv[2])
assert a.keys() == b.keys(), "different parameters"
print(max(float(np.max(np.abs(a[n] - b[n]))) for n in a))
EOF
}

run() {
  need_bundle "$dir"
  local work; work=$(mktemp -d /tmp/dnc-gpu-check.XXXXXX)
  # shellcheck disable=SC2064 # expanded now: the variable is local
  trap "rm -rf '$work'" EXIT
  local start=$SECONDS out status b=$work/bundle
  export "${mpi_env[@]}"
  echo "== bundle: $dir"; sed -n '1,3p' "$dir/MANIFEST"
  timed unpack "$dir" "$b" || { echo "gpu-check: cannot unpack $dir/dnc-bundle.tar.xz" >&2; exit 1; }
  echo "unpacked into $b in ${elapsed} s"

  echo "== glibc"
  local have want; have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}'); want=$(awk '/^glibc_required/ {print $2}' "$b/MANIFEST")
  if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" = "$want" ]; then item glibc PASS "$have ≥ $want"
  else item glibc FAIL "this machine: ${have:-unknown}, the bundle needs $want"; fi

  echo "== nvidia-smi -L"
  if ! command -v nvidia-smi >/dev/null; then echo "(no nvidia-smi)"; item nvidia-smi NO-GPU "nvidia-smi is not installed"
  elif out=$(nvidia-smi -L 2>&1); then echo "$out"; item nvidia-smi PASS "$(echo "$out" | grep -c '^GPU') GPU(s)"
  else echo "$out"; item nvidia-smi NO-GPU "nvidia-smi: $(echo "$out" | head -1)"; fi

  echo "== dnc-dist diagnostics"
  timed "$b/bin/dnc-dist" diagnostics; status=$?
  if [ $status = 0 ]; then item diagnostics PASS "${elapsed} s"; else item diagnostics FAIL "exit $status"; fi

  echo "== dnc-dist gpu-check"
  out=$(timed "$b/bin/dnc-dist" gpu-check 2>&1); status=$?
  echo "$out"
  case $status in
    0) item gpu-kernels PASS "$(echo "$out" | tail -1 | sed 's/^gpu-check: //')" ;;
    2) item gpu-kernels NO-GPU "$(echo "$out" | tail -1 | sed 's/^error: gpu-check: //')" ;;
    *) item gpu-kernels FAIL "$(echo "$out" | grep -c '^FAIL') failed: $(echo "$out" | grep '^FAIL' | head -1)" ;;
  esac

  echo "== -cuda 0 and --require-gpu"
  out=$("$b/bin/dnc-dist" train copy -cuda 0 -iterations 20 -nhid 8 -mem_slot 8 -mem_size 4 -batch_size 2 -eval_lengths 2 \
        -eval_batches 1 --run-dir "$work/cuda0" 2>&1 >/dev/null); status=$?
  echo "$out"
  local warnings gpu_lines; warnings=$(echo "$out" | grep -c '^warning: -cuda 0: .*; running on the CPU$'); gpu_lines=$(echo "$out" | grep -c '^GPU: -cuda 0: GPU 0: ')
  if [ $no_gpu = 1 ]; then
    if [ $status = 0 ] && [ "$warnings" = 1 ]; then item "-cuda 0 without a GPU warns, trains on the CPU" PASS "$(echo "$out" | grep '^warning' | cut -c1-70)…"
    else item "-cuda 0 without a GPU warns, trains on the CPU" FAIL "exit $status, $warnings warning line(s)"; fi
    out=$("$b/bin/dnc-dist" train copy -cuda 0 --require-gpu -iterations 2 --run-dir "$work/require" 2>&1); status=$?
    echo "$out (exit $status)"
    if [ $status = 2 ] && [ "$(echo "$out" | wc -l)" = 1 ] && [[ $out == "error: --require-gpu: -cuda 0: "* ]] && [ ! -e "$work/require" ]; then
      item "--require-gpu refuses" PASS "exit 2, one line, no work"
    else item "--require-gpu refuses" FAIL "exit $status: $(echo "$out" | head -1)"; fi
  else
    if [ $status = 0 ] && [ "$warnings" = 0 ] && [ "$gpu_lines" = 1 ]; then item "-cuda 0 trains on the GPU" PASS "$(echo "$out" | grep '^GPU:' | cut -c1-70)…"
    else item "-cuda 0 trains on the GPU" FAIL "exit $status, $warnings warning(s), $gpu_lines GPU line(s)"; fi
    out=$("$b/bin/dnc-dist" train copy -cuda 0 --require-gpu -iterations 2 -nhid 8 -mem_slot 8 -mem_size 4 -batch_size 2 -eval_lengths 2 \
          -eval_batches 1 --run-dir "$work/require" 2>&1 >/dev/null); status=$?
    if [ $status = 0 ]; then item "--require-gpu with a GPU trains" PASS "exit 0"; else item "--require-gpu with a GPU trains" FAIL "exit $status: $(echo "$out" | head -1)"; fi
  fi

  echo "== CPU training: dnc-dist train copy -iterations 50"
  timed "$b/bin/dnc-dist" train copy -iterations 50 -batch_size 8 "${small[@]}" -summarize_freq 25 -check_freq 50 --run-dir "$work/train"; status=$?
  if [ $status = 0 ] && [ -e "$work/train/checkpoints/checkpoint-00000050.h5" ]; then item "train copy, 50 steps" PASS "${elapsed} s"
  else item "train copy, 50 steps" FAIL "exit $status"; fi

  local cuda
  for cuda in -1 0; do
    [ $cuda = 0 ] && [ $no_gpu = 1 ] && continue
    local label="mpirun -n 2 = 1 rank (-cuda $cuda)"
    echo "== $label"
    local ranks_ok=1
    for ranks in 1 2; do
      timed "$b/bin/mpirun" -n $ranks "$b/bin/dnc-dist" train copy -cuda $cuda -iterations 6 -batch_size 8 "${small[@]}" \
        --run-dir "$work/ranks$ranks-cuda$cuda" >"$work/ranks$ranks-cuda$cuda.log" 2>&1 \
        || { ranks_ok=0; grep -m3 -E '^error|rank [0-9]+:' "$work/ranks$ranks-cuda$cuda.log" || tail -5 "$work/ranks$ranks-cuda$cuda.log"; }
      echo "$ranks rank(s): ${elapsed} s"
    done
    local difference
    if [ $ranks_ok = 0 ]; then item "$label" FAIL "a run failed (log above)"
    elif difference=$(compare_checkpoints "$work/ranks1-cuda$cuda/checkpoints/checkpoint-00000006.h5" \
                        "$work/ranks2-cuda$cuda/checkpoints/checkpoint-00000006.h5" 2>&1); then
      if awk -v d="$difference" 'BEGIN { exit !(d < 1e-4) }'; then item "$label" PASS "max |Δparameter| $difference < 1e-4 (h5py)"
      else item "$label" FAIL "max |Δparameter| $difference ≥ 1e-4"; fi
    else item "$label" FAIL "comparing with ${DNC_PYTHON:-python3} and h5py: $(echo "$difference" | tail -1)"; fi
  done

  echo "== dnc-bench (CPU rank)"
  for row in dnc-small dnc-paper; do
    timed "$b/bin/dnc-bench" --only "$row" --repeats 3; status=$?
    if [ $status = 0 ]; then item "dnc-bench $row" PASS "${elapsed} s"; else item "dnc-bench $row" FAIL "exit $status"; fi
  done
  if [ $no_gpu = 0 ]; then
    echo "== dnc-bench --only gpu --gpu-cpu (the six configurations of issue #14, pytorch-dnc's H200 times beside them)"
    timed "$b/bin/dnc-bench" --only gpu --gpu-cpu --repeats 5; status=$?
    if [ $status = 0 ]; then item "dnc-bench --only gpu" PASS "${elapsed} s"; else item "dnc-bench --only gpu" FAIL "exit $status"; fi
  fi
  finish "run" "$start"
}

selftest() {
  need_bundle "$dir"
  local t; t=$(mktemp -d /tmp/dnc-gpu-bundle.XXXXXX)
  # shellcheck disable=SC2064 # expanded now: the variable is local
  trap "rm -rf '$t'" EXIT
  local start=$SECONDS out status
  # As on the GPU machine: the carried folder, unpacked outside the repository.
  cp -r "$dir" "$t/carried"
  local b=$t/bundle
  timed unpack "$t/carried" "$b" || { echo "gpu-check: cannot unpack the bundle" >&2; exit 1; }
  # Nothing of this shell's environment (no build paths, no LD_LIBRARY_PATH), as on the GPU machine.
  clean=(env -i PATH=/usr/bin:/bin HOME="$HOME" "${mpi_env[@]}")
  echo "== unpacked into $b in ${elapsed} s ($(mib "$(du -sb "$b" | cut -f1)") MiB)"

  out=$("${clean[@]}" "$b/bin/dnc-dist" --version 2>&1); status=$?
  echo "$out"
  if [ $status = 0 ] && [[ $out == "dnc-dist "* ]]; then item "dnc-dist --version" PASS "$(echo "$out" | head -1)"; else item "dnc-dist --version" FAIL "exit $status"; fi

  timed "${clean[@]}" "$b/bin/dnc-dist" train copy -iterations 5 -batch_size 4 "${small[@]}" --run-dir "$t/train" >/dev/null; status=$?
  if [ $status = 0 ] && [ -e "$t/train/checkpoints/checkpoint-00000005.h5" ]; then item "train copy, 5 steps" PASS "${elapsed} s"
  else item "train copy, 5 steps" FAIL "exit $status"; fi

  # Every object loaded, by any process of the job (mpirun, both ranks, their plugins), by path.
  mkdir -p "$t/lddebug"
  timed "${clean[@]}" LD_DEBUG=files LD_DEBUG_OUTPUT="$t/lddebug/trace" "$b/bin/mpirun" -n 2 "$b/bin/dnc-dist" train copy -iterations 5 \
    -batch_size 4 "${small[@]}" --run-dir "$t/ranks" >"$t/ranks.log" 2>&1; status=$?
  if [ $status = 0 ] && [ -e "$t/ranks/checkpoints/checkpoint-00000005.h5" ]; then item "mpirun -n 2 from the bundle" PASS "${elapsed} s"
  else tail -5 "$t/ranks.log"; item "mpirun -n 2 from the bundle" FAIL "exit $status"; fi
  local loaded outside
  loaded=$(cat "$t"/lddebug/trace.* 2>/dev/null | sed -n 's/.*calling init: //p' | sort -u)
  outside=$(echo "$loaded" | grep -v "^$b/" | while read -r path; do [[ $(basename "$path") =~ $glibc_base ]] || echo "$path"; done)
  if [ -n "$loaded" ] && [ -z "$outside" ]; then item "loaded at run time (LD_DEBUG)" PASS "$(echo "$loaded" | wc -l) objects, all bundle or glibc"
  else item "loaded at run time (LD_DEBUG)" FAIL "from outside: $(echo "${outside:-nothing traced}" | tr '\n' ' ')"; fi

  # ldd through the wrappers' environment: every library of every binary and plugin resolves inside.
  local unresolved=""
  for file in "$b"/libexec/* "$b/ompi/bin/orterun" "$b"/lib/*.so* "$b/ompi/$ompi_plugins"/*.so "$b"/pmix/lib/pmix/*.so; do
    out=$("${clean[@]}" sh -c "bundle_root='$b' && . '$b/env.sh' && ldd '$file'" 2>&1 | awk '$2 == "=>" { print $1, $3 }')
    unresolved+=$(echo "$out" | while read -r soname path; do
      [ -z "$soname" ] && continue
      [[ $soname =~ $glibc_base ]] && continue
      [[ $path == "$b/"* ]] || echo "$(basename "$file"): $soname → $path; "
    done)
  done
  if [ -z "$unresolved" ]; then item "ldd: all inside the bundle" PASS "binaries, libraries, plugins"
  else item "ldd: all inside the bundle" FAIL "$unresolved"; fi
  finish "selftest" "$start"
}

finish() {
  echo
  echo "== summary ($1, $((SECONDS - $2)) s)"
  printf '%s\n' "${summary[@]}"
  if [ $failed = 1 ]; then echo "gpu-check $1: FAILED"; exit 1; fi
  if [ $no_gpu = 1 ]; then echo "gpu-check $1: the GPU items could not run (no GPU, driver or NVRTC: see above); everything else passed"; exit 3; fi
  echo "gpu-check $1: all passed"
}

"$mode"
