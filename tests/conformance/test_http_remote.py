"""A read-only HTTP remote (rangehttpserver on 127.0.0.1) serving a folder that freight
pushed to as a local remote: pull, granular pull and status -c over HTTP; push refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from conformance.test_remotes import FILES, _configure, fresh, read, workspace
from freight import Repo
from freight.errors import ConfigError
from storage_servers import Server


def test_pull_over_http(tmp_path: Path, http_server: Server) -> None:
    assert http_server.root is not None
    folder = http_server.root / tmp_path.name
    src = workspace(tmp_path / "src", _configure(str(folder), {}, {}), FILES)
    src.add(["data", "solo.bin"])
    assert src.push().ok
    over_http = _configure(f"{http_server.endpoint}/{tmp_path.name}", {}, {})

    part = fresh(tmp_path / "src", tmp_path / "part", over_http)
    assert part.pull(["data/sub"]).transferred == 2  # the .dir and b.txt
    assert read(tmp_path / "part") == {"data/sub/b.txt": FILES["data/sub/b.txt"]}

    dest = fresh(tmp_path / "src", tmp_path / "dest", over_http)
    assert set(dest.cloud_status().changes.values()) == {"deleted"}
    assert dest.pull().ok
    assert read(tmp_path / "dest") == FILES
    assert dest.cloud_status().clean

    (tmp_path / "dest/solo.bin").write_bytes(b"new")
    dest.add(["solo.bin"])
    assert dest.cloud_status().changes == {"solo.bin": "new"}
    with pytest.raises(ConfigError, match="read-only"):
        dest.push()


def test_corrupt_and_lost_objects_over_http(tmp_path: Path, http_server: Server) -> None:
    assert http_server.root is not None
    folder = http_server.root / tmp_path.name
    src = workspace(tmp_path / "src", _configure(str(folder), {}, {}), FILES)
    src.add(["data", "solo.bin"])
    src.push()
    objects = {p.name: p for p in folder.rglob("*") if p.is_file()}
    solo = hashlib.md5(b"solo").hexdigest()
    b_txt = hashlib.md5(FILES["data/sub/b.txt"]).hexdigest()
    objects[solo[2:]].chmod(0o644)
    objects[solo[2:]].unlink()
    objects[b_txt[2:]].chmod(0o644)
    objects[b_txt[2:]].write_bytes(b"tampered")
    over_http = _configure(f"{http_server.endpoint}/{tmp_path.name}", {}, {})
    dest = fresh(tmp_path / "src", tmp_path / "dest", over_http)
    changes = dest.cloud_status().changes
    assert changes.pop("solo.bin") == "missing"
    assert set(changes.values()) == {"deleted"}  # the rest is there to fetch
    result = dest.pull()
    assert [(f.path, f.kind) for f in result.failed] == [("data/sub/b.txt", "ObjectCorruptedError")]
    assert [f.path for f in result.missing] == ["solo.bin"]
    assert result.checkout is not None and not result.checkout.ok
    assert not (tmp_path / "dest/data/sub/b.txt").exists()
    assert not (tmp_path / "dest/solo.bin").exists()
    assert (tmp_path / "dest/data/a.txt").read_bytes() == FILES["data/a.txt"]
    assert not Repo(tmp_path / "dest").cache.exists(b_txt)


@pytest.mark.parametrize("server", ["http_server", "plain_http_server"])
def test_objects_around_the_size_read_in_one_request_over_http(
    tmp_path: Path, server: str, request: pytest.FixtureRequest
) -> None:
    """Objects up to 1 MiB are read with one ranged GET, the rest of a bigger one with a
    second: on a server with ranges and on one without (Python's http.server, which answers
    every GET whole), every size arrives whole and verified."""
    http: Server = request.getfixturevalue(server)
    assert http.root is not None
    whole = 1 << 20
    sizes = [0, 1, whole - 1, whole, whole + 1, 3 * whole + 5]
    files = {f"data/{n}.bin": os.urandom(n) for n in sizes}
    src = workspace(tmp_path / "src", _configure(str(http.root / tmp_path.name), {}, {}), files)
    src.add(["data"])
    assert src.push().ok
    over_http = _configure(f"{http.endpoint}/{tmp_path.name}", {}, {})
    dest = fresh(tmp_path / "src", tmp_path / "dest", over_http)
    pulled = dest.pull()
    assert pulled.ok and pulled.transferred == len(sizes) + 1
    assert {rel: (tmp_path / "dest" / rel).read_bytes() for rel in files} == files
