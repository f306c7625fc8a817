#!/usr/bin/env bash
# Starts a one-node Slurm cluster (munge, slurmctld, slurmd) without systemd, all state under
# the directory given, for the end-to-end tests. Prints the SLURM_CONF to export.
# Usage: scripts/slurm-up.sh STATE_DIR [CPUS]     Stop with scripts/slurm-down.sh STATE_DIR.
set -euo pipefail
D=${1:?state directory}; CPUS=${2:-8}; H=$(hostname -s)
D=$(mkdir -p "$D" && cd "$D" && pwd)
MEM=$(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p $D/state $D/spool $D/log $D/munge /run/munge
chown munge:munge /run/munge $D/munge; chmod 755 /run/munge
[ -s /etc/munge/munge.key ] || { mungekey -c -k /etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
cat > $D/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=pmix
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=$H CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
export SLURM_CONF=$D/slurm.conf
if [ ! -S /run/munge/munge.socket.2 ]; then
  setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F --pid-file=/run/munge/munged.pid \
    --seed-file=$D/munge/munged.seed > $D/log/munged.out 2>&1 &
  echo $! > $D/munged.fg.pid
  for i in $(seq 50); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.1; done
fi
munge -n | unmunge > /dev/null
/usr/sbin/slurmctld -D -f $D/slurm.conf > $D/log/slurmctld.out 2>&1 & echo $! > $D/slurmctld.fg.pid
/usr/sbin/slurmd -D -f $D/slurm.conf > $D/log/slurmd.out 2>&1 & echo $! > $D/slurmd.fg.pid
for i in $(seq 100); do
  st=$(sinfo -h -N -o %T 2>/dev/null | head -1)
  [ "$st" = idle ] && break
  sleep 0.2
done
[ "$st" = idle ] || { echo "slurm-up: node did not become idle ($st); see $D/log" >&2; exit 1; }
echo "$D/slurm.conf"
