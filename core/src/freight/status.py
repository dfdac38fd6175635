"""Workspace status of one output, in DVC's words: `modified`, `deleted`, `not in cache`.

As in DVC, an output whose objects are not all in the cache is `not in cache` whatever
the workspace holds; otherwise the workspace is hashed (through the state cache) and
compared with the recorded oid. Empty sub-directories do not count; extra files do.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import FreightError
from .ignore import Rules
from .model import Output
from .odb import Cache
from .state import State
from .workspace import FileInfo, build_tree, hash_files, walk


def is_cached(out: Output, cache: Cache) -> bool:
    """Whether every object of `out` (its `.dir` and each file) is in the cache."""
    if out.oid is None:
        return False
    if not cache.exists(out.oid, legacy=out.legacy):
        return False
    if not out.is_dir:
        return True
    try:
        tree = cache.load_tree(out.oid, legacy=out.legacy)
    except FreightError:
        return False
    return all(cache.exists(e.md5, legacy=out.legacy) for e in tree.entries)


def workspace_oid(
    root: Path, out: Output, state: State, rules: Rules, *, jobs: int = 4
) -> str | None:
    """The oid of what the workspace holds at `out.path`, or None if nothing is there."""
    path = root / out.path
    if path.is_dir():
        files = walk(root, out.path, rules)
        return build_tree(hash_files(files, state, legacy=out.legacy, jobs=jobs)).oid()
    if not path.is_file():
        return None
    info = FileInfo(out.path, str(path), path.stat())
    return hash_files([info], state, legacy=out.legacy)[out.path]


def output_status(
    root: Path, out: Output, cache: Cache, state: State, rules: Rules, *, jobs: int = 4
) -> str | None:
    """The status word of `out`, or None when it is up to date."""
    if out.oid is not None and out.cache and not is_cached(out, cache):
        return "not in cache"
    current = workspace_oid(root, out, state, rules, jobs=jobs)
    if current is None:
        return "deleted"
    if current != out.oid:
        return "modified"
    if out.isexec and not out.is_dir and not os.access(root / out.path, os.X_OK):
        return "modified"
    return None
