"""Prefect tasks for freight's verbs: `add`, `push`, `fetch`, `pull`, `checkout`, `status`,
and `plan` (the shards that `push.map`/`fetch.map` fan out over; see `prefect_freight.fanout`).

Each task opens `freight.Repo(repo_path)` with the in-memory overlay of its `remote` and
`credentials` (see `prefect_freight.remotes`), makes one call to the core with progress
going to the run logger, fails on what the core reports as failed (naming it), publishes
the outputs as assets and artifacts (`prefect_freight.lineage`), and returns a JSON-safe
dict: `lineage` (output path -> record), `transferred`, `skipped`, `bytes`, `failed`,
`missing`, and the verb's own fields.

The tasks retry transient remote errors (`prefect_freight.retries`) and never cache
(they change the workspace or the remote): use `with_options` to change either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import freight
from prefect import task
from prefect.blocks.core import Block
from prefect.cache_policies import NO_CACHE

from prefect_freight.lineage import Role, publish_artifacts, publish_assets
from prefect_freight.logs import run_logger
from prefect_freight.remotes import RemoteArg, open_repo
from prefect_freight.retries import RETRIES, RETRY_DELAYS, retry_transient

Result = (
    freight.AddResult
    | freight.CheckoutResult
    | freight.CloudStatusResult
    | freight.StatusResult
    | freight.TransferResult
)
Targets = str | Sequence[str] | None
#: one core call, given the open repository and the remote's name (None: the default)
Call = Callable[[freight.Repo, str | None], Result]

_OPTIONS: dict[str, Any] = {
    "retries": RETRIES,
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_condition_fn": retry_transient,
    "cache_policy": NO_CACHE,
}


def _targets(targets: Targets) -> list[str] | None:
    """A single string is one target; None or empty means every output."""
    if not targets:
        return None
    return [targets] if isinstance(targets, str) else [str(t) for t in targets]


def _progress(verb: str) -> freight.LoggingCallback:
    return freight.LoggingCallback(run_logger(), verb)


def _run(
    verb: str,
    repo_path: str,
    remote: RemoteArg,
    credentials: Block | None,
    call: Call,
    *,
    role: Role | None = None,
    allow_missing: bool = False,
    publish: bool = True,
) -> dict[str, Any]:
    """Open, call, check, publish: the body every task shares."""
    repo, name = open_repo(repo_path, remote, credentials)
    with repo:
        result = call(repo, name)
    _check(result, allow_missing)
    data = summary(result)
    run_logger().info(
        "%s: %d transferred, %d skipped, %d bytes",
        verb,
        data["transferred"],
        data["skipped"],
        data["bytes"],
    )
    if publish:
        if role is not None:
            publish_assets(data["lineage"], role)
        publish_artifacts(verb, data)
    return data


def _check(result: Result, allow_missing: bool) -> None:
    """Fail on missing objects (unless allowed) and on failures, naming each."""
    logger = run_logger()
    if isinstance(result, freight.TransferResult) and result.missing:
        message = missing_message(result)
        if not allow_missing:
            raise freight.ObjectNotFoundError(message)
        logger.warning("%s", message)
    if isinstance(result, freight.TransferResult | freight.CheckoutResult):
        failed = list(result.failed)
        if isinstance(result, freight.TransferResult) and result.checkout is not None:
            failed += result.checkout.failed
        for failure in failed:
            logger.error("%s: %s: %s", failure.path, failure.kind, failure.message)
        if isinstance(result, freight.TransferResult) and result.failed:
            first = result.failed[0]  # the core's message counts them: name the first one
            raise freight.TransferError(
                f"{len(result.failed)} of the objects failed to move (remote "
                f"'{result.remote}'), first {first.path}: {first.message}",
                result,
            )
        result.raise_for_failures()


def missing_message(result: freight.TransferResult) -> str:
    """One line naming every object in neither the cache nor the remote."""
    names = ", ".join(sorted({f"{f.path} ({f.oid})" for f in result.missing}))
    n = len(result.missing)
    return (
        f"{n} object{'s' if n != 1 else ''} in neither the cache nor remote "
        f"'{result.remote}': {names}"
    )


def summary(result: Result) -> dict[str, Any]:
    """The task's return value: the result's counts and failures as plain JSON, its
    lineage, and zero counts for verbs that move nothing to or from a remote."""
    data = _without_outputs(result.to_dict())
    data["lineage"] = result.lineage()
    for key in ("transferred", "skipped", "bytes"):
        data.setdefault(key, 0)
    data.setdefault("failed", [])
    data.setdefault("missing", [])
    plain: dict[str, Any] = json.loads(json.dumps(data))
    return plain


def _without_outputs(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _without_outputs(value) if isinstance(value, Mapping) and key != "changes" else value
        for key, value in data.items()
        if key != "outputs"
    }


@task(name="freight-add", **_OPTIONS)
def add(repo_path: str, targets: Targets) -> dict[str, Any]:
    """Hash `targets`, store them in the cache and write their `.dvc` files (committing
    those to Git is left to the flow). Materializes an asset per output."""
    chosen = _targets(targets)
    if not chosen:
        raise ValueError("add needs targets: the paths to add")

    def call(repo: freight.Repo, _: str | None) -> Result:
        return repo.add(chosen, callback=_progress("add"))

    return _run("add", repo_path, None, None, call, role="materialized")


@task(name="freight-push", **_OPTIONS)
def push(
    repo_path: str,
    targets: Targets = None,
    *,
    remote: RemoteArg = None,
    credentials: Block | None = None,
    jobs: int | None = None,
    allow_missing: bool = False,
    all_branches: bool = False,
    all_tags: bool = False,
    all_commits: bool = False,
    recursive: bool = False,
    with_deps: bool = False,
    shard: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Upload what the remote lacks (a `.dir` only after all its files). Materializes an
    asset per output. With `shard` (one of `plan`'s), upload exactly that shard's files
    and publish nothing: the finishing `push` of the same targets does."""

    def call(repo: freight.Repo, name: str | None) -> Result:
        if shard is not None:
            return repo.push(shard=shard, jobs=jobs, callback=_progress("push shard"))
        return repo.push(
            _targets(targets),
            remote=name,
            jobs=jobs,
            all_branches=all_branches,
            all_tags=all_tags,
            all_commits=all_commits,
            recursive=recursive,
            with_deps=with_deps,
            callback=_progress("push"),
        )

    return _run(
        "push",
        repo_path,
        remote,
        credentials,
        call,
        role="materialized",
        allow_missing=allow_missing,
        publish=shard is None,
    )


