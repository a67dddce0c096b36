#!/usr/bin/env bash
# tao-chat-node processes on separate network stacks: one network namespace
# per node, each with a veth pair to a bridge in a switch namespace, all
# created here (as root) and removed on exit, even on failure. Partitions are
# links taken down (or moved to a second bridge), faults are SIGKILL, SIGSTOP
# and SIGCONT; there is no netem or iptables. Addresses: 10.231.0.0/24 inside
# the namespaces only, and each namespace's own 127.0.0.1 for the chat
# clients (chat-check opens its sockets inside the nodes' namespaces).
#
#   netns_test.sh <tao-chat-node> <chat-check> [case...]
#
# Cases (all by default): partition split kill freeze flaps load stop. Two
# more for measurements, run only when named: bulk (a 5 s partition under
# 2,400 lines/s: replay throughput) and load with SPINNERS=N spinning
# processes for LOAD_SECONDS (defaults 2 and 15).
# In each, chat-check connects 2 clients per node, each saying a numbered
# line every 50 ms, and checks exactly-once, per-sender order, nothing lost
# (no gap is announced: everything is within retention). Exits 77 (CTest:
# skipped) with the reason when namespaces cannot be made here.
#
# CHAT_NODE_ARGS adds options to every node and FREEZE_BOUND_MS replaces the
# 2 s bound on detecting a frozen node (sanitizer builds use a longer BASP
# connection timeout).
# shellcheck disable=SC2154 # pid_* are set through eval
set -euo pipefail
node_bin=$1
check_bin=$2
shift 2
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(partition split kill freeze flaps load stop)

freeze_bound=${FREEZE_BOUND_MS:-2000}
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
command -v ip >/dev/null || skip "iproute2 (ip) is not installed"

run_id=$$
prefix="tchat-$run_id"
sw="$prefix-sw"
work=$(mktemp -d)
pids=()
spinners=()
namespaces=()

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
log() { echo "[$(( $(now_ms) - t0 )) ms] $*"; }

