"""Offline Prefect 3 harness: one API server (a subprocess on 127.0.0.1, temporary SQLite)
for the whole session, with PREFECT_HOME in a new temporary directory.

`prefect_support` sets the environment when it is imported (first thing here), before
anything imports Prefect, which reads its settings then. This suite runs in its own pytest
process (`python3 dev.py test` does that), once on the workspace lock's Prefect and once on
the newest Prefect (`.venv-prefect-newest`).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import prefect_support  # first: sets PREFECT_* before anything imports Prefect
import pytest
from prefect.testing.fixtures import asserting_and_emitting_events_worker  # noqa: F401


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[None]:
    """The test harness (the server takes 15-25 s to start here: wait up to 90 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield
    shutil.rmtree(prefect_support.HOME, ignore_errors=True)


@pytest.fixture
def secret() -> str:
    """A credential no output may ever show (searched for in every log, value and file)."""
    return f"s3cr3t-{uuid.uuid4().hex}"
