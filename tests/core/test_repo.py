"""End-to-end behaviour of Repo.init / add / checkout / status on real temp directories."""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path

import pytest
from freight import (
    MetafileError,
    NotARepoError,
    PathError,
    Repo,
    UnsavedChangesError,
)
from freight.hashing import md5_bytes


def make_data(root: Path) -> None:
    files = {
        "data/a.txt": b"a\n",
        "data/empty": b"",
        "data/sub/b.txt": b"b\r\nline2\r\n",
        "data/with space/dup a.txt": b"a\n",
        "data/ünï/ç.bin": b"x",
        "data/a/b": b"1\n",
        "data/a-b/c": b"2\n",
        "foo.txt": b"hello\n",
    }
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
        old = time.time() - 10  # older than the state cache's racy-write window
        os.utime(root / rel, (old, old))


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    with Repo.init(tmp_path, no_scm=True) as repo:
        make_data(tmp_path)
        yield repo


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".dvc/tmp" not in p.as_posix()
    }


def test_init_layout_no_scm(tmp_path: Path) -> None:
    Repo.init(tmp_path, no_scm=True).close()
    assert (tmp_path / ".dvc/config").read_bytes() == b"[core]\n    no_scm = True\n"
    assert (tmp_path / ".dvcignore").read_bytes().startswith(b"# Add patterns")
    assert (tmp_path / ".dvc/tmp/btime").exists()
    assert not (tmp_path / ".dvc/.gitignore").exists()
    with pytest.raises(Exception, match="exists"):
        Repo.init(tmp_path, no_scm=True)


def test_not_a_repo(tmp_path: Path) -> None:
    with pytest.raises(NotARepoError, match="not inside of a DVC repository"):
        Repo(tmp_path)


def test_add_writes_dvc_file_and_cache(repo: Repo) -> None:
    root = repo.root
    result = repo.add(["data", "foo.txt"])
    assert (root / "data.dvc").read_text() == (
        "outs:\n- md5: 8714fefa0222e8235e08ac325e60105d.dir\n  size: 19\n  nfiles: 7\n"
        "  hash: md5\n  path: data\n"
    )
    assert result.lineage()["data"] == {
        "md5": "8714fefa0222e8235e08ac325e60105d.dir",
        "size": 19,
        "nfiles": 7,
        "hash": "md5",
        "path": "data",
        "metafile": "data.dvc",
        "uri": f"freight://{root}/data",
        "rev": None,  # the fixture repository is not in Git
        "dirty": None,
    }
    obj = root / ".dvc/cache/files/md5/b1/946ac92492d2347c6235b4d2611184"
    assert obj.read_bytes() == b"hello\n"
    assert stat.S_IMODE(obj.stat().st_mode) == 0o444
    assert repo.status().clean


def test_readd_unchanged_hashes_nothing(repo: Repo) -> None:
    repo.add(["data"])
    old = os.stat(repo.root / "data.dvc").st_mtime_ns
    again = repo.add(["data"])
    assert again.hashed == 0 and again.written == ()
    assert os.stat(repo.root / "data.dvc").st_mtime_ns == old


def test_status_categories(repo: Repo) -> None:
    repo.add(["data", "foo.txt"])
    (repo.root / "foo.txt").write_text("changed")
    (repo.root / "data/new.txt").write_text("extra")
    assert repo.status().changes == {
        "data.dvc": {"data": "modified"},
        "foo.txt.dvc": {"foo.txt": "modified"},
    }
    os.unlink(repo.root / "foo.txt")
    assert repo.status().changes["foo.txt.dvc"] == {"foo.txt": "deleted"}


def test_checkout_restores_and_reports(repo: Repo) -> None:
    repo.add(["data", "foo.txt"])
    before = snapshot(repo.root)
    os.unlink(repo.root / "foo.txt")
    os.unlink(repo.root / "data/sub/b.txt")
    result = repo.checkout()
    assert result.added == ("foo.txt",) and result.modified == ("data/",)
    assert (result.files_added, result.files_modified) == (2, 0)
    assert snapshot(repo.root) == before
    assert repo.checkout().files_added == 0


def test_checkout_refuses_to_destroy_unsaved_data(repo: Repo) -> None:
    repo.add(["data"])
    (repo.root / "data/a.txt").write_text("precious")
    (repo.root / "data/extra.txt").write_text("also precious")
    with pytest.raises(UnsavedChangesError) as info:
        repo.checkout()
    assert sorted(info.value.paths) == [
        str(repo.root / "data/a.txt"),
        str(repo.root / "data/extra.txt"),
    ]
    assert (repo.root / "data/a.txt").read_text() == "precious"
    result = repo.checkout(force=True)
    assert (repo.root / "data/a.txt").read_text() == "a\n"
    assert not (repo.root / "data/extra.txt").exists()
    assert result.files_deleted == 1 and result.files_modified == 1


