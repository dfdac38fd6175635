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
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from freight import DiskError, Repo, parallel
from freight.fsutil import STALE_AFTER, is_tmp
from workspaces import workspace

NFILES = 1500


def _files(n: int, size: int = 64) -> dict[str, bytes]:
    return {f"data/f{i:04}.bin": (f"{i}:".encode() * size)[:size] for i in range(n)}


def _freight(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    *,
    fsize: int | None = None,
    nofile: int | None = None,
) -> subprocess.Popen[str]:
    def limit() -> None:  # the fallback for a small filesystem: a file-size limit
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

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


FULL = ("No space left on device", "File too large", "database or disk is full")


def _one_line_error(code: int, err: str, reasons: tuple[str, ...] = FULL) -> str:
    """The one `ERROR:` line of a failed run, which gives one of `reasons` and a path."""
    assert code != 0, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[:3000]
    assert lines[0].startswith("ERROR: "), err
    assert any(r in lines[0] for r in reasons), err
    assert "'/" in lines[0] and ".tmp'" not in lines[0], err  # a real place, not a temporary
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
    """Bug: a full disk printed a line per failed object and a summary (fetch), or the
    list of failed files and one line per file (checkout); now one line."""
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
    if fsize is None:  # a full disk: one line (a file-size limit fails only the big file)
        _one_line_error(code, err)
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
    if fsize is None:
        _one_line_error(code, err)
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


# -- resource exhaustion: few file descriptors, read-only places, a full disk of many files --


def _data(ws: Path) -> dict[str, bytes]:
    """The files under `ws/data` (temporaries included: they are not the data)."""
    found = {}
    for d, _dirs, names in os.walk(ws / "data"):
        for n in names:
            found[(Path(d) / n).relative_to(ws).as_posix()] = (Path(d) / n).read_bytes()
    return found


def _with_remote(ws: Path, remote: Path, extra: str = "") -> None:
    (ws / ".dvc" / "config").write_text(
        f"[core]\n    remote = store\n['remote \"store\"']\n    url = {remote}\n{extra}"
    )


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only or small filesystem needs root")


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """`path` read-only for every process, root included (root ignores file modes): a
    read-only bind mount of it onto itself, removed afterwards."""
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,bind,ro", str(path))
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True, timeout=30)


def _grow(mount: Path) -> None:
    """Free space: the tmpfs keeps its files and gets 64 MiB."""
    _mount("-o", "remount,size=64m", str(mount))


NOFILE = ("Too many open files", "ulimit -n")


@pytest.mark.parametrize("nofile", [5, 7, 32])  # 5, 7: the databases, then files fail
def test_few_file_descriptors_in_every_verb(
    nofile: int, tmp_path: Path, freight_env: dict[str, str]
) -> None:
    """Bugs, with RLIMIT_NOFILE lowered: tracebacks from the state and remote-index
    databases (sqlite3.OperationalError: unable to open database file), and a line per
    file (a checkout listed every file, a fetch or pull printed a line and a summary).
    Each verb completes or fails with one line, leaves nothing partial, and a rerun
    without the limit completes."""
    want = _files(300, 3000)
    ws = workspace(tmp_path / "ws", want)
    remote, cache = tmp_path / "remote", ws / ".dvc" / "cache"
    _with_remote(ws, remote)

    def attempt(*args: str) -> None:
        code, err = _run(list(args), ws, freight_env, nofile=nofile)
        if code != 0:
            _one_line_error(code, err, NOFILE)
            assert args[0] != "add" or not (ws / "data.dvc").exists()
        assert _tmp_files(ws) == [] and _tmp_files(remote) == []
        _objects_intact(cache)
        _objects_intact(remote)
        assert _data(ws).items() <= want.items()  # nothing partial, nothing else
        if code != 0:
            code, err = _run(list(args), ws, freight_env)
            assert code == 0, err

    attempt("add", "data")
    assert _data(ws) == want and _objects_intact(cache) == 301
    attempt("push")
    assert _objects_intact(remote) == 301
    shutil.rmtree(cache)
    attempt("fetch")
    assert _objects_intact(cache) == 301
    shutil.rmtree(ws / "data")
    attempt("checkout")
    assert _data(ws) == want
    shutil.rmtree(ws / "data")
    shutil.rmtree(cache)
    attempt("pull")
    assert _data(ws) == want and _objects_intact(cache) == 301
    with Repo(ws) as r:
        assert r.status().changes == {}


