#!/usr/bin/python3
"""Both ends of the dead-man test (tests/kernel/deadman_test.cpp): traffic on flows the engine
opened while the controller ran, some of it before the controller is killed and some after its
heartbeat has gone stale, so the test can tell "injected before" from "stopped after".

  server --ip IP --http PORT --stream PORT --flag FILE
      HTTP/1.1 keep-alive: GET and POST -> 200; a POST to a path with "slow" in it is answered
      once FLAG exists (a response that leaves the exchange only after the controller is dead). A TCP stream (the WS endpoint): for every
      line received, 20 lines of data 20 ms apart. DNS on IP:53: every query answered NOERROR.
  client --scenario NAME --ip IP --http PORT --stream PORT --ready FILE --flag FILE
      Traffic before (expected: injected), then writes READY and waits for FLAG, then traffic on
      the same flows. Prints {"before": ..., "after": ...} as JSON.
"""
import argparse
import http.client
import http.server
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time


def wait_for(path, seconds=60):
    end = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > end:
            sys.exit("timed out waiting for " + path)
        time.sleep(0.01)


def serve(a):
    class Http(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def reply(self):
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.reply()

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if "slow" in self.path:
                wait_for(a.flag)
            self.reply()

        def log_message(self, *args):
            pass

    class Stream(socketserver.StreamRequestHandler):
        def handle(self):
            for _ in self.rfile:
                for i in range(20):
                    self.wfile.write(b"tick %d\n" % i)
                    time.sleep(0.02)

    class Threaded(socketserver.ThreadingMixIn, socketserver.TCPServer):
        allow_reuse_address = True
        daemon_threads = True

    def dns():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.ip, 53))
        while True:
            q, peer = s.recvfrom(512)
            if len(q) >= 12:
                s.sendto(q[:2] + bytes([0x81, 0x80]) + q[4:], peer)  # QR RD RA, NOERROR

    servers = [Threaded((a.ip, a.http), Http), Threaded((a.ip, a.stream), Stream)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    dns()


def http_status(conn, method, path):
    try:
        conn.request(method, path, body=b"{}" if method == "POST" else None)
        r = conn.getresponse()
        r.read()
        return r.status
    except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
        return "reset"


def stream_read(sock):
    """What the stream endpoint sends after one line: "data", or "reset"."""
    sock.settimeout(2)
    got = b""
    try:
        sock.sendall(b"go\n")
        while len(got) < 40:
            chunk = sock.recv(4096)
            if not chunk:
                return "closed"
            got += chunk
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout"
    return "data"


def dns_rcode(sock, qid):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"\x08exchange\x04test\x00\x00\x01\x00\x01"
    sock.send(q)
    try:
        r = sock.recv(512)
    except socket.timeout:
        return "timeout"
    return r[3] & 0x0F


def client(a):
    def ready():
        with open(a.ready + ".tmp", "w"):
            pass
        os.rename(a.ready + ".tmp", a.ready)
        wait_for(a.flag)

    out = {}
    if a.scenario in ("exch_429", "exch_5xx", "rate_limit_storm"):
        conn = http.client.HTTPConnection(a.ip, a.http, timeout=10)
        out["before"] = http_status(conn, "GET", "/")
        port = conn.sock.getsockname()[1] if conn.sock else None
        ready()
        out["after"] = http_status(conn, "GET", "/")
        out["same_connection"] = conn.sock is not None and conn.sock.getsockname()[1] == port
    elif a.scenario == "reconcile_mismatch":
        first = http.client.HTTPConnection(a.ip, a.http, timeout=10)
        out["before"] = http_status(first, "POST", "/api/v3/order")
        conn = http.client.HTTPConnection(a.ip, a.http, timeout=10)
        # Decided now, answered once the flag is there.
        conn.request("POST", "/api/v3/order?slow", body=b"{}")
        ready()
        try:
            r = conn.getresponse()
            r.read()
            out["after"] = r.status
        except (ConnectionResetError, http.client.RemoteDisconnected):
            out["after"] = "reset"
    elif a.scenario == "ws_disconnect":
        first = socket.create_connection((a.ip, a.stream))
        out["before"] = stream_read(first)
        sock = socket.create_connection((a.ip, a.stream))  # tagged now; first data after
        ready()
        out["after"] = stream_read(sock)
    elif a.scenario == "dns_flap":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(2)
        sock.connect((a.ip, 53))
        out["before"] = dns_rcode(sock, 1)
        ready()
        out["after"] = dns_rcode(sock, 2)
    else:
        sys.exit("unknown scenario " + a.scenario)
    print(json.dumps(out), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("--scenario", default="")
    p.add_argument("--ip", required=True)
    p.add_argument("--http", type=int, required=True)
    p.add_argument("--stream", type=int, required=True)
    p.add_argument("--ready", default="")
    p.add_argument("--flag", required=True)
    a = p.parse_args()
    serve(a) if a.role == "server" else client(a)


if __name__ == "__main__":
    main()
