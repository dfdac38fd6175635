"""`FreightResource.overlay()`: fields to DVC's option names, credentials by scheme."""

from __future__ import annotations

from pathlib import Path

import freight
import pytest
from dagster_freight import FreightResource
from dagster_support import clone


def test_overlay_maps_fields_to_dvc_options(seeded: tuple[Path, Path], tmp_path: Path) -> None:
    upstream, remote = seeded
    work = clone(upstream, tmp_path / "work")
    s3 = FreightResource(
        repo_path=str(work),
        remote_url="s3://bucket/dvc",
        remote_options={"endpointurl": "http://127.0.0.1:9", "region": "eu-west-1"},
        login="KEY",
        password="SECRET",
    )
    assert s3.overlay() == {
        "core": {"remote": "freight"},
        "remote": {
            "freight": {
                "url": "s3://bucket/dvc",
                "endpointurl": "http://127.0.0.1:9",
                "region": "eu-west-1",
                "access_key_id": "KEY",
                "secret_access_key": "SECRET",
            }
        },
    }
    ssh = FreightResource(repo_path=str(work), remote_url="ssh://host/p", password="pw")
    assert ssh.overlay()["remote"]["freight"] == {"url": "ssh://host/p", "password": "pw"}
    local = FreightResource(repo_path=str(work), remote_url=str(remote), login="x")
    with pytest.raises(freight.ConfigError, match="'local' remote takes no login"):
        local.overlay()

    # completing a remote of the repository's own config (it names the URL)
    (work / ".dvc" / "config").write_text(
        f"[core]\n    remote = store\n['remote \"store\"']\n    url = {remote}\n"
    )
    completing = FreightResource(repo_path=str(work), remote_options={"jobs": "2"})
    assert completing.overlay() == {"remote": {"store": {"jobs": "2"}}}
    named = FreightResource(repo_path=str(work), remote="Store")
    assert named.remote_name == "store" and named.overlay() == {"remote": {"store": {}}}
    assert named.cloud_status(["model.bin"]).remote == "store"
    bare = FreightResource(repo_path=str(clone(upstream, tmp_path / "bare")), login="k")
    with pytest.raises(freight.RemoteNotFoundError):
        bare.overlay()
