#!/usr/bin/env python3
"""A pipelining client of tao-kv-server (standard library only).

Sends PAIRS times "SET k<i>=v<i>" and "GET k<i>" without waiting, then shuts
down its write side (shutdown(SHUT_WR)) and reads until the server's FIN:
every reply must arrive, in the order of the requests.

    kv_client.py PORT [--pairs N]
    kv_client.py --spawn-server path/to/tao-kv-server [--pairs N]

With --spawn-server it starts the server on a free port, runs, and stops it
with SIGTERM. Exits 0 if every reply came in order, 1 otherwise.
"""

import argparse
import signal
import socket
import struct
import subprocess
import sys

SET, GET, REPLY = 2, 3, 4


def frame(kind, text):
    data = text.encode()
    return struct.pack("<iI", kind, len(data)) + data


def frames(data):
    """Cuts TLV frames out of data; returns them and the rest."""
    out = []
    while len(data) >= 8:
        kind, size = struct.unpack_from("<iI", data)
        if len(data) < 8 + size:
            break
        out.append((kind, data[8:8 + size].decode()))
        data = data[8 + size:]
    return out, data


def run(port, pairs):
    requests, expected = [], []
    for i in range(pairs):
        requests.append(frame(SET, "k%d=v%d" % (i, i)))
        expected.append("stored k%d" % i)
        requests.append(frame(GET, "k%d" % i))
        expected.append("k%d=v%d" % (i, i))
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(b"".join(requests))
    sock.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    got, rest = frames(data)
    if rest:
        print("FAILED: %d trailing bytes" % len(rest))
        return 1
    texts = [text for kind, text in got if kind == REPLY]
    if len(texts) != len(expected):
        print("FAILED: %d replies, expected %d" % (len(texts), len(expected)))
        return 1
    for i, (a, b) in enumerate(zip(texts, expected)):
        if a != b:
            print("FAILED: reply %d is %r, expected %r" % (i, a, b))
            return 1
    print("ok: %d replies in order before the server's FIN" % len(texts))
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", nargs="?", type=int)
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--spawn-server")
    args = parser.parse_args()
    if args.spawn_server is None:
        if args.port is None:
            parser.error("give a PORT or --spawn-server")
        return run(args.port, args.pairs)
    server = subprocess.Popen([args.spawn_server, "--port=0"], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if not line.startswith("listening on "):
            print("FAILED: server said %r" % line)
            return 1
        port = int(line.rsplit(":", 1)[1])
        return run(port, args.pairs)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            print("FAILED: the server did not stop")
            return 1


if __name__ == "__main__":
    sys.exit(main())
