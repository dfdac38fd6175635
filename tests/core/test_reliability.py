"""Faults real machines produce: a run killed part-way, a full disk. Each test found a bug
(issue 13) and fails without its fix.

The killed runs are real: `python -m freight ...` in a subprocess, SIGKILLed while it writes.
The full disk is a real small filesystem (a tmpfs this test mounts, as root); without root
it is a real file-size limit (RLIMIT_FSIZE) on the freight process instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from freight import DiskError, Repo
from freight.fsutil import STALE_AFTER, is_tmp
from workspaces import workspace

NFILES = 1500


def _files(n: int, size: int = 64) -> dict[str, bytes]:
    return {f"data/f{i:04}.bin": (f"{i}:".encode() * size)[:size] for i in range(n)}


def _freight(
    args: list[str], cwd: Path, env: dict[str, str], *, fsize: int | None = None
) -> subprocess.Popen[str]:
    def limit() -> None:  # the fallback for a small filesystem: a file-size limit
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.Popen(
        [sys.executable, "-m", "freight", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit,
    )


def _run(args: list[str], cwd: Path, env: dict[str, str], **kw: int | None) -> tuple[int, str]:
    proc = _freight(args, cwd, env, **kw)
    _out, err = proc.communicate(timeout=300)
    return proc.returncode, err


def _kill_when(proc: subprocess.Popen[str], ready: Path, count: int) -> int:
    """SIGKILL `proc` once directory `ready` holds `count` entries; how many it held."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(FileNotFoundError):
            seen = len(os.listdir(ready))
            if seen >= count:
                proc.kill()
                proc.wait(timeout=30)
                return seen
        time.sleep(0.001)
    proc.wait(timeout=60)
    pytest.fail(f"the run ended before it could be killed: {proc.stderr and proc.stderr.read()}")


def _tmp_files(root: Path) -> list[str]:
    return [os.path.join(d, n) for d, _dirs, names in os.walk(root) for n in names if is_tmp(n)]


def _objects_intact(root: Path) -> int:
    """Every object file under `root` (a cache or local remote) hashes to its name."""
    checked = 0
    for d, _dirs, names in os.walk(root / "files" / "md5"):
        for name in names:
            if is_tmp(name):
                continue
            data = (Path(d) / name).read_bytes()
            assert hashlib.md5(data).hexdigest() == Path(d).name + name.removesuffix(".dir")
            checked += 1
    return checked


@pytest.fixture
def tracked(tmp_path: Path, freight_env: dict[str, str]) -> Path:
    """A repository tracking a 1,500-file directory, pushed to a local-folder remote."""
    repo = workspace(tmp_path / "ws", _files(NFILES))
    (repo / ".dvc" / "config").write_text(
        f"[core]\n    remote = store\n['remote \"store\"']\n    url = {tmp_path / 'remote'}\n"
    )
    with Repo(repo) as r:
        r.add(["data"])
        r.push()
    return repo


def test_checkout_killed_part_way_reruns_without_force(
    tracked: Path, freight_env: dict[str, str]
) -> None:
    """Bug: a SIGKILLed checkout left `data/.XXXX.tmp`, and the rerun refused ("use
    --force") because freight's own temporaries counted as unsaved data."""
    for path in (tracked / "data").iterdir():
        path.unlink()
    seen = _kill_when(_freight(["checkout"], tracked, freight_env), tracked / "data", 200)
    assert seen < NFILES
    # what a kill inside a copy leaves (the kill above may have landed between two files)
    (tracked / "data" / ".freight-killedmidwaythroughcopy.tmp").write_bytes(b"partial")
    code, err = _run(["checkout"], tracked, freight_env)
    assert code == 0, err
    assert _tmp_files(tracked) == []
    assert {f"data/{p.name}": p.read_bytes() for p in (tracked / "data").iterdir()} == _files(
        NFILES
    )
    with Repo(tracked) as r:
        assert r.status().changes == {}


def test_push_killed_part_way_reruns_and_gc_removes_its_leftovers(
    tracked: Path, tmp_path: Path, freight_env: dict[str, str]
) -> None:
    """Bug: a killed push left `.tmp` files in the remote's object folders that nothing ever
    removed; `gc -c` now removes those no live run is writing."""
    remote = tmp_path / "remote2"
    env = {**freight_env}
    code, err = _run(["remote", "add", "other", str(remote)], tracked, env)
    assert code == 0, err
    proc = _freight(["push", "-r", "other"], tracked, env)
    _kill_when(proc, remote / "files" / "md5", 40)
    code, err = _run(["push", "-r", "other"], tracked, env)
    assert code == 0, err
    assert _objects_intact(remote) == NFILES + 1  # every file and the .dir
    with Repo(tracked) as r:
        assert r.status(cloud=True, remote="other").changes == {}
    # leftovers: one a killed push left an hour ago, one a live push is writing now
    old = remote / "files" / "md5" / "00" / ".freight-leftfromakilledpush.tmp"
    live = remote / "files" / "md5" / "00" / ".freight-beingwrittennowxxx.tmp"
    for path in (old, live):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
    past = time.time() - STALE_AFTER - 60
    os.utime(old, (past, past))
    with Repo(tracked) as r:
        r.gc(cloud=True, remote="other")
    assert not old.exists()
    assert live.exists()
    assert _objects_intact(remote) == NFILES + 1


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[tuple[Path, int | None]]:
    """A 2 MiB filesystem: a tmpfs when this runs as root, otherwise a plain directory and
    a 2 MiB file-size limit for the freight process (the second item)."""
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = os.geteuid() == 0 and (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
            capture_output=True,
            check=False,
            timeout=30,
        ).returncode
        == 0
    )
    try:
        yield mount, None if mounted else 2 << 20
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mount)], check=False, timeout=30)