def test_missing_object_fails_only_its_file(repo: Repo) -> None:
    repo.add(["data"])
    obj = repo.cache.path("60b725f10c9c85c70d97880dfe8191b3")  # a.txt and dup a.txt
    os.chmod(obj, 0o644)
    os.unlink(obj)
    os.unlink(repo.root / "data/a.txt")
    result = repo.checkout()
    assert not result.ok
    assert {f.path for f in result.failed} == {"data/a.txt"}
    assert (repo.root / "data/with space/dup a.txt").read_text() == "a\n"
    assert (repo.root / "data/sub/b.txt").exists()
    with pytest.raises(
        Exception, match=re.escape("Checkout failed for following targets:\ndata/a.txt")
    ):
        result.raise_for_failures()
    assert repo.checkout(allow_missing=True).ok


def test_granular_checkout(repo: Repo) -> None:
    repo.add(["data"])
    import shutil

    shutil.rmtree(repo.root / "data")
    result = repo.checkout(["data/sub/b.txt"])
    assert result.files_added == 1
    assert sorted(p.name for p in (repo.root / "data").rglob("*") if p.is_file()) == ["b.txt"]


def test_corrupt_cache_object_never_reaches_workspace(repo: Repo) -> None:
    repo.add(["foo.txt"])
    obj = repo.cache.path(md5_bytes(b"hello\n"))
    os.chmod(obj, 0o644)
    obj.write_bytes(b"evil!\n")
    os.unlink(repo.root / "foo.txt")
    result = repo.checkout()
    assert [f.kind for f in result.failed] == ["ObjectCorruptedError"]
    assert not (repo.root / "foo.txt").exists()


def test_a_big_object_add_hashed_is_trusted_until_it_changes(repo: Repo) -> None:
    """`add` hashes a big file on its way into the cache; a checkout in a later process
    copies that object without a second md5 pass while it is unchanged, and verifies (and
    refuses) it once it was rewritten, even at the same size."""
    big = os.urandom(2 << 20)
    (repo.root / "big.bin").write_bytes(big)
    repo.add(["big.bin", "foo.txt"])
    oid = md5_bytes(big)
    with Repo(repo.root) as later:
        assert later.cache.trusted(oid)
        assert not later.cache.trusted(md5_bytes(b"hello\n"))  # small objects: not kept
        os.unlink(repo.root / "big.bin")
        assert later.checkout().files_added == 1
    assert (repo.root / "big.bin").read_bytes() == big
    obj = repo.cache.path(oid)
    os.chmod(obj, 0o644)
    obj.write_bytes(b"X" * len(big))
    os.unlink(repo.root / "big.bin")
    with Repo(repo.root) as later:
        assert not later.cache.trusted(oid)
        result = later.checkout()
    assert [f.kind for f in result.failed] == ["ObjectCorruptedError"]
    assert not (repo.root / "big.bin").exists()


def test_dir_with_traversal_is_rejected_before_writing(repo: Repo) -> None:
    evil = b'[{"md5": "b1946ac92492d2347c6235b4d2611184", "relpath": "../escaped.txt"}]'
    oid = md5_bytes(evil) + ".dir"
    repo.cache.add_bytes(evil, oid)
    repo.add(["foo.txt"])
    (repo.root / "evil.dvc").write_text(f"outs:\n- md5: {oid}\n  hash: md5\n  path: evil\n")
    with pytest.raises(MetafileError, match=re.escape("'..' component")):
        repo.checkout()
    assert not (repo.root / "escaped.txt").exists()
    assert not (repo.root / "evil").exists()


def test_add_refuses_paths_outside_and_missing(repo: Repo, tmp_path: Path) -> None:
    with pytest.raises(PathError, match="outside of the repository"):
        repo.add([str(tmp_path.parent)])
    with pytest.raises(PathError, match="does not exist"):
        repo.add(["nope"])
    assert not [p for p in repo.root.glob("*.dvc") if p.is_file()]


def test_add_inside_tracked_dir_updates_parent(repo: Repo) -> None:
    repo.add(["data"])
    (repo.root / "data/sub/b.txt").write_text("new")
    repo.add(["data/sub/b.txt"])
    assert not (repo.root / "data/sub/b.txt.dvc").exists()
    assert repo.status().clean
    assert "nfiles: 7" in (repo.root / "data.dvc").read_text()


def test_executable_file(repo: Repo) -> None:
    script = repo.root / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    repo.add(["run.sh"])
    assert "isexec: true" in (repo.root / "run.sh.dvc").read_text()
    os.unlink(script)
    repo.checkout()
    assert os.access(script, os.X_OK)


def test_large_file_add_and_checkout_roundtrip(repo: Repo) -> None:
    """Files above the pipelining threshold are hashed on a second thread: same result."""
    import hashlib

    data = os.urandom(3 << 20) * 7  # 21 MiB
    (repo.root / "big.bin").write_bytes(data)
    result = repo.add(["big.bin"])
    assert result.outputs[0].md5 == hashlib.md5(data).hexdigest()
    os.unlink(repo.root / "big.bin")
    assert repo.checkout().files_added == 1
    assert (repo.root / "big.bin").read_bytes() == data