@task(name="freight-fetch", **_OPTIONS)
def fetch(
    repo_path: str,
    targets: Targets = None,
    *,
    remote: RemoteArg = None,
    credentials: Block | None = None,
    jobs: int | None = None,
    allow_missing: bool = False,
    all_branches: bool = False,
    all_tags: bool = False,
    all_commits: bool = False,
    recursive: bool = False,
    with_deps: bool = False,
    shard: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Download what the cache lacks, each object verified against its md5. References an
    asset per output. `shard` as for `push`."""

    def call(repo: freight.Repo, name: str | None) -> Result:
        if shard is not None:
            return repo.fetch(shard=shard, jobs=jobs, callback=_progress("fetch shard"))
        return repo.fetch(
            _targets(targets),
            remote=name,
            jobs=jobs,
            all_branches=all_branches,
            all_tags=all_tags,
            all_commits=all_commits,
            recursive=recursive,
            with_deps=with_deps,
            callback=_progress("fetch"),
        )

    return _run(
        "fetch",
        repo_path,
        remote,
        credentials,
        call,
        role="referenced",
        allow_missing=allow_missing,
        publish=shard is None,
    )


@task(name="freight-pull", **_OPTIONS)
def pull(
    repo_path: str,
    targets: Targets = None,
    *,
    remote: RemoteArg = None,
    credentials: Block | None = None,
    jobs: int | None = None,
    force: bool = False,
    allow_missing: bool = False,
    all_branches: bool = False,
    all_tags: bool = False,
    all_commits: bool = False,
    recursive: bool = False,
    with_deps: bool = False,
) -> dict[str, Any]:
    """Fetch, then check out the same targets (`force`: replace workspace data that is not
    in the cache). References an asset per output."""

    def call(repo: freight.Repo, name: str | None) -> Result:
        return repo.pull(
            _targets(targets),
            remote=name,
            jobs=jobs,
            force=force,
            allow_missing=allow_missing,
            all_branches=all_branches,
            all_tags=all_tags,
            all_commits=all_commits,
            recursive=recursive,
            with_deps=with_deps,
            callback=_progress("pull"),
        )

    return _run(
        "pull",
        repo_path,
        remote,
        credentials,
        call,
        role="referenced",
        allow_missing=allow_missing,
    )


@task(name="freight-checkout", **_OPTIONS)
def checkout(
    repo_path: str,
    targets: Targets = None,
    *,
    force: bool = False,
    relink: bool = False,
    allow_missing: bool = False,
) -> dict[str, Any]:
    """Make the workspace match the metafiles, from the cache. References an asset per
    output; fails naming the files whose objects are missing, unless `allow_missing`."""

    def call(repo: freight.Repo, _: str | None) -> Result:
        return repo.checkout(
            _targets(targets),
            force=force,
            relink=relink,
            allow_missing=allow_missing,
            callback=_progress("checkout"),
        )

    return _run("checkout", repo_path, None, None, call, role="referenced")


@task(name="freight-status", **_OPTIONS)
def status(
    repo_path: str,
    targets: Targets = None,
    *,
    cloud: bool = False,
    remote: RemoteArg = None,
    credentials: Block | None = None,
    jobs: int | None = None,
    recursive: bool = False,
    with_deps: bool = False,
) -> dict[str, Any]:
    """The workspace against its metafiles and cache, or with `cloud` the cache against a
    remote: `clean` and `changes` in the result. Never fails on changes."""

    def call(repo: freight.Repo, name: str | None) -> Result:
        if cloud:
            return repo.status(
                _targets(targets),
                cloud=True,
                remote=name,
                jobs=jobs,
                recursive=recursive,
                with_deps=with_deps,
            )
        return repo.status(
            _targets(targets),
            recursive=recursive,
            with_deps=with_deps,
            callback=_progress("status"),
        )

    data = _run("status", repo_path, remote, credentials, call)
    data["clean"] = not data["changes"]
    return data


@task(name="freight-plan", **_OPTIONS)
def plan(
    repo_path: str,
    targets: Targets = None,
    *,
    direction: Literal["push", "fetch"] = "push",
    shards: int = 2,
    remote: RemoteArg = None,
    credentials: Block | None = None,
    jobs: int | None = None,
) -> list[dict[str, Any]]:
    """Plan a push or fetch of `targets` and split it into `shards` (balanced by bytes and
    object count): one JSON dict per shard, with no credential in it, for
    `push.map(..., shard=...)` / `fetch.map(..., shard=...)`."""
    repo, name = open_repo(repo_path, remote, credentials)
    with repo:
        made = repo.plan(
            direction,
            _targets(targets),
            remote=name,
            shards=shards,
            jobs=jobs,
            callback=_progress("plan"),
        )
    run_logger().info(
        "%s plan: %d objects, %d bytes in %d shards (objects per shard %s)",
        made.direction,
        made.objects,
        made.bytes,
        len(made.shard_objects),
        list(made.shard_objects),
    )
    shard_dicts: list[dict[str, Any]] = made.shards
    return shard_dicts
