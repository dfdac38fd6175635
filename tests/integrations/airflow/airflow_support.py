"""Environment and helpers of the Airflow suite (imported by its conftest before Airflow).

Importing this module sets AIRFLOW_HOME (a new temporary directory), SQLite, the DAG folder,
the OpenLineage file transport, and a scratch DVC/Git configuration.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from workspaces import git, git_repo

HERE = Path(__file__).resolve().parent
DAGS = HERE / "dags"
HOME = Path(tempfile.mkdtemp(prefix="freight-airflow-home-"))
OL_FILE = HOME / "openlineage.jsonl"
#: the Git origin of every test repository: the datasets' URIs derive from it
ORIGIN = "https://github.com/example/freight-airflow-test.git"
URI = "freight://github.com/example/freight-airflow-test"

os.environ.update(
    {
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME}/airflow.db",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(OL_FILE), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "freight-tests",
        # freight and git: no user or system configuration of this machine
        "DVC_GLOBAL_CONFIG_DIR": str(HOME / "dvc-global"),
        "DVC_SYSTEM_CONFIG_DIR": str(HOME / "dvc-system"),
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
)
sys.path.insert(0, str(DAGS))


def make_repo(path: Path, files: dict[str, bytes]) -> Path:
    """A Git + DVC repository whose origin is ORIGIN, with `files` written (not added)."""
    return git_repo(path, files, ORIGIN)


def commit(path: Path, message: str = "data") -> str:
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)
    return git(path, "rev-parse", "HEAD").strip()


def clone(src: Path, dest: Path) -> Path:
    """A fresh clone (metafiles and config only, as `git clone` gives), origin kept."""
    git(src.parent, "clone", "-q", str(src), str(dest))
    git(dest, "remote", "set-url", "origin", ORIGIN)
    return dest


def connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    """Define an Airflow Connection through its AIRFLOW_CONN_* variable (JSON form)."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def ol_events() -> list[dict[str, Any]]:
    if not OL_FILE.exists():
        return []
    return [json.loads(line) for line in OL_FILE.read_text().splitlines() if line.strip()]


def run_dag(dag: Any, **conf: Any) -> Any:
    """`dag.test()` with `conf` as the run's params; returns the DagRun."""
    return dag.test(run_conf={k: str(v) for k, v in conf.items()})


def xcom(dag_run: Any, task_id: str, map_index: int = -1) -> Any:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = (
            session.query(TaskInstance)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id)
            .filter_by(map_index=map_index)
            .one()
        )
        return ti.xcom_pull(task_ids=task_id, map_indexes=map_index)


def task_states(dag_run: Any) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id)
        return {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in tis}


def asset_events(uri: str) -> list[dict[str, Any]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == uri)
            .order_by(AssetEvent.id)
        )
        return [dict(e.extra) for e in rows]
