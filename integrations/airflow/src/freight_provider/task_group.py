"""`FreightTaskGroup`: a project rendered as one task per output, at DAG-parse time.

What astronomer-cosmos does for dbt models, without its parse-time cost: the group reads
the project's catalog (`freight.Repo(...).catalog()`: metafiles only, no data read,
nothing hashed, no Git process, no network) and creates one pull, fetch or push task per
selected output. Where `dvc.yaml` stages link outputs (output A feeds the stage that
writes output B), the task of A runs before the task of B. Each task declares its output's
asset (`inlets` for pull/fetch, `outlets` for push) when the catalog names its URI, so the
assets are known before the first run.

Selection (`select`, `exclude`): glob patterns over output paths (`data/*`), or
`stage:<name>` (outputs of a stage), `label:<label>`, `type:<type>` (DVC's output
annotations).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any, Literal

import attrs
import freight
from airflow.sdk import Asset, TaskGroup

from freight_provider.operators.freight import (
    FreightBaseOperator,
    FreightFetchOperator,
    FreightPullOperator,
    FreightPushOperator,
)

Verb = Literal["pull", "fetch", "push"]
OPERATORS: Mapping[str, type[FreightBaseOperator]] = {
    "pull": FreightPullOperator,
    "fetch": FreightFetchOperator,
    "push": FreightPushOperator,
}


@attrs.define(repr=False, kw_only=True)
class FreightTaskGroup(TaskGroup):
    """One `verb` task per selected output of the repository at `repo_path`.

    Args:
        group_id: the group's id (positional, as for `TaskGroup`).
        repo_path: the repository, read when the DAG is parsed (a real path, not a
            template: the tasks come from its catalog).
        verb: `pull`, `fetch` or `push`.
        select, exclude: which outputs (see the module docstring); default: all.
        freight_conn_id, remote, jobs: as for the operators, passed to every task.
        operator_args: any other operator arguments for every task (`retries`, `pool`,
            `allow_missing`, ...).
    """

    repo_path: str = attrs.field(default="")
    verb: Verb = attrs.field(default="pull")
    select: Sequence[str] | None = attrs.field(default=None)
    exclude: Sequence[str] | None = attrs.field(default=None)
    freight_conn_id: str | None = attrs.field(default=None)
    remote: str | None = attrs.field(default=None)
    jobs: int | None = attrs.field(default=None)
    operator_args: Mapping[str, Any] = attrs.field(factory=dict)
    #: the task of each rendered output path
    output_tasks: dict[str, FreightBaseOperator] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()  # type: ignore[no-untyped-call]
        if self.verb not in OPERATORS:
            raise ValueError(f"verb must be one of {', '.join(OPERATORS)}, not {self.verb!r}")
        with freight.Repo(self.repo_path) as repo:
            catalog = repo.catalog()
        data = catalog.to_dict()
        uris = {path: record.get("uri") for path, record in catalog.lineage().items()}
        chosen = selected(data["outputs"], self.select, self.exclude)
        with self:
            for path in chosen:
                self.output_tasks[path] = self._task(path, uris.get(path))
        for edge in data["edges"]:
            source, target = edge["source"], edge["target"]
            if source in self.output_tasks and target in self.output_tasks:
                self.output_tasks[source] >> self.output_tasks[target]

    def _task(self, path: str, uri: str | None) -> FreightBaseOperator:
        assets: dict[str, Any] = {}
        if uri:
            assets["outlets" if self.verb == "push" else "inlets"] = [Asset(uri)]
        common: dict[str, Any] = {
            "repo_path": self.repo_path,
            "freight_conn_id": self.freight_conn_id,
            "remote": self.remote,
            "jobs": self.jobs,
        }
        return OPERATORS[self.verb](
            task_id=task_id(path), targets=[path], **common, **assets, **self.operator_args
        )


def task_id(path: str) -> str:
    """A task id for an output path (Airflow allows letters, digits, `-`, `_` and `.`)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in path.replace("/", "__"))


def selected(
    outputs: Iterable[Mapping[str, Any]],
    select: Sequence[str] | None,
    exclude: Sequence[str] | None,
) -> list[str]:
    """The paths of the outputs that match a `select` pattern (all without one) and no
    `exclude` pattern, in catalog order."""
    chosen = [
        out["path"]
        for out in outputs
        if (not select or any(matches(out, p) for p in select))
        and not any(matches(out, p) for p in exclude or ())
    ]
    return list(dict.fromkeys(chosen))


def matches(out: Mapping[str, Any], pattern: str) -> bool:
    kind, sep, value = pattern.partition(":")
    if sep and kind == "stage":
        stage = out.get("stage") or ""
        return fnmatchcase(stage, value) or fnmatchcase(stage.rpartition(":")[2], value)
    if sep and kind == "label":
        return any(fnmatchcase(label, value) for label in out.get("labels") or ())
    if sep and kind == "type":
        return fnmatchcase(out.get("type") or "", value)
    return fnmatchcase(out["path"], pattern) or out["path"].startswith(pattern.rstrip("/") + "/")
