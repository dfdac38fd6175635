"""Remote object storage behind one small interface, whichever client moves the bytes.

`Storage` is the contract transfer code relies on. Keys are posix paths relative to the
storage root. Bulk methods take whole batches so each backend can run them its own way
(a thread pool for fsspec and local folders, asyncio with many requests in flight for
obstore) and report every item through `on_done(key, error)`: one failing item never
stops the batch.

Invariants every implementation keeps:
- `upload` is atomic: a reader sees the old state or the complete object, never a part
  (object stores' PUT is; local folders, SFTP and WebDAV write a temporary name and rename);
- `download` streams: memory use does not grow with object size;
- errors are wrapped once, here, into `freight.errors.RemoteError` with the key and URL.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from ..errors import FreightError, RemoteError

Done = Callable[[str, BaseException | None], None]

#: The retry policy of every remote request, whichever client makes it: a transient failure
#: (a reset, a timeout, a truncated body, throttling) is tried again up to RETRIES times,
#: waiting BACKOFF seconds, doubling, at most MAX_BACKOFF, jittered, in between. One layer applies
#: it: obstore's own retries are set to it, s3fs's and botocore's are off under freight's
#: (`fsspec.retrying`); layers that each retry multiply (a stalled read once took
#: 5 x 5 x 5 x 5 attempts, over ten minutes, to fail).
RETRIES = 4
BACKOFF = 0.1
MAX_BACKOFF = 2.0


class Sink(Protocol):
    """Where a download writes: `seek(0)` and `truncate()` restart it after a retry."""

    def write(self, data: bytes | memoryview, /) -> int: ...
    def seek(self, pos: int, /) -> int: ...
    def truncate(self) -> int: ...


T = TypeVar("T")


class Storage(ABC):
    """An object area at `url`."""

    url: str
    #: whether listing is possible (HTTP remotes cannot list)
    can_list: bool = True
    #: whether uploads are possible (HTTP remotes are read-only)
    can_write: bool = True
    #: default number of requests in flight
    jobs: int = 16
    #: the local folder at the root of the keys, if the storage is one: objects are then
    #: copied out of it directly (a verified `fsutil.copy_into`), not streamed into sinks
    folder: str | None = None

    @abstractmethod
    def exists(self, keys: Sequence[str], *, jobs: int) -> set[str]:
        """The subset of `keys` present, one query per key."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Every key under `prefix` (a key prefix, not necessarily a directory)."""

    @abstractmethod
    def upload(self, items: Sequence[tuple[str, str]], *, jobs: int, on_done: Done) -> None:
        """Upload `(local_path, key)` pairs."""

    def prepare(self, keys: Sequence[str]) -> None:  # noqa: B027 - optional hook
        """Make what objects at `keys` need before they are written (a local folder's
        subfolders; nothing for object stores)."""

    @abstractmethod
    def download(self, items: Sequence[tuple[str, Sink]], *, jobs: int, on_done: Done) -> None:
        """Stream each key's bytes into its open binary sink."""

    @abstractmethod
    def delete(self, keys: Sequence[str]) -> None:
        """Remove keys (missing keys are not an error)."""

    def leftovers(self, *, now: float) -> Sequence[str]:
        """Keys of temporaries that killed uploads left (only where uploads write one
        and rename it; object stores upload atomically, so: none)."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients and connections."""


def run_each(
    items: Sequence[T],
    work: Callable[[T], object],
    key_of: Callable[[T], str],
    *,
    jobs: int,
    url: str,
    on_done: Done,
) -> None:
    """Run `work` per item on `jobs` threads and report each outcome; never raise for one.

    A missing object is reported as FileNotFoundError, anything else as RemoteError.
    """

    def one(item: T) -> None:
        try:
            work(item)
        except (FileNotFoundError, FreightError) as exc:  # e.g. a full local disk: not the remote
            on_done(key_of(item), exc)
        except Exception as exc:  # reported per item, the batch goes on
            on_done(key_of(item), RemoteError(url, key_of(item), exc))
        else:
            on_done(key_of(item), None)

    if jobs <= 1 or len(items) <= 1:
        for item in items:
            one(item)
        return
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, items))
