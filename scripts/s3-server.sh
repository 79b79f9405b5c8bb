#!/usr/bin/env bash
# A throwaway single-node Ceph RGW (S3) on 127.0.0.1, everything inside one base directory.
#   s3-server.sh install          install the Debian packages if missing
#   s3-server.sh start BASE_DIR   start mon, mgr, osd (memstore) and radosgw; print one JSON line
#   s3-server.sh stop BASE_DIR    kill the daemons whose pid files are in BASE_DIR, remove BASE_DIR
#   s3-server.sh restart-rgw BASE_DIR   kill radosgw (SIGKILL) and start it again; returns once it answers
# Facts behind the settings: /work/shared/S3-TEST-SERVER.md. Progress goes to stderr, logs to BASE_DIR/log.
set -Eeuo pipefail

# faketime is not the server's: the S3 suites run a client with a skewed clock through it.
PACKAGES=(ceph-mon ceph-osd ceph-mgr radosgw faketime)
TOTAL_WAIT=${S3_SERVER_TIMEOUT_SECONDS:-90}
MEMSTORE_BYTES=${S3_SERVER_MEMSTORE_BYTES:-4294967296}

log() { echo "s3-server: $*" >&2; }

usage() { echo "usage: $0 install | start BASE_DIR | stop BASE_DIR | restart-rgw BASE_DIR" >&2; exit 2; }

have_all() { local b; for b in radosgw ceph-mon ceph-osd ceph-mgr faketime; do command -v "$b" >/dev/null || return 1; done; }

install() {
  have_all && return 0
  local sudo=()
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo=(sudo); fi
  log "installing ${PACKAGES[*]} (about a minute)"
  "${sudo[@]}" apt-get update >&2 || { echo "s3-server: apt-get update failed" >&2; exit 1; }
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}" >&2 ||
    { echo "s3-server: apt-get install ${PACKAGES[*]} failed" >&2; exit 1; }
  have_all || { echo "s3-server: ${PACKAGES[*]} still not on PATH after apt-get install" >&2; exit 1; }
}

