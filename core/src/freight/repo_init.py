"""`init`: write the `.dvc/` layout DVC 3 writes (spec §1.1, §1.2).

`--force` re-creates the config files but, unlike DVC (spec E64), keeps `.dvc/cache`:
re-initialising must never destroy data.
"""

from __future__ import annotations

from pathlib import Path

from . import scm
from .errors import FreightError
from .fsutil import atomic_write, umask
from .layout import DVC_DIR, TMP_DIR

DVCIGNORE = (
    b"# Add patterns of files dvc should ignore, which could improve\n"
    b"# the performance. Learn more at\n"
    b"# https://dvc.org/doc/user-guide/dvcignore\n"
)
DVC_GITIGNORE = b"/config.local\n/tmp\n/cache\n"
NO_SCM_CONFIG = b"[core]\n    no_scm = True\n"


class InitError(FreightError):
    """The directory cannot be initialised."""


def init_repo(root: Path, *, no_scm: bool = False, force: bool = False) -> None:
    dvc_dir = root / DVC_DIR
    if dvc_dir.exists() and not force:
        raise InitError(f"failed to initiate DVC - '{DVC_DIR}' exists. Use `-f` to force.")
    git = scm.git_root(root)
    if git is None and not no_scm:
        raise InitError(
            f"failed to initiate DVC - {root} is not tracked by any supported SCM tool "
            "(e.g. Git). Use `--no-scm` if you don't want to use any SCM."
        )
    (dvc_dir / TMP_DIR).mkdir(parents=True, exist_ok=True)
    atomic_write(dvc_dir / "config", NO_SCM_CONFIG if no_scm else b"", mode=_file_mode())
    written = [dvc_dir / "config"]
    if not no_scm:
        atomic_write(dvc_dir / ".gitignore", DVC_GITIGNORE, mode=_file_mode())
        written.append(dvc_dir / ".gitignore")
    (dvc_dir / TMP_DIR / "btime").touch()
    if not (root / ".dvcignore").exists():
        atomic_write(root / ".dvcignore", DVCIGNORE, mode=_file_mode())
    written.append(root / ".dvcignore")
    if git is not None and not no_scm:
        scm.git_add(git, written)


def _file_mode() -> int:
    return 0o666 & ~umask()
