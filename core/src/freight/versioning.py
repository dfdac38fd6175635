"""Push, fetch and cloud status against version-aware and worktree remotes (spec §6.3-6.4).

Such a remote stores each file at its workspace path; the metafile records, per file, the
version the push created (`cloud: {remote: {etag, version_id}}`), so any commit can later
fetch exactly its data even after the path was overwritten or deleted. What to do with each
file is decided by `decide` (pure); the rest asks the bucket, moves bytes and rewrites the
metafiles (atomically, keeping everything freight does not own).

Where freight differs from DVC, on purpose:
- a bucket without versioning is refused before anything is uploaded (DVC uploads first);
- versions are recorded only for the remote pushed to, replacing any other remote's
  (DVC leaves a stale version id under the new name, spec E58);
- a worktree push deletes remote files of a pushed directory that the workspace no longer
  has (DVC leaves them, spec E57); in a versioned bucket a delete only adds a delete
  marker, so no version is ever destroyed;
- `status -c` works: it checks that each recorded version still exists.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from .callbacks import Callback, add_bytes
from .collect import Selection
from .errors import ConfigError, FreightError, ObjectNotFoundError
from .metafiles import record_versions
from .model import FileMeta, Output, Version
from .odb import Cache
from .results import ArtifactRef, CloudStatusResult, Failure, TransferResult
from .tree import Tree, TreeEntry

if TYPE_CHECKING:  # the transfer machinery is imported where data moves, not by `status`
    from .storage.versioned import Stamp, VersionedStorage


@dataclass
class VersionedRemote:
    """An opened version-aware remote: its name, storage, parallelism, and worktree mode."""

    name: str
    storage: VersionedStorage
    jobs: int
    worktree: bool = False


@dataclass(frozen=True)
class Item:
    """One file of an output as a version-aware remote sees it."""

    output: Output
    file: FileMeta

    @property
    def key(self) -> str:
        return _key(self.output, self.file.relpath)


class Action(Enum):
    KEEP = "keep"  # the recorded version is still there
    ADOPT = "adopt"  # the current object already holds these bytes: record it
    UPLOAD = "upload"
    MISSING = "missing"  # neither recorded on the remote nor in the cache


def decide(recorded_exists: bool, current_md5: str | None, md5: str, cached: bool) -> Action:
    """What a push does with one file."""
    if recorded_exists:
        return Action.KEEP
    if current_md5 == md5:
        return Action.ADOPT
    return Action.UPLOAD if cached else Action.MISSING


def files_of(cache: Cache, out: Output) -> tuple[FileMeta, ...]:
    """The files of an output: its `files:` list, its cached `.dir`, or itself.

    Raises ObjectNotFoundError when a directory's `.dir` is in neither form.
    """
    if out.files is not None:
        return out.files
    if out.is_dir:
        tree = cache.load_tree(out.oid or "", legacy=out.legacy)
        return tuple(
            FileMeta(e.relpath, e.md5, _cached_size(cache, e.md5, out.legacy)) for e in tree.entries
        )
    return (FileMeta("", out.oid or "", out.size, out.isexec, out.version),)


def _cached_size(cache: Cache, md5: str, legacy: bool) -> int | None:
    try:
        return os.stat(cache.fspath(md5, legacy=legacy)).st_size
    except FileNotFoundError:
        return None


def _items(cache: Cache, sel: Selection) -> list[Item]:
    prefix = sel.subpath + "/"
    return [
        Item(sel.output, f)
        for f in files_of(cache, sel.output)
        if not sel.subpath or f.relpath == sel.subpath or f.relpath.startswith(prefix)
    ]


def _recorded(item: Item, remote: str) -> str | None:
    version = item.file.version
    return version.version_id if version is not None and version.remote == remote else None


def _tree_of(out: Output) -> Tree | None:
    if out.files is None:
        return None
    return Tree.build(TreeEntry(f.relpath, f.md5) for f in out.files)


def ensure_trees(cache: Cache, outputs: Sequence[Output]) -> None:
    """Write the `.dir` that a `files:` list stands for into the cache (as DVC does on
    pull), so checkout and status can treat the output like any other directory."""
    for out in outputs:
        tree = _tree_of(out)
        if tree is not None and out.oid and not cache.exists(out.oid, legacy=out.legacy):
            cache.add_tree(tree, legacy=out.legacy)


def _with_versions(out: Output, files: Sequence[FileMeta]) -> Output:
    """`out` as it will be recorded: a file with its version, or a directory in `files:`."""
    if not out.is_dir:
        return dataclasses.replace(out, version=files[0].version)
    ordered = tuple(sorted(files, key=lambda f: f.relpath))
    return dataclasses.replace(out, files=ordered)


def push(
    root: Path,
    cache: Cache,
    remote: VersionedRemote,
    selections: Sequence[Selection],
    callback: Callback,
) -> TransferResult:
    from .storage import run_each

    storage = remote.storage
    storage.check_versioning()
    failed: list[Failure] = []
    missing: list[Failure] = []
    items: list[Item] = []
    for sel in selections:
        try:
            items.extend(_items(cache, sel))
        except FreightError as exc:
            missing.append(Failure.of(sel.output.path, sel.output.oid, exc))
    callback.set_size(len(items))
    stamps: dict[str, Stamp] = {}
    uploaded = 0
    nbytes = 0
    lock = threading.Lock()

    def one(item: Item) -> None:
        nonlocal uploaded, nbytes
        recorded = _recorded(item, remote.name)
        exists = recorded is not None and storage.head(item.key, recorded) is not None
        current = None if exists else storage.head(item.key)
        cached = cache.exists(item.file.md5, legacy=item.output.legacy)
        current_md5 = storage.md5_of(current) if current else None
        action = decide(exists, current_md5, item.file.md5, cached)
        if action is Action.MISSING:
            raise ObjectNotFoundError(f"{item.file.md5} is neither in the cache nor on the remote")
        if action is Action.UPLOAD:
            local = cache.fspath(item.file.md5, legacy=item.output.legacy)
            stamp = storage.put(local, item.key)
            with lock:
                uploaded += 1
                size = item.file.size  # known from the metafile or the `.dir` walk
                nbytes += size if size is not None else os.path.getsize(local)
                stamps[item.key] = stamp
        elif action is Action.ADOPT and current is not None:
            with lock:
                stamps[item.key] = current

    by_key = {i.key: i for i in items}

    def done(key: str, err: BaseException | None) -> None:
        if err is not None:
            item = by_key[key]
            target = missing if isinstance(err, ObjectNotFoundError) else failed
            target.append(Failure.of(key, item.file.md5, err))
        callback.relative_update(1)

    run_each(items, one, lambda i: i.key, jobs=remote.jobs, url=storage.url, on_done=done)
    outputs = _record(root, cache, remote, selections, items, stamps)
    bad = {f.path for f in failed} | {f.path for f in missing}
    if remote.worktree:
        failed.extend(_prune(remote, outputs, bad))
    return TransferResult(
        direction="push",
        remote=remote.name,
        outputs=tuple(ArtifactRef.of(o) for o in outputs),
        transferred=uploaded,
        skipped=len(items) - uploaded - len(bad),
        bytes=nbytes,
        failed=tuple(failed),
        missing=tuple(missing),
    )


def _record(
    root: Path,
    cache: Cache,
    remote: VersionedRemote,
    selections: Sequence[Selection],
    items: Sequence[Item],
    stamps: dict[str, Stamp],
) -> list[Output]:
    """Write the new versions into the metafiles; returns the outputs as recorded."""
    by_output: dict[Output, list[Item]] = {}
    for item in items:
        by_output.setdefault(item.output, []).append(item)
    updated: list[Output] = []
    changes: dict[str, list[Output]] = {}
    for sel in selections:
        out = sel.output
        mine = {i.file.relpath: i for i in by_output.get(out, [])}
        if not mine:
            updated.append(out)
            continue
        files = []
        changed = out.is_dir and out.files is None  # a `.dir` entry turns into `files:`
        for file in files_of(cache, out):
            seen = mine.get(file.relpath)
            stamp = stamps.get(seen.key) if seen is not None else None
            if stamp is not None:
                version = Version(remote.name, stamp.version_id, stamp.etag)
                changed = changed or version != file.version
                file = dataclasses.replace(file, version=version)
            files.append(file)
        new = _with_versions(out, files)
        updated.append(new)
        if changed:
            changes.setdefault(out.metafile, []).append(new)
    for metafile, outs in changes.items():
        record_versions(root, metafile, outs)
    return updated


def _prune(remote: VersionedRemote, outputs: Sequence[Output], bad: set[str]) -> list[Failure]:
    """Worktree push: delete remote files of pushed directories the workspace dropped."""
    from .storage import run_each

    failures: list[Failure] = []
    for out in outputs:
        if not out.is_dir or out.files is None or any(b.startswith(out.path + "/") for b in bad):
            continue  # an output that did not fully arrive keeps its old remote files
        keep = {f"{out.path}/{f.relpath}" for f in out.files}
        doomed = [k for k in remote.storage.list(out.path) if k not in keep]

        def done(key: str, err: BaseException | None) -> None:
            if err is not None and not isinstance(err, FileNotFoundError):
                failures.append(Failure.of(key, None, err))

        run_each(
            doomed,
            remote.storage.delete,
            lambda k: k,
            jobs=remote.jobs,
            url=remote.storage.url,
            on_done=done,
        )
    return failures


def fetch(
    cache: Cache, remote: VersionedRemote, selections: Sequence[Selection], callback: Callback
) -> TransferResult:
    """Download the recorded versions the cache lacks, each verified against its md5."""
    from .storage import run_each
    from .transfer import CacheSink, Obj

    missing: list[Failure] = []
    todo: list[tuple[Item, str]] = []
    total = 0
    for sel in selections:
        try:
            items = _items(cache, sel)
        except FreightError:
            missing.append(_no_version(sel.output.path, sel.output.oid))
            continue
        for item in items:
            total += 1
            if cache.exists(item.file.md5, legacy=item.output.legacy):
                continue
            version_id = _recorded(item, remote.name)
            if version_id is None:
                missing.append(_no_version(item.key, item.file.md5))
            else:
                todo.append((item, version_id))
    unique = list({i.file.md5: (i, v) for i, v in todo}.values())
    callback.set_size(len(unique))
    done_items: list[Item] = []
    failed: list[Failure] = []
    nbytes = 0
    sinks = {
        i.key: CacheSink(cache.fspath(i.file.md5, legacy=i.output.legacy), cache) for i, _ in unique
    }
    by_key = {i.key: i for i, _ in unique}

    def one(pair: tuple[Item, str]) -> None:
        item, version_id = pair
        remote.storage.get(item.key, version_id, sinks[item.key])

    def done(key: str, err: BaseException | None) -> None:
        nonlocal nbytes
        item, sink = by_key[key], sinks[key]
        try:
            if err is not None:
                raise err
            sink.finish(Obj(item.file.md5, item.output.legacy))
        except Exception as exc:
            sink.discard()
            if isinstance(exc, FileNotFoundError):
                exc = ObjectNotFoundError(
                    f"version {_recorded(item, remote.name)} of {key} is not on the remote"
                )
            failed.append(Failure.of(key, item.file.md5, exc))
        else:
            done_items.append(item)
            nbytes += sink.size
            add_bytes(callback, sink.size)
            cache.vouch(item.file.md5)
        callback.relative_update(1)

    try:
        run_each(
            unique, one, lambda p: p[0].key, jobs=remote.jobs, url=remote.storage.url, on_done=done
        )
    finally:
        for sink in sinks.values():
            if sink.is_open:
                sink.discard()
    return TransferResult(
        direction="fetch",
        remote=remote.name,
        outputs=tuple(ArtifactRef.of(s.output) for s in selections),
        transferred=len(done_items),
        skipped=total - len(done_items) - len(failed) - len(missing),
        bytes=nbytes,
        failed=tuple(failed),
        missing=tuple(missing),
    )


def _no_version(path: str, oid: str | None) -> Failure:
    return Failure(
        path,
        oid,
        "ObjectNotFoundError",
        "missing cloud version information: it will not be fetched from the remote",
    )


def cloud_status(
    cache: Cache, remote: VersionedRemote, selections: Sequence[Selection]
) -> CloudStatusResult:
    """new (only in the cache), deleted (only the recorded version), missing (neither)."""
    items: list[Item] = []
    changes: dict[str, str] = {}
    for sel in selections:
        try:
            items.extend(_items(cache, sel))
        except FreightError:
            changes[sel.output.path] = "missing"
    present: set[str] = set()

    def one(item: Item) -> None:
        version_id = _recorded(item, remote.name)
        if version_id is not None and remote.storage.head(item.key, version_id) is not None:
            present.add(item.key)

    by_key = {i.key: i for i in items}
    _run(remote, list(by_key), lambda key: one(by_key[key]))
    for item in sorted(items, key=lambda i: i.key):
        local = cache.exists(item.file.md5, legacy=item.output.legacy)
        on_remote = item.key in present
        if not (local and on_remote):
            changes[item.key] = "new" if local else "deleted" if on_remote else "missing"
    return CloudStatusResult(
        remote.name, tuple(ArtifactRef.of(s.output) for s in selections), changes
    )


def refuse(command: str) -> ConfigError:
    """DVC's refusal for commands that make no sense on a version-aware remote."""
    return ConfigError(f"'{command}' is unsupported for cloud versioned remotes")


