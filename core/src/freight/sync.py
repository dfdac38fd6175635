"""Push, fetch and cloud status for selected outputs against one remote.

Collect the objects the outputs use (loading `.dir` manifests from the cache, or fetching
them first), ask each side what it holds (cache: one stat or listing; remote: index, then
the cheaper of listing and querying), plan in `transfer`, then move.

Push and fetch are each two steps: `prepare_push`/`prepare_fetch` decide what must move
(a fetch downloads the `.dir`s it needs to know directory members), `run_push`/
`run_fetch` move it. Transfer plans (`freight.sharding`) share the first step and split
its file objects into shards, which `push_objects`/`fetch_objects` move.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .callbacks import Callback
from .collect import Selection
from .errors import ConfigError, FreightError, redact_url
from .gcpause import paused
from .inventory import RemoteIndex
from .odb import Cache
from .results import ArtifactRef, CloudStatusResult, Failure, TransferResult
from .storage import Storage
from .transfer import (
    ORDER,
    Dir,
    Obj,
    Outcome,
    PushPlan,
    Wanted,
    by_key,
    download,
    members,
    plan_fetch,
    plan_push,
    remote_present,
    upload,
)


@dataclass
class Remote:
    """An opened remote: its name, storage, index and transfer parallelism."""

    name: str
    storage: Storage
    index: RemoteIndex
    jobs: int

    def close(self) -> None:
        self.index.close()
        self.storage.close()


@paused()
def _cached(cache: Cache, objs: Collection[Obj]) -> set[str]:
    """The keys of `objs` that are in the cache."""
    keys: set[str] = set()
    for legacy in (False, True):
        layout = [o for o in objs if o.legacy is legacy]
        gone = cache.missing((o.oid for o in layout), legacy=legacy) if layout else set()
        keys.update(o.key for o in layout if o.oid not in gone)
    return keys


def _roots(want: Wanted) -> set[str]:
    """The outputs' own objects (loose files and `.dir`s): what a stale index is tested by."""
    return {o.key for o in want.files} | {d.tree.key for d in want.dirs}


@paused()
def wanted(cache: Cache, selections: Sequence[Selection]) -> tuple[Wanted, list[Obj]]:
    """Objects of the selections; `.dir`s not in the cache come back separately."""
    files: list[Obj] = []
    dirs: list[Dir] = []
    absent: list[Obj] = []
    for sel in selections:
        out = sel.output
        obj = Obj(out.oid or "", out.legacy, out.path)
        if not out.is_dir:
            files.append(obj)
        elif cache.exists(obj.oid, legacy=obj.legacy):
            dirs.append(_dir(cache, obj, sel.subpath))
        else:
            absent.append(obj)
    return Wanted(tuple(files), tuple(dirs)), absent


@paused()
def _dir(cache: Cache, tree: Obj, subpath: str) -> Dir:
    complete = members(cache, tree)
    wanted = members(cache, tree, subpath) if subpath else complete
    return Dir(tree, tuple(wanted), frozenset(o.key for o in complete))


def _refs(selections: Sequence[Selection]) -> tuple[ArtifactRef, ...]:
    return tuple(ArtifactRef.of(s.output) for s in selections)


@dataclass(frozen=True)
class PushWork:
    """What a push decided: the plan, what the remote holds, and how many objects count."""

    plan: PushPlan
    on_remote: frozenset[str]
    total: int


def prepare_push(cache: Cache, remote: Remote, selections: Sequence[Selection]) -> PushWork:
    """Decide what a push of `selections` uploads (asks the cache and the remote)."""
    _writable(remote)
    want, absent = wanted(cache, selections)
    everything = Wanted(want.files + tuple(absent), want.dirs)
    objs = everything.objects
    on_remote = remote_present(
        remote.storage, remote.index, set(objs), jobs=remote.jobs, confirm=_roots(want)
    )
    # only what the remote lacks is looked for in the cache: a no-op push lists no folder
    local = _cached(cache, [o for k, o in objs.items() if k not in on_remote])
    plan = plan_push(everything, local, on_remote)
    return PushWork(plan, frozenset(on_remote), len(objs))


def _writable(remote: Remote) -> None:
    if not remote.storage.can_write:
        raise ConfigError(f"remote '{remote.name}' ({redact_url(remote.storage.url)}) is read-only")


