#!/usr/bin/env bash
# The programs as people run them: every accepted form of an option, every
# refused one, with exit codes and messages (docs/getting-started.md,
# "Command lines"). Also: clients pointed at a closed port exit non-zero,
# and docs/operations.md's config file example is read by the programs.
#   command_line_test.sh <bin dir> <source dir>
set -uo pipefail
bin=$1
src=$2
work=$(mktemp -d)
pids=()
failures=0
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAILED: $*" >&2
  failures=$((failures + 1))
}

# expect <rc> <pattern> <program> [args...]: runs the program (stdin from
# /dev/null, 30 s bound) and checks its exit code and that its output
# (stdout and stderr) matches the extended regex <pattern>; never a raw
# parser_error(...).
expect() {
  local want=$1 pattern=$2
  shift 2
  local out rc
  out=$(timeout 30 "$bin/$1" "${@:2}" </dev/null 2>&1)
  rc=$?
  if [ "$rc" != "$want" ]; then
    fail "$* exited $rc, expected $want; output:
$out"
  elif ! grep -Eq -- "$pattern" <<<"$out"; then
    fail "$*: output does not match '$pattern':
$out"
  elif grep -q "parser_error" <<<"$out"; then
    fail "$*: raw parser_error in the output:
$out"
  fi
}

# serves <program> [args...]: the program must start listening (its
# "listening on host:port" line), stop on SIGTERM and exit 0. Sets $port.
# With listens instead, only the start is checked (the epoll and Asio
# baselines have no graceful stop).
serves_exit0=1
listens() {
  serves_exit0=0
  serves "$@"
  serves_exit0=1
}
serves() {
  local log="$work/serve.log"
  "$bin/$1" "${@:2}" >"$log" 2>&1 </dev/null &
  local pid=$!
  pids+=("$pid")
  port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's/^listening on .*:\([0-9][0-9]*\).*$/\1/p' "$log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    wait "$pid"
    fail "$* did not start (exit $?):
$(cat "$log")"
    return 1
  fi
  kill -TERM "$pid"
  if ! wait "$pid" && [ "$serves_exit0" = 1 ]; then
    fail "$* did not stop cleanly on SIGTERM:
$(cat "$log")"
    return 1
  fi
  return 0
}

# A port nothing listens on: bound, then released.
closed_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# 1. Every CAF program: help, stray arguments, unknown options.
caf_programs=(tao-echo-server tao-echo-client tao-chat-server tao-chat-client tao-chat-node
              tao-tls-echo tao-reconnecting-client tao-heartbeat tao-max-connections tao-timers
              tao-compose-with-caf tao-kv-server tao-bench-server tao-soak-server)
for p in tao-protobuf-chat tao-flatbuffers-chat; do
  [ -x "$bin/$p" ] && caf_programs+=("$p")
done
for p in "${caf_programs[@]}"; do
  expect 0 "--help" "$p" --help
  expect 0 "--help" "$p" -h
  expect 2 "unexpected argument '9000'" "$p" 9000
  expect 2 "unexpected argument 'extra'" "$p" --scheduler.max-threads=2 extra
  expect 2 "unknown option --no-such-option" "$p" --no-such-option
  expect 2 "unknown option --no-such-option" "$p" --no-such-option value
  expect 2 "unknown option -Z" "$p" -Z
  expect 2 "unexpected argument 'x'" "$p" -- x
done

# 2. The benchmark tools (CLI11): the same forms, the same exit codes.
cli11_programs=(tao-bench tao-soak-load epoll-echo-server tao-heartbeat-cost tao-idle-memory
                tao-timer-precision)
[ -x "$bin/asio-echo-server" ] && cli11_programs+=(asio-echo-server)
for p in "${cli11_programs[@]}"; do
  required=()
  [ "$p" = tao-soak-load ] && required=(--port 1)
  expect 0 "--help" "$p" --help
  expect 0 "--help" "$p" -h
  expect 2 "9000" "$p" "${required[@]}" 9000
  expect 2 "no-such-option" "$p" "${required[@]}" --no-such-option
done
expect 2 "port is required" tao-soak-load
expect 2 "dispatch" tao-idle-memory --dispatch threaded
expect 2 "conns" tao-heartbeat-cost --conns=many
for form in "--port 0" "--port=0" "-p 0" "-p0"; do
  # shellcheck disable=SC2086
  listens epoll-echo-server $form
  if [ -x "$bin/asio-echo-server" ]; then
    # shellcheck disable=SC2086
    listens asio-echo-server $form
  fi
done

# 3. A server's port in every form, values with spaces, CAF's own options.
for form in "--port 0" "--port=0" "-p 0" "-p0" "-p=0"; do
  # shellcheck disable=SC2086
  serves tao-echo-server $form
  # shellcheck disable=SC2086
  serves tao-chat-server $form