# Namespaces of earlier runs of this suite whose script died (e.g. killed by
# a timeout) are removed with their processes.
cleanup_stale() {
  local ns owner
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^tchat-[0-9]+-' || true); do
    owner=${ns#tchat-}
    owner=${owner%%-*}
    if [ "$owner" != "$run_id" ] && ! kill -0 "$owner" 2>/dev/null; then
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
}

cleanup() {
  local p ns
  for p in "${spinners[@]}" "${pids[@]}"; do
    kill -CONT "$p" 2>/dev/null || true
    kill -KILL "$p" 2>/dev/null || true
  done
  for ns in "${namespaces[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  exec 9>&- 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
  echo "FAILED: $*" >&2
  for f in "$work"/*.log "$work"/*.out; do
    [ -f "$f" ] || continue
    echo "--- $f (last 40 lines)" >&2
    tail -40 "$f" >&2
  done
  exit 1
}

cleanup_stale
if ! ip netns add "$sw" 2>"$work/netns.err"; then
  skip "cannot create a network namespace: $(cat "$work/netns.err")"
fi
namespaces+=("$sw")
if ! ip -n "$sw" link add br0 type bridge 2>"$work/netns.err"; then
  skip "cannot create a bridge in a namespace: $(cat "$work/netns.err")"
fi
ip -n "$sw" link add br1 type bridge
ip -n "$sw" link set br0 up
ip -n "$sw" link set br1 up
ip -n "$sw" link set lo up

# Node n (a, b, c, d): namespace $prefix-n, eth0 = 10.231.0.<k>/24, its
# veth end v<n> on br0 in the switch namespace.
declare -A ip_of=([a]=10.231.0.1 [b]=10.231.0.2 [c]=10.231.0.3 [d]=10.231.0.4)
for n in a b c d; do
  ns="$prefix-$n"
  ip netns add "$ns" || skip "cannot create network namespace $ns"
  namespaces+=("$ns")
  ip -n "$sw" link add "v$n" type veth peer name eth0 netns "$ns" \
    || skip "cannot create a veth pair into $ns"
  ip -n "$sw" link set "v$n" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "${ip_of[$n]}/24" dev eth0
  ip -n "$ns" link set eth0 up
done
t0=$(now_ms)
log "namespaces up: a b c d on 10.231.0.0/24 via a bridge in $sw"

node_port=7000
chat_port=7001
count() { if [ -f "$1" ]; then grep -cE -- "$2" "$1" || true; else echo 0; fi; }

# start_node <n> [args...]: starts tao-chat-node in n's namespace.
start_node() {
  local n=$1; shift
  local before
  before=$(count "$work/$n.log" '^node port')
  # shellcheck disable=SC2086 # CHAT_NODE_ARGS holds several options
  ip netns exec "$prefix-$n" "$node_bin" --host=127.0.0.1 --port=$chat_port \
    --node-host="${ip_of[$n]}" --node-port=$node_port "$@" ${CHAT_NODE_ARGS:-} \
    >>"$work/$n.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  eval "pid_$n=$pid"
  local deadline=$(( $(now_ms) + 10000 ))
  while [ "$(count "$work/$n.log" '^node port')" = "$before" ]; do
    kill -0 "$pid" 2>/dev/null || fail "node $n exited at start"
    [ "$(now_ms)" -lt "$deadline" ] || fail "node $n did not start"
    sleep 0.02
  done
}

# event_ms <file> <pattern> <n>: when the node logged its n-th line matching
# (nodes stamp their link events "[YYYY-mm-dd HH:MM:SS.mmm] "), in ms.
event_ms() {
  local stamp
  stamp=$(grep -E -- "$2" "$1" | sed -n "${3}p" | sed -n 's/^\[\([^]]*\)\].*/\1/p')
  [ -n "$stamp" ] || fail "no line $3 matching '$2' in $1"
  date -d "$stamp" +%s%3N
}

peers_of() { { grep -oE 'peers: [0-9]+' "$1" || true; } | tail -1 | cut -d' ' -f2; }

# wait_mesh <k> <n>...: until each node's last peer line says k peers.
wait_mesh() {
  local k=$1; shift
  local deadline=$(( $(now_ms) + 20000 ))
  for n in "$@"; do
    while [ "$(peers_of "$work/$n.log")" != "$k" ]; do
      [ "$(now_ms)" -lt "$deadline" ] || fail "node $n never saw $k peers"
      sleep 0.02
    done
  done
}

# wait_count <file> <pattern> <n> <timeout ms>: until n lines match.
wait_count() {
  local deadline=$(( $(now_ms) + $4 ))
  while [ "$(count "$1" "$2")" -lt "$3" ]; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.02
  done
}

# stop_node <n>: SIGTERM; the node must exit 0 within its drain timeout
# (3 s) plus 1 s, and a bit of slack for a loaded host. Sets stop_took (ms).
stop_node() {
  local pid start
  pid=$(eval echo "\$pid_$1")
  kill -CONT "$pid" 2>/dev/null || true
  start=$(now_ms)
  stop_took=0
  kill -TERM "$pid" 2>/dev/null || return 0
  local deadline=$(( start + 5500 ))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "node $1 did not exit within 5.5 s of SIGTERM"
    sleep 0.02
  done
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || fail "node $1 exited with $rc"
  stop_took=$(( $(now_ms) - start ))
}

# sleep_until <ms>: until now_ms reaches it.
sleep_until() {
  local left=$(( $1 - $(now_ms) ))
  [ "$left" -le 0 ] || sleep "$(awk "BEGIN { print $left / 1000 }")"
}

# mesh <n>...: starts the nodes (each --peer the first) and waits for the mesh.
mesh() {
  : >"$work/${1}.log"
  start_node "$1"
  local first=$1; shift
  for n in "$@"; do
    : >"$work/$n.log"
    start_node "$n" --peer "${ip_of[$first]}:$node_port"
  done
  wait_mesh "$#" "$first" "$@"
}

# check_start <tag> <duration s> <n>...: chat-check in the background.
check_start() {
  local tag=$1 duration=$2; shift 2
  local args=()
  for n in "$@"; do args+=("--node=$n,$chat_port,${ip_of[$n]}:$node_port,$prefix-$n"); done
  rm -f "$work/ctl"
  mkfifo "$work/ctl"
  "$check_bin" "${args[@]}" --clients="${check_clients:-2}" --interval-ms="${check_interval:-50}" \
    --duration="$duration" --settle=30 \
    --tag="$tag" --control="$work/ctl" >"$work/$tag.out" 2>&1 &
  check_pid=$!
  pids+=("$check_pid")
  exec 9<>"$work/ctl"
  wait_count "$work/$tag.out" '^joined' 1 15000 || fail "$tag: clients did not join"
}
mark() { echo "mark $1" >&9; }
check_end() {
  wait "$check_pid" || fail "$1: chat-check failed"
  exec 9>&-
  sed 's/^/   /' "$work/$1.out"
}

# no_gaps <n>...: no node announced a gap or dropped a healthy link.
no_gaps() {
  for n in "$@"; do
    ! grep -q "gap announced" "$work/$n.log" || fail "node $n announced a gap"
  done
}

stop_all() {
  for n in "$@"; do
    stop_node "$n"
    log "node $n stopped in $stop_took ms"
  done
}

replays() { # replays <n>...: the nodes' replay lines
  for n in "$@"; do grep -h "replayed" "$work/$n.log" | sed "s/^/   node $n: /" | head -8 || true; done
}

link_down() { ip -n "$sw" link set "v$1" down; }
link_up() { ip -n "$sw" link set "v$1" up; }

case_partition() {
  log "== partition: node c cut off for 5 s while 6 clients talk"
  mesh a b c
  check_start partition 12 a b c
  sleep 3
  local cut
  cut=$(now_ms)
  link_down c
  wait_count "$work/a.log" "peer down ${ip_of[c]}" 1 5000 || fail "a did not drop c"
  log "a dropped c $(( $(event_ms "$work/a.log" "peer down ${ip_of[c]}" 1) - cut )) ms after the cut"
  sleep_until $(( cut + 5000 ))
  link_up c
  local healed
  healed=$(now_ms)
  mark heal
  wait_mesh 2 a b c
  log "mesh complete $(( $(now_ms) - healed )) ms after the heal"
  check_end partition
  replays a b c
  no_gaps a b c
  stop_all a b c
}

case_split() {
  log "== split: a b | c d for 5 s (c and d moved to a second bridge)"
  mesh a b c d
  check_start split 12 a b c d
  sleep 3
  ip -n "$sw" link set vc master br1
  ip -n "$sw" link set vd master br1
  local cut
  cut=$(now_ms)
  wait_mesh 1 a b c d
  log "both halves see one peer $(( $(now_ms) - cut )) ms after the split"
  sleep_until $(( cut + 5000 ))
  ip -n "$sw" link set vc master br0
  ip -n "$sw" link set vd master br0
  local healed
  healed=$(now_ms)
  mark heal
  wait_mesh 3 a b c d
  log "mesh complete $(( $(now_ms) - healed )) ms after the heal"
  check_end split
  replays a b c d
  no_gaps a b c d
  stop_all a b c d
}

case_kill() {
  log "== kill: node b SIGKILLed during traffic, restarted 2 s later on the same ports"
  mesh a b c
  check_start kill 12 a b c
  sleep 3
  disown "$pid_b"
  local killed
  killed=$(now_ms)
  kill -KILL "$pid_b"
  wait_count "$work/a.log" "peer down ${ip_of[b]}" 1 5000 || fail "a did not drop b"
  log "a dropped b $(( $(event_ms "$work/a.log" "peer down ${ip_of[b]}" 1) - killed )) ms after SIGKILL"
  sleep 2
  start_node b --peer "${ip_of[a]}:$node_port"
  mark restart
  wait_mesh 2 a b c
  log "mesh complete $(( $(now_ms) - killed )) ms after SIGKILL"
  check_end kill
  no_gaps a b c
  stop_all a b c
}

case_freeze() {
  log "== freeze: node b SIGSTOPped for 3 s, then SIGCONT"
  mesh a b c
  check_start freeze 12 a b c
  sleep 3
  local stopped
  stopped=$(now_ms)
  kill -STOP "$pid_b"
  wait_count "$work/a.log" "peer down ${ip_of[b]}" 1 5000 || fail "a did not drop frozen b"
  local detect
  detect=$(( $(event_ms "$work/a.log" "peer down ${ip_of[b]}" 1) - stopped ))
  log "a dropped frozen b after $detect ms"
  [ "$detect" -le "$freeze_bound" ] \
    || fail "a frozen node was detected after $detect ms (bound: $freeze_bound ms)"
  sleep_until $(( stopped + 3000 ))
  kill -CONT "$pid_b"
  mark thaw
  wait_mesh 2 a b c
  log "mesh complete $(( $(now_ms) - stopped )) ms after SIGSTOP"
  check_end freeze
  replays a b c
  no_gaps a b c
  stop_all a b c
}

case_flaps() {
  log "== flaps: node c's link down and up every 500 ms for 10 s"
  mesh a b c
  check_start flaps 14 a b c
  sleep 2
  for _ in $(seq 10); do
    link_down c
    sleep 0.5
    link_up c
    sleep 0.5
  done
  mark settled
  check_end flaps
  no_gaps a b c
  stop_all a b c
}

case_load() {
  local spin=${SPINNERS:-2} seconds=${LOAD_SECONDS:-15}
  log "== load: $spin processes spinning on the 2 cores for $seconds s, no partition: no link may drop"
  mesh a b c
  for _ in $(seq "$spin"); do
    ( while :; do :; done ) &
    spinners+=($!)
  done
  check_start load "$seconds" a b c
  check_end load
  for p in "${spinners[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  spinners=()
  for n in a b c; do
    ! grep -q "peer down" "$work/$n.log" || fail "node $n dropped a healthy link under load"
  done
  log "no link dropped under load"
  no_gaps a b c
  stop_all a b c
}

case_bulk() {
  log "== bulk: node c cut off for 5 s while 12 clients each say a line every 5 ms"
  mesh a b c
  check_clients=4 check_interval=5 check_start bulk 12 a b c
  sleep 3
  link_down c
  local cut
  cut=$(now_ms)
  wait_count "$work/a.log" "peer down ${ip_of[c]}" 1 5000 || fail "a did not drop c"
  sleep_until $(( cut + 5000 ))
  link_up c
  local healed
  healed=$(now_ms)
  mark heal
  wait_mesh 2 a b c
  log "mesh complete $(( $(now_ms) - healed )) ms after the heal"
  check_end bulk
  replays a b c
  no_gaps a b c
  stop_all a b c
}

case_stop() {
  log "== stop: SIGTERM while one peer is frozen and another cut off"
  mesh a b c
  kill -STOP "$pid_b"
  link_down c
  wait_count "$work/a.log" "peer down" 2 5000 || fail "a did not drop b and c"
  # a now retries both: probes time out, nothing answers.
  sleep 1
  stop_node a
  log "node a stopped in $stop_took ms with its peers unreachable"
  link_up c
  stop_all b c
}

for c in "${cases[@]}"; do
  "case_$c"
  for n in a b c d; do [ ! -f "$work/$n.log" ] || mv "$work/$n.log" "$work/$c-$n.node"; done
done
log "distributed netns: ok (${cases[*]})"
