"""Push and fetch objects between the cache and a remote.

`plan_push`/`plan_fetch` are pure: they take what is wanted and what each side holds and
say what to move. `push`/`fetch` carry a plan out in batches and return a TransferResult.

Ordering (spec §8.5, §9.1): a directory's files go before its `.dir`, and a `.dir` is
never uploaded while any of its files failed or is missing, so a `.dir` on a remote
always means the whole directory is there (DVC relies on this). Downloads land in a
temporary file next to their final place, are verified against their oid, and only then
renamed into the cache (read-only): a corrupt or partial object never enters the cache.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import cast

from . import parallel
from .callbacks import Callback, add_bytes
from .errors import DiskError, FreightError, ObjectCorruptedError, redact_url
from .fsutil import (
    SETTLE_SIZE,
    copy_into,
    drop_tmp,
    map_batched,
    named,
    parent,
    sampled_jobs,
    settled,
    tmp_path,
    write_all,
)
from .gcpause import paused
from .hashing import PipedDigest, md5_file
from .inventory import RemoteIndex, present
from .layout import object_relpath
from .odb import OBJECT_MODE, Cache
from .results import Failure
from .state import FileStat
from .storage import Storage

logger = logging.getLogger(__name__)


@dataclass(frozen=True, order=True, slots=True)
class Obj:
    """An object to move: its oid, its layout and a workspace path naming it.

    `key` (its path in a cache or remote) is computed once, when it is made: transfers of
    big directories look it up several times for each of their objects.
    """

    oid: str
    legacy: bool = False
    path: str = field(default="", compare=False)
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", object_relpath(self.oid, legacy=self.legacy))


_new_obj = object.__new__
_set_oid, _set_legacy, _set_path, _set_key = (
    vars(Obj)[name].__set__ for name in ("oid", "legacy", "path", "key")
)


def _member(oid: str, legacy: bool, path: str) -> Obj:
    """`Obj(oid, legacy, path)` at half the cost, through the slots' own setters: a
    directory of 100,000 files makes 100,000 (0.17 s through the frozen `__init__`)."""
    obj = _new_obj(Obj)
    _set_oid(obj, oid)
    _set_legacy(obj, legacy)
    _set_path(obj, path)
    _set_key(obj, object_relpath(oid, legacy=legacy))
    return obj


def by_key(objs: Iterable[Obj]) -> dict[str, Obj]:
    """Each object once, by key, the first of equal ones kept (as a set would): a key
    hashes in C, an `Obj` through its generated Python `__hash__`."""
    return {o.key: o for o in reversed(list(objs))}


#: `Obj`'s own order, as a sort key: sorting 100,000 objects by their generated `__lt__`
#: costs a Python call per comparison
ORDER = attrgetter("oid", "legacy")


@dataclass(frozen=True)
class Dir:
    """A `.dir` object, the member objects wanted, and the keys of all its members.

    `complete` is all members even when only some are wanted (a granular target): a `.dir`
    may reach a remote only when every one of them is there.
    """

    tree: Obj
    members: tuple[Obj, ...]
    complete: frozenset[str]


@dataclass(frozen=True)
class Wanted:
    """Objects of some outputs: loose files, and directories with their files."""

    files: tuple[Obj, ...] = ()
    dirs: tuple[Dir, ...] = ()

    @functools.cached_property
    def objects(self) -> dict[str, Obj]:
        """Every object once (`by_key`); computed once (a push both counts them and plans
        with them)."""
        everything = [*self.files]
        for d in self.dirs:
            everything.append(d.tree)
            everything.extend(d.members)
        return by_key(everything)


@dataclass(frozen=True)
class PushPlan:
    files: tuple[Obj, ...]  # upload first
    dirs: tuple[Dir, ...]  # then each .dir whose members all made it
    missing: tuple[Obj, ...]  # in neither place


@paused()
def plan_push(wanted: Wanted, local: set[str], remote: set[str]) -> PushPlan:
    """Pure: what to upload, in which order, and what is missing everywhere."""
    dirs = [d for d in wanted.dirs if d.tree.key not in remote and d.tree.key in local]
    trees = {d.tree.key for d in wanted.dirs}  # sent after their files, as `dirs`
    objs = wanted.objects.items()
    upload = [o for k, o in objs if k in local and k not in remote and k not in trees]
    missing = [o for k, o in objs if k not in local and k not in remote]
    return PushPlan(
        tuple(sorted(upload, key=ORDER)), tuple(dirs), tuple(sorted(missing, key=ORDER))
    )


@paused()
def plan_fetch(
    wanted: Iterable[Obj], local: set[str], remote: set[str]
) -> tuple[list[Obj], list[Obj]]:
    """Pure: the objects to download, and those in neither place, each once (`by_key`)."""
    lacking = sorted((o for k, o in by_key(wanted).items() if k not in local), key=ORDER)
    todo = [o for o in lacking if o.key in remote]
    missing = [o for o in lacking if o.key not in remote]
    return todo, missing


@dataclass
class Outcome:
    """Mutable tally of one batch (kept inside this module; results are frozen)."""

    done: list[Obj] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    bytes: int = 0

    def record(
        self,
        obj: Obj,
        err: BaseException | None,
        size: int,
        callback: Callback,
        fatal: list[DiskError],
    ) -> None:
        """Count one object's outcome and report it to `callback`."""
        if err is None:
            self.done.append(obj)
            self.bytes += size
            add_bytes(callback, size)
        else:
            _note_fatal(fatal, obj, err)
            self.failed.append(Failure.of(obj.path, obj.oid, err))
        callback.relative_update(1)


