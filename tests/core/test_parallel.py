"""Small-file work on every core (`freight.parallel`): real helper processes, real files.

In-process tests lower the threshold (`MIN_ITEMS`) and the batch size so that a few hundred
files go through helpers in several batches; FREIGHT_PROCESSES=2 gives one helper even on
a one-CPU machine. The command-line tests use more files than the threshold.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from freight import DiskError, Repo, parallel
from freight.fsutil import is_tmp
from workspaces import workspace

NFILES = 700


def _files(n: int, size: int = 300) -> dict[str, bytes]:
    return {f"data/d{i % 7}/f{i:05}.bin": (f"{i}:".encode() * size)[:size] for i in range(n)}


def _remote(ws: Path, remote: Path) -> None:
    (ws / ".dvc" / "config").write_text(
        f"[core]\n    remote = store\n['remote \"store\"']\n    url = {remote}\n"
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _temporaries(root: Path) -> list[str]:
    return [
        os.path.join(d, n) for d, dirs, names in os.walk(root) for n in names + dirs if is_tmp(n)
    ]


def _objects_intact(root: Path) -> int:
    count = 0
    for path in (root / "files" / "md5").rglob("*"):
        if path.is_file():
            name = path.parent.name + path.name.removesuffix(".dir")
            assert hashlib.md5(path.read_bytes()).hexdigest() == name, path
            count += 1
    return count


@pytest.fixture
def helpers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Helpers for a few hundred files, in batches of 64; yields the pids of those started."""
    monkeypatch.setattr(parallel, "MIN_ITEMS", 50)
    monkeypatch.setattr(parallel, "CHUNK", 64)
    monkeypatch.setenv(parallel.ENV, "2")
    started: list[int] = []
    real = parallel._Helper.__init__

    def counted(self: parallel._Helper) -> None:
        real(self)
        started.append(self._proc.pid)

    monkeypatch.setattr(parallel._Helper, "__init__", counted)
    return started


def test_every_verb_on_two_cores_gives_what_one_process_gives(
    tmp_path: Path, helpers: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    want = _files(NFILES)
    ws, remote = workspace(tmp_path / "ws", want), tmp_path / "remote"
    _remote(ws, remote)
    with Repo(ws) as repo:
        assert repo.add(["data"]).lineage()["data"]["nfiles"] == NFILES
        assert len(helpers) == 1
        pushed = repo.push()
        assert pushed.ok and pushed.transferred == NFILES + 1
        assert len(helpers) == 2
        shutil.rmtree(ws / "data")
        checkout = repo.checkout()
        assert checkout.ok and checkout.files_added == NFILES
        assert len(helpers) == 3
        assert _tree(ws / "data") == {k.removeprefix("data/"): v for k, v in want.items()}
        assert repo.status().clean  # what the helpers wrote is known to the state cache
    shutil.rmtree(ws / ".dvc" / "cache")
    with Repo(ws) as repo:
        fetched = repo.fetch()
        assert fetched.ok and fetched.transferred == NFILES + 1
        assert len(helpers) == 4
    shutil.rmtree(ws / ".dvc" / "cache")
    shutil.rmtree(ws / "data")
    with Repo(ws) as repo:  # fetched objects are copied out without a second hash
        pulled = repo.pull()
        assert pulled.ok and pulled.checkout is not None
        assert pulled.checkout.files_added == NFILES
        assert len(helpers) == 6
        assert repo.status().clean
    assert _tree(ws / "data") == {k.removeprefix("data/"): v for k, v in want.items()}
    assert _objects_intact(remote) == NFILES + 1
    assert _objects_intact(ws / ".dvc" / "cache") == NFILES + 1
    assert _temporaries(tmp_path) == []
    for pid in helpers:  # every helper has ended and was waited for
        assert not Path(f"/proc/{pid}").exists()

    monkeypatch.setenv(parallel.ENV, "1")  # the same in one process: the same record
    alone = workspace(tmp_path / "alone", want)
    with Repo(alone) as repo:
        repo.add(["data"])
    assert (alone / "data.dvc").read_bytes() == (ws / "data.dvc").read_bytes()
    assert len(helpers) == 6


def test_a_corrupt_object_fails_only_its_file_in_a_helper(
    tmp_path: Path, helpers: list[int]
) -> None:
    want = _files(NFILES)
    ws = workspace(tmp_path / "ws", want)
    with Repo(ws) as repo:
        repo.add(["data"])
    last = sorted(want)[-1]  # helpers take batches from the back
    md5 = hashlib.md5(want[last]).hexdigest()
    obj = ws / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"rotten")
    shutil.rmtree(ws / "data")
    with Repo(ws) as repo:
        result = repo.checkout()
    assert helpers
    assert [f.path for f in result.failed] == [last]
    assert "corrupted" in result.failed[0].message and md5 in result.failed[0].message
    assert not (ws / last).exists()
    assert result.files_added == NFILES - 1
    assert _temporaries(ws) == []


