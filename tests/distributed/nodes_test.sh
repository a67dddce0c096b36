#!/usr/bin/env bash
# Three tao-chat-node processes on loopback, with chat-check clients on each
# (2 per node, a numbered line every 50 ms each; see chat_check.cpp):
#   1. a full mesh from --peer chains (gossip), every line everywhere once;
#   2. a node killed (SIGKILL) mid-run and restarted on the same ports: the
#      others lose nothing, its clients reconnect;
#   3. a node frozen (SIGSTOP) 2 s, dropped, then thawed: everything said
#      meanwhile on either side is replayed, nothing is duplicated;
#   4. TLS node links with mutual authentication (certificates made here by
#      the openssl command line); --tls without them refuses to start.
# Separate network stacks, partitions and load: netns_test.sh.
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

# ports <name>...: chat-check --node arguments for loopback nodes.
ports() {
  local args=() n p np
  for n in "$@"; do
    p=$(eval echo "\$port_$n")
    np=$(eval echo "\$node_$n")
    args+=("--node=$n,$p,127.0.0.1:$np")
  done
  echo "${args[@]}"
}
check() { # check <tag> <duration> <name>...: chat-check in the foreground
  local tag=$1 duration=$2; shift 2
  # shellcheck disable=SC2046
  "$check_bin" $(ports "$@") --clients=2 --duration="$duration" --tag="$tag" \
    >"$work/$tag.out" 2>&1 || fail "chat-check $tag: $(cat "$work/$tag.out")"
  grep -v '^joined' "$work/$tag.out"
}
check_bg() { # check_bg <tag> <duration> <name>...: in the background
  local tag=$1 duration=$2; shift 2
  # shellcheck disable=SC2046
  "$check_bin" $(ports "$@") --clients=2 --duration="$duration" --tag="$tag" \
    >"$work/$tag.out" 2>&1 &
  check_pid=$!
  pids+=("$check_pid")
  wait_for "$work/$tag.out" '^joined' || fail "$tag: clients did not join"
}
check_wait() {
  wait "$check_pid" || fail "chat-check $1: $(cat "$work/$1.out")"
  grep -v '^joined' "$work/$1.out"
}

# 1. Mesh: c only knows b, b only knows a; gossip completes the triangle.
start_node a
start_node b --peer "127.0.0.1:$node_a"
start_node c --peer="127.0.0.1:$node_b"
wait_mesh 2 a b c
check mesh 2 a b c

# 2. SIGKILL b while everybody chats; b restarts on the same ports and its
#    clients reconnect: nothing said on a or c is lost, the survivors agree on
#    b's last lines, nothing is duplicated.
check_bg kill 5 a b c
sleep 1
disown "$pid_b" # no "Killed" notice from the shell
kill -KILL "$pid_b"
killed_at=$(now_ms)
wait_for "$work/a.log" 'peer down 127.0.0.1:'"$node_b" || fail "a did not drop b"
echo "SIGKILL detected by a after $(( $(now_ms) - killed_at )) ms"
start_node b --port="$port_b" --node-port="$node_b" --peer "127.0.0.1:$node_a"
wait_mesh 2 a b c
check_wait kill

# 3. SIGSTOP b for 2 s while everybody chats: dropped after the BASP
#    connection timeout, then thawed: it gets what it missed and the others
#    get what its clients said meanwhile.
downs=$(count "$work/a.log" "peer down 127.0.0.1:$node_b")
check_bg freeze 5 a b c
sleep 1
kill -STOP "$pid_b"
stopped_at=$(now_ms)
deadline=$(( stopped_at + 10000 ))
while [ "$(count "$work/a.log" "peer down 127.0.0.1:$node_b")" = "$downs" ]; do
  [ "$(now_ms)" -lt "$deadline" ] || fail "a did not drop frozen b"
  sleep 0.02
done
echo "SIGSTOP detected by a after $(( $(now_ms) - stopped_at )) ms"
sleep_until=$(( stopped_at + 2000 ))
while [ "$(now_ms)" -lt "$sleep_until" ]; do sleep 0.05; done
kill -CONT "$pid_b"
wait_mesh 2 a b c
check_wait freeze
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
check tls 2 ta tb tc
for n in ta tb tc; do stop_node "$n"; done
echo "distributed nodes: ok"
