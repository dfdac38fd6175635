"""Run the Prefect example offline: `uv run --frozen python examples/prefect/run_example.py`.

1. a scratch PREFECT_HOME and a scratch Git + DVC repository whose raw dataset another team
   has pushed to a local-folder remote;
2. that remote exists only in a saved `FreightRemote` block (`example-remote`), never in a
   config file: freight reads it in memory;
3. the flow `freight-features` (pull, featurize, add, push) runs against Prefect's
   ephemeral API server, then the script reads the asset events back from the server,
   prints the lineage they carry and checks it against the `.dvc` files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ORIGIN = "https://github.com/example/freight-prefect-example.git"


def setup_environment(home: Path) -> None:
    """Prefect reads these when it is first imported: set them before."""
    for key in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
        os.environ.pop(key, None)
    os.environ.update(
        {
            "PREFECT_HOME": str(home),
            # derived from the default PREFECT_HOME, not from its value: set them too
            "PREFECT_LOCAL_STORAGE_PATH": str(home / "storage"),
            "PREFECT_MEMO_STORE_PATH": str(home / "memo_store.toml"),
            "PREFECT_PROFILES_PATH": str(home / "profiles.toml"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
    )


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "example", "GIT_AUTHOR_EMAIL": "e@example.com"}
    env.update(GIT_COMMITTER_NAME="example", GIT_COMMITTER_EMAIL="e@example.com")
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def build_project(scratch: Path) -> tuple[Path, Path]:
    """Another team versions `data/raw` and pushes it; the workspace is a Git clone."""
    import freight

    upstream, remote = scratch / "upstream", scratch / "remote"
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
    workspace = scratch / "workspace"
    git(scratch, "clone", "-q", str(upstream), str(workspace))
    git(workspace, "remote", "set-url", "origin", ORIGIN)
    return workspace, remote


def asset_events(run_id: Any, wanted: int, deadline: float = 30.0) -> list[Any]:
    """The flow run's asset events, read back from the API server (it writes events in
    batches every few seconds: poll until all `wanted` have arrived)."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter

    flt = EventFilter(
        event=EventNameFilter(prefix=["prefect.asset."]),
        related=EventRelatedFilter(id=[f"prefect.flow-run.{run_id}"]),
    )
    end = time.monotonic() + deadline
    while True:
        with get_client(sync_client=True) as client:
            events = [e for e in client.read_events(filter=flt, limit=50).events if e.payload]
        if len(events) >= wanted or time.monotonic() > end:
            return sorted(events, key=lambda e: e.occurred)
        time.sleep(0.5)


def main(scratch: Path) -> None:
    setup_environment(scratch / "prefect-home")
    workspace, remote = build_project(scratch)
    sys.path.insert(0, str(HERE))
    from flow import features_flow
    from prefect.events.worker import EventsWorker
    from prefect_freight import FreightRemote

    FreightRemote(url=str(remote)).save("example-remote", overwrite=True)
    state = features_flow(str(workspace), "example-remote", return_state=True)
    if not state.is_completed():
        sys.exit(f"freight-features ended {state.name}")
    pushed = state.result()
    EventsWorker.drain_all()  # every event of the run sent before reading them back
    # pull references data/raw; add and push materialize data/features.csv
    events = asset_events(state.state_details.flow_run_id, wanted=3)
    for event in events:
        print(f"{event.event} {event.resource.id}")
        print("  lineage:", json.dumps(event.payload, sort_keys=True))
    print("push result:", json.dumps({k: pushed[k] for k in ("transferred", "bytes", "remote")}))
    verify(workspace, remote, pushed, events)


def verify(workspace: Path, remote: Path, pushed: dict[str, Any], events: list[Any]) -> None:
    """The events carry the md5s the `.dvc` files record; the features are on the remote."""
    import yaml

    recorded = {
        out: yaml.safe_load((workspace / f"{out}.dvc").read_text())["outs"][0]["md5"]
        for out in ("data/raw", "data/features.csv")
    }
    seen = {(e.event.rsplit(".", 1)[-1], e.payload["path"]): e.payload["md5"] for e in events}
    expected = {
        ("referenced", "data/raw"): recorded["data/raw"],
        ("succeeded", "data/features.csv"): recorded["data/features.csv"],
    }
    md5 = recorded["data/features.csv"]
    on_remote = (remote / "files" / "md5" / md5[:2] / md5[2:]).exists()
    if seen != expected or pushed["lineage"]["data/features.csv"]["md5"] != md5 or not on_remote:
        sys.exit(f"lineage mismatch: events {seen}, .dvc files {recorded}")
    done = [e for e in events if e.event.endswith("succeeded")]
    upstream = sorted({r.id for e in done for r in e.related if r.role == "asset"})
    if upstream != [e.resource.id for e in events if e.event.endswith("referenced")]:
        sys.exit(f"the features' materializations do not name data/raw upstream: {upstream}")
    print(f"verified: data/features.csv {md5} pushed to {remote}, derived from {upstream[0]}")


if __name__ == "__main__":
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="freight-prefect-example-") as tmp:
        main(Path(tmp))
    print(f"done in {time.monotonic() - started:.0f} s")
