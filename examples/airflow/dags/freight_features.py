"""Example DAGs: pull a dataset, transform it, add and push the result, with lineage.

`freight_features` pulls `data/raw` (pushed by another team) from the remote of the
`freight_default` Connection, computes `data/features` from it, records it with
`freight add` and pushes it. The push's outlet is the asset of `data/features`, named by
freight's URI rule (`freight://<git host>/<repository>/<output path>`), so it is known
when the DAG is parsed; every run attaches the pushed md5, size and file count to the
asset event. `features_consumer` is scheduled on that asset and reads the md5 it got.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

from airflow.sdk import DAG, Asset, task
from freight_provider.operators.freight import (
    FreightAddOperator,
    FreightPullOperator,
    FreightPushOperator,
)

REPO_URI = "freight://github.com/example/freight-airflow-example"
RAW = Asset(f"{REPO_URI}/data/raw")
FEATURES = Asset(f"{REPO_URI}/data/features", extra={"owner": "features-team"})
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)

with DAG(
    dag_id="freight_features",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"repo": "."},
    tags=["freight"],
) as features:
    pull = FreightPullOperator(
        task_id="pull_raw",
        repo_path="{{ params.repo }}",
        targets=["data/raw"],
        freight_conn_id="freight_default",
        inlets=[RAW],
    )

    @task
    def transform(repo: str, pulled: dict) -> dict:
        """One features file per raw file: its line count and checksum."""
        raw, out = Path(repo, "data", "raw"), Path(repo, "data", "features")
        out.mkdir(parents=True, exist_ok=True)
        for path in sorted(raw.glob("*.csv")):
            rows = path.read_bytes().splitlines()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            (out / f"{path.stem}.txt").write_text(f"rows={len(rows)}\nsha256={digest}\n")
        return {"from_md5": pulled["lineage"]["data/raw"]["md5"]}

    add = FreightAddOperator(
        task_id="add_features", repo_path="{{ params.repo }}", targets=["data/features"]
    )
    push = FreightPushOperator(
        task_id="push_features",
        repo_path="{{ params.repo }}",
        targets=["data/features"],
        freight_conn_id="freight_default",
        outlets=[FEATURES],
    )
    transform("{{ params.repo }}", pull.output) >> add >> push


with DAG(
    dag_id="features_consumer",
    schedule=[FEATURES],
    start_date=START,
    catchup=False,
    tags=["freight"],
) as consumer:

    @task(inlets=[FEATURES])
    def use_features(*, inlet_events: dict) -> str:
        """The md5 of the features this run uses, from the latest asset event."""
        event = inlet_events[FEATURES][-1]
        return f"features md5 {event.extra['md5']} ({event.extra['nfiles']} files)"

    use_features()
