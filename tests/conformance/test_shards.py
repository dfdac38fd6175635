"""Transfer plans fanned out over concurrent processes, on a local folder and on S3.

Each shard runs in its own process (its own `Repo`), all at once. Writes are counted
outside freight: on a local folder with inotify (every object lands by a rename, so each
write is one IN_MOVED_TO of its final name; a direct write would be an IN_CREATE), on S3
by a proxy that logs every request the shard processes make. From those counts: every
object of the plan is written exactly once, by the shard that lists it, and no `.dir`
before the final ordinary push.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from faulty_proxy import recording_proxy
from freight import (
    ConfigError,
    PlanError,
    Repo,
    RepoLockedError,
    StalePlanError,
    TransferPlan,
    TransferResult,
)
from freight.config import read_level, write_level
from freight.inventory import RemoteIndex
from freight.lock import repo_lock
from storage_servers import Server, make_bucket, s3_client

TIMEOUT = 300  # seconds, per shard process


def dataset(seed: int = 7) -> dict[str, bytes]:
    """Two directories and a file; sizes from 0 to 24 KiB, one duplicate, one empty file."""
    rng = random.Random(seed)
    files = {
        f"data/{i // 40:02d}/{i:04d}.bin": rng.randbytes(rng.randrange(24_576)) for i in range(200)
    }
    files["data/dup.bin"] = files["data/00/0000.bin"]
    files["data/empty"] = b""
    files.update({f"more/{i:03d}.txt": f"line {i}\n".encode() * i for i in range(1, 41)})
    files["solo.bin"] = rng.randbytes(100_000)
    return files


TARGETS = ["data", "more", "solo.bin"]


# -- counting writes ---------------------------------------------------------------------

IN_MOVED_TO, IN_CREATE, IN_Q_OVERFLOW = 0x80, 0x100, 0x4000
_EVENT = ctypes.sizeof(ctypes.c_int) + 3 * ctypes.sizeof(ctypes.c_uint32)


class Inotify:
    """Counts the final names written below `root`/files/md5/xx (all 256 watched)."""

    def __init__(self, root: Path) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        self.dirs: dict[int, str] = {}
        for n in range(256):
            prefix = root / "files" / "md5" / f"{n:02x}"
            prefix.mkdir(parents=True, exist_ok=True)
            wd = self._libc.inotify_add_watch(self.fd, os.fsencode(prefix), IN_MOVED_TO | IN_CREATE)
            assert wd >= 0, os.strerror(ctypes.get_errno())
            self.dirs[wd] = f"files/md5/{n:02x}"
        self.writes: Counter[str] = Counter()
        self.overflow = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._drain(0.05)
        self._drain(0)

    def _drain(self, wait: float) -> None:
        while select.select([self.fd], [], [], wait)[0]:
            data = os.read(self.fd, 1 << 16)
            pos = 0
            while pos < len(data):
                wd, mask, _cookie, size = (
                    int.from_bytes(data[pos : pos + 4], sys.byteorder, signed=True),
                    *(
                        int.from_bytes(data[pos + 4 * k : pos + 4 * k + 4], sys.byteorder)
                        for k in (1, 2, 3)
                    ),
                )
                name = data[pos + _EVENT : pos + _EVENT + size].rstrip(b"\0").decode()
                pos += _EVENT + size
                if mask & IN_Q_OVERFLOW:
                    self.overflow = True
                elif not name.startswith("."):  # temporary names start with a dot
                    self.writes[f"{self.dirs[wd]}/{name}"] += 1
            wait = 0

    def snapshot(self) -> Counter[str]:
        """The counts so far (after the writers are gone)."""
        self._drain(0.2)
        return Counter(self.writes)

    def close(self) -> Counter[str]:
        self._stop.set()
        self._thread.join(10)
        os.close(self.fd)
        assert not self.overflow, "inotify queue overflowed: counts incomplete"
        return self.writes


def object_requests(log: list[tuple[str, str]], method: str) -> Counter[str]:
    """Requests of `method` per object key (`files/md5/...`), list requests left out."""
    found: Counter[str] = Counter()
    for verb, path in log:
        where, _, _query = path.partition("?")
        if verb == method and "/files/md5/" in where:
            found["files/md5/" + where.split("/files/md5/", 1)[1]] += 1
    return found


# -- remotes -------------------------------------------------------------------------------


@dataclass
class Remote:
    """A remote for one test: how to configure a workspace, and what it holds."""

    url: str
    options: dict[str, str]
    secrets: dict[str, str]
    held: Callable[[], set[str]]
    proxy: Any = None
    local: Path | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def configure(self, root: Path) -> None:
        dvc = root / ".dvc"
        repo = read_level("repo", dvc)
        repo.setdefault("core", {})["remote"] = "r"
        repo['remote "r"'] = {"url": self.url, **self.options}
        write_level("repo", dvc, repo)
        if self.secrets:
            write_level("local", dvc, {'remote "r"': self.secrets})

    def uploads(self) -> AbstractContextManager[Callable[[], Counter[str]]]:
        """Count object writes to the remote during the block."""
        return self._count("PUT", self.local)

    @contextmanager
    def _count(self, method: str, folder: Path | None) -> Iterator[Callable[[], Counter[str]]]:
        if folder is not None:
            watcher = Inotify(folder)
            try:
                yield watcher.snapshot
            finally:
                watcher.close()
        else:
            start = len(self.proxy.log)
            yield lambda: object_requests(self.proxy.log[start:], method)

    def downloads(self, cache: Path) -> AbstractContextManager[Callable[[], Counter[str]]]:
        """Count objects arriving: in the cache (local remote: renames) or GETs (S3)."""
        return self._count("GET", cache if self.local is not None else None)


def local_keys(root: Path) -> Callable[[], set[str]]:
    def keys() -> set[str]:
        return {
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        }

    return keys


@pytest.fixture(params=["local", "s3"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Remote]:
    if request.param == "local":
        folder = tmp_path / "remote"
        folder.mkdir()
        yield Remote(str(folder), {}, {}, local_keys(folder), local=folder)
        return
    server: Server = request.getfixturevalue("moto_s3")
    bucket = make_bucket(server)
    client = s3_client(server)

    def keys() -> set[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="store/")
        return {o["Key"][len("store/") :] for page in pages for o in page.get("Contents", [])}

    with recording_proxy(server.endpoint) as proxy:
        host, port = proxy.server_address[:2]
        options = {"endpointurl": f"http://{host}:{port}", "region": "us-east-1"}
        secrets = {k: v for k, v in server.dvc_options.items() if "key" in k}
        yield Remote(f"s3://{bucket}/store", options, secrets, keys, proxy=proxy)


# -- workspaces and shard processes -------------------------------------------------------------


def workspace(root: Path, remote: Remote, files: dict[str, bytes]) -> Repo:
    root.mkdir(parents=True)
    Repo.init(root, no_scm=True).close()
    remote.configure(root)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return Repo(root)


def clone(src: Path, dest: Path, remote: Remote, cache: Path | None = None) -> Repo:
    repo = workspace(dest, remote, {})
    repo.close()
    for dvcfile in (p for p in src.glob("*.dvc") if p.is_file()):
        (dest / dvcfile.name).write_bytes(dvcfile.read_bytes())
    if cache is not None:  # DVC's shared cache: `cache.dir` and `cache.shared = group`
        level = read_level("repo", dest / ".dvc")
        level["cache"] = {"dir": str(cache), "shared": "group"}
        write_level("repo", dest / ".dvc", level)
    return Repo(dest)


SHARD = """
import json, os, signal, sys
from freight import Callback, Repo