done
serves tao-bench-server --port 0 --dispatch inline
serves tao-bench-server -p 0 --dispatch=inline_io --codec raw
serves tao-soak-server --port 0 --metrics 127.0.0.1:0
serves tao-heartbeat --mode server --port 0
serves tao-chat-node --port 0 --node-port 0 --node-host 127.0.0.1
serves tao-echo-server --port 0 --scheduler.policy=sharing --scheduler.max-threads 2
serves tao-echo-server --port 0 --dispatch inline_io --max-connections 10 --heartbeat-period 1s
serves tao-echo-server --port 0 --dispatch=inline --reuse-address=false --log-level debug
serves tao-echo-server --port 0 --reuse-address true --overflow disconnect

# 4. Refused values, in words.
expect 2 "invalid value 'abc' for --port: expected uint16" tao-echo-server --port abc
expect 2 "invalid value 'abc' for --port: expected uint16" tao-echo-server -p abc
expect 2 "value '70000' for --port is out of range" tao-echo-server --port=70000
expect 2 "option --port needs a value" tao-echo-server --port
expect 2 "option -p needs a value" tao-chat-server -p
expect 2 "--dispatch=threaded: expected inline \\(or inline_io\\) or scheduled" \
  tao-echo-server --port 0 --dispatch threaded
expect 2 "--dispatch=threaded: expected" tao-chat-client --dispatch=threaded
expect 2 "--dispatch=threaded: expected scheduled, inline or inline_io" \
  tao-bench-server --dispatch=threaded
expect 2 "invalid value 'maybe' for --reuse-address: it is a flag" \
  tao-echo-server --reuse-address=maybe
expect 2 "invalid value 'soon' for --heartbeat-period" tao-echo-server --heartbeat-period soon
expect 2 "option --peer needs a value" tao-chat-node --peer
expect 2 "--mode must be" tao-heartbeat --mode=client

# 5. Clients against a closed port exit non-zero, with the reason, and at
# once: the chat client even while its input stays open.
closed=$(closed_port)
expect 1 "error: .*(refused|connect)" tao-echo-client --port "$closed" --count 1
expect 1 "tao-chat-client: error: gave up on 127.0.0.1:$closed" tao-chat-client -p "$closed"
start=$(date +%s)
timeout 30 "$bin/tao-chat-client" --port "$closed" < <(sleep 20) >"$work/open-input.out" 2>&1
rc=$?
took=$(($(date +%s) - start))
out=$(cat "$work/open-input.out")
[ "$rc" = 1 ] || fail "chat client, closed port, open input: exit $rc: $out"
[ "$took" -lt 15 ] || fail "chat client, closed port, open input: took $took s"
expect 1 "gave up" tao-chat-client --port "$closed" --reconnect --reconnect-max-attempts 2 \
  --reconnect-initial-delay 10ms --reconnect-max-delay 20ms
# A server that accepts and never answers: the chat client's line never
# comes back, and it says so and exits 1 rather than report success.
/usr/bin/python3 -c '
import os, socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
with open(sys.argv[1] + ".tmp", "w") as f: f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True: held.append(s.accept()[0])
' "$work/silent.port" &
silent=$!
pids+=("$silent")
for _ in $(seq 1 200); do [ -s "$work/silent.port" ] && break; sleep 0.05; done
out=$(printf 'anyone there?\n' | timeout 30 "$bin/tao-chat-client" -p "$(cat "$work/silent.port")" \
  --connect-timeout 100ms --drain-timeout-ms 100 2>&1)
rc=$?
[ "$rc" = 1 ] || fail "chat client, silent server: exit $rc: $out"
grep -q "last line was not confirmed" <<<"$out" || fail "chat client, silent server: $out"
kill "$silent" 2>/dev/null

# 6. The chat client and echo client work with the space form.
"$bin/tao-chat-server" -p 0 >"$work/chat.log" 2>&1 </dev/null &
chat=$!
pids+=("$chat")
for _ in $(seq 1 200); do
  port=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$work/chat.log")
  [ -n "$port" ] && break
  sleep 0.05
done
out=$(printf 'hello there\nbye\n' | timeout 30 "$bin/tao-chat-client" -p "$port" 2>&1)
rc=$?
[ "$rc" = 0 ] || fail "chat client exit $rc: $out"
grep -q "hello there" <<<"$out" || fail "chat client did not get its line back: $out"
kill -TERM "$chat"
wait "$chat" || fail "chat server exit code"

# 7. docs/operations.md's config file example, as written there, is read by
# the programs: CAF's --dump-config shows its values.
awk '/^```ini$/ {on = 1; next} /^```$/ {on = 0} on' "$src/docs/operations.md" >"$work/doc.ini"
[ -s "$work/doc.ini" ] || fail "no ini example in docs/operations.md"
out=$(timeout 30 "$bin/tao-echo-server" --config-file "$work/doc.ini" --dump-config 2>&1)
rc=$?
[ "$rc" = 0 ] || fail "--dump-config with the doc's ini: exit $rc: $out"
while IFS='=' read -r key value; do
  case $key in ''|'['*|'#'*|';'*) continue ;; esac
  grep -Eq "^$key *= *$value\$" <<<"$out" \
    || fail "the doc's '$key=$value' is not what tao-echo-server read:
$out"
done <"$work/doc.ini"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "command lines: ok"
