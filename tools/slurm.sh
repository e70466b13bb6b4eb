#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the tests of
# fit_vae_study() on plan(future.batchtools::batchtools_slurm) and for CI.
#
#     bash tools/slurm.sh start    # install if missing, configure, start, wait
#     bash tools/slurm.sh status   # exit 0 when the node answers and is idle or busy
#     bash tools/slurm.sh stop     # stop the daemons this script started
#
# start installs Debian's slurm-wlm and munge if they are missing (needs
# root), writes a minimal slurm.conf for this host (its hostname, CPUs and
# memory as slurmd -C reports them; SlurmUser root; proctrack/linuxproc, no
# cgroups), creates the munge key if missing, starts munged, slurmctld and
# slurmd, and waits until sinfo shows the node idle. A cluster that is
# already up is left as it is.
#
# Environment:
#   VAECONV_SLURM_DIR       state, spool, logs and pid files
#                           (default /var/spool/vaeconv-slurm)
#   VAECONV_SLURM_CONF_DIR  where slurm.conf goes (default /etc/slurm, where
#                           the Debian binaries look for it)
#   VAECONV_SLURM_TIMEOUT   seconds to wait for the node (default 60)

set -euo pipefail

action=${1:-status}
state_dir=${VAECONV_SLURM_DIR:-/var/spool/vaeconv-slurm}
conf_dir=${VAECONV_SLURM_CONF_DIR:-/etc/slurm}
conf="$conf_dir/slurm.conf"
timeout=${VAECONV_SLURM_TIMEOUT:-60}
host=$(hostname -s 2>/dev/null || hostname)

say() { printf '==> slurm: %s\n' "$*"; }
die() { printf 'slurm: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo "$@"
  else
    die "needs root (or password-less sudo) to run: $*"
  fi
}

node_state() {
  # The node's state as sinfo prints it (idle, mix, alloc, down*, ...), or
  # nothing when the controller does not answer.
  command -v sinfo >/dev/null 2>&1 || return 0
  timeout 2 sinfo -h -N -n "$host" -o "%t" 2>/dev/null | head -n 1 || true
}

pid_alive() {
  local file=$1 pid
  pid=$(cat "$file" 2>/dev/null || true)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

install_packages() {
  local missing=()
  command -v slurmctld >/dev/null 2>&1 || missing+=(slurm-wlm)
  command -v munged >/dev/null 2>&1 || missing+=(munge)
  if ((${#missing[@]})); then
    say "installing ${missing[*]} (Debian)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      -o DPkg::Lock::Timeout=600 "${missing[@]}" ||
      { as_root apt-get update -q && as_root env DEBIAN_FRONTEND=noninteractive \
          apt-get install -y -q -o DPkg::Lock::Timeout=600 "${missing[@]}"; }
  fi
}

start_munge() {
  if as_root munge -n </dev/null 2>/dev/null | as_root unmunge >/dev/null 2>&1; then
    return 0
  fi
  local key=/etc/munge/munge.key
  as_root mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
  if [[ ! -s $key ]]; then
    say "creating the munge key"
    if command -v mungekey >/dev/null 2>&1; then
      as_root mungekey --create --keyfile="$key" --force
    else
      as_root dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
    fi
  fi
  as_root chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
  as_root chmod 0700 /etc/munge /var/lib/munge /var/log/munge
  as_root chmod 0755 /run/munge
  as_root chmod 0400 "$key"
  say "starting munged"
  as_root runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 1 50); do
    if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  die "munged does not answer"
}

write_conf() {
  # This host as slurmd sees it: "NodeName=h CPUs=2 Boards=1 ... RealMemory=N".
  local node cpus memory
  node=$(slurmd -C 2>/dev/null | head -n 1)
  cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node")
  memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
  [[ -n $cpus ]] || cpus=$(nproc)
  [[ -n $memory ]] || memory=$(($(awk '/MemTotal/ { print $2 }' /proc/meminfo) / 1024))
  as_root mkdir -p "$conf_dir" "$state_dir"/ctld "$state_dir"/d "$state_dir"/log
  local tmp
  tmp=$(mktemp)
  cat >"$tmp" <<EOF
# Written by vaeconv's tools/slurm.sh: a single-node cluster for tests.
ClusterName=vaeconv
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
StateSaveLocation=$state_dir/ctld
SlurmdSpoolDir=$state_dir/d
SlurmctldPidFile=$state_dir/slurmctld.pid
SlurmdPidFile=$state_dir/slurmd.pid
SlurmctldLogFile=$state_dir/log/slurmctld.log
SlurmdLogFile=$state_dir/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
InactiveLimit=0
KillWait=5
MinJobAge=60
Waittime=0
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  as_root install -m 0644 "$tmp" "$conf"
  rm -f "$tmp"
  say "wrote $conf ($host: $cpus CPUs, $memory MB)"
}

status() {
  local state
  state=$(node_state)
  case $state in
    idle*|mix*|alloc*|comp*)
      echo "slurm: node $host is $state"
      return 0
      ;;
    "")
      echo "slurm: no controller answers"
      return 1
      ;;
    *)
      echo "slurm: node $host is $state"
      return 1
      ;;
  esac
}

start() {
  local t0=$SECONDS
  if status >/dev/null 2>&1; then
    say "already running: $(status)"
    return 0
  fi
  install_packages
  start_munge
  write_conf
  if ! pid_alive "$state_dir/slurmctld.pid"; then
    say "starting slurmctld"
    # -i: ignore state left by an earlier run.
    as_root slurmctld -i
  fi
  if ! pid_alive "$state_dir/slurmd.pid"; then
    say "starting slurmd"
    as_root slurmd
  fi
  local state=""
  while ((SECONDS - t0 < timeout)); do
    state=$(node_state)
    case $state in
      idle) break ;;
      down*|drain*|fail*)
        as_root scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
        ;;
    esac
    sleep 0.5
  done
  if [[ $state != idle ]]; then
    echo "slurm: the node did not become idle within $timeout s (state: '${state:-no answer}')" >&2
    for log in slurmctld slurmd; do
      echo "--- the end of $state_dir/log/$log.log:" >&2
      as_root tail -n 20 "$state_dir/log/$log.log" >&2 || true
    done
    return 1
  fi
  say "node $host is idle ($((SECONDS - t0)) s)"
}

# Stops the process whose id is in a pid file (read once: the daemon may
# remove its file as it exits).
stop_pid_file() {
  local name=$1 file=$2 pid
  pid=$(cat "$file" 2>/dev/null || true)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    say "stopping $name"
    as_root kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then as_root kill -9 "$pid" 2>/dev/null || true; fi
  fi
}

stop() {
  local name
  for name in slurmd slurmctld; do
    stop_pid_file "$name" "$state_dir/$name.pid"
    as_root rm -f "$state_dir/$name.pid"
  done
  # munged runs as the munge user; its pid file is in its own run directory.
  stop_pid_file munged /run/munge/munged.pid
}

case $action in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: bash tools/slurm.sh start|stop|status" ;;
esac
