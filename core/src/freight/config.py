"""DVC's configuration: four configobj files, merged and validated (spec §7).

Levels, lowest precedence first: system, global, repo (`.dvc/config`), local
(`.dvc/config.local`). Merging is per option: a later level overrides single options of a
section defined earlier. Section and option names are lower-cased on load, as DVC does.
Path-valued options are resolved relative to the directory of the file that sets them.

Writes re-serialise one level file whole (DVC drops comments the same way), are validated
first (an invalid config is never written) and go through a temporary file and a rename.
Secret values are never shown: listings print `***` for them.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from configobj import ConfigObj, ConfigObjError

from .errors import ConfigError, RemoteNotFoundError
from .fsutil import atomic_write

LEVELS = ("system", "global", "repo", "local")
_NAMED = re.compile(r'^\s*(remote|machine|db)\s*"(.*)"\s*$')
_URL = re.compile(r"^\w+://")
PATH_OPTIONS = frozenset(
    {
        "url",
        "dir",
        "credentialpath",
        "configpath",
        "keyfile",
        "cert_path",
        "key_path",
        "gdrive_user_credentials_file",
        "gdrive_service_account_json_file_path",
    }
)
SECRETS = frozenset(
    {
        "password",
        "secret_access_key",
        "session_token",
        "account_key",
        "sas_token",
        "connection_string",
        "client_secret",
        "sse_customer_key",
        "oss_key_secret",
        "token",
        "custom_auth_header",
        "passphrase",
        "gdrive_client_secret",
        "key",
    }
)
BOOL, INT, STR = "bool", "int", "str"
CORE = {
    "remote": STR,
    "checksum_jobs": INT,
    "interactive": BOOL,
    "analytics": BOOL,
    "hardlink_lock": BOOL,
    "no_scm": BOOL,
    "autostage": BOOL,
    "check_update": BOOL,
    "site_cache_dir": STR,
    "machine": STR,
}
CACHE = {
    "dir": STR,
    "type": STR,
    "shared": STR,
    "slow_link_warning": BOOL,
    "verify": BOOL,
    "protected": BOOL,
    "local": STR,
    "s3": STR,
    "gs": STR,
    "hdfs": STR,
    "webhdfs": STR,
    "ssh": STR,
    "azure": STR,
}
_REMOTE_COMMON = {
    "url": STR,
    "jobs": INT,
    "checksum_jobs": INT,
    "verify": BOOL,
    "version_aware": BOOL,
    "worktree": BOOL,
    "no_traverse": BOOL,
}
_BACKEND = {
    "": {"type": STR, "shared": STR, "slow_link_warning": BOOL, "protected": BOOL},
    "s3": {
        "region": STR,
        "profile": STR,
        "credentialpath": STR,
        "configpath": STR,
        "endpointurl": STR,
        "access_key_id": STR,
        "secret_access_key": STR,
        "session_token": STR,
        "use_ssl": BOOL,
        "allow_anonymous_login": BOOL,
        "ssl_verify": STR,
        "sse": STR,
        "sse_kms_key_id": STR,
        "sse_customer_algorithm": STR,
        "sse_customer_key": STR,
        "acl": STR,
        "grant_read": STR,
        "grant_read_acp": STR,
        "grant_write_acp": STR,
        "grant_full_control": STR,
        "cache_regions": BOOL,
        "read_timeout": INT,
        "connect_timeout": INT,
        "listobjects": BOOL,
    },
    "gs": {
        "projectname": STR,
        "credentialpath": STR,
        "endpointurl": STR,
        "allow_anonymous_login": BOOL,
    },
    "azure": {
        "connection_string": STR,
        "sas_token": STR,
        "account_name": STR,
        "account_key": STR,
        "tenant_id": STR,
        "client_id": STR,
        "client_secret": STR,
        "allow_anonymous_login": BOOL,
        "exclude_environment_credential": BOOL,
        "exclude_visual_studio_code_credential": BOOL,
        "exclude_shared_token_cache_credential": BOOL,
        "exclude_managed_identity_credential": BOOL,
        "timeout": INT,
        "read_timeout": INT,
        "connection_timeout": INT,
    },
    "ssh": {
        "port": INT,
        "user": STR,
        "password": STR,
        "ask_password": BOOL,
        "passphrase": STR,
        "ask_passphrase": BOOL,
        "keyfile": STR,
        "timeout": INT,
        "gss_auth": BOOL,
        "allow_agent": BOOL,
        "max_sessions": INT,
        "type": STR,
    },
    "http": {
        "auth": STR,
        "custom_auth_header": STR,
        "user": STR,
        "password": STR,
        "ask_password": BOOL,
        "ssl_verify": STR,
        "method": STR,
        "connect_timeout": INT,
        "read_timeout": INT,
    },
    "webdav": {
        "user": STR,
        "password": STR,
        "ask_password": BOOL,
        "token": STR,
        "bearer_token_command": STR,
        "custom_auth_header": STR,
        "cert_path": STR,
        "key_path": STR,
        "timeout": INT,
        "ssl_verify": STR,
    },
}
_SCHEMES = {
    "s3": "s3",
    "gs": "gs",
    "gcs": "gs",
    "azure": "azure",
    "az": "azure",
    "ssh": "ssh",
    "sftp": "ssh",
    "http": "http",
    "https": "http",
    "webdav": "webdav",
    "webdavs": "webdav",
    "file": "",
}
LINK_TYPES = ("reflink", "hardlink", "symlink", "copy")
_FREE_SECTIONS = {
    "state",
    "index",
    "feature",
    "plots",
    "exp",
    "parsing",
    "hydra",
    "studio",
    "machine",
    "db",
}


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


def read_level(level: str, dvc_dir: Path | None) -> dict[str, dict[str, Any]]:
    """One level's file as `{section: {option: value}}` (names lower-cased, raw values)."""
    path = config_path(level, dvc_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        parsed = ConfigObj(io.StringIO(text), interpolation=False, list_values=True)
    except ConfigObjError as exc:
        raise ConfigError(f"config file error: {exc} ({path})") from None
    data: dict[str, dict[str, Any]] = {}
    for section, values in parsed.items():
        if not isinstance(values, Mapping):
            raise ConfigError(f"config file error: option '{section}' outside a section ({path})")
        name = _section_key(section)
        data.setdefault(name, {}).update({k.lower(): v for k, v in values.items()})
    return data


def _section_key(section: str) -> str:
    match = _NAMED.match(section)
    if match:
        return f'{match.group(1).lower()} "{match.group(2).lower()}"'
    return section.strip().lower()


def _remote_name(section: str) -> str | None:
    match = _NAMED.match(section)
    return match.group(2) if match and match.group(1) == "remote" else None


def _coerce(value: Any, kind: str, where: str) -> Any:
    if kind == BOOL:
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text not in ("true", "false"):
            raise ConfigError(f"config file error: expected boolean value for {where}")
        return text == "true"
    if kind == INT:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"config file error: expected int for {where}") from None
        if number < 1:
            raise ConfigError(f"config file error: value must be at least 1 for {where}")
        return number
    return ",".join(value) if isinstance(value, list) else value