def upload(
    storage: Storage,
    cache: Cache,
    objs: Sequence[Obj],
    *,
    jobs: int,
    callback: Callback,
) -> Outcome:
    outcome = Outcome()
    fatal: list[DiskError] = []

    def settle(obj: Obj, err: BaseException | None, size: int) -> None:
        outcome.record(obj, err, size, callback, fatal)

    if objs:
        logger.debug(
            "uploading %d objects to %s (%d jobs)", len(objs), redact_url(storage.url), jobs
        )
    if storage.folder is not None:
        _copy_up(storage, cache, objs, jobs, settle, fatal)
    else:
        by_key = {o.key: o for o in objs}

        def done(key: str, err: BaseException | None) -> None:
            obj = by_key[key]
            size = 0 if err else os.path.getsize(cache.fspath(obj.oid, legacy=obj.legacy))
            settle(obj, err, size)

        items = [(cache.fspath(o.oid, legacy=o.legacy), o.key) for o in objs]
        storage.upload(items, jobs=jobs, on_done=done)
    if outcome.failed:
        logger.debug("%d of %d uploads failed", len(outcome.failed), len(objs))
    if fatal:
        raise fatal[0]
    return outcome


@paused()
def _copy_up(
    storage: Storage,
    cache: Cache,
    objs: Sequence[Obj],
    jobs: int,
    settle: Callable[[Obj, BaseException | None, int], None],
    fatal: list[DiskError],
) -> None:
    """Upload to a local folder: a copy per object (to a temporary, renamed), whose stat
    counts its bytes; many small objects on every core (`parallel`)."""
    folder = cast(str, storage.folder)
    work = [(cache.fspath(o.oid, legacy=o.legacy), f"{folder}/{o.key}") for o in objs]
    threads = sampled_jobs([src for src, _ in work[:64]], jobs)

    def report(obj: Obj, got: object) -> None:
        if got is None:
            settle(obj, DiskError(f"not written: {fatal[0]}"), 0)
        elif isinstance(got, (FreightError, FileNotFoundError)):
            settle(obj, got, 0)
        elif isinstance(got, OSError):
            settle(obj, DiskError.of(got), 0)
        else:
            settle(obj, None, cast(FileStat, got).st_size)

    def one(pair: tuple[Obj, tuple[str, str]]) -> None:
        obj, (src, dest) = pair
        if fatal:
            report(obj, None)
            return
        try:
            storage.prepare([obj.key])
            got: object = copy_into(src, dest, mode=OBJECT_MODE)
        except (FreightError, OSError) as exc:
            got = exc
        report(obj, got)

    if threads > 1 or not parallel.worth(len(objs)):
        map_batched(one, list(zip(objs, work, strict=True)), jobs=threads)
        return
    items = [(src, dest, OBJECT_MODE, None, False) for src, dest in work]
    got = _copy_everywhere(items, lambda i: storage.prepare([objs[i].key]))
    for i in parallel.begun_first(got):
        report(objs[i], got[i])


