"""Where things live: the repository root, `.dvc/`, its tmp dir and the object paths.

Object paths follow DVC: `files/md5/<2>/<30>[.dir]` for DVC 3 objects, `<2>/<30>[.dir]`
at the root for legacy (md5-dos2unix) objects, under the cache dir and under a remote URL.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import NotARepoError

DVC_DIR = ".dvc"
TMP_DIR = "tmp"
NEW_PREFIX = ("files", "md5")


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """Return the closest directory at or above `start` that holds a `.dvc` directory."""
    path = Path(start if start is not None else os.getcwd()).absolute()
    for candidate in (path, *path.parents):
        if (candidate / DVC_DIR).is_dir():
            return candidate
    raise NotARepoError(
        f"you are not inside of a DVC repository (checked up to mount point '{path.anchor}')"
    )


def object_relpath(oid: str, *, legacy: bool) -> str:
    """The posix path of an object below a cache or remote root."""
    rel = f"{oid[:2]}/{oid[2:]}"
    return rel if legacy else "files/md5/" + rel
