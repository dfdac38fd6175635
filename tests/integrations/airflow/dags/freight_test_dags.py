"""The DAGs the Airflow suite runs with dag.test(): repository and connection come as params."""

from __future__ import annotations

import datetime

from airflow.sdk import DAG, Asset, task
from freight_provider.operators.freight import (
    FreightAddOperator,
    FreightCheckoutOperator,
    FreightFetchOperator,
    FreightPullOperator,
    FreightPushOperator,
    FreightStatusOperator,
)
from freight_provider.sensors.freight import FreightSensor

URI = "freight://github.com/example/freight-airflow-test"
DATA = Asset(f"{URI}/data", extra={"owner": "tests"})
MODEL = Asset(f"{URI}/model.bin")
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
PARAMS = {"repo": "", "conn": "freight_default", "remote": ""}


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id=dag_id, schedule=None, start_date=START, catchup=False, params=PARAMS)


with _dag("freight_add_push") as add_push:
    add = FreightAddOperator(
        task_id="add", repo_path="{{ params.repo }}", targets=["data", "model.bin"]
    )
    push = FreightPushOperator(
        task_id="push",
        repo_path="{{ params.repo }}",
        freight_conn_id="{{ params.conn }}",
        remote="{{ params.remote }}",
        outlets=[DATA, MODEL],
    )

    @task
    def report(info: dict) -> str:
        return info["lineage"]["data"]["md5"]

    add >> push
    report(push.output)


with _dag("freight_pull") as pull_dag:
    FreightPullOperator(
        task_id="pull",
        repo_path="{{ params.repo }}",
        freight_conn_id="{{ params.conn }}",
        inlets=[DATA],
    )

with _dag("freight_fetch_checkout_status") as fetch_checkout:
    fetch = FreightFetchOperator(
        task_id="fetch", repo_path="{{ params.repo }}", freight_conn_id="{{ params.conn }}"
    )
    checkout = FreightCheckoutOperator(task_id="checkout", repo_path="{{ params.repo }}")
    status = FreightStatusOperator(task_id="status", repo_path="{{ params.repo }}")
    cloud = FreightStatusOperator(
        task_id="cloud_status",
        repo_path="{{ params.repo }}",
        freight_conn_id="{{ params.conn }}",
        cloud=True,
    )
    fetch >> checkout >> status >> cloud

with _dag("freight_pull_allow_missing") as pull_allow_missing:
    FreightPullOperator(
        task_id="pull",
        repo_path="{{ params.repo }}",
        freight_conn_id="{{ params.conn }}",
        allow_missing=True,
    )

with _dag("freight_sensor") as sensor_dag:
    FreightSensor(
        task_id="wait",
        repo_path="{{ params.repo }}",
        freight_conn_id="{{ params.conn }}",
        mode="reschedule",
        poke_interval=1,
        timeout=60,
    )
