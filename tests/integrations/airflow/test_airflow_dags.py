"""Real DAG runs (dag.test() on SQLite) against a local-folder remote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from airflow_support import (
    URI,
    asset_events,
    clone,
    commit,
    connection,
    make_repo,
    ol_events,
    run_dag,
    task_states,
    tree,
    xcom,
)

FILES = {
    "data/a.txt": b"hello\n",
    "data/sub/b.csv": b"x,y\n1,2\n",
    "data/c.bin": bytes(range(256)) * 40,
    "model.bin": b"\x00weights\x01" * 100,
}


def dvc_entry(repo: Path, metafile: str) -> dict:
    out = yaml.safe_load((repo / metafile).read_text())["outs"][0]
    return {k: out.get(k) for k in ("md5", "size", "nfiles")}


@pytest.fixture
def pushed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A repository added and pushed by the `freight_add_push` DAG to a local remote."""
    from freight_test_dags import add_push

    remote = tmp_path / "remote"
    connection(monkeypatch, "freight_local", conn_type="freight", host=str(remote))
    src = make_repo(tmp_path / "src", FILES)
    run = run_dag(add_push, repo=str(src), conn="freight_local")
    assert run.state == "success", task_states(run)
    rev = commit(src)
    return {"src": src, "remote": remote, "run": run, "rev": rev, "tmp": tmp_path}


def test_add_push_then_pull_into_a_fresh_clone(pushed: dict) -> None:
    from freight_test_dags import pull_dag

    src, run = pushed["src"], pushed["run"]
    info = xcom(run, "push")
    lineage = info["lineage"]
    assert set(lineage) == {"data", "model.bin"}
    for path, metafile in (("data", "data.dvc"), ("model.bin", "model.bin.dvc")):
        record = lineage[path]
        entry = dvc_entry(src, metafile)
        assert {k: record[k] for k in ("md5", "size", "nfiles")} == entry
        assert record["uri"] == f"{URI}/{path}"
        assert record["remote"] == "freight_local"
        assert record["remote_url"] == str(pushed["remote"])
    assert info["transferred"] == 5 and info["failed"] == [] and info["missing"] == []
    assert xcom(run, "report") == lineage["data"]["md5"]
    added = xcom(run, "add")
    assert {"data.dvc", "model.bin.dvc"} <= set(added["written"])

    # the asset event of each outlet carries that output's record
    events = asset_events(f"{URI}/data")
    assert events[-1]["md5"] == lineage["data"]["md5"]
    assert events[-1]["nfiles"] == 3
    assert asset_events(f"{URI}/model.bin")[-1]["md5"] == lineage["model.bin"]["md5"]

    # pull into a fresh clone: the same bytes
    dest = clone(src, pushed["tmp"] / "dest")
    pulled = run_dag(pull_dag, repo=str(dest), conn="freight_local")
    assert pulled.state == "success", task_states(pulled)
    assert tree(dest / "data") == tree(src / "data")
    assert (dest / "model.bin").read_bytes() == FILES["model.bin"]
    info = xcom(pulled, "pull")
    assert info["lineage"]["data"]["md5"] == lineage["data"]["md5"]
    assert info["lineage"]["data"]["rev"] == pushed["rev"]
    assert info["lineage"]["data"]["dirty"] is False
    assert info["checkout"]["files_added"] == 4

    # OpenLineage: push has output datasets, pull input datasets, versioned by md5
    events = [e for e in ol_events() if e["eventType"] == "COMPLETE"]
    push_ev = [e for e in events if e["job"]["name"] == "freight_add_push.push"][-1]
    out = {d["name"]: d for d in push_ev["outputs"]}["example/freight-airflow-test/data"]
    assert out["namespace"] == "freight://github.com"
    assert out["facets"]["version"]["datasetVersion"] == lineage["data"]["md5"]
    stats = out["outputFacets"]["outputStatistics"]
    assert stats["fileCount"] == 3 and stats["size"] == lineage["data"]["size"]
    pull_ev = [e for e in events if e["job"]["name"] == "freight_pull.pull"][-1]
    inp = {d["name"]: d for d in pull_ev["inputs"]}["example/freight-airflow-test/model.bin"]
    assert inp["facets"]["version"]["datasetVersion"] == lineage["model.bin"]["md5"]
    assert inp["inputFacets"]["inputStatistics"]["fileCount"] == 1
    print(json.dumps(info, indent=1))


