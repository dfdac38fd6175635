"""The credential blocks Prefect users already have, as DVC remote options.

prefect-aws's `AwsCredentials` and `MinIOCredentials`, prefect-gcp's `GcpCredentials` and
prefect-azure's `AzureBlobStorageCredentials` are recognised by their block type slug and
read field by field, so none of those packages is imported here (or needed at all by
users who do not have them). The options complete a remote of the repository's config,
or a `FreightRemote`, in memory only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from prefect.blocks.core import Block
from pydantic import SecretStr


def _value(block: Block, name: str) -> Any:
    """A field's value, secrets revealed (only ever put into the in-memory overlay)."""
    value = getattr(block, name, None)
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


def _client_options(block: Block) -> dict[str, Any]:
    params = getattr(block, "aws_client_parameters", None)
    options: dict[str, Any] = {}
    if params is None:
        return options
    if getattr(params, "endpoint_url", None):
        options["endpointurl"] = params.endpoint_url
    if getattr(params, "use_ssl", True) is False:
        options["use_ssl"] = False
    if getattr(params, "verify", None) is False:
        options["ssl_verify"] = False
    return options


def _aws(block: Block) -> dict[str, Any]:
    if _value(block, "assume_role_arn"):
        raise ValueError(
            "AwsCredentials with assume_role_arn: freight cannot assume a role; "
            "give it the role's keys (or a profile) instead"
        )
    pairs = {
        "access_key_id": _value(block, "aws_access_key_id"),
        "secret_access_key": _value(block, "aws_secret_access_key"),
        "session_token": _value(block, "aws_session_token"),
        "profile": _value(block, "profile_name"),
        "region": _value(block, "region_name"),
    }
    return {**{k: v for k, v in pairs.items() if v}, **_client_options(block)}


def _minio(block: Block) -> dict[str, Any]:
    pairs = {
        "access_key_id": _value(block, "minio_root_user"),
        "secret_access_key": _value(block, "minio_root_password"),
        "region": _value(block, "region_name"),
    }
    return {**{k: v for k, v in pairs.items() if v}, **_client_options(block)}


def _gcp(block: Block) -> dict[str, Any]:
    if _value(block, "service_account_info"):
        raise ValueError(
            "GcpCredentials with service_account_info: freight takes Google credentials "
            "from a key file (service_account_file); an inline key would have to be "
            "written to disk"
        )
    options: dict[str, Any] = {}
    if _value(block, "service_account_file"):
        options["credentialpath"] = str(_value(block, "service_account_file"))
    if _value(block, "project"):
        options["projectname"] = _value(block, "project")
    return options


def _azure(block: Block) -> dict[str, Any]:
    if _value(block, "connection_string"):
        return {"connection_string": _value(block, "connection_string")}
    options: dict[str, Any] = {}
    url = _value(block, "account_url")
    if url:
        host = urlsplit(url).hostname or ""
        account, _, domain = host.partition(".")
        if not domain.startswith("blob.core."):
            raise ValueError(
                f"AzureBlobStorageCredentials: account_url '{url}' is not "
                "https://<account>.blob.core.<cloud>; give a connection_string instead"
            )
        options["account_name"] = account
    for name in ("tenant_id", "client_id", "client_secret"):
        if _value(block, name):
            options[name] = _value(block, name)
    return options


#: block type slug -> how to read it
MAPPERS: Mapping[str, Callable[[Block], dict[str, Any]]] = {
    "aws-credentials": _aws,
    "minio-credentials": _minio,
    "gcp-credentials": _gcp,
    "azure-blob-storage-credentials": _azure,
}


def remote_options(block: Block) -> dict[str, Any]:
    """The DVC remote options `block` stands for. Raises ValueError (one line, no secret)
    for a block freight does not read or a setting it cannot honour in memory."""
    slug = block.get_block_type_slug()
    mapper = MAPPERS.get(slug)
    if mapper is None:
        raise ValueError(
            f"credentials: a '{slug}' block is not one freight reads ({', '.join(sorted(MAPPERS))})"
        )
    return mapper(block)
