#!/usr/bin/python3
"""A third-party WebSocket client loop, as a market-data consumer runs one: connect, read
messages, and when the connection breaks (closed, reset, EOF) log why and reconnect after a
short delay. Uses Debian's python3-websockets (10.4: the asyncio API; websockets.sync is newer).

Prints one JSON object per line on stdout, each with "t" (CLOCK_MONOTONIC seconds, the clock of
mmchaos' burst schedule) and "event":
  connect   {attempt}                      a connection attempt starts (one TCP connect())
  open      {attempt}                      the opening handshake completed
  closed    {attempt, reason, cause, detail, messages, last_message_t}
                                           an open connection broke
  failed    {attempt, reason, cause, detail}
                                           the attempt never opened (refused, reset in the
                                           handshake, timeout)
  done      {attempts, reconnects, messages, closed, failed}
                                           the run is over (after --seconds)
"""
import argparse
import asyncio
import json
import ssl
import sys
import time

import websockets


def emit(event, **fields):
    print(json.dumps({"t": time.monotonic(), "event": event, **fields}), flush=True)


def describe(exc):
    cause = exc.__cause__ or exc.__context__
    return {
        "reason": type(exc).__name__,
        "cause": type(cause).__name__ if cause else None,
        "detail": str(exc),
    }


# What a broken connection or a failed attempt raises; anything else is a bug in this script.
BROKEN = (
    websockets.ConnectionClosed,
    websockets.InvalidHandshake,
    ConnectionError,  # ConnectionResetError, ConnectionRefusedError, BrokenPipeError
    EOFError,
    OSError,
    asyncio.TimeoutError,
)


async def run(url, seconds, retry_s, cafile):
    # wss://: the server's certificate verified against cafile (the test's throwaway CA).
    tls = ssl.create_default_context(cafile=cafile) if url.startswith("wss://") else None
    deadline = time.monotonic() + seconds
    attempts = messages = closed = failed = 0
    while time.monotonic() < deadline:
        attempts += 1
        emit("connect", attempt=attempts)
        opened = False
        received = 0
        last_message_t = None
        try:
            timeout = max(0.1, deadline - time.monotonic())
            async with websockets.connect(url, ssl=tls, open_timeout=timeout,
                                          close_timeout=1) as ws:
                opened = True
                emit("open", attempt=attempts)
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        await asyncio.wait_for(ws.recv(), timeout=left)
                    except asyncio.TimeoutError:
                        break  # the run is over, not the connection
                    received += 1
                    last_message_t = time.monotonic()
        except BROKEN as exc:
            if opened:
                closed += 1
                emit("closed", attempt=attempts, messages=received,
                     last_message_t=last_message_t, **describe(exc))
            else:
                failed += 1
                emit("failed", attempt=attempts, **describe(exc))
        messages += received
        if time.monotonic() < deadline:
            await asyncio.sleep(min(retry_s, max(0.0, deadline - time.monotonic())))
    emit("done", attempts=attempts, reconnects=attempts - 1, messages=messages,
         closed=closed, failed=failed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="ws://HOST:PORT/PATH or wss://...")
    ap.add_argument("--cafile", help="wss: the CA to verify the server against")
    ap.add_argument("--seconds", type=float, required=True, help="stop after this long")
    ap.add_argument("--retry-ms", type=int, default=200, help="delay before a reconnect")
    args = ap.parse_args()
    asyncio.run(run(args.url, args.seconds, args.retry_ms / 1000.0, args.cafile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
