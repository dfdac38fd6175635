"""Skip-if-unchanged: the md5 as data version drives staleness and automation, both ways;
and observing the metafiles shows a new version before anything is transferred."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import freight
from dagster._utils.test.data_versions import get_stale_status_resolver  # no public equivalent
from dagster_freight import (
    FreightIOManager,
    FreightResource,
    FreightTranslator,
    eager_on_new_data,
    freight_assets,
)
from dagster_support import clone, commit, git, metafile_md5, push_all

RAW = dg.AssetKey(["data", "raw"])
OBSERVED = dg.AssetKey(["metafile", "data", "raw"])


class Eager(FreightTranslator):
    """Pull an output whenever its observed metafile records a new md5."""

    def get_automation_condition(self, output: Any) -> dg.AutomationCondition[Any]:
        return dg.AutomationCondition.eager()


@dg.asset(
    io_manager_key="freight_io",
    ins={"raw": dg.AssetIn(key=RAW, input_manager_key="freight_io")},
    automation_condition=eager_on_new_data(),
    code_version="1",
)
def report(raw: Path) -> str:
    return "".join(sorted(p.name for p in raw.rglob("*") if p.is_file()))


@dg.asset(deps=[RAW], automation_condition=dg.AutomationCondition.eager(), code_version="1")
def plain_eager() -> None:
    """Dagster's own eager(): every new materialization upstream counts as an update."""


def requested(result: dg.EvaluateAutomationConditionsResult) -> set[str]:
    return {
        key.to_user_string()
        for key in (RAW, report.key, plain_eager.key)
        if result.get_requested_partitions(key)
    }


def test_unchanged_data_stays_fresh_and_new_data_is_stale(
    seeded: tuple[Path, Path], tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    upstream, seed_remote = seeded
    remote = tmp_path / "remote"
    shutil.copytree(seed_remote, remote)
    work = clone(upstream, tmp_path / "work")
    resource = FreightResource(repo_path=str(work), remote_url=str(remote))
    resources = {"freight": resource, "freight_io": FreightIOManager(freight=resource)}
    pulled, observed = freight_assets(
        str(work), select=["data/raw"], observe=True, translator=Eager()
    )
    assets = [observed, pulled, report, plain_eager]
    job = dg.define_asset_job(
        "observe",
        selection=dg.AssetSelection.all(include_sources=True)
        - dg.AssetSelection.assets(pulled, report, plain_eager),
    )
    defs = dg.Definitions(assets=assets, jobs=[job], resources=resources)

    def observe() -> None:
        run = defs.resolve_job_def("observe").execute_in_process(instance=instance)
        assert run.success

    def status(key: dg.AssetKey) -> tuple[str, set[str]]:
        resolver = get_stale_status_resolver(instance, assets)
        causes = {c.category.value for c in resolver.get_stale_causes(key)}
        return resolver.get_status(key).value, causes

    def tick(cursor: Any = None) -> dg.EvaluateAutomationConditionsResult:
        return dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)

    observe()
    assert dg.materialize(assets[1:], resources=resources, instance=instance).success
    ticked = tick()
    first_md5 = metafile_md5(work, "data/raw")
    assert status(RAW) == ("FRESH", set()) and status(report.key) == ("FRESH", set())

    # the same bytes again: observed, then pulled again -> nothing stale, nothing requested
    observe()
    ticked = tick(ticked.cursor)
    assert requested(ticked) == set()
    assert dg.materialize([pulled], resources=resources, instance=instance).success
    assert status(report.key) == ("FRESH", set())
    ticked = tick(ticked.cursor)
    assert requested(ticked) == {"plain_eager"}  # Dagster's eager() ignores the data version
    latest = instance.get_latest_materialization_event(RAW)
    assert latest is not None and latest.asset_materialization is not None
    assert latest.asset_materialization.tags["dagster/data_version"] == first_md5

    # someone commits new data: observing the metafile shows it before any transfer
    other = clone(upstream, tmp_path / "other")
    new_md5 = new_commit(other, work, remote, b"hello again\n")
    assert new_md5 != first_md5
    observe()
    assert status(RAW) == ("STALE", {"DATA"})
    assert not (work / "data" / "raw" / "a.txt").read_bytes().endswith(b"again\n")  # not moved

    # pulling the new version makes the asset downstream stale, and automation asks for it
    assert dg.materialize(
        [observed, pulled], resources=resources, instance=instance, selection=[RAW]
    ).success
    assert (work / "data" / "raw" / "a.txt").read_bytes() == b"hello again\n"
    state, causes = status(report.key)
    assert state == "STALE" and "DATA" in causes
    ticked = tick(ticked.cursor)
    assert "report" in requested(ticked)
    assert dg.materialize(
        assets, resources=resources, instance=instance, selection=[report]
    ).success
    assert status(report.key) == ("FRESH", set())
    ticked = tick(ticked.cursor)
    assert requested(ticked) == set()

    # and automation pulls a newly committed version by itself (then runs what follows)
    new_commit(other, work, remote, b"third\n")
    observe()
    ticked = tick(ticked.cursor)
    assert {"data/raw", "report"} <= requested(ticked)

    # the IO manager never loads a version other than the one data/raw was materialised as
    stale = dg.materialize(
        assets, resources=resources, instance=instance, selection=[report], raise_on_error=False
    )
    assert not stale.success
    (failure,) = stale.get_step_failure_events()
    message = str(failure.step_failure_data.error)  # type: ignore[union-attr]
    assert "metafile now records" in message and "materialise data/raw again" in message


def new_commit(other: Path, work: Path, remote: Path, text: bytes) -> str:
    """Another clone commits and pushes new `data/raw`; `work` pulls the commit (Git only)."""
    (other / "data" / "raw" / "sub").mkdir(parents=True, exist_ok=True)
    (other / "data" / "raw" / "a.txt").write_bytes(text)
    (other / "data" / "raw" / "sub" / "b.csv").write_bytes(b"x,y\n5,6\n")
    with freight.Repo(other) as repo:
        repo.add(["data/raw"])
    push_all(other, remote)
    commit(other, "new raw data")
    git(work, "pull", "-q", str(other), "main")
    return metafile_md5(work, "data/raw")
