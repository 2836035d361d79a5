#!/usr/bin/python3
"""HTTP/1.1 request timing as a client sees it, for lat_spike's "per request" meaning
(tests/kernel/netem_test.cpp).

  server --ip IP --port P --writes {1,2}
      GET -> 200 with a 64-byte body; writes 2: headers and body in two writes (Python's
      http.server does so; with Nagle the body waits for the client's ACK of the headers),
      writes 1: the whole response in one write.
  client --ip IP --port P --n N
      N requests on one kept-alive connection (after one to warm it), then N requests each on a
      new connection (connect included), timed from send (connect) to the response's last byte
      with python's http.client; then the same with curl (time_total). Prints JSON lists of ms:
      {"keep": [...], "new": [...], "curl_keep": [...], "curl_new": [...]}.
"""
import argparse
import http.client
import http.server
import json
import subprocess
import time

BODY = b"x" * 63 + b"\n"


def serve(a):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            head = ("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY)).encode()
            if a.writes == 1:
                self.wfile.write(head + BODY)
            else:
                self.wfile.write(head)
                self.wfile.write(BODY)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer((a.ip, a.port), Handler).serve_forever()


def timed(conn):
    t = time.monotonic()
    conn.request("GET", "/")
    conn.getresponse().read()
    return (time.monotonic() - t) * 1000


def client(a):
    out = {"keep": [], "new": [], "curl_keep": [], "curl_new": []}
    conn = http.client.HTTPConnection(a.ip, a.port, timeout=10)
    timed(conn)
    for _ in range(a.n):
        out["keep"].append(timed(conn))
    conn.close()
    for _ in range(a.n):
        t = time.monotonic()
        c = http.client.HTTPConnection(a.ip, a.port, timeout=10)
        c.request("GET", "/")
        c.getresponse().read()
        out["new"].append((time.monotonic() - t) * 1000)
        c.close()
    url = "http://%s:%d/" % (a.ip, a.port)
    # One curl run: the first transfer opens the connection, the others reuse it.
    args = ["curl", "-sS", "-w", "%{time_total}\\n"]
    for _ in range(a.n + 1):
        args += [url, "-o", "/dev/null"]  # -o names one transfer's output
    r = subprocess.run(args, capture_output=True, text=True, check=True)
    out["curl_keep"] = [float(x) * 1000 for x in r.stdout.split()[1:]]
    for _ in range(a.n):
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{time_total}", url],
                           capture_output=True, text=True, check=True)
        out["curl_new"].append(float(r.stdout) * 1000)
    print(json.dumps(out), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("--ip", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--writes", type=int, default=2)
    p.add_argument("--n", type=int, default=20)
    a = p.parse_args()
    serve(a) if a.role == "server" else client(a)


if __name__ == "__main__":
    main()
