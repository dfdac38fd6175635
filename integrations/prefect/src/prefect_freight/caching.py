"""`DataHash`: a Prefect cache policy keyed on the content hashes of a task's input data.

A task that reads DVC-tracked data (a transform, a training step) names the repository and
the outputs it reads in two parameters (`repo_path` and `targets` by default). The policy's
key is a digest of those outputs' md5s, as their metafiles record them, so the task is a
cache hit whenever it runs again over the same bytes, whatever their paths' mtimes or the
run, and a miss as soon as any of them changes. Nothing is downloaded or re-hashed: the
key comes from `freight.Repo.status`, which reads the metafiles and checks the workspace
against them with freight's hash cache.

When the workspace does not match the metafiles (data edited but not added, or not
checked out), the md5s do not describe the bytes the task would read: the policy then
gives no key, and the task runs without caching.

Combine it with Prefect's policies so that a change to the task's code also misses:

    @task(cache_policy=DataHash() + TASK_SOURCE)
    def train(repo_path: str, targets: list[str]) -> float: ...
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import freight
from prefect.cache_policies import CachePolicy
from prefect.context import TaskRunContext


@dataclass
class DataHash(CachePolicy):
    """Cache key = the md5s of the outputs the task's `targets` parameter names (every
    output of the repository when it is empty) in the repository of `repo_path`.

    Args:
        repo_param: the name of the task parameter holding the repository's path.
        targets_param: the name of the task parameter holding the targets (a path, a list
            of paths, or None).
    """

    repo_param: str = "repo_path"
    targets_param: str = "targets"

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        repo_path = inputs.get(self.repo_param)
        if not repo_path:
            return None
        return data_key(str(repo_path), inputs.get(self.targets_param))


def data_key(repo_path: str, targets: str | list[str] | tuple[str, ...] | None) -> str | None:
    """The digest of the targets' md5s, or None when the workspace does not match them."""
    chosen = [targets] if isinstance(targets, str) else list(targets or [])
    with freight.Repo(repo_path) as repo:
        state = repo.status(chosen or None)
    hashes = sorted((ref.path, ref.md5) for ref in state.outputs)
    if not state.clean or not hashes or any(md5 is None for _, md5 in hashes):
        return None
    text = json.dumps(hashes, separators=(",", ":"))
    return "freight-" + hashlib.sha256(text.encode()).hexdigest()
