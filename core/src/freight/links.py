"""Materialise cache objects in the workspace: reflink, hardlink, symlink or copy.

Types are tried in the configured order; a type that fails with an error meaning "not
possible here" (EXDEV, EPERM, ENOTSUP, ...) is dropped for the rest of the operation
(DVC's rule, spec §5.3). Every file is created under a temporary name and renamed into
place, so a workspace path is either its old content or the complete new one. Copies are
hashed while they are written, so a corrupt cache object never reaches the workspace.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from .errors import LinkError, ObjectCorruptedError
from .fsutil import tmp_name, umask
from .hashing import CHUNK

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


def _copy(src: str, tmp: str, oid: str | None) -> None:
    digest = hashlib.md5()
    with open(src, "rb", buffering=0) as s, open(tmp, "xb", buffering=0) as d:
        while chunk := s.read(CHUNK):
            digest.update(chunk)
            d.write(chunk)
            if len(chunk) < CHUNK:
                break  # a short read of a regular file is its end: save a read call
    if oid is not None and digest.hexdigest() != oid:
        raise ObjectCorruptedError(oid, digest.hexdigest(), src)


class Linker:
    """Creates workspace files from cache objects with the first type that works."""

    def __init__(self, types: Sequence[str]) -> None:
        unknown = set(types) - set(LINK_TYPES)
        if unknown or not types:
            raise ValueError(f"unknown link types {sorted(unknown)}")
        self._types = list(types)
        self._lock = threading.Lock()
        self._file_mode = 0o666 & ~umask()

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self._types)

    def link(self, src: Path, dest: Path, *, oid: str | None = None, isexec: bool = False) -> str:
        """Replace `dest` with the object at `src`; returns the link type used.

        `oid` (plain md5) makes copies verify the bytes they write.
        """
        tmp = tmp_name(dest)
        for kind in self.types:
            try:
                self._make(kind, str(src), str(tmp), oid)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                if exc.errno not in _FALLBACK_ERRNOS or isinstance(exc, LinkError):
                    raise
                self._drop(kind)
                continue
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            if isexec and kind in ("copy", "reflink"):
                os.chmod(tmp, self._file_mode | 0o100)
            os.replace(tmp, dest)
            return kind
        raise LinkError(f"no possible cache link types ({', '.join(self._types)}) for '{dest}'")

    def _make(self, kind: str, src: str, tmp: str, oid: str | None) -> None:
        if kind == "copy":
            _copy(src, tmp, oid)
        elif kind == "reflink":
            _reflink(src, tmp)
        elif kind == "hardlink":
            if os.path.getsize(src) == 0:
                open(tmp, "xb").close()  # empty files are never hard-linked (spec E53)
            else:
                os.link(src, tmp)
        else:
            os.symlink(os.path.abspath(src), tmp)

    def _drop(self, kind: str) -> None:
        with self._lock:
            if kind in self._types and len(self._types) > 1:
                self._types.remove(kind)
