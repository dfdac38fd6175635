"""The local cache: content-addressed objects under `.dvc/cache`, DVC 3 and legacy layouts.

Invariants: an object is written once, through a temporary sibling and a rename, and is
made read-only (0444) before it gets its final name, so a present object is complete.
Objects are verified against their oid when they enter the cache; `verify` re-checks one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ObjectCorruptedError, ObjectNotFoundError
from .fsutil import (
    SETTLE_SIZE,
    drop_tmp,
    named,
    parent,
    refuse_symlinked_folders,
    settled,
    stream_copy,
    tmp_name,
    tmp_path,
)
from .hashing import md5_bytes, md5_file
from .layout import object_relpath
from .tree import Tree, digest, parse

if TYPE_CHECKING:
    from .state import FileStat, State

OBJECT_MODE = 0o444
SHARED_DIR_MODE = 0o2775  # `cache.shared = group` (spec §5.2)
LIST_THRESHOLD = 512  # above this many oids, listing prefix dirs beats one stat each


def _make_shared_dirs(path: str) -> None:
    """Create `path` and its missing parents as DVC does for `cache.shared = group`:
    mode 2775 whatever the umask (mkdir applies the umask and drops the setgid bit, so
    each directory this process creates is chmodded; one another process created is
    chmodded by that process)."""
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue
        os.chmod(directory, SHARED_DIR_MODE)


class Cache:
    """The object database rooted at the cache directory."""

    def __init__(self, root: Path, *, shared: bool = False, state: State | None = None) -> None:
        self.root = root
        self._shared = shared
        self._trees: dict[str, Tree] = {}
        self._made: set[str] = set()
        self._state = state
        #: objects this process downloaded and verified (`vouch`)
        self._verified: set[str] = set()
        self._new_root = str(root / "files" / "md5")
        self._legacy_root = str(root)

    @property
    def shared(self) -> bool:
        """Whether the cache is shared by a group (`cache.shared = group`)."""
        return self._shared

    def vouch(self, oid: str, st: FileStat | None = None) -> None:
        """Remember that object `oid` (not legacy) was just downloaded and verified: a
        checkout in this process then copies it without hashing it again (`pull`)."""
        self._verified.add(oid)
        self.remember(oid, st)

    def remember(self, oid: str, st: FileStat | None) -> None:
        """Keep the hash of a big object that was just hashed as it entered the cache in
        the state cache (`st`: its stat then), for later processes and as long as the
        object stays unchanged: checking out a 1 GiB file after `add` or `fetch` is then a
        kernel copy, not a second md5 pass."""
        if st is not None and self._state is not None and st.st_size >= SETTLE_SIZE:
            self._state.put(self.fspath(oid), st, oid)

    def trusted(self, oid: str) -> bool:
        """Whether object `oid` (not legacy) is known to hold its bytes (`vouch`, or the
        state cache knows it unchanged since it was hashed)."""
        if oid in self._verified:
            return True
        return self._state is not None and self._state.lookup(self.fspath(oid)) == oid

    def trusted_many(self, oids: Sequence[str]) -> list[bool]:
        """`trusted` for many objects (not legacy), with one query of the state."""
        if self._state is None:
            return [oid in self._verified for oid in oids]
        paths = (self.fspath(oid) for oid in oids)
        known = self._state.lookup_many(paths, under=self._new_root)
        return [oid in self._verified or oid == k for oid, k in zip(oids, known, strict=True)]

    def fspath(self, oid: str, *, legacy: bool = False) -> str:
        """`path()` as a string, without pathlib's cost (hot loops call this per file)."""
        return f"{self._legacy_root if legacy else self._new_root}/{oid[:2]}/{oid[2:]}"

    def path(self, oid: str, *, legacy: bool = False) -> Path:
        return self.root / object_relpath(oid, legacy=legacy)

    def exists(self, oid: str, *, legacy: bool = False) -> bool:
        return os.path.isfile(self.fspath(oid, legacy=legacy))

    def missing(self, oids: Iterable[str], *, legacy: bool = False) -> set[str]:
        """The subset of `oids` not in the cache (lists prefix dirs for large sets)."""
        wanted = set(oids)
        if len(wanted) < LIST_THRESHOLD:
            return {oid for oid in wanted if not os.path.isfile(self.fspath(oid, legacy=legacy))}
        base = self._legacy_root if legacy else self._new_root
        present: set[str] = set()
        try:  # the prefixes there are: cheaper than slicing every oid for them
            prefixes = [p for p in os.listdir(base) if len(p) == 2]
        except FileNotFoundError:
            return wanted
        for prefix in prefixes:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):  # not a folder
                present.update(map(prefix.__add__, os.listdir(f"{base}/{prefix}")))
        return wanted - present

    def _prepare(self, dest: Path) -> None:
        self.make_parent(str(dest))

    def forget_folders(self) -> None:
        """Check the folders `make_parent` made again on next use: a long-lived process
        (an orchestrator's worker) may see the cache deleted between two verbs."""
        self._made.clear()

    def make_parent(self, dest: str) -> None:
        """Create the directory of object path `dest` (once per process, with the cache's
        directory mode: group-writable for a shared cache); never a symlinked one."""
        folder = parent(dest)
        if folder not in self._made:
            refuse_symlinked_folders(self._legacy_root, folder)
            if self._shared:
                _make_shared_dirs(folder)
            else:
                os.makedirs(folder, exist_ok=True)
            self._made.add(folder)

    def add_file(self, src: str, oid: str, *, legacy: bool = False, hardlink: bool = False) -> bool:
        """Store the file at `src` (already hashed to `oid`); False if it was there."""
        dest = self.fspath(oid, legacy=legacy)
        if os.path.exists(dest):
            return False
        self.make_parent(dest)
        tmp = tmp_path(parent(dest))
        try:
            if hardlink:
                os.link(src, tmp)
            else:
                try:
                    shutil.copyfile(src, tmp)
                except OSError as exc:
                    raise named(exc, dest) from exc
            os.chmod(tmp, OBJECT_MODE)
            os.replace(tmp, dest)
        except BaseException:
            drop_tmp(tmp)
            raise
        return True

    def ingest(self, src: str) -> tuple[str, bool]:
        """Copy the file at `src` into the cache, hashing it on the way (one read).

        Returns its md5 and whether the object was new.
        """
        oid, new, st = self.ingest_stat(src)
        self.remember(oid, st)
        return oid, new

    def ingest_stat(self, src: str) -> tuple[str, bool, os.stat_result | None]:
        """`ingest`, also returning the new object's stat if it is big (for `remember`;
        a helper process has no state cache)."""
        if self._legacy_root not in self._made:  # plain strings here: a hot loop of `add`
            self.make_parent(f"{self._legacy_root}/x")  # creates the cache root
        tmp = tmp_path(self._legacy_root)
        digest = hashlib.md5()
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OBJECT_MODE)
            except OSError as exc:  # name the cache, not a temporary
                raise named(exc, self.root) from exc
            try:
                size = stream_copy(src, fd, digest)
                st = settled(fd) if size >= SETTLE_SIZE else None  # see `remember`
            except OSError as exc:
                raise named(exc, self.root) from exc
            finally:
                os.close(fd)
            oid = digest.hexdigest()
            dest = self.fspath(oid)
            if os.path.exists(dest):
                os.unlink(tmp)
                return oid, False, None
            self.make_parent(dest)
            os.replace(tmp, dest)
        except BaseException:
            drop_tmp(tmp)
            raise
        return oid, True, st

    def add_bytes(self, data: bytes, oid: str, *, legacy: bool = False) -> bool:
        dest = self.path(oid, legacy=legacy)
        if dest.exists():
            return False
        self._prepare(dest)
        tmp = tmp_name(dest)
        try:
            try:
                with open(tmp, "xb") as stream:
                    stream.write(data)
            except OSError as exc:
                raise named(exc, dest) from exc
            os.chmod(tmp, OBJECT_MODE)
            os.replace(tmp, dest)
        except BaseException:
            drop_tmp(tmp)
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
