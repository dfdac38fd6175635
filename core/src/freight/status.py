"""Workspace status of one output, in DVC's words: `modified`, `deleted`, `not in cache`.

As in DVC, a cached output whose objects are not all in the cache is `not in cache`
whatever the workspace holds; otherwise the workspace is hashed (through the state cache)
and compared with the recorded oid. Empty sub-directories do not count; extra files do.
An output that is not cached (`cache: false`) or has no hash yet (a stage `dvc.lock`
does not record) is never `not in cache`: it is `deleted` when missing, `modified` when
present without a hash, as DVC reports them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .errors import FreightError
from .gcpause import paused
from .ignore import Rules
from .model import Output
from .odb import Cache
from .state import State
from .workspace import FileInfo, hash_files, hash_folder, walk


def is_cached(out: Output, cache: Cache, files: Iterable[str] | None = None) -> bool:
    """Whether every object of `out` (its `.dir` and each file) is in the cache.

    `files` are the md5s a directory lists, when the caller knows them already.
    """
    if out.oid is None or not cache.exists(out.oid, legacy=out.legacy):
        return False
    if not out.is_dir:
        return True
    if files is None:
        try:
            files = [e.md5 for e in cache.load_tree(out.oid, legacy=out.legacy).entries]
        except FreightError:
            return False
    return not cache.missing(files, legacy=out.legacy)


def workspace_hashes(
    root: Path, out: Output, state: State, rules: Rules, *, jobs: int = 4
) -> tuple[str, dict[str, str]] | None:
    """The oid of what the workspace holds at `out.path` and its files' md5s, or None."""
    path = root / out.path
    if path.is_dir():
        files = walk(root, out.path, rules)
        return hash_folder(str(path), files, state, legacy=out.legacy, jobs=jobs)
    if not path.is_file():
        return None
    info = FileInfo(out.path, str(path), path.stat())
    hashes = hash_files([info], state, legacy=out.legacy)
    return hashes[out.path], hashes


@paused()
def output_status(
    root: Path, out: Output, cache: Cache, state: State, rules: Rules, *, jobs: int = 4
) -> str | None:
    """The status word of `out`, or None when it is up to date."""
    current = workspace_hashes(root, out, state, rules, jobs=jobs)
    same = current is not None and current[0] == out.oid
    known = current[1].values() if same and current is not None and out.is_dir else None
    if out.oid is not None and out.cache and not is_cached(out, cache, known):
        return "not in cache"
    if current is None:
        return "deleted"
    if not same:
        return "modified"
    if out.isexec and not out.is_dir and not os.access(root / out.path, os.X_OK):
        return "modified"
    return None
