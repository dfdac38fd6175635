"""Resolve the stages of a loaded `dvc.yaml` as DVC does, without running anything.

DVC takes a pipeline stage's outputs from `dvc.yaml` (their flags and annotations) and
their hashes from `dvc.lock` (spec §3.4), so the names, working directories and output
paths must come out exactly as DVC computes them:

- `foreach` over a list of scalars generates `name@<value>`, over a list holding
  mappings or lists `name@<index>`, over a mapping `name@<key>`; `matrix` generates the
  product, fragments joined with `-` (a mapping or list value is `<key><index>`).
- `${...}` interpolates from the `params.yaml` next to `dvc.yaml` (when it exists), the
  top-level `vars` (files, `file:key1,key2`, or mappings), the stage's own `vars`
  (files relative to its `wdir`), and `item`/`key` of generated stages. A name that
  cannot be resolved is an error, as in DVC.
- Paths are relative to the stage's `wdir`, itself relative to the `dvc.yaml`.

Variables files are read through a callback only when a stage interpolates, so plain
pipelines cost no extra reads.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import MetafileError

#: reads a variables file (repo-relative path): its mapping, or None if it does not exist
VarsReader = Callable[[str], Any]

OUT_SECTIONS = ("outs", "metrics", "plots")
#: the keys of a pipeline output's flags that freight keeps (DVC's `load_from_pipeline`)
FLAG_KEYS = ("cache", "persist", "remote", "push", "desc", "type", "labels", "meta")
DEFAULT_PARAMS = "params.yaml"
_EXPR = re.compile(r"(?<!\\)\$\{(.*?)\}")
_UNNORMAL = re.compile(r"//|/\.\.?(?:/|$)|/$")  # what normpath would change


@dataclass(frozen=True)
class Declared:
    """An output as a stage of `dvc.yaml` declares it."""

    key: str  # the path as written (interpolated), relative to the wdir: dvc.lock's key
    path: str  # repo-relative
    section: str  # "outs", "metrics" or "plots"
    flags: Mapping[str, Any]


@dataclass(frozen=True)
class StageDef:
    """A resolved `dvc.yaml` stage; paths repo-relative ("" for the repository root)."""

    name: str
    wdir: str
    cmd: str | tuple[str, ...]
    deps: tuple[str, ...]
    outs: tuple[Declared, ...]
    frozen: bool
    desc: str | None


class _Unresolved(Exception):
    """A `${...}` that cannot be resolved (reported by the caller, naming the stage)."""


def join(base: str, *parts: str) -> str:
    """Normalized posix join; "" for the root. Leaves `..` for the caller to judge."""
    joined = posixpath.join(base, *parts)
    if joined[:1] not in ("", ".", "/") and not _UNNORMAL.search(joined):
        return joined  # already normal (the common case): skip normpath
    joined = posixpath.normpath(joined)
    return "" if joined == "." else joined


def to_str(value: Any) -> str:
    """How DVC writes a value into a string (and into a generated stage name)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_composite(value: Any) -> bool:
    return isinstance(value, (Mapping, list))


def _args(value: Mapping[str, Any], prefix: str = "") -> str:
    """A mapping interpolated into `cmd`: `--key value` pairs (DVC's default style)."""
    parts: list[str] = []
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            parts.append(_args(item, f"{name}."))
        elif isinstance(item, bool):
            if item:
                parts.append(f"--{name}")
        elif isinstance(item, str):
            parts.append(f"--{name} {shlex.quote(item)}")
        elif isinstance(item, list):
            quoted = [shlex.quote(i) if isinstance(i, str) else to_str(i) for i in item]
            parts.append(" ".join([f"--{name}", *quoted]))
        else:
            parts.append(f"--{name} {item}")
    return " ".join(p for p in parts if p)


