"""Find a repository's metafiles, load their outputs and stages, and resolve user targets.

The repository is walked once with `.dvcignore` rules; directories that are outputs met on
the way are not entered (a tracked directory holds data, not metafiles), which keeps
loading fast when tracked directories hold many files. Pipeline outputs come from each
`dvc.yaml`, their hashes from the `dvc.lock` beside it (`freight.pipeline`).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import PathError
from .ignore import Rules, is_builtin_ignored, root_rules
from .metafiles import load_dvcfile, load_yaml, vars_reader
from .model import Output, Stage
from .pipeline import LOCKFILE, PROJECT_FILE, read_pipeline


@dataclass(frozen=True)
class Project:
    """Every output and stage the workspace's metafiles declare, in walk order."""

    outputs: tuple[Output, ...]
    stages: tuple[Stage, ...]


def load_project(root: Path) -> Project:
    """Walk the repository and load every `.dvc` file and `dvc.yaml` (with its lock)."""
    outputs: list[Output] = []
    stages: list[Stage] = []
    read = vars_reader(root)
    stack: list[tuple[str, Rules]] = [("", root_rules(root))]
    while stack:
        reldir, rules = stack.pop()
        with os.scandir(root / reldir if reldir else root) as it:
            entries = list(it)  # directory order, as DVC reports (e.g. in `status`)
        if reldir and any(e.name == ".dvc" and e.is_dir() for e in entries):
            continue  # nested repository
        found: list[Output] = []
        subdirs = []
        files = {}
        for entry in entries:
            rel = f"{reldir}/{entry.name}" if reldir else entry.name
            if entry.is_dir(follow_symlinks=False):
                if not is_builtin_ignored(entry.name, True) and not rules.is_ignored(rel, True):
                    subdirs.append(rel)
            elif not rules.is_ignored(rel, False):
                files[entry.name] = (rel, entry)
        for name, (rel, entry) in files.items():
            if name.endswith(".dvc") and entry.is_file():
                outs, stage = load_dvcfile(load_yaml(root / rel, rel), rel)
                found.extend(outs)
                if stage is not None:
                    stages.append(stage)
            elif name == PROJECT_FILE and entry.is_file():
                pipeline = read_pipeline(root, rel, lock=LOCKFILE in files, read=read)
                found.extend(pipeline.outputs)
                stages.extend(pipeline.stages)
        outputs.extend(found)
        tracked = {out.path for out in found}
        for rel in reversed(subdirs):
            if rel not in tracked:
                stack.append((rel, rules.descend(root, rel)))
    return Project(tuple(outputs), tuple(stages))


def find_outputs(root: Path) -> list[Output]:
    """All outputs declared by `.dvc` files and `dvc.yaml` files in the repository."""
    return list(load_project(root).outputs)


def repo_relpath(root: Path, target: str | os.PathLike[str]) -> str:
    """A target (absolute, or relative to the repo root) as a repo-relative posix path.

    Refuses paths outside the repository and inside `.dvc/`.
    """
    path = Path(os.path.abspath(os.path.join(root, target)))
    try:
        rel = path.relative_to(root)
    except ValueError:
        raise PathError(f"'{target}' is outside of the repository '{root}'") from None
    text = rel.as_posix()
    if text == ".":
        return ""
    if text == ".dvc" or text.startswith(".dvc/"):
        raise PathError(f"'{target}' is inside the '.dvc' directory")
    return text


@dataclass(frozen=True)
class Scope:
    """Which outputs a command works on besides its targets.

    The workspace's metafiles always count; `all_branches`, `all_tags` and `all_commits`
    add those of Git revisions. `recursive` makes a directory target stand for the
    metafiles below it; `with_deps` adds the outputs of upstream stages.
    """

    all_branches: bool = False
    all_tags: bool = False
    all_commits: bool = False
    recursive: bool = False
    with_deps: bool = False

    @property
    def history(self) -> bool:
        return self.all_branches or self.all_tags or self.all_commits


WORKSPACE = Scope()  # the workspace's metafiles, targets as given


@dataclass(frozen=True)
class Selection:
    """An output, optionally narrowed to a path inside it (granular target)."""

    output: Output
    subpath: str = ""  # relative to the output; "" = the whole output


def select(
    outputs: Iterable[Output],
    root: Path,
    targets: Iterable[str],
    *,
    recursive: bool = False,
    with_deps: bool = False,
) -> list[Selection]:
    """Resolve targets: `.dvc` files, stage names, outputs, or paths inside outputs.

    With `recursive`, a directory target stands for every metafile below it; with
    `with_deps`, the outputs of the stages a selected stage depends on are added,
    transitively (like DVC's `--with-deps`).
    """
    outputs = list(outputs)
    chosen: list[Selection] = []
    for target in targets:
        hits = _below(outputs, root, target) if recursive else []
        hits = hits or _match(outputs, root, target)
        if not hits:
            raise PathError(f"'{target}' does not exist as an output or a stage name in 'dvc.yaml'")
        chosen.extend(h for h in hits if h not in chosen)
    if with_deps:
        chosen.extend(Selection(o) for o in upstream(outputs, [s.output for s in chosen]))
        chosen = list(dict.fromkeys(chosen))
    return chosen


def _below(outputs: list[Output], root: Path, target: str) -> list[Selection]:
    rel = repo_relpath(root, target)
    if not (root / rel).is_dir():
        return []
    return [Selection(o) for o in outputs if not rel or o.metafile.startswith(rel + "/")]


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def upstream(outputs: list[Output], selected: list[Output]) -> list[Output]:
    """Outputs that `selected` depend on through stage deps, transitively, in order."""
    seen: dict[Output, None] = {}
    todo = [dep for out in selected for dep in out.deps]
    done: set[str] = set()
    while todo:
        dep = todo.pop()
        if dep in done:
            continue
        done.add(dep)
        for out in outputs:
            if out not in seen and _overlaps(out.path, dep):
                seen[out] = None
                todo.extend(out.deps)
    return [o for o in seen if o not in selected]


def _match(outputs: list[Output], root: Path, target: str) -> list[Selection]:
    rel = repo_relpath(root, target)
    dvcfile, _, name = rel.rpartition(":") if ":" in rel else ("", "", rel)
    lockfile = posixpath.join(posixpath.dirname(dvcfile), LOCKFILE) if dvcfile else None
    by_stage = [
        Selection(o)
        for o in outputs
        if o.stage is not None and o.stage == name and lockfile in (None, o.metafile)
    ]
    if by_stage:
        return by_stage
    if posixpath.basename(rel) == PROJECT_FILE:  # every stage of that dvc.yaml
        lockfile = posixpath.join(posixpath.dirname(rel), LOCKFILE)
        by_file = [Selection(o) for o in outputs if o.stage is not None and o.metafile == lockfile]
    else:
        by_file = [Selection(o) for o in outputs if o.metafile == rel]
    if by_file:
        return by_file
    # Every match, not the first: outputs read from several Git revisions share paths.
    hits = []
    for out in outputs:
        if rel == out.path:
            hits.append(Selection(out))
        elif out.is_dir and rel.startswith(out.path + "/"):
            hits.append(Selection(out, posixpath.relpath(rel, out.path)))
    return hits
