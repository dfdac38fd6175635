"""Offline Airflow 3 harness: a temporary AIRFLOW_HOME with SQLite, set before Airflow loads.

pytest imports this file before any test module, and nothing above it (tests/conftest.py,
tests/storage_servers.py) imports Airflow; `airflow_support` sets the environment when it is
imported (first thing here), so that is what Airflow reads when it is first imported. The
DAG files live in `dags/` (dag.test() serializes a DAG through the dags-folder bundle, so
its file must be under DAGS_FOLDER). Connections come from AIRFLOW_CONN_* variables that
each test sets. OpenLineage writes to a JSON-lines file.

This suite runs in its own pytest process (`python3 dev.py test` does that).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import airflow_support  # first: sets AIRFLOW_* before anything imports Airflow
import pytest


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> Iterator[None]:
    """The metadata schema, in-process (what `airflow db migrate` does on an empty DB);
    the temporary AIRFLOW_HOME is removed at the end of the session."""
    from airflow.utils.db import initdb

    initdb()
    yield
    shutil.rmtree(airflow_support.HOME, ignore_errors=True)


@pytest.fixture
def secret() -> str:
    """A credential no output may ever show (searched for in every log, value and file)."""
    return f"s3cr3t-{uuid.uuid4().hex}"
