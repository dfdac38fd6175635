"""The local cache: content-addressed objects under `.dvc/cache`, DVC 3 and legacy layouts.

Invariants: an object is written once, through a temporary sibling and a rename, and is
made read-only (0444) before it gets its final name, so a present object is complete.
Objects are verified against their oid when they enter the cache; `verify` re-checks one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import ObjectCorruptedError, ObjectNotFoundError
from .fsutil import tmp_name, umask
from .hashing import md5_bytes, md5_file
from .layout import object_relpath
from .tree import Tree, digest, parse

OBJECT_MODE = 0o444


class Cache:
    """The object database rooted at the cache directory."""

    def __init__(self, root: Path, *, shared: bool = False) -> None:
        self.root = root
        self._dir_mode = 0o2775 if shared else 0o777 & ~umask()
        self._trees: dict[str, Tree] = {}
        self._made: set[str] = set()

    def path(self, oid: str, *, legacy: bool = False) -> Path:
        return self.root / object_relpath(oid, legacy=legacy)

    def exists(self, oid: str, *, legacy: bool = False) -> bool:
        return os.path.isfile(self.path(oid, legacy=legacy))

    def _prepare(self, dest: Path) -> None:
        parent = str(dest.parent)
        if parent not in self._made:
            os.makedirs(parent, mode=self._dir_mode, exist_ok=True)
            self._made.add(parent)

    def add_file(self, src: str, oid: str, *, legacy: bool = False, hardlink: bool = False) -> bool:
        """Store the file at `src` (already hashed to `oid`); False if it was there."""
        dest = self.path(oid, legacy=legacy)
        if dest.exists():
            return False
        self._prepare(dest)
        tmp = tmp_name(dest)
        try:
            if hardlink:
                os.link(src, tmp)
            else:
                shutil.copyfile(src, tmp)
            os.chmod(tmp, OBJECT_MODE)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return True

    def add_bytes(self, data: bytes, oid: str, *, legacy: bool = False) -> bool:
        dest = self.path(oid, legacy=legacy)
        if dest.exists():
            return False
        self._prepare(dest)
        tmp = tmp_name(dest)
        try:
            with open(tmp, "xb") as stream:
                stream.write(data)
            os.chmod(tmp, OBJECT_MODE)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return True

    def add_tree(self, tree: Tree, *, legacy: bool = False) -> str:
        data = tree.serialize()
        oid = digest(data)
        self.add_bytes(data, oid, legacy=legacy)
        self._trees[oid] = tree
        return oid

    def load_tree(self, oid: str, *, legacy: bool = False) -> Tree:
        """Parse the `.dir` object `oid`; raises if it is missing, corrupt or unsafe."""
        tree = self._trees.get(oid)
        if tree is not None:
            return tree
        path = self.path(oid, legacy=legacy)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ObjectNotFoundError(f"{oid} is not in the cache ({path})") from None
        if digest(data) != oid:
            raise ObjectCorruptedError(oid, digest(data), str(path))
        tree = parse(data, str(path))
        self._trees[oid] = tree
        return tree

    def verify(self, oid: str, *, legacy: bool = False) -> None:
        """Re-hash one object; raises ObjectCorruptedError on mismatch."""
        path = self.path(oid, legacy=legacy)
        if oid.endswith(".dir"):
            actual = md5_bytes(path.read_bytes()) + ".dir"
        else:
            actual = md5_file(path, legacy=legacy)
        if actual != oid:
            raise ObjectCorruptedError(oid, actual, str(path))
