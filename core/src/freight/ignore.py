"""`.dvcignore` matching: gitignore patterns, read per directory, merged downwards.

Built-in rules always apply: `.git` (file or dir), `.hg/` and `.dvc/` directories. A
directory holding a `.dvc/` sub-directory is a nested repository and is skipped whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

IGNORE_FILE = ".dvcignore"
_BUILTIN_DIRS = frozenset({".git", ".hg", ".dvc"})


@dataclass(frozen=True)
class Rules:
    """The `.dvcignore` patterns in effect for one directory."""

    specs: tuple[tuple[str, Any], ...] = ()

    def is_ignored(self, relpath: str, is_dir: bool) -> bool:
        """Whether repo-relative `relpath` is ignored (built-ins excluded: see `skip`)."""
        for base, spec in self.specs:
            rel = relpath[len(base) + 1 :] if base else relpath
            if spec.match_file(rel + "/" if is_dir else rel):
                return True
        return False

    def descend(self, root: Path, reldir: str) -> Rules:
        """The rules inside `reldir`, adding its own `.dvcignore` if it has one."""
        path = root / reldir / IGNORE_FILE if reldir else root / IGNORE_FILE
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (FileNotFoundError, NotADirectoryError):
            return self
        patterns = [line for line in lines if line.strip() and not line.startswith("#")]
        if not patterns:
            return self
        # Imported only when a .dvcignore has patterns: pathspec takes ~0.07 s to import.
        import pathspec

        spec = pathspec.PathSpec.from_lines("gitwildmatch", patterns)
        return Rules((*self.specs, (reldir, spec)))


def is_builtin_ignored(name: str, is_dir: bool) -> bool:
    return (name in _BUILTIN_DIRS and is_dir) or name == ".git"


def root_rules(root: Path, reldir: str = "") -> Rules:
    """The rules in effect inside repo-relative `reldir` (reading every level above it)."""
    rules = Rules().descend(root, "")
    parts = reldir.split("/") if reldir else []
    for i in range(1, len(parts) + 1):
        rules = rules.descend(root, "/".join(parts[:i]))
    return rules
