"""Garbage collection: objects no workspace output references, in the cache or a remote.

Deciding is pure (`unused`); listing and deleting are thin. Safety: if a directory output's
`.dir` is missing from the cache its files are unknown, so collection refuses to run
rather than delete objects that may still be in use.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import FreightError, ObjectNotFoundError
from .model import Output
from .odb import Cache
from .transfer import Obj, members

_OBJECT = re.compile(r"^(files/md5/)?[0-9a-f]{2}/[0-9a-f]{30}(\.dir)?$")


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
                raise FreightError(
                    f"cannot collect garbage: the .dir of '{out.path}' ({out.oid}) is not in the "
                    "cache, so its files are unknown. Run `freight fetch` first."
                ) from None
    return keys


def unused(present: Iterable[str], used: set[str]) -> list[str]:
    """Pure: object keys present but not used (anything else is left alone)."""
    return sorted(k for k in present if _OBJECT.match(k) and k not in used)


def cache_keys(root: Path) -> Iterator[str]:
    """Object keys in a local cache (or local remote): both layouts."""
    for base, prefix in ((root / "files" / "md5", "files/md5/"), (root, "")):
        try:
            dirs = os.listdir(base)
        except FileNotFoundError:
            continue
        for name in dirs:
            if len(name) != 2:
                continue
            for obj in os.listdir(base / name):
                yield f"{prefix}{name}/{obj}"


def remove_local(root: Path, keys: Iterable[str]) -> int:
    count = 0
    for key in keys:
        path = root / key
        os.chmod(path, 0o644)
        path.unlink(missing_ok=True)
        count += 1
    return count
