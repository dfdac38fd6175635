"""A clean directory's status is answered by one state row (`State.folder`), and any change
to its files is still seen.

The row is checked against the files' relpaths, inodes, mtimes and sizes; these tests
change each of them on a real directory and read the real state database.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from freight import Repo

OLD = time.time() - 3600  # well outside the state cache's racy-write window


def _db(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(root / ".dvc" / "tmp" / "freight" / "state.db")


def _rows(root: Path, table: str) -> int:
    with _db(root) as conn:
        (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(count)


def _write(path: Path, data: bytes, mtime: float = OLD) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    with Repo.init(tmp_path, no_scm=True) as repo:
        for i in range(30):
            _write(tmp_path / "data" / f"d{i % 3}" / f"f{i:02d}.txt", b"%04d\n" % i)
        repo.add(["data"])
        assert repo.status().clean  # all hashes trusted: the folder is remembered now
        yield repo


def test_a_clean_directory_is_answered_by_one_state_row(repo: Repo) -> None:
    root = repo.root
    assert _rows(root, "folders") == 1
    with _db(root) as conn:
        conn.execute("DELETE FROM hashes")  # no file row left to answer from
    with Repo(root) as again:
        assert again.status().clean
    assert _rows(root, "hashes") == 0  # no file was hashed again, none was recorded


def _modify(root: Path) -> None:  # same size, newer mtime
    _write(root / "data/d1/f04.txt", b"XXXX\n", OLD + 60)


def _append(root: Path) -> None:
    with open(root / "data/d1/f04.txt", "ab") as stream:
        stream.write(b"more")


def _add(root: Path) -> None:
    _write(root / "data/d2/new.txt", b"new\n")


def _delete(root: Path) -> None:
    os.unlink(root / "data/d0/f03.txt")


def _rename(root: Path) -> None:
    os.rename(root / "data/d0/f03.txt", root / "data/d0/g03.txt")


def _swap(root: Path) -> None:  # two files swap contents: same names, sizes and mtimes
    a, b = root / "data/d0/f00.txt", root / "data/d0/f03.txt"
    os.rename(a, root / "data/tmp")
    os.rename(b, a)
    os.rename(root / "data/tmp", b)


@pytest.mark.parametrize("change", [_modify, _append, _add, _delete, _rename, _swap])
def test_any_change_to_a_remembered_directory_is_seen(
    repo: Repo, change: Callable[[Path], None]
) -> None:
    change(repo.root)
    assert repo.status().changes == {"data.dvc": {"data": "modified"}}


def test_the_same_content_rewritten_is_clean_again(repo: Repo) -> None:
    _write(repo.root / "data/d1/f04.txt", b"0004\n", OLD + 60)
    assert repo.status().clean
    assert repo.status().clean


def test_no_folder_row_while_a_file_had_to_be_hashed(tmp_path: Path) -> None:
    """A file whose hash is not yet trusted (here its mtime is ahead of the clock) is
    hashed at every status, and the folder is not remembered until all are trusted."""
    with Repo.init(tmp_path, no_scm=True) as repo:
        _write(tmp_path / "data/a.txt", b"a\n")
        _write(tmp_path / "data/b.txt", b"b\n", time.time() + 3600)
        repo.add(["data"])
        for _ in range(2):
            assert repo.status().clean
            assert _rows(tmp_path, "folders") == 0
        _write(tmp_path / "data/b.txt", b"c\n", time.time() + 3600)  # same size
        assert repo.status().changes == {"data.dvc": {"data": "modified"}}


def test_a_damaged_folder_row_is_ignored_and_replaced(repo: Repo) -> None:
    root = repo.root
    with _db(root) as conn:
        conn.execute("UPDATE folders SET hashes = ?", (b"not\0a\0blob",))
    with Repo(root) as again:
        assert again.status().clean
    with _db(root) as conn:
        (blob,) = conn.execute("SELECT hashes FROM folders").fetchone()
    assert blob.count(b"\0") == 59  # 30 relpaths and 30 md5s, written again


def test_a_readd_of_a_remembered_directory_restores_its_missing_objects(repo: Repo) -> None:
    """The folder row answers for the workspace, not for the cache: an object deleted
    from the cache is stored again by the next add."""
    root = repo.root
    objects = sorted(p for p in (root / ".dvc/cache/files/md5").rglob("*") if p.is_file())
    assert len(objects) == 31  # 30 files and the .dir
    for path in objects[::3]:
        path.chmod(0o600)
        path.unlink()
    again = repo.add(["data"])
    assert again.hashed == 0 and again.written == ()
    assert all(p.exists() for p in objects)
    assert repo.status().clean
