#!/usr/bin/env bash
# Generates throwaway TLS material for tests into <dir> (no key is ever
# committed). EC P-256 keys, so it takes well under a second.
#
#   ca.pem / ca.key               the test CA
#   other-ca.pem / other-ca.key   a second CA nobody trusts by default
#   server.pem / server.key       localhost + 127.0.0.1 + ::1, signed by ca
#   client.pem / client.key       a client certificate (clientAuth), signed by ca
#   expired.pem / expired.key     localhost, signed by ca, already expired
#   wronghost.pem / wronghost.key other.example only, signed by ca
#   server-other.pem / .key       localhost, signed by other-ca
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"

newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)

make_ca() { # name cn
  openssl req -x509 "${newkey[@]}" -keyout "$1.key" -out "$1.pem" -days 30 -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null
}

make_leaf() { # name ca cn days extensions
  openssl req "${newkey[@]}" -keyout "$1.key" -out "$1.csr" -subj "/CN=$3" 2>/dev/null
  printf '%s\n' "$5" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" \
    -days "$4" -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

server_ext='subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
extendedKeyUsage=serverAuth'

make_ca ca tao-test-ca
make_ca other-ca tao-other-ca
make_leaf server ca localhost 30 "$server_ext"
make_leaf client ca tao-test-client 30 'extendedKeyUsage=clientAuth'
make_leaf expired ca localhost -1 "$server_ext"
make_leaf wronghost ca other.example 30 'subjectAltName=DNS:other.example
extendedKeyUsage=serverAuth'
make_leaf server-other other-ca localhost 30 "$server_ext"
chmod 600 ./*.key
