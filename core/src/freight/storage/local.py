"""A local folder (or mounted share) as storage, with plain OS calls.

Objects are written to a temporary sibling, made read-only (0444, as DVC does for local
remotes) and renamed into place. A failing OS call is a DiskError naming the file (not a
RemoteError): a full or read-only folder, or no file descriptor left, stops the batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import DiskError, FreightError
from ..fsutil import copy_into, parent, refuse_symlinked_folders, sampled_jobs, stale_temporaries
from ..hashing import read_size
from . import Done, Sink, Storage, run_each

OBJECT_MODE = 0o444


class LocalStorage(Storage):
    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self.url = self.folder = str(self.root)
        #: at most; a batch of small files runs on one thread (`fsutil.io_jobs`)
        self.jobs = os.cpu_count() or 1
        self._made: set[str] = set()

    def _path(self, key: str) -> Path:
        return self.root / key

    def exists(self, keys: Sequence[str], *, jobs: int) -> set[str]:
        return {k for k in keys if os.path.isfile(f"{self.url}/{k}")}

    def list(self, prefix: str = "") -> Iterator[str]:
        base = prefix.rpartition("/")[0]
        top = self.root / base if base else self.root
        for dirpath, _dirs, files in os.walk(top):
            rel = os.path.relpath(dirpath, self.root)
            for name in files:
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix) and not name.endswith(".tmp"):
                    yield key.replace(os.sep, "/")

    def prepare(self, keys: Sequence[str]) -> None:
        for key in keys:
            folder = parent(f"{self.url}/{key}")
            if folder not in self._made:
                refuse_symlinked_folders(self.url, folder)  # before any folder is made there
                os.makedirs(folder, exist_ok=True)
                self._made.add(folder)

    def _put(self, local: str, key: str) -> None:
        self.prepare([key])
        copy_into(local, f"{self.url}/{key}", mode=OBJECT_MODE)

    def _get(self, key: str, sink: Sink) -> None:
        fd = os.open(f"{self.url}/{key}", os.O_RDONLY)  # not open(): one fstat fewer
        try:
            ask = read_size(fd)
            while chunk := os.read(fd, ask):
                sink.write(chunk)
                if len(chunk) < ask:
                    break  # a short read of a regular file is its end
        finally:
            os.close(fd)

    def upload(self, items: Sequence[tuple[str, str]], *, jobs: int, on_done: Done) -> None:
        run_each(
            items,
            lambda i: _local(self._put, *i),
            lambda i: i[1],
            jobs=sampled_jobs([src for src, _ in items[:64]], jobs),
            url=self.url,
            on_done=on_done,
        )

    def download(self, items: Sequence[tuple[str, Sink]], *, jobs: int, on_done: Done) -> None:
        run_each(
            items,
            lambda i: _local(self._get, *i),
            lambda i: i[0],
            jobs=sampled_jobs([f"{self.url}/{key}" for key, _ in items[:64]], jobs),
            url=self.url,
            on_done=on_done,
        )

    def leftovers(self, *, now: float) -> Sequence[str]:
        return stale_temporaries(self.root, now=now)

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)


def _local(work: Callable[[str, Any], None], first: str, second: Any) -> None:
    """Run `work`; an OSError (not a missing file: that is a missing object) is a
    DiskError, since this "remote" is a local folder."""
    try:
        work(first, second)
    except (FileNotFoundError, FreightError):
        raise
    except OSError as exc:
        raise DiskError.of(exc) from exc