def test_read_only_cache_during_add(
    as_root: None, tmp_path: Path, freight_env: dict[str, str]
) -> None:
    """Bug: the error named a temporary (`.dvc/cache/.freight-….tmp`): on a read-only
    filesystem, removing the temporary that was never created fails too (EROFS), and that
    error replaced the first one."""
    want = _files(200, 3000)
    ws = workspace(tmp_path / "ws", want)
    cache = ws / ".dvc" / "cache"
    cache.mkdir()
    with _read_only(cache):
        code, err = _run(["add", "data"], ws, freight_env)
    line = _one_line_error(code, err, ("Read-only file system",))
    assert f"'{cache}'" in line
    assert not (ws / "data.dvc").exists() and _data(ws) == want
    assert _tmp_files(ws) == [] and _objects_intact(cache) == 0
    code, err = _run(["add", "data"], ws, freight_env)
    assert code == 0, err
    assert _objects_intact(cache) == 201


def test_read_only_cache_or_workspace_during_fetch_and_checkout(
    as_root: None, tmp_path: Path, freight_env: dict[str, str]
) -> None:
    """Bug: a fetch into a read-only cache printed a line per failed object and a summary;
    a checkout into a read-only directory listed every file, then a line per file. A
    checkout from a read-only cache only reads it: it completes."""
    want = _files(200, 3000)
    src, remote = workspace(tmp_path / "src", want), tmp_path / "remote"
    _with_remote(src, remote)
    with Repo(src) as r:
        r.add(["data"])
        r.push().raise_for_failures()
    ws = workspace(tmp_path / "ws", {})
    _with_remote(ws, remote)
    (ws / "data.dvc").write_bytes((src / "data.dvc").read_bytes())
    cache = ws / ".dvc" / "cache"
    cache.mkdir()
    with _read_only(cache):
        code, err = _run(["fetch"], ws, freight_env)
    assert f"'{cache}/files'" in _one_line_error(code, err, ("Read-only file system",))
    assert _tmp_files(ws) == [] and _objects_intact(cache) == 0
    code, err = _run(["fetch"], ws, freight_env)
    assert code == 0, err
    with _read_only(cache):
        code, err = _run(["checkout"], ws, freight_env)
    assert code == 0, err
    assert _data(ws) == want
    shutil.rmtree(ws / "data")
    (ws / "data").mkdir()
    with _read_only(ws / "data"):
        code, err = _run(["checkout"], ws, freight_env)
    assert f"'{ws / 'data'}/f0" in _one_line_error(code, err, ("Read-only file system",))
    assert _data(ws) == {} and _tmp_files(ws) == []
    code, err = _run(["checkout"], ws, freight_env)
    assert code == 0, err
    assert _data(ws) == want


def test_read_only_remote_during_push(
    as_root: None, tmp_path: Path, freight_env: dict[str, str]
) -> None:
    """Bug: a read-only local remote gave a RemoteError per object (one line each, and a
    summary); a local folder's OS errors are DiskErrors now, and the push stops at one."""
    want = _files(200, 3000)
    ws, remote = workspace(tmp_path / "ws", want), tmp_path / "remote"
    _with_remote(ws, remote)
    with Repo(ws) as r:
        r.add(["data"])
    remote.mkdir()
    with _read_only(remote):
        code, err = _run(["push"], ws, freight_env)
    assert f"'{remote}/files" in _one_line_error(code, err, ("Read-only file system",))
    assert _tmp_files(remote) == [] and _objects_intact(remote) == 0
    assert _objects_intact(ws / ".dvc" / "cache") == 201 and _data(ws) == want
    code, err = _run(["push"], ws, freight_env)
    assert code == 0, err
    assert _objects_intact(remote) == 201


def test_full_disk_during_add_of_many_files(
    small_fs: tuple[Path, int | None], tmp_path: Path, freight_env: dict[str, str]
) -> None:
    mount, fsize = small_fs
    if fsize is not None:
        pytest.skip("needs a real small filesystem (root)")
    want = _files(600, 6000)  # 600 x 8 KiB of tmpfs pages: more than 2 MiB
    ws, cache = workspace(tmp_path / "ws", want), mount / "cache"
    (ws / ".dvc" / "config").write_text(f"[cache]\n    dir = {cache}\n")
    code, err = _run(["add", "data"], ws, freight_env)
    assert f"'{cache}" in _one_line_error(code, err)
    assert not (ws / "data.dvc").exists() and _data(ws) == want
    assert _tmp_files(mount) == [] and 0 < _objects_intact(cache) < 601
    _grow(mount)
    code, err = _run(["add", "data"], ws, freight_env)
    assert code == 0, err
    assert _objects_intact(cache) == 601


