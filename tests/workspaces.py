"""Scratch workspaces for tests: a no-SCM repository with some files, and a clone of one
(its `.dvc` files only, as a `git clone` brings them)."""

from __future__ import annotations

import shutil
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
