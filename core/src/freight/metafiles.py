"""Read and write `.dvc` files and read `dvc.yaml`/`dvc.lock`, matching DVC's YAML.

Reading uses libyaml (fast: thousands of metafiles load in well under a second) with the
YAML 1.2 core schema that DVC's ruamel.yaml uses, so `yes` stays a string. Writing uses
ruamel.yaml's round-trip mode with DVC's settings, so new files are byte-identical to
DVC's and updates keep key order, comments and keys freight does not interpret (spec §2.2,
§2.3). Every write goes to a temporary file that is then renamed over the target.
"""

from __future__ import annotations

import io
import json
import posixpath
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import blockyaml
from .errors import MetafileError
from .fsutil import atomic_write
from .model import FileMeta, Output, Stage, Version
from .stages import VarsReader, dep_path, join, resolve_stages
from .tree import Tree, TreeEntry, check_relpath, digest, parse

HASH_KEYS = ("md5", "size", "nfiles", "isexec", "hash")


def _rt_yaml() -> Any:
    # Imported here, not at the top: ruamel.yaml costs ~0.1 s to import and only writes
    # need it, while read-only commands such as `status` must start fast.
    from ruamel.yaml import YAML

    rt = YAML()
    rt.default_flow_style = False
    return rt


def load_yaml(source: Path | bytes, where: str) -> Any:
    """Parse a YAML file (or its bytes, e.g. read from Git); errors name the file and line.

    The block YAML DVC writes goes through `blockyaml` (several times faster than
    libyaml); anything else through libyaml.
    """
    try:
        if isinstance(source, bytes):
            data = source
        else:
            with open(source, "rb") as stream:
                data = stream.read()
        try:
            return blockyaml.parse(data.decode("utf-8"))
        except (blockyaml.Unsupported, UnicodeDecodeError):
            from . import libyaml  # PyYAML loads only for the YAML blockyaml leaves

            return libyaml.load(data, where)
    except UnicodeDecodeError as exc:
        raise MetafileError(where, f"not UTF-8: {exc.reason}") from None


def load_vars(source: Path | bytes, path: str, where: str | None = None) -> Any:
    """A variables (params) file for `dvc.yaml` interpolation: YAML, JSON or TOML by the
    suffix of `path`; errors name `where` (default: `path`)."""
    where = where or path
    suffix = posixpath.splitext(path)[1].lower()
    if suffix not in (".json", ".toml", ".py"):
        return load_yaml(source, where)
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        if suffix == ".json":
            return json.loads(data)
        if suffix == ".toml" and sys.version_info >= (3, 11):
            import tomllib

            return tomllib.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:  # JSON, TOML and UTF-8 errors
        raise MetafileError(where, f"malformed {suffix[1:].upper()}: {exc}") from None
    raise MetafileError(where, f"freight cannot read {suffix} variables files here")


def vars_reader(root: Path) -> VarsReader:
    """Reads variables files below `root` (None for a missing one), each once."""
    seen: dict[str, Any] = {}

    def read(path: str) -> Any:
        if path not in seen:
            full = root / path
            if full.is_dir():
                raise MetafileError(path, "is a directory, not a variables file")
            seen[path] = load_vars(full, path) if full.is_file() else None
        return seen[path]

    return read


def resolve_out_path(metafile: str, wdir: str, path: str) -> str:
    """Repo-relative posix path of an output, refusing paths that leave the repo."""
    rel = join(posixpath.dirname(metafile), wdir, path)
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


def annotation_fields(flags: Mapping[str, Any]) -> dict[str, Any]:
    """The `desc`, `type`, `labels` and `meta` of an output entry or `dvc.yaml` flags, as
    `Output` keeps them (`meta` as JSON text)."""
    found: dict[str, Any] = {}
    for key in ("desc", "type"):
        if flags.get(key) is not None:
            found[key] = str(flags[key])
    labels = flags.get("labels")
    if labels:
        found["labels"] = tuple(str(x) for x in (labels if isinstance(labels, list) else [labels]))
    if flags.get("meta") is not None:
        found["meta"] = json.dumps(flags["meta"], default=str)
    return found


