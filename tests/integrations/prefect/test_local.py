"""Flows on the local-folder remote: lineage, assets, artifacts, a pull → transform → add →
push dependency, failures that name what is missing, and bad input."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect_freight import FreightRemote
from prefect_freight.tasks import add, checkout, fetch, pull, push, status
from prefect_support import (
    URI,
    captured,
    clone,
    commit,
    dvc_md5s,
    latest_artifacts,
    make_repo,
    tree,
)

FILES = {
    "data/raw/a.csv": b"x,y\n1,2\n",
    "data/raw/sub/b.csv": b"x,y\n3,4\n5,6\n",
    "model.bin": b"\x00weights\x01" * 64,
}
MATERIALIZED = "prefect.asset.materialization.succeeded"
REFERENCED = "prefect.asset.referenced"


@task
def transform(repo_path: str, pulled: dict[str, Any]) -> str:
    """A user's step: reads the pulled raw data, writes the features."""
    rows = sorted((Path(repo_path) / "data" / "raw").rglob("*.csv"))
    lines = [line for p in rows for line in p.read_text().splitlines()[1:]]
    out = Path(repo_path) / "data" / "features.csv"
    out.write_text("".join(f"{line},{len(line)}\n" for line in lines))
    return "data/features.csv"


@flow
def produce(repo_path: str, remote: str) -> dict[str, Any]:
    added = add(repo_path, ["data/raw", "model.bin"])
    return push(repo_path, remote=remote, wait_for=[added])


@flow
def derive(repo_path: str, remote: FreightRemote) -> tuple[dict[str, Any], ...]:
    pulled = pull(repo_path, "data/raw", remote=remote)
    features = transform(repo_path, pulled)
    added = add(repo_path, features)
    pushed = push(repo_path, features, remote=remote, wait_for=[added])
    return pulled, added, pushed


def test_push_then_pull_publishes_lineage_assets_and_artifacts(
    tmp_path: Path, asserting_and_emitting_events_worker: Any
) -> None:
    worker = asserting_and_emitting_events_worker
    src = make_repo(tmp_path / "src", FILES)
    block = FreightRemote(url=str(tmp_path / "remote"))
    block.save("local-store", overwrite=True)
    pushed = produce(str(src), "local-store")

    # the returned lineage is what the .dvc files record
    for path, metafile in (("data/raw", "data/raw.dvc"), ("model.bin", "model.bin.dvc")):
        record = pushed["lineage"][path]
        assert {k: record[k] for k in ("md5", "size", "nfiles")} == dvc_md5s(src, metafile)
        assert record["uri"] == f"{URI}/{path}"
        assert record["remote"] == "local-store"
    assert pushed["transferred"] == 4 and pushed["skipped"] == 0 and pushed["failed"] == []
    assert pushed["bytes"] > sum(len(v) for v in FILES.values())  # the files and the .dir

    # one materialization per output, the record as payload, materialized by freight
    events = {e.resource.id: e for e in captured(worker, MATERIALIZED) if e.payload.get("remote")}
    assert set(events) == {f"{URI}/data/raw", f"{URI}/model.bin"}
    for path in ("data/raw", "model.bin"):
        event = events[f"{URI}/{path}"]
        assert event.payload == pushed["lineage"][path]
        assert event.resource["prefect.resource.name"] == path
        roles = {(r.id, r.role) for r in event.related}
        assert ("freight", "asset-materialized-by") in roles

    # a table and a markdown summary per task
    artifacts = latest_artifacts()
    table = artifacts["freight-push"].data
    for path in ("data/raw", "model.bin"):
        assert pushed["lineage"][path]["md5"] in str(table) and path in str(table)
    assert pushed["lineage"]["data/raw"]["md5"] in artifacts["freight-push-summary"].data
    assert "freight-add" in artifacts and "freight-add-summary" in artifacts

    # a fresh clone pulls the same bytes; the transform's output depends on the pulled asset
    commit(src)
    dest = clone(src, tmp_path / "dest")
    pulled, added, pushed_features = derive(str(dest), FreightRemote.load("local-store"))
    assert tree(dest / "data" / "raw") == tree(src / "data" / "raw")
    assert pulled["lineage"]["data/raw"]["md5"] == pushed["lineage"]["data/raw"]["md5"]
    assert pulled["lineage"]["data/raw"]["rev"] == commit_of(src)
    referenced = [e for e in captured(worker, REFERENCED) if e.payload]
    assert [e.resource.id for e in referenced] == [f"{URI}/data/raw"]
    assert referenced[0].payload == pulled["lineage"]["data/raw"]
    features = [e for e in captured(worker, MATERIALIZED) if e.resource.id.endswith("features.csv")]
    assert [e.payload["md5"] for e in features] == [
        added["lineage"]["data/features.csv"]["md5"]
    ] * 2
    upstream = {r.id for r in features[0].related if r.role == "asset"}
    assert upstream == {f"{URI}/data/raw"}  # add: the data it was derived from
    assert pushed_features["lineage"]["data/features.csv"]["remote"] == "local-store"

    # model.bin was not pulled: checking it out fails naming it, and changes nothing
    state = run_flow(lambda: checkout(str(dest), "model.bin"), return_state=True)
    assert state.is_failed() and "model.bin" in failure(state)
    assert not (dest / "model.bin").exists()
    fetched = run_flow(lambda: fetch(str(dest), "model.bin", remote="local-store"))
    assert fetched["transferred"] == 1 and fetched["bytes"] == len(FILES["model.bin"])
    checked = run_flow(lambda: checkout(str(dest), "model.bin"))
    assert (dest / "model.bin").read_bytes() == FILES["model.bin"]
    assert checked["lineage"]["model.bin"]["md5"] == pushed["lineage"]["model.bin"]["md5"]
    clean = run_flow(lambda: status(str(dest)))
    assert clean["clean"] is True and set(clean["lineage"]) == {
        "data/raw",
        "model.bin",
        "data/features.csv",
    }


