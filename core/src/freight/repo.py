"""`Repo`: a DVC repository as freight sees it, and the verbs users call on it.

It finds the repository, wires config, cache, state and links together and exposes `init`,
`add`, `checkout` and `status`. The verbs decide in the pure modules and act through the
thin I/O modules; each returns a frozen result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import posixpath
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

# What opening a repository and `status` need is imported here; each other verb imports
# its modules when called, so `import freight; freight.Repo` stays cheap (see `freight.cli`).
from . import scm, versioning
from .callbacks import DEFAULT_CALLBACK, Callback
from .collect import WORKSPACE, Scope, Selection, find_outputs, repo_relpath, select
from .config import load_config
from .errors import (
    ConfigError,
    GitError,
    PathError,
    PlanError,
    UnsavedChangesError,
    disk_errors,
)
from .ignore import root_rules
from .layout import DVC_DIR, TMP_DIR, find_root
from .lineage import at_remote, stamp_result
from .model import Output
from .odb import Cache
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

if TYPE_CHECKING:
    from . import imports
    from .catalog import Catalog
    from .config import Config, RemoteConfig
    from .plans import TransferPlan
    from .sync import Remote
    from .versioning import VersionedRemote

StrPath = str | os.PathLike[str]


class Repo:
    """An open repository. Use as a context manager, or call `close()`."""

    def __init__(
        self, path: StrPath | None = None, *, config: Mapping[str, Any] | None = None
    ) -> None:
        """Open the repository at or above `path` (default: the current directory).

        `config` is an in-memory overlay in the shape of DVC's `Repo(config=...)`, e.g.
        `{"core": {"remote": "prod"}, "remote": {"prod": {"url": "s3://b/p",
        "secret_access_key": ...}}}`, so credentials from an orchestrator's secret store
        never touch disk. It is validated like the config files (errors name
        `(config overlay)`), overrides every level option by option, may define remotes of
        its own, takes bools and ints as well as strings, and is never written. Relative
        paths in it (a local remote's `url`, `cache.dir`, ...) resolve against the
        repository root. Its secrets, like the files', are never shown in a repr or error.
        """
        self.root = find_root(path)
        self.dvc_dir = self.root / DVC_DIR
        self.tmp_dir = self.dvc_dir / TMP_DIR
        self.config: Config = load_config(self.dvc_dir, overlay=config)
        cache_dir = self.config.cache_dir or self.dvc_dir / "cache"
        self.state = State(self.tmp_dir / "freight" / "state.db")
        self.cache = Cache(cache_dir, shared=self.config.cache_shared == "group", state=self.state)
        self.jobs = self.config.checksum_jobs or max(4, 2 * (os.cpu_count() or 1))

    @classmethod
    def init(cls, path: StrPath = ".", *, no_scm: bool = False, force: bool = False) -> Repo:
        """Create the `.dvc/` layout DVC creates (spec §1.1-1.2) and open the repository."""
        from .repo_init import init_repo

        init_repo(Path(path).absolute(), no_scm=no_scm, force=force)
        return cls(path)

    def close(self) -> None:
        self.state.close()

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.close()

    def outputs(self) -> list[Output]:
        """Every output declared in the repository's `.dvc` and `dvc.yaml` files."""
        return find_outputs(self.root)

    @property
    def default_remote(self) -> str | None:
        """The name of the default remote (`core.remote`, the overlay included), if any."""
        return self.config.core_remote

    def check_remote(self, remote: str | None = None) -> str:
        """Reach the remote `remote` (or the default) without changing it, as a connection
        test; returns its name. Raises RemoteError when it is unreachable or refuses the
        credentials, ConfigError when it is not configured or freight cannot use it."""
        from .remotes import probe

        config = self.config.remote(remote)
        probe(config)
        return config.name

    def catalog(self) -> Catalog:
        """Every output and stage, and the graph linking them, from the metafiles alone
        (no data read, nothing hashed, no Git, no network): see `freight.catalog`."""
        from .catalog import build

        return build(self.root)

    def _outputs(self, scope: Scope) -> list[Output]:
        """The workspace's outputs, then those only Git revisions in `scope` declare."""
        outputs = self.outputs()
        if not scope.history:
            return outputs
        from . import history

        git_root = scm.git_root(self.root)
        if git_root is None:
            raise GitError(f"'{self.root}' is not in a Git repository: no revisions to read")
        revs = history.revisions(
            git_root,
            all_branches=scope.all_branches,
            all_tags=scope.all_tags,
            all_commits=scope.all_commits,
        )
        old = history.outputs_at_revisions(self.root, git_root, revs)
        return list(dict.fromkeys([*outputs, *old]))

    def _select(
        self, targets: Iterable[StrPath] | None, scope: Scope = WORKSPACE
    ) -> list[Selection]:
        outputs = self._outputs(scope)
        versioning.ensure_trees(self.cache, outputs)
        if not targets:
            return [Selection(o) for o in outputs]
        return select(
            outputs,
            self.root,
            [os.fspath(t) for t in targets],
            recursive=scope.recursive,
            with_deps=scope.with_deps,
        )

    @contextlib.contextmanager
    def _lock(self, *, shared: bool = False) -> Iterator[None]:
        from .lock import repo_lock

        with repo_lock(self.tmp_dir / "lock", shared=shared), disk_errors():
            self.cache.forget_folders()  # an earlier call's may be gone (a wiped cache)
            yield

    @property
    def scm_root(self) -> Path | None:
        return None if self.config.no_scm else scm.git_root(self.root)

    def add(
        self, targets: Sequence[StrPath], *, callback: Callback = DEFAULT_CALLBACK
    ) -> AddResult:
        """Hash `targets`, store them in the cache and write their `.dvc` files."""
        from .adding import Adder

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
                result = adder.add([os.fspath(t) for t in targets], self.outputs(), callback)
            finally:
                self.state.save()
        return stamp_result(result, self.root)

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
            result = self._checkout(self._select(targets), force, relink, callback)
        if allow_missing and result.failed:
            result = _drop_missing(result)
        return stamp_result(result, self.root)

    def _checkout(
        self, selections: list[Selection], force: bool, relink: bool, callback: Callback
    ) -> CheckoutResult:
        from .checkout import Planner, apply
        from .links import Linker

        planner = Planner(self.root, self.cache, self.state, root_rules(self.root), jobs=self.jobs)
        chosen = [s for s in selections if s.output.cache and s.output.oid]
        plans = [planner.plan(s.output, s.subpath, relink=relink) for s in chosen]
        unsaved = sorted({p for plan in plans for p in plan.unsaved})
        if unsaved and not force:
            raise UnsavedChangesError(unsaved)
        callback.set_size(sum(len(p.create) for p in plans))
        try:
            return apply(
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

    def _remote_config(self, name: str | None) -> RemoteConfig | None:
        """The remote `name` (or the default), or None when there is none."""
        try:
            return self.config.remote(name)
        except ConfigError:
            return None

    def _source(self, out: Output) -> imports.Import | None:
        """The source of an import-url output (they are never pushed, so `push: false`)."""
        from . import imports

        if out.push or out.stage is not None:
            return None
        return imports.read_import(self.root / out.metafile, out.metafile)

    def _open_versioned(self, name: str | None, jobs: int | None) -> VersionedRemote | None:
        """The remote `name` if it is version-aware (or a worktree remote), else None."""
        from .remotes import open_versioned
        from .versioning import VersionedRemote

        config = self.config.remote(name)
        if not config.version_aware:
            return None
        storage = open_versioned(config)
        return VersionedRemote(
            config.name, storage, jobs or config.jobs or storage.jobs, config.worktree
        )

    def _open_remote(self, name: str | None, jobs: int | None) -> Remote:
        from .inventory import RemoteIndex
        from .remotes import open_storage
        from .sync import Remote

        config = self.config.remote(name)
        storage = open_storage(config)
        index = RemoteIndex(self.tmp_dir, storage.url)
        return Remote(config.name, storage, index, jobs or config.jobs or storage.jobs)

    def _by_remote(
        self, selections: list[Selection], remote: str | None, *, pushing: bool
    ) -> dict[str | None, list[Selection]]:
        """Selections grouped by the remote they go to (an output's own `remote` wins)."""
        groups: dict[str | None, list[Selection]] = {}
        for sel in selections:
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
        scope: Scope,
        callback: Callback,
    ) -> TransferResult:
        from . import imports, sync

        run = sync.push if direction == "push" else sync.fetch
        configured = self._remote_config(remote)
        if scope.history and configured is not None and configured.version_aware:
            raise versioning.refuse_history()
        selections = self._select(targets, scope)
        results = []
        if direction == "fetch":  # imports come from their source, by version id
            sources = {s: self._source(s.output) for s in selections}
            for sel, source in sources.items():
                if source is not None:
                    results.append(imports.fetch(self.cache, source, sel.output, jobs, callback))
            selections = [s for s, source in sources.items() if source is None]
        groups = self._by_remote(selections, remote, pushing=direction == "push")
        if not groups and not results:
            name = configured.name if configured is not None else remote or ""
            return TransferResult(direction, name, ())
        for group, selections in groups.items():
            versioned = self._open_versioned(group, jobs)
            if versioned is not None:
                if scope.history:
                    raise versioning.refuse_history()
                if direction == "push":
                    moved = versioning.push(self.root, self.cache, versioned, selections, callback)
                else:
                    moved = versioning.fetch(self.cache, versioned, selections, callback)
                results.append(self._at_remote(group, moved))
                continue
            opened = self._open_remote(group, jobs)
            try:
                results.append(
                    self._at_remote(group, run(self.cache, opened, selections, callback))
                )
            finally:
                opened.close()
                self.state.save()  # big objects it downloaded and verified (`Cache.vouch`)
        return _merge(results, direction)

    def _at_remote(self, name: str | None, result: TransferResult) -> TransferResult:
        """`result` with the remote's name and URL (without credentials) on its outputs."""
        config = self.config.remote(name)
        return dataclasses.replace(
            result, outputs=at_remote(result.outputs, config.name, config.url)
        )

    def push(
        self,
        targets: Iterable[StrPath] | None = None,
        *,
        remote: str | None = None,
        jobs: int | None = None,
        all_branches: bool = False,
        all_tags: bool = False,
        all_commits: bool = False,
        recursive: bool = False,
        with_deps: bool = False,
        shard: Mapping[str, Any] | None = None,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> TransferResult:
        """Upload what the remote lacks; a `.dir` only once all its files are there.

        `all_branches`, `all_tags` and `all_commits` add the outputs of Git revisions
        (read from Git, no checkout); `recursive` and `with_deps` widen the targets.
        `shard` (one of `plan("push", ...).shards`) uploads exactly that shard's files.
        """
        scope = Scope(all_branches, all_tags, all_commits, recursive, with_deps)
        if shard is not None:
            return self._run_shard("push", shard, jobs, callback, targets, remote, scope)
        with self._lock():
            result = self._transfer("push", targets, remote, jobs, scope, callback)
        return stamp_result(result, self.root)

    def fetch(
        self,
        targets: Iterable[StrPath] | None = None,
        *,
        remote: str | None = None,
        jobs: int | None = None,
        all_branches: bool = False,
        all_tags: bool = False,
        all_commits: bool = False,
        recursive: bool = False,
        with_deps: bool = False,
        shard: Mapping[str, Any] | None = None,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> TransferResult:
        """Download what the cache lacks, verifying every object against its oid.

        The scope flags are those of `push`; `shard` (one of `plan("fetch", ...).shards`)
        downloads exactly that shard's files.
        """
        scope = Scope(all_branches, all_tags, all_commits, recursive, with_deps)
        if shard is not None:
            return self._run_shard("fetch", shard, jobs, callback, targets, remote, scope)
        with self._lock():
            result = self._transfer("fetch", targets, remote, jobs, scope, callback)
        return stamp_result(result, self.root)

    def plan(
        self,
        direction: Literal["push", "fetch"],
        targets: Iterable[StrPath] | None = None,
        *,
        remote: str | None = None,
        shards: int = 1,
        jobs: int | None = None,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> TransferPlan:
        """What `push`/`fetch` of `targets` must move, split into `shards` parts balanced by
        bytes and object count; see `freight.plans` for the shard dicts and
        `freight.sharding` for the rules. A fetch plan downloads the `.dir`s it needs."""
        from . import sharding

        with self._lock(shared=True):
            return sharding.make_plan(
                self, direction, targets, remote=remote, shards=shards, jobs=jobs, callback=callback
            )

    def _run_shard(
        self,
        direction: str,
        shard: Mapping[str, Any],
        jobs: int | None,
        callback: Callback,
        targets: Iterable[StrPath] | None,
        remote: str | None,
        scope: Scope,
    ) -> TransferResult:
        from . import sharding

        if targets is not None or remote is not None or scope != WORKSPACE:
            raise PlanError("a shard carries its own targets and remote: pass shard= alone")
        with self._lock(shared=True):  # shards run side by side; DVC and push wait
            result = sharding.run_shard(self, direction, shard, jobs=jobs, callback=callback)
            result = self._at_remote(result.remote, result)
        return stamp_result(result, self.root)

    def pull(
        self,
        targets: Iterable[StrPath] | None = None,
        *,
        remote: str | None = None,
        jobs: int | None = None,
        force: bool = False,
        allow_missing: bool = False,
        all_branches: bool = False,
        all_tags: bool = False,
        all_commits: bool = False,
        recursive: bool = False,
        with_deps: bool = False,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> TransferResult:
        """`fetch`, then `checkout` of the same targets (of the workspace only: objects of
        other revisions are fetched into the cache)."""
        targets = list(targets) if targets is not None else None
        scope = Scope(all_branches, all_tags, all_commits, recursive, with_deps)
        with self._lock():
            fetched = self._transfer("fetch", targets, remote, jobs, scope, callback)
            here = Scope(recursive=recursive, with_deps=with_deps)
            checked = self._checkout(self._select(targets, here), force, False, callback)
        if allow_missing and checked.failed:
            checked = _drop_missing(checked)
        pulled = dataclasses.replace(fetched, direction="pull", checkout=checked)
        return stamp_result(pulled, self.root)

    def update(
        self,
        targets: Iterable[StrPath],
        *,
        remote: str | None = None,
        jobs: int | None = None,
        force: bool = False,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> TransferResult:
        """Record what the source holds now and check it out: for an import-url output, its
        URL's current versions; otherwise what the worktree remote holds at its path. The
        `.dvc` file is rewritten."""
        targets = list(targets)
        with self._lock():
            selections = self._select(targets)
            results = []
            for sel in selections:
                out = sel.output
                source = self._source(out)
                if source is not None:
                    rel = posixpath.relpath(out.path, posixpath.dirname(out.metafile) or ".")
                    results.append(
                        self._import(
                            source.url, source.fs_config, rel, out.metafile, jobs, callback=callback
                        )
                    )
                    continue
                name = out.remote or remote
                versioned = self._open_versioned(name, jobs)
                if versioned is None or not versioned.worktree or out.stage is not None:
                    raise ConfigError(
                        f"'{out.path}': update needs a `.dvc` output and a worktree remote "
                        f"('{self.config.remote(name).name}' is not one)"
                    )
                _, result = versioning.update(self.root, self.cache, versioned, out, callback)
                results.append(result)
            merged = _merge(results, "update")
            if merged.failed:
                return stamp_result(merged, self.root)
            checked = self._checkout(self._select(targets), force, False, callback)
        return stamp_result(dataclasses.replace(merged, checkout=checked), self.root)

    def import_url(
        self,
        url: str,
        out: StrPath | None = None,
        *,
        version_aware: bool = True,
        fs_config: dict[str, str] | None = None,
        force: bool = False,
        jobs: int | None = None,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> TransferResult:
        """Track the object or folder at `url` (s3://, gs://) by its current version ids,
        as DVC's `import-url --version-aware` does; `fs_config` holds the source's options
        (e.g. `endpointurl`). The data lands in the cache and the workspace."""
        if not version_aware:
            raise ConfigError("freight imports cloud data by version: use --version-aware")
        name = out or posixpath.basename(url.rstrip("/"))
        rel = repo_relpath(self.root, name)
        if not rel:
            raise PathError(f"'{name}' is not a path for an output")
        if (self.root / rel).exists() and not force:
            raise PathError(f"'{rel}' already exists: use --force to replace it")
        metafile = rel + ".dvc"
        with self._lock():
            result = self._import(
                url, fs_config or {}, posixpath.basename(rel), metafile, jobs, callback=callback
            )
            if result.failed:
                return stamp_result(result, self.root)
            if self.scm_root is not None:
                scm.add_ignore(self.root / rel)
            checked = self._checkout(self._select([rel]), force, False, callback)
        return stamp_result(dataclasses.replace(result, checkout=checked), self.root)

    def _import(
        self,
        url: str,
        fs_config: dict[str, Any],
        out_path: str,
        metafile: str,
        jobs: int | None,
        *,
        callback: Callback,
    ) -> TransferResult:
        """Snapshot `url` into the cache and (if all of it arrived) write its import stage."""
        from . import imports
        from .metafiles import read_dvcfile

        storage = imports.open_source(url, fs_config)
        is_dir, files, failed = imports.snapshot(
            storage, self.cache, jobs or storage.jobs, callback
        )
        result = TransferResult("import", url, (), len(files), 0, sum(f.size for f in files))
        if failed:
            return dataclasses.replace(result, failed=tuple(failed))
        data = imports.stage(url, fs_config, out_path, is_dir, files, self.cache)
        imports.write_stage(self.root / metafile, data)
        refs = tuple(ArtifactRef.of(o) for o in read_dvcfile(self.root, metafile))
        return dataclasses.replace(result, outputs=refs)

    def cloud_status(
        self,
        targets: Iterable[StrPath] | None = None,
        *,
        remote: str | None = None,
        jobs: int | None = None,
        all_branches: bool = False,
        all_tags: bool = False,
        all_commits: bool = False,
        recursive: bool = False,
        with_deps: bool = False,
    ) -> CloudStatusResult:
        """Cache vs remote, like `dvc status -c`; the scope flags are those of `push`."""
        from . import sync

        scope = Scope(all_branches, all_tags, all_commits, recursive, with_deps)
        groups = self._by_remote(self._select(targets, scope), remote, pushing=True)
        changes: dict[str, str] = {}
        outputs: list[ArtifactRef] = []
        name = self.config.remote(remote).name if not groups else ""
        for group, selections in groups.items():
            versioned = self._open_versioned(group, jobs)
            if versioned is not None:
                result = versioning.cloud_status(self.cache, versioned, selections)
            else:
                opened = self._open_remote(group, jobs)
                try:
                    result = sync.cloud_status(self.cache, opened, selections)
                finally:
                    opened.close()
            name = ",".join(filter(None, (name, result.remote)))
            changes.update(result.changes)
            outputs.extend(result.outputs)
        return stamp_result(CloudStatusResult(name, tuple(outputs), changes), self.root)

    def gc(
        self,
        *,
        cloud: bool = False,
        remote: str | None = None,
        all_branches: bool = False,
        all_tags: bool = False,
        all_commits: bool = False,
    ) -> GcResult:
        """Remove objects that no output of the workspace (nor of the Git revisions the
        flags select) references; with `cloud`, from the remote too. The caller is
        responsible for asking the user first."""
        from . import gc
        from .fsutil import stale_temporaries

        with self._lock():
            kept = self._outputs(Scope(all_branches, all_tags, all_commits))
            used = gc.used_keys(self.cache, kept)
            removed = gc.remove_local(
                self.cache.root, gc.unused(gc.cache_keys(self.cache.root), used)
            )
            now = time.time()
            gc.remove_local(self.cache.root, stale_temporaries(self.cache.root, now=now))
            if not cloud:
                return GcResult(removed)
            if self.config.remote(remote).version_aware:
                raise versioning.refuse("gc -c")
            opened = self._open_remote(remote, None)
            try:
                doomed = gc.unused(opened.storage.list(""), used)
                opened.storage.delete([*doomed, *opened.storage.leftovers(now=now)])
                opened.index.discard(doomed)
            finally:
                opened.close()
            return GcResult(removed, len(doomed), opened.name)

    @overload
    def status(
        self,
        targets: Iterable[StrPath] | None = None,
        *,
        cloud: Literal[False] = False,
        recursive: bool = False,
        with_deps: bool = False,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> StatusResult: ...

    @overload
    def status(
        self,
        targets: Iterable[StrPath] | None = None,
        *,
        cloud: Literal[True],
        remote: str | None = None,
        jobs: int | None = None,
        recursive: bool = False,
        with_deps: bool = False,
    ) -> CloudStatusResult: ...

    def status(
        self,
        targets: Iterable[StrPath] | None = None,
        *,
        cloud: bool = False,
        remote: str | None = None,
        jobs: int | None = None,
        recursive: bool = False,
        with_deps: bool = False,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> StatusResult | CloudStatusResult:
        """Workspace vs metafiles vs cache, grouped like `dvc status`; with `cloud`, the
        cache vs a remote (`cloud_status`)."""
        if cloud:
            return self.cloud_status(
                targets, remote=remote, jobs=jobs, recursive=recursive, with_deps=with_deps
            )
        selections = self._select(targets, Scope(recursive=recursive, with_deps=with_deps))
        rules = root_rules(self.root)
        callback.set_size(len(selections))
        changes: dict[str, dict[str, str]] = {}
        try:
            with disk_errors():
                for sel in selections:
                    state = output_status(
                        self.root, sel.output, self.cache, self.state, rules, jobs=self.jobs
                    )
                    if state is not None:
                        changes.setdefault(_group(sel.output), {})[sel.output.path] = state
                    callback.relative_update(1)
        finally:
            self.state.save()
        refs = tuple(ArtifactRef.of(s.output) for s in selections)
        return stamp_result(StatusResult(refs, changes), self.root)


def _merge(results: list[TransferResult], direction: str) -> TransferResult:
    return results[0] if len(results) == 1 else TransferResult.merge(results, direction)


def _group(out: Output) -> str:
    """How `dvc status` names an output's group: the `.dvc` file, or the stage."""
    if out.stage is None:
        return out.metafile
    folder = posixpath.dirname(out.metafile)
    return f"{folder}/dvc.yaml:{out.stage}" if folder else out.stage


def _drop_missing(result: CheckoutResult) -> CheckoutResult:
    kept = tuple(f for f in result.failed if f.kind != "ObjectNotFoundError")
    return dataclasses.replace(result, failed=kept)
