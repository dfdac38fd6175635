"""Read and write `.dvc` files and read `dvc.yaml`/`dvc.lock`, matching DVC's YAML.

Reading uses libyaml (fast: thousands of metafiles load in well under a second) with the
YAML 1.2 core schema that DVC's ruamel.yaml uses, so `yes` stays a string. Writing uses
ruamel.yaml's round-trip mode with DVC's settings, so new files are byte-identical to
DVC's and updates keep key order, comments and keys freight does not interpret (spec §2.2,
§2.3). Every write goes to a temporary file that is then renamed over the target.
"""

from __future__ import annotations

import io
import posixpath
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import MetafileError
from .fsutil import atomic_write
from .model import FileMeta, Output, Version
from .stages import stage_flags
from .tree import Tree, TreeEntry, check_relpath, digest, parse

HASH_KEYS = ("md5", "size", "nfiles", "isexec", "hash")


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """libyaml loader that resolves plain scalars by the YAML 1.2 core schema."""


_Loader.yaml_implicit_resolvers = {}  # drop YAML 1.1's rules (yes/no booleans, octals, ...)

for _tag, _regexp, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
):
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_regexp), list(_first))
_Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _rt_yaml() -> Any:
    # Imported here, not at the top: ruamel.yaml costs ~0.1 s to import and only writes
    # need it, while read-only commands such as `status` must start fast.
    from ruamel.yaml import YAML

    rt = YAML()
    rt.default_flow_style = False
    return rt


