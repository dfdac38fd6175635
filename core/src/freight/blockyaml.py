"""A fast reader for the block-style YAML that DVC writes, and nothing else.

Even libyaml's C parser spends most of its time building Python event and node objects
(about 0.2 s for a `dvc.lock` of 1,000 stages), too slow for a project catalog built at
every orchestrator parse. The metafiles DVC writes use a small, regular subset of YAML:
block mappings and sequences, plain or single-quoted scalars, folded plain scalars. This
module reads exactly that subset with string operations, resolving plain scalars by the
YAML 1.2 core schema as `freight.metafiles` does. Anything else (comments, flow
collections, anchors, tags, escapes, block scalars, tabs, CRLF) raises `Unsupported`, and
the caller falls back to libyaml, so a file is never read differently from libyaml.
"""

from __future__ import annotations

import re
from typing import Any

_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_CONSTANTS: dict[str, Any] = {
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
_NUMERIC_START = frozenset("-+0123456789.")
_INDICATORS = frozenset("[]{},#&*!|>'\"%@`?:")  # a plain scalar may not start with these
# Comments, tabs, CR and the other line breaks libyaml knows, BOMs, and the characters
# libyaml refuses: a text with any of them is left to libyaml.
_OUTSIDE = re.compile(
    "[#\t\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
)


class Unsupported(Exception):  # a signal to fall back, not an error
    """The text uses YAML beyond the subset this module reads."""


def _plain(text: str) -> Any:
    """The value of a plain scalar by the YAML 1.2 core schema (as `libyaml.Loader`)."""
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if text[0] in _NUMERIC_START:
        if _INT.fullmatch(text):
            return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)
        if _FLOAT.fullmatch(text):
            lowered = text.lower()
            if lowered.lstrip("+-") in (".inf", ".nan"):
                return float(lowered.replace(".", ""))
            return float(text)
    return text


def _check_plain(text: str) -> None:
    first = text[0]
    if first in _INDICATORS or (first == "-" and (len(text) == 1 or text[1] == " ")):
        raise Unsupported(text)
    if ": " in text or " #" in text or text[-1] == ":":
        raise Unsupported(text)


def _scalar(text: str) -> Any:
    """A one-line scalar: plain, single-quoted, or double-quoted without escapes."""
    first = text[0]
    if first == "'":
        if len(text) < 2 or text[-1] != "'" or "'" in text[1:-1].replace("''", ""):
            raise Unsupported(text)
        return text[1:-1].replace("''", "'")
    if first == '"':
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != '"' or '"' in inner or "\\" in inner:
            raise Unsupported(text)
        return inner
    if first in _INDICATORS or (first == "-" and (len(text) == 1 or text[1] == " ")):
        raise Unsupported(text)
    if ": " in text or " #" in text or text[-1] == ":":
        raise Unsupported(text)
    if first in _NUMERIC_START or text in _CONSTANTS:
        return _plain(text)
    return text


_KEYS: dict[str, Any] = {}  # plain keys seen before (path, md5, size, ...): checked once


def _key(text: str) -> Any:
    try:
        return _KEYS[text]
    except KeyError:
        pass
    if not text:
        raise Unsupported("empty key")
    _check_plain(text)
    value = _plain(text)
    if len(_KEYS) < 4096:
        _KEYS[text] = value
    return value


def _is_dash(content: str) -> bool:
    return content[0] == "-" and (len(content) == 1 or content[1] == " ")


def _is_entry(content: str) -> bool:
    """Whether a line is a mapping entry (`key: value` or `key:`)."""
    if content[0] in "'\"":
        return _split_key(content) is not None
    return content[-1] == ":" or ": " in content


def _split_key(content: str) -> tuple[Any, str] | None:
    """(key, rest) of a mapping entry line, or None if the line is not one."""
    cut = content.find(": ")
    if content[0] in "'\"":
        end = content.find(content[0], 1)
        if end < 0 or content[end + 1 : end + 2] != ":":
            return None  # a quoted scalar, not a key
        after = content[end + 2 :]
        if after and after[0] != " ":
            raise Unsupported(content)
        return _scalar(content[: end + 1]), after.strip(" ")
    if cut >= 0:
        return _key(content[:cut].rstrip(" ")), content[cut + 2 :].lstrip(" ")
    if content[-1] == ":":
        return _key(content[:-1].rstrip(" ")), ""
    return None


