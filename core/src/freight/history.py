"""Outputs declared in Git history, for `-a/--all-branches`, `-T/--all-tags` and
`-A/--all-commits`, read straight from Git's object store without a checkout.

One `git ls-tree` per revision finds the metafiles; one long-lived `git cat-file --batch`
reads their blobs, and each distinct blob is parsed once, so walking many commits that
share most of their metafiles stays cheap.
"""

from __future__ import annotations

import posixpath
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import GitError
from .metafiles import load_vars, load_yaml, parse_dvcfile
from .model import Output
from .pipeline import LOCKFILE, parse_lock
from .stages import VarsReader


def _git(git_root: Path, *args: str) -> bytes:
    git = shutil.which("git")
    if git is None:
        raise GitError("reading other revisions needs 'git' on PATH")
    proc = subprocess.run([git, *args], cwd=git_root, capture_output=True, check=False)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {message[-1] if message else proc.returncode}")
    return proc.stdout


def revisions(
    git_root: Path, *, all_branches: bool = False, all_tags: bool = False, all_commits: bool = False
) -> list[str]:
    """Commit ids selected by the flags (branch and tag tips, or every commit)."""
    if all_commits:
        args = ["rev-list", "--all"]
    else:
        refs = (["--branches"] if all_branches else []) + (["--tags"] if all_tags else [])
        if not refs:
            return []
        args = ["rev-list", "--no-walk", *refs]
    return list(dict.fromkeys(_git(git_root, *args).decode().split()))


class _Blobs:
    """A `git cat-file --batch` process: blob contents by object id."""

    def __init__(self, git_root: Path) -> None:
        git = shutil.which("git") or "git"
        self._proc = subprocess.Popen(
            [git, "cat-file", "--batch"],
            cwd=git_root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def read(self, oid: str) -> bytes:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(oid.encode() + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().split()
        if len(header) != 3:
            raise GitError(f"git cat-file could not read object {oid}")
        data = self._proc.stdout.read(int(header[2]))
        self._proc.stdout.read(1)  # the newline after each object
        return data

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait()


def _metafiles(git_root: Path, prefix: str, rev: str) -> Iterator[tuple[str, str]]:
    """(path relative to the DVC root, blob id) of every metafile and `dvc.yaml` at `rev`."""
    args = ["ls-tree", "-r", "-z", "--full-tree", rev]
    for record in _git(git_root, *args, *([prefix] if prefix else [])).split(b"\0"):
        if not record:
            continue
        meta, _, raw = record.partition(b"\t")
        kind, oid = meta.split()[1:3]
        path = raw.decode("utf-8", "surrogateescape")
        rel = posixpath.relpath(path, prefix) if prefix else path
        name = posixpath.basename(rel)
        if kind != b"blob" or rel.startswith(".dvc/"):
            continue
        if (name.endswith(".dvc") and name != ".dvc") or name in (LOCKFILE, "dvc.yaml"):
            yield rel, oid.decode()


def outputs_at_revisions(root: Path, git_root: Path, revs: list[str]) -> list[Output]:
    """Outputs declared at each revision (in order, duplicates dropped).

    Metafiles inside `.dvcignore`d folders are read too: the ignore rules of each
    revision are not evaluated, and an ignored metafile in history is rare.
    """
    prefix = root.relative_to(git_root).as_posix()
    prefix = "" if prefix == "." else prefix
    parsed: dict[tuple[str, str], Any] = {}
    blobs = _Blobs(git_root)
    outputs: dict[Output, None] = {}

    def load(rel: str, oid: str, rev: str) -> Any:
        if (rel, oid) not in parsed:
            parsed[rel, oid] = load_yaml(blobs.read(oid), f"{rel} (in revision {rev[:7]})")
        return parsed[rel, oid]

    def reader(rev: str) -> VarsReader:
        """Variables files (`params.yaml`, `vars`) as they are at `rev`."""

        def read(rel: str) -> Any:
            try:
                data = blobs.read(f"{rev}:{posixpath.join(prefix, rel)}")
            except GitError:  # not in that revision
                return None
            return load_vars(data, rel, f"{rel} (in revision {rev[:7]})")

        return read

    try:
        for rev in revs:
            files = dict(_metafiles(git_root, prefix, rev))
            for rel, oid in files.items():
                name = posixpath.basename(rel)
                if name == "dvc.yaml":
                    continue
                if name == LOCKFILE:
                    yaml_rel = posixpath.join(posixpath.dirname(rel), "dvc.yaml")
                    stages = files.get(yaml_rel)
                    definition = load(yaml_rel, stages, rev) if stages else None
                    found = parse_lock(load(rel, oid, rev), rel, definition, reader(rev))
                else:
                    found = parse_dvcfile(load(rel, oid, rev), rel)
                outputs.update(dict.fromkeys(found))
    finally:
        blobs.close()
    return list(outputs)
