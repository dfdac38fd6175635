"""Small local-filesystem primitives shared by the I/O modules."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .errors import ObjectCorruptedError, PathError
from .hashing import PipedDigest

#: every temporary file freight creates is named `.freight-<random>.tmp`, next to its final
#: name (a rename within one directory is atomic): a killed run's leftovers are recognisable,
#: so a rerun removes them instead of mistaking them for the user's data
TMP_PREFIX = ".freight-"
TMP_SUFFIX = ".tmp"


_token = secrets.token_urlsafe(12)  # this process's: random, renewed in a forked child
_serial = itertools.count()


def _renew_token() -> None:
    global _token
    _token = secrets.token_urlsafe(12)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_token)


def tmp_path(dirname: str) -> str:
    """A fresh temporary name in directory `dirname` (any separator-joined string).

    Unique without a system call per name: a random token per process and a counter
    (creating it with O_EXCL would refuse a clash anyway).
    """
    return f"{dirname}/{TMP_PREFIX}{_token}{next(_serial):x}{TMP_SUFFIX}"


def parent(path: str) -> str:
    """`os.path.dirname` of a `/`-joined path, without its per-call cost (hot loops)."""
    head, sep, _ = path.rpartition("/")
    return (head or "/") if sep else ""


def is_tmp(name: str) -> bool:
    """Whether a file name is one of freight's temporaries."""
    return name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)


#: a temporary nobody has written to for this long belongs to no live run: a writer's
#: every chunk updates its mtime (an hour also covers a long pause, e.g. a suspended worker)
STALE_AFTER = 3600.0


def stale_temporaries(root: Path, *, now: float, stale_after: float = STALE_AFTER) -> list[str]:
    """Root-relative names of freight's temporaries in an object area (a cache or a local
    remote: the root, `xx/`, `files/md5/xx/`) untouched for `stale_after` seconds."""
    found: list[str] = []
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(root / rel if rel else root) as it:
                entries = list(it)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                if name in ("files", "files/md5") or (
                    len(entry.name) == 2 and rel in ("", "files/md5")
                ):
                    stack.append(name)
            elif is_tmp(entry.name) and entry.is_file(follow_symlinks=False):
                try:  # never a link's target (freight writes no temporary symlink here)
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                except FileNotFoundError:
                    continue  # a live run renamed it into place meanwhile
                if now - mtime > stale_after:
                    found.append(name)
    return found


def case_insensitive(directory: str | os.PathLike[str]) -> bool:
    """Whether the filesystem holding the existing `directory` treats names that differ
    only in case as one (macOS and Windows defaults, vfat, casefolded ext4): a temporary
    file is created there and looked up under its name with the case swapped."""
    probe = tmp_path(os.fspath(directory))
    os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        head, name = os.path.split(probe)
        return os.path.lexists(os.path.join(head, name.swapcase()))
    finally:
        os.unlink(probe)


def refuse_symlinked_folders(root: str, folder: str) -> None:
    """Raise PathError if a folder from below `root` down to `folder` is a symlink.

    Objects are written only into real folders of a cache or local remote: a symlinked
    `files/`, `files/md5/` or prefix folder may lead anywhere, and gc does not enter one.
    `root` itself may be a symlink (a cache or remote moved to another disk).
    """
    rel = os.path.relpath(folder, root)
    if rel == "." or rel.startswith(".."):
        return
    path = root
    for part in rel.split(os.sep):
        path = os.path.join(path, part)
        if os.path.islink(path):
            raise PathError(
                f"'{path}' is a symlink (to '{os.readlink(path)}'): objects are written only "
                "into real folders, never through a link; replace it by a folder"
            )


