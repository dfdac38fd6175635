"""Broken networks (issue 13): faults between freight and the S3 test server.

Both S3 clients are tried: obstore (the default) and s3fs (selected by an option obstore
cannot express, `acl = private`). A fault-injecting proxy sits between freight and moto
(`faulty_proxy`): connections reset mid-body (downloads and uploads), responses truncated
under a correct status and Content-Length, answers slower than the client's timeout.
Every test checks from outside: the workspace byte for byte, every cache object hashes
to its name (nothing partial enters the cache), and the remote, read with boto3 straight
from the server, holds exactly the expected objects (a retry never duplicates or skips).

- soft faults (one request in SOFT_EVERY): push and pull through the proxy end complete;
- hard faults (every request): the transfer fails naming the objects, after at most
  `ATTEMPTS` tries of each (`freight.storage.RETRIES`), in bounded time;
- a refused connection or an unresolvable host: the command exits non-zero with one
  `ERROR:` line naming the remote, no traceback, in bounded time.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from campaign_scenarios import S3Remote, read_objects, temporaries
from faulty_proxy import faulty_proxy
from freight import Repo
from freight.config import read_level, write_level
from freight.errors import RemoteError
from freight.results import TransferResult
from freight.storage import RETRIES
from storage_servers import Server, make_bucket
from workspaces import clone, workspace

CLIENTS = ("obstore", "s3fs")
ATTEMPTS = RETRIES + 1  # tries of one request, whichever client makes it
#: requests per try at most: an HTTP client sends a request again, once, when the pooled
#: keep-alive connection it used turns out to have dropped (aiohttp, hyper)
RESENT = 2
TIMEOUT = "1"  # read_timeout/connect_timeout (seconds) where an answer is stalled
STALL = 3.0  # seconds a stalled answer waits: past TIMEOUT
BOUND = 45.0  # seconds any faulted command may take before it ends, whatever the fault
SOFT_EVERY = 5  # one object request in this many broken: a flaky network, not a dead one
_rng = random.Random(13)
FILES = {f"data/{i:02d}.bin": _rng.randbytes(_rng.randrange(1, 48 << 10)) for i in range(30)}
FILES["data/empty"] = b""
EMPTY = "files/md5/d4/1d8cd98f00b204e9800998ecf8427e"
#: for the hard faults: few enough that every object is tried at once (s3fs: 16 jobs)
FEW = dict(list(FILES.items())[:12]) | {"data/empty": b""}


def options(endpoint: str, client: str, **extra: str) -> dict[str, str]:
    opts = {
        "endpointurl": endpoint,
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "region": "us-east-1",
        **extra,
    }
    if client == "s3fs":
        opts["acl"] = "private"  # an option obstore cannot express: the s3fs path
    return opts


def configure(root: Path, url: str, opts: dict[str, str]) -> None:
    dvc = root / ".dvc"
    repo = read_level("repo", dvc)
    repo.setdefault("core", {})["remote"] = "r"
    repo['remote "r"'] = {"url": url, **opts}
    write_level("repo", dvc, repo)


def source(root: Path, url: str, opts: dict[str, str], files: dict[str, bytes]) -> Repo:
    """A workspace with `files` added (not pushed)."""
    workspace(root, files)
    configure(root, url, opts)
    repo = Repo(root)
    repo.add(sorted({rel.split("/")[0] for rel in files}))
    return repo


def fresh(src: Path, dest: Path, url: str, opts: dict[str, str]) -> Repo:
    """A clone of `src` (its `.dvc` files): empty cache, empty workspace."""
    clone(src, dest)
    configure(dest, url, opts)
    return Repo(dest)


def read(root: Path) -> dict[str, bytes]:
    return {rel: (root / rel).read_bytes() for rel in FILES if (root / rel).exists()}


def check_cache(root: Path) -> dict[str, bytes]:
    """Every object in `root`'s cache hashes to its name, and no temporary is left."""
    cache = root / ".dvc" / "cache"
    objects = read_objects(cache)
    for key, data in objects.items():
        oid = key.removeprefix("files/md5/").replace("/", "", 1).removesuffix(".dir")
        assert hashlib.md5(data).hexdigest() == oid, f"{key} in the cache is corrupt"
    assert temporaries(cache) == []
    return objects


