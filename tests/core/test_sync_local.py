"""push / fetch / pull / status -c against a local-folder remote, with faults."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from freight import Repo, TransferError


def write_config(root: Path, remote: Path) -> None:
    (root / ".dvc/config").write_text(
        f"[core]\n    no_scm = True\n    remote = r\n['remote \"r\"']\n    url = {remote}\n"
    )


def make(root: Path, files: dict[str, bytes], remote: Path) -> Repo:
    repo = Repo.init(root, no_scm=True)
    write_config(root, remote)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    repo.close()
    return Repo(root)


def clone(src: Path, dest: Path, remote: Path) -> Repo:
    dest.mkdir()
    for dvcfile in (p for p in src.glob("*.dvc") if p.is_file()):
        shutil.copy(dvcfile, dest)
    return make(dest, {}, remote)


FILES = {"data/a.txt": b"a\n", "data/sub/b.txt": b"b\n", "data/dup": b"a\n", "solo.bin": b"s"}


def test_push_pull_roundtrip_and_noop(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    repo = make(tmp_path / "src", FILES, remote)
    repo.add(["data", "solo.bin"])
    first = repo.push()
    assert (first.transferred, first.ok) == (4, True)  # 3 distinct files + the .dir
    assert repo.push().transferred == 0
    assert repo.cloud_status().clean
    other = clone(tmp_path / "src", tmp_path / "dest", remote)
    pulled = other.pull()
    assert pulled.ok and pulled.transferred == 4
    assert pulled.checkout is not None and pulled.checkout.files_added == 4
    for rel, data in FILES.items():
        assert (tmp_path / "dest" / rel).read_bytes() == data
    assert pulled.lineage()["data"]["remote"] == "r"


def test_granular_pull_fetches_only_the_subtree(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    repo = make(tmp_path / "src", FILES, remote)
    repo.add(["data"])
    repo.push()
    other = clone(tmp_path / "src", tmp_path / "dest", remote)
    result = other.pull(["data/sub/b.txt"])
    assert result.transferred == 2  # the .dir and b.txt
    files = sorted(
        p.relative_to(tmp_path / "dest").as_posix()
        for p in (tmp_path / "dest/data").rglob("*")
        if p.is_file()
    )
    assert files == ["data/sub/b.txt"]


def test_corrupt_remote_object_is_never_checked_out(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    repo = make(tmp_path / "src", FILES, remote)
    repo.add(["data"])
    repo.push()
    oid = hashlib.md5(b"b\n").hexdigest()
    obj = remote / "files/md5" / oid[:2] / oid[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"evil\n")
    other = clone(tmp_path / "src", tmp_path / "dest", remote)
    result = other.pull()
    assert [(f.path, f.kind) for f in result.failed] == [("data/sub/b.txt", "ObjectCorruptedError")]
    assert not (tmp_path / "dest/data/sub/b.txt").exists()
    assert (tmp_path / "dest/data/a.txt").read_bytes() == b"a\n"
    assert not other.cache.exists(oid)
    with pytest.raises(TransferError, match="1 file failed to download"):
        result.raise_for_failures()


def test_a_remote_that_lost_an_output_is_asked_again(tmp_path: Path) -> None:
    """The index remembers what was pushed; an output's own object (a loose file or a
    `.dir`) is asked again on every push and `status -c`, so a wiped remote is refilled."""
    remote = tmp_path / "remote"
    repo = make(tmp_path / "src", FILES, remote)
    repo.add(["data", "solo.bin"])
    assert repo.push().transferred == 4
    oid = hashlib.md5(b"s").hexdigest()
    obj = remote / "files/md5" / oid[:2] / oid[2:]
    obj.chmod(0o644)
    obj.unlink()
    assert repo.cloud_status().changes == {"solo.bin": "new"}
    assert repo.push().transferred == 1
    subprocess.run(["chmod", "-R", "u+w", str(remote)], check=True)
    shutil.rmtree(remote)
    assert not repo.cloud_status().clean
    again = repo.push()
    assert (again.transferred, again.ok) == (4, True)
    other = clone(tmp_path / "src", tmp_path / "dest", remote)
    assert other.pull().ok
    for rel, data in FILES.items():
        assert (tmp_path / "dest" / rel).read_bytes() == data


def test_lost_directory_member_corrects_the_index(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    repo = make(tmp_path / "src", FILES, remote)
    repo.add(["data"])
    repo.push()
    oid = hashlib.md5(b"b\n").hexdigest()
    obj = remote / "files/md5" / oid[:2] / oid[2:]
    obj.chmod(0o644)
    obj.unlink()
    # its `.dir` is still there, so the index's members are trusted (as DVC trusts them)
    assert repo.cloud_status().clean
    other = clone(tmp_path / "src", tmp_path / "dest", remote)
    shutil.copytree(
        tmp_path / "src/.dvc/tmp/freight/remotes", tmp_path / "dest/.dvc/tmp/freight/remotes"
    )
    failed = other.fetch()
    assert [(f.kind, f.path) for f in failed.failed] == [("FileNotFoundError", "data/sub/b.txt")]
    assert other.cloud_status().changes == {"data/sub/b.txt": "missing"}  # index corrected
    shutil.copytree(
        tmp_path / "dest/.dvc/tmp/freight/remotes",
        tmp_path / "src/.dvc/tmp/freight/remotes",
        dirs_exist_ok=True,
    )
    assert repo.push().transferred == 1


def test_killed_push_leaves_no_partial_objects(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    files = {f"data/{i:04d}.bin": os.urandom(64 * 1024) for i in range(600)}
    repo = make(tmp_path / "src", files, remote)
    repo.add(["data"])
    repo.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "freight", "push"],
        cwd=tmp_path / "src",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(remote.rglob("*")):
        time.sleep(0.01)
    time.sleep(0.05)
    proc.kill()
    proc.wait()
    for path in remote.rglob("*"):
        if path.is_file() and not path.name.endswith(".tmp"):
            name = path.parent.name + path.name
            assert hashlib.md5(path.read_bytes()).hexdigest() == name.removesuffix(
                ".dir"
            ) or name.endswith(".dir")
    with Repo(tmp_path / "src") as again:
        assert again.push().ok
        assert again.cloud_status().clean
    other = clone(tmp_path / "src", tmp_path / "dest", remote)
    assert other.pull().ok
    assert (tmp_path / "dest/data/0599.bin").read_bytes() == files["data/0599.bin"]


def test_gc_removes_only_unused_objects(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    repo = make(tmp_path / "src", {"data/a": b"v1", "data/b": b"same"}, remote)
    repo.add(["data"])
    repo.push()
    (tmp_path / "src/data/a").write_bytes(b"v2")
    repo.add(["data"])
    repo.push()
    result = repo.gc(cloud=True)
    assert (result.removed_cache, result.removed_remote) == (2, 2)  # old a and old .dir
    assert repo.status().clean and repo.cloud_status().clean
    other = clone(tmp_path / "src", tmp_path / "dest", remote)
    assert other.pull().ok
    assert (tmp_path / "dest/data/a").read_bytes() == b"v2"


def test_fetch_many_objects_within_a_low_open_file_limit(tmp_path: Path) -> None:
    import resource

    remote = tmp_path / "remote"
    files = {f"data/{i:04d}": str(i).encode() for i in range(600)}
    repo = make(tmp_path / "src", files, remote)
    repo.add(["data"])
    repo.push()
    other = clone(tmp_path / "src", tmp_path / "dest", remote)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        result = other.fetch()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert result.ok and result.transferred == 601


def test_a_big_file_pull_wrote_is_clean_for_status_without_hashing(tmp_path: Path) -> None:
    """Bug (issue 14): `status` right after `pull` hashed a 1 GiB file again, because the
    file was written within the state cache's racy margin of the moment its hash was saved.
    A file freight writes now gets an mtime set back before it gets its name; a write by
    anyone afterwards, even in the same instant and of the same size, is still seen."""
    from freight.state import State

    big = os.urandom(3 << 20)
    remote = tmp_path / "remote"
    repo = make(tmp_path / "src", {"big.bin": big, "small.txt": b"s\n"}, remote)
    repo.add(["big.bin", "small.txt"])
    assert repo.push().ok
    repo.close()
    other = clone(tmp_path / "src", tmp_path / "dest", remote)
    assert other.pull().ok
    other.close()
    path = tmp_path / "dest" / "big.bin"
    state = State(tmp_path / "dest" / ".dvc" / "tmp" / "freight" / "state.db")
    assert state.get(str(path), os.stat(path)) == hashlib.md5(big).hexdigest()
    state.close()
    with open(path, "r+b") as stream:  # same size, right away
        stream.write(b"X")
    with Repo(tmp_path / "dest") as again:
        assert not again.status().clean


def test_a_big_object_fetch_verified_is_trusted_by_a_later_checkout(tmp_path: Path) -> None:
    """A big object fetch downloaded and verified is checked out by a later process as a
    plain copy (the state cache knows it unchanged); once its bytes change, that checkout
    verifies it again and refuses it."""
    big = os.urandom(2 << 20)
    oid = hashlib.md5(big).hexdigest()
    remote = tmp_path / "remote"
    with make(tmp_path / "src", {"big.bin": big, "small.txt": b"s\n"}, remote) as repo:
        repo.add(["big.bin", "small.txt"])
        assert repo.push().ok
    with clone(tmp_path / "src", tmp_path / "dest", remote) as other:
        assert other.fetch().ok
    with Repo(tmp_path / "dest") as later:
        assert later.cache.trusted(oid)
        assert not later.cache.trusted(hashlib.md5(b"s\n").hexdigest())  # small: not kept
        obj = later.cache.path(oid)
        os.chmod(obj, 0o644)
        with open(obj, "r+b") as stream:  # same size, same inode
            stream.write(b"X")
    with Repo(tmp_path / "dest") as later:
        assert not later.cache.trusted(oid)
        result = later.checkout()
    assert [f.kind for f in result.failed] == ["ObjectCorruptedError"]
    assert not (tmp_path / "dest" / "big.bin").exists()


def test_a_cache_deleted_between_two_calls_of_one_repo_is_made_again(tmp_path: Path) -> None:
    """A long-lived worker keeps its `Repo` while something wipes the cache between runs:
    the next fetch makes the cache's folders again (it failed with a DiskError: the cache
    remembered folders it had made)."""
    remote = tmp_path / "remote"
    repo = make(tmp_path / "src", FILES, remote)
    repo.add(["data", "solo.bin"])
    repo.push()
    shutil.rmtree(tmp_path / "src" / ".dvc" / "cache")
    fetched = repo.fetch()
    assert fetched.ok and fetched.transferred == 4
    shutil.rmtree(tmp_path / "src" / ".dvc" / "cache")
    shutil.rmtree(tmp_path / "src" / "data")
    pulled = repo.pull()
    assert pulled.ok and pulled.transferred == 4
    assert (tmp_path / "src" / "data" / "sub" / "b.txt").read_bytes() == b"b\n"
    repo.close()