def push(
    cache: Cache, remote: Remote, selections: Sequence[Selection], callback: Callback
) -> TransferResult:
    return run_push(cache, remote, selections, prepare_push(cache, remote, selections), callback)


def run_push(
    cache: Cache,
    remote: Remote,
    selections: Sequence[Selection],
    work: PushWork,
    callback: Callback,
) -> TransferResult:
    """Upload the files of `work`, then each `.dir` whose files are all on the remote."""
    plan = work.plan
    callback.set_size(len(plan.files) + len(plan.dirs))
    outcome = upload(remote.storage, cache, plan.files, jobs=remote.jobs, callback=callback)
    remote.index.add(o.key for o in outcome.done)
    landed = work.on_remote | {o.key for o in outcome.done}
    ready = [d.tree for d in plan.dirs if d.complete <= landed]
    trees = upload(remote.storage, cache, ready, jobs=remote.jobs, callback=callback)
    remote.index.add(o.key for o in trees.done)
    # A .dir held back because a file we tried to send is missing or failed is a failure;
    # one held back only because a granular push sent part of it is not.
    skipped = [
        Failure(
            d.tree.path,
            d.tree.oid,
            "IncompleteDirectory",
            "not uploaded: some of its files are missing",
        )
        for d in plan.dirs
        if not {m.key for m in d.members} <= landed
    ]
    return _result("push", remote, selections, outcome, trees, work.total, plan.missing, skipped)


def push_objects(
    cache: Cache,
    remote: Remote,
    selections: Sequence[Selection],
    objs: Sequence[Obj],
    callback: Callback,
    *,
    ask_remote: bool,
) -> TransferResult:
    """Upload the file objects `objs` (a shard) the index does not record: never a `.dir`.

    The plan found them missing from the remote, so a first run asks nothing; with
    `ask_remote` (a run after one that was killed, whose uploads the index may not
    record), the remote is asked about the rest, so what landed is not sent again.
    """
    _writable(remote)
    wanted_objs = set(objs)
    local = _cached(cache, wanted_objs)
    keys = {o.key for o in wanted_objs}
    if ask_remote:
        on_remote = remote_present(remote.storage, remote.index, keys, jobs=remote.jobs)
    else:
        on_remote = remote.index.known(keys)
    plan = plan_push(Wanted(tuple(wanted_objs)), local, on_remote)
    callback.set_size(len(plan.files))
    outcome = upload(remote.storage, cache, plan.files, jobs=remote.jobs, callback=callback)
    remote.index.add(o.key for o in outcome.done)
    return _result("push", remote, selections, outcome, Outcome(), len(wanted_objs), plan.missing)


@paused()
def _result(
    direction: str,
    remote: Remote,
    selections: Sequence[Selection],
    first: Outcome,
    second: Outcome,
    total: int,
    missing: Sequence[Obj],
    extra_failed: Sequence[Failure] = (),
) -> TransferResult:
    moved = len(first.done) + len(second.done)
    failed = (*first.failed, *second.failed, *extra_failed)
    return TransferResult(
        direction=direction,
        remote=remote.name,
        outputs=_refs(selections),
        transferred=moved,
        skipped=total - moved - len(failed) - len(missing),
        bytes=first.bytes + second.bytes,
        failed=failed,
        missing=missing_failures(missing),
    )


def missing_failures(objs: Sequence[Obj]) -> tuple[Failure, ...]:
    """Objects in neither the cache nor the remote, as a result reports them."""
    return tuple(
        Failure(
            o.path,
            o.oid,
            "ObjectNotFoundError",
            f"{o.oid} is neither in the cache nor on the remote",
        )
        for o in objs
    )


@dataclass(frozen=True)
class FetchWork:
    """What a fetch decided, after downloading the `.dir`s it needed: the files to
    download, those in neither place, and what counts."""

    trees: Outcome  # the `.dir` downloads already done
    trees_planned: int
    todo: tuple[Obj, ...]
    missing: tuple[Obj, ...]
    failed: tuple[Failure, ...]  # `.dir`s that arrived but cannot be used
    total: int


