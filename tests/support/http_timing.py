#!/usr/bin/python3
"""HTTP/1.1 request timing as a client sees it, for lat_spike's "per request" meaning
(tests/kernel/netem_test.cpp).

  server --ip IP --port P --writes {1,2}
      GET -> 200 with a 64-byte body; writes 2: headers and body in two writes (Python's
      http.server does so; with Nagle the body waits for the client's ACK of the headers),
      writes 1: the whole response in one write.
  client --ip IP --port P --n N
      N requests on one kept-alive connection (after one to warm it, GAP_S apart), then N
      requests each on a new connection (connect included), timed from send (connect) to the
      response's last byte with python's http.client; then the same with curl (time_total).
      New connections are also split where the handshake ends (python: connect(), and the
      request GAP_S later; curl: time_appconnect, or time_connect without TLS, no pause):
      *_hs before, *_req after ("new" = their sum). Prints JSON
      lists of ms: {"keep", "new", "new_hs", "new_req", "curl_keep", "curl_new",
      "curl_new_hs", "curl_new_req"}.
  --tls DIR (both roles): HTTPS with DIR/server.pem and DIR/server.key (scripts/make-pki.sh);
      the client verifies against DIR/ca.pem (http.client's ssl context, curl --cacert).
"""
import argparse
import http.client
import http.server
import json
import subprocess
import time

BODY = b"x" * 63 + b"\n"
GAP_S = 0.15  # between kept-alive requests


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

    server = http.server.ThreadingHTTPServer((a.ip, a.port), Handler)
    if a.tls:
        import ssl  # only here: loading OpenSSL slows the plaintext server's start under TCG

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls + "/server.pem", a.tls + "/server.key")
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


def timed(conn):
    t = time.monotonic()
    conn.request("GET", "/")
    conn.getresponse().read()
    return (time.monotonic() - t) * 1000


def connection(a):
    if a.tls:
        import ssl

        ctx = ssl.create_default_context(cafile=a.tls + "/ca.pem")
        return http.client.HTTPSConnection(a.ip, a.port, timeout=10, context=ctx)
    return http.client.HTTPConnection(a.ip, a.port, timeout=10)


def client(a):
    out = {"keep": [], "new": [], "new_hs": [], "new_req": [], "curl_keep": [], "curl_new": [],
           "curl_new_hs": [], "curl_new_req": []}
    conn = connection(a)
    timed(conn)
    for _ in range(a.n):
        # Spaced, so that the baseline's requests also find both ends idle, as a delayed one does
        # (back to back, the baseline ran on CPUs that never slept).
        time.sleep(GAP_S)
        out["keep"].append(timed(conn))
    conn.close()
    for _ in range(a.n):
        t = time.monotonic()
        c = connection(a)
        c.connect()
        hs = (time.monotonic() - t) * 1000
        # The first request GAP_S after the handshake, as the kept-alive ones: both ends idle,
        # the server's handler thread started (not overlapping the request's flight).
        time.sleep(GAP_S)
        req = timed(c)
        out["new"].append(hs + req)
        out["new_hs"].append(hs)
        out["new_req"].append(req)
        c.close()
    url = "%s://%s:%d/" % ("https" if a.tls else "http", a.ip, a.port)
    curl = ["curl", "-sS"] + (["--cacert", a.tls + "/ca.pem"] if a.tls else [])
    # One curl run: the first transfer opens the connection, the others reuse it.
    # --rate spaces the transfers' starts: 100 ms longer than GAP_S, so that a transfer that
    # took a 100 ms spike is still followed by GAP_S of idle, like python's.
    args = curl + ["--rate", "%d/m" % (60 / (GAP_S + 0.1)), "-w", "%{time_total}\\n"]
    for _ in range(a.n + 1):
        args += [url, "-o", "/dev/null"]  # -o names one transfer's output
    r = subprocess.run(args, capture_output=True, text=True, check=True)
    out["curl_keep"] = [float(x) * 1000 for x in r.stdout.split()[1:]]
    for _ in range(a.n):
        r = subprocess.run(curl + ["-o", "/dev/null", "-w",
                                   "%{time_connect} %{time_appconnect} %{time_total}", url],
                           capture_output=True, text=True, check=True)
        tcp, tls, total = (float(x) * 1000 for x in r.stdout.split())
        hs = tls if a.tls else tcp  # time_appconnect: the TLS handshake's end (0 without TLS)
        out["curl_new"].append(total)
        out["curl_new_hs"].append(hs)
        out["curl_new_req"].append(total - hs)
    print(json.dumps(out), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("--ip", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--writes", type=int, default=2)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--tls", help="directory of make-pki.sh's ca.pem, server.pem, server.key")
    a = p.parse_args()
    serve(a) if a.role == "server" else client(a)


if __name__ == "__main__":
    main()
