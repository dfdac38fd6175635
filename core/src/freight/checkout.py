"""Checkout: make the workspace match the metafiles, from the cache.

`plan` reads the workspace and the cache and decides, per output, which files to create,
replace and delete; it writes nothing. `apply` carries a plan out. Safety rules (where DVC
is unsafe, freight is not, spec E34/E37):

- a file whose current content is not in the cache is never replaced or deleted unless
  forced (`UnsavedChangesError` lists them all before anything is touched);
- a missing or corrupt object fails only the files that need it: the intact files of the
  same output are created and nothing already in the workspace is removed for it;
- `.dir` manifests are validated before use, so no path can leave its output;
- nothing is written through a symlinked directory (the output itself, a parent of it or
  a directory inside it), which can lead outside the repository (DVC writes through
  them, even deleting files there with `--force`): `PathError`, before anything is touched;
- names that differ only in case are refused where the filesystem cannot tell them apart
  (DVC 3.67.1 has no such check); on a case-sensitive filesystem both are checked out.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress, count
from pathlib import Path

from . import parallel
from .errors import DiskError, FreightError, ObjectNotFoundError, PathError
from .fsutil import case_insensitive, is_tmp, map_batched, named, parent, sampled_jobs, tmp_path
from .gcpause import paused
from .ignore import Rules
from .links import Linker
from .model import Output
from .odb import Cache
from .results import ArtifactRef, CheckoutResult, Failure
from .state import FileStat, State
from .tree import case_collisions
from .workspace import FileInfo, hash_files, hash_folder, walk


@dataclass(frozen=True)
class OutputPlan:
    """What checkout will do to one output; paths are repo-relative."""

    output: Output
    existed: bool
    create: tuple[tuple[str, str], ...] = ()  # (path, oid) of files to (re)create
    replace: frozenset[str] = frozenset()  # the subset of `create` that exists now
    delete: tuple[str, ...] = ()
    unsaved: tuple[str, ...] = ()
    failed: tuple[Failure, ...] = ()
    make_root: bool = False  # a directory output that does not exist (it may be empty)
    leftovers: tuple[str, ...] = ()  # absolute paths of a killed run's temporaries

    @property
    def changes(self) -> bool:
        return bool(self.create or self.delete or self.make_root)


def diff(
    desired: dict[str, str], current: dict[str, str], *, relink: bool = False
) -> tuple[list[str], list[str]]:
    """Pure: the paths to (re)create and the paths to delete."""
    create = [p for p, oid in desired.items() if relink or current.get(p) != oid]
    delete = [p for p in current if p not in desired]
    return create, delete


@dataclass
class Planner:
    """Reads the workspace and cache to plan checkouts of outputs."""

    root: Path
    cache: Cache
    state: State
    rules: Rules
    jobs: int = 4
    _tree_errors: dict[str, Failure] = field(default_factory=dict)

    def desired(self, out: Output, subpath: str) -> dict[str, str]:
        if not out.is_dir:
            return {out.path: out.oid or ""}
        tree = self.cache.load_tree(out.oid or "", legacy=out.legacy)
        prefix = subpath + "/" if subpath else ""
        return {
            f"{out.path}/{e.relpath}": e.md5
            for e in tree.entries
            if not subpath or e.relpath == subpath or e.relpath.startswith(prefix)
        }

    def current(
        self, out: Output, subpath: str, leftovers: list[str] | None = None
    ) -> tuple[bool, dict[str, str]]:
        path = self.root / out.path
        if not os.path.lexists(path):
            return False, {}
        if path.is_dir() and not path.is_symlink():
            files = walk(self.root, out.path, self.rules, leftovers=leftovers)
            if subpath:
                files = [
                    f for f in files if f.relpath == subpath or f.relpath.startswith(subpath + "/")
                ]
                hashes = hash_files(files, self.state, legacy=out.legacy, jobs=self.jobs)
            else:  # a clean directory: one state row (`hash_folder`)
                hashes = hash_folder(
                    str(path), files, self.state, legacy=out.legacy, jobs=self.jobs
                )[1]
            prefix = out.path + "/"
            return True, {prefix + rel: md5 for rel, md5 in hashes.items()}
        if path.is_file():
            files = [FileInfo(out.path, str(path), path.stat())]
        else:
            return True, {}
        return True, hash_files(files, self.state, legacy=out.legacy, jobs=self.jobs)

    @paused()
    def plan(self, out: Output, subpath: str = "", *, relink: bool = False) -> OutputPlan:
        parts = out.path.split("/")
        upto = len(parts) + (1 if out.is_dir else 0)  # the parents, and a directory itself
        _refuse_symlinks(self.root, out.path, ("/".join(parts[:i]) for i in range(1, upto)))
        try:
            desired = self.desired(out, subpath)
        except ObjectNotFoundError as exc:
            return OutputPlan(
                out,
                os.path.lexists(self.root / out.path),
                failed=(Failure.of(out.path, out.oid, exc),),
            )
        leftovers: list[str] = []
        existed, current = self.current(out, subpath, leftovers)
        if out.is_dir and (self.root / out.path).is_file():
            current = {out.path: current.get(out.path, "")}
        create, delete = diff(desired, current, relink=relink)
        failed, ok = [], []
        for path in create:
            oid = desired[path]
            # Only files that exist need this check (a missing object must not make us
            # replace them); for new files a missing object shows when it is opened.
            if path not in current or self.cache.exists(oid, legacy=out.legacy):
                ok.append((path, oid))
            else:
                failed.append(_missing(path, oid))
        if out.is_dir and ok:
            _refuse_symlinks(self.root, out.path, _dirs_below(out.path, (p for p, _ in ok)))
            self._refuse_case_collisions(out, desired)
        replace = frozenset(p for p, _ in ok if p in current)
        touched = [*replace, *delete]
        unsaved = tuple(
            sorted(
                str(self.root / p)
                for p in touched
                if current[p] != desired.get(p)
                and not self.cache.exists(current[p], legacy=out.legacy)
            )
        )
        make_root = out.is_dir and not subpath and not (self.root / out.path).is_dir()
        return OutputPlan(
            out,
            existed,
            tuple(ok),
            replace,
            tuple(delete),
            unsaved,
            tuple(failed),
            make_root,
            tuple(leftovers),
        )

    def _refuse_case_collisions(self, out: Output, desired: dict[str, str]) -> None:
        clashes = case_collisions(desired)
        if not clashes:
            return
        where = self.root / out.path
        while not where.is_dir() and where != self.root:
            where = where.parent
        if case_insensitive(where):
            a, b = clashes[0]
            raise PathError(
                f"cannot check out '{out.path}': '{a}' and '{b}' differ only in case and the "
                f"filesystem of '{where}' does not tell them apart (one would overwrite the "
                "other); check it out on a case-sensitive filesystem or rename one of them"
            )


def _dirs_below(top: str, paths: Iterable[str]) -> set[str]:
    """Pure: every directory strictly between `top` and each of the (repo-relative) paths."""
    dirs: set[str] = set()
    for path in paths:
        d = parent(path)
        while d != top and d not in dirs and d.startswith(top + "/"):
            dirs.add(d)
            d = parent(d)
    return dirs


def _refuse_symlinks(root: Path, target: str, dirs: Iterable[str]) -> None:
    """Raise PathError if any of the (repo-relative) directories is a symlink: checkout
    never writes through one (it may lead outside the repository)."""
    links = sorted(d for d in dirs if os.path.islink(root / d))
    if links:
        dest = os.readlink(root / links[0])
        raise PathError(
            f"cannot check out '{target}': '{links[0]}' is a symlink (to '{dest}') and "
            "checkout never writes through one; replace it by a directory (or remove it), "
            "then run the command again"
        )


def _missing(path: str, oid: str) -> Failure:
    return Failure(path, oid, "ObjectNotFoundError", f"{oid} is not in the cache")


def _prune_dirs(root: Path, paths: Sequence[str], stop: str) -> None:
    """Remove directories left empty by deletions, up to (not including) `stop`'s parent."""
    dirs = sorted({posixpath.dirname(p) for p in paths}, key=len, reverse=True)
    for d in dirs:
        while d and (d == stop or d.startswith(stop + "/")):
            try:
                os.rmdir(root / d)
            except OSError:
                break
            d = posixpath.dirname(d)


