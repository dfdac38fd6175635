"""The repository lock, interoperable with DVC's (`.dvc/tmp/lock`, an fcntl lock on the
file holding `" <pid>\\n"`, spec §10.3): freight and DVC never write one repo at once.

DVC (zc.lockfile) and every ordinary freight verb take the lock exclusively. Shard runs
(`push(shard=...)`, `fetch(shard=...)`) and `plan` take it *shared*: any number of them run
at once in one workspace, and none of them runs while DVC or an ordinary verb holds the
lock (nor those while a shard runs). Shards may share because each moves a disjoint set of
objects through writes that are atomic (temporary name, then rename) and records them in
the per-remote index through sqlite transactions; they never write metafiles. The lock is
the kernel's (`flock`), so a killed holder releases it. A shared holder leaves the file's
content alone (several hold it at once; there is no single PID to write).
"""

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
def repo_lock(path: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold the lock at `path` for the duration of the block (with `shared`, alongside
    other shared holders only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        for attempt in range(TRIES):
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == TRIES - 1:
                    raise RepoLockedError(
                        "Unable to acquire lock. Most likely another DVC or freight process is "
                        f"running or was terminated abruptly ({path})."
                    ) from None
                time.sleep(DELAY)
        if not shared:
            os.ftruncate(fd, 0)
            os.write(fd, f" {os.getpid()}\n".encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