def _one_line_error(code: int, err: str) -> str:
    assert code != 0
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ERROR: "), err
    assert "No space left on device" in lines[0] or "File too large" in lines[0], err
    return lines[0]


def _big(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest() * (3 << 15)  # 3 MiB, no two alike


def test_full_disk_during_add_is_one_line_and_changes_nothing(
    small_fs: tuple[Path, int | None], tmp_path: Path, freight_env: dict[str, str]
) -> None:
    """Bug: a full disk during `add` printed a traceback from fsutil._write_all."""
    mount, fsize = small_fs
    repo = workspace(tmp_path / "ws", {"big.bin": _big(1)})
    cache = mount / "cache"
    (repo / ".dvc" / "config").write_text(f"[cache]\n    dir = {cache}\n")
    code, err = _run(["add", "big.bin"], repo, freight_env, fsize=fsize)
    assert str(mount) in _one_line_error(code, err)
    assert (repo / "big.bin").read_bytes() == _big(1)
    assert not (repo / "big.bin.dvc").exists()
    assert _tmp_files(mount) == []
    assert _objects_intact(cache) == 0


def test_full_disk_during_fetch_and_checkout(
    small_fs: tuple[Path, int | None], tmp_path: Path, freight_env: dict[str, str]
) -> None:
    mount, fsize = small_fs
    src = workspace(tmp_path / "src", {"big.bin": _big(2), "small.txt": b"fits\n"})
    (src / ".dvc" / "config").write_text(
        f"[core]\n    remote = store\n['remote \"store\"']\n    url = {tmp_path / 'remote'}\n"
    )
    with Repo(src) as r:
        r.add(["big.bin", "small.txt"])
        r.push()
    # fetch into a cache on the small filesystem
    dest = workspace(tmp_path / "dest", {})
    for name in ("big.bin.dvc", "small.txt.dvc"):
        (dest / name).write_bytes((src / name).read_bytes())
    config = (src / ".dvc" / "config").read_text()
    (dest / ".dvc" / "config").write_text(config + f"[cache]\n    dir = {mount / 'cache'}\n")
    code, err = _run(["fetch"], dest, freight_env, fsize=fsize)
    assert code != 0 and "Traceback" not in err, err
    assert "failed to transfer '" in err and "(big.bin): " in err, err
    assert f"{mount / 'cache'}/files/md5/" in err, err  # the cache is full, not the remote
    assert "No space left on device" in err or "File too large" in err, err
    assert _tmp_files(mount) == []
    assert _objects_intact(mount / "cache") <= 1  # the small file may have made it
    # check out into a workspace on the small filesystem, from a cache elsewhere
    ws = mount / "ws"
    ws.mkdir()
    Repo.init(ws, no_scm=True).close()
    for name in ("big.bin.dvc", "small.txt.dvc"):
        (ws / name).write_bytes((src / name).read_bytes())
    (ws / "small.txt").write_bytes(b"fits\n")
    (ws / ".dvc" / "config").write_text(
        f"[cache]\n    dir = {src / '.dvc' / 'cache'}\n    type = copy\n"
    )
    code, err = _run(["checkout"], ws, freight_env, fsize=fsize)
    assert code != 0 and "Traceback" not in err, err
    assert f"big.bin: No space left on device: '{ws / 'big.bin'}'" in err or (
        "File too large" in err
    ), err
    assert (ws / "small.txt").read_bytes() == b"fits\n"
    assert not (ws / "big.bin").exists()
    assert _tmp_files(mount) == []


def test_disk_error_names_the_file_and_the_remedy(tmp_path: Path) -> None:
    import errno

    err = DiskError.of(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "x")))
    assert str(err) == (
        f"No space left on device: '{tmp_path / 'x'}' (free some space, then run the command again)"
    )
    assert err.errno == errno.ENOSPC
    assert isinstance(err, OSError)


def test_stale_temporaries_only_in_object_folders(tmp_path: Path) -> None:
    from freight.fsutil import stale_temporaries

    now = time.time()
    names = [
        ".freight-a.tmp",
        "ab/.freight-b.tmp",
        "files/md5/ab/.freight-c.tmp",
        "deep/er/.freight-d.tmp",
        f"ab/.{uuid.uuid4().hex}.tmp",
    ]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (now - 7200, now - 7200))
    found = sorted(stale_temporaries(tmp_path, now=now))
    assert found == [".freight-a.tmp", "ab/.freight-b.tmp", "files/md5/ab/.freight-c.tmp"]
    assert stale_temporaries(tmp_path, now=now - 7200) == []