def output(entry: Any, metafile: str, path: str, flags: Mapping[str, Any], **extra: Any) -> Output:
    """The output recorded by a `.dvc` outs entry or a `dvc.lock` outs entry, at
    repo-relative `path`; `flags` hold its `cache`, `push`, `remote` and annotations."""
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
    remote = flags.get("remote")
    return Output(
        path=path,
        metafile=metafile,
        oid=oid,
        size=size,
        nfiles=nfiles,
        version=_version(entry, metafile),
        files=files,
        isexec=bool(entry.get("isexec", False)),
        legacy=entry.get("hash") != "md5",
        cache=flags.get("cache", True) is not False,
        push=flags.get("push", True) is not False,
        remote=None if remote is None else str(remote),
        **annotation_fields(flags),
        **extra,
    )


def read_dvcfile(root: Path, metafile: str) -> list[Output]:
    """The outputs declared by the `.dvc` file at repo-relative `metafile`."""
    return parse_dvcfile(load_yaml(root / metafile, metafile), metafile)


def parse_dvcfile(data: Any, metafile: str) -> list[Output]:
    """The outputs of a loaded `.dvc` file."""
    return load_dvcfile(data, metafile)[0]


def load_dvcfile(data: Any, metafile: str) -> tuple[list[Output], Stage | None]:
    """The outputs of a loaded `.dvc` file, and its stage if it is a DVC 0.x stage file
    (top-level `cmd`; its `deps` then link the outputs to what they were made from).

    DVC 3 refuses such files; freight reads them, as DVC 0.x wrote them: outputs with
    `cache`, `metric` and `persist` keys and md5-dos2unix hashes, paths under `wdir`.
    """
    if not isinstance(data, Mapping):
        raise MetafileError(metafile, "not a mapping of DVC keys")
    wdir = data.get("wdir") or "."
    outs = data.get("outs") or []
    if not isinstance(outs, list) or not isinstance(wdir, str):
        raise MetafileError(metafile, "'outs' must be a list and 'wdir' a string")
    cmd = data.get("cmd")
    if cmd is None:
        return [_dvcfile_output(entry, metafile, wdir) for entry in outs], None
    deps = data.get("deps") or []
    if not isinstance(deps, list):
        raise MetafileError(metafile, "'deps' must be a list")
    base = join(posixpath.dirname(metafile), wdir)
    paths = tuple(
        dep_path(base, str(d["path"])) for d in deps if isinstance(d, Mapping) and "path" in d
    )
    found = [_dvcfile_output(entry, metafile, wdir, deps=paths) for entry in outs]
    stage = Stage(
        name=metafile,
        dvcfile=metafile,
        wdir=base or ".",
        cmd=tuple(str(c) for c in cmd) if isinstance(cmd, list) else str(cmd),
        deps=paths,
        outs=tuple(o.path for o in found),
        frozen=data.get("frozen") is True or data.get("locked") is True,
        desc=None if data.get("desc") is None else str(data["desc"]),
        recorded=True,
    )
    return found, stage


def _dvcfile_output(entry: Any, metafile: str, wdir: str, **extra: Any) -> Output:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
        raise MetafileError(metafile, f"output entry without a path: {entry!r}")
    path = resolve_out_path(metafile, wdir, entry["path"])
    return output(entry, metafile, path, entry, **extra)


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
        recorded = output(old, path.name, entry["path"], {})
        new = output(entry, path.name, entry["path"], {})
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
    located: list[tuple[str | None, Any]]
    if posixpath.basename(metafile) == "dvc.lock":  # entries of the stages dvc.yaml defines
        dvcfile = join(posixpath.dirname(metafile), "dvc.yaml")
        definition = load_yaml(root / dvcfile, dvcfile) if (root / dvcfile).is_file() else None
        paths = {
            (stage.name, out.key): out.path
            for stage in resolve_stages(definition, dvcfile, vars_reader(root))
            for out in stage.outs
        }
        stages = (data.get("stages") if "schema" in data else data) or {}
        located = [
            (paths.get((str(name), entry.get("path"))), entry)
            for name, stage in stages.items()
            for entry in stage.get("outs") or []
        ]
    else:
        wdir = data.get("wdir") or "."
        located = [
            (resolve_out_path(metafile, wdir, entry["path"]), entry)
            for entry in data.get("outs") or []
        ]
    for rel, entry in located:
        out = by_path.get(rel) if rel is not None else None
        if out is not None:
            _set_versions(entry, out)
    stream = io.StringIO()
    rt.dump(data, stream)
    atomic_write(path, stream.getvalue().encode("utf-8"))


def metafile_for(target: str) -> str:
    """The `.dvc` file DVC creates for a repo-relative target path."""
    return target + ".dvc"


__all__ = ["dump", "entry_for", "load_yaml", "read_dvcfile", "write_dvcfile"]
