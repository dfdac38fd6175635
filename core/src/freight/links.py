"""Materialise cache objects in the workspace: reflink, hardlink, symlink or copy.

Types are tried in the configured order; a type that fails with an error meaning "not
possible here" (EXDEV, EPERM, ENOTSUP, ...) is dropped for the rest of the operation
(DVC's rule, spec §5.3). Every file is created under a temporary name and renamed into
place, so a workspace path is either its old content or the complete new one (a new
directory output is built hidden and renamed as a whole: its files are made in place). Copies are
hashed while they are written, so a corrupt cache object never reaches the workspace.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from .errors import LinkError
from .fsutil import copy_into, drop_tmp, parent, tmp_path, umask

LINK_TYPES = ("reflink", "hardlink", "symlink", "copy")
_FALLBACK_ERRNOS = frozenset(
    {
        errno.EPERM,
        errno.ENOTSUP,
        errno.EXDEV,
        errno.ENOTTY,
        errno.ENOSYS,
        errno.EINVAL,
        errno.EAGAIN,
    }
)
_FICLONE = 0x40049409


def _reflink(src: str, tmp: str) -> None:
    with open(src, "rb") as s, open(tmp, "xb") as d:
        fcntl.ioctl(d.fileno(), _FICLONE, s.fileno())


class Linker:
    """Creates workspace files from cache objects with the first type that works."""

    def __init__(self, types: Sequence[str]) -> None:
        unknown = set(types) - set(LINK_TYPES)
        if unknown or not types:
            raise ValueError(f"unknown link types {sorted(unknown)}")
        self._types = tuple(types)  # replaced, never changed in place: `link` iterates it
        self._lock = threading.Lock()
        self._file_mode = 0o666 & ~umask()

    @property
    def types(self) -> tuple[str, ...]:
        return self._types

    def mode(self, isexec: bool = False) -> int:
        """The mode of a new workspace file (the umask applied)."""
        return self._file_mode | (0o100 if isexec else 0)

    def link(
        self,
        src: Path | str,
        dest: Path | str,
        *,
        oid: str | None = None,
        isexec: bool = False,
        fresh: bool = False,
    ) -> os.stat_result:
        """Replace `dest` with the object at `src`; returns the new file's stat.

        `oid` (plain md5) makes copies verify the bytes they write. `fresh`: `dest` is in
        a directory no one else sees yet (`fsutil.copy_into`): made in place, no rename.
        """
        src, dest = os.fspath(src), os.fspath(dest)
        for kind in self.types:
            try:
                return self._make(kind, src, dest, oid, isexec, fresh)
            except OSError as exc:
                if exc.errno not in _FALLBACK_ERRNOS or isinstance(exc, LinkError):
                    raise
                self._drop(kind)
        raise LinkError(f"no possible cache link types ({', '.join(self._types)}) for '{dest}'")

    def _make(
        self, kind: str, src: str, dest: str, oid: str | None, isexec: bool, fresh: bool
    ) -> os.stat_result:
        mode = self.mode(isexec)
        if kind == "copy":
            return copy_into(src, dest, mode=mode, md5=oid, fresh=fresh)
        tmp = dest if fresh else tmp_path(parent(dest))
        try:
            if kind == "reflink":
                with open(src, "rb") as s, open(tmp, "xb") as d:
                    fcntl.ioctl(d.fileno(), _FICLONE, s.fileno())
                os.chmod(tmp, mode)
            elif kind == "hardlink" and os.path.getsize(src) == 0:
                open(tmp, "xb").close()  # empty files are never hard-linked (spec E53)
            elif kind == "hardlink":
                os.link(src, tmp)
            else:
                os.symlink(os.path.abspath(src), tmp)
            if not fresh:
                os.replace(tmp, dest)
        except BaseException:
            drop_tmp(tmp)
            raise
        return os.stat(dest)

    def _drop(self, kind: str) -> None:
        with self._lock:
            if kind in self._types and len(self._types) > 1:
                self._types = tuple(t for t in self._types if t != kind)
