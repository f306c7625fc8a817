#!/usr/bin/env bash
# mpirun across the hosts of a hostfile (one line per host: `node1 slots=8`), without Slurm.
# Usage: cluster/mpirun-hostfile.sh HOSTFILE RANKS [dnc-dist train arguments...]
#   e.g. cluster/mpirun-hostfile.sh hosts.txt 16 copy --config experiments/copy-L10.json --run-dir /nfs/runs/a
# -x passes the BLAS settings to remote ranks (local ranks inherit them anyway). mpirun-signals.sh
# keeps SIGTERM/SIGINT/SIGUSR1 a clean stop: checkpoint, exit code 99 (plain mpirun exits 1).
set -euo pipefail
# This folder, wherever the script is called from (and through a symbolic link).
here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
source "$here/env.sh"
hostfile=${1:?hostfile}; ranks=${2:?number of ranks}; shift 2
exec "$here/mpirun-signals.sh" --hostfile "$hostfile" -n "$ranks" \
  -x OPENBLAS_NUM_THREADS -x DNC_BLAS_CORE -x OPENBLAS_CORETYPE \
  "$DNC_DIST" train "$@"
