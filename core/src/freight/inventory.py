"""Which objects does a remote hold? A pure choice of method, its execution, and an index.

Asking object by object costs one request per object; listing costs one request per page
of 1,000 keys of the *whole* remote. `choose_strategy` compares the two (DVC's rule, spec
§9.2, as a pure function). The per-remote index (sqlite under `.dvc/tmp/freight/`) records
objects known to be on the remote, so a repeated push or `status -c` asks nothing again.
It can only be stale in one direction (the remote lost an object it remembers); a fetch
that finds an object gone removes it from the index and reports it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from enum import Enum
from pathlib import Path

from .storage import Storage

PAGE_SIZE = 1000
PROBE_PREFIX = "files/md5/00/"


class Strategy(Enum):
    QUERY = "query"  # one existence request per object
    LIST = "list"  # list the remote's objects


def choose_strategy(wanted: int, remote_size: int, *, can_list: bool, jobs: int) -> Strategy:
    """Pure: list when paging through the remote costs fewer requests than asking.

    Listing pages are sequential while queries run `jobs` at a time, so queries get that
    head start.
    """
    if not can_list or wanted == 0:
        return Strategy.QUERY
    pages = max(1, -(-remote_size // PAGE_SIZE))
    return Strategy.LIST if pages * jobs < wanted else Strategy.QUERY


def estimate_size(storage: Storage) -> int:
    """Estimate the number of objects from the one-in-256 prefix `files/md5/00/`."""
    return 256 * sum(1 for _ in storage.list(PROBE_PREFIX))


def present(storage: Storage, keys: set[str], *, jobs: int) -> set[str]:
    """The subset of `keys` the storage holds, by the cheaper method."""
    if not keys:
        return set()
    if not storage.can_list or len(keys) < 64:
        return storage.exists(sorted(keys), jobs=jobs)
    strategy = choose_strategy(len(keys), estimate_size(storage), can_list=True, jobs=jobs)
    if strategy is Strategy.QUERY:
        return storage.exists(sorted(keys), jobs=jobs)
    prefixes = {k.rsplit("/", 1)[0] + "/" for k in keys}
    listed: set[str] = set()
    for prefix in sorted(prefixes):
        listed.update(storage.list(prefix))
    return keys & listed


class RemoteIndex:
    """Object keys known to be on one remote (identified by its URL)."""

    def __init__(self, tmp_dir: Path, url: str) -> None:
        token = hashlib.sha256(url.encode()).hexdigest()[:32]
        path = tmp_dir / "freight" / "remotes" / f"{token}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=30)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY) WITHOUT ROWID"
        )

    def known(self, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            batch = keys[i : i + 500]
            marks = ",".join("?" * len(batch))
            rows = self._conn.execute(f"SELECT key FROM objects WHERE key IN ({marks})", batch)
            found.update(row[0] for row in rows)
        return found

    def add(self, keys: Iterable[str]) -> None:
        with self._conn:
            self._conn.executemany("INSERT OR IGNORE INTO objects VALUES (?)", [(k,) for k in keys])

    def discard(self, keys: Iterable[str]) -> None:
        with self._conn:
            self._conn.executemany("DELETE FROM objects WHERE key = ?", [(k,) for k in keys])

    def clear(self) -> None:
        with self._conn:
            self._conn.execute("DELETE FROM objects")

    def close(self) -> None:
        self._conn.close()