class _Reader:
    """Recursive descent over (indent, content) lines, blank lines dropped.

    Written for speed: the common lines (`key: value`, `- key: value`) take no function
    call beyond the scalar's; every method returns the next line's position.
    """

    def __init__(self, text: str) -> None:
        if _OUTSIDE.search(text):
            raise Unsupported("comments, tabs, CR or other special characters")
        lines: list[tuple[int, str]] = []
        self.after_blank: set[int] = set()  # lines that follow a blank line
        blank = False
        for raw in text.split("\n"):
            content = raw.lstrip(" ")
            if not content:
                blank = True
                continue
            indent = len(raw) - len(content)
            if indent == 0 and (content[:3] in ("---", "...") or content[0] == "%"):
                raise Unsupported("document markers")
            if blank:
                self.after_blank.add(len(lines))
                blank = False
            lines.append((indent, content.rstrip(" ")))
        lines.append((-1, ""))  # the end
        self.lines = lines

    def document(self) -> Any:
        indent = self.lines[0][0]
        if indent < 0:
            return None
        if indent != 0:
            raise Unsupported("indented document")
        value, pos = self.block(0, 0)
        if self.lines[pos][0] >= 0:
            raise Unsupported("trailing content")
        return value

    def block(self, pos: int, indent: int) -> tuple[Any, int]:
        """The node whose first line is at `pos`, at `indent`."""
        content = self.lines[pos][1]
        if _is_dash(content):
            return self.sequence(pos, indent)
        if _is_entry(content):
            return self.mapping(pos, indent)
        raise Unsupported(content)  # a bare scalar document

    def sequence(self, pos: int, indent: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        lines = self.lines
        while True:
            at, content = lines[pos]
            if at != indent or content[0] != "-":
                break
            rest = content[1:].lstrip(" ")
            if len(rest) + 1 == len(content) and rest:  # `-x`: a scalar, not an entry
                break
            if not rest:
                nxt = lines[pos + 1][0]
                if nxt > indent:
                    item, pos = self.block(pos + 1, nxt)
                else:
                    item, pos = None, pos + 1
                items.append(item)
                continue
            if _is_dash(rest):
                raise Unsupported("nested compact sequence")
            if _is_entry(rest):  # a mapping that starts on the dash line
                lines[pos] = (indent + len(content) - len(rest), rest)
                item, pos = self.mapping(pos, lines[pos][0])
            else:
                item, pos = self.folded(pos + 1, rest, indent)
            items.append(item)
        if lines[pos][0] > indent:
            raise Unsupported("unexpected indentation")
        return items, pos

    def mapping(self, pos: int, indent: int) -> tuple[dict[Any, Any], int]:
        result: dict[Any, Any] = {}
        lines = self.lines
        keys = _KEYS
        while True:
            at, content = lines[pos]
            if at != indent or (content[0] == "-" and content[1:2] in ("", " ")):
                break
            cut = content.find(": ")
            if cut > 0 and content[0] not in "'\"":
                key = keys.get(content[:cut])
                if key is None:
                    key = _key(content[:cut].rstrip(" "))
                rest = content[cut + 2 :].lstrip(" ")
            else:
                split = _split_key(content)
                if split is None:
                    raise Unsupported(content)
                key, rest = split
            pos += 1
            nxt = lines[pos][0]
            if rest:
                if nxt <= indent:  # the common case: a one-line scalar
                    result[key] = _scalar(rest)
                else:
                    result[key], pos = self.folded(pos, rest, indent)
            elif nxt > indent:
                result[key], pos = self.nested(pos, indent)
            elif nxt == indent and _is_dash(lines[pos][1]):
                result[key], pos = self.sequence(pos, indent)
            else:
                result[key] = None
        if lines[pos][0] > indent:
            raise Unsupported("unexpected indentation")
        return result, pos

    def nested(self, pos: int, parent: int) -> tuple[Any, int]:
        """The value of `key:` whose first line (at `pos`) is more indented than the key."""
        at, content = self.lines[pos]
        if _is_dash(content) or _is_entry(content):
            return self.block(pos, at)
        # a scalar on the next line (DVC folds long paths this way)
        return self.folded(pos + 1, content, parent)

    def folded(self, pos: int, text: str, parent: int) -> tuple[Any, int]:
        """A scalar starting with `text`, joined with the more-indented plain lines that
        continue it from `pos` on."""
        lines = self.lines
        if lines[pos][0] <= parent:
            return _scalar(text), pos
        if text[0] in "'\"":
            raise Unsupported("multi-line quoted scalar")
        _check_plain(text)
        parts = [text]
        while lines[pos][0] > parent:
            if pos in self.after_blank:
                raise Unsupported("blank line inside a folded scalar")
            content = lines[pos][1]
            _check_plain(content)
            parts.append(content)
            pos += 1
        return _plain(" ".join(parts)), pos


def parse(text: str) -> Any:
    """The document in `text`, or `Unsupported` if it leaves DVC's subset of YAML."""
    return _Reader(text).document()
