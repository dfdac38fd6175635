"""DVC's configuration: four configobj files and an in-memory overlay, merged and validated.

Levels, lowest precedence first: system, global, repo (`.dvc/config`), local
(`.dvc/config.local`), then the overlay given to `Repo(path, config=...)` (spec §7). Merging
is per option: a later level overrides single options of a section defined earlier. Section
and option names are lower-cased on load, as DVC does. Path-valued options are resolved
relative to the directory of the file that sets them; the overlay's, relative to the
repository root (an overlay has no file, and the root is what a caller's paths are about).

Every level is validated against DVC 3.67.1's schema (`freight.config_schema`), so any config
DVC loads also loads here, including remotes freight cannot transfer to (refused only when
used). Errors name the file that set the bad option, or `(config overlay)`.

Writes re-serialise one level file whole (DVC drops comments the same way), are validated
first (an invalid config is never written) and go through a temporary file and a rename.
The overlay is never written, nor taken into account when a write is validated: a level
file must be valid without it, since the next process may not have it. Secret values are
never shown: listings and the reprs of `Config`/`RemoteConfig` print `***` for them.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from . import config_schema as schema
from .config_schema import Kind
from .errors import ConfigError, RemoteNotFoundError, redact_url
from .fsutil import atomic_write

if TYPE_CHECKING:  # configobj is imported where a file is read or written
    from configobj import ConfigObj

log = logging.getLogger(__name__)

LEVELS = ("system", "global", "repo", "local")
#: how errors name the in-memory overlay (where they would name a file)
OVERLAY = "config overlay"
_NAMED = re.compile(r'^\s*(remote|machine|db)\s*"(.*)"\s*$')
_URL = re.compile(r"^\w+://")
LINK_TYPES = schema.LINK_TYPES
SECRETS = schema.SECRETS
#: every path-valued option name (the CLI stores these relative to the config file)
PATH_OPTIONS = frozenset().union(*schema.PATH_OPTIONS.values())

Sections = dict[str, dict[str, Any]]


def config_path(level: str, dvc_dir: Path | None) -> Path:
    """The file of one level, honouring DVC's environment overrides."""
    if level == "system":
        base = os.environ.get("DVC_SYSTEM_CONFIG_DIR")
        if not base:
            dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
            base = os.path.join(dirs.split(os.pathsep)[0], "dvc")
        return Path(base) / "config"
    if level == "global":
        base = os.environ.get("DVC_GLOBAL_CONFIG_DIR")
        if not base:
            home = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
            base = os.path.join(home, "dvc")
        return Path(base) / "config"
    if dvc_dir is None:
        raise ConfigError(f"the '{level}' config level needs a repository")
    return dvc_dir / ("config" if level == "repo" else "config.local")


def read_level(level: str, dvc_dir: Path | None) -> Sections:
    """One level's file as `{section: {option: value}}` (names lower-cased, raw values)."""
    path = config_path(level, dvc_dir)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        text = None
    if text is None:
        raise ConfigError(f"config file error: not UTF-8 text ({path})")
    parsed, problem = _parse(text)
    if parsed is None:
        problem = " ".join(str(problem).split())  # configobj's may span lines
        raise ConfigError(f"config file error: {problem} ({path})")
    data: Sections = {}
    for section, values in parsed.items():
        if not isinstance(values, Mapping):
            raise ConfigError(f"config file error: option '{section}' outside a section ({path})")
        name = _section_key(section)
        data.setdefault(name, {}).update({k.lower(): v for k, v in values.items()})
    return data


def _parse(text: str) -> tuple[ConfigObj | None, str]:
    """configobj's reading of `text`, or its problem without the offending line's text
    (configobj quotes the line, which may hold a secret). The error is raised by the
    caller, outside this handler, so that no exception carrying the line is chained."""
    from configobj import ConfigObj, ConfigObjError

    try:
        return ConfigObj(io.StringIO(text), interpolation=False, list_values=True), ""
    except ConfigObjError as exc:
        line = getattr(exc, "line_number", None)
        if str(exc).startswith("Invalid line"):
            return None, f"invalid line (neither a section nor `option = value`) at line {line}"
        return None, str(exc).rstrip(".")


