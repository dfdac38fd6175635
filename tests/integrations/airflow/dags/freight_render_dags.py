"""DAGs rendered from a project when parsed: FreightTaskGroup and a sharded push.

The project is read at parse time, so its path comes from the environment
(`FREIGHT_TEST_PROJECT`); without it this file defines no DAG.
"""

from __future__ import annotations

import datetime
import os

from airflow.sdk import DAG
from freight_provider.operators.freight import FreightPlanOperator, FreightPushOperator
from freight_provider.task_group import FreightTaskGroup

PROJECT = os.environ.get("FREIGHT_TEST_PROJECT")
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)

if PROJECT:
    with DAG(dag_id="freight_render", schedule=None, start_date=START, catchup=False) as render:
        FreightTaskGroup(
            "push_outputs",
            repo_path=PROJECT,
            verb="push",
            freight_conn_id="freight_render",
            exclude=["label:scratch"],
        )

    with DAG(dag_id="freight_sharded", schedule=None, start_date=START, catchup=False) as sharded:
        plan = FreightPlanOperator(
            task_id="plan",
            repo_path=PROJECT,
            direction="push",
            shards=3,
            freight_conn_id="freight_sharded",
        )
        shards = FreightPushOperator.partial(
            task_id="push_shard", repo_path=PROJECT, freight_conn_id="freight_sharded"
        ).expand(shard=plan.output)
        done = FreightPushOperator(
            task_id="push",
            repo_path=PROJECT,
            freight_conn_id="freight_sharded",
            trigger_rule="none_failed",
        )
        plan >> shards >> done
