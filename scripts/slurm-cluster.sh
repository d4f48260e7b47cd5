#!/usr/bin/env bash
# A single-node Slurm cluster on 127.0.0.1 for tests: `start` or `stop`. Needs root and
# Debian's slurm-wlm and munge (./setup.sh installs them). No systemd, cgroups or
# accounting: state lives in $REPRO_SLURM_DIR (default /tmp/repro-slurm).
set -euo pipefail
dir="${REPRO_SLURM_DIR:-/tmp/repro-slurm}"
host="$(hostname -s)"

# Stops only the daemons this script started, by the pid files it gave them (a pid is
# trusted only while /proc says it still runs the expected program), never other daemons
# of the same name on the machine.
stop_one() {
  local name=$1 pidfile=$2 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -d "/proc/$pid" ] || break
      sleep 0.1
    done
  fi
  rm -f "$pidfile"
}

stop() {
  stop_one slurmd "$dir/slurmd.pid"
  stop_one slurmctld "$dir/slurmctld.pid"
  stop_one munged "$dir/munge/munged.pid"
}

start() {
  stop
  mkdir -p "$dir"/{state,spool,log}
  # munge: a key, its runtime folder, the daemon as the munge user.
  [ -f /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; }
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  install -d -o munge -g munge /run/munge /var/log/munge /var/lib/munge
  # munged writes its pid file as the munge user: give it a folder it may write.
  install -d -o munge -g munge "$dir/munge"
  setpriv --reuid=munge --regid=munge --init-groups munged --pid-file="$dir/munge/munged.pid" >/dev/null 2>&1
  local mem=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) - 2048 ))
  mkdir -p /etc/slurm
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=repro-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=86400
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  slurmctld -c >/dev/null 2>&1
  slurmd >/dev/null 2>&1
  for _ in $(seq 1 100); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "slurm: node $host up"
      return 0
    fi
    sleep 0.2
  done
  echo "slurm: the node did not come up; logs in $dir/log" >&2
  exit 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
