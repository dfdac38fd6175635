"""Typed, frozen, JSON-safe results of freight's operations.

Long operations return a result that records what happened, failures included; callers
decide whether to raise (`raise_for_failures`, like httpx's `raise_for_status`).
`lineage()` is the stable dict the orchestrator integrations publish: keys are only ever
added, never changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import CheckoutError, TransferError
from .model import Output


@dataclass(frozen=True)
class ArtifactRef:
    """A tracked output and its content hash: the unit of lineage."""

    path: str
    md5: str | None
    size: int | None
    nfiles: int | None
    hash: str
    metafile: str
    #: version ids on a version-aware remote, per file ("" for a file output)
    versions: tuple[tuple[str, str], ...] = ()
    #: the dataset's stable URI (`freight.lineage` states the rule)
    uri: str | None = None
    #: the Git commit the metafile was read at (HEAD), and whether the metafile differs
    #: from it (None: unknown, e.g. outside Git)
    rev: str | None = None
    dirty: bool | None = None
    #: for transfers: the remote's name and URL (never with credentials)
    remote: str | None = None
    remote_url: str | None = None

    @classmethod
    def of(cls, out: Output) -> ArtifactRef:
        nfiles = out.nfiles if out.is_dir else None
        found = [("", out.version)] + [(f.relpath, f.version) for f in out.files or ()]
        versions = tuple((rel, v.version_id) for rel, v in found if v and v.version_id)
        return cls(out.path, out.oid, out.size, nfiles, out.hash_name, out.metafile, versions)

    def lineage(self) -> dict[str, Any]:
        """The stable lineage record: md5, size, nfiles, hash kind, path, metafile, uri,
        rev and dirty; `remote` and `remote_url` after a transfer; and the version ids when
        a version-aware remote holds the data (`version_id` for a file, `versions` per file
        of a directory). Keys are only ever added."""
        data: dict[str, Any] = {
            "md5": self.md5,
            "size": self.size,
            "nfiles": self.nfiles,
            "hash": self.hash,
            "path": self.path,
            "metafile": self.metafile,
            "uri": self.uri,
            "rev": self.rev,
            "dirty": self.dirty,
        }
        if self.remote is not None:
            data["remote"] = self.remote
            data["remote_url"] = self.remote_url
        if self.versions and self.versions[0][0] == "":
            data["version_id"] = self.versions[0][1]
        elif self.versions:
            data["versions"] = dict(self.versions)
        return data


@dataclass(frozen=True)
class Failure:
    """One item that failed: which path/object, the error class name and its message."""

    path: str
    oid: str | None
    kind: str
    message: str

    @classmethod
    def of(cls, path: str, oid: str | None, exc: BaseException) -> Failure:
        return cls(path, oid, type(exc).__name__, str(exc))


class _Result:
    outputs: tuple[ArtifactRef, ...]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload, no-any-return]

    def lineage(self) -> dict[str, Any]:
        """Per output path: md5, size, nfiles and hash kind (stable keys), plus version ids
        where a version-aware remote holds the data."""
        return {ref.path: ref.lineage() for ref in self.outputs}


@dataclass(frozen=True)
class AddResult(_Result):
    """What `add` did: the outputs now tracked and which metafiles it wrote."""

    outputs: tuple[ArtifactRef, ...]
    written: tuple[str, ...]
    hashed: int
    cached: int


@dataclass(frozen=True)
class CheckoutResult(_Result):
    """What `checkout` changed, per output (paths) and per file (counts), and what failed."""

    outputs: tuple[ArtifactRef, ...]
    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    files_added: int = 0
    files_modified: int = 0
    files_deleted: int = 0
    failed: tuple[Failure, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_for_failures(self) -> None:
        if self.failed:
            names = "\n".join(sorted({f.path for f in self.failed}))
            faults = [f for f in self.failed if f.kind != "ObjectNotFoundError"]
            hint = "\n".join(f"{f.path}: {f.message}" for f in faults[:5]) or (
                "Is your cache up to date?"  # DVC's words, when objects are missing
            )
            raise CheckoutError(f"Checkout failed for following targets:\n{names}\n{hint}", self)


@dataclass(frozen=True)
class StatusResult(_Result):
    """Changed outputs grouped by metafile (or stage): `{group: {path: state}}`."""

    outputs: tuple[ArtifactRef, ...]
    changes: dict[str, dict[str, str]]

    @property
    def clean(self) -> bool:
        return not self.changes


@dataclass(frozen=True)
class TransferResult(_Result):
    """What `push`, `fetch` or `pull` moved: counts, bytes, and what failed or is missing.

    `missing` lists objects in neither the cache nor the remote (DVC warns about those and
    carries on); `failed` lists transfers that were attempted and failed. For `pull`,
    `checkout` holds the checkout that followed the fetch.
    """

    direction: str
    remote: str
    outputs: tuple[ArtifactRef, ...]
    transferred: int = 0
    skipped: int = 0
    bytes: int = 0
    failed: tuple[Failure, ...] = ()
    missing: tuple[Failure, ...] = ()
    checkout: CheckoutResult | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and (self.checkout is None or self.checkout.ok)

    def raise_for_failures(self) -> None:
        if self.failed:
            verb = "upload" if self.direction == "push" else "download"
            n = len(self.failed)
            raise TransferError(f"{n} file{'s' if n != 1 else ''} failed to {verb}", self)
        if self.checkout is not None:
            self.checkout.raise_for_failures()

    @classmethod
    def merge(
        cls, results: Iterable[TransferResult], direction: str | None = None
    ) -> TransferResult:
        """One result for several: counts and bytes summed, failures concatenated, each
        output and remote name listed once. For an orchestrator, the shard runs of a plan
        (and the final push/fetch: objects the shards moved count as skipped there).
        `direction` defaults to the results' common one; a `checkout` is not carried."""
        results = list(results)
        directions = {r.direction for r in results}
        if direction is None:
            if len(directions) != 1:
                raise ValueError(
                    f"cannot merge results of {sorted(directions)} without a direction"
                )
            direction = directions.pop()
        return cls(
            direction=direction,
            remote=",".join(dict.fromkeys(r.remote for r in results)),
            outputs=tuple(dict.fromkeys(o for r in results for o in r.outputs)),
            transferred=sum(r.transferred for r in results),
            skipped=sum(r.skipped for r in results),
            bytes=sum(r.bytes for r in results),
            failed=tuple(f for r in results for f in r.failed),
            missing=tuple(f for r in results for f in r.missing),
        )

    def lineage(self) -> dict[str, Any]:
        """Per output, as `ArtifactRef.lineage`, always with `remote` and `remote_url`."""
        records = {}
        for ref in self.outputs:
            record = ref.lineage()
            record.setdefault("remote", self.remote)
            record.setdefault("remote_url", None)
            records[ref.path] = record
        return records


@dataclass(frozen=True)
class GcResult:
    """How many unused objects `gc` removed from the cache and from the remote."""

    removed_cache: int
    removed_remote: int | None = None
    remote: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CloudStatusResult(_Result):
    """Cache vs remote: `{path: "new" | "deleted" | "missing"}` (objects in sync omitted)."""

    remote: str
    outputs: tuple[ArtifactRef, ...]
    changes: dict[str, str]

    @property
    def clean(self) -> bool:
        return not self.changes
