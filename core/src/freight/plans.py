"""Transfer plans: what a push or fetch must move, split into shards that workers run.

Everything here is pure: the split (`split`), the fingerprint of the selected outputs
(`fingerprint`), the shard dicts (`Shard.to_dict`) and their strict validation
(`parse_shard`), and the staleness check (`check_fresh`). `freight.sharding` does the I/O
around them (asking the cache and the remote, moving the objects).

A shard dict is plain JSON (orchestrators pass it between processes as an Airflow XCom, a
Prefect task result or a Dagster output) and compact: each object is a 4-item list, its
path given relative to an output listed once per shard. Format version 1:

    {"format": "freight-shard", "version": 1,
     "direction": "push" | "fetch",
     "remote": "<remote name>", "remote_url": "<URL without credentials>" | null (local),
     "remote_id": "<16 hex: digest of the remote's resolved URL>",
     "targets": ["<target>", ...] | null (every output),
     "fingerprint": "<32 hex: digest of the selected outputs' (path, oid, legacy, subpath)>",
     "shard": <index>, "shards": <count>,
     "outputs": [["<output path>", <legacy: bool>], ...],
     "objects": [["<md5>", <size>, <index into outputs>, "<path inside it, '' for a file>"], ...],
     "bytes": <sum of the sizes>}

A shard carries no credential and no local path: a local remote is known by `remote_id`
only. Objects are file objects only (never a `.dir`: the final ordinary push uploads those
once all their files are there). Sizes of a fetch plan's directory members are estimates
(the directory's mean file size: a `.dir` does not record sizes); they serve balancing and
the totals only.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeGuard

from .errors import PlanError, StalePlanError
from .results import Failure
from .transfer import Obj

FORMAT = "freight-shard"
VERSION = 1
DIRECTIONS = ("push", "fetch")
MAX_SHARDS = 100_000
KEYS = (
    "format",
    "version",
    "direction",
    "remote",
    "remote_url",
    "remote_id",
    "targets",
    "fingerprint",
    "shard",
    "shards",
    "outputs",
    "objects",
    "bytes",
)
_MD5 = re.compile(r"[0-9a-f]{32}")
_REMOTE_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class Basis:
    """What a plan was made for; checked again before any shard of it moves anything."""

    direction: str
    remote: str
    remote_url: str | None  # None for a local remote (never a local path in a shard)
    remote_id: str
    targets: tuple[str, ...] | None
    fingerprint: str


@dataclass(frozen=True)
class Item:
    """One file object of a shard: its md5, its size, the output it belongs to (an index
    into the shard's outputs) and its path inside that output ("" for a file output)."""

    oid: str
    size: int
    output: int
    rel: str = ""


@dataclass(frozen=True)
class Shard:
    """One part of a plan: the objects one worker moves."""

    basis: Basis
    index: int
    count: int
    outputs: tuple[tuple[str, bool], ...]  # (path, legacy)
    items: tuple[Item, ...] = field(repr=False)

    @property
    def bytes(self) -> int:
        return sum(i.size for i in self.items)

    def path(self, item: Item) -> str:
        """The workspace path naming `item` (for messages)."""
        out = self.outputs[item.output][0]
        return f"{out}/{item.rel}" if item.rel else out

    def objs(self) -> list[Obj]:
        return [Obj(i.oid, self.outputs[i.output][1], self.path(i)) for i in self.items]

    def to_dict(self) -> dict[str, Any]:
        """The shard as plain JSON types (a new dict each call)."""
        b = self.basis
        return {
            "format": FORMAT,
            "version": VERSION,
            "direction": b.direction,
            "remote": b.remote,
            "remote_url": b.remote_url,
            "remote_id": b.remote_id,
            "targets": None if b.targets is None else list(b.targets),
            "fingerprint": b.fingerprint,
            "shard": self.index,
            "shards": self.count,
            "outputs": [[path, legacy] for path, legacy in self.outputs],
            "objects": [[i.oid, i.size, i.output, i.rel] for i in self.items],
            "bytes": self.bytes,
        }


@dataclass(frozen=True)
class TransferPlan:
    """What a push or fetch of some targets must move, split into shards.

    `shards` are the JSON-safe dicts to hand to workers (`repo.push(shard=...)` or
    `repo.fetch(shard=...)`, each in any process that opens the same repository or one
    sharing its cache); a final ordinary `push`/`fetch` of the same targets then uploads
    the `.dir` manifests (push), checks everything and reports the totals. `missing` lists
    objects in neither the cache nor the remote (no shard can move them), `failed` the
    `.dir`s a fetch plan could not download or read (their files are in no shard).
    """

    basis: Basis
    parts: tuple[Shard, ...] = field(repr=False)
    missing: tuple[Failure, ...] = field(default=(), repr=False)
    failed: tuple[Failure, ...] = field(default=(), repr=False)
    #: sizes of directory members are estimates (fetch plans)
    estimated: bool = False

    @property
    def direction(self) -> str:
        return self.basis.direction

    @property
    def remote(self) -> str:
        return self.basis.remote

    @property
    def targets(self) -> tuple[str, ...] | None:
        return self.basis.targets

    @property
    def fingerprint(self) -> str:
        return self.basis.fingerprint

    @property
    def shards(self) -> list[dict[str, Any]]:
        """One JSON-safe dict per shard (built on each access: keep the list you fan out)."""
        return [part.to_dict() for part in self.parts]

    @property
    def objects(self) -> int:
        return sum(len(p.items) for p in self.parts)

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.parts)

    @property
    def shard_objects(self) -> tuple[int, ...]:
        return tuple(len(p.items) for p in self.parts)

    @property
    def shard_bytes(self) -> tuple[int, ...]:
        return tuple(p.bytes for p in self.parts)

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain JSON types: basis, totals, problems and the shard dicts."""
        b = self.basis
        return {
            "direction": b.direction,
            "remote": b.remote,
            "remote_url": b.remote_url,
            "targets": None if b.targets is None else list(b.targets),
            "fingerprint": b.fingerprint,
            "objects": self.objects,
            "bytes": self.bytes,
            "estimated": self.estimated,
            "shard_objects": list(self.shard_objects),
            "shard_bytes": list(self.shard_bytes),
            "missing": [asdict(f) for f in self.missing],
            "failed": [asdict(f) for f in self.failed],
            "shards": self.shards,
        }


def check_count(shards: object) -> int:
    """The number of shards asked for, if it is one (1 to MAX_SHARDS)."""
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS:
        raise PlanError(f"shards must be an integer from 1 to {MAX_SHARDS}, not {_short(shards)}")
    return shards


def check_direction(direction: object) -> str:
    if direction not in DIRECTIONS:
        raise PlanError(f"a plan is for 'push' or 'fetch', not {_short(direction)}")
    return str(direction)


def split(sizes: Sequence[int], n: int) -> list[list[int]]:
    """Pure: the indices of `sizes` for each of `n` shards, balanced by bytes and count.

    Largest first, each object goes to the shard whose load is least, a load being its
    share of all bytes plus its share of all objects: time to move a shard grows with both
    (bytes through the pipe, a request per object). Deterministic; shards may be empty
    when there are fewer objects than shards.
    """
    check_count(n)
    total_bytes = sum(sizes) or 1
    total_count = len(sizes) or 1
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], i))
    heap = [(0.0, k) for k in range(n)]
    chosen: list[list[int]] = [[] for _ in range(n)]
    for i in order:
        load, k = heapq.heappop(heap)
        chosen[k].append(i)
        heapq.heappush(heap, (load + sizes[i] / total_bytes + 1 / total_count, k))
    return chosen


def fingerprint(outputs: Iterable[tuple[str, str | None, bool, str]]) -> str:
    """Pure: a digest of the selected outputs, each `(path, oid, legacy, subpath)`, in any
    order. A re-added output (new oid), a removed or added one all change it."""
    rows = sorted({(path, oid or "", bool(legacy), sub) for path, oid, legacy, sub in outputs})
    text = json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def remote_id(url: str) -> str:
    """Pure: names a remote by a digest of its resolved URL (no path or secret in it)."""
    return hashlib.sha256(f"freight-remote\0{url}".encode()).hexdigest()[:16]


def build(
    basis: Basis,
    outputs: Sequence[tuple[str, bool]],
    items: Sequence[Item],
    n: int,
    *,
    missing: Sequence[Failure] = (),
    failed: Sequence[Failure] = (),
    estimated: bool = False,
) -> TransferPlan:
    """Pure: split `items` (indexing into `outputs`) into `n` shards; each shard lists only
    the outputs its objects belong to, objects in oid order."""
    parts = []
    for k, chosen in enumerate(split([i.size for i in items], n)):
        mine = sorted((items[i] for i in chosen), key=lambda it: (it.oid, it.output, it.rel))
        used = sorted({it.output for it in mine})
        renumber = {old: new for new, old in enumerate(used)}
        parts.append(
            Shard(
                basis,
                k,
                n,
                tuple(outputs[u] for u in used),
                tuple(Item(it.oid, it.size, renumber[it.output], it.rel) for it in mine),
            )
        )
    return TransferPlan(basis, tuple(parts), tuple(missing), tuple(failed), estimated)


def check_fresh(shard: Shard, *, remote_id: str, fingerprint: str) -> None:
    """Refuse a shard whose remote or outputs changed since planning (nothing moved yet)."""
    b = shard.basis
    which = f"shard {shard.index + 1}/{shard.count}"
    if b.remote_id != remote_id:
        raise StalePlanError(
            f"stale plan: remote '{b.remote}' is not the one {which} was planned for "
            "(its URL changed): plan again"
        )
    if b.fingerprint != fingerprint:
        what = "targets " + ", ".join(b.targets) if b.targets else "the workspace"
        raise StalePlanError(
            f"stale plan: the outputs of {what} changed since {which} was planned "
            "(a metafile was edited or data re-added): plan again"
        )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _malformed(why: str) -> PlanError:
    return PlanError(f"malformed shard: {why}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_list(value: object) -> TypeGuard[list[Any] | tuple[Any, ...]]:
    return isinstance(value, (list, tuple))


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise _malformed(f"'{key}' must be a non-empty string, not {_short(value)}")
    return value


def _pattern(data: Mapping[str, Any], key: str, pattern: re.Pattern[str]) -> str:
    value = data[key]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _malformed(f"'{key}' is not a digest: {_short(value)}")
    return value


def parse_shard(data: object, direction: str) -> Shard:
    """Read a shard dict (as `Shard.to_dict` made it, or after a JSON round trip), strictly:
    one-line PlanError for anything foreign, malformed or meant for the other direction."""
    if not isinstance(data, Mapping):
        raise PlanError(f"not a freight shard: expected a dict, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise PlanError(f'not a freight shard: no "format": "{FORMAT}" in it')
    version = data.get("version")
    if version != VERSION or not _is_int(version):
        raise PlanError(
            f"shard format version {_short(version)} is not supported (this freight reads "
            f"version {VERSION}): plan again with this freight"
        )
    absent = [k for k in KEYS if k not in data]
    unknown = sorted(str(k) for k in data if k not in KEYS)
    if absent or unknown:
        parts = [f"missing {', '.join(absent)}"] if absent else []
        parts += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise _malformed("; ".join(parts))
    found = data["direction"]
    if found not in DIRECTIONS:
        raise _malformed(f"'direction' must be 'push' or 'fetch', not {_short(found)}")
    if found != direction:
        raise PlanError(f"this is a {found} shard: run it with {found}(shard=...), not {direction}")
    remote = _text(data, "remote")
    url = data["remote_url"]
    if url is not None and not isinstance(url, str):
        raise _malformed(f"'remote_url' must be a string or null, not {_short(url)}")
    targets = data["targets"]
    if targets is not None and (
        not _is_list(targets) or not all(isinstance(t, str) and t for t in targets)
    ):
        raise _malformed(f"'targets' must be a list of paths or null, not {_short(targets)}")
    basis = Basis(
        direction,
        remote,
        url,
        _pattern(data, "remote_id", _REMOTE_ID),
        None if targets is None else tuple(targets),
        _pattern(data, "fingerprint", _MD5),
    )
    index, count = data["shard"], data["shards"]
    if not (_is_int(index) and _is_int(count) and 0 <= index < count <= MAX_SHARDS):
        raise _malformed(f"'shard' {_short(index)} of 'shards' {_short(count)} is out of range")
    outputs = _outputs(data["outputs"])
    items = _items(data["objects"], outputs)
    total = data["bytes"]
    if not _is_int(total) or total != sum(i.size for i in items):
        raise _malformed(f"'bytes' {_short(total)} is not the sum of the objects' sizes")
    return Shard(basis, index, count, outputs, items)


def _outputs(value: object) -> tuple[tuple[str, bool], ...]:
    if not _is_list(value):
        raise _malformed(f"'outputs' must be a list, not {_short(value)}")
    outputs: list[tuple[str, bool]] = []
    for n, entry in enumerate(value):
        if not (
            _is_list(entry)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and entry[0]
            and isinstance(entry[1], bool)
        ):
            raise _malformed(f"output {n} must be [path, legacy], not {_short(entry)}")
        outputs.append((entry[0], entry[1]))
    if len({path for path, _ in outputs}) != len(outputs):
        raise _malformed("an output is listed twice")
    return tuple(outputs)


def _items(value: object, outputs: Sequence[tuple[str, bool]]) -> tuple[Item, ...]:
    if not _is_list(value):
        raise _malformed(f"'objects' must be a list, not {_short(value)}")
    items: list[Item] = []
    seen: set[tuple[str, bool]] = set()
    for n, entry in enumerate(value):
        if not (_is_list(entry) and len(entry) == 4):
            raise _malformed(f"object {n} must be [md5, size, output, path], not {_short(entry)}")
        oid, size, out, rel = entry
        if isinstance(oid, str) and oid.endswith(".dir"):
            raise _malformed(f"object {n} is a .dir ({oid}): shards move file objects only")
        if not isinstance(oid, str) or not _MD5.fullmatch(oid):
            raise _malformed(f"object {n} has no md5: {_short(oid)}")
        if not _is_int(size) or size < 0:
            raise _malformed(f"object {n} ({oid}) has an invalid size {_short(size)}")
        if not _is_int(out) or not 0 <= out < len(outputs):
            raise _malformed(f"object {n} ({oid}) names no listed output: {_short(out)}")
        if not isinstance(rel, str):
            raise _malformed(f"object {n} ({oid}) has an invalid path {_short(rel)}")
        key = (oid, outputs[out][1])
        if key in seen:
            raise _malformed(f"object {oid} is listed twice")
        seen.add(key)
        items.append(Item(oid, size, out, rel))
    return tuple(items)
