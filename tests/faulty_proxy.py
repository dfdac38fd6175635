"""A fault-injecting HTTP proxy on 127.0.0.1: every `every`-th request gets a 503.

It forwards everything else unchanged (method, path, headers, body) to an upstream
server, so clients talk to a real server through a flaky network path.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that clients sending `Expect: 100-continue` get their 100 and send the body.
    protocol_version = "HTTP/1.1"
    server: _Proxy

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def _relay(self) -> None:
        body = self._body()
        if self.server.should_fail():
            self.send_response(503)
            payload = b"<Error><Code>SlowDown</Code><Message>injected</Message></Error>"
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":  # a HEAD response has no body, whatever its length
                self.wfile.write(payload)
            return
        conn = http.client.HTTPConnection(self.server.upstream, timeout=30)
        hop = ("connection", "transfer-encoding", "expect", "content-length")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in hop}
        headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body or None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        # A HEAD response states the length of the body a GET would have returned.
        length = response.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

    def log_message(self, *args: object) -> None:
        pass


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, every: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = urlsplit(upstream).netloc
        self.every = every
        self.requests = 0
        self.failed = 0
        self._lock = threading.Lock()

    def should_fail(self) -> bool:
        with self._lock:
            self.requests += 1
            if self.requests % self.every == 0:
                self.failed += 1
                return True
            return False


@contextmanager
def faulty_proxy(upstream: str, every: int = 5) -> Iterator[_Proxy]:
    """Run the proxy for the duration of the block; `.server_address` is where it listens."""
    with _serving(_Proxy(upstream, every)) as proxy:
        yield proxy


class _Recording(_Handler):
    def _relay(self) -> None:
        server: Any = self.server
        with server.log_lock:
            server.log.append((self.command, self.path))
        super()._relay()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay


@contextmanager
def recording_proxy(upstream: str) -> Iterator[Any]:
    """A proxy that fails nothing and logs (method, path) of every request in `.log`."""
    proxy: Any = _Proxy(upstream, every=1 << 60)
    proxy.RequestHandlerClass = _Recording
    proxy.log, proxy.log_lock = [], threading.Lock()
    with _serving(proxy) as serving:
        yield serving


@contextmanager
def _serving(proxy: _Proxy) -> Iterator[_Proxy]:
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