def _copy_everywhere(
    items: Sequence[tuple[str, str, int, str | None, bool]], prepare: Callable[[int], None]
) -> list[object]:
    """`copy_into` for every item on every core (`parallel`), item `i`'s folder made here
    first by `prepare(i)` (helpers only copy): an error there is that item's own result,
    as in a loop in this process. Results are stats or exceptions, None for items never
    begun after an error every other one would hit too."""
    results: list[object] = [None] * len(items)
    todo = []
    for i in range(len(items)):
        try:
            prepare(i)
        except (FreightError, OSError) as exc:
            results[i] = exc
        else:
            todo.append(i)
    got = parallel.run("copy", (), [items[i] for i in todo], stop=parallel.systemic)
    for i, result in zip(todo, got, strict=True):
        results[i] = parallel.unpack(result)
    return results


def _note_fatal(fatal: list[DiskError], obj: Obj, err: BaseException) -> None:
    """Keep the first local error that every other object would hit too (a full disk, a
    read-only folder, no descriptor left): the batch reports it alone, in one line."""
    if isinstance(err, DiskError) and err.stops_run and not fatal:
        fatal.append(err.about(f"failed to transfer '{obj.oid}' ({obj.path})"))


class CacheSink:
    """A temporary file in the cache that hashes what is written to it.

    The file is opened on first use, so a batch of thousands of sinks holds only as many
    open files as there are transfers in flight. It is a bare descriptor, not a Python
    file: that costs four system calls fewer per object (fetch of many small files).
    """

    __slots__ = ("_fd", "_halt", "cache", "dest", "md5", "size", "stat", "tmp")

    def __init__(self, dest: str, cache: Cache, halt: list[DiskError] | None = None) -> None:
        self.dest = dest
        self.cache = cache
        self.tmp = tmp_path(parent(dest))
        self._fd: int | None = None  # None: not opened yet; -1: closed
        self.md5 = PipedDigest()  # a big download is hashed while it is written
        #: the stat of the object as it was verified (`finish`), if it is big
        self.stat: os.stat_result | None = None
        self.size = 0
        #: set once a sink of the batch hit an error every other one would: the rest of the
        #: batch then fails at once, writing nothing
        self._halt = halt

    def _open(self) -> int:
        if self._fd is None:
            if self._halt:
                raise DiskError(f"not written: {self._halt[0]}")
            self.cache.make_parent(self.dest)
            # created read-only: objects are 0444 (the open descriptor may still write)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
            self._fd = os.open(self.tmp, flags, OBJECT_MODE)
        return self._fd

    def _close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd is not None and fd >= 0:
            os.close(fd)

    @property
    def is_open(self) -> bool:
        return self._fd is not None and self._fd >= 0

    def write(self, data: bytes | memoryview) -> int:
        self.md5.update(data)
        self.size += len(data)
        try:
            write_all(self._open(), data)
        except FreightError:
            raise
        except OSError as exc:  # the local side failed (a full disk): say where
            raise DiskError.of(named(exc, self.dest)) from exc
        return len(data)

    def seek(self, pos: int) -> int:
        if pos == 0:
            self.md5.close()
            self.md5 = PipedDigest()
            self.size = 0
        return os.lseek(self._open(), pos, os.SEEK_SET)

    def truncate(self) -> int:
        fd = self._open()
        pos = os.lseek(fd, 0, os.SEEK_CUR)
        os.ftruncate(fd, pos)
        return pos

    def discard(self) -> None:
        self.md5.close()
        with contextlib.suppress(OSError):  # e.g. a full disk again: it is thrown away
            self._close()
        drop_tmp(self.tmp)

    def finish_as_found(self) -> str:
        """Move a download whose md5 was not known in advance into the cache under the
        md5 it has; returns that md5."""
        self._open()  # an empty download is an empty file
        self._close()
        md5 = self.md5.hexdigest()
        dest = self.cache.fspath(md5)
        self.cache.make_parent(dest)
        os.replace(self.tmp, dest)
        return md5

    def finish(self, obj: Obj) -> None:
        """Verify against the oid, then move into place; raises on mismatch."""
        fd = self._open()
        if self.size >= SETTLE_SIZE:
            self.stat = settled(fd)
        self._close()
        if obj.oid.endswith(".dir"):
            actual = self.md5.hexdigest() + ".dir"
        elif obj.legacy:
            actual = md5_file(self.tmp, legacy=True)
        else:
            actual = self.md5.hexdigest()
        if actual != obj.oid:
            os.unlink(self.tmp)
            raise ObjectCorruptedError(obj.oid, actual, "the remote")
        os.replace(self.tmp, self.dest)


