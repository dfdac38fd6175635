"""Shared fixtures: paths to the DVC fixtures and a real DVC run in an isolated tool env."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT.parent / "shared" / "spec"
FIXTURES = Path(os.environ.get("FREIGHT_FIXTURES", ROOT / "tests" / "fixtures" / "dvc"))
DVC_VERSION = "3.67.1"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


def find_uv() -> str:
    found = os.environ.get("FREIGHT_UV") or shutil.which("uv")
    if found:
        return found
    local = ROOT / ".tools" / "bin" / "uv"
    if local.exists():
        return str(local)
    raise RuntimeError("uv is not installed: run the tests through `python3 dev.py test`")


@pytest.fixture(scope="session")
def dvc_bin() -> str:
    """The real `dvc` executable, installed by uv into an isolated tool environment."""
    proc = subprocess.run(
        [
            find_uv(),
            "tool",
            "run",
            "--from",
            f"dvc[s3]=={DVC_VERSION}",
            "python",
            "-c",
            "import sys; print(sys.prefix)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    dvc = Path(proc.stdout.strip().splitlines()[-1]) / "bin" / "dvc"
    assert dvc.exists(), proc.stderr
    return str(dvc)


@pytest.fixture
def freight_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for subprocesses: no user/system config, no analytics, scratch HOME."""
    home = tmp_path / "_home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(tmp_path / "_site"),
        "DVC_GLOBAL_CONFIG_DIR": str(home / "dvc-global"),
        "DVC_SYSTEM_CONFIG_DIR": str(home / "dvc-system"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return {**os.environ, **env, "PYTHON": sys.executable}


from storage_servers import (  # noqa: E402, F401 - real servers
    azurite,
    fake_gcs,
    http_server,
    moto_s3,
    plain_http_server,
    seaweedfs_s3,
    sftp,
    webdav,
)
