#!/usr/bin/env bash
# Stops what scripts/slurm-up.sh started (daemons recorded under STATE_DIR).
D=${1:?state directory}
for p in slurmd slurmctld munged; do
  f=$D/$p.fg.pid
  [ -f $f ] || continue
  pid=$(cat $f)
  kill $pid 2>/dev/null
  for i in $(seq 25); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done
  kill -9 $pid 2>/dev/null
  rm -f $f
done
exit 0
