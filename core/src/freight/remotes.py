"""Turn a remote's config into storage: the only place that builds clients.

DVC option names (spec §7.5) are mapped to obstore where obstore can express them (S3,
Azure, HTTP: the fast path) and to an fsspec filesystem otherwise (s3fs, sshfs, webdav4,
fsspec's http); GCS always goes through gcsfs (see `_gs`). Backends are optional extras
(`freight[s3]`, ...), so their modules are imported only when a remote of that kind is
opened.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .config import RemoteConfig
from .errors import ConfigError
from .inventory import PROBE_PREFIX
from .storage import BACKOFF, MAX_BACKOFF, RETRIES, Storage
from .storage.local import LocalStorage

if TYPE_CHECKING:
    from .storage.versioned import VersionedStorage

#: DVC S3 options obstore can express; any other option selects s3fs
_OBSTORE_S3 = {
    "endpointurl",
    "region",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "ssl_verify",
    "sse",
    "sse_kms_key_id",
    "allow_anonymous_login",
    "use_ssl",
    "read_timeout",
    "connect_timeout",
}
_OBSTORE_AZURE = {
    "connection_string",
    "account_name",
    "account_key",
    "sas_token",
    "tenant_id",
    "client_id",
    "client_secret",
    "allow_anonymous_login",
}
_COMMON = {
    "jobs",
    "checksum_jobs",
    "verify",
    "version_aware",
    "worktree",
    "no_traverse",
    "type",
    "shared",
    "slow_link_warning",
    "protected",
}
_EXTRAS = {
    "s3": "s3",
    "gs": "gs",
    "azure": "azure",
    "ssh": "ssh",
    "http": "http",
    "https": "http",
    "webdav": "webdav",
    "webdavs": "webdav",
}


def scheme_of(url: str) -> str:
    scheme = urlsplit(url).scheme
    return "" if len(scheme) <= 1 else scheme  # "" for local paths (and C: on Windows)


def open_storage(remote: RemoteConfig) -> Storage:
    """Storage for `remote`; raises ConfigError for unknown schemes or missing extras."""
    scheme = scheme_of(remote.url)
    opts = {k: v for k, v in remote.options.items() if k not in _COMMON}
    if scheme in ("", "file"):
        path = urlsplit(remote.url).path if scheme == "file" else remote.url
        return LocalStorage(os.path.expanduser(path))
    builder = _BUILDERS.get(scheme)
    if builder is None:
        raise unsupported(remote, scheme)
    try:
        return builder(remote.url, opts)
    except ImportError as exc:
        raise ConfigError(
            f"remote '{remote.name}' needs an extra: pip install 'freight[{_EXTRAS[scheme]}]' "
            f"({exc.name or exc} is missing)"
        ) from None


def unsupported(remote: RemoteConfig, scheme: str) -> ConfigError:
    """The error for a remote DVC accepts but freight cannot transfer to (`gdrive://`,
    `hdfs://`, ...): the config loads (so `status` works), only using the remote fails."""
    return ConfigError(
        f"remote '{remote.name}': freight cannot transfer to {scheme}:// remotes "
        "(it transfers to local paths, s3, gs, azure, ssh, http(s) and webdav(s))"
    )


def open_versioned(remote: RemoteConfig) -> VersionedStorage:
    """Storage for a `version_aware`/`worktree` remote (S3 and GCS)."""
    from .storage.versioned import VersionedStorage

    scheme = scheme_of(remote.url)
    if scheme not in ("", "file") and scheme not in _BUILDERS:
        raise unsupported(remote, scheme)
    opts = {k: v for k, v in remote.options.items() if k not in _COMMON}
    bucket, prefix = _bucket_and_prefix(remote.url)
    root = f"{bucket}/{prefix}".rstrip("/")
    try:
        if scheme == "s3":
            return VersionedStorage(_s3fs(opts, version_aware=True), root, remote.url, "s3")
        if scheme in ("gs", "gcs"):
            return VersionedStorage(_gcsfs(opts, version_aware=True), root, remote.url, "gs")
    except ImportError as exc:
        raise ConfigError(
            f"remote '{remote.name}' needs an extra: pip install 'freight[{_EXTRAS[scheme]}]' "
            f"({exc.name or exc} is missing)"
        ) from None
    # Azure blob versioning exists, but no emulator here implements it (azurite does not),
    # so freight refuses instead of shipping an untested path.
    raise ConfigError(
        f"remote '{remote.name}': version_aware/worktree remotes are supported on s3:// and "
        f"gs:// (not '{scheme or 'local'}')"
    )


def _bucket_and_prefix(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.netloc, parts.path.strip("/")


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _obstore_retry() -> Any:
    """freight's retry policy (`freight.storage.RETRIES`) as obstore's RetryConfig."""
    backoff = {
        "init_backoff": timedelta(seconds=BACKOFF),
        "max_backoff": timedelta(seconds=MAX_BACKOFF),
        "base": 2,
    }
    return {"max_retries": RETRIES, "backoff": backoff}


def _s3(url: str, opts: dict[str, Any]) -> Storage:
    bucket, prefix = _bucket_and_prefix(url)
    if set(opts) <= _OBSTORE_S3:
        from obstore.store import S3Store

        from .storage.objectstore import ObstoreStorage

        config: Any = {}  # obstore's TypedDicts, filled from DVC options
        client: Any = {}
        endpoint = opts.get("endpointurl")
        if endpoint:
            config["endpoint"] = endpoint
            client["allow_http"] = endpoint.startswith("http://")
        for dvc, ours in (
            ("region", "region"),
            ("access_key_id", "access_key_id"),
            ("secret_access_key", "secret_access_key"),
            ("session_token", "session_token"),
            ("sse", "server_side_encryption"),
            ("sse_kms_key_id", "sse_kms_key_id"),
        ):
            if opts.get(dvc):
                config[ours] = opts[dvc]
        if _flag(opts.get("allow_anonymous_login")):
            config["skip_signature"] = True
        if "ssl_verify" in opts and not _flag(opts["ssl_verify"]):
            client["allow_invalid_certificates"] = True
        for dvc in ("connect_timeout", "read_timeout"):  # seconds, as botocore takes them
            if opts.get(dvc) is not None:
                client[dvc] = timedelta(seconds=float(opts[dvc]))
        config.setdefault("region", "us-east-1")
        store = S3Store(
            bucket,
            prefix=prefix or None,
            config=config,
            client_options=client,
            retry_config=_obstore_retry(),
        )
        return ObstoreStorage(store, url)
    from .storage.fsspec import FsspecStorage

    fs = _s3fs(opts)
    return FsspecStorage(fs, f"{bucket}/{prefix}".rstrip("/"), url, atomic_put=True)


def _s3fs(opts: dict[str, Any], **fs_kwargs: Any) -> Any:
    """An s3fs filesystem from DVC's S3 options."""
    import s3fs

    kwargs: dict[str, Any] = {"client_kwargs": {}, "s3_additional_kwargs": {}}
    mapping = {
        "access_key_id": "key",
        "secret_access_key": "secret",
        "session_token": "token",
        "profile": "profile",
    }
    for dvc, ours in mapping.items():
        if opts.get(dvc):
            kwargs[ours] = opts[dvc]
    if opts.get("endpointurl"):
        kwargs["client_kwargs"]["endpoint_url"] = opts["endpointurl"]
    if opts.get("region"):
        kwargs["client_kwargs"]["region_name"] = opts["region"]
    if "ssl_verify" in opts:
        kwargs["client_kwargs"]["verify"] = opts["ssl_verify"]
    timeouts = {
        k: float(opts[k]) for k in ("connect_timeout", "read_timeout") if opts.get(k) is not None
    }
    # botocore's Config: the timeouts, and no retries of its own; nor does s3fs retry
    # (below): freight's `retrying` is the one layer (see `freight.storage.RETRIES`)
    kwargs["config_kwargs"] = {**timeouts, "retries": {"total_max_attempts": 1}}
    extra = {
        "acl": "ACL",
        "sse": "ServerSideEncryption",
        "sse_kms_key_id": "SSEKMSKeyId",
        "grant_read": "GrantRead",
        "grant_read_acp": "GrantReadACP",
        "grant_write_acp": "GrantWriteACP",
        "grant_full_control": "GrantFullControl",
    }
    for dvc, ours in extra.items():
        if opts.get(dvc):
            kwargs["s3_additional_kwargs"][ours] = opts[dvc]
    if _flag(opts.get("allow_anonymous_login")):
        kwargs["anon"] = True
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **kwargs, **fs_kwargs)
    fs.retries = 1  # one try per call (s3fs nests its retries: 5 x 5 tries of a read)
    return fs