def check_remote(remote: S3Remote, expected: dict[str, bytes]) -> None:
    """The remote (read straight from the server) holds exactly `expected`."""
    assert sorted(remote.snapshot()) == sorted(expected)  # no stray key, none missing
    assert remote.objects() == expected


@pytest.fixture
def bucket(moto_s3: Server) -> str:
    return make_bucket(moto_s3)


def _check_failures(result: TransferResult, expected: dict[str, bytes]) -> set[str]:
    """Each failure names an object of `expected` and its path; returns their keys."""
    assert not result.ok
    keys = set()
    for failure in result.failed:
        assert failure.oid and failure.path, failure
        keys.add(f"files/md5/{failure.oid[:2]}/{failure.oid[2:]}")
    assert keys <= set(expected), keys - set(expected)
    return keys


SOFT: dict[str, tuple[dict[str, str], float]] = {
    # fault -> (remote options, seconds a stalled answer waits)
    "reset": ({}, 0.0),  # uploads (cut mid-body, or landed with the answer lost), GETs, HEADs
    "truncate": ({}, 0.0),  # GET bodies cut short under the full Content-Length
    "stall": ({"read_timeout": TIMEOUT, "connect_timeout": TIMEOUT}, STALL),
}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("fault", sorted(SOFT))
@pytest.mark.parametrize("client", CLIENTS)
def test_soft_faults_end_complete(
    tmp_path: Path, moto_s3: Server, bucket: str, client: str, fault: str
) -> None:
    """One object request in SOFT_EVERY faulted, both ways: push and pull retry and end
    complete; nothing partial in the cache; the remote holds exactly the objects."""
    extra, stall = SOFT[fault]
    url = f"s3://{bucket}/store"
    with faulty_proxy(
        moto_s3.endpoint, every=SOFT_EVERY, fault=fault, objects_only=True, stall=stall
    ) as proxy:
        opts = options(proxy.url, client, **extra)
        src = source(tmp_path / "src", url, opts, FILES)
        expected = read_objects(tmp_path / "src" / ".dvc" / "cache")
        pushed = src.push()
        assert pushed.ok, pushed.failed
        assert pushed.transferred == len(expected)
        pushed_faults = proxy.failed
        dest = fresh(tmp_path / "src", tmp_path / "dest", url, opts)
        pulled = dest.pull()
        assert pulled.ok, (pulled.failed, pulled.missing)
        assert pulled.transferred == len(expected)  # nothing skipped
        if fault != "truncate":  # an upload's answer has no body to truncate
            assert pushed_faults > 0
        assert proxy.failed > pushed_faults  # the pull was faulted too
    assert read(tmp_path / "dest") == FILES
    assert check_cache(tmp_path / "dest") == expected
    check_remote(S3Remote(moto_s3, bucket, "store"), expected)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("fault", ["reset", "truncate", "stall"])
@pytest.mark.parametrize("client", CLIENTS)
def test_every_download_faulted_fails_naming_the_objects(
    tmp_path: Path, moto_s3: Server, bucket: str, client: str, fault: str
) -> None:
    """Every GET broken: the pull fails in bounded time, after at most ATTEMPTS tries of
    each object, naming them; nothing partial enters the cache or the workspace."""
    url = f"s3://{bucket}/store"
    extra, stall = SOFT[fault]
    src = source(tmp_path / "src", url, options(moto_s3.endpoint, client), FEW)
    assert src.push().ok
    expected = read_objects(tmp_path / "src" / ".dvc" / "cache")
    with faulty_proxy(
        moto_s3.endpoint, every=1, fault=fault, methods={"GET"}, objects_only=True, stall=stall
    ) as proxy:
        dest = fresh(tmp_path / "src", tmp_path / "dest", url, options(proxy.url, client, **extra))
        (tree,) = [k for k in expected if k.endswith(".dir")]  # known: its files are tried
        (tmp_path / "dest/.dvc/cache" / tree).parent.mkdir(parents=True)
        shutil.copy(tmp_path / "src/.dvc/cache" / tree, tmp_path / "dest/.dvc/cache" / tree)
        started = time.monotonic()
        pulled = dest.pull()
        elapsed = time.monotonic() - started
        failed = _check_failures(pulled, expected)
        # only the empty object may arrive: no body to truncate (s3fs never GETs it)
        arrived = set(check_cache(tmp_path / "dest")) - {tree}
        assert arrived <= {EMPTY}
        assert failed == set(expected) - {tree} - arrived
        assert 0 < proxy.failed <= RESENT * ATTEMPTS * len(failed), proxy.failed
    assert elapsed < BOUND, elapsed
    have = read(tmp_path / "dest")
    assert all(FILES[rel] == data for rel, data in have.items())  # no partial file


