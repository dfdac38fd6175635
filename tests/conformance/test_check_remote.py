"""`Repo.check_remote`: a connection test that reaches a remote and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from freight import ConfigError, RemoteError, Repo
from storage_servers import Server, make_bucket


def overlay(server: Server, bucket: str) -> dict[str, object]:
    options = {"url": f"s3://{bucket}/store", **server.dvc_options}
    return {"core": {"remote": "s3"}, "remote": {"s3": options}}


def test_reaches_a_real_bucket_and_refuses_a_missing_one(moto_s3: Server, tmp_path: Path) -> None:
    Repo.init(tmp_path, no_scm=True).close()
    with Repo(tmp_path, config=overlay(moto_s3, make_bucket(moto_s3))) as repo:
        assert repo.default_remote == "s3"
        assert repo.check_remote() == "s3"
    missing = Repo(tmp_path, config=overlay(moto_s3, "no-such-bucket-here"))
    with missing, pytest.raises(RemoteError, match="no-such-bucket-here"):
        missing.check_remote()


def test_local_and_unconfigured(tmp_path: Path) -> None:
    Repo.init(tmp_path, no_scm=True).close()
    with Repo(tmp_path) as repo:
        assert repo.default_remote is None
        with pytest.raises(ConfigError, match="no remote"):
            repo.check_remote()
    remote = {"remote": {"here": {"url": str(tmp_path / "store")}}}
    with Repo(tmp_path, config=remote) as repo:
        assert repo.check_remote("here") == "here"
    assert not (tmp_path / "store").exists()  # nothing was created
