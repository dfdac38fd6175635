"""The `FreightRemote` block (Prefect's standard block tests, saving and loading under the
harness) and the third-party credential blocks read as DVC remote options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from prefect.blocks.system import Secret
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from prefect_aws import AwsCredentials, MinIOCredentials
from prefect_azure import AzureBlobStorageCredentials
from prefect_freight import FreightRemote
from prefect_freight.blocks import SECRET_CREDENTIALS
from prefect_freight.credentials import remote_options
from prefect_gcp import GcpCredentials
from pydantic import ValidationError


def service_account(key_id: str) -> dict[str, Any]:
    """A well-formed Google service-account key (a fresh RSA key: GcpCredentials parses it)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "type": "service_account",
        "project_id": "proj",
        "private_key_id": key_id,
        "private_key": pem.decode(),
        "client_email": "freight@proj.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


class TestFreightRemoteStandard(BlockStandardTestSuite):
    """Prefect's conformance tests for blocks: description, documentation URL, a
    description on every field, a code example with import and `.load("BLOCK_NAME")`."""

    # The logo test downloads `_logo_url` and opens it with Pillow: freight has no hosted
    # logo (the block leaves `_logo_url` unset and the UI shows its default icon).
    test_has_a_valid_image = None

    @pytest.fixture
    def block(self) -> type[FreightRemote]:
        return FreightRemote


def test_saved_block_keeps_secrets_encrypted_and_masked(secret: str) -> None:
    remote = FreightRemote(
        url="s3://bucket/dvc",
        options={"endpointurl": "http://127.0.0.1:9", "region": "us-east-1"},
        access_key_id="AKIDTEST",
        secret_access_key=secret,
    )
    remote.save("block-roundtrip", overwrite=True)
    loaded = FreightRemote.load("block-roundtrip")
    assert loaded.secret_access_key is not None
    assert loaded.secret_access_key.get_secret_value() == secret
    assert secret not in repr(loaded) and secret not in str(loaded.model_dump())
    assert set(FreightRemote.model_json_schema()["secret_fields"]) >= set(SECRET_CREDENTIALS)
    assert loaded.overlay() == {
        "core": {"remote": "block-roundtrip"},
        "remote": {
            "block-roundtrip": {
                "url": "s3://bucket/dvc",
                "endpointurl": "http://127.0.0.1:9",
                "region": "us-east-1",
                "access_key_id": "AKIDTEST",
                "secret_access_key": secret,
            }
        },
    }


def test_block_refuses_secrets_in_options_and_inline_google_keys(secret: str) -> None:
    with pytest.raises(ValidationError, match="put secret_access_key in the block's credential"):
        FreightRemote(url="s3://b/p", options={"secret_access_key": secret})
    inline = FreightRemote(url="gs://b/p", credentials_json=secret)
    with pytest.raises(ValueError, match="inline credentials_json") as caught:
        inline.overlay()
    assert secret not in str(caught.value)


def test_credential_blocks_map_to_dvc_options(tmp_path: Path, secret: str) -> None:
    aws = AwsCredentials(
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key=secret,
        aws_session_token="tok",
        region_name="eu-west-1",
        aws_client_parameters={"endpoint_url": "http://127.0.0.1:9"},
    )
    assert remote_options(aws) == {
        "access_key_id": "AKIDTEST",
        "secret_access_key": secret,
        "session_token": "tok",
        "region": "eu-west-1",
        "endpointurl": "http://127.0.0.1:9",
    }
    minio = MinIOCredentials(minio_root_user="admin", minio_root_password=secret)
    assert remote_options(minio) == {"access_key_id": "admin", "secret_access_key": secret}
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(service_account("key-id")))
    gcp = GcpCredentials(service_account_file=key_file, project="proj")
    assert remote_options(gcp) == {"credentialpath": str(key_file), "projectname": "proj"}
    conn = f"DefaultEndpointsProtocol=http;AccountName=dev;AccountKey={secret};"
    azure = AzureBlobStorageCredentials(connection_string=conn)
    assert remote_options(azure) == {"connection_string": conn}
    by_url = AzureBlobStorageCredentials(
        account_url="https://acct.blob.core.windows.net",
        tenant_id="t",
        client_id="c",
        client_secret=secret,
    )
    assert remote_options(by_url) == {
        "account_name": "acct",
        "tenant_id": "t",
        "client_id": "c",
        "client_secret": secret,
    }


def test_credential_blocks_freight_cannot_honour_are_refused(secret: str) -> None:
    refusals = [
        (AwsCredentials(assume_role_arn="arn:aws:iam::1:role/r"), "cannot assume a role"),
        (GcpCredentials(service_account_info=service_account(secret)), "inline key"),
        (
            AzureBlobStorageCredentials(account_url="http://127.0.0.1:10000/dev"),
            "give a connection_string",
        ),
        (Secret(value=secret), "'secret' block is not one freight reads"),
    ]
    for block, message in refusals:
        with pytest.raises(ValueError, match=message) as caught:
            remote_options(block)
        assert secret not in str(caught.value)
