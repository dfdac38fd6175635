"""Make transfer plans and run their shards: the I/O around `freight.plans`.

A plan makes the decisions a push or fetch makes (`sync.prepare_push`/`prepare_fetch`;
a fetch plan downloads, verified, the `.dir`s it needs to know directory members) and
splits the file objects that must move into shards. A shard run first checks that the
plan still holds (the same outputs, the same remote; `StalePlanError` otherwise, before
anything moves), then moves its objects. A push shard uploads those the index does not
record: the plan just found them missing, so a first run asks the remote nothing (asking
again would double the requests of a sharded push); a marker under `.dvc/tmp/freight/
shards/` outlives a killed run, and the next run of that shard in the workspace then asks
the remote about the rest, so what landed is not sent again (in another workspace it is
sent again: a harmless rewrite of identical bytes under a content-addressed key). A fetch
shard downloads those the cache lacks (a re-run skips what arrived).

Decisions: a plan is for one remote (targets whose outputs go to several remotes are
refused: plan each); version-aware and worktree remotes are refused (their objects are
named by workspace path and their versions recorded in metafiles, which concurrent
workers cannot write); a fetch plan leaves imports out (they come from their source, by
version id: the final ordinary fetch gets them). Shard runs hold the repository lock
shared (`freight.lock`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import plans, sync, versioning
from .callbacks import Callback
from .collect import Selection, repo_relpath
from .config import RemoteConfig
from .errors import PathError, PlanError, StalePlanError, redact_url
from .results import ArtifactRef, Failure, TransferResult
from .transfer import Obj

if TYPE_CHECKING:
    from .repo import Repo, StrPath


def make_plan(
    repo: Repo,
    direction: str,
    targets: Iterable[StrPath] | None,
    *,
    remote: str | None,
    shards: int,
    jobs: int | None,
    callback: Callback,
) -> plans.TransferPlan:
    """Plan a push or fetch of `targets` to/from `remote` in `shards` parts."""
    direction = plans.check_direction(direction)
    plans.check_count(shards)
    names = _targets(repo, targets)
    config, selections = _scope(repo, direction, names, remote)
    basis = plans.Basis(
        direction,
        config.name,
        None if config.is_local else redact_url(config.url),
        plans.remote_id(config.url),
        names,
        _fingerprint(selections),
    )
    outputs = _Outputs(selections)
    if not selections:
        return plans.build(basis, [], [], shards)
    opened = repo._open_remote(config.name, jobs)
    try:
        if direction == "push":
            work = sync.prepare_push(repo.cache, opened, selections)
            objs: Sequence[Obj] = work.plan.files
            sizes = [_cached_size(repo, o) for o in objs]
            missing = sync.missing_failures(work.plan.missing)
            failed: tuple[Failure, ...] = ()
        else:
            fetch = sync.prepare_fetch(repo.cache, opened, selections, callback)
            objs = fetch.todo
            sizes = [outputs.estimate(o.path) for o in objs]
            missing = sync.missing_failures(fetch.missing)
            failed = (*fetch.trees.failed, *fetch.failed)
    finally:
        opened.close()
    items = [outputs.item(o, size) for o, size in zip(objs, sizes, strict=True)]
    return plans.build(
        basis,
        outputs.table,
        items,
        shards,
        missing=missing,
        failed=failed,
        estimated=direction == "fetch",
    )


def run_shard(
    repo: Repo,
    direction: str,
    data: Mapping[str, Any],
    *,
    jobs: int | None,
    callback: Callback,
) -> TransferResult:
    """Move exactly the objects of one shard, after checking its plan still holds."""
    shard = plans.parse_shard(data, direction)
    basis = shard.basis
    try:
        config, selections = _scope(repo, direction, basis.targets, basis.remote)
    except PathError as exc:  # a target no longer resolves
        raise StalePlanError(f"stale plan: {exc}: plan again") from None
    plans.check_fresh(
        shard, remote_id=plans.remote_id(config.url), fingerprint=_fingerprint(selections)
    )
    chosen = _mine(shard, selections)
    if not shard.items:
        return TransferResult(
            direction, config.name, tuple(ArtifactRef.of(s.output) for s in chosen)
        )
    marker = _marker(repo, shard)
    interrupted = marker.exists()  # an earlier run of this shard here did not finish
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    opened = repo._open_remote(config.name, jobs)
    try:
        if direction == "push":
            result = sync.push_objects(
                repo.cache, opened, chosen, shard.objs(), callback, ask_remote=interrupted
            )
        else:
            result = sync.fetch_objects(repo.cache, opened, chosen, shard.objs(), callback)
    finally:
        opened.close()
    marker.unlink(missing_ok=True)  # finished (failures included): the index is up to date
    return result


def _marker(repo: Repo, shard: plans.Shard) -> Path:
    """Present while a run of `shard` is under way in this workspace (left by a kill)."""
    b = shard.basis
    name = f"{b.direction}-{b.fingerprint}-{b.remote_id}-{shard.index}-of-{shard.count}"
    return repo.tmp_dir / "freight" / "shards" / name


def _targets(repo: Repo, targets: Iterable[StrPath] | None) -> tuple[str, ...] | None:
    """Targets as a shard records them: repo-relative (no absolute local path)."""
    if targets is None:
        return None
    names = tuple(repo_relpath(repo.root, t) if os.path.isabs(t) else os.fspath(t) for t in targets)
    return names or None


def _scope(
    repo: Repo, direction: str, targets: Sequence[str] | None, remote: str | None
) -> tuple[RemoteConfig, list[Selection]]:
    """The remote a plan is for and the selections that go to it (as push/fetch would)."""
    selections = repo._select(targets)
    if direction == "fetch":  # imports come from their source: the final fetch gets them
        selections = [s for s in selections if repo._source(s.output) is None]
    groups: dict[str, list[Selection]] = {}
    configs: dict[str, RemoteConfig] = {}
    for name, group in repo._by_remote(selections, remote, pushing=direction == "push").items():
        config = repo.config.remote(name)
        configs[config.name] = config
        groups.setdefault(config.name, []).extend(group)
    if len(groups) > 1:
        raise PlanError(
            f"the targets go to {len(groups)} remotes ({', '.join(sorted(groups))}): "
            "plan each remote's outputs on their own (targets=..., remote=...)"
        )
    if groups:
        ((name, chosen),) = groups.items()
        config = configs[name]
    else:
        config, chosen = repo.config.remote(remote), []
    if config.version_aware:
        raise versioning.refuse("plan")
    return config, chosen


def _fingerprint(selections: Sequence[Selection]) -> str:
    return plans.fingerprint(
        (s.output.path, s.output.oid, s.output.legacy, s.subpath) for s in selections
    )


def _mine(shard: plans.Shard, selections: Sequence[Selection]) -> list[Selection]:
    """The selections whose outputs the shard lists; refuses a shard naming others."""
    by_path = {s.output.path: s for s in selections}
    chosen = []
    for path, legacy in shard.outputs:
        sel = by_path.get(path)
        if sel is None or sel.output.legacy != legacy:
            raise PlanError(f"the shard names an output its plan does not select: '{path}'")
        chosen.append(sel)
    return chosen


def _cached_size(repo: Repo, obj: Obj) -> int:
    try:
        return os.path.getsize(repo.cache.fspath(obj.oid, legacy=obj.legacy))
    except OSError:
        return 0  # gone since it was found: the shard reports it


class _Outputs:
    """The selected outputs as a shard lists them, and which one an object belongs to."""

    def __init__(self, selections: Sequence[Selection]) -> None:
        self.table: list[tuple[str, bool]] = []
        self._index: dict[str, int] = {}
        self._sizes: dict[str, int] = {}  # known sizes of files, by workspace path
        self._mean: dict[int, int] = {}  # mean file size of a directory output
        for sel in selections:
            out = sel.output
            if out.path in self._index:
                continue
            self._index[out.path] = len(self.table)
            self.table.append((out.path, out.legacy))
            if not out.is_dir:
                self._sizes[out.path] = out.size or 0
                continue
            if out.size and out.nfiles:
                self._mean[self._index[out.path]] = out.size // out.nfiles
            for meta in out.files or ():
                if meta.size is not None:
                    self._sizes[f"{out.path}/{meta.relpath}"] = meta.size

    def owner(self, path: str) -> tuple[int, str]:
        """(output index, path inside it) of a workspace path."""
        if path in self._index:
            return self._index[path], ""
        cut = path.rfind("/")
        while cut > 0:
            found = self._index.get(path[:cut])
            if found is not None:
                return found, path[cut + 1 :]
            cut = path.rfind("/", 0, cut)
        raise PlanError(f"'{path}' belongs to no selected output")

    def item(self, obj: Obj, size: int) -> plans.Item:
        index, rel = self.owner(obj.path)
        return plans.Item(obj.oid, size, index, rel)

    def estimate(self, path: str) -> int:
        known = self._sizes.get(path)
        if known is not None:
            return known
        return self._mean.get(self.owner(path)[0], 0)