def overlay_sections(overlay: Mapping[str, Any]) -> Sections:
    """An overlay in DVC's dict shape as sections keyed like the files' (`remote "name"`).

    Accepts `{"remote": {"name": {...}}}` (DVC's shape) and `{'remote "name"': {...}}`
    (the files'); names are lower-cased and path-like values become strings. Values are
    left as they are (bools and ints are allowed): `validate` types them.
    """
    if not isinstance(overlay, Mapping):
        raise ConfigError(f"config file error: expected a dictionary ({OVERLAY})")
    out: Sections = {}
    for name, values in overlay.items():
        section = _section_key(_name(name, "data"))
        if section in schema.NAMED_SECTIONS:
            for entry, options in _mapping(values, f"data['{section}']").items():
                label = f"data['{section}']['{_name(entry, f'data[{section!r}]')}']"
                key = f'{section} "{str(entry).lower()}"'
                out.setdefault(key, {}).update(_overlay_options(options, label))
        else:
            out.setdefault(section, {}).update(_overlay_options(values, _label(section)))
    return out


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(
            f"config file error: expected str for dictionary key @ {where} ({OVERLAY})"
        )
    return value


def _mapping(value: Any, label: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"config file error: expected a dictionary for dictionary value @ {label} ({OVERLAY})"
        )
    return value


def _overlay_options(values: Any, label: str) -> dict[str, Any]:
    options = _mapping(values, label)
    return {
        _name(k, label).lower(): os.fspath(v) if isinstance(v, os.PathLike) else v
        for k, v in options.items()
    }


def _section_key(section: str) -> str:
    match = _NAMED.match(section)
    if match:
        return f'{match.group(1).lower()} "{match.group(2).lower()}"'
    return section.strip().lower()


def _remote_name(section: str) -> str | None:
    match = _NAMED.match(section)
    return match.group(2) if match and match.group(1) == "remote" else None


def _label(section: str) -> str:
    """How DVC's errors name a section: `data['core']`, `data['remote']['name']`."""
    match = _NAMED.match(section)
    if match:
        return f"data['{match.group(1)}']['{match.group(2)}']"
    return f"data['{section}']"


def _url_scheme(url: str, label: str, where: str) -> str:
    """The schema a remote URL selects, as DVC picks it: no host means a local path."""
    parts = _split(url)
    if parts is None:  # raised outside the handler: urlsplit's error may quote the host
        raise schema.fail("invalid URL", f"{label}['url'] ({where})")
    scheme = parts.scheme.lower() if parts.netloc else ""
    scheme = schema.SCHEME_ALIASES.get(scheme, scheme)
    if scheme not in schema.REMOTE_SCHEMAS:
        raise ConfigError(
            f"config file error: Unsupported URL type {scheme}:// "
            f"for dictionary value @ {label} ({where})"
        )
    return scheme


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:
        return None


def _options_schema(
    section: str, values: Mapping[str, Any], where: str, complete: bool
) -> Mapping[str, Kind] | None:
    """The options `section` allows (None: any), or ConfigError for a section DVC refuses."""
    label = _label(section)
    match = _NAMED.match(section)
    if match is None:
        known = schema.SECTIONS.get(section)
        if known is None:
            raise ConfigError(f"config file error: extra keys not allowed @ {label} ({where})")
        return known
    if match.group(1) == "machine":
        return schema.MACHINE
    if match.group(1) == "db":
        return schema.DB
    if "url" not in values:
        if complete:
            raise ConfigError(
                f"config file error: expected 'url' for dictionary value @ {label} ({where})"
            )
        return None  # a level written alone: its options are checked with the merged config
    url = schema.coerce(values["url"], schema.STR, f"{label}['url'] ({where})")
    return schema.REMOTE_SCHEMAS[_url_scheme(url, label, where)]


def validate(
    data: Mapping[str, Mapping[str, Any]],
    origin: str,
    *,
    complete: bool = True,
    origins: Mapping[tuple[str, str], str] | None = None,
    section_origins: Mapping[str, str] | None = None,
) -> Sections:
    """Typed copy of config data; raises ConfigError naming the origin and the bad key.

    `origins` names the file (or the overlay) that set each (section, option) of merged
    data and `section_origins` the last one that set something in each section; `origin`
    is the fallback. `complete` data must give every remote a URL (a level about to be
    written alone may override options of a remote defined at another level).
    """
    typed: Sections = {}
    for section, values in data.items():
        if not values and _NAMED.match(section) is None and section in schema.NAMED_SECTIONS:
            continue  # DVC reads an empty `[remote]` as no remotes
        where = (section_origins or {}).get(section, origin)
        options = _options_schema(section, values, where, complete)
        out = typed.setdefault(section, {})
        for key, value in values.items():
            at = f"{_label(section)}['{key}'] ({(origins or {}).get((section, key), origin)})"
            if options is not None and key not in options:
                if section in schema.LENIENT_SECTIONS:
                    log.warning("'%s.%s' config option is unsupported", section, key)
                    continue
                raise ConfigError(f"config file error: extra keys not allowed @ {at}")
            out[key] = schema.coerce(value, options[key] if options is not None else schema.ANY, at)
        _check_section(section, out, where)
    return typed


