"""Any fsspec filesystem as storage: S3 (s3fs), GCS, Azure, SFTP, WebDAV, HTTP.

Object stores replace a key atomically on PUT, so they upload in place; file-system-like
backends (SFTP, WebDAV) upload to a temporary sibling and rename it. Transient failures
(connection resets, timeouts, throttling) are retried with exponential backoff.
"""

from __future__ import annotations

import contextlib
import errno
import posixpath
import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from ..fsutil import tmp_path
from ..hashing import CHUNK
from . import BACKOFF, MAX_BACKOFF, RETRIES, Done, Sink, Storage, run_each

T = TypeVar("T")
_TRANSIENT_ERRNOS = {
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EPIPE,
    errno.ECONNREFUSED,
    errno.EAGAIN,
}
#: S3 error codes and HTTP statuses worth another try (s3fs turns the error into an
#: OSError whose cause, botocore's ClientError, carries them)
_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
    "RequestLimitExceeded",
}
_TRANSIENT_STATUS = {429, 500, 502, 503, 504}
_TRANSIENT_WORDS = (
    "timeout",
    "throttl",
    "slowdown",
    "503",
    "500 ",
    "reset",
    "temporar",
    "serverdisconnected",
    "connection",
    "payload",  # aiohttp: a body cut short of its Content-Length
    "incomplete",  # http.client/botocore: the same
)


def is_transient(exc: BaseException) -> bool:
    """Whether retrying `exc` can help (network trouble or throttling, not a 403 or 404),
    judged by the error and the errors that caused it."""
    if isinstance(exc, FileNotFoundError | PermissionError):
        return False
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if _transient(cause):
            return True
        seen.add(id(cause))
        cause = cause.__cause__
    return False


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore's ClientError
        code = (response.get("Error") or {}).get("Code")
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if code in _TRANSIENT_CODES or status in _TRANSIENT_STATUS:
            return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(w in text for w in _TRANSIENT_WORDS)


def retrying(work: Callable[[], T], *, reset: Callable[[], None] | None = None) -> T:
    """Run `work`, retrying transient errors with exponential backoff (the policy in
    `freight.storage`)."""
    for attempt in range(RETRIES + 1):
        try:
            return work()
        except Exception as exc:
            if attempt == RETRIES or not is_transient(exc):
                raise
            if reset is not None:
                reset()
            # jittered (half to all of the step): concurrent retries that all waited the
            # same would arrive together again, in the same order, and fail together again
            step = min(BACKOFF * 2**attempt, MAX_BACKOFF)
            time.sleep(step * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")


class FsspecStorage(Storage):
    """Storage on an fsspec filesystem `fs` below `root` (a path in `fs`'s own terms)."""

    def __init__(
        self,
        fs: Any,
        root: str,
        url: str,
        *,
        atomic_put: bool,
        can_list: bool = True,
        can_write: bool = True,
        jobs: int = 16,
    ) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url
        self.atomic_put = atomic_put
        self.can_list = can_list
        self.can_write = can_write
        self.jobs = jobs
        self._made: set[str] = set()

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if self.root else key

    def exists(self, keys: Sequence[str], *, jobs: int) -> set[str]:
        found: set[str] = set()
        failures: list[BaseException] = []

        def check(key: str) -> None:
            if failures:  # the answer is that error: asking the rest would only wait
                return
            # `info`, not `exists`: fsspec's `exists` answers False for any error, so a
            # refused connection or a bad password would read as "the remote lacks it"
            try:
                retrying(lambda: self.fs.info(self._path(key)))
            except FileNotFoundError:
                return
            found.add(key)

        run_each(
            keys,
            check,
            lambda k: k,
            jobs=jobs,
            url=self.url,
            on_done=lambda _k, err: failures.append(err) if err else None,
        )
        if failures:
            raise failures[0]
        return found

    def list(self, prefix: str = "") -> Iterator[str]:
        base = posixpath.dirname(prefix)
        top = self._path(base) if base else self.root
        try:
            paths = retrying(lambda: self.fs.find(top))
        except FileNotFoundError:
            return
        cut = len(self.root) + 1 if self.root else 0
        for path in paths:
            key = path[cut:] if path.startswith(self.root) else path
            if key.startswith(prefix) and not key.endswith(".tmp"):
                yield key

    def _makedirs(self, path: str) -> None:
        parent = posixpath.dirname(path)
        if parent and parent not in self._made:
            self.fs.makedirs(parent, exist_ok=True)
            self._made.add(parent)

    def _put(self, local: str, key: str) -> None:
        path = self._path(key)
        if self.atomic_put:
            retrying(lambda: self.fs.put_file(local, path))
            return
        self._makedirs(path)
        tmp = tmp_path(posixpath.dirname(path))
        try:
            retrying(lambda: self.fs.put_file(local, tmp))
            retrying(lambda: self.fs.mv(tmp, path))
        except BaseException:
            with contextlib.suppress(Exception):  # best effort: it may not exist
                self.fs.rm_file(tmp)
            raise

    def _get(self, key: str, sink: Sink) -> None:
        def reset() -> None:
            sink.seek(0)
            sink.truncate()

        def read() -> None:
            with self.fs.open(self._path(key), "rb", block_size=CHUNK) as stream:
                while chunk := stream.read(CHUNK):
                    sink.write(chunk)

        retrying(read, reset=reset)

    def upload(self, items: Sequence[tuple[str, str]], *, jobs: int, on_done: Done) -> None:
        run_each(
            items, lambda i: self._put(*i), lambda i: i[1], jobs=jobs, url=self.url, on_done=on_done
        )

    def download(self, items: Sequence[tuple[str, Sink]], *, jobs: int, on_done: Done) -> None:
        run_each(
            items, lambda i: self._get(*i), lambda i: i[0], jobs=jobs, url=self.url, on_done=on_done
        )

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            paths = [self._path(k) for k in keys]
            retrying(lambda: self.fs.rm(paths))  # deleting what is gone is no error
