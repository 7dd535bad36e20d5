"""A tiny function: GET answers with a greeting, POST echoes the body back.

Behind the of-watchdog a request body arrives chunked, without Content-Length, so `body()` reads
both kinds. `GET /slow?seconds=N` answers after N seconds, to try long requests and `timeout`.
"""
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/slow":
            seconds = float(parse_qs(url.query).get("seconds", ["1"])[0])
            time.sleep(seconds)
        self.reply((os.environ.get("GREETING", "Hello") + "\n").encode())

    def do_POST(self):
        self.reply(self.body())

    def body(self):
        """The request body, whether it came chunked or with a Content-Length."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", 5000), Handler).serve_forever()