class _Context:
    """Variables visible to one stage: its own layers first, then the file's."""

    def __init__(self, layers: Sequence[Mapping[str, Any]], base: Callable[[], Mapping[str, Any]]):
        self.layers = layers
        self.base = base

    def select(self, expr: str) -> Any:
        parts = [p.strip() for p in expr.replace("[", ".").replace("]", "").split(".")]
        head = parts[0]
        for layer in (*self.layers, self.base()):
            if head in layer:
                value = layer[head]
                break
        else:
            raise _Unresolved(f"cannot resolve '${{{expr}}}'")
        for part in parts[1:]:
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.lstrip("-").isdigit():
                try:
                    value = value[int(part)]
                except IndexError:
                    raise _Unresolved(f"cannot resolve '${{{expr}}}'") from None
            else:
                raise _Unresolved(f"cannot resolve '${{{expr}}}'")
        return value

    def resolve(self, value: Any, *, cmd: bool = False) -> Any:
        """`value` with every `${...}` replaced; a string that is exactly one `${...}`
        keeps the variable's type (so `foreach: ${models}` gives a list)."""
        if isinstance(value, str):
            if "${" not in value:
                return value
            matches = list(_EXPR.finditer(value))
            if len(matches) == 1 and matches[0].group(0) == value:
                found = self.select(matches[0].group(1))
                return _args(found) if cmd and isinstance(found, Mapping) else found
            return self._substitute(value, matches, cmd)
        if isinstance(value, Mapping):
            return {self.resolve(k): self.resolve(v, cmd=cmd) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, cmd=cmd) for v in value]
        return value

    def _substitute(self, text: str, matches: list[re.Match[str]], cmd: bool) -> str:
        out, index = [], 0
        for match in matches:
            found = self.select(match.group(1))
            if isinstance(found, Mapping) and cmd:
                piece = _args(found)
            elif _is_composite(found):
                kind = type(found).__name__
                raise _Unresolved(
                    f"cannot interpolate '{match.group(0)}' into text: it is a {kind}"
                )
            else:
                piece = to_str(found)
            out.append(text[index : match.start()] + piece)
            index = match.end()
        out.append(text[index:])
        return "".join(out).replace("\\${", "${")


def _select_keys(data: Any, keys: str, path: str, where: str) -> dict[str, Any]:
    chosen = {}
    for key in filter(None, keys.split(",")):
        if key not in data:
            raise MetafileError(where, f"could not find '{key}' in '{path}'")
        chosen[key] = data[key]
    return chosen


def _load_vars(
    read: VarsReader, items: Any, folder: str, where: str, *, default: bool
) -> dict[str, Any]:
    """The variables of a `vars` list (and of the default `params.yaml`), merged."""
    merged: dict[str, Any] = {}
    if default:
        found = read(join(folder, DEFAULT_PARAMS))
        if isinstance(found, Mapping):
            merged.update(found)
    if not isinstance(items, list):
        raise MetafileError(where, "'vars' must be a list of files or mappings")
    for item in items:
        if isinstance(item, Mapping):
            merged.update(item)
            continue
        if not isinstance(item, str):
            raise MetafileError(where, f"'vars' entry {item!r} is neither a file nor a mapping")
        name, _, keys = item.partition(":")
        path = join(folder, name)
        data = read(path)
        if data is None:
            raise MetafileError(where, f"vars file '{path}' does not exist")
        if not isinstance(data, Mapping):
            raise MetafileError(where, f"vars file '{path}' is not a mapping")
        merged.update(_select_keys(data, keys, path, where) if keys else data)
    return merged


def _foreach(items: Any) -> dict[str, dict[str, Any]]:
    """Generated key -> the `item` (and `key`) of each `foreach` iteration."""
    if isinstance(items, Mapping):
        return {to_str(k): {"item": v, "key": to_str(k)} for k, v in items.items()}
    if isinstance(items, list):
        if any(_is_composite(v) for v in items):
            return {str(i): {"item": v} for i, v in enumerate(items)}
        return {to_str(v): {"item": v} for v in items}
    raise TypeError(type(items).__name__)


