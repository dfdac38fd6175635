"""The outputs and stages of a `dvc.yaml`, with the hashes its `dvc.lock` records.

As in DVC (spec §3.4), `dvc.yaml` says which outputs exist; `dvc.lock` only supplies the
hash of each, matched by stage name and output path as written. So:

- a stage without a lock entry still has its outputs, without hashes (`status` reports
  them `deleted` or `modified`; push and fetch skip them);
- lock entries of stages `dvc.yaml` no longer defines, and outputs a stage no longer
  declares, are ignored, as is a `dvc.lock` without a `dvc.yaml`;
- locks of DVC 1 (no `schema:`, the stages at the top level) and DVC 2 (no `hash:`,
  md5-dos2unix) load as well as DVC 3's.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import MetafileError
from .metafiles import annotation_fields, load_yaml, output, vars_reader
from .model import Output, Stage
from .stages import Declared, StageDef, VarsReader, resolve_stages

LOCKFILE = "dvc.lock"
PROJECT_FILE = "dvc.yaml"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pipeline:
    """What one `dvc.yaml` declares: its stages and their outputs, in file order."""

    stages: tuple[Stage, ...]
    outputs: tuple[Output, ...]


def lock_stages(data: Any, lockfile: str) -> Mapping[str, Mapping[str, Any]]:
    """The stage entries of a loaded `dvc.lock`, by name (any schema DVC ever wrote)."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise MetafileError(lockfile, "not a mapping of DVC keys")
    if "schema" in data:
        if str(data["schema"]) != "2.0":
            raise MetafileError(lockfile, f"unknown schema {data['schema']!r} (DVC writes '2.0')")
        stages = data.get("stages") or {}
    else:  # DVC 1: the stages are the top level
        stages = data
    if not isinstance(stages, Mapping):
        raise MetafileError(lockfile, "no 'stages' mapping")
    for name, stage in stages.items():
        if not isinstance(stage, Mapping) or not isinstance(stage.get("outs") or [], list):
            raise MetafileError(lockfile, f"stage {name!r} is not a mapping with a list of outs")
    return {str(name): stage for name, stage in stages.items()}


def _recorded(entry: Mapping[str, Any], lockfile: str) -> dict[str, Any]:
    recorded = {}
    for item in entry.get("outs") or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("path"), str):
            raise MetafileError(lockfile, f"output entry without a path: {item!r}")
        recorded[item["path"]] = item
    return recorded


def _output(declared: Declared, entry: Any, lockfile: str, stage: StageDef) -> Output:
    flags = declared.flags
    if entry is not None:
        return output(entry, lockfile, declared.path, flags, stage=stage.name, deps=stage.deps)
    remote = flags.get("remote")
    return Output(
        path=declared.path,
        metafile=lockfile,
        cache=flags.get("cache", True) is not False,
        push=flags.get("push", True) is not False,
        remote=None if remote is None else str(remote),
        stage=stage.name,
        deps=stage.deps,
        **annotation_fields(flags),
    )


def parse_pipeline(
    definition: Any, lock: Any, dvcfile: str, read: VarsReader | None = None
) -> Pipeline:
    """The pipeline of the loaded `dvc.yaml` at repo-relative `dvcfile` and of its loaded
    `dvc.lock` (None when there is none); `read` reads variables files."""
    lockfile = posixpath.join(posixpath.dirname(dvcfile), LOCKFILE)
    entries = lock_stages(lock, lockfile)
    stages: list[Stage] = []
    outputs: list[Output] = []
    defined = resolve_stages(definition, dvcfile, read)
    for stage in defined:
        entry = entries.get(stage.name)
        recorded = _recorded(entry, lockfile) if entry is not None else {}
        outputs.extend(_output(d, recorded.get(d.key), lockfile, stage) for d in stage.outs)
        stages.append(
            Stage(
                name=stage.name,
                dvcfile=dvcfile,
                wdir=stage.wdir or ".",
                cmd=stage.cmd,
                deps=stage.deps,
                outs=tuple(d.path for d in stage.outs),
                frozen=stage.frozen,
                desc=stage.desc,
                recorded=entry is not None,
            )
        )
    orphans = entries.keys() - {s.name for s in defined}
    if orphans:
        log.debug("%s: ignoring entries of stages not in %s: %s", lockfile, dvcfile, orphans)
    return Pipeline(tuple(stages), tuple(outputs))


def parse_lock(
    data: Any, lockfile: str, definition: Any, read: VarsReader | None = None
) -> list[Output]:
    """The outputs of a loaded `dvc.lock`, given its loaded `dvc.yaml`: none without one,
    as in DVC."""
    if definition is None:
        lock_stages(data, lockfile)  # still a malformed lock is an error
        return []
    dvcfile = posixpath.join(posixpath.dirname(lockfile), PROJECT_FILE)
    return list(parse_pipeline(definition, data, dvcfile, read).outputs)


def read_pipeline(
    root: Path, dvcfile: str, *, lock: bool = True, read: VarsReader | None = None
) -> Pipeline:
    """The pipeline of the `dvc.yaml` at repo-relative `dvcfile`, with its `dvc.lock`
    when `lock` (the caller knows whether one exists and is not ignored)."""
    definition = load_yaml(root / dvcfile, dvcfile)
    lockfile = posixpath.join(posixpath.dirname(dvcfile), LOCKFILE)
    data = load_yaml(root / lockfile, lockfile) if lock and (root / lockfile).is_file() else None
    return parse_pipeline(definition, data, dvcfile, read or vars_reader(root))


def read_lock(root: Path, lockfile: str) -> list[Output]:
    """The outputs of the `dvc.lock` at repo-relative `lockfile` (its `dvc.yaml`'s)."""
    dvcfile = posixpath.join(posixpath.dirname(lockfile), PROJECT_FILE)
    if not (root / dvcfile).is_file():
        return []
    return list(read_pipeline(root, dvcfile).outputs)
