"""`FreightHook`: an Airflow Connection as an in-memory freight config overlay.

The hook maps a Connection onto DVC's remote options and nothing else: the result is the
`config=` dict of `freight.Repo`, which the core validates like a config file and never
writes. Credentials therefore stay in Airflow's secret backends and in memory.

Connection types it reads:

- `freight` (its own): host = the remote's URL (`s3://bucket/cache`, `/mnt/remote`, ...),
  login/password = the backend's user and secret (S3 key id/secret, Azure account name/key,
  SSH/WebDAV/HTTP user/password), port = the SSH port, extra = any other DVC remote option
  under DVC's name (`endpointurl`, `region`, `version_aware`, `jobs`, ...). Without a host,
  the options complete a remote of the repository's own config (the operator's `remote`).
- `aws`, `google_cloud_platform` and `wasb` (the Connections users already have for their
  buckets): their fields are read by name, without the Amazon, Google or Azure providers,
  and applied to a remote of the repository's config.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import freight
from airflow.sdk import BaseHook, Connection

#: login/password of a `freight` connection, per URL scheme ("" = a local path)
CREDENTIAL_OPTIONS: Mapping[str, tuple[str, str]] = {
    "s3": ("access_key_id", "secret_access_key"),
    "azure": ("account_name", "account_key"),
    "az": ("account_name", "account_key"),
    "ssh": ("user", "password"),
    "sftp": ("user", "password"),
    "http": ("user", "password"),
    "https": ("user", "password"),
    "webdav": ("user", "password"),
    "webdavs": ("user", "password"),
    "webhdfs": ("user", "password"),
    "oss": ("oss_key_id", "oss_key_secret"),
}
_AWS_EXTRA = {
    "aws_access_key_id": "access_key_id",
    "aws_secret_access_key": "secret_access_key",
    "aws_session_token": "session_token",
    "region_name": "region",
    "endpoint_url": "endpointurl",
    "profile_name": "profile",
}
#: `aws` extras that change who the caller is: freight cannot honour them, so it refuses
_AWS_REFUSED = ("role_arn", "assume_role_method", "assume_role_kwargs", "external_id")


class FreightHook(BaseHook):
    """Reads a Connection and returns the `freight.Repo` config overlay it stands for.

    Args:
        freight_conn_id: the Connection to read (`freight`, `aws`, `google_cloud_platform`
            or `wasb` type).
    """

    conn_name_attr = "freight_conn_id"
    default_conn_name = "freight_default"
    conn_type = "freight"
    hook_name = "Freight (DVC remote)"

    def __init__(self, freight_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.freight_conn_id = freight_conn_id

    def remote_name(self, remote: str | None) -> str:
        """The name of the remote the connection configures: `remote` if given, else the
        connection id (DVC's remote names are lower case)."""
        return (remote or self.freight_conn_id).lower()

    def get_config(self, remote: str | None = None) -> dict[str, Any]:
        """The overlay for `freight.Repo(path, config=...)`: the connection's options for
        the remote `remote_name(remote)`, made the default remote when the connection names
        its URL. Raises ValueError for a connection freight cannot express."""
        conn = self.get_connection(self.freight_conn_id)
        mapper = _MAPPERS.get(conn.conn_type or "freight")
        if mapper is None:
            raise ValueError(
                f"connection '{self.freight_conn_id}' has type '{conn.conn_type}': freight "
                f"reads {', '.join(sorted(_MAPPERS))} connections"
            )
        options = mapper(conn)
        if not options.get("url") and remote is None:
            raise ValueError(
                f"connection '{self.freight_conn_id}' names no remote URL (host): pass "
                "remote= to say which remote of the repository's config it is for"
            )
        name = self.remote_name(remote)
        overlay: dict[str, Any] = {"remote": {name: options}}
        if options.get("url"):
            overlay["core"] = {"remote": name}
        return overlay

    def get_conn(self) -> dict[str, Any]:
        """Airflow's conventional accessor: the overlay for the connection's own remote."""
        return self.get_config()

    def get_repo(self, repo_path: str, remote: str | None = None) -> freight.Repo:
        """`freight.Repo(repo_path)` with the connection's overlay (close it after use)."""
        return freight.Repo(repo_path, config=self.get_config(remote))

    def test_connection(self) -> tuple[bool, str]:
        """Reach the remote (one small listing) without changing it; a missing bucket or
        refused credentials fail the test."""
        try:
            with tempfile.TemporaryDirectory(prefix="freight-conn-test-") as tmp:
                freight.Repo.init(tmp, no_scm=True).close()
                with freight.Repo(tmp, config=self.get_config()) as repo:
                    name = repo.check_remote()
            return True, f"Connected to remote '{name}'"
        except (freight.FreightError, ValueError, OSError) as exc:
            return False, f"{type(exc).__name__}: {exc}"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["schema"],
            "relabeling": {
                "host": "Remote URL",
                "login": "Access key id / account name / user",
                "password": "Secret access key / account key / password",
                "port": "Port (SSH)",
                "extra": "DVC remote options (JSON)",
            },
            "placeholders": {
                "host": "s3://bucket/path, azure://container/path, ssh://host/path, /mnt/dvc",
                "extra": '{"endpointurl": "https://...", "region": "eu-west-1", "jobs": 16}',
            },
        }


