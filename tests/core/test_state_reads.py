"""The state is read only as far as a step needs it, and every read sees this run's rows.

A checkout writes 20,000 rows and reads none but the cache's; `status` then reads them
all. These tests write real files and a real state database, and check each way a row
can be read (the whole table, one folder, one path) before and after `save`, in one
process and in the next.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import time
from pathlib import Path

from freight import Repo
from freight.state import State

OLD_NS = time.time_ns() - 3600 * 10**9  # far outside the racy-write window


def _file(path: Path, data: bytes) -> os.stat_result:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(OLD_NS, OLD_NS))
    return path.stat()


def test_a_folder_read_sees_its_rows_only_and_this_runs_unsaved_ones(tmp_path: Path) -> None:
    cache, work = tmp_path / "cache", tmp_path / "work"
    a, b = cache / "ab" / "cdef", cache / "ab" / "cdeg"
    outside, sibling = work / "x", tmp_path / "cache2" / "y"  # "cache2" shares a prefix
    db = tmp_path / "state.db"
    state = State(db)
    state.put(str(a), _file(a, b"a"), "md5-a")
    state.put(str(outside), _file(outside, b"x"), "md5-x")
    state.put(str(sibling), _file(sibling, b"y"), "md5-y")
    state.save()
    state.close()

    later = State(db)
    later.put(str(b), _file(b, b"b"), "md5-b")  # unsaved: seen by reads of this run
    paths = [str(a), str(b), str(outside), str(sibling)]
    assert later.lookup_many(paths, under=str(cache)) == ["md5-a", "md5-b", None, None]
    assert later.lookup(str(outside)) == "md5-x"  # by its own folder
    assert later.lookup_many(paths) == ["md5-a", "md5-b", "md5-x", "md5-y"]  # whole table
    later.close()
    again = State(db)
    assert again.lookup_many(paths) == ["md5-a", "md5-b", "md5-x", "md5-y"]  # saved
    again.close()


def test_rows_of_written_files_are_trusted_after_save_in_this_run_and_the_next(
    tmp_path: Path,
) -> None:
    """A checkout's rows (`written`) are trusted from the end of the run: a table read
    before the save sees them untrusted, and the same table sees them trusted after."""
    path = tmp_path / "work" / "f"
    path.parent.mkdir()
    path.write_bytes(b"new")  # written now: its mtime is inside the racy window
    st = path.stat()
    db = tmp_path / "state.db"
    state = State(db)
    assert state.get_many([(str(path), st)]) == [None]  # the table is read now, empty
    state.put_many([(str(path), st, "md5-f")], written=True)
    assert state.get(str(path), st) is None  # written just now: not yet trusted
    time.sleep(0.2)  # the racy margin (50 ms on fine timestamps) passes before the save
    if st.st_mtime_ns % 1_000_000_000 == 0:
        time.sleep(2.1)  # whole-second timestamps: a wider margin
    state.save()
    assert state.get(str(path), st) == "md5-f"
    state.close()
    later = State(db)
    assert later.get(str(path), st) == "md5-f"
    later.close()


def test_a_checkout_reads_no_file_row_and_records_every_file_it_wrote(tmp_path: Path) -> None:
    """A checkout of small objects asks the state only about the cache's folder (small
    objects have no rows there), and records each file it wrote with its stat and md5."""
    with Repo.init(tmp_path, no_scm=True) as repo:
        for i in range(50):
            _file(tmp_path / "data" / f"f{i:02d}", b"%d" % i)
        repo.add(["data"])
    shutil.rmtree(tmp_path / "data")
    traced: list[str] = []
    with Repo(tmp_path) as repo:
        conn = repo.state._connect()
        conn.set_trace_callback(traced.append)
        result = repo.checkout()
        conn.set_trace_callback(None)
    assert result.files_added == 50
    reads = [q for q in traced if "FROM hashes" in q]
    assert reads and all("path >= " in q for q in reads), reads
    db = tmp_path / ".dvc" / "tmp" / "freight" / "state.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT path, ino, mtime, size, md5 FROM hashes").fetchall()
    recorded = {p: row for p, *row in rows if "/data/" in p}
    assert len(recorded) == 50
    for i in range(50):
        path = tmp_path / "data" / f"f{i:02d}"
        st = path.stat()
        md5 = hashlib.md5(path.read_bytes()).hexdigest()
        assert recorded[str(path)] == [st.st_ino, st.st_mtime_ns, st.st_size, md5]