def _gs(url: str, opts: dict[str, Any]) -> Storage:
    # gcsfs (GCS's JSON API), not obstore: obstore speaks GCS's XML API, which the only GCS
    # server that runs here (fake-gcs-server) does not serve, so that path could not be
    # verified; an unverified fast path is worse than a slower verified one.
    from .storage.fsspec import FsspecStorage

    bucket, prefix = _bucket_and_prefix(url)
    fs = _gcsfs(opts)
    return FsspecStorage(fs, f"{bucket}/{prefix}".rstrip("/"), url, atomic_put=True, jobs=32)


def _gcsfs(opts: dict[str, Any], **fs_kwargs: Any) -> Any:
    """A gcsfs filesystem from DVC's GCS options."""
    if opts.get("endpointurl"):
        # gcsfs >= 2026.3 probes a gRPC control API per bucket, which stalls for 60 s on any
        # endpoint that is not Google's; it reads this switch when it is imported.
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    import gcsfs

    kwargs: dict[str, Any] = {}
    if opts.get("projectname"):
        kwargs["project"] = opts["projectname"]
    if opts.get("endpointurl"):
        kwargs["endpoint_url"] = opts["endpointurl"]
    if opts.get("credentialpath"):
        kwargs["token"] = opts["credentialpath"]
    elif _flag(opts.get("allow_anonymous_login")):
        kwargs["token"] = "anon"
    return gcsfs.GCSFileSystem(skip_instance_cache=True, **kwargs, **fs_kwargs)


