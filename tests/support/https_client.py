"""python3's http.client over HTTPS (CPython's ssl module: SSL_read_ex/SSL_write_ex), verifying
the server against a CA file. One line per request: "<CLOCK_MONOTONIC ns> <status> <body sha256>".
For the TLS faults' kernel tests.

  https_client.py --host IP --port PORT --cafile CA --path /index.txt --count N
                  [--new-connections] [--interval-ms MS]
"""
import argparse
import hashlib
import http.client
import ssl
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--path", default="/index.txt")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--new-connections", action="store_true")
    ap.add_argument("--interval-ms", type=float, default=0)
    a = ap.parse_args()
    ctx = ssl.create_default_context(cafile=a.cafile)
    conn = None
    for _ in range(a.count):
        if conn is None:
            conn = http.client.HTTPSConnection(a.host, a.port, context=ctx, timeout=10)
        # The time the request is sent: what a rollback promises is that requests sent after it
        # are answered unchanged (a reply read late on a busy machine may have been decided
        # before it).
        sent = time.monotonic_ns()
        conn.request("GET", a.path)
        resp = conn.getresponse()
        body = resp.read()
        print(sent, resp.status, hashlib.sha256(body).hexdigest(), flush=True)
        if a.new_connections or resp.will_close:
            conn.close()
            conn = None
        if a.interval_ms:
            time.sleep(a.interval_ms / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
