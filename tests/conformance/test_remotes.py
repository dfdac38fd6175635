"""One conformance suite, run on every remote kind against real servers on 127.0.0.1.

push -> fresh workspace -> pull -> byte compare; granular pull; no-op push; status -c in
each state. Each remote kind is a fixture returning the DVC remote options to configure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from faulty_proxy import faulty_proxy
from freight import RemoteError, Repo
from freight.config import read_level, write_level
from storage_servers import Server, make_bucket, make_container, make_gcs_bucket

FILES = {
    "data/a.txt": b"a\n",
    "data/sub/b.txt": b"b\r\nline2\r\n",
    "data/dup a.txt": b"a\n",
    "data/empty": b"",
    "data/\u00fcn\u00ef/\u00e7.bin": bytes(range(256)) * 64,
    "solo.bin": b"solo",
}
Configure = Callable[[Path], None]


def _configure(
    url: str, options: dict[str, str], secrets: dict[str, str], name: str = "r"
) -> Configure:
    def apply(root: Path) -> None:
        dvc = root / ".dvc"
        repo = read_level("repo", dvc)
        repo.setdefault("core", {})["remote"] = name
        repo[f'remote "{name}"'] = {"url": url, **options}
        write_level("repo", dvc, repo)
        if secrets:
            write_level("local", dvc, {f'remote "{name}"': secrets})

    return apply


@pytest.fixture
def local_remote(tmp_path: Path) -> Configure:
    return _configure(str(tmp_path / "remote"), {}, {})


def _s3(server: Server, extra: dict[str, str]) -> Configure:
    bucket = make_bucket(server)
    opts = {k: v for k, v in server.dvc_options.items() if "key" not in k}
    secrets = {k: v for k, v in server.dvc_options.items() if "key" in k}
    return _configure(f"s3://{bucket}/store", {**opts, **extra}, secrets)


@pytest.fixture
def s3_obstore(moto_s3: Server) -> Configure:
    return _s3(moto_s3, {})


@pytest.fixture
def s3_fsspec(moto_s3: Server) -> Configure:
    return _s3(moto_s3, {"acl": "private"})  # an option obstore cannot express: s3fs path


@pytest.fixture
def seaweedfs(seaweedfs_s3: Server) -> Configure:
    return _s3(seaweedfs_s3, {})


@pytest.fixture
def gcs(fake_gcs: Server) -> Configure:
    return _configure(f"gs://{make_gcs_bucket(fake_gcs)}/store", fake_gcs.dvc_options, {})


@pytest.fixture
def azure(azurite: Server) -> Configure:
    return _configure(f"azure://{make_container(azurite)}/store", {}, azurite.dvc_options)


@pytest.fixture
def ssh(sftp: Server, tmp_path: Path) -> Configure:
    user = {"user": sftp.dvc_options["user"]}
    secret = {"password": sftp.dvc_options["password"]}
    return _configure(f"{sftp.endpoint}/{tmp_path.name}/store", user, secret)


@pytest.fixture
def dav(webdav: Server, tmp_path: Path) -> Configure:
    user = {"user": webdav.dvc_options["user"]}
    secret = {"password": webdav.dvc_options["password"]}
    return _configure(f"{webdav.endpoint}/{tmp_path.name}/store", user, secret)


REMOTES = ["local_remote", "s3_obstore", "s3_fsspec", "seaweedfs", "gcs", "azure", "ssh", "dav"]


@pytest.fixture(params=REMOTES)
def configure(request: pytest.FixtureRequest) -> Configure:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def workspace(root: Path, configure: Configure, files: dict[str, bytes]) -> Repo:
    root.mkdir()
    repo = Repo.init(root, no_scm=True)
    repo.close()
    configure(root)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return Repo(root)


def fresh(src: Path, dest: Path, configure: Configure) -> Repo:
    repo = workspace(dest, configure, {})
    for dvcfile in (p for p in src.glob("*.dvc") if p.is_file()):
        shutil.copy(dvcfile, dest)
    return repo


def read(root: Path) -> dict[str, bytes]:
    return {rel: (root / rel).read_bytes() for rel in FILES if (root / rel).exists()}


def test_push_pull_roundtrip(tmp_path: Path, configure: Configure) -> None:
    src = workspace(tmp_path / "src", configure, FILES)
    src.add(["data", "solo.bin"])
    assert set(src.cloud_status().changes.values()) == {"new"}
    pushed = src.push()
    assert pushed.ok and pushed.transferred == 6  # 4 distinct objects in data, solo, .dir
    assert src.push().transferred == 0  # no-op
    assert src.cloud_status().clean
    dest = fresh(tmp_path / "src", tmp_path / "dest", configure)
    assert set(dest.cloud_status().changes.values()) == {"deleted"}
    pulled = dest.pull()
    assert pulled.ok and pulled.transferred == 5  # status -c already fetched the .dir
    assert read(tmp_path / "dest") == FILES
    assert dest.status().clean and dest.cloud_status().clean


def test_objects_around_the_size_read_in_one_request(tmp_path: Path, configure: Configure) -> None:
    """Objects up to 1 MiB are read with one ranged request, bigger ones streamed: sizes on
    both sides of that bound (and an empty object, which has no byte to ask for) arrive
    whole and verified on every remote."""
    whole = 1 << 20
    sizes = [0, 1, whole - 1, whole, whole + 1, 3 * whole + 5]
    files = {f"data/{n}.bin": os.urandom(n) for n in sizes}
    src = workspace(tmp_path / "src", configure, files)
    src.add(["data"])
    assert src.push().ok
    dest = fresh(tmp_path / "src", tmp_path / "dest", configure)
    pulled = dest.pull()
    assert pulled.ok and pulled.transferred == len(sizes) + 1
    assert {rel: (tmp_path / "dest" / rel).read_bytes() for rel in files} == files


def test_granular_pull(tmp_path: Path, configure: Configure) -> None:
    src = workspace(tmp_path / "src", configure, FILES)
    src.add(["data"])
    src.push()
    dest = fresh(tmp_path / "src", tmp_path / "dest", configure)
    result = dest.pull(["data/sub"])
    assert result.ok and result.transferred == 2  # the .dir and b.txt
    assert read(tmp_path / "dest") == {"data/sub/b.txt": FILES["data/sub/b.txt"]}


def test_status_cloud_states(tmp_path: Path, configure: Configure) -> None:
    src = workspace(tmp_path / "src", configure, FILES)
    src.add(["solo.bin"])
    src.push()
    (tmp_path / "src/solo.bin").write_bytes(b"changed")
    src.add(["solo.bin"])
    assert src.cloud_status().changes == {"solo.bin": "new"}
    obj = src.cache.path(src.outputs()[0].oid or "")
    obj.chmod(0o644)
    obj.unlink()
    assert src.cloud_status().changes == {"solo.bin": "missing"}


@pytest.mark.parametrize("client", ["obstore", "s3fs"])
def test_transient_failures_still_end_complete(
    tmp_path: Path, moto_s3: Server, client: str
) -> None:
    """One request in five fails with 503 SlowDown: push and pull retry and complete."""
    bucket = make_bucket(moto_s3)
    with faulty_proxy(moto_s3.endpoint, every=5) as proxy:
        host, port = proxy.server_address[:2]
        flaky = Server(
            "flaky",
            f"http://{host}:{port}",
            {**moto_s3.dvc_options, "endpointurl": f"http://{host}:{port}"},
        )
        extra = {"acl": "private"} if client == "s3fs" else {}
        opts = {k: v for k, v in flaky.dvc_options.items() if "key" not in k}
        secrets = {k: v for k, v in flaky.dvc_options.items() if "key" in k}
        configure = _configure(f"s3://{bucket}/store", {**opts, **extra}, secrets)
        files = {f"data/{i:03d}.bin": bytes([i]) * (i * 37) for i in range(120)}
        src = workspace(tmp_path / "src", configure, files)
        src.add(["data"])
        assert src.push().ok
        dest = fresh(tmp_path / "src", tmp_path / "dest", configure)
        pulled = dest.pull()
        assert pulled.ok, (pulled.failed, pulled.missing)
        assert proxy.failed > 10
    for rel, data in files.items():
        assert (tmp_path / "dest" / rel).read_bytes() == data


def test_a_refused_login_is_an_error_not_an_empty_remote(webdav: Server, tmp_path: Path) -> None:
    """fsspec's `exists` answers False for any error; a 401 must not read as "absent"."""
    root = tmp_path / "repo"
    root.mkdir()
    Repo.init(root, no_scm=True).close()
    url = f"{webdav.endpoint}/{tmp_path.name}/store"
    _configure(url, {"user": "test"}, {"password": "wrong"})(root)
    (root / "f.txt").write_text("x")
    with Repo(root) as repo:
        repo.add(["f.txt"])
        with pytest.raises(RemoteError, match=r"401|nauthori"):
            repo.status(cloud=True)
        shutil.rmtree(root / ".dvc" / "cache")
        with pytest.raises(RemoteError, match=r"401|nauthori"):
            repo.fetch()  # not "missing everywhere"
