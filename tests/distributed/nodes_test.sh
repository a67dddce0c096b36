#!/usr/bin/env bash
# Three tao-chat-node processes on loopback, with chat-check clients on each:
#   1. a full mesh from --peer chains (gossip), every line everywhere once;
#   2. a node killed (SIGKILL) mid-run: the others go on undisturbed;
#   3. the node restarted on the same ports rejoins; every line everywhere;
#   4. a node frozen (SIGSTOP) is dropped, then thawed: it rejoins, no line
#      is duplicated;
#   5. TLS node links with mutual authentication (certificates made here by
#      the openssl command line); --tls without them refuses to start.
# Waits on events (log lines) with bounds, never on fixed sleeps.
#
#   nodes_test.sh <tao-chat-node> <chat-check>
#
# CHAT_NODE_ARGS adds options to every node, e.g. a longer
# --middleman.connection-timeout for sanitizer builds on a loaded host.
# shellcheck disable=SC2154 # port_*, node_* and pid_* are set through eval
set -euo pipefail
node_bin=$1
check_bin=$2
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAILED: $*" >&2
  for f in "$work"/*.log; do echo "--- $f" >&2; cat "$f" >&2; done
  exit 1
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# count <file> <grep pattern>: matching lines, 0 if the file does not exist yet.
count() { if [ -f "$1" ]; then grep -cE -- "$2" "$1" || true; else echo 0; fi; }

# wait_for <file> <grep -E pattern> [timeout s]: until a line matches.
wait_for() {
  local deadline=$(( $(now_ms) + ${3:-10} * 1000 ))
  while ! grep -qE "$2" "$1" 2>/dev/null; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.02
  done
}

# peers_of <log>: the peer count in the node's last peer line.
peers_of() { { grep -oE 'peers: [0-9]+' "$1" || true; } | tail -1 | cut -d' ' -f2; }

# wait_mesh <n> <name>...: until each named node's last peer line says n peers.
wait_mesh() {
  local n=$1; shift
  local deadline=$(( $(now_ms) + 15000 ))
  for name in "$@"; do
    while [ "$(peers_of "$work/$name.log")" != "$n" ]; do
      [ "$(now_ms)" -lt "$deadline" ] || fail "node $name never saw $n peers"
      sleep 0.02
    done
  done
}

# start_node <name> [args...]: sets port_<name>, node_<name>, pid_<name>.
start_node() {
  local name=$1; shift
  local lines
  lines=$(count "$work/$name.log" '^node port')
  # shellcheck disable=SC2086
  "$node_bin" "$@" ${CHAT_NODE_ARGS:-} >>"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  eval "pid_$name=$pid"
  local deadline=$(( $(now_ms) + 10000 ))
  while [ "$(count "$work/$name.log" '^node port')" = "$lines" ]; do
    kill -0 "$pid" 2>/dev/null || fail "node $name exited at start"
    [ "$(now_ms)" -lt "$deadline" ] || fail "node $name did not start"
    sleep 0.02
  done
  eval "port_$name=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/$name.log" | tail -1)"
  eval "node_$name=$(sed -n 's/^node port \([0-9]*\).*/\1/p' "$work/$name.log" | tail -1)"
}

# stop_node <name>: SIGTERM, then the exit code must be 0 within 10 s.
stop_node() {
  local pid
  pid=$(eval echo "\$pid_$1")
  kill -TERM "$pid"
  local deadline=$(( $(now_ms) + 10000 ))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "node $1 did not stop on SIGTERM"
    sleep 0.02
  done
  wait "$pid" || fail "node $1 exit code $?"
}

check() { "$check_bin" --timeout=20 "$@" || fail "chat-check $*"; }

# 1. Mesh: c only knows b, b only knows a; gossip completes the triangle.
start_node a
start_node b --peer "127.0.0.1:$node_a"
start_node c --peer="127.0.0.1:$node_b"
wait_mesh 2 a b c
check --ports="$port_a,$port_b,$port_c" --clients=2 --count=200 --tag=mesh

