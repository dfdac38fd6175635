"""Unit tests: templated fields, parse-time behaviour (no I/O in `__init__`), the hook's
Connection mapping, `test_connection`, and the provider's registration with Airflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import freight
import pytest
from airflow_support import connection, make_repo
from freight_provider.hooks.freight import FreightHook
from freight_provider.operators.freight import (
    FreightAddOperator,
    FreightCheckoutOperator,
    FreightFetchOperator,
    FreightPullOperator,
    FreightPushOperator,
    FreightStatusOperator,
)
from freight_provider.sensors.freight import FreightSensor
from storage_servers import Server, make_bucket, s3_client

OPERATORS = [
    FreightAddOperator,
    FreightPushOperator,
    FreightFetchOperator,
    FreightPullOperator,
    FreightCheckoutOperator,
    FreightStatusOperator,
    FreightSensor,
]
#: audit events that mean touching the disk, a process or the network
IO_EVENTS = ("open", "os.listdir", "os.scandir", "os.mkdir", "subprocess.Popen", "socket.connect")
_watching = threading.local()
_seen: list[tuple[str, tuple[Any, ...]]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if getattr(_watching, "on", False) and event in IO_EVENTS:
        _seen.append((event, args))


sys.addaudithook(_audit)


@contextmanager
def io_events() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """The I/O audit events raised by this thread inside the block."""
    _seen.clear()
    _watching.on = True
    try:
        yield _seen
    finally:
        _watching.on = False


@pytest.mark.parametrize("cls", OPERATORS, ids=lambda c: c.__name__)
def test_template_fields_render_and_hold_no_secret(cls: type) -> None:
    assert {"repo_path", "targets", "remote", "freight_conn_id"} <= set(cls.template_fields)
    assert not {"password", "secret", "config"} & set(cls.template_fields)
    op = cls(
        task_id="t",
        repo_path="/repos/{{ params.name }}",
        targets=["{{ params.name }}/data", "model.bin"],
        remote="{{ params.remote }}",
        freight_conn_id="conn_{{ params.name }}",
    )
    op.render_template_fields({"params": {"name": "proj", "remote": "prod"}})  # type: ignore[arg-type]
    assert op.repo_path == "/repos/proj"
    assert op.targets == ["proj/data", "model.bin"]
    assert op.remote == "prod"
    assert op.freight_conn_id == "conn_proj"


def test_the_io_audit_sees_io(tmp_path: Path) -> None:
    with io_events() as seen:
        (tmp_path / "x").write_text("x")
        os.listdir(tmp_path)
    assert [event for event, _ in seen] == ["open", "os.listdir"]


@pytest.mark.parametrize("cls", OPERATORS, ids=lambda c: c.__name__)
def test_init_does_no_io(cls: type, tmp_path: Path) -> None:
    """DAG parsing constructs every operator: construction reads no repository, no
    Connection and no remote (even when they exist and are valid)."""
    repo = make_repo(tmp_path / "repo", {"data/a.txt": b"a"})
    kwargs = {"repo_path": str(repo), "targets": ["data"], "freight_conn_id": "freight_default"}
    cls(task_id="warm", **kwargs)  # imports and caches of the first construction
    with io_events() as seen:
        op = cls(task_id="t", **kwargs)
    assert seen == []
    assert "hook" not in vars(op)  # the hook is made when the task runs


def test_hook_maps_a_freight_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    connection(
        monkeypatch,
        "freight_default",
        conn_type="freight",
        host="s3://bucket/cache",
        login="AKID",
        password="s3cr3t",
        extra={"endpointurl": "http://127.0.0.1:9000", "version_aware": True, "jobs": 8},
    )
    assert FreightHook().get_config() == {
        "core": {"remote": "freight_default"},
        "remote": {
            "freight_default": {
                "url": "s3://bucket/cache",
                "access_key_id": "AKID",
                "secret_access_key": "s3cr3t",
                "endpointurl": "http://127.0.0.1:9000",
                "version_aware": True,
                "jobs": 8,
            }
        },
    }
    assert FreightHook().get_config("Prod")["remote"].keys() == {"prod"}


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("azure://container/dvc", None, {"account_name": "u", "account_key": "p"}),
        ("ssh://example.com/srv/dvc", 2222, {"user": "u", "password": "p", "port": 2222}),
        ("https://example.com/dvc", None, {"user": "u", "password": "p"}),
        ("webdavs://example.com/dvc", None, {"user": "u", "password": "p"}),
    ],
)
def test_hook_maps_login_and_password_by_scheme(
    monkeypatch: pytest.MonkeyPatch, host: str, port: int | None, expected: dict[str, Any]
) -> None:
    fields: dict[str, Any] = {"conn_type": "freight", "host": host, "login": "u", "password": "p"}
    if port:
        fields["port"] = port
    connection(monkeypatch, "c", **fields)
    assert FreightHook("c").get_config()["remote"]["c"] == {"url": host, **expected}


def test_hook_uri_form_and_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_URI_FORM",
        "freight://AKID:s3cr3t@s3%3A%2F%2Fbucket%2Fcache?endpointurl=http%3A%2F%2F127.0.0.1%3A9",
    )
    options = FreightHook("uri_form").get_config()["remote"]["uri_form"]
    assert options == {
        "url": "s3://bucket/cache",
        "access_key_id": "AKID",
        "secret_access_key": "s3cr3t",
        "endpointurl": "http://127.0.0.1:9",
    }
    connection(monkeypatch, "local", conn_type="freight", host="/mnt/dvc", password="x")
    with pytest.raises(ValueError, match="'local' remote takes no login/password"):
        FreightHook("local").get_config()
    connection(monkeypatch, "creds_only", conn_type="freight", login="AKID")
    with pytest.raises(ValueError, match="give the credentials in extra"):
        FreightHook("creds_only").get_config("storage")
    connection(monkeypatch, "extra_only", conn_type="freight", extra={"access_key_id": "AKID"})
    with pytest.raises(ValueError, match="pass remote="):
        FreightHook("extra_only").get_config()
    assert FreightHook("extra_only").get_config("storage") == {
        "remote": {"storage": {"access_key_id": "AKID"}}
    }
    connection(monkeypatch, "pg", conn_type="postgres", host="db")
    with pytest.raises(ValueError, match="has type 'postgres'"):
        FreightHook("pg").get_config()


def test_hook_reads_aws_gcp_and_wasb_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    connection(
        monkeypatch,
        "aws_default",
        conn_type="aws",
        login="AKID",
        password="s3cr3t",
        extra={
            "region_name": "eu-west-1",
            "endpoint_url": "http://s3.local",
            "aws_session_token": "tok",
        },
    )
    assert FreightHook("aws_default").get_config("storage") == {
        "remote": {
            "storage": {
                "access_key_id": "AKID",
                "secret_access_key": "s3cr3t",
                "session_token": "tok",
                "region": "eu-west-1",
                "endpointurl": "http://s3.local",
            }
        }
    }
    connection(
        monkeypatch, "aws_role", conn_type="aws", extra={"role_arn": "arn:aws:iam::1:role/x"}
    )
    with pytest.raises(ValueError, match="cannot assume a role"):
        FreightHook("aws_role").get_config("storage")

    connection(
        monkeypatch,
        "gcp",
        conn_type="google_cloud_platform",
        extra={"key_path": "/secrets/sa.json", "project": "proj"},
    )
    assert FreightHook("gcp").get_config("gs")["remote"]["gs"] == {
        "credentialpath": "/secrets/sa.json",
        "projectname": "proj",
    }
    connection(
        monkeypatch, "gcp_inline", conn_type="google_cloud_platform", extra={"keyfile_dict": "{}"}
    )
    with pytest.raises(ValueError, match="key file"):
        FreightHook("gcp_inline").get_config("gs")

    connection(monkeypatch, "wasb_key", conn_type="wasb", login="acct", password="key")
    assert FreightHook("wasb_key").get_config("az")["remote"]["az"] == {
        "account_name": "acct",
        "account_key": "key",
    }
    connection(monkeypatch, "wasb_cs", conn_type="wasb", extra={"connection_string": "A=b;C=d"})
    assert FreightHook("wasb_cs").get_config("az")["remote"]["az"] == {
        "connection_string": "A=b;C=d"
    }
    connection(
        monkeypatch,
        "wasb_sp",
        conn_type="wasb",
        login="cid",
        password="cs",
        extra={"tenant_id": "t"},
    )
    assert FreightHook("wasb_sp").get_config("az")["remote"]["az"] == {
        "tenant_id": "t",
        "client_id": "cid",
        "client_secret": "cs",
    }


def test_the_core_validates_the_overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "repo", {})
    connection(
        monkeypatch,
        "bad",
        conn_type="freight",
        host="s3://bucket/x",
        password="s3cr3t-value",
        extra={"endpoint_url": "http://x"},  # DVC's name is endpointurl
    )
    with pytest.raises(freight.ConfigError, match="endpoint_url") as err:
        FreightHook("bad").get_repo(str(repo))
    assert "s3cr3t-value" not in str(err.value)


def test_test_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_s3: Server, secret: str
) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    connection(monkeypatch, "local_ok", conn_type="freight", host=str(remote))
    assert FreightHook("local_ok").test_connection() == (True, "Connected to remote 'local_ok'")
    assert list(remote.iterdir()) == []  # nothing was written to the remote

    bucket = make_bucket(moto_s3)
    fields = {"conn_type": "freight", "host": f"s3://{bucket}/dvc", "login": "AKID"}
    extra = {"endpointurl": moto_s3.endpoint, "region": "us-east-1"}
    connection(monkeypatch, "s3_ok", password=secret, extra=extra, **fields)
    assert FreightHook("s3_ok").test_connection() == (True, "Connected to remote 's3_ok'")
    assert "Contents" not in s3_client(moto_s3).list_objects_v2(Bucket=bucket)  # unchanged

    connection(monkeypatch, "s3_bad", password=secret, extra={**extra, "endpoint": "x"}, **fields)
    ok, message = FreightHook("s3_bad").test_connection()
    assert not ok and "ConfigError" in message and "endpoint" in message
    assert secret not in message

    missing = {**fields, "host": "s3://no-such-bucket-here/dvc"}
    connection(monkeypatch, "s3_gone", password=secret, extra=extra, **missing)
    ok, message = FreightHook("s3_gone").test_connection()
    assert not ok and "RemoteError" in message and "no-such-bucket-here" in message
    assert secret not in message


def test_airflow_lists_the_provider_and_its_hook() -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "providers", "list", "-o", "json"],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    listed = {p["package_name"]: p for p in json.loads(proc.stdout)}
    assert listed["airflow-provider-freight"]["version"] == "0.1.0"

    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    manager = ProvidersManagerTaskRuntime()
    hook = manager.hooks["freight"]
    assert hook is not None
    assert hook.hook_class_name == "freight_provider.hooks.freight.FreightHook"
    assert hook.connection_id_attribute_name == "freight_conn_id"
    assert "freight" in manager.asset_uri_handlers