def load_yaml(source: Path | bytes, where: str) -> Any:
    """Parse a YAML file (or its bytes, e.g. read from Git); errors name the file and line."""
    try:
        if isinstance(source, bytes):
            return yaml.load(source, Loader=_Loader)
        with open(source, "rb") as stream:
            return yaml.load(stream, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise MetafileError(where, f"malformed YAML: {line}{exc.problem}") from None
    except yaml.YAMLError as exc:
        raise MetafileError(where, f"malformed YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise MetafileError(where, f"not UTF-8: {exc.reason}") from None


def _join(base: str, *parts: str) -> str:
    joined = posixpath.normpath(posixpath.join(base, *parts))
    return "" if joined == "." else joined


def _resolve_out_path(metafile: str, wdir: str, path: str) -> str:
    """Repo-relative posix path of an output, refusing paths that leave the repo."""
    rel = _join(posixpath.dirname(metafile), wdir, path)
    if path.startswith("/") or rel == ".." or rel.startswith("../") or not rel:
        raise MetafileError(metafile, f"output path {path!r} is outside the repository")
    return rel


def _is_int(value: Any) -> bool:
    """An integer, not a bool (ruamel's round-trip loader gives int subclasses)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _version(entry: Mapping[str, Any], metafile: str) -> Version | None:
    """The `cloud: {remote: {etag, version_id}}` of an entry (at most one remote)."""
    cloud = entry.get("cloud")
    if cloud is None:
        return None
    if not isinstance(cloud, Mapping) or not all(isinstance(v, Mapping) for v in cloud.values()):
        raise MetafileError(metafile, f"'cloud' of {entry.get('path')!r} is not a mapping")
    for remote, info in cloud.items():
        vid, etag = info.get("version_id"), info.get("etag")
        return Version(str(remote), None if vid is None else str(vid), etag and str(etag))
    return None


def _files(entry: Mapping[str, Any], metafile: str) -> tuple[tuple[FileMeta, ...], str] | None:
    """The `files:` list of a directory entry, in `.dir` order and validated like a `.dir`
    manifest, with the oid of the `.dir` it stands for."""
    items = entry.get("files")
    if items is None:
        return None
    if not isinstance(items, list):
        raise MetafileError(metafile, f"'files' of {entry.get('path')!r} is not a list")
    files = []
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("md5"), str):
            raise MetafileError(metafile, f"file entry without an md5: {item!r}")
        size = item.get("size")
        if size is not None and not _is_int(size):
            raise MetafileError(metafile, f"size of {item.get('relpath')!r} is not an integer")
        files.append(
            FileMeta(
                relpath=check_relpath(item.get("relpath"), metafile),
                md5=item["md5"],
                size=size,
                isexec=bool(item.get("isexec", False)),
                version=_version(item, metafile),
            )
        )
    files.sort(key=lambda f: f.relpath)  # the order of `Tree.build`
    data = Tree.build(TreeEntry(f.relpath, f.md5) for f in files).serialize()
    parse(data, metafile)  # duplicates and file/directory clashes
    return tuple(files), digest(data)


def _output(entry: Any, metafile: str, wdir: str, **flags: Any) -> Output:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
        raise MetafileError(metafile, f"output entry without a path: {entry!r}")
    oid = entry.get("md5")
    if oid is not None and not isinstance(oid, str):
        raise MetafileError(metafile, f"md5 of {entry['path']!r} is not a string")
    for key in ("size", "nfiles"):
        if entry.get(key) is not None and not _is_int(entry[key]):
            raise MetafileError(metafile, f"{key} of {entry['path']!r} is not an integer")
    listed = _files(entry, metafile)
    files = None
    size, nfiles = entry.get("size"), entry.get("nfiles")
    if listed is not None:  # the directory's hash is that of the `.dir` the list stands for
        files, oid = listed
        nfiles = len(files)
        sizes = [f.size for f in files]
        size = None if None in sizes else sum(s or 0 for s in sizes)
    return Output(
        path=_resolve_out_path(metafile, wdir, entry["path"]),
        metafile=metafile,
        oid=oid,
        size=size,
        nfiles=nfiles,
        version=_version(entry, metafile),
        files=files,
        isexec=bool(entry.get("isexec", False)),
        legacy=entry.get("hash") != "md5",
        cache=flags.get("cache", entry.get("cache", True)) is not False,
        push=flags.get("push", entry.get("push", True)) is not False,
        remote=flags.get("remote", entry.get("remote")),
        stage=flags.get("stage"),
        deps=flags.get("deps", ()),
    )


def read_dvcfile(root: Path, metafile: str) -> list[Output]:
    """The outputs declared by the `.dvc` file at repo-relative `metafile`."""
    return parse_dvcfile(load_yaml(root / metafile, metafile), metafile)


def parse_dvcfile(data: Any, metafile: str) -> list[Output]:
    """The outputs of a loaded `.dvc` file."""
    if not isinstance(data, Mapping):
        raise MetafileError(metafile, "not a mapping of DVC keys")
    wdir = data.get("wdir") or "."
    outs = data.get("outs") or []
    if not isinstance(outs, list) or not isinstance(wdir, str):
        raise MetafileError(metafile, "'outs' must be a list and 'wdir' a string")
    return [_output(entry, metafile, wdir) for entry in outs]


def read_lock(root: Path, lockfile: str) -> list[Output]:
    """The outputs recorded in a `dvc.lock`, with flags and wdir from its `dvc.yaml`."""
    return parse_lock(load_yaml(root / lockfile, lockfile), lockfile, _definition(root, lockfile))


def _definition(root: Path, lockfile: str) -> Any:
    """The loaded `dvc.yaml` next to a `dvc.lock` (None if there is none)."""
    yaml_path = root / posixpath.join(posixpath.dirname(lockfile), "dvc.yaml")
    return load_yaml(yaml_path, yaml_path.name) if yaml_path.exists() else None


def parse_lock(data: Any, lockfile: str, definition: Any) -> list[Output]:
    """The outputs of a loaded `dvc.lock`, given its loaded `dvc.yaml` (or None).

    Each output carries its stage's dependencies (repo-relative paths), which
    `--with-deps` follows upstream.
    """
    if data is None:
        return []
    stages = data.get("stages") if isinstance(data, Mapping) else None
    if not isinstance(stages, Mapping):
        raise MetafileError(lockfile, "no 'stages' mapping")
    outputs = []
    for name, stage in stages.items():
        if not isinstance(stage, Mapping) or not isinstance(stage.get("outs") or [], list):
            raise MetafileError(lockfile, f"stage {name!r} is not a mapping with a list of outs")
        wdir, flags = stage_flags(definition, str(name))
        base = _join(posixpath.dirname(lockfile), wdir)
        deps = tuple(
            _join(base, dep["path"])
            for dep in stage.get("deps") or []
            if isinstance(dep, Mapping) and isinstance(dep.get("path"), str)
        )
        for entry in stage.get("outs") or []:
            key = entry.get("path") if isinstance(entry, Mapping) else None
            extra = flags.get(key, {}) if isinstance(key, str) else {}
            outputs.append(_output(entry, lockfile, wdir, stage=str(name), deps=deps, **extra))
    return outputs


def entry_for(out: Output, relpath: str) -> dict[str, Any]:
    """The canonical `.dvc` outs entry DVC writes for a fresh output (spec §2.2), or for a
    directory kept in `files:` form (§2.5)."""
    if out.files is not None:
        return {"hash": "md5", "path": relpath, "files": [_file_entry(f) for f in out.files]}
    entry: dict[str, Any] = {"md5": out.oid, "size": out.size}
    if out.is_dir:
        entry["nfiles"] = out.nfiles
    elif out.isexec:
        entry["isexec"] = True
    if not out.legacy:
        entry["hash"] = "md5"
    entry["path"] = relpath
    return entry


def dump(data: Any) -> bytes:
    stream = io.StringIO()
    _rt_yaml().dump(data, stream)
    return stream.getvalue().encode("utf-8")


def write_dvcfile(path: Path, entry: dict[str, Any]) -> None:
    """Create or update the `.dvc` file at `path` with one output entry.

    An existing entry with the same `path` is updated in place: hash keys change where they
    are, new ones are appended, stale ones dropped, and everything else is kept. An entry
    whose data did not change is left alone, so the version ids a version-aware push
    recorded (`cloud:`, `files:`) survive re-adding unchanged data.
    """
    if not path.exists():
        atomic_write(path, dump({"outs": [entry]}))
        return
    rt = _rt_yaml()
    try:
        data = rt.load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # ruamel raises many unrelated types
        raise MetafileError(path.name, f"malformed YAML: {exc}".splitlines()[0]) from None
    outs = data.setdefault("outs", [])
    old = next((o for o in outs if o.get("path") == entry["path"]), None)
    if old is None:
        outs.append(entry)
    else:
        recorded, new = _output(old, path.name, "."), _output(entry, path.name, ".")
        if (recorded.oid, recorded.legacy, recorded.isexec) == (new.oid, new.legacy, new.isexec):
            return
        for key in (*HASH_KEYS, "files", "cloud"):
            if key in old and key not in entry:
                del old[key]
        for key, value in entry.items():
            if old.get(key) != value:
                old[key] = value
    stream = io.StringIO()
    rt.dump(data, stream)
    atomic_write(path, stream.getvalue().encode("utf-8"))


def _cloud(version: Version) -> dict[str, dict[str, str]]:
    info = {"etag": version.etag, "version_id": version.version_id}
    return {version.remote: {k: v for k, v in info.items() if v is not None}}


def _file_entry(file: FileMeta) -> dict[str, Any]:
    entry: dict[str, Any] = {"relpath": file.relpath, "md5": file.md5}
    if file.size is not None:
        entry["size"] = file.size
    if file.isexec:
        entry["isexec"] = True
    if file.version is not None:
        entry["cloud"] = _cloud(file.version)
    return entry


def _set_versions(entry: Any, out: Output) -> None:
    """Rewrite one outs entry as DVC does after a version-aware push (spec §2.5)."""
    if out.files is None:
        if entry.get("md5") != out.oid:  # `update` found new bytes at the path
            entry["md5"], entry["size"] = out.oid, out.size
        if out.version is not None:
            entry["cloud"] = _cloud(out.version)
        return
    for key in ("md5", "size", "nfiles"):
        entry.pop(key, None)
    entry["files"] = [_file_entry(f) for f in out.files]


def record_versions(root: Path, metafile: str, outputs: Sequence[Output]) -> None:
    """Record the versions of `outputs` in their `.dvc` or `dvc.lock` file, atomically.

    Only the entries of `outputs` change; key order, comments and keys freight does not
    interpret are kept.
    """
    path = root / metafile
    rt = _rt_yaml()
    try:
        data = rt.load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # ruamel raises many unrelated types
        raise MetafileError(metafile, f"malformed YAML: {exc}".splitlines()[0]) from None
    by_path = {o.path: o for o in outputs}
    if posixpath.basename(metafile) == "dvc.lock":
        definition = _definition(root, metafile)
        groups = [
            (stage_flags(definition, str(name))[0], stage.get("outs") or [])
            for name, stage in (data.get("stages") or {}).items()
        ]
    else:
        groups = [(data.get("wdir") or ".", data.get("outs") or [])]
    for wdir, entries in groups:
        for entry in entries:
            out = by_path.get(_resolve_out_path(metafile, wdir, entry["path"]))
            if out is not None:
                _set_versions(entry, out)
    stream = io.StringIO()
    rt.dump(data, stream)
    atomic_write(path, stream.getvalue().encode("utf-8"))


def metafile_for(target: str) -> str:
    """The `.dvc` file DVC creates for a repo-relative target path."""
    return target + ".dvc"


__all__ = ["dump", "entry_for", "load_yaml", "read_dvcfile", "read_lock", "write_dvcfile"]
