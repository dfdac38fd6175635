"""The `.dir` object: a directory's manifest, serialised byte-exactly as DVC does.

Bytes: `json.dumps(entries, sort_keys=True)` of `[{"md5": ..., "relpath": ...}]` sorted by
the whole relpath string (code-point order), no trailing newline. The oid is the md5 of
those bytes plus `.dir`. Parsing validates every relpath (no absolute, empty, `.` or `..`
components, no duplicates) so a hostile manifest can never make checkout write outside its
output directory (DVC does not check: spec E34-E36).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import MetafileError
from .hashing import md5_bytes


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One file of a directory: its posix path relative to the directory and its md5."""

    relpath: str
    md5: str


@dataclass(frozen=True)
class Tree:
    """A directory manifest; `entries` are sorted by relpath and unique."""

    entries: tuple[TreeEntry, ...]

    @classmethod
    def build(cls, entries: Iterable[TreeEntry]) -> Tree:
        return cls(tuple(sorted(entries, key=lambda e: e.relpath)))

    def serialize(self) -> bytes:
        items = [{"md5": e.md5, "relpath": e.relpath} for e in self.entries]
        return json.dumps(items, sort_keys=True).encode("utf-8")

    def oid(self) -> str:
        return digest(self.serialize())

    def as_dict(self) -> dict[str, str]:
        return {e.relpath: e.md5 for e in self.entries}


def digest(data: bytes) -> str:
    """The oid of serialised `.dir` bytes."""
    return md5_bytes(data) + ".dir"


def check_relpath(relpath: object, where: str) -> str:
    """Return `relpath` if it is a safe relative posix path, else raise MetafileError."""
    if not isinstance(relpath, str) or not relpath:
        raise MetafileError(where, f"invalid relpath {relpath!r}")
    if relpath.startswith("/"):
        raise MetafileError(where, f"absolute relpath {relpath!r}")
    if "\x00" in relpath or any(part in ("", ".", "..") for part in relpath.split("/")):
        raise MetafileError(where, f"relpath {relpath!r} has an empty, '.' or '..' component")
    return relpath


def parse(data: bytes, where: str) -> Tree:
    """Parse `.dir` bytes; `where` names the object in error messages."""
    try:
        items = json.loads(data)
    except ValueError as exc:
        raise MetafileError(where, f"corrupted .dir object: {exc}") from None
    if not isinstance(items, list):
        raise MetafileError(where, "corrupted .dir object: not a JSON list")
    entries: dict[str, TreeEntry] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("md5"), str):
            raise MetafileError(where, f"corrupted .dir entry {item!r}")
        relpath = check_relpath(item.get("relpath"), where)
        if relpath in entries:
            raise MetafileError(where, f"duplicate relpath {relpath!r}")
        entries[relpath] = TreeEntry(relpath, item["md5"])
    clash = _ancestors(entries).intersection(entries)
    if clash:
        raise MetafileError(where, f"relpath {min(clash)!r} is both a file and a directory")
    return Tree.build(entries.values())


def _ancestors(relpaths: Iterable[str]) -> set[str]:
    """Every proper ancestor directory of the given relpaths."""
    found: set[str] = set()
    for rel in relpaths:
        cut = rel.rfind("/")
        while cut > 0:
            parent = rel[:cut]
            if parent in found:
                break
            found.add(parent)
            cut = rel.rfind("/", 0, cut)
    return found


def case_collisions(relpaths: Iterable[str]) -> list[tuple[str, str]]:
    """Pure: pairs of distinct names among the paths and their directories that a
    case-insensitive filesystem takes for one (equal after NFC and case folding), e.g.
    `A.txt`/`a.txt`, or `Sub`/`sub` for `Sub/x` and `sub/y`; sorted."""
    first: dict[str, str] = {}
    names: set[str] = set()
    clashes: set[tuple[str, str]] = set()
    for rel in relpaths:
        name = rel
        while name and name not in names:  # a name seen before had its parents seen too
            names.add(name)
            key = name.lower() if name.isascii() else unicodedata.normalize("NFC", name).casefold()
            seen = first.setdefault(key, name)
            if seen != name:
                clashes.add((min(seen, name), max(seen, name)))
            name = name.rpartition("/")[0]
    return sorted(clashes)
