"""Run the Dagster example offline: `uv run --frozen python examples/dagster/run_example.py`.

1. a scratch Git + DVC project whose data another team pushed to a local-folder remote
   (the remote exists only in the resource: freight reads it in memory);
2. observe the metafiles, then materialise everything in-process (`features` through the
   IO manager), checks included;
3. print each asset's data version and lineage, and verify: every data version is the md5
   the metafile records, every check passed, and observing the unchanged metafiles again
   makes automation request no run. Exits non-zero otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent


#: Dagster logs every engine event at DEBUG to the console by default; INFO keeps the
#: steps' own messages (freight's progress) and drops the engine chatter
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def main(scratch: Path) -> None:
    sys.path.insert(0, str(HERE))
    from project import make_project

    workspace, remote = make_project(scratch)
    os.environ.update(FREIGHT_DAGSTER_REPO=str(workspace), FREIGHT_DAGSTER_REMOTE=str(remote))
    os.environ["DAGSTER_HOME"] = str(scratch / "dagster-home")
    (scratch / "dagster-home").mkdir()

    import dagster as dg
    import freight

    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    from definitions import defs

    with dg.instance_for_test() as instance:
        observed = defs.resolve_job_def("observe_metafiles").execute_in_process(
            instance=instance, run_config=QUIET
        )
        run = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, run_config=QUIET
        )
        if not (observed.success and run.success):
            sys.exit("the example run failed")
        checks = run.get_asset_check_evaluations()
        for event in run.get_asset_materialization_events():
            mat = event.step_materialization_data.materialization
            lineage = {k: v.value for k, v in mat.metadata.items()}
            version = mat.tags["dagster/data_version"]
            print(f"{mat.asset_key.to_user_string()}: data version {version}")
            print("  lineage:", json.dumps(lineage, default=str))
        print(f"checks: {sum(c.passed for c in checks)}/{len(checks)} passed")
        again = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        defs.resolve_job_def("observe_metafiles").execute_in_process(
            instance=instance, run_config=QUIET
        )
        again = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=again.cursor)
        print(f"after observing unchanged metafiles: {again.total_requested} runs requested")

    with freight.Repo(workspace) as repo:
        recorded = {o.path: o.oid for o in repo.catalog().outputs}
    mats = [
        e.step_materialization_data.materialization for e in run.get_asset_materialization_events()
    ]
    versions = {m.metadata["path"].value: m.tags["dagster/data_version"] for m in mats}
    if versions != recorded or not all(c.passed for c in checks) or again.total_requested:
        sys.exit(f"verification failed: {versions} vs {recorded}")
    print(f"verified: {len(versions)} data versions equal the metafiles' md5; nothing re-runs")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="freight-dagster-example-") as tmp:
        main(Path(tmp))
