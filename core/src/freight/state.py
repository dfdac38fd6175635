"""The hash cache: (path, inode, mtime, size) -> md5, in sqlite under `.dvc/tmp`.

A stored hash is reused only while the file's inode, size and mtime are unchanged and the
mtime is safely older than the moment the hash was taken. The second rule closes the
"racy" window in which a file rewritten within the same timestamp tick would keep its old
mtime (git's racy-clean rule): such entries are re-hashed once, then trusted.

The state is only a cache: when its database cannot be opened, read or written (a full
disk, a read-only `.dvc/tmp`, no file descriptor left, a damaged file), freight goes on
without it (files are hashed again) rather than fail, or mask the error that matters.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hashes (
    path TEXT NOT NULL, kind TEXT NOT NULL, ino INTEGER NOT NULL, mtime INTEGER NOT NULL,
    size INTEGER NOT NULL, md5 TEXT NOT NULL, hashed_at INTEGER NOT NULL,
    PRIMARY KEY (path, kind)
) WITHOUT ROWID
"""
_FOLDERS = """
CREATE TABLE IF NOT EXISTS folders (
    path TEXT NOT NULL, kind TEXT NOT NULL, sig TEXT NOT NULL, oid TEXT NOT NULL,
    hashes BLOB NOT NULL, PRIMARY KEY (path, kind)
)
"""
_FINE_MARGIN = 50_000_000  # ns; filesystems with sub-second timestamps
_COARSE_MARGIN = 2_000_000_000  # ns; filesystems with whole-second timestamps

Row = tuple[int, int, int, str, int]


class FileStat(Protocol):
    """What the state keeps of a file's stat (`os.stat_result`, `parallel.Stat`)."""

    @property
    def st_ino(self) -> int: ...
    @property
    def st_mtime_ns(self) -> int: ...
    @property
    def st_size(self) -> int: ...


_LATER = -1  # hashed_at placeholder: filled in by `save`


def _is_trustworthy(st: os.stat_result, hashed_at: int) -> bool:
    margin = _COARSE_MARGIN if st.st_mtime_ns % 1_000_000_000 == 0 else _FINE_MARGIN
    return st.st_mtime_ns + margin < hashed_at


def _fresh(row: Row | None, st: os.stat_result) -> str | None:
    """The md5 of `row` if the file's stat still matches it and the hash is trustworthy."""
    if row is None or (row[0], row[1], row[2]) != (st.st_ino, st.st_mtime_ns, st.st_size):
        return None
    return row[3] if _is_trustworthy(st, row[4]) else None


