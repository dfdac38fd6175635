"""DAG runs against the S3 test server (moto, a real server process): a `freight`
connection and an `aws` connection, `dvc pull` of what they pushed, and the secret-leak
search over everything Airflow and freight wrote or showed."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from airflow_support import (
    HOME,
    OL_FILE,
    clone,
    commit,
    connection,
    git,
    make_repo,
    run_dag,
    task_states,
    tree,
    xcom,
)
from storage_servers import Server, make_bucket, s3_client
from workspaces import dvc_pull_s3

FILES = {
    "data/a.txt": b"hello\n",
    "data/sub/b.csv": b"x,y\n1,2\n",
    "model.bin": b"\x00weights\x01" * 100,
}
KEY_ID = "AKIDFREIGHTTEST"


def test_freight_and_aws_connections_push_what_dvc_pulls(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_s3: Server,
    dvc_bin: str,
    secret: str,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from freight_test_dags import add_push

    caplog.set_level("DEBUG")
    bucket = make_bucket(moto_s3)
    url = f"s3://{bucket}/cache"
    connection(
        monkeypatch,
        "freight_s3",
        conn_type="freight",
        host=url,
        login=KEY_ID,
        password=secret,
        extra={"endpointurl": moto_s3.endpoint, "region": "us-east-1"},
    )
    src = make_repo(tmp_path / "src", FILES)
    run = run_dag(add_push, repo=src, conn="freight_s3")
    assert run.state == "success", task_states(run)
    lineage = xcom(run, "push")["lineage"]
    assert lineage["data"]["remote_url"] == url
    commit(src)
    dest = clone(src, tmp_path / "dvc-clone")
    dvc_pull_s3(dvc_bin, dest, url, moto_s3.endpoint)
    assert tree(dest / "data") == tree(src / "data")
    assert (dest / "model.bin").read_bytes() == FILES["model.bin"]

    # an `aws` connection gives the credentials of a remote of the repository's config
    other = make_bucket(moto_s3)
    git(src, "checkout", "-q", "-b", "aws")
    (src / ".dvc" / "config").write_text(
        f"[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://{other}/dvc\n"
    )
    connection(
        monkeypatch,
        "aws_test",
        conn_type="aws",
        login=KEY_ID,
        password=secret,
        extra={"region_name": "us-east-1", "endpoint_url": moto_s3.endpoint},
    )
    run = run_dag(add_push, repo=src, conn="aws_test", remote="storage")
    assert run.state == "success", task_states(run)
    assert xcom(run, "push")["lineage"]["data"]["remote"] == "storage"
    listed = s3_client(moto_s3).list_objects_v2(Bucket=other)["Contents"]
    assert len(listed) == 4 and all(o["Key"].startswith("dvc/files/md5/") for o in listed)

    # a push sharded over mapped tasks: the shards in XCom name the remote, not its secret
    monkeypatch.setenv("FREIGHT_TEST_PROJECT", str(src))
    import freight_render_dags

    sharded = importlib.reload(freight_render_dags).sharded
    sharded_bucket = make_bucket(moto_s3)
    connection(
        monkeypatch,
        "freight_sharded",
        conn_type="freight",
        host=f"s3://{sharded_bucket}/cache",
        login=KEY_ID,
        password=secret,
        extra={"endpointurl": moto_s3.endpoint, "region": "us-east-1"},
    )
    run = run_dag(sharded)
    assert run.state == "success", task_states(run)
    keys = s3_client(moto_s3).list_objects_v2(Bucket=sharded_bucket)["Contents"]
    assert len(keys) == len(listed)

    # failing paths: a bucket that does not exist, an option DVC does not know
    connection(
        monkeypatch,
        "freight_broken",
        conn_type="freight",
        host="s3://no-such-bucket-here/cache",
        login=KEY_ID,
        password=secret,
        extra={"endpointurl": moto_s3.endpoint},
    )
    assert run_dag(add_push, repo=src, conn="freight_broken").state == "failed"
    connection(
        monkeypatch,
        "freight_bad_option",
        conn_type="freight",
        host=url,
        login=KEY_ID,
        password=secret,
        extra={"endpointurl": moto_s3.endpoint, "no_such_option": secret[:4]},
    )
    assert run_dag(add_push, repo=src, conn="freight_bad_option").state == "failed"

    out, err = capfd.readouterr()
    shown = out + err + caplog.text
    assert "no_such_option" in shown and "failed to upload" in shown  # failures were shown
    assert "push: " in shown  # and so were the tasks' progress lines
    assert_no_secret(secret, shown, tmp_path)


def stored_values() -> dict[str, Any]:
    """XCom values, asset-event extras and rendered template fields, as stored."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return {
            "xcom": [x.value for x in session.query(XComModel)],
            "extras": [e.extra for e in session.query(AssetEvent)]
            + [a.extra for a in session.query(AssetModel)],
            "rendered": [r.rendered_fields for r in session.query(RenderedTaskInstanceFields)],
        }


def assert_no_secret(secret: str, shown: str, workdir: Path) -> None:
    """The secret is nowhere: not in what was shown, nor in any stored value, nor in any
    file under AIRFLOW_HOME (metadata DB, logs, OpenLineage events) or the workspaces."""
    assert secret not in shown
    values = json.dumps(stored_values(), default=str)
    assert values.count('"md5"') > 0  # the search looked at real values
    assert secret not in values
    assert OL_FILE.exists() and OL_FILE.stat().st_size > 0
    files = [p for root in (HOME, workdir) for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)
    leaked = [p for p in files if secret.encode() in p.read_bytes()]
    assert leaked == []