def download(
    storage: Storage,
    cache: Cache,
    objs: Sequence[Obj],
    *,
    jobs: int,
    index: RemoteIndex | None,
    callback: Callback,
) -> Outcome:
    """Download and verify objects into the cache; failures are collected per object."""
    outcome = Outcome()
    fatal: list[DiskError] = []
    gone: list[str] = []

    def settle(obj: Obj, err: BaseException | None, size: int, st: FileStat | None) -> None:
        if err is None and not obj.legacy:
            cache.vouch(obj.oid, st)
        elif isinstance(err, FileNotFoundError):
            gone.append(obj.key)
            err = FileNotFoundError(f"{obj.oid} is not on the remote {storage.url}")
        outcome.record(obj, err, size, callback, fatal)

    if objs:
        logger.debug(
            "downloading %d objects from %s (%d jobs)", len(objs), redact_url(storage.url), jobs
        )
    try:
        if storage.folder is not None and not any(o.legacy for o in objs):
            _copy_down(storage.folder, cache, objs, jobs, settle, fatal)
        else:
            _stream_down(storage, cache, objs, jobs, settle, fatal)
    finally:
        if index is not None and gone:
            index.discard(gone)  # it remembered objects the remote no longer has
    if fatal:
        raise fatal[0]
    return outcome


Settle = Callable[[Obj, BaseException | None, int, FileStat | None], None]


def _stream_down(
    storage: Storage,
    cache: Cache,
    objs: Sequence[Obj],
    jobs: int,
    settle: Settle,
    fatal: list[DiskError],
) -> None:
    """Download through the storage's client into a `CacheSink` per object."""
    sinks = {o.key: CacheSink(cache.fspath(o.oid, legacy=o.legacy), cache, fatal) for o in objs}
    by_key = {o.key: o for o in objs}

    def done(key: str, err: BaseException | None) -> None:
        obj, sink = by_key[key], sinks[key]
        try:
            if err is not None:
                raise err
            try:
                sink.finish(obj)
            except (FreightError, FileNotFoundError):
                raise
            except OSError as exc:  # moving it into the cache failed: a local error
                raise DiskError.of(named(exc, sink.dest)) from exc
        except Exception as exc:
            sink.discard()
            settle(obj, exc, 0, None)
        else:
            settle(obj, None, sink.size, sink.stat)

    try:
        storage.download([(o.key, sinks[o.key]) for o in objs], jobs=jobs, on_done=done)
    finally:
        for sink in sinks.values():
            if sink.is_open:
                sink.discard()


