#!/usr/bin/python3
"""Request load of bench/requests.sh and bench/delay.sh (not a test; no third-party modules).

  reqload.py server HOST PORT        an HTTP/1.1 keep-alive server: every request (no body) is
                                     answered "200 ok" in one write, one thread per connection
  reqload.py client HOST PORT N [WARMUP]
                                     one keep-alive connection, WARMUP unmeasured requests, then N
                                     measured ones back to back; prints one JSON line: p50, p99,
                                     mean (us), statuses, and this process's CPU time during the N
                                     requests (utime+stime from /proc/self/stat, clock ticks)

Raw sockets with TCP_NODELAY on both ends and one write per message: what is measured is the
network path and whatever sits on it, not an HTTP library's buffering (Nagle against a server
that writes headers and body apart costs a delayed ACK, see KERNEL-FACTS.md).

TLS (CPython's ssl module, OpenSSL's SSL_read_ex/SSL_write_ex): the server with REQLOAD_CERT and
REQLOAD_KEY in its environment serves HTTPS; the client with REQLOAD_CA verifies the server
against that CA and names it (SNI, Host header) by HOST:PORT, as an engine names its exchange.
"""
import json
import os
import socket
import ssl
import sys
import threading
import time

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
REQUEST = b"GET /api/v3/ticker/price?symbol=BTCUSDT HTTP/1.1\r\nHost: bench\r\n\r\n"


def serve_conn(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if isinstance(conn, ssl.SSLSocket):
        conn.do_handshake()
    buf = b""
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while b"\r\n\r\n" in buf:  # requests carry no body
                _, buf = buf.split(b"\r\n\r\n", 1)
                conn.sendall(RESPONSE)


def server(host, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(64)
    ctx = None
    if os.environ.get("REQLOAD_CERT"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.environ["REQLOAD_CERT"], os.environ["REQLOAD_KEY"])
    while True:
        conn, _ = ls.accept()
        if ctx:
            # The handshake in the connection's thread: one slow client does not block accept.
            conn = ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()


def read_response(sock, buf):
    """Reads one response; returns (status, rest of the buffer)."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed mid-response")
        buf += data
    head, buf = buf.split(b"\r\n\r\n", 1)
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(buf) < length:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed mid-body")
        buf += data
    return status, buf[length:]


def cpu_ticks():
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def client(host, port, n, warmup):
    global REQUEST
    sock = socket.create_connection((host, port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if os.environ.get("REQLOAD_CA"):
        ctx = ssl.create_default_context(cafile=os.environ["REQLOAD_CA"])
        sock = ctx.wrap_socket(sock, server_hostname=host)
        REQUEST = REQUEST.replace(b"Host: bench", b"Host: %s:%d" % (host.encode(), port))
    buf = b""
    statuses = {}
    for _ in range(warmup):
        _, buf = (sock.sendall(REQUEST), read_response(sock, buf))[1]
    lat = [0] * n
    clock = time.perf_counter_ns
    t0 = cpu_ticks()
    for i in range(n):
        start = clock()
        sock.sendall(REQUEST)
        status, buf = read_response(sock, buf)
        lat[i] = clock() - start
        statuses[status] = statuses.get(status, 0) + 1
    ticks = cpu_ticks() - t0
    sock.close()
    lat.sort()
    print(json.dumps({
        "n": n,
        "p50_us": lat[n // 2] / 1e3,
        "p99_us": lat[min(n - 1, (n * 99) // 100)] / 1e3,
        "mean_us": sum(lat) / n / 1e3,
        "statuses": {str(k): v for k, v in statuses.items()},
        "cpu_ticks": ticks,
        "clk_tck": os.sysconf("SC_CLK_TCK"),
    }))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) >= 5 and sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
               int(sys.argv[5]) if len(sys.argv) > 5 else 200)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