def _azure(url: str, opts: dict[str, Any]) -> Storage:
    unsupported = sorted(set(opts) - _OBSTORE_AZURE)
    if unsupported:  # never ignore an option silently: it may be what grants access
        raise ConfigError(
            f"azure remote {url}: option(s) {', '.join(unsupported)} are not supported by "
            "freight yet (supported: " + ", ".join(sorted(_OBSTORE_AZURE)) + ")"
        )
    container, prefix = _bucket_and_prefix(url)
    from obstore.store import AzureStore

    from .storage.objectstore import ObstoreStorage

    config: Any = {}  # obstore's TypedDicts, filled from DVC options
    client: Any = {}
    if opts.get("connection_string"):
        parts = dict(
            item.split("=", 1) for item in str(opts["connection_string"]).split(";") if "=" in item
        )
        config["account_name"] = parts.get("AccountName", "")
        if parts.get("AccountKey"):
            config["account_key"] = parts["AccountKey"]
        if parts.get("BlobEndpoint"):
            config["endpoint"] = parts["BlobEndpoint"]
            client["allow_http"] = parts["BlobEndpoint"].startswith("http://")
        if parts.get("SharedAccessSignature"):
            config["sas_key"] = parts["SharedAccessSignature"]
    for dvc, ours in (
        ("account_name", "account_name"),
        ("account_key", "account_key"),
        ("sas_token", "sas_key"),
        ("tenant_id", "tenant_id"),
        ("client_id", "client_id"),
        ("client_secret", "client_secret"),
    ):
        if opts.get(dvc):
            config[ours] = opts[dvc]
    if _flag(opts.get("allow_anonymous_login")):
        config["skip_signature"] = True
    store = AzureStore(
        container,
        prefix=prefix or None,
        config=config,
        client_options=client,
        retry_config=_obstore_retry(),
    )
    return ObstoreStorage(store, url)