def test_a_remote_object_gone_fails_only_its_object_in_a_helper(
    tmp_path: Path, helpers: list[int]
) -> None:
    want = _files(NFILES)
    ws, remote = workspace(tmp_path / "ws", want), tmp_path / "remote"
    _remote(ws, remote)
    with Repo(ws) as repo:
        repo.add(["data"])
        repo.push()
    last = sorted(want)[-1]
    md5 = hashlib.md5(want[last]).hexdigest()
    (remote / "files" / "md5" / md5[:2] / md5[2:]).unlink()
    shutil.rmtree(ws / ".dvc" / "cache")
    with Repo(ws) as repo:
        fetched = repo.fetch()
    assert helpers
    assert [f.path for f in fetched.failed] == [last]
    assert "not on the remote" in fetched.failed[0].message
    assert fetched.transferred == NFILES  # every other file and the .dir
    assert _objects_intact(ws / ".dvc" / "cache") == NFILES


@pytest.mark.parametrize("processes", ["1", "2"])
def test_an_add_error_in_a_helper_is_raised_as_in_one_process(
    tmp_path: Path, helpers: list[int], monkeypatch: pytest.MonkeyPatch, processes: str
) -> None:
    monkeypatch.setenv(parallel.ENV, processes)
    want = _files(NFILES)
    ws = workspace(tmp_path / "ws", want)
    md5 = hashlib.md5(want[sorted(want)[-1]]).hexdigest()
    blocked = ws / ".dvc" / "cache" / "files" / "md5" / md5[:2]
    blocked.parent.mkdir(parents=True)
    blocked.write_bytes(b"a file where the object's folder goes")
    with Repo(ws) as repo, pytest.raises(DiskError) as raised:
        repo.add(["data"])
    assert str(raised.value) == f"File exists: '{blocked}'"
    assert len(helpers) == (processes == "2")
    assert not (ws / "data.dvc").exists()


# --- the command line, with more files than the threshold ---------------------------

MANY = parallel.MIN_ITEMS + 1000


def _freight(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "freight", *args],
        cwd=cwd,
        env={**env, parallel.ENV: "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_a_killed_checkout_leaves_no_helper_and_no_partial_output(
    tmp_path: Path, freight_env: dict[str, str]
) -> None:
    want = _files(MANY, 64)
    ws = workspace(tmp_path / "ws", want)
    with Repo(ws) as repo:
        repo.add(["data"])
    shutil.rmtree(ws / "data")
    proc = _freight(["checkout"], ws, freight_env)
    deadline = time.monotonic() + 60
    helpers: list[int] = []
    while not helpers and proc.poll() is None and time.monotonic() < deadline:
        helpers = _children(proc.pid)
    assert helpers, "no helper was started"
    time.sleep(0.05)  # let them copy some files
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.01)
    for pid in helpers:  # ended (a zombie until its orphaned parent is reaped: not running)
        status = Path(f"/proc/{pid}/status")
        assert not status.exists() or "zombie" in status.read_text()
    # a new directory output is built hidden and renamed whole: never half there
    assert not (ws / "data").exists() or _tree(ws / "data") == {
        k.removeprefix("data/"): v for k, v in want.items()
    }
    proc = _freight(["checkout"], ws, freight_env)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert _tree(ws / "data") == {k.removeprefix("data/"): v for k, v in want.items()}
    assert _temporaries(ws) == []


