"""Small local-filesystem primitives shared by the I/O modules."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def tmp_name(path: Path) -> Path:
    """A hidden temporary sibling of `path` (DVC's `.<random>.tmp` shape)."""
    return path.with_name(f".{secrets.token_urlsafe(16)}.tmp")


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write `data` to `path` through a temporary file and a rename."""
    tmp = tmp_name(path)
    try:
        with open(tmp, "xb") as stream:
            stream.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
