"""Run the Airflow example offline: `python3 dev.py airflow-example`.

1. a scratch Airflow home (SQLite) and a scratch Git + DVC repository whose raw dataset
   another team has pushed to a local-folder remote;
2. that remote exists only in the Connection `freight_default` (`AIRFLOW_CONN_FREIGHT_DEFAULT`),
   never in a config file: freight reads it in memory;
3. `dag.test()` runs `freight_features` (pull, transform, add, push) and then
   `features_consumer`, and the script prints the XCom and asset-event lineage.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORIGIN = "https://github.com/example/freight-airflow-example.git"


def setup_environment(home: Path, remote: Path) -> None:
    """Airflow reads these when it is first imported: set them before."""
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(HERE / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(home / "ol.jsonl"), "append": True}
            ),
            "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW_CONN_FREIGHT_DEFAULT": json.dumps(
                {"conn_type": "freight", "host": str(remote)}
            ),
        }
    )


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "example", "GIT_AUTHOR_EMAIL": "e@example.com"}
    env.update(GIT_COMMITTER_NAME="example", GIT_COMMITTER_EMAIL="e@example.com")
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def upstream_team(upstream: Path, remote: Path) -> None:
    """Another team versions `data/raw` and pushes it; the workspace gets a Git clone."""
    import freight

    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    git(upstream, "remote", "add", "origin", ORIGIN)
    raw = upstream / "data" / "raw"
    raw.mkdir(parents=True)
    for i in range(3):
        (raw / f"part-{i}.csv").write_text("".join(f"{i},{j},{i * j}\n" for j in range(10 + i)))
    config = {"core": {"remote": "team"}, "remote": {"team": {"url": str(remote)}}}
    with freight.Repo.init(upstream) as repo:
        repo.add(["data/raw"])
    with freight.Repo(upstream, config=config) as repo:
        repo.push().raise_for_failures()
    git(upstream, "add", "-A")
    git(upstream, "commit", "-q", "-m", "raw data")


def main(scratch: Path) -> None:
    home, remote = scratch / "airflow-home", scratch / "remote"
    home.mkdir()
    setup_environment(home, remote)
    upstream_team(scratch / "upstream", remote)
    workspace = scratch / "workspace"
    git(scratch, "clone", "-q", str(scratch / "upstream"), str(workspace))
    git(workspace, "remote", "set-url", "origin", ORIGIN)

    from airflow.models import TaskInstance
    from airflow.models.asset import AssetEvent
    from airflow.utils.db import initdb
    from airflow.utils.session import create_session

    sys.path.insert(0, str(HERE / "dags"))
    from freight_features import consumer, features

    initdb()
    run = features.test(run_conf={"repo": str(workspace)})
    if run.state != "success":
        sys.exit(f"freight_features ended {run.state}")
    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id="freight_features", run_id=run.run_id)
        xcoms = {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in tis}
        events = [(e.asset.uri, e.extra) for e in session.query(AssetEvent)]
    pushed = xcoms["push_features"]
    print("pull_raw lineage:", json.dumps(xcoms["pull_raw"]["lineage"], indent=2))
    print("push_features XCom:", json.dumps(pushed, indent=2))
    for uri, extra in events:
        print(f"asset event {uri}: {json.dumps(extra)}")

    used = consumer.test()
    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id="features_consumer", run_id=used.run_id)
        print("features_consumer:", ti.one().xcom_pull(task_ids="use_features"))
    md5 = pushed["lineage"]["data/features"]["md5"]
    if used.state != "success" or md5 not in str(events):
        sys.exit("the asset event does not carry the pushed md5")
    print(f"verified: data/features {md5} pushed to {remote}, on the asset event and downstream")
    print(f"OpenLineage: output dataset version {openlineage_version(scratch, md5)}")


def openlineage_version(scratch: Path, md5: str) -> str:
    """The dataset version OpenLineage recorded for the push (its events are written by a
    thread shortly after the task ends: wait for them, so none is lost at exit)."""
    log = scratch / "airflow-home" / "ol.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines() if log.exists() else []:
            for output in json.loads(line).get("outputs") or []:
                version = output.get("facets", {}).get("version", {}).get("datasetVersion")
                if version == md5:
                    _settle(log, deadline)
                    return f"{output['namespace']}/{output['name']} = {version}"
        time.sleep(0.2)
    sys.exit("no OpenLineage event carries the pushed md5")


def _settle(log: Path, deadline: float) -> None:
    """Wait until the other runs' events are written too (the file stops growing)."""
    size, still = -1, 0.0
    while still < 2.0 and time.monotonic() < deadline:
        now = log.stat().st_size
        still = still + 0.2 if now == size else 0.0
        size = now
        time.sleep(0.2)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="freight-airflow-example-") as tmp:
        main(Path(tmp))
