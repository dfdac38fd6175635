"""Helpers of the Dagster suite: the test project (built once, by freight and the real
DVC), fresh Git clones of it, and reading what Dagster recorded."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import dagster as dg
import freight
from workspaces import git, git_repo

ORIGIN = "https://github.com/example/freight-dagster-test.git"
URI = "freight://github.com/example/freight-dagster-test"
FILES = {
    "data/raw/a.txt": b"hello\n",
    "data/raw/sub/b.csv": b"x,y\n1,2\n3,4\n",
    "model.bin": b"\x00weights\x01" * 300,
}
DVC_YAML = """stages:
  featurize:
    cmd: cat data/raw/a.txt data/raw/sub/b.csv > data/features.csv
    deps: [data/raw]
    outs: [data/features.csv]
"""


def commit(path: Path, message: str = "data") -> str:
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)
    return git(path, "rev-parse", "HEAD").strip()


def make_project(path: Path, dvc_bin: str) -> Path:
    """A Git + DVC project: `data/raw` (a folder, annotated), `model.bin` (a file) and
    `data/features.csv`, written by a `dvc.yaml` stage from `data/raw` (run by DVC)."""
    git_repo(path, FILES, ORIGIN)
    with freight.Repo(path) as repo:
        repo.add(["data/raw", "model.bin"])
    raw = path / "data" / "raw.dvc"
    raw.write_text(
        raw.read_text().replace(
            "  path:",
            "  desc: Raw samples\n  type: dataset\n  labels: [raw]\n"
            "  meta:\n    owner_team: ingest\n    dagster:\n      owners: [team:ingest]\n"
            "  path:",
        )
    )
    (path / "dvc.yaml").write_text(DVC_YAML)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    proc = subprocess.run(
        [dvc_bin, "repro", "-q"], cwd=path, capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    commit(path)
    return path


def push_all(project: Path, remote: Path | str, options: dict[str, Any] | None = None) -> None:
    config = {
        "core": {"remote": "seed"},
        "remote": {"seed": {"url": str(remote), **(options or {})}},
    }
    with freight.Repo(project, config=config) as repo:
        result = repo.push()
    result.raise_for_failures()
    assert not result.missing


def clone(src: Path, dest: Path) -> Path:
    """A fresh clone (metafiles only, no data, no cache), as if cloned from ORIGIN."""
    git(src.parent, "clone", "-q", str(src), str(dest))
    git(dest, "remote", "set-url", "origin", ORIGIN)
    return dest


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def metafile_md5(project: Path, path: str) -> str:
    with freight.Repo(project) as repo:
        return str(repo.catalog().output(path).oid)


def materializations(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """The run's materializations by asset key string."""
    found = [
        e.step_materialization_data.materialization
        for e in result.get_asset_materialization_events()
    ]
    return {m.asset_key.to_user_string(): m for m in found}


def check_results(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], Any]:
    return {
        (c.asset_key.to_user_string(), c.check_name): c
        for c in result.get_asset_check_evaluations()
    }
