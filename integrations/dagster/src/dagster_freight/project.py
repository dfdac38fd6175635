"""The project as definitions see it: its selected outputs and the edges between them.

Read once, at definition-load time, from `freight.Repo(path).catalog()` (the metafiles
alone: no data read, nothing hashed, no Git process, no network) and the repository's
config files (for each output's remote URL, which gives the asset its kind).

Selection (`select`, `exclude`): glob patterns over output paths (`data/*`, or a folder
and everything in it), `stage:<name>` (a stage's outputs), `label:<label>` and
`type:<type>` (DVC's output annotations).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from graphlib import TopologicalSorter
from typing import Any

import freight


@dataclass(frozen=True)
class Project:
    """The selected outputs (the catalog's JSON-safe dicts, with `uri` and `remote_url`)
    and the catalog's edges among them, as `(source path, target path)`."""

    repo_path: str
    outputs: tuple[Mapping[str, Any], ...]
    edges: tuple[tuple[str, str], ...]

    def output(self, path: str) -> Mapping[str, Any]:
        return next(o for o in self.outputs if o["path"] == path)

    def upstream(self, path: str) -> list[str]:
        """The selected outputs feeding the stage that writes `path`."""
        return [source for source, target in self.edges if target == path]


def load(
    repo_path: str, select: Sequence[str] | None = None, exclude: Sequence[str] | None = None
) -> Project:
    """The outputs of the repository at `repo_path` that `select`/`exclude` choose."""
    with freight.Repo(repo_path) as repo:
        data = repo.catalog().to_dict()
        urls = {o["path"]: _remote_url(repo, o.get("remote")) for o in data["outputs"]}
    chosen = selected(data["outputs"], select, exclude)
    edges = tuple(
        dict.fromkeys(
            (e["source"], e["target"])
            for e in data["edges"]
            if e["source"] in chosen and e["target"] in chosen
        )
    )
    by_path = {o["path"]: {**o, "remote_url": urls[o["path"]]} for o in data["outputs"]}
    order = [o["path"] for o in data["outputs"] if o["path"] in chosen]
    outputs = tuple(by_path[path] for path in topological(order, edges))
    return Project(repo_path, outputs, edges)


def topological(paths: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """`paths` with every edge's source before its target (Dagster wants a multi-asset's
    outputs in that order), otherwise in catalog order."""
    graph: dict[str, list[str]] = {path: [] for path in paths}
    for source, target in edges:
        graph[target].append(source)
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    ordered: list[str] = []
    rank = {path: i for i, path in enumerate(paths)}
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=rank.__getitem__)
        ordered.extend(ready)
        sorter.done(*ready)
    return ordered


def _remote_url(repo: freight.Repo, name: str | None) -> str | None:
    """The URL of the output's remote in the repository's config, if it names one."""
    try:
        return repo.config.remote(name).url
    except freight.ConfigError:
        return None


def selected(
    outputs: Iterable[Mapping[str, Any]],
    select: Sequence[str] | None,
    exclude: Sequence[str] | None,
) -> set[str]:
    """The paths matching a `select` pattern (all without one) and no `exclude` pattern."""
    return {
        out["path"]
        for out in outputs
        if (not select or any(matches(out, p) for p in select))
        and not any(matches(out, p) for p in exclude or ())
    }


def matches(out: Mapping[str, Any], pattern: str) -> bool:
    kind, sep, value = pattern.partition(":")
    if sep and kind == "stage":
        stage = out.get("stage") or ""
        return fnmatchcase(stage, value) or fnmatchcase(stage.rpartition(":")[2], value)
    if sep and kind == "label":
        return any(fnmatchcase(label, value) for label in out.get("labels") or ())
    if sep and kind == "type":
        return fnmatchcase(out.get("type") or "", value)
    path = out["path"]
    return fnmatchcase(path, pattern) or path.startswith(pattern.rstrip("/") + "/")