def test_helpers_ignore_what_the_interpreter_prints(
    tmp_path: Path,
    helpers: list[int],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A site hook that prints at start-up (a `sitecustomize`, a `.pth` file) must not
    garble the results: they come back on a pipe of their own."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text("print('hello from a site hook' * 100)\n")
    monkeypatch.setenv("PYTHONPATH", str(hooks))
    want = _files(NFILES)
    ws = workspace(tmp_path / "ws", want)
    with Repo(ws) as repo:
        repo.add(["data"])
        shutil.rmtree(ws / "data")
        assert repo.checkout().files_added == NFILES
    assert len(helpers) == 2
    assert "hello from a site hook" in capfd.readouterr().err
    assert _tree(ws / "data") == {k.removeprefix("data/"): v for k, v in want.items()}


def test_a_symlinked_remote_folder_fails_only_its_objects_with_helpers(
    tmp_path: Path, helpers: list[int]
) -> None:
    """As in one process: an object whose folder is a symlink fails alone (the push
    raised a PathError for the whole batch when helpers were used)."""
    want = _files(NFILES)
    ws, remote, outside = workspace(tmp_path / "ws", want), tmp_path / "remote", tmp_path / "out"
    _remote(ws, remote)
    outside.mkdir()
    md5 = hashlib.md5(want[sorted(want)[0]]).hexdigest()
    (remote / "files" / "md5").mkdir(parents=True)
    (remote / "files" / "md5" / md5[:2]).symlink_to(outside)
    with Repo(ws) as repo:
        repo.add(["data"])
        pushed = repo.push()
    assert helpers
    files = [f for f in pushed.failed if f.kind != "IncompleteDirectory"]
    assert files and all("is a symlink" in f.message for f in files)
    assert [f.path for f in pushed.failed if f not in files] == ["data"]  # no `.dir` yet
    assert pushed.transferred == NFILES - len(files)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_readd_stores_again_the_objects_deleted_from_the_cache(
    tmp_path: Path, helpers: list[int], monkeypatch: pytest.MonkeyPatch, processes: str
) -> None:
    """Files the state knows are not hashed again, but their objects are checked: those
    deleted from the cache are stored again (one listing finds the rest), with and
    without helpers (a few files changed make the helpers start)."""
    monkeypatch.setenv(parallel.ENV, processes)
    want = _files(NFILES)
    ws = workspace(tmp_path / "ws", want)
    old = time.time() - 3600  # hashes the state trusts at once (outside the racy window)
    for path in (ws / "data").rglob("*.bin"):
        os.utime(path, (old, old))
    cache = ws / ".dvc" / "cache"
    with Repo(ws) as repo:
        repo.add(["data"])
    objects = sorted(p for p in (cache / "files" / "md5").rglob("*") if p.is_file())
    for path in objects[::10]:
        path.chmod(0o600)
        path.unlink()
    for i in range(60):  # changed: hashed again (and on two cores with helpers)
        (ws / f"data/d{i % 7}/f{i:05}.bin").write_bytes(b"changed %d" % i)
    with Repo(ws) as repo:
        again = repo.add(["data"])
    assert again.hashed == 60
    _objects_intact(cache)
    for path in (ws / "data").rglob("*.bin"):  # every file's object is back, intact
        md5 = hashlib.md5(path.read_bytes()).hexdigest()
        assert (cache / "files" / "md5" / md5[:2] / md5[2:]).read_bytes() == path.read_bytes()
    with Repo(ws) as repo:
        assert repo.status().clean
