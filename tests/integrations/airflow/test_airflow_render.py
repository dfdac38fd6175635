"""A project rendered into tasks at parse time, and a push sharded over mapped tasks: both
leave the remote exactly as a plain push does."""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path

import freight
import pytest
from airflow_support import URI, commit, connection, make_repo, run_dag, task_states, tree

FILES = {
    **{f"data/raw/part-{i}.csv": f"{i},{i * i}\n".encode() * (i + 1) for i in range(12)},
    "notes/scratch.txt": b"not for the remote\n",
}
DVC_YAML = """\
stages:
  featurize:
    cmd: mkdir -p data/features && cp data/raw/part-1*.csv data/features/
    deps: [data/raw]
    outs: [data/features]
  train:
    cmd: cat data/features/*.csv > model.bin
    deps: [data/features]
    outs: [model.bin]
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, dvc_bin: str) -> Path:
    """data/raw (a `.dvc` file), two stages run by the real DVC (dvc.lock), and an output
    labelled `scratch` (a `.dvc` file with a label)."""
    repo = make_repo(tmp_path_factory.mktemp("render") / "project", FILES)
    with freight.Repo(repo) as opened:
        opened.add(["data/raw", "notes/scratch.txt"])
    scratch = repo / "notes" / "scratch.txt.dvc"
    scratch.write_text(scratch.read_text().replace("  path:", "  labels: [scratch]\n  path:"))
    (repo / "dvc.yaml").write_text(DVC_YAML)
    proc = subprocess.run(
        [dvc_bin, "repro", "-q"], cwd=repo, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    commit(repo)
    return repo


def remote_files(root: Path) -> dict[str, bytes]:
    return tree(root) if root.exists() else {}


def plain_push(project: Path, remote: Path, targets: list[str] | None = None) -> None:
    config = {"core": {"remote": "plain"}, "remote": {"plain": {"url": str(remote)}}}
    with freight.Repo(project, config=config) as repo:
        repo.push(targets).raise_for_failures()


def load(monkeypatch: pytest.MonkeyPatch, project: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FREIGHT_TEST_PROJECT", str(project))
    import freight_render_dags

    return importlib.reload(freight_render_dags)


def test_task_group_renders_one_task_per_output_with_stage_edges(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dags = load(monkeypatch, project)
    tasks = dags.render.task_dict
    assert set(tasks) == {
        "push_outputs.data__raw",
        "push_outputs.data__features",
        "push_outputs.model.bin",
    }  # the `scratch` label is excluded
    raw, features, model = (
        tasks[f"push_outputs.{t}"] for t in ("data__raw", "data__features", "model.bin")
    )
    assert features.upstream_task_ids == {raw.task_id}
    assert model.upstream_task_ids == {features.task_id}
    with freight.Repo(project) as repo:
        uris = {p: r["uri"] for p, r in repo.catalog().lineage().items()}
    for task, path in ((raw, "data/raw"), (features, "data/features"), (model, "model.bin")):
        assert task.targets == [path]
        # the assets are the catalog's, declared at parse time, named by the core's uri rule
        assert uris[path] == f"{URI}/{path}"
        assert [a.uri for a in task.outlets] == [uris[path]]

    remote = tmp_path / "rendered"
    connection(monkeypatch, "freight_render", conn_type="freight", host=str(remote))
    run = run_dag(dags.render)
    assert run.state == "success", task_states(run)
    plain = tmp_path / "plain"
    plain_push(project, plain, ["data/raw", "data/features", "model.bin"])
    assert remote_files(remote) == remote_files(plain) != {}


def test_sharded_push_over_mapped_tasks_equals_a_plain_push(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_support import xcom

    dags = load(monkeypatch, project)
    remote = tmp_path / "sharded"
    connection(monkeypatch, "freight_sharded", conn_type="freight", host=str(remote))
    run = run_dag(dags.sharded)
    assert run.state == "success", task_states(run)
    shards = xcom(run, "plan")
    assert len(shards) == 3 and all("secret" not in str(s) for s in shards)
    moved = [xcom(run, "push_shard", i)["transferred"] for i in range(3)]
    assert sum(moved) == sum(len(s["objects"]) for s in shards) > 0
    final = xcom(run, "push")
    assert final["failed"] == [] and final["missing"] == []
    plain = tmp_path / "plain"
    plain_push(project, plain)
    assert remote_files(remote) == remote_files(plain) != {}
