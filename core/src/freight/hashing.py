"""md5 and legacy md5-dos2unix of files, read in 1 MiB chunks.

DVC 3 hashes raw bytes. DVC 2 ("md5-dos2unix", entries without `hash: md5`) turns CRLF into
LF before hashing when the file looks like text. Two variants of the text rule exist:

* DVC 2 decides once per file from its first 512 bytes (what wrote legacy metafiles);
* DVC 3 decides per 1 MiB chunk from that chunk's first 512 bytes.

Both apply the replacement per chunk, so a CRLF straddling a chunk boundary survives. freight
verifies legacy entries with DVC 2's rule (the writer's), see spec §4.2.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

CHUNK = 1 << 20
SNIFF = 512
_TEXT_CHARS = bytes(range(32, 127)) + b"\n\r\t\f\b"
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def is_text(block: bytes) -> bool:
    """DVC's text heuristic: no NUL and at most 30 % non-text bytes."""
    if not block:
        return True
    if b"\x00" in block:
        return False
    return len(block.translate(None, _TEXT_CHARS)) / len(block) <= 0.30


def read_size(fd: int) -> int:
    """How much to ask for per read of the regular file open as `fd`: a whole chunk, or
    the file and one byte more if it is smaller. One read then returns a small file and
    shows its end (a short read), and no chunk-sized buffer is allocated for it: with
    1 MiB asked for every 256-byte file, the allocation cost more than the I/O."""
    return min(CHUNK, os.fstat(fd).st_size + 1)


#: chunks at least this big are hashed on the second thread of a `PipedDigest`
PIPE_MIN = 256 << 10
_IN_FLIGHT = 4  # chunks queued for that thread: bounds the memory held to 4 chunks


class PipedDigest:
    """Feeds `digest` on a second thread while the caller goes on with the same bytes
    (writes them): hashlib and os.write both release the GIL, so a big copy costs about
    the slower of the two instead of their sum.

    Chunks are hashed in order. Only immutable chunks of at least PIPE_MIN go to the
    thread, and only from the second one on: a file of one chunk never starts it.
    `close` (or `hexdigest`) waits for the queued chunks and stops the thread.
    """

    __slots__ = ("_big", "_pending", "_pool", "digest")  # a fetch keeps one per object

    def __init__(self, digest: Any = None) -> None:
        self.digest = digest if digest is not None else hashlib.md5()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future[None]] | None = None  # made with the thread
        self._big = False  # a big chunk was seen: the next ones go to the thread

    def update(self, data: bytes | memoryview) -> None:
        if len(data) < PIPE_MIN or not isinstance(data, bytes) or not self._big:
            self._big = self._big or len(data) >= PIPE_MIN
            self._wait(0)
            self.digest.update(data)
            return
        if self._pool is None or self._pending is None:
            self._pool = ThreadPoolExecutor(max_workers=1)  # one worker keeps chunk order
            self._pending = deque()
        self._pending.append(self._pool.submit(self.digest.update, data))
        self._wait(_IN_FLIGHT)

    def _wait(self, keep: int) -> None:
        while self._pending and len(self._pending) > keep:
            self._pending.popleft().result()

    def close(self) -> None:
        try:
            self._wait(0)
        finally:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None

    def hexdigest(self) -> str:
        self.close()
        return str(self.digest.hexdigest())


def md5_stream(
    stream: BinaryIO, *, dos2unix: bool = False, per_chunk: bool = False, chunk_size: int = CHUNK
) -> str:
    """md5 of a stream; with `dos2unix`, DVC 2's rule (or DVC 3's when `per_chunk`).

    A file smaller than `chunk_size` is one chunk whatever `chunk_size` is, so passing
    `read_size` of it leaves the per-chunk rule unchanged."""
    digest = hashlib.md5()
    text: bool | None = None
    while chunk := stream.read(chunk_size):
        if dos2unix:
            if text is None or per_chunk:
                text = is_text(chunk[:SNIFF])
            if text:
                chunk = chunk.replace(b"\r\n", b"\n")
        digest.update(chunk)
    return digest.hexdigest()


def md5_file(path: str | os.PathLike[str], *, legacy: bool = False) -> str:
    """md5 (or legacy md5-dos2unix with DVC 2's per-file rule) of a file's bytes."""
    with open(path, "rb", buffering=0) as stream:
        return md5_stream(stream, dos2unix=legacy, chunk_size=read_size(stream.fileno()))


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
