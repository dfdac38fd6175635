"""Environment and helpers of the Prefect suite (imported by its conftest before Prefect).

Importing this module sets PREFECT_HOME (a new temporary directory), turns the server's
telemetry off, raises the ephemeral server's start-up timeout, and gives DVC and Git a
scratch configuration.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workspaces import git, git_repo

HOME = Path(tempfile.mkdtemp(prefix="freight-prefect-home-"))
#: the Git origin of every test repository: the datasets' URIs derive from it
ORIGIN = "https://github.com/example/freight-prefect-test.git"
URI = "freight://github.com/example/freight-prefect-test"

for key in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
    os.environ.pop(key, None)
os.environ.update(
    {
        "PREFECT_HOME": str(HOME),
        # derived from PREFECT_HOME's default when settings load, not from its value: set
        "PREFECT_LOCAL_STORAGE_PATH": str(HOME / "storage"),
        "PREFECT_MEMO_STORE_PATH": str(HOME / "memo_store.toml"),
        "PREFECT_PROFILES_PATH": str(HOME / "profiles.toml"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PREFECT_UI_ENABLED": "false",
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


def make_repo(path: Path, files: dict[str, bytes]) -> Path:
    """A Git + DVC repository whose origin is ORIGIN, with `files` written (not added)."""
    return git_repo(path, files, ORIGIN)


def write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def commit(path: Path, message: str = "data") -> str:
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)
    return git(path, "rev-parse", "HEAD").strip()


def clone(src: Path, dest: Path) -> Path:
    """A fresh clone (metafiles and config only, as `git clone` gives), origin kept."""
    git(src.parent, "clone", "-q", str(src), str(dest))
    git(dest, "remote", "set-url", "origin", ORIGIN)
    return dest


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def dvc_md5s(repo: Path, metafile: str) -> dict[str, Any]:
    """md5, size and nfiles of the output a `.dvc` file records (read as YAML)."""
    import yaml

    out = yaml.safe_load((repo / metafile).read_text())["outs"][0]
    return {"md5": out["md5"], "size": out["size"], "nfiles": out.get("nfiles")}


def captured(worker: Any, name: str) -> list[Any]:
    """The events named `name` (every event for "") that `worker`, Prefect's asserting
    events worker, saw."""
    worker.wait_until_empty()
    return [e for e in worker._client.events if not name or e.event == name]


def run_async(make: Callable[[Any], Any]) -> Any:
    """`await make(client)` with a Prefect API client."""
    from prefect.client.orchestration import get_client

    async def go() -> Any:
        async with get_client() as client:
            return await make(client)

    return asyncio.run(go())


def latest_artifacts() -> dict[str, Any]:
    """The latest artifact of every key, by key."""
    found = run_async(lambda c: c.read_latest_artifacts(limit=200))
    return {a.key: a for a in found}


def flow_logs(flow_run_id: Any) -> list[str]:
    """Every log line of a flow run and its task runs, as stored by the API server."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.instance().drain()
    logs = run_async(
        lambda c: c.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200
        )
    )
    return [log.message for log in logs]


def stored_events(prefix: str, deadline: float = 30.0) -> list[Any]:
    """Events whose name starts with `prefix`, read back from the API server: the server
    writes events in batches, so poll until some arrive (at most `deadline` seconds)."""
    from prefect.events.filters import EventFilter, EventNameFilter

    flt = EventFilter(event=EventNameFilter(prefix=[prefix]))
    end = time.monotonic() + deadline
    while True:
        page = run_async(lambda c: c.read_events(filter=flt, limit=50))
        if page.events or time.monotonic() > end:
            return list(page.events)
        time.sleep(0.5)