def drop_tmp(path: str | os.PathLike[str]) -> None:
    """Remove a temporary file if it is there, quietly: this runs while an error is being
    handled, and must not replace it (on a read-only filesystem even removing a file that
    is not there fails, with EROFS)."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def named(exc: OSError, path: str | os.PathLike[str]) -> OSError:
    """`exc`, naming `path` if it names no file (a write to a descriptor names none) or
    only one of freight's temporaries (a random name that is gone by the time the user
    reads it), so that a full disk or a read-only directory reports where it is."""
    name = exc.filename
    if name is not None and not is_tmp(os.path.basename(os.fsdecode(name))):
        return exc
    return OSError(exc.errno, exc.strerror, os.fspath(path))


def tmp_name(path: Path) -> Path:
    """A hidden temporary sibling of `path`."""
    return Path(tmp_path(str(path.parent)))


def copy_into(
    src: str, dest: str, *, mode: int, md5: str | None = None, fresh: bool = False
) -> os.stat_result:
    """Copy `src` to a temporary sibling of `dest` created with `mode`, then rename it.

    Few system calls per file (this is the hot loop of push, fetch and checkout): no
    separate chmod, no extra read at end of file. With `md5`, the bytes are hashed on the
    way and a mismatch raises ObjectCorruptedError before `dest` is touched. `fresh`:
    `dest` lies in a directory no one else can see yet (a checkout's build directory,
    renamed into place as a whole), so it is written in place and removed on failure.
    Returns the stat of the new file.
    """
    tmp = dest if fresh else tmp_path(parent(dest))
    digest = hashlib.md5() if md5 is not None else None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:  # a full or read-only directory: name the file, not its temporary
        raise named(exc, dest) from exc
    try:
        try:
            stream_copy(src, fd, digest)
            st = settled(fd)
        except OSError as exc:
            raise named(exc, dest) from exc
        finally:
            os.close(fd)
        if digest is not None and digest.hexdigest() != md5:
            raise ObjectCorruptedError(md5 or "", digest.hexdigest(), src)
        if not fresh:
            try:
                os.replace(tmp, dest)
            except OSError as exc:  # e.g. a folder where the file goes: name it
                raise named(exc, dest) from exc
    except BaseException:
        drop_tmp(tmp)
        raise
    return st


#: files at least this big get a settled mtime (`settled`); re-hashing a smaller file
#: costs less than the extra system call on every file of a checkout
SETTLE_SIZE = 1 << 20
#: how far back a settled mtime is set: twice the state cache's racy margin on
#: filesystems with fine timestamps (`state._FINE_MARGIN`)
SETTLE_BACK = 100_000_000


def settled(fd: int) -> os.stat_result:
    """The stat of the file just written through `fd`, with its mtime moved a moment back
    if it is big, so that the state cache can trust the hash of what freight wrote at once.

    A hash is trusted only if the file's mtime is older than the hash by a margin (a write
    by someone else within the same timestamp tick would keep the mtime: the racy-clean
    rule). A big file that a checkout or pull wrote last would thus be hashed again by the
    next `status`. Its mtime is set back before it gets its final name, while no one else
    can have it open: any later write, by anyone, moves the mtime forward and is seen.
    """
    st = os.fstat(fd)
    if st.st_size < SETTLE_SIZE:
        return st
    os.utime(fd, ns=(st.st_atime_ns, time.time_ns() - SETTLE_BACK))
    return os.fstat(fd)


COPY_CHUNK = 1 << 20
_PIPELINE = 8 << 20  # from this size on, hash on a second thread while writing


def write_all(fd: int, data: bytes | memoryview) -> None:
    """os.write until every byte of `data` is written (a write may take fewer)."""
    done = os.write(fd, data)
    if done < len(data):
        view = memoryview(data)[done:]
        while view:
            view = view[os.write(fd, view) :]


def stream_copy(src: str, fd: int, digest: Any = None) -> int:
    """Copy the file at `src` into open descriptor `fd`, feeding `digest` every byte;
    returns the size the file had when it was opened.

    A large file is copied in the kernel when there is nothing to hash, else hashed on a
    second thread while this one writes (`PipedDigest`).
    """
    source = os.open(src, os.O_RDONLY)  # not open(): it would fstat the file once more
    feed = digest
    try:
        size = os.fstat(source).st_size
        if digest is None and size >= _PIPELINE and _kernel_copy(source, fd, size):
            return size
        if digest is not None and size >= _PIPELINE:
            feed = PipedDigest(digest)
        ask = min(COPY_CHUNK, size + 1)  # see hashing.read_size
        while chunk := os.read(source, ask):
            if feed is not None:
                feed.update(chunk)
            write_all(fd, chunk)
            if len(chunk) < ask:
                break  # a short read of a regular file is its end
        return size
    finally:
        os.close(source)
        if isinstance(feed, PipedDigest):
            feed.close()


def _kernel_copy(src: int, dest: int, size: int) -> bool:
    """Copy `size` bytes inside the kernel (no trip through user space, reflinks where the
    filesystem offers them); False if this platform or filesystem pair cannot."""
    copy = getattr(os, "copy_file_range", None)
    if copy is None:
        return False
    done = 0
    try:
        while done < size:
            n = copy(src, dest, size - done)
            if n == 0 and not done:
                return False  # some filesystems answer 0 instead of an error
            if n == 0:
                raise OSError(f"copy ended {size - done} bytes early: the source shrank")
            done += n
    except OSError:
        if done:
            raise
        return False  # e.g. EXDEV on older kernels, or an unsupported filesystem
    return True


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
        drop_tmp(tmp)
        raise


def umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


T = TypeVar("T")
R = TypeVar("R")


def map_batched(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    jobs: int,
    batch: int = 64,
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """`[fn(x) for x in items]` on `jobs` threads, `batch` items per task, in order.

    Batching keeps the per-item cost of a thread pool (a future, two lock round trips)
    off workloads of many small files, where it would otherwise exceed the I/O itself.
    """
    chunks = [items[i : i + batch] for i in range(0, len(items), batch)]
    results: list[R] = []
    if jobs <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            results.extend(fn(x) for x in chunk)
            if progress is not None:
                progress(len(chunk))
        return results
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for chunk, done in zip(chunks, pool.map(lambda c: [fn(x) for x in c], chunks), strict=True):
            results.extend(done)
            if progress is not None:
                progress(len(chunk))
    return results


def io_jobs(total_bytes: int, count: int, jobs: int) -> int:
    """How many threads to use for file work of this shape.

    Threads pay off when files are large (hashing and copying release the GIL). For many
    small files the work is metadata operations that the kernel serialises per directory;
    threads only add contention (measured: 20,000 x 4 KiB add 2.9 s on one thread,
    6.7 s on four).
    """
    if count == 0 or total_bytes // count < SMALL_FILE:
        return 1
    return jobs


SMALL_FILE = 256 * 1024


def sampled_jobs(paths: Sequence[str], jobs: int) -> int:
    """`io_jobs` for file work on `paths`, judged by the sizes of the first 64 (a missing
    file counts as empty: it is reported by the work itself)."""
    sample = paths[:64]
    size = 0
    for path in sample:
        with contextlib.suppress(OSError):
            size += os.path.getsize(path)
    return io_jobs(size, len(sample), jobs)