def _schema(section: str, values: Mapping[str, Any]) -> dict[str, str] | None:
    if section == "core":
        return CORE
    if section == "cache":
        return CACHE
    if _remote_name(section) is not None:
        url = str(values.get("url", ""))
        scheme = _SCHEMES.get(url.split("://", 1)[0] if "://" in url else "", "")
        return {**_REMOTE_COMMON, **_BACKEND.get(scheme, {}), **_BACKEND[""]}
    return None


def validate(
    data: Mapping[str, Mapping[str, Any]],
    origin: str,
    *,
    complete: bool = True,
    origins: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Typed copy of config data; raises ConfigError naming the file and the bad key.

    `origins` names the file that set each (section, option) of merged data; `origin`
    is the fallback. `complete` data must give every remote a URL (a level about to be
    written alone may override options of a remote defined at another level).
    """
    typed: dict[str, dict[str, Any]] = {}
    for section, values in data.items():
        base = section.split()[0]
        label = f"data['{base}']" + (
            f"['{_remote_name(section)}']" if _remote_name(section) else ""
        )
        schema = _schema(section, values)
        if schema is None and base not in _FREE_SECTIONS:
            raise ConfigError(
                f"config file error: extra keys not allowed @ data['{section}'] ({origin})"
            )
        out = typed.setdefault(section, {})
        if complete and _remote_name(section) is not None and "url" not in values:
            raise ConfigError(
                f"config file error: expected 'url' for dictionary value @ {label} ({origin})"
            )
        for key, value in values.items():
            where = (origins or {}).get((section, key), origin)
            if schema is not None and key not in schema:
                raise ConfigError(
                    f"config file error: extra keys not allowed @ {label}['{key}'] ({where})"
                )
            kind = schema[key] if schema is not None else STR
            out[key] = _coerce(value, kind, f"{label}['{key}'] ({where})")
        if out.get("worktree") is True and out.get("version_aware") is False:
            raise ConfigError(
                f"config file error: worktree remotes require version_aware cloud ({origin})"
            )
    return typed


@dataclass(frozen=True)
class RemoteConfig:
    """A remote: its name, resolved URL and typed options (everything but the URL)."""

    name: str
    url: str
    options: Mapping[str, Any] = field(default_factory=dict)

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
    """The merged configuration of a repository."""

    raw: Mapping[str, Mapping[str, Any]]
    root: Path | None = None
    remotes: Mapping[str, RemoteConfig] = field(default_factory=dict)

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
        types = tuple(t.strip() for t in str(value).split(",") if t.strip())
        bad = [t for t in types if t not in LINK_TYPES]
        if bad or not types:
            raise ConfigError(
                f"config file error: unsupported cache type {bad or value!r} "
                f"(choose from {', '.join(LINK_TYPES)})"
            )
        return types

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
    if key not in PATH_OPTIONS or not isinstance(value, str) or _URL.match(value):
        return value
    if section != "cache" and key == "dir":
        return value
    path = os.path.expanduser(value)
    return os.path.normpath(os.path.join(base, path))


def load_config(
    dvc_dir: Path | None,
    *,
    upto: str = "local",
    replace: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> Config:
    """Merge and validate the levels up to `upto`; paths resolved per defining file.

    `replace` substitutes the data of some levels (to check a write before making it).
    """
    merged: dict[str, dict[str, Any]] = {}
    origins: dict[tuple[str, str], str] = {}
    for level in LEVELS[: LEVELS.index(upto) + 1]:
        if dvc_dir is None and level in ("repo", "local"):
            break
        path = config_path(level, dvc_dir)
        base = path.parent.absolute()
        data = (replace or {}).get(level)
        for section, values in (read_level(level, dvc_dir) if data is None else data).items():
            for key, value in values.items():
                merged.setdefault(section, {})[key] = _resolve(section, key, value, base)
                origins[(section, key)] = str(path)
    typed = validate(merged, str(dvc_dir / "config") if dvc_dir else "config", origins=origins)
    remotes = {}
    for section, values in typed.items():
        name = _remote_name(section)
        if name is not None:
            options = {k: v for k, v in values.items() if k != "url"}
            remotes[name] = RemoteConfig(name, str(values["url"]), options)
    return Config(typed, dvc_dir.parent if dvc_dir else None, remotes)


def _ordered(sections: list[str]) -> list[str]:
    """DVC's section order: `core`, other plain sections, then named ones (remotes, ...)."""
    named = [s for s in sections if _NAMED.match(s)]
    plain = [s for s in sections if s not in named and s != "core"]
    return (["core"] if "core" in sections else []) + plain + named


def serialize(data: Mapping[str, Mapping[str, Any]]) -> bytes:
    """Bytes of a level file as DVC (configobj) writes them; empty config -> empty file."""
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
    """Validate the merged outcome of changing several levels at once, then write them."""
    load_config(dvc_dir, replace=levels)
    for level, data in levels.items():
        path = config_path(level, dvc_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, serialize(data), mode=0o644)


def resolved(level: str, dvc_dir: Path | None) -> dict[str, dict[str, Any]]:
    """One level's data with path options resolved (what `config -l` shows)."""
    base = config_path(level, dvc_dir).parent.absolute()
    return {
        section: {k: _resolve(section, k, v, base) for k, v in values.items()}
        for section, values in read_level(level, dvc_dir).items()
    }


def redact(key: str, value: Any) -> str:
    """How a value may be shown: secrets never are."""
    return "***" if key.lower() in SECRETS else _text(value)
