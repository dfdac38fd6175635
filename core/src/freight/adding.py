"""`add`: hash targets, store their objects, relink the workspace, write `.dvc` files.

Every target is validated before anything is written (spec §8.1 refusals, plus names Git
cannot ignore). Objects go to the cache before the `.dir` that lists them, and both before
the metafile that names them, so an interrupted add never leaves a metafile pointing at
objects that are not stored.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from . import metafiles, parallel, scm
from .callbacks import Callback
from .collect import repo_relpath
from .errors import PathError
from .fsutil import io_jobs, map_batched
from .gcpause import paused
from .hashing import md5_file
from .ignore import root_rules
from .links import Linker
from .model import FileMeta, Output
from .odb import Cache
from .results import AddResult, ArtifactRef
from .state import State
from .workspace import FileInfo, build_tree, hash_files, hash_folder, remembered, walk


@dataclass(frozen=True)
class Target:
    """A validated add target: the output path and the output already recorded for it."""

    path: str
    existing: Output | None
    metafile: str


@dataclass
class Adder:
    root: Path
    cache: Cache
    state: State
    link_types: tuple[str, ...]
    scm_root: Path | None
    jobs: int = 4

    @paused()
    def add(self, targets: Sequence[str], outputs: list[Output], callback: Callback) -> AddResult:
        checked = [self.check(t, outputs) for t in targets]
        self._check_git(checked)
        written: list[str] = []
        refs, hashed, cached = [], 0, 0
        for target in checked:
            out, n_hashed, n_cached = self._add_one(target, callback)
            hashed += n_hashed
            cached += n_cached
            refs.append(ArtifactRef.of(out))
            if out != target.existing:
                rel = posixpath.relpath(out.path, posixpath.dirname(target.metafile) or ".")
                metafiles.write_dvcfile(self.root / target.metafile, metafiles.entry_for(out, rel))
                written.append(target.metafile)
            if self.scm_root is not None:
                changed = scm.add_ignore(self.root / out.path)
                if changed is not None:
                    written.append(changed.relative_to(self.root).as_posix())
        return AddResult(tuple(refs), tuple(dict.fromkeys(written)), hashed, cached)

    def check(self, target: str, outputs: list[Output]) -> Target:
        """Validate one target; raises PathError with DVC's wording where DVC refuses."""
        rel = repo_relpath(self.root, target)
        path = self.root / rel
        if not rel or not os.path.lexists(path):
            raise PathError(f"'{target}' does not exist")
        if _under_symlink(self.root, rel) or (path.is_symlink() and path.is_dir()):
            raise PathError(f"'{target}': Cannot add files inside symlinked directories to DVC.")
        for out in outputs:
            inside = out.is_dir and rel.startswith(out.path + "/")
            if out.path == rel or inside:
                if out.stage is not None:
                    raise PathError(
                        f"output '{out.path}' is already specified in stage: '{out.stage}'"
                    )
                return Target(out.path, out, out.metafile)
            if out.path.startswith(rel + "/"):
                raise PathError(f"'{target}' contains the tracked output '{out.path}'")
        scm.check_name(path.name)
        return Target(rel, None, metafiles.metafile_for(rel))

    def _check_git(self, targets: list[Target]) -> None:
        if self.scm_root is None:
            return
        tracked = scm.tracked_by_git(self.scm_root, [self.root / t.path for t in targets])
        if tracked:
            raise PathError(
                f"output '{tracked[0]}' is already tracked by SCM (e.g. Git).\n"
                "    You can remove it from Git, then add to DVC.\n"
                "        To stop tracking from Git:\n"
                f"            git rm -r --cached '{tracked[0]}'\n"
                '            git commit -m "stop tracking {tracked[0]}"'
            )

    def _add_one(self, target: Target, callback: Callback) -> tuple[Output, int, int]:
        path = self.root / target.path
        is_dir = path.is_dir()
        if is_dir:
            files = walk(self.root, target.path, root_rules(self.root, target.path))
        else:
            files = [FileInfo(path.name, str(path), path.stat(), path.is_symlink())]
        callback.set_size(len(files))
        existing = target.existing
        if existing is not None and existing.legacy:
            legacy = self._hash(path, files, is_dir, True)
            if legacy[0] == existing.oid:  # unchanged legacy data stays legacy (E45)
                callback.relative_update(len(files))
                return existing, 0, 0
        known = remembered(str(path), files, self.state) if is_dir else None
        if known is not None and self._stored(*known):  # a clean directory: nothing to do
            oid, hashes = known
            hashed = stored = 0
            callback.relative_update(len(files))
        else:
            hashes, hashed, stored = self._ingest(files, callback)
            # the `.dir` object is stored right away: its files are in the cache already
            oid = self.cache.add_tree(build_tree(hashes)) if is_dir else hashes[files[0].relpath]
        out = Output(
            path=target.path,
            metafile=target.metafile,
            oid=oid,
            size=sum(f.st.st_size for f in files),
            nfiles=len(files) if is_dir else None,
            isexec=not is_dir and os.access(path, os.X_OK),
            legacy=False,
        )
        if existing is not None and existing.oid == oid and not existing.legacy:
            out = existing
        elif is_dir and existing is not None and existing.files is not None:
            out = _keep_versions(out, existing.files, hashes, files)
        self._relink(files, hashes)
        return out, hashed, stored

    def _hash(
        self, path: Path, files: list[FileInfo], is_dir: bool, legacy: bool
    ) -> tuple[str, dict[str, str]]:
        if is_dir:
            return hash_folder(str(path), files, self.state, legacy=legacy, jobs=self.jobs)
        hashes = hash_files(files, self.state, legacy=legacy, jobs=self.jobs)
        return hashes[files[0].relpath], hashes

    def _stored(self, oid: str, hashes: dict[str, str]) -> bool:
        """Whether the cache holds directory `oid` and every file object it lists."""
        return self.cache.exists(oid) and not self.cache.missing(hashes.values())

    def _ingest(self, files: list[FileInfo], callback: Callback) -> tuple[dict[str, str], int, int]:
        """Hash files (unless the state knows them) and store them, reading each once."""
        hardlink = self.link_types[0] == "hardlink"
        known = self.state.get_many((f.path, f.st) for f in files)
        # known files whose object is in the cache need nothing: one listing finds them
        stored = set(known).difference(self.cache.missing(filter(None, known)), (None,))

        def one(item: tuple[FileInfo, str | None]) -> tuple[str, bool]:
            info, md5 = item
            if md5 in stored:
                return cast(str, md5), False
            # a symlink's target (maybe outside the repository) is copied: hard-linking it
            # would make that file the cache object, read-only (DVC 3.67.1 does so)
            link = hardlink and not info.link
            if md5 is None and not link:
                return self.cache.ingest(info.path)
            md5 = md5 or md5_file(info.path)
            return md5, self.cache.add_file(info.path, md5, hardlink=link)

        jobs = io_jobs(sum(f.st.st_size for f in files), len(files), self.jobs)
        items = list(zip(files, known, strict=True))
        unknown = [i for i, md5 in enumerate(known) if md5 is None]
        if jobs == 1 and not hardlink and parallel.worth(len(unknown)):
            done = self._ingest_everywhere(items, unknown, stored, callback)
        else:
            done = map_batched(one, items, jobs=jobs, progress=callback.relative_update)
        hashes = {info.relpath: digest for info, (digest, _) in zip(files, done, strict=True)}
        self.state.put_many(
            (info.path, info.st, digest)
            for info, md5, (digest, _) in zip(files, known, done, strict=True)
            if md5 is None
        )
        hashed = sum(1 for md5 in known if md5 is None)
        return hashes, hashed, sum(1 for _, new in done if new)

    def _ingest_everywhere(
        self,
        items: list[tuple[FileInfo, str | None]],
        unknown: list[int],
        stored: set[str | None],
        callback: Callback,
    ) -> list[tuple[str, bool]]:
        """`_ingest`'s work with the files to hash spread over every core (`parallel`);
        files the state knows are only stored (if the cache lacks them), here."""
        paths = [items[i][0].path for i in unknown]
        context = (str(self.cache.root), self.cache.shared)
        got = parallel.run(
            "ingest", context, paths, progress=callback.relative_update, stop=parallel.failed
        )
        fault = next((r for r in got if parallel.failed(r)), None)
        if fault is not None:
            raise fault.error()  # as the first error of a loop in this process would
        done: list[tuple[str, bool] | None] = [None] * len(items)
        for i, (md5, new, st) in zip(unknown, got, strict=True):
            self.cache.remember(md5, st)
            done[i] = (md5, new)
        for i, (info, md5) in enumerate(items):
            if md5 is not None:
                done[i] = (md5, md5 not in stored and self.cache.add_file(info.path, md5))
                callback.relative_update(1)
        return cast(list[tuple[str, bool]], done)

    def _relink(self, files: list[FileInfo], hashes: dict[str, str]) -> None:
        """Replace symlinks by copies and, for link cache types, files by links (spec §5.4)."""
        linker = Linker(self.link_types)
        relink_all = self.link_types[0] in ("hardlink", "symlink")
        for info in files:
            is_link = info.link  # the walk saw it (no second lstat per file)
            if not (relink_all or is_link):
                continue
            oid = hashes[info.relpath]
            dest = Path(info.path)
            if (
                relink_all
                and not is_link
                and os.stat(dest).st_ino == os.stat(self.cache.path(oid)).st_ino
            ):
                continue
            self.state.put(info.path, linker.link(self.cache.path(oid), dest, oid=oid), oid)


def _under_symlink(root: Path, rel: str) -> bool:
    parts = rel.split("/")
    return any((root / "/".join(parts[:i])).is_symlink() for i in range(1, len(parts)))


def _keep_versions(
    out: Output, recorded: tuple[FileMeta, ...], hashes: dict[str, str], files: list[FileInfo]
) -> Output:
    """A directory recorded in `files:` form (after a version-aware push) stays in that form,
    keeping the version of every file whose bytes did not change, as DVC does."""
    kept = {f.relpath: f for f in recorded}
    sizes = {f.relpath: f.st.st_size for f in files}
    listed = tuple(
        kept[rel] if rel in kept and kept[rel].md5 == md5 else FileMeta(rel, md5, sizes[rel])
        for rel, md5 in sorted(hashes.items())
    )
    return dataclasses.replace(out, files=listed)
