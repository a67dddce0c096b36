#!/usr/bin/env bash
# examples/tls_echo: certificates made on the spot; the self-test passes with
# the CA that signed the server's certificate and fails (tls_failure) with
# another one; then the server and client modes talk to each other.
#   tls_echo_test.sh <tao-tls-echo>
set -euo pipefail
bin=$1
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; cat "$f" >&2; done; exit 1; }

"$(dirname "$0")/../support/make_test_certs.sh" "$work/certs"
c=$work/certs

"$bin" --mode=self-test --count=20 --tls-cert="$c/server.pem" --tls-key="$c/server.key" \
  --tls-ca="$c/ca.pem" >"$work/self-test.log" 2>&1 || fail "self-test"
grep -q "20 of 20 echoes received" "$work/self-test.log" || fail "self-test count"
echo "self-test: ok"

if "$bin" --mode=self-test --count=1 --tls-cert="$c/server.pem" --tls-key="$c/server.key" \
  --tls-ca="$c/other-ca.pem" >"$work/other-ca.log" 2>&1; then
  fail "a client trusting another CA got through"
fi
grep -q "tls_failure" "$work/other-ca.log" || fail "no TLS error shown"
echo "untrusted CA refused: ok"

"$bin" --mode=server --port=0 --tls-cert="$c/server.pem" --tls-key="$c/server.key" \
  >"$work/server.log" 2>&1 &
server=$!
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's/^listening on [^ ]*:\([0-9]*\).*$/\1/p' "$work/server.log")
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || fail "server did not start"
"$bin" --mode=client --host=localhost --port="$port" --count=5 --tls-ca="$c/ca.pem" \
  >"$work/client.log" 2>&1 || fail "client"
grep -q "5 of 5 echoes received" "$work/client.log" || fail "client count"
kill -TERM "$server"
wait "$server" || fail "server exit code"
server=""
echo "server and client: ok"
