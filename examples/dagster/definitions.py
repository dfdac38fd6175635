"""A Dagster code location over a freight project.

- every tracked output of the project is an asset (`freight_assets`): materialising it
  pulls exactly that output; its data version is the md5 its metafile records;
- an observable source asset per output reads that md5 from the metafile (no data read),
  and an eager automation condition pulls an output when a new version is committed;
- each output has two checks: the remote holds every object, the workspace matches;
- `features`, a user asset downstream of `data/raw`, is written through `FreightIOManager`
  (added and pushed, lineage and md5 recorded); `eager_on_new_data()` re-runs it only when
  the pulled data's md5 changed.

The project and remote come from FREIGHT_DAGSTER_REPO and FREIGHT_DAGSTER_REMOTE; without
them (e.g. `dagster definitions validate -f examples/dagster/definitions.py`), a scratch
project is made in a temporary folder. No `from __future__ import annotations`: Dagster
reads the assets' annotations.
"""

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_freight import (
    FreightIOManager,
    FreightResource,
    FreightTranslator,
    eager_on_new_data,
    freight_assets,
)

if "FREIGHT_DAGSTER_REPO" not in os.environ:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from project import make_project

    _work, _remote = make_project(Path(tempfile.mkdtemp(prefix="freight-dagster-example-")))
    os.environ["FREIGHT_DAGSTER_REPO"] = str(_work)
    os.environ["FREIGHT_DAGSTER_REMOTE"] = str(_remote)

REPO = os.environ["FREIGHT_DAGSTER_REPO"]
RAW = dg.AssetKey(["data", "raw"])


class PullNewVersions(FreightTranslator):
    """Group the project's outputs and pull each one when its metafile changes."""

    def get_group_name(self, output: Any) -> str:
        return "project"

    def get_automation_condition(self, output: Any) -> dg.AutomationCondition[Any]:
        return dg.AutomationCondition.eager()


project_assets = freight_assets(
    REPO, translator=PullNewVersions(remote_url=os.environ["FREIGHT_DAGSTER_REMOTE"]), observe=True
)


@dg.asset(
    io_manager_key="freight_io",
    ins={"raw": dg.AssetIn(key=RAW, input_manager_key="freight_io")},
    automation_condition=eager_on_new_data(),
    code_version="1",
    group_name="features",
)
def features(context: dg.AssetExecutionContext, raw: Path) -> bytes:
    """Per part: its row count and the sum of its last column."""
    lines = []
    for part in sorted(raw.glob("*.csv")):
        rows = [line.split(",") for line in part.read_text().splitlines()]
        lines.append(f"{part.name},{len(rows)},{sum(int(r[-1]) for r in rows)}\n")
    context.log.info("features of %d parts", len(lines))
    return "".join(lines).encode()


freight = FreightResource(repo_path=REPO, remote_url=os.environ["FREIGHT_DAGSTER_REMOTE"])
observe_metafiles = dg.define_asset_job(
    "observe_metafiles", selection=dg.AssetSelection.key_prefixes("metafile")
)

defs = dg.Definitions(
    assets=[*project_assets, features],
    jobs=[observe_metafiles],
    schedules=[dg.ScheduleDefinition(job=observe_metafiles, cron_schedule="*/5 * * * *")],
    resources={"freight": freight, "freight_io": FreightIOManager(freight=freight)},
)
