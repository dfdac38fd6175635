"""The project catalog: every output and stage, and the graph that links them.

Orchestrators render a project into assets or tasks each time they parse a DAG, so the
catalog is built from the metafiles alone: no data file is read, nothing is hashed, Git
and the network are not touched. The graph follows DVC's rule: a stage's dependency
matches an output when the paths are equal or one contains the other; an edge says
"output `source` feeds stage `stage`, which writes output `target`".
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .collect import load_project
from .lineage import Origin, read_origin, stamp
from .model import Output, Stage
from .results import ArtifactRef


@dataclass(frozen=True)
class Edge:
    """Output `source` feeds stage `stage` (its address), which writes output `target`."""

    source: str
    stage: str
    target: str


class _Paths:
    """Output paths, for finding those a dependency path matches (equal or containing)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.known = set(paths)
        self.ordered = sorted(self.known)

    def matching(self, dep: str) -> list[str]:
        if not dep:  # the repository root
            return list(self.ordered)
        found = [dep] if dep in self.known else []
        cut = dep.find("/")
        while cut >= 0:  # outputs containing the dependency
            if dep[:cut] in self.known:
                found.append(dep[:cut])
            cut = dep.find("/", cut + 1)
        prefix = dep + "/"  # outputs inside the dependency
        at = bisect.bisect_left(self.ordered, prefix)
        while at < len(self.ordered) and self.ordered[at].startswith(prefix):
            found.append(self.ordered[at])
            at += 1
        return found


def link(outputs: Sequence[Output], stages: Sequence[Stage]) -> tuple[Edge, ...]:
    """The edges between `outputs` through `stages`, in stage order."""
    paths = _Paths(o.path for o in outputs)
    edges: dict[Edge, None] = {}
    for stage in stages:
        sources = dict.fromkeys(p for dep in stage.deps for p in paths.matching(dep))
        for target in stage.outs:
            for source in sources:
                if source != target:
                    edges[Edge(source, stage.address, target)] = None
    return tuple(edges)


def _output_dict(out: Output, stage: Stage | None) -> dict[str, Any]:
    return {
        "path": out.path,
        "md5": out.oid,
        "size": out.size,
        "nfiles": out.nfiles if out.is_dir else None,
        "hash": out.hash_name,
        "metafile": out.metafile,
        "stage": None if stage is None else stage.address,
        "cache": out.cache,
        "push": out.push,
        "remote": out.remote,
        "desc": out.desc,
        "type": out.type,
        "labels": list(out.labels),
        "meta": out.meta_value,
    }


def _stage_dict(stage: Stage) -> dict[str, Any]:
    return {
        "name": stage.name,
        "address": stage.address,
        "dvcfile": stage.dvcfile,
        "wdir": stage.wdir,
        "cmd": stage.cmd if isinstance(stage.cmd, str) else list(stage.cmd),
        "deps": list(stage.deps),
        "outs": list(stage.outs),
        "frozen": stage.frozen,
        "desc": stage.desc,
        "recorded": stage.recorded,
    }


