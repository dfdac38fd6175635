"""A local folder (or mounted share) as storage, with plain OS calls.

Objects are written to a temporary sibling, made read-only (0444, as DVC does for local
remotes) and renamed into place.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..fsutil import tmp_name
from ..hashing import CHUNK
from . import Done, Sink, Storage, run_each

OBJECT_MODE = 0o444


class LocalStorage(Storage):
    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self.url = str(self.root)
        self.jobs = 1  # small-file work serialises in the kernel; see fsutil.io_jobs

    def _path(self, key: str) -> Path:
        return self.root / key

    def exists(self, keys: Sequence[str], *, jobs: int) -> set[str]:
        return {k for k in keys if os.path.isfile(self._path(k))}

    def list(self, prefix: str = "") -> Iterator[str]:
        base = prefix.rpartition("/")[0]
        top = self.root / base if base else self.root
        for dirpath, _dirs, files in os.walk(top):
            rel = os.path.relpath(dirpath, self.root)
            for name in files:
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix) and not name.endswith(".tmp"):
                    yield key.replace(os.sep, "/")

    def _put(self, local: str, key: str) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = tmp_name(dest)
        try:
            shutil.copyfile(local, tmp)
            os.chmod(tmp, OBJECT_MODE)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _get(self, key: str, sink: Sink) -> None:
        with open(self._path(key), "rb", buffering=0) as stream:
            while chunk := stream.read(CHUNK):
                sink.write(chunk)

    def upload(self, items: Sequence[tuple[str, str]], *, jobs: int, on_done: Done) -> None:
        run_each(
            items, lambda i: self._put(*i), lambda i: i[1], jobs=jobs, url=self.url, on_done=on_done
        )

    def download(self, items: Sequence[tuple[str, Sink]], *, jobs: int, on_done: Done) -> None:
        run_each(
            items, lambda i: self._get(*i), lambda i: i[0], jobs=jobs, url=self.url, on_done=on_done
        )

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)