def _freight_options(conn: Connection) -> dict[str, Any]:
    options: dict[str, Any] = dict(conn.extra_dejson)
    url = conn.host or ""
    if url:
        options["url"] = url
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if (conn.login or conn.password) and not url:
        raise ValueError(
            f"connection '{conn.conn_id}' names no remote URL (host), so login/password "
            "cannot be mapped: give the credentials in extra, under DVC's option names"
        )
    if conn.login or conn.password:
        if scheme not in CREDENTIAL_OPTIONS:
            raise ValueError(
                f"connection '{conn.conn_id}': a '{scheme or 'local'}' remote takes no "
                "login/password (put its options in extra, under DVC's names)"
            )
        user, secret = CREDENTIAL_OPTIONS[scheme]
        if conn.login:
            options[user] = conn.login
        if conn.password:
            options[secret] = conn.password
    if conn.port:
        options["port"] = conn.port
    return options


def _aws_options(conn: Connection) -> dict[str, Any]:
    extra = conn.extra_dejson
    refused = [key for key in _AWS_REFUSED if extra.get(key)]
    if refused:
        raise ValueError(
            f"connection '{conn.conn_id}': freight cannot assume a role ({', '.join(refused)})"
        )
    options = {_AWS_EXTRA[k]: v for k, v in extra.items() if k in _AWS_EXTRA and v}
    endpoint = (extra.get("service_config") or {}).get("s3", {}).get("endpoint_url")
    if endpoint:
        options["endpointurl"] = endpoint
    if conn.login:
        options["access_key_id"] = conn.login
    if conn.password:
        options["secret_access_key"] = conn.password
    return options


def _gcp_options(conn: Connection) -> dict[str, Any]:
    extra = conn.extra_dejson

    def field(name: str) -> Any:
        return extra.get(name) or extra.get(f"extra__google_cloud_platform__{name}")

    if field("keyfile_dict") or field("key_secret_name"):
        raise ValueError(
            f"connection '{conn.conn_id}': freight takes Google credentials from a key file "
            "(key_path); an inline key would have to be written to disk"
        )
    options: dict[str, Any] = {}
    if field("key_path"):
        options["credentialpath"] = field("key_path")
    if field("project"):
        options["projectname"] = field("project")
    return options


def _wasb_options(conn: Connection) -> dict[str, Any]:
    extra = conn.extra_dejson

    def field(name: str) -> Any:
        return extra.get(name) or extra.get(f"extra__wasb__{name}")

    if field("connection_string"):
        return {"connection_string": field("connection_string")}
    options: dict[str, Any] = {}
    if field("sas_token"):
        options["sas_token"] = field("sas_token")
    if field("tenant_id"):
        options["tenant_id"] = field("tenant_id")
        options["client_id"] = conn.login
        options["client_secret"] = conn.password
    else:
        if conn.login:
            options["account_name"] = conn.login
        key = field("shared_access_key") or conn.password
        if key:
            options["account_key"] = key
    return {k: v for k, v in options.items() if v}


_MAPPERS: Mapping[str, Callable[[Connection], dict[str, Any]]] = {
    "freight": _freight_options,
    "aws": _aws_options,
    "google_cloud_platform": _gcp_options,
    "wasb": _wasb_options,
}
