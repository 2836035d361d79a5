#!/usr/bin/python3
"""WebSocket message timing in both directions, for ws_lag's "per message" meaning
(tests/kernel/netem_test.cpp). Debian's python3-websockets (10.4, the asyncio API).

  server --ip IP --port P --size BYTES --interval-ms MS --out FILE
      To each client, a text message of BYTES (several TCP segments when larger than the MSS)
      every MS, each carrying the CLOCK_MONOTONIC ns it was handed to the socket. Records the
      one-way delay of what the client sends: its messages (subscriptions) and its pings. On
      SIGTERM writes {"up_ms": [...], "ping_ms": [...]} to FILE.
  client --url ws://IP:P --seconds S --out FILE
      Reads the server's messages for S seconds (one-way delay of each: "down_ms", with "sizes"),
      and meanwhile sends a subscription message and a ping, each stamped, every 50 ms. Writes
      {"down_ms": [...], "sizes": [...]} to FILE.
Both ends run on one machine (in different network namespaces), so CLOCK_MONOTONIC is shared.
"""
import argparse
import asyncio
import json
import signal
import time

import websockets
import websockets.server


def now_ns():
    return time.monotonic_ns()


def ms_since(stamp_ns):
    return (now_ns() - stamp_ns) / 1e6


def serve(a):
    up, pings = [], []

    class Protocol(websockets.server.WebSocketServerProtocol):
        # websockets answers a ping inside read_data_frame with pong(frame.data), as the frame is
        # read: the ping's arrival, as the server application sees it.
        async def pong(self, data=b""):
            try:
                pings.append(ms_since(int(data)))
            except ValueError:
                pass
            await super().pong(data)

    async def handler(ws, path=None):
        async def push():
            while True:
                stamp = str(now_ns()).encode()
                await ws.send((stamp + b" " + b"x" * (a.size - len(stamp) - 1)).decode())
                await asyncio.sleep(a.interval_ms / 1000)

        pusher = asyncio.ensure_future(push())
        try:
            async for msg in ws:
                up.append(ms_since(int(msg.split(" ", 1)[0])))
        except websockets.ConnectionClosed:
            pass
        finally:
            pusher.cancel()

    async def main():
        stop = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
        async with websockets.serve(handler, a.ip, a.port, create_protocol=Protocol,
                                    max_size=None, ping_interval=None, compression=None):
            await stop
        with open(a.out, "w") as f:
            json.dump({"up_ms": up, "ping_ms": pings}, f)

    asyncio.run(main())


def client(a):
    down, sizes = [], []

    async def main():
        async with websockets.connect(a.url, max_size=None, ping_interval=None,
                                      compression=None) as ws:
            deadline = time.monotonic() + a.seconds

            async def send():
                while True:
                    await ws.send(str(now_ns()) + ' {"op":"subscribe","args":["book.BTCUSDT"]}')
                    await ws.ping(str(now_ns()).encode())
                    await asyncio.sleep(0.05)

            sender = asyncio.ensure_future(send())
            try:
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        msg = await asyncio.wait_for(ws.recv(), timeout=left)
                    except asyncio.TimeoutError:
                        break
                    down.append(ms_since(int(msg.split(" ", 1)[0])))
                    sizes.append(len(msg))
            finally:
                sender.cancel()
        with open(a.out, "w") as f:
            json.dump({"down_ms": down, "sizes": sizes}, f)

    asyncio.run(main())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("--ip")
    p.add_argument("--port", type=int)
    p.add_argument("--url")
    p.add_argument("--size", type=int, default=16384)
    p.add_argument("--interval-ms", type=float, default=100)
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    serve(a) if a.role == "server" else client(a)


if __name__ == "__main__":
    main()
