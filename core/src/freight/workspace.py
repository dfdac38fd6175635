"""Walk the work tree and hash what is there, through the state cache.

A tracked directory is listed the way DVC does (spec §1.3, §12 E13-E22): `.dvcignore`
rules and built-in ignores apply, symlinked files are followed, symlinked directories are
neither followed nor recorded, a dangling symlink is an error, and a nested repository
(a directory with a `.dvc/` inside) counts as empty.
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from .errors import PathError
from .fsutil import io_jobs, is_tmp, map_batched
from .hashing import md5_bytes, md5_file
from .ignore import IGNORE_FILE, Rules, is_builtin_ignored
from .model import hash_name
from .state import State
from .tree import Tree, TreeEntry, oid_of


class FileInfo(NamedTuple):
    """A regular file (or a symlink to one) found in the workspace (a named tuple: a walk
    makes one per file, and a tuple is the cheapest to build)."""

    relpath: str  # relative to the walked directory
    path: str  # absolute
    st: os.stat_result  # of the file a symlink points to, for a symlink
    link: bool = False  # a symlink (to a file): `add` replaces it by a copy


def walk(
    root: Path,
    reldir: str,
    rules: Rules,
    *,
    tracked: bool = True,
    leftovers: list[str] | None = None,
) -> list[FileInfo]:
    """Every file below repo-relative `reldir`; `tracked` applies output-only rules.

    freight's own temporaries (a killed run's leftovers) are never data: they are skipped,
    and their absolute paths are appended to `leftovers` when it is given.
    """
    base = root / reldir
    found: list[FileInfo] = []
    stack = [("", rules)]
    while stack:
        sub, sub_rules = stack.pop()
        abs_dir = os.path.join(base, sub) if sub else str(base)
        with os.scandir(abs_dir) as it:
            entries = list(it)
        names = {e.name for e in entries}
        if sub and ".dvc" in names and os.path.isdir(os.path.join(abs_dir, ".dvc")):
            continue  # nested repository: ignored wholesale
        if tracked and IGNORE_FILE in names:
            raise PathError(f".dvcignore file should not be in collected dir path: '{abs_dir}'")
        for entry in entries:
            name = entry.name
            rel = f"{sub}/{name}" if sub else name
            if entry.is_dir(follow_symlinks=False):
                _descend(entry, rel, reldir, sub_rules, root, stack)
                continue
            if name[0] == ".":  # the only names that may be temporaries or built-in ignores
                if is_tmp(name):
                    if leftovers is not None:
                        leftovers.append(entry.path)
                    continue
                if is_builtin_ignored(name, False):
                    continue
            if sub_rules.specs and sub_rules.is_ignored(  # no patterns: no path to match
                f"{reldir}/{rel}" if reldir else rel, False
            ):
                continue
            if entry.is_symlink():
                st = _link_stat(entry)
                if st is not None and stat_mod.S_ISREG(st.st_mode):
                    found.append(FileInfo(rel, entry.path, st, True))
            else:
                st = entry.stat()
                if stat_mod.S_ISREG(st.st_mode):
                    found.append(_new(FileInfo, (rel, entry.path, st, False)))
    return found


_new = tuple.__new__  # builds a FileInfo in C: FileInfo(...) runs a Python __new__


def _descend(
    entry: os.DirEntry[str],
    rel: str,
    reldir: str,
    rules: Rules,
    root: Path,
    stack: list[tuple[str, Rules]],
) -> None:
    """Queue directory `entry` for the walk, with the rules in effect inside it."""
    repo_rel = f"{reldir}/{rel}" if reldir else rel
    if is_builtin_ignored(entry.name, True) or rules.is_ignored(repo_rel, True):
        return
    stack.append(
        (rel, rules.descend(root, repo_rel) if rules.specs or _has_ignore(entry) else rules)
    )


def _link_stat(entry: os.DirEntry[str]) -> os.stat_result | None:
    """The stat of the file symlink `entry` points to; None for a symlinked directory (not
    traversed, E15); a dangling symlink is an error."""
    try:
        st = os.stat(entry.path)
    except FileNotFoundError:
        raise PathError(f"[Errno 2] No such file or directory: '{entry.path}'") from None
    return None if stat_mod.S_ISDIR(st.st_mode) else st


def _has_ignore(entry: os.DirEntry[str]) -> bool:
    return os.path.exists(os.path.join(entry.path, IGNORE_FILE))


def hash_folder(
    path: str, files: list[FileInfo], state: State, *, legacy: bool = False, jobs: int = 4
) -> tuple[str, dict[str, str]]:
    """The oid and file md5s (relpath -> md5) of the directory at `path` whose files are
    `files`; when none changed since the state last saw them all trusted, one state row
    answers for all (`State.folder`)."""
    kind = hash_name(legacy)
    sig = signature(files)
    known = remembered(path, files, state, legacy=legacy, sig=sig)
    if known is not None:
        return known
    hashed: list[FileInfo] = []
    hashes = hash_files(files, state, legacy=legacy, jobs=jobs, hashed=hashed)
    oid = oid_of(hashes)
    if hashes and not hashed:  # every hash came from a trusted row
        state.put_folder(path, kind, sig, oid, hashes)
    return oid, hashes


def remembered(
    path: str, files: list[FileInfo], state: State, *, legacy: bool = False, sig: str = ""
) -> tuple[str, dict[str, str]] | None:
    """`hash_folder`'s answer if one state row holds it, else None (`sig`: the files'
    signature, when the caller has it)."""
    known = state.folder(path, hash_name(legacy), sig or signature(files))
    return known if known is not None and len(known[1]) == len(files) else None


def signature(files: Iterable[FileInfo]) -> str:
    """A digest of every file's relpath, inode, mtime and size, in walk order."""
    text = "\0".join(
        [f"{f.relpath}\0{f.st.st_ino}\0{f.st.st_mtime_ns}\0{f.st.st_size}" for f in files]
    )
    return md5_bytes(text.encode("utf-8", "surrogatepass"))


def hash_files(
    files: Iterable[FileInfo],
    state: State,
    *,
    legacy: bool = False,
    jobs: int = 4,
    progress: Callable[[int], None] | None = None,
    hashed: list[FileInfo] | None = None,
) -> dict[str, str]:
    """md5 of every file (relpath -> md5), reusing and refreshing the state cache; the
    files that had to be read are appended to `hashed`."""
    kind = hash_name(legacy)
    result: dict[str, str] = {}
    todo: list[FileInfo] = [] if hashed is None else hashed
    files = list(files)
    for info, known in zip(
        files, state.get_many(((f.path, f.st) for f in files), kind), strict=True
    ):
        if known is None:
            todo.append(info)
        else:
            result[info.relpath] = known
    if not todo:
        return result

    def one(info: FileInfo) -> str:
        return md5_file(info.path, legacy=legacy)

    jobs = io_jobs(sum(f.st.st_size for f in todo), len(todo), jobs)
    digests = map_batched(one, todo, jobs=jobs, progress=progress)
    result.update((info.relpath, d) for info, d in zip(todo, digests, strict=True))
    state.put_many(((info.path, info.st, d) for info, d in zip(todo, digests, strict=True)), kind)
    return result


def build_tree(hashes: dict[str, str]) -> Tree:
    return Tree.build(TreeEntry(rel, md5) for rel, md5 in hashes.items())