root, direction, shard_file, out_file, kill_after = sys.argv[1:6]

class Killer(Callback):
    def call(self, *args, **kwargs):
        if int(kill_after) and self.value >= int(kill_after):
            os.kill(os.getpid(), signal.SIGKILL)  # part-way, no cleanup

with Repo(root) as repo:
    run = repo.push if direction == "push" else repo.fetch
    result = run(shard=json.loads(open(shard_file).read()), callback=Killer())
open(out_file, "w").write(json.dumps(result.to_dict()))
"""


def start(
    root: Path, direction: str, shard: dict[str, Any], work: Path, kill_after: int = 0
) -> tuple[subprocess.Popen[bytes], Path]:
    work.mkdir(parents=True, exist_ok=True)
    n = shard["shard"]
    shard_file, out = work / f"shard-{n}.json", work / f"result-{n}.json"
    shard_file.write_text(json.dumps(shard))  # what an orchestrator passes: JSON
    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-c", SHARD, str(root), direction, str(shard_file), str(out)]
    proc = subprocess.Popen(
        [*cmd, str(kill_after)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    return proc, out


def run_all(jobs: list[tuple[Path, str, dict[str, Any]]], work: Path) -> list[dict[str, Any]]:
    """Start every shard process at once, wait for all; their results (as dicts)."""
    started = [start(root, direction, shard, work) for root, direction, shard in jobs]
    results = []
    for proc, out in started:
        try:
            output, _ = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail("a shard process did not finish")
        assert proc.returncode == 0, output.decode(errors="replace")[-3000:]
        results.append(json.loads(out.read_text()))
    return results


def planned(plan: TransferPlan) -> list[set[str]]:
    """The object keys of each shard."""
    return [{f"files/md5/{o.oid[:2]}/{o.oid[2:]}" for o in part.objs()} for part in plan.parts]


def check_disjoint_cover(plan: TransferPlan, expected: set[str]) -> None:
    parts = planned(plan)
    assert sum(len(p) for p in parts) == len(set().union(*parts)) == plan.objects  # no overlap
    assert set().union(*parts) == expected


def dir_keys(keys: set[str]) -> set[str]:
    return {k for k in keys if k.endswith(".dir")}


# -- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("shards", [4, 8])
def test_concurrent_push_shards_write_each_object_once(
    tmp_path: Path, remote: Remote, shards: int
) -> None:
    files = dataset()
    repo = workspace(tmp_path / "src", remote, files)
    repo.add(TARGETS)
    plan = repo.plan("push", TARGETS, shards=shards)
    cache_keys = {
        p.relative_to(repo.cache.root).as_posix() for p in repo.cache.root.rglob("*") if p.is_file()
    }
    file_keys = {k for k in cache_keys if not k.endswith(".dir")}
    assert len(file_keys) == 200 + 1 + 40 + 1  # the duplicate is one object; empty is one
    check_disjoint_cover(plan, file_keys)
    assert min(plan.shard_objects) >= 0.8 * len(file_keys) / shards  # balanced by count
    assert max(plan.shard_bytes) < 1.5 * plan.bytes / shards

    asked = len(remote.proxy.log) if remote.proxy else 0
    with remote.uploads() as writes:
        results = run_all([(repo.root, "push", s) for s in plan.shards], tmp_path / "work")
        counted = writes()
    if remote.proxy is not None:  # the plan asked the remote; the shards only upload
        assert len(remote.proxy.log) - asked == len(file_keys)
    for part, result in zip(planned(plan), results, strict=True):
        assert (result["transferred"], result["skipped"]) == (len(part), 0)
        assert result["failed"] == [] and result["missing"] == []
    assert sum(r["bytes"] for r in results) == plan.bytes
    assert counted == Counter(dict.fromkeys(file_keys, 1))  # each object written once
    assert remote.held() == file_keys  # no .dir reached the remote from a shard

    # the index the shards wrote at once is whole and sound
    index = RemoteIndex(repo.tmp_dir, plan_url(repo))
    try:
        assert index.known(file_keys) == file_keys
    finally:
        index.close()
    for db in (repo.tmp_dir / "freight" / "remotes").glob("*.db"):
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)

    # the final ordinary push uploads only the .dirs, asking nothing about the files
    with remote.uploads() as writes:
        before = len(remote.proxy.log) if remote.proxy else 0
        final = repo.push(TARGETS)
        counted = writes()
    dirs = dir_keys(cache_keys)
    assert final.ok and final.transferred == len(dirs) == 2
    assert counted == Counter(dict.fromkeys(dirs, 1))
    if remote.proxy is not None:
        assert len(remote.proxy.log) - before <= 3 * len(dirs)  # a HEAD and a PUT per .dir
    assert remote.held() == cache_keys
    merged = TransferResult.merge([*(repo_result(r) for r in results), final])
    assert merged.transferred == len(cache_keys) and merged.bytes == final.bytes + plan.bytes
    assert repo.status(cloud=True).clean

    # a fresh workspace pulls it all back
    dest = clone(repo.root, tmp_path / "dest", remote)
    pulled = dest.pull()
    assert pulled.ok and not pulled.missing
    for rel, data in files.items():
        assert (tmp_path / "dest" / rel).read_bytes() == data


def plan_url(repo: Repo) -> str:
    remote = repo._open_remote(None, None)
    try:
        return remote.storage.url
    finally:
        remote.close()


def repo_result(data: dict[str, Any]) -> TransferResult:
    return TransferResult(
        data["direction"],
        data["remote"],
        (),
        data["transferred"],
        data["skipped"],
        data["bytes"],
    )


def test_concurrent_fetch_shards_across_workspaces_sharing_a_cache(
    tmp_path: Path, remote: Remote
) -> None:
    """Two workspaces share one cache (DVC's shared cache, as on two machines): the shards
    run in both at once, each object arrives in the cache once."""
    files = dataset(11)
    src = workspace(tmp_path / "src", remote, files)
    src.add(TARGETS)
    assert src.push().ok
    shared = tmp_path / "shared-cache"
    one = clone(src.root, tmp_path / "one", remote, shared)
    two = clone(src.root, tmp_path / "two", remote, shared)

    plan = one.plan("fetch", TARGETS, shards=6)  # downloads the two .dirs, verified
    assert plan.estimated and not plan.missing and not plan.failed
    everything = {
        p.relative_to(src.cache.root).as_posix() for p in src.cache.root.rglob("*") if p.is_file()
    }
    check_disjoint_cover(plan, {k for k in everything if not k.endswith(".dir")})
    jobs = [(one.root if s["shard"] % 2 else two.root, "fetch", s) for s in plan.shards]
    with remote.downloads(shared) as arrivals:
        results = run_all(jobs, tmp_path / "work")
        counted = arrivals()
    assert counted == Counter(dict.fromkeys(set().union(*planned(plan)), 1))
    for part, result in zip(planned(plan), results, strict=True):
        assert (result["transferred"], result["failed"]) == (len(part), [])

    final = one.fetch(TARGETS)
    assert final.ok and final.transferred == 0 and not final.missing
    for repo in (one, two):
        checked = repo.checkout()
        assert checked.ok
        for rel, data in files.items():
            assert (repo.root / rel).read_bytes() == data


@pytest.mark.parametrize("direction", ["push", "fetch"])
def test_a_killed_shard_is_simply_run_again(tmp_path: Path, remote: Remote, direction: str) -> None:
    """SIGKILL part-way (after 10 objects), then the same shard again: it moves the rest
    and rewrites nothing that had landed."""
    files = dataset(3)
    src = workspace(tmp_path / "src", remote, files)
    src.add(TARGETS)
    if direction == "fetch":
        assert src.push().ok
        repo = clone(src.root, tmp_path / "dest", remote)
        repo.plan("fetch", shards=1)  # the .dirs arrive before the counting starts
        counting = remote.downloads(repo.cache.root)

        def landed() -> set[str]:
            root = repo.cache.root
            return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    else:
        repo = src
        counting = remote.uploads()
        landed = remote.held
    plan = repo.plan(direction, shards=2)
    first = plan.shards[0]
    ours = planned(plan)[0]
    with counting as writes:
        proc, _ = start(repo.root, direction, first, tmp_path / "work", kill_after=10)
        proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == -signal.SIGKILL
        time.sleep(0.5)  # let requests the proxy still relays settle
        there = landed() & ours
        assert 10 <= len(there) < len(ours)
        before = writes()
        results = run_all([(repo.root, direction, first)], tmp_path / "work")
        rerun = writes() - before
    again = results[0]
    assert again["failed"] == [] and again["transferred"] + again["skipped"] == len(ours)
    assert again["skipped"] >= len(there)
    assert not set(rerun) & there  # nothing that had landed is moved again
    assert set(rerun) | there == ours and all(n == 1 for n in rerun.values())
    run_all([(repo.root, direction, plan.shards[1])], tmp_path / "work")
    final = repo.push() if direction == "push" else repo.pull()
    assert final.ok
    assert repo.status(cloud=True).clean
    if direction == "push" and remote.local is not None:  # no partial object under its name
        for key in remote.held():
            data = (remote.local / key).read_bytes()
            name = key.split("/")[-2] + key.split("/")[-1]
            assert hashlib.md5(data).hexdigest() + (".dir" if key.endswith(".dir") else "") == name


@pytest.fixture
def local(tmp_path: Path) -> Remote:
    folder = tmp_path / "remote"
    folder.mkdir()
    return Remote(str(folder), {}, {}, local_keys(folder), local=folder)


def test_a_stale_plan_is_refused_before_anything_moves(tmp_path: Path, local: Remote) -> None:
    repo = workspace(tmp_path / "src", local, dataset())
    repo.add(TARGETS)
    plan = repo.plan("push", ["data"], shards=2)
    shard = json.loads(json.dumps(plan.shards[1]))
    (repo.root / "data" / "00" / "0000.bin").write_bytes(b"changed")
    repo.add(["data"])  # re-added with new data
    with pytest.raises(StalePlanError, match="the outputs of targets data changed") as caught:
        repo.push(shard=shard)
    assert "\n" not in str(caught.value)
    assert local.held() == set()
    # a target that no longer exists makes a plan stale too
    fine = repo.plan("push", ["more"], shards=1).shards[0]
    (repo.root / "more.dvc").unlink()
    with pytest.raises(StalePlanError, match="stale plan: 'more' does not exist"):
        repo.push(shard=fine)
    assert local.held() == set()


def test_a_plan_for_another_remote_or_direction_is_refused(tmp_path: Path, local: Remote) -> None:
    repo = workspace(tmp_path / "src", local, dataset())
    repo.add(TARGETS)
    shard = repo.plan("push", shards=3).shards[0]
    with pytest.raises(PlanError, match="this is a push shard: run it with push"):
        repo.fetch(shard=shard)
    with pytest.raises(PlanError, match="pass shard= alone"):
        repo.push(["data"], shard=shard)
    with pytest.raises(PlanError, match="malformed shard: 'bytes'"):
        repo.push(shard={**shard, "bytes": 1})
    moved = tmp_path / "elsewhere"
    Remote(str(moved), {}, {}, local_keys(moved)).configure(repo.root)
    repo.close()
    repo = Repo(repo.root)
    with pytest.raises(StalePlanError, match="remote 'r' is not the one shard 1/3"):
        repo.push(shard=shard)
    assert local.held() == set() and not moved.exists()
    assert str(local.local) not in json.dumps(shard)  # no local path in a shard


def test_plans_refuse_version_aware_remotes_and_mixed_remotes(
    tmp_path: Path, local: Remote
) -> None:
    repo = workspace(tmp_path / "src", local, dataset())
    repo.add(TARGETS)
    level = read_level("repo", repo.dvc_dir)
    level['remote "r"']["version_aware"] = "true"
    level['remote "other"'] = {"url": str(tmp_path / "other")}
    write_level("repo", repo.dvc_dir, level)
    repo.close()
    repo = Repo(repo.root)
    with pytest.raises(ConfigError, match="'plan' is unsupported for cloud versioned remotes"):
        repo.plan("push")
    dvcfile = repo.root / "solo.bin.dvc"
    dvcfile.write_text(dvcfile.read_text().replace("  path:", "  remote: other\n  path:"))
    with pytest.raises(PlanError, match=r"the targets go to 2 remotes \(other, r\)"):
        repo.plan("push")
    assert repo.plan("push", ["solo.bin"], shards=2).objects == 1
    with pytest.raises(PlanError, match="a plan is for 'push' or 'fetch'"):
        repo.plan("pull")  # type: ignore[arg-type]


def test_fetch_plans_leave_imports_to_the_final_fetch(tmp_path: Path, local: Remote) -> None:
    repo = workspace(tmp_path / "src", local, dataset())
    repo.add(["more"])
    assert repo.push().ok
    (repo.root / "imported.dvc").write_text(
        "md5: 0123456789abcdef0123456789abcdef\nfrozen: true\ndeps:\n"
        "- md5: 2c4a8d5d5cb1b9a1d7d6f6a0e4bb7c6f\n  size: 3\n  path: s3://bucket/x\n"
        "outs:\n- md5: 2c4a8d5d5cb1b9a1d7d6f6a0e4bb7c6f\n  size: 3\n  hash: md5\n"
        "  path: imported\n  push: false\n"
    )
    plan = repo.plan("fetch", shards=2)
    assert {p for part in plan.parts for p, _ in part.outputs} <= {"more"}
    assert not plan.missing and not plan.failed


def test_shards_share_the_lock_and_keep_dvc_and_push_out(tmp_path: Path, local: Remote) -> None:
    repo = workspace(tmp_path / "src", local, dataset())
    repo.add(TARGETS)
    plan = repo.plan("push", shards=2)
    with repo_lock(repo.tmp_dir / "lock", shared=True):  # another shard is running
        first = repo.push(shard=plan.shards[0])  # shards run side by side
        assert first.ok and first.transferred == plan.shard_objects[0]
        with pytest.raises(RepoLockedError):
            repo.push()  # an ordinary push waits for the shards (and gives up)
    with repo_lock(repo.tmp_dir / "lock"), pytest.raises(RepoLockedError):
        repo.push(shard=plan.shards[1])  # an exclusive holder (DVC, a push) keeps shards out


INDEX_WRITER = """
import sys
from pathlib import Path
from freight.inventory import RemoteIndex

tmp, url, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for round in range(40):
    index = RemoteIndex(tmp, url)
    keys = [f"files/md5/{n:02x}/{round:04d}{i:026d}" for i in range(200)]
    index.add(keys)
    assert index.known(keys) == set(keys)
    index.discard(keys[:50])
    index.close()
"""


def test_the_remote_index_takes_concurrent_writers(tmp_path: Path) -> None:
    """Eight processes open, write and read one index at once: none sees 'database is
    locked'."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", INDEX_WRITER, str(tmp_path), "s3://b/p", str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for n in range(8)
    ]
    for proc in procs:
        output, _ = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, output.decode(errors="replace")[-2000:]
    index = RemoteIndex(tmp_path, "s3://b/p")
    try:
        keys = [
            f"files/md5/{n:02x}/{r:04d}{i:026d}"
            for n in range(8)
            for r in range(40)
            for i in range(200)
        ]
        assert len(index.known(keys)) == 8 * 40 * 150
    finally:
        index.close()
