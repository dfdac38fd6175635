"""Operators for freight's verbs: add, push, fetch, pull, checkout and status.

Each operator opens `freight.Repo(repo_path)` (with the in-memory config of its
Connection, if it has one), makes one call to the core, fails on what the core reports as
failed, and publishes the result's lineage: as the XCom return value, on the asset event
of every outlet whose URI is one of its outputs, and to OpenLineage.

`__init__` only stores its arguments (it runs at every DAG parse); the repository, the
Connection and the remote are read when the task runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

import freight
from airflow.sdk import Asset, BaseOperator, conf

from freight_provider.assets.freight import normalized
from freight_provider.hooks.freight import FreightHook
from freight_provider.lineage import Role, operator_lineage

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

Result = (
    freight.AddResult
    | freight.CheckoutResult
    | freight.CloudStatusResult
    | freight.StatusResult
    | freight.TransferResult
)
Targets = str | Sequence[str] | None


class FreightBaseOperator(BaseOperator):
    """What every freight operator has: the repository, targets, remote and Connection.

    Args:
        repo_path: the repository (templated).
        targets: outputs, `.dvc` files, stage names or paths inside tracked directories,
            relative to the repository root (templated; default: every output).
        remote: a remote of the repository's config, or the name to give the remote of
            `freight_conn_id` (templated).
        freight_conn_id: a Connection (`freight`, `aws`, `google_cloud_platform`, `wasb`)
            whose remote URL and credentials are used in memory; None: the repository's
            own config only.
        jobs: parallel requests (default: the remote's `jobs` or the backend's default).
    """

    template_fields: Sequence[str] = ("repo_path", "targets", "remote", "freight_conn_id")
    ui_color = "#e8f0fe"
    #: the label of progress lines and log messages
    verb: ClassVar[str] = ""
    #: where the outputs go in OpenLineage: inputs (fetch/pull/checkout) or outputs
    lineage_role: ClassVar[Role | None] = None

    def __init__(
        self,
        *,
        repo_path: str,
        targets: Targets = None,
        remote: str | None = None,
        freight_conn_id: str | None = None,
        jobs: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.repo_path = repo_path
        self.targets = targets
        self.remote = remote
        self.freight_conn_id = freight_conn_id
        self.jobs = jobs
        self._lineage: dict[str, dict[str, Any]] = {}

    @cached_property
    def hook(self) -> FreightHook | None:
        return FreightHook(self.freight_conn_id) if self.freight_conn_id else None

    @property
    def remote_name(self) -> str | None:
        """The remote the verb uses: the Connection's, or `remote`, or the default one (a
        template that renders empty means the default)."""
        remote = self.remote or None
        return self.hook.remote_name(remote) if self.hook else remote

    def target_list(self) -> list[str] | None:
        """`targets` as a list (a single string is one target); None for every output."""
        if not self.targets:
            return None
        if isinstance(self.targets, str):
            return [self.targets]
        return [str(t) for t in self.targets]

    def open_repo(self) -> freight.Repo:
        if self.hook is not None:
            return self.hook.get_repo(self.repo_path, self.remote or None)
        return freight.Repo(self.repo_path)

    def progress(self) -> freight.LoggingCallback:
        # Airflow's task logger is structlog's (`info(event, *args)`): the same calls
        return freight.LoggingCallback(cast(Any, self.log), self.verb)

    def execute(self, context: Context) -> Any:
        with self.open_repo() as repo:
            result = self.run(repo)
        self.check(result)
        return self.publish(context, result)

    def run(self, repo: freight.Repo) -> Result:
        """The one call into the core (each operator's own)."""
        raise NotImplementedError

    def check(self, result: Result) -> None:
        """Fail the task on what the core reports as failed, naming each failure."""
        if isinstance(result, freight.TransferResult | freight.CheckoutResult):
            failed = list(result.failed)
            if isinstance(result, freight.TransferResult) and result.checkout is not None:
                failed += result.checkout.failed
            for failure in failed:
                self.log.error("%s: %s: %s", failure.path, failure.kind, failure.message)
            result.raise_for_failures()

    def publish(self, context: Context, result: Result) -> dict[str, Any]:
        """Per-output lineage onto the outlets' asset events; the summary for XCom."""
        self._lineage = result.lineage()
        by_uri = {normalized(r["uri"]): r for r in self._lineage.values() if r.get("uri")}
        for outlet in self.outlets:
            if isinstance(outlet, Asset) and outlet.uri in by_uri:
                context["outlet_events"][outlet].extra = by_uri[outlet.uri]
        return summary(result)

    def get_openlineage_facets_on_complete(
        self, task_instance: Any
    ) -> OperatorLineage[Any, Any] | None:
        """Datasets named by their `uri`, versioned by md5 (Airflow's OpenLineage provider
        calls this after `execute`)."""
        if self.lineage_role is None:
            return None
        return operator_lineage(self._lineage, self.lineage_role)


class FreightTransferOperator(FreightBaseOperator):
    """The options push, fetch and pull share (DVC's `-a -T -A -R -d`, `allow_missing`)."""

    def __init__(
        self,
        *,
        allow_missing: bool = False,
        all_branches: bool = False,
        all_tags: bool = False,
        all_commits: bool = False,
        recursive: bool = False,
        with_deps: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.allow_missing = allow_missing
        self.all_branches = all_branches
        self.all_tags = all_tags
        self.all_commits = all_commits
        self.recursive = recursive
        self.with_deps = with_deps

    def scope(self) -> dict[str, Any]:
        return {
            "remote": self.remote_name,
            "jobs": self.jobs,
            "all_branches": self.all_branches,
            "all_tags": self.all_tags,
            "all_commits": self.all_commits,
            "recursive": self.recursive,
            "with_deps": self.with_deps,
            "callback": self.progress(),
        }

    def check(self, result: Result) -> None:
        if isinstance(result, freight.TransferResult) and result.missing:
            if not self.allow_missing:
                raise freight.TransferError(missing_message(result), result)
            self.log.warning("%s", missing_message(result))
        super().check(result)


class FreightAddOperator(FreightBaseOperator):
    """`freight add`: hash `targets`, store them in the cache, write their `.dvc` files.

    Committing the `.dvc` files to Git is left to the DAG.
    """

    verb = "add"
    lineage_role = "outputs"

    def run(self, repo: freight.Repo) -> Result:
        targets = self.target_list()
        if not targets:
            raise ValueError("FreightAddOperator needs targets: the paths to add")
        return repo.add(targets, callback=self.progress())


class FreightShardableOperator(FreightTransferOperator):
    """Push or fetch, of targets or of one shard of a plan (see `FreightPlanOperator`).

    Args:
        shard: one of the dicts `FreightPlanOperator` returns (typically mapped:
            `.partial(...).expand(shard=plan.output)`); the shard names its own targets
            and remote, so only `repo_path`, `freight_conn_id` and `jobs` apply with it.
    """

    def __init__(self, *, shard: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shard = shard

    def shard_options(self) -> dict[str, Any]:
        return {"shard": self.shard, "jobs": self.jobs, "callback": self.progress()}


class FreightPushOperator(FreightShardableOperator):
    """`freight push`: upload what the remote lacks (a `.dir` only after all its files)."""

    verb = "push"
    lineage_role = "outputs"

    def run(self, repo: freight.Repo) -> Result:
        if self.shard is not None:
            return repo.push(**self.shard_options())
        return repo.push(self.target_list(), **self.scope())


class FreightFetchOperator(FreightShardableOperator):
    """`freight fetch`: download what the cache lacks, verified against each md5."""

    verb = "fetch"
    lineage_role = "inputs"

    def run(self, repo: freight.Repo) -> Result:
        if self.shard is not None:
            return repo.fetch(**self.shard_options())
        return repo.fetch(self.target_list(), **self.scope())


class FreightPlanOperator(FreightBaseOperator):
    """Plan a push or fetch and split it into shards for dynamic task mapping.

    Returns the list of shard dicts (JSON, no credentials) as XCom, to be mapped over:

        plan = FreightPlanOperator(task_id="plan", repo_path=..., direction="push", shards=8)
        shards = FreightPushOperator.partial(task_id="push_shard", repo_path=...).expand(
            shard=plan.output
        )
        done = FreightPushOperator(task_id="push", repo_path=...)  # `.dir`s, verify, totals
        plan >> shards >> done

    `shards` is capped at Airflow's `[core] max_map_length`. Shards of a push upload file
    objects only; the final ordinary push uploads the `.dir` manifests once every file is
    on the remote, and finds the rest already there.

    Args:
        direction: `push` or `fetch`.
        shards: how many shards (balanced by bytes and object count).
    """

    verb = "plan"

    def __init__(
        self, *, direction: Literal["push", "fetch"] = "push", shards: int = 2, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.direction = direction
        self.shards = shards

    def execute(self, context: Context) -> list[dict[str, Any]]:
        limit = conf.getint("core", "max_map_length")
        count = max(1, min(int(self.shards), limit))
        with self.open_repo() as repo:
            plan = repo.plan(
                self.direction,
                self.target_list(),
                remote=self.remote_name,
                shards=count,
                jobs=self.jobs,
                callback=self.progress(),
            )
        self.log.info(
            "%s plan: %d objects, %d bytes in %d shards (objects per shard %s)",
            plan.direction,
            plan.objects,
            plan.bytes,
            len(plan.shard_objects),
            list(plan.shard_objects),
        )
        return plan.shards


class FreightPullOperator(FreightTransferOperator):
    """`freight pull`: fetch, then check out the same targets into the workspace.

    Args:
        force: replace workspace data that is not in the cache.
    """

    verb = "pull"
    lineage_role = "inputs"

    def __init__(self, *, force: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.force = force

    def run(self, repo: freight.Repo) -> Result:
        options = self.scope()
        return repo.pull(
            self.target_list(), force=self.force, allow_missing=self.allow_missing, **options
        )


class FreightCheckoutOperator(FreightBaseOperator):
    """`freight checkout`: make the workspace match the metafiles, from the cache."""

    verb = "checkout"
    lineage_role = "inputs"

    def __init__(
        self,
        *,
        force: bool = False,
        relink: bool = False,
        allow_missing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.force = force
        self.relink = relink
        self.allow_missing = allow_missing

    def run(self, repo: freight.Repo) -> Result:
        return repo.checkout(
            self.target_list(),
            force=self.force,
            relink=self.relink,
            allow_missing=self.allow_missing,
            callback=self.progress(),
        )


class FreightStatusOperator(FreightBaseOperator):
    """`freight status`: the workspace against its metafiles and cache, or with `cloud`,
    the cache against a remote. Returns `clean` and `changes`; never fails on changes."""

    verb = "status"

    def __init__(
        self,
        *,
        cloud: bool = False,
        recursive: bool = False,
        with_deps: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cloud = cloud
        self.recursive = recursive
        self.with_deps = with_deps

    def run(self, repo: freight.Repo) -> Result:
        targets = self.target_list()
        if self.cloud:
            return repo.status(
                targets,
                cloud=True,
                remote=self.remote_name,
                jobs=self.jobs,
                recursive=self.recursive,
                with_deps=self.with_deps,
            )
        return repo.status(
            targets,
            recursive=self.recursive,
            with_deps=self.with_deps,
            callback=self.progress(),
        )


def missing_message(result: freight.TransferResult) -> str:
    """Names every object in neither the cache nor the remote."""
    names = ", ".join(sorted({f"{f.path} ({f.oid})" for f in result.missing}))
    n = len(result.missing)
    return (
        f"{n} object{'s' if n != 1 else ''} in neither the cache nor remote "
        f"'{result.remote}': {names}"
    )


def summary(result: Result) -> dict[str, Any]:
    """The XCom value: the result's counts and failures (plain JSON) and its lineage."""
    data = _without_outputs(result.to_dict())
    data["lineage"] = result.lineage()
    plain: dict[str, Any] = json.loads(json.dumps(data))
    return plain


def _without_outputs(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _without_outputs(value) if isinstance(value, Mapping) and key != "changes" else value
        for key, value in data.items()
        if key != "outputs"
    }