# Kill the daemons listed in BASE/pids/*.pid: TERM (radosgw first, mon last), then KILL after 3 s
# (radosgw alone takes ~10 s to exit on TERM, and memstore keeps nothing worth a clean shutdown).
# A pid is only touched while its command line still names this base directory: no recycled pid is hit.
kill_pids() {
  local base=$1 name pid pids=() i
  for name in rgw osd mgr mon; do
    [ -f "$base/pids/$name.pid" ] || continue
    pid=$(cat "$base/pids/$name.pid")
    if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$base/ceph.conf"; then
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    fi
    rm -f "$base/pids/$name.pid"
  done
  for i in $(seq 30); do
    local alive=()
    for pid in ${pids[@]+"${pids[@]}"}; do running "$pid" && alive+=("$pid"); done
    pids=(${alive[@]+"${alive[@]}"})
    [ ${#pids[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

# running PID: the process exists and is not a zombie waiting to be reaped.
running() { local st; st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "${st%% *}" != Z ]; }

stop() {
  local base
  base=$(realpath -m "$1")
  [ -d "$base" ] || { log "$base does not exist; nothing to stop"; return 0; }
  # Refuse to rm -rf a directory this script did not create.
  [ -f "$base/ceph.conf" ] || [ -d "$base/pids" ] || { echo "s3-server: $base is not an s3-server base directory" >&2; exit 1; }
  kill_pids "$base"
  rm -rf "$base"
}

# Two free TCP ports on 127.0.0.1, held open together so they differ.
free_ports() {
  node -e '
    const net = require("net"); const a = net.createServer(), b = net.createServer();
    a.listen(0, "127.0.0.1", () => b.listen(0, "127.0.0.1", () => {
      console.log(a.address().port, b.address().port); a.close(); b.close(); }));'
}

random_chars() { # COUNT CHARSET
  local s=""
  while [ ${#s} -lt "$1" ]; do s+=$(head -c 512 /dev/urandom | LC_ALL=C tr -dc "$2"); done
  echo "${s:0:$1}"
}

start() {
  BASE=$(realpath -m "$1")
  exec 3>&2
  install
  for b in node curl uuidgen monmaptool ceph radosgw-admin timeout; do
    command -v "$b" >/dev/null || { echo "s3-server: $b is not on PATH" >&2; exit 1; }
  done
  [ ! -e "$BASE/ceph.conf" ] || { echo "s3-server: $BASE already holds a cluster" >&2; exit 1; }
  mkdir -p "$BASE"/{pids,run,log,mon,mgr,osd,rgw,crash}
  STARTED=0
  trap 'fail "interrupted"' INT TERM
  trap 'fail "command failed (line $LINENO): $BASH_COMMAND"' ERR
  DEADLINE=$((SECONDS + TOTAL_WAIT))

  local mon_port rgw_port fsid osd_uuid osd_id
  read -r mon_port rgw_port < <(free_ports)
  fsid=$(uuidgen)
  CONF=$BASE/ceph.conf
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon initial members = a
mon host = v2:127.0.0.1:$mon_port/0
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind msgr1 = false
ms cluster mode = crc
ms service mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms mon client mode = crc
auth cluster required = none
auth service required = none
auth client required = none
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd crush chooseleaf type = 0
# One node, no peers to batch for: commit map changes (pool creations) without the 1 s wait.
paxos propose interval = 0.05
run dir = $BASE/run
crash dir = $BASE/crash
mon data = $BASE/mon/\$cluster-\$id
mgr data = $BASE/mgr/\$cluster-\$id
osd data = $BASE/osd/\$cluster-\$id
admin socket = $BASE/run/\$cluster-\$name.\$pid.asok
pid file = $BASE/run/\$cluster-\$name.pid
log file = $BASE/log/\$cluster-\$name.log

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $BASE/rgw/\$cluster-\$id
rgw dns name = 127.0.0.1
rgw thread pool size = 128
# Deleted objects' data goes within seconds, not two hours later (RGW's default): memstore is RAM,
# and the tests, the bench and the chaos run delete every bucket they make.
rgw gc obj min wait = 0
rgw gc processor period = 10
rgw gc processor max time = 10
EOF
  log "base $BASE, mon port $mon_port, rgw port $rgw_port"

  monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port/0]" "$BASE/monmap" >>"$BASE/log/setup.log" 2>&1
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$BASE/monmap" >>"$BASE/log/setup.log" 2>&1
  daemon mon ceph-mon -c "$CONF" -i a
  wait_for "mon to answer" mon ceph_cli -s
  daemon mgr ceph-mgr -c "$CONF" -i x

  osd_uuid=$(uuidgen)
  osd_id=$(ceph_cli osd new "$osd_uuid")
  mkdir -p "$BASE/osd/ceph-$osd_id"
  ceph-osd -c "$CONF" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >>"$BASE/log/setup.log" 2>&1
  daemon osd ceph-osd -c "$CONF" -i "$osd_id"
  wait_for "osd to come up" osd osd_up
  log "mon, mgr, osd up after ${SECONDS}s"

  # Create radosgw's pools up front: otherwise it makes the bucket pools on the first PutObject,
  # and a test's first write waits ~4 s for them.
  local pool cmds=""
  for pool in .rgw.root default.rgw.{log,control,meta,buckets.index,buckets.data,buckets.non-ec}; do
    cmds+="osd pool create $pool 8 8"$'\n'"osd pool application enable $pool rgw"$'\n'
  done
  timeout 30 ceph -c "$CONF" --connect-timeout 10 <<<"$cmds" >>"$BASE/log/setup.log" 2>&1
  log "pools created after ${SECONDS}s"
  daemon rgw radosgw -c "$CONF" -n client.rgw.a
  wait_for "radosgw to answer HTTP 200 on port $rgw_port" rgw rgw_ok "$rgw_port"

  local access secret
  access=$(random_chars 20 'A-Z0-9')
  secret=$(random_chars 40 'A-Za-z0-9')
  timeout 30 radosgw-admin -c "$CONF" user create --uid=test --display-name=test \
    --access-key="$access" --secret-key="$secret" >>"$BASE/log/setup.log" 2>&1
  STARTED=1
  trap - ERR INT TERM
  log "ready after ${SECONDS}s"
  local base_json=${BASE//\\/\\\\}
  base_json=${base_json//\"/\\\"}
  printf '{"endpoint":"http://127.0.0.1:%s","accessKey":"%s","secretKey":"%s","region":"us-east-1","baseDir":"%s"}\n' \
    "$rgw_port" "$access" "$secret" "$base_json"
}

# daemon NAME CMD...: run CMD in the foreground (-f) in the background; its pid goes to BASE/pids/NAME.pid.
daemon() {
  local name=$1; shift
  "$@" -f </dev/null >>"$BASE/log/$name.out" 2>&1 3>&- &
  echo $! >"$BASE/pids/$name.pid"
}

alive() { running "$(cat "$BASE/pids/$1.pid")"; }

ceph_cli() { timeout 15 ceph -c "$CONF" --connect-timeout 10 "$@" 2>>"$BASE/log/setup.log"; }

osd_up() { ceph_cli osd stat | grep -q ' 1 up'; }

rgw_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/")" = 200 ]; }

# wait_for WHAT DAEMON CHECK...: poll CHECK until it succeeds, DAEMON dies, or the deadline passes.
wait_for() {
  local what=$1 name=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    alive "$name" || fail "$name exited while waiting for $what (see $BASE/log)"
    [ "$SECONDS" -lt "$DEADLINE" ] || fail "timed out after ${TOTAL_WAIT}s waiting for $what (see $BASE/log)"
    sleep 0.25
  done
}

# Stop whatever was started, show the end of the logs, then the one-line reason last.
fail() {
  trap - ERR INT TERM
  [ "$BASHPID" = $$ ] || exit 1 # failed inside $(...): the caller's ERR trap reports it
  exec 2>&3 # a trap can fire inside a command whose stderr is redirected: report on the real stderr
  [ "${STARTED:-0}" = 1 ] && exit 1
  local f
  for f in "$BASE"/log/*.log "$BASE"/log/*.out; do # the mgr's logs never explain a failure
    [[ -s "$f" && "$f" != *mgr* ]] && { echo "--- $f" >&2; tail -n 3 "$f" >&2; }
  done
  kill_pids "$BASE"
  echo "s3-server: start failed: $*" >&2
  exit 1
}

# A radosgw restart, as an operator's (or a crash and a supervisor's) would be: the objects stay
# (they live in the OSD), the endpoint refuses connections until the new radosgw answers.
restart_rgw() {
  BASE=$(realpath -m "$1")
  CONF=$BASE/ceph.conf
  [ -f "$CONF" ] || { echo "s3-server: $BASE holds no cluster" >&2; exit 1; }
  local pid port
  pid=$(cat "$BASE/pids/rgw.pid")
  port=$(sed -n 's/^rgw frontends = beast endpoint=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$CONF")
  if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$CONF"; then
    kill -KILL "$pid" 2>/dev/null || true
    while running "$pid"; do sleep 0.05; done
  fi
  STARTED=1
  DEADLINE=$((SECONDS + TOTAL_WAIT))
  daemon rgw radosgw -c "$CONF" -n client.rgw.a
  wait_for "radosgw to answer HTTP 200 on port $port" rgw rgw_ok "$port"
}

case "${1:-}" in
  install) install ;;
  restart-rgw) [ $# -eq 2 ] || usage; exec 3>&2; restart_rgw "$2" ;;
  start) [ $# -eq 2 ] || usage; start "$2" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  *) usage ;;
esac