@dataclass
class _Applier:
    """Carries out output plans through the link strategy; failures are collected."""

    root: Path
    cache: Cache
    linker: Linker
    state: State
    jobs: int
    progress: Callable[[int], None] | None

    def prepare(self, plan: OutputPlan) -> str | None:
        """Delete what goes, then create the directories the new files need.

        A directory output that does not exist at all is built in a hidden sibling
        directory instead (returned), whose files are written in place, and `publish`ed
        with one rename: a killed run leaves no partial output, only a temporary that the
        next checkout of that folder removes, and no file pays a rename of its own.
        """
        root, out = self.root, plan.output
        if plan.make_root and not plan.existed:
            folder = parent(f"{root}/{out.path}")
            os.makedirs(folder, exist_ok=True)
            _drop_builds(folder)
            build = tmp_path(folder)
            os.mkdir(build)
            cut = len(out.path) + 1
            for sub in sorted({parent(p[cut:]) for p, _ in plan.create}):
                if sub:
                    os.makedirs(f"{build}/{sub}", exist_ok=True)
            return build
        for path in plan.delete:
            os.unlink(root / path)
        _prune_dirs(root, plan.delete, out.path)
        if out.is_dir and (root / out.path).is_file():
            os.unlink(root / out.path)
        if plan.make_root:
            os.makedirs(root / out.path, exist_ok=True)
        for folder in sorted({parent(p) for p, _ in plan.create}):
            if folder:
                os.makedirs(root / folder, exist_ok=True)
        return None

    def publish(self, plan: OutputPlan, build: str) -> None:
        """Give a built directory output its name (`prepare`)."""
        dest = self.root / plan.output.path
        try:
            os.rename(build, dest)  # replaces only an empty directory made meanwhile
        except OSError as exc:
            shutil.rmtree(build, ignore_errors=True)
            raise PathError(
                f"cannot check out '{plan.output.path}': '{dest}' appeared while it was being "
                f"checked out ({exc.strerror}); nothing was changed there"
            ) from exc

    def materialise(self, plan: OutputPlan, build: str | None = None) -> list[Failure]:
        """Create the files of `plan` (in `build`, if given); failures are collected per
        file, except an error every other file would hit too (a full disk, a read-only
        directory, no descriptor left): the files not yet begun are skipped and that one
        error is raised.

        Many small files are copied on every core (`parallel`) once the first file has
        settled the link type on copying: links are cheap, copies are not.
        """
        out = plan.output
        base, isexec = str(self.root), out.isexec and not out.is_dir
        cut, fresh = len(out.path) + 1, build is not None
        fatal: list[DiskError] = []

        def where(path: str) -> str:
            """Where the file of `path` is written (in the build directory, if any)."""
            return f"{base}/{path}" if build is None else f"{build}/{path[cut:]}"

        def settle(path: str, oid: str, got: FileStat | BaseException | None) -> Failure | None:
            final = f"{base}/{path}"
            if got is None:
                return Failure(path, oid, "DiskError", f"not checked out: {fatal[0]}")
            if not isinstance(got, BaseException):
                self.state.put(final, got, oid, out.hash_name, written=True)
                return None
            if isinstance(got, FileNotFoundError):
                src = self.cache.fspath(oid, legacy=out.legacy)
                return Failure.of(path, oid, got) if os.path.exists(src) else _missing(path, oid)
            if isinstance(got, FreightError):
                return Failure.of(path, oid, got)
            if isinstance(got, OSError):  # e.g. a full disk: name the file and the remedy
                named_ = OSError(got.errno, got.strerror, final) if fresh else named(got, final)
                err = DiskError.of(named_)
                if err.stops_run and not fatal:
                    fatal.append(err.about(path))
                return Failure.of(path, oid, err)
            raise got

        def one(item: tuple[str, str]) -> Failure | None:
            path, oid = item
            if fatal:
                return settle(path, oid, None)
            src = self.cache.fspath(oid, legacy=out.legacy)
            try:
                checked = None if out.legacy or oid in trusted else oid
                got: FileStat | BaseException = self.linker.link(
                    src, where(path), oid=checked, isexec=isexec, fresh=fresh
                )
            except (FreightError, OSError) as exc:
                got = exc
            return settle(path, oid, got)

        def copies(items: Sequence[tuple[str, str]]) -> list[Failure | None]:
            mode = self.linker.mode(isexec)
            work = [
                (
                    self.cache.fspath(oid, legacy=out.legacy),
                    where(path),
                    mode,
                    None if out.legacy or oid in trusted else oid,
                    fresh,
                )
                for path, oid in items
            ]
            got = parallel.run("copy", (), work, progress=self.progress, stop=parallel.systemic)
            written = [type(r) is parallel.Stat for r in got]
            self.state.put_many(
                (
                    (f"{base}/{items[i][0]}", got[i], items[i][1])
                    for i in compress(count(), written)
                ),
                out.hash_name,
                written=True,
            )  # what `settle` does for one file, for all of them at once
            done: list[Failure | None] = [None] * len(items)
            for i in parallel.begun_first(got):
                if not written[i]:
                    done[i] = settle(*items[i], parallel.unpack(got[i]))
            return done

        oids = [] if out.legacy else [oid for _, oid in plan.create]
        trusted = set(compress(oids, self.cache.trusted_many(oids)))  # copied without a hash
        sources = [self.cache.fspath(oid, legacy=out.legacy) for _, oid in plan.create[:64]]
        threads = sampled_jobs(sources, self.jobs)
        first, rest = plan.create[:1], plan.create[1:]
        done = map_batched(one, first, jobs=1, progress=self.progress)
        if threads == 1 and self.linker.types[0] == "copy" and parallel.worth(len(rest)):
            done += copies(rest)
        else:
            done += map_batched(one, rest, jobs=threads, progress=self.progress)
        if fatal:
            raise fatal[0]
        return [f for f in done if f is not None]


