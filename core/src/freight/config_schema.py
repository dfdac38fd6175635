"""What DVC 3.67.1 accepts in a config: every section, remote type and option, with its type.

These are facts about DVC's format (its `config_schema.py`), written as plain tables so that
`freight.config` can validate a file or an in-memory overlay exactly as DVC would: a config
DVC loads, freight loads, whether or not freight can transfer to every remote it names
(`gdrive://`, `hdfs://`, ... are validated here and refused only when used, in
`freight.remotes`). Two deliberate differences: freight also accepts the scheme aliases it
can transfer to (`gcs://`, `az://`, `sftp://`), and it coerces `cache_regions` (s3) and
`replication` (hdfs), which DVC types so strictly that no config file can set them, and it
refuses a bool where a number is expected (DVC reads True as 1; in an overlay that is a slip).

`coerce` reads one value as its kind wants it. Its errors name the option, never the value
(which may be a secret), and never chain an exception that quotes the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

#: a value's type: one of the names below, or a tuple of allowed (lower-cased) choices
Kind = str | tuple[str, ...]

BOOL = "bool"  # true/false, any case (a real bool in an overlay)
INT = "int"  # any integer
POSINT = "posint"  # an integer >= 1 (jobs)
PERCENT = "percent"  # an integer from 0 to 100
FLOAT = "float"  # any number
NONNEG = "nonneg"  # a number >= 0 (HTTP timeouts)
STR = "str"
LOWER = "lower"  # a string, lower-cased (remote and machine names)
BOOLSTR = "boolstr"  # true/false become a bool, anything else stays a string (ssl_verify)
LINKS = "links"  # a comma-separated list of link types (cache.type)
ANY = "any"  # anything (options of a `remote://` remote)

LINK_TYPES = ("reflink", "hardlink", "symlink", "copy")

#: sections whose entries are named: `remote "name"`, `machine "name"`, `db "name"`
NAMED_SECTIONS = ("remote", "machine", "db")

REMOTE_COMMON: Mapping[str, Kind] = {
    "url": STR,
    "checksum_jobs": POSINT,
    "jobs": POSINT,
    "worktree": BOOL,
    "no_traverse": BOOL,
    "version_aware": BOOL,
}
_LOCAL_COMMON: Mapping[str, Kind] = {
    "type": LINKS,
    "protected": BOOL,
    "shared": ("group",),
    "slow_link_warning": BOOL,
    "verify": BOOL,
}
_HTTP: Mapping[str, Kind] = {
    "auth": ("basic", "digest", "custom"),
    "custom_auth_header": STR,
    "user": STR,
    "password": STR,
    "ask_password": BOOL,
    "ssl_verify": BOOLSTR,
    "method": STR,
    "connect_timeout": NONNEG,
    "read_timeout": NONNEG,
    "verify": BOOL,
}
_WEBDAV: Mapping[str, Kind] = {
    "user": STR,
    "password": STR,
    "ask_password": BOOL,
    "token": STR,
    "bearer_token_command": STR,
    "custom_auth_header": STR,
    "cert_path": STR,
    "key_path": STR,
    "timeout": INT,
    "ssl_verify": BOOLSTR,
    "verify": BOOL,
}
_S3: Mapping[str, Kind] = {
    "region": STR,
    "profile": STR,
    "credentialpath": STR,
    "configpath": STR,
    "endpointurl": STR,
    "access_key_id": STR,
    "secret_access_key": STR,
    "session_token": STR,
    "listobjects": BOOL,
    "use_ssl": BOOL,
    "allow_anonymous_login": BOOL,
    "ssl_verify": BOOLSTR,
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
    "verify": BOOL,
}
_GS: Mapping[str, Kind] = {
    "projectname": STR,
    "credentialpath": STR,
    "endpointurl": STR,
    "verify": BOOL,
    "allow_anonymous_login": BOOL,
}
_SSH: Mapping[str, Kind] = {
    "type": LINKS,
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
    "verify": BOOL,
}
_HDFS: Mapping[str, Kind] = {"user": STR, "kerb_ticket": STR, "replication": INT}
_WEBHDFS: Mapping[str, Kind] = {
    "kerberos": BOOL,
    "kerberos_principal": STR,
    "proxy_to": STR,
    "ssl_verify": BOOLSTR,
    "token": STR,
    "use_https": BOOL,
    "user": STR,
    "password": STR,
    "data_proxy_target": STR,
    "verify": BOOL,
}
_AZURE: Mapping[str, Kind] = {
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
    "verify": BOOL,
    "timeout": INT,
    "read_timeout": INT,
    "connection_timeout": INT,
}
_OSS: Mapping[str, Kind] = {
    "oss_key_id": STR,
    "oss_key_secret": STR,
    "oss_endpoint": STR,
    "verify": BOOL,
}
_GDRIVE: Mapping[str, Kind] = {
    "profile": STR,
    "gdrive_use_service_account": BOOL,
    "gdrive_client_id": STR,
    "gdrive_client_secret": STR,
    "gdrive_user_credentials_file": STR,
    "gdrive_service_account_user_email": STR,
    "gdrive_service_account_json_file_path": STR,
    "gdrive_trash_only": BOOL,
    "gdrive_acknowledge_abuse": BOOL,
    "verify": BOOL,
}

#: options of a remote by URL scheme ("" = a local path); `None` = any option (remote://)
REMOTE_SCHEMAS: Mapping[str, Mapping[str, Kind] | None] = {
    "": {**_LOCAL_COMMON, **REMOTE_COMMON},
    "s3": {**_S3, **REMOTE_COMMON},
    "gs": {**_GS, **REMOTE_COMMON},
    "ssh": {**_SSH, **REMOTE_COMMON},
    "hdfs": {**_HDFS, **REMOTE_COMMON},
    "webhdfs": {**_WEBHDFS, **REMOTE_COMMON},
    "azure": {**_AZURE, **REMOTE_COMMON},
    "oss": {**_OSS, **REMOTE_COMMON},
    "gdrive": {**_GDRIVE, **REMOTE_COMMON},
    "http": {**_HTTP, **REMOTE_COMMON},
    "https": {**_HTTP, **REMOTE_COMMON},
    "webdav": {**_WEBDAV, **REMOTE_COMMON},
    "webdavs": {**_WEBDAV, **REMOTE_COMMON},
    "remote": None,
}
#: freight's extra spellings of schemes it transfers to (DVC refuses these URLs)
SCHEME_ALIASES = {"gcs": "gs", "az": "azure", "sftp": "ssh", "file": ""}

CORE: Mapping[str, Kind] = {
    "remote": LOWER,
    "checksum_jobs": POSINT,
    "interactive": BOOL,
    "analytics": BOOL,
    "hardlink_lock": BOOL,
    "no_scm": BOOL,
    "autostage": BOOL,
    "experiments": BOOL,
    "check_update": BOOL,
    "site_cache_dir": STR,
    "machine": LOWER,
}
CACHE: Mapping[str, Kind] = {
    **{old: STR for old in ("local", "s3", "gs", "hdfs", "webhdfs", "ssh", "azure")},
    "dir": STR,
    **_LOCAL_COMMON,
}
MACHINE: Mapping[str, Kind] = {
    "cloud": ("aws", "azure"),
    "region": ("us-west", "us-east", "eu-west", "eu-north"),
    "image": STR,
    "spot": BOOL,
    "spot_price": FLOAT,
    "instance_hdd_size": INT,
    "instance_type": LOWER,
    "instance_gpu": LOWER,
    "ssh_private": STR,
    "startup_script": STR,
    "setup_script": STR,
}
DB: Mapping[str, Kind] = {"url": STR, "username": STR, "password": STR}

#: the plain sections other than core/cache; `feature` drops unknown keys (DVC warns)
SECTIONS: Mapping[str, Mapping[str, Kind]] = {
    "core": CORE,
    "cache": CACHE,
    "state": {"dir": STR, "row_limit": POSINT, "row_cleanup_quota": PERCENT},
    "index": {"dir": STR},
    "feature": {"machine": BOOL},
    "plots": {"html_template": STR, "auto_open": BOOL, "out_dir": STR},
    "exp": {
        **{old: STR for old in ("code", "data", "models", "metrics", "params", "plots", "live")},
        "auto_push": BOOL,
        "git_remote": STR,
    },
    "parsing": {"bool": ("store_true", "boolean_optional"), "list": ("nargs", "append")},
    "hydra": {
        "enabled": BOOL,
        "config_dir": STR,
        "config_module": STR,
        "config_name": STR,
        "plugins_path": STR,
    },
    "studio": {"token": STR, "url": STR, "repo_url": STR, "offline": BOOL},
}
#: options DVC allows one of at a time, per section
EXCLUSIVE: Mapping[str, tuple[str, ...]] = {"hydra": ("config_dir", "config_module")}
#: sections whose unknown options are dropped instead of refused
LENIENT_SECTIONS = frozenset({"feature"})

#: options holding paths, resolved against the file (or, for an overlay, the repo root)
PATH_OPTIONS: Mapping[str, frozenset[str]] = {
    "cache": frozenset({"dir"}),
    "remote": frozenset(
        {
            "url",
            "gdrive_user_credentials_file",
            "gdrive_service_account_json_file_path",
            "credentialpath",
            "configpath",
            "keyfile",
            "cert_path",
            "key_path",
        }
    ),
    "machine": frozenset({"startup_script", "setup_script"}),
}

#: options whose values are never shown, logged or put in an error (any section)
SECRETS = frozenset(
    {
        "password",  # http, webdav, ssh, webhdfs, db
        "secret_access_key",
        "session_token",
        "sse_customer_key",
        "account_key",
        "sas_token",
        "connection_string",
        "client_secret",
        "oss_key_secret",
        "gdrive_client_secret",
        "token",  # webdav, webhdfs delegation token, studio
        "bearer_token_command",  # may carry the token inline
        "custom_auth_header",
        "passphrase",
        "kerb_ticket",
        "ssh_private",  # machine: the private key itself
        "key",
    }
)


# --- types: how a value from a file (a string) or an overlay (also bool/int) is read ---


def fail(problem: str, where: str) -> ConfigError:
    """The one shape of a value error: `config file error: <problem> for <option> (<origin>)`."""
    return ConfigError(f"config file error: {problem} for {where}")


def coerce(value: Any, kind: Kind, where: str) -> Any:
    """`value` as `kind` wants it; `where` names the option (never the value) on error."""
    if isinstance(kind, tuple):
        text = coerce(value, LOWER, where)
        if text not in kind:
            raise fail(f"expected one of {', '.join(kind)}", where)
        return text
    if kind == ANY:
        return value
    if kind in (BOOL, BOOLSTR):
        return _boolean(value, where, or_text=kind == BOOLSTR)
    if kind in _NUMBERS:
        return _number(value, kind, where)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ",".join(value)  # configobj reads `a, b` as a list
    if not isinstance(value, str):
        raise fail("expected str", where)
    if kind == LOWER:
        return value.lower()
    if kind == LINKS:
        link_types(value, where)
    return value


def _boolean(value: Any, where: str, *, or_text: bool) -> Any:
    if isinstance(value, bool):
        return value
    text = value.lower() if isinstance(value, str) else None
    if text in ("true", "false"):
        return text == "true"
    if or_text and isinstance(value, str):
        return value
    raise fail("expected boolean value" + (" or str" if or_text else ""), where)


#: numeric kinds: (integral, least, most)
_NUMBERS: dict[Kind, tuple[bool, int | None, int | None]] = {
    INT: (True, None, None),
    POSINT: (True, 1, None),
    PERCENT: (True, 0, 100),
    FLOAT: (False, None, None),
    NONNEG: (False, 0, None),
}


def _number(value: Any, kind: Kind, where: str) -> int | float:
    """A number; a bool is refused (DVC would take True as 1: in an overlay it is a slip)."""
    integral, least, most = _NUMBERS[kind]
    name = "int" if integral else "float"
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise fail(f"expected {name}", where)
    number = _to_number(value, integral)
    if number is None:  # raised here, not in the handler: the ValueError quotes the value
        raise fail(f"expected {name}", where)
    if least is not None and number < least:
        raise fail(f"value must be at least {least}", where)
    if most is not None and number > most:
        raise fail(f"value must be at most {most}", where)
    return number


def _to_number(value: str | int | float, integral: bool) -> int | float | None:
    try:
        return int(value) if integral else float(value)
    except ValueError:
        return None


def link_types(value: str, where: str) -> tuple[str, ...]:
    """The link types of `cache.type` (checked at load, as DVC does, not at first use)."""
    types = tuple(t.strip() for t in value.split(",") if t.strip())
    bad = [t for t in types if t not in LINK_TYPES]
    if bad or not types:
        raise ConfigError(
            f"config file error: unsupported cache type {bad or value!r} "
            f"(choose from {', '.join(LINK_TYPES)}) for {where}"
        )
    return types
