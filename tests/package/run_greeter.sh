#!/usr/bin/env bash
# Runs the getting-started greeter as docs/getting-started.md does: the
# server on an ephemeral port, one client, then Ctrl-C (SIGTERM) to the server.
#   run_greeter.sh <directory with greeter_server and greeter_client>
set -euo pipefail
bin=$1
out=$(mktemp)
"$bin/greeter_server" >"$out" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$out"' EXIT
port=""
for _ in $(seq 300); do
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$out")
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || {
  echo "greeter_server printed no port:" >&2
  cat "$out" >&2
  exit 1
}
first=$("$bin/greeter_client" --port "$port" --name tao)
second=$("$bin/greeter_client" -p "$port")
if [ "$first" != "hello, tao" ] || [ "$second" != "hello, world" ]; then
  echo "unexpected greetings: '$first' '$second'" >&2
  exit 1
fi
kill -TERM "$server"
status=0
wait "$server" || status=$?
[ "$status" -eq 0 ] || {
  echo "greeter_server exited with $status after SIGTERM" >&2
  exit 1
}
echo "greeter ok"
