"""`FreightRemote`: a DVC remote (its URL, options and credentials) stored as a Prefect block.

The block is only ever turned into the in-memory config overlay of `freight.Repo(path,
config=...)`, under DVC's option names, which the core validates like a config file and
never writes. Secrets are `SecretStr` fields: Prefect stores them encrypted, masks them in
the UI and in `repr`, and `overlay()` is the one place that reads their values.
"""

from __future__ import annotations

from typing import Any, ClassVar

from prefect.blocks.core import Block
from pydantic import Field, SecretStr, field_validator

#: the block's credential fields (each is the DVC option of the same name)
PLAIN_CREDENTIALS = ("access_key_id", "account_name", "user")
SECRET_CREDENTIALS = (
    "secret_access_key",
    "session_token",
    "account_key",
    "connection_string",
    "sas_token",
    "password",
    "token",
)


class FreightRemote(Block):
    """A freight (DVC-compatible) remote: where the data lives and how to log in.

    The credential fields are DVC's remote options of the same name; set the ones your
    storage takes (the core refuses an option the remote's type does not know, naming it).

    Example:
        Save a remote once, then use it by name in any task:
        ```python
        from prefect_freight import FreightRemote
        from prefect_freight.tasks import pull

        FreightRemote(url="s3://bucket/dvc", secret_access_key="...").save("prod")
        freight_remote_block = FreightRemote.load("BLOCK_NAME")
        pull("/srv/project", remote=freight_remote_block)
        ```
    """

    _block_type_name = "Freight Remote"
    _block_type_slug = "freight-remote"
    _description = (
        "A DVC remote for freight's tasks: its URL, DVC remote options and credentials, "
        "given to freight in memory only."
    )
    _documentation_url = "https://dvc.org/doc/user-guide/data-management/remote-storage"  # type: ignore[assignment]
    _logo_url = None

    #: credential field names, for the checks below
    credential_fields: ClassVar[tuple[str, ...]] = PLAIN_CREDENTIALS + SECRET_CREDENTIALS

    url: str = Field(
        default=...,
        title="Remote URL",
        description=(
            "The remote's URL: s3://bucket/path, gs://bucket/path, azure://container/path, "
            "ssh://host/path, https://..., webdav(s)://..., or a local folder."
        ),
        examples=["s3://my-bucket/dvc-cache", "/mnt/shared/dvc-remote"],
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        title="DVC remote options",
        description=(
            "Other DVC remote options under DVC's names, e.g. endpointurl, region, "
            "version_aware, jobs. Credentials belong in the secret fields instead."
        ),
        examples=[{"endpointurl": "https://minio.example.com", "region": "eu-west-1"}],
    )
    access_key_id: str | None = Field(
        default=None,
        title="Access key ID",
        description="S3: the access key ID (DVC option access_key_id).",
    )
    secret_access_key: SecretStr | None = Field(
        default=None,
        title="Secret access key",
        description="S3: the secret access key (DVC option secret_access_key).",
    )
    session_token: SecretStr | None = Field(
        default=None,
        title="Session token",
        description="S3: a temporary session token (DVC option session_token).",
    )
    account_name: str | None = Field(
        default=None,
        title="Account name",
        description="Azure: the storage account name (DVC option account_name).",
    )
    account_key: SecretStr | None = Field(
        default=None,
        title="Account key",
        description="Azure: the storage account key (DVC option account_key).",
    )
    connection_string: SecretStr | None = Field(
        default=None,
        title="Connection string",
        description="Azure: a connection string (DVC option connection_string).",
    )
    sas_token: SecretStr | None = Field(
        default=None,
        title="SAS token",
        description="Azure: a shared access signature (DVC option sas_token).",
    )
    user: str | None = Field(
        default=None,
        title="User",
        description="SSH, HTTP, WebDAV: the user name (DVC option user).",
    )
    password: SecretStr | None = Field(
        default=None,
        title="Password",
        description="SSH, HTTP, WebDAV, WebHDFS: the password (DVC option password).",
    )
    token: SecretStr | None = Field(
        default=None,
        title="Token",
        description="WebDAV, WebHDFS: a bearer token (DVC option token).",
    )
    credentials_json: SecretStr | None = Field(
        default=None,
        title="Google service account JSON",
        description=(
            "GCS: an inline service-account key. freight's core reads Google credentials "
            "from a key file only (options.credentialpath), so a block with this field set "
            "is refused rather than writing the key to disk."
        ),
    )

    @field_validator("options")
    @classmethod
    def _no_secrets_in_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        """A credential in `options` would be stored in clear: refuse it, naming it."""
        clash = sorted(set(value) & set(cls.credential_fields))
        if clash:
            raise ValueError(
                f"put {', '.join(clash)} in the block's credential fields, not in options "
                "(options are stored unencrypted)"
            )
        return value

    @property
    def remote_name(self) -> str:
        """The name the remote gets in the overlay: the block's saved name (DVC's remote
        names are lower case), or `prefect-block` for a block that was never saved."""
        return (self._block_document_name or "prefect-block").lower()

    def overlay(self) -> dict[str, Any]:
        """The `freight.Repo(path, config=...)` overlay: this remote, made the default one.

        Raises ValueError for what the core cannot take in memory (inline Google keys).
        """
        if self.credentials_json is not None:
            raise ValueError(
                f"FreightRemote '{self.remote_name}': freight takes Google credentials from a "
                "key file (options.credentialpath); an inline credentials_json would have to "
                "be written to disk"
            )
        options: dict[str, Any] = {**self.options, "url": self.url}
        for name in self.credential_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if value:
                options[name] = value
        name = self.remote_name
        return {"core": {"remote": name}, "remote": {name: options}}
