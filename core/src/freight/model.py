"""The vocabulary of freight, as frozen values with no I/O.

- object: a file's bytes or a `.dir` manifest, stored under its oid in the cache or a remote.
- oid: the md5 hex of an object, with a `.dir` suffix for manifests.
- tree: a parsed `.dir` manifest (`freight.tree`).
- output: a tracked workspace path, as declared by a `.dvc` file or a `dvc.lock` stage.
- cache: the local object database (`.dvc/cache`); remote: a remote object database.
- workspace: the files on disk. legacy: DVC 2's md5-dos2unix hash and object layout.
- version: a file's object on a version-aware remote (its version id and ETag), recorded
  under `cloud:` in the metafile; such remotes keep files under their workspace paths.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Version:
    """A file's object on the version-aware remote named `remote` (spec §2.5)."""

    remote: str
    version_id: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class FileMeta:
    """One file of a directory output written in `files:` form (after a version-aware push)."""

    relpath: str
    md5: str
    size: int | None = None
    isexec: bool = False
    version: Version | None = None


@dataclass(frozen=True)
class Output:
    """One tracked path and its recorded hash.

    `path` is the repo-relative posix path; `metafile` the repo-relative path of the `.dvc`
    or `dvc.lock` that declares it (`stage` names the lock stage). `oid` is None when the
    metafile has no hash yet. `deps` are the repo-relative paths its stage depends on.
    `version` (a file) or `files` (a directory in `files:` form, whose `oid` is computed
    from them) record where a version-aware remote keeps the data.
    """

    path: str
    metafile: str
    oid: str | None = None
    size: int | None = None
    nfiles: int | None = None
    isexec: bool = False
    legacy: bool = False
    cache: bool = True
    push: bool = True
    remote: str | None = None
    stage: str | None = None
    deps: tuple[str, ...] = ()
    version: Version | None = None
    files: tuple[FileMeta, ...] | None = None

    @property
    def is_dir(self) -> bool:
        return self.oid is not None and self.oid.endswith(".dir")

    @property
    def hash_name(self) -> str:
        return "md5-dos2unix" if self.legacy else "md5"
