#!/usr/bin/python3
"""An independent WebSocket peer for tao's interop tests: Debian's
python3-websockets (asyncio API of websockets 10).

  ws_peer.py client PORT [--tls-ca FILE] [--origin ORIGIN]
      Talks to a tao echo server (type 1 is its text type, type 2 binary) and
      prints one line per check: "ok binary", "ok text", ... or "FAIL ...".
  ws_peer.py server
      An echo server on 127.0.0.1; prints "port N", runs until stdin closes.

A Tao frame is one message: binary = int32 little-endian type + payload.
"""
import asyncio
import ssl
import struct
import sys

import websockets


def tao(type_, payload):
    return struct.pack("<i", type_) + payload


def say(*words):
    print(*words, flush=True)


async def expect(ws, want, what):
    got = await asyncio.wait_for(ws.recv(), 10)
    if got == want:
        say("ok", what)
    else:
        say("FAIL", what, repr(got)[:80])


async def client(port, tls_ca, origin):
    scheme = "wss" if tls_ca else "ws"
    context = None
    if tls_ca:
        context = ssl.create_default_context(cafile=tls_ca)
    uri = f"{scheme}://localhost:{port}/chat"
    try:
        ws = await websockets.connect(uri, subprotocols=["tao"], max_size=1 << 24, ssl=context,
                                      origin=origin, open_timeout=10)
    except websockets.exceptions.InvalidStatusCode as e:
        say("refused", e.status_code)
        return
    say("subprotocol", ws.subprotocol)
    await ws.send(tao(2, b"binary hello"))
    await expect(ws, tao(2, b"binary hello"), "binary")
    await ws.send("text hello \u00e9\u20ac\n")
    await expect(ws, "text hello \u00e9\u20ac\n", "text")
    big = bytes(range(256)) * 4096
    await ws.send(tao(2, big))
    await expect(ws, tao(2, big), "big")
    whole = tao(2, b"fragmented")
    await ws.send([whole[:3], whole[3:7], whole[7:]])
    await expect(ws, whole, "fragmented")
    pong = await ws.ping(b"are you there")
    await asyncio.wait_for(pong, 10)
    say("ok ping")
    await ws.close(1000, "bye")
    say("closed", ws.close_code)


async def server():
    async def echo(ws, path=None):
        async for message in ws:
            await ws.send(message)

    async with websockets.serve(echo, "127.0.0.1", 0, subprotocols=["tao"],
                                max_size=1 << 24) as srv:
        say("port", srv.sockets[0].getsockname()[1])
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


def main():
    args = sys.argv[1:]
    if args and args[0] == "server":
        asyncio.run(server())
        return
    port = int(args[1])
    tls_ca = args[args.index("--tls-ca") + 1] if "--tls-ca" in args else None
    origin = args[args.index("--origin") + 1] if "--origin" in args else None
    asyncio.run(client(port, tls_ca, origin))


if __name__ == "__main__":
    main()
