"""Dagster harness: a scratch DAGSTER_HOME for the session, Dagster's beta/preview warnings
filtered (pitfall P12), and the test project built once (by freight and the real DVC) and
pushed to a local-folder remote; tests work in fresh Git clones of it.

This suite runs in its own pytest process (`python3 dev.py test` does that).
"""

from __future__ import annotations

import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

HOME = Path(tempfile.mkdtemp(prefix="freight-dagster-home-"))
os.environ["DAGSTER_HOME"] = str(HOME)
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("GIT_AUTHOR_NAME", "t")
os.environ.setdefault("GIT_AUTHOR_EMAIL", "t@example.com")
os.environ.setdefault("GIT_COMMITTER_NAME", "t")
os.environ.setdefault("GIT_COMMITTER_EMAIL", "t@example.com")
os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")

import dagster as dg  # noqa: E402
from dagster_support import make_project, push_all  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "ignore::dagster.BetaWarning",
        "ignore::dagster.PreviewWarning",
        "ignore::DeprecationWarning:dagster.*",
    ):
        config.addinivalue_line("filterwarnings", line)
    warnings.filterwarnings("ignore", category=dg.BetaWarning)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory, dvc_bin: str) -> tuple[Path, Path]:
    """The upstream project and the local-folder remote that holds all of its data."""
    base = tmp_path_factory.mktemp("seed")
    project = make_project(base / "upstream", dvc_bin)
    remote = base / "remote"
    push_all(project, remote)
    return project, remote


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def secret() -> str:
    """A credential no output may ever show (searched for everywhere)."""
    return f"s3cr3t-{uuid.uuid4().hex}"
