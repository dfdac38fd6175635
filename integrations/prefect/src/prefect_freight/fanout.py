"""One push or fetch sharded over mapped task runs, for use inside a flow.

    shards = plan(repo, targets, direction="push", shards=8, remote=block)
    parts = push.map(repo, shard=shards, remote=unmapped(block))
    done = push(repo, targets, remote=block, wait_for=parts)

`plan` splits what must move into shards balanced by bytes and object count (JSON dicts
with no credential); each mapped run moves exactly its shard's file objects, side by side
under the flow's task runner (threads with `ThreadPoolTaskRunner`); the finishing call of
the same verb uploads the `.dir` manifests once all their files are there (push), checks
everything, reports the totals and publishes the assets and artifacts. `push_sharded` and
`fetch_sharded` are exactly that. Arguments that are iterable (a block, a list of targets)
go through `unmapped(...)`, or Prefect would map over them too.
"""

from __future__ import annotations

from typing import Any

from prefect import unmapped
from prefect.blocks.core import Block

from prefect_freight.remotes import RemoteArg
from prefect_freight.tasks import Targets, fetch, plan, push


def push_sharded(
    repo_path: str,
    targets: Targets = None,
    *,
    shards: int,
    remote: RemoteArg = None,
    credentials: Block | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Plan, `push.map` the shards, then the finishing `push`; returns its result."""
    return _sharded("push", repo_path, targets, shards, remote, credentials, jobs)


def fetch_sharded(
    repo_path: str,
    targets: Targets = None,
    *,
    shards: int,
    remote: RemoteArg = None,
    credentials: Block | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Plan, `fetch.map` the shards, then the finishing `fetch` (check out with
    `checkout` afterwards); returns its result."""
    return _sharded("fetch", repo_path, targets, shards, remote, credentials, jobs)


def _sharded(
    verb: str,
    repo_path: str,
    targets: Targets,
    shards: int,
    remote: RemoteArg,
    credentials: Block | None,
    jobs: int | None,
) -> dict[str, Any]:
    verb_task = push if verb == "push" else fetch
    where: dict[str, Any] = {"remote": remote, "credentials": credentials, "jobs": jobs}
    parts = plan(repo_path, targets, direction=verb, shards=shards, **where)
    moved = verb_task.map(
        repo_path,
        shard=parts,
        remote=unmapped(remote),
        credentials=unmapped(credentials),
        jobs=jobs,
    )
    finished: dict[str, Any] = verb_task(repo_path, targets, wait_for=moved, **where)
    return finished
