"""S3, GCS, Azure and HTTP through obstore (Rust `object_store`), the fast path.

Python's per-request cost dominates many small objects; obstore keeps dozens of requests
in flight on one asyncio loop with the client work done in Rust. Every batch runs in a
private event loop, so callers stay synchronous. PUTs are atomic on object stores;
obstore retries transient errors itself, a body cut mid-way included (it asks for the rest
from where it stopped), with freight's policy (`freight.storage.RETRIES`, set on the store
in `freight.remotes`). Nothing here retries again: retries that wrap retries multiply.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import obstore

from ..errors import RemoteError
from ..hashing import EMPTY_MD5
from . import Done, Sink, Storage

T = TypeVar("T")
#: objects up to this size are read in one piece: every await of a Rust future is a round
#: trip between tokio's threads and the event loop, which costs more than the bytes
WHOLE = 1 << 20


def _is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, FileNotFoundError) or type(exc).__name__ == "NotFoundError"


def _is_empty(key: str) -> bool:
    """Whether `key` names the object of no bytes (`.../d4/1d8cd98f...`: its md5 is known)."""
    tail = key[-33:]
    return tail[2:3] == "/" and tail[:2] + tail[3:] == EMPTY_MD5


async def _rest(store: Any, key: str, sink: Sink) -> None:
    """Stream what follows the first WHOLE bytes of object `key` into `sink`.

    `download` asked for one byte more than it keeps, so this range starts inside the
    object (a range that starts at its end would be refused).
    """
    result = await obstore.get_async(store, key, options={"range": {"offset": WHOLE}})
    async for chunk in result.stream():
        sink.write(chunk)


class _Loop(asyncio.SelectorEventLoop):
    """An event loop that knows when obstore's threads are done waking it.

    obstore completes each future from one of its tokio threads by calling
    `call_soon_threadsafe` on the loop, whose wake-up write releases the GIL. Should the
    process end right after the last batch, such a thread can still be in that call when
    the interpreter finalizes: taking the GIL back then ends the thread with
    `pthread_exit`, whose forced unwind through Rust frames aborts the whole process
    (SIGABRT after a successful transfer; seen with several short-lived processes on two
    cores). `settle` waits, GIL released, until no thread is inside the call.
    """

    def __init__(self) -> None:
        super().__init__()
        self._inside = 0
        self._guard = threading.Lock()

    def call_soon_threadsafe(  # type: ignore[override]
        self, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.Handle:
        with self._guard:
            self._inside += 1
        try:
            return super().call_soon_threadsafe(callback, *args, context=context)
        finally:
            with self._guard:
                self._inside -= 1

    def settle(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._inside and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(0)  # and let the last one leave the Python code around the call


class ObstoreStorage(Storage):
    """Storage on an obstore store whose prefix is the storage root."""

    def __init__(
        self, store: Any, url: str, *, can_list: bool = True, can_write: bool = True, jobs: int = 64
    ) -> None:
        self.store = store
        self.url = url
        self.can_list = can_list
        self.can_write = can_write
        self.jobs = jobs
        self._ranges = True  # the server answers ranged GETs (`download`)

    def _run(
        self,
        items: Sequence[T],
        work: Callable[[T], Awaitable[object]],
        key_of: Callable[[T], str],
        jobs: int,
        on_done: Done,
    ) -> None:
        async def main() -> None:
            todo = iter(items)  # shared: each worker takes the next item when it is free

            async def worker() -> None:
                # `jobs` workers rather than a task per item held back by a semaphore:
                # 20,000 tasks and their futures cost more Python time (and garbage
                # collection) than the requests they wait for
                for item in todo:
                    try:
                        await work(item)
                    except Exception as exc:  # reported per item, the batch goes on
                        err = (
                            exc if _is_not_found(exc) else RemoteError(self.url, key_of(item), exc)
                        )
                        if _is_not_found(exc) and not isinstance(exc, FileNotFoundError):
                            err = FileNotFoundError(f"{self.url}/{key_of(item)}")
                        on_done(key_of(item), err)
                    else:
                        on_done(key_of(item), None)

            await asyncio.gather(*(worker() for _ in range(min(max(1, jobs), len(items)))))

        if items:
            loop = _Loop()
            try:
                loop.run_until_complete(main())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.settle()
                loop.close()

    def _wrap(self, key: str, exc: BaseException) -> BaseException:
        if _is_not_found(exc):
            return FileNotFoundError(f"{self.url}/{key}")
        return RemoteError(self.url, key, exc)

    def exists(self, keys: Sequence[str], *, jobs: int) -> set[str]:
        found: set[str] = set()
        errors: list[BaseException] = []

        async def head(key: str) -> None:
            if errors:  # the batch raises that error: asking the rest would only wait
                return
            await obstore.head_async(self.store, key)

        def done(key: str, err: BaseException | None) -> None:
            if err is None:
                found.add(key)
            elif not isinstance(err, FileNotFoundError):
                errors.append(err)

        self._run(keys, head, lambda k: k, jobs, done)
        if errors:
            raise errors[0]
        return found

    def list(self, prefix: str = "") -> Iterator[str]:
        try:
            for batch in obstore.list(self.store, prefix=prefix or None, chunk_size=1000):
                for meta in batch:
                    yield str(meta["path"])
        except Exception as exc:
            raise RemoteError(self.url, prefix, exc) from exc

    def upload(self, items: Sequence[tuple[str, str]], *, jobs: int, on_done: Done) -> None:
        async def put(item: tuple[str, str]) -> None:
            await obstore.put_async(self.store, item[1], Path(item[0]))

        self._run(items, put, lambda i: i[1], jobs, on_done)

    def download(self, items: Sequence[tuple[str, Sink]], *, jobs: int, on_done: Done) -> None:
        async def get(item: tuple[str, Sink]) -> None:
            key, sink = item
            if self._ranges and not _is_empty(key):  # an empty object has no byte to ask
                try:  # one byte more than WHOLE in one await: all of a small object
                    head = await obstore.get_range_async(self.store, key, start=0, length=WHOLE + 1)
                except Exception as exc:
                    if type(exc).__name__ == "NotSupportedError":  # a plain HTTP server
                        self._ranges = False  # whole GETs from now on
                    elif "416" not in str(exc):  # not a refused range: obstore retried it
                        raise
                else:
                    sink.write(memoryview(head)[:WHOLE])
                    if len(head) > WHOLE:
                        await _rest(self.store, key, sink)
                    return
            result = await obstore.get_async(self.store, key)
            async for chunk in result.stream():
                sink.write(chunk)

        self._run(items, get, lambda i: i[0], jobs, on_done)

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            obstore.delete(self.store, list(keys))
