"""An HTTPS server that is not mmchaos': python's http.server (HTTP/1.1, keep-alive) in an ssl
context, serving a directory; a POST is answered 200 with a small JSON body and, with --posts FILE, its
path is appended to FILE once the request has been read (the exchange processed the order). For
the TLS faults' kernel tests.

Expect: 100-continue is answered as http.server does (100 Continue in its own write, before the
body is read); with the request header X-Interim: together, the 100 Continue is sent in one write
with the final response's head instead (a client that sent its body at once reads both in one
go).

  https_server.py --bind IP --port PORT --cert CERT --key KEY --directory DIR [--posts FILE]
"""
import argparse
import functools
import http.server
import ssl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--directory", required=True)
    ap.add_argument("--posts")
    a = ap.parse_args()
    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def log_message(self, *args):
            pass

        def handle_expect_100(self):
            self.interim_together = self.headers.get("X-Interim") == "together"
            return True if self.interim_together else super().handle_expect_100()

        def do_POST(self):
            together = getattr(self, "interim_together", False)
            self.interim_together = False
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if a.posts:
                with open(a.posts, "a") as f:
                    f.write(self.path + "\n")
            body = b'{"status":"NEW"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if together:
                self._headers_buffer.insert(0, b"HTTP/1.1 100 Continue\r\n\r\n")
            self.end_headers()
            self.wfile.write(body)

    handler = functools.partial(Handler, directory=a.directory)
    server = http.server.ThreadingHTTPServer((a.bind, a.port), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