def _check_section(section: str, values: Mapping[str, Any], where: str) -> None:
    """Rules across options of one section."""
    group = schema.EXCLUSIVE.get(section, ())
    if sum(1 for key in group if key in values) > 1:
        raise ConfigError(
            "config file error: two or more values in the same group of exclusion "
            f"'config_source' @ {_label(section)} ({where})"
        )
    if values.get("worktree") is True and values.get("version_aware") is False:
        raise ConfigError(
            f"config file error: worktree remotes require version_aware cloud ({where})"
        )


def redacted(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` safe to show: secrets as `***`, passwords dropped from URLs."""
    return {
        k: "***" if k.lower() in SECRETS else redact_url(v) if isinstance(v, str) else v
        for k, v in values.items()
    }


class Hidden(dict[str, Any]):
    """The options of one section: a dict whose repr (what logs, debuggers and tracebacks
    with locals print) shows `redacted` values; the values themselves are intact."""

    def __repr__(self) -> str:
        return repr(redacted(self))

    __str__ = __repr__


@dataclass(frozen=True)
class RemoteConfig:
    """A remote: its name, resolved URL and typed options (everything but the URL).

    Its repr never shows a secret (options from an overlay or a file alike).
    """

    name: str
    url: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"RemoteConfig(name={self.name!r}, url={redact_url(self.url)!r}, "
            f"options={redacted(self.options)!r})"
        )

    @property
    def is_local(self) -> bool:
        return not _URL.match(self.url) or self.url.startswith("file://")

    @property
    def jobs(self) -> int | None:
        value = self.options.get("jobs")
        return int(value) if value is not None else None

    @property
    def version_aware(self) -> bool:
        return bool(self.options.get("version_aware") or self.options.get("worktree"))

    @property
    def worktree(self) -> bool:
        return bool(self.options.get("worktree"))


@dataclass(frozen=True)
class Config:
    """The merged configuration of a repository (files and overlay).

    Its repr never shows a secret.
    """

    raw: Mapping[str, Mapping[str, Any]]
    root: Path | None = None
    remotes: Mapping[str, RemoteConfig] = field(default_factory=dict)

    def __repr__(self) -> str:
        raw = {section: redacted(values) for section, values in self.raw.items()}
        return f"Config(root={self.root!r}, raw={raw!r}, remotes={list(self.remotes)!r})"

    @property
    def core_remote(self) -> str | None:
        value = self.raw.get("core", {}).get("remote")
        return str(value).lower() if value else None

    @property
    def no_scm(self) -> bool:
        return bool(self.raw.get("core", {}).get("no_scm", False))

    @property
    def autostage(self) -> bool:
        return bool(self.raw.get("core", {}).get("autostage", False))

    @property
    def checksum_jobs(self) -> int | None:
        value = self.raw.get("core", {}).get("checksum_jobs")
        return int(value) if value is not None else None

    @property
    def cache_dir(self) -> Path | None:
        value = self.raw.get("cache", {}).get("dir")
        return Path(value) if value else None

    @property
    def cache_shared(self) -> str | None:
        value = self.raw.get("cache", {}).get("shared")
        return str(value) if value else None

    @property
    def cache_type(self) -> tuple[str, ...]:
        value = self.raw.get("cache", {}).get("type")
        if not value:
            return ("reflink", "copy")
        return schema.link_types(str(value), "data['cache']['type']")

    def remote(self, name: str | None = None) -> RemoteConfig:
        """The named remote, or the default one; raises RemoteNotFoundError like DVC."""
        chosen = name.lower() if name else self.core_remote
        if chosen is None:
            where = self.root or "this repository"
            if self.remotes:
                raise RemoteNotFoundError(
                    f"config file error: no remote specified in {where}. Setup default remote "
                    "with\n    freight remote default <remote name>\nor use:\n"
                    "    freight <command> -r <remote name>"
                )
            raise RemoteNotFoundError(
                f"config file error: no remote specified in {where}. Create a default remote "
                "with\n    freight remote add -d <remote name> <remote url>"
            )
        if chosen not in self.remotes:
            raise RemoteNotFoundError(f"config file error: remote '{chosen}' doesn't exist.")
        return self.remotes[chosen]


def _resolve(section: str, key: str, value: Any, base: Path) -> Any:
    paths = schema.PATH_OPTIONS.get(section.split(" ", 1)[0], frozenset())
    if key not in paths or not isinstance(value, str) or _URL.match(value):
        return value
    path = os.path.expanduser(value)
    return os.path.normpath(os.path.join(base, path))


def _layers(
    dvc_dir: Path | None,
    upto: str,
    replace: Mapping[str, Mapping[str, Mapping[str, Any]]] | None,
    overlay: Mapping[str, Any] | None,
) -> list[tuple[str, Path, Mapping[str, Mapping[str, Any]]]]:
    """(origin, base for relative paths, sections) of each level, lowest first."""
    layers: list[tuple[str, Path, Mapping[str, Mapping[str, Any]]]] = []
    for level in LEVELS[: LEVELS.index(upto) + 1]:
        if dvc_dir is None and level in ("repo", "local"):
            break
        path = config_path(level, dvc_dir)
        data = (replace or {}).get(level)
        layers.append(
            (
                str(path),
                path.parent.absolute(),
                read_level(level, dvc_dir) if data is None else data,
            )
        )
    if overlay is not None:
        root = dvc_dir.parent.absolute() if dvc_dir is not None else Path.cwd()
        layers.append((OVERLAY, root, overlay_sections(overlay)))
    return layers


def load_config(
    dvc_dir: Path | None,
    *,
    upto: str = "local",
    replace: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    overlay: Mapping[str, Any] | None = None,
) -> Config:
    """Merge and validate the levels up to `upto`, then `overlay` above them all.

    Paths resolve per defining file (the overlay's against the repository root).
    `replace` substitutes the data of some levels (to check a write before making it).
    `overlay` is DVC's `config=` dict (see `overlay_sections`); it is never written.
    """
    merged: Sections = {}
    origins: dict[tuple[str, str], str] = {}
    section_origins: dict[str, str] = {}
    for origin, base, data in _layers(dvc_dir, upto, replace, overlay):
        for section, values in data.items():
            if values:
                section_origins[section] = origin
            for key, value in values.items():
                merged.setdefault(section, {})[key] = _resolve(section, key, value, base)
                origins[(section, key)] = origin
    fallback = str(dvc_dir / "config") if dvc_dir else "config"
    typed = validate(merged, fallback, origins=origins, section_origins=section_origins)
    remotes = {}
    for section, values in typed.items():
        name = _remote_name(section)
        if name is not None:
            options = Hidden((k, v) for k, v in values.items() if k != "url")
            remotes[name] = RemoteConfig(name, str(values["url"]), options)
    raw = {section: Hidden(values) for section, values in typed.items()}
    return Config(raw, dvc_dir.parent if dvc_dir else None, remotes)


def _ordered(sections: list[str]) -> list[str]:
    """DVC's section order: `core`, other plain sections, then named ones (remotes, ...)."""
    named = [s for s in sections if _NAMED.match(s)]
    plain = [s for s in sections if s not in named and s != "core"]
    return (["core"] if "core" in sections else []) + plain + named


def serialize(data: Mapping[str, Mapping[str, Any]]) -> bytes:
    """Bytes of a level file as DVC (configobj) writes them; empty config -> empty file."""
    from configobj import ConfigObj

    conf = ConfigObj(interpolation=False, indent_type="    ")
    for section in _ordered(list(data)):
        values = data[section]
        if not values:
            continue
        match = _NAMED.match(section)
        header = f'{match.group(1)} "{match.group(2)}"' if match else section
        conf[header] = {k: _text(v) for k, v in values.items()}
    if not conf:
        return b""
    stream = io.BytesIO()
    conf.write(stream)
    return stream.getvalue()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_level(level: str, dvc_dir: Path | None, data: Mapping[str, Mapping[str, Any]]) -> None:
    """Validate the merged outcome, then atomically replace one level's file."""
    write_levels(dvc_dir, {level: data})


def write_levels(
    dvc_dir: Path | None, levels: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> None:
    """Validate the merged outcome of changing several levels at once, then write them.

    The outcome is validated from the files alone, never with an overlay: the files must
    stand on their own (a remote defined only in an overlay cannot be modified in a file).
    """
    load_config(dvc_dir, replace=levels)
    for level, data in levels.items():
        path = config_path(level, dvc_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, serialize(data), mode=0o644)


def resolved(level: str, dvc_dir: Path | None) -> Sections:
    """One level's data with path options resolved (what `config -l` shows)."""
    base = config_path(level, dvc_dir).parent.absolute()
    return {
        section: {k: _resolve(section, k, v, base) for k, v in values.items()}
        for section, values in read_level(level, dvc_dir).items()
    }


def redact(key: str, value: Any) -> str:
    """How a value may be shown: secrets never are, nor passwords inside URLs."""
    return "***" if key.lower() in SECRETS else redact_url(_text(value))
