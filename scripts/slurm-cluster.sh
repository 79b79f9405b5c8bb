#!/usr/bin/env bash
# A throwaway single-node Slurm (slurmctld, slurmd, munge) on 127.0.0.1, everything in one directory.
#   slurm-cluster.sh install          install the Debian packages if missing
#   slurm-cluster.sh start BASE_DIR   start munged, slurmctld and slurmd on free ports; print one JSON line
#   slurm-cluster.sh stop BASE_DIR    kill the daemons whose pid files are in BASE_DIR, remove BASE_DIR
# Facts behind the settings: /work/shared/SLURM-TEST-CLUSTER.md. Clients find the cluster through
# SLURM_CONF=BASE_DIR/slurm.conf. Progress goes to stderr, logs to BASE_DIR/log.
set -Eeuo pipefail

PACKAGES=(slurmctld slurmd slurm-client munge)

log() { echo "slurm-cluster: $*" >&2; }
usage() { echo "usage: $0 install | start BASE_DIR | stop BASE_DIR" >&2; exit 2; }
have_all() { local b; for b in slurmctld slurmd munged sbatch squeue scontrol scancel sinfo; do command -v "$b" >/dev/null || return 1; done; }

install() {
  have_all && return 0
  local sudo=()
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo=(sudo); fi
  log "installing ${PACKAGES[*]}"
  "${sudo[@]}" apt-get update >&2 || { log "apt-get update failed"; exit 1; }
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}" >&2 ||
    { log "apt-get install ${PACKAGES[*]} failed"; exit 1; }
  have_all || { log "${PACKAGES[*]} still not on PATH after apt-get install"; exit 1; }
}

# Two free TCP ports on 127.0.0.1, held open together so they differ.
free_ports() {
  node -e '
    const net = require("net"); const a = net.createServer(), b = net.createServer();
    a.listen(0, "127.0.0.1", () => b.listen(0, "127.0.0.1", () => {
      console.log(a.address().port, b.address().port); a.close(); b.close(); }));'
}

# A pid from a pid file is killed only while its command line still names this base directory.
kill_pids() {
  local base=$1 name pid pids=() i
  for name in slurmd slurmctld munge/munged; do
    [ -f "$base/$name.pid" ] || continue
    pid=$(cat "$base/$name.pid")
    if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$base/"; then
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    fi
    rm -f "$base/$name.pid"
  done
  for i in $(seq 30); do
    local alive=()
    for pid in ${pids[@]+"${pids[@]}"}; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    pids=(${alive[@]+"${alive[@]}"})
    [ ${#pids[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

stop() {
  local base
  base=$(realpath -m "$1")
  [ -f "$base/slurm.conf" ] || { log "$base holds no cluster"; return 0; }
  kill_pids "$base"
  rm -rf "$base"
}

start() {
  local base ctld_port slurmd_port host cpus mem
  mkdir -p "$1"
  base=$(realpath "$1")
  trap 'log "start failed; logs:"; tail -n 20 "$base"/log/*.log >&2 2>/dev/null || true; kill_pids "$base"; exit 1' ERR
  mkdir -p "$base"/{state,spool,log,munge}
  read -r ctld_port slurmd_port < <(free_ports)
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(($(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 - 1024))
  dd if=/dev/urandom of="$base/munge/munge.key" bs=1024 count=1 status=none
  chmod 600 "$base/munge/munge.key"
  munged --key-file="$base/munge/munge.key" --socket="$base/munge/munge.sock" \
    --pid-file="$base/munge/munged.pid" --log-file="$base/munge/munged.log" --seed-file="$base/munge/seed" -f
  cat >"$base/slurm.conf" <<CONF
ClusterName=strata
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$base/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/slurmctld.pid
SlurmdPidFile=$base/slurmd.pid
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$base/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
KillWait=${SLURM_KILL_WAIT:-30}
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$base/slurm.conf"
  slurmctld -f "$base/slurm.conf"
  slurmd -f "$base/slurm.conf"
  local i
  for i in $(seq 100); do
    sinfo -h -o %T 2>/dev/null | grep -q idle && break
    [ "$i" = 100 ] && { log "the node did not become idle in 20 s"; false; }
    sleep 0.2
  done
  trap - ERR
  log "base $base, slurmctld port $ctld_port, slurmd port $slurmd_port"
  printf '{"baseDir":"%s","conf":"%s","nodeName":"%s","cpus":%d}\n' "$base" "$base/slurm.conf" "$host" "$cpus"
}

case "${1:-}" in
  install) install ;;
  start) [ $# -eq 2 ] || usage; install; start "$2" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  *) usage ;;
esac