# 2. SIGKILL b while a and c chat (and a client on b talks until b dies).
"$check_bin" --ports="$port_b" --clients=1 --count=100000 --interval-us=1000 --tag=victim \
  --timeout=30 >"$work/victim.out" 2>&1 &
victim=$!
pids+=("$victim")
wait_for "$work/victim.out" '^joined' || fail "victim client did not join"
"$check_bin" --ports="$port_a,$port_c" --clients=2 --count=300 --interval-us=2000 --tag=kill \
  --timeout=20 >"$work/kill.out" 2>&1 &
survivors=$!
wait_for "$work/kill.out" '^joined' || fail "survivors did not join"
disown "$pid_b" # no "Killed" notice from the shell
kill -KILL "$pid_b"
killed_at=$(now_ms)
wait_for "$work/a.log" 'peer down 127.0.0.1:'"$node_b" || fail "a did not drop b"
echo "SIGKILL detected by a after $(( $(now_ms) - killed_at )) ms"
wait "$survivors" || fail "survivors: $(cat "$work/kill.out")"
cat "$work/kill.out"
wait "$victim" || true

# 3. b comes back on the same ports: a new incarnation, rejoined by both.
start_node b --port="$port_b" --node-port="$node_b" --peer "127.0.0.1:$node_a"
wait_mesh 2 a b c
check --ports="$port_a,$port_b,$port_c" --clients=2 --count=200 --tag=rejoin

# 4. SIGSTOP b: dropped after the BASP connection timeout; a and c go on.
downs=$(count "$work/a.log" "peer down 127.0.0.1:$node_b")
kill -STOP "$pid_b"
stopped_at=$(now_ms)
deadline=$(( stopped_at + 10000 ))
while [ "$(count "$work/a.log" "peer down 127.0.0.1:$node_b")" = "$downs" ]; do
  [ "$(now_ms)" -lt "$deadline" ] || fail "a did not drop frozen b"
  sleep 0.02
done
echo "SIGSTOP detected by a after $(( $(now_ms) - stopped_at )) ms"
check --ports="$port_a,$port_c" --clients=2 --count=200 --tag=frozen
kill -CONT "$pid_b"
wait_mesh 2 a b c
check --ports="$port_a,$port_b,$port_c" --clients=2 --count=200 --tag=thawed
for n in a b c; do stop_node "$n"; done

# 5. TLS: one CA, one certificate per node (no private key leaves $work).
( cd "$work"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 \
    -subj /CN=tao-test-ca 2>/dev/null
  for n in ta tb tc; do
    openssl req -newkey rsa:2048 -nodes -keyout "$n.key" -out "$n.csr" -subj "/CN=$n" 2>/dev/null
    openssl x509 -req -in "$n.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$n.pem" \
      -days 1 2>/dev/null
  done )
tls() { tls=(--tls "--openssl.certificate=$work/$1.pem" "--openssl.key=$work/$1.key"
  "--openssl.cafile=$work/ca.pem"); }
if "$node_bin" --tls "--openssl.certificate=$work/ta.pem" >"$work/refused.out" 2>&1; then
  fail "--tls without key and CA started"
fi
grep -q "refusing" "$work/refused.out" || fail "no clear error: $(cat "$work/refused.out")"
tls ta
start_node ta "${tls[@]}"
tls tb
start_node tb "${tls[@]}" --peer "127.0.0.1:$node_ta"
tls tc
start_node tc "${tls[@]}" --peer "127.0.0.1:$node_tb"
grep -q "TLS, mutual authentication" "$work/ta.log" || fail "ta is not on TLS"
wait_mesh 2 ta tb tc
check --ports="$port_ta,$port_tb,$port_tc" --clients=2 --count=100 --tag=tls
for n in ta tb tc; do stop_node "$n"; done
echo "distributed nodes: ok"
