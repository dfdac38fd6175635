"""The repository lock, interoperable with DVC's (`.dvc/tmp/lock`, an fcntl lock on the
file holding `" <pid>\\n"`, spec §10.3): freight and DVC never write one repo at once."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import RepoLockedError

TRIES = 7
DELAY = 0.5


@contextlib.contextmanager
def repo_lock(path: Path) -> Iterator[None]:
    """Hold the lock at `path` for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        for attempt in range(TRIES):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == TRIES - 1:
                    raise RepoLockedError(
                        "Unable to acquire lock. Most likely another DVC or freight process is "
                        f"running or was terminated abruptly ({path})."
                    ) from None
                time.sleep(DELAY)
        os.ftruncate(fd, 0)
        os.write(fd, f" {os.getpid()}\n".encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