class State:
    """Hashes known for files of one repository; `kind` is "md5" or "md5-dos2unix"."""

    def __init__(self, db_path: Path) -> None:
        self._db_path = db_path
        self._conn: sqlite3.Connection | None = None
        self._unusable = False  # the database failed once: the rest of the run goes without
        self._rows: dict[str, dict[str, Row]] = {}
        self._pending: dict[tuple[str, str], Row] = {}
        self._folders: dict[tuple[str, str], tuple[str, str, bytes]] = {}

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._db_path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._db_path, timeout=30, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(_SCHEMA)
                conn.execute(_FOLDERS)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _give_up(self, exc: Exception) -> None:
        logger.debug("going on without the state database %s: %s", self._db_path, exc)
        self._unusable = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _table(self, kind: str) -> dict[str, Row]:
        """Every row of `kind`, read once per run (a status or add of a whole workspace)."""
        rows = self._rows.get(kind)
        if rows is None:
            rows = self._rows[kind] = self._select(kind)
        return rows

    def _select(self, kind: str, under: str | None = None) -> dict[str, Row]:
        """The rows of `kind` (those of files below folder `under`, if given) from the
        database, with this run's unsaved ones on top; none if the database fails."""
        rows: dict[str, Row] = {}
        if not self._unusable:
            query, args = "SELECT path, ino, mtime, size, md5, hashed_at FROM hashes", [kind]
            if under is None:
                query += " WHERE kind = ?"
            else:  # "/" < "0": the paths that start with `under` + "/", by the primary key
                query += " WHERE kind = ? AND path >= ? AND path < ?"
                args += [under + "/", under + "0"]
            try:
                for path, ino, mtime, size, md5, at in self._connect().execute(query, args):
                    rows[path] = (ino, mtime, size, md5, at)
            except (sqlite3.Error, OSError) as exc:
                rows = {}
                self._give_up(exc)
        below = None if under is None else under + "/"
        for (path, k), row in self._pending.items():
            if k == kind and (below is None or path.startswith(below)):
                rows[path] = row
        return rows

    def get(self, path: str, st: os.stat_result, kind: str = "md5") -> str | None:
        """The known md5 of `path` if its stat still matches, else None."""
        return _fresh(self._table(kind).get(path), st)

    def lookup(self, path: str, kind: str = "md5") -> str | None:
        """`get` for a path not yet stat'ed: the stat is taken only if there is an entry."""
        return self.lookup_many((path,), kind, under=os.path.dirname(path))[0]

    def lookup_many(
        self, paths: Iterable[str], kind: str = "md5", *, under: str | None = None
    ) -> list[str | None]:
        """`lookup` for many paths (most have no entry: no stat). `under`: a folder they
        all lie in (the cache), whose rows alone are read if the whole table was not: a
        checkout of 20,000 small objects, none of which has a row, reads none."""
        table = self._rows.get(kind)
        if table is None:
            table = self._table(kind) if under is None else self._select(kind, under)
        if not table:
            return [None for _ in paths]
        found: list[str | None] = []
        for path in paths:
            row = table.get(path)
            try:
                found.append(None if row is None else _fresh(row, os.stat(path)))
            except OSError:
                found.append(None)
        return found

    def get_many(
        self, files: Iterable[tuple[str, os.stat_result]], kind: str = "md5"
    ) -> list[str | None]:
        """`get` for many (path, stat) pairs, with one table lookup (a status of 100,000
        files)."""
        table = self._table(kind)
        return [_fresh(table.get(path), st) for path, st in files]

    def put(
        self, path: str, st: FileStat, md5: str, kind: str = "md5", *, written: bool = False
    ) -> None:
        """Remember `md5` for `path`, whose content was read after `st` was taken.

        `written` marks files freight itself just wrote with that content (checkout): their
        hash is as good as the content it wrote, so the racy window is measured from the
        end of the operation (`save`) instead of from now, as DVC records such hashes too.
        """
        self.put_many(((path, st, md5),), kind, written=written)

    def put_many(
        self,
        entries: Iterable[tuple[str, FileStat, str]],
        kind: str = "md5",
        *,
        written: bool = False,
    ) -> None:
        """`put` for many (path, stat, md5) triples at once (a checkout's files)."""
        at = _LATER if written else time.time_ns()
        rows = {
            (p, kind): (st.st_ino, st.st_mtime_ns, st.st_size, md5, at) for p, st, md5 in entries
        }
        self._pending.update(rows)
        table = self._rows.get(kind)  # not read for this: a checkout only writes rows
        if table is not None:
            table.update((p, row) for (p, _), row in rows.items())

    def folder(self, path: str, kind: str, sig: str) -> tuple[str, dict[str, str]] | None:
        """The oid and file md5s of directory `path` as last seen with signature `sig`.

        A signature covers every file's relpath, inode, mtime and size, and a folder is
        remembered only when all its files' hashes were trusted (`put_folder`): a match
        vouches for every file as its own row would, at one row's cost instead of loading
        and checking 100,000 (a no-op `status` of a big directory).
        """
        if self._unusable:
            return None
        try:
            row = (
                self._connect()
                .execute(
                    "SELECT oid, hashes FROM folders WHERE path = ? AND kind = ? AND sig = ?",
                    (path, kind, sig),
                )
                .fetchone()
            )
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)
            return None
        if row is None or not isinstance(row[1], bytes):
            return None
        parts = row[1].decode("utf-8", "surrogatepass").split("\0")
        if len(parts) % 2:
            return None  # not a blob this code wrote: hash the files instead
        return row[0], dict(zip(parts[::2], parts[1::2], strict=True))

    def put_folder(self, path: str, kind: str, sig: str, oid: str, hashes: dict[str, str]) -> None:
        """Remember a directory whose every file hash came from a trusted row (`folder`)."""
        blob = "\0".join(itertools.chain.from_iterable(hashes.items()))
        self._folders[(path, kind)] = (sig, oid, blob.encode("utf-8", "surrogatepass"))

    def save(self) -> None:
        if self._folders and not self._unusable:
            folders = [(p, k, *v) for (p, k), v in self._folders.items()]
            try:
                with self._connect() as conn:
                    conn.executemany(
                        "INSERT OR REPLACE INTO folders VALUES (?, ?, ?, ?, ?)", folders
                    )
            except (sqlite3.Error, OSError) as exc:
                self._give_up(exc)
        self._folders.clear()
        if not self._pending:
            return
        now = time.time_ns()
        rows = [
            (p, k, ino, mtime, size, md5, now if at == _LATER else at)
            for (p, k), (ino, mtime, size, md5, at) in self._pending.items()
        ]
        self._pending.clear()
        if self._rows:  # a table read in this run holds what is saved now
            for p, k, ino, mtime, size, md5, at in rows:
                table = self._rows.get(k)
                if table is not None:
                    table[p] = (ino, mtime, size, md5, at)
        if self._unusable:
            return
        try:
            conn = self._connect()
            with conn:
                conn.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)

    def close(self) -> None:
        self.save()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
