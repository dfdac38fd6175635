"""`import-url --version-aware`: track a cloud object or folder by its version ids.

The data is downloaded (each file hashed as it streams into the cache) and recorded in a
frozen import stage exactly as DVC 3.67.1 writes it (spec §2.6): the source as a dep with
`etag`, `size` and `version_id` (a folder as a `files:` list), its `fs_config` with
`version_aware: true`, the stage `md5`, and the output with `push: false`, since the
bucket's versions are where the data lives. `update` re-reads the source's current versions
and rewrites the stage.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .callbacks import Callback
from .config import SECRETS, RemoteConfig
from .errors import ConfigError, MetafileError, ObjectCorruptedError, ObjectNotFoundError
from .fsutil import atomic_write
from .metafiles import dump, load_yaml
from .model import Output
from .odb import Cache
from .remotes import open_versioned, scheme_of
from .results import ArtifactRef, Failure, TransferResult
from .storage import run_each
from .storage.versioned import Stamp, VersionedStorage
from .tree import Tree, TreeEntry
from .versioning import download_version

#: keys left out of the stage md5, at any depth (spec §2.6)
_NOT_HASHED = {
    "desc",
    "type",
    "labels",
    "meta",
    "locked",
    "frozen",
    "metric",
    "persist",
    "isexec",
    "size",
    "nfiles",
}


def stage_md5(stage: Mapping[str, Any]) -> str:
    """DVC's stage md5 of a stage dict as it is dumped (without its own `md5`)."""

    def strip(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: strip(v) for k, v in value.items() if k not in _NOT_HASHED}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    body = {k: v for k, v in stage.items() if k not in ("md5", "meta", "desc")}
    if body.get("wdir") == ".":
        del body["wdir"]
    return hashlib.md5(json.dumps(strip(body), sort_keys=True).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Source:
    """One file of the source: where it is below the URL, its bytes' md5 and its version."""

    relpath: str
    md5: str
    size: int
    stamp: Stamp


def open_source(url: str, fs_config: Mapping[str, Any]) -> VersionedStorage:
    secret = sorted(k for k in fs_config if k.lower() in SECRETS)
    if secret:  # the stage records fs_config, and metafiles are committed to Git
        raise ConfigError(
            f"refusing to write {', '.join(secret)} into a .dvc file: give credentials "
            "through the environment (e.g. AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) instead"
        )
    if scheme_of(url) not in ("s3", "gs", "gcs"):
        raise ConfigError(f"import-url --version-aware supports s3:// and gs:// URLs, not '{url}'")
    options = {k: v for k, v in fs_config.items() if k != "version_aware"}
    return open_versioned(RemoteConfig("import", url, {**options, "version_aware": True}))


def snapshot(
    storage: VersionedStorage, cache: Cache, jobs: int, callback: Callback
) -> tuple[bool, list[Source], list[Failure]]:
    """Download the source's current versions into the cache: (is a folder, files, failures)."""
    single = storage.head("")
    keys = [""] if single is not None else storage.list("")
    if not keys:
        raise ObjectNotFoundError(f"'{storage.url}' does not exist")
    callback.set_size(len(keys))
    found: list[Source] = []
    failed: list[Failure] = []
    lock = threading.Lock()

    def one(key: str) -> None:
        stamp = single if single is not None else storage.head(key)
        if stamp is None:
            raise FileNotFoundError(f"{key} vanished while it was imported")
        md5, size = download_version(storage, cache, key, stamp.version_id)
        with lock:
            found.append(Source(key, md5, size, stamp))

    def done(key: str, err: BaseException | None) -> None:
        if err is not None:
            failed.append(Failure.of(key or storage.url, None, err))
        callback.relative_update(1)

    run_each(keys, one, lambda k: k, jobs=jobs, url=storage.url, on_done=done)
    return single is None, sorted(found, key=lambda s: s.relpath), failed


def stage(
    url: str,
    fs_config: Mapping[str, Any],
    out_path: str,
    is_dir: bool,
    files: list[Source],
    cache: Cache,
) -> dict[str, Any]:
    """The import stage DVC writes, with its md5 first; stores the `.dir` of a folder."""
    config: dict[str, Any] = {k: v for k, v in fs_config.items() if k != "version_aware"}
    config["version_aware"] = True  # last, where DVC writes it
    dep: dict[str, Any]
    out: dict[str, Any]
    if is_dir:
        dep = {"hash": "md5", "path": url, "fs_config": config}
        dep["files"] = [
            {
                "relpath": f.relpath,
                "etag": f.stamp.etag,
                "size": f.size,
                "version_id": f.stamp.version_id,
            }
            for f in files
        ]
        tree = Tree.build(TreeEntry(f.relpath, f.md5) for f in files)
        oid = cache.add_tree(tree)
        out = {"md5": oid, "size": sum(f.size for f in files), "nfiles": len(files)}
    else:
        (file,) = files
        dep = {"etag": file.stamp.etag, "size": file.size, "version_id": file.stamp.version_id}
        dep.update({"hash": "md5", "path": url, "fs_config": config})
        out = {"md5": file.md5, "size": file.size}
    out.update({"hash": "md5", "path": out_path, "push": False})
    body = {"frozen": True, "deps": [dep], "outs": [out]}
    return {"md5": stage_md5(body), **body}


def write_stage(path: Path, data: Mapping[str, Any]) -> None:
    atomic_write(path, dump(dict(data)))


@dataclass(frozen=True)
class Import:
    """An import-url stage's source: URL, options and the recorded version per file."""

    url: str
    fs_config: dict[str, Any]
    versions: tuple[tuple[str, str], ...]  # (relpath, version_id); relpath "" for a file


def read_import(path: Path, metafile: str) -> Import | None:
    """The source of a version-aware import-url stage, or None for any other `.dvc`."""
    data = load_yaml(path, metafile)
    deps = data.get("deps") if isinstance(data, Mapping) else None
    if not isinstance(deps, list) or len(deps) != 1 or not isinstance(deps[0], Mapping):
        return None
    dep = deps[0]
    if not isinstance(dep.get("path"), str) or "repo" in dep:
        return None
    config = dep.get("fs_config") or {}
    if not isinstance(config, Mapping):
        raise MetafileError(metafile, "'fs_config' is not a mapping")
    files = dep.get("files")
    entries: list[Any] = files if isinstance(files, list) else [dep]
    versions = tuple(
        (str(e.get("relpath", "")), str(e["version_id"]))
        for e in entries
        if isinstance(e, Mapping) and e.get("version_id") is not None
    )
    return Import(dep["path"], dict(config), versions)


def fetch(
    cache: Cache, source: Import, out: Output, jobs: int | None, callback: Callback
) -> TransferResult:
    """Download an import's recorded versions into the cache, verified against the output's
    hash (a folder's files together must make its `.dir`)."""
    result = TransferResult("fetch", source.url, (ArtifactRef.of(out),))
    if out.oid is None or (cache.exists(out.oid) and not out.is_dir):
        return result
    if out.is_dir and cache.exists(out.oid):
        members = cache.load_tree(out.oid).entries
        if not cache.missing({e.md5 for e in members}):
            return result
    if not source.versions:
        gone = Failure(out.path, out.oid, "ObjectNotFoundError", "no version ids recorded")
        return dataclasses.replace(result, missing=(gone,))
    storage = open_source(source.url, source.fs_config)
    callback.set_size(len(source.versions))
    found: list[tuple[str, str]] = []
    failed: list[Failure] = []
    nbytes = 0
    lock = threading.Lock()

    def one(item: tuple[str, str]) -> None:
        nonlocal nbytes
        relpath, version_id = item
        md5, size = download_version(storage, cache, relpath, version_id)
        with lock:
            found.append((relpath, md5))
            nbytes += size

    def done(key: str, err: BaseException | None) -> None:
        if err is not None:
            failed.append(Failure.of(f"{out.path}/{key}" if key else out.path, None, err))
        callback.relative_update(1)

    run_each(
        list(source.versions),
        one,
        lambda i: i[0],
        jobs=jobs or storage.jobs,
        url=storage.url,
        on_done=done,
    )
    if not failed:
        tree = Tree.build(TreeEntry(rel, md5) for rel, md5 in found)
        actual = tree.oid() if out.is_dir else found[0][1]
        if actual != out.oid:
            failed.append(
                Failure.of(out.path, out.oid, ObjectCorruptedError(out.oid, actual, source.url))
            )
        elif out.is_dir:
            cache.add_tree(tree)
    return dataclasses.replace(result, transferred=len(found), bytes=nbytes, failed=tuple(failed))
