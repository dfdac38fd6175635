"""Where a dataset comes from: its stable URI and the Git commit its metafile was read at.

Orchestrators key assets by a URI, so the URI must name the same dataset on every machine
and in every clone. The rule (documented in the README):

- with a Git remote (`origin`, else the first remote that has a URL), the URI is
  `freight://<host>/<repository path>/<output path from the Git root>`: scheme, user,
  password, port and a `.git` suffix are dropped, so `git@github.com:org/proj.git` and
  `https://token@github.com/org/proj` give the same `freight://github.com/org/proj/...`;
  an origin that is a local path gives `freight:///<that path>/...`;
- without one, `freight:///<absolute workspace path>/<output path>` (the only identity there
  is).

Everything here reads files under `.git` directly: no Git process, so loading stays cheap.
Only `dirty_metafiles` runs Git (once per verb, for the metafiles of its result).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlsplit

from .results import (
    AddResult,
    ArtifactRef,
    CheckoutResult,
    CloudStatusResult,
    StatusResult,
    TransferResult,
)
from .scm import git_root

logger = logging.getLogger(__name__)

_SECTION = re.compile(r'^\s*\[\s*remote\s+"(.*)"\s*\]')
_OTHER_SECTION = re.compile(r"^\s*\[")
_URL = re.compile(r"^\s*url\s*=\s*(.*?)\s*$", re.IGNORECASE)
_SCP = re.compile(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.*)$")
_SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")


@dataclass(frozen=True)
class Origin:
    """What lineage needs to know about the repository: its URI base and HEAD commit."""

    #: `freight://host/path` of the Git remote, or `freight:///<workspace>` without one
    base: str
    #: the repository root relative to the Git root ("" when they are the same)
    prefix: str
    #: the commit HEAD points at (None outside Git or before the first commit)
    rev: str | None
    #: the Git work tree, when there is one
    git_root: Path | None

    def uri(self, path: str) -> str:
        """The dataset URI of the repo-relative output `path`."""
        rel = f"{self.prefix}/{path}" if self.prefix else path
        return f"{self.base}/{quote(rel, safe='/')}"


def read_origin(root: Path) -> Origin:
    """The lineage origin of the repository at `root` (a few small file reads)."""
    work_tree = git_root(root)
    if work_tree is None:
        return Origin(_local_base(root), "", None, None)
    git_dir, common_dir = _git_dirs(work_tree)
    prefix = root.relative_to(work_tree).as_posix() if root != work_tree else ""
    url = _remote_url(common_dir / "config")
    base = _base(url, work_tree) if url else _local_base(work_tree)
    return Origin(base, prefix, _head(git_dir, common_dir), work_tree)


def _local_base(path: Path) -> str:
    return "freight://" + quote(path.absolute().as_posix().rstrip("/"), safe="/")


def _git_dirs(work_tree: Path) -> tuple[Path, Path]:
    """The Git dir of a work tree and its common dir (they differ for `git worktree`)."""
    dot_git = work_tree / ".git"
    git_dir = dot_git
    if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
        text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            git_dir = (work_tree / text[len("gitdir:") :].strip()).resolve()
    common = git_dir
    commondir = git_dir / "commondir"
    if commondir.is_file():
        common = (git_dir / commondir.read_text(encoding="utf-8").strip()).resolve()
    return git_dir, common


def _remote_url(config: Path) -> str | None:
    """The URL of remote `origin`, else of the first remote that has one."""
    try:
        lines = config.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    urls: dict[str, str] = {}
    section: str | None = None
    for line in lines:
        match = _SECTION.match(line)
        if match:
            section = match.group(1)
            continue
        if _OTHER_SECTION.match(line):
            section = None
            continue
        url = _URL.match(line)
        if section is not None and url and section not in urls:
            urls[section] = url.group(1).strip('"')
    return urls.get("origin") or next(iter(urls.values()), None)


def _base(url: str, work_tree: Path) -> str:
    """`freight://host/path` for a Git remote URL, without user, password, port or `.git`."""
    host, path = _split_remote(url)
    if not host:  # a local path (or file://): make it absolute
        path = os.path.normpath(os.path.join(work_tree, path))
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    path = path.rstrip("/")
    return f"freight://{host}/{quote(path, safe='/')}"


def _split_remote(url: str) -> tuple[str, str]:
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme == "file":
            return "", parts.path
        return (parts.hostname or "").lower(), parts.path
    scp = _SCP.match(url)
    if scp and not os.path.isabs(url):
        return scp.group(1).lower(), scp.group(2)
    return "", url


def _head(git_dir: Path, common_dir: Path) -> str | None:
    """The commit HEAD points at, following one symbolic ref (loose or packed)."""
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if _SHA.match(head):
        return head
    if not head.startswith("ref:"):
        return None
    ref = head[len("ref:") :].strip()
    for base in (git_dir, common_dir):
        try:
            value = (base / ref).read_text(encoding="utf-8").strip()
        except OSError:
            continue
        return value if _SHA.match(value) else None
    return _packed_ref(common_dir / "packed-refs", ref)


def _packed_ref(path: Path, ref: str) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        sha, _, name = line.partition(" ")
        if name.strip() == ref and _SHA.match(sha):
            return sha
    return None  # a branch with no commit yet


def dirty_metafiles(origin: Origin, root: Path, metafiles: Iterable[str]) -> set[str] | None:
    """The repo-relative metafiles that differ from HEAD (changed, staged or untracked).

    None when it cannot be known (no Git work tree, no commit, or no `git` program).
    """
    wanted = sorted(set(metafiles))
    git = shutil.which("git")
    if origin.git_root is None or origin.rev is None or git is None:
        return None
    if not wanted:
        return set()
    proc = subprocess.run(
        # one pathspec (the project), filtered here: git matches a long list of
        # pathspecs against every entry, which costs 50 ms for 1,000 metafiles
        [git, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", "."],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        logger.debug("git status failed: %s", proc.stderr.decode(errors="replace").strip())
        return None
    prefix = f"{origin.prefix}/" if origin.prefix else ""
    changed: set[str] = set()
    records = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    skip = False
    for record in records:
        if skip or len(record) < 4:
            skip = False
            continue
        status, path = record[:2], record[3:]
        skip = "R" in status or "C" in status  # a rename is followed by its old path
        rel = path[len(prefix) :] if prefix and path.startswith(prefix) else path
        changed.add(rel)
    return changed & set(wanted)


def public_url(url: str) -> str:
    """`url` without its user-info part: no user, password or token ever reaches lineage."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path}"


