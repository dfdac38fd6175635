"""The little freight needs from Git: is there a work tree, is a path tracked, and
`.gitignore` entries for outputs (spec §8.1).

Names Git cannot express safely are refused instead of producing a broken `.gitignore`
(DVC writes a newline or a trailing space verbatim, spec E3/E4): trailing spaces are
escaped with a backslash, names with a newline or carriage return are refused.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from .errors import PathError
from .fsutil import atomic_write, umask

_SPECIAL = re.compile(r"([\\\[\]!*#?])")


def git_root(start: Path) -> Path | None:
    """The Git work tree containing `start`, if any."""
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def tracked_by_git(work_tree: Path, paths: Iterable[Path]) -> list[str]:
    """Which of `paths` Git tracks (empty when git is not installed)."""
    git = shutil.which("git")
    paths = list(paths)
    if git is None or not paths:
        return []
    proc = subprocess.run(
        [git, "ls-files", "-z", "--", *map(str, paths)],
        cwd=work_tree,
        capture_output=True,
        check=False,
    )
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def git_add(work_tree: Path, paths: Iterable[Path]) -> None:
    git = shutil.which("git")
    if git is not None:
        subprocess.run(
            [git, "add", "--", *map(str, paths)], cwd=work_tree, check=False, capture_output=True
        )


def ignore_line(name: str) -> str:
    """The `.gitignore` line for a file or directory `name` in the same directory."""
    if "\n" in name or "\r" in name:
        raise PathError(f"refusing to track {name!r}: Git cannot ignore names with line breaks")
    escaped = _SPECIAL.sub(r"\\\1", name)
    stripped = escaped.rstrip(" ")
    escaped = stripped + "\\ " * (len(escaped) - len(stripped))
    return "/" + escaped


def check_name(name: str) -> None:
    ignore_line(name)


def add_ignore(path: Path) -> Path | None:
    """Make Git ignore `path` via its parent's `.gitignore`; returns that file if changed."""
    line = ignore_line(path.name)
    gitignore = path.parent / ".gitignore"
    try:
        text = gitignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if line in text.splitlines():
        return None
    if text and not text.endswith("\n"):
        text += "\n"
    atomic_write(gitignore, (text + line + "\n").encode("utf-8"), mode=0o666 & ~umask())
    return gitignore