@dataclass(frozen=True)
class Catalog:
    """Every output and stage of a workspace, and the edges between outputs.

    `outputs` are `freight.model.Output`s (path, hash, flags, annotations); `stages` are
    `freight.model.Stage`s. Paths are repo-relative posix paths.
    """

    outputs: tuple[Output, ...]
    stages: tuple[Stage, ...]
    edges: tuple[Edge, ...]
    #: names the datasets (`uri`) and the commit (`rev`) in `lineage()`; read from `.git`
    origin: Origin | None = field(default=None, compare=False)
    _by_path: dict[str, Output] = field(init=False, repr=False, compare=False)
    _by_stage: dict[str, Stage] = field(init=False, repr=False, compare=False)
    _producers: dict[str, Stage] = field(init=False, repr=False, compare=False)
    _into: dict[str, list[Edge]] = field(init=False, repr=False, compare=False)
    _from: dict[str, list[Edge]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_path: dict[str, Output] = {}
        for out in self.outputs:
            by_path.setdefault(out.path, out)
        into: dict[str, list[Edge]] = {}
        from_: dict[str, list[Edge]] = {}
        for edge in self.edges:
            into.setdefault(edge.target, []).append(edge)
            from_.setdefault(edge.source, []).append(edge)
        object.__setattr__(self, "_by_path", by_path)
        producers: dict[str, Stage] = {}
        for stage in self.stages:
            for path in stage.outs:
                producers.setdefault(path, stage)
        object.__setattr__(self, "_by_stage", {s.address: s for s in self.stages})
        object.__setattr__(self, "_producers", producers)
        object.__setattr__(self, "_into", into)
        object.__setattr__(self, "_from", from_)

    def output(self, path: str) -> Output:
        """The output at `path` (KeyError if there is none)."""
        return self._by_path[path]

    def stage(self, address: str) -> Stage:
        """The stage named `address` (`train`, `sub/dvc.yaml:train`; KeyError if none)."""
        return self._by_stage[address]

    def _owner(self, path: str) -> str | None:
        """The output at or containing `path`."""
        while path:
            if path in self._by_path:
                return path
            path = path.rpartition("/")[0]
        return None

    def producer(self, path: str) -> Stage | None:
        """The stage that writes the output at (or containing) `path`, if any."""
        owner = self._owner(path)
        return self._producers.get(owner) if owner is not None else None

    def upstream(self, path: str, *, transitive: bool = False) -> tuple[Output, ...]:
        """The outputs that feed the stage writing `path` (all ancestors if `transitive`)."""
        owner = self._owner(path)
        return self._walk([owner] if owner else [], self._into, "source", transitive)

    def downstream(self, path: str, *, transitive: bool = False) -> tuple[Output, ...]:
        """The outputs written by stages that depend on `path` (an output or any other
        path, such as a script), or all descendants if `transitive`."""
        if path in self._by_path:
            return self._walk([path], self._from, "target", transitive)
        # not an output: the stages that depend on it give the first outputs
        hits = [
            target
            for stage in self.stages
            if any(_overlaps(dep, path) for dep in stage.deps)
            for target in stage.outs
        ]
        first = [t for t in dict.fromkeys(hits) if t in self._by_path]
        rest = self._walk(first, self._from, "target", True) if transitive else ()
        return tuple(dict.fromkeys((*(self._by_path[t] for t in first), *rest)))

    def _walk(
        self, start: list[str], index: dict[str, list[Edge]], end: str, transitive: bool
    ) -> tuple[Output, ...]:
        seen: dict[str, None] = {}
        todo = list(start)
        while todo:
            for edge in index.get(todo.pop(0), ()):
                found = getattr(edge, end)
                if found not in seen and found not in start:
                    seen[found] = None
                    if transitive:
                        todo.append(found)
        return tuple(self._by_path[p] for p in seen)

    def uri(self, path: str) -> str | None:
        """The dataset URI of the output at `path` (the rule of `freight.lineage`)."""
        return None if self.origin is None else self.origin.uri(path)

    def lineage(self) -> dict[str, dict[str, Any]]:
        """Per output path, the lineage record every result carries (`ArtifactRef`), with
        `uri` and `rev`; `dirty` is None, since telling it would take a Git process."""
        refs = tuple(ArtifactRef.of(out) for out in self.outputs)
        if self.origin is not None:
            refs = stamp(refs, self.origin, None)
        return {ref.path: ref.lineage() for ref in refs}

    def to_dict(self) -> dict[str, Any]:
        """The catalog as plain JSON-safe data: outputs (their `stage` is the producing
        stage's address), stages and edges."""
        return {
            "outputs": [
                {**_output_dict(o, self._producers.get(o.path)), "uri": self.uri(o.path)}
                for o in self.outputs
            ],
            "stages": [_stage_dict(s) for s in self.stages],
            "edges": [
                {"source": e.source, "stage": e.stage, "target": e.target} for e in self.edges
            ],
        }


def _overlaps(a: str, b: str) -> bool:
    """Equal paths, or one inside the other ("" is the repository root)."""
    return not a or not b or a == b or a.startswith(b + "/") or b.startswith(a + "/")


def build(root: Path) -> Catalog:
    """The catalog of the workspace at `root`, from its metafiles alone."""
    project = load_project(root)
    edges = link(project.outputs, project.stages)
    return Catalog(project.outputs, project.stages, edges, read_origin(root))