def _matrix(matrix: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Generated key -> the `item` and `key` of each `matrix` combination."""
    axes = list(matrix.items())
    for name, values in axes:
        if not isinstance(values, list):
            raise TypeError(f"{name}: {type(values).__name__}")
    contexts = {}
    for combo in itertools.product(*(list(enumerate(values)) for _, values in axes)):
        fragments = [
            f"{name}{i}" if _is_composite(v) else to_str(v)
            for (name, _), (i, v) in zip(axes, combo, strict=True)
        ]
        key = "-".join(fragments)
        contexts[key] = {
            "item": {name: v for (name, _), (_, v) in zip(axes, combo, strict=True)},
            "key": key,
        }
    return contexts


class Resolver:
    """The stages of one `dvc.yaml` (repo-relative path `dvcfile`)."""

    def __init__(self, data: Any, dvcfile: str, read: VarsReader | None) -> None:
        self.dvcfile = dvcfile
        self.folder = posixpath.dirname(dvcfile)
        self.read: VarsReader = read or (lambda path: None)
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise MetafileError(dvcfile, "not a mapping of DVC keys")
        stages = data.get("stages") or {}
        if not isinstance(stages, Mapping):
            raise MetafileError(dvcfile, "'stages' is not a mapping")
        self.stages = stages
        self.vars = data.get("vars") or []
        self._base: dict[str, Any] | None = None

    def base(self) -> dict[str, Any]:
        """`params.yaml` and the top-level `vars`, read on first use."""
        if self._base is None:
            self._base = _load_vars(self.read, self.vars, self.folder, self.dvcfile, default=True)
        return self._base

    def resolve(self) -> list[StageDef]:
        resolved = []
        for name, body in self.stages.items():
            name = str(name)
            if not isinstance(body, Mapping):
                raise MetafileError(self.dvcfile, f"stage '{name}' is not a mapping")
            for generated, template, local in self._generate(name, body):
                resolved.append(self._stage(generated, template, local))
        return resolved

    def _generate(
        self, name: str, body: Mapping[str, Any]
    ) -> list[tuple[str, Mapping[str, Any], dict[str, Any]]]:
        if "matrix" not in body and "foreach" not in body:
            return [(name, body, {})]
        context = _Context([], self.base)
        template: Any
        try:
            if "matrix" in body:
                matrix = context.resolve(body["matrix"])
                if not isinstance(matrix, Mapping):
                    raise TypeError(type(matrix).__name__)
                generated = _matrix(matrix)
                template = {k: v for k, v in body.items() if k != "matrix"}
            else:
                generated = _foreach(context.resolve(body["foreach"]))
                template = body.get("do")
                if not isinstance(template, Mapping):
                    raise MetafileError(self.dvcfile, f"stage '{name}': 'do' is not a mapping")
        except _Unresolved as exc:
            raise self._unresolved(name, exc) from None
        except TypeError as exc:
            raise MetafileError(
                self.dvcfile, f"stage '{name}': cannot iterate over a {exc}"
            ) from None
        return [(f"{name}@{key}", template, local) for key, local in generated.items()]

    def _unresolved(self, name: str, exc: _Unresolved) -> MetafileError:
        return MetafileError(self.dvcfile, f"stage '{name}': {exc}")

    def _stage(self, name: str, body: Mapping[str, Any], local: dict[str, Any]) -> StageDef:
        context = _Context([local], self.base)
        try:
            wdir_text = body.get("wdir")
            wdir = join(self.folder, to_str(context.resolve(wdir_text))) if wdir_text else None
            wdir = self.folder if wdir is None else wdir
            if body.get("vars"):
                own = _load_vars(self.read, body["vars"], wdir, self.dvcfile, default=False)
                context = _Context([local, own], self.base)
            cmd = context.resolve(body.get("cmd"), cmd=True)
            deps = [context.resolve(d) for d in _list(body, "deps", self.dvcfile, name)]
            outs = []
            for section in OUT_SECTIONS:
                for key, flags in _merge(_list(body, section, self.dvcfile, name)).items():
                    path = context.resolve(key)
                    outs.append((to_str(path), section, context.resolve(flags)))
            desc, frozen = context.resolve(body.get("desc")), body.get("frozen", False)
        except _Unresolved as exc:
            raise self._unresolved(name, exc) from None
        return StageDef(
            name=name,
            wdir=wdir,
            cmd=tuple(to_str(c) for c in cmd) if isinstance(cmd, list) else to_str(cmd or ""),
            deps=tuple(dep_path(wdir, to_str(d)) for d in deps),
            outs=tuple(
                Declared(key, self._out_path(wdir, key, name), section, _flags(flags))
                for key, section, flags in outs
            ),
            frozen=frozen is True,
            desc=None if desc is None else to_str(desc),
        )

    def _out_path(self, wdir: str, key: str, stage: str) -> str:
        path = join(wdir, key)
        if key.startswith("/") or "://" in key or not path or path.split("/", 1)[0] == "..":
            raise MetafileError(
                self.dvcfile, f"stage '{stage}': output '{key}' is outside the repository"
            )
        return path


def _list(body: Mapping[str, Any], section: str, dvcfile: str, stage: str) -> list[Any]:
    items = body.get(section) or []
    if not isinstance(items, list):
        raise MetafileError(dvcfile, f"stage '{stage}': '{section}' is not a list")
    return items


def _merge(items: list[Any]) -> dict[Any, dict[str, Any]]:
    """Output entries (`path` or `{path: flags}`) merged by path, in order, as DVC does."""
    merged: dict[Any, dict[str, Any]] = {}
    for item in items:
        if isinstance(item, Mapping):
            for key, flags in item.items():
                merged.setdefault(key, {}).update(flags if isinstance(flags, Mapping) else {})
        else:
            merged.setdefault(item, {})
    return merged


def _flags(flags: Mapping[str, Any]) -> dict[str, Any]:
    return {k: flags[k] for k in FLAG_KEYS if k in flags}


def dep_path(wdir: str, dep: str) -> str:
    """A dependency as a repo-relative path; URLs and absolute paths stay as written."""
    if "://" in dep or dep.startswith("/"):
        return dep
    return join(wdir, dep)


def resolve_stages(data: Any, dvcfile: str, read: VarsReader | None = None) -> list[StageDef]:
    """The stages of the loaded `dvc.yaml` at repo-relative `dvcfile`, in file order."""
    return Resolver(data, dvcfile, read).resolve()