@pytest.fixture
def pushed(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """A repository whose 600-file `data` is pushed to a local-folder remote (the repo,
    the remote, the files)."""
    want = _files(600, 6000)
    src, remote = workspace(tmp_path / "src", want), tmp_path / "remote"
    _with_remote(src, remote)
    with Repo(src) as r:
        r.add(["data"])
        r.push().raise_for_failures()
    return src, remote, want


def test_full_disk_during_checkout_of_many_files(
    small_fs: tuple[Path, int | None],
    pushed: tuple[Path, Path, dict[str, bytes]],
    freight_env: dict[str, str],
) -> None:
    """Bug: a traceback (sqlite3.OperationalError: database or disk is full) from saving
    the state database on the full disk, raised again by Repo.close."""
    (mount, fsize), (src, _remote, want) = small_fs, pushed
    if fsize is not None:
        pytest.skip("needs a real small filesystem (root)")
    ws = mount / "ws"
    ws.mkdir()
    Repo.init(ws, no_scm=True).close()
    (ws / "data.dvc").write_bytes((src / "data.dvc").read_bytes())
    (ws / ".dvc" / "config").write_text(
        f"[cache]\n    dir = {src / '.dvc/cache'}\n    type = copy\n"
    )
    code, err = _run(["checkout"], ws, freight_env)
    assert f"'{ws / 'data'}/f0" in _one_line_error(code, err)
    assert _data(ws).items() < want.items() and _tmp_files(mount) == []
    _grow(mount)
    code, err = _run(["checkout"], ws, freight_env)
    assert code == 0, err
    assert _data(ws) == want


def test_full_disk_during_pull(
    small_fs: tuple[Path, int | None],
    pushed: tuple[Path, Path, dict[str, bytes]],
    freight_env: dict[str, str],
) -> None:
    """Bug: a line per object that did not fit (hundreds), then a summary."""
    (mount, fsize), (src, remote, want) = small_fs, pushed
    if fsize is not None:
        pytest.skip("needs a real small filesystem (root)")
    ws = mount / "ws"
    ws.mkdir()
    Repo.init(ws, no_scm=True).close()
    _with_remote(ws, remote)
    (ws / "data.dvc").write_bytes((src / "data.dvc").read_bytes())
    code, err = _run(["pull"], ws, freight_env)
    assert f"'{ws / '.dvc'}" in _one_line_error(code, err)
    assert _data(ws).items() <= want.items() and _tmp_files(mount) == []
    assert _objects_intact(ws / ".dvc" / "cache") < 601 and _objects_intact(remote) == 601
    _grow(mount)
    code, err = _run(["pull"], ws, freight_env)
    assert code == 0, err
    assert _data(ws) == want and _objects_intact(ws / ".dvc" / "cache") == 601
    with Repo(ws) as r:
        assert r.status().changes == {}


@pytest.mark.parametrize("verb", ["checkout", "pull"])
def test_full_disk_with_helper_processes(
    small_fs: tuple[Path, int | None], tmp_path: Path, freight_env: dict[str, str], verb: str
) -> None:
    """Many small files are copied by this process and a helper (`freight.parallel`): the
    first to find the disk full stops the run with one error line, as one process does,
    and a new directory output is never left half there."""
    mount, fsize = small_fs
    if fsize is not None:
        pytest.skip("needs a real small filesystem (root)")
    want = _files(parallel.MIN_ITEMS + 100)  # a tmpfs page each: more than 2 MiB
    src, remote = workspace(tmp_path / "src", want), tmp_path / "remote"
    _with_remote(src, remote)
    with Repo(src) as r:
        r.add(["data"])
        r.push().raise_for_failures()
    ws = mount / "ws"
    ws.mkdir()
    Repo.init(ws, no_scm=True).close()
    if verb == "checkout":
        (ws / ".dvc" / "config").write_text(f"[cache]\n    dir = {src / '.dvc/cache'}\n")
    else:
        _with_remote(ws, remote)
    (ws / "data.dvc").write_bytes((src / "data.dvc").read_bytes())
    env = {**freight_env, parallel.ENV: "2"}
    code, err = _run([verb], ws, env)
    _one_line_error(code, err)
    assert not (ws / "data").exists()
    assert [n for _d, dirs, names in os.walk(mount) for n in dirs + names if is_tmp(n)] == []
    _grow(mount)
    code, err = _run([verb], ws, env)
    assert code == 0, err
    assert _data(ws) == want
    with Repo(ws) as r:
        assert r.status().changes == {}


def test_state_and_remote_index_on_a_read_only_directory(as_root: None, tmp_path: Path) -> None:
    """The state (a cache of hashes) goes on without its database; the remote index (which
    must not miss a removal) fails with a DiskError naming it, never an sqlite3 error."""
    from freight.inventory import RemoteIndex
    from freight.state import State

    (tmp_path / "tmp" / "freight" / "remotes").mkdir(parents=True)
    (tmp_path / "f").write_bytes(b"x")
    with _read_only(tmp_path / "tmp"):
        state = State(tmp_path / "tmp" / "state.db")
        st = (tmp_path / "f").stat()
        assert state.get(str(tmp_path / "f"), st) is None
        state.put(str(tmp_path / "f"), st, "0" * 32)
        state.close()
        with pytest.raises(
            DiskError,
            match=r"^Read-only file system: '.*/tmp/freight/remotes/\w+\.db' \(the filesystem",
        ):
            RemoteIndex(tmp_path / "tmp", "/some/remote")
