#!/usr/bin/env python3
"""Introspection endpoint and echo upstream for the wrk measurement
(run.sh). Every token `tok-NNN` is active; the introspection endpoint counts
calls per token and reports them at GET /stats.

    python3 servers.py <introspection_port> <upstream_port>
"""
import asyncio
import json
import sys
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

calls = Counter()
lock = threading.Lock()


class Introspect(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            self.reply(200, {"calls": sum(calls.values()), "tokens": len(calls),
                             "max_per_token": max(calls.values(), default=0),
                             "per_token": dict(calls)})

    def do_POST(self):
        n = int(self.headers.get("content-length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        token = form.get("token", [""])[0]
        with lock:
            calls[token] += 1
        if token.startswith("tok-"):
            self.reply(200, {"active": True, "sub": token, "aud": "api", "scope": "read",
                             "exp": int(time.time()) + 3600})
        else:
            self.reply(200, {"active": False})


async def echo(reader, writer):
    """Minimal keep-alive HTTP/1.1 upstream (GET without body): fast enough
    not to be the bottleneck, unlike http.server."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                break
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def serve_echo(port):
    server = await asyncio.start_server(echo, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


ThreadingHTTPServer.daemon_threads = True
a = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Introspect)
threading.Thread(target=a.serve_forever, daemon=True).start()
asyncio.run(serve_echo(int(sys.argv[2])))
