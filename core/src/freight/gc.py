"""Garbage collection: objects no workspace output references, in the cache or a remote.

Deciding is pure (`unused`); listing and deleting are thin. Safety: if a directory output's
`.dir` is missing from the cache its files are unknown, so collection refuses to run
rather than delete objects that may still be in use. Only keys that are exactly an object
name (`[files/md5/]<2 hex>/<30 hex>[.dir]`, lower case) are ever deleted: anything else a
listing holds (a README, `runs/`, a stray file in a prefix folder) is left alone, where DVC
deletes every file in a two-character folder. Symlinked prefix folders are not entered.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import FreightError, ObjectNotFoundError
from .model import Output
from .odb import Cache
from .transfer import Obj, members

_OBJECT = re.compile(r"(files/md5/)?[0-9a-f]{2}/[0-9a-f]{30}(\.dir)?")


def used_keys(cache: Cache, outputs: Iterable[Output]) -> set[str]:
    """Keys of every object the outputs reference (files, `.dir`s and their files)."""
    keys: set[str] = set()
    for out in outputs:
        if not out.oid or not out.cache:
            continue
        obj = Obj(out.oid, out.legacy, out.path)
        keys.add(obj.key)
        if out.is_dir:
            try:
                keys.update(m.key for m in members(cache, obj))
            except ObjectNotFoundError:
                where = cache.path(out.oid, legacy=out.legacy)
                raise FreightError(
                    f"cannot collect garbage: the .dir of '{out.path}' ({out.oid}) is not in the "
                    f"cache ('{where}'), so its files are unknown. Run `freight fetch` first."
                ) from None
    return keys


def unused(present: Iterable[str], used: set[str]) -> list[str]:
    """Pure: object keys present but not used (anything else is left alone)."""
    return sorted(k for k in present if _OBJECT.fullmatch(k) and k not in used)


def cache_keys(root: Path) -> Iterator[str]:
    """Keys of the files in a local cache's prefix folders (both layouts).

    Only real two-character folders are entered: a symlinked one leads outside the cache
    (DVC does not follow it either) and a stray file of that name is no folder.
    """
    for base, prefix in ((root / "files" / "md5", "files/md5/"), (root, "")):
        try:
            with os.scandir(base) as it:
                dirs = [e.name for e in it if len(e.name) == 2 and e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            continue
        for name in dirs:
            with os.scandir(base / name) as it:
                yield from (f"{prefix}{name}/{e.name}" for e in it if not e.is_dir())


def remove_local(root: Path, keys: Iterable[str]) -> int:
    count = 0
    for key in keys:
        path = root / key
        if not path.is_symlink():  # a chmod would change the file the link points to
            with contextlib.suppress(FileNotFoundError):
                os.chmod(path, 0o644)
        path.unlink(missing_ok=True)
        count += 1
    return count
