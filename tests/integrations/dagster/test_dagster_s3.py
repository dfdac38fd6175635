"""Against the S3 test server (moto, a real server process): a project materialised from
S3, the IO manager's round trip (bytes, text, a folder, a pickled object), `dvc pull` of
what it pushed in a fresh clone, and the search for the secret everywhere.

No `from __future__ import annotations`: Dagster reads the assets' annotations."""

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap  # the UI's view
from dagster._serdes import serialize_value
from dagster_freight import FreightIOManager, FreightResource, freight_assets
from dagster_support import FILES, clone, commit, materializations, metafile_md5, push_all, tree
from storage_servers import Server, make_bucket
from workspaces import dvc_pull_s3

KEY_ID = "AKIDFREIGHTDAGSTER"


@dg.asset(io_manager_key="freight_io", metadata={"freight/path": "reports/summary.txt"})
def summary() -> str:
    return "two files\n"


@dg.asset(io_manager_key="freight_io")
def blob(summary: str) -> bytes:
    return summary.upper().encode()


@dg.asset(io_manager_key="freight_io")
def folder(scratch: dg.ResourceParam[str], blob: bytes) -> Path:
    out = Path(scratch) / "folder"
    (out / "inner").mkdir(parents=True, exist_ok=True)
    (out / "one.bin").write_bytes(blob)
    (out / "inner" / "two.txt").write_text("two\n")
    return out


@dg.asset(io_manager_key="freight_io")
def stats(folder: Path, blob: bytes) -> dict[str, Any]:
    return {"files": sorted(p.name for p in folder.rglob("*") if p.is_file()), "blob": len(blob)}


@dg.asset
def consumer(stats: dict[str, Any], folder: Path) -> None:
    assert stats == {"files": ["one.bin", "two.txt"], "blob": 10}
    assert (folder / "one.bin").read_bytes() == b"TWO FILES\n"


def read_files(*roots: Path) -> dict[Path, bytes]:
    """Every file under `roots` (files that vanish while being listed are skipped)."""
    found: dict[Path, bytes] = {}
    for path in (p for root in roots for p in root.rglob("*")):
        try:
            if path.is_file():
                found[path] = path.read_bytes()
        except FileNotFoundError:
            continue
    return found


def test_s3_materialize_io_manager_dvc_pull_and_no_secret(
    seeded: tuple[Path, Path],
    tmp_path: Path,
    moto_s3: Server,
    dvc_bin: str,
    secret: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    upstream, _ = seeded
    bucket = make_bucket(moto_s3)
    url = f"s3://{bucket}/dvc"
    options = {"endpointurl": moto_s3.endpoint, "region": "us-east-1"}
    push_all(upstream, url, {**moto_s3.dvc_options})
    monkeypatch.setenv("FREIGHT_TEST_KEY_ID", KEY_ID)
    monkeypatch.setenv("FREIGHT_TEST_SECRET", secret)
    work = clone(upstream, tmp_path / "work")
    resource = FreightResource(
        repo_path=str(work),
        remote_url=url,
        remote_options=options,
        login=dg.EnvVar("FREIGHT_TEST_KEY_ID"),
        password=dg.EnvVar("FREIGHT_TEST_SECRET"),
    )
    scratch = tmp_path / "scratch"
    resources = {
        "freight": resource,
        "freight_io": FreightIOManager(freight=resource),
        "scratch": str(scratch),
    }
    (pulled,) = freight_assets(str(work))
    assets = [pulled, summary, blob, folder, stats, consumer]
    defs = dg.Definitions(assets=assets, resources=resources)
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance)
        assert result.success
        assert tree(work / "data" / "raw") == tree(upstream / "data" / "raw")
        assert (work / "model.bin").read_bytes() == FILES["model.bin"]
        mats = materializations(result)
        for key, path in {
            "data/raw": "data/raw",
            "summary": "reports/summary.txt",
            "blob": "blob",
            "folder": "folder",
            "stats": "stats",
        }.items():
            md5 = metafile_md5(work, path)
            assert mats[key].metadata["md5"].value == md5 == mats[key].tags["dagster/data_version"]
            assert mats[key].metadata["remote_url"].value == url
        assert (work / "reports" / "summary.txt").read_text() == "two files\n"
        assert mats["folder"].metadata["nfiles"].value == 2
        assert mats["stats"].metadata["freight/format"].value == "pickle"

        # load_input restores the version the upstream materialised, not the workspace's
        (work / "blob").write_bytes(b"edited by hand")
        again = job.execute_in_process(instance=instance, asset_selection=[stats.key])
        assert again.success and (work / "blob").read_bytes() == b"TWO FILES\n"
        run_ids = [result.run_id, again.run_id]
        shown = json.dumps(
            [
                [str(e.dagster_event or e.user_message) for e in instance.all_logs(run_id)]
                for run_id in run_ids
            ]
            + [instance.get_run_by_id(r).run_config for r in run_ids],  # type: ignore[union-attr]
            default=str,
        )
        # what the UI shows of the code location: resources and their config
        ui = serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
        assert "FREIGHT_TEST_SECRET" in ui and url in ui  # the search saw the config
        storage = Path(instance.root_directory)
        contents = read_files(storage, Path(os.environ["DAGSTER_HOME"]), work, tmp_path)
    assert secret not in shown and secret not in ui
    assert any(p.suffix == ".db" for p in contents) and len(contents) > 20
    assert [p for p, data in contents.items() if secret.encode() in data] == []
    out, err = capfd.readouterr()
    assert "pull: " in caplog.text  # progress reached the run log
    assert secret not in out + err + caplog.text

    commit(work, "outputs written through the IO manager")
    fresh = clone(work, tmp_path / "dvc-clone")
    dvc_pull_s3(dvc_bin, fresh, url, moto_s3.endpoint)
    for path in ("blob", "reports/summary.txt", "stats", "folder/one.bin", "folder/inner/two.txt"):
        assert (fresh / path).read_bytes() == (work / path).read_bytes(), path
