"""Which objects does a remote hold? A pure choice of method, its execution, and an index.

Asking object by object costs one request per object; listing costs one request per page
of 1,000 keys of the *whole* remote. `choose_strategy` compares the two (DVC's rule, spec
§9.2, as a pure function). The per-remote index (sqlite under `.dvc/tmp/freight/`) records
objects known to be on the remote, so a repeated push or `status -c` asks nothing again.
It can only be stale in one direction (the remote lost an object it remembers); a fetch
that finds an object gone removes it from the index and reports it.

Several processes write one index at once (shard runs of a transfer plan): it is in WAL
mode (readers never wait for the writer), every write is one `BEGIN IMMEDIATE` transaction
(the write lock is taken up front, so two writers queue instead of one failing to upgrade a
read lock), and a busy timeout makes them wait for each other rather than fail with
"database is locked". WAL needs the index on a local filesystem: `.dvc/tmp` of each
workspace is, even when the cache is shared over the network.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from operator import itemgetter
from pathlib import Path

from .errors import DiskError
from .storage import Storage

PAGE_SIZE = 1000
PROBE_PREFIX = "files/md5/00/"
BUSY_TIMEOUT = 60.0  # seconds a writer waits for another one
WHOLE_INDEX = 5000  # keys asked at once from which reading the whole index may pay


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


def index_token(url: str) -> str:
    """The name of a remote's index file: a digest of its URL (no path or secret in it)."""
    return hashlib.sha256(url.encode()).hexdigest()[:32]


def _retrying(work: Callable[[], object], deadline: float) -> None:
    """Run `work`, retrying while another connection holds a lock sqlite does not wait for
    (switching to WAL mode needs a moment of exclusive access)."""
    while True:
        try:
            work()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


#: sqlite's result codes for a database it cannot write, as the errno a DiskError names
_SQLITE_ERRNOS = {"SQLITE_FULL": errno.ENOSPC, "SQLITE_READONLY": errno.EROFS}


def _disk_error(exc: sqlite3.Error, path: Path) -> DiskError:
    """A one-line DiskError naming the index file, for an sqlite error: its errno from the
    result code or, when sqlite only says it cannot open the file, from opening it here."""
    name = getattr(exc, "sqlite_errorname", "")
    code = _SQLITE_ERRNOS.get(name)
    if code is None and name.startswith("SQLITE_CANTOPEN"):
        try:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
        except OSError as opened:
            return DiskError.of(opened)
        # it opens here: sqlite's other files failed (`-wal`, `-shm`: one more descriptor)
        return DiskError(
            f"{exc}: '{path}' (check the open-file limit (`ulimit -n`), and the free space "
            "and permissions of that directory)"
        )
    return DiskError.of(OSError(code, str(exc), str(path)))


class RemoteIndex:
    """Object keys known to be on one remote (identified by its URL). An index that
    cannot be opened, read or written fails the command with a DiskError naming it: it is
    never skipped, since one that missed a removal would claim objects the remote lacks."""

    def __init__(self, tmp_dir: Path, url: str) -> None:
        self._path = path = tmp_dir / "freight" / "remotes" / f"{index_token(url)}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._errors():
            # autocommit: transactions are explicit (`_write`), reads take no lasting lock
            self._conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
            try:
                deadline = time.monotonic() + BUSY_TIMEOUT
                _retrying(lambda: self._conn.execute("PRAGMA journal_mode=WAL"), deadline)
                _retrying(lambda: self._conn.execute("PRAGMA synchronous=NORMAL"), deadline)
                _retrying(
                    lambda: self._conn.execute(
                        "CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY) WITHOUT ROWID"
                    ),
                    deadline,
                )
            except BaseException:
                self._conn.close()
                raise

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise _disk_error(exc, self._path) from exc

    def _write(self, sql: str, rows: Iterable[tuple[str, ...]]) -> None:
        rows = list(rows)
        if not rows and "?" in sql:
            return
        with self._errors():
            self._conn.execute("BEGIN IMMEDIATE")  # waits up to BUSY_TIMEOUT for other writers
            try:
                if "?" in sql:
                    self._conn.executemany(sql, rows)
                else:
                    self._conn.execute(sql)
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # a full disk may refuse this too
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def known(self, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        found: set[str] = set()
        with self._errors():
            if len(keys) >= WHOLE_INDEX:  # one scan beats hundreds of lookups
                (count,) = self._conn.execute("SELECT count(*) FROM objects").fetchone()
                if count <= 4 * len(keys):
                    found.update(map(itemgetter(0), self._conn.execute("SELECT key FROM objects")))
                    return found.intersection(keys)
            for i in range(0, len(keys), 500):
                batch = keys[i : i + 500]
                marks = ",".join("?" * len(batch))
                rows = self._conn.execute(f"SELECT key FROM objects WHERE key IN ({marks})", batch)
                found.update(map(itemgetter(0), rows))  # no Python frame per row
        return found

    def add(self, keys: Iterable[str]) -> None:
        self._write("INSERT OR IGNORE INTO objects VALUES (?)", ((k,) for k in keys))

    def discard(self, keys: Iterable[str]) -> None:
        self._write("DELETE FROM objects WHERE key = ?", ((k,) for k in keys))

    def clear(self) -> None:
        self._write("DELETE FROM objects", ())

    def close(self) -> None:
        self._conn.close()