def _drop_builds(folder: str) -> None:
    """Remove the build directories (`_Applier.prepare`) that killed checkouts left in
    `folder`: they hold only copies of cache objects, and the repository lock is held."""
    with os.scandir(folder) as entries:
        doomed = [e.path for e in entries if is_tmp(e.name) and e.is_dir(follow_symlinks=False)]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)


@paused()
def apply(
    plans: Sequence[OutputPlan],
    *,
    root: Path,
    cache: Cache,
    linker: Linker,
    state: State,
    jobs: int = 8,
    progress: Callable[[int], None] | None = None,
) -> CheckoutResult:
    """Carry out `plans`; failures are collected per file, never raised."""
    applier = _Applier(root, cache, linker, state, jobs, progress)
    added: list[str] = []
    modified: list[str] = []
    failures: list[Failure] = []
    counts = {"added": 0, "modified": 0, "deleted": 0}
    for plan in plans:
        failures.extend(plan.failed)
        for leftover in plan.leftovers:  # the repo lock is held: no live run owns them
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)
        if not plan.changes:
            continue
        build = applier.prepare(plan)
        try:
            failed = applier.materialise(plan, build)
        except BaseException:
            if build is not None:
                shutil.rmtree(build, ignore_errors=True)
            raise
        if build is not None:
            applier.publish(plan, build)
        failures.extend(failed)
        bad = {f.path for f in failed}
        counts["modified"] += len(plan.replace - bad)
        counts["added"] += sum(1 for p, _ in plan.create if p not in bad and p not in plan.replace)
        counts["deleted"] += len(plan.delete)
        out = plan.output
        (modified if plan.existed else added).append(out.path + "/" if out.is_dir else out.path)
    return CheckoutResult(
        outputs=tuple(ArtifactRef.of(p.output) for p in plans),
        added=tuple(added),
        modified=tuple(modified),
        files_added=counts["added"],
        files_modified=counts["modified"],
        files_deleted=counts["deleted"],
        failed=tuple(failures),
    )