def prepare_fetch(
    cache: Cache, remote: Remote, selections: Sequence[Selection], callback: Callback
) -> FetchWork:
    """Decide what a fetch of `selections` downloads; downloads (verified) the `.dir`s
    missing from the cache first, since their members are only known from them."""
    want, absent = wanted(cache, selections)
    on_remote = remote_present(
        remote.storage, remote.index, {o.key for o in absent}, jobs=remote.jobs
    )
    trees_todo, trees_missing = plan_fetch(absent, set(), on_remote)
    trees = download(
        remote.storage,
        cache,
        trees_todo,
        jobs=remote.jobs,
        index=remote.index,
        callback=callback,
    )
    extra: list[Failure] = []
    dirs = list(want.dirs)
    fetched = {t.oid for t in trees.done}
    for sel in selections:
        out = sel.output
        if out.is_dir and out.oid in fetched:
            tree = Obj(out.oid, out.legacy, out.path)
            try:
                dirs.append(_dir(cache, tree, sel.subpath))
            except FreightError as exc:
                extra.append(Failure.of(out.path, out.oid, exc))
    everything = [*want.files]
    for d in dirs:
        everything.extend(d.members)
    files = by_key(everything)
    local = _cached(cache, files.values())
    unknown = files.keys() - local
    on_remote = remote_present(remote.storage, remote.index, unknown, jobs=remote.jobs)
    todo, missing = plan_fetch(files.values(), local, on_remote)
    return FetchWork(
        trees,
        len(trees_todo),
        tuple(todo),
        (*trees_missing, *missing),
        tuple(extra),
        len(files) + len(absent),
    )


def fetch(
    cache: Cache, remote: Remote, selections: Sequence[Selection], callback: Callback
) -> TransferResult:
    work = prepare_fetch(cache, remote, selections, callback)
    return run_fetch(cache, remote, selections, work, callback)


def run_fetch(
    cache: Cache,
    remote: Remote,
    selections: Sequence[Selection],
    work: FetchWork,
    callback: Callback,
) -> TransferResult:
    """Download (verified) the files of `work`."""
    callback.set_size(len(work.todo) + work.trees_planned)
    outcome = download(
        remote.storage,
        cache,
        work.todo,
        jobs=remote.jobs,
        index=remote.index,
        callback=callback,
    )
    return _result(
        "fetch", remote, selections, work.trees, outcome, work.total, work.missing, work.failed
    )


def fetch_objects(
    cache: Cache,
    remote: Remote,
    selections: Sequence[Selection],
    objs: Sequence[Obj],
    callback: Callback,
) -> TransferResult:
    """Download (verified) those of the file objects `objs` the cache lacks (a shard).

    The plan found them on the remote, so the remote is not asked again: one it lost since
    fails (and leaves the index).
    """
    wanted_objs = set(objs)
    local = _cached(cache, wanted_objs)
    todo = sorted((o for o in wanted_objs if o.key not in local), key=ORDER)
    callback.set_size(len(todo))
    outcome = download(
        remote.storage, cache, todo, jobs=remote.jobs, index=remote.index, callback=callback
    )
    return _result("fetch", remote, selections, outcome, Outcome(), len(wanted_objs), ())


def cloud_status(
    cache: Cache, remote: Remote, selections: Sequence[Selection]
) -> CloudStatusResult:
    """DVC's `status -c`: new (only local), deleted (only remote), missing (neither)."""
    want, absent = wanted(cache, selections)
    if absent:  # like DVC, fetch `.dir`s so their files can be listed
        on_remote = remote_present(
            remote.storage, remote.index, {o.key for o in absent}, jobs=remote.jobs
        )
        todo, _ = plan_fetch(absent, set(), on_remote)
        download(
            remote.storage,
            cache,
            todo,
            jobs=remote.jobs,
            index=remote.index,
            callback=Callback(),  # fetching `.dir`s to list files is not progress
        )
        want, absent = wanted(cache, selections)
    objs = Wanted(want.files + tuple(absent), want.dirs).objects
    local = _cached(cache, objs.values())
    on_remote = remote_present(
        remote.storage, remote.index, set(objs), jobs=remote.jobs, confirm=_roots(want)
    )
    changes: dict[str, str] = {}
    for obj in sorted(objs.values(), key=lambda o: o.path):
        state = _state(obj.key in local, obj.key in on_remote)
        if state is not None and obj.path not in changes:
            changes[obj.path] = state
    return CloudStatusResult(remote.name, _refs(selections), changes)


def _state(local: bool, remote: bool) -> str | None:
    if local and remote:
        return None
    if local:
        return "new"
    return "deleted" if remote else "missing"
