"""`freight_assets` on the local-folder remote: a fresh clone materialised byte for byte,
metadata and data versions equal to the metafiles' md5, the translator, subsets, checks,
a missing object, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import freight
import pytest
from dagster_freight import (
    REMOTE_CHECK,
    WORKSPACE_CHECK,
    FreightResource,
    FreightTranslator,
    freight_assets,
)
from dagster_support import (
    FILES,
    URI,
    check_results,
    clone,
    materializations,
    metafile_md5,
    tree,
)

ALL = {"data/raw", "model.bin", "data/features.csv"}


def workspace_state(work: Path) -> dict[str, bytes]:
    """Everything but freight's own scratch files (state database, remote index)."""
    return {k: v for k, v in tree(work).items() if not k.startswith((".dvc/tmp", ".git/"))}


def test_materialize_all_reproduces_the_project(
    seeded: tuple[Path, Path], tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    upstream, remote = seeded
    work = clone(upstream, tmp_path / "work")
    (assets,) = freight_assets(str(work))
    specs = {s.key.to_user_string(): s for s in assets.specs}
    assert set(specs) == ALL and assets.can_subset
    raw = specs["data/raw"]
    assert raw.description == "Raw samples" and raw.owners == ["team:ingest"]
    assert raw.kinds == {"freight"}  # the remote is not in the repository's config
    assert raw.metadata["meta"].value == {
        "owner_team": "ingest",
        "dagster": {"owners": ["team:ingest"]},
    }
    assert raw.tags["freight/type"] == "dataset" and "freight/label-raw" in raw.tags
    assert {d.asset_key for d in specs["data/features.csv"].deps} == {raw.key}
    assert not list(specs["model.bin"].deps)

    resource = FreightResource(repo_path=str(work), remote_url=str(remote))
    result = dg.materialize([assets], resources={"freight": resource}, instance=instance)
    assert result.success
    assert tree(work / "data" / "raw") == tree(upstream / "data" / "raw")
    assert (work / "model.bin").read_bytes() == FILES["model.bin"]
    assert (work / "data" / "features.csv").read_bytes() == (
        upstream / "data" / "features.csv"
    ).read_bytes()
    mats = materializations(result)
    assert set(mats) == ALL
    rev = mats["model.bin"].metadata["rev"].value
    for key, mat in mats.items():
        md5 = metafile_md5(work, key)
        assert mat.metadata["md5"].value == md5 == mat.tags["dagster/data_version"]
        assert mat.metadata["uri"].value == f"{URI}/{key}"
        assert mat.metadata["remote"].value == "freight"
        assert mat.metadata["remote_url"].value == str(remote)
        assert mat.metadata["rev"].value == rev and len(rev) == 40
    assert mats["data/raw"].metadata["nfiles"].value == 2
    assert mats["data/raw"].metadata["size"].value == 18
    assert mats["model.bin"].metadata["size"].value == len(FILES["model.bin"])
    found = check_results(result)
    assert len(found) == 6 and all(c.passed for c in found.values())
    stored = instance.get_latest_materialization_event(dg.AssetKey(["data", "raw"]))
    assert stored is not None and stored.asset_materialization is not None
    assert stored.asset_materialization.metadata["md5"].value == metafile_md5(work, "data/raw")


def test_subset_and_translator(
    seeded: tuple[Path, Path], tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    upstream, remote = seeded
    work = clone(upstream, tmp_path / "work")
    (work / ".dvc" / "config").write_text(
        f"[core]\n    remote = store\n['remote \"store\"']\n    url = {remote}\n"
    )

    class Prefixed(FreightTranslator):
        def get_asset_key(self, output):  # type: ignore[no-untyped-def]
            return super().get_asset_key(output).with_prefix("lake")

        def get_group_name(self, output):  # type: ignore[no-untyped-def]
            return "lake"

    (assets,) = freight_assets(str(work), exclude=["label:raw"], translator=Prefixed())
    keys = {s.key.to_user_string(): s for s in assets.specs}
    assert set(keys) == {"lake/model.bin", "lake/data/features.csv"}
    assert keys["lake/model.bin"].group_name == "lake"
    assert keys["lake/model.bin"].kinds == {"freight", "local"}
    assert not list(keys["lake/data/features.csv"].deps)  # data/raw is not selected

    resource = FreightResource(repo_path=str(work))  # the repository's own remote
    result = dg.materialize(
        [assets], resources={"freight": resource}, instance=instance, selection=["lake/model.bin"]
    )
    assert result.success
    assert set(materializations(result)) == {"lake/model.bin"}
    assert set(check_results(result)) == {
        ("lake/model.bin", REMOTE_CHECK),
        ("lake/model.bin", WORKSPACE_CHECK),
    }
    assert (work / "model.bin").read_bytes() == FILES["model.bin"]
    assert not (work / "data" / "features.csv").exists() and not (work / "data" / "raw").exists()

    only = freight_assets(str(work), select=["stage:featurize"])[0]
    assert [s.key.to_user_string() for s in only.specs] == ["data/features.csv"]
    with pytest.raises(ValueError, match="no output"):
        freight_assets(str(work), select=["nothing/*"])


def test_missing_object_fails_check_and_materialization(
    seeded: tuple[Path, Path], tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    upstream, remote = seeded
    work = clone(upstream, tmp_path / "work")
    broken = tmp_path / "broken-remote"
    shutil.copytree(remote, broken)
    md5 = metafile_md5(work, "model.bin")
    (obj,) = broken.rglob(md5[2:])
    obj.unlink()
    (assets,) = freight_assets(str(work))
    resources = {"freight": FreightResource(repo_path=str(work), remote_url=str(broken))}
    before, remote_before = workspace_state(work), tree(broken)

    key = dg.AssetKey("model.bin")
    checks_only = dg.AssetSelection.checks(dg.AssetCheckKey(key, REMOTE_CHECK))
    result = dg.materialize([assets], resources=resources, instance=instance, selection=checks_only)
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.metadata["missing"].value == ["model.bin"]
    assert "model.bin" in (check.description or "")
    assert not materializations(result)

    result = dg.materialize(
        [assets],
        resources=resources,
        instance=instance,
        selection=["model.bin"],
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert f"model.bin ({md5}) is in neither the cache nor remote 'freight'" in message
    assert not materializations(result)
    checks = check_results(result)
    assert not checks[("model.bin", REMOTE_CHECK)].passed
    assert ("model.bin", WORKSPACE_CHECK) not in checks
    assert workspace_state(work) == before and tree(broken) == remote_before

    # in the cache but never pushed: the pull works, the remote check fails; blocking
    # (where the translator says so) stops the asset downstream
    complete = {"freight": FreightResource(repo_path=str(work), remote_url=str(remote))}
    assert dg.materialize([assets], resources=complete, selection=["model.bin"]).success

    @dg.asset(deps=[key])
    def downstream() -> None:
        return None

    for blocking in (False, True):
        (defs,) = freight_assets(str(work), translator=FreightTranslator(blocking_checks=blocking))
        result = dg.materialize(
            [defs, downstream],
            resources=resources,
            instance=instance,
            selection=["model.bin", "downstream"],
            raise_on_error=False,
        )
        assert not check_results(result)[("model.bin", REMOTE_CHECK)].passed
        assert set(materializations(result)) == (
            {"model.bin"} | (set() if blocking else {"downstream"})
        )
        assert result.success is not blocking


def test_bad_input_is_one_line_naming_it(
    seeded: tuple[Path, Path], tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    upstream, remote = seeded
    work = clone(upstream, tmp_path / "work")
    (assets,) = freight_assets(str(work))
    before = workspace_state(work)
    resource = FreightResource(
        repo_path=str(work), remote_url=str(remote), remote_options={"no_such_option": "1"}
    )
    result = dg.materialize(
        [assets], resources={"freight": resource}, instance=instance, raise_on_error=False
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert "no_such_option" in message and "\n" not in message.strip()
    assert workspace_state(work) == before

    (work / "model.bin.dvc").write_text("outs:\n- md5: [not, a, hash]\n  path: model.bin\n")
    with pytest.raises(freight.MetafileError) as caught:
        freight_assets(str(work))
    assert "model.bin.dvc" in str(caught.value) and "\n" not in str(caught.value)
