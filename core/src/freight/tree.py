"""The `.dir` object: a directory's manifest, serialised byte-exactly as DVC does.

Bytes: `json.dumps(entries, sort_keys=True)` of `[{"md5": ..., "relpath": ...}]` sorted by
the whole relpath string (code-point order), no trailing newline. The oid is the md5 of
those bytes plus `.dir`. Parsing validates every relpath (no absolute, empty, `.` or `..`
components, no duplicates) so a hostile manifest can never make checkout write outside its
output directory (DVC does not check: spec E34-E36).
"""

from __future__ import annotations

import itertools
import json
import operator
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import NamedTuple

from .errors import MetafileError
from .hashing import md5_bytes


class TreeEntry(NamedTuple):
    """One file of a directory: its posix path relative to the directory and its md5 (a
    named tuple: a manifest holds one per file, and a tuple is the cheapest to build)."""

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
        return _dump([e.relpath for e in self.entries], [e.md5 for e in self.entries])

    def oid(self) -> str:
        return digest(self.serialize())

    def as_dict(self) -> dict[str, str]:
        return {e.relpath: e.md5 for e in self.entries}


def oid_of(hashes: Mapping[str, str]) -> str:
    """The oid of the tree of `hashes` (relpath -> md5), without building the `Tree`
    (a no-op `status` of 100,000 files computes one)."""
    relpaths = sorted(hashes)
    return digest(_dump(relpaths, map(hashes.__getitem__, relpaths)))


def _dump(relpaths: Iterable[str], md5s: Iterable[str]) -> bytes:
    """Exactly `json.dumps([{"md5": m, "relpath": r}, ...], sort_keys=True)`, written
    directly: two to three times as fast as going through dicts and the JSON encoder."""
    q = encode_basestring_ascii  # json.dumps' own quoting (ensure_ascii)
    items = [f'{{"md5": {q(m)}, "relpath": {q(r)}}}' for r, m in zip(relpaths, md5s, strict=True)]
    return ("[" + ", ".join(items) + "]").encode("ascii")


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


#: what an unsafe relpath leaves in "\n" + "\n".join(relpaths) + "\n": an empty path or
#: component, an absolute path, a "." or ".." component, a NUL
_UNSAFE = (
    "\n\n",
    "//",
    "/\n",
    "\n/",
    "\n./",
    "/./",
    "/.\n",
    "\n.\n",
    "\n../",
    "/../",
    "/..\n",
    "\n..\n",
    "\x00",
)


def parse(data: bytes, where: str) -> Tree:
    """Parse `.dir` bytes; `where` names the object in error messages.

    Hot for big directories (every push, fetch and status -c of one): the relpaths are
    checked all at once on one joined string (every unsafe component is bounded by `/` or
    a newline there), and only a manifest that looks unsafe there is checked path by path,
    which names the bad entry (a name holding a newline may look unsafe: it is then
    checked exactly).
    """
    try:
        items = json.loads(data)
    except ValueError as exc:
        raise MetafileError(where, f"corrupted .dir object: {exc}") from None
    if not isinstance(items, list):
        raise MetafileError(where, "corrupted .dir object: not a JSON list")
    try:
        relpaths = [item["relpath"] for item in items]
        md5s = [item["md5"] for item in items]
    except (TypeError, KeyError):
        relpaths = md5s = []  # a malformed entry: found and named below
    if not relpaths or not _all_str(relpaths) or not _all_str(md5s):
        return _parse_slowly(items, where)
    joined = "\n" + "\n".join(relpaths) + "\n"
    if any(bad in joined for bad in _UNSAFE):
        return _parse_slowly(items, where)
    # tuple.__new__ builds each TreeEntry in C (TreeEntry(...) runs a Python __new__)
    entries = list(
        map(tuple.__new__, itertools.repeat(TreeEntry), zip(relpaths, md5s, strict=True))
    )
    if not all(map(operator.lt, relpaths, relpaths[1:])):  # DVC writes them sorted
        entries.sort()  # by relpath: md5 decides only between duplicates, refused next
        for a, b in itertools.pairwise(entries):
            if a.relpath == b.relpath:
                raise MetafileError(where, f"duplicate relpath {a.relpath!r}")
        relpaths = [e.relpath for e in entries]
    _refuse_clashes(relpaths, where)
    return Tree(tuple(entries))


def _all_str(values: list[object]) -> bool:
    return set(map(type, values)) <= {str}  # no Python frame per value


def _parse_slowly(items: list[object], where: str) -> Tree:
    """`parse`, entry by entry: names the first bad entry."""
    entries: dict[str, TreeEntry] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("md5"), str):
            raise MetafileError(where, f"corrupted .dir entry {item!r}")
        relpath = check_relpath(item.get("relpath"), where)
        if relpath in entries:
            raise MetafileError(where, f"duplicate relpath {relpath!r}")
        entries[relpath] = TreeEntry(relpath, item["md5"])
    _refuse_clashes(entries, where)
    return Tree.build(entries.values())


def _refuse_clashes(relpaths: Iterable[str], where: str) -> None:
    names = set(relpaths)
    clash = _ancestors(names).intersection(names)
    if clash:
        raise MetafileError(where, f"relpath {min(clash)!r} is both a file and a directory")


def _ancestors(relpaths: Iterable[str]) -> set[str]:
    """Every proper ancestor directory of the given relpaths."""
    # the parents first, one C-level split per path: a big directory has few of them
    parents = {rel.rpartition("/")[0] for rel in relpaths}
    parents.discard("")
    found: set[str] = set(parents)
    for rel in parents:
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
    names = set(relpaths)
    names |= _ancestors(names)
    if all(map(str.isascii, names)) and len(set(map(str.lower, names))) == len(names):
        return []  # the usual answer, found in C (a checkout of 100,000 files asks)
    first: dict[str, str] = {}
    clashes: set[tuple[str, str]] = set()
    for name in sorted(names):
        key = name.lower() if name.isascii() else unicodedata.normalize("NFC", name).casefold()
        seen = first.setdefault(key, name)
        if seen != name:
            clashes.add((min(seen, name), max(seen, name)))
    return sorted(clashes)
