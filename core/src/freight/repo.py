"""`Repo`: a DVC repository as freight sees it, and the verbs users call on it.

It finds the repository, wires config, cache, state and links together and exposes `init`,
`add`, `checkout` and `status`. The verbs decide in the pure modules and act through the
thin I/O modules; each returns a frozen result.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType

from . import gc, scm, sync
from .adding import Adder
from .callbacks import DEFAULT_CALLBACK, Callback
from .checkout import Planner, apply
from .collect import Selection, find_outputs, select
from .config import Config, load_config
from .errors import UnsavedChangesError
from .ignore import root_rules
from .inventory import RemoteIndex
from .layout import DVC_DIR, TMP_DIR, find_root
from .links import Linker
from .lock import repo_lock
from .model import Output
from .odb import Cache
from .remotes import open_storage
from .repo_init import init_repo
from .results import (
    AddResult,
    ArtifactRef,
    CheckoutResult,
    CloudStatusResult,
    GcResult,
    StatusResult,
    TransferResult,
)
from .state import State
from .status import output_status
from .sync import Remote

StrPath = str | os.PathLike[str]


class Repo:
    """An open repository. Use as a context manager, or call `close()`."""

    def __init__(self, path: StrPath | None = None) -> None:
        self.root = find_root(path)
        self.dvc_dir = self.root / DVC_DIR
        self.tmp_dir = self.dvc_dir / TMP_DIR
        self.config: Config = load_config(self.dvc_dir)
        cache_dir = self.config.cache_dir or self.dvc_dir / "cache"
        self.cache = Cache(cache_dir, shared=self.config.cache_shared == "group")
        self.state = State(self.tmp_dir / "freight" / "state.db")
        self.jobs = self.config.checksum_jobs or max(4, 2 * (os.cpu_count() or 1))

    @classmethod
    def init(cls, path: StrPath = ".", *, no_scm: bool = False, force: bool = False) -> Repo:
        """Create the `.dvc/` layout DVC creates (spec §1.1-1.2) and open the repository."""
        init_repo(Path(path).absolute(), no_scm=no_scm, force=force)
        return cls(path)

    def close(self) -> None:
        self.state.close()

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.close()

    def outputs(self) -> list[Output]:
        """Every output declared in the repository's `.dvc` and `dvc.lock` files."""
        return find_outputs(self.root)

    def _select(self, targets: Iterable[StrPath] | None) -> list[Selection]:
        outputs = self.outputs()
        if not targets:
            return [Selection(o) for o in outputs]
        return select(outputs, self.root, [os.fspath(t) for t in targets])

    def _lock(self) -> AbstractContextManager[None]:
        return repo_lock(self.tmp_dir / "lock")

    @property
    def scm_root(self) -> Path | None:
        return None if self.config.no_scm else scm.git_root(self.root)

    def add(
        self, targets: Sequence[StrPath], *, callback: Callback = DEFAULT_CALLBACK
    ) -> AddResult:
        """Hash `targets`, store them in the cache and write their `.dvc` files."""
        with self._lock():
            adder = Adder(
                self.root,
                self.cache,
                self.state,
                self.config.cache_type,
                scm_root=self.scm_root,
                jobs=self.jobs,
            )
            try:
                return adder.add([os.fspath(t) for t in targets], self.outputs(), callback)
            finally:
                self.state.save()

    def checkout(
        self,
        targets: Iterable[StrPath] | None = None,
        *,
        force: bool = False,
        relink: bool = False,
        allow_missing: bool = False,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> CheckoutResult:
        """Make the workspace match the metafiles; see `freight.checkout` for the rules.

        Raises UnsavedChangesError (before touching anything) when data not in the cache
        would be replaced or deleted and `force` is false. Files whose objects are missing
        are reported in `result.failed` (not raised; see `raise_for_failures`), and left
        out of the result entirely with `allow_missing`.
        """
        with self._lock():
            planner = Planner(
                self.root, self.cache, self.state, root_rules(self.root), jobs=self.jobs
            )
            selections = [s for s in self._select(targets) if s.output.cache and s.output.oid]
            plans = [planner.plan(s.output, s.subpath, relink=relink) for s in selections]
            unsaved = sorted({p for plan in plans for p in plan.unsaved})
            if unsaved and not force:
                raise UnsavedChangesError(unsaved)
            total = sum(len(p.create) for p in plans)
            callback.set_size(total)
            try:
                result = apply(
                    plans,
                    root=self.root,
                    cache=self.cache,
                    linker=Linker(self.config.cache_type),
                    state=self.state,
                    jobs=self.jobs,
                    progress=callback.relative_update,
                )
            finally:
                self.state.save()
        if allow_missing and result.failed:
            result = _drop_missing(result)
        return result

    def _open_remote(self, name: str | None, jobs: int | None) -> Remote:
        config = self.config.remote(name)
        storage = open_storage(config)
        index = RemoteIndex(self.tmp_dir, storage.url)
        return Remote(config.name, storage, index, jobs or config.jobs or storage.jobs)

    def _by_remote(
        self, targets: Iterable[StrPath] | None, remote: str | None, *, pushing: bool
    ) -> dict[str | None, list[Selection]]:
        """Selections grouped by the remote they go to (an output's own `remote` wins)."""
        groups: dict[str | None, list[Selection]] = {}
        for sel in self._select(targets):
            out = sel.output
            if not out.cache or not out.oid or (pushing and not out.push):
                continue
            if remote is not None and out.remote not in (None, remote.lower()):
                continue
            groups.setdefault(out.remote or remote, []).append(sel)
        return groups

    def _transfer(
        self,
        direction: str,
        targets: Iterable[StrPath] | None,
        remote: str | None,
        jobs: int | None,
        callback: Callback,
    ) -> TransferResult:
        run = sync.push if direction == "push" else sync.fetch
        groups = self._by_remote(targets, remote, pushing=direction == "push")
        if not groups:
            return TransferResult(direction, self.config.remote(remote).name, ())
        results = []
        for group, selections in groups.items():
            opened = self._open_remote(group, jobs)
            try:
                results.append(run(self.cache, opened, selections, callback))
            finally:
                opened.close()
        return _merge(results, direction)

    def push(
        self,
        targets: Iterable[StrPath] | None = None,
        *,
        remote: str | None = None,
        jobs: int | None = None,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> TransferResult:
        """Upload what the remote lacks; a `.dir` only once all its files are there."""
        with self._lock():
            return self._transfer("push", targets, remote, jobs, callback)

    def fetch(
        self,
        targets: Iterable[StrPath] | None = None,
        *,
        remote: str | None = None,
        jobs: int | None = None,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> TransferResult:
        """Download what the cache lacks, verifying every object against its oid."""
        with self._lock():
            return self._transfer("fetch", targets, remote, jobs, callback)

    def pull(
        self,
        targets: Iterable[StrPath] | None = None,
        *,
        remote: str | None = None,
        jobs: int | None = None,
        force: bool = False,
        allow_missing: bool = False,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> TransferResult:
        """`fetch`, then `checkout` of the same targets."""
        targets = list(targets) if targets is not None else None
        fetched = self.fetch(targets, remote=remote, jobs=jobs, callback=callback)
        checked = self.checkout(
            targets, force=force, allow_missing=allow_missing, callback=callback
        )
        return dataclasses.replace(fetched, direction="pull", checkout=checked)

    def cloud_status(
        self,
        targets: Iterable[StrPath] | None = None,
        *,
        remote: str | None = None,
        jobs: int | None = None,
    ) -> CloudStatusResult:
        """Cache vs remote, like `dvc status -c`."""
        groups = self._by_remote(targets, remote, pushing=True)
        changes: dict[str, str] = {}
        outputs: list[ArtifactRef] = []
        name = self.config.remote(remote).name if not groups else ""
        for group, selections in groups.items():
            opened = self._open_remote(group, jobs)
            try:
                result = sync.cloud_status(self.cache, opened, selections)
            finally:
                opened.close()
            name = ",".join(filter(None, (name, result.remote)))
            changes.update(result.changes)
            outputs.extend(result.outputs)
        return CloudStatusResult(name, tuple(outputs), changes)

    def gc(self, *, cloud: bool = False, remote: str | None = None) -> GcResult:
        """Remove objects no output of the workspace references (and, with `cloud`, from
        the remote too). The caller is responsible for asking the user first."""
        with self._lock():
            used = gc.used_keys(self.cache, self.outputs())
            removed = gc.remove_local(
                self.cache.root, gc.unused(gc.cache_keys(self.cache.root), used)
            )
            if not cloud:
                return GcResult(removed)
            opened = self._open_remote(remote, None)
            try:
                doomed = gc.unused(opened.storage.list(""), used)
                opened.storage.delete(doomed)
                opened.index.discard(doomed)
            finally:
                opened.close()
            return GcResult(removed, len(doomed), opened.name)

    def status(
        self, targets: Iterable[StrPath] | None = None, *, callback: Callback = DEFAULT_CALLBACK
    ) -> StatusResult:
        """Workspace vs metafiles vs cache, grouped like `dvc status`."""
        selections = self._select(targets)
        rules = root_rules(self.root)
        callback.set_size(len(selections))
        changes: dict[str, dict[str, str]] = {}
        try:
            for sel in selections:
                state = output_status(
                    self.root, sel.output, self.cache, self.state, rules, jobs=self.jobs
                )
                if state is not None:
                    changes.setdefault(_group(sel.output), {})[sel.output.path] = state
                callback.relative_update(1)
        finally:
            self.state.save()
        return StatusResult(tuple(ArtifactRef.of(s.output) for s in selections), changes)


def _merge(results: list[TransferResult], direction: str) -> TransferResult:
    if len(results) == 1:
        return results[0]
    return TransferResult(
        direction=direction,
        remote=",".join(r.remote for r in results),
        outputs=tuple(o for r in results for o in r.outputs),
        transferred=sum(r.transferred for r in results),
        skipped=sum(r.skipped for r in results),
        bytes=sum(r.bytes for r in results),
        failed=tuple(f for r in results for f in r.failed),
        missing=tuple(f for r in results for f in r.missing),
    )


def _group(out: Output) -> str:
    """How `dvc status` names an output's group: the `.dvc` file, or the stage."""
    if out.stage is None:
        return out.metafile
    folder = posixpath.dirname(out.metafile)
    return f"{folder}/dvc.yaml:{out.stage}" if folder else out.stage


def _drop_missing(result: CheckoutResult) -> CheckoutResult:
    kept = tuple(f for f in result.failed if f.kind != "ObjectNotFoundError")
    return dataclasses.replace(result, failed=kept)