@pytest.mark.timeout(180)
@pytest.mark.parametrize("client", CLIENTS)
def test_every_upload_reset_fails_naming_the_objects(
    tmp_path: Path, moto_s3: Server, bucket: str, client: str
) -> None:
    """Every PUT reset (half of them after the object landed): the push fails naming the
    objects, no `.dir` is uploaded, what landed is whole; a clean push then completes."""
    url = f"s3://{bucket}/store"
    remote = S3Remote(moto_s3, bucket, "store")
    with faulty_proxy(
        moto_s3.endpoint, every=1, fault="reset", methods={"PUT", "POST"}, objects_only=True
    ) as proxy:
        src = source(tmp_path / "src", url, options(proxy.url, client), FEW)
        expected = read_objects(tmp_path / "src" / ".dvc" / "cache")
        started = time.monotonic()
        pushed = src.push()
        elapsed = time.monotonic() - started
        failed = _check_failures(pushed, expected)
        files = {k for k in expected if not k.endswith(".dir")}
        assert files <= failed  # every file failed; its `.dir` is held back
        assert 0 < proxy.failed <= RESENT * ATTEMPTS * len(files), proxy.failed
    assert elapsed < BOUND, elapsed
    landed = remote.objects()
    assert not [k for k in landed if k.endswith(".dir")]
    assert all(expected[k] == data for k, data in landed.items())
    configure(tmp_path / "src", url, options(moto_s3.endpoint, client))
    again = Repo(tmp_path / "src").push()
    assert again.ok and again.transferred + again.skipped == len(expected)
    check_remote(remote, expected)


@pytest.fixture
def refused() -> Iterator[str]:
    """An endpoint where nothing listens (the port is bound, never listened on)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("client", CLIENTS)
def test_an_unreachable_remote_fails_fast_whatever_the_number_of_objects(
    tmp_path: Path, refused: str, client: str
) -> None:
    """One request at a time to a refused port: the first failure ends the query of what
    the remote holds, instead of every object failing after its own retries."""
    src = source(tmp_path / "src", "s3://bucket/store", options(refused, client), FILES)
    started = time.monotonic()
    with pytest.raises(RemoteError, match="s3://bucket/store/files/md5/"):
        src.push(jobs=1)
    assert time.monotonic() - started < 15


@pytest.mark.timeout(180)
@pytest.mark.parametrize("where", ["refused", "dns"])
@pytest.mark.parametrize("client", CLIENTS)
def test_refused_or_unresolvable_remote_is_one_error_line(
    tmp_path: Path, refused: str, client: str, where: str, freight_env: dict[str, str]
) -> None:
    """Nothing listening, or a host name that does not resolve: push and pull exit
    non-zero in bounded time with one `ERROR:` line naming the remote, no traceback."""
    endpoint = refused if where == "refused" else "http://nonexistent.invalid:9000"
    url = "s3://bucket/store"
    files = dict(list(FILES.items())[:6])
    source(tmp_path / "src", url, options(endpoint, client), files).close()
    fresh(tmp_path / "src", tmp_path / "dest", url, options(endpoint, client)).close()
    for verb, root in (("push", "src"), ("pull", "dest")):
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "freight", verb],
            cwd=tmp_path / root,
            env=freight_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        elapsed = time.monotonic() - started
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode != 0, (verb, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(lines) == 1 and lines[0].startswith("ERROR: s3://bucket/store/"), lines
        assert elapsed < BOUND, (verb, elapsed)
    assert read_objects(tmp_path / "dest" / ".dvc" / "cache") == {}
    assert read(tmp_path / "dest") == {}