def test_a_missing_object_fails_the_task_naming_it(
    pushed: dict, capfd: pytest.CaptureFixture[str]
) -> None:
    from freight_test_dags import pull_allow_missing, pull_dag

    lineage = xcom(pushed["run"], "push")["lineage"]
    oid = lineage["model.bin"]["md5"]
    (pushed["remote"] / "files" / "md5" / oid[:2] / oid[2:]).unlink()
    dest = clone(pushed["src"], pushed["tmp"] / "dest")
    capfd.readouterr()
    run = run_dag(pull_dag, repo=str(dest), conn="freight_local")
    assert run.state == "failed"
    shown = "".join(capfd.readouterr())
    assert f"model.bin ({oid})" in shown
    assert "in neither the cache nor remote 'freight_local'" in shown

    # allow_missing: the rest is pulled, what is missing is reported in XCom
    run = run_dag(pull_allow_missing, repo=str(dest), conn="freight_local")
    assert run.state == "success", task_states(run)
    info = xcom(run, "pull")
    assert [(m["path"], m["oid"]) for m in info["missing"]] == [("model.bin", oid)]
    assert tree(dest / "data") == tree(pushed["src"] / "data")
    assert not (dest / "model.bin").exists()


def test_fetch_checkout_status_and_sensor(pushed: dict) -> None:
    from freight_test_dags import fetch_checkout, sensor_dag

    dest = clone(pushed["src"], pushed["tmp"] / "dest")
    run = run_dag(sensor_dag, repo=str(dest), conn="freight_local")
    assert run.state == "success", task_states(run)
    waited = xcom(run, "wait")
    # every object is on the remote, none in this clone's cache yet
    assert waited["changes"] and set(waited["changes"].values()) == {"deleted"}
    assert waited["lineage"]["data"]["md5"] == xcom(pushed["run"], "push")["lineage"]["data"]["md5"]

    run = run_dag(fetch_checkout, repo=str(dest), conn="freight_local")
    assert run.state == "success", task_states(run)
    # 4 files: the sensor already fetched the `.dir` manifest, to list the directory
    assert xcom(run, "fetch")["transferred"] == 4
    assert xcom(run, "checkout")["files_added"] == 4
    assert tree(dest / "data") == tree(pushed["src"] / "data")
    status = xcom(run, "status")
    assert status["changes"] == {} and set(status["lineage"]) == {"data", "model.bin"}
    assert xcom(run, "cloud_status")["changes"] == {}


def test_sensor_waits_while_the_remote_lacks_objects(pushed: dict) -> None:
    """A poke against a remote that lacks everything is not done (no Airflow context
    needed: the sensor reads only its own arguments)."""
    from freight_provider.sensors.freight import FreightSensor

    empty = pushed["tmp"] / "empty-remote"
    empty.mkdir()
    dest = clone(pushed["src"], pushed["tmp"] / "dest")
    sensor = FreightSensor(task_id="wait", repo_path=str(dest), remote="empty")
    (dest / ".dvc" / "config.local").write_text(f"['remote \"empty\"']\n    url = {empty}\n")
    assert sensor.poke({}).is_done is False  # type: ignore[arg-type]
    (dest / ".dvc" / "config.local").write_text(
        f"['remote \"empty\"']\n    url = {pushed['remote']}\n"
    )
    assert sensor.poke({}).is_done is True  # type: ignore[arg-type]