@paused()
def _copy_down(
    folder: str,
    cache: Cache,
    objs: Sequence[Obj],
    jobs: int,
    settle: Settle,
    fatal: list[DiskError],
) -> None:
    """Copy objects out of a local folder into the cache, each verified on the way (a
    temporary, hashed while written, renamed only if it matches): the same result as a
    sink, with a third of the Python work per object, and many small objects on every
    core (`parallel`)."""
    threads = sampled_jobs([f"{folder}/{o.key}" for o in objs[:64]], jobs)
    work = []
    for obj in objs:
        dest = cache.fspath(obj.oid)
        md5 = obj.oid[:-4] if obj.oid.endswith(".dir") else obj.oid
        work.append((f"{folder}/{obj.key}", dest, OBJECT_MODE, md5, False))

    def report(obj: Obj, item: tuple[str, str, int, str, bool], got: object) -> None:
        src, dest = item[0], item[1]
        if got is None:
            settle(obj, DiskError(f"not written: {fatal[0]}"), 0, None)
        elif isinstance(got, ObjectCorruptedError):
            actual = got.actual + obj.oid[len(got.oid) :]  # and `.dir` if it is one
            settle(obj, ObjectCorruptedError(obj.oid, actual, f"the remote ({src})"), 0, None)
        elif isinstance(got, FreightError) or (
            isinstance(got, FileNotFoundError) and got.filename == src
        ):
            settle(obj, got, 0, None)  # a missing source is an object the remote lacks
        elif isinstance(got, OSError):  # a local folder on both sides: a disk error either way
            settle(obj, DiskError.of(named(got, dest)), 0, None)
        else:
            st = cast(FileStat, got)
            settle(obj, None, st.st_size, st if st.st_size >= SETTLE_SIZE else None)

    def one(pair: tuple[Obj, tuple[str, str, int, str, bool]]) -> None:
        obj, item = pair
        if fatal:
            report(obj, item, None)
            return
        src, dest, mode, md5, _ = item
        try:
            cache.make_parent(dest)
            got: object = copy_into(src, dest, mode=mode, md5=md5)
        except (FreightError, OSError) as exc:
            got = exc
        report(obj, item, got)

    if threads > 1 or not parallel.worth(len(objs)):
        map_batched(one, list(zip(objs, work, strict=True)), jobs=threads)
        return
    got = _copy_everywhere(work, lambda i: cache.make_parent(work[i][1]))
    for i in parallel.begun_first(got):
        report(objs[i], work[i], got[i])


def remote_present(
    storage: Storage,
    index: RemoteIndex,
    keys: set[str],
    *,
    jobs: int,
    confirm: Iterable[str] = (),
) -> set[str]:
    """Keys on the remote: those the index knows, plus a check of the rest.

    The index can only be stale one way: the remote lost objects it remembers (wiped, or
    collected by someone else). The keys in `confirm` (an output's own object: a loose
    file or a `.dir`, one per output) are asked even when known; if one is gone the whole
    index is dropped and every key asked, so a push or `status -c` never trusts a memory
    of a remote that changed behind its back (DVC checks its indexed `.dir`s the same way).
    """
    known = index.known(keys)
    recheck = known & set(confirm)
    if recheck and present(storage, recheck, jobs=jobs) != recheck:
        logger.info("the remote lost objects its index recorded: asking it about every object")
        index.clear()
        known = set()
    found = present(storage, keys - known, jobs=jobs)
    index.add(found)
    return known | found


@paused()
def members(cache: Cache, tree: Obj, subpath: str = "") -> list[Obj]:
    """The file objects a cached `.dir` lists (those under `subpath` if given)."""
    parsed = cache.load_tree(tree.oid, legacy=tree.legacy)
    prefix = subpath + "/"
    base, legacy = tree.path + "/", tree.legacy
    return [
        _member(e.md5, legacy, base + e.relpath)
        for e in parsed.entries
        if not subpath or e.relpath == subpath or e.relpath.startswith(prefix)
    ]
