#!/usr/bin/env bash
# Runs the example programs against each other on loopback.
#   examples_test.sh <bin dir>
set -euo pipefail
bin=$1
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_server <name> <log> [flags...]: starts a server on an ephemeral
# port; sets $server (its pid) and $port.
start_server() {
  local name=$1 log=$2
  shift 2
  "$bin/$name" --host=127.0.0.1 --port=0 "$@" >"$log" 2>&1 &
  server=$!
  pids+=("$server")
  port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's/^listening on [^ ]*:\([0-9]*\).*$/\1/p' "$log")
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "$name did not start" >&2
  cat "$log" >&2
  return 1
}

fail() { echo "FAILED: $*" >&2; exit 1; }

# 1. Echo: every echo comes back, the server stops cleanly on SIGTERM.
start_server tao-echo-server "$work/echo.log"
"$bin/tao-echo-client" --port="$port" --count=25 --message="ping" >"$work/echo-client.log" \
  || fail "echo client: $(cat "$work/echo-client.log")"
grep -q "25 of 25 echoes received" "$work/echo-client.log" || fail "echo count"
kill -TERM "$server"
wait "$server" || fail "echo server exit code"
echo "echo: ok"

# 1b. Echo on two I/O threads, server and clients: connections are dealt to
#     both shards (shard 1's ids carry it in their top bits: 17+ digits).
start_server tao-echo-server "$work/echo2.log" --io-threads=2
grep -q "on 2 I/O threads" "$work/echo2.log" || fail "echo server did not use 2 I/O threads"
for i in 1 2 3 4; do
  "$bin/tao-echo-client" --port="$port" --count=10 --io-threads=2 >"$work/echo2-client.log" \
    || fail "echo client on 2 I/O threads: $(cat "$work/echo2-client.log")"
  grep -q "10 of 10 echoes received" "$work/echo2-client.log" || fail "echo count (2 threads)"
done
grep -Eq "\(id [0-9]{17,}\)" "$work/echo2.log" || fail "no connection on shard 1: $(cat "$work/echo2.log")"
grep -Eq "\(id [0-9]{1,16}\)" "$work/echo2.log" || fail "no connection on shard 0"
kill -TERM "$server"
wait "$server" || fail "echo server (2 I/O threads) exit code"
echo "echo on 2 I/O threads: ok"

# 2. Chat: A's line reaches B and A (Tao's chat broadcasts to the sender too).
start_server tao-chat-server "$work/chat.log"
mkfifo "$work/b.in"
"$bin/tao-chat-client" --port="$port" <"$work/b.in" >"$work/b.out" 2>&1 &
b=$!
pids+=("$b")
exec 3>"$work/b.in"                       # keep B's stdin open
for _ in $(seq 1 100); do                 # wait until B is connected
  printf 'b is here\n' >&3
  grep -q "b is here" "$work/b.out" && break
  sleep 0.05
done
printf 'hello from a\n' | "$bin/tao-chat-client" --port="$port" >"$work/a.out" 2>&1 \
  || fail "chat client a"
grep -q "hello from a" "$work/a.out" || fail "a did not see its own line"
for _ in $(seq 1 100); do
  grep -q "hello from a" "$work/b.out" && break
  sleep 0.05
done
grep -q "hello from a" "$work/b.out" || fail "b did not get a's line: $(cat "$work/b.out")"
exec 3>&-
wait "$b" || fail "chat client b exit code"
echo "chat: ok"

# 3. TLS echo with certificates made on the spot: a client trusting the test
#    CA gets every echo; one trusting another CA is refused and exits 1.
certs="$work/certs"
"$(dirname "$0")/../support/make_test_certs.sh" "$certs"
start_server tao-echo-server "$work/tls.log" --tls-cert="$certs/server.pem" \
  --tls-key="$certs/server.key"
grep -q "(TLS)" "$work/tls.log" || fail "echo server did not announce TLS"
"$bin/tao-echo-client" --host=localhost --port="$port" --count=5 --tls-ca="$certs/ca.pem" \
  >"$work/tls-client.log" 2>&1 || fail "TLS echo client: $(cat "$work/tls-client.log")"
grep -q "5 of 5 echoes received" "$work/tls-client.log" || fail "TLS echo count"
if "$bin/tao-echo-client" --host=localhost --port="$port" --count=1 --timeout=5 \
  --tls-ca="$certs/other-ca.pem" >"$work/tls-bad.log" 2>&1; then
  fail "a client trusting another CA got through"
fi
grep -q "tls_failure" "$work/tls-bad.log" || fail "no TLS error shown: $(cat "$work/tls-bad.log")"
kill -TERM "$server"
wait "$server" || fail "TLS echo server exit code"
echo "tls echo: ok"
