"""The example's scratch project: another team versions `data/raw` and `data/labels.csv`
with freight and pushes them to a local-folder remote; the workspace is a Git clone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import freight

ORIGIN = "https://github.com/example/freight-dagster-example.git"


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "example", "GIT_AUTHOR_EMAIL": "e@example.com"}
    env.update(GIT_COMMITTER_NAME="example", GIT_COMMITTER_EMAIL="e@example.com")
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def make_project(scratch: Path) -> tuple[Path, Path]:
    """Returns (the workspace, the remote): the remote holds everything, the workspace
    only the metafiles (what a `git clone` brings)."""
    upstream, remote, workspace = scratch / "upstream", scratch / "remote", scratch / "workspace"
    upstream.mkdir(parents=True)
    git(upstream, "init", "-q", "-b", "main")
    git(upstream, "remote", "add", "origin", ORIGIN)
    raw = upstream / "data" / "raw"
    raw.mkdir(parents=True)
    for i in range(3):
        (raw / f"part-{i}.csv").write_text("".join(f"{i},{j},{i * j}\n" for j in range(10 + i)))
    (upstream / "data" / "labels.csv").write_text("id,label\n0,cat\n1,dog\n")
    with freight.Repo.init(upstream) as repo:
        repo.add(["data/raw", "data/labels.csv"])
    meta = upstream / "data" / "raw.dvc"
    meta.write_text(meta.read_text().replace("  path:", "  desc: Raw sensor parts\n  path:"))
    config = {"core": {"remote": "team"}, "remote": {"team": {"url": str(remote)}}}
    with freight.Repo(upstream, config=config) as repo:
        repo.push().raise_for_failures()
    git(upstream, "add", "-A")
    git(upstream, "commit", "-q", "-m", "raw data")
    git(scratch, "clone", "-q", str(upstream), str(workspace))
    git(workspace, "remote", "set-url", "origin", ORIGIN)
    return workspace, remote
