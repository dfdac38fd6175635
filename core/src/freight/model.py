"""The vocabulary of freight, as frozen values with no I/O.

- object: a file's bytes or a `.dir` manifest, stored under its oid in the cache or a remote.
- oid: the md5 hex of an object, with a `.dir` suffix for manifests.
- tree: a parsed `.dir` manifest (`freight.tree`).
- output: a tracked workspace path, as declared by a `.dvc` file or a `dvc.yaml` stage
  (whose hash `dvc.lock` records).
- stage: a command with dependencies and outputs (a `dvc.yaml` stage, or a DVC 0.x stage
  `.dvc` file); the catalog links outputs through them (`freight.catalog`).
- cache: the local object database (`.dvc/cache`); remote: a remote object database.
- workspace: the files on disk. legacy: DVC 2's md5-dos2unix hash and object layout.
- version: a file's object on a version-aware remote (its version id and ETag), recorded
  under `cloud:` in the metafile; such remotes keep files under their workspace paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
    from them) record where a version-aware remote keeps the data. `desc`, `type`,
    `labels` and `meta` are DVC's annotations; `meta` is kept as JSON text so that an
    output stays hashable (`meta_value` gives it back).
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
    desc: str | None = None
    type: str | None = None
    labels: tuple[str, ...] = ()
    meta: str | None = None

    @property
    def meta_value(self) -> Any:
        """The output's `meta` annotation as loaded (None when there is none)."""
        return None if self.meta is None else json.loads(self.meta)

    @property
    def is_dir(self) -> bool:
        return self.oid is not None and self.oid.endswith(".dir")

    @property
    def hash_name(self) -> str:
        return hash_name(self.legacy)


def hash_name(legacy: bool) -> str:
    """The hash an output's files are recorded with: DVC 2's (legacy) or DVC 3's."""
    return "md5-dos2unix" if legacy else "md5"


@dataclass(frozen=True)
class Stage:
    """A stage: a command, what it reads and what it writes (paths repo-relative).

    `name` is the name in `dvc.yaml` (`name@key` for a generated one) or, for a DVC 0.x
    stage file, that `.dvc` file's path; `dvcfile` is the file that defines it. `recorded`
    says whether `dvc.lock` (or the stage file) records the stage's run: only then do
    its outputs have hashes.
    """

    name: str
    dvcfile: str
    wdir: str
    cmd: str | tuple[str, ...]
    deps: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()
    frozen: bool = False
    desc: str | None = None
    recorded: bool = False

    @property
    def address(self) -> str:
        """How DVC names the stage in targets and in `status`: `name` for the root
        `dvc.yaml`, `sub/dvc.yaml:name` elsewhere, the path of a stage `.dvc` file."""
        if self.dvcfile == "dvc.yaml" or not self.dvcfile.endswith("/dvc.yaml"):
            return self.name
        return f"{self.dvcfile}:{self.name}"
