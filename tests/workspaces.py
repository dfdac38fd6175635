"""Scratch workspaces for tests: a no-SCM repository with some files, a clone of one (its
`.dvc` files only, as a `git clone` brings them), a Git + DVC repository with an origin,
and the real DVC pulling one from the S3 test server."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from freight import Repo


def workspace(path: Path, files: dict[str, bytes]) -> Path:
    path.mkdir()
    Repo.init(path, no_scm=True).close()
    for rel, data in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    return path


def clone(src: Path, dest: Path) -> Path:
    workspace(dest, {})
    for metafile in (p for p in src.glob("*.dvc") if p.is_file()):
        shutil.copy(metafile, dest)
    return dest


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout


def git_repo(path: Path, files: dict[str, bytes], origin: str) -> Path:
    """A Git + DVC repository whose origin is `origin`, with `files` written (not added)."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "remote", "add", "origin", origin)
    Repo.init(path).close()
    for rel, data in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    return path


def dvc_pull_s3(dvc_bin: str, repo: Path, url: str, endpoint: str) -> None:
    """The real DVC pulls `repo` from `url` on the S3 test server (its own credentials,
    in its own environment)."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DVC_NO_ANALYTICS": "1",
        "PATH": "/usr/bin:/bin",
        "HOME": str(repo.parent),
    }
    for args in (
        ["remote", "add", "--local", "-f", "-d", "s3", url],
        ["remote", "modify", "--local", "s3", "endpointurl", endpoint],
        ["pull"],
    ):
        proc = subprocess.run(
            [dvc_bin, *args], cwd=repo, env=env, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