def refuse_history() -> ConfigError:
    """DVC's refusal of `-a/-T/-A`: one metafile cannot record the versions of many revisions."""
    return ConfigError("Multiple rev push is unsupported for cloud versioned remotes")


def update(
    root: Path, cache: Cache, remote: VersionedRemote, out: Output, callback: Callback
) -> tuple[Output, TransferResult]:
    """Worktree `update`: record (and fetch) what the remote holds at `out`'s path now.

    Unchanged files (same version, or an ETag equal to the recorded md5) are not
    downloaded; new bytes are hashed while they stream into the cache. The metafile is
    rewritten atomically; the caller checks the workspace out afterwards.
    """
    from .storage import run_each

    storage = remote.storage
    storage.check_versioning()
    keys = storage.list(out.path) if out.is_dir else [out.path]
    try:
        recorded = files_of(cache, out)
    except FreightError:
        recorded = ()
    known = {_key(out, f.relpath): f for f in recorded}
    stamps: dict[str, Stamp] = {}

    def head(key: str) -> None:
        stamp = storage.head(key)
        if stamp is not None:
            stamps[key] = stamp

    _run(remote, keys, head)
    if not stamps:
        raise ObjectNotFoundError(f"'{out.path}' is not on the remote {storage.url}")
    files: dict[str, FileMeta] = {}
    todo: list[str] = []
    for key, stamp in stamps.items():
        old = known.get(key)
        version = Version(remote.name, stamp.version_id, stamp.etag)
        same = old is not None and (
            (old.version is not None and old.version.version_id == stamp.version_id)
            or storage.md5_of(stamp) == old.md5
        )
        if old is not None and same and cache.exists(old.md5, legacy=out.legacy):
            files[key] = dataclasses.replace(old, version=version)
        else:
            todo.append(key)
    callback.set_size(len(todo))
    nbytes = 0
    failed: list[Failure] = []
    lock = threading.Lock()

    def fetch_one(key: str) -> None:
        nonlocal nbytes
        stamp = stamps[key]
        md5, size = download_version(storage, cache, key, stamp.version_id)
        rel = key[len(out.path) + 1 :] if out.is_dir else ""
        with lock:
            nbytes += size
            version = Version(remote.name, stamp.version_id, stamp.etag)
            files[key] = FileMeta(rel, md5, size, False, version)

    def done(key: str, err: BaseException | None) -> None:
        if err is not None:
            failed.append(Failure.of(key, None, err))
        callback.relative_update(1)

    run_each(todo, fetch_one, lambda k: k, jobs=remote.jobs, url=storage.url, on_done=done)
    result = TransferResult(
        direction="update",
        remote=remote.name,
        outputs=(ArtifactRef.of(out),),
        transferred=len(todo) - len(failed),
        skipped=len(stamps) - len(todo),
        bytes=nbytes,
        failed=tuple(failed),
    )
    if failed:  # record nothing rather than half of the remote's state
        return out, result
    new = _current(cache, out, list(files.values()))
    record_versions(root, out.metafile, [new])
    return new, dataclasses.replace(result, outputs=(ArtifactRef.of(new),))


