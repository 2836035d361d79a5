"""python3's HTTPS clients (CPython's ssl module: SSL_read_ex/SSL_write_ex), verifying the server
against a CA file, for the TLS faults' kernel tests. Two ways to send:

- http.client (the default): one line per request, "<CLOCK_MONOTONIC ns> <status> <body sha256>";
  with --requests, the requests cycle through "METHOD /path" lines (a POST carries a small JSON
  body), and a request whose connection fails prints status -1 and "-" (the next one opens a new
  connection).
- --recv K: keep-alive GETs on one TLS connection, each response head read with recv(K): with
  K=1 every byte of the status line is its own SSL_read_ex, so a status line is split across as
  many reads as it has bytes. One line per response: "<status> <body sha256>".

  with --expect-continue, a POST asks the server for 100 Continue (Expect: 100-continue, sent
  with its body at once, as http.client does) and to send it in one write with the final
  response's head (X-Interim: together), so one SSL_read_ex returns both.

  https_client.py --host IP --port PORT --cafile CA --path /index.txt --count N
                  [--new-connections] [--interval-ms MS] [--requests "POST /o" "GET /x" ...]
                  [--expect-continue]
  https_client.py --host IP --port PORT --cafile CA --count N --recv K [--path /index.txt]
"""
import argparse
import hashlib
import http.client
import socket
import ssl
import sys
import time


def http_client(a, ctx):
    lines = [r.split(" ", 1) for r in a.requests] if a.requests else [["GET", a.path]]
    conn = None
    for i in range(a.count):
        method, path = lines[i % len(lines)]
        if conn is None:
            conn = http.client.HTTPSConnection(a.host, a.port, context=ctx, timeout=10)
        # The time the request is sent: what a rollback promises is that requests sent after it
        # are answered unchanged (a reply read late on a busy machine may have been decided
        # before it).
        sent = time.monotonic_ns()
        body_out = b'{"symbol":"BTCUSDT"}' if method == "POST" else None
        try:
            headers = {}
            if a.expect_continue and method == "POST":
                headers = {"Expect": "100-continue", "X-Interim": "together"}
            conn.request(method, path, body=body_out, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as e:
            if not a.requests:
                raise
            print(sent, -1, "-", flush=True)
            print("request", i, method, path, "failed:", repr(e), file=sys.stderr, flush=True)
            conn.close()
            conn = None
            continue
        print(sent, resp.status, hashlib.sha256(body).hexdigest(), flush=True)
        if a.new_connections or resp.will_close:
            conn.close()
            conn = None
        if a.interval_ms:
            time.sleep(a.interval_ms / 1000)
    return 0


def raw_gets(a, ctx):
    raw = socket.create_connection((a.host, a.port), timeout=10)
    tls = ctx.wrap_socket(raw, server_hostname=a.host)
    for _ in range(a.count):
        tls.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (a.path, a.host, a.port)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = tls.recv(a.recv)
            if not chunk:
                return 1
            head += chunk
        head, body = head.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = tls.recv(length - len(body))
            if not chunk:
                return 1
            body += chunk
        print(lines[0].split(b" ")[1].decode(), hashlib.sha256(body).hexdigest(), flush=True)
    tls.close()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--path", default="/index.txt")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--new-connections", action="store_true")
    ap.add_argument("--interval-ms", type=float, default=0)
    ap.add_argument("--requests", nargs="+")
    ap.add_argument("--expect-continue", action="store_true")
    ap.add_argument("--recv", type=int, help="raw keep-alive GETs, heads read K bytes at a time")
    a = ap.parse_args()
    if a.recv is not None and (a.requests or a.new_connections or a.interval_ms):
        ap.error("--recv sends keep-alive GETs of --path only")
    ctx = ssl.create_default_context(cafile=a.cafile)
    return raw_gets(a, ctx) if a.recv is not None else http_client(a, ctx)


if __name__ == "__main__":
    sys.exit(main())
