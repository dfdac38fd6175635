"""A fault-injecting HTTP proxy on 127.0.0.1 in front of a real server.

It forwards requests unchanged (method, path, headers, body) to an upstream server, so
clients talk to a real server through a flaky network path. Every `every`-th request that
the fault targets (all requests by default; `methods=` and `objects_only=` narrow it) is
broken in one of these ways, chosen by `fault`:

- "503": an S3 `SlowDown` error response;
- "reset": the connection is reset (SO_LINGER 0, then close: the peer gets a RST). A
  response is cut after its status, headers and part of its body; an upload is cut after
  part of its body was read (odd faults: nothing reaches the server) or after the whole
  request reached the server (even faults: the object landed, its response is lost).
  A response without a body to cut (a HEAD, an empty object) is reset before its status;
- "truncate": the upstream status and the full Content-Length, but only part of the
  body, then a clean close (FIN). A response without a body has nothing to truncate: it
  is answered normally and not counted as a fault;
- "stall": no answer for `stall` seconds, then the normal one (to a client that, with a
  shorter timeout, has given up by then).

Faults are counted, never random: the same run injects the same number of faults.
"""

from __future__ import annotations

import http.client
import os
import socket
import struct
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("503", "reset", "truncate", "stall")
_HOP = ("connection", "transfer-encoding", "expect", "content-length", "keep-alive")


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that clients sending `Expect: 100-continue` get their 100 and send the body.
    protocol_version = "HTTP/1.1"
    server: _Proxy

    def _length(self) -> int | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return None
        return int(self.headers.get("Content-Length") or 0)

    def _body(self) -> bytes:
        length = self._length()
        if length is not None:
            return self.rfile.read(length)
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def _reset(self) -> None:
        """Drop the connection with a RST (SO_LINGER 0): unlike a close, nothing is flushed."""
        sock = self.connection
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(sock.detach())
        self.close_connection = True

    def _relay(self) -> None:
        fault = self.server.fault_for(self.command, self.path)
        if fault == "reset-upload":
            length = self._length()
            if length is None:  # chunked: read the first chunk's size line
                self.rfile.readline()
            elif length:  # read part of the upload, then cut it
                self.rfile.read(max(1, length // 2))
            self._reset()
            return
        body = self._body()
        if fault == "503":
            self.send_response(503)
            payload = b"<Error><Code>SlowDown</Code><Message>injected</Message></Error>"
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":  # a HEAD response has no body, whatever its length
                self.wfile.write(payload)
            return
        if fault == "stall" and self.server.closing.wait(self.server.stall):
            self._reset()  # the proxy is shutting down
            return
        try:
            status, headers, data = self._upstream(body)
        except OSError:
            self._reset()
            return
        if fault == "reset-landed":
            self._reset()  # the upload landed; its answer is lost
            return
        try:
            self._answer(status, headers, data, fault)
        except OSError:  # the client went away (it timed out during a stall)
            self.close_connection = True

    def _upstream(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.server.upstream, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, response.getheaders(), data
        finally:
            conn.close()

    def _answer(
        self, status: int, headers: list[tuple[str, str]], data: bytes, fault: str | None
    ) -> None:
        if fault == "truncate" and (self.command == "HEAD" or not data):
            self.server.not_applied(self.command, self.path)  # nothing to truncate
            fault = None
        elif fault == "reset" and (self.command == "HEAD" or not data):
            self._reset()  # nothing to cut mid-body: the connection drops before the answer
            return
        self.send_response(status)
        length = None
        for key, value in headers:
            if key.lower() == "content-length":
                length = value
            elif key.lower() not in _HOP:
                self.send_header(key, value)
        # A HEAD response states the length of the body a GET would have returned.
        head = self.command == "HEAD" and length is not None
        self.send_header("Content-Length", length if head and length else str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            data = b""
        if fault in ("reset", "truncate"):
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            if fault == "reset":
                time.sleep(0.05)  # let the client read the headers and the first bytes
                self._reset()
            else:
                self.close_connection = True  # a clean close, with the body incomplete
            return
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

    def log_message(self, *args: object) -> None:
        pass


def is_object_request(path: str) -> bool:
    """Whether a path-style S3 request names an object (`/bucket/key`), not a bucket."""
    parts = urlsplit(path)
    return "/" in parts.path.strip("/") and "uploads" not in parts.query


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        upstream: str,
        every: int,
        *,
        fault: str = "503",
        methods: Collection[str] | None = None,
        objects_only: bool = False,
        stall: float = 0.0,
    ) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (one of {', '.join(FAULTS)})")
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = urlsplit(upstream).netloc
        self.every = every
        self.fault = fault
        self.methods = {m.upper() for m in methods} if methods is not None else None
        self.objects_only = objects_only
        self.stall = stall
        self.closing = threading.Event()
        self.requests = 0  # every request seen
        self.targeted = 0  # those the fault applies to
        self.failed = 0  # faults injected
        self.faulted: list[tuple[str, str]] = []  # (method, path) of each
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def not_applied(self, method: str, path: str) -> None:
        """Uncount a fault that found nothing to break (a truncation of an empty body)."""
        with self._lock:
            self.failed -= 1
            self.faulted.remove((method, path))

    def fault_for(self, method: str, path: str) -> str | None:
        """The fault to inject into this request, if it is an `every`-th targeted one (an
        upload's reset is "reset-upload" or "reset-landed", alternately)."""
        with self._lock:
            self.requests += 1
            if self.methods is not None and method not in self.methods:
                return None
            if self.objects_only and not is_object_request(path):
                return None
            self.targeted += 1
            if self.targeted % self.every:
                return None
            self.failed += 1
            self.faulted.append((method, path))
            if self.fault == "reset" and method in ("PUT", "POST"):
                return "reset-upload" if self.failed % 2 else "reset-landed"
            return self.fault


@contextmanager
def faulty_proxy(
    upstream: str,
    every: int = 5,
    *,
    fault: str = "503",
    methods: Collection[str] | None = None,
    objects_only: bool = False,
    stall: float = 0.0,
) -> Iterator[_Proxy]:
    """Run the proxy for the duration of the block; `.server_address` (or `.url`) is where
    it listens, `.failed` how many faults it injected."""
    proxy = _Proxy(
        upstream, every, fault=fault, methods=methods, objects_only=objects_only, stall=stall
    )
    with _serving(proxy) as serving:
        yield serving


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
        proxy.closing.set()
        proxy.shutdown()
        proxy.server_close()