def download_version(
    storage: VersionedStorage, cache: Cache, key: str, version_id: str
) -> tuple[str, int]:
    """Stream one version into the cache, hashing it on the way: (md5, size)."""
    from .transfer import CacheSink

    sink = CacheSink(str(cache.root / "download.part"), cache)
    try:
        storage.get(key, version_id, sink)
        md5 = sink.finish_as_found()
    except BaseException:
        sink.discard()
        raise
    cache.vouch(md5)
    return md5, sink.size


def _key(out: Output, relpath: str) -> str:
    return f"{out.path}/{relpath}" if relpath else out.path


def _current(cache: Cache, out: Output, files: list[FileMeta]) -> Output:
    """`out` as the remote holds it now."""
    if not out.is_dir:
        (file,) = files
        return dataclasses.replace(out, oid=file.md5, size=file.size, version=file.version)
    ordered = tuple(sorted(files, key=lambda f: f.relpath))
    tree = Tree.build(TreeEntry(f.relpath, f.md5) for f in ordered)
    oid = cache.add_tree(tree, legacy=out.legacy)
    size = sum(f.size or 0 for f in ordered)
    return dataclasses.replace(out, oid=oid, size=size, nfiles=len(ordered), files=ordered)


def _run(remote: VersionedRemote, keys: Sequence[str], work: Callable[[str], None]) -> None:
    """Run `work` per key in parallel; the first failure is raised."""
    from .storage import run_each

    failures: list[BaseException] = []
    run_each(
        keys,
        work,
        lambda k: k,
        jobs=remote.jobs,
        url=remote.storage.url,
        on_done=lambda _k, err: failures.append(err) if err else None,
    )
    if failures:
        raise failures[0]
