#!/usr/bin/env bash
# mpirun with dnc-dist's stop signals and exit codes intact. Usage: cluster/mpirun-signals.sh MPIRUN-ARGUMENTS...
#   e.g. cluster/mpirun-signals.sh -n 8 .build/release/dnc-dist train copy --config experiments/copy-L10.json --run-dir runs/a
#
# Open MPI's mpirun treats SIGTERM and SIGINT as "abort the job": it sets its own exit status to 1
# before the ranks, which got the signal too, have written their checkpoint and exited with 99,
# so a scheduler cannot tell a clean stop from a failure. SIGUSR1, however, mpirun forwards to
# every rank and leaves alone. This script turns SIGTERM, SIGINT and SIGUSR1 into one SIGUSR1 for
# mpirun: every rank finishes its step, rank 0 writes the checkpoint, all finalize MPI and exit
# 99, and mpirun (so this script) exits 99. A rank killed by a signal (mpirun names it) ends the
# job; the checkpoints written before are intact and --resume continues from the newest.
set -uo pipefail
mpirun "$@" &
job=$!
forward() { kill -USR1 "$job" 2>/dev/null; }
trap forward TERM INT USR1
while true; do
  wait "$job"; status=$?
  # wait returns early (status > 128) when a trapped signal arrives; keep waiting for mpirun.
  kill -0 "$job" 2>/dev/null || break
done
if [ "$status" -eq 99 ]; then
  echo "mpirun-signals: every rank checkpointed on the signal and stopped (exit 99); continue with the same command and --resume" >&2
elif [ "$status" -gt 128 ] || [ "$status" -eq 1 ]; then
  echo "mpirun-signals: the job failed (mpirun exit $status; the message above names the rank); the checkpoints written before are intact: continue with the same command and --resume" >&2
fi
exit "$status"