def _without_userinfo(url: str, opts: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`url` without `user:password@`, which moves to the `user`/`password` options (the
    options win). Backends quote the URLs they request in their errors, so a password left
    in one would reach messages and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, opts
    host = parts.netloc.rpartition("@")[2]
    creds = {"user": unquote(parts.username or ""), "password": unquote(parts.password or "")}
    merged = {**{k: v for k, v in creds.items() if v}, **opts}
    return parts._replace(netloc=host).geturl(), merged


def _http(url: str, opts: dict[str, Any]) -> Storage:
    from .storage.fsspec import FsspecStorage

    shown = url
    url, opts = _without_userinfo(url, opts)
    if not opts:
        from obstore.store import HTTPStore

        from .storage.objectstore import ObstoreStorage

        client: Any = {"allow_http": url.startswith("http://")}
        store = HTTPStore.from_url(url, client_options=client, retry_config=_obstore_retry())
        return ObstoreStorage(store, url, can_list=False, can_write=False)
    import aiohttp
    from fsspec.implementations.http import HTTPFileSystem

    client_kwargs: dict[str, Any] = {}
    if opts.get("user"):
        client_kwargs["auth"] = aiohttp.BasicAuth(opts["user"], opts.get("password") or "")
    fs = HTTPFileSystem(client_kwargs=client_kwargs, skip_instance_cache=True)
    return FsspecStorage(
        fs, url.rstrip("/"), shown, atomic_put=True, can_list=False, can_write=False
    )


def _ssh(url: str, opts: dict[str, Any]) -> Storage:
    from sshfs import SSHFileSystem

    from .storage.fsspec import FsspecStorage

    parts = urlsplit(url)
    kwargs: dict[str, Any] = {"port": int(opts.get("port") or parts.port or 22)}
    user = opts.get("user") or parts.username
    if user:
        kwargs["username"] = user
    if opts.get("password"):
        kwargs["password"] = opts["password"]
    if opts.get("keyfile"):
        kwargs["client_keys"] = [opts["keyfile"]]
    if opts.get("passphrase"):
        kwargs["passphrase"] = opts["passphrase"]
    fs = SSHFileSystem(parts.hostname, skip_instance_cache=True, **kwargs)
    return FsspecStorage(fs, parts.path.rstrip("/") or "/", url, atomic_put=False, jobs=4)


def _webdav(url: str, opts: dict[str, Any]) -> Storage:
    from webdav4.fsspec import WebdavFileSystem

    from .storage.fsspec import FsspecStorage

    shown = url
    url, opts = _without_userinfo(url, opts)
    parts = urlsplit(url)
    scheme = "https" if parts.scheme == "webdavs" else "http"
    base = f"{scheme}://{parts.netloc}"
    auth = (opts["user"], opts.get("password") or "") if opts.get("user") else None
    fs = WebdavFileSystem(base, auth=auth, skip_instance_cache=True)
    return FsspecStorage(fs, parts.path.strip("/"), shown, atomic_put=False, jobs=8)


_BUILDERS = {
    "s3": _s3,
    "gs": _gs,
    "gcs": _gs,
    "azure": _azure,
    "az": _azure,
    "http": _http,
    "https": _http,
    "ssh": _ssh,
    "sftp": _ssh,
    "webdav": _webdav,
    "webdavs": _webdav,
}


def probe(remote: RemoteConfig) -> None:
    """Ask the remote for one small listing (or one object, where it cannot list), changing
    nothing: raises RemoteError when it cannot be reached or refuses the credentials."""
    storage = open_storage(remote)
    try:
        if storage.can_list:
            next(iter(storage.list(PROBE_PREFIX)), None)
        else:
            storage.exists([PROBE_PREFIX + "probe"], jobs=1)
    finally:
        storage.close()