def commit_of(repo: Path) -> str:
    from prefect_support import git

    return git(repo, "rev-parse", "HEAD").strip()


def run_flow(body: Any, return_state: bool = False) -> Any:
    """Run `body` (task calls) as a flow of its own."""

    @flow
    def one() -> Any:
        return body()

    return one(return_state=return_state)


def failure(state: Any) -> str:
    """The message of the exception a failed flow or task state holds."""
    try:
        state.result()
    except Exception as exc:
        return str(exc)
    raise AssertionError(f"{state} did not fail")


def test_missing_objects_and_bad_input_fail_the_task_naming_them(tmp_path: Path) -> None:
    src = make_repo(tmp_path / "src", FILES)
    remote = tmp_path / "remote"
    block = FreightRemote(url=str(remote))
    run_flow(lambda: add(str(src), ["data/raw", "model.bin"]))
    md5 = dvc_md5s(src, "model.bin.dvc")["md5"]
    (src / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).unlink()

    # push: model.bin's object is in neither the cache nor the remote
    state = run_flow(lambda: push(str(src), remote=block), return_state=True)
    message = failure(state)
    assert state.is_failed() and f"model.bin ({md5})" in message and "\n" not in message
    assert not list(remote.rglob(md5[2:]))  # (the objects it has are uploaded, as DVC does)
    allowed = run_flow(lambda: push(str(src), remote=block, allow_missing=True))
    assert allowed["missing"][0]["path"] == "model.bin" and allowed["skipped"] == 3

    # pull into a clone: the remote lacks model.bin, so the task fails naming it
    commit(src)
    dest = clone(src, tmp_path / "dest")
    state = run_flow(lambda: pull(str(dest), remote=block), return_state=True)
    assert state.is_failed() and f"model.bin ({md5})" in failure(state)
    assert not (dest / "model.bin").exists()  # (what exists is checked out, as DVC does)
    partial = run_flow(lambda: pull(str(dest), remote=block, allow_missing=True))
    assert tree(dest / "data") == tree(src / "data") and not (dest / "model.bin").exists()
    assert partial["missing"][0]["oid"] == md5

    # bad input: one line naming the problem; the remote is left as it was
    before = tree(remote)
    bad = [
        (lambda: push(str(src), remote="no-such-remote"), "remote 'no-such-remote' is neither"),
        (
            lambda: push(str(src), remote=FreightRemote(url=str(remote), options={"colour": 1})),
            "colour",
        ),
        (lambda: push(str(tmp_path / "nowhere"), remote=block), "nowhere"),
        (lambda: add(str(src), []), "add needs targets"),
    ]
    for body, expected in bad:
        state = run_flow(body, return_state=True)
        message = failure(state)
        assert state.is_failed() and expected in message, message
        assert len(message.strip().splitlines()) == 1, message
    assert tree(remote) == before


def test_retries_only_transient_errors(tmp_path: Path) -> None:
    """A held repository lock passes: the task is retried. A bad option does not: it is not."""
    src = make_repo(tmp_path / "src", {"f.txt": b"f"})
    block = FreightRemote(url=str(tmp_path / "remote"))
    run_flow(lambda: add(str(src), ["f.txt"]))
    quick = push.with_options(retry_delay_seconds=1)

    lock = os.open(src / ".dvc" / "tmp" / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)  # as a running DVC would hold it
    releaser = threading.Timer(4.5, fcntl.flock, (lock, fcntl.LOCK_UN))
    releaser.start()
    states: list[Any] = []  # the task's own state, kept out of the flow's result
    try:
        run_flow(lambda: states.append(quick(str(src), remote=block, return_state=True)))
    finally:
        releaser.join()
        os.close(lock)
    assert states[0].is_completed() and states[0].result()["transferred"] == 1
    assert task_run(states[0]).run_count == 2

    bad = FreightRemote(url=str(tmp_path / "remote"), options={"colour": 1})
    run_flow(lambda: states.append(quick(str(src), remote=bad, return_state=True)))
    assert states[1].is_failed() and task_run(states[1]).run_count == 1


def task_run(state: Any) -> Any:
    from prefect_support import run_async

    return run_async(lambda c: c.read_task_run(state.state_details.task_run_id))
