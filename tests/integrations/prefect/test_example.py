"""examples/prefect: its flow runs (pull, featurize, add, push) on the scratch project its
runner builds, and the runner's own check passes on the events the run emitted."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from prefect_support import captured

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "prefect"
sys.path.insert(0, str(EXAMPLE))

from flow import features_flow  # noqa: E402
from prefect_freight import FreightRemote  # noqa: E402
from run_example import build_project, verify  # noqa: E402


def test_example_flow_publishes_the_lineage_its_runner_checks(
    tmp_path: Path, asserting_and_emitting_events_worker: Any
) -> None:
    workspace, remote = build_project(tmp_path)
    FreightRemote(url=str(remote)).save("example-remote", overwrite=True)
    pushed = features_flow(str(workspace), "example-remote")
    events = [
        e
        for e in captured(asserting_and_emitting_events_worker, "")
        if e.event.startswith("prefect.asset.") and e.payload
    ]
    assert len(events) == 3  # pull references data/raw; add and push materialize the features
    verify(workspace, remote, pushed, events)  # exits non-zero on a mismatch
    assert (workspace / "data" / "features.csv").read_text().startswith("part,row,value")