def stamp(
    refs: Iterable[ArtifactRef], origin: Origin, dirty: set[str] | None
) -> tuple[ArtifactRef, ...]:
    """`refs` with their URI, the commit they were read at and whether their metafile
    differs from it."""
    return tuple(
        dataclasses.replace(
            ref,
            uri=origin.uri(ref.path),
            rev=origin.rev,
            dirty=None if dirty is None else ref.metafile in dirty,
        )
        for ref in refs
    )


def at_remote(refs: Iterable[ArtifactRef], name: str, url: str) -> tuple[ArtifactRef, ...]:
    """`refs` marked as moved to or from the remote `name` at `url`."""
    return tuple(dataclasses.replace(ref, remote=name, remote_url=public_url(url)) for ref in refs)


R = TypeVar("R", AddResult, CheckoutResult, CloudStatusResult, StatusResult, TransferResult)


def stamp_result(result: R, root: Path) -> R:
    """`result` (and the checkout a pull carries) with lineage on every output: one read
    of `.git` and at most one `git status` for all of its metafiles."""
    origin = read_origin(root)
    checkout: CheckoutResult | None = getattr(result, "checkout", None)
    refs = [*result.outputs, *(checkout.outputs if checkout is not None else ())]
    dirty = dirty_metafiles(origin, root, {r.metafile for r in refs})
    stamped: Any = dataclasses.replace(result, outputs=stamp(result.outputs, origin, dirty))
    if checkout is not None:
        inner = dataclasses.replace(checkout, outputs=stamp(checkout.outputs, origin, dirty))
        stamped = dataclasses.replace(stamped, checkout=inner)
    return cast(R, stamped)
