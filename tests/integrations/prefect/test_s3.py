"""Flows against the S3 test server (moto, a real server process) with credentials from
saved blocks (`FreightRemote`, prefect-aws's `AwsCredentials`): the real DVC pulls what
they pushed, and the secret is searched for in everything Prefect and freight showed,
stored or wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from freight import TransferError
from prefect import flow
from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL
from prefect_aws import AwsCredentials
from prefect_freight import FreightRemote
from prefect_freight.tasks import add, pull, push, status
from prefect_support import HOME, clone, commit, make_repo, run_async, tree
from storage_servers import Server, make_bucket, s3_client
from workspaces import dvc_pull_s3

FILES = {"data/a.txt": b"hello\n", "data/sub/b.csv": b"x,y\n1,2\n", "model.bin": b"\x00w" * 99}
KEY_ID = "AKIDFREIGHTTEST"


@flow
def publish(repo_path: str, remote: str | None = None, credentials: str | None = None) -> Any:
    creds = AwsCredentials.load(credentials) if credentials else None
    added = add(repo_path, ["data", "model.bin"])
    pushed = push(repo_path, remote=remote, credentials=creds, wait_for=[added])
    return added, pushed


@flow
def publish_once(repo_path: str, remote: str) -> Any:
    """`publish` without retries (a failing push is retried with back-off by default)."""
    return push.with_options(retries=0)(repo_path, remote=remote)


@flow
def refresh(repo_path: str, remote: str) -> Any:
    return pull(repo_path, remote=remote), status(repo_path, cloud=True, remote=remote)


def test_blocks_push_what_dvc_pulls_and_the_secret_leaks_nowhere(
    tmp_path: Path,
    moto_s3: Server,
    dvc_bin: str,
    secret: str,
    asserting_and_emitting_events_worker: Any,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    results: list[Any] = []
    bucket = make_bucket(moto_s3)
    url = f"s3://{bucket}/cache"
    endpoint = {"endpointurl": moto_s3.endpoint, "region": "us-east-1"}
    FreightRemote(url=url, options=endpoint, access_key_id=KEY_ID, secret_access_key=secret).save(
        "s3-store", overwrite=True
    )
    src = make_repo(tmp_path / "src", FILES)
    added, pushed = publish(str(src), "s3-store")
    results += [added, pushed]
    assert pushed["lineage"]["data"]["remote_url"] == url and pushed["transferred"] == 4

    # the real DVC pulls the same bytes into a fresh clone; freight pulls them too
    commit(src)
    dvc_clone = clone(src, tmp_path / "dvc-clone")
    dvc_pull_s3(dvc_bin, dvc_clone, url, moto_s3.endpoint)
    assert tree(dvc_clone / "data") == tree(src / "data")
    assert (dvc_clone / "model.bin").read_bytes() == FILES["model.bin"]
    mine = clone(src, tmp_path / "freight-clone")
    pulled, cloud = refresh(str(mine), "s3-store")
    results += [pulled, cloud]
    assert tree(mine / "data") == tree(src / "data") and cloud["clean"] is True

    # prefect-aws's AwsCredentials complete a remote of the repository's own config
    other = make_bucket(moto_s3)
    (src / ".dvc" / "config").write_text(
        f"[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://{other}/dvc\n"
    )
    AwsCredentials(
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        aws_client_parameters={"endpoint_url": moto_s3.endpoint},
    ).save("aws-test", overwrite=True)
    results += publish(str(src), credentials="aws-test")
    assert results[-1]["lineage"]["model.bin"]["remote"] == "storage"
    listed = s3_client(moto_s3).list_objects_v2(Bucket=other)["Contents"]
    assert len(listed) == 4 and all(o["Key"].startswith("dvc/files/md5/") for o in listed)

    # a bucket that does not exist fails the task, naming the remote, not the secret
    FreightRemote(
        url="s3://no-such-bucket-here/cache",
        options=endpoint,
        access_key_id=KEY_ID,
        secret_access_key=secret,
    ).save("s3-broken", overwrite=True)
    state = publish_once(str(src), "s3-broken", return_state=True)
    assert state.is_failed()
    with pytest.raises(TransferError, match=r"remote 's3-broken'.*no-such-bucket-here"):
        state.result()

    out, err = capfd.readouterr()
    shown = out + err + caplog.text
    assert "push: " in shown and "no-such-bucket-here" in shown  # progress and failure shown
    assert_no_secret(secret, shown, results, asserting_and_emitting_events_worker, tmp_path)


def stored(worker: Any) -> dict[str, Any]:
    """What the API server holds (logs, artifacts, events) and the events emitted here."""
    from prefect.logging.handlers import APILogWorker

    APILogWorker.instance().drain()
    worker.wait_until_empty()

    async def read(client: Any) -> dict[str, Any]:
        logs = await client.read_logs(limit=200)
        offset = len(logs)
        while True:
            more = await client.read_logs(limit=200, offset=offset)
            if not more:
                break
            logs, offset = logs + more, offset + len(more)
        artifacts = await client.read_artifacts(limit=200)
        page = await client.read_events(limit=50)
        events = list(page.events)
        while page.next_page:
            page = await client.read_events_page(page.next_page)
            events += page.events
        return {
            "logs": [log.message for log in logs],
            "artifacts": [a.model_dump(mode="json") for a in artifacts],
            "events": [e.model_dump(mode="json") for e in events],
        }

    found = run_async(read)
    found["emitted"] = [e.model_dump(mode="json") for e in worker._client.events]
    return found


def assert_no_secret(
    secret: str, shown: str, results: list[Any], worker: Any, workdir: Path
) -> None:
    """The secret is nowhere: not in what was shown, nor in the task results, logs,
    artifacts or events (read back from the API), nor in any file under PREFECT_HOME, the
    harness's database directory or the workspaces."""
    assert secret not in shown
    assert secret not in json.dumps(results)
    found = stored(worker)
    assert found["logs"] and found["artifacts"] and found["events"] and found["emitted"]
    text = json.dumps(found)
    assert '"md5"' in text and "freight-push" in text  # the search looked at real values
    assert secret not in text
    database = Path(PREFECT_API_DATABASE_CONNECTION_URL.value().split("///", 1)[1])
    roots = (HOME, database.parent, workdir)
    files = [p for root in roots for p in root.rglob("*") if p.is_file()]
    assert database in files
    leaked = [p for p in files if secret.encode() in p.read_bytes()]
    assert leaked == []
